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
