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

use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Fields, Finding};
use crate::context::Context;
use crate::probe::cloudflare::{
    CLOUDFLARE_MANAGED_FREE_RULESET_ID, CloudflareClient, CloudflareError, CloudflareIps,
    CustomHostname, DEFAULT_BASE_URL, FALLBACK_IPS, FALLBACK_IPS_AS_OF, FIREWALL_MANAGED_PHASE,
    PageRule, Ruleset, ZoneInfo, managed_ruleset_for_plan,
};
use crate::spec::CloudflareSpec;

mod custom_hostname_waf;
mod expression;

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
        Check::new(&custom_hostname_waf::CUSTOM_HOSTNAME_WAF, |g| {
            Box::pin(custom_hostname_waf::run(g))
        }),
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
    let (client, ZoneInfo { id: zone_id, .. }) = zone(cx, spec).await?;
    let mut values = serde_json::Map::new();
    for name in ["ssl", "min_tls_version", "always_use_https"] {
        let value = client.setting(&zone_id, name).await.map_err(api_error)?;
        values.insert(name.into(), value);
    }
    // Per-hostname overrides: Configuration Rules and Page Rules. A read
    // that fails (no permission, HTTP error) is an error, never "none".
    let config_rules = client
        .config_settings_entrypoint(&zone_id)
        .await
        .map_err(api_error)?;
    let page_rules = client.page_rules(&zone_id).await.map_err(api_error)?;
    let finding = judge_ssl_strict(&spec.zone, values, config_rules.as_ref(), &page_rules);
    Ok(Finding {
        evidence: finding
            .evidence
            .detail("zone_id", zone_id)
            .detail("probe", "cloudflare api"),
        ..finding
    })
}

/// `cloudflare.ssl_strict` on what the API answered: the zone settings
/// `ssl`, `min_tls_version` and `always_use_https` (as read, by name), and
/// the zone's Configuration Rules entrypoint and Page Rules
/// ([`ssl_overrides_below_strict`]). A setting that is absent or not a
/// string reads as `none`, which fails.
fn judge_ssl_strict(
    zone: &str,
    values: serde_json::Map<String, serde_json::Value>,
    config_rules: Option<&Ruleset>,
    page_rules: &[PageRule],
) -> Finding {
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
    let resource = format!("zone '{zone}'");
    // The message from Fields; the evidence keyed by setting name as the
    // sandbox tests read it (`/observed/ssl`).
    let mut f = Fields::of(&resource);
    f.judge(
        "SSL mode",
        "strict",
        ssl.as_str(),
        STRICT_SSL_MODES.contains(&ssl.as_str()),
    );
    f.judge(
        "min_tls_version",
        "≥ 1.2",
        min_tls.as_str(),
        matches!(min_tls.as_str(), "1.2" | "1.3"),
    );
    f.judge("always_use_https", "on", always.as_str(), always == "on");
    let overrides = ssl_overrides_below_strict(config_rules, page_rules);
    for o in &overrides {
        f.problem(o.clone());
    }
    let mut observed = values;
    observed.insert("ssl_overrides_below_strict".into(), json!(overrides));
    observed.insert(
        "config_rules".into(),
        json!(config_rules.map_or(0, |r| r.rules.len())),
    );
    observed.insert("page_rules".into(), json!(page_rules.len()));
    let evidence = Evidence::of(&resource)
        .expected(json!({
            "ssl": STRICT_SSL_MODES,
            "min_tls_version": ["1.2", "1.3"],
            "always_use_https": "on",
            "ssl_overrides_below_strict": [],
        }))
        .observed(serde_json::Value::Object(observed));
    let pass = format!("{resource}: SSL {ssl}, TLS ≥ {min_tls}, always HTTPS");
    Finding {
        evidence,
        ..f.finish(pass)
    }
}

