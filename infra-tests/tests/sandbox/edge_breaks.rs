//! The edge and Cloudflare checks both ways, against real stand-ins over
//! real TLS/HTTP on loopback. Each case starts stand-ins of its own (so it can
//! break them) and a freshly seeded AWS account, and points the sandbox spec
//! at both.

use std::time::{Duration, SystemTime};

use fixtures::core_api::Knobs;
use fixtures::edge::HttpMode;
use fixtures::standins::{self, API_HOSTNAME, Standins};
use infra_tests::{Account, evidence_at, runtime};
use rstest::rstest;
use serde_json::json;
use verify::{Outcome, Status};

/// How a case breaks its own stand-ins before the check runs.
#[derive(Debug, Clone, Copy)]
enum Break {
    None,
    ExpiredCertificate,
    WrongNameCertificate,
    CertificateExpiringSoon,
    LegacyTlsAccepted,
    HstsMissing,
    HstsShort,
    NoCfRay,
    HttpForwards,
    SslFull,
    MinTls10,
    WafMissing,
    WafDisabled,
    WafOverriddenToLog,
    WafOverrideDisabled,
    WafSkippedEarlier,
    /// A paid zone whose entrypoint runs only the Managed Free Ruleset.
    PaidPlanFreeRuleset,
    /// Not a break: a Free-plan zone running the Managed Free Ruleset.
    FreePlanFreeRuleset,
    SslFlexibleConfigRule,
    SslFullPageRule,
    RedirectToLookalike,
    LegacyTlsAcceptedOnTls12Record,
    CustomHostnamePending,
    SpfWithoutAmazonses,
    DmarcNone,
    MxWrongProvider,
    NullMx,
    SecurityHeadersMissing,
    XFrameOptionsConflicting,
}

async fn run(id: &str, broken: Break) -> Outcome {
    let dir = std::env::temp_dir().join(format!(
        "verify-standins-{}-{}",
        std::process::id(),
        infra_tests::fresh_account()
    ));
    let standins = standins::start(&dir).await.expect("stand-ins");
    apply(&standins, broken).await;
    let mut account = Account::seeded(&[]).await.expect("account");
    standins.state.endpoints().point(&mut account.env);
    if let Break::LegacyTlsAcceptedOnTls12Record = broken {
        let address = tls10_on_tls12_record_server().await;
        account.env.edge.as_mut().unwrap().resolve =
            vec![("api.restartix.test".into(), address.to_string())];
    }
    if let Break::CustomHostnamePending = broken {
        let cf = account
            .env
            .edge
            .as_mut()
            .unwrap()
            .cloudflare
            .as_mut()
            .unwrap();
        cf.custom_hostnames.push("clinic.pending.test".into());
    }
    let outcome = account.check(id).await;
    standins.edge.shutdown().await;
    standins.cloudflare.shutdown();
    standins.dns.shutdown();
    let _ = std::fs::remove_dir_all(dir);
    outcome
}

/// A loopback server answering every connection with a ServerHello that
/// negotiates TLS 1.0 inside a record whose layer version says TLS 1.2
/// (legal: the record version is not the negotiated one), then closing.
async fn tls10_on_tls12_record_server() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut hello = vec![0x03, 0x01];
    hello.extend([0x42u8; 32]);
    hello.extend([0x00, 0xc0, 0x14, 0x00]);
    let mut record = vec![0x16, 0x03, 0x03, 0x00, (hello.len() + 4) as u8];
    record.extend([0x02, 0x00, 0x00, hello.len() as u8]);
    record.extend(hello);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(&record).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    address
}

