//! `terraform.idempotent` over the plan fixtures (`fixtures/terraform/plans/`,
//! written by real Terraform 1.11.4 or derived from its output, see the
//! README there): each action, drift, imports and moves, errored,
//! incomplete and targeted plans, output-only changes, formats 0.1, 1.2 and
//! 2.0, the shapes of Terraform 1.0.0, 1.14 and 1.15, a plan saved by
//! PowerShell. Each is judged as of a minute after its own `timestamp`, for
//! the sandbox's spec (the age check off for a plan without one). No AWS:
//! the plan is all the check reads.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rstest::rstest;
use verify::Status;
use verify::checks::judge_plan;

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
#[case::terraform_1_15("noop_1_15.json", Status::Pass, "all 5 resources no-op or read")]
#[case::powershell_utf16le("noop_utf16le.json", Status::Pass, "all 5 resources no-op or read")]
#[case::terraform_1_14_action(
    "actions_1_14.json",
    Status::Fail,
    "1 action(s) would run on apply: action.aws_lambda_invoke.notify"
)]
#[case::terraform_1_0_0_drift(
    "drift_1_0_0.json",
    Status::Fail,
    "module.network.aws_nat_gateway.az[\"eu-central-1a\"]: deleted outside Terraform"
)]
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
    let _sandbox = infra_tests::reading();
    let path = fixture(file);
    let bytes = terraform_json::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let plan = terraform_json::plan::Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
    let (env, now) = judged_as_made(&plan);
    let finding = judge_plan(&plan, &path, &env, now).unwrap_or_else(|e| panic!("{file}: {e}"));
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
    if !["format_0_1.json", "drift_1_0_0.json"].contains(&file) {
        assert!(details["timestamp"].is_string(), "{file}: {details:?}");
    }
}

/// The sandbox's spec and the run's clock a minute after `plan` was made;
/// a plan without `timestamp` (Terraform before 1.5) with the age check off.
fn judged_as_made(plan: &terraform_json::plan::Plan) -> (verify::Environment, SystemTime) {
    let mut env = infra_tests::load_environment("sandbox").expect("sandbox spec");
    let now = match plan.made_at() {
        Some(at) => at + Duration::from_secs(60),
        None => {
            env.terraform.max_plan_age = None;
            SystemTime::now()
        }
    };
    (env, now)
}

/// The plans that cannot be judged as they are: `error`, never a pass.
#[rstest]
#[case::stale_at_the_real_clock("noop.json", "older than max_plan_age 6h")]
#[case::targeted("targeted.json", "not a full plan: 4 of the 5 managed resources")]
#[case::test_harness_without_timestamp("test_harness.json", "the plan has no `timestamp`")]
fn a_plan_that_is_not_this_environment_s_now_is_an_error(#[case] file: &str, #[case] says: &str) {
    let _sandbox = infra_tests::reading();
    let path = fixture(file);
    let bytes = terraform_json::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let plan = terraform_json::plan::Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
    let env = infra_tests::load_environment("sandbox").expect("sandbox spec");
    let now = match (file, plan.made_at()) {
        ("noop.json", _) | (_, None) => SystemTime::now(),
        (_, Some(at)) => at + Duration::from_secs(60),
    };
    let err = judge_plan(&plan, &path, &env, now).unwrap_err();
    assert!(err.to_string().contains(says), "{file}: {err}");
}

/// An errored plan is partial: the check could not look at everything.
#[test]
fn an_errored_plan_is_an_error() {
    let _sandbox = infra_tests::reading();
    let path = fixture("errored.json");
    let bytes = std::fs::read(&path).unwrap();
    let plan = terraform_json::plan::Plan::parse(&bytes, &path).unwrap();
    let (env, now) = judged_as_made(&plan);
    let err = judge_plan(&plan, &path, &env, now).unwrap_err();
    assert!(err.to_string().contains("`errored`"), "{err}");
}

/// Format 2.0 is refused naming the file and the reason; a state is not a plan.
#[test]
fn an_unsupported_format_or_another_document_is_refused() {
    let _sandbox = infra_tests::reading();
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

// --- terraform.declared on the running sandbox (read-only) ---------------------

use infra_tests::drills::{gate_for, running_sandbox};
use infra_tests::{load_for_run, runtime};

/// The seeded sandbox's state (`sandbox up` / `reset` write it).
fn seeded_state() -> serde_json::Value {
    let file = running_sandbox()
        .terraform
        .expect("the sandbox wrote its terraform state")
        .state;
    serde_json::from_slice(&std::fs::read(&file).expect("the seeded state")).unwrap()
}

/// The resource at `address` in a state document (any module).
fn resource<'a>(state: &'a mut serde_json::Value, address: &str) -> &'a mut serde_json::Value {
    fn find<'a>(
        module: &'a mut serde_json::Value,
        address: &str,
    ) -> Option<&'a mut serde_json::Value> {
        if let Some(i) = module["resources"]
            .as_array()
            .and_then(|rs| rs.iter().position(|r| r["address"] == address))
        {
            return module["resources"].get_mut(i);
        }
        module["child_modules"]
            .as_array_mut()?
            .iter_mut()
            .find_map(|c| find(c, address))
    }
    find(&mut state["values"]["root_module"], address).unwrap_or_else(|| panic!("no {address}"))
}

