//! Alarms, SNS and budgets beyond the happy path, against moto and the gap
//! layer: every page of DescribeAlarms (metric and composite alarms) and of
//! ListSubscriptionsByTopic is read, the subscription read is shared per
//! topic by `alarms.routed` and `ses.feedback`, and budgets changed in place
//! (UpdateBudget, UpdateNotification, as Terraform does) are judged.
//!
//! Each test seeds an account of its own.

use aws_sdk_budgets::types::{
    ComparisonOperator, Notification, NotificationType, Spend, ThresholdType,
};
use fixtures::platform::{
    ALERTS_TOPIC, CHATBOT_ENDPOINT, SES_FEEDBACK_ENDPOINT, SES_FEEDBACK_TOPIC,
};
use fixtures::seed::{BUDGET_NAME, SANDBOX_REGION};
use infra_tests::{Account, runtime};
use verify::{Selection, Status};

fn topic_arn(account: &Account, topic: &str) -> String {
    format!(
        "arn:aws:sns:{SANDBOX_REGION}:{}:{topic}",
        account.target.account
    )
}

/// Moves `endpoint`'s subscription of `topic` behind 100 others, so it is on
/// the second page of ListSubscriptionsByTopic (SNS and moto page at 100).
async fn bury_subscription(account: &Account, topic: &str, endpoint: &str) {
    let sns = aws_sdk_sns::Client::new(&account.target.sdk_config().await);
    let topic = topic_arn(account, topic);
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    for s in subs.subscriptions() {
        if s.endpoint() == Some(endpoint) {
            sns.unsubscribe()
                .subscription_arn(s.subscription_arn().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    for i in 0..100 {
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("https")
            .endpoint(format!("https://padding-{i}.restartix.test/sns"))
            .send()
            .await
            .unwrap();
    }
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("https")
        .endpoint(endpoint)
        .send()
        .await
        .unwrap();
}

#[test]
fn subscriptions_are_read_on_every_page_once_per_topic() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let mut account = Account::seeded(&[]).await.expect("account");
        bury_subscription(&account, ALERTS_TOPIC, CHATBOT_ENDPOINT).await;
        bury_subscription(&account, SES_FEEDBACK_TOPIC, SES_FEEDBACK_ENDPOINT).await;
        let both = Selection::new(&["alarms.routed".into(), "ses.feedback".into()], &[]).unwrap();

        let gate = account.gate().await;
        let outcomes = gate.run(&both, |_| {}).await;
        for o in &outcomes {
            assert_eq!(o.status, Status::Pass, "{}: {}", o.id, o.message);
        }
        let calls = gate.aws().calls.snapshot();
        assert_eq!(
            calls.operations.get("sns:ListSubscriptionsByTopic"),
            Some(&4),
            "two pages for each of two topics: {calls:?}"
        );

        // Both checks on one topic: one read of its two pages, shared.
        account.env.ses.as_mut().unwrap().feedback_topic = ALERTS_TOPIC.into();
        let gate = account.gate().await;
        gate.run(&both, |_| {}).await;
        let calls = gate.aws().calls.snapshot();
        assert_eq!(
            calls.operations.get("sns:ListSubscriptionsByTopic"),
            Some(&2),
            "{calls:?}"
        );
    });
}

#[test]
fn alarms_present_reads_every_page_of_describe_alarms() {
    let _sandbox = infra_tests::reading();
    let (outcome, calls) = runtime().block_on(async {
        let mut account = Account::seeded(&[]).await.expect("account");
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&account.target.sdk_config().await);
        let topic = topic_arn(&account, ALERTS_TOPIC);
        for i in 0..60 {
            let name = format!("restartix-sandbox-extra-{i:02}");
            cloudwatch
                .put_metric_alarm()
                .alarm_name(&name)
                .namespace("AWS/ApplicationELB")
                .metric_name("HTTPCode_Target_5XX_Count")
                .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
                .period(60)
                .evaluation_periods(5)
                .threshold(10.0)
                .comparison_operator(
                    aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
                )
                .actions_enabled(true)
                .alarm_actions(&topic)
                .send()
                .await
                .unwrap();
            account.env.alarms.as_mut().unwrap().required.push(name);
        }
        let gate = account.gate().await;
        let outcome = gate.run_id("alarms.present").await.unwrap();
        (outcome, gate.aws().calls.snapshot())
    });
    assert_eq!(outcome.status, Status::Pass, "{}", outcome.message);
    assert!(
        outcome.message.starts_with("64 alarms present"),
        "{}",
        outcome.message
    );
    assert_eq!(
        calls.operations.get("cloudwatch:DescribeAlarms"),
        Some(&2),
        "64 alarms at 50 a page: {calls:?}"
    );
}

