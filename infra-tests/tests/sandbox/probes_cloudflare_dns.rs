//! The Cloudflare API client and the TXT probe against the real local
//! stand-ins (`fixtures::cloudflare_api`, `fixtures::dns`), over loopback
//! HTTP and DNS: each behaviour both ways, and the error paths.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use fixtures::cloudflare_api::{
    CLOUDFLARE_IPV4_CIDRS, CLOUDFLARE_IPV6_CIDRS, CloudflareApi, CloudflareApiHandle,
    CloudflareSeed,
};
use fixtures::dns::{DnsHandle, DnsServer, sandbox_mail_from, sandbox_records};
use rstest::rstest;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use verify::probe::cloudflare::{
    CLOUDFLARE_MANAGED_RULESET_ID, CloudflareClient, CloudflareError, FALLBACK_IPS,
};
use verify::probe::dns::{DnsError, txt};

const ZONE: &str = "restartix.test";
const TOKEN: &str = "sandbox-cloudflare-token";
const TIMEOUT: Duration = Duration::from_secs(3);

// ------------------------------------------------------------ Cloudflare

async fn cloudflare(custom_hostnames: &[&str]) -> CloudflareApiHandle {
    CloudflareApi::start(CloudflareSeed {
        token: TOKEN.into(),
        zone: ZONE.into(),
        custom_hostnames: custom_hostnames.iter().map(|s| (*s).to_owned()).collect(),
    })
    .await
    .expect("Cloudflare API stand-in starts")
}

fn client(api: &CloudflareApiHandle) -> CloudflareClient {
    CloudflareClient::new(Some(&api.base_url()), TOKEN, TIMEOUT).expect("client builds")
}

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn zone_lookup_finds_the_seeded_zone_and_not_another() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&[]).await;
    let cf = client(&api);

    assert_eq!(cf.zone_id(ZONE).await.unwrap(), api.zone_id());
    let err = cf.zone_id("elsewhere.test").await.unwrap_err();
    assert!(
        matches!(&err, CloudflareError::ZoneNotFound { name, .. } if name == "elsewhere.test"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("GET /zones?name=elsewhere.test"),
        "{err}"
    );
}

#[tokio::test]
async fn settings_are_read_and_a_change_is_seen() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&[]).await;
    let cf = client(&api);
    let zone = cf.zone_id(ZONE).await.unwrap();

    assert_eq!(cf.setting(&zone, "ssl").await.unwrap(), json!("strict"));
    assert_eq!(
        cf.setting(&zone, "min_tls_version").await.unwrap(),
        json!("1.2")
    );
    assert_eq!(
        cf.setting(&zone, "always_use_https").await.unwrap(),
        json!("on")
    );

    // The stand-in refuses a value Cloudflare would refuse, and keeps the old one.
    assert!(api.set_setting("ssl", json!("bogus")).await.is_err());
    assert_eq!(cf.setting(&zone, "ssl").await.unwrap(), json!("strict"));

    api.set_setting("ssl", json!("full")).await.unwrap();
    api.set_setting("always_use_https", json!("off"))
        .await
        .unwrap();
    assert_eq!(cf.setting(&zone, "ssl").await.unwrap(), json!("full"));
    assert_eq!(
        cf.setting(&zone, "always_use_https").await.unwrap(),
        json!("off")
    );
}

#[tokio::test]
async fn unknown_setting_or_zone_is_an_error_naming_the_endpoint() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&[]).await;
    let cf = client(&api);
    let zone = api.zone_id().to_owned();

    let err = cf.setting(&zone, "no_such_setting").await.unwrap_err();
    assert!(
        matches!(err, CloudflareError::Api { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.endpoint(),
        Some(format!("GET /zones/{zone}/settings/no_such_setting").as_str())
    );

    // An unknown zone is an error, never "no entrypoint".
    let err = cf
        .firewall_managed_entrypoint("0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CloudflareError::Api { status: 404, errors, .. } if errors[0].code == 7003),
        "{err:?}"
    );
}

#[tokio::test]
async fn firewall_entrypoint_executes_the_managed_ruleset() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&[]).await;
    let cf = client(&api);
    let zone = cf.zone_id(ZONE).await.unwrap();

    let ruleset = cf
        .firewall_managed_entrypoint(&zone)
        .await
        .unwrap()
        .expect("seeded entrypoint");
    assert_eq!(
        ruleset.phase.as_deref(),
        Some("http_request_firewall_managed")
    );
    let executing: Vec<_> = ruleset.executing(CLOUDFLARE_MANAGED_RULESET_ID).collect();
    assert_eq!(executing.len(), 1, "{ruleset:?}");
    assert!(executing[0].enabled);
}