/// `terraform.declared` with `state` as the state file.
fn declared(state: &serde_json::Value, name: &str) -> verify::Outcome {
    let file = std::env::temp_dir().join(format!(
        "verify-declared-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&file, serde_json::to_vec(state).unwrap()).unwrap();
    let outcome = runtime().block_on(async {
        let mut env = load_for_run("sandbox").expect("sandbox spec");
        env.terraform.state = Some(file.clone());
        gate_for(env)
            .await
            .run_id("terraform.declared")
            .await
            .expect("in the catalogue")
    });
    let _ = std::fs::remove_file(&file);
    outcome
}

#[test]
fn the_seeded_state_equals_the_live_sandbox() {
    let _sandbox = infra_tests::reading();
    let outcome = declared(&seeded_state(), "good");
    assert_eq!(outcome.status, Status::Pass, "{}", outcome.message);
    let compared = &outcome.evidence.details["compared"];
    for kind in [
        "aws_db_instance",
        "aws_ecs_service",
        "aws_lb_listener",
        "aws_lb_target_group",
        "aws_budgets_budget",
        "aws_cloudwatch_event_rule",
        "aws_cloudwatch_metric_alarm",
        "aws_nat_gateway",
        "aws_sesv2_email_identity",
        "aws_sesv2_configuration_set",
        "aws_sesv2_configuration_set_event_destination",
    ] {
        assert!(
            compared[kind].as_u64().unwrap_or(0) >= 1,
            "{kind} not compared: {compared}"
        );
    }
    // Other types are counted, never passed.
    assert!(
        outcome.evidence.details["not_compared"]["aws_vpc"].as_u64() == Some(1),
        "{:?}",
        outcome.evidence.details
    );
    assert!(
        outcome
            .message
            .contains("resources of other types not compared"),
        "{}",
        outcome.message
    );
}

#[test]
fn a_recorded_value_the_live_one_differs_from_fails_naming_address_attribute_and_both_values() {
    let _sandbox = infra_tests::reading();
    let mut state = seeded_state();
    resource(&mut state, "aws_db_instance.this")["values"]["multi_az"] = serde_json::json!(false);
    resource(&mut state, "aws_lb_target_group.pgbouncer")["values"]["deregistration_delay"] =
        serde_json::json!("300");
    resource(
        &mut state,
        "module.network.aws_nat_gateway.this[\"eu-central-1b\"]",
    )["values"]["subnet_id"] = serde_json::json!("subnet-elsewhere");
    let outcome = declared(&state, "drift");
    assert_eq!(outcome.status, Status::Fail, "{}", outcome.message);
    for says in [
        "aws_db_instance.this multi_az: state false, live true",
        "aws_lb_target_group.pgbouncer deregistration_delay: state \"300\", live \"5\"",
        "module.network.aws_nat_gateway.this[\"eu-central-1b\"] subnet_id: state \"subnet-elsewhere\"",
    ] {
        assert!(
            outcome.message.contains(says),
            "{} should say {says}",
            outcome.message
        );
    }
    assert_eq!(
        outcome.evidence.observed["mismatches"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_resource_gone_from_aws_fails_and_a_foreign_or_empty_state_is_an_error() {
    let _sandbox = infra_tests::reading();
    let mut state = seeded_state();
    resource(
        &mut state,
        "aws_cloudwatch_event_rule.scheduled[\"check-providers\"]",
    )["values"]["name"] = serde_json::json!("restartix-sandbox-deleted-rule");
    let outcome = declared(&state, "gone");
    assert_eq!(outcome.status, Status::Fail, "{}", outcome.message);
    assert!(outcome.message.contains("aws_cloudwatch_event_rule.scheduled[\"check-providers\"] exists: state true, live false"), "{}", outcome.message);

    let mut state = seeded_state();
    let db = resource(&mut state, "aws_db_instance.this");
    let arn = db["values"]["arn"]
        .as_str()
        .unwrap()
        .replace("123456789012", "999999999999");
    db["values"]["arn"] = serde_json::json!(arn);
    let outcome = declared(&state, "foreign");
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("not this environment's state")
            && outcome.message.contains("aws_db_instance.this"),
        "{}",
        outcome.message
    );

    let empty = serde_json::json!({"format_version": "1.0", "terraform_version": "1.11.4"});
    let outcome = declared(&empty, "empty");
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("nothing to compare"),
        "{}",
        outcome.message
    );
}

/// The shared reads: with the state, the whole gate still describes the RDS
/// instance, the pgbouncer service and the target group once each.
#[test]
fn terraform_declared_adds_no_describe_a_check_already_made() {
    let _sandbox = infra_tests::reading();
    let file = std::env::temp_dir().join(format!(
        "verify-declared-{}-shared.json",
        std::process::id()
    ));
    std::fs::write(&file, serde_json::to_vec(&seeded_state()).unwrap()).unwrap();
    runtime().block_on(async {
        let mut env = load_for_run("sandbox").expect("sandbox spec");
        env.terraform.state = Some(file.clone());
        let gate = gate_for(env).await;
        let outcomes = gate.run(&verify::Selection::all(), |_| {}).await;
        let declared = outcomes
            .iter()
            .find(|o| o.id == "terraform.declared")
            .unwrap();
        assert_eq!(declared.status, Status::Pass, "{}", declared.message);
        let calls = gate.aws().calls.snapshot();
        for op in [
            "rds:DescribeDBInstances",
            "ecs:DescribeServices",
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            "events:DescribeRule",
        ] {
            let n = calls
                .operations
                .iter()
                .find(|(k, _)| k.ends_with(op.split(':').nth(1).unwrap()))
                .map(|(_, n)| *n);
            assert!(n.is_some(), "{op} not called: {calls:?}");
        }
        let db = calls
            .operations
            .iter()
            .find(|(k, _)| k.ends_with("DescribeDBInstances"))
            .map(|(_, n)| *n);
        assert_eq!(db, Some(1), "{calls:?}");
    });
    let _ = std::fs::remove_file(&file);
}
