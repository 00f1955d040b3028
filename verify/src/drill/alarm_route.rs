//! `drill.alarm_route`: a synthetic incident. A dedicated test alarm is put
//! into `ALARM` with `SetAlarmState`; its notification must be delivered
//! along the declared route within the bound; the alarm is put back.
//!
//! What it asserts:
//! - `delivered`: every proof the route offers saw this notification
//!   delivered, and none saw it fail;
//! - `within_bound`: each delivery within `within` of the `SetAlarmState` call;
//! - `alarm_restored`: the alarm is back in the state it was in before.
//!
//! The proofs, per route:
//! - SNS delivery-status logging for the subscription's protocol (the
//!   topic's `<Protocol>SuccessFeedbackRoleArn` with a sample rate of 100,
//!   and `<Protocol>FailureFeedbackRoleArn`): CloudWatch Logs
//!   `sns/<region>/<account>/<topic>` (SUCCESS) and `…/Failure` (FAILURE).
//!   An entry carries the topic, the destination, timestamps and a status,
//!   never the message: it is matched by topic, destination and time after
//!   the call (another notification on the same topic in that window would
//!   count too; the dedicated test alarm keeps that unlikely). A FAILURE
//!   entry is a failed delivery.
//! - a Lambda forwarder's own log (`forwarder_log_group`): a line holding
//!   the run's id, which the alarm's `StateReason` carries.
//! - AWS Chatbot's log (`chatbot_log_group`, in us-east-1): a line naming
//!   the alarm after the call; one that also says `error` or `failed` is a
//!   failed delivery.
//!
//! A route none of these can observe is refused (exit 2, "cannot observe
//! delivery"), as is an alarm whose actions include anything but SNS topics:
//! `SetAlarmState` runs every action of the state it sets (EC2
//! stop/terminate/reboot, Auto Scaling, Systems Manager, Lambda), and the
//! put-back runs the `OK` (or `INSUFFICIENT_DATA`) actions.
//!
//! The put-back, on every path once the call was sent: `SetAlarmState` to
//! the state read before (`OK` or `INSUFFICIENT_DATA`), for a metric alarm
//! as for a composite one. A composite alarm never returns by itself; a
//! metric alarm would at its next evaluation (up to its period later), but
//! until then a real breach could not notify (it is already in `ALARM`), so
//! the drill does not leave it there.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_sns::types::Subscription;
use envspec::{AlarmRoute, AlarmRouteDrill, Environment};
use report_model::Evidence;
use serde_json::{Value, json};

use super::{
    Assertion, DrillError, DrillRecord, Ending, Interrupt, Mark, MarkKind, Timeline, allowed,
    dependents, interrupt_mark, interrupted, judged, ms_since, on_heap, record, steady_state,
    stop_alarms, stop_alarms_abort,
};
use crate::aws;
use crate::check::CheckError;
use crate::checks::alarms::{SubscriptionKind, routes};
use crate::gate::Gate;
use crate::iam::{self, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.alarm_route";

/// What this drill needs: its one write (`SetAlarmState` on the test alarm,
/// both ways) and the reads it makes beyond its steady-state checks'.
pub const GRANTS: &[Grant] = &[
    Grant::on(
        "DrillAlarmRouteSetAlarmState",
        aws::cloudwatch::SET_ALARM_STATE,
        |env, a| drill(env).map(|d| a.alarm(&d.alarm)).into_iter().collect(),
    )
    .write(),
    Grant::on(
        "DrillReadStopAlarms",
        "cloudwatch:DescribeAlarms",
        |env, a| match drill(env) {
            Some(d) => std::iter::once(&d.alarm)
                .chain(&d.stop_alarms)
                .map(|n| a.alarm(n))
                .collect(),
            None => Vec::new(),
        },
    ),
    Grant::on(
        "DrillAlarmRouteTopic",
        aws::sns::GET_TOPIC_ATTRIBUTES,
        |env, a| topic(env).map(|t| a.topic(&t)).into_iter().collect(),
    ),
    Grant::on(
        "DrillAlarmRouteTopic",
        aws::sns::LIST_SUBSCRIPTIONS,
        |env, a| topic(env).map(|t| a.topic(&t)).into_iter().collect(),
    ),
    // The topic's delivery-status log groups (made by SNS with its first
    // entry), and the forwarder's, in the spec's region.
    Grant::on(
        "DrillAlarmRouteDeliveryLogs",
        aws::logs::FILTER_LOG_EVENTS,
        |env, a| {
            let Some(d) = drill(env) else {
                return Vec::new();
            };
            let mut groups = Vec::new();
            if let Some(t) = topic(env) {
                let success = delivery_log_group(&aws::sns::topic_arn(env, &t));
                groups.push(format!("{success}/Failure"));
                groups.push(success);
            }
            groups.extend(d.forwarder_log_group.clone());
            groups
                .iter()
                .flat_map(|g| {
                    [
                        a.arn("logs", &format!("log-group:{g}")),
                        a.arn("logs", &format!("log-group:{g}:*")),
                    ]
                })
                .collect()
        },
    ),
    // AWS Chatbot writes its logs in us-east-1 (the region guard's named exception).
    Grant::on(
        "DrillAlarmRouteChatbotLogs",
        aws::logs::FILTER_LOG_EVENTS,
        |env, _| {
            drill(env)
                .and_then(|d| d.chatbot_log_group.as_ref())
                .map(|g| {
                    let arn = format!("arn:aws:logs:us-east-1:{}:log-group:{g}", env.account_id);
                    vec![arn.clone(), format!("{arn}:*")]
                })
                .unwrap_or_default()
        },
    ),
];

/// The spec's `alarm_route` block.
fn drill(env: &Environment) -> Option<&AlarmRouteDrill> {
    env.drills.alarm_route.as_ref()
}

/// The route's topic as the spec gives it: the drill's `topic`, else the
/// `alarms` block's.
fn topic(env: &Environment) -> Option<String> {
    let d = drill(env)?;
    d.topic
        .clone()
        .or_else(|| env.alarms.as_ref().map(|a| a.topic.clone()))
}

/// How often the logs are read while waiting.
const POLL: Duration = Duration::from_secs(2);
/// How far before the call a log entry may be dated and still be this
/// run's: the log's clock is AWS's, the call's is this machine's.
const CLOCK_SKEW_MS: i64 = 2_000;
/// How long the put-back is retried.
const PUT_BACK_WITHIN: Duration = Duration::from_secs(60);

/// The SNS delivery-status log group of successful deliveries of the topic
/// `topic_arn`: `sns/<region>/<account>/<topic>` (`…/Failure` for failures).
pub fn delivery_log_group(topic_arn: &str) -> String {
    let parts: Vec<&str> = topic_arn.split(':').collect();
    match parts.as_slice() {
        [_, _, _, region, account, name] => format!("sns/{region}/{account}/{name}"),
        _ => format!("sns/{topic_arn}"),
    }
}

/// The prefix of a topic's delivery-status attributes for a subscription's
/// protocol (`HTTPSuccessFeedbackRoleArn`); `None` where SNS logs no
/// delivery status (email, SMS has its own account-wide logging).
pub fn feedback_prefix(protocol: &str) -> Option<&'static str> {
    match protocol {
        "http" | "https" => Some("HTTP"),
        "lambda" => Some("Lambda"),
        "sqs" => Some("SQS"),
        "firehose" => Some("Firehose"),
        "application" => Some("Application"),
        _ => None,
    }
}

