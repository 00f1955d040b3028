//! The `verify` binary as a user runs it: its own process, its own working
//! directory, no cargo. The runs against the sandbox need it up (`cargo
//! xtask sandbox up`) and hold it for reading; the rest need nothing. The
//! end-to-end runs of the gate and the drills are in `e2e/`.

use serde_json::Value;

mod common;
use common::*;

#[test]
fn version_names_the_commit_and_help_the_exit_codes() {
    let out = verify().arg("--version").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("verify ") && stdout.contains("(commit "),
        "{}",
        text(&out)
    );
    let out = verify().arg("--help").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    for needle in [
        "verify",
        "run",
        "validate",
        "checks",
        "drill",
        "iam-policy",
        "diff",
        "2  could not run",
    ] {
        assert!(
            stdout.contains(needle),
            "--help lacks {needle:?}:\n{stdout}"
        );
    }
    let out = verify().args(["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn validate_lists_the_planned_checks_and_their_iam_actions_without_aws() {
    // A sandbox spec validates without a sandbox: no state, no AWS call.
    let out = verify()
        .args(["validate", "sandbox", "--format", "json", "--only", "rds.*"])
        .arg("--spec-dir")
        .arg(specs())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let listing: Value = serde_json::from_slice(&out.stdout).unwrap();
    let env = &listing["environments"][0];
    assert_eq!(env["environment"], "sandbox");
    let checks: Vec<&str> = env["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(checks.contains(&"rds.multi_az") && checks.iter().all(|c| c.starts_with("rds.")));
    assert!(
        env["iam_actions"]
            .as_array()
            .unwrap()
            .contains(&Value::from("rds:DescribeDBInstances")),
        "{env}"
    );
}

#[test]
fn a_bad_input_exits_2_naming_file_line_and_column() {
    let dir = scratch("bad-input");
    let bad = dir.join("bad.hcl");
    std::fs::write(
        &bad,
        "environment = \"bad\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\nrds \"core\" {\n  identifier = \"x\"\n  multiaz = true\n}\n",
    )
    .unwrap();
    for command in ["validate", "run"] {
        let out = verify().arg(command).arg(&bad).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            stderr.contains("bad.hcl:7:3:") && stderr.contains("unknown attribute `multiaz`"),
            "{}",
            text(&out)
        );
    }
    let waivers = dir.join("waivers.hcl");
    std::fs::write(
        &waivers,
        "waiver \"rds.*\" {\n  expires = \"2026-12-31\"\n}\n",
    )
    .unwrap();
    let out = verify()
        .args(["validate", "sandbox", "--spec-dir"])
        .arg(specs())
        .arg("--waivers")
        .arg(&waivers)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("waivers.hcl:1:1:"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_sandbox_spec_without_the_sandbox_state_exits_2_naming_it() {
    let dir = scratch("no-state");
    let missing = dir.join("nowhere").join("state.json");
    let out = verify()
        .current_dir(&dir)
        .args(["run", "sandbox", "--spec-dir"])
        .arg(specs())
        .arg("--sandbox-state")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&missing.display().to_string()),
        "{}",
        text(&out)
    );
}

/// Two environments whose names read the same in a file name would write
/// one per-environment report over the other: refused before the run.
#[test]
fn environments_whose_report_names_collide_are_refused() {
    let dir = scratch("collide");
    let a = sandbox_as(&dir, "eu.prod");
    let b = sandbox_as(&dir, "eu_prod");
    let out = verify()
        .arg("run")
        .arg(&a)
        .arg(&b)
        .arg("--sandbox-state")
        .arg(dir.join("none.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"eu_prod\""),
        "{}",
        text(&out)
    );
}

#[test]
fn checks_lists_the_catalogue_with_templates_and_a_spec_with_concrete_ids() {
    let out = verify()
        .args(["checks", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"rds.multi_az") && ids.contains(&"metrics.<name>"),
        "{ids:?}"
    );
    let out = verify()
        .args(["checks", "--format", "json", "--spec"])
        .arg(specs().join("sandbox.hcl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = listed.as_array().unwrap();
    assert!(all.iter().all(|c| !c["id"].as_str().unwrap().contains('<')));
    let multi_az = all.iter().find(|c| c["id"] == "rds.multi_az").unwrap();
    assert_eq!(multi_az["area"], "rds");
    assert!(
        multi_az["iam_actions"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

// Against the running sandbox.

/// The variables the old harness passed between its processes, exported
/// with values that would change the run: none reaches it.
#[test]
fn an_exported_variable_reaches_no_run_that_did_not_ask_for_it() {
    let _sandbox = reading_sandbox();
    let dir = scratch("exported");
    let spec = sandbox_as(&dir, "sandbox");
    let changed_plan = workspace().join("fixtures/terraform/plans/update.json");
    let bad = dir.join("bad-waivers.hcl");
    std::fs::write(&bad, "not hcl {").unwrap();
    let out = verify()
        .current_dir(&dir)
        .arg("run")
        .arg(&spec)
        .arg("--sandbox-state")
        .arg(sandbox_state())
        .args([
            "--only",
            "terraform.*",
            "--only",
            "budgets.*",
            "--report",
            "json=r.json",
        ])
        .env("VERIFY_TERRAFORM_PLAN", &changed_plan)
        .env("VERIFY_TERRAFORM_STATE", &changed_plan)
        .env("VERIFY_TERRAFORM_OUTPUTS", &changed_plan)
        .env("VERIFY_WAIVERS", &bad)
        .env("VERIFY_ONLY", "rds.*")
        .env("VERIFY_SKIP", "budgets.*")
        .env("VERIFY_ENV", "production")
        .env("VERIFY_RESULTS_DIR", dir.join("results"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json(&dir.join("r.json"));
    let statuses: Vec<(String, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    // The plan was not given: terraform.* skips (the exported plan would fail it).
    assert!(
        statuses.contains(&("terraform.idempotent".into(), "skip".into()))
            && statuses.contains(&("budgets.monthly".into(), "pass".into()))
            && statuses.len() == 4,
        "{statuses:?}"
    );
    assert!(
        !dir.join("results").exists(),
        "a results directory was written"
    );
}

/// Two runs at once in one folder, each with its own selection and
/// reports: neither reads the other's results.
#[test]
fn two_concurrent_runs_in_one_folder_never_read_each_others_results() {
    let _sandbox = reading_sandbox();
    let dir = scratch("concurrent");
    let spec = sandbox_as(&dir, "sandbox");
    let start = |only: &str, report: &str| {
        verify()
            .current_dir(&dir)
            .arg("run")
            .arg(&spec)
            .arg("--sandbox-state")
            .arg(sandbox_state())
            .args(["--only", only, "--report", &format!("json={report}")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = start("rds.*", "a.json");
    let b = start("budgets.*", "b.json");
    // The spec's own checks: it names two `rds.snapshots.<label>`.
    let env = envspec::parse(&std::fs::read_to_string(&spec).unwrap(), &spec).unwrap();
    let declared = |area: &str| {
        verify::checks::catalogue(&env)
            .iter()
            .filter(|c| c.id.starts_with(&format!("{area}.")))
            .count()
    };
    for (child, report, area, count) in [
        (a, "a.json", "rds", declared("rds")),
        (b, "b.json", "budgets", declared("budgets")),
    ] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let report = json(&dir.join(report));
        let ids: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        assert!(
            ids.len() == count && ids.iter().all(|id| id.starts_with(&format!("{area}."))),
            "{area}: {ids:?}"
        );
    }
}

/// Environment names with dots, and a report PATH without an extension:
/// each environment's report lands beside the combined one, none over another.
#[test]
fn per_environment_report_names_never_collide() {
    let _sandbox = reading_sandbox();
    let dir = scratch("names");
    let a = sandbox_as(&dir, "eu.prod");
    let b = sandbox_as(&dir, "eu.prod.2");
    let out = run_sandbox(
        &dir,
        &a,
        &[
            b.to_str().unwrap(),
            "--only",
            "budgets.*",
            "--report",
            "json=out/gate",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let combined = json(&dir.join("out/gate"));
    assert_eq!(combined["summary"]["go"], 2, "{combined}");
    for (file, env) in [("gate.eu_prod", "eu.prod"), ("gate.eu_prod_2", "eu.prod.2")] {
        let report = json(&dir.join("out").join(file));
        assert_eq!(report["environment"], env);
    }
    let mut files: Vec<String> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["gate", "gate.eu_prod", "gate.eu_prod_2"]);
}

#[test]
fn iam_policy_prints_the_policy_and_drill_writes_only_with_drills() {
    let policy = |drills: bool| -> Value {
        let mut command = verify();
        command
            .args(["iam-policy", "sandbox", "--spec-dir"])
            .arg(specs());
        if drills {
            command.arg("--drills");
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let reboot = Value::from("rds:RebootDBInstance");
    let has_reboot = |p: &Value| {
        p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Action"].as_array().is_some_and(|a| a.contains(&reboot)))
    };
    assert_eq!(policy(false)["Version"], "2012-10-17");
    assert!(!has_reboot(&policy(false)) && has_reboot(&policy(true)));
}

/// Every drill, `cleanup` included, refuses without `--yes`; a drill
/// refuses where the spec does not allow drills.
#[test]
fn a_drill_refuses_without_consent_and_where_drills_are_not_allowed() {
    let out = verify()
        .args(["drill", "rds-failover", "sandbox", "--spec-dir"])
        .arg(specs())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--yes"),
        "{}",
        text(&out)
    );
    // `cleanup` deletes too: consent first, before the spec is even read.
    let out = verify()
        .args(["drill", "cleanup", "no-such-spec", "--spec-dir"])
        .arg(specs())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("refusing: drill cleanup deletes what drills left in 'no-such-spec'"),
        "{}",
        text(&out)
    );
    let out = verify()
        .args(["drill", "rds-failover", "production", "--yes", "--spec-dir"])
        .arg(specs())
        .arg("--terraform-outputs")
        .arg(workspace().join("examples/production/outputs.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not allow drills"),
        "{}",
        text(&out)
    );
}

/// `verify checks | head`: a reader that goes away is no panic and no failure.
#[test]
fn a_closed_stdout_is_neither_a_panic_nor_a_failure() {
    for args in [&["checks"][..], &["checks", "--format", "json"][..]] {
        let mut child = verify()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{}",
            text(&out)
        );
    }
}
