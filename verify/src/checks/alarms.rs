//! `alarms.*`: every declared CloudWatch alarm (metric or composite) exists
//! with actions on and notifies the declared SNS topic, and that topic
//! reaches a human: at least one *confirmed* subscription of the declared
//! kind.
//!
//! Slack is reached through AWS Chatbot (an https subscription to
//! `https://global.sns-api.chatbot.amazonaws.com`, which AWS confirms) or a
//! Lambda forwarder (protocol `lambda`). An https subscription straight to a
//! `hooks.slack.com` webhook never confirms on AWS (Slack cannot answer SNS's
//! `SubscriptionConfirmation`), so it is never counted as routed.
//!
//! An encrypted topic is routed only if CloudWatch can use its key: never
//! the AWS managed `alias/aws/sns` (its key policy cannot be changed to
//! admit `cloudwatch.amazonaws.com`, so every notification is dropped
//! without an error anywhere), and a customer managed key only when its key
//! policy allows `cloudwatch.amazonaws.com` `kms:Decrypt` and
//! `kms:GenerateDataKey*`, and the key is enabled.

use std::sync::Arc;

use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm};
use aws_sdk_kms::types::{KeyManagerType, KeyMetadata, KeyState};
use aws_sdk_sns::types::Subscription;
use serde_json::json;

use crate::aws::sns::{confirmed, topic_arn, topic_subscriptions};
use crate::aws::{self, cloudwatch::DESCRIBE_ALARMS};
use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding, Grant, required};
use crate::context::Context;
use crate::spec::AlarmRoute;

/// AWS Chatbot's SNS endpoint (`global`; regional hosts share the suffix).
pub const CHATBOT_ENDPOINT: &str = "https://global.sns-api.chatbot.amazonaws.com";
const CHATBOT_HOST_SUFFIX: &str = ".sns-api.chatbot.amazonaws.com";

// --- what: the checks, declared ----------------------------------------------

const PRESENT: CheckDef = CheckDef {
    id: "alarms.present",
    title: "the declared CloudWatch alarms exist, with actions",
    doc: "every declared alarm exists by name, actions enabled, and its alarm actions include the declared topic",
    iam: &[Grant::on(
        "CloudWatchReadDeclaredAlarms",
        "cloudwatch:DescribeAlarms",
        |env, a| {
            env.alarms
                .iter()
                .flat_map(|al| al.required.iter().map(|n| a.alarm(n)))
                .collect()
        },
    )],
};

const ROUTED: CheckDef = CheckDef {
    id: "alarms.routed",
    title: "alarms reach Slack through SNS (AWS Chatbot or a forwarder)",
    doc: "that topic has ≥ 1 confirmed subscription of the declared kind — Slack means AWS Chatbot or a Lambda forwarder (an SNS https subscription straight to a Slack webhook can never confirm) — not `PendingConfirmation`; an encrypted topic's key is one CloudWatch can use: not the AWS managed `alias/aws/sns`, and a customer managed key that is enabled and whose key policy allows `cloudwatch.amazonaws.com` `kms:Decrypt` and `kms:GenerateDataKey*`",
    iam: &[
        Grant::on(
            "SnsReadDeclaredTopics",
            "sns:ListSubscriptionsByTopic",
            |env, a| env.alarms.iter().map(|al| a.topic(&al.topic)).collect(),
        ),
        Grant::on(
            "SnsReadDeclaredTopics",
            aws::sns::GET_TOPIC_ATTRIBUTES,
            |env, a| env.alarms.iter().map(|al| a.topic(&al.topic)).collect(),
        ),
        // The topic's key is not in the spec.
        Grant::on(
            "KmsReadAlarmTopicKey",
            aws::kms::DESCRIBE_KEY,
            alarm_topic_keys,
        )
        .only_when("the alarm topic is encrypted with a key other than alias/aws/sns"),
        Grant::on(
            "KmsReadAlarmTopicKey",
            aws::kms::GET_KEY_POLICY,
            alarm_topic_keys,
        )
        .only_when("the alarm topic is encrypted with a customer managed key"),
    ],
};

