//! `error`, never `pass`, for what no local part can produce: AccessDenied,
//! throttling past every retry, a subscription pending confirmation, a
//! `DescribeTasks` failure, an attribute AWS always reports left out. The
//! clients are the official `aws-smithy-mocks`, put in place of the real
//! ones (their fields are private to this module); everything else (the
//! gate, the checks, the cache) is the real code. And the read-only guard,
//! before anything is sent.

use std::time::Duration;

use aws_sdk_budgets::operation::describe_budget::DescribeBudgetError;
use aws_sdk_budgets::operation::describe_notifications_for_budget::DescribeNotificationsForBudgetError;
use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{AccessMode, AwsClients};
use crate::{Gate, Selection, Status};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The sandbox environment's spec, as the repository declares it.
fn sandbox_env() -> crate::Environment {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../infra-tests/environments/sandbox.hcl");
    crate::spec::load(&path).expect("sandbox spec")
}

fn denied(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

/// Read-only clients for a closed local port: a test replaces the ones it mocks.
fn closed_clients() -> AwsClients {
    closed_clients_in(AccessMode::read_only())
}

fn closed_clients_in(mode: AccessMode) -> AwsClients {
    let closed = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-central-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("AKIDTEST", "test", None, None, "test"),
            ),
        )
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    AwsClients::new(&closed, mode)
}

/// Clients for a closed local port, with the rds and budgets clients replaced by mocks.
fn gate_over_mocks(rds: aws_sdk_rds::Client, budgets: aws_sdk_budgets::Client) -> Gate {
    let mut clients = closed_clients();
    clients.rds = rds;
    clients.budgets = budgets;
    Gate::with_clients(sandbox_env(), clients)
}

fn rds_and_budgets() -> Selection {
    Selection::new(&["rds.*".into(), "budgets.*".into()], &[]).unwrap()
}

#[test]
fn the_guard_refuses_a_mutating_call_before_it_is_sent() {
    let clients = closed_clients();
    let refused = runtime().block_on(
        clients
            .rds
            .modify_db_instance()
            .db_instance_identifier("restartix-sandbox")
            .multi_az(false)
            .send(),
    );
    let err = refused.expect_err("a write in verify mode must be refused");
    let text = DisplayErrorContext(&err).to_string();
    assert!(text.contains("refused rds:ModifyDBInstance"), "{text}");
    assert_eq!(
        clients.calls.snapshot().requests,
        0,
        "never reached the network"
    );
}

/// The STS client carries the same read-only guard as every other client:
/// only `GetCallerIdentity` is a read; `AssumeRole` through it is refused
/// before it is sent.
#[test]
fn the_sts_client_is_guarded_like_every_other() {
    let clients = closed_clients();
    let refused = runtime()
        .block_on(
            clients
                .sts
                .assume_role()
                .role_arn("arn:aws:iam::123456789012:role/anything")
                .role_session_name("verify")
                .send(),
        )
        .unwrap_err();
    let text = crate::check::error_chain(&refused);
    assert!(text.contains("refused sts:AssumeRole"), "{text}");
    assert_eq!(clients.calls.snapshot().requests, 0);
}

#[test]
fn a_drill_guard_admits_exactly_its_operations_only_while_held() {
    let mode = AccessMode::read_only();
    let clients = closed_clients_in(mode.clone());
    let modify = || {
        clients
            .rds
            .modify_db_instance()
            .db_instance_identifier("restartix-sandbox")
            .backup_retention_period(8)
            .send()
    };
    runtime().block_on(async {
        {
            let _drill = mode.allow_writes(&["rds:ModifyDBInstance"]);
            // Admitted: it goes to the (closed) endpoint and fails there, not at the guard.
            let sent = modify().await.expect_err("the endpoint is closed");
            let text = DisplayErrorContext(&sent).to_string();
            assert!(!text.contains("refused rds:ModifyDBInstance"), "{text}");
            assert!(clients.calls.snapshot().requests >= 1);
            // Any other write is still refused, before it is sent.
            let before = clients.calls.snapshot().requests;
            let other = clients
                .rds
                .delete_db_instance()
                .db_instance_identifier("restartix-sandbox")
                .skip_final_snapshot(true)
                .send()
                .await
                .expect_err("a write the drill did not declare");
            let text = DisplayErrorContext(&other).to_string();
            assert!(text.contains("refused rds:DeleteDBInstance"), "{text}");
            assert_eq!(clients.calls.snapshot().requests, before);
        }
        let before = clients.calls.snapshot().requests;
        let again = modify()
            .await
            .expect_err("refused once the guard is dropped");
        let text = DisplayErrorContext(&again).to_string();
        assert!(text.contains("refused rds:ModifyDBInstance"), "{text}");
        assert_eq!(clients.calls.snapshot().requests, before);
    });
}

