//! `ses.*`: SES can send for real (out of the sandbox, enforcement healthy),
//! the domain is verified with DKIM, SPF and DMARC are published, bounces and
//! complaints are suppressed account-wide and reported to the Core API
//! through SNS.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_sesv2::operation::get_account::GetAccountOutput;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::EventDestination;
use aws_sdk_sns::types::Subscription;
use serde_json::json;

use crate::aws;
use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Fields, Finding, Grant};
use crate::context::Context;
use crate::probe::dns::txt;
use crate::spec::SesSpec;

const DNS_TIMEOUT: Duration = Duration::from_secs(5);
const NONE_DECLARED: &str = "no ses declared for this environment";

// --- what: the checks, declared ----------------------------------------------

/// SESv2's IAM prefix is `ses`. `ses:GetConfigurationSet` is
/// `terraform.declared`'s read alone.
const GET_ACCOUNT: Grant = Grant::any("ses:GetAccount", |env| env.ses.is_some());

const PRODUCTION_ACCESS: CheckDef = CheckDef {
    id: "ses.production_access",
    title: "SES is out of the sandbox: production access, sending enabled, healthy",
    doc: "out of the sandbox, sending enabled, enforcement `HEALTHY`",
    iam: &[GET_ACCOUNT],
};

const IDENTITY: CheckDef = CheckDef {
    id: "ses.identity",
    title: "the sending domain is verified, with DKIM and a custom MAIL FROM",
    doc: "the domain identity is verified for sending, DKIM status is `SUCCESS`, and the custom MAIL FROM domain is the declared one with status `SUCCESS`",
    iam: &[Grant::on(
        "SesReadDeclaredIdentity",
        "ses:GetEmailIdentity",
        |env, a| {
            env.ses
                .iter()
                .map(|s| a.arn("ses", &format!("identity/{}", s.domain)))
                .collect()
        },
    )],
};

const DNS: CheckDef = CheckDef {
    id: "ses.dns",
    title: "SPF and DMARC records published for the sending domain",
    doc: "exactly one SPF record on the MAIL FROM domain, including `amazonses.com`; exactly one `_dmarc` TXT record, with `p=quarantine` or `p=reject`",
    iam: &[],
};

const SUPPRESSION: CheckDef = CheckDef {
    id: "ses.suppression",
    title: "the account suppression list covers bounces and complaints",
    doc: "account-level suppression list covers `BOUNCE` and `COMPLAINT`",
    iam: &[GET_ACCOUNT],
};

const FEEDBACK: CheckDef = CheckDef {
    id: "ses.feedback",
    title: "bounce and complaint events go to SNS",
    doc: "the configuration set has an enabled event destination to the declared SNS topic for `BOUNCE` and `COMPLAINT`, and the topic has a confirmed HTTPS subscription to the declared endpoint",
    iam: &[
        Grant::on(
            "SesReadDeclaredConfigurationSet",
            "ses:GetConfigurationSetEventDestinations",
            |env, a| {
                env.ses
                    .iter()
                    .map(|s| a.arn("ses", &format!("configuration-set/{}", s.configuration_set)))
                    .collect()
            },
        ),
        Grant::on(
            "SnsReadDeclaredTopics",
            "sns:ListSubscriptionsByTopic",
            |env, a| env.ses.iter().map(|s| a.topic(&s.feedback_topic)).collect(),
        ),
    ],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&PRODUCTION_ACCESS, |g| {
            Box::pin(with_spec(g, production_access))
        }),
        Check::new(&IDENTITY, |g| Box::pin(with_spec(g, identity))),
        Check::new(&DNS, |g| Box::pin(with_spec(g, dns))),
        Check::new(&SUPPRESSION, |g| Box::pin(with_spec(g, suppression))),
        Check::new(&FEEDBACK, |g| Box::pin(with_spec(g, feedback))),
    ]
}

async fn with_spec<'a, F, Fut>(cx: &'a Context, check: F) -> CheckResult
where
    F: FnOnce(&'a Context, &'a SesSpec) -> Fut,
    Fut: std::future::Future<Output = CheckResult>,
{
    match &cx.env().ses {
        Some(spec) => check(cx, spec).await,
        None => Ok(Finding::skip(NONE_DECLARED)),
    }
}

