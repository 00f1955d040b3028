//! `alarms.*`: every declared CloudWatch alarm exists with actions on and
//! notifies the declared SNS topic, and that topic reaches a human: at least
//! one *confirmed* subscription of the declared kind.

use std::sync::Arc;

use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_sdk_sns::types::Subscription;
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Finding};
use crate::gate::Gate;
use crate::spec::{AlarmRoute, AlarmsSpec};

const DESCRIBE_ALARMS: &str = "monitoring:DescribeAlarms";
const LIST_SUBSCRIPTIONS: &str = "sns:ListSubscriptionsByTopic";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("alarms.present", |g| Box::pin(present(g))),
        Check::new("alarms.routed", |g| Box::pin(routed(g))),
    ]
}

fn topic_arn(gate: &Gate, spec: &AlarmsSpec) -> String {
    if spec.topic.starts_with("arn:") {
        spec.topic.clone()
    } else {
        let env = gate.env();
        format!(
            "arn:aws:sns:{}:{}:{}",
            env.region, env.account_id, spec.topic
        )
    }
}

/// `alarms.present`: each declared alarm exists, actions enabled, alarm actions include the topic.
async fn present(gate: &Gate) -> CheckResult {
    let Some(spec) = &gate.env().alarms else {
        return Ok(Finding::skip("no alarms declared for this environment"));
    };
    let topic = topic_arn(gate, spec);
    let alarms = alarms(gate, &spec.required).await?;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for name in &spec.required {
        let Some(alarm) = alarms
            .iter()
            .find(|a| a.alarm_name() == Some(name.as_str()))
        else {
            problems.push(format!(
                "alarm '{name}' expected, observed none by that name"
            ));
            continue;
        };
        let enabled = alarm.actions_enabled().unwrap_or(false);
        let actions = alarm.alarm_actions();
        seen.push(json!({ "alarm": name, "ActionsEnabled": enabled, "AlarmActions": actions, "StateValue": alarm.state_value().map(|s| s.as_str()) }));
        if !enabled {
            problems.push(format!(
                "alarm '{name}': ActionsEnabled expected true, observed false"
            ));
        }
        if !actions.contains(&topic) {
            problems.push(format!(
                "alarm '{name}': AlarmActions expected to include {topic}, observed [{}]",
                actions.join(", ")
            ));
        }
    }
    let evidence = json!({ "topic": topic, "alarms": seen, "operations": [DESCRIBE_ALARMS] });
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "{} alarms present, actions on, notifying {}",
                spec.required.len(),
                spec.topic
            ),
            evidence,
        )
    } else {
        Finding::fail(problems.join("; "), evidence)
    })
}

/// `alarms.routed`: the topic has ≥ 1 confirmed subscription of the declared kind.
async fn routed(gate: &Gate) -> CheckResult {
    let Some(spec) = &gate.env().alarms else {
        return Ok(Finding::skip("no alarms declared for this environment"));
    };
    let topic = topic_arn(gate, spec);
    let subscriptions = subscriptions(gate, &topic).await?;
    let described: Vec<serde_json::Value> = subscriptions
        .iter()
        .map(|s| json!({ "Protocol": s.protocol(), "Endpoint": redact(s.endpoint().unwrap_or("")), "confirmed": confirmed(s) }))
        .collect();
    let of_kind: Vec<&Subscription> = subscriptions
        .iter()
        .filter(|s| is_kind(s, spec.route))
        .collect();
    let confirmed_count = of_kind.iter().filter(|s| confirmed(s)).count();
    let kind = match spec.route {
        AlarmRoute::Slack => "Slack (https to hooks.slack.com)",
        AlarmRoute::Chatbot => "AWS Chatbot",
        AlarmRoute::Lambda => "Lambda",
    };
    let evidence = json!({ "topic": topic, "route": kind, "subscriptions": described, "operations": [LIST_SUBSCRIPTIONS] });
    Ok(if confirmed_count > 0 {
        Finding::pass(
            format!(
                "topic '{}': {confirmed_count} confirmed {kind} subscription(s)",
                spec.topic
            ),
            evidence,
        )
    } else if !of_kind.is_empty() {
        Finding::fail(
            format!(
                "topic '{}': a confirmed {kind} subscription expected, observed {} PendingConfirmation",
                spec.topic,
                of_kind.len()
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!(
                "topic '{}': a confirmed {kind} subscription expected, observed {} subscription(s) of other kinds",
                spec.topic,
                subscriptions.len()
            ),
            evidence,
        )
    })
}

fn confirmed(s: &Subscription) -> bool {
    s.subscription_arn()
        .is_some_and(|arn| arn.starts_with("arn:"))
}

fn is_kind(s: &Subscription, route: AlarmRoute) -> bool {
    let endpoint = s.endpoint().unwrap_or("");
    match route {
        AlarmRoute::Slack => {
            s.protocol() == Some("https") && endpoint.starts_with("https://hooks.slack.com/")
        }
        AlarmRoute::Chatbot => {
            s.protocol() == Some("https") && endpoint.contains("chatbot.amazonaws.com")
        }
        AlarmRoute::Lambda => s.protocol() == Some("lambda"),
    }
}

/// Webhook URLs are secrets: keep the host and first path segment only.
fn redact(endpoint: &str) -> String {
    match endpoint.splitn(5, '/').collect::<Vec<_>>().as_slice() {
        [scheme, "", host, first, _rest] => format!("{scheme}//{host}/{first}/…"),
        _ => endpoint.to_string(),
    }
}

async fn alarms(gate: &Gate, names: &[String]) -> Result<Arc<Vec<MetricAlarm>>, CheckError> {
    gate.cache()
        .get(
            &format!("{DESCRIBE_ALARMS}:{}", names.join(",")),
            || async {
                let mut all = Vec::new();
                for chunk in names.chunks(100) {
                    let out = gate
                        .aws()
                        .cloudwatch
                        .describe_alarms()
                        .set_alarm_names(Some(chunk.to_vec()))
                        .send()
                        .await
                        .map_err(|e| {
                            CheckError::from_sdk(
                                DESCRIBE_ALARMS,
                                &format!("alarms {}", chunk.join(", ")),
                                e,
                            )
                        })?;
                    all.extend(out.metric_alarms.unwrap_or_default());
                }
                Ok(all)
            },
        )
        .await
}

async fn subscriptions(gate: &Gate, topic: &str) -> Result<Vec<Subscription>, CheckError> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let out = gate
            .aws()
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| CheckError::from_sdk(LIST_SUBSCRIPTIONS, &format!("topic {topic}"), e))?;
        all.extend(out.subscriptions.unwrap_or_default());
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(all);
        }
    }
}