async fn apply(s: &Standins, broken: Break) {
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let reissue = |names: &[&str], from: SystemTime, to: SystemTime| {
        s.ca.issue(names, from, to).expect("certificate")
    };
    match broken {
        Break::None => {}
        Break::ExpiredCertificate => {
            let cert = reissue(&[API_HOSTNAME], now - 30 * day, now - day);
            s.edge.update(|c| c.certs.insert(API_HOSTNAME.into(), cert).map(drop).unwrap_or(())).unwrap();
        }
        Break::WrongNameCertificate => {
            let cert = reissue(&["www.elsewhere.test"], now - day, now + 90 * day);
            s.edge.update(|c| c.certs.insert(API_HOSTNAME.into(), cert).map(drop).unwrap_or(())).unwrap();
        }
        Break::CertificateExpiringSoon => {
            let cert = reissue(&[API_HOSTNAME], now - day, now + 5 * day);
            s.edge.update(|c| c.certs.insert(API_HOSTNAME.into(), cert).map(drop).unwrap_or(())).unwrap();
        }
        Break::LegacyTlsAccepted => s.edge.update(|c| c.accept_legacy_tls = true).unwrap(),
        Break::HstsMissing => s.edge.update(|c| c.hsts_max_age = None).unwrap(),
        Break::HstsShort => s.edge.update(|c| c.hsts_max_age = Some(300)).unwrap(),
        Break::NoCfRay => s.edge.update(|c| c.cf_ray = false).unwrap(),
        Break::HttpForwards => s.edge.update(|c| c.http_mode = HttpMode::Forward).unwrap(),
        Break::SslFull => s.cloudflare.set_setting("ssl", json!("full")).await.unwrap(),
        Break::MinTls10 => s.cloudflare.set_setting("min_tls_version", json!("1.0")).await.unwrap(),
        Break::WafMissing => s.cloudflare.delete_firewall_managed_entrypoint().await.unwrap(),
        Break::PaidPlanFreeRuleset | Break::FreePlanFreeRuleset => {
            if let Break::FreePlanFreeRuleset = broken {
                s.cloudflare.set_plan("free");
            }
            s.cloudflare
                .put_firewall_managed_rules(json!([{
                    "id": "free-managed",
                    "action": "execute",
                    "action_parameters": { "id": fixtures::cloudflare_api::CLOUDFLARE_MANAGED_FREE_RULESET_ID },
                    "expression": "true",
                    "enabled": true
                }]))
                .await
                .unwrap()
        }
        Break::WafDisabled => s
            .cloudflare
            .put_firewall_managed_rules(json!([{
                "action": "execute",
                "action_parameters": { "id": fixtures::cloudflare_api::CLOUDFLARE_MANAGED_RULESET_ID },
                "expression": "true",
                "enabled": false
            }]))
            .await
            .unwrap(),
        Break::WafOverriddenToLog | Break::WafOverrideDisabled => {
            let overrides = if let Break::WafOverriddenToLog = broken {
                json!({ "action": "log" })
            } else {
                json!({ "enabled": false })
            };
            s.cloudflare
                .put_firewall_managed_rules(json!([{
                    "id": "cmr-rule",
                    "action": "execute",
                    "action_parameters": { "id": fixtures::cloudflare_api::CLOUDFLARE_MANAGED_RULESET_ID, "overrides": overrides },
                    "expression": "true",
                }]))
                .await
                .unwrap()
        }
        Break::WafSkippedEarlier => s
            .cloudflare
            .put_firewall_managed_rules(json!([
                {
                    "id": "skip-all",
                    "action": "skip",
                    "action_parameters": { "ruleset": "current" },
                    "expression": "true",
                    "description": "temporary exception"
                },
                {
                    "id": "cmr-rule",
                    "action": "execute",
                    "action_parameters": { "id": fixtures::cloudflare_api::CLOUDFLARE_MANAGED_RULESET_ID },
                    "expression": "true"
                }
            ]))
            .await
            .unwrap(),
        Break::SslFlexibleConfigRule => s
            .cloudflare
            .put_config_rules(json!([{
                "id": "cfg-legacy",
                "action": "set_config",
                "action_parameters": { "ssl": "flexible" },
                "expression": "http.host eq \"api.restartix.test\""
            }]))
            .await
            .unwrap(),
        Break::SslFullPageRule => {
            s.cloudflare
                .create_page_rule(json!({
                    "targets": [{ "target": "url", "constraint": { "operator": "matches", "value": "api.restartix.test/*" } }],
                    "actions": [{ "id": "ssl", "value": "full" }],
                    "status": "active"
                }))
                .await
                .unwrap();
        }
        Break::RedirectToLookalike => s
            .edge
            .update(|c| c.redirect_host = Some("api.restartix.test.evil.net".into()))
            .unwrap(),
        Break::LegacyTlsAcceptedOnTls12Record => {
            // Not a knob of the edge: a server answering a TLS 1.0 ServerHello
            // in a record labelled TLS 1.2, pointed at by `resolve` in `run`.
        }
        Break::SpfWithoutAmazonses => s
            .dns
            .set_txt("mail.restartix.test", vec!["v=spf1 include:_spf.google.com ~all".into()])
            .await
            .unwrap(),
        Break::MxWrongProvider => s
            .dns
            .set_mx("restartix.test", vec![(10, "mx.zoho.eu".into()), (20, "mx2.zoho.eu".into())])
            .await
            .unwrap(),
        Break::NullMx => s.dns.set_mx("restartix.test", vec![(0, ".".into())]).await.unwrap(),
        Break::SecurityHeadersMissing => s.edge.update(|c| c.security_headers = false).unwrap(),
        Break::XFrameOptionsConflicting => {
            // Only X-Frame-Options guards framing, and it says two things.
            s.edge.update(|c| c.security_headers = false).unwrap();
            let fixed: Vec<(String, String)> = vec![
                ("x-frame-options".into(), "DENY".into()),
                ("x-frame-options".into(), "SAMEORIGIN".into()),
                ("x-content-type-options".into(), "nosniff".into()),
                ("referrer-policy".into(), "no-referrer".into()),
            ];
            s.edge.update(move |c| c.extra_headers = fixed.clone()).unwrap();
        }
        Break::DmarcNone => s
            .dns
            .set_txt("_dmarc.restartix.test", vec!["v=DMARC1; p=none".into()])
            .await
            .unwrap(),
        Break::CustomHostnamePending => {
            s.cloudflare.create_custom_hostname("clinic.pending.test", Some("pending"), Some("pending_validation")).await.unwrap();
        }
    }
}

