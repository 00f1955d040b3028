//! `cloudflare.*`: the zone terminates TLS strictly (Full (strict), TLS ≥ 1.2,
//! always HTTPS, and no Configuration Rule or Page Rule lowering SSL for some
//! hostnames or paths), runs the Cloudflare Managed Ruleset (not disabled or
//! set to log by its overrides, not skipped by an earlier rule), and every
//! declared custom hostname is active with an active certificate. Read
//! through the Cloudflare API with the token named by `token_env`; a read
//! that fails (no permission included) is an error.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding};
use crate::context::Context;
use crate::probe::cloudflare::{
    CLOUDFLARE_MANAGED_RULESET_ID, CloudflareClient, CloudflareError, CloudflareIps, FALLBACK_IPS,
    FALLBACK_IPS_AS_OF, FIREWALL_MANAGED_PHASE, PageRule, Ruleset,
};
use crate::spec::CloudflareSpec;

const TIMEOUT: Duration = Duration::from_secs(10);

// --- what: the checks, declared ----------------------------------------------

const SSL_STRICT: CheckDef = CheckDef {
    id: "cloudflare.ssl_strict",
    title: "Cloudflare SSL is strict, TLS 1.2+, always HTTPS",
    doc: "zone SSL mode `strict`, `min_tls_version` ≥ 1.2, `always_use_https` on",
    iam: &[],
};

const WAF: CheckDef = CheckDef {
    id: "cloudflare.waf",
    title: "the Cloudflare managed WAF ruleset is enabled",
    doc: "the zone's managed-firewall entrypoint ruleset executes the managed ruleset, enabled",
    iam: &[],
};

const CUSTOM_HOSTNAMES: CheckDef = CheckDef {
    id: "cloudflare.custom_hostnames",
    title: "every declared custom hostname and its certificate are active",
    doc: "every declared custom hostname exists with `status = active` and `ssl.status = active`",
    iam: &[],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&SSL_STRICT, |g| Box::pin(ssl_strict(g))),
        Check::new(&WAF, |g| Box::pin(waf(g))),
        Check::new(&CUSTOM_HOSTNAMES, |g| Box::pin(custom_hostnames(g))),
    ]
}

fn spec(cx: &Context) -> Option<&CloudflareSpec> {
    cx.env().edge.as_ref().and_then(|e| e.cloudflare.as_ref())
}

const NONE_DECLARED: &str = "no Cloudflare zone declared for this environment";

/// `cloudflare.ssl_strict`: `ssl = strict`, `min_tls_version ≥ 1.2`,
/// `always_use_https = on`, and no enabled Configuration Rule or active
/// Page Rule setting SSL below strict for some requests
/// ([`ssl_overrides_below_strict`]).
async fn ssl_strict(cx: &Context) -> CheckResult {
    let Some(spec) = spec(cx) else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    let (client, zone_id) = zone(cx, spec).await?;
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
    // Per-hostname overrides: Configuration Rules and Page Rules. A read
    // that fails (no permission, HTTP error) is an error, never "none".
    let config_rules = client
        .config_settings_entrypoint(&zone_id)
        .await
        .map_err(api_error)?;
    let page_rules = client.page_rules(&zone_id).await.map_err(api_error)?;
    let overrides = ssl_overrides_below_strict(config_rules.as_ref(), &page_rules);
    problems.extend(overrides.iter().cloned());
    let mut observed = values;
    observed.insert("ssl_overrides_below_strict".into(), json!(overrides));
    observed.insert(
        "config_rules".into(),
        json!(config_rules.as_ref().map_or(0, |r| r.rules.len())),
    );
    observed.insert("page_rules".into(), json!(page_rules.len()));
    let evidence = zone_evidence(spec, &zone_id)
        .expected(json!({
            "ssl": "strict",
            "min_tls_version": ["1.2", "1.3"],
            "always_use_https": "on",
            "ssl_overrides_below_strict": [],
        }))
        .observed(serde_json::Value::Object(observed));
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

/// `cloudflare.waf`: the managed-firewall entrypoint executes the managed
/// ruleset, enabled, not neutralised by its overrides, and not skipped by an
/// earlier rule ([`judge_waf`]).
async fn waf(cx: &Context) -> CheckResult {
    let Some(spec) = spec(cx) else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    let (client, zone_id) = zone(cx, spec).await?;
    let entrypoint = client
        .firewall_managed_entrypoint(&zone_id)
        .await
        .map_err(api_error)?;
    let evidence = zone_evidence(spec, &zone_id).expected(json!({
        "entrypoint_phase": FIREWALL_MANAGED_PHASE,
        "executes": CLOUDFLARE_MANAGED_RULESET_ID,
        "enabled": true,
        "overrides": "neither enabled = false nor action = log",
        "skipped_by_earlier_rule": false,
    }));
    let Some(ruleset) = entrypoint else {
        return Ok(Finding::fail(
            format!(
                "zone '{}': the http_request_firewall_managed entrypoint expected, observed none",
                spec.zone
            ),
            evidence.observed(json!({ "entrypoint_ruleset": null, "rules": [] })),
        ));
    };
    let rules: Vec<serde_json::Value> = ruleset
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "action": r.action, "executes": r.executes(), "enabled": r.enabled,
                "expression": r.expression,
                "overrides": r.action_parameters.as_ref().and_then(|p| p.get("overrides")),
                "skips": r.skips(CLOUDFLARE_MANAGED_RULESET_ID, FIREWALL_MANAGED_PHASE),
            })
        })
        .collect();
    let evidence = evidence.observed(json!({ "entrypoint_ruleset": ruleset.id, "rules": rules }));
    Ok(match judge_waf(&ruleset) {
        Ok(rule) => Finding::pass(
            format!(
                "zone '{}': Cloudflare Managed Ruleset executing ({rule})",
                spec.zone
            ),
            evidence,
        ),
        Err(observed) => Finding::fail(
            format!(
                "zone '{}': an enabled rule executing the Cloudflare Managed Ruleset ({CLOUDFLARE_MANAGED_RULESET_ID}) with no override disabling it or setting it to log, and no earlier rule skipping it, expected; observed {observed}",
                spec.zone
            ),
            evidence,
        ),
    })
}