#[test]
fn access_denied_is_an_error_naming_the_operation() {
    let rds_rule = mock!(aws_sdk_rds::Client::describe_db_instances).then_error(|| {
        DescribeDBInstancesError::generic(denied(
            "AccessDenied",
            "User is not authorized to perform rds:DescribeDBInstances",
        ))
    });
    let budget_rule = mock!(aws_sdk_budgets::Client::describe_budget).then_error(|| {
        DescribeBudgetError::generic(denied("AccessDeniedException", "not authorized"))
    });
    let notifications_rule = mock!(aws_sdk_budgets::Client::describe_notifications_for_budget)
        .then_error(|| {
            DescribeNotificationsForBudgetError::generic(denied(
                "AccessDeniedException",
                "not authorized",
            ))
        });
    let snapshots_rule = mock!(aws_sdk_rds::Client::describe_db_snapshots).then_error(|| {
        aws_sdk_rds::operation::describe_db_snapshots::DescribeDBSnapshotsError::generic(denied(
            "AccessDenied",
            "User is not authorized to perform rds:DescribeDBSnapshots",
        ))
    });
    let rds = mock_client!(
        aws_sdk_rds,
        RuleMode::MatchAny,
        [&rds_rule, &snapshots_rule]
    );
    let budgets = mock_client!(
        aws_sdk_budgets,
        RuleMode::MatchAny,
        [&budget_rule, &notifications_rule]
    );
    let outcomes =
        runtime().block_on(gate_over_mocks(rds, budgets).run(&rds_and_budgets(), |_| {}));
    let relevant: Vec<_> = outcomes
        .iter()
        .filter(|o| o.id.starts_with("rds.") || o.id.starts_with("budgets."))
        .collect();
    let gate = gate_over_mocks(
        mock_client!(
            aws_sdk_rds,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
        mock_client!(
            aws_sdk_budgets,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
    );
    let declared = gate
        .checks()
        .iter()
        .filter(|c| ["rds", "budgets"].contains(&c.area()))
        .count();
    assert_eq!(relevant.len(), declared);
    for outcome in relevant {
        assert_eq!(
            outcome.status,
            Status::Error,
            "{}: {}",
            outcome.id,
            outcome.message
        );
        assert!(
            outcome.message.contains("AccessDenied"),
            "{}: {}",
            outcome.id,
            outcome.message
        );
        let evidence = &outcome.evidence;
        assert_eq!(
            evidence.details["operation"]
                .as_str()
                .map(|op| op.starts_with("rds:") || op.starts_with("budgets:")),
            Some(true),
            "{}: {evidence}",
            outcome.id
        );
        assert_eq!(
            evidence.details["error"].as_str(),
            Some(outcome.message.as_str())
        );
        assert!(
            evidence.resources.len() == 1
                && ["rds instance '", "budget '"]
                    .iter()
                    .any(|kind| evidence.resources[0].starts_with(kind)),
            "{}: the error's resource: {evidence}",
            outcome.id
        );
    }
    assert_eq!(
        rds_rule.num_calls(),
        1,
        "the rds checks share one (failed) describe"
    );
}

#[test]
fn throttling_is_retried_with_backoff_then_an_error() {
    let mut access = sandbox_env().aws;
    access.max_attempts = 3;
    let throttled = mock!(aws_sdk_rds::Client::describe_db_instances)
        .then_error(|| DescribeDBInstancesError::generic(denied("Throttling", "Rate exceeded")));
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&throttled], |b| b
        .retry_config(super::retry_config(&access)));
    let budgets = mock_client!(
        aws_sdk_budgets,
        RuleMode::MatchAny,
        Vec::<&aws_smithy_mocks::Rule>::new()
    );
    let gate = gate_over_mocks(rds, budgets);
    let outcome = runtime()
        .block_on(gate.run_id("rds.available"))
        .expect("check exists");
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("Throttling"),
        "{}",
        outcome.message
    );
    assert_eq!(
        throttled.num_calls(),
        3,
        "every attempt was made before giving up"
    );
}

