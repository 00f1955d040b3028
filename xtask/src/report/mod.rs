//! The report of one run, built from the outcomes the gate suite wrote, and
//! its renderings: terminal, JSON (the shape in `harness.md`), JUnit, Markdown
//! and HTML. Every rendering groups checks by gate group
//! ([`report_model::gates`]).

pub mod combined;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use report_model::gates::{self, BlockingGroup};
use report_model::signoffs::SignoffReport;
use report_model::verdict::{self, Incomplete, Verdict};

/// One check's outcome and its status: the library's own types
/// (`report-model`), so the two sides cannot drift.
pub use report_model::{Outcome as CheckOutcome, Status};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub waived: usize,
}

/// The JSON report (`--report json=…`): `harness.md`'s shape, plus the
/// confirmed AWS identity, the AWS call counts, the automated verdict, the
/// sign-offs (`null` when no `--signoffs` was given) and what blocks go, by
/// gate group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub environment: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub verdict: String,
    pub summary: Summary,
    pub checks: Vec<CheckOutcome>,
    /// Whose credentials the run held (confirmed against the spec before any check).
    pub identity: Identity,
    #[serde(default)]
    pub aws_calls: Value,
    /// The verdict of the automated checks alone (`verdict` also needs the sign-offs).
    #[serde(default)]
    pub automated_verdict: String,
    /// The sign-offs judged this run; `None` when `--signoffs` was not given.
    #[serde(default)]
    pub signoffs: Option<SignoffReport>,
    /// What blocks go, by gate group ([`gates::blocking`]); empty when go.
    #[serde(default)]
    pub blocking: Vec<BlockingGroup>,
}

/// The AWS identity a run confirmed (`sts:GetCallerIdentity`) before any check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub region: String,
}

/// What the gate suite writes at the end of its run (`run.json`).
#[derive(Debug, Deserialize)]
pub struct RunRecord {
    pub environment: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub identity: Identity,
    pub aws_calls: Value,
}

impl Report {
    /// The report of a run that planned `planned` ids (in catalogue order).
    /// Refused when the outcomes do not match the plan one to one
    /// ([`Incomplete`]: exit 2); the verdict is [`verdict::decide`]'s.
    pub fn new(
        record: RunRecord,
        planned: &[String],
        checks: Vec<CheckOutcome>,
    ) -> Result<Report, Incomplete> {
        let verdict = verdict::decide(
            planned,
            checks.iter().map(|c| (c.id.as_str(), c.status.as_str())),
        )?;
        let mut summary = Summary::default();
        for c in &checks {
            match c.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Error => summary.error += 1,
                Status::Skip => summary.skip += 1,
                Status::Waived => summary.waived += 1,
            }
        }
        let blocking = gates::blocking(&checks, None);
        Ok(Report {
            environment: record.environment,
            started_at: record.started_at,
            duration_ms: record.duration_ms,
            verdict: verdict.as_str().into(),
            summary,
            checks,
            identity: record.identity,
            aws_calls: record.aws_calls,
            automated_verdict: verdict.as_str().into(),
            signoffs: None,
            blocking,
        })
    }

    /// The report with the run's sign-offs: the verdict becomes
    /// [`verdict::with_signoffs`]'s, and `blocking` lists the missing ones.
    pub fn with_signoffs(mut self, signoffs: SignoffReport) -> Report {
        let automated = if self.automated_verdict == Verdict::Go.as_str() {
            Verdict::Go
        } else {
            Verdict::NoGo
        };
        self.verdict = verdict::with_signoffs(automated, Some(signoffs.complete))
            .as_str()
            .into();
        self.blocking = gates::blocking(&self.checks, Some(&signoffs));
        self.signoffs = Some(signoffs);
        self
    }

    pub fn is_go(&self) -> bool {
        self.verdict == Verdict::Go.as_str()
    }

    /// Whether the automated checks alone are go.
    pub fn automated_go(&self) -> bool {
        self.automated_verdict == Verdict::Go.as_str()
    }

    /// Gate groups in launch-gate order ([`gates::grouped`]), each with its
    /// outcomes in plan order.
    pub fn by_group(&self) -> Vec<(String, Vec<&CheckOutcome>)> {
        gates::grouped(self.checks.iter().map(|c| (gates::group_of(&c.id), c)))
    }
}

