//! The edge probes against the edge stand-in, over real TLS and HTTP on
//! loopback: each test starts its own [`EdgeServer`] (certificates from a
//! fresh sandbox CA), probes it with the real `verify` probes, and breaks it
//! the way production breaks to see the probes notice.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fixtures::edge::{DEFAULT_HSTS_MAX_AGE, EdgeConfig, EdgeHandle, EdgeServer, HttpMode};
use fixtures::pki::{CA_COMMON_NAME, IssuedCert, SandboxCa};
use rstest::rstest;
use verify::probe::http::{HttpOptions, HttpResponse, get};
use verify::probe::tls::{
    HandshakeReport, LegacyAnswer, LegacyTls, ProbeError, TlsTarget, handshake, legacy_handshake,
    legacy_version_accepted,
};

const HOST: &str = "app.sandbox.test";
const OTHER: &str = "api.sandbox.test";
const DAY: Duration = Duration::from_secs(86_400);
const TIMEOUT: Duration = Duration::from_secs(5);

/// A CA, an edge whose default certificate covers [`HOST`] and [`OTHER`]
/// for 60 days (plus an hour, so "days left" is exactly 60), and the
/// certificate's notAfter.
struct Edge {
    ca: SandboxCa,
    handle: EdgeHandle,
    not_after: SystemTime,
}

impl Edge {
    async fn start(configure: impl FnOnce(&SandboxCa, &mut EdgeConfig)) -> Edge {
        let ca = SandboxCa::generate().expect("sandbox CA");
        let now = SystemTime::now();
        let not_after = now + 60 * DAY + Duration::from_secs(3600);
        let cert = ca
            .issue(&[HOST, OTHER], now - DAY, not_after)
            .expect("default certificate");
        let mut config = EdgeConfig::new(cert);
        configure(&ca, &mut config);
        let handle = EdgeServer::start(config).await.expect("edge starts");
        Edge {
            ca,
            handle,
            not_after,
        }
    }

    async fn good() -> Edge {
        Edge::start(|_, _| {}).await
    }

    fn target(&self, hostname: &str) -> TlsTarget {
        TlsTarget::new(hostname, self.handle.https_addr()).with_roots([self.ca.ca_der()])
    }

    async fn handshake(&self, hostname: &str) -> Result<HandshakeReport, ProbeError> {
        handshake(&self.target(hostname), TIMEOUT).await
    }

    async fn legacy(&self, version: LegacyTls) -> Result<bool, ProbeError> {
        legacy_version_accepted(HOST, self.handle.https_addr(), version, TIMEOUT).await
    }

    fn options(&self, follow_redirects: u8) -> HttpOptions {
        HttpOptions {
            resolve: vec![
                (format!("{HOST}:443"), self.handle.https_addr()),
                (format!("{HOST}:80"), self.handle.http_addr()),
            ],
            extra_roots: vec![self.ca.ca_der()],
            timeout: TIMEOUT,
            follow_redirects,
        }
    }

    async fn get(&self, url: &str, follow_redirects: u8) -> Result<HttpResponse, ProbeError> {
        get(url, &self.options(follow_redirects)).await
    }

