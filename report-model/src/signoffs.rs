//! The sign-offs of a run as reports carry them (`signoffs` in the JSON
//! report): each required role given, missing or expired, and each manual
//! checklist item done or not. `cargo xtask verify --signoffs FILE` judges
//! the file (`envspec::signoffs`) into this on the day of the run (UTC).
//!
//! ```
//! use report_model::signoffs::{RoleSignoff, SignoffReport, SignoffStatus};
//! let report = SignoffReport {
//!     file: "signoffs.hcl".into(),
//!     judged_on: "2026-12-01".into(),
//!     complete: false,
//!     roles: vec![RoleSignoff {
//!         role: "Commercial".into(),
//!         status: SignoffStatus::Missing,
//!         reason: "declared but not signed".into(),
//!         ..RoleSignoff::default()
//!     }],
//!     manual: vec![],
//! };
//! let json = serde_json::to_value(&report).unwrap();
//! assert_eq!(json["roles"][0]["status"], "missing");
//! assert_eq!(report.missing_roles(), ["Commercial"]);
//! ```

use serde::{Deserialize, Serialize};

/// Where a required role's sign-off stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignoffStatus {
    /// Signed, and not past its `expires` day.
    Given,
    /// Not signed, or required with no block at all.
    #[default]
    Missing,
    /// Signed, but past its `expires` day: counts as missing.
    Expired,
    /// Signed for other evidence: its `evidence_digest` is not this run's
    /// ([`crate::digest`]). Blocks go like missing.
    Stale,
}

impl SignoffStatus {
    /// `given`, `missing`, `expired` or `stale`, as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SignoffStatus::Given => "given",
            SignoffStatus::Missing => "missing",
            SignoffStatus::Expired => "expired",
            SignoffStatus::Stale => "stale",
        }
    }
}

/// The sign-offs section of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignoffReport {
    /// The sign-offs file judged.
    pub file: String,
    /// The day (UTC, `YYYY-MM-DD`) expiries were compared with.
    pub judged_on: String,
    /// Every required role given and every manual item done.
    pub complete: bool,
    /// Every required role, in the file's order (`require` first).
    pub roles: Vec<RoleSignoff>,
    /// Every manual checklist item, in the file's order.
    pub manual: Vec<ManualOutcome>,
}

impl SignoffReport {
    /// The roles whose sign-off is missing, expired or stale.
    pub fn missing_roles(&self) -> Vec<&str> {
        self.roles
            .iter()
            .filter(|r| r.status != SignoffStatus::Given)
            .map(|r| r.role.as_str())
            .collect()
    }
}

/// One required role and its sign-off (fields absent when no block declares it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSignoff {
    pub role: String,
    pub status: SignoffStatus,
    /// What the status rests on: "signed by … on …", "declared but not
    /// signed", "required but no `signoff` block names it", "expired on …",
    /// or for a stale one the two digests and what changed.
    pub reason: String,
    /// The `signoff "<label>"` block.
    pub label: Option<String>,
    pub owner: Option<String>,
    pub confirms: Option<String>,
    pub signed_by: Option<String>,
    pub date: Option<String>,
    pub evidence: Option<String>,
    pub expires: Option<String>,
    /// The evidence digest the sign-off approved (`evidence_digest` in its
    /// block); `None` when it names none (it then holds for any evidence).
    #[serde(default)]
    pub evidence_digest: Option<String>,
}

/// One manual checklist item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualOutcome {
    /// The `manual "<label>"` block.
    pub label: String,
    /// The launch-gate group it belongs to.
    pub group: String,
    pub item: String,
    pub done: bool,
    pub done_by: Option<String>,
    pub evidence: Option<String>,
}