#[rstest]
#[case("edge.tls.certificate", "/observed/api.restartix.test/protocol", json!("TLSv1.3"))]
#[case("edge.tls.legacy_rejected", "/observed/api.restartix.test/accepted", json!([]))]
#[case("edge.https.headers", "/observed/api.restartix.test/status", json!(200))]
#[case("edge.http.redirect", "/observed/api.restartix.test/location", json!("https://api.restartix.test/health"))]
#[case("cloudflare.ssl_strict", "/observed/ssl", json!("strict"))]
#[case("cloudflare.waf", "/observed/rules/0/enabled", json!(true))]
#[case("cloudflare.waf", "/expected/plan", json!("pro"))]
#[case("cloudflare.custom_hostnames", "/observed/custom_hostnames/1/status", json!("active"))]
#[case("edge.alb.origin_locked", "/expected/cloudflare_ranges", json!("cloudflare api /ips"))]
#[case("edge.tls.certificate", "/details/probe", json!("tls handshake"))]
#[case("cloudflare.ssl_strict", "/details/probe", json!("cloudflare api"))]
#[case("ses.dns", "/observed/dmarc/0", json!("v=DMARC1; p=quarantine; rua=mailto:dmarc@restartix.test"))]
#[case("dns.mx", "/observed/restartix.test/mx/0", json!("1 aspmx.l.google.com"))]
#[case("dns.mx", "/details/probe", json!("dns mx lookup"))]
#[case("edge.https.security_headers", "/observed/https:~1~1api.restartix.test~1/x-content-type-options/0", json!("nosniff"))]
#[case("edge.https.security_headers", "/observed/https:~1~1api.restartix.test~1health/frame-ancestors/0", json!("'none'"))]
fn passes_against_good_stand_ins(
    #[case] id: &str,
    #[case] pointer: &str,
    #[case] expected: serde_json::Value,
) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(run(id, Break::None));
    assert_eq!(outcome.status, Status::Pass, "{id}: {}", outcome.message);
    let evidence = &outcome.evidence;
    assert_eq!(
        evidence_at(evidence, pointer),
        Some(&expected),
        "{id}: {evidence}"
    );
    assert!(
        !evidence.resources.is_empty()
            && evidence.expected.as_object().is_some_and(|e| !e.is_empty())
            && evidence.observed.as_object().is_some_and(|o| !o.is_empty()),
        "{id}: evidence names the resources, the expected and the observed: {evidence}"
    );
}

/// The managed ruleset follows the zone's plan: the Free plan cannot run
/// the paid one, and runs the Managed Free Ruleset.
#[test]
fn a_free_plan_zone_running_the_free_managed_ruleset_passes_the_waf_check() {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(run("cloudflare.waf", Break::FreePlanFreeRuleset));
    assert_eq!(outcome.status, Status::Pass, "{}", outcome.message);
    assert!(
        outcome
            .message
            .contains("Cloudflare Managed Free Ruleset executing (rule free-managed)"),
        "{}",
        outcome.message
    );
    for (pointer, value) in [
        ("/expected/plan", json!("free")),
        (
            "/expected/executes",
            json!("77454fe2d30c4220b5701f6fdfb893ba"),
        ),
    ] {
        assert_eq!(
            evidence_at(&outcome.evidence, pointer),
            Some(&value),
            "{pointer}"
        );
    }
}

