//! `edge.alb.*`: the Core API load balancer listens on 443 with a TLS 1.2+
//! policy and certificates valid long enough, answers port 80 only with a
//! redirect to HTTPS (default action and every rule), admits its listener
//! ports only from Cloudflare's ranges, and writes access logs.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_acm::types::CertificateDetail;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ProtocolEnum, RedirectActionConfig,
};
use serde_json::json;

use crate::aws::elb::{DESCRIBE_LB_ATTRIBUTES, DESCRIBE_LISTENERS};
use crate::aws::{self, ec2::SourcePolicy, ec2::admitted_sources};
use crate::check::{
    Check, CheckDef, CheckError, CheckResult, Evidence, Fields, Finding, Grant, required,
};
use crate::context::Context;
use crate::spec::EdgeSpec;

// --- what: the checks, declared ----------------------------------------------

const LBS: Grant = Grant::any("elasticloadbalancing:DescribeLoadBalancers", declared);
const LISTENERS: Grant = Grant::any("elasticloadbalancing:DescribeListeners", declared);

/// `edge.tls`, `edge.https`, `edge.http` and `cloudflare.*` make no AWS call.
fn declared(env: &crate::Environment) -> bool {
    env.edge.is_some()
}

const ALB_HTTPS_LISTENER: CheckDef = CheckDef {
    id: "edge.alb.https_listener",
    title: "an HTTPS listener on 443 with a modern TLS policy and a valid certificate",
    doc: "a 443 HTTPS listener with an allowed TLS policy (default: TLS 1.2+ policies with TLS 1.3, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`) and a certificate valid for ≥ declared days (ACM or IAM)",
    iam: &[
        LBS,
        LISTENERS,
        Grant::any(
            "elasticloadbalancing:DescribeListenerCertificates",
            declared,
        ),
        Grant::on(
            "AcmReadCertificatesInAccount",
            "acm:DescribeCertificate",
            |env, a| {
                env.edge
                    .iter()
                    .map(|_| a.arn("acm", "certificate/*"))
                    .collect()
            },
        )
        .only_when("a listener certificate is an ACM certificate"),
    ],
};

const ALB_HTTP_REDIRECT: CheckDef = CheckDef {
    id: "edge.alb.http_redirect",
    title: "port 80 only redirects to HTTPS",
    doc: "port 80 answers only with a redirect to HTTPS, in its default action and in every rule (or has no listener)",
    iam: &[
        LBS,
        LISTENERS,
        Grant::any("elasticloadbalancing:DescribeRules", declared)
            .only_when("the load balancer has a listener on port 80"),
    ],
};

const ALB_ORIGIN_LOCKED: CheckDef = CheckDef {
    id: "edge.alb.origin_locked",
    title: "the ALB admits its listener ports only from Cloudflare",
    doc: "the ALB's security groups admit its listener ports only from Cloudflare's published IP ranges (CIDR containment; prefix lists and referenced groups count as not Cloudflare unless provably so)",
    iam: &[
        LBS,
        LISTENERS,
        Grant::any("ec2:DescribeSecurityGroups", declared),
        Grant::any("ec2:GetManagedPrefixListEntries", declared)
            .only_when(aws::ec2::PREFIX_LISTS_REFERENCED),
    ],
};

const ALB_ACCESS_LOGS: CheckDef = CheckDef {
    id: "edge.alb.access_logs",
    title: "ALB access logs are enabled",
    doc: "access logs enabled",
    iam: &[
        LBS,
        Grant::any(
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
            declared,
        ),
    ],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&ALB_HTTPS_LISTENER, |g| {
            Box::pin(with_spec(g, https_listener))
        }),
        Check::new(&ALB_HTTP_REDIRECT, |g| {
            Box::pin(with_spec(g, http_redirect))
        }),
        Check::new(&ALB_ORIGIN_LOCKED, |g| {
            Box::pin(with_spec(g, origin_locked))
        }),
        Check::new(&ALB_ACCESS_LOGS, |g| Box::pin(with_spec(g, access_logs))),
    ]
}

