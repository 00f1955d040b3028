//! `edge.alb.*`: the Core API load balancer listens on 443 with a TLS 1.2+
//! policy and a certificate, answers port 80 only with a redirect to HTTPS,
//! admits 443 only from Cloudflare, and writes access logs.
//!
//! (`edge.tls.*`, `edge.https.headers` and `edge.http.redirect` probe the
//! public hostnames over the network: `edge_public.rs`.)

use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{ActionTypeEnum, Listener, LoadBalancer, ProtocolEnum};
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Finding};
use crate::gate::Gate;
use crate::spec::EdgeSpec;

const DESCRIBE_LOAD_BALANCERS: &str = "elasticloadbalancing:DescribeLoadBalancers";
const DESCRIBE_LISTENERS: &str = "elasticloadbalancing:DescribeListeners";
const DESCRIBE_LB_ATTRIBUTES: &str = "elasticloadbalancing:DescribeLoadBalancerAttributes";
const DESCRIBE_SGS: &str = "ec2:DescribeSecurityGroups";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("edge.alb.https_listener", |g| {
            Box::pin(with_spec(g, https_listener))
        }),
        Check::new("edge.alb.http_redirect", |g| {
            Box::pin(with_spec(g, http_redirect))
        }),
        Check::new("edge.alb.origin_locked", |g| {
            Box::pin(with_spec(g, origin_locked))
        }),
        Check::new("edge.alb.access_logs", |g| {
            Box::pin(with_spec(g, access_logs))
        }),
    ]
}

async fn with_spec<'a, F, Fut>(gate: &'a Gate, check: F) -> CheckResult
where
    F: FnOnce(&'a Gate, &'a EdgeSpec) -> Fut,
    Fut: std::future::Future<Output = CheckResult>,
{
    match &gate.env().edge {
        Some(spec) => check(gate, spec).await,
        None => Ok(Finding::skip("no edge declared for this environment")),
    }
}

/// `edge.alb.https_listener`: a 443 HTTPS listener with an allowed policy and a certificate.
async fn https_listener(gate: &Gate, spec: &EdgeSpec) -> CheckResult {
    let name = format!("load balancer '{}'", spec.load_balancer);
    let listeners = listeners(gate, &spec.load_balancer).await?;
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
    let Some(https) = https else {
        return Ok(Finding::fail(
            format!(
                "{name}: a 443 HTTPS listener expected, observed [{}]",
                observed.join(", ")
            ),
            json!({ "load_balancer": spec.load_balancer, "listeners": observed, "operations": [DESCRIBE_LOAD_BALANCERS, DESCRIBE_LISTENERS] }),
        ));
    };
    let policy = https.ssl_policy().unwrap_or("none");
    let certificates: Vec<&str> = https
        .certificates()
        .iter()
        .filter_map(|c| c.certificate_arn())
        .collect();
    let evidence = json!({
        "load_balancer": spec.load_balancer,
        "SslPolicy": policy,
        "allowed_policies": spec.allowed_tls_policies,
        "certificates": certificates,
        "operations": [DESCRIBE_LOAD_BALANCERS, DESCRIBE_LISTENERS],
    });
    let mut problems = Vec::new();
    if !spec.allowed_tls_policies.iter().any(|p| p == policy) {
        problems.push(format!(
            "443 listener policy expected one of [{}], observed {policy}",
            spec.allowed_tls_policies.join(", ")
        ));
    }
    if certificates.is_empty() {
        problems.push("443 listener certificate expected, observed none".into());
    }
    Ok(if problems.is_empty() {
        Finding::pass(format!("{name}: HTTPS on 443 with {policy}"), evidence)
    } else {
        Finding::fail(format!("{name}: {}", problems.join("; ")), evidence)
    })
}