/// Reads `outcomes.jsonl` while the suite still runs, for progress only: a
/// torn last line (still being written) is ignored. Never used for the report.
pub fn read_outcomes_so_far(path: &Path) -> Vec<CheckOutcome> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `outcomes.jsonl` after the suite ended: one outcome per line, and
/// every line must be one (an unreadable line is an error naming it).
/// A missing file is no outcomes (the plan comparison names what is missing).
pub fn read_outcomes(path: &Path) -> Result<Vec<CheckOutcome>> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    parse_outcomes(&text).with_context(|| format!("reading {}", path.display()))
}

/// [`read_outcomes`] on text: every line (blank ones too) must be an outcome.
pub fn parse_outcomes(text: &str) -> Result<Vec<CheckOutcome>> {
    let mut outcomes = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match serde_json::from_str(line) {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                let shown: String = line.chars().take(200).collect();
                bail!("line {} is not a check outcome ({e}): {shown:?}", n + 1)
            }
        }
    }
    if !text.is_empty() && !text.ends_with('\n') {
        bail!(
            "line {} was cut short (no end of line): the suite stopped while writing it",
            text.lines().count()
        );
    }
    Ok(outcomes)
}

/// Reads `plan.json`: the ids the suite selected, in catalogue order.
pub fn read_plan(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
}

pub fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
pub(crate) fn sample() -> Report {
    use report_model::Evidence;
    let check = |id: &str, status, message: &str| CheckOutcome {
        id: id.into(),
        status,
        message: message.into(),
        duration_ms: 3,
        evidence: Evidence {
            operations: vec!["rds:DescribeDBInstances".into()],
            ..Evidence::of("rds instance 'core'")
        },
    };
    let mut multi_az = check(
        "rds.multi_az",
        Status::Fail,
        "rds instance 'core': MultiAZ expected true, observed false",
    );
    multi_az.evidence = multi_az
        .evidence
        .expected(serde_json::json!({ "core": { "MultiAZ": true } }))
        .observed(serde_json::json!({ "core": { "MultiAZ": false, "AvailabilityZone": "eu-central-1a" } }));
    let checks = vec![
        multi_az,
        check("rds.encrypted", Status::Pass, "encrypted <&>"),
        check(
            "budgets.monthly",
            Status::Error,
            "budgets:DescribeBudget failed: AccessDenied",
        ),
        check("ses.identity", Status::Skip, "no ses declared"),
        check(
            "budgets.thresholds",
            Status::Waived,
            "waived until 2026-12-31 (OPS-1): was fail: x | y",
        ),
    ];
    let planned: Vec<String> = checks.iter().map(|c| c.id.clone()).collect();
    Report::new(sample_record(), &planned, checks).expect("the sample is complete")
}

/// [`sample`] with a sign-offs section: Engineering given, Commercial
/// declared but not signed, Regulatory expired, one manual item not done.
#[cfg(test)]
pub(crate) fn sample_with_signoffs() -> Report {
    use report_model::signoffs::{ManualOutcome, RoleSignoff, SignoffStatus};
    let role = |role: &str, status, reason: &str| RoleSignoff {
        role: role.into(),
        status,
        reason: reason.into(),
        label: Some(role.to_lowercase()),
        owner: Some(format!("Head of {role}")),
        confirms: Some("checks <green> & \"drills\" run".into()),
        ..RoleSignoff::default()
    };
    let mut engineering = role(
        "Engineering",
        SignoffStatus::Given,
        "signed by Ana Pop on 2026-11-20",
    );
    engineering.signed_by = Some("Ana Pop".into());
    engineering.date = Some("2026-11-20".into());
    engineering.evidence = Some("https://wiki.example/eng?a=1&b=2".into());
    let mut regulatory = role(
        "Regulatory",
        SignoffStatus::Expired,
        "expired on 2026-11-01",
    );
    regulatory.expires = Some("2026-11-01".into());
    sample().with_signoffs(SignoffReport {
        file: "signoffs.hcl".into(),
        judged_on: "2026-11-23".into(),
        complete: false,
        roles: vec![
            engineering,
            role(
                "Commercial",
                SignoffStatus::Missing,
                "declared (`signoff \"commercial\"`) but not signed",
            ),
            regulatory,
        ],
        manual: vec![
            ManualOutcome {
                label: "dpa-countersigned".into(),
                group: "Regulatory".into(),
                item: "DPA countersigned with every clinic".into(),
                done: true,
                done_by: Some("Ioana".into()),
                evidence: Some("https://wiki.example/dpa".into()),
            },
            ManualOutcome {
                label: "status-page-live".into(),
                group: "Operations".into(),
                item: "Status page live".into(),
                done: false,
                done_by: None,
                evidence: None,
            },
        ],
    })
}