/// Any key of the account and region, when alarms are declared.
fn alarm_topic_keys(env: &crate::spec::Environment, a: &crate::iam::Arns<'_>) -> Vec<String> {
    if env.alarms.is_some() {
        vec![a.arn("kms", "key/*")]
    } else {
        Vec::new()
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&PRESENT, |g| Box::pin(present(g))),
        Check::new(&ROUTED, |g| Box::pin(routed(g))),
    ]
}

/// What `alarms.present` judges of an alarm, metric or composite alike.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmView {
    pub name: String,
    /// `metric` or `composite`.
    pub kind: &'static str,
    /// `None` when DescribeAlarms did not report it (then nothing is judged).
    pub actions_enabled: Option<bool>,
    pub alarm_actions: Vec<String>,
    pub state: Option<String>,
    /// The metric alarm as described (`None` for a composite one):
    /// `terraform.declared` compares its threshold, period and metric.
    pub metric: Option<MetricAlarm>,
}

impl From<&MetricAlarm> for AlarmView {
    fn from(a: &MetricAlarm) -> Self {
        AlarmView {
            name: a.alarm_name().unwrap_or_default().to_string(),
            kind: "metric",
            actions_enabled: a.actions_enabled(),
            alarm_actions: a.alarm_actions().to_vec(),
            state: a.state_value().map(|s| s.as_str().to_string()),
            metric: Some(a.clone()),
        }
    }
}

impl From<&CompositeAlarm> for AlarmView {
    fn from(a: &CompositeAlarm) -> Self {
        AlarmView {
            name: a.alarm_name().unwrap_or_default().to_string(),
            kind: "composite",
            actions_enabled: a.actions_enabled(),
            alarm_actions: a.alarm_actions().to_vec(),
            state: a.state_value().map(|s| s.as_str().to_string()),
            metric: None,
        }
    }
}

/// The problems of the alarm declared as `name` (found as `alarm`, or not),
/// judged against `topic`. An alarm whose ActionsEnabled is not reported
/// cannot be judged: that is an error, not a pass nor a guess.
pub fn judge_alarm(
    name: &str,
    alarm: Option<&AlarmView>,
    topic: &str,
) -> Result<Vec<String>, CheckError> {
    let Some(alarm) = alarm else {
        return Ok(vec![format!(
            "alarm '{name}' expected, observed none by that name"
        )]);
    };
    let enabled = alarm.actions_enabled.ok_or_else(|| CheckError::Aws {
        operation: DESCRIBE_ALARMS.into(),
        resource: format!("alarm '{name}'"),
        code: None,
        message: "ActionsEnabled not reported".into(),
    })?;
    let mut problems = Vec::new();
    if !enabled {
        problems.push(format!(
            "alarm '{name}': ActionsEnabled expected true, observed false"
        ));
    }
    if !alarm.alarm_actions.iter().any(|a| a == topic) {
        problems.push(format!(
            "alarm '{name}': AlarmActions expected to include {topic}, observed [{}]",
            alarm.alarm_actions.join(", ")
        ));
    }
    Ok(problems)
}

/// `alarms.present`: each declared alarm exists, actions enabled, alarm actions include the topic.
async fn present(cx: &Context) -> CheckResult {
    let Some(spec) = &cx.env().alarms else {
        return Ok(Finding::skip("no alarms declared for this environment"));
    };
    let topic = topic_arn(cx.env(), &spec.topic);
    let alarms = alarms(cx, &spec.required).await?;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let mut missing = Vec::new();
    for name in &spec.required {
        let alarm = alarms.iter().find(|a| a.name == *name);
        match alarm {
            Some(a) => seen.push(json!({ "alarm": name, "type": a.kind, "ActionsEnabled": a.actions_enabled, "AlarmActions": a.alarm_actions, "StateValue": a.state })),
            None => missing.push(name),
        }
        problems.extend(judge_alarm(name, alarm, &topic)?);
    }
    let evidence = Evidence::default()
        .resources(spec.required.iter().map(|name| format!("alarm '{name}'")))
        .expected(json!({
            "alarms": spec.required,
            "ActionsEnabled": true,
            "AlarmActions_include": topic,
        }))
        .observed(json!({ "alarms": seen, "missing": missing }));
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

/// Where a subscription delivers, as far as alarm routing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// https to AWS Chatbot's SNS endpoint.
    Chatbot,
    /// A Lambda function (protocol `lambda`).
    Lambda,
    /// http(s) straight to a Slack incoming webhook: never confirms on AWS.
    SlackWebhook,
    /// Anything else (e-mail, SQS, another URL…).
    Other,
}