/// Judges the `http_request_firewall_managed` entrypoint: `Ok(label)` of the
/// first enabled rule executing the Cloudflare Managed Ruleset whose
/// ruleset-level overrides neither disable it nor set it to `log`, and that
/// no earlier enabled `skip` rule skips (`ruleset: current`, `rulesets`
/// naming it, `phases` naming the phase) — whatever the skip's expression,
/// since it exempts that traffic from the WAF. Otherwise `Err` naming every
/// rule that defeats it.
pub fn judge_waf(ruleset: &Ruleset) -> Result<String, String> {
    let mut problems = Vec::new();
    let mut skipped_by: Vec<String> = Vec::new();
    for rule in &ruleset.rules {
        if let Some(how) = rule.skips(CLOUDFLARE_MANAGED_RULESET_ID, FIREWALL_MANAGED_PHASE) {
            skipped_by.push(format!("{} ({how})", rule.label()));
            continue;
        }
        if rule.executes() != Some(CLOUDFLARE_MANAGED_RULESET_ID) {
            continue;
        }
        if !rule.enabled {
            problems.push(format!("{} is disabled", rule.label()));
        } else if let Some(how) = rule.neutralising_override() {
            problems.push(format!("{} has {how}", rule.label()));
        } else if !skipped_by.is_empty() {
            problems.push(format!(
                "{} is skipped by earlier {}",
                rule.label(),
                skipped_by.join(", ")
            ));
        } else {
            return Ok(rule.label());
        }
    }
    if problems.is_empty() {
        problems.push(format!(
            "{} rule(s), none enabled and executing it",
            ruleset.rules.len()
        ));
    }
    Err(problems.join("; "))
}

/// SSL modes at least as strict as Full (strict): `strict` and `origin_pull`
/// (Strict, SSL-only origin pull).
const STRICT_SSL_MODES: [&str; 2] = ["strict", "origin_pull"];