#[tokio::test]
async fn firewall_entrypoint_disabled_or_deleted_is_seen() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&[]).await;
    let cf = client(&api);
    let zone = cf.zone_id(ZONE).await.unwrap();

    // Rule present but disabled: the ruleset is there, nothing executes.
    api.put_firewall_managed_rules(json!([{
        "action": "execute",
        "action_parameters": { "id": CLOUDFLARE_MANAGED_RULESET_ID },
        "expression": "true",
        "enabled": false
    }]))
    .await
    .unwrap();
    let ruleset = cf
        .firewall_managed_entrypoint(&zone)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ruleset.rules.len(), 1);
    assert_eq!(ruleset.executing(CLOUDFLARE_MANAGED_RULESET_ID).count(), 0);

    api.delete_firewall_managed_entrypoint().await.unwrap();
    assert_eq!(cf.firewall_managed_entrypoint(&zone).await.unwrap(), None);
}

#[tokio::test]
async fn configuration_rules_and_page_rules_are_read_and_changes_seen() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&[]).await;
    let cf = client(&api);
    let zone = cf.zone_id(ZONE).await.unwrap();

    // None at start: no Configuration Rules entrypoint (404), no Page Rules.
    assert_eq!(cf.config_settings_entrypoint(&zone).await.unwrap(), None);
    assert!(cf.page_rules(&zone).await.unwrap().is_empty());

    api.put_config_rules(json!([{
        "action": "set_config",
        "action_parameters": { "ssl": "flexible" },
        "expression": "http.host eq \"api.restartix.test\"",
        "description": "legacy origin"
    }]))
    .await
    .unwrap();
    let id = api
        .create_page_rule(json!({
            "targets": [{ "target": "url", "constraint": { "operator": "matches", "value": "api.restartix.test/old/*" } }],
            "actions": [{ "id": "ssl", "value": "full" }],
            "priority": 1,
            "status": "active"
        }))
        .await
        .unwrap();

    let config = cf
        .config_settings_entrypoint(&zone)
        .await
        .unwrap()
        .expect("entrypoint after PUT");
    assert_eq!(config.phase.as_deref(), Some("http_config_settings"));
    assert_eq!(config.rules.len(), 1);
    assert_eq!(config.rules[0].action.as_deref(), Some("set_config"));
    assert!(config.rules[0].enabled);
    let rules = cf.page_rules(&zone).await.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id, id);
    assert_eq!(rules[0].status, "active");
    assert_eq!(rules[0].action("ssl"), Some(&json!("full")));
    assert_eq!(rules[0].patterns(), "api.restartix.test/old/*");

    api.delete_page_rule(&id).await.unwrap();
    assert!(cf.page_rules(&zone).await.unwrap().is_empty());
    // The managed-firewall entrypoint is untouched by all this.
    assert!(
        cf.firewall_managed_entrypoint(&zone)
            .await
            .unwrap()
            .is_some()
    );
}