async fn with_spec<'a, F, Fut>(cx: &'a Context, check: F) -> CheckResult
where
    F: FnOnce(&'a Context, &'a EdgeSpec) -> Fut,
    Fut: std::future::Future<Output = CheckResult>,
{
    match &cx.env().edge {
        Some(spec) => check(cx, spec).await,
        None => Ok(Finding::skip("no edge declared for this environment")),
    }
}

/// `edge.alb.https_listener`: a 443 HTTPS listener with an allowed policy
/// and certificates (default and SNI) that ACM reports `ISSUED` and valid for
/// at least `min_cert_days` more days: under Cloudflare's SSL strict an
/// expired origin certificate is a 526 outage for every client.
async fn https_listener(cx: &Context, spec: &EdgeSpec) -> CheckResult {
    let name = format!("load balancer '{}'", spec.load_balancer);
    let listeners = aws::elb::listeners(cx.aws(), &spec.load_balancer).await?;
    let https = listeners
        .iter()
        .find(|l| l.port() == Some(443) && l.protocol() == Some(&ProtocolEnum::Https));
    let observed: Vec<String> = listeners
        .iter()
        .map(|l| {
            format!(
                "{}:{}",
                l.protocol().map(|p| p.as_str()).unwrap_or("?"),
                l.port().unwrap_or(0)
            )
        })
        .collect();
    let evidence = Evidence::of(&name).expected(json!({
        "listener": "HTTPS:443",
        "SslPolicy": spec.allowed_tls_policies,
        "certificates": "at least one; each ACM ISSUED",
        "min_cert_days": spec.min_cert_days,
    }));
    let Some(https) = https else {
        return Ok(Finding::fail(
            format!(
                "{name}: a 443 HTTPS listener expected, observed [{}]",
                observed.join(", ")
            ),
            evidence
                .observed(json!({ "listeners": observed, "SslPolicy": null, "certificates": [] })),
        ));
    };
    let policy = required(https.ssl_policy(), DESCRIBE_LISTENERS, &name, "SslPolicy")?;
    let listener_arn = required(
        https.listener_arn(),
        DESCRIBE_LISTENERS,
        &name,
        "ListenerArn",
    )?;
    let mut arns: Vec<String> = https
        .certificates()
        .iter()
        .filter_map(|c| c.certificate_arn().map(str::to_string))
        .collect();
    // The default certificates are described while the SNI list is read.
    let (extra, mut described) = futures_util::future::try_join(
        aws::elb::listener_certificates(cx.aws(), listener_arn, &name),
        futures_util::future::try_join_all(
            arns.iter().map(|arn| aws::acm::certificate(cx.aws(), arn)),
        ),
    )
    .await?;
    for arn in extra {
        if !arns.contains(&arn) {
            described.push(aws::acm::certificate(cx.aws(), &arn).await?);
            arns.push(arn);
        }
    }
    let now = SystemTime::now();
    let mut certificates = Vec::new();
    // The message from Fields; the evidence as the sandbox tests read it
    // (`/observed/SslPolicy`, `/observed/certificates/0/Status`).
    let mut f = Fields::of(&name);
    for (arn, cert) in arns.iter().zip(&described) {
        let verdict = judge_certificate(arn, cert, now, spec.min_cert_days);
        certificates.push(verdict.evidence);
        if let Some(problem) = verdict.problem {
            f.problem(problem);
        }
    }
    let evidence = evidence
        .resources(arns.iter().map(|arn| format!("certificate {arn}")))
        .observed(
            json!({ "listeners": observed, "SslPolicy": policy, "certificates": certificates }),
        );
    f.judge(
        "443 listener policy",
        format!("one of [{}]", spec.allowed_tls_policies.join(", ")),
        policy,
        spec.allowed_tls_policies.iter().any(|p| p == policy),
    );
    f.judge(
        "443 listener certificate",
        "at least one",
        "none",
        !arns.is_empty(),
    );
    let pass = format!(
        "{name}: HTTPS on 443 with {policy}; {} certificate(s) valid ≥ {} days",
        arns.len(),
        spec.min_cert_days
    );
    Ok(Finding {
        evidence,
        ..f.finish(pass)
    })
}

