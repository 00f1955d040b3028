//! `--signoffs FILE` (read with [`envspec::signoffs::load`]), judged on the
//! day of the run (UTC) into the report's sign-offs section.

use envspec::signoffs::{Date, RoleState, Signoffs};
use report_model::signoffs::{ManualOutcome, RoleSignoff, SignoffReport, SignoffStatus};

/// The report's sign-offs section: every required role and manual item as
/// they stand on `today`.
pub fn judge(file: &Signoffs, today: Date) -> SignoffReport {
    let judged = file.judge(today);
    let complete = judged.complete();
    let roles = judged
        .roles
        .iter()
        .map(|(role, state)| {
            let (status, signoff, reason) = match state {
                RoleState::Given(s) => {
                    let given = s.given.as_ref();
                    let reason = match given {
                        Some(g) => format!("signed by {} on {}", g.signed_by, g.date),
                        None => "signed".to_string(),
                    };
                    let reason = match s.expires {
                        Some(e) => format!("{reason}, holds through {e}"),
                        None => reason,
                    };
                    (SignoffStatus::Given, Some(*s), reason)
                }
                RoleState::NotSigned(s) => (
                    SignoffStatus::Missing,
                    Some(*s),
                    format!("declared (`signoff \"{}\"`) but not signed", s.label),
                ),
                RoleState::Expired(s) => (
                    SignoffStatus::Expired,
                    Some(*s),
                    format!(
                        "expired on {}",
                        s.expires.map(|e| e.to_string()).unwrap_or_default()
                    ),
                ),
                RoleState::DatedAhead(s) => (
                    SignoffStatus::Missing,
                    Some(*s),
                    format!(
                        "dated {}, after the day of the run ({today}): not given yet",
                        s.given
                            .as_ref()
                            .map(|g| g.date.to_string())
                            .unwrap_or_default()
                    ),
                ),
                RoleState::NoBlock => (
                    SignoffStatus::Missing,
                    None,
                    "required but no `signoff` block names it".to_string(),
                ),
            };
            let given = signoff.and_then(|s| s.given.as_ref());
            RoleSignoff {
                role: role.clone(),
                status,
                reason,
                label: signoff.map(|s| s.label.clone()),
                owner: signoff.map(|s| s.owner.clone()),
                confirms: signoff.map(|s| s.confirms.clone()),
                signed_by: given.map(|g| g.signed_by.clone()),
                date: given.map(|g| g.date.to_string()),
                evidence: given.map(|g| g.evidence.clone()),
                expires: signoff.and_then(|s| s.expires).map(|e| e.to_string()),
            }
        })
        .collect();
    let manual = file
        .manual
        .iter()
        .map(|m| ManualOutcome {
            label: m.label.clone(),
            group: m.group.clone(),
            item: m.item.clone(),
            done: m.done.is_some(),
            done_by: m.done.as_ref().map(|d| d.done_by.clone()),
            evidence: m.done.as_ref().map(|d| d.evidence.clone()),
        })
        .collect();
    SignoffReport {
        file: file.source.display().to_string(),
        judged_on: today.to_string(),
        complete,
        roles,
        manual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envspec::signoffs;
    use std::path::Path;

    fn example(name: &str) -> Signoffs {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(name);
        signoffs::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_sandbox_example_is_complete_and_production_names_every_role() {
        let today = Date::parse("2026-11-23").unwrap();
        let sandbox = judge(&example("sandbox/signoffs.hcl"), today);
        assert!(sandbox.complete, "{sandbox:?}");
        assert_eq!(sandbox.roles.len(), 5);
        assert_eq!(sandbox.manual.len(), 3);
        let production = judge(&example("production/signoffs.hcl"), today);
        assert!(!production.complete);
        assert_eq!(
            production.missing_roles(),
            [
                "Engineering",
                "Regulatory",
                "Operations",
                "Customer Success",
                "Commercial"
            ]
        );
        assert!(production.manual.iter().all(|m| !m.done));
        let items: Vec<&str> = production.manual.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            items,
            ["dpa-countersigned", "on-call-staffed", "status-page-live"]
        );
    }

    #[test]
    fn an_expired_signoff_says_when_and_a_required_role_without_block_is_missing() {
        let file = signoffs::parse(
            "require = [\"Commercial\"]\nsignoff \"ops\" {\n  role = \"Operations\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"Radu\"\n  date = \"2026-11-01\"\n  evidence = \"https://e.example\"\n  expires = \"2026-11-20\"\n}\n",
            Path::new("s.hcl"),
        )
        .unwrap();
        let report = judge(&file, Date::parse("2026-11-20").unwrap());
        assert_eq!(report.roles[1].status, SignoffStatus::Given);
        assert_eq!(
            report.roles[1].reason,
            "signed by Radu on 2026-11-01, holds through 2026-11-20"
        );
        let report = judge(&file, Date::parse("2026-11-21").unwrap());
        assert_eq!(report.judged_on, "2026-11-21");
        assert_eq!(report.roles[0].role, "Commercial");
        assert_eq!(report.roles[0].status, SignoffStatus::Missing);
        assert!(report.roles[0].label.is_none());
        assert_eq!(report.roles[1].status, SignoffStatus::Expired);
        assert_eq!(report.roles[1].reason, "expired on 2026-11-20");
        assert_eq!(report.roles[1].signed_by.as_deref(), Some("Radu"));
        assert!(!report.complete);
    }

    #[test]
    fn a_signoff_dated_after_the_day_of_the_run_is_not_given_yet() {
        let file = signoffs::parse(
            "signoff \"ops\" {\n  role = \"Operations\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"Radu\"\n  date = \"2026-12-08\"\n  evidence = \"https://e.example\"\n}\n",
            Path::new("s.hcl"),
        )
        .unwrap();
        let report = judge(&file, Date::parse("2026-12-07").unwrap());
        assert_eq!(report.roles[0].status, SignoffStatus::Missing);
        assert_eq!(
            report.roles[0].reason,
            "dated 2026-12-08, after the day of the run (2026-12-07): not given yet"
        );
        assert!(!report.complete);
        // On the day itself it is given.
        let report = judge(&file, Date::parse("2026-12-08").unwrap());
        assert_eq!(report.roles[0].status, SignoffStatus::Given);
        assert!(report.complete);
    }
}
