//! `ses.*`: SES can send for real (out of the sandbox, enforcement healthy),
//! the domain is verified with DKIM, SPF and DMARC are published, bounces and
//! complaints are suppressed account-wide and reported to the Core API
//! through SNS.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Finding};
use crate::gate::Gate;
use crate::probe::dns::txt;
use crate::spec::SesSpec;

const GET_ACCOUNT: &str = "ses:GetAccount";
const GET_IDENTITY: &str = "ses:GetEmailIdentity";
const GET_DESTINATIONS: &str = "ses:GetConfigurationSetEventDestinations";
use super::sns::LIST_SUBSCRIPTIONS;
const DNS_TIMEOUT: Duration = Duration::from_secs(5);
const NONE_DECLARED: &str = "no ses declared for this environment";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("ses.production_access", |g| {
            Box::pin(with_spec(g, production_access))
        }),
        Check::new("ses.identity", |g| Box::pin(with_spec(g, identity))),
        Check::new("ses.dns", |g| Box::pin(with_spec(g, dns))),
        Check::new("ses.suppression", |g| Box::pin(with_spec(g, suppression))),
        Check::new("ses.feedback", |g| Box::pin(with_spec(g, feedback))),
    ]
}

async fn with_spec<'a, F, Fut>(gate: &'a Gate, check: F) -> CheckResult
where
    F: FnOnce(&'a Gate, &'a SesSpec) -> Fut,
    Fut: std::future::Future<Output = CheckResult>,
{
    match &gate.env().ses {
        Some(spec) => check(gate, spec).await,
        None => Ok(Finding::skip(NONE_DECLARED)),
    }
}

/// `ses.production_access`: out of the sandbox, sending enabled, enforcement HEALTHY.
async fn production_access(gate: &Gate, _spec: &SesSpec) -> CheckResult {
    let account = account(gate).await?;
    let production = account.production_access_enabled();
    let sending = account.sending_enabled();
    let enforcement = account.enforcement_status().unwrap_or("none").to_string();
    let evidence = json!({ "ProductionAccessEnabled": production, "SendingEnabled": sending, "EnforcementStatus": enforcement, "operations": [GET_ACCOUNT] });
    let mut problems = Vec::new();
    if !production {
        problems.push(
            "ProductionAccessEnabled expected true (out of the sandbox), observed false"
                .to_string(),
        );
    }
    if !sending {
        problems.push("SendingEnabled expected true, observed false".into());
    }
    if enforcement != "HEALTHY" {
        problems.push(format!(
            "EnforcementStatus expected HEALTHY, observed {enforcement}"
        ));
    }
    let region = &gate.env().region;
    Ok(if problems.is_empty() {
        Finding::pass(
            format!("SES account in {region}: production access, sending, HEALTHY"),
            evidence,
        )
    } else {
        Finding::fail(
            format!("SES account in {region}: {}", problems.join("; ")),
            evidence,
        )
    })
}

/// `ses.identity`: the domain is verified for sending and DKIM is SUCCESS.
async fn identity(gate: &Gate, spec: &SesSpec) -> CheckResult {
    let resource = format!("SES identity '{}'", spec.domain);
    let out = gate
        .aws()
        .ses
        .get_email_identity()
        .email_identity(&spec.domain)
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(GET_IDENTITY, &resource, e))?;
    let verified = out.verified_for_sending_status();
    let dkim = out
        .dkim_attributes()
        .and_then(|d| d.status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "none".into());
    let evidence = json!({ "identity": spec.domain, "VerifiedForSendingStatus": verified, "DkimStatus": dkim, "operations": [GET_IDENTITY] });
    let mut problems = Vec::new();
    if !verified {
        problems.push("VerifiedForSendingStatus expected true, observed false".to_string());
    }
    if dkim != "SUCCESS" {
        problems.push(format!("DKIM status expected SUCCESS, observed {dkim}"));
    }
    Ok(if problems.is_empty() {
        Finding::pass(format!("{resource}: verified, DKIM SUCCESS"), evidence)
    } else {
        Finding::fail(format!("{resource}: {}", problems.join("; ")), evidence)
    })
}

/// `ses.dns`: SPF on the MAIL FROM domain includes amazonses.com; DMARC p=quarantine|reject.
async fn dns(_gate: &Gate, spec: &SesSpec) -> CheckResult {
    let nameserver: Option<SocketAddr> = match &spec.nameserver {
        Some(ns) => Some(ns.parse().map_err(|_| CheckError::Probe {
            probe: "dns".into(),
            target: ns.clone(),
            message: "nameserver must be ip:port".into(),
        })?),
        None => None,
    };
    let lookup = |name: String| async move {
        txt(&name, nameserver, DNS_TIMEOUT)
            .await
            .map_err(|e| CheckError::Probe {
                probe: "dns txt".into(),
                target: name.clone(),
                message: e.to_string(),
            })
    };
    let dmarc_name = format!("_dmarc.{}", spec.domain);
    let spf_records: Vec<String> = lookup(spec.mail_from.clone())
        .await?
        .into_iter()
        .filter(|r| r.starts_with("v=spf1"))
        .collect();
    let dmarc_records: Vec<String> = lookup(dmarc_name.clone())
        .await?
        .into_iter()
        .filter(|r| r.starts_with("v=DMARC1"))
        .collect();
    let evidence = json!({ "mail_from": spec.mail_from, "spf": spf_records, "dmarc_name": dmarc_name, "dmarc": dmarc_records, "nameserver": spec.nameserver, "probe": "dns txt" });
    let mut problems = Vec::new();
    match spf_records.as_slice() {
        [spf] if spf.split_whitespace().any(|t| t == "include:amazonses.com") => {}
        [spf] => problems.push(format!(
            "SPF on {} expected to include amazonses.com, observed \"{spf}\"",
            spec.mail_from
        )),
        [] => problems.push(format!("SPF on {} expected, observed none", spec.mail_from)),
        many => problems.push(format!(
            "one SPF record on {} expected, observed {}",
            spec.mail_from,
            many.len()
        )),
    }
    let policy = dmarc_records.first().and_then(|r| {
        r.split(';')
            .map(str::trim)
            .find_map(|t| t.strip_prefix("p="))
            .map(str::to_string)
    });
    match policy.as_deref() {
        Some("quarantine") | Some("reject") => {}
        Some(p) => problems.push(format!(
            "DMARC on {dmarc_name} expected p=quarantine or p=reject, observed p={p}"
        )),
        None => problems.push(format!("DMARC on {dmarc_name} expected, observed none")),
    }
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "{}: SPF includes amazonses.com, DMARC p={}",
                spec.domain,
                policy.unwrap_or_default()
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!("{}: {}", spec.domain, problems.join("; ")),
            evidence,
        )
    })
}

