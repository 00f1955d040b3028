//! The reports rendered from representative runs, validated against the
//! schemas the repository ships (`docs/schemas/`): the gate report, the
//! combined report and the drill record against ours (draft 2020-12), SARIF
//! against the vendored OASIS schema (draft-04). `format` is checked.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::combined::{Combined, EnvironmentRun};
use super::sarif::{self, Context, Region, SpecFile};
use super::{CheckOutcome, Report, Status, json as json_report, sample, sample_record};
use crate::timeline::{Mark, MarkKind, ProbeTrace, Span, Timeline};
use crate::{DrillRecord, Evidence, Tool};

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// The errors of `instance` against `docs/schemas/<name>` (empty: valid);
/// `report.schema.json` is registered under its file URI, so that the
/// other schemas' relative `$ref`s to it resolve as they do beside it.
fn errors(name: &str, instance: &Value) -> Vec<String> {
    let report = schemas().join("report.schema.json");
    let registry = jsonschema::Registry::new()
        .add(file_uri(&report), read(&report))
        .unwrap()
        .prepare()
        .unwrap();
    let path = schemas().join(name);
    let validator = jsonschema::options()
        .with_registry(&registry)
        .with_base_uri(file_uri(&path))
        .should_validate_formats(true)
        .build(&read(&path))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[track_caller]
fn assert_valid(name: &str, instance: &Value) {
    let errors = errors(name, instance);
    assert!(
        errors.is_empty(),
        "{name}: {errors:#?}\n{}",
        serde_json::to_string_pretty(instance).unwrap()
    );
}

#[track_caller]
fn assert_invalid(name: &str, instance: &Value, needle: &str) {
    let errors = errors(name, instance);
    assert!(
        errors.iter().any(|e| e.contains(needle)),
        "{name}: expected an error with {needle:?}, got {errors:#?}"
    );
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn outcome(id: &str, status: Status) -> CheckOutcome {
    CheckOutcome {
        id: id.into(),
        status,
        message: format!("{id}: {}", status.as_str()),
        duration_ms: 4,
        evidence: Evidence {
            operations: vec!["rds:DescribeDBInstances".into()],
            ..Evidence::of("rds instance 'core'")
                .expected(json!({ "core": { "MultiAZ": true } }))
                .observed(json!({ "core": { "MultiAZ": true } }))
        },
    }
}

/// Every check passing, written by a build that knew no commit.
fn passing() -> Report {
    let checks = vec![
        outcome("rds.multi_az", Status::Pass),
        outcome("scheduled.audit-roll.succeeded", Status::Pass),
    ];
    let planned: Vec<String> = checks.iter().map(|c| c.id.clone()).collect();
    Report::new(sample_record(), &planned, checks)
        .unwrap()
        .with_tool(Tool::new("0.1.0", "unknown"))
}

fn combined() -> Combined {
    let mut staging = passing();
    staging.environment = "staging".into();
    Combined::new(
        "2026-11-23T19:00:00Z".into(),
        900,
        vec![
            EnvironmentRun {
                environment: "staging".into(),
                spec: "environments/staging.hcl".into(),
                report: Ok(Box::new(staging)),
            },
            EnvironmentRun {
                environment: "sandbox".into(),
                spec: "environments/sandbox.hcl".into(),
                report: Ok(Box::new(super::sample_with_signoffs())),
            },
            EnvironmentRun {
                environment: "production".into(),
                spec: "environments/production.hcl".into(),
                report: Err("wrong AWS account: credentials of 210987654321".into()),
            },
        ],
    )
    .with_tool(Tool::new("0.1.0", "0123456789ab"))
}

fn drill() -> DrillRecord {
    let mut drill = outcome("drill.rds_failover", Status::Pass);
    drill.evidence = drill.evidence.detail(
        "assertions",
        json!([{ "name": "unavailable", "expected": "≤ 120s", "observed": "1.3s", "holds": true }]),
    );
    DrillRecord {
        environment: "sandbox".into(),
        outcome: drill,
        timeline: Timeline {
            started_at: "2026-11-23T19:00:00Z".into(),
            duration_ms: 5200,
            marks: vec![
                Mark {
                    at_ms: 1000,
                    kind: MarkKind::Fault,
                    label: "RebootDBInstance(ForceFailover)".into(),
                },
                Mark {
                    at_ms: 2300,
                    kind: MarkKind::Recovered,
                    label: "writes succeed".into(),
                },
            ],
            probes: vec![ProbeTrace {
                name: "writer".into(),
                spans: vec![
                    Span {
                        from_ms: 0,
                        to_ms: 1000,
                        ok: true,
                        samples: 20,
                        error: None,
                        server: Some(crate::timeline::Server {
                            address: "10.0.1.5:5432".into(),
                            started_at: "2026-12-07T06:00:00.000001Z".into(),
                        }),
                    },
                    Span {
                        from_ms: 1000,
                        to_ms: 2300,
                        ok: false,
                        samples: 26,
                        error: Some("connection refused".into()),
                        server: None,
                    },
                ],
            }],
        },
        steady_state_before: vec![outcome("rds.multi_az", Status::Pass)],
        steady_state_after: vec![outcome("rds.multi_az", Status::Pass)],
    }
}

#[test]
fn gate_reports_of_every_status_validate() {
    // fail, error, skip, waived and pass; with sign-offs (given, missing,
    // expired, a manual item not done); all passing without a commit.
    for report in [sample(), super::sample_with_signoffs(), passing()] {
        let v = parse(&json_report::render(&report));
        assert_eq!(v["schema_version"], crate::SCHEMA_VERSION);
        assert_eq!(v["tool"]["name"], "verify");
        assert_valid("report.schema.json", &v);
    }
    let v = parse(&json_report::render(&passing()));
    assert!(v["tool"].get("commit").is_none(), "{}", v["tool"]);
}

#[test]
fn a_combined_report_with_an_environment_that_could_not_run_validates() {
    let v = parse(&super::combined::json(&combined()));
    assert_eq!(v["schema_version"], crate::SCHEMA_VERSION);
    assert_eq!(v["tool"]["commit"], "0123456789ab");
    assert_eq!(
        v["environments"][1]["report"]["schema_version"],
        crate::SCHEMA_VERSION
    );
    assert_valid("combined-report.schema.json", &v);
    // A could-not-run environment with a report is not the shape.
    let mut bad = v.clone();
    bad["environments"][2]["report"] = v["environments"][0]["report"].clone();
    assert_invalid("combined-report.schema.json", &bad, "oneOf");
}

/// `verify diff`'s JSON, and a report with a baseline, a plan and a commit
/// in its digest, and a stale sign-off.
#[test]
fn a_diff_and_a_report_with_baseline_and_stale_signoff_validate() {
    use crate::diff::{Diff, DiffKind, DiffReport};
    use crate::signoffs::SignoffStatus;
    let old = passing();
    let new = super::sample_with_signoffs();
    let diff = DiffReport::new(
        Diff::reports(DiffKind::Runs, "old.json", &old, "new.json", &new),
        Tool::new("0.1.0", "unknown"),
    );
    assert!(!diff.new_failures.is_empty());
    assert_valid("diff.schema.json", &parse(&super::diff::json(&diff)));
    let mut report = new
        .with_evidence(
            Some(&json!([{"address": "a.b", "change": {"actions": ["update"]}}])),
            Some("0123abc"),
        )
        .with_baseline(diff.clone());
    let signoffs = report.signoffs.as_mut().unwrap();
    signoffs.roles[0].status = SignoffStatus::Stale;
    signoffs.roles[0].evidence_digest = Some(format!("sha256:{}", "0".repeat(64)));
    let value = parse(&json_report::render(&report));
    assert_valid("report.schema.json", &value);
    assert_eq!(value["roles"], Value::Null);
    assert_eq!(value["signoffs"]["roles"][0]["status"], "stale");
    assert!(
        value["evidence_inputs"]["plan"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let mut bad = value.clone();
    bad["evidence_digest"] = json!("sha256:XYZ");
    assert_invalid("report.schema.json", &bad, "sha256:XYZ");
    let mut env_form = diff;
    env_form.diff.kind = DiffKind::Environments;
    assert_valid("diff.schema.json", &parse(&super::diff::json(&env_form)));
}

#[test]
fn a_drill_record_validates() {
    let record = drill();
    let v = parse(&record.to_json(&Tool::new("0.1.0", "0123456789ab")));
    assert_eq!(v["schema_version"], crate::SCHEMA_VERSION);
    assert_eq!(v["outcome"]["id"], "drill.rds_failover");
    assert_valid("drill-record.schema.json", &v);
    // Still reads as the record.
    let back: DrillRecord = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back, record);
    let mut bad = v;
    bad["timeline"]["marks"][0]["kind"] = json!("explosion");
    assert_invalid("drill-record.schema.json", &bad, "explosion");
}

#[test]
fn a_mutated_report_does_not_validate() {
    let v = parse(&json_report::render(&sample()));
    let without = |key: &str| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove(key);
        v
    };
    assert_invalid("report.schema.json", &without("verdict"), "\"verdict\"");
    assert_invalid(
        "report.schema.json",
        &without("schema_version"),
        "\"schema_version\"",
    );
    let mut unknown_status = v.clone();
    unknown_status["checks"][0]["status"] = json!("flaky");
    assert_invalid("report.schema.json", &unknown_status, "flaky");
    let mut unknown_verdict = v.clone();
    unknown_verdict["verdict"] = json!("maybe");
    assert_invalid("report.schema.json", &unknown_verdict, "maybe");
    // An undocumented field is refused: the schema names every field.
    let mut extra = v.clone();
    extra["severity"] = json!("high");
    assert_invalid("report.schema.json", &extra, "severity");
    let mut no_evidence_field = v.clone();
    no_evidence_field["checks"][0]["evidence"]
        .as_object_mut()
        .unwrap()
        .remove("observed");
    assert_invalid("report.schema.json", &no_evidence_field, "observed");
    let mut next_major = v;
    next_major["schema_version"] = json!("2.0.0");
    assert_invalid("report.schema.json", &next_major, "2.0.0");
}

fn sarif_context() -> Context {
    Context {
        spec: SpecFile::locate(
            Path::new("/repo/infra-tests/environments/sandbox.hcl"),
            &[("SRCROOT", Path::new("/repo"))],
        ),
        regions: [("rds.multi_az", 12), ("budgets.thresholds", 40)]
            .into_iter()
            .map(|(id, line)| (id.to_string(), Region { line, column: 1 }))
            .collect(),
        titles: [("rds.multi_az", "Multi-AZ")]
            .into_iter()
            .map(|(id, t)| (id.to_string(), t.to_string()))
            .collect(),
        docs_url: None,
    }
}

#[track_caller]
fn assert_valid_sarif(text: &str) -> Value {
    let v = parse(text);
    let schema = read(&schemas().join("vendor/sarif-schema-2.1.0.json"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{text}");
    v
}

#[test]
fn sarif_validates_against_the_oasis_schema() {
    let v = assert_valid_sarif(&sarif::render(&sample(), &sarif_context()));
    assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 3);
    // An absolute address of the catalogue gives each rule a helpUri.
    let mut context = sarif_context();
    context.docs_url = Some("https://example.com/verify/blob/0123456789ab/docs/checks.md".into());
    assert_valid_sarif(&sarif::render(&sample(), &context));
    // A spec outside every root: an absolute file URI, percent-encoded.
    context.spec = SpecFile::locate(Path::new("/tmp/my specs/prod #1.hcl"), &[]);
    let v = assert_valid_sarif(&sarif::render(&sample(), &context));
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "file:///tmp/my%20specs/prod%20%231.hcl"
    );
    // Several environments: one run each; one that could not run has no results.
    let c = combined();
    let contexts = vec![sarif_context(); c.runs.len()];
    let v = assert_valid_sarif(&sarif::render_combined(&c, &contexts));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["automationDetails"]["id"], "verify/staging/");
    assert_eq!(runs[2]["invocations"][0]["executionSuccessful"], false);
    assert_eq!(runs[2]["results"], json!([]));
}

/// Why `helpUri` is only written from an absolute address: the standard's
/// schema (and GitHub's upload) refuse a relative one.
#[test]
fn a_relative_help_uri_is_not_sarif() {
    let mut v = parse(&sarif::render(&sample(), &sarif_context()));
    v["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = json!("docs/checks.md#rds-rds");
    let schema = read(&schemas().join("vendor/sarif-schema-2.1.0.json"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    assert!(!validator.is_valid(&v));
}