/// `ses.production_access`: out of the sandbox, sending enabled, enforcement HEALTHY.
async fn production_access(cx: &Context, _spec: &SesSpec) -> CheckResult {
    let account = aws::ses::account(cx.aws()).await?;
    Ok(judge_production_access(&cx.env().region, &account))
}

/// `ses.production_access` from `GetAccount`: pure, a table row per case.
fn judge_production_access(region: &str, account: &GetAccountOutput) -> Finding {
    let resource = format!("SES account in {region}");
    let production = account.production_access_enabled();
    let sending = account.sending_enabled();
    let enforcement = account.enforcement_status().unwrap_or("none").to_string();
    // The evidence keeps `ProductionAccessEnabled` a boolean; the message
    // says why in the expected phrase, as the sandbox tests assert.
    let evidence = Evidence::of(&resource)
        .expected(json!({ "ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY" }))
        .observed(json!({ "ProductionAccessEnabled": production, "SendingEnabled": sending, "EnforcementStatus": enforcement }));
    let mut f = Fields::of(&resource);
    f.judge(
        "ProductionAccessEnabled",
        "true (out of the sandbox)",
        production,
        production,
    );
    f.expect("SendingEnabled", true, sending);
    f.expect("EnforcementStatus", "HEALTHY", enforcement.as_str());
    Finding {
        evidence,
        ..f.finish(format!("{resource}: production access, sending, HEALTHY"))
    }
}

/// `ses.identity`: the domain is verified for sending, DKIM is SUCCESS, and
/// the custom MAIL FROM domain is the declared one with status SUCCESS
/// (otherwise SES falls back to amazonses.com, and SPF on `mail_from` is
/// beside the point).
async fn identity(cx: &Context, spec: &SesSpec) -> CheckResult {
    let out = aws::ses::email_identity(cx.aws(), &spec.domain).await?;
    Ok(judge_identity(spec, &out))
}

/// `ses.identity` from `GetEmailIdentity`: pure, a table row per case. DKIM
/// or MAIL FROM attributes SES did not report are `none`: a fail. The MAIL
/// FROM domain is compared without regard to case, as DNS names are.
fn judge_identity(spec: &SesSpec, out: &GetEmailIdentityOutput) -> Finding {
    let resource = format!("SES identity '{}'", spec.domain);
    let verified = out.verified_for_sending_status();
    let dkim = out
        .dkim_attributes()
        .and_then(|d| d.status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "none".into());
    let mail_from = out.mail_from_attributes();
    let mail_from_domain = mail_from.map(|m| m.mail_from_domain()).unwrap_or("");
    let mail_from_status = mail_from
        .map(|m| m.mail_from_domain_status().as_str())
        .unwrap_or("none");
    // The evidence is keyed as SES names the fields (sandbox tests read
    // `/observed/DkimStatus` and `/observed/MailFromDomainStatus`); the
    // message names them as people do ("DKIM status", "MAIL FROM domain"),
    // as the sandbox tests assert.
    let evidence = Evidence::of(&resource)
        .expected(json!({
            "VerifiedForSendingStatus": true, "DkimStatus": "SUCCESS",
            "MailFromDomain": spec.mail_from, "MailFromDomainStatus": "SUCCESS",
        }))
        .observed(json!({
            "VerifiedForSendingStatus": verified, "DkimStatus": dkim,
            "MailFromDomain": mail_from_domain, "MailFromDomainStatus": mail_from_status,
        }));
    let mut f = Fields::of(&resource);
    if mail_from_domain.is_empty() {
        f.judge("MAIL FROM domain", spec.mail_from.as_str(), "none", false)
            .because("SES sends from amazonses.com");
    } else if !mail_from_domain.eq_ignore_ascii_case(&spec.mail_from) {
        f.judge(
            "MAIL FROM domain",
            spec.mail_from.as_str(),
            mail_from_domain,
            false,
        );
    } else {
        f.judge(
            &format!("MAIL FROM domain {} status", spec.mail_from),
            "SUCCESS",
            mail_from_status,
            mail_from_status == "SUCCESS",
        );
    }
    f.expect("VerifiedForSendingStatus", true, verified);
    f.judge("DKIM status", "SUCCESS", dkim.as_str(), dkim == "SUCCESS");
    Finding {
        evidence,
        ..f.finish(format!(
            "{resource}: verified, DKIM SUCCESS, MAIL FROM {mail_from_domain} SUCCESS"
        ))
    }
}

