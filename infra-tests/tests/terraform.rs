//! `terraform.idempotent` over the plan fixtures (`fixtures/terraform/plans/`,
//! written by real Terraform 1.11.4 or derived from its output, see the
//! README there): each action, drift, imports and moves, errored and
//! incomplete plans, output-only changes, formats 0.1, 1.2 and 2.0. No AWS:
//! the plan is all the check reads.

use std::path::{Path, PathBuf};

use rstest::rstest;
use verify::Status;
use verify::checks::terraform::judge_plan;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/terraform/plans")
        .join(name)
}

#[rstest]
#[case::noop("noop.json", Status::Pass, "all 5 resources no-op or read, no drift")]
#[case::read("read.json", Status::Pass, "no-op or read")]
#[case::outputs_only(
    "outputs_only.json",
    Status::Pass,
    "outputs would change (not a failure): endpoint"
)]
#[case::format_0_1("format_0_1.json", Status::Pass, "no-op or read")]
#[case::format_1_2("format_1_2.json", Status::Pass, "no-op or read")]
#[case::update("update.json", Status::Fail, "terraform_data.db: update")]
#[case::replace_delete_create(
    "replace_delete_create.json",
    Status::Fail,
    "module.app.terraform_data.x: replace (delete, then create)"
)]
#[case::replace_create_delete(
    "replace_create_delete.json",
    Status::Fail,
    "module.app.terraform_data.x: replace (create, then delete)"
)]
#[case::delete("delete.json", Status::Fail, "terraform_data.cache[0]: delete")]
#[case::create("create.json", Status::Fail, "terraform_data.queue: create")]
#[case::forget("forget.json", Status::Fail, "terraform_data.cache[0]: forget")]
#[case::moved(
    "moved.json",
    Status::Fail,
    "terraform_data.primary: no-op (moved from terraform_data.db)"
)]
#[case::import(
    "import.json",
    Status::Fail,
    "terraform_data.imported: no-op (being imported)"
)]
#[case::unknown_action(
    "unknown_action.json",
    Status::Fail,
    "terraform_data.db: unknown action [\"frobnicate\"]"
)]
#[case::drift(
    "drift.json",
    Status::Fail,
    "aws_db_instance.core: changed outside Terraform (backup_retention_period, multi_az); aws_cloudwatch_metric_alarm.db_cpu: deleted outside Terraform"
)]
fn each_plan_fixture_is_judged(#[case] file: &str, #[case] status: Status, #[case] says: &str) {
    let path = fixture(file);
    let bytes = std::fs::read(&path).unwrap();
    let plan = terraform_json::plan::Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
    let finding = judge_plan(&plan, &path).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(finding.status, status, "{file}: {}", finding.message);
    assert!(
        finding.message.contains(says),
        "{file}: {:?} should say {says:?}",
        finding.message
    );
    // Evidence: counts per action, the Terraform version, the plan's time.
    let details = &finding.evidence.details;
    assert!(details["actions"].is_object(), "{details:?}");
    assert!(details["terraform_version"].is_string(), "{details:?}");
    if file != "format_0_1.json" {
        assert!(details["timestamp"].is_string(), "{file}: {details:?}");
    }
}

/// An errored plan is partial: the check could not look at everything.
#[test]
fn an_errored_plan_is_an_error() {
    let path = fixture("errored.json");
    let bytes = std::fs::read(&path).unwrap();
    let plan = terraform_json::plan::Plan::parse(&bytes, &path).unwrap();
    let err = judge_plan(&plan, &path).unwrap_err();
    assert!(err.to_string().contains("`errored`"), "{err}");
}

/// Format 2.0 is refused naming the file and the reason; a state is not a plan.
#[test]
fn an_unsupported_format_or_another_document_is_refused() {
    let path = fixture("format_2_0.json");
    let bytes = std::fs::read(&path).unwrap();
    let err = terraform_json::plan::Plan::parse(&bytes, &path).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("format_2_0.json") && text.contains("\"2.0\" is not supported"),
        "{text}"
    );
    let state = br#"{"format_version":"1.0","terraform_version":"1.11.4","values":{"root_module":{"resources":[]}}}"#;
    let err = terraform_json::plan::Plan::parse(state, Path::new("state.json")).unwrap_err();
    assert!(err.to_string().contains("this is a state"), "{err}");
}