/// `ses.suppression`: the account-level suppression list covers BOUNCE and COMPLAINT.
async fn suppression(gate: &Gate, _spec: &SesSpec) -> CheckResult {
    let account = account(gate).await?;
    let reasons: BTreeSet<String> = account
        .suppression_attributes()
        .map(|s| {
            s.suppressed_reasons()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        })
        .unwrap_or_default();
    let evidence = json!({ "SuppressedReasons": reasons, "operations": [GET_ACCOUNT] });
    let missing: Vec<&str> = ["BOUNCE", "COMPLAINT"]
        .into_iter()
        .filter(|r| !reasons.contains(*r))
        .collect();
    Ok(if missing.is_empty() {
        Finding::pass(
            "SES account suppression list: BOUNCE and COMPLAINT",
            evidence,
        )
    } else {
        Finding::fail(
            format!(
                "SES account suppression list: BOUNCE and COMPLAINT expected, observed [{}]",
                reasons.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            evidence,
        )
    })
}

/// `ses.feedback`: an enabled event destination to the topic for BOUNCE and
/// COMPLAINT, and a confirmed HTTPS subscription of the topic to the endpoint.
async fn feedback(gate: &Gate, spec: &SesSpec) -> CheckResult {
    let set = &spec.configuration_set;
    let resource = format!("SES configuration set '{set}'");
    let env = gate.env();
    let topic_arn = if spec.feedback_topic.starts_with("arn:") {
        spec.feedback_topic.clone()
    } else {
        format!(
            "arn:aws:sns:{}:{}:{}",
            env.region, env.account_id, spec.feedback_topic
        )
    };
    let out = gate
        .aws()
        .ses
        .get_configuration_set_event_destinations()
        .configuration_set_name(set)
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(GET_DESTINATIONS, &resource, e))?;
    let destinations: Vec<serde_json::Value> = out
        .event_destinations()
        .iter()
        .map(|d| {
            json!({
                "Name": d.name(), "Enabled": d.enabled(),
                "MatchingEventTypes": d.matching_event_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "TopicArn": d.sns_destination().map(|s| s.topic_arn()),
            })
        })
        .collect();
    let routed = out.event_destinations().iter().any(|d| {
        let types: BTreeSet<&str> = d
            .matching_event_types()
            .iter()
            .map(|t| t.as_str())
            .collect();
        d.enabled()
            && types.contains("BOUNCE")
            && types.contains("COMPLAINT")
            && d.sns_destination()
                .is_some_and(|s| s.topic_arn() == topic_arn)
    });
    // Every page, shared with alarms.routed when both name one topic.
    let subscriptions = super::sns::topic_subscriptions(gate, &topic_arn).await?;
    let subscribed = subscriptions.iter().any(|s| {
        s.protocol() == Some("https")
            && s.endpoint() == Some(spec.feedback_endpoint.as_str())
            && super::sns::confirmed(s)
    });
    let evidence = json!({
        "configuration_set": set, "event_destinations": destinations, "topic": topic_arn,
        "endpoint": spec.feedback_endpoint, "endpoint_subscribed": subscribed,
        "operations": [GET_DESTINATIONS, LIST_SUBSCRIPTIONS],
    });
    let mut problems = Vec::new();
    if !routed {
        problems.push(format!(
            "an enabled event destination for BOUNCE and COMPLAINT to {} expected, observed {}",
            spec.feedback_topic,
            if destinations.is_empty() {
                "none".to_string()
            } else {
                serde_json::Value::from(destinations.clone()).to_string()
            }
        ));
    }
    if !subscribed {
        problems.push(format!(
            "topic {} expected a confirmed https subscription to {}, observed none",
            spec.feedback_topic, spec.feedback_endpoint
        ));
    }
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "{resource}: bounces and complaints to {} → {}",
                spec.feedback_topic, spec.feedback_endpoint
            ),
            evidence,
        )
    } else {
        Finding::fail(format!("{resource}: {}", problems.join("; ")), evidence)
    })
}

async fn account(
    gate: &Gate,
) -> Result<std::sync::Arc<aws_sdk_sesv2::operation::get_account::GetAccountOutput>, CheckError> {
    gate.cache()
        .get(GET_ACCOUNT, || async {
            gate.aws()
                .ses
                .get_account()
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_ACCOUNT, "SES account", e))
        })
        .await
}