/// `cloudflare.waf`: the managed-firewall entrypoint executes the managed
/// ruleset, enabled, not neutralised by its overrides, and not skipped by an
/// earlier rule ([`judge_waf`]).
async fn waf(cx: &Context) -> CheckResult {
    let Some(spec) = spec(cx) else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    let (client, zone) = zone(cx, spec).await?;
    let managed = managed_for(spec, &zone)?;
    let zone_id = zone.id;
    let entrypoint = client
        .firewall_managed_entrypoint(&zone_id)
        .await
        .map_err(api_error)?;
    let evidence = zone_evidence(spec, &zone_id).expected(json!({
        "entrypoint_phase": FIREWALL_MANAGED_PHASE,
        "plan": zone.plan,
        "executes": managed,
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
                "skips": r.skips(managed, FIREWALL_MANAGED_PHASE),
            })
        })
        .collect();
    let evidence = evidence.observed(json!({ "entrypoint_ruleset": ruleset.id, "rules": rules }));
    Ok(match judge_waf(&ruleset, managed) {
        Ok(rule) => Finding::pass(
            format!(
                "zone '{}': {} executing ({rule})",
                spec.zone,
                ruleset_name(managed)
            ),
            evidence,
        ),
        Err(observed) => Finding::fail(
            format!(
                "zone '{}': an enabled rule executing the {} ({managed}) with no override disabling it or setting it to log, and no earlier rule skipping it, expected; observed {observed}",
                spec.zone,
                ruleset_name(managed)
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
pub fn judge_waf(ruleset: &Ruleset, managed: &str) -> Result<String, String> {
    let mut problems = Vec::new();
    let mut skipped_by: Vec<String> = Vec::new();
    for rule in &ruleset.rules {
        if let Some(how) = rule.skips(managed, FIREWALL_MANAGED_PHASE) {
            skipped_by.push(format!("{} ({how})", rule.label()));
            continue;
        }
        if rule.executes() != Some(managed) {
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

/// Which managed ruleset the zone's plan runs (or the one the spec names):
/// Free zones cannot run the paid one, paid zones running only the Free one
/// are under-protected. A zone answered without its plan is an error.
fn managed_for<'a>(spec: &'a CloudflareSpec, zone: &ZoneInfo) -> Result<&'a str, CheckError> {
    match (&spec.managed_ruleset, &zone.plan) {
        (Some(declared), _) => Ok(declared.as_str()),
        (None, Some(plan)) => Ok(managed_ruleset_for_plan(plan)),
        (None, None) => Err(CheckError::Missing {
            operation: "cloudflare GET /zones".into(),
            resource: format!("zone '{}'", spec.zone),
            field: "plan".into(),
        }),
    }
}

/// The managed ruleset's name, as Cloudflare's dashboard shows it.
fn ruleset_name(id: &str) -> &'static str {
    if id == CLOUDFLARE_MANAGED_FREE_RULESET_ID {
        "Cloudflare Managed Free Ruleset"
    } else {
        "Cloudflare Managed Ruleset"
    }
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
    let (client, ZoneInfo { id: zone_id, .. }) = zone(cx, spec).await?;
    let all = client.custom_hostnames(&zone_id).await.map_err(api_error)?;
    let finding = judge_custom_hostnames(&spec.zone, &spec.custom_hostnames, &all);
    Ok(Finding {
        evidence: finding
            .evidence
            .detail("zone_id", zone_id)
            .detail("probe", "cloudflare api"),
        ..finding
    })
}

/// `cloudflare.custom_hostnames` on the zone's custom hostnames: each
/// `declared` one is there (names compared ASCII case-insensitively) with
/// `status` and `ssl.status` both `active` (no `ssl` object reads `none`).
///
/// The message from Fields, one line per hostname; the evidence keeps its
/// per-hostname list (`/observed/custom_hostnames/1/status`), which one
/// object keyed by field cannot hold.
fn judge_custom_hostnames(zone: &str, declared: &[String], all: &[CustomHostname]) -> Finding {
    let resource = format!("zone '{zone}'");
    let mut f = Fields::of(&resource);
    let mut seen = Vec::new();
    let mut absent = Vec::new();
    for name in declared {
        match all.iter().find(|h| h.hostname.eq_ignore_ascii_case(name)) {
            None => {
                f.problem(format!("{name}: expected, observed absent"));
                absent.push(name);
            }
            Some(h) => {
                let ssl = h.ssl_status.as_deref().unwrap_or("none");
                seen.push(json!({ "hostname": name, "status": h.status, "ssl_status": ssl }));
                f.judge(
                    &format!("{name}: status/ssl.status"),
                    "active/active",
                    format!("{}/{ssl}", h.status),
                    h.status == "active" && ssl == "active",
                );
            }
        }
    }
    let evidence = Evidence::of(&resource)
        .resources(declared)
        .expected(json!({
            "custom_hostnames": declared,
            "status": "active",
            "ssl_status": "active",
        }))
        .observed(json!({ "custom_hostnames": seen, "absent": absent }));
    let pass = format!("{resource}: {} custom hostnames active", declared.len());
    Finding {
        evidence,
        ..f.finish(pass)
    }
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

/// The API client, with the token the harness filled in (the sandbox's own,
/// not a secret) or the one in `token_env`, read only inside the run's
/// secret prefix ([`crate::secrets::read`]) and sent only over https.
fn client(cx: &Context, spec: &CloudflareSpec) -> Result<Arc<CloudflareClient>, CheckError> {
    let refused = |message: String| CheckError::Probe {
        probe: "cloudflare api".into(),
        target: format!("zone '{}'", spec.zone),
        message,
    };
    let token = match &spec.token {
        Some(t) => t.clone(),
        None => {
            let base = spec.api_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
            if !base.starts_with("https://") {
                return Err(refused(format!(
                    "the API token from {} is sent only over https, and api_url is {base}",
                    spec.token_env
                )));
            }
            crate::secrets::read(&cx.run().secret_prefix, &spec.token_env, "token_env").map_err(
                |e| match e {
                    crate::secrets::SecretError::Unset { .. } => {
                        refused(format!("no API token: set {}", spec.token_env))
                    }
                    refused_read => refused(refused_read.to_string()),
                },
            )?
        }
    };
    CloudflareClient::new(spec.api_url.as_deref(), &token, TIMEOUT)
        .map(Arc::new)
        .map_err(api_error)
}

/// The client and the zone (id and plan), looked up once per run.
async fn zone(
    cx: &Context,
    spec: &CloudflareSpec,
) -> Result<(Arc<CloudflareClient>, ZoneInfo), CheckError> {
    let client = client(cx, spec)?;
    let zone = cx
        .cache()
        .get(&format!("cloudflare:zone:{}", spec.zone), || {
            let client = client.clone();
            async move { client.zone(&spec.zone).await.map_err(api_error) }
        })
        .await?;
    Ok((client, (*zone).clone()))
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

    use super::{
        judge_custom_hostnames, judge_ssl_strict, judge_waf, managed_ruleset_for_plan,
        ruleset_name, ssl_overrides_below_strict,
    };
    use crate::check::Status;
    use crate::probe::cloudflare::{
        CLOUDFLARE_MANAGED_RULESET_ID as CMR, CustomHostname, PageRule, Ruleset,
    };

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
            let judged = judge_waf(&ruleset(rules.clone()), CMR);
            match (expected, &judged) {
                (Ok(label), Ok(got)) => assert_eq!(got, label, "{rules}"),
                (Err(part), Err(got)) => assert!(got.contains(part), "{rules}: {got}"),
                _ => panic!("{rules}: expected {expected:?}, judged {judged:?}"),
            }
        }
    }

    #[test]
    fn the_managed_ruleset_follows_the_zone_plan() {
        use crate::probe::cloudflare::CLOUDFLARE_MANAGED_FREE_RULESET_ID as FREE;
        let free = json!([{ "id": "f", "action": "execute", "action_parameters": { "id": FREE }, "expression": "true" }]);
        let paid = json!([execute("x", json!({}))]);
        // (plan, rules, judged)
        let cases: Vec<(&str, &Value, Result<&str, &str>)> = vec![
            ("free", &free, Ok("rule f")),
            ("Free Website", &free, Ok("rule f")),
            // A paid zone running only the Free ruleset is under-protected.
            ("pro", &free, Err("none enabled and executing it")),
            ("enterprise", &free, Err("none enabled and executing it")),
            ("business", &paid, Ok("rule x")),
            // The Free plan cannot run the paid ruleset: nothing protects it.
            ("free", &paid, Err("none enabled and executing it")),
        ];
        for (plan, rules, expected) in cases {
            let judged = judge_waf(&ruleset(rules.clone()), managed_ruleset_for_plan(plan));
            match (expected, &judged) {
                (Ok(label), Ok(got)) => assert_eq!(got, label, "{plan}"),
                (Err(part), Err(got)) => assert!(got.contains(part), "{plan}: {got}"),
                _ => panic!("{plan}: expected {expected:?}, judged {judged:?}"),
            }
        }
        assert_eq!(ruleset_name(FREE), "Cloudflare Managed Free Ruleset");
        assert_eq!(ruleset_name(CMR), "Cloudflare Managed Ruleset");
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

    fn settings(ssl: Value, min_tls: Value, always: Value) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("ssl".into(), ssl);
        m.insert("min_tls_version".into(), min_tls);
        m.insert("always_use_https".into(), always);
        m
    }

    #[test]
    fn the_ssl_strict_judge_table() {
        let weak_rule = ruleset(json!([{
            "id": "cfg-legacy", "action": "set_config", "action_parameters": { "ssl": "flexible" },
            "expression": "http.host eq \"api.example.com\"", "enabled": true,
        }]));
        let good = || settings(json!("strict"), json!("1.2"), json!("on"));
        type Row<'a> = (
            &'a str,
            serde_json::Map<String, Value>,
            Option<&'a Ruleset>,
            Vec<PageRule>,
            Status,
            &'a str,
        );
        let rows: Vec<Row> = vec![
            (
                "strict, 1.2, on",
                good(),
                None,
                vec![],
                Status::Pass,
                "zone 'example.com': SSL strict, TLS ≥ 1.2, always HTTPS",
            ),
            (
                "origin_pull (Strict, SSL-only origin pull) counts as strict",
                settings(json!("origin_pull"), json!("1.2"), json!("on")),
                None,
                vec![page_rule("active", "origin_pull")],
                Status::Pass,
                "zone 'example.com': SSL origin_pull, TLS ≥ 1.2, always HTTPS",
            ),
            (
                "TLS 1.3",
                settings(json!("strict"), json!("1.3"), json!("on")),
                None,
                vec![page_rule("active", "strict")],
                Status::Pass,
                "TLS ≥ 1.3",
            ),
            (
                "full",
                settings(json!("full"), json!("1.2"), json!("on")),
                None,
                vec![],
                Status::Fail,
                "zone 'example.com': SSL mode expected strict, observed full",
            ),
            (
                "flexible",
                settings(json!("flexible"), json!("1.2"), json!("on")),
                None,
                vec![],
                Status::Fail,
                "SSL mode expected strict, observed flexible",
            ),
            (
                "TLS 1.0",
                settings(json!("strict"), json!("1.0"), json!("on")),
                None,
                vec![],
                Status::Fail,
                "min_tls_version expected ≥ 1.2, observed 1.0",
            ),
            (
                "TLS 1.1",
                settings(json!("strict"), json!("1.1"), json!("on")),
                None,
                vec![],
                Status::Fail,
                "min_tls_version expected ≥ 1.2, observed 1.1",
            ),
            (
                "always HTTPS off",
                settings(json!("strict"), json!("1.2"), json!("off")),
                None,
                vec![],
                Status::Fail,
                "always_use_https expected on, observed off",
            ),
            (
                "a setting not read as text",
                settings(json!(null), json!(1.2), json!(true)),
                None,
                vec![],
                Status::Fail,
                "SSL mode expected strict, observed none; min_tls_version expected ≥ 1.2, observed none; always_use_https expected on, observed none",
            ),
            (
                "a Configuration Rule lowering SSL",
                good(),
                Some(&weak_rule),
                vec![],
                Status::Fail,
                "Configuration Rule rule cfg-legacy (when http.host eq \"api.example.com\") expected SSL strict, observed flexible",
            ),
            (
                "a Page Rule lowering SSL",
                good(),
                None,
                vec![page_rule("active", "full")],
                Status::Fail,
                "Page Rule pr1 (api.example.com/legacy/*) expected SSL strict, observed full",
            ),
            (
                "a disabled Page Rule",
                good(),
                None,
                vec![page_rule("disabled", "off")],
                Status::Pass,
                "SSL strict",
            ),
        ];
        for (case, values, config, pages, status, says) in rows {
            let f = judge_ssl_strict("example.com", values, config, &pages);
            assert_eq!(f.status, status, "{case}: {}", f.message);
            assert!(
                f.message.contains(says),
                "{case}: {:?} lacks {says:?}",
                f.message
            );
            // The sandbox tests read `/observed/ssl`.
            assert!(f.evidence.observed.get("ssl").is_some(), "{case}");
            assert!(
                f.evidence.observed["ssl_overrides_below_strict"].is_array(),
                "{case}"
            );
        }
    }

    fn hostname(name: &str, status: &str, ssl: Option<&str>) -> CustomHostname {
        CustomHostname {
            id: format!("id-{name}"),
            hostname: name.into(),
            status: status.into(),
            ssl_status: ssl.map(String::from),
        }
    }

    #[test]
    fn the_custom_hostnames_judge_table() {
        let declared = vec![
            "app.clinic.test".to_string(),
            "clinic.pending.test".to_string(),
        ];
        let active = |n: &str| hostname(n, "active", Some("active"));
        let rows: Vec<(&str, Vec<CustomHostname>, Status, &str)> = vec![
            (
                "both active",
                vec![
                    active("app.clinic.test"),
                    active("clinic.pending.test"),
                    active("other.test"),
                ],
                Status::Pass,
                "zone 'example.com': 2 custom hostnames active",
            ),
            (
                "names in another case",
                vec![active("APP.clinic.test"), active("clinic.pending.test")],
                Status::Pass,
                "2 custom hostnames active",
            ),
            (
                "one pending",
                vec![
                    active("app.clinic.test"),
                    hostname("clinic.pending.test", "pending", Some("pending_validation")),
                ],
                Status::Fail,
                "zone 'example.com': clinic.pending.test: status/ssl.status expected active/active, observed pending/pending_validation",
            ),
            (
                "active without a certificate",
                vec![
                    active("app.clinic.test"),
                    hostname("clinic.pending.test", "active", None),
                ],
                Status::Fail,
                "clinic.pending.test: status/ssl.status expected active/active, observed active/none",
            ),
            (
                "certificate active, hostname moved",
                vec![
                    active("app.clinic.test"),
                    hostname("clinic.pending.test", "moved", Some("active")),
                ],
                Status::Fail,
                "observed moved/active",
            ),
            (
                "one absent",
                vec![active("clinic.pending.test")],
                Status::Fail,
                "app.clinic.test: expected, observed absent",
            ),
            (
                "none at all",
                vec![],
                Status::Fail,
                "app.clinic.test: expected, observed absent; clinic.pending.test: expected, observed absent",
            ),
        ];
        for (case, all, status, says) in rows {
            let f = judge_custom_hostnames("example.com", &declared, &all);
            assert_eq!(f.status, status, "{case}: {}", f.message);
            assert!(
                f.message.contains(says),
                "{case}: {:?} lacks {says:?}",
                f.message
            );
            assert!(f.evidence.observed["custom_hostnames"].is_array(), "{case}");
            assert_eq!(
                f.evidence.resources,
                [
                    "zone 'example.com'",
                    "app.clinic.test",
                    "clinic.pending.test"
                ],
                "{case}"
            );
        }
    }
}