/// A Page Rules or Configuration Rules read that fails is an error, never
/// "no overrides": a token without the permission, a server error, an
/// unknown zone, a server that repeats its one page.
#[rstest]
#[case::forbidden(
    "403 Forbidden",
    r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"result":null}"#
)]
#[case::forbidden_bare(
    "403 Forbidden",
    r#"{"success":false,"errors":[{"code":9109,"message":"Unauthorized to access requested resource"}]}"#
)]
#[case::server_error(
    "500 Internal Server Error",
    r#"{"success":false,"errors":[],"result":null}"#
)]
#[case::unknown_zone(
    "404 Not Found",
    r#"{"success":false,"errors":[{"code":7003,"message":"Could not route"}],"result":null}"#
)]
#[tokio::test]
async fn a_failed_override_read_is_an_error(
    #[case] status: &'static str,
    #[case] body: &'static str,
) {
    let _sandbox = infra_tests::reading();
    let port = canned(status, body).await;
    let cf = CloudflareClient::new(
        Some(&format!("http://127.0.0.1:{port}/client/v4")),
        TOKEN,
        TIMEOUT,
    )
    .unwrap();
    let err = cf.page_rules("z").await.unwrap_err();
    assert_eq!(err.endpoint(), Some("GET /zones/z/pagerules"), "{err:?}");
    // Cloudflare's own code is named, whatever else the answer lacks.
    if let Some(code) = body
        .split("\"code\":")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
    {
        assert!(err.to_string().contains(&format!("[{code}]")), "{err}");
    }
    let err = cf.config_settings_entrypoint("z").await.unwrap_err();
    assert_eq!(
        err.endpoint(),
        Some("GET /zones/z/rulesets/phases/http_config_settings/entrypoint"),
        "{err:?}"
    );
}

#[tokio::test]
async fn page_rules_follow_pages_and_a_repeated_page_is_an_error() {
    let _sandbox = infra_tests::reading();
    let port = canned(
        "200 OK",
        r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"p1","status":"active","targets":[],"actions":[{"id":"ssl","value":"strict"}]}],"result_info":{"page":1,"total_pages":2}}"#,
    )
    .await;
    let cf = CloudflareClient::new(
        Some(&format!("http://127.0.0.1:{port}/client/v4")),
        TOKEN,
        TIMEOUT,
    )
    .unwrap();
    let err = cf.page_rules("z").await.unwrap_err();
    assert!(
        matches!(&err, CloudflareError::Decode { endpoint, .. } if endpoint.contains("page=2")),
        "{err:?}"
    );
}

#[rstest]
#[case::small_pages(5, 11)]
#[case::cloudflare_page_size(50, 51)]
#[tokio::test]
async fn custom_hostnames_are_read_across_every_page(
    #[case] per_page: u32,
    #[case] created: usize,
) {
    let _sandbox = infra_tests::reading();
    let seeded = ["app.physio-bucharest.test", "portal.kinetic-cluj.test"];
    let api = cloudflare(&seeded).await;
    let cf = client(&api).with_per_page(per_page);
    let zone = cf.zone_id(ZONE).await.unwrap();

    let mut expected: BTreeSet<String> = seeded.iter().map(|s| (*s).to_owned()).collect();
    for i in 0..created {
        let name = format!("tenant{i:03}.clinics.test");
        api.create_custom_hostname(&name, Some("active"), Some("active"))
            .await
            .unwrap();
        expected.insert(name);
    }
    assert!(expected.len() > per_page as usize);

    let hostnames = cf.custom_hostnames(&zone).await.unwrap();
    let names: BTreeSet<String> = hostnames.iter().map(|h| h.hostname.clone()).collect();
    assert_eq!(
        hostnames.len(),
        expected.len(),
        "no duplicates, none missing"
    );
    assert_eq!(names, expected);
    let ids: BTreeSet<&str> = hostnames.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids.len(), hostnames.len());
    assert!(
        hostnames
            .iter()
            .all(|h| h.status == "active" && h.ssl_status.as_deref() == Some("active"))
    );
}