/// moto confirms every SNS subscription at once; AWS leaves an https
/// subscription `PendingConfirmation` until the endpoint confirms it. Only a
/// mock can show that state, and it must not count as routed; nor does a
/// direct Slack webhook, confirmed or not (it never confirms on AWS).
#[test]
fn a_pending_slack_subscription_is_not_routed() {
    use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicOutput;
    use aws_sdk_sns::types::Subscription;
    let pending = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic).then_output(|| {
        ListSubscriptionsByTopicOutput::builder()
            .subscriptions(
                Subscription::builder()
                    .subscription_arn("PendingConfirmation")
                    .protocol("https")
                    .endpoint("https://global.sns-api.chatbot.amazonaws.com")
                    .topic_arn("arn:aws:sns:eu-central-1:123456789012:restartix-sandbox-alerts")
                    .build(),
            )
            .subscriptions(
                Subscription::builder()
                    .subscription_arn("PendingConfirmation")
                    .protocol("https")
                    .endpoint("https://hooks.slack.com/services/T0/B0/secret")
                    .topic_arn("arn:aws:sns:eu-central-1:123456789012:restartix-sandbox-alerts")
                    .build(),
            )
            .build()
    });
    // Not encrypted: only the subscriptions decide.
    let attributes = mock!(aws_sdk_sns::Client::get_topic_attributes).then_output(|| {
        aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput::builder()
            .attributes("DisplayName", "alerts")
            .build()
    });
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&pending, &attributes]);
    let rds = mock_client!(
        aws_sdk_rds,
        RuleMode::MatchAny,
        Vec::<&aws_smithy_mocks::Rule>::new()
    );
    let budgets = mock_client!(
        aws_sdk_budgets,
        RuleMode::MatchAny,
        Vec::<&aws_smithy_mocks::Rule>::new()
    );
    let mut clients = closed_clients();
    clients.rds = rds;
    clients.budgets = budgets;
    clients.sns = sns;
    let gate = Gate::with_clients(sandbox_env(), clients);
    let outcome = runtime()
        .block_on(gate.run_id("alarms.routed"))
        .expect("check exists");
    assert_eq!(outcome.status, Status::Fail, "{}", outcome.message);
    assert!(
        outcome.message.contains("observed 1 PendingConfirmation"),
        "{}",
        outcome.message
    );
    assert!(
        !outcome.evidence.to_string().contains("secret"),
        "webhook secrets stay out of reports: {}",
        outcome.evidence
    );
}

/// `DescribeTasks` answering a `failures[]` entry other than `MISSING` (which
/// no local part produces): the tasks it could not describe make the check
/// an error naming them, never a count without them.
#[test]
fn a_task_describe_tasks_could_not_describe_is_an_error() {
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
    use aws_sdk_ecs::types::{Failure, Task};
    let arn =
        |id: &str| format!("arn:aws:ecs:eu-central-1:123456789012:task/restartix-sandbox/{id}");
    let listed = mock!(aws_sdk_ecs::Client::list_tasks).then_output(move || {
        ListTasksOutput::builder()
            .task_arns(arn("a"))
            .task_arns(arn("b"))
            .build()
    });
    let described = mock!(aws_sdk_ecs::Client::describe_tasks).then_output(move || {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn(arn("a"))
                    .group("service:pgbouncer")
                    .last_status("RUNNING")
                    .availability_zone("eu-central-1a")
                    .build(),
            )
            .failures(
                Failure::builder()
                    .arn(arn("b"))
                    .reason("ACCESS_DENIED")
                    .detail("not authorized to describe this task")
                    .build(),
            )
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&listed, &described]);
    let mut clients = closed_clients();
    clients.ecs = ecs;
    let gate = Gate::with_clients(sandbox_env(), clients);
    let outcome = runtime()
        .block_on(gate.run_id("pgbouncer.multi_az"))
        .expect("pgbouncer.multi_az");
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("could not be described")
            && outcome.message.contains("ACCESS_DENIED"),
        "{}",
        outcome.message
    );
}