impl SubscriptionKind {
    pub fn of(s: &Subscription) -> SubscriptionKind {
        let endpoint = s.endpoint().unwrap_or("");
        match s.protocol() {
            Some("lambda") if is_lambda_arn(endpoint) => SubscriptionKind::Lambda,
            Some("https") if url_host(endpoint).is_some_and(is_chatbot_host) => {
                SubscriptionKind::Chatbot
            }
            Some("https") | Some("http")
                if url_host(endpoint).is_some_and(|h| h == "hooks.slack.com") =>
            {
                SubscriptionKind::SlackWebhook
            }
            _ => SubscriptionKind::Other,
        }
    }

    fn label(self) -> &'static str {
        match self {
            SubscriptionKind::Chatbot => "chatbot",
            SubscriptionKind::Lambda => "lambda",
            SubscriptionKind::SlackWebhook => "slack-webhook",
            SubscriptionKind::Other => "other",
        }
    }
}

/// Whether a subscription of `kind` routes alarms the way `route` declares:
/// Slack through AWS Chatbot or a Lambda forwarder, never a direct webhook.
pub fn routes(route: AlarmRoute, kind: SubscriptionKind) -> bool {
    matches!(
        (route, kind),
        (
            AlarmRoute::Slack,
            SubscriptionKind::Chatbot | SubscriptionKind::Lambda
        ) | (AlarmRoute::Chatbot, SubscriptionKind::Chatbot)
            | (AlarmRoute::Lambda, SubscriptionKind::Lambda)
    )
}

fn route_label(route: AlarmRoute) -> &'static str {
    match route {
        AlarmRoute::Slack => "Slack (AWS Chatbot or a Lambda forwarder)",
        AlarmRoute::Chatbot => "AWS Chatbot",
        AlarmRoute::Lambda => "Lambda",
    }
}

/// The verdict of `alarms.routed` on a topic's subscriptions: `Ok(message)`
/// to pass, `Err(message)` to fail.
pub fn judge_routing(
    topic: &str,
    route: AlarmRoute,
    subscriptions: &[Subscription],
) -> Result<String, String> {
    let label = route_label(route);
    let of_kind: Vec<&Subscription> = subscriptions
        .iter()
        .filter(|s| routes(route, SubscriptionKind::of(s)))
        .collect();
    let confirmed_count = of_kind.iter().filter(|s| confirmed(s)).count();
    if confirmed_count > 0 {
        return Ok(format!(
            "topic '{topic}': {confirmed_count} confirmed {label} subscription(s)"
        ));
    }
    let expected = format!("topic '{topic}': a confirmed {label} subscription expected");
    if !of_kind.is_empty() {
        return Err(format!(
            "{expected}, observed {} PendingConfirmation",
            of_kind.len()
        ));
    }
    let webhooks = subscriptions
        .iter()
        .filter(|s| SubscriptionKind::of(s) == SubscriptionKind::SlackWebhook)
        .count();
    if webhooks > 0 && route == AlarmRoute::Slack {
        return Err(format!(
            "{expected}, observed {webhooks} https subscription(s) straight to hooks.slack.com, \
             which can never confirm on AWS (Slack cannot answer SNS's SubscriptionConfirmation); \
             subscribe AWS Chatbot ({CHATBOT_ENDPOINT}) or a Lambda forwarder instead"
        ));
    }
    Err(format!(
        "{expected}, observed {} subscription(s) of other kinds",
        subscriptions.len()
    ))
}

