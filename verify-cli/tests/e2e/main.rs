//! End to end, as a user runs it: the `verify` binary against the running
//! sandbox (`cargo xtask sandbox up`) — the gate, several environments, the
//! sign-offs, `terraform.*` and the drills — and the inputs it refuses
//! before any of that. Every test that touches the sandbox holds it (for
//! reading, or alone when it breaks it or runs a drill: see
//! `common::Changed`); the refusals need no sandbox.

#[path = "../common/mod.rs"]
mod common;

mod diff;
mod drills;
mod environments;
mod gate;
mod inputs;
mod secrets;
mod signoffs;
mod terraform;

use std::path::Path;
use std::process::Output;

use report_model::report::{CheckOutcome, Report, Status};

use common::*;

/// The sandbox's default account (moto's, for its static test credentials).
const SANDBOX_ACCOUNT: &str = "123456789012";

/// A JSON report with every field a reader relies on, read as the model.
#[track_caller]
fn read_report(path: &Path) -> Report {
    let value = json(path);
    for key in [
        "environment",
        "started_at",
        "duration_ms",
        "verdict",
        "summary",
        "checks",
    ] {
        assert!(
            value.get(key).is_some(),
            "{}: the JSON report lacks `{key}`",
            path.display()
        );
    }
    for check in value["checks"].as_array().expect("checks is a list") {
        for key in ["id", "status", "message", "duration_ms", "evidence"] {
            assert!(
                check.get(key).is_some(),
                "check entry lacks `{key}`: {check}"
            );
        }
    }
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The report's entry for `id`.
#[track_caller]
fn check_in<'a>(report: &'a Report, id: &str) -> &'a CheckOutcome {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} missing from the report"))
}

/// Asserts `id`'s status, and that its message holds every needle.
#[track_caller]
fn assert_check(report: &Report, id: &str, status: Status, needles: &[&str]) {
    let check = check_in(report, id);
    assert!(
        check.status == status && needles.iter().all(|n| check.message.contains(n)),
        "{id}: {} {} (expected {}, with {needles:?})",
        check.status.as_str(),
        check.message,
        status.as_str()
    );
}

/// `verify run sandbox` from `dir` (as `cargo xtask verify sandbox`) with `extra` flags.
fn verify_sandbox_run(dir: &Path, extra: &[&str]) -> Output {
    verify_sandbox(dir, "run")
        .arg("sandbox")
        .args(extra)
        .output()
        .unwrap()
}

/// `docs/schemas/`, where the shipped schemas are.
fn schemas() -> std::path::PathBuf {
    workspace().join("docs").join("schemas")
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// The errors of `instance` against the schema at `schema` (empty: valid),
/// `format` checked; `report.schema.json` registered under its file URI so
/// the other schemas' `$ref`s to it resolve as they do beside it.
fn schema_errors(schema: &Path, instance: &serde_json::Value) -> Vec<String> {
    let report = schemas().join("report.schema.json");
    let registry = jsonschema::Registry::new()
        .add(file_uri(&report), json(&report))
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_registry(&registry)
        .with_base_uri(file_uri(schema))
        .should_validate_formats(true)
        .build(&json(schema))
        .unwrap_or_else(|e| panic!("{}: {e}", schema.display()));
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// The document at `path` is valid against `docs/schemas/<schema>`
/// (`vendor/sarif-schema-2.1.0.json` for SARIF); the document.
#[track_caller]
fn assert_schema(path: &Path, schema: &str) -> serde_json::Value {
    let document = json(path);
    let errors = schema_errors(&schemas().join(schema), &document);
    assert!(
        errors.is_empty(),
        "{} does not match {schema}: {errors:#?}",
        path.display()
    );
    document
}

/// `json=<dir>/<name>` for `--report`.
fn report_arg(format: &str, path: &Path) -> String {
    format!("{format}={}", path.display())
}
