//! Inputs refused before any AWS call (exit 2, naming the file and where in
//! it): no sandbox needed. An invalid spec is `cli.rs`'s
//! `a_bad_input_exits_2_naming_file_line_and_column`.

use super::*;

#[test]
fn an_unknown_environment_exits_2_naming_its_missing_file() {
    let dir = scratch("e2e-unknown-env");
    let out = verify_sandbox(&dir, "run")
        .arg("no-such-environment")
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("no-such-environment.hcl"),
        "stderr does not name the missing file:\n{stderr}"
    );
}

#[test]
fn an_invalid_waivers_file_exits_2_at_the_bad_expiry() {
    let dir = scratch("e2e-bad-waivers");
    let waivers = dir.join("bad-waivers.hcl");
    std::fs::write(
        &waivers,
        "waiver \"rds.*\" {\n  justification = \"x\"\n  expires = \"next week\"\n}\n",
    )
    .unwrap();
    let out = verify_sandbox_run(&dir, &["--waivers", waivers.to_str().unwrap()]);
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("bad-waivers.hcl:3:13:"),
        "stderr lacks the waiver's position:\n{stderr}"
    );
}

#[test]
fn production_without_its_terraform_outputs_exits_2_at_the_first_output_reference() {
    let dir = scratch("e2e-production");
    let out = verify_sandbox(&dir, "run")
        .arg("production")
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("production.hcl:21:") && stderr.contains("output.rds_identifier"),
        "stderr lacks the position and the reference:\n{stderr}"
    );
}

/// A spec naming a secret's variable outside the secret prefix (here
/// Cloudflare's `token_env = "AWS_SECRET_ACCESS_KEY"`) is bad input: `run`,
/// `validate` and `drill` exit 2 at the attribute, naming the rule, before
/// anything is read or sent; the variable's value is never shown. A prefix
/// that is empty or would admit the pipeline's credentials is refused too.
#[test]
fn a_spec_naming_a_secret_outside_the_prefix_exits_2_naming_the_rule() {
    let dir = scratch("e2e-secret-prefix");
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let declared = "token_env        = \"VERIFY_SECRET_CLOUDFLARE_API_TOKEN\"";
    let line = spec
        .lines()
        .position(|l| l.contains(declared))
        .expect("sandbox.hcl names its Cloudflare token")
        + 1;
    let path = dir.join("leaky.hcl");
    std::fs::write(
        &path,
        spec.replace(declared, "token_env        = \"AWS_SECRET_ACCESS_KEY\""),
    )
    .unwrap();
    let sentinel = "aws-secret-sentinel-value";
    let path = path.to_str().unwrap();
    for args in [
        vec!["run", path],
        vec!["validate", path],
        vec!["drill", "rds-failover", path, "--yes"],
    ] {
        let out = verify()
            .current_dir(&dir)
            .args(&args)
            .env("AWS_SECRET_ACCESS_KEY", sentinel)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let stderr = stderr(&out);
        assert!(
            stderr.contains(&format!(
                "leaky.hcl:{line}:24: block `edge.cloudflare`: `token_env` names the environment \
                 variable AWS_SECRET_ACCESS_KEY, outside the secret prefix VERIFY_SECRET_"
            )) && stderr.contains("whose name starts with VERIFY_SECRET_"),
            "{args:?}: stderr lacks the position and the rule:\n{stderr}"
        );
        assert!(!text(&out).contains(sentinel), "{args:?}: {}", text(&out));
    }
    for (prefix, says) in [
        ("", "must not be empty"),
        ("AWS_", "would admit AWS_ACCESS_KEY_ID"),
        ("AWS_SECRET_", "would admit AWS_SECRET_ACCESS_KEY"),
    ] {
        let out = verify()
            .current_dir(&dir)
            .args(["validate", path, "--secret-env-prefix", prefix])
            .output()
            .unwrap();
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(says), "{prefix:?}: {}", text(&out));
    }
}
