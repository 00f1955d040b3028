//! `secrets.*` and `kms.rotation` as a user runs them: the seeded secret's
//! value (a fake, production-looking Stripe key) never reaches the terminal,
//! a log line at trace level or any report, whether it matches the declared
//! pattern or not; and the printed IAM policy reads values only where the
//! spec opts in.

use fixtures::protection::{STRIPE_FAKE_LIVE_KEY, STRIPE_SECRET};

use super::*;

/// What must never appear: the value, its distinctive middle, the other
/// field of the JSON secret.
const NEVER: [&str; 3] = [STRIPE_FAKE_LIVE_KEY, "sandbox-fake-4242", "acct_sandbox"];

#[test]
fn a_secrets_value_is_in_no_terminal_line_log_or_report_whether_it_matches_or_not() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-secret-value");
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    // The sandbox's own secret judged three more ways: a pattern it does
    // not match, a key it does not have, and the whole JSON text.
    let extra = format!(
        r#"
secret "stripe_as_test_key" {{
  name        = "{STRIPE_SECRET}"
  check_value = true
  pattern     = "^sk_test_"
  json_key    = "api_key"
}}

secret "stripe_other_key" {{
  name        = "{STRIPE_SECRET}"
  check_value = true
  pattern     = "^sk_live_"
  json_key    = "secret_key"
}}

secret "stripe_whole_text" {{
  name        = "{STRIPE_SECRET}"
  check_value = true
  pattern     = "api_key"
}}
"#
    );
    let path = dir.join("secrets.hcl");
    std::fs::write(&path, format!("{spec}{extra}")).unwrap();
    let reports: Vec<(&str, std::path::PathBuf)> = ["json", "markdown", "junit", "html", "sarif"]
        .into_iter()
        .map(|f| (f, dir.join(format!("secrets.{f}"))))
        .collect();
    let targets: Vec<String> = reports.iter().map(|(f, p)| report_arg(f, p)).collect();
    let mut args = vec!["--only", "{kms,secrets}.*"];
    for target in &targets {
        args.extend(["--report", target.as_str()]);
    }
    // Every log line the SDK and the tool write, at trace level.
    let out = verify_sandbox(&dir, "run")
        .arg(&path)
        .args(&args)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let report = read_report(&dir.join("secrets.json"));
    assert_check(
        &report,
        "secrets.stripe_live_key",
        Status::Pass,
        &["value[\"api_key\"] matches ^sk_live_"],
    );
    assert_check(
        &report,
        "secrets.stripe_as_test_key",
        Status::Fail,
        &[
            "secret 'restartix-sandbox/stripe-live-key'",
            "value[\"api_key\"] expected matches ^sk_test_, observed does not match the declared pattern",
        ],
    );
    assert_check(
        &report,
        "secrets.stripe_other_key",
        Status::Fail,
        &["observed a JSON value without the key \"secret_key\""],
    );
    assert_check(
        &report,
        "secrets.stripe_whole_text",
        Status::Pass,
        &["value matches api_key"],
    );
    assert_check(
        &report,
        "kms.rotation",
        Status::Pass,
        &["kms key 'alias/restartix-sandbox-alerts': automatic rotation every 365d"],
    );
    let terminal = text(&out);
    for never in NEVER {
        assert!(
            !terminal.contains(never),
            "the terminal or a log line shows the secret ({never}):\n{terminal}"
        );
        for (format, path) in &reports {
            let written = std::fs::read_to_string(path).unwrap();
            assert!(
                !written.contains(never),
                "the {format} report holds the secret ({never}):\n{written}"
            );
        }
    }
    // The trace did log the calls (so the search above looked at something).
    assert!(
        terminal.contains("GetSecretValue"),
        "no trace of the GetSecretValue call:\n{terminal}"
    );
}

#[test]
fn the_printed_policy_reads_a_secret_value_only_where_the_spec_opts_in() {
    let out = verify()
        .args(["iam-policy", "sandbox", "--spec-dir"])
        .arg(specs())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let granting = |action: &str| -> Vec<&serde_json::Value> {
        statements
            .iter()
            .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
            .collect()
    };
    let get = granting("secretsmanager:GetSecretValue");
    assert_eq!(get.len(), 1, "{policy:#}");
    // The one secret with check_value = true, by its name and IAM's
    // 6-character suffix; not the Cloudflare token's.
    assert_eq!(
        get[0]["Resource"],
        serde_json::json!([
            "arn:aws:secretsmanager:eu-central-1:123456789012:secret:restartix-sandbox/stripe-live-key-??????"
        ]),
        "{policy:#}"
    );
    let decrypt = granting("kms:Decrypt");
    assert_eq!(decrypt.len(), 1, "{policy:#}");
    assert_eq!(
        decrypt[0]["Condition"],
        serde_json::json!({"StringEquals": {"kms:ViaService": ["secretsmanager.eu-central-1.amazonaws.com"]}}),
        "{policy:#}"
    );
    let describe = granting("secretsmanager:DescribeSecret");
    assert!(
        describe
            .iter()
            .any(|s| s["Resource"].as_array().unwrap().iter().any(|r| r
                .as_str()
                .is_some_and(|r| r.contains("cloudflare-custom-hostnames-token")))),
        "{policy:#}"
    );
}