/// `alarms.routed`: the topic has ≥ 1 confirmed subscription of the declared kind.
async fn routed(cx: &Context) -> CheckResult {
    let Some(spec) = &cx.env().alarms else {
        return Ok(Finding::skip("no alarms declared for this environment"));
    };
    let topic = topic_arn(cx.env(), &spec.topic);
    let subscriptions = topic_subscriptions(cx.aws(), &topic).await?;
    let described: Vec<serde_json::Value> = subscriptions
        .iter()
        .map(|s| json!({ "Protocol": s.protocol(), "Endpoint": redact(s.endpoint().unwrap_or("")), "kind": SubscriptionKind::of(s).label(), "confirmed": confirmed(s) }))
        .collect();
    let confirmed_of_kind = subscriptions
        .iter()
        .filter(|s| routes(spec.route, SubscriptionKind::of(s)) && confirmed(s))
        .count();
    let (key, key_problem) = topic_key(cx, &spec.topic, &topic).await?;
    let evidence = Evidence::of(format!("topic {topic}"))
        .expected(json!({
            "route": route_label(spec.route),
            "min_confirmed_subscriptions": 1,
            "key": "none, or a customer managed key CloudWatch may use (kms:Decrypt, kms:GenerateDataKey*)",
        }))
        .observed(json!({
            "subscriptions": described,
            "confirmed_subscriptions": confirmed_of_kind,
            "KmsMasterKeyId": key,
        }));
    let routing = judge_routing(&spec.topic, spec.route, &subscriptions);
    Ok(match (routing, key_problem) {
        (Ok(message), None) => Finding::pass(
            match &key {
                Some(key) => format!("{message}; encrypted with {key}, which CloudWatch may use"),
                None => message,
            },
            evidence,
        ),
        (Ok(_), Some(problem)) => Finding::fail(problem, evidence),
        (Err(message), None) => Finding::fail(message, evidence),
        (Err(message), Some(problem)) => Finding::fail(format!("{message}; {problem}"), evidence),
    })
}

/// The AWS managed SNS key, by alias name or alias ARN.
fn is_aws_managed_sns_alias(key: &str) -> bool {
    key == "alias/aws/sns" || key.ends_with(":alias/aws/sns")
}

/// The topic's `KmsMasterKeyId` (`None`: not encrypted) and why CloudWatch
/// could not publish to it, if it could not.
async fn topic_key(
    cx: &Context,
    name: &str,
    topic: &str,
) -> Result<(Option<String>, Option<String>), CheckError> {
    let attributes = aws::sns::topic_attributes(cx.aws(), topic).await?;
    let Some(key) = attributes
        .get("KmsMasterKeyId")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
    else {
        return Ok((None, None));
    };
    if is_aws_managed_sns_alias(key) {
        return Ok((Some(key.to_string()), Some(aws_managed_problem(name, key))));
    }
    let meta = aws::kms::key(cx.aws(), key).await?;
    let resource = aws::kms::resource(key);
    let manager = required(
        meta.key_manager(),
        aws::kms::DESCRIBE_KEY,
        &resource,
        "KeyManager",
    )?;
    if *manager == KeyManagerType::Aws {
        return Ok((Some(key.to_string()), Some(aws_managed_problem(name, key))));
    }
    let arn = required(meta.arn(), aws::kms::DESCRIBE_KEY, &resource, "Arn")?;
    let policy = aws::kms::key_policy(cx.aws(), arn).await?;
    let problem =
        judge_topic_key(name, key, &meta, &policy).map_err(|message| CheckError::Aws {
            operation: aws::kms::GET_KEY_POLICY.into(),
            resource,
            code: None,
            message,
        })?;
    Ok((Some(key.to_string()), problem))
}

fn aws_managed_problem(topic: &str, key: &str) -> String {
    format!(
        "topic '{topic}': a key CloudWatch may use expected (none, or a customer managed key whose \
         policy allows cloudwatch.amazonaws.com), observed the AWS managed key {key}: its policy \
         cannot admit CloudWatch, so every alarm notification is dropped"
    )
}