#[rstest]
#[case(Break::ExpiredCertificate, "edge.tls.certificate", &["api.restartix.test", "a certificate valid for api.restartix.test from a trusted CA expected, observed", "xpired"])]
#[case(Break::WrongNameCertificate, "edge.tls.certificate", &["api.restartix.test", "a certificate valid for api.restartix.test", "observed"])]
#[case(Break::CertificateExpiringSoon, "edge.tls.certificate", &["api.restartix.test", "certificate valid ≥ 21 days expected, observed 4 days"])]
#[case(Break::LegacyTlsAccepted, "edge.tls.legacy_rejected", &["api.restartix.test", "TLSv1.0 and TLSv1.1 handshake expected refused, observed accepted"])]
#[case(Break::HstsMissing, "edge.https.headers", &["https://api.restartix.test/health", "Strict-Transport-Security expected, observed none"])]
#[case(Break::HstsShort, "edge.https.headers", &["https://api.restartix.test/health", "HSTS max-age ≥ 15552000 expected, observed 300"])]
#[case(Break::NoCfRay, "edge.https.headers", &["https://api.restartix.test/health", "cf-ray header expected (served through Cloudflare), observed none"])]
#[case(Break::HttpForwards, "edge.http.redirect", &["http://api.restartix.test/health", "a redirect to https://api.restartix.test expected, observed 200"])]
#[case(Break::SslFull, "cloudflare.ssl_strict", &["zone 'restartix.test'", "SSL mode expected strict, observed full"])]
#[case(Break::MinTls10, "cloudflare.ssl_strict", &["zone 'restartix.test'", "min_tls_version expected ≥ 1.2, observed 1.0"])]
#[case(Break::WafMissing, "cloudflare.waf", &["zone 'restartix.test'", "the http_request_firewall_managed entrypoint expected, observed none"])]
#[case(Break::PaidPlanFreeRuleset, "cloudflare.waf", &["zone 'restartix.test'", "an enabled rule executing the Cloudflare Managed Ruleset (efb7b8c949ac4650a09736fc376e9aee)", "1 rule(s), none enabled and executing it"])]
#[case(Break::WafDisabled, "cloudflare.waf", &["zone 'restartix.test'", "an enabled rule executing the Cloudflare Managed Ruleset", "is disabled"])]
#[case(Break::WafOverriddenToLog, "cloudflare.waf", &["zone 'restartix.test'", "rule cmr-rule has overrides.action = log"])]
#[case(Break::WafOverrideDisabled, "cloudflare.waf", &["zone 'restartix.test'", "rule cmr-rule has overrides.enabled = false"])]
#[case(Break::WafSkippedEarlier, "cloudflare.waf", &["zone 'restartix.test'", "rule cmr-rule is skipped by earlier rule skip-all \"temporary exception\" (skip ruleset = current)"])]
#[case(Break::SslFlexibleConfigRule, "cloudflare.ssl_strict", &["zone 'restartix.test'", "Configuration Rule rule cfg-legacy (when http.host eq \"api.restartix.test\") expected SSL strict, observed flexible"])]
#[case(Break::SslFullPageRule, "cloudflare.ssl_strict", &["zone 'restartix.test'", "Page Rule", "(api.restartix.test/*) expected SSL strict, observed full"])]
#[case(Break::RedirectToLookalike, "edge.http.redirect", &["http://api.restartix.test/health", "a redirect to https://api.restartix.test expected", "observed Location \"https://api.restartix.test.evil.net/health\" (another host)"])]
#[case(Break::LegacyTlsAcceptedOnTls12Record, "edge.tls.legacy_rejected", &["api.restartix.test", "TLSv1.0 and TLSv1.1 handshake expected refused, observed accepted"])]
#[case(Break::CustomHostnamePending, "cloudflare.custom_hostnames", &["zone 'restartix.test'", "clinic.pending.test: status/ssl.status expected active/active, observed pending/pending_validation"])]
#[case(Break::SpfWithoutAmazonses, "ses.dns", &["restartix.test", "SPF on mail.restartix.test expected to include amazonses.com, observed \"v=spf1 include:_spf.google.com ~all\""])]
#[case(Break::DmarcNone, "ses.dns", &["restartix.test", "DMARC on _dmarc.restartix.test expected p=quarantine or p=reject, observed p=none"])]
#[case(Break::MxWrongProvider, "dns.mx", &["mail domain 'restartix.test'", "every MX target expected among google_workspace's MX hosts (smtp.google.com, aspmx.l.google.com", "observed 10 mx.zoho.eu, 20 mx2.zoho.eu"])]
#[case(Break::NullMx, "dns.mx", &["mail domain 'restartix.test'", "MX records expected at restartix.test, observed a null MX"])]
#[case(Break::SecurityHeadersMissing, "edge.https.security_headers", &["https://api.restartix.test/", "framing expected CSP frame-ancestors (no * or bare scheme) or X-Frame-Options DENY/SAMEORIGIN, observed no CSP frame-ancestors, X-Frame-Options none", "X-Content-Type-Options expected nosniff, observed none", "Referrer-Policy expected one of", "observed none"])]
#[case(Break::XFrameOptionsConflicting, "edge.https.security_headers", &["https://api.restartix.test/health", "observed no CSP frame-ancestors, X-Frame-Options 2 different values"])]
fn fails_against_broken_stand_ins(
    #[case] broken: Break,
    #[case] id: &str,
    #[case] message_parts: &[&str],
) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(run(id, broken));
    assert_eq!(
        outcome.status,
        Status::Fail,
        "{id} after {broken:?}: {}",
        outcome.message
    );
    for part in message_parts {
        assert!(
            outcome.message.contains(part),
            "{id} after {broken:?}: {:?} lacks {part:?}",
            outcome.message
        );
    }
    let evidence = &outcome.evidence;
    assert!(
        !evidence.resources.is_empty()
            && evidence.expected.as_object().is_some_and(|e| !e.is_empty())
            && evidence.observed.as_object().is_some_and(|o| !o.is_empty()),
        "{id} after {broken:?}: evidence names resources, expected and observed: {evidence}"
    );
}

