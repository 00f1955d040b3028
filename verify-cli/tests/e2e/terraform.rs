//! `terraform.*` end to end: a no-op plan and the seeded state pass; a plan
//! that changes resources and a live value drifted from the state fail,
//! naming what; a plan format the reader does not know is refused.

use super::*;

/// `fixtures/terraform/plans/<name>`.
fn plan(name: &str) -> String {
    workspace()
        .join("fixtures/terraform/plans")
        .join(name)
        .display()
        .to_string()
}

/// The seeded sandbox's `terraform show -json` state (written by `sandbox up`/`reset`).
fn seeded_state() -> String {
    fixtures::terraform_state::sandbox_terraform_dir()
        .join("state.json")
        .display()
        .to_string()
}

#[test]
fn a_noop_plan_and_the_seeded_state_pass_both_terraform_checks() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-terraform-go");
    let json = dir.join("terraform-go.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--terraform-plan",
            &plan("noop.json"),
            "--terraform-state",
            &seeded_state(),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 0);
    let report = read_report(&json);
    assert_check(&report, "terraform.idempotent", Status::Pass, &[]);
    assert_check(
        &report,
        "terraform.declared",
        Status::Pass,
        &["equal the live values"],
    );
}

#[test]
fn a_plan_that_changes_resources_fails_naming_each_address_and_action() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-terraform-changed");
    let json = dir.join("terraform-changed.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--only",
            "terraform.*",
            "--terraform-plan",
            &plan("replace_create_delete.json"),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 1);
    assert_check(
        &read_report(&json),
        "terraform.idempotent",
        Status::Fail,
        &["module.app.terraform_data.x: replace (create, then delete)"],
    );
}

#[test]
fn a_live_value_drifted_from_the_state_fails_naming_address_attribute_state_and_live() {
    let _broken = Changed::broken(&["rds-single-az"]);
    let dir = scratch("e2e-terraform-drift");
    let json = dir.join("terraform-drift.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--only",
            "terraform.declared",
            "--terraform-state",
            &seeded_state(),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 1);
    assert_check(
        &read_report(&json),
        "terraform.declared",
        Status::Fail,
        &["aws_db_instance.", "multi_az: state true, live false"],
    );
}

/// Refused while reading the plan: no sandbox needed.
#[test]
fn a_plan_of_format_2_0_exits_2_naming_the_file_and_the_reason() {
    let dir = scratch("e2e-terraform-format");
    let out = verify_sandbox_run(&dir, &["--terraform-plan", &plan("format_2_0.json")]);
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("format_2_0.json")
            && stderr.contains("format_version \"2.0\" is not supported"),
        "stderr lacks the file and the reason:\n{stderr}"
    );
}