/// Why CloudWatch could not publish to topic `topic` encrypted with the
/// customer managed key `key` (`meta`, `policy`): `Ok(None)` when it can,
/// `Err` when the policy is not a JSON policy document.
pub fn judge_topic_key(
    topic: &str,
    key: &str,
    meta: &KeyMetadata,
    policy: &str,
) -> Result<Option<String>, String> {
    if let Some(state) = meta.key_state().filter(|s| **s != KeyState::Enabled) {
        return Ok(Some(format!(
            "topic '{topic}': its key {key} expected Enabled, observed {}: nothing is delivered",
            state.as_str()
        )));
    }
    let missing = cloudwatch_missing_actions(policy)?;
    Ok((!missing.is_empty()).then(|| {
        format!(
            "topic '{topic}': the key policy of {key} expected to allow cloudwatch.amazonaws.com \
             kms:Decrypt and kms:GenerateDataKey*, observed no Allow for {}: alarm \
             notifications are dropped",
            missing.join(" and ")
        )
    }))
}

/// The actions CloudWatch needs on a topic's key that no `Allow` statement
/// of `policy` grants the `cloudwatch.amazonaws.com` service principal (or
/// everyone). A statement's conditions are not evaluated; `NotAction` and
/// `NotPrincipal` statements are not counted (read as not granting).
fn cloudwatch_missing_actions(policy: &str) -> Result<Vec<&'static str>, String> {
    const NEEDED: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey"];
    let doc: serde_json::Value = serde_json::from_str(policy)
        .map_err(|e| format!("the key policy is not a JSON document: {e}"))?;
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(list) => list.iter().collect::<Vec<_>>(),
        object @ serde_json::Value::Object(_) => vec![object],
        _ => return Err("the key policy has no Statement".into()),
    };
    let strings = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    };
    let for_cloudwatch = |principal: &serde_json::Value| match principal {
        serde_json::Value::String(s) => s == "*",
        serde_json::Value::Object(_) => {
            strings(&principal["AWS"]).iter().any(|p| p == "*")
                || strings(&principal["Service"])
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case("cloudwatch.amazonaws.com"))
        }
        _ => false,
    };
    let granted = |action: &str| {
        statements.iter().any(|st| {
            st["Effect"] == "Allow"
                && for_cloudwatch(&st["Principal"])
                && strings(&st["Action"])
                    .iter()
                    .any(|pattern| action_matches(pattern, action))
        })
    };
    Ok(NEEDED.into_iter().filter(|a| !granted(a)).collect())
}

/// Whether the IAM action pattern `pattern` (`kms:*`, `kms:GenerateDataKey*`,
/// `*`) covers `action`, case-insensitively.
fn action_matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern == action,
    }
}

/// The host of an `http(s)://` URL, lower-cased; `None` for anything else
/// (including a URL with user info, which could disguise the host).
fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

fn is_chatbot_host(host: String) -> bool {
    host.ends_with(CHATBOT_HOST_SUFFIX) && host.len() > CHATBOT_HOST_SUFFIX.len()
}

/// `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
fn is_lambda_arn(endpoint: &str) -> bool {
    let parts: Vec<&str> = endpoint.split(':').collect();
    parts.len() >= 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "lambda"
        && parts[5] == "function"
        && !parts[6].is_empty()
}

/// Webhook URLs are secrets: keep the host and first path segment only.
fn redact(endpoint: &str) -> String {
    match endpoint.splitn(5, '/').collect::<Vec<_>>().as_slice() {
        [scheme, "", host, first, _rest] => format!("{scheme}//{host}/{first}/…"),
        _ => endpoint.to_string(),
    }
}