/// `ses.dns`: exactly one SPF record on the MAIL FROM domain, including
/// amazonses.com; exactly one DMARC record, with p=quarantine or p=reject
/// (RFC 7208 and RFC 7489: with two records, no policy applies at all).
async fn dns(_gate: &Context, spec: &SesSpec) -> CheckResult {
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
    let (problems, policy) = judge_dns(&spec.mail_from, &spf_records, &dmarc_name, &dmarc_records);
    let evidence = Evidence::of(&spec.mail_from)
        .resource(&dmarc_name)
        .expected(json!({
            "spf": format!("exactly one v=spf1 record on {}, with include:amazonses.com", spec.mail_from),
            "dmarc": format!("exactly one v=DMARC1 record on {dmarc_name}"),
            "dmarc_policy": ["quarantine", "reject"],
        }))
        .observed(json!({ "spf": spf_records, "dmarc": dmarc_records, "dmarc_policy": policy }))
        .detail("probe", "dns txt")
        .detail("nameserver", spec.nameserver.clone());
    // The records are lists, not per-field comparisons: Fields words the
    // message; the evidence is kept as built (sandbox tests read `/observed/dmarc/0`).
    let mut f = Fields::of(&spec.domain);
    for problem in problems {
        f.problem(problem);
    }
    Ok(Finding {
        evidence,
        ..f.finish(format!(
            "{}: SPF includes amazonses.com, DMARC p={}",
            spec.domain,
            policy.unwrap_or_default()
        ))
    })
}

/// What is wrong with the SPF records of `mail_from` and the DMARC records
/// at `dmarc_name` (each already filtered to its `v=` tag), and the DMARC
/// policy when there is exactly one record.
fn judge_dns(
    mail_from: &str,
    spf_records: &[String],
    dmarc_name: &str,
    dmarc_records: &[String],
) -> (Vec<String>, Option<String>) {
    let mut problems = Vec::new();
    match spf_records {
        [spf] if spf.split_whitespace().any(|t| t.eq_ignore_ascii_case("include:amazonses.com")) => {}
        [spf] => problems.push(format!(
            "SPF on {mail_from} expected to include amazonses.com, observed \"{spf}\""
        )),
        [] => problems.push(format!("SPF on {mail_from} expected, observed none")),
        many => problems.push(format!(
            "exactly one SPF record on {mail_from} expected, observed {} (a PermError: no SPF applies)",
            many.len()
        )),
    }
    let policy = match dmarc_records {
        [record] => record
            .split(';')
            .map(str::trim)
            .find_map(|t| t.strip_prefix("p="))
            .map(|p| p.trim().to_ascii_lowercase()),
        _ => None,
    };
    match (dmarc_records.len(), policy.as_deref()) {
        (1, Some("quarantine")) | (1, Some("reject")) => {}
        (1, Some(p)) => problems.push(format!(
            "DMARC on {dmarc_name} expected p=quarantine or p=reject, observed p={p}"
        )),
        (1, None) => problems.push(format!(
            "DMARC on {dmarc_name} expected a p= tag, observed \"{}\"",
            dmarc_records[0]
        )),
        (0, _) => problems.push(format!("DMARC on {dmarc_name} expected, observed none")),
        (n, _) => problems.push(format!(
            "exactly one DMARC record on {dmarc_name} expected, observed {n} (RFC 7489: no policy applies)"
        )),
    }
    (problems, policy)
}

/// `ses.suppression`: the account-level suppression list covers BOUNCE and COMPLAINT.
async fn suppression(cx: &Context, _spec: &SesSpec) -> CheckResult {
    let account = aws::ses::account(cx.aws()).await?;
    Ok(judge_suppression(&account))
}

