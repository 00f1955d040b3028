//! `verify diff`: two runs' JSON reports, two environments of a combined
//! report, and what it refuses (exit 2, the file named). Reports written
//! here through the report model, as `verify run` writes them: no sandbox.

use std::path::PathBuf;

use report_model::report::combined::{Combined, EnvironmentRun};
use report_model::report::{Identity, RunRecord, json as json_report};
use report_model::{Evidence, Tool};

use super::*;

/// One environment's report with these statuses.
fn report(environment: &str, checks: &[(&str, Status)]) -> Report {
    let checks: Vec<CheckOutcome> = checks
        .iter()
        .map(|(id, status)| CheckOutcome {
            id: id.to_string(),
            status: *status,
            message: format!("{id} {} in {environment}", status.as_str()),
            duration_ms: 2,
            evidence: Evidence::default(),
        })
        .collect();
    let planned: Vec<String> = checks.iter().map(|c| c.id.clone()).collect();
    let record = RunRecord {
        environment: environment.into(),
        started_at: "2026-12-01T10:00:00Z".into(),
        duration_ms: 10,
        identity: Identity {
            account: SANDBOX_ACCOUNT.into(),
            arn: format!("arn:aws:iam::{SANDBOX_ACCOUNT}:user/ci"),
            region: "eu-central-1".into(),
        },
        aws_calls: serde_json::json!({"operations": {}, "requests": 0}),
    };
    Report::new(record, &planned, checks)
        .unwrap()
        .with_tool(Tool::new("0.1.0", "unknown"))
}

fn write_report(dir: &Path, name: &str, report: &Report) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json_report::render(report)).unwrap();
    path
}

fn diff(dir: &Path, args: &[&str]) -> Output {
    verify()
        .current_dir(dir)
        .arg("diff")
        .args(args)
        .output()
        .unwrap()
}

/// old: a.newly pass, a.fixed fail, a.same pass, a.gone pass;
/// new: a.newly fail, a.fixed pass, a.same pass, a.added error.
fn two_runs(dir: &Path) -> (PathBuf, PathBuf) {
    use Status::*;
    let old = report(
        "sandbox",
        &[
            ("a.newly", Pass),
            ("a.fixed", Fail),
            ("a.same", Pass),
            ("a.gone", Pass),
        ],
    );
    let new = report(
        "sandbox",
        &[
            ("a.newly", Fail),
            ("a.fixed", Pass),
            ("a.same", Pass),
            ("a.added", Error),
        ],
    );
    (
        write_report(dir, "old.json", &old),
        write_report(dir, "new.json", &new),
    )
}