/// The declared alarms, metric and composite, read once per run.
pub(crate) async fn alarms(
    cx: &Context,
    names: &[String],
) -> Result<Arc<Vec<AlarmView>>, CheckError> {
    let found = aws::cloudwatch::alarms(cx.aws(), names).await?;
    Ok(Arc::new(
        found
            .metric
            .iter()
            .map(AlarmView::from)
            .chain(found.composite.iter().map(AlarmView::from))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(state: KeyState) -> KeyMetadata {
        KeyMetadata::builder()
            .key_id("k")
            .key_manager(KeyManagerType::Customer)
            .key_state(state)
            .build()
            .unwrap()
    }

    /// CloudWatch may publish only through a key whose policy admits it.
    #[test]
    fn an_encrypted_topic_routes_only_through_a_key_cloudwatch_may_use() {
        let enabled = key(KeyState::Enabled);
        let admits = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Principal":{"Service":["cloudwatch.amazonaws.com"]},
             "Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*"}]}"#;
        assert_eq!(
            judge_topic_key("alerts", "alias/k", &enabled, admits),
            Ok(None)
        );
        // One statement of kms:* for the service, or a single object statement.
        let star = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"KMS:*"}}"#;
        assert_eq!(
            judge_topic_key("alerts", "alias/k", &enabled, star),
            Ok(None)
        );
        // The account root alone does not admit a service principal.
        let root_only = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*"}]}"#;
        let problem = judge_topic_key("alerts", "alias/k", &enabled, root_only)
            .unwrap()
            .unwrap();
        assert!(
            problem.contains("kms:Decrypt and kms:GenerateDataKey")
                && problem.contains("alias/k")
                && problem.contains("'alerts'"),
            "{problem}"
        );
        // Decrypt without GenerateDataKey is not enough.
        let half = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"kms:Decrypt"}]}"#;
        let problem = judge_topic_key("alerts", "alias/k", &enabled, half)
            .unwrap()
            .unwrap();
        assert!(
            problem.contains("observed no Allow for kms:GenerateDataKey:"),
            "{problem}"
        );
        // A Deny or a NotPrincipal grants nothing.
        let deny = r#"{"Statement":[{"Effect":"Deny","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"kms:*"}]}"#;
        assert!(
            judge_topic_key("alerts", "k", &enabled, deny)
                .unwrap()
                .is_some()
        );
        // A disabled key delivers nothing, whatever its policy.
        let problem = judge_topic_key("alerts", "k", &key(KeyState::Disabled), admits)
            .unwrap()
            .unwrap();
        assert!(
            problem.contains("expected Enabled, observed Disabled"),
            "{problem}"
        );
        // A policy that is not JSON cannot be judged.
        assert!(judge_topic_key("alerts", "k", &enabled, "not json").is_err());
        assert!(is_aws_managed_sns_alias("alias/aws/sns"));
        assert!(is_aws_managed_sns_alias(
            "arn:aws:kms:eu-central-1:123456789012:alias/aws/sns"
        ));
        assert!(!is_aws_managed_sns_alias("alias/aws/sns-custom"));
    }

    fn sub(arn: &str, protocol: &str, endpoint: &str) -> Subscription {
        Subscription::builder()
            .subscription_arn(arn)
            .protocol(protocol)
            .endpoint(endpoint)
            .build()
    }

    const CONFIRMED: &str = "arn:aws:sns:eu-central-1:123456789012:alerts:0b1c";
    const LAMBDA: &str = "arn:aws:lambda:eu-central-1:123456789012:function:slack-forwarder";
    const WEBHOOK: &str = "https://hooks.slack.com/services/T0/B0/secret";

    #[test]
    fn subscription_kinds() {
        for (protocol, endpoint, kind) in [
            ("https", CHATBOT_ENDPOINT, SubscriptionKind::Chatbot),
            (
                "https",
                "https://global.sns-api.chatbot.amazonaws.com/",
                SubscriptionKind::Chatbot,
            ),
            (
                "https",
                "https://us-east-2.sns-api.chatbot.amazonaws.com",
                SubscriptionKind::Chatbot,
            ),
            ("http", CHATBOT_ENDPOINT, SubscriptionKind::Other),
            (
                "https",
                "https://evil.test/global.sns-api.chatbot.amazonaws.com",
                SubscriptionKind::Other,
            ),
            (
                "https",
                "https://global.sns-api.chatbot.amazonaws.com@evil.test/",
                SubscriptionKind::Other,
            ),
            (
                "https",
                "https://sns-api.chatbot.amazonaws.com.evil.test",
                SubscriptionKind::Other,
            ),
            ("lambda", LAMBDA, SubscriptionKind::Lambda),
            (
                "lambda",
                "arn:aws:sqs:eu-central-1:123456789012:queue",
                SubscriptionKind::Other,
            ),
            ("https", WEBHOOK, SubscriptionKind::SlackWebhook),
            (
                "https",
                "https://HOOKS.slack.com:443/services/x",
                SubscriptionKind::SlackWebhook,
            ),
            ("email", "ops@restartix.test", SubscriptionKind::Other),
        ] {
            assert_eq!(
                SubscriptionKind::of(&sub(CONFIRMED, protocol, endpoint)),
                kind,
                "{protocol} {endpoint}"
            );
        }
    }

    #[test]
    fn slack_is_routed_by_chatbot_or_lambda_never_by_a_direct_webhook() {
        let cases: [(AlarmRoute, Vec<Subscription>, Result<&str, &str>); 9] = [
            (
                AlarmRoute::Slack,
                vec![sub(CONFIRMED, "https", CHATBOT_ENDPOINT)],
                Ok("1 confirmed Slack (AWS Chatbot or a Lambda forwarder)"),
            ),
            (
                AlarmRoute::Slack,
                vec![sub(CONFIRMED, "lambda", LAMBDA)],
                Ok("1 confirmed Slack"),
            ),
            (
                AlarmRoute::Slack,
                vec![sub(CONFIRMED, "https", WEBHOOK)],
                Err("straight to hooks.slack.com, which can never confirm on AWS"),
            ),
            (
                AlarmRoute::Slack,
                vec![sub("PendingConfirmation", "https", WEBHOOK)],
                Err("straight to hooks.slack.com"),
            ),
            (
                AlarmRoute::Slack,
                vec![sub("PendingConfirmation", "https", CHATBOT_ENDPOINT)],
                Err("observed 1 PendingConfirmation"),
            ),
            (
                AlarmRoute::Slack,
                vec![],
                Err("observed 0 subscription(s) of other kinds"),
            ),
            (
                AlarmRoute::Chatbot,
                vec![sub(CONFIRMED, "lambda", LAMBDA)],
                Err(
                    "a confirmed AWS Chatbot subscription expected, observed 1 subscription(s) of other kinds",
                ),
            ),
            (
                AlarmRoute::Lambda,
                vec![sub(CONFIRMED, "lambda", LAMBDA)],
                Ok("1 confirmed Lambda"),
            ),
            (
                AlarmRoute::Chatbot,
                vec![
                    sub(CONFIRMED, "https", WEBHOOK),
                    sub(CONFIRMED, "https", CHATBOT_ENDPOINT),
                ],
                Ok("1 confirmed AWS Chatbot"),
            ),
        ];
        for (route, subs, expected) in cases {
            let verdict = judge_routing("alerts", route, &subs);
            match (&verdict, expected) {
                (Ok(m), Ok(part)) | (Err(m), Err(part)) => {
                    assert!(m.contains(part), "{route:?} {subs:?}: {m:?} lacks {part:?}")
                }
                _ => panic!("{route:?} {subs:?}: {verdict:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn composite_alarms_are_judged_like_metric_alarms() {
        let topic = "arn:aws:sns:eu-central-1:123456789012:alerts";
        let composite = AlarmView::from(
            &CompositeAlarm::builder()
                .alarm_name("api-down")
                .actions_enabled(false)
                .alarm_actions("arn:aws:sns:eu-central-1:123456789012:other")
                .build(),
        );
        assert_eq!(composite.kind, "composite");
        let problems = judge_alarm("api-down", Some(&composite), topic).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("ActionsEnabled expected true, observed false"));
        let good = AlarmView::from(
            &MetricAlarm::builder()
                .alarm_name("5xx")
                .actions_enabled(true)
                .alarm_actions(topic)
                .build(),
        );
        assert_eq!(
            judge_alarm("5xx", Some(&good), topic).unwrap(),
            Vec::<String>::new()
        );
        assert!(
            judge_alarm("gone", None, topic).unwrap()[0].contains("observed none by that name")
        );
        let unreported = AlarmView::from(&MetricAlarm::builder().alarm_name("x").build());
        assert!(
            judge_alarm("x", Some(&unreported), topic).is_err(),
            "not reported is an error"
        );
    }
}