/// One listener certificate judged: its evidence, and what is wrong with it.
struct CertificateVerdict {
    evidence: serde_json::Value,
    problem: Option<String>,
}

/// An ACM certificate must be `ISSUED` with a `NotAfter` at least
/// `min_days` away. ACM leaves `NotAfter` out until a certificate is issued,
/// so an issued certificate without one is an error the caller sees as such.
fn judge_certificate(
    arn: &str,
    cert: &CertificateDetail,
    now: SystemTime,
    min_days: u32,
) -> CertificateVerdict {
    let status = cert.status().map(|s| s.as_str()).unwrap_or("none");
    let not_after = cert.not_after().and_then(|t| SystemTime::try_from(*t).ok());
    let days_left = not_after.map(|t| match t.duration_since(now) {
        Ok(left) => (left.as_secs() / 86_400) as i64,
        Err(past) => -((past.duration().as_secs() / 86_400) as i64) - 1,
    });
    let evidence = json!({
        "CertificateArn": arn,
        "DomainName": cert.domain_name(),
        "Type": cert.r#type().map(|t| t.as_str()),
        "Status": status,
        "NotAfter": not_after.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        "days_left": days_left,
    });
    let problem = if status != "ISSUED" {
        Some(format!(
            "certificate {arn}: status expected ISSUED, observed {status}"
        ))
    } else {
        match days_left {
            None => Some(format!(
                "certificate {arn}: NotAfter expected, observed none (cannot tell when it expires)"
            )),
            Some(days) if days < min_days as i64 => Some(format!(
                "certificate {arn}: valid for ≥ {min_days} days expected, observed {}",
                if days < 0 {
                    "expired".to_string()
                } else {
                    format!("{days} day(s) left")
                }
            )),
            Some(_) => None,
        }
    };
    CertificateVerdict { evidence, problem }
}

