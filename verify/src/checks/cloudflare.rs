//! `cloudflare.*`: the zone terminates TLS strictly (Full (strict), TLS ≥ 1.2,
//! always HTTPS), runs the Cloudflare Managed Ruleset, and every declared
//! custom hostname is active with an active certificate. Read through the
//! Cloudflare API with the token named by `token_env`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Finding};
use crate::gate::Gate;
use crate::probe::cloudflare::{
    CLOUDFLARE_MANAGED_RULESET_ID, CloudflareClient, CloudflareError, CloudflareIps, FALLBACK_IPS,
    FALLBACK_IPS_AS_OF,
};
use crate::spec::CloudflareSpec;

const TIMEOUT: Duration = Duration::from_secs(10);

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("cloudflare.ssl_strict", |g| Box::pin(ssl_strict(g))),
        Check::new("cloudflare.waf", |g| Box::pin(waf(g))),
        Check::new("cloudflare.custom_hostnames", |g| {
            Box::pin(custom_hostnames(g))
        }),
    ]
}

fn spec(gate: &Gate) -> Option<&CloudflareSpec> {
    gate.env().edge.as_ref().and_then(|e| e.cloudflare.as_ref())
}

const NONE_DECLARED: &str = "no Cloudflare zone declared for this environment";

/// `cloudflare.ssl_strict`: `ssl = strict`, `min_tls_version ≥ 1.2`, `always_use_https = on`.
async fn ssl_strict(gate: &Gate) -> CheckResult {
    let Some(spec) = spec(gate) else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    let (client, zone_id) = zone(gate, spec).await?;
    let mut values = serde_json::Map::new();
    for name in ["ssl", "min_tls_version", "always_use_https"] {
        let value = client.setting(&zone_id, name).await.map_err(api_error)?;
        values.insert(name.into(), value);
    }
    let text = |k: &str| {
        values
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("none")
            .to_string()
    };
    let (ssl, min_tls, always) = (
        text("ssl"),
        text("min_tls_version"),
        text("always_use_https"),
    );
    let mut problems = Vec::new();
    if ssl != "strict" {
        problems.push(format!("SSL mode expected strict, observed {ssl}"));
    }
    if !matches!(min_tls.as_str(), "1.2" | "1.3") {
        problems.push(format!(
            "min_tls_version expected ≥ 1.2, observed {min_tls}"
        ));
    }
    if always != "on" {
        problems.push(format!("always_use_https expected on, observed {always}"));
    }
    let evidence = json!({ "zone": spec.zone, "zone_id": zone_id, "settings": values, "probe": "cloudflare api" });
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "zone '{}': SSL strict, TLS ≥ {min_tls}, always HTTPS",
                spec.zone
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!("zone '{}': {}", spec.zone, problems.join("; ")),
            evidence,
        )
    })
}

/// `cloudflare.waf`: the managed-firewall entrypoint executes the managed ruleset, enabled.
async fn waf(gate: &Gate) -> CheckResult {
    let Some(spec) = spec(gate) else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    let (client, zone_id) = zone(gate, spec).await?;
    let entrypoint = client
        .firewall_managed_entrypoint(&zone_id)
        .await
        .map_err(api_error)?;
    let Some(ruleset) = entrypoint else {
        return Ok(Finding::fail(
            format!(
                "zone '{}': the http_request_firewall_managed entrypoint expected, observed none",
                spec.zone
            ),
            json!({ "zone": spec.zone, "entrypoint": null, "probe": "cloudflare api" }),
        ));
    };
    let rules: Vec<serde_json::Value> = ruleset
        .rules
        .iter()
        .map(|r| json!({ "executes": r.executes(), "enabled": r.enabled }))
        .collect();
    let evidence = json!({ "zone": spec.zone, "ruleset": ruleset.id, "rules": rules, "probe": "cloudflare api" });
    Ok(
        if ruleset
            .executing(CLOUDFLARE_MANAGED_RULESET_ID)
            .next()
            .is_some()
        {
            Finding::pass(
                format!("zone '{}': Cloudflare Managed Ruleset executing", spec.zone),
                evidence,
            )
        } else {
            Finding::fail(
                format!(
                    "zone '{}': an enabled rule executing the Cloudflare Managed Ruleset ({CLOUDFLARE_MANAGED_RULESET_ID}) expected, observed {} rule(s), none enabled and executing it",
                    spec.zone,
                    ruleset.rules.len()
                ),
                evidence,
            )
        },
    )
}