#[test]
fn two_runs_compared_exit_0_or_1_with_fail_on_new_in_every_format() {
    let dir = scratch("e2e-diff-runs");
    let (old, new) = two_runs(&dir);
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = diff(&dir, &[old, new]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for needle in [
        "Newly failing (1)\n  ✗ a.newly  pass → fail",
        "Fixed (1)\n  ✓ a.fixed  fail → pass",
        "only in",
        "a.gone",
        "+ a.added",
        "1 unchanged",
        "2 new failure(s): a.newly, a.added",
    ] {
        assert!(
            text.to_lowercase().contains(&needle.to_lowercase()),
            "stdout lacks {needle:?}:\n{text}"
        );
    }

    let json = dir.join("diff.json");
    let md = dir.join("diff.md");
    let html = dir.join("diff.html");
    let out = diff(
        &dir,
        &[
            old,
            new,
            "--fail-on",
            "new",
            "--report",
            &report_arg("json", &json),
            "--report",
            &report_arg("markdown", &md),
            "--report",
            &report_arg("html", &html),
        ],
    );
    assert_exit(&out, 1);
    let value = assert_schema(&json, "diff.schema.json");
    assert_eq!(value["kind"], "runs");
    assert_eq!(value["newly_failing"][0]["id"], "a.newly");
    assert_eq!(value["fixed"][0]["id"], "a.fixed");
    assert_eq!(value["only_in_old"][0]["id"], "a.gone");
    assert_eq!(value["only_in_new"][0]["id"], "a.added");
    assert_eq!(
        value["new_failures"],
        serde_json::json!(["a.newly", "a.added"])
    );
    assert!(
        value["new"]["evidence_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("## Newly failing (1)")
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && !page.contains("<script"));
    assert!(page.contains("data-id=\"a.newly\""));

    // A run against itself: nothing newly fails.
    let out = diff(&dir, &[new, new, "--fail-on", "new"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("no new failures"), "{}", stdout(&out));
}

#[test]
fn two_environments_of_a_combined_report_read_as_sentences() {
    use Status::*;
    let dir = scratch("e2e-diff-envs");
    let staging = report("staging", &[("rds.multi_az", Pass), ("ses.identity", Fail)]);
    let production = report(
        "production",
        &[("rds.multi_az", Fail), ("ses.identity", Fail)],
    );
    let combined = Combined::new(
        "2026-12-01T10:00:00Z".into(),
        20,
        vec![
            EnvironmentRun {
                environment: "staging".into(),
                spec: "environments/staging.hcl".into(),
                report: Ok(Box::new(staging)),
            },
            EnvironmentRun {
                environment: "production".into(),
                spec: "environments/production.hcl".into(),
                report: Ok(Box::new(production)),
            },
            EnvironmentRun {
                environment: "dr".into(),
                spec: "environments/dr.hcl".into(),
                report: Err("wrong AWS account".into()),
            },
        ],
    );
    let file = dir.join("combined.json");
    std::fs::write(&file, report_model::report::combined::json(&combined)).unwrap();
    let file = file.to_str().unwrap();
    let json = dir.join("envs.json");
    let out = diff(
        &dir,
        &[
            file,
            "--env",
            "staging",
            "--env",
            "production",
            "--fail-on",
            "new",
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("staging passes rds.multi_az, production fails rds.multi_az")
            && text.contains("Failing in both (1)"),
        "{text}"
    );
    let value = assert_schema(&json, "diff.schema.json");
    assert_eq!(value["kind"], "environments");
    assert_eq!(value["old"]["label"], "staging");
    assert_eq!(value["new_failures"], serde_json::json!(["rds.multi_az"]));
    // The other way round nothing fails in staging that passes in production.
    let out = diff(
        &dir,
        &[
            file,
            "--env",
            "production",
            "--env",
            "staging",
            "--fail-on",
            "new",
        ],
    );
    assert_exit(&out, 0);
    // An environment it does not hold, or one that could not run: exit 2, named.
    let out = diff(&dir, &[file, "--env", "staging", "--env", "prod"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("combined.json: no environment \"prod\"") && err.contains("\"production\""),
        "{err}"
    );
    let out = diff(&dir, &[file, "--env", "staging", "--env", "dr"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("could not run (wrong AWS account)"),
        "{}",
        stderr(&out)
    );
    // A combined report given as one of two runs is refused, naming --env.
    let (old, _) = two_runs(&dir);
    let out = diff(&dir, &[old.to_str().unwrap(), file]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--env A --env B"), "{}", stderr(&out));
}

#[test]
fn what_is_not_a_gate_report_exits_2_naming_the_file() {
    let dir = scratch("e2e-diff-bad");
    let (old, _) = two_runs(&dir);
    let old = old.to_str().unwrap();
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\n  \"checks\": [\n    {\"id\": }\n  ]\n}\n").unwrap();
    let out = diff(&dir, &[old, broken.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("broken.json:3:12: not JSON"),
        "{}",
        stderr(&out)
    );

    let drill = dir.join("drill.json");
    std::fs::write(
        &drill,
        r#"{"schema_version": "1.2.0", "environment": "sandbox", "outcome": {}, "timeline": {}}"#,
    )
    .unwrap();
    let out = diff(&dir, &[old, drill.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("drill.json: a drill record"),
        "{}",
        stderr(&out)
    );

    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"name": "not a report"}"#).unwrap();
    let out = diff(&dir, &[other.to_str().unwrap(), old]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("other.json: not a verify report"),
        "{}",
        stderr(&out)
    );

    let shape = dir.join("shape.json");
    std::fs::write(
        &shape,
        r#"{"environment": "x", "checks": [{"id": "a.b", "status": "great"}]}"#,
    )
    .unwrap();
    let out = diff(&dir, &[old, shape.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("shape.json:1:"), "{}", stderr(&out));

    // `verify run --baseline` refuses the same before any check.
    let out = verify_sandbox_run(&dir, &["--baseline", drill.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("drill.json: a drill record"),
        "{}",
        stderr(&out)
    );
    let out = verify_sandbox_run(&dir, &["--commit", "main"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("--commit \"main\""),
        "{}",
        stderr(&out)
    );
}