/// Every enabled override that lowers SSL below strict for some requests:
/// a `set_config` rule of the `http_config_settings` entrypoint whose
/// `action_parameters.ssl` is not strict (`off`, `flexible`, `full`, or
/// anything unknown), and an `active` Page Rule whose `ssl` action is not
/// strict. Each item names the rule, its scope and the value.
pub fn ssl_overrides_below_strict(
    config_rules: Option<&Ruleset>,
    page_rules: &[PageRule],
) -> Vec<String> {
    let mut found = Vec::new();
    for rule in config_rules.map_or(&[][..], |r| &r.rules[..]) {
        if !rule.enabled || rule.action.as_deref() != Some("set_config") {
            continue;
        }
        let Some(ssl) = rule.action_parameters.as_ref().and_then(|p| p.get("ssl")) else {
            continue;
        };
        let value = ssl.as_str().map_or_else(|| ssl.to_string(), str::to_owned);
        if !STRICT_SSL_MODES.contains(&value.as_str()) {
            found.push(format!(
                "Configuration Rule {} (when {}) expected SSL strict, observed {value}",
                rule.label(),
                rule.expression.as_deref().unwrap_or("always")
            ));
        }
    }
    for rule in page_rules {
        if rule.status != "active" {
            continue;
        }
        let Some(ssl) = rule.action("ssl") else {
            continue;
        };
        let value = ssl.as_str().map_or_else(|| ssl.to_string(), str::to_owned);
        if !STRICT_SSL_MODES.contains(&value.as_str()) {
            found.push(format!(
                "Page Rule {} ({}) expected SSL strict, observed {value}",
                rule.id,
                rule.patterns()
            ));
        }
    }
    found
}

