//! The report of one run, built from the runner's events (its plan, each
//! outcome, its [`RunRecord`]), and its renderings: terminal, JSON (with
//! `schema_version` and `tool`), JUnit, Markdown, HTML and SARIF;
//! [`combined`] renders a run over several environments. Every rendering groups checks by gate group
//! ([`crate::gates`]).

pub mod combined;
pub mod diff;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
#[cfg(test)]
mod schemas;
pub mod terminal;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diff::DiffReport;
use crate::digest::{self, EvidenceInputs};
use crate::gates::{self, BlockingGroup};
use crate::signoffs::SignoffReport;
use crate::verdict::{self, Incomplete, Verdict};
use crate::{SCHEMA_VERSION, Tool};

/// One check's outcome and its status: the library's own types
/// (`report-model`), so the two sides cannot drift.
pub use crate::{Outcome as CheckOutcome, Status};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub waived: usize,
}

/// The JSON report (`--report json=…`): the shape in `docs/report-format.md`
/// (and `docs/schemas/report.schema.json`): its schema version and writer,
/// the base keys, plus the confirmed AWS identity, the AWS call counts, the
/// automated verdict, the sign-offs (`null` when no `--signoffs` was given)
/// and what blocks go, by gate group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] when written; empty when read from a report
    /// written before the field existed.
    #[serde(default)]
    pub schema_version: String,
    /// What wrote it ([`Report::with_tool`]).
    #[serde(default)]
    pub tool: Tool,
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
    /// The run's evidence digest ([`crate::digest`]), `sha256:…`: what a
    /// sign-off's `evidence_digest` names. Empty when read from a report
    /// written before it existed.
    #[serde(default)]
    pub evidence_digest: String,
    /// What the digest covered besides the checks: the plan's
    /// `resource_changes` (its own digest) and the commit.
    #[serde(default)]
    pub evidence_inputs: EvidenceInputs,
    /// `verify run --baseline OLD.json`: this run compared with OLD
    /// ([`crate::diff`]); `None` without.
    #[serde(default)]
    pub baseline: Option<DiffReport>,
}

/// The AWS identity a run confirmed (`sts:GetCallerIdentity`) before any check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub region: String,
}

/// What a run records about itself once its last check ended: the one
/// run-record type the runner yields and every renderer reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
        let evidence_digest = digest::evidence_digest(
            checks.iter().map(|c| (c.id.as_str(), c.status.as_str())),
            None,
            None,
        );
        Ok(Report {
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool::default(),
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
            evidence_digest,
            evidence_inputs: EvidenceInputs::default(),
            baseline: None,
        })
    }

    /// The report whose evidence digest also covers the plan's
    /// `resource_changes` (`None`: no plan given) and the commit
    /// ([`digest::evidence_digest`]). Before [`Report::with_signoffs`],
    /// which judges the sign-offs' digests against it.
    pub fn with_evidence(
        mut self,
        resource_changes: Option<&Value>,
        commit: Option<&str>,
    ) -> Report {
        self.evidence_digest = digest::evidence_digest(
            self.checks
                .iter()
                .map(|c| (c.id.as_str(), c.status.as_str())),
            resource_changes,
            commit,
        );
        self.evidence_inputs = EvidenceInputs::of(resource_changes, commit);
        self
    }

    /// The report with this run compared to an earlier one (`--baseline`).
    pub fn with_baseline(mut self, baseline: DiffReport) -> Report {
        self.baseline = Some(baseline);
        self
    }

    /// The report as written by `tool` (the `verify` binary names itself).
    pub fn with_tool(mut self, tool: Tool) -> Report {
        self.tool = tool;
        self
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

/// A report's format, as `--report FORMAT=PATH` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Junit,
    Markdown,
    /// One self-contained HTML page (inline CSS, no script, nothing fetched).
    Html,
    /// SARIF 2.1.0: each failing, erroring or waived check at its block of the spec ([`sarif`]).
    Sarif,
}

impl ReportFormat {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [ReportFormat; 5] = [
        ReportFormat::Json,
        ReportFormat::Junit,
        ReportFormat::Markdown,
        ReportFormat::Html,
        ReportFormat::Sarif,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Junit => "junit",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Html => "html",
            ReportFormat::Sarif => "sarif",
        }
    }
}

impl std::str::FromStr for ReportFormat {
    type Err = String;

    /// ```
    /// use report_model::report::ReportFormat;
    /// assert_eq!("JUnit".parse(), Ok(ReportFormat::Junit));
    /// assert_eq!("sarif".parse(), Ok(ReportFormat::Sarif));
    /// assert!("xml".parse::<ReportFormat>().unwrap_err().contains("unknown report format"));
    /// ```
    fn from_str(s: &str) -> Result<ReportFormat, String> {
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown report format {s:?}; expected json, junit, markdown, html or sarif"
                )
            })
    }
}