#[cfg(test)]
pub(crate) fn sample_record() -> RunRecord {
    RunRecord {
        environment: "sandbox".into(),
        started_at: "2026-11-23T19:00:00Z".into(),
        duration_ms: 120,
        identity: Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/moto".into(),
            region: "eu-central-1".into(),
        },
        aws_calls: serde_json::json!({ "operations": { "rds:DescribeDBInstances": 1 }, "requests": 1 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use report_model::Evidence;

    fn outcome(id: &str, status: Status) -> CheckOutcome {
        CheckOutcome {
            id: id.into(),
            status,
            message: "m".into(),
            duration_ms: 1,
            evidence: Evidence::default(),
        }
    }

    fn line(id: &str, status: &str) -> String {
        format!(
            r#"{{"id":"{id}","status":"{status}","message":"m","duration_ms":1,"evidence":null}}"#
        )
    }

    #[test]
    fn every_line_must_be_an_outcome_and_a_bad_one_is_named() {
        let good = format!("{}\n{}\n", line("rds.a", "pass"), line("rds.b", "fail"));
        assert_eq!(parse_outcomes(&good).unwrap().len(), 2);
        // Lines with null or empty evidence (written before evidence was typed) still read.
        let empty = format!("{}\n", line("rds.c", "skip").replace("null", "{}"));
        for text in [&good, &empty] {
            let outcomes = parse_outcomes(text).unwrap();
            assert!(outcomes.iter().all(|o| o.evidence == Evidence::default()));
        }
        assert!(parse_outcomes("").unwrap().is_empty());
        for (text, says) in [
            (
                format!("{}\nnot json\n", line("rds.a", "pass")),
                "line 2 is not a check outcome",
            ),
            (
                format!("{}\n\n", line("rds.a", "pass")),
                "line 2 is not a check outcome",
            ),
            (
                format!("{}\n", line("rds.a", "passed")),
                "line 1 is not a check outcome",
            ),
            (
                format!("{}\n{{\"id\":\"rds", line("rds.a", "pass")),
                "line 2",
            ),
            (line("rds.a", "pass"), "line 1 was cut short"),
        ] {
            let err = format!("{:#}", parse_outcomes(&text).unwrap_err());
            assert!(err.contains(says), "{err:?} should say {says:?}");
        }
    }

    #[test]
    fn the_report_refuses_a_planned_check_without_outcome() {
        let planned = vec!["rds.a".to_string(), "rds.b".to_string()];
        let err = Report::new(
            sample_record(),
            &planned,
            vec![outcome("rds.a", Status::Pass)],
        )
        .unwrap_err();
        assert_eq!(err.missing, ["rds.b"]);
        assert!(err.to_string().contains("rds.b"), "{err}");
        let report = Report::new(
            sample_record(),
            &planned,
            vec![
                outcome("rds.a", Status::Pass),
                outcome("rds.b", Status::Skip),
            ],
        )
        .unwrap();
        assert!(report.is_go());
        let report = Report::new(
            sample_record(),
            &planned,
            vec![
                outcome("rds.a", Status::Error),
                outcome("rds.b", Status::Pass),
            ],
        )
        .unwrap();
        assert!(!report.is_go());
        assert_eq!(report.verdict, "no-go");
    }

    #[test]
    fn signoffs_decide_go_with_the_automated_checks() {
        use report_model::signoffs::SignoffReport;
        let planned = vec!["rds.a".to_string()];
        let passing = || {
            Report::new(
                sample_record(),
                &planned,
                vec![outcome("rds.a", Status::Pass)],
            )
            .unwrap()
        };
        let complete = SignoffReport {
            complete: true,
            ..SignoffReport::default()
        };
        assert!(passing().is_go() && passing().signoffs.is_none());
        let report = passing().with_signoffs(complete.clone());
        assert!(report.is_go() && report.blocking.is_empty());
        let report = passing().with_signoffs(SignoffReport::default());
        assert!(!report.is_go() && report.automated_go());
        assert_eq!(report.verdict, "no-go");
        // Complete sign-offs never turn a failing run go.
        let failing = Report::new(
            sample_record(),
            &planned,
            vec![outcome("rds.a", Status::Fail)],
        )
        .unwrap()
        .with_signoffs(complete);
        assert!(!failing.is_go() && !failing.automated_go());
        assert_eq!(failing.blocking[0].group, "Database (RDS)");

        let report = sample_with_signoffs();
        let groups: Vec<&str> = report.blocking.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(
            groups,
            [
                "Database (RDS)",
                "Alerting and budgets",
                "Commercial",
                "Regulatory",
                "Operations"
            ]
        );
    }
}