/// The actions of the alarm that are not SNS topics (`arn:<partition>:sns:
/// <region>:<account>:<topic>`): `SetAlarmState` would run them too.
pub fn non_sns_actions<'a>(actions: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    actions
        .into_iter()
        .filter(|a| !is_sns_topic_arn(a))
        .map(String::from)
        .collect()
}

fn is_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "sns", region, account, name]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && !name.is_empty()
    )
}

/// The alarm as `DescribeAlarms` gave it, metric or composite.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRead {
    /// Its name.
    pub name: String,
    /// A composite alarm (it never returns from a set state by itself).
    pub composite: bool,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// Its `StateReason`.
    pub reason: Option<String>,
    /// `ActionsEnabled`.
    pub actions_enabled: bool,
    /// What a transition to `ALARM` runs.
    pub alarm_actions: Vec<String>,
    /// What a transition to `OK` runs.
    pub ok_actions: Vec<String>,
    /// What a transition to `INSUFFICIENT_DATA` runs.
    pub insufficient_data_actions: Vec<String>,
}

/// An [`AlarmRead`] of a metric or composite alarm (the SDK's two types
/// have the same accessors).
macro_rules! alarm_read {
    ($a:expr, $composite:expr) => {
        AlarmRead {
            name: $a.alarm_name().unwrap_or_default().to_string(),
            composite: $composite,
            state: $a
                .state_value()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: $a.state_reason().map(String::from),
            actions_enabled: $a.actions_enabled().unwrap_or(false),
            alarm_actions: $a.alarm_actions().to_vec(),
            ok_actions: $a.ok_actions().to_vec(),
            insufficient_data_actions: $a.insufficient_data_actions().to_vec(),
        }
    };
}

impl AlarmRead {
    fn of_metric(a: &aws_sdk_cloudwatch::types::MetricAlarm) -> AlarmRead {
        alarm_read!(a, false)
    }

    fn of_composite(a: &aws_sdk_cloudwatch::types::CompositeAlarm) -> AlarmRead {
        alarm_read!(a, true)
    }

    /// Every action of every state: what `SetAlarmState` (and the put-back) may run.
    fn all_actions(&self) -> impl Iterator<Item = &str> {
        self.alarm_actions
            .iter()
            .chain(&self.ok_actions)
            .chain(&self.insufficient_data_actions)
            .map(String::as_str)
    }
}

/// The alarm `name`, read now (never the cache); `None` when there is none.
async fn read_alarm(gate: &Gate, name: &str) -> Result<Option<AlarmRead>, CheckError> {
    let read = aws::cloudwatch::alarms_now(gate.aws(), &[name.to_string()]).await?;
    let metric = read.metric.iter().map(AlarmRead::of_metric);
    let composite = read.composite.iter().map(AlarmRead::of_composite);
    Ok(metric.chain(composite).find(|a| a.name == name))
}