/// `cloudflare.custom_hostnames`: each declared hostname exists, `status` and `ssl.status` active.
async fn custom_hostnames(cx: &Context) -> CheckResult {
    let Some(spec) = spec(cx) else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    if spec.custom_hostnames.is_empty() {
        return Ok(Finding::skip("no custom hostnames declared"));
    }
    let (client, zone_id) = zone(cx, spec).await?;
    let all = client.custom_hostnames(&zone_id).await.map_err(api_error)?;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let mut absent = Vec::new();
    for declared in &spec.custom_hostnames {
        match all.iter().find(|h| h.hostname == *declared) {
            None => {
                problems.push(format!("{declared}: expected, observed absent"));
                absent.push(declared);
            }
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
    let evidence = zone_evidence(spec, &zone_id)
        .resources(&spec.custom_hostnames)
        .expected(json!({
            "custom_hostnames": spec.custom_hostnames,
            "status": "active",
            "ssl_status": "active",
        }))
        .observed(json!({ "custom_hostnames": seen, "absent": absent }));
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
pub async fn cloudflare_ranges(cx: &Context) -> (CloudflareIps, String) {
    let api_url = spec(cx).and_then(|s| s.api_url.clone());
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

/// The zone as the messages name it; its id and the probe as details.
fn zone_evidence(spec: &CloudflareSpec, zone_id: &str) -> Evidence {
    Evidence::of(format!("zone '{}'", spec.zone))
        .detail("zone_id", zone_id)
        .detail("probe", "cloudflare api")
}

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
    cx: &Context,
    spec: &CloudflareSpec,
) -> Result<(Arc<CloudflareClient>, String), CheckError> {
    let client = client(spec)?;
    let id = cx
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{judge_waf, ssl_overrides_below_strict};
    use crate::probe::cloudflare::{CLOUDFLARE_MANAGED_RULESET_ID as CMR, PageRule, Ruleset};

    fn ruleset(rules: Value) -> Ruleset {
        serde_json::from_value(json!({ "id": "entry", "rules": rules })).unwrap()
    }

    fn execute(id: &str, extra: Value) -> Value {
        let mut rule = json!({ "id": id, "action": "execute", "action_parameters": { "id": CMR }, "expression": "true" });
        if let (Some(rule), Some(extra)) = (rule.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                if k == "overrides" {
                    rule["action_parameters"]["overrides"] = v.clone();
                } else {
                    rule.insert(k.clone(), v.clone());
                }
            }
        }
        rule
    }

    #[test]
    fn waf_is_judged_by_overrides_and_earlier_skips() {
        // (rules, Ok(rule id) or Err(part of the message))
        let cases: Vec<(Value, Result<&str, &str>)> = vec![
            (json!([execute("x", json!({}))]), Ok("rule x")),
            (
                json!([execute("x", json!({ "overrides": { "action": "block" } }))]),
                Ok("rule x"),
            ),
            (
                json!([execute("x", json!({ "enabled": false }))]),
                Err("rule x is disabled"),
            ),
            (
                json!([execute(
                    "x",
                    json!({ "overrides": { "enabled": false, "categories": [{ "category": "wordpress", "enabled": true }] } })
                )]),
                Err("rule x has overrides.enabled = false"),
            ),
            (
                json!([execute("x", json!({ "overrides": { "action": "log" } }))]),
                Err("rule x has overrides.action = log"),
            ),
            (
                json!([{ "id": "s", "action": "skip", "action_parameters": { "ruleset": "current" }, "expression": "true" }, execute("x", json!({}))]),
                Err("rule x is skipped by earlier rule s (skip ruleset = current)"),
            ),
            (
                json!([{ "id": "s", "action": "skip", "action_parameters": { "rulesets": [CMR] }, "expression": "http.host eq \"a\"" }, execute("x", json!({}))]),
                Err("skip rulesets"),
            ),
            (
                json!([{ "id": "s", "action": "skip", "action_parameters": { "phases": ["http_request_firewall_managed"] } }, execute("x", json!({}))]),
                Err("skip phases"),
            ),
            // A disabled skip, a skip of single rules, or a skip after the execute does not count.
            (
                json!([{ "id": "s", "action": "skip", "action_parameters": { "ruleset": "current" }, "enabled": false }, execute("x", json!({}))]),
                Ok("rule x"),
            ),
            (
                json!([{ "id": "s", "action": "skip", "action_parameters": { "rules": { CMR: ["r1"] } } }, execute("x", json!({}))]),
                Ok("rule x"),
            ),
            (
                json!([execute("x", json!({})), { "id": "s", "action": "skip", "action_parameters": { "ruleset": "current" } }]),
                Ok("rule x"),
            ),
            // A neutralised rule and a good one: the good one protects.
            (
                json!([
                    execute("x", json!({ "overrides": { "action": "log" } })),
                    execute("y", json!({}))
                ]),
                Ok("rule y"),
            ),
            (json!([]), Err("0 rule(s), none enabled and executing it")),
        ];
        for (rules, expected) in cases {
            let judged = judge_waf(&ruleset(rules.clone()));
            match (expected, &judged) {
                (Ok(label), Ok(got)) => assert_eq!(got, label, "{rules}"),
                (Err(part), Err(got)) => assert!(got.contains(part), "{rules}: {got}"),
                _ => panic!("{rules}: expected {expected:?}, judged {judged:?}"),
            }
        }
    }

    fn page_rule(status: &str, ssl: &str) -> PageRule {
        serde_json::from_value(json!({
            "id": "pr1", "status": status, "priority": 1,
            "targets": [{ "target": "url", "constraint": { "operator": "matches", "value": "api.example.com/legacy/*" } }],
            "actions": [{ "id": "always_use_https" }, { "id": "ssl", "value": ssl }],
        }))
        .unwrap()
    }

    #[test]
    fn ssl_overrides_below_strict_are_found() {
        let config = |ssl: &str, enabled: bool| {
            ruleset(json!([{
                "id": "c1", "action": "set_config", "action_parameters": { "ssl": ssl },
                "expression": "http.host eq \"api.example.com\"", "enabled": enabled,
            }]))
        };
        assert!(ssl_overrides_below_strict(None, &[]).is_empty());
        for ok in ["strict", "origin_pull"] {
            assert!(
                ssl_overrides_below_strict(Some(&config(ok, true)), &[page_rule("active", ok)])
                    .is_empty()
            );
        }
        for weak in ["off", "flexible", "full"] {
            let found =
                ssl_overrides_below_strict(Some(&config(weak, true)), &[page_rule("active", weak)]);
            assert_eq!(found.len(), 2, "{found:?}");
            assert!(
                found[0].contains("Configuration Rule rule c1")
                    && found[0].contains(&format!("observed {weak}")),
                "{found:?}"
            );
            assert!(found[0].contains("http.host eq"), "{found:?}");
            assert!(
                found[1].contains("Page Rule pr1 (api.example.com/legacy/*)")
                    && found[1].contains(&format!("observed {weak}")),
                "{found:?}"
            );
        }
        // Disabled rules and rules not touching SSL do not count.
        assert!(
            ssl_overrides_below_strict(
                Some(&config("flexible", false)),
                &[page_rule("disabled", "flexible")]
            )
            .is_empty()
        );
        let other = ruleset(
            json!([{ "id": "c2", "action": "set_config", "action_parameters": { "bic": true } }]),
        );
        assert!(ssl_overrides_below_strict(Some(&other), &[]).is_empty());
    }
}
