//! `--signoffs FILE` (read with [`envspec::signoffs::load`]), judged on the
//! day of the run (UTC) into the report's sign-offs section; with the run's
//! report ([`judge_run`]), a given sign-off whose `evidence_digest` is not
//! the run's is stale.

use envspec::signoffs::{Date, RoleState, Signoffs};
use report_model::diff::{Diff, DiffKind};
use report_model::report::Report;
use report_model::signoffs::{ManualOutcome, RoleSignoff, SignoffReport, SignoffStatus};

/// Most status changes a stale sign-off's reason lists; the rest are counted.
const MAX_CHANGES: usize = 10;

/// [`judge`], then each given sign-off that names an `evidence_digest`
/// other than `run`'s is [`SignoffStatus::Stale`] (and the file is not
/// complete). Its reason names both digests and, when `baseline` (the
/// `--baseline` report, with its label) is the approved run, what changed
/// since: each check whose status differs, the plan's resource changes, the
/// commit.
pub fn judge_run(
    file: &Signoffs,
    today: Date,
    run: &Report,
    baseline: Option<(&str, &Report)>,
) -> SignoffReport {
    let mut report = judge(file, today);
    for role in &mut report.roles {
        let Some(approved) = role.evidence_digest.clone() else {
            continue;
        };
        if role.status != SignoffStatus::Given || approved == run.evidence_digest {
            continue;
        }
        role.status = SignoffStatus::Stale;
        role.reason = format!(
            "stale: `signoff \"{}\"` ({}) signed by {} on {} approved evidence {approved}, \
             but this run's is {}; {}",
            role.label.as_deref().unwrap_or_default(),
            role.role,
            role.signed_by.as_deref().unwrap_or("?"),
            role.date.as_deref().unwrap_or("?"),
            run.evidence_digest,
            what_changed(run, &approved, baseline)
        );
        report.complete = false;
    }
    report
}