#[tokio::test]
async fn a_pending_custom_hostname_is_seen_as_pending_and_a_deleted_one_is_gone() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&["app.physio-bucharest.test"]).await;
    let cf = client(&api);
    let zone = cf.zone_id(ZONE).await.unwrap();

    let pending = api
        .create_custom_hostname(
            "new.clinic.test",
            Some("pending"),
            Some("pending_validation"),
        )
        .await
        .unwrap();
    // Without the sandbox extension, Cloudflare's own defaults.
    api.create_custom_hostname("default.clinic.test", None, None)
        .await
        .unwrap();

    let hostnames = cf.custom_hostnames(&zone).await.unwrap();
    let find = |name: &str| hostnames.iter().find(|h| h.hostname == name).cloned();
    let seeded = find("app.physio-bucharest.test").unwrap();
    assert_eq!(
        (seeded.status.as_str(), seeded.ssl_status.as_deref()),
        ("active", Some("active"))
    );
    let new = find("new.clinic.test").unwrap();
    assert_eq!(new.id, pending);
    assert_eq!(
        (new.status.as_str(), new.ssl_status.as_deref()),
        ("pending", Some("pending_validation"))
    );
    let default = find("default.clinic.test").unwrap();
    assert_eq!(
        (default.status.as_str(), default.ssl_status.as_deref()),
        ("pending", Some("initializing"))
    );

    api.delete_custom_hostname(&pending).await.unwrap();
    let hostnames = cf.custom_hostnames(&zone).await.unwrap();
    assert!(hostnames.iter().all(|h| h.hostname != "new.clinic.test"));
    assert_eq!(hostnames.len(), 2);
}

#[tokio::test]
async fn ips_are_cloudflare_published_ranges_without_a_token() {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&[]).await;
    // /ips needs no authentication: a client with a wrong token still reads it.
    let cf = CloudflareClient::new(Some(&api.base_url()), "wrong", TIMEOUT).unwrap();

    let ips = cf.ips().await.unwrap();
    assert_eq!(ips.ipv4_cidrs, CLOUDFLARE_IPV4_CIDRS);
    assert_eq!(ips.ipv6_cidrs, CLOUDFLARE_IPV6_CIDRS);
    assert!(ips.ipv4_cidrs.iter().any(|c| c == "173.245.48.0/20"));
    // The stand-in and the bundled fallback are the same snapshot.
    assert_eq!(ips, FALLBACK_IPS.to_owned_ips());
}

#[rstest]
#[case::wrong_token("not-the-token")]
#[case::empty_token("")]
#[tokio::test]
async fn a_bad_token_is_unauthorized_never_data(#[case] token: &str) {
    let _sandbox = infra_tests::reading();
    let api = cloudflare(&["app.physio-bucharest.test"]).await;
    let cf = CloudflareClient::new(Some(&api.base_url()), token, TIMEOUT).unwrap();
    let zone = api.zone_id().to_owned();

    let errors = [
        cf.zone_id(ZONE).await.unwrap_err(),
        cf.setting(&zone, "ssl").await.unwrap_err(),
        cf.firewall_managed_entrypoint(&zone).await.unwrap_err(),
        cf.custom_hostnames(&zone).await.unwrap_err(),
    ];
    for err in errors {
        match &err {
            CloudflareError::Unauthorized {
                status,
                errors,
                endpoint,
            } => {
                assert_eq!(*status, 403);
                assert_eq!(errors[0].code, 9109, "{errors:?}");
                assert!(endpoint.starts_with("GET /zones"), "{endpoint}");
            }
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_closed_port_fails_fast() {
    let _sandbox = infra_tests::reading();
    let port = closed_port().await;
    let cf = CloudflareClient::new(
        Some(&format!("http://127.0.0.1:{port}/client/v4")),
        TOKEN,
        Duration::from_secs(10),
    )
    .unwrap();

    let started = Instant::now();
    let err = cf.zone_id(ZONE).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, CloudflareError::Transport { .. }), "{err:?}");
    assert!(err.to_string().starts_with("GET /zones?name="), "{err}");
    assert!(matches!(
        cf.ips().await,
        Err(CloudflareError::Transport { .. })
    ));
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let _sandbox = infra_tests::reading();
    // Accepts connections and never answers.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let timeout = Duration::from_millis(400);
    let cf = CloudflareClient::new(
        Some(&format!("http://127.0.0.1:{port}/client/v4")),
        TOKEN,
        timeout,
    )
    .unwrap();

    let started = Instant::now();
    let err = cf.setting("z", "ssl").await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert!(
        matches!(&err, CloudflareError::Timeout { endpoint, .. } if endpoint == "GET /zones/z/settings/ssl"),
        "{err:?}"
    );
    hold.abort();
}

/// A one-shot HTTP server answering every request with `status` and `body`.
async fn canned(status: &'static str, body: &'static str) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    port
}