/// `ses.suppression` from `GetAccount`: pure.
fn judge_suppression(account: &GetAccountOutput) -> Finding {
    let reasons: BTreeSet<String> = account
        .suppression_attributes()
        .map(|s| {
            s.suppressed_reasons()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        })
        .unwrap_or_default();
    let evidence = Evidence::of("SES account suppression list")
        .expected(json!({ "SuppressedReasons": ["BOUNCE", "COMPLAINT"] }))
        .observed(json!({ "SuppressedReasons": reasons }));
    let missing: Vec<&str> = ["BOUNCE", "COMPLAINT"]
        .into_iter()
        .filter(|r| !reasons.contains(*r))
        .collect();
    if missing.is_empty() {
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
    }
}

/// `ses.feedback`: an enabled event destination to the topic for BOUNCE and
/// COMPLAINT, and a confirmed HTTPS subscription of the topic to the endpoint.
async fn feedback(cx: &Context, spec: &SesSpec) -> CheckResult {
    let topic_arn = aws::sns::topic_arn(cx.env(), &spec.feedback_topic);
    let destinations = aws::ses::event_destinations(cx.aws(), &spec.configuration_set).await?;
    // Every page, shared with alarms.routed when both name one topic.
    let subscriptions = aws::sns::topic_subscriptions(cx.aws(), &topic_arn).await?;
    Ok(judge_feedback(
        spec,
        &topic_arn,
        &destinations,
        &subscriptions,
    ))
}