/// `edge.alb.http_redirect`: port 80 only redirects to HTTPS (or has no listener).
async fn http_redirect(gate: &Gate, spec: &EdgeSpec) -> CheckResult {
    let name = format!("load balancer '{}'", spec.load_balancer);
    let listeners = listeners(gate, &spec.load_balancer).await?;
    let Some(http) = listeners.iter().find(|l| l.port() == Some(80)) else {
        return Ok(Finding::pass(
            format!("{name}: no listener on port 80"),
            json!({ "load_balancer": spec.load_balancer, "port_80": null, "operations": [DESCRIBE_LISTENERS] }),
        ));
    };
    let actions: Vec<String> = http
        .default_actions()
        .iter()
        .map(|a| match (a.r#type(), a.redirect_config()) {
            (Some(ActionTypeEnum::Redirect), Some(r)) => {
                format!(
                    "redirect to {}:{}",
                    r.protocol().unwrap_or("#{protocol}"),
                    r.port().unwrap_or("#{port}")
                )
            }
            (t, _) => t
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    let redirects_to_https = !http.default_actions().is_empty()
        && http.default_actions().iter().all(|a| {
            a.r#type() == Some(&ActionTypeEnum::Redirect)
                && a.redirect_config().and_then(|r| r.protocol()) == Some("HTTPS")
        });
    let evidence = json!({ "load_balancer": spec.load_balancer, "port_80_actions": actions, "operations": [DESCRIBE_LOAD_BALANCERS, DESCRIBE_LISTENERS] });
    Ok(if redirects_to_https {
        Finding::pass(format!("{name}: port 80 redirects to HTTPS"), evidence)
    } else {
        Finding::fail(
            format!(
                "{name}: port 80 expected to only redirect to HTTPS, observed [{}]",
                actions.join(", ")
            ),
            evidence,
        )
    })
}

/// `edge.alb.origin_locked`: the ALB's security groups admit 443 only from Cloudflare's ranges.
async fn origin_locked(gate: &Gate, spec: &EdgeSpec) -> CheckResult {
    let lb = load_balancer(gate, &spec.load_balancer).await?;
    let name = format!("load balancer '{}'", spec.load_balancer);
    let group_ids: Vec<String> = lb.security_groups().to_vec();
    let groups = if group_ids.is_empty() {
        Vec::new()
    } else {
        gate.aws()
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(group_ids.clone()))
            .send()
            .await
            .map_err(|e| {
                CheckError::from_sdk(DESCRIBE_SGS, &format!("security groups of {name}"), e)
            })?
            .security_groups
            .unwrap_or_default()
    };
    let (ranges, source) = crate::checks::cloudflare::cloudflare_ranges(gate).await;
    let cloudflare: Vec<&str> = ranges
        .ipv4_cidrs
        .iter()
        .chain(&ranges.ipv6_cidrs)
        .map(String::as_str)
        .collect();
    let mut admitted = Vec::new();
    let mut foreign = Vec::new();
    for group in &groups {
        for p in group.ip_permissions() {
            let all = matches!(p.ip_protocol(), Some("-1"));
            let covers_443 =
                all || (p.from_port().unwrap_or(0) <= 443 && 443 <= p.to_port().unwrap_or(65535));
            if !covers_443 {
                continue;
            }
            let sources = p
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip())
                .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()));
            for cidr in sources {
                admitted.push(cidr.to_string());
                if !cloudflare.contains(&cidr) {
                    foreign.push(format!("{cidr} (in {})", group.group_id().unwrap_or("?")));
                }
            }
            for pair in p.user_id_group_pairs() {
                foreign.push(format!(
                    "security group {} (in {})",
                    pair.group_id().unwrap_or("?"),
                    group.group_id().unwrap_or("?")
                ));
            }
        }
    }
    let evidence = json!({
        "load_balancer": spec.load_balancer,
        "security_groups": group_ids,
        "admitted_on_443": admitted,
        "not_cloudflare": foreign,
        "cloudflare_ranges": source,
        "operations": [DESCRIBE_LOAD_BALANCERS, DESCRIBE_SGS],
    });
    Ok(if admitted.is_empty() {
        Finding::fail(
            format!(
                "{name}: 443 expected open to Cloudflare's ranges, observed no source admitted"
            ),
            evidence,
        )
    } else if foreign.is_empty() {
        Finding::pass(
            format!(
                "{name}: 443 admitted only from {} Cloudflare ranges",
                admitted.len()
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!(
                "{name}: 443 expected only from Cloudflare's ranges, observed also {}",
                foreign.join(", ")
            ),
            evidence,
        )
    })
}

/// `edge.alb.access_logs`: `access_logs.s3.enabled = true`.
async fn access_logs(gate: &Gate, spec: &EdgeSpec) -> CheckResult {
    let lb = load_balancer(gate, &spec.load_balancer).await?;
    let name = format!("load balancer '{}'", spec.load_balancer);
    let attributes = gate
        .aws()
        .elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_LB_ATTRIBUTES, &name, e))?;
    let get = |key: &str| {
        attributes
            .attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value())
    };
    let enabled = get("access_logs.s3.enabled").unwrap_or("false (absent)");
    let bucket = get("access_logs.s3.bucket");
    let evidence = json!({ "load_balancer": spec.load_balancer, "access_logs.s3.enabled": enabled, "access_logs.s3.bucket": bucket, "operations": [DESCRIBE_LOAD_BALANCERS, DESCRIBE_LB_ATTRIBUTES] });
    Ok(if enabled == "true" {
        Finding::pass(
            format!("{name}: access logs to s3://{}", bucket.unwrap_or("?")),
            evidence,
        )
    } else {
        Finding::fail(
            format!("{name}: access_logs.s3.enabled expected true, observed {enabled}"),
            evidence,
        )
    })
}

// --- how: shared reads -------------------------------------------------------

async fn load_balancer(gate: &Gate, name: &str) -> Result<Arc<LoadBalancer>, CheckError> {
    gate.cache()
        .get(&format!("{DESCRIBE_LOAD_BALANCERS}:{name}"), || async {
            let resource = format!("load balancer '{name}'");
            let out = gate
                .aws()
                .elb
                .describe_load_balancers()
                .names(name)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_LOAD_BALANCERS, &resource, e))?;
            out.load_balancers
                .unwrap_or_default()
                .into_iter()
                .next()
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE_LOAD_BALANCERS.into(),
                    resource,
                })
        })
        .await
}

async fn listeners(gate: &Gate, name: &str) -> Result<Arc<Vec<Listener>>, CheckError> {
    let lb = load_balancer(gate, name).await?;
    gate.cache()
        .get(&format!("{DESCRIBE_LISTENERS}:{name}"), || async {
            let out = gate
                .aws()
                .elb
                .describe_listeners()
                .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
                .send()
                .await
                .map_err(|e| {
                    CheckError::from_sdk(DESCRIBE_LISTENERS, &format!("load balancer '{name}'"), e)
                })?;
            Ok(out.listeners.unwrap_or_default())
        })
        .await
}