    fn issue(&self, names: &[&str], not_before: SystemTime, not_after: SystemTime) -> IssuedCert {
        self.ca
            .issue(names, not_before, not_after)
            .expect("certificate")
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

fn expired_cert(ca: &SandboxCa) -> IssuedCert {
    let now = SystemTime::now();
    ca.issue(&[HOST], now - 90 * DAY, now - DAY)
        .expect("expired certificate")
}

fn assert_certificate_error(result: Result<HandshakeReport, ProbeError>, needle: &str) {
    match result {
        Err(ProbeError::Certificate { hostname, reason }) => {
            assert_eq!(hostname, HOST);
            assert!(
                reason.to_lowercase().contains(needle),
                "reason {reason:?} should mention {needle:?}"
            );
        }
        other => panic!("expected a certificate error mentioning {needle:?}, got {other:?}"),
    }
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("free port")
}

// --- edge.tls.certificate ---------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_chain_and_name_reports_tls13_and_the_expiry() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    let report = edge.handshake(HOST).await.expect("handshake");
    assert_eq!(report.protocol, "TLSv1.3");
    assert_eq!(report.hostname, HOST);
    assert_eq!(report.address, edge.handle.https_addr());
    assert_eq!(unix_seconds(report.not_after), unix_seconds(edge.not_after));
    assert_eq!(report.days_left, 60);
    assert_eq!(report.names, vec![HOST.to_owned(), OTHER.to_owned()]);
    assert!(report.subject.contains(HOST), "{}", report.subject);
    assert!(report.issuer.contains(CA_COMMON_NAME), "{}", report.issuer);
    assert!(
        report.cipher_suite.starts_with("TLS13_"),
        "{}",
        report.cipher_suite
    );
    assert_eq!(report.chain_len, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_from_an_untrusted_ca_is_a_certificate_error() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    // The same server, trusted through the sandbox CA: passes.
    edge.handshake(HOST).await.expect("trusted handshake");
    // Without the sandbox CA, only the web PKI: the chain does not validate.
    let untrusted = TlsTarget::new(HOST, edge.handle.https_addr());
    assert_certificate_error(handshake(&untrusted, TIMEOUT).await, "unknown");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_is_a_certificate_error_naming_the_host() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::start(|ca, config| {
        config.certs.insert(HOST.to_owned(), expired_cert(ca));
    })
    .await;
    assert_certificate_error(edge.handshake(HOST).await, "expired");
    // The other hostname on the same edge still has the valid default.
    let other = edge.handshake(OTHER).await.expect("other hostname");
    assert_eq!(other.days_left, 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_expiring_on_a_running_edge_is_seen_at_once() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    edge.handshake(HOST).await.expect("valid before the change");
    let expired = expired_cert(&edge.ca);
    edge.handle
        .update(|c| {
            c.certs.insert(HOST.to_owned(), expired);
        })
        .expect("update");
    assert_certificate_error(edge.handshake(HOST).await, "expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_close_to_expiry_reports_few_days_left() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    let now = SystemTime::now();
    let soon = edge.issue(&[HOST], now - DAY, now + 5 * DAY + Duration::from_secs(600));
    edge.handle
        .update(|c| {
            c.certs.insert(HOST.to_owned(), soon);
        })
        .expect("update");
    let report = edge.handshake(HOST).await.expect("still valid");
    assert_eq!(report.days_left, 5);
    assert_eq!(edge.handshake(OTHER).await.expect("other").days_left, 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_name_certificate_is_a_certificate_error() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::start(|ca, config| {
        let now = SystemTime::now();
        let wrong = ca
            .issue(&["www.elsewhere.test"], now - DAY, now + 90 * DAY)
            .expect("certificate");
        config.certs.insert(HOST.to_owned(), wrong);
    })
    .await;
    assert_certificate_error(edge.handshake(HOST).await, "not valid for name");
    edge.handshake(OTHER).await.expect("other hostname passes");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_fails_the_https_probe_too() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    let ok = edge
        .get(&format!("https://{HOST}/health"), 0)
        .await
        .expect("get");
    assert_eq!(ok.status, 200);
    let expired = expired_cert(&edge.ca);
    edge.handle
        .update(|c| {
            c.certs.insert(HOST.to_owned(), expired);
        })
        .expect("update");
    match edge.get(&format!("https://{HOST}/health"), 0).await {
        Err(ProbeError::Certificate { hostname, reason }) => {
            assert_eq!(hostname, HOST);
            assert!(reason.contains("expired"), "{reason}");
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

// --- edge.tls.legacy_rejected -----------------------------------------------

#[rstest]
#[case::tls10(LegacyTls::Tls10)]
#[case::tls11(LegacyTls::Tls11)]
#[tokio::test(flavor = "multi_thread")]
async fn legacy_tls_is_refused_by_default_and_seen_when_accepted(#[case] version: LegacyTls) {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    assert!(
        !edge.legacy(version).await.expect("probe answers"),
        "{version} should be refused by default"
    );

    edge.handle
        .update(|c| c.accept_legacy_tls = true)
        .expect("update");
    assert!(
        edge.legacy(version).await.expect("probe answers"),
        "{version} should be reported accepted"
    );
    // Modern clients are unaffected by the legacy knob.
    let report = edge.handshake(HOST).await.expect("modern handshake");
    assert_eq!(report.protocol, "TLSv1.3");
}

// --- edge.https.headers -----------------------------------------------------

fn assert_cf_ray(response: &HttpResponse) {
    let ray = response.header("cf-ray").expect("cf-ray present");
    let (hex, colo) = ray.split_once('-').expect("ray-colo");
    assert_eq!(hex.len(), 16, "{ray}");
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{ray}");
    assert_eq!(colo, "FRA");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_200_with_cf_ray_and_hsts() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    let response = edge
        .get(&format!("https://{HOST}/health"), 0)
        .await
        .expect("get");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"ok");
    assert_eq!(response.final_url, format!("https://{HOST}/health"));
    assert!(response.redirects.is_empty());
    assert_cf_ray(&response);
    assert_eq!(
        response.header("strict-transport-security"),
        Some(format!("max-age={DEFAULT_HSTS_MAX_AGE}; includeSubDomains").as_str())
    );
    assert!(
        response
            .headers
            .iter()
            .all(|(name, _)| *name == name.to_lowercase())
    );

    let missing = edge
        .get(&format!("https://{HOST}/nope"), 0)
        .await
        .expect("get");
    assert_eq!(missing.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_short_hsts_is_detectable() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    let url = format!("https://{HOST}/health");
    assert!(
        edge.get(&url, 0)
            .await
            .expect("get")
            .header("strict-transport-security")
            .is_some()
    );

    edge.handle
        .update(|c| c.hsts_max_age = None)
        .expect("update");
    let response = edge.get(&url, 0).await.expect("get");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("strict-transport-security"), None);
    assert_cf_ray(&response);

    edge.handle
        .update(|c| c.hsts_max_age = Some(300))
        .expect("update");
    let response = edge.get(&url, 0).await.expect("get");
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=300; includeSubDomains")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_cf_ray_is_detectable() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::start(|_, c| c.cf_ray = false).await;
    let url = format!("https://{HOST}/health");
    let response = edge.get(&url, 0).await.expect("get");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cf-ray"), None);
    assert!(response.header("strict-transport-security").is_some());

    edge.handle.update(|c| c.cf_ray = true).expect("update");
    assert_cf_ray(&edge.get(&url, 0).await.expect("get"));
}

// --- edge.http.redirect -----------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_redirects_to_https() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    let url = format!("http://{HOST}/health?probe=1");
    let redirect = edge.get(&url, 0).await.expect("get");
    assert_eq!(redirect.status, 301);
    assert!(redirect.is_redirect());
    assert_eq!(
        redirect.location.as_deref(),
        Some(format!("https://{HOST}/health?probe=1").as_str())
    );
    assert_eq!(redirect.final_url, url);
    assert!(redirect.redirects.is_empty());

    let followed = edge.get(&url, 2).await.expect("get");
    assert_eq!(followed.status, 200);
    assert_eq!(followed.final_url, format!("https://{HOST}/health?probe=1"));
    assert_eq!(
        followed.redirects,
        vec![(301, format!("https://{HOST}/health?probe=1"))]
    );
    assert_cf_ray(&followed);
    assert!(followed.header("strict-transport-security").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_mode_serves_plain_http_without_redirect() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::start(|_, c| c.http_mode = HttpMode::Forward).await;
    let url = format!("http://{HOST}/health");
    let response = edge.get(&url, 2).await.expect("get");
    assert_eq!(response.status, 200);
    assert_eq!(response.location, None);
    assert!(response.redirects.is_empty());
    assert_eq!(response.final_url, url);

    edge.handle
        .update(|c| c.http_mode = HttpMode::Redirect)
        .expect("update");
    assert_eq!(edge.get(&url, 0).await.expect("get").status, 301);
}

// --- failures that are not answers ------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_is_a_connect_error_fast() {
    let _sandbox = infra_tests::reading();
    let address = closed_port();
    let started = Instant::now();

    let tls = handshake(&TlsTarget::new(HOST, address), TIMEOUT).await;
    assert!(
        matches!(&tls, Err(ProbeError::Connect { address: a, .. }) if *a == address),
        "{tls:?}"
    );
    let legacy = legacy_version_accepted(HOST, address, LegacyTls::Tls10, TIMEOUT).await;
    assert!(
        matches!(legacy, Err(ProbeError::Connect { .. })),
        "{legacy:?}"
    );
    let options = HttpOptions {
        resolve: vec![(HOST.to_owned(), address)],
        timeout: TIMEOUT,
        ..HttpOptions::default()
    };
    let http = get(&format!("https://{HOST}/health"), &options).await;
    assert!(matches!(http, Err(ProbeError::Connect { .. })), "{http:?}");

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_server_is_a_timeout_not_a_refusal() {
    let _sandbox = infra_tests::reading();
    // Accepts TCP (the kernel backlog) but never speaks.
    let silent = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let address = silent.local_addr().expect("address");
    let timeout = Duration::from_millis(400);
    let started = Instant::now();

    let tls = handshake(&TlsTarget::new(HOST, address), timeout).await;
    assert!(
        matches!(
            tls,
            Err(ProbeError::Timeout {
                stage: "TLS handshake",
                ..
            })
        ),
        "{tls:?}"
    );
    let legacy = legacy_version_accepted(HOST, address, LegacyTls::Tls11, timeout).await;
    assert!(
        matches!(legacy, Err(ProbeError::Timeout { .. })),
        "{legacy:?}"
    );
    let options = HttpOptions {
        resolve: vec![(HOST.to_owned(), address)],
        timeout,
        ..HttpOptions::default()
    };
    let http = get(&format!("http://{HOST}/health"), &options).await;
    assert!(matches!(http, Err(ProbeError::Timeout { .. })), "{http:?}");

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_releases_both_ports() {
    let _sandbox = infra_tests::reading();
    let edge = Edge::good().await;
    edge.handshake(HOST).await.expect("running");
    let (https, http) = (edge.handle.https_addr(), edge.handle.http_addr());
    edge.handle.shutdown().await;
    for address in [https, http] {
        let result = handshake(&TlsTarget::new(HOST, address), TIMEOUT).await;
        assert!(
            matches!(result, Err(ProbeError::Connect { .. })),
            "{result:?}"
        );
    }
}

/// A loopback server that answers every connection with `answer` and closes.
async fn babbler(answer: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_answering_nonsense_is_an_error_never_a_pass() {
    let _sandbox = infra_tests::reading();
    let plain_http = babbler(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
    // Not TLS at all: neither "legacy refused" nor a certificate problem.
    let legacy = legacy_version_accepted(HOST, plain_http, LegacyTls::Tls10, TIMEOUT).await;
    assert!(matches!(legacy, Err(ProbeError::Tls { .. })), "{legacy:?}");
    let tls = handshake(&TlsTarget::new(HOST, plain_http), TIMEOUT).await;
    assert!(matches!(tls, Err(ProbeError::Tls { .. })), "{tls:?}");
    let options = HttpOptions {
        resolve: vec![(HOST.to_owned(), plain_http)],
        timeout: TIMEOUT,
        ..HttpOptions::default()
    };
    let https = get(&format!("https://{HOST}/health"), &options).await;
    assert!(matches!(https, Err(ProbeError::Tls { .. })), "{https:?}");
    // Over plain HTTP the same bytes are a real (failing) answer.
    let http = get(&format!("http://{HOST}/health"), &options).await;
    assert_eq!(http.expect("an HTTP answer").status, 400);

    let garbage = babbler(b"\x00\x01\x02 not http\r\n\r\n").await;
    let options = HttpOptions {
        resolve: vec![(HOST.to_owned(), garbage)],
        timeout: TIMEOUT,
        ..HttpOptions::default()
    };
    let http = get(&format!("http://{HOST}/health"), &options).await;
    assert!(matches!(http, Err(ProbeError::Http { .. })), "{http:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_is_an_error_not_a_panic() {
    let _sandbox = infra_tests::reading();
    let address = closed_port();
    for url in ["", "ftp://x/", "https://", "http://h:70000/", "not a url"] {
        let result = get(url, &HttpOptions::default()).await;
        assert!(
            matches!(result, Err(ProbeError::Invalid { .. })),
            "{url:?}: {result:?}"
        );
    }
    for hostname in ["", "bad host", "-.-"] {
        let tls = handshake(&TlsTarget::new(hostname, address), TIMEOUT).await;
        assert!(
            matches!(tls, Err(ProbeError::Invalid { .. })),
            "{hostname:?}: {tls:?}"
        );
        let legacy = legacy_version_accepted(hostname, address, LegacyTls::Tls10, TIMEOUT).await;
        assert!(
            matches!(legacy, Err(ProbeError::Invalid { .. })),
            "{hostname:?}: {legacy:?}"
        );
    }
    let bad_root = TlsTarget::new(HOST, address).with_roots([vec![1u8, 2, 3].into()]);
    let tls = handshake(&bad_root, TIMEOUT).await;
    assert!(matches!(tls, Err(ProbeError::Invalid { .. })), "{tls:?}");
}

/// A ServerHello record: `record` on the record layer, `server_version` in
/// the hello, cipher suite 0xc014, no extensions. Leaked: the babbler wants
/// `'static` bytes.
fn crafted_server_hello(record: u16, server_version: u16) -> &'static [u8] {
    let mut hello = server_version.to_be_bytes().to_vec();
    hello.extend([0x42u8; 32]); // random
    hello.extend([0x00, 0xc0, 0x14, 0x00]); // no session id, suite, null compression
    let mut out = vec![0x16];
    out.extend(record.to_be_bytes());
    out.extend(((hello.len() + 4) as u16).to_be_bytes());
    out.extend([0x02, 0x00, 0x00, hello.len() as u8]);
    out.extend(hello);
    Box::leak(out.into_boxed_slice())
}

/// Each way a server can answer a TLS 1.0-only ClientHello, from a server
/// answering crafted bytes: only an alert or a close before any byte is a
/// refusal, only a ServerHello negotiating 1.0/1.1 an acceptance (whatever
/// the record layer says), and everything else an error.
#[tokio::test(flavor = "multi_thread")]
async fn legacy_answers_are_classified_precisely() {
    let _sandbox = infra_tests::reading();
    let probe = |address| legacy_handshake(HOST, address, LegacyTls::Tls10, TIMEOUT);

    let alert = babbler(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]).await;
    let answer = probe(alert).await.expect("an alert is an answer");
    assert_eq!(
        answer,
        LegacyAnswer::Refused {
            how: "fatal alert protocol_version (70)".into()
        }
    );

    let closes = babbler(b"").await;
    let answer = probe(closes).await.expect("a close is an answer");
    assert!(
        matches!(&answer, LegacyAnswer::Refused { how } if how.contains("closed")),
        "{answer:?}"
    );

    // TLS 1.0 negotiated inside a record labelled TLS 1.2: accepted.
    let accepts = babbler(crafted_server_hello(0x0303, 0x0301)).await;
    let answer = probe(accepts).await.expect("a ServerHello is an answer");
    assert_eq!(
        answer,
        LegacyAnswer::Accepted {
            negotiated: 0x0301,
            cipher_suite: 0xc014
        }
    );
    assert!(
        legacy_version_accepted(HOST, accepts, LegacyTls::Tls11, TIMEOUT)
            .await
            .expect("answer")
    );

    // TLS 1.2 negotiated to a 1.0-only hello: neither refused nor accepted.
    let modern = babbler(crafted_server_hello(0x0301, 0x0303)).await;
    let result = probe(modern).await;
    assert!(
        matches!(&result, Err(ProbeError::Tls { message, .. }) if message.contains("negotiating TLSv1.2")),
        "{result:?}"
    );

    // A ServerHello cut short by a close: an error, not a refusal.
    let cut = babbler(&crafted_server_hello(0x0301, 0x0301)[..20]).await;
    let result = probe(cut).await;
    assert!(
        matches!(&result, Err(ProbeError::Tls { message, .. }) if message.contains("cut short")),
        "{result:?}"
    );
}
