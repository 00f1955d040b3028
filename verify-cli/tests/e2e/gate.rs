//! The gate over the sandbox: go with every report, the installed way, the
//! selection, the account guard, a broken sandbox and a waiver, the metric
//! gates and the T-0 canary.

use super::*;

#[test]
fn verify_sandbox_is_go_with_json_junit_and_markdown_reports_and_the_confirmed_identity() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-go");
    let (json, junit, md) = (dir.join("go.json"), dir.join("go.xml"), dir.join("go.md"));
    let out = verify_sandbox_run(
        &dir,
        &[
            "--report",
            &report_arg("json", &json),
            "--report",
            &report_arg("junit", &junit),
            "--report",
            &report_arg("markdown", &md),
        ],
    );
    assert_exit(&out, 0);
    let report = read_report(&json);
    // The report's shape is the shipped schema's, and names its writer.
    let document = assert_schema(&json, "report.schema.json");
    assert!(
        document["schema_version"] == report_model::SCHEMA_VERSION
            && document["tool"]["version"] == env!("CARGO_PKG_VERSION"),
        "schema_version {} tool {}",
        document["schema_version"],
        document["tool"]
    );
    assert!(
        report.verdict == "go" && report.environment == "sandbox",
        "verdict {} for {}",
        report.verdict,
        report.environment
    );
    for id in [
        "rds.available",
        "rds.multi_az",
        "rds.encrypted",
        "rds.not_public",
        "rds.deletion_protection",
        "rds.backups",
        "budgets.monthly",
        "budgets.thresholds",
    ] {
        assert_check(&report, id, Status::Pass, &[]);
    }
    // Not public on the port the instance reports, with a rule on that port:
    // a port nothing admits would pass without judging anything.
    let not_public = &document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "rds.not_public")
        .unwrap()["evidence"]["observed"]["restartix-sandbox"];
    let port = not_public["port"].as_i64().unwrap();
    assert!(
        not_public["admitted"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| *s == format!("10.20.0.0/16 on {port}"))),
        "rds.not_public judged a port no rule admits: {not_public}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testcase name="rds.multi_az" classname="rds""#),
        "the JUnit report lacks the rds.multi_az testcase:\n{xml}"
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("GO") && markdown.contains("`budgets.thresholds`"),
        "the Markdown report is incomplete:\n{markdown}"
    );
    let stdout = stdout(&out);
    assert!(
        stdout.contains("verdict: GO"),
        "the terminal report lacks the verdict:\n{stdout}"
    );
    // The confirmed identity is recorded, from one sts:GetCallerIdentity.
    assert!(
        report.identity.account == SANDBOX_ACCOUNT
            && report.identity.arn.contains(SANDBOX_ACCOUNT)
            && report.identity.region == "eu-central-1",
        "report identity {:?}",
        report.identity
    );
    assert_eq!(
        report.aws_calls["operations"]["sts:GetCallerIdentity"], 1,
        "expected one sts:GetCallerIdentity, calls {}",
        report.aws_calls
    );
    assert!(
        stdout.contains(&format!("account {SANDBOX_ACCOUNT} in eu-central-1")),
        "the terminal report lacks the confirmed account:\n{stdout}"
    );
}

/// The binary run as a pipeline runs an installed one: from a folder of its
/// own with a copy of the spec, the sandbox's state named, and a PATH
/// without cargo (or rustc) on it.
#[test]
fn the_installed_binary_is_go_from_a_folder_of_its_own_with_no_cargo_on_path() {
    let _sandbox = reading_sandbox();
    let folder = scratch("e2e-installed");
    std::fs::copy(specs().join("sandbox.hcl"), folder.join("sandbox.hcl")).unwrap();
    let path: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let without_cargo: Vec<&std::path::PathBuf> = path
        .iter()
        .filter(|d| !d.join("cargo").exists() && !d.join("rustc").exists())
        .collect();
    let out = verify()
        .current_dir(&folder)
        .args(["run", "sandbox.hcl", "--report", "json=out/go.json"])
        .arg("--sandbox-state")
        .arg(sandbox_state())
        .env("PATH", std::env::join_paths(without_cargo).unwrap())
        .env_remove("CARGO")
        // What the spec's canary asks for (cargo's [env] gives it to the tests).
        .env("VERIFY_SECRET_SANDBOX_CANARY_PASSWORD", canary_password())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let report = read_report(&folder.join("out/go.json"));
    assert!(
        report.verdict == "go" && report.checks.len() >= 30,
        "{} with {} checks",
        report.verdict,
        report.checks.len()
    );
}