#[test]
fn a_declared_composite_alarm_is_judged_like_a_metric_alarm() {
    let _sandbox = infra_tests::reading();
    let (good, disabled) = runtime().block_on(async {
        let mut account = Account::seeded(&[]).await.expect("account");
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&account.target.sdk_config().await);
        let topic = topic_arn(&account, ALERTS_TOPIC);
        let put = |enabled: bool| {
            cloudwatch
                .put_composite_alarm()
                .alarm_name("restartix-sandbox-api-down")
                .alarm_rule("ALARM(\"restartix-sandbox-core-api-5xx\") AND ALARM(\"restartix-sandbox-core-api-p99\")")
                .actions_enabled(enabled)
                .alarm_actions(&topic)
                .send()
        };
        put(true).await.expect("cloudwatch:PutCompositeAlarm");
        account
            .env
            .alarms
            .as_mut()
            .unwrap()
            .required
            .push("restartix-sandbox-api-down".into());
        let good = account.check("alarms.present").await;
        put(false).await.expect("cloudwatch:PutCompositeAlarm");
        (good, account.check("alarms.present").await)
    });
    assert_eq!(good.status, Status::Pass, "{}", good.message);
    assert_eq!(
        good.evidence.observed.pointer("/alarms/4/type"),
        Some(&serde_json::json!("composite")),
        "{}",
        good.evidence
    );
    assert_eq!(disabled.status, Status::Fail, "{}", disabled.message);
    assert!(
        disabled.message.contains(
            "alarm 'restartix-sandbox-api-down': ActionsEnabled expected true, observed false"
        ),
        "{}",
        disabled.message
    );
}

fn actual_over(threshold: f64) -> Notification {
    Notification::builder()
        .notification_type(NotificationType::Actual)
        .comparison_operator(ComparisonOperator::GreaterThan)
        .threshold(threshold)
        .threshold_type(ThresholdType::Percentage)
        .build()
        .unwrap()
}

/// The gap layer's UpdateNotification keeps the subscribers and UpdateBudget
/// changes the limit in place: updating back makes both checks pass again;
/// an update of a notification that does not exist is refused.
#[test]
fn budgets_updated_in_place_round_trip() {
    let _sandbox = infra_tests::reading();
    let (thresholds, monthly, missing) = runtime().block_on(async {
        let account = Account::seeded(&["budget-threshold-90", "budget-limit"])
            .await
            .expect("account");
        let budgets = aws_sdk_budgets::Client::new(&account.target.sdk_config().await);
        budgets
            .update_notification()
            .account_id(&account.target.account)
            .budget_name(BUDGET_NAME)
            .old_notification(actual_over(90.0))
            .new_notification(actual_over(80.0))
            .send()
            .await
            .expect("budgets:UpdateNotification");
        let current = budgets
            .describe_budget()
            .account_id(&account.target.account)
            .budget_name(BUDGET_NAME)
            .send()
            .await
            .unwrap()
            .budget
            .unwrap();
        let mut restored = current.clone();
        restored.budget_limit = Some(Spend::builder().amount("3000").unit("USD").build().unwrap());
        budgets
            .update_budget()
            .account_id(&account.target.account)
            .new_budget(restored)
            .send()
            .await
            .expect("budgets:UpdateBudget");
        let missing = budgets
            .update_notification()
            .account_id(&account.target.account)
            .budget_name(BUDGET_NAME)
            .old_notification(actual_over(70.0))
            .new_notification(actual_over(75.0))
            .send()
            .await;
        (
            account.check("budgets.thresholds").await,
            account.check("budgets.monthly").await,
            missing,
        )
    });
    assert_eq!(thresholds.status, Status::Pass, "{}", thresholds.message);
    assert_eq!(monthly.status, Status::Pass, "{}", monthly.message);
    let error = missing.expect_err("no 70 % notification to update");
    assert_eq!(
        aws_sdk_budgets::error::ProvideErrorMetadata::code(&error),
        Some("NotFoundException"),
        "{error:?}"
    );
}