#[rstest]
#[case::success_false_on_200(
    "200 OK",
    r#"{"success":false,"errors":[{"code":1000,"message":"boom"}],"messages":[],"result":{"value":"strict"}}"#
)]
#[case::server_error(
    "500 Internal Server Error",
    r#"{"success":false,"errors":[],"result":null}"#
)]
#[case::not_json("200 OK", "<html>maintenance</html>")]
#[tokio::test]
async fn an_unsuccessful_or_garbled_answer_is_an_error_never_data(
    #[case] status: &'static str,
    #[case] body: &'static str,
) {
    let _sandbox = infra_tests::reading();
    let port = canned(status, body).await;
    let cf = CloudflareClient::new(
        Some(&format!("http://127.0.0.1:{port}/client/v4")),
        TOKEN,
        TIMEOUT,
    )
    .unwrap();
    let err = cf.setting("z", "ssl").await.unwrap_err();
    assert!(
        matches!(
            err,
            CloudflareError::Api { .. } | CloudflareError::Decode { .. }
        ),
        "{err:?}"
    );
    assert_eq!(err.endpoint(), Some("GET /zones/z/settings/ssl"));
}

#[tokio::test]
async fn a_server_that_ignores_pages_is_an_error_not_a_loop() {
    let _sandbox = infra_tests::reading();
    // Every page is the same full page, and there is no `result_info`.
    let port = canned(
        "200 OK",
        r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"a","hostname":"a.test","status":"active","ssl":{"status":"active"}}]}"#,
    )
    .await;
    let cf = CloudflareClient::new(
        Some(&format!("http://127.0.0.1:{port}/client/v4")),
        TOKEN,
        TIMEOUT,
    )
    .unwrap()
    .with_per_page(1);
    let err = cf.custom_hostnames("z").await.unwrap_err();
    assert!(
        matches!(&err, CloudflareError::Decode { endpoint, .. } if endpoint.contains("page=2")),
        "{err:?}"
    );
}

// ------------------------------------------------------------ DNS

async fn dns() -> DnsHandle {
    DnsServer::start(ZONE, sandbox_records(ZONE))
        .await
        .expect("DNS stand-in starts")
}

fn spf_name() -> String {
    sandbox_mail_from(ZONE)
}

fn dmarc_name() -> String {
    format!("_dmarc.{ZONE}")
}