/// The ids a go run of the sandbox with `--only glob` judged.
fn ids_run_with_only(name: &str, glob: &str) -> Vec<String> {
    let dir = scratch(name);
    let json = dir.join(format!("{name}.json"));
    let out = verify_sandbox_run(
        &dir,
        &["--only", glob, "--report", &report_arg("json", &json)],
    );
    assert_exit(&out, 0);
    read_report(&json)
        .checks
        .into_iter()
        .map(|c| c.id)
        .collect()
}

#[test]
fn only_runs_the_checks_its_glob_matches() {
    let _sandbox = reading_sandbox();
    let ids = ids_run_with_only("e2e-only", "budgets.*");
    assert_eq!(
        ids,
        ["budgets.monthly", "budgets.thresholds"],
        "--only budgets.* ran {ids:?}"
    );
}

#[test]
fn an_only_glob_with_a_comma_is_one_glob() {
    let _sandbox = reading_sandbox();
    let ids = ids_run_with_only("e2e-only-comma", "{rds,ses}.*");
    // What the spec plans in those areas, as `verify checks` lists it (from
    // the checks' declarations, so a new rds check needs no edit here).
    let listed = verify()
        .args(["checks", "--format", "json", "--spec"])
        .arg(specs().join("sandbox.hcl"))
        .output()
        .unwrap();
    assert_exit(&listed, 0);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let expected: Vec<&str> = listed
        .iter()
        .filter_map(|c| c["id"].as_str())
        .filter(|id| id.starts_with("rds.") || id.starts_with("ses."))
        .collect();
    assert!(
        !expected.is_empty() && ids == expected,
        "--only '{{rds,ses}}.*' ran {ids:?}, the spec plans {expected:?}"
    );
}

/// The sandbox spec with another `account_id`: the credentials are the
/// sandbox's, so the run must stop before any check, naming both accounts.
#[test]
fn a_spec_declaring_another_account_exits_2_naming_both_and_runs_no_check() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-wrong-account");
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let declared = format!("account_id  = \"{SANDBOX_ACCOUNT}\"");
    assert!(
        spec.contains(&declared),
        "sandbox.hcl no longer declares {declared}"
    );
    let path = dir.join("wrong-account.hcl");
    std::fs::write(
        &path,
        spec.replace(&declared, "account_id  = \"210987654321\""),
    )
    .unwrap();
    let json = dir.join("wrong-account.json");
    let out = run_sandbox(&dir, &path, &["--report", &report_arg("json", &json)]);
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("210987654321") && stderr.contains(SANDBOX_ACCOUNT),
        "stderr does not name both accounts:\n{stderr}"
    );
    assert!(
        !json.exists(),
        "a report was written although no check may run"
    );
}

#[test]
fn a_broken_sandbox_is_no_go_naming_the_failing_check_and_a_live_waiver_makes_it_go() {
    let _broken = Changed::broken(&["rds-single-az"]);
    let dir = scratch("e2e-broken");
    let json = dir.join("broken.json");
    let sarif = dir.join("broken.sarif");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--report",
            &report_arg("json", &json),
            "--report",
            &report_arg("sarif", &sarif),
        ],
    );
    assert_exit(&out, 1);
    assert_check(
        &read_report(&json),
        "rds.multi_az",
        Status::Fail,
        &["MultiAZ expected true, observed false"],
    );
    // SARIF: valid against the standard's schema; the failure is a result
    // at the spec's `rds` block, the spec named from the checkout's root.
    let sarif = assert_schema(&sarif, "vendor/sarif-schema-2.1.0.json");
    let result = sarif["runs"][0]["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["ruleId"] == "rds.multi_az"))
        .unwrap_or_else(|| panic!("no rds.multi_az result: {sarif}"));
    assert_eq!(result["level"], "error", "{result}");
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let rds_line = spec
        .lines()
        .position(|l| l.starts_with("rds \""))
        .expect("sandbox.hcl declares an rds block")
        + 1;
    let at = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        at["region"]["startLine"], rds_line,
        "rds.multi_az located at {at}, the rds block is at line {rds_line}"
    );
    let uri = at["artifactLocation"]["uri"].as_str().unwrap_or_default();
    assert!(
        uri.ends_with("infra-tests/environments/sandbox.hcl"),
        "spec named {uri}"
    );
    if workspace().join(".git").exists() {
        assert_eq!(
            (uri, &at["artifactLocation"]["uriBaseId"]),
            (
                "infra-tests/environments/sandbox.hcl",
                &serde_json::json!("SRCROOT")
            ),
            "{at}"
        );
    }
    let rule = &sarif["runs"][0]["tool"]["driver"]["rules"]
        [result["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "rds.multi_az", "{rule}");
    let stdout = stdout(&out);
    assert!(
        stdout.contains("verdict: NO-GO") && stdout.contains("rds.multi_az"),
        "the terminal report does not show the failure:\n{stdout}"
    );
    // A live waiver turns it into `waived` and the run into go.
    let waivers = dir.join("waivers.hcl");
    std::fs::write(
        &waivers,
        "waiver \"rds.multi_az\" {\n  justification = \"standby rebuilt tonight (OPS-7)\"\n  expires = \"2999-12-31\"\n}\n",
    )
    .unwrap();
    let waived_json = dir.join("waived.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--waivers",
            waivers.to_str().unwrap(),
            "--report",
            &report_arg("json", &waived_json),
        ],
    );
    assert_exit(&out, 0);
    let waived = read_report(&waived_json);
    assert_eq!(
        waived.summary.waived, 1,
        "expected one waived check, summary {:?}",
        waived.summary
    );
}

