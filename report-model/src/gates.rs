//! The launch gate's groups: the one place that says which group a check,
//! a sign-off or a manual item belongs to, and in which order groups are
//! shown. Every report (terminal, Markdown, JSON, HTML) groups with these.
//!
//! Automated checks group by the area of their id (`rds.multi_az` →
//! "Database (RDS)"); a sign-off groups under its role, a manual item under
//! the group it names. Automated groups come first, in [`automated`] order;
//! any other group follows in the order first seen.
//!
//! ```
//! use report_model::gates::{group_of, grouped};
//! assert_eq!(group_of("rds.multi_az"), "Database (RDS)");
//! assert_eq!(group_of("cloudflare.proxied"), "Edge (ALB + Cloudflare)");
//! assert_eq!(group_of("something.new"), "Other checks");
//! let groups = grouped([("Regulatory", 1), (group_of("ses.identity"), 2), (group_of("rds.backups"), 3)]);
//! let names: Vec<&str> = groups.iter().map(|(g, _)| g.as_str()).collect();
//! assert_eq!(names, ["Database (RDS)", "Email (SES)", "Regulatory"]);
//! ```

use serde::{Deserialize, Serialize};

use crate::Outcome;
use crate::area::Area;
use crate::signoffs::{SignoffReport, SignoffStatus};

/// The automated groups in launch-gate order: each [`Area`]'s group, in
/// the areas' order, once.
pub fn automated() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for area in Area::ALL {
        if !groups.contains(&area.group()) {
            groups.push(area.group());
        }
    }
    groups
}

/// The group of checks whose id has no [`Area`].
pub const OTHER: &str = "Other checks";

/// The gate group of a check id.
pub fn group_of(check_id: &str) -> &'static str {
    Area::of(check_id).map_or(OTHER, Area::group)
}

/// Items under their group, groups in gate order: [`automated`] first,
/// then [`OTHER`], then every other group as first seen. Within a group,
/// items keep their order.
pub fn grouped<G: AsRef<str>, T>(items: impl IntoIterator<Item = (G, T)>) -> Vec<(String, Vec<T>)> {
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    for (group, item) in items {
        let group = group.as_ref();
        match groups.iter_mut().find(|(g, _)| g == group) {
            Some((_, list)) => list.push(item),
            None => groups.push((group.to_string(), vec![item])),
        }
    }
    let automated = automated();
    let rank = |g: &str| {
        automated
            .iter()
            .position(|name| *name == g)
            .unwrap_or(if g == OTHER {
                automated.len()
            } else {
                automated.len() + 1
            })
    };
    // A stable sort keeps the first-seen order among non-automated groups.
    groups.sort_by_key(|(g, _)| rank(g));
    groups
}

/// What kind of thing blocks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockerKind {
    /// An automated check that failed or errored (not waived).
    Check,
    /// A required sign-off that is missing or expired.
    Signoff,
    /// A manual checklist item not done.
    Manual,
}

/// One thing that stands between this run and go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    /// The check id, the sign-off's role, or the manual item's label.
    pub id: String,
    /// Why it blocks: the status and message of a check, the reason of a
    /// sign-off (`expired on …`), `not done: <item>` for a manual item.
    pub why: String,
}

/// One gate group and what blocks go in it (`blocking` in the JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockingGroup {
    pub group: String,
    pub items: Vec<Blocker>,
}