/// A wrong Cloudflare token is an error naming the API, never a pass.
#[test]
fn a_wrong_cloudflare_token_is_an_error() {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let dir =
            std::env::temp_dir().join(format!("verify-standins-token-{}", std::process::id()));
        let standins = standins::start(&dir).await.expect("stand-ins");
        let mut account = Account::seeded(&[]).await.expect("account");
        standins.state.endpoints().point(&mut account.env);
        account
            .env
            .edge
            .as_mut()
            .unwrap()
            .cloudflare
            .as_mut()
            .unwrap()
            .token = Some("wrong-token".into());
        let outcome = account.check("cloudflare.ssl_strict").await;
        standins.edge.shutdown().await;
        let _ = std::fs::remove_dir_all(dir);
        outcome
    });
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("cloudflare api"),
        "{}",
        outcome.message
    );
}

/// An edge that does not answer is an error with the probe named, not a fail or a pass.
#[test]
fn an_unreachable_edge_is_an_error() {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let mut account = Account::seeded(&[]).await.expect("account");
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        account.env.edge.as_mut().unwrap().resolve =
            vec![("api.restartix.test".into(), format!("127.0.0.1:{closed}"))];
        account.check("edge.tls.certificate").await
    });
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome
            .message
            .contains("tls handshake failed for api.restartix.test"),
        "{}",
        outcome.message
    );
}