/// The metric gates and the canary, whose writes are allowed (and undone).
const GATES_AND_CANARY: [&str; 5] = [
    "--only",
    "metrics.*",
    "--only",
    "canary.*",
    "--allow-writes",
];

#[test]
fn the_metric_gates_and_the_t0_canary_pass_on_the_good_sandbox() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-gates-good");
    let good = dir.join("gates-good.json");
    let report = report_arg("json", &good);
    let out = verify_sandbox_run(
        &dir,
        &[&GATES_AND_CANARY[..], &["--report", &report]].concat(),
    );
    assert_exit(&out, 0);
    let report = read_report(&good);
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert!(
        ids.len() == 5
            && ids.contains(&"canary.t0")
            && ids.contains(&"canary.sign_in_rate_limit")
            && report.summary.pass == 5,
        "expected 3 metric gates and the two canaries passing, got {ids:?} {:?}",
        report.summary
    );
    assert_check(
        &report,
        "canary.t0",
        Status::Pass,
        &["; wrote: POST /v1/auth/sign-in, POST /v1/appointments; all undone"],
    );
}

/// Without --allow-writes the T-0 canary (it writes) is `skip`, saying how
/// to allow it, never `pass`; nothing is sent, and the verdict is the other
/// checks' (go).
#[test]
fn without_allow_writes_the_writing_canary_is_skip_and_the_verdict_unaffected() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-canary-no-writes");
    let json = dir.join("no-writes.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--only",
            "canary.*",
            "--only",
            "budgets.*",
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 0);
    let report = read_report(&json);
    assert_check(
        &report,
        "canary.t0",
        Status::Skip,
        &["canary 't0': writes not allowed: pass --allow-writes"],
    );
    assert!(
        report.verdict == "go" && report.summary.pass == 2 && report.summary.skip == 2,
        "{} {:?}",
        report.verdict,
        report.summary
    );
    assert!(
        stdout(&out).contains("writes not allowed: pass --allow-writes"),
        "{}",
        text(&out)
    );
}

