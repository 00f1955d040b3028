//! What a run reports, shared by the library that writes it (`verify`, the
//! gate suite) and the harness that reads it (`xtask`): one check's
//! [`Outcome`], its [`Status`], and the [`verdict`]. A small crate of its own
//! so xtask can read reports without compiling the AWS SDK.
//!
//! ```
//! use report_model::{Outcome, Status};
//! let line = r#"{"id":"rds.multi_az","status":"fail","message":"m","duration_ms":3,"evidence":{}}"#;
//! let outcome: Outcome = serde_json::from_str(line).unwrap();
//! assert_eq!((outcome.area(), outcome.status), ("rds", Status::Fail));
//! assert!(outcome.status.blocks_go());
//! ```

pub mod timeline;
pub mod verdict;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a check ended. Only `pass`, `skip` and `waived` count toward go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
    Waived,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::Skip,
        Status::Waived,
    ];

    /// As reports spell it: `pass`, `fail`, `error`, `skip`, `waived`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Waived => "waived",
        }
    }

    /// `fail` and `error` block the go verdict ([`verdict::blocks_go`]).
    pub fn blocks_go(self) -> bool {
        verdict::blocks_go(self.as_str())
    }
}

/// One check's result, as every report shows it (and as the gate suite
/// writes it, one JSON line per check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub status: Status,
    pub message: String,
    pub duration_ms: u64,
    pub evidence: Value,
}

impl Outcome {
    /// The area is the id up to the first dot (`rds.multi_az` → `rds`).
    pub fn area(&self) -> &str {
        self.id.split('.').next().unwrap_or(&self.id)
    }
}

/// One drill's run, as the drill runner writes it (`drill.json`) and the
/// harness renders it: the outcome (`drill.rds_failover` …), its timeline,
/// and the steady-state checks before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    pub environment: String,
    pub outcome: Outcome,
    pub timeline: timeline::Timeline,
    /// The steady-state checks run before anything was injected.
    pub steady_state_before: Vec<Outcome>,
    /// The same checks after recovery (empty when the drill stopped before).
    pub steady_state_after: Vec<Outcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fail_and_error_block_go() {
        let blocking: Vec<Status> = Status::ALL.into_iter().filter(|s| s.blocks_go()).collect();
        assert_eq!(blocking, [Status::Fail, Status::Error]);
    }
}