#[tokio::test]
async fn spf_and_dmarc_are_read() {
    let _sandbox = infra_tests::reading();
    let server = dns().await;

    let spf = txt(&spf_name(), Some(server.addr), TIMEOUT).await.unwrap();
    assert_eq!(spf, ["v=spf1 include:amazonses.com ~all"]);
    let dmarc = txt(&dmarc_name(), Some(server.addr), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        dmarc,
        [format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{ZONE}")]
    );
}

#[tokio::test]
async fn a_change_at_run_time_is_seen_by_the_next_query() {
    let _sandbox = infra_tests::reading();
    let server = dns().await;

    server
        .set_txt(
            &spf_name(),
            vec!["v=spf1 include:_spf.google.com ~all".into()],
        )
        .await
        .unwrap();
    server
        .set_txt(&dmarc_name(), vec!["v=DMARC1; p=none".into()])
        .await
        .unwrap();

    let spf = txt(&spf_name(), Some(server.addr), TIMEOUT).await.unwrap();
    assert_eq!(spf, ["v=spf1 include:_spf.google.com ~all"]);
    assert!(!spf[0].contains("amazonses.com"));
    let dmarc = txt(&dmarc_name(), Some(server.addr), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(dmarc, ["v=DMARC1; p=none"]);
}

#[tokio::test]
async fn several_records_are_all_returned_and_multi_string_ones_joined() {
    let _sandbox = infra_tests::reading();
    let server = dns().await;

    server
        .set_txt_strings(
            &spf_name(),
            vec![
                vec!["v=spf1 include:amazon".into(), "ses.com ~all".into()],
                vec!["google-site-verification=abc".into()],
            ],
        )
        .await
        .unwrap();
    let long = format!("v=DMARC1; p=reject; rua=mailto:{}@{ZONE}", "a".repeat(300));
    server
        .set_txt(&dmarc_name(), vec![long.clone()])
        .await
        .unwrap();

    let mut spf = txt(&spf_name(), Some(server.addr), TIMEOUT).await.unwrap();
    spf.sort();
    assert_eq!(
        spf,
        [
            "google-site-verification=abc",
            "v=spf1 include:amazonses.com ~all"
        ]
    );
    assert_eq!(
        txt(&dmarc_name(), Some(server.addr), TIMEOUT)
            .await
            .unwrap(),
        [long]
    );
}

#[tokio::test]
async fn a_record_too_large_for_udp_is_read_over_tcp() {
    let _sandbox = infra_tests::reading();
    let server = dns().await;
    // ~4 KB: beyond any UDP payload the resolver advertises, so the server
    // truncates and the probe must retry over TCP to read it whole.
    let large = format!(
        "v=spf1 {} include:amazonses.com ~all",
        "ip4:192.0.2.1 ".repeat(300)
    );
    assert!(large.len() > 4000);
    server
        .set_txt(&spf_name(), vec![large.clone()])
        .await
        .unwrap();

    let spf = txt(&spf_name(), Some(server.addr), TIMEOUT).await.unwrap();
    assert_eq!(spf.len(), 1);
    assert_eq!(spf[0].len(), large.len());
    assert_eq!(spf[0], large);
}

#[tokio::test]
async fn absent_records_read_as_empty() {
    let _sandbox = infra_tests::reading();
    let server = dns().await;

    // Unknown name in the zone: NXDOMAIN.
    let unknown = txt(&format!("nothing-here.{ZONE}"), Some(server.addr), TIMEOUT).await;
    assert_eq!(unknown.unwrap(), Vec::<String>::new());
    // The apex exists (SOA) but has no TXT: NODATA.
    assert_eq!(
        txt(ZONE, Some(server.addr), TIMEOUT).await.unwrap(),
        Vec::<String>::new()
    );

    // Removing DMARC and emptying SPF: both read empty afterwards.
    assert!(
        !txt(&dmarc_name(), Some(server.addr), TIMEOUT)
            .await
            .unwrap()
            .is_empty()
    );
    server.remove(&dmarc_name()).await.unwrap();
    server.set_txt(&spf_name(), vec![]).await.unwrap();
    assert_eq!(
        txt(&dmarc_name(), Some(server.addr), TIMEOUT)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        txt(&spf_name(), Some(server.addr), TIMEOUT).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_name_outside_the_zone_is_refused_as_an_error() {
    let _sandbox = infra_tests::reading();
    let server = dns().await;

    let err = txt("_dmarc.example.org", Some(server.addr), TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::Lookup { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("_dmarc.example.org"), "{message}");
    assert!(message.contains(&server.addr.to_string()), "{message}");
}

#[tokio::test]
async fn a_closed_nameserver_port_is_an_error_within_the_timeout() {
    let _sandbox = infra_tests::reading();
    let port = {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        udp.local_addr().unwrap().port()
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(2);

    let started = Instant::now();
    let err = txt(&spf_name(), Some(addr), timeout).await.unwrap_err();
    assert!(
        started.elapsed() < timeout + Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(
        message.contains(&spf_name()) && message.contains(&addr.to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn a_silent_nameserver_times_out() {
    let _sandbox = infra_tests::reading();
    // Receives queries and never answers (and nothing on TCP).
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = silent.local_addr().unwrap();
    let timeout = Duration::from_millis(600);

    let started = Instant::now();
    let err = txt(&dmarc_name(), Some(addr), timeout).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed < timeout + Duration::from_millis(1500),
        "{elapsed:?}"
    );
    assert!(
        matches!(&err, DnsError::Timeout { .. } | DnsError::Lookup { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    drop(silent);
}

#[tokio::test]
async fn a_stopped_server_is_an_error_not_an_empty_answer() {
    let _sandbox = infra_tests::reading();
    let server = dns().await;
    let addr = server.addr;
    assert!(
        !txt(&spf_name(), Some(addr), TIMEOUT)
            .await
            .unwrap()
            .is_empty()
    );

    server.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = txt(&spf_name(), Some(addr), Duration::from_secs(2)).await;
    assert!(err.is_err(), "{err:?}");
}