/// `canary.t0` both ways: private stand-ins (the edge and a Core API of their
/// own, so the case can break them) persisting into the running sandbox's
/// database through its pgbouncer balancer, as the sandbox's own Core API does.
/// Writes allowed (`--allow-writes`): whatever the steps did, what they wrote
/// is undone (a lost write's undo finds it already gone), and said so.
#[rstest]
#[case::good(Knobs::default(), Status::Pass, &["canary 't0': 5 step(s) as expected", "; wrote: POST /v1/auth/sign-in, POST /v1/appointments; all undone"])]
#[case::error_500(Knobs { error_500: true, ..Knobs::default() }, Status::Fail, &["canary 't0': step `list_specialists` status expected 200, observed 500", "; wrote: POST /v1/auth/sign-in; all undone"])]
#[case::slow(Knobs { slow_ms: 2_500, ..Knobs::default() }, Status::Fail, &["canary 't0': step `list_orgs` latency expected ≤ 2000 ms, observed 2", "; wrote: POST /v1/auth/sign-in; all undone"])]
#[case::lost_write(Knobs { drop_writes: true, ..Knobs::default() }, Status::Fail, &["canary 't0': step `read_back` status expected 200, observed 404", "; wrote: POST /v1/auth/sign-in, POST /v1/appointments; all undone"])]
#[case::undo_fails(Knobs { fail_deletes: true, ..Knobs::default() }, Status::Error, &["canary 't0': POST /v1/appointments (step `create_appointment`) remains: undo `delete_appointment` status expected 204 or 404, observed 500; the steps: 5 step(s) as expected", "; undone: POST /v1/auth/sign-in; not undone: POST /v1/appointments"])]
#[case::cached(Knobs { cached: true, ..Knobs::default() }, Status::Error, &["canary 't0': step `list_orgs`: the response was served from a cache (cf-cache-status: HIT): not fresh", "; wrote: POST /v1/auth/sign-in; all undone"])]
#[case::null_ids(Knobs { null_org_ids: true, ..Knobs::default() }, Status::Fail, &["canary 't0': step `list_orgs` body /items/0/id present expected, observed null", "; wrote: POST /v1/auth/sign-in; all undone"])]
fn canary_both_ways(#[case] knobs: Knobs, #[case] status: Status, #[case] parts: &[&str]) {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(canary_on_a_core_api_of_its_own("canary.t0", knobs, true));
    assert_eq!(outcome.status, status, "{}", outcome.message);
    for part in parts {
        assert!(
            outcome.message.contains(part),
            "message {:?} lacks {part:?}",
            outcome.message
        );
    }
    let evidence = &outcome.evidence;
    assert_eq!(evidence.details["writes"], json!(true));
    assert!(
        evidence.resources.iter().any(|r| r == "canary 't0'")
            && evidence.expected["steps"]
                .as_array()
                .is_some_and(|s| s.len() == 5)
            && evidence.observed["steps"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
        "{evidence}"
    );
    // Every write is undone (but the one whose undo fails), and the
    // evidence says so.
    let wrote = evidence.details["wrote"].as_array().expect("wrote");
    assert!(
        !wrote.is_empty()
            && wrote.iter().all(|w| {
                let kept = knobs.fail_deletes && w["step"] == "create_appointment";
                w["undone"] == json!(!kept)
            }),
        "{evidence}"
    );
    assert!(
        evidence.details["header"]
            .as_str()
            .is_some_and(|h| h.starts_with("X-Verify-Canary: ")),
        "{evidence}"
    );
    // No secret in the message or the evidence: the templates, never the
    // password or the token.
    for text in [evidence.to_string(), outcome.message.clone()] {
        assert!(
            !text.contains(fixtures::core_api::CANARY_PASSWORD),
            "{text}"
        );
    }
}

/// Runs canary `id` of a fresh seeded account's spec against stand-ins of
/// its own (the edge, and a Core API with `knobs`) persisting into the
/// running sandbox's database, as the sandbox's own Core API does; writes
/// allowed or not.
pub(crate) async fn canary_on_a_core_api_of_its_own(
    id: &str,
    knobs: Knobs,
    allow_writes: bool,
) -> Outcome {
    let state = fixtures::SandboxState::load()
        .expect("sandbox state")
        .expect("the sandbox is running");
    let database_url = state
        .standins
        .as_ref()
        .and_then(|s| s.core_api.as_ref())
        .map(|api| api.database_url.clone())
        .expect("the sandbox's Core API and its database URL");
    let dir = std::env::temp_dir().join(format!(
        "verify-canary-{}-{}",
        std::process::id(),
        infra_tests::fresh_account()
    ));
    let mut standins = standins::start(&dir).await.expect("stand-ins");
    standins
        .start_core_api_at(&database_url)
        .await
        .expect("a Core API of its own");
    standins.core_api.as_ref().unwrap().set_knobs(knobs);
    let mut account = Account::seeded(&[]).await.expect("account");
    standins.state.endpoints().point(&mut account.env);
    let run = verify::RunSettings {
        allow_writes,
        ..verify::RunSettings::default()
    };
    let gate = account.gate().await.with_run(run);
    gate.run_id(id)
        .await
        .unwrap_or_else(|| panic!("{id} in the catalogue"))
}
