//! Several environments in one run: each judged on its own, one combined
//! report and one per environment; an environment that cannot run does not
//! stop the others; an invalid one stops everything.

use super::*;

#[test]
fn two_sandbox_environments_at_once_are_both_go_with_a_combined_report_and_one_each() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-multi");
    let copy = sandbox_as(&dir, "sandbox-copy");
    let json = dir.join("multi.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            copy.to_str().unwrap(),
            "--report",
            &report_arg("json", &json),
            "--report",
            &report_arg("junit", &dir.join("multi.xml")),
        ],
    );
    assert_exit(&out, 0);
    let combined = common::json(&json);
    assert!(
        combined["verdict"] == "go" && combined["summary"]["go"] == 2,
        "combined report: {}",
        combined["summary"]
    );
    for env in ["sandbox", "sandbox-copy"] {
        let report = read_report(&dir.join(format!("multi.{env}.json")));
        assert!(
            report.environment == env && report.verdict == "go",
            "{env}: {} for {}",
            report.verdict,
            report.environment
        );
        // Each confirmed its own identity: one sts:GetCallerIdentity each.
        assert!(
            report.aws_calls["operations"]["sts:GetCallerIdentity"] == 1
                && report.identity.account == SANDBOX_ACCOUNT,
            "{env}: identity {:?}, calls {}",
            report.identity,
            report.aws_calls
        );
        assert!(
            dir.join(format!("multi.{env}.xml")).is_file(),
            "no JUnit report for {env}"
        );
    }
    let xml = std::fs::read_to_string(dir.join("multi.xml")).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="verify.sandbox-copy""#),
        "the combined JUnit report lacks sandbox-copy's suite:\n{xml}"
    );
    let stdout = stdout(&out);
    assert!(
        stdout.contains("2 environments: 2 go, 0 no-go, 0 could not run")
            && stdout.contains("verdict: GO"),
        "terminal summary:\n{stdout}"
    );
}

/// Each environment has its own account guard: one declaring another
/// account cannot run, the other is judged as usual.
#[test]
fn an_environment_of_another_account_could_not_run_and_the_sandbox_is_still_judged() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-multi-wrong");
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let path = dir.join("multi-wrong-account.hcl");
    std::fs::write(
        &path,
        spec.replace("environment = \"sandbox\"", "environment = \"elsewhere\"")
            .replace(
                &format!("account_id  = \"{SANDBOX_ACCOUNT}\""),
                "account_id  = \"210987654321\"",
            ),
    )
    .unwrap();
    let json = dir.join("multi-wrong.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            path.to_str().unwrap(),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 2);
    // Valid against the shipped schema, the environment that could not run included.
    let combined = assert_schema(&json, "combined-report.schema.json");
    let elsewhere = &combined["environments"][1];
    assert!(
        elsewhere["verdict"] == "could-not-run"
            && elsewhere["error"]
                .as_str()
                .is_some_and(|e| e.contains("210987654321") && e.contains(SANDBOX_ACCOUNT)),
        "the wrong account's entry: {elsewhere}"
    );
    assert_eq!(
        combined["environments"][0]["verdict"], "go",
        "sandbox: {}",
        combined["environments"][0]
    );
    read_report(&dir.join("multi-wrong.sandbox.json"));
    assert!(
        !dir.join("multi-wrong.elsewhere.json").exists(),
        "a report was written for an environment that could not run"
    );
}

/// Refused while reading the specs: no sandbox needed.
#[test]
fn an_invalid_spec_among_several_exits_2_at_its_position_and_runs_nothing() {
    let dir = scratch("e2e-multi-bad");
    let bad = dir.join("multi-bad.hcl");
    std::fs::write(
        &bad,
        "environment = \"bad\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\nrds \"core\" {\n  identifier = \"x\"\n  multiaz = true\n}\n",
    )
    .unwrap();
    let json = dir.join("multi-bad.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            bad.to_str().unwrap(),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("multi-bad.hcl:7:3:"),
        "stderr lacks file:line:column:\n{stderr}"
    );
    assert!(
        !json.exists(),
        "a report was written although nothing may run"
    );
}

/// Sign-offs belong to one environment's launch: refused with several,
/// before anything runs.
#[test]
fn signoffs_with_several_environments_are_refused() {
    let dir = scratch("e2e-multi-signoffs");
    let out = verify_sandbox(&dir, "run")
        .args(["sandbox", "staging", "--signoffs"])
        .arg(super::signoffs::sandbox_signoffs())
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("--signoffs judges one environment"),
        "{}",
        text(&out)
    );
}