/// `edge.alb.http_redirect`: port 80 answers only with a redirect to HTTPS,
/// in its default action and in every listener rule (or has no listener):
/// a rule that forwards `/api/*` over plain HTTP is as bad as a forwarding
/// default.
async fn http_redirect(cx: &Context, spec: &EdgeSpec) -> CheckResult {
    let name = format!("load balancer '{}'", spec.load_balancer);
    let listeners = aws::elb::listeners(cx.aws(), &spec.load_balancer).await?;
    let evidence = Evidence::of(&name).expected(json!({
        "port_80": "no listener, or one whose default action and every rule only redirect to HTTPS",
        "not_redirecting": [],
    }));
    // A listener whose port AWS did not report could be the one on 80.
    if let Some(unknown) = listeners.iter().find(|l| l.port().is_none()) {
        return Err(CheckError::Missing {
            operation: DESCRIBE_LISTENERS.into(),
            resource: format!(
                "{name} listener {}",
                unknown.listener_arn().unwrap_or("(no ARN)")
            ),
            field: "Port".into(),
        });
    }
    let Some(http) = listeners.iter().find(|l| l.port() == Some(80)) else {
        return Ok(Finding::pass(
            format!("{name}: no listener on port 80"),
            evidence.observed(json!({ "port_80_listener": false, "port_80_actions": [], "port_80_rules": [], "not_redirecting": [] })),
        ));
    };
    let listener_arn = required(
        http.listener_arn(),
        DESCRIBE_LISTENERS,
        &name,
        "ListenerArn",
    )?;
    let rules = aws::elb::listener_rules(cx.aws(), listener_arn, &name).await?;
    let default = ("default".to_string(), http.default_actions().to_vec());
    let judged: Vec<(String, Vec<Action>)> = std::iter::once(default)
        .chain(
            rules
                .iter()
                .filter(|r| r.is_default() != Some(true))
                .map(|r| {
                    (
                        format!("rule {}", r.priority().unwrap_or("?")),
                        r.actions().to_vec(),
                    )
                }),
        )
        .collect();
    let described: Vec<serde_json::Value> = judged
        .iter()
        .map(|(rule, actions)| json!({ "rule": rule, "actions": actions.iter().map(describe_action).collect::<Vec<_>>() }))
        .collect();
    let not_redirecting: Vec<String> = judged
        .iter()
        .filter(|(_, actions)| !only_redirects_to_https(actions, &spec.hostnames))
        .map(|(rule, actions)| {
            format!(
                "{rule} [{}]",
                actions
                    .iter()
                    .map(|a| {
                        match a
                            .redirect_config()
                            .and_then(|r| redirect_flaw(r, &spec.hostnames))
                        {
                            Some(flaw) => format!("{}: {flaw}", describe_action(a)),
                            None => describe_action(a),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let evidence = evidence.observed(json!({
        "port_80_listener": true,
        "port_80_actions": http.default_actions().iter().map(describe_action).collect::<Vec<_>>(),
        "port_80_rules": described,
        "not_redirecting": not_redirecting,
    }));
    Ok(if not_redirecting.is_empty() {
        Finding::pass(
            format!(
                "{name}: port 80 redirects to HTTPS in its default action and {} rule(s)",
                judged.len() - 1
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!(
                "{name}: port 80 expected to only redirect to HTTPS, observed {}",
                not_redirecting.join("; ")
            ),
            evidence,
        )
    })
}

/// A non-empty action list whose terminal action is a redirect to HTTPS
/// (authentication actions may precede it; nothing may forward or answer).
/// Every action a redirect to the same URL over HTTPS ([`redirect_flaw`]),
/// after authentication at most.
fn only_redirects_to_https(actions: &[Action], hostnames: &[String]) -> bool {
    !actions.is_empty()
        && actions.iter().all(|a| match a.r#type() {
            Some(ActionTypeEnum::Redirect) => a
                .redirect_config()
                .is_some_and(|r| redirect_flaw(r, hostnames).is_none()),
            Some(ActionTypeEnum::AuthenticateCognito) | Some(ActionTypeEnum::AuthenticateOidc) => {
                true
            }
            _ => false,
        })
        && actions
            .iter()
            .any(|a| a.r#type() == Some(&ActionTypeEnum::Redirect))
}

/// Why a port-80 redirect does not send the user to the same URL over
/// HTTPS, or `None`. An unset field means its `#{…}` default: the port must
/// be the literal 443 (`#{port}` on the port-80 listener is 80, so
/// `https://host:80`); the host the request's (`#{host}`) or a declared
/// hostname; path and query the request's (`/#{path}`, `#{query}`).
fn redirect_flaw(r: &RedirectActionConfig, hostnames: &[String]) -> Option<String> {
    let protocol = r.protocol().unwrap_or("#{protocol}");
    if !protocol.eq_ignore_ascii_case("HTTPS") {
        return Some(format!("protocol {protocol}"));
    }
    let port = r.port().unwrap_or("#{port}");
    if port != "443" {
        // `#{port}` is the request's port: 80 on this listener.
        let reached = if port == "#{port}" { "80" } else { port };
        return Some(format!(
            "port {port} (not 443: users reach https://host:{reached})"
        ));
    }
    let host = r.host().unwrap_or("#{host}");
    if host != "#{host}" && !hostnames.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Some(format!(
            "host {host} (neither #{{host}} nor a declared hostname)"
        ));
    }
    let path = r.path().unwrap_or("/#{path}");
    if path != "/#{path}" {
        return Some(format!("path {path} (the request's path is lost)"));
    }
    let query = r.query().unwrap_or("#{query}");
    if query != "#{query}" {
        return Some(format!("query {query} (the request's query is lost)"));
    }
    None
}

fn describe_action(a: &Action) -> String {
    match (a.r#type(), a.redirect_config()) {
        (Some(ActionTypeEnum::Redirect), Some(r)) => format!(
            "redirect to {}://{}:{}{}?{}",
            r.protocol().unwrap_or("#{protocol}"),
            r.host().unwrap_or("#{host}"),
            r.port().unwrap_or("#{port}"),
            r.path().unwrap_or("/#{path}"),
            r.query().unwrap_or("#{query}"),
        ),
        (t, _) => t
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| "unknown".into()),
    }
}

/// `edge.alb.origin_locked`: on every listener port, the ALB's security
/// groups admit only sources inside Cloudflare's published ranges (by CIDR
/// containment); a referenced security group, or a prefix list with an entry
/// outside them, is not provably Cloudflare.
async fn origin_locked(cx: &Context, spec: &EdgeSpec) -> CheckResult {
    let lb = aws::elb::load_balancer(cx.aws(), &spec.load_balancer).await?;
    let name = format!("load balancer '{}'", spec.load_balancer);
    let listeners = aws::elb::listeners(cx.aws(), &spec.load_balancer).await?;
    let mut ports: Vec<i32> = listeners
        .iter()
        .map(|l| required(l.port(), DESCRIBE_LISTENERS, &name, "Port"))
        .collect::<Result<_, _>>()?;
    ports.sort();
    ports.dedup();
    let group_ids: Vec<String> = lb.security_groups().to_vec();
    let groups = aws::ec2::security_groups(cx.aws(), &group_ids).await?;
    let prefix_lists = aws::ec2::referenced_prefix_lists(cx.aws(), &groups).await?;
    let (ranges, source) = crate::checks::cloudflare::cloudflare_ranges(cx).await;
    let unreadable = |message: String| CheckError::Probe {
        probe: "cloudflare ranges".into(),
        target: name.clone(),
        message,
    };
    let cloudflare = aws::ec2::parse_ranges(
        ranges
            .ipv4_cidrs
            .iter()
            .chain(&ranges.ipv6_cidrs)
            .map(String::as_str),
    )
    .map_err(unreadable)?;
    let policy = SourcePolicy {
        allowed: &cloudflare,
        allowed_name: "Cloudflare",
        group_references: false,
    };
    let seen = admitted_sources(&groups, &ports, &prefix_lists, policy).map_err(|message| {
        CheckError::Aws {
            operation: aws::ec2::DESCRIBE_SGS.into(),
            resource: name.clone(),
            code: None,
            message,
        }
    })?;
    let evidence = Evidence::of(&name)
        .resources(group_ids.iter().map(|g| format!("security group '{g}'")))
        .resources(prefix_lists.keys().map(|p| format!("prefix list '{p}'")))
        .expected(json!({
            "admitted": "at least one source, each inside Cloudflare's published ranges",
            "not_cloudflare": [],
            "cloudflare_ranges": source,
        }))
        .observed(json!({
            "listener_ports": ports,
            "security_groups": group_ids,
            "admitted": seen.admitted,
            "not_cloudflare": seen.not_allowed,
            "prefix_lists": prefix_lists,
        }));
    let ports_text = ports
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Ok(if seen.admitted.is_empty() {
        Finding::fail(
            format!(
                "{name}: listener ports [{ports_text}] expected open to Cloudflare's ranges, observed no source admitted"
            ),
            evidence,
        )
    } else if seen.not_allowed.is_empty() {
        Finding::pass(
            format!(
                "{name}: listener ports [{ports_text}] admitted only from Cloudflare's ranges ({} sources)",
                seen.admitted.len()
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!(
                "{name}: listener ports [{ports_text}] expected open only to Cloudflare's ranges, observed also {}",
                seen.not_allowed.join(", ")
            ),
            evidence,
        )
    })
}

/// `edge.alb.access_logs`: `access_logs.s3.enabled = true`.
async fn access_logs(cx: &Context, spec: &EdgeSpec) -> CheckResult {
    let name = format!("load balancer '{}'", spec.load_balancer);
    let attributes = aws::elb::load_balancer_attributes(cx.aws(), &spec.load_balancer).await?;
    judge_access_logs(&name, &attributes)
}

/// `edge.alb.access_logs` on the load balancer's attributes: `true`, and
/// nothing else, is on; an attribute AWS did not report is an error.
fn judge_access_logs(name: &str, attributes: &BTreeMap<String, String>) -> CheckResult {
    let get = |key: &str| attributes.get(key).map(String::as_str);
    let enabled = required(
        get("access_logs.s3.enabled"),
        DESCRIBE_LB_ATTRIBUTES,
        name,
        "access_logs.s3.enabled",
    )?;
    let bucket = get("access_logs.s3.bucket");
    let mut f = Fields::of(name);
    f.expect("access_logs.s3.enabled", "true", enabled);
    let mut finding = f.finish(format!(
        "{name}: access logs to s3://{}",
        bucket.unwrap_or("?")
    ));
    // Not judged, but what a reader looks for next: where the logs go.
    if let Some(observed) = finding.evidence.observed.as_object_mut() {
        observed.insert("access_logs.s3.bucket".into(), json!(bucket));
    }
    Ok(finding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use aws_sdk_acm::types::CertificateStatus;
    use aws_smithy_types::DateTime;
    use std::time::Duration;

    const DAY: u64 = 86_400;

    fn cert(status: CertificateStatus, days: Option<i64>, now: SystemTime) -> CertificateDetail {
        let mut b = CertificateDetail::builder().status(status);
        if let Some(d) = days {
            let t = if d >= 0 {
                now + Duration::from_secs(d as u64 * DAY + 60)
            } else {
                now - Duration::from_secs((-d) as u64 * DAY)
            };
            b = b.not_after(DateTime::from(t));
        }
        b.build()
    }

    #[test]
    fn certificates_must_be_issued_and_valid_long_enough() {
        let now = SystemTime::now();
        let cases = [
            ("issued, 90 days", CertificateStatus::Issued, Some(90), None),
            (
                "issued, exactly 21 days",
                CertificateStatus::Issued,
                Some(21),
                None,
            ),
            (
                "issued, 5 days",
                CertificateStatus::Issued,
                Some(5),
                Some("valid for ≥ 21 days expected, observed 5 day(s) left"),
            ),
            (
                "expired",
                CertificateStatus::Issued,
                Some(-3),
                Some("observed expired"),
            ),
            (
                "issued without NotAfter",
                CertificateStatus::Issued,
                None,
                Some("NotAfter expected, observed none"),
            ),
            (
                "pending validation",
                CertificateStatus::PendingValidation,
                Some(90),
                Some("status expected ISSUED, observed PENDING_VALIDATION"),
            ),
            (
                "revoked",
                CertificateStatus::Revoked,
                Some(90),
                Some("observed REVOKED"),
            ),
        ];
        for (case, status, days, problem) in cases {
            let v = judge_certificate("arn:aws:acm:x", &cert(status, days, now), now, 21);
            match (problem, &v.problem) {
                (None, None) => {}
                (Some(want), Some(got)) => assert!(got.contains(want), "{case}: {got}"),
                (want, got) => panic!("{case}: expected {want:?}, got {got:?}"),
            }
        }
    }

    fn redirect(protocol: &str) -> Action {
        redirect_to(
            RedirectActionConfig::builder()
                .protocol(protocol)
                .port("443"),
        )
    }

    fn redirect_to(
        config: aws_sdk_elasticloadbalancingv2::types::builders::RedirectActionConfigBuilder,
    ) -> Action {
        Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(config.build())
            .build()
    }

    fn of(t: ActionTypeEnum) -> Action {
        Action::builder().r#type(t).build()
    }

    #[test]
    fn only_a_redirect_to_https_is_a_redirect_to_https() {
        let https = || {
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port("443")
        };
        let cases: Vec<(&str, Vec<Action>, bool)> = vec![
            ("redirect to HTTPS", vec![redirect("HTTPS")], true),
            (
                "redirect keeping the protocol",
                vec![redirect("#{protocol}")],
                false,
            ),
            ("redirect to HTTP", vec![redirect("HTTP")], false),
            (
                "redirect to HTTPS, port left at #{port} (80 on this listener)",
                vec![redirect_to(
                    RedirectActionConfig::builder().protocol("HTTPS"),
                )],
                false,
            ),
            (
                "redirect to HTTPS on #{port} written out",
                vec![redirect_to(https().port("#{port}"))],
                false,
            ),
            (
                "redirect to HTTPS on 8443",
                vec![redirect_to(https().port("8443"))],
                false,
            ),
            (
                "the request's host, path and query written out",
                vec![redirect_to(
                    https().host("#{host}").path("/#{path}").query("#{query}"),
                )],
                true,
            ),
            (
                "a declared hostname",
                vec![redirect_to(https().host("API.restartix.test"))],
                true,
            ),
            (
                "another host",
                vec![redirect_to(https().host("www.elsewhere.test"))],
                false,
            ),
            ("a fixed path", vec![redirect_to(https().path("/"))], false),
            (
                "the query dropped",
                vec![redirect_to(https().query(""))],
                false,
            ),
            ("forward", vec![of(ActionTypeEnum::Forward)], false),
            (
                "fixed response",
                vec![of(ActionTypeEnum::FixedResponse)],
                false,
            ),
            ("no action", vec![], false),
            (
                "a redirect without its configuration",
                vec![of(ActionTypeEnum::Redirect)],
                false,
            ),
            (
                "authenticate then redirect",
                vec![of(ActionTypeEnum::AuthenticateOidc), redirect("HTTPS")],
                true,
            ),
            (
                "authenticate then forward",
                vec![
                    of(ActionTypeEnum::AuthenticateOidc),
                    of(ActionTypeEnum::Forward),
                ],
                false,
            ),
            (
                "authenticate alone",
                vec![of(ActionTypeEnum::AuthenticateCognito)],
                false,
            ),
        ];
        let hostnames = ["api.restartix.test".to_string()];
        for (case, actions, expected) in cases {
            assert_eq!(
                only_redirects_to_https(&actions, &hostnames),
                expected,
                "{case}"
            );
        }
        let flaw = |c: RedirectActionConfig| redirect_flaw(&c, &hostnames);
        assert_eq!(
            flaw(RedirectActionConfig::builder().protocol("HTTPS").build()).as_deref(),
            Some("port #{port} (not 443: users reach https://host:80)")
        );
        assert_eq!(
            describe_action(&redirect("HTTPS")),
            "redirect to HTTPS://#{host}:443/#{path}?#{query}"
        );
    }

    #[test]
    fn access_logs_must_be_on() {
        let attributes = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let name = "load balancer 'core-api'";
        /// (case, the attributes, Ok((status, says)) or Err(says))
        type Row<'a> = (
            &'a str,
            BTreeMap<String, String>,
            Result<(Status, &'a str), &'a str>,
        );
        let rows: Vec<Row> = vec![
            (
                "on",
                attributes(&[
                    ("access_logs.s3.enabled", "true"),
                    ("access_logs.s3.bucket", "logs"),
                ]),
                Ok((
                    Status::Pass,
                    "load balancer 'core-api': access logs to s3://logs",
                )),
            ),
            (
                "off",
                attributes(&[
                    ("access_logs.s3.enabled", "false"),
                    ("access_logs.s3.bucket", ""),
                ]),
                Ok((
                    Status::Fail,
                    "load balancer 'core-api': access_logs.s3.enabled expected true, observed false",
                )),
            ),
            (
                "garbled",
                attributes(&[("access_logs.s3.enabled", "TRUE")]),
                Ok((
                    Status::Fail,
                    "access_logs.s3.enabled expected true, observed TRUE",
                )),
            ),
            (
                "not reported",
                attributes(&[("idle_timeout.timeout_seconds", "60")]),
                Err("did not report access_logs.s3.enabled"),
            ),
        ];
        for (case, attributes, expected) in rows {
            match (judge_access_logs(name, &attributes), expected) {
                (Ok(f), Ok((status, says))) => {
                    assert_eq!(f.status, status, "{case}: {}", f.message);
                    assert!(
                        f.message.contains(says),
                        "{case}: {:?} lacks {says:?}",
                        f.message
                    );
                    // The sandbox tests read these pointers.
                    assert_eq!(
                        f.evidence.expected["access_logs.s3.enabled"], "true",
                        "{case}"
                    );
                    assert!(
                        f.evidence.observed["access_logs.s3.enabled"].is_string(),
                        "{case}"
                    );
                    assert_eq!(f.evidence.resources, [name], "{case}");
                }
                (Err(e), Err(says)) => assert!(e.to_string().contains(says), "{case}: {e}"),
                (got, _) => panic!("{case}: expected {expected:?}, judged {got:?}"),
            }
        }
    }
}
