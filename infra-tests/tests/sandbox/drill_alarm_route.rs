//! `drill.alarm_route` on the sandbox, each case in a fresh seeded account
//! (the gap layer makes `SetAlarmState` run the alarm's SNS actions and
//! writes SNS's delivery-status log entries):
//! - the good route passes: the test alarm's notification is seen in the
//!   alerts topic's delivery-status log, its latency in the evidence and on
//!   the timeline, the alarm put back to OK, every call granted;
//! - negative controls: a route whose deliveries fail (`FAILURE` entries:
//!   the Chatbot subscription replaced by one to a deleted Lambda forwarder)
//!   and one that delivers nothing (a filter policy no alarm matches) fail,
//!   the alarm put back all the same;
//! - refused, with only reads made and the alarm's state untouched: a test
//!   alarm with an EC2 stop action, and a spec that does not allow drills.

use infra_tests::drills::{assertion, iam_policy_covers_the_drill, only_reads_made};
use infra_tests::{Account, runtime};
use verify::drill::{DrillError, DrillRecord, alarm_route};
use verify::{Gate, Status};

const TEST_ALARM: &str = fixtures::alarm_route::TEST_ALARM;

/// The test alarm's state and reason, as the account's operator reads it.
async fn alarm_state(account: &Account) -> (String, String) {
    let out = aws_sdk_cloudwatch::Client::new(&account.target.sdk_config().await)
        .describe_alarms()
        .alarm_names(TEST_ALARM)
        .send()
        .await
        .expect("DescribeAlarms");
    let alarm = out.metric_alarms().first().expect("the test alarm");
    (
        alarm.state_value().expect("a state").as_str().to_string(),
        alarm.state_reason().unwrap_or_default().to_string(),
    )
}

async fn drill(account: &Account) -> (Gate, Result<DrillRecord, DrillError>) {
    let gate = account.gate().await;
    let record = alarm_route::run(&gate, std::future::pending()).await;
    (gate, record)
}

fn holds(record: &DrillRecord, name: &str) -> bool {
    assertion(record, name)["holds"] == true
}

fn put_back(record: &DrillRecord) {
    assert!(
        holds(record, "alarm_restored"),
        "{}",
        record.outcome.message
    );
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.label == format!("SetAlarmState {TEST_ALARM} OK (put back)")),
        "{:?}",
        record.timeline.marks
    );
}

#[test]
fn the_alarm_route_drill_passes_with_the_delivery_latency_in_evidence() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let (gate, record) = drill(&account).await;
        let record = record.expect("the drill runs");
        let o = &record.outcome;
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        for name in ["delivered", "within_bound", "alarm_restored"] {
            assert!(holds(&record, name), "{name}: {}", o.message);
        }
        iam_policy_covers_the_drill(&gate, "alarm_route");
        // The latency, per proof, in the evidence and the message.
        let latency = &o.evidence.details["latency_ms"];
        let proof = "SNS delivery status (https https://global.sns-api.chatbot.amazonaws.com)";
        let ms = latency[proof]
            .as_i64()
            .unwrap_or_else(|| panic!("{latency}"));
        assert!((0..10_000).contains(&ms), "{ms}");
        assert!(o.message.contains(&format!("{proof} in ")), "{}", o.message);
        // On the timeline: the fault, the delivery seen, the put-back.
        let labels: Vec<&str> = record
            .timeline
            .marks
            .iter()
            .map(|m| m.label.as_str())
            .collect();
        assert!(
            labels
                .iter()
                .any(|l| l.starts_with(&format!("SetAlarmState {TEST_ALARM} ALARM (run "))),
            "{labels:?}"
        );
        assert!(
            labels
                .iter()
                .any(|l| l.starts_with(proof) && l.contains("delivered (SUCCESS 200)")),
            "{labels:?}"
        );
        put_back(&record);
        let (state, reason) = alarm_state(&account).await;
        assert_eq!(state, "OK");
        assert!(
            reason.contains("put back to OK after the drill"),
            "{reason}"
        );
        // Its reason named the run, as a forwarder's log would show it.
        let run = o.evidence.details["run_id"].as_str().expect("run id");
        assert!(reason.contains(run), "{reason}");
    });
}

#[test]
fn the_drill_fails_when_the_route_fails_to_deliver() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        // FAILURE entries: SNS delivers to a Lambda forwarder that is gone.
        let account = Account::seeded(&["alarm-route-delivery-fails"])
            .await
            .expect("account");
        let (_, record) = drill(&account).await;
        let record = record.expect("the drill runs");
        let o = &record.outcome;
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(!holds(&record, "delivered"), "{}", o.message);
        assert!(o.message.contains("FAILURE 404"), "{}", o.message);
        assert!(
            record
                .timeline
                .marks
                .iter()
                .any(|m| m.label.contains("FAILED (FAILURE 404)")),
            "{:?}",
            record.timeline.marks
        );
        put_back(&record);
        assert_eq!(alarm_state(&account).await.0, "OK");

        // Nothing delivered at all: a filter policy no alarm matches.
        let account = Account::seeded(&["alarm-route-filtered"])
            .await
            .expect("account");
        let (_, record) = drill(&account).await;
        let record = record.expect("the drill runs");
        let o = &record.outcome;
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(
            o.message.contains("not delivered within 10s"),
            "{}",
            o.message
        );
        assert!(!holds(&record, "delivered") && !holds(&record, "within_bound"));
        put_back(&record);
        assert_eq!(alarm_state(&account).await.0, "OK");
    });
}

#[test]
fn an_alarm_with_a_non_sns_action_or_without_consent_is_refused_untouched() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let account = Account::seeded(&["alarm-route-ec2-action"])
            .await
            .expect("account");
        let before = alarm_state(&account).await;
        let (gate, refused) = drill(&account).await;
        match refused {
            Err(e @ DrillError::Setup(_)) => {
                let text = e.to_string();
                assert!(
                    text.contains("arn:aws:automate:eu-central-1:ec2:stop")
                        && text.contains("SNS topic ARNs only"),
                    "{text}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        only_reads_made(&gate);
        assert_eq!(alarm_state(&account).await, before, "the alarm was set");

        let mut account = Account::seeded(&[]).await.expect("account");
        account.env.drills.allowed = false;
        let before = alarm_state(&account).await;
        let (gate, refused) = drill(&account).await;
        assert!(
            matches!(refused, Err(DrillError::NotAllowed(_))),
            "{refused:?}"
        );
        only_reads_made(&gate);
        assert_eq!(alarm_state(&account).await, before);
    });
}