/// Whether the alarm may be set (every refusal names expected and observed):
/// it exists (checked by the caller), is not in `ALARM`, has its actions
/// enabled, every action an SNS topic, and the route's topic among its
/// `ALARM` actions.
pub fn admit(alarm: &AlarmRead, topic_arn: &str) -> Result<(), String> {
    let name = &alarm.name;
    let others = non_sns_actions(alarm.all_actions());
    if !others.is_empty() {
        return Err(format!(
            "alarm '{name}' has actions other than SNS topics: expected SNS topic ARNs only (SetAlarmState runs every action of the state it sets, and the put-back runs the OK actions), observed {}; use a dedicated test alarm on the same topic",
            others.join(", ")
        ));
    }
    if alarm.state == "ALARM" {
        return Err(format!(
            "alarm '{name}' is in ALARM: expected OK or INSUFFICIENT_DATA (a transition to ALARM is what notifies), observed ALARM{}",
            alarm
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    if !alarm.actions_enabled {
        return Err(format!(
            "alarm '{name}' has its actions disabled: expected ActionsEnabled true, observed false (SetAlarmState would notify nobody)"
        ));
    }
    if !alarm.alarm_actions.iter().any(|a| a == topic_arn) {
        return Err(format!(
            "alarm '{name}' does not notify the route's topic: expected {topic_arn} among its AlarmActions, observed {}",
            if alarm.alarm_actions.is_empty() {
                "none".to_string()
            } else {
                alarm.alarm_actions.join(", ")
            }
        ));
    }
    Ok(())
}

/// One way of seeing the notification delivered.
#[derive(Debug, Clone, PartialEq)]
pub enum Proof {
    /// SNS delivery-status logging of the subscription to `endpoint`.
    Sns {
        /// The subscription's protocol (`https`, `lambda`).
        protocol: String,
        /// The subscription's endpoint (the log's `delivery.destination`).
        endpoint: String,
        /// Failures are logged too (`<Protocol>FailureFeedbackRoleArn`).
        failures_logged: bool,
    },
    /// The Lambda forwarder's own log group.
    Forwarder(String),
    /// AWS Chatbot's log group (us-east-1).
    Chatbot(String),
}

impl Proof {
    fn label(&self) -> String {
        match self {
            Proof::Sns {
                protocol, endpoint, ..
            } => format!("SNS delivery status ({protocol} {endpoint})"),
            Proof::Forwarder(g) => format!("forwarder log {g}"),
            Proof::Chatbot(g) => format!("AWS Chatbot log {g} (us-east-1)"),
        }
    }
}

/// The proofs the route offers: for each confirmed subscription of the
/// route's kind, SNS delivery-status logging of its protocol when the topic
/// logs every success (`<P>SuccessFeedbackRoleArn` set and
/// `<P>SuccessFeedbackSampleRate` 100); the declared forwarder and Chatbot
/// log groups. `Err` when there is nothing to deliver to, or nothing that
/// could see it delivered ("cannot observe delivery").
pub fn proofs(
    topic_arn: &str,
    route: AlarmRoute,
    subscriptions: &[Subscription],
    attributes: &std::collections::HashMap<String, String>,
    drill: &AlarmRouteDrill,
) -> Result<Vec<Proof>, String> {
    let on_route: Vec<&Subscription> = subscriptions
        .iter()
        .filter(|s| routes(route, SubscriptionKind::of(s)) && aws::sns::confirmed(s))
        .collect();
    if on_route.is_empty() {
        return Err(format!(
            "topic {topic_arn} has no confirmed subscription on the declared route ({route:?}): nothing to deliver to"
        ));
    }
    let mut proofs = Vec::new();
    let mut unlogged = Vec::new();
    for s in &on_route {
        let protocol = s.protocol().unwrap_or_default();
        let endpoint = s.endpoint().unwrap_or_default();
        let Some(prefix) = feedback_prefix(protocol) else {
            unlogged.push(format!("{protocol}: SNS logs no delivery status for it"));
            continue;
        };
        let attr = |key: &str| {
            attributes
                .get(&format!("{prefix}{key}"))
                .filter(|v| !v.trim().is_empty())
        };
        let rate = attr("SuccessFeedbackSampleRate").map(|r| r.trim());
        match (attr("SuccessFeedbackRoleArn"), rate) {
            (Some(_), Some("100")) => proofs.push(Proof::Sns {
                protocol: protocol.to_string(),
                endpoint: endpoint.to_string(),
                failures_logged: attr("FailureFeedbackRoleArn").is_some(),
            }),
            (None, _) => unlogged.push(format!(
                "{protocol}: no {prefix}SuccessFeedbackRoleArn on the topic"
            )),
            (Some(_), rate) => unlogged.push(format!(
                "{protocol}: {prefix}SuccessFeedbackSampleRate {}, expected 100 (every success logged)",
                rate.unwrap_or("unset")
            )),
        }
    }
    proofs.extend(drill.forwarder_log_group.clone().map(Proof::Forwarder));
    proofs.extend(drill.chatbot_log_group.clone().map(Proof::Chatbot));
    if proofs.is_empty() {
        return Err(format!(
            "cannot observe delivery: expected SNS delivery-status logging of every success for the route's subscriptions of topic {topic_arn}, or a declared `forwarder_log_group` / `chatbot_log_group`, observed {}",
            unlogged.join("; ")
        ));
    }
    Ok(proofs)
}

/// A delivery a proof saw: when (ms since the epoch, AWS's clock) and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Delivered (`false`: the log says it failed).
    pub delivered: bool,
    /// When it was delivered, ms since the epoch (AWS's clock).
    pub at_ms: i64,
    /// What the log said (status and code, or the line), no message body.
    pub said: String,
}

/// An SNS delivery-status log entry (`sns/<region>/<account>/<topic>` or
/// `…/Failure`), if `message` is one for `topic_arn` to `endpoint` dated at
/// or after `since_ms` (less the clock skew allowed): its status and when
/// it was delivered (the notification's timestamp plus its dwell time).
pub fn sns_entry(message: &str, topic_arn: &str, endpoint: &str, since_ms: i64) -> Option<Seen> {
    let v: Value = serde_json::from_str(message).ok()?;
    if v["notification"]["topicArn"].as_str()? != topic_arn {
        return None;
    }
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    if !same(v["delivery"]["destination"].as_str()?, endpoint) {
        return None;
    }
    let stamp = v["notification"]["timestamp"].as_str()?;
    let published = humantime::parse_rfc3339_weak(stamp.trim_end_matches('Z'))
        .ok()?
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    if published < since_ms - CLOCK_SKEW_MS {
        return None;
    }
    let dwell = v["delivery"]["dwellTimeMs"].as_i64().unwrap_or(0);
    let status = v["status"].as_str().unwrap_or("");
    Some(Seen {
        delivered: status == "SUCCESS",
        at_ms: published + dwell,
        said: format!(
            "{} {}",
            if status.is_empty() {
                "no status"
            } else {
                status
            },
            v["delivery"]["statusCode"]
        ),
    })
}

/// A forwarder's or Chatbot's log line for this run: the forwarder's holds
/// the run's id (from the alarm's `StateReason`); Chatbot's names the alarm,
/// and one that says `error` or `failed` is a failed delivery.
pub fn log_line(proof: &Proof, message: &str, run_id: &str, alarm: &str) -> Option<bool> {
    match proof {
        Proof::Forwarder(_) => message.contains(run_id).then_some(true),
        Proof::Chatbot(_) => message.contains(alarm).then(|| {
            let lower = message.to_ascii_lowercase();
            !(lower.contains("error") || lower.contains("failed"))
        }),
        Proof::Sns { .. } => None,
    }
}

/// What each proof saw so far.
#[derive(Debug, Default, Clone, PartialEq)]
struct Watch {
    seen: Vec<Option<Seen>>,
    /// Why a read of the logs failed, last time (the drill keeps reading).
    errors: Vec<Option<String>>,
}

/// Reads every proof's log once, from `since_ms`; each proof's first
/// delivery (or failure, which wins) kept.
async fn look(
    gate: &Gate,
    proofs: &[Proof],
    topic_arn: &str,
    run_id: &str,
    alarm: &str,
    since_ms: i64,
    watch: &mut Watch,
) {
    let success_group = delivery_log_group(topic_arn);
    let failure_group = format!("{success_group}/Failure");
    let start = since_ms - CLOCK_SKEW_MS;
    for (i, proof) in proofs.iter().enumerate() {
        if watch.seen[i].as_ref().is_some_and(|s| !s.delivered) {
            continue;
        }
        let found: Result<Option<Seen>, CheckError> = async {
            match proof {
                Proof::Sns {
                    endpoint,
                    failures_logged,
                    ..
                } => {
                    let mut groups = vec![&success_group];
                    if *failures_logged {
                        groups.insert(0, &failure_group);
                    }
                    let mut seen: Option<Seen> = None;
                    for group in groups {
                        for e in aws::logs::events_since(gate.aws(), false, group, start).await? {
                            let Some(s) = e
                                .message()
                                .and_then(|m| sns_entry(m, topic_arn, endpoint, since_ms))
                            else {
                                continue;
                            };
                            if !s.delivered || seen.is_none() {
                                seen = Some(s);
                            }
                            if seen.as_ref().is_some_and(|s| !s.delivered) {
                                return Ok(seen);
                            }
                        }
                    }
                    Ok(seen)
                }
                Proof::Forwarder(group) | Proof::Chatbot(group) => {
                    let us_east_1 = matches!(proof, Proof::Chatbot(_));
                    let mut seen: Option<Seen> = None;
                    for e in aws::logs::events_since(gate.aws(), us_east_1, group, start).await? {
                        let message = e.message().unwrap_or_default();
                        if let Some(delivered) = log_line(proof, message, run_id, alarm) {
                            let s = Seen {
                                delivered,
                                at_ms: e.timestamp().unwrap_or_default(),
                                said: message.chars().take(200).collect(),
                            };
                            if !delivered {
                                return Ok(Some(s));
                            }
                            seen.get_or_insert(s);
                        }
                    }
                    Ok(seen)
                }
            }
        }
        .await;
        match found {
            Ok(Some(s)) => {
                let failed = !s.delivered;
                if failed || watch.seen[i].is_none() {
                    watch.seen[i] = Some(s);
                }
                watch.errors[i] = None;
            }
            Ok(None) => watch.errors[i] = None,
            Err(e) => watch.errors[i] = Some(e.to_string()),
        }
    }
}

/// ms since the epoch, now.
fn epoch_ms(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Runs the drill on `gate`'s environment. `interrupt` ends it early (the
/// harness passes SIGINT and SIGTERM): before the alarm is set with nothing
/// touched, after it through the put-back.
///
/// ```no_run
/// # async fn demo(gate: verify::Gate) -> Result<(), verify::drill::DrillError> {
/// let record = verify::drill::alarm_route::run(&gate, std::future::pending()).await?;
/// println!("{}: {}", record.outcome.status.as_str(), record.outcome.message);
/// # Ok(()) }
/// ```
pub async fn run(
    gate: &Gate,
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    Box::pin(run_drill(gate, interrupt)).await
}

async fn run_drill(
    gate: &Gate,
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    let interrupt = Interrupt::new(interrupt);
    let env = gate.env();
    allowed(env)?;
    let drill = drill(env).cloned().ok_or_else(|| {
        DrillError::Setup(
            "drill alarm_route: declare `drills { alarm_route { alarm = \"<a dedicated test alarm>\" } }` in the spec"
                .into(),
        )
    })?;
    let topic_arn = topic(env)
        .map(|t| aws::sns::topic_arn(env, &t))
        .ok_or_else(|| {
            DrillError::Setup(
                "drill alarm_route: no topic: declare its `topic`, or an `alarms { topic }` block"
                    .into(),
            )
        })?;
    let route = env
        .alarms
        .as_ref()
        .map(|a| a.route)
        .unwrap_or(AlarmRoute::Slack);
    dependents::refuse_writes(gate, &drill.dependents)?;

    let (before, failing) = interrupt
        .before_fault(on_heap(|| steady_state(gate, &["alarms.*"])))
        .await?;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    interrupt
        .before_fault(stop_alarms(gate, &drill.stop_alarms))
        .await??;
    let alarm = interrupt
        .before_fault(read_alarm(gate, &drill.alarm))
        .await?
        .map_err(|e| DrillError::Setup(format!("reading alarm '{}': {e}", drill.alarm)))?
        .ok_or_else(|| {
            DrillError::Setup(format!(
                "alarm '{}' not found: expected a metric or composite alarm by that name, observed none (DescribeAlarms)",
                drill.alarm
            ))
        })?;
    admit(&alarm, &topic_arn).map_err(DrillError::Setup)?;
    let (subscriptions, attributes) = interrupt
        .before_fault(async {
            let subs = aws::sns::topic_subscriptions(gate.aws(), &topic_arn).await?;
            let attrs = aws::sns::topic_attributes(gate.aws(), &topic_arn).await?;
            Ok::<_, CheckError>((subs, attrs))
        })
        .await?
        .map_err(|e| DrillError::Setup(format!("reading topic {topic_arn}: {e}")))?;
    let proofs = proofs(&topic_arn, route, &subscriptions, &attributes, &drill)
        .map_err(DrillError::Setup)?;
    // Right before the call, as every drill does.
    interrupt
        .before_fault(stop_alarms(gate, &drill.stop_alarms))
        .await??;

    let run_id = epoch_ms(SystemTime::now()).to_string();
    let reason = format!(
        "verify {ID} run {run_id}: a synthetic incident drill, not an incident (the alarm is put back)"
    );
    let prior = alarm.state.clone();
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let mut timeline = Timeline {
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        ..Timeline::default()
    };
    let mut marks = Vec::new();
    let mut watch = Watch {
        seen: vec![None; proofs.len()],
        errors: vec![None; proofs.len()],
    };
    let mut sent: Option<i64> = None;
    let guard = gate.aws().mode.allow_writes(&iam::writes(GRANTS));
    let body = on_heap(|| {
        follow(
            gate, &drill, &proofs, &topic_arn, &run_id, &reason, t0, &mut marks, &mut watch,
            &mut sent,
        )
    });
    let ending = interrupt.until(body).await;
    marks.extend(interrupt_mark(&ending, t0));

    // Put back on every path once the call may have gone out.
    let put_back = match sent {
        Some(_) => {
            let state = StateValue::from(prior.as_str());
            let back_reason =
                format!("verify {ID} run {run_id}: put back to {prior} after the drill");
            let sent_ms = ms_since(t0);
            let done = interrupt
                .retry(
                    PUT_BACK_WITHIN,
                    &format!("alarm '{}' not put back to {prior}", drill.alarm),
                    || {
                        aws::cloudwatch::set_alarm_state(
                            gate.aws(),
                            &drill.alarm,
                            state.clone(),
                            &back_reason,
                        )
                    },
                )
                .await;
            marks.push(Mark {
                at_ms: sent_ms,
                kind: MarkKind::Cleanup,
                label: match &done {
                    Ok(()) => format!("SetAlarmState {} {prior} (put back)", drill.alarm),
                    Err(e) => e.clone(),
                },
            });
            Some(done)
        }
        None => None,
    };
    drop(guard);
    let after_read = match put_back {
        Some(_) => Some(
            interrupt
                .bounded(
                    Instant::now() + Duration::from_secs(30),
                    read_alarm(gate, &drill.alarm),
                )
                .await,
        ),
        None => None,
    };
    let restored = restored(&alarm, after_read.as_ref());
    if restored.0 {
        marks.push(Mark {
            at_ms: ms_since(t0),
            kind: MarkKind::Recovered,
            label: format!("alarm '{}' back in {prior}", drill.alarm),
        });
    }
    let ending = interrupt.ending(ending)?;
    let left: Vec<String> = match (&put_back, restored.0) {
        (Some(Err(e)), _) => vec![e.clone()],
        (Some(Ok(())), false) => vec![format!(
            "alarm '{}' not seen back in {prior}: {}",
            drill.alarm, restored.1
        )],
        _ => Vec::new(),
    };
    let evidence = Evidence::of(format!("alarm '{}'", drill.alarm))
        .resource(format!("topic {topic_arn}"))
        .detail("run_id", run_id.clone())
        .detail("state_reason", reason.clone())
        .detail("composite", alarm.composite)
        .detail(
            "proofs",
            proofs.iter().map(Proof::label).collect::<Vec<_>>(),
        );

    if let Ending::Interrupted(why) = &ending {
        timeline.marks = sorted(marks);
        timeline.duration_ms = ms_since(t0);
        let outcome = interrupted(ID, why, &left, timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    let dependents = dependents::recover(gate, &drill.dependents, t0, &mut marks).await;
    timeline.marks = sorted(marks);
    timeline.duration_ms = ms_since(t0);
    let (after, _) = steady_state(&gate.fresh(), &["alarms.*"]).await;
    let mut assertions = judge(&drill, &proofs, &watch, sent, &prior, &restored);
    assertions.extend(dependents);
    let latencies: Vec<String> = latencies(&watch, sent)
        .iter()
        .zip(&proofs)
        .map(|(l, p)| match l {
            Some(ms) => format!("{} in {:.1} s", p.label(), *ms as f64 / 1000.0),
            None => format!("{}: not seen", p.label()),
        })
        .collect();
    let summary = format!(
        "alarm '{}' set to ALARM: {} (bound {}); put back to {prior}: {}",
        drill.alarm,
        latencies.join(", "),
        humantime::format_duration(drill.within),
        if restored.0 { "yes" } else { "NO" },
    );
    let evidence = evidence
        .detail("latency_ms", json!(latencies_json(&proofs, &watch, sent)))
        .detail(
            "log_read_errors",
            watch.errors.iter().flatten().cloned().collect::<Vec<_>>(),
        );
    let outcome = judged(
        ID,
        summary,
        &assertions,
        &ending,
        "delivered",
        put_back
            .as_ref()
            .and_then(|p| p.as_ref().err())
            .map(String::as_str),
        timeline.duration_ms,
        evidence,
    );
    Ok(record(env, outcome, timeline, before, after))
}

fn sorted(mut marks: Vec<Mark>) -> Vec<Mark> {
    marks.sort_by_key(|m| m.at_ms);
    marks
}

/// Sets the alarm to `ALARM`, then reads the logs until every proof saw
/// the delivery, one saw it fail, a stop alarm fires or `within` passes.
#[allow(clippy::too_many_arguments)]
async fn follow(
    gate: &Gate,
    drill: &AlarmRouteDrill,
    proofs: &[Proof],
    topic_arn: &str,
    run_id: &str,
    reason: &str,
    t0: Instant,
    marks: &mut Vec<Mark>,
    watch: &mut Watch,
    sent: &mut Option<i64>,
) -> Result<Ending, DrillError> {
    let send_ms = epoch_ms(SystemTime::now());
    *sent = Some(send_ms);
    let fault_ms = ms_since(t0);
    aws::cloudwatch::set_alarm_state(gate.aws(), &drill.alarm, StateValue::Alarm, reason)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    marks.push(Mark {
        at_ms: fault_ms,
        kind: MarkKind::Fault,
        label: format!("SetAlarmState {} ALARM (run {run_id})", drill.alarm),
    });
    let deadline = Instant::now() + drill.within;
    loop {
        let before: Vec<bool> = watch.seen.iter().map(Option::is_some).collect();
        look(
            gate,
            proofs,
            topic_arn,
            run_id,
            &drill.alarm,
            send_ms,
            watch,
        )
        .await;
        for (i, s) in watch.seen.iter().enumerate() {
            if let (Some(s), false) = (s, before[i]) {
                marks.push(Mark {
                    at_ms: ms_since(t0),
                    kind: MarkKind::Status,
                    label: format!(
                        "{} {} ({}), {:.1} s after the call",
                        proofs[i].label(),
                        if s.delivered { "delivered" } else { "FAILED" },
                        s.said,
                        (s.at_ms - send_ms).max(0) as f64 / 1000.0
                    ),
                });
            }
        }
        let failed = watch.seen.iter().flatten().any(|s| !s.delivered);
        if failed || watch.seen.iter().all(Option::is_some) {
            return Ok(Ending::Recovered);
        }
        if let Some(abort) = stop_alarms_abort(gate, &drill.stop_alarms, t0, marks).await {
            return Ok(abort);
        }
        if Instant::now() >= deadline {
            return Ok(Ending::TimedOut(drill.within));
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Each proof's delivery latency (ms from the call), when it saw one.
fn latencies(watch: &Watch, sent: Option<i64>) -> Vec<Option<i64>> {
    watch
        .seen
        .iter()
        .map(|s| match (s, sent) {
            (Some(s), Some(sent)) if s.delivered => Some((s.at_ms - sent).max(0)),
            _ => None,
        })
        .collect()
}

fn latencies_json(
    proofs: &[Proof],
    watch: &Watch,
    sent: Option<i64>,
) -> serde_json::Map<String, Value> {
    proofs
        .iter()
        .zip(latencies(watch, sent))
        .map(|(p, l)| (p.label(), json!(l)))
        .collect()
}

/// Whether the alarm is back: in the state read before, or (a metric alarm,
/// which CloudWatch evaluates again by itself) at least not in `ALARM`.
fn restored(
    before: &AlarmRead,
    after: Option<&Option<Result<Option<AlarmRead>, CheckError>>>,
) -> (bool, String) {
    match after {
        None => (true, format!("never set (still {})", before.state)),
        Some(None) => (false, "not read back in time".into()),
        Some(Some(Err(e))) => (false, format!("not read back: {e}")),
        Some(Some(Ok(None))) => (false, "the alarm is gone".into()),
        Some(Some(Ok(Some(now)))) => (
            now.state == before.state || (!now.composite && now.state != "ALARM"),
            now.state.clone(),
        ),
    }
}

/// The drill's assertions, each with expected and observed.
fn judge(
    drill: &AlarmRouteDrill,
    proofs: &[Proof],
    watch: &Watch,
    sent: Option<i64>,
    prior: &str,
    restored: &(bool, String),
) -> Vec<Assertion> {
    let within_ms = drill.within.as_millis() as i64;
    let seen: serde_json::Map<String, Value> = proofs
        .iter()
        .zip(&watch.seen)
        .zip(&watch.errors)
        .map(|((p, s), e)| {
            (
                p.label(),
                match s {
                    Some(s) => json!({ "delivered": s.delivered, "said": s.said }),
                    None => json!({ "delivered": null, "said": "nothing seen", "read_error": e }),
                },
            )
        })
        .collect();
    let latencies = latencies(watch, sent);
    let delivered = watch
        .seen
        .iter()
        .all(|s| s.as_ref().is_some_and(|s| s.delivered));
    vec![
        Assertion {
            name: "delivered",
            holds: sent.is_some() && delivered,
            expected: json!({ "every_proof": "delivered, none failed", "proofs": proofs.iter().map(Proof::label).collect::<Vec<_>>() }),
            observed: Value::Object(seen),
        },
        Assertion {
            name: "within_bound",
            holds: sent.is_some()
                && latencies
                    .iter()
                    .all(|l| l.is_some_and(|ms| ms <= within_ms)),
            expected: json!({ "max_ms": within_ms }),
            observed: json!(latencies_json(proofs, watch, sent)),
        },
        Assertion {
            name: "alarm_restored",
            holds: restored.0,
            expected: json!({ "state": prior }),
            observed: json!({ "state": restored.1 }),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TOPIC: &str = "arn:aws:sns:eu-central-1:123456789012:alerts";
    const CHATBOT: &str = "https://global.sns-api.chatbot.amazonaws.com";

    fn drill() -> AlarmRouteDrill {
        AlarmRouteDrill {
            alarm: "route-test".into(),
            topic: None,
            within: Duration::from_secs(120),
            forwarder_log_group: None,
            chatbot_log_group: None,
            stop_alarms: Vec::new(),
            dependents: Vec::new(),
        }
    }

    fn alarm(actions: &[&str]) -> AlarmRead {
        AlarmRead {
            name: "route-test".into(),
            composite: false,
            state: "OK".into(),
            reason: None,
            actions_enabled: true,
            alarm_actions: actions.iter().map(|a| a.to_string()).collect(),
            ok_actions: Vec::new(),
            insufficient_data_actions: Vec::new(),
        }
    }

    fn sub(protocol: &str, endpoint: &str) -> Subscription {
        Subscription::builder()
            .subscription_arn(format!("{TOPIC}:1111"))
            .protocol(protocol)
            .endpoint(endpoint)
            .topic_arn(TOPIC)
            .build()
    }

    #[test]
    fn only_sns_topic_actions_are_admitted() {
        assert!(admit(&alarm(&[TOPIC]), TOPIC).is_ok());
        for other in [
            "arn:aws:automate:eu-central-1:ec2:stop",
            "arn:aws:automate:eu-central-1:ec2:terminate",
            "arn:aws:swf:eu-central-1:123456789012:action/actions/AWS_EC2.InstanceId.Reboot/1.0",
            "arn:aws:autoscaling:eu-central-1:123456789012:scalingPolicy:x:autoScalingGroupName/g:policyName/p",
            "arn:aws:ssm:eu-central-1:123456789012:opsitem:3",
            "arn:aws:ssm-incidents::123456789012:responseplan/p",
            "arn:aws:lambda:eu-central-1:123456789012:function:f",
            "arn:aws:sns:eu-central-1:123:short-account",
        ] {
            let mut a = alarm(&[TOPIC]);
            a.ok_actions.push(other.into());
            let refused = admit(&a, TOPIC).unwrap_err();
            assert!(refused.contains(other), "{refused}");
            assert!(refused.contains("SNS topic ARNs only"), "{refused}");
        }
        assert_eq!(
            non_sns_actions([TOPIC, "arn:aws-cn:sns:cn-north-1:123456789012:t"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_alarm_in_alarm_disabled_or_off_route_is_refused() {
        let mut firing = alarm(&[TOPIC]);
        firing.state = "ALARM".into();
        assert!(
            admit(&firing, TOPIC)
                .unwrap_err()
                .contains("observed ALARM")
        );
        let mut disabled = alarm(&[TOPIC]);
        disabled.actions_enabled = false;
        assert!(
            admit(&disabled, TOPIC)
                .unwrap_err()
                .contains("ActionsEnabled")
        );
        let other = alarm(&["arn:aws:sns:eu-central-1:123456789012:other"]);
        assert!(
            admit(&other, TOPIC)
                .unwrap_err()
                .contains("does not notify the route's topic")
        );
    }

    #[test]
    fn delivery_must_be_observable() {
        let subs = [sub("https", CHATBOT), sub("email", "ops@example.com")];
        let logged: HashMap<String, String> = [
            (
                "HTTPSuccessFeedbackRoleArn",
                "arn:aws:iam::123456789012:role/sns-logs",
            ),
            ("HTTPSuccessFeedbackSampleRate", "100"),
            (
                "HTTPFailureFeedbackRoleArn",
                "arn:aws:iam::123456789012:role/sns-logs",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let got = proofs(TOPIC, AlarmRoute::Slack, &subs, &logged, &drill()).unwrap();
        assert_eq!(
            got,
            [Proof::Sns {
                protocol: "https".into(),
                endpoint: CHATBOT.into(),
                failures_logged: true
            }]
        );
        let refused =
            proofs(TOPIC, AlarmRoute::Slack, &subs, &HashMap::new(), &drill()).unwrap_err();
        assert!(refused.starts_with("cannot observe delivery"), "{refused}");
        assert!(
            refused.contains("no HTTPSuccessFeedbackRoleArn"),
            "{refused}"
        );
        let mut sampled = logged.clone();
        sampled.insert("HTTPSuccessFeedbackSampleRate".into(), "50".into());
        let refused = proofs(TOPIC, AlarmRoute::Slack, &subs, &sampled, &drill()).unwrap_err();
        assert!(refused.contains("SampleRate 50, expected 100"), "{refused}");
        // A forwarder's own log is a proof of its own.
        let mut with_log = drill();
        with_log.forwarder_log_group = Some("/aws/lambda/fwd".into());
        let got = proofs(TOPIC, AlarmRoute::Slack, &subs, &HashMap::new(), &with_log).unwrap();
        assert_eq!(got, [Proof::Forwarder("/aws/lambda/fwd".into())]);
        // Nothing on the route: nothing to deliver to.
        let refused = proofs(TOPIC, AlarmRoute::Slack, &subs[1..], &logged, &drill()).unwrap_err();
        assert!(refused.contains("nothing to deliver to"), "{refused}");
    }

    fn entry(topic: &str, destination: &str, timestamp: &str, status: &str) -> String {
        json!({
            "notification": { "messageId": "m-1", "topicArn": topic, "timestamp": timestamp },
            "delivery": { "destination": destination, "statusCode": if status == "SUCCESS" { 200 } else { 500 }, "dwellTimeMs": 250, "attempts": 1 },
            "status": status,
        })
        .to_string()
    }

    #[test]
    fn sns_entries_match_by_topic_destination_and_time() {
        let sent = epoch_ms(humantime::parse_rfc3339("2026-05-04T10:00:00Z").unwrap());
        let ok = entry(
            TOPIC,
            &format!("{CHATBOT}/"),
            "2026-05-04 10:00:01.000",
            "SUCCESS",
        );
        let seen = sns_entry(&ok, TOPIC, CHATBOT, sent).expect("matched");
        assert!(seen.delivered);
        assert_eq!(seen.at_ms - sent, 1_250, "timestamp + dwell time");
        assert_eq!(seen.said, "SUCCESS 200");
        let failed = entry(TOPIC, CHATBOT, "2026-05-04 10:00:01.000", "FAILURE");
        assert!(!sns_entry(&failed, TOPIC, CHATBOT, sent).unwrap().delivered);
        // Another topic, another destination, an older entry: not this run's.
        let other = entry(
            "arn:aws:sns:eu-central-1:123456789012:x",
            CHATBOT,
            "2026-05-04 10:00:01.000",
            "SUCCESS",
        );
        assert_eq!(sns_entry(&other, TOPIC, CHATBOT, sent), None);
        assert_eq!(
            sns_entry(&ok, TOPIC, "https://elsewhere.example", sent),
            None
        );
        let old = entry(TOPIC, CHATBOT, "2026-05-04 09:59:57.000", "SUCCESS");
        assert_eq!(sns_entry(&old, TOPIC, CHATBOT, sent), None);
        // Within the clock skew allowed: still this run's.
        let early = entry(TOPIC, CHATBOT, "2026-05-04 09:59:59.000", "SUCCESS");
        assert!(sns_entry(&early, TOPIC, CHATBOT, sent).is_some());
        assert_eq!(sns_entry("not json", TOPIC, CHATBOT, sent), None);
    }

    #[test]
    fn forwarder_lines_carry_the_run_and_chatbot_errors_fail() {
        let fwd = Proof::Forwarder("/aws/lambda/f".into());
        assert_eq!(
            log_line(
                &fwd,
                "posted: run 1700000000000 route-test",
                "1700000000000",
                "route-test"
            ),
            Some(true)
        );
        assert_eq!(
            log_line(
                &fwd,
                "posted: run 1699999999999",
                "1700000000000",
                "route-test"
            ),
            None
        );
        let chatbot = Proof::Chatbot("/aws/chatbot/c".into());
        assert_eq!(
            log_line(&chatbot, "Sent route-test to Slack", "1", "route-test"),
            Some(true)
        );
        assert_eq!(
            log_line(
                &chatbot,
                "ERROR route-test: channel not found",
                "1",
                "route-test"
            ),
            Some(false)
        );
    }

    #[test]
    fn the_verdict_needs_every_proof_delivered_within_the_bound() {
        let proofs = [Proof::Sns {
            protocol: "https".into(),
            endpoint: CHATBOT.into(),
            failures_logged: true,
        }];
        let seen = |delivered, at_ms| Watch {
            seen: vec![Some(Seen {
                delivered,
                at_ms,
                said: "x".into(),
            })],
            errors: vec![None],
        };
        let back = (true, "OK".to_string());
        let holds = |w: &Watch| {
            judge(&drill(), &proofs, w, Some(1_000), "OK", &back)
                .iter()
                .map(|a| (a.name, a.holds))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            holds(&seen(true, 1_900)),
            [
                ("delivered", true),
                ("within_bound", true),
                ("alarm_restored", true)
            ]
        );
        assert_eq!(latencies(&seen(true, 1_900), Some(1_000)), [Some(900)]);
        assert_eq!(
            holds(&seen(true, 200_000)),
            [
                ("delivered", true),
                ("within_bound", false),
                ("alarm_restored", true)
            ]
        );
        assert_eq!(
            holds(&seen(false, 1_900)),
            [
                ("delivered", false),
                ("within_bound", false),
                ("alarm_restored", true)
            ]
        );
        let none = Watch {
            seen: vec![None],
            errors: vec![None],
        };
        assert_eq!(
            holds(&none),
            [
                ("delivered", false),
                ("within_bound", false),
                ("alarm_restored", true)
            ]
        );
    }

    #[test]
    fn restored_means_the_state_before_or_a_metric_alarm_out_of_alarm() {
        let before = alarm(&[TOPIC]);
        let mut now = before.clone();
        now.state = "INSUFFICIENT_DATA".into();
        assert!(restored(&before, Some(&Some(Ok(Some(now.clone()))))).0);
        now.composite = true;
        assert!(!restored(&before, Some(&Some(Ok(Some(now.clone()))))).0);
        now.state = "ALARM".into();
        now.composite = false;
        assert!(!restored(&before, Some(&Some(Ok(Some(now))))).0);
        assert!(!restored(&before, Some(&None)).0);
        assert!(restored(&before, None).0);
        assert_eq!(
            delivery_log_group(TOPIC),
            "sns/eu-central-1/123456789012/alerts"
        );
    }
}