/// An NLB target group's attributes without `connection_termination` (AWS
/// always reports it; a proxy or a partial answer might not): `error`, never
/// read as "off".
#[test]
fn an_nlb_target_group_without_connection_termination_is_an_error() {
    use aws_sdk_elasticloadbalancingv2::operation::describe_target_group_attributes::DescribeTargetGroupAttributesOutput;
    use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
    use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetGroup, TargetGroupAttribute};
    let groups = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(|| {
        DescribeTargetGroupsOutput::builder()
            .target_groups(
                TargetGroup::builder()
                    .target_group_name("restartix-sandbox-pgbouncer")
                    .target_group_arn("arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/restartix-sandbox-pgbouncer/1")
                    .protocol(ProtocolEnum::Tcp)
                    .build(),
            )
            .build()
    });
    let attributes =
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_group_attributes)
            .then_output(|| {
                DescribeTargetGroupAttributesOutput::builder()
                    .attributes(
                        TargetGroupAttribute::builder()
                            .key("deregistration_delay.timeout_seconds")
                            .value("5")
                            .build(),
                    )
                    .build()
            });
    let elb = mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        [&groups, &attributes]
    );
    // The service and its task definition, as the good sandbox has them.
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
    use aws_sdk_ecs::types::{ContainerDefinition, Service, TaskDefinition};
    let service = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .services(
                Service::builder()
                    .service_name("pgbouncer")
                    .task_definition("pgbouncer:1")
                    .build(),
            )
            .build()
    });
    let task_definition = mock!(aws_sdk_ecs::Client::describe_task_definition).then_output(|| {
        DescribeTaskDefinitionOutput::builder()
            .task_definition(
                TaskDefinition::builder()
                    .container_definitions(
                        ContainerDefinition::builder()
                            .name("pgbouncer")
                            .stop_timeout(60)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&service, &task_definition]
    );
    let mut clients = closed_clients();
    clients.elb = elb;
    clients.ecs = ecs;
    let gate = Gate::with_clients(sandbox_env(), clients);
    let outcome = runtime()
        .block_on(gate.run_id("pgbouncer.drain_ready"))
        .expect("pgbouncer.drain_ready");
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("connection_termination"),
        "{}",
        outcome.message
    );
}