/// `ses.feedback` from the configuration set's event destinations and the
/// topic's subscriptions: pure, a table row per case. One enabled
/// destination must carry both BOUNCE and COMPLAINT to `topic_arn`; the
/// subscription must be https, to the declared endpoint exactly, confirmed.
fn judge_feedback(
    spec: &SesSpec,
    topic_arn: &str,
    destinations: &[EventDestination],
    subscriptions: &[Subscription],
) -> Finding {
    let resource = format!("SES configuration set '{}'", spec.configuration_set);
    let described: Vec<serde_json::Value> = destinations
        .iter()
        .map(|d| {
            json!({
                "Name": d.name(), "Enabled": d.enabled(),
                "MatchingEventTypes": d.matching_event_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "TopicArn": d.sns_destination().map(|s| s.topic_arn()),
            })
        })
        .collect();
    let routed = destinations.iter().any(|d| {
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
    let to_endpoint: Vec<&Subscription> = subscriptions
        .iter()
        .filter(|s| {
            s.protocol() == Some("https") && s.endpoint() == Some(spec.feedback_endpoint.as_str())
        })
        .collect();
    let subscribed = to_endpoint.iter().any(|s| aws::sns::confirmed(s));
    // Not per-field comparisons: the evidence lists the destinations, and
    // sandbox tests read `/observed/endpoint_subscribed`.
    let evidence = Evidence::of(&resource)
        .resource(format!("topic {topic_arn}"))
        .expected(json!({
            "event_destination": {
                "Enabled": true, "MatchingEventTypes": ["BOUNCE", "COMPLAINT"], "TopicArn": topic_arn,
            },
            "endpoint_subscribed": { "Protocol": "https", "Endpoint": spec.feedback_endpoint, "confirmed": true },
        }))
        .observed(json!({
            "event_destinations": described,
            "event_destination_routed": routed,
            "endpoint_subscribed": subscribed,
        }));
    let mut f = Fields::of(&resource);
    if !routed {
        f.problem(format!(
            "an enabled event destination for BOUNCE and COMPLAINT to {} expected, observed {}",
            spec.feedback_topic,
            if described.is_empty() {
                "none".to_string()
            } else {
                serde_json::Value::from(described.clone()).to_string()
            }
        ));
    }
    if !subscribed {
        f.problem(format!(
            "topic {} expected a confirmed https subscription to {}, observed {}",
            spec.feedback_topic,
            spec.feedback_endpoint,
            if to_endpoint.is_empty() {
                "none".to_string()
            } else {
                format!("{} pending confirmation", to_endpoint.len())
            }
        ));
    }
    Finding {
        evidence,
        ..f.finish(format!(
            "{resource}: bounces and complaints to {} → {}",
            spec.feedback_topic, spec.feedback_endpoint
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{
        EventDestination, GetAccountOutput, GetEmailIdentityOutput, SesSpec, Subscription,
        judge_dns, judge_feedback, judge_identity, judge_production_access, judge_suppression,
    };
    use crate::{Finding, Status};
    use aws_sdk_sesv2::types::{
        BehaviorOnMxFailure, DkimAttributes, DkimStatus, EventType, MailFromAttributes,
        MailFromDomainStatus, SnsDestination, SuppressionAttributes, SuppressionListReason,
    };

    fn spec() -> SesSpec {
        SesSpec {
            domain: "restartix.test".into(),
            mail_from: "mail.restartix.test".into(),
            configuration_set: "core".into(),
            feedback_topic: "ses-feedback".into(),
            feedback_endpoint: "https://api.restartix.test/ses".into(),
            nameserver: None,
        }
    }

    /// A table row's expectation: `"pass"`, or a substring of the fail message.
    fn assert_row(case: &str, f: &Finding, expected: &str) {
        if expected == "pass" {
            assert_eq!(f.status, Status::Pass, "{case}: {}", f.message);
        } else {
            assert_eq!(f.status, Status::Fail, "{case}: {}", f.message);
            assert!(
                f.message.contains(expected),
                "{case}: {:?} lacks {expected:?}",
                f.message
            );
        }
    }

    fn dkim(status: Option<DkimStatus>) -> DkimAttributes {
        DkimAttributes::builder().set_status(status).build()
    }

    fn mail_from(domain: &str, status: MailFromDomainStatus) -> MailFromAttributes {
        MailFromAttributes::builder()
            .mail_from_domain(domain)
            .mail_from_domain_status(status)
            .behavior_on_mx_failure(BehaviorOnMxFailure::UseDefaultValue)
            .build()
            .unwrap()
    }

    fn identity(
        verified: bool,
        dkim: Option<DkimAttributes>,
        mail_from: Option<MailFromAttributes>,
    ) -> GetEmailIdentityOutput {
        GetEmailIdentityOutput::builder()
            .verified_for_sending_status(verified)
            .set_dkim_attributes(dkim)
            .set_mail_from_attributes(mail_from)
            .build()
    }

    #[test]
    fn the_identity_is_verified_with_dkim_and_the_declared_mail_from() {
        use DkimStatus::{NotStarted, Pending, Success};
        use MailFromDomainStatus::{Failed, Pending as MailFromPending, Success as MailFromOk};
        let good_dkim = || Some(dkim(Some(Success)));
        let good_mail_from = || Some(mail_from("mail.restartix.test", MailFromOk));
        let cases: Vec<(&str, GetEmailIdentityOutput, &str)> = vec![
            (
                "verified, DKIM and MAIL FROM SUCCESS",
                identity(true, good_dkim(), good_mail_from()),
                "pass",
            ),
            // DNS names are case-insensitive: the same domain.
            (
                "MAIL FROM domain in another case",
                identity(
                    true,
                    good_dkim(),
                    Some(mail_from("MAIL.Restartix.TEST", MailFromOk)),
                ),
                "pass",
            ),
            (
                "not verified for sending",
                identity(false, good_dkim(), good_mail_from()),
                "SES identity 'restartix.test': VerifiedForSendingStatus expected true, observed false",
            ),
            (
                "DKIM pending",
                identity(true, Some(dkim(Some(Pending))), good_mail_from()),
                "DKIM status expected SUCCESS, observed PENDING",
            ),
            (
                "DKIM attributes absent",
                identity(true, None, good_mail_from()),
                "DKIM status expected SUCCESS, observed none",
            ),
            (
                "DKIM status absent",
                identity(true, Some(dkim(None)), good_mail_from()),
                "DKIM status expected SUCCESS, observed none",
            ),
            (
                "MAIL FROM attributes absent",
                identity(true, good_dkim(), None),
                "MAIL FROM domain expected mail.restartix.test, observed none (SES sends from amazonses.com)",
            ),
            (
                "MAIL FROM domain empty",
                identity(true, good_dkim(), Some(mail_from("", MailFromOk))),
                "MAIL FROM domain expected mail.restartix.test, observed none",
            ),
            (
                "another MAIL FROM domain",
                identity(
                    true,
                    good_dkim(),
                    Some(mail_from("bounce.restartix.test", MailFromOk)),
                ),
                "MAIL FROM domain expected mail.restartix.test, observed bounce.restartix.test",
            ),
            (
                "a lookalike MAIL FROM domain",
                identity(
                    true,
                    good_dkim(),
                    Some(mail_from("mail.restartix.test.evil.net", MailFromOk)),
                ),
                "observed mail.restartix.test.evil.net",
            ),
            (
                "MAIL FROM pending",
                identity(
                    true,
                    good_dkim(),
                    Some(mail_from("mail.restartix.test", MailFromPending)),
                ),
                "MAIL FROM domain mail.restartix.test status expected SUCCESS, observed PENDING",
            ),
            (
                "MAIL FROM failed",
                identity(
                    true,
                    good_dkim(),
                    Some(mail_from("mail.restartix.test", Failed)),
                ),
                "status expected SUCCESS, observed FAILED",
            ),
            (
                "nothing reported at all",
                GetEmailIdentityOutput::builder().build(),
                "SES identity 'restartix.test': MAIL FROM domain expected mail.restartix.test, observed none (SES sends from amazonses.com); VerifiedForSendingStatus expected true, observed false; DKIM status expected SUCCESS, observed none",
            ),
            (
                "DKIM not started, unverified",
                identity(false, Some(dkim(Some(NotStarted))), good_mail_from()),
                "VerifiedForSendingStatus expected true, observed false; DKIM status expected SUCCESS, observed NOT_STARTED",
            ),
        ];
        for (case, out, expected) in &cases {
            assert_row(case, &judge_identity(&spec(), out), expected);
        }
        // The evidence sandbox tests read, on a pass and on a fail alike.
        let good = judge_identity(&spec(), &cases[0].1);
        assert_eq!(good.evidence.observed["DkimStatus"], "SUCCESS");
        assert_eq!(good.evidence.observed["MailFromDomainStatus"], "SUCCESS");
        let bare = judge_identity(&spec(), &GetEmailIdentityOutput::builder().build());
        assert_eq!(bare.evidence.observed["DkimStatus"], "none");
        assert_eq!(bare.evidence.observed["MailFromDomainStatus"], "none");
        assert_eq!(bare.evidence.expected, good.evidence.expected);
    }

    const TOPIC_ARN: &str = "arn:aws:sns:eu-central-1:123456789012:ses-feedback";
    const ENDPOINT: &str = "https://api.restartix.test/ses";
    const CONFIRMED: &str = "arn:aws:sns:eu-central-1:123456789012:ses-feedback:5f2c";

    fn destination(enabled: bool, types: &[EventType], topic: Option<&str>) -> EventDestination {
        EventDestination::builder()
            .name("feedback")
            .enabled(enabled)
            .set_matching_event_types(Some(types.to_vec()))
            .set_sns_destination(
                topic.map(|t| SnsDestination::builder().topic_arn(t).build().unwrap()),
            )
            .build()
            .unwrap()
    }

    fn subscription(arn: &str, protocol: &str, endpoint: &str) -> Subscription {
        Subscription::builder()
            .subscription_arn(arn)
            .protocol(protocol)
            .endpoint(endpoint)
            .build()
    }

    #[test]
    fn bounces_and_complaints_reach_the_endpoint_through_a_confirmed_subscription() {
        use EventType::{Bounce, Complaint, Delivery};
        let routed = || {
            vec![destination(
                true,
                &[Bounce, Complaint, Delivery],
                Some(TOPIC_ARN),
            )]
        };
        let confirmed = || vec![subscription(CONFIRMED, "https", ENDPOINT)];
        let cases: Vec<(&str, Vec<EventDestination>, Vec<Subscription>, &str)> = vec![
            ("routed and confirmed", routed(), confirmed(), "pass"),
            (
                "confirmed among others",
                routed(),
                vec![
                    subscription("PendingConfirmation", "https", "https://other.test/"),
                    subscription(CONFIRMED, "email", "ops@restartix.test"),
                    subscription(CONFIRMED, "https", ENDPOINT),
                ],
                "pass",
            ),
            (
                "no event destination",
                vec![],
                confirmed(),
                "SES configuration set 'core': an enabled event destination for BOUNCE and COMPLAINT to ses-feedback expected, observed none",
            ),
            (
                "the destination disabled",
                vec![destination(false, &[Bounce, Complaint], Some(TOPIC_ARN))],
                confirmed(),
                "\"Enabled\":false",
            ),
            (
                "bounces only",
                vec![destination(true, &[Bounce], Some(TOPIC_ARN))],
                confirmed(),
                "an enabled event destination for BOUNCE and COMPLAINT to ses-feedback expected, observed [",
            ),
            (
                "bounces and complaints split over two destinations",
                vec![
                    destination(true, &[Bounce], Some(TOPIC_ARN)),
                    destination(true, &[Complaint], Some(TOPIC_ARN)),
                ],
                confirmed(),
                "an enabled event destination for BOUNCE and COMPLAINT",
            ),
            (
                "to another topic",
                vec![destination(
                    true,
                    &[Bounce, Complaint],
                    Some("arn:aws:sns:eu-central-1:123456789012:other"),
                )],
                confirmed(),
                "\"TopicArn\":\"arn:aws:sns:eu-central-1:123456789012:other\"",
            ),
            (
                "not to SNS at all",
                vec![destination(true, &[Bounce, Complaint], None)],
                confirmed(),
                "\"TopicArn\":null",
            ),
            (
                "the subscription pending confirmation",
                routed(),
                vec![subscription("PendingConfirmation", "https", ENDPOINT)],
                "topic ses-feedback expected a confirmed https subscription to https://api.restartix.test/ses, observed 1 pending confirmation",
            ),
            (
                "no subscription",
                routed(),
                vec![],
                "topic ses-feedback expected a confirmed https subscription to https://api.restartix.test/ses, observed none",
            ),
            (
                "over http",
                routed(),
                vec![subscription(
                    CONFIRMED,
                    "http",
                    "http://api.restartix.test/ses",
                )],
                "observed none",
            ),
            (
                "https to another endpoint",
                routed(),
                vec![subscription(
                    CONFIRMED,
                    "https",
                    "https://api.restartix.test/ses/other",
                )],
                "observed none",
            ),
            (
                "neither",
                vec![],
                vec![],
                "observed none; topic ses-feedback expected a confirmed https subscription",
            ),
        ];
        for (case, destinations, subscriptions, expected) in &cases {
            let f = judge_feedback(&spec(), TOPIC_ARN, destinations, subscriptions);
            assert_row(case, &f, expected);
        }
        // The pointer sandbox tests read: true when confirmed, not when pending.
        let subscribed = |subscriptions: Vec<Subscription>| {
            judge_feedback(&spec(), TOPIC_ARN, &routed(), &subscriptions)
                .evidence
                .observed["endpoint_subscribed"]
                .clone()
        };
        assert_eq!(subscribed(confirmed()), true);
        assert_eq!(
            subscribed(vec![subscription("PendingConfirmation", "https", ENDPOINT)]),
            false
        );
    }

    fn account(production: bool, sending: bool, enforcement: Option<&str>) -> GetAccountOutput {
        GetAccountOutput::builder()
            .production_access_enabled(production)
            .sending_enabled(sending)
            .set_enforcement_status(enforcement.map(String::from))
            .build()
    }

    #[test]
    fn production_access_needs_production_sending_and_healthy() {
        for (case, a, expected) in [
            (
                "out of the sandbox",
                account(true, true, Some("HEALTHY")),
                "pass",
            ),
            (
                "sandboxed",
                account(false, true, Some("HEALTHY")),
                "ProductionAccessEnabled expected true (out of the sandbox), observed false",
            ),
            (
                "sending paused",
                account(true, false, Some("HEALTHY")),
                "SendingEnabled expected true, observed false",
            ),
            (
                "on probation",
                account(true, true, Some("PROBATION")),
                "EnforcementStatus expected HEALTHY, observed PROBATION",
            ),
            (
                "enforcement unsaid",
                account(true, true, None),
                "EnforcementStatus expected HEALTHY, observed none",
            ),
        ] {
            let f = judge_production_access("eu-central-1", &a);
            if expected == "pass" {
                assert_eq!(f.status, Status::Pass, "{case}: {}", f.message);
            } else {
                assert_eq!(f.status, Status::Fail, "{case}");
                assert!(f.message.contains(expected), "{case}: {}", f.message);
            }
        }
    }

    #[test]
    fn the_suppression_list_covers_bounces_and_complaints() {
        let with = |reasons: Vec<SuppressionListReason>| {
            GetAccountOutput::builder()
                .suppression_attributes(
                    SuppressionAttributes::builder()
                        .set_suppressed_reasons(Some(reasons))
                        .build(),
                )
                .build()
        };
        use SuppressionListReason::{Bounce, Complaint};
        assert_eq!(
            judge_suppression(&with(vec![Bounce, Complaint])).status,
            Status::Pass
        );
        let bounce_only = judge_suppression(&with(vec![Bounce]));
        assert_eq!(bounce_only.status, Status::Fail);
        assert!(
            bounce_only.message.contains("observed [BOUNCE]"),
            "{}",
            bounce_only.message
        );
        // No suppression attributes at all: nothing is suppressed, a fail.
        let none = judge_suppression(&GetAccountOutput::builder().build());
        assert_eq!(none.status, Status::Fail, "{}", none.message);
    }

    #[test]
    fn spf_and_dmarc_must_each_be_exactly_one_strict_record() {
        let spf_ok = "v=spf1 include:amazonses.com ~all";
        /// (case, SPF records, DMARC records, the problem expected)
        type Case<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            (
                "good",
                vec![spf_ok],
                vec!["v=DMARC1; p=reject; rua=mailto:d@x"],
                None,
            ),
            (
                "quarantine",
                vec![spf_ok],
                vec!["v=DMARC1; p=quarantine"],
                None,
            ),
            (
                "two DMARC records",
                vec![spf_ok],
                vec!["v=DMARC1; p=reject", "v=DMARC1; p=none"],
                Some("exactly one DMARC record on _dmarc.x expected, observed 2"),
            ),
            (
                "no DMARC",
                vec![spf_ok],
                vec![],
                Some("DMARC on _dmarc.x expected, observed none"),
            ),
            (
                "p=none",
                vec![spf_ok],
                vec!["v=DMARC1; p=none"],
                Some("observed p=none"),
            ),
            (
                "no p tag",
                vec![spf_ok],
                vec!["v=DMARC1; rua=mailto:d@x"],
                Some("expected a p= tag"),
            ),
            (
                "sp= is not p=",
                vec![spf_ok],
                vec!["v=DMARC1; sp=reject"],
                Some("expected a p= tag"),
            ),
            (
                "two SPF records",
                vec![spf_ok, "v=spf1 -all"],
                vec!["v=DMARC1; p=reject"],
                Some("exactly one SPF record on mail.x expected, observed 2"),
            ),
            (
                "SPF without SES",
                vec!["v=spf1 -all"],
                vec!["v=DMARC1; p=reject"],
                Some("expected to include amazonses.com"),
            ),
            (
                "SPF with a lookalike",
                vec!["v=spf1 include:amazonses.com.evil.net -all"],
                vec!["v=DMARC1; p=reject"],
                Some("expected to include amazonses.com"),
            ),
            (
                "no SPF",
                vec![],
                vec!["v=DMARC1; p=reject"],
                Some("SPF on mail.x expected, observed none"),
            ),
        ];
        for (case, spf, dmarc, problem) in cases {
            let spf: Vec<String> = spf.into_iter().map(String::from).collect();
            let dmarc: Vec<String> = dmarc.into_iter().map(String::from).collect();
            let (problems, _) = judge_dns("mail.x", &spf, "_dmarc.x", &dmarc);
            match problem {
                None => assert!(problems.is_empty(), "{case}: {problems:?}"),
                Some(want) => assert!(
                    problems.iter().any(|p| p.contains(want)),
                    "{case}: expected {want:?} in {problems:?}"
                ),
            }
        }
    }
}
