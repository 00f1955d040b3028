//! `terraform.*` end to end: a no-op plan (made now) and the seeded state
//! pass; a plan that changes resources and a live value drifted from the
//! state fail, naming what; a plan older than `max_plan_age` is `error`
//! (and judged with the age check off); a plan saved by PowerShell (UTF-16LE)
//! is judged; a plan format the reader does not know, or the output of
//! setup-terraform's wrapper, is refused.

use std::time::SystemTime;

use super::*;

/// `fixtures/terraform/plans/<name>`.
fn plan(name: &str) -> String {
    workspace()
        .join("fixtures/terraform/plans")
        .join(name)
        .display()
        .to_string()
}

/// The fixture `name` as if Terraform had just made it: its `timestamp`
/// set to now (the fixtures are days old, older than `max_plan_age`).
fn made_now(name: &str) -> String {
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan(name)).unwrap()).unwrap();
    plan["timestamp"] = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .into();
    serde_json::to_string(&plan).unwrap()
}

/// [`made_now`] written into `dir` as `file`.
fn fresh_plan(dir: &Path, name: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, made_now(name)).unwrap();
    file.display().to_string()
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
            &fresh_plan(&dir, "noop.json"),
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
            &fresh_plan(&dir, "replace_create_delete.json"),
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

/// A plan made days ago (the fixture as it is) is not judged: the gate says
/// no-go with `terraform.idempotent` `error`, naming its age and the limit.
#[test]
fn a_plan_older_than_max_plan_age_is_a_no_go_with_terraform_idempotent_error() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-terraform-stale");
    let json = dir.join("terraform-stale.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--only",
            "terraform.idempotent",
            "--terraform-plan",
            &plan("noop.json"),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 1);
    assert_check(
        &read_report(&json),
        "terraform.idempotent",
        Status::Error,
        &[
            "the plan was made at 2026-12-02T02:11:19Z",
            "older than max_plan_age 6h",
        ],
    );
}

/// The same plan, with the spec's `terraform { max_plan_age = "off" }`: judged.
#[test]
fn with_max_plan_age_off_an_old_plan_is_judged() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-terraform-age-off");
    let spec = sandbox_as(&dir, "sandbox");
    let mut text = std::fs::read_to_string(&spec).unwrap();
    text.push_str("\nterraform {\n  max_plan_age = \"off\"\n}\n");
    std::fs::write(&spec, text).unwrap();
    let json = dir.join("terraform-age-off.json");
    let out = run_sandbox(
        &dir,
        &spec,
        &[
            "--only",
            "terraform.idempotent",
            "--terraform-plan",
            &plan("noop.json"),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 0);
    assert_check(
        &read_report(&json),
        "terraform.idempotent",
        Status::Pass,
        &["all 5 resources no-op or read, no drift, made "],
    );
}

/// `terraform show -json tfplan > plan.json` in Windows PowerShell writes
/// UTF-16LE with a byte-order mark and CRLF: read as the same plan.
#[test]
fn a_plan_saved_by_powershell_as_utf16le_is_judged() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-terraform-utf16");
    let file = dir.join("plan.json");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            format!("{}\r\n", made_now("noop.json"))
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    std::fs::write(&file, utf16).unwrap();
    let json = dir.join("terraform-utf16.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--only",
            "terraform.idempotent",
            "--terraform-plan",
            &file.display().to_string(),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 0);
    assert_check(
        &read_report(&json),
        "terraform.idempotent",
        Status::Pass,
        &["all 5 resources no-op or read, no drift"],
    );
}

/// Refused while reading the plan (no sandbox needed): the output of
/// hashicorp/setup-terraform's wrapper, naming the line and the fix.
#[test]
fn a_plan_captured_through_the_setup_terraform_wrapper_exits_2_naming_terraform_wrapper_false() {
    let dir = scratch("e2e-terraform-wrapper");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--terraform-plan",
            &plan("noop_setup_terraform_wrapper.json"),
        ],
    );
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("noop_setup_terraform_wrapper.json:1: \"[command]")
            && stderr.contains("set `terraform_wrapper: false`"),
        "stderr lacks the file, the line and the fix:\n{stderr}"
    );
}