/// `cloudflare.custom_hostnames`: each declared hostname exists, `status` and `ssl.status` active.
async fn custom_hostnames(gate: &Gate) -> CheckResult {
    let Some(spec) = spec(gate) else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    if spec.custom_hostnames.is_empty() {
        return Ok(Finding::skip("no custom hostnames declared"));
    }
    let (client, zone_id) = zone(gate, spec).await?;
    let all = client.custom_hostnames(&zone_id).await.map_err(api_error)?;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for declared in &spec.custom_hostnames {
        match all.iter().find(|h| h.hostname == *declared) {
            None => problems.push(format!("{declared}: expected, observed absent")),
            Some(h) => {
                let ssl = h.ssl_status.as_deref().unwrap_or("none");
                seen.push(json!({ "hostname": declared, "status": h.status, "ssl_status": ssl }));
                if h.status != "active" || ssl != "active" {
                    problems.push(format!(
                        "{declared}: status/ssl.status expected active/active, observed {}/{ssl}",
                        h.status
                    ));
                }
            }
        }
    }
    let evidence =
        json!({ "zone": spec.zone, "custom_hostnames": seen, "probe": "cloudflare api" });
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "zone '{}': {} custom hostnames active",
                spec.zone,
                spec.custom_hostnames.len()
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!("zone '{}': {}", spec.zone, problems.join("; ")),
            evidence,
        )
    })
}

/// Cloudflare's published ranges: from the API's `/ips` (no token needed),
/// else the bundled list, dated. Returns the ranges and where they came from.
pub async fn cloudflare_ranges(gate: &Gate) -> (CloudflareIps, String) {
    let api_url = spec(gate).and_then(|s| s.api_url.clone());
    let live = match CloudflareClient::new(api_url.as_deref(), "", TIMEOUT) {
        Ok(client) => client.ips().await.ok(),
        Err(_) => None,
    };
    match live {
        Some(ips) => (ips, "cloudflare api /ips".into()),
        None => (
            FALLBACK_IPS.to_owned_ips(),
            format!("bundled list of {FALLBACK_IPS_AS_OF}"),
        ),
    }
}

// --- how ---------------------------------------------------------------------

fn client(spec: &CloudflareSpec) -> Result<Arc<CloudflareClient>, CheckError> {
    let token = match &spec.token {
        Some(t) => t.clone(),
        None => std::env::var(&spec.token_env).map_err(|_| CheckError::Probe {
            probe: "cloudflare api".into(),
            target: format!("zone '{}'", spec.zone),
            message: format!("no API token: set {}", spec.token_env),
        })?,
    };
    CloudflareClient::new(spec.api_url.as_deref(), &token, TIMEOUT)
        .map(Arc::new)
        .map_err(api_error)
}

/// The client and zone id, looked up once per run.
async fn zone(
    gate: &Gate,
    spec: &CloudflareSpec,
) -> Result<(Arc<CloudflareClient>, String), CheckError> {
    let client = client(spec)?;
    let id = gate
        .cache()
        .get(&format!("cloudflare:zone:{}", spec.zone), || {
            let client = client.clone();
            async move { client.zone_id(&spec.zone).await.map_err(api_error) }
        })
        .await?;
    Ok((client, (*id).clone()))
}

fn api_error(e: CloudflareError) -> CheckError {
    CheckError::Probe {
        probe: "cloudflare api".into(),
        target: e.endpoint().unwrap_or("client").to_string(),
        message: e.to_string(),
    }
}