/// A canary whose responses echo its password (the Core API answers a
/// created appointment's `patient`, here the password) and fail: the
/// status mismatch (whose body holds it), the value observed at a pointer
/// (it), the captured value (it, too): no report — JSON, Markdown, JUnit,
/// HTML, SARIF — nor the terminal holds the password. The writes are
/// undone all the same.
#[test]
fn a_canary_whose_responses_echo_its_password_never_puts_it_in_a_report() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-canary-echo");
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let (start, end) = (
        spec.find("canary \"t0\" {").expect("sandbox.hcl's canary"),
        spec.find("\ndrills {").expect("sandbox.hcl's drills"),
    );
    let canary = |name: &str, read_back: &str| {
        format!(
            r#"canary "{name}" {{
  writes   = true
  base_url = "https://api.restartix.test"
  secrets  = {{ password = "VERIFY_SECRET_SANDBOX_CANARY_PASSWORD" }}
  step "sign_in" {{
    method        = "POST"
    path          = "/v1/auth/sign-in"
    json          = {{ email = "canary@restartix.test", password = "{{{{password}}}}" }}
    capture       = {{ token = "/token" }}
  }}
  step "create" {{
    method        = "POST"
    path          = "/v1/appointments"
    headers       = {{ authorization = "Bearer {{{{token}}}}" }}
    json          = {{ specialist_id = "spec-ana-ionescu", starts_at = "2030-01-01T09:00:00Z", patient = "{{{{password}}}}" }}
    expect_status = 201
    capture       = {{ appointment = "/id", echoed = "/patient" }}
  }}
  step "read_back" {{
    path    = "/v1/appointments/{{{{appointment}}}}"
    headers = {{ authorization = "Bearer {{{{token}}}}", "x-echo" = "{{{{echoed}}}}" }}
{read_back}
  }}
  undo "delete" {{
    undoes        = "create"
    path          = "/v1/appointments/{{{{appointment}}}}"
    headers       = {{ authorization = "Bearer {{{{token}}}}" }}
    expect_status = [204, 404]
  }}
  undo "sign_out" {{
    undoes        = "sign_in"
    path          = "/v1/auth/session"
    headers       = {{ authorization = "Bearer {{{{token}}}}" }}
    expect_status = 204
  }}
}}
"#
        )
    };
    let canaries = [
        canary("echo_in_body", "    expect_status = 202"),
        canary(
            "echo_at_pointer",
            "    expect {\n      pointer = \"/patient\"\n      equals  = \"someone else\"\n    }",
        ),
    ]
    .join("\n");
    let path = dir.join("echo.hcl");
    std::fs::write(
        &path,
        format!("{}{canaries}{}", &spec[..start], &spec[end..]),
    )
    .unwrap();
    let reports: Vec<(&str, std::path::PathBuf)> = ["json", "markdown", "junit", "html", "sarif"]
        .into_iter()
        .map(|f| (f, dir.join(format!("echo.{f}"))))
        .collect();
    let mut args = vec!["--only", "canary.*", "--allow-writes"];
    let targets: Vec<String> = reports.iter().map(|(f, p)| report_arg(f, p)).collect();
    for target in &targets {
        args.extend(["--report", target.as_str()]);
    }
    let out = run_sandbox(&dir, &path, &args);
    assert_exit(&out, 1);
    let report = read_report(&dir.join("echo.json"));
    assert_check(
        &report,
        "canary.echo_in_body",
        Status::Fail,
        &[
            "step `read_back` status expected 202, observed 200 (body: ",
            "bytes of application/json); wrote: POST /v1/auth/sign-in, POST /v1/appointments; all undone",
        ],
    );
    assert_check(
        &report,
        "canary.echo_at_pointer",
        Status::Fail,
        &["step `read_back` body /patient = \"someone else\" expected, observed a string of"],
    );
    let password = canary_password();
    assert!(
        !password.is_empty(),
        "the tests' environment lacks the canary's password"
    );
    assert!(
        !text(&out).contains(&password),
        "the terminal shows the password:\n{}",
        text(&out)
    );
    for (format, path) in &reports {
        let written = std::fs::read_to_string(path).unwrap();
        assert!(
            !written.contains(&password),
            "the {format} report holds the password:\n{written}"
        );
    }
}

/// A 5xx burst (the default account's CloudWatch) and a write the Core API
/// loses (its knob) turn the gates and the canary to fail with what was observed.
#[test]
fn a_5xx_burst_and_a_lost_write_fail_the_gates_and_the_canary_with_the_observed_values() {
    let _broken = Changed::broken(&["metrics-5xx-burst", "core-api-lost-write"]);
    let dir = scratch("e2e-gates-broken");
    let broken = dir.join("gates-broken.json");
    let report = report_arg("json", &broken);
    let out = verify_sandbox_run(
        &dir,
        &[&GATES_AND_CANARY[..], &["--report", &report]].concat(),
    );
    assert_exit(&out, 1);
    let report = read_report(&broken);
    assert_check(
        &report,
        "metrics.core_api_5xx_rate",
        Status::Fail,
        &["expected never > 0.5 for 10m"],
    );
    assert_check(
        &report,
        "canary.t0",
        Status::Fail,
        &["step `read_back` status expected 200, observed 404"],
    );
}