/// A drill's stop alarms are read before the fault and every poll after
/// it; what no local part produces (AccessDenied, throttling past every
/// retry) must stop a drill as surely as an alarm in `ALARM`: never read
/// as "not firing". Each case names the alarm, expected and observed.
#[test]
fn a_stop_alarm_missing_unreadable_or_in_alarm_stops_a_drill() {
    use aws_sdk_cloudwatch::operation::describe_alarms::{
        DescribeAlarmsError, DescribeAlarmsOutput,
    };
    use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};

    use crate::drill::StopAlarmError;

    let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let gate_over = |cloudwatch: aws_sdk_cloudwatch::Client| {
        let mut clients = closed_clients();
        clients.cloudwatch = cloudwatch;
        Gate::with_clients(sandbox_env(), clients)
    };
    let answering = |metric: Vec<(&'static str, StateValue)>,
                     composite: Vec<(&'static str, StateValue)>| {
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(move || {
            DescribeAlarmsOutput::builder()
                .set_metric_alarms(Some(
                    metric
                        .iter()
                        .map(|(n, s)| {
                            MetricAlarm::builder()
                                .alarm_name(*n)
                                .state_value(s.clone())
                                .state_reason("Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (10.0).")
                                .build()
                        })
                        .collect(),
                ))
                .set_composite_alarms(Some(
                    composite
                        .iter()
                        .map(|(n, s)| CompositeAlarm::builder().alarm_name(*n).state_value(s.clone()).build())
                        .collect(),
                ))
                .build()
        })
    };
    let read = |rule: &aws_smithy_mocks::Rule,
                asked: &[&str],
                retry: Option<aws_config::retry::RetryConfig>| {
        let cloudwatch = match retry {
            Some(retry) => mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [rule], |b| b
                .retry_config(retry.clone())),
            None => mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [rule]),
        };
        runtime().block_on(crate::drill::stop_alarms(
            &gate_over(cloudwatch),
            &names(asked),
        ))
    };

    // OK, INSUFFICIENT_DATA and a composite OK: the drill may go on.
    let quiet = answering(
        vec![
            ("api-5xx", StateValue::Ok),
            ("api-p99", StateValue::InsufficientData),
        ],
        vec![("api-health", StateValue::Ok)],
    );
    assert_eq!(
        read(&quiet, &["api-5xx", "api-p99", "api-health"], None),
        Ok(())
    );

    // In ALARM, metric or composite: named, with CloudWatch's reason.
    let firing = answering(vec![("api-5xx", StateValue::Alarm)], vec![]);
    let stop = read(&firing, &["api-5xx"], None).unwrap_err();
    assert!(
        matches!(&stop, StopAlarmError::Firing { name, .. } if name == "api-5xx"),
        "{stop:?}"
    );
    let text = stop.to_string();
    assert!(
        text.contains("'api-5xx' in ALARM")
            && text.contains("expected OK or INSUFFICIENT_DATA")
            && text.contains("Threshold Crossed"),
        "{text}"
    );
    let composite = answering(
        vec![("api-5xx", StateValue::Ok)],
        vec![("api-health", StateValue::Alarm)],
    );
    assert!(matches!(
        read(&composite, &["api-5xx", "api-health"], None),
        Err(StopAlarmError::Firing { name, .. }) if name == "api-health"
    ));

    // A name DescribeAlarms does not know: missing, named (a typo would
    // leave the drill without its stop condition).
    let one = answering(vec![("api-5xx", StateValue::Ok)], vec![]);
    let stop = read(&one, &["api-5xx", "api-5xxx"], None).unwrap_err();
    assert_eq!(stop, StopAlarmError::Missing(vec!["api-5xxx".into()]));
    assert!(stop.to_string().contains("'api-5xxx' not found"), "{stop}");

    // AccessDenied: unreadable, naming the alarm, the operation and the code.
    let denied_rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_error(|| {
        DescribeAlarmsError::generic(denied(
            "AccessDenied",
            "User is not authorized to perform cloudwatch:DescribeAlarms",
        ))
    });
    let stop = read(&denied_rule, &["api-5xx"], None).unwrap_err();
    assert!(
        matches!(stop, StopAlarmError::Unreadable { .. }),
        "{stop:?}"
    );
    let text = stop.to_string();
    assert!(
        text.contains("'api-5xx' unreadable")
            && text.contains("DescribeAlarms")
            && text.contains("AccessDenied"),
        "{text}"
    );

    // Throttled past every retry: unreadable too, after every attempt.
    let mut access = sandbox_env().aws;
    access.max_attempts = 3;
    let throttled = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_error(|| DescribeAlarmsError::generic(denied("Throttling", "Rate exceeded")));
    let stop = read(&throttled, &["api-5xx"], Some(super::retry_config(&access))).unwrap_err();
    assert!(
        matches!(&stop, StopAlarmError::Unreadable { .. })
            && stop.to_string().contains("Throttling"),
        "{stop}"
    );
    assert_eq!(
        throttled.num_calls(),
        3,
        "every attempt was made before giving up"
    );

    // Nothing declared: nothing read, nothing to stop on.
    let unused = answering(vec![], vec![]);
    assert_eq!(read(&unused, &[], None), Ok(()));
    assert_eq!(unused.num_calls(), 0);
}