/// Everything that blocks go, by gate group: failed and errored checks,
/// missing or expired sign-offs, manual items not done. Empty when the run
/// is go.
///
/// ```
/// use report_model::gates::{blocking, BlockerKind};
/// use report_model::{Evidence, Outcome, Status};
/// let failed = Outcome {
///     id: "rds.multi_az".into(),
///     status: Status::Fail,
///     message: "MultiAZ expected true, observed false".into(),
///     duration_ms: 1,
///     evidence: Evidence::default(),
/// };
/// let groups = blocking(&[failed], None);
/// assert_eq!(groups[0].group, "Database (RDS)");
/// assert_eq!(groups[0].items[0].kind, BlockerKind::Check);
/// ```
pub fn blocking(checks: &[Outcome], signoffs: Option<&SignoffReport>) -> Vec<BlockingGroup> {
    let mut items: Vec<(String, Blocker)> = checks
        .iter()
        .filter(|c| c.status.blocks_go())
        .map(|c| {
            (
                group_of(&c.id).to_string(),
                Blocker {
                    kind: BlockerKind::Check,
                    id: c.id.clone(),
                    why: format!("{}: {}", c.status.as_str(), c.message),
                },
            )
        })
        .collect();
    if let Some(s) = signoffs {
        for role in s.roles.iter().filter(|r| r.status != SignoffStatus::Given) {
            items.push((
                role.role.clone(),
                Blocker {
                    kind: BlockerKind::Signoff,
                    id: role.role.clone(),
                    why: role.reason.clone(),
                },
            ));
        }
        for m in s.manual.iter().filter(|m| !m.done) {
            items.push((
                m.group.clone(),
                Blocker {
                    kind: BlockerKind::Manual,
                    id: m.label.clone(),
                    why: format!("not done: {}", m.item),
                },
            ));
        }
    }
    grouped(items)
        .into_iter()
        .map(|(group, items)| BlockingGroup { group, items })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;
    use crate::signoffs::{ManualOutcome, RoleSignoff};

    #[test]
    fn every_seed_area_has_its_group() {
        for (id, group) in [
            ("rds.backups", "Database (RDS)"),
            ("pgbouncer.tasks", "Connection pooling (pgbouncer)"),
            ("edge.tls", "Edge (ALB + Cloudflare)"),
            ("cloudflare.dns", "Edge (ALB + Cloudflare)"),
            ("scheduled.roll", "Scheduled tasks"),
            ("alarms.required", "Alerting and budgets"),
            ("budgets.monthly", "Alerting and budgets"),
            ("ses.identity", "Email (SES)"),
            ("network.azs", "Network"),
            ("terraform.declared", "Terraform"),
            ("metrics.p99", "Post-cutover metrics"),
            ("canary.sign_in", "Canaries"),
            ("maintenance.rds", "Launch window"),
            ("drill.rds_failover", "Drills"),
            ("rdsx.y", OTHER),
            ("", OTHER),
        ] {
            assert_eq!(group_of(id), group, "{id}");
        }
    }

    #[test]
    fn blockers_group_checks_signoffs_and_manual_items() {
        let outcome = |id: &str, status| Outcome {
            id: id.into(),
            status,
            message: "m".into(),
            duration_ms: 0,
            evidence: Default::default(),
        };
        let checks = [
            outcome("ses.identity", Status::Error),
            outcome("rds.multi_az", Status::Fail),
            outcome("rds.backups", Status::Pass),
            outcome("budgets.monthly", Status::Waived),
            outcome("network.azs", Status::Skip),
        ];
        let role = |role: &str, status| RoleSignoff {
            role: role.into(),
            status,
            reason: "not signed".into(),
            ..RoleSignoff::default()
        };
        let signoffs = SignoffReport {
            file: "s.hcl".into(),
            judged_on: "2026-12-01".into(),
            complete: false,
            roles: vec![
                role("Engineering", SignoffStatus::Given),
                role("Commercial", SignoffStatus::Missing),
                role("Regulatory", SignoffStatus::Expired),
            ],
            manual: vec![
                ManualOutcome {
                    label: "dpa".into(),
                    group: "Regulatory".into(),
                    item: "DPA".into(),
                    done: false,
                    done_by: None,
                    evidence: None,
                },
                ManualOutcome {
                    label: "ok".into(),
                    group: "Operations".into(),
                    item: "x".into(),
                    done: true,
                    done_by: Some("y".into()),
                    evidence: Some("https://e".into()),
                },
            ],
        };
        let groups = blocking(&checks, Some(&signoffs));
        let shape: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.group.as_str(),
                    g.items.iter().map(|i| i.id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("Database (RDS)", vec!["rds.multi_az"]),
                ("Email (SES)", vec!["ses.identity"]),
                ("Commercial", vec!["Commercial"]),
                ("Regulatory", vec!["Regulatory", "dpa"]),
            ]
        );
        assert!(blocking(&checks[2..], None).is_empty());
    }
}