/// `--report FORMAT=PATH`: where a report goes, and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub format: ReportFormat,
    pub path: PathBuf,
}

impl std::str::FromStr for ReportTarget {
    type Err = String;

    /// ```
    /// use report_model::report::{ReportFormat, ReportTarget};
    /// let t: ReportTarget = "junit=out/junit.xml".parse().unwrap();
    /// assert_eq!(t.format, ReportFormat::Junit);
    /// assert!("json".parse::<ReportTarget>().is_err());
    /// ```
    fn from_str(value: &str) -> Result<ReportTarget, String> {
        let (format, path) = value
            .split_once('=')
            .ok_or("expected FORMAT=PATH, e.g. json=report.json")?;
        let format = format.parse()?;
        if path.is_empty() {
            return Err("the report path is empty".into());
        }
        Ok(ReportTarget {
            format,
            path: PathBuf::from(path),
        })
    }
}

/// One environment's report in `format`; `context` says where its spec's
/// blocks are (SARIF only).
pub fn render(report: &Report, format: ReportFormat, context: &sarif::Context) -> String {
    match format {
        ReportFormat::Json => json::render(report),
        ReportFormat::Junit => junit::render(report),
        ReportFormat::Markdown => markdown::render(report),
        ReportFormat::Html => html::render(report),
        ReportFormat::Sarif => sarif::render(report, context),
    }
}

/// Where one environment's report goes when the combined one goes to
/// `path`: beside it, the environment's name before the extension
/// (`out/gate.json` → `out/gate.production.json`; `out/gate` → `out/gate.production`).
/// Characters other than ASCII letters, digits, `-` and `_` become `_`, so
/// a name never leaves the directory, and two environments whose names
/// differ only there are refused before the run ([`file_name_part`]).
pub fn per_environment(path: &Path, environment: &str) -> PathBuf {
    let name = file_name_part(environment);
    let file = match (path.file_stem(), path.extension()) {
        (Some(stem), Some(ext)) => format!(
            "{}.{name}.{}",
            stem.to_string_lossy(),
            ext.to_string_lossy()
        ),
        _ => format!(
            "{}.{name}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
    };
    path.with_file_name(file)
}

/// An environment's name as it appears in a file name.
///
/// ```
/// assert_eq!(report_model::report::file_name_part("eu.prod/1"), "eu_prod_1");
/// ```
pub fn file_name_part(environment: &str) -> String {
    environment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Environments by their report file (for the combined HTML's links).
pub fn report_files(
    path: &Path,
    environments: &[&str],
) -> std::collections::BTreeMap<String, String> {
    environments
        .iter()
        .map(|e| {
            let file = per_environment(path, e);
            (
                e.to_string(),
                file.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
pub(crate) fn sample() -> Report {
    use crate::Evidence;
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
    let mut checks = checks;
    checks[2].evidence = checks[2]
        .evidence
        .clone()
        .detail(
            "error",
            "AccessDenied: not authorized to perform budgets:ViewBudget",
        )
        .detail("operation", "budgets:DescribeBudget");
    checks[4].evidence = checks[4].evidence.clone().detail(
        "waiver",
        serde_json::json!({ "pattern": "budgets.*", "justification": "OPS-1", "expires": "2026-12-31", "expired": false }),
    );
    let planned: Vec<String> = checks.iter().map(|c| c.id.clone()).collect();
    Report::new(sample_record(), &planned, checks)
        .expect("the sample is complete")
        .with_tool(crate::Tool::new("0.1.0", "0123456789ab"))
}

/// [`sample`] with a sign-offs section: Engineering given, Commercial
/// declared but not signed, Regulatory expired, one manual item not done.
#[cfg(test)]
pub(crate) fn sample_with_signoffs() -> Report {
    use crate::signoffs::{ManualOutcome, RoleSignoff, SignoffStatus};
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
    use crate::Evidence;

    #[test]
    fn each_environment_is_named_beside_the_combined_report() {
        let at = |p: &str, e: &str| per_environment(Path::new(p), e).display().to_string();
        assert_eq!(
            at("out/gate.json", "production"),
            "out/gate.production.json"
        );
        assert_eq!(at("out/gate", "staging"), "out/gate.staging");
        assert_eq!(at("gate.tar.xml", "a b"), "gate.tar.a_b.xml");
        assert_eq!(at("/r/verify.md", "sandbox"), "/r/verify.sandbox.md");
        // A name with dots or slashes stays one file beside the report.
        assert_eq!(at("out/gate.json", "eu.prod"), "out/gate.eu_prod.json");
        assert_eq!(at("out/gate.json", "../x"), "out/gate.___x.json");
    }

    fn outcome(id: &str, status: Status) -> CheckOutcome {
        CheckOutcome {
            id: id.into(),
            status,
            message: "m".into(),
            duration_ms: 1,
            evidence: Evidence::default(),
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
        use crate::signoffs::SignoffReport;
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