#[test]
fn fis_reads_the_template_starts_only_under_the_drill_guard_follows_and_stops() {
    use aws_sdk_fis::operation::get_experiment::GetExperimentOutput;
    use aws_sdk_fis::operation::get_experiment_template::GetExperimentTemplateOutput;
    use aws_sdk_fis::operation::start_experiment::StartExperimentOutput;
    use aws_sdk_fis::operation::stop_experiment::StopExperimentOutput;
    use aws_sdk_fis::types::{
        Experiment, ExperimentState, ExperimentStatus, ExperimentTemplate,
        ExperimentTemplateAction, ExperimentTemplateStopCondition,
    };
    let alarm = "arn:aws:cloudwatch:eu-central-1:123456789012:alarm:core-api-5xx";
    let template = mock!(aws_sdk_fis::Client::get_experiment_template)
        .match_requests(|r| r.id() == Some("EXT1"))
        .then_output(move || {
            GetExperimentTemplateOutput::builder()
                .experiment_template(
                    ExperimentTemplate::builder()
                        .id("EXT1")
                        .stop_conditions(
                            ExperimentTemplateStopCondition::builder()
                                .source("aws:cloudwatch:alarm")
                                .value(alarm)
                                .build(),
                        )
                        .actions(
                            "cut",
                            ExperimentTemplateAction::builder()
                                .action_id("aws:network:disrupt-connectivity")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    // Started from the template, tagged as the drill's.
    let start = mock!(aws_sdk_fis::Client::start_experiment)
        .match_requests(|r| {
            r.experiment_template_id() == Some("EXT1")
                && r.tags()
                    .and_then(|t| t.get("verify:drill"))
                    .map(String::as_str)
                    == Some("drill.az_outage")
        })
        .then_output(|| {
            StartExperimentOutput::builder()
                .experiment(Experiment::builder().id("EXP1").build())
                .build()
        });
    // The mock sees a call before the guard refuses it (nothing is sent
    // either way): the refused attempt takes a rule of its own.
    let refused_start = mock!(aws_sdk_fis::Client::start_experiment).then_output(|| {
        StartExperimentOutput::builder()
            .experiment(Experiment::builder().id("NOT-STARTED").build())
            .build()
    });
    let state = |status: ExperimentStatus, reason: Option<&'static str>| {
        move || {
            GetExperimentOutput::builder()
                .experiment(
                    Experiment::builder()
                        .id("EXP1")
                        .state(
                            ExperimentState::builder()
                                .status(status.clone())
                                .set_reason(reason.map(String::from))
                                .build(),
                        )
                        .build(),
                )
                .build()
        }
    };
    let running = mock!(aws_sdk_fis::Client::get_experiment)
        .then_output(state(ExperimentStatus::Running, None));
    let stopped = mock!(aws_sdk_fis::Client::get_experiment).then_output(state(
        ExperimentStatus::Stopped,
        Some("Experiment stopped by a stop condition"),
    ));
    // An answer without its state: never read as ended, or as running.
    let stateless = mock!(aws_sdk_fis::Client::get_experiment).then_output(|| {
        GetExperimentOutput::builder()
            .experiment(Experiment::builder().id("EXP1").build())
            .build()
    });
    let stop = mock!(aws_sdk_fis::Client::stop_experiment)
        .match_requests(|r| r.id() == Some("EXP1"))
        .then_output(|| StopExperimentOutput::builder().build());
    let mut clients = closed_clients();
    // The mocked client carries the clients' write guard, as every real one.
    let guard = super::ReadOnlyGuard {
        mode: clients.mode.clone(),
    };
    clients.fis = mock_client!(
        aws_sdk_fis,
        RuleMode::Sequential,
        [
            &template,
            &refused_start,
            &start,
            &running,
            &stopped,
            &stateless,
            &stop
        ],
        |conf| conf.interceptor(guard.clone())
    );
    runtime().block_on(async {
        let read = super::fis::template(&clients, "EXT1").await.expect("template");
        assert_eq!(
            read.stop_conditions,
            vec![("aws:cloudwatch:alarm".to_string(), Some(alarm.to_string()))]
        );
        assert_eq!(read.actions, vec!["aws:network:disrupt-connectivity"]);
        // Read-only: refused before it is sent.
        let refused = super::fis::start(&clients, "EXT1", "token").await;
        let refusal = format!("{refused:?}");
        assert!(
            refused.is_err() && refusal.contains("StartExperiment"),
            "{refusal}"
        );
        let id = {
            let _guard = clients
                .mode
                .allow_writes(&crate::iam::writes(crate::drill::az_outage::GRANTS));
            super::fis::start(&clients, "EXT1", "token").await.expect("started")
        };
        assert_eq!(id, "EXP1");
        let (status, _) = super::fis::status(&clients, &id).await.expect("running");
        assert!(!super::fis::ended(&status), "{status}");
        let (status, reason) = super::fis::status(&clients, &id).await.expect("stopped");
        assert!(super::fis::ended(&status), "{status}");
        assert_eq!(
            reason.as_deref(),
            Some("Experiment stopped by a stop condition")
        );
        let missing = super::fis::status(&clients, &id).await;
        assert!(
            matches!(&missing, Err(crate::CheckError::Missing { field, .. }) if field == "experiment.state"),
            "{missing:?}"
        );
        let _guard = clients
            .mode
            .allow_writes(&crate::iam::writes(crate::drill::az_outage::GRANTS));
        super::fis::stop(&clients, &id).await.expect("stopped");
        assert_eq!(stop.num_calls(), 1);
    });
}