/// What differs between the approved run and this one, when `baseline` is it.
fn what_changed(run: &Report, approved: &str, baseline: Option<(&str, &Report)>) -> String {
    let Some((label, old)) = baseline else {
        return "give the approved run's JSON report as --baseline to see what changed".into();
    };
    if old.evidence_digest != approved {
        return format!(
            "the baseline {label} is evidence {}, not the approved run: give the approved \
             run's JSON report as --baseline to see what changed",
            if old.evidence_digest.is_empty() {
                "without a digest"
            } else {
                old.evidence_digest.as_str()
            }
        );
    }
    let diff = Diff::reports(DiffKind::Runs, label, old, "this run", run);
    let mut parts = Vec::new();
    let changes = diff.status_changes();
    if !changes.is_empty() {
        let shown = changes.len().min(MAX_CHANGES);
        let more = changes.len() - shown;
        parts.push(format!(
            "check status changed: {}{}",
            changes[..shown].join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let (was, now) = (&old.evidence_inputs, &run.evidence_inputs);
    match (&was.plan, &now.plan) {
        (Some(a), Some(b)) if a != b => parts.push("the plan's resource changes differ".into()),
        (None, Some(_)) => parts.push("a plan was given now and not then".into()),
        (Some(_), None) => parts.push("a plan was given then and not now".into()),
        _ => {}
    }
    if was.commit != now.commit {
        let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
        parts.push(format!(
            "commit {} → {}",
            show(&was.commit),
            show(&now.commit)
        ));
    }
    if parts.is_empty() {
        return format!(
            "since the approved run ({label}) no check, plan or commit differs as far as its report shows"
        );
    }
    format!("since the approved run ({label}): {}", parts.join("; "))
}

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
                evidence_digest: given.and_then(|g| g.evidence_digest.clone()),
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

    fn run(statuses: &[(&str, report_model::Status)], commit: Option<&str>) -> Report {
        use report_model::report::{Identity, RunRecord};
        let checks: Vec<report_model::Outcome> = statuses
            .iter()
            .map(|(id, status)| report_model::Outcome {
                id: id.to_string(),
                status: *status,
                message: format!("{id} {}", status.as_str()),
                duration_ms: 1,
                evidence: Default::default(),
            })
            .collect();
        let planned: Vec<String> = checks.iter().map(|c| c.id.clone()).collect();
        let record = RunRecord {
            environment: "sandbox".into(),
            started_at: "2026-12-01T10:00:00Z".into(),
            duration_ms: 1,
            identity: Identity {
                account: "123456789012".into(),
                arn: "arn:aws:iam::123456789012:user/x".into(),
                region: "eu-central-1".into(),
            },
            aws_calls: serde_json::json!({}),
        };
        Report::new(record, &planned, checks)
            .unwrap()
            .with_evidence(None, commit)
    }

    fn approving(digest: &str) -> Signoffs {
        signoffs::parse(
            &format!(
                "signoff \"eng\" {{\n  role = \"Engineering\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"Ana\"\n  date = \"2026-12-01\"\n  evidence = \"https://e.example\"\n  evidence_digest = \"{digest}\"\n}}\n"
            ),
            Path::new("s.hcl"),
        )
        .unwrap()
    }

    #[test]
    fn a_signoff_for_other_evidence_is_stale_and_says_what_changed() {
        use report_model::Status::{Fail, Pass};
        let today = Date::parse("2026-12-02").unwrap();
        let approved = run(
            &[("rds.multi_az", Pass), ("ses.identity", Pass)],
            Some("abc1234"),
        );
        let file = approving(&approved.evidence_digest);
        // The approved run itself: given.
        let same = judge_run(&file, today, &approved, None);
        assert!(same.complete, "{same:?}");
        assert_eq!(same.roles[0].status, SignoffStatus::Given);
        assert_eq!(
            same.roles[0].evidence_digest.as_deref(),
            Some(approved.evidence_digest.as_str())
        );
        // Another run: stale, both digests named.
        let now = run(
            &[("rds.multi_az", Fail), ("ses.identity", Pass)],
            Some("abc1235"),
        );
        let stale = judge_run(&file, today, &now, None);
        assert!(!stale.complete);
        let role = &stale.roles[0];
        assert_eq!(role.status, SignoffStatus::Stale);
        for needle in [
            "`signoff \"eng\"` (Engineering) signed by Ana on 2026-12-01",
            approved.evidence_digest.as_str(),
            now.evidence_digest.as_str(),
            "--baseline",
        ] {
            assert!(role.reason.contains(needle), "{needle}: {}", role.reason);
        }
        // With the approved run at hand: which checks, and the commit.
        let with = judge_run(&file, today, &now, Some(("approved.json", &approved)));
        assert!(
            with.roles[0].reason.ends_with(
                "since the approved run (approved.json): check status changed: \
                 rds.multi_az pass → fail; commit abc1234 → abc1235"
            ),
            "{}",
            with.roles[0].reason
        );
        // A baseline that is not the approved run says so.
        let other = judge_run(&file, today, &now, Some(("old.json", &now)));
        assert!(
            other.roles[0]
                .reason
                .contains("the baseline old.json is evidence sha256:"),
            "{}",
            other.roles[0].reason
        );
        // The report's verdict turns no-go, the sign-off named in `blocking`.
        let report = now.clone().with_signoffs(stale);
        assert!(report.automated_go() || !report.is_go());
        let named = report
            .blocking
            .iter()
            .flat_map(|g| &g.items)
            .any(|i| i.id == "Engineering" && i.why.starts_with("stale: "));
        assert!(named, "{:?}", report.blocking);
        // A sign-off without a digest holds for any evidence.
        let plain = signoffs::parse(
            "signoff \"eng\" {\n  role = \"Engineering\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"Ana\"\n  date = \"2026-12-01\"\n  evidence = \"https://e.example\"\n}\n",
            Path::new("s.hcl"),
        )
        .unwrap();
        assert!(judge_run(&plain, today, &now, None).complete);
    }

    #[test]
    fn a_stale_signoff_turns_a_go_run_no_go() {
        use report_model::Status::Pass;
        let today = Date::parse("2026-12-02").unwrap();
        let approved = run(&[("rds.multi_az", Pass)], None);
        let now = run(&[("rds.multi_az", Pass)], Some("0123abc"));
        let file = approving(&approved.evidence_digest);
        let go = approved
            .clone()
            .with_signoffs(judge_run(&file, today, &approved, None));
        assert!(go.is_go());
        let no_go = now
            .clone()
            .with_signoffs(judge_run(&file, today, &now, None));
        assert!(no_go.automated_go() && !no_go.is_go());
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
