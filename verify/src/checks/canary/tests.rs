//! The canary's judgements (pure), and whole canaries against small HTTP
//! servers on loopback that answer, fail, hang or echo as each case needs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::Status;
use crate::spec::secret_env::SecretPrefix;

// --- pure judgements -------------------------------------------------------------

fn step() -> CanaryStep {
    CanaryStep {
        name: "orgs".into(),
        method: "GET".into(),
        path: "/v1/orgs".into(),
        headers: vec![],
        body: None,
        body_is_json: false,
        expect_status: 200,
        max_latency: Some(Duration::from_millis(500)),
        expect: vec![BodyExpectation {
            pointer: "/items/0/name".into(),
            test: BodyTest::Contains(json!("Physio")),
        }],
        capture: vec![("org".into(), "/items/0/id".into())],
        rate_limit: None,
    }
}

fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        location: None,
        final_url: "https://api.example/v1/orgs".into(),
        redirects: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn judge_with(step: &CanaryStep, values: &mut Values, status: u16, body: &str) -> Option<String> {
    let mut seen = json!({});
    judge_step(
        step,
        &response(status, body),
        Duration::from_millis(10),
        values,
        &mut seen,
    )
}

fn judge(status: u16, body: &str, latency_ms: u64) -> (Option<String>, Values) {
    let mut values = Values::default();
    let mut seen = json!({});
    let problem = judge_step(
        &step(),
        &response(status, body),
        Duration::from_millis(latency_ms),
        &mut values,
        &mut seen,
    );
    (problem, values)
}

#[test]
fn a_table_of_responses() {
    let good = r#"{"items":[{"id":"o-1","name":"Physio Bucharest"}]}"#;
    let (problem, values) = judge(200, good, 10);
    assert_eq!(problem, None);
    assert_eq!(values.get("org"), Some(&json!("o-1")));
    let cases = [
        (
            500,
            good,
            10,
            "status expected 200, observed 500 (body: 50 bytes of application/json)",
        ),
        (200, good, 900, "latency expected ≤ 500 ms, observed 900 ms"),
        (
            200,
            "<html>oops</html>",
            10,
            "body expected JSON, observed 17 bytes of application/json (not JSON at line 1 column 1)",
        ),
        (
            200,
            r#"{"items":[]}"#,
            10,
            "body /items/0/name contains \"Physio\" expected, observed nothing there",
        ),
        (
            200,
            r#"{"items":[{"name":"Kinetic"}]}"#,
            10,
            "observed a string of 7 characters",
        ),
        (
            200,
            r#"{"items":[{"name":"Physio"}]}"#,
            10,
            "capture `org` expected a value at /items/0/id, observed nothing there",
        ),
        (
            200,
            r#"{"items":[{"name":"Physio","id":null}]}"#,
            10,
            "capture `org` expected a value at /items/0/id, observed null",
        ),
    ];
    for (status, body, latency, fragment) in cases {
        let (problem, _) = judge(status, body, latency);
        let problem = problem.unwrap_or_else(|| panic!("{body}: no problem found"));
        assert!(problem.contains(fragment), "{problem:?} lacks {fragment:?}");
    }
}

/// `exists` is false on JSON `null`: before, `null` passed as present.
#[test]
fn exists_is_false_on_null() {
    let mut exists = step();
    exists.capture.clear();
    exists.expect = vec![BodyExpectation {
        pointer: "/id".into(),
        test: BodyTest::Exists,
    }];
    let mut values = Values::default();
    assert_eq!(
        judge_with(&exists, &mut values, 200, r#"{"id": null}"#).as_deref(),
        Some("body /id present expected, observed null")
    );
    assert_eq!(
        judge_with(&exists, &mut values, 200, r#"{"other": 1}"#).as_deref(),
        Some("body /id present expected, observed nothing there")
    );
    for present in [
        r#"{"id": 0}"#,
        r#"{"id": false}"#,
        r#"{"id": ""}"#,
        r#"{"id": []}"#,
    ] {
        assert_eq!(
            judge_with(&exists, &mut values, 200, present),
            None,
            "{present}"
        );
    }
}

/// A number captured in one step equals the same number in a later one
/// (`equals = "{{id}}"`), whether written `42` or `42.0`; before, the
/// capture became the string "42" and never equalled the number.
#[test]
fn a_captured_number_equals_the_same_number_in_a_later_step() {
    let mut create = step();
    create.expect.clear();
    create.capture = vec![("id".into(), "/id".into())];
    let mut values = Values::default();
    assert_eq!(judge_with(&create, &mut values, 200, r#"{"id": 42}"#), None);
    assert_eq!(values.get("id"), Some(&json!(42)));
    let mut read_back = step();
    read_back.capture.clear();
    read_back.expect = vec![BodyExpectation {
        pointer: "/id".into(),
        test: BodyTest::Equals(json!("{{id}}")),
    }];
    for same in [r#"{"id": 42}"#, r#"{"id": 42.0}"#] {
        assert_eq!(
            judge_with(&read_back, &mut values, 200, same),
            None,
            "{same}"
        );
    }
    for other in [r#"{"id": 43}"#, r#"{"id": "42"}"#, r#"{"id": 42.5}"#] {
        assert!(
            judge_with(&read_back, &mut values, 200, other).is_some(),
            "{other} passed"
        );
    }
    // Big integers compare exactly, not through f64.
    values.set("big", json!(9_007_199_254_740_993_u64), false);
    assert!(json_equal(
        &fill_json(&json!("{{big}}"), &values),
        &json!(9_007_199_254_740_993_u64)
    ));
    assert!(!json_equal(
        &json!(9_007_199_254_740_993_u64),
        &json!(9_007_199_254_740_992_u64)
    ));
    // In a JSON body, a placeholder standing alone keeps the number's type.
    assert_eq!(
        fill_json_text(r#"{"specialist_id":"{{id}}","note":"id {{id}}"}"#, &values),
        r#"{"specialist_id":42,"note":"id 42"}"#
    );
    assert!(contains(&json!([1, 42.0]), &json!(42)));
}

#[test]
fn placeholders_fill_json_escaped_in_json_bodies() {
    let mut values = Values::default();
    values.set("p", json!(r#"a"b\c"#), true);
    assert_eq!(
        fill_json_text(r#"{"password":"{{p}}"}"#, &values),
        r#"{"password":"a\"b\\c"}"#
    );
    assert_eq!(fill("Bearer {{ p }}", &values, false), r#"Bearer a"b\c"#);
    assert_eq!(placeholders("Bearer {{token}} {{ id }}"), ["token", "id"]);
    assert_eq!(sole_placeholder("{{ id }}"), Some("id"));
    assert_eq!(sole_placeholder("x{{id}}"), None);
    assert_eq!(sole_placeholder("{{a}}{{b}}"), None);
}

#[test]
fn contains_means_substring_or_element() {
    assert!(contains(&json!("Physio Bucharest"), &json!("Physio")));
    assert!(contains(&json!(["a", 2]), &json!(2)));
    assert!(!contains(&json!({"a": 1}), &json!("a")));
}

/// A response a cache served is not fresh; one the origin served is.
#[test]
fn a_response_from_a_cache_is_not_fresh() {
    let with = |headers: &[(&str, &str)]| {
        let mut r = response(200, "{}");
        r.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        served_from_cache(&r)
    };
    for (headers, cached) in [
        (
            &[("cf-cache-status", "HIT")][..],
            Some("cf-cache-status: HIT"),
        ),
        (&[("cf-cache-status", "hit")], Some("cf-cache-status: HIT")),
        (
            &[("cf-cache-status", "STALE")],
            Some("cf-cache-status: STALE"),
        ),
        (
            &[("cf-cache-status", "UPDATING")],
            Some("cf-cache-status: UPDATING"),
        ),
        (
            &[("cf-cache-status", "REVALIDATED")],
            Some("cf-cache-status: REVALIDATED"),
        ),
        (&[("age", "120")], Some("Age: 120")),
        (
            &[("age", "soon")],
            Some("an Age header that is not a number"),
        ),
        (
            &[("x-cache", "Hit from cloudfront")],
            Some("X-Cache: a hit"),
        ),
        (&[("cf-cache-status", "MISS")], None),
        (&[("cf-cache-status", "DYNAMIC")], None),
        (&[("cf-cache-status", "BYPASS")], None),
        (&[("cf-cache-status", "EXPIRED")], None),
        (&[("age", "0")], None),
        (&[("x-cache", "Miss from cloudfront")], None),
        (&[], None),
    ] {
        assert_eq!(with(headers).as_deref(), cached, "{headers:?}");
    }
}

/// A request that timed out after its connection was ready may have been
/// sent; one that never connected was not. Neither message names the URL.
#[test]
fn a_timeout_after_sending_may_have_written_and_no_error_names_the_url() {
    let url = "https://api.example/v1/appointments/secret-id-123";
    let timeout = |stage| ProbeError::Timeout {
        target: url.into(),
        stage,
        timeout: Duration::from_secs(10),
    };
    for (error, sent) in [
        (timeout("response"), true),
        (timeout("response body"), true),
        (
            ProbeError::Http {
                url: url.into(),
                message: "connection reset".into(),
            },
            true,
        ),
        (timeout("connect"), false),
        (timeout("TLS handshake"), false),
        (timeout("DNS answer"), false),
        (
            ProbeError::Invalid {
                input: url.into(),
                message: "bad".into(),
            },
            false,
        ),
    ] {
        assert_eq!(may_have_sent(&error), sent, "{error}");
        let text = describe_error(&error);
        assert!(!text.contains("secret-id-123"), "{text}");
    }
    assert_eq!(
        describe_error(&timeout("response")),
        "no response within 10s"
    );
}

/// A response holding a token and echoing the password: no message quotes
/// either, whatever fails.
#[test]
fn no_message_quotes_a_body_or_an_observed_string() {
    let body = r#"{"token":"tok-abcdefgh-123456","echo":"hunter2-password","items":[]}"#;
    let mut values = Values::default();
    values.set("password", json!("hunter2-password"), true);
    let mut failing = step();
    failing.expect = vec![BodyExpectation {
        pointer: "/echo".into(),
        test: BodyTest::Equals(json!("something else")),
    }];
    for (status, step) in [(500, step()), (200, failing)] {
        let problem = judge_with(&step, &mut values, status, body).unwrap();
        for secret in ["tok-abcdefgh", "hunter2"] {
            assert!(!problem.contains(secret), "{problem}");
        }
    }
    // A number equal to a held value is withheld too.
    values.set("pin", json!(4711), true);
    assert_eq!(
        kind_of(&json!(4711), &values),
        "a number (withheld: a secret or captured value)"
    );
    assert_eq!(kind_of(&json!(3), &values), "3");
}

// --- whole canaries against loopback servers -----------------------------------

/// One request a test server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a test server answers one request.
enum Reply {
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Read the request, never answer.
    Hang,
}

fn ok(status: u16, body: &str) -> Reply {
    Reply::Answer(status, vec![], body.to_string())
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A plain-HTTP server on loopback answering each request with `handler`.
async fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(handler);
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (handler, record) = (handler.clone(), record.clone());
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
                let mut lines = head.split("\r\n");
                let mut first = lines.next().unwrap_or_default().split(' ');
                let (method, path) = (
                    first.next().unwrap_or_default().to_string(),
                    first.next().unwrap_or_default().to_string(),
                );
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buffer.len() < head_end + length {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
                let request = Seen {
                    method,
                    path,
                    headers,
                };
                record.lock().unwrap().push(request.clone());
                match handler(&request) {
                    Reply::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
                    Reply::Answer(status, headers, body) => {
                        let mut text = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in headers {
                            text.push_str(&format!("{k}: {v}\r\n"));
                        }
                        text.push_str("\r\n");
                        text.push_str(&body);
                        let _ = socket.write_all(text.as_bytes()).await;
                        let _ = socket.shutdown().await;
                    }
                }
            });
        }
    });
    Server { addr, seen }
}

fn get(name: &str, path: &str) -> CanaryStep {
    CanaryStep {
        name: name.into(),
        method: "GET".into(),
        path: path.into(),
        headers: vec![("authorization".into(), "Bearer {{token}}".into())],
        body: None,
        body_is_json: false,
        expect_status: 200,
        max_latency: None,
        expect: vec![],
        capture: vec![],
        rate_limit: None,
    }
}

fn post(name: &str, path: &str, status: u16, capture: &[(&str, &str)]) -> CanaryStep {
    CanaryStep {
        method: "POST".into(),
        expect_status: status,
        body: Some(r#"{"what":"canary"}"#.into()),
        body_is_json: true,
        capture: capture
            .iter()
            .map(|(k, p)| (k.to_string(), p.to_string()))
            .collect(),
        ..get(name, path)
    }
}

fn delete(name: &str, undoes: &str, path: &str, statuses: &[u16]) -> CanaryUndo {
    CanaryUndo {
        name: name.into(),
        undoes: undoes.into(),
        method: "DELETE".into(),
        path: path.into(),
        headers: vec![("authorization".into(), "Bearer {{token}}".into())],
        body: None,
        body_is_json: false,
        expect_status: statuses.to_vec(),
    }
}

/// sign in (a token), create (an id), read back; undo: delete, sign out.
fn t0(server: &Server) -> CanarySpec {
    CanarySpec {
        name: "t0".into(),
        description: None,
        writes: true,
        base_url: server.base_url(),
        secrets: vec![],
        timeout: Duration::from_millis(800),
        steps: vec![
            post("sign_in", "/sign-in", 200, &[("token", "/token")]),
            post("create", "/items", 201, &[("id", "/id")]),
            get("read_back", "/items/{{id}}"),
        ],
        undo: vec![
            delete("delete_item", "create", "/items/{{id}}", &[204, 404]),
            delete("sign_out", "sign_in", "/session", &[204]),
        ],
    }
}

const TOKEN: &str = "tok-0123456789abcdef";

/// The good API of `t0`, with `create`'s and `read_back`'s answers replaceable.
fn api(
    create: impl Fn() -> Reply + Send + Sync + 'static,
    read_back: impl Fn() -> Reply + Send + Sync + 'static,
    delete_item: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |r: &Seen| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/sign-in") => ok(200, &format!(r#"{{"token":"{TOKEN}"}}"#)),
        ("POST", "/items") => create(),
        ("GET", "/items/item-77") => read_back(),
        ("DELETE", "/items/item-77") => delete_item(),
        ("DELETE", "/session") => ok(204, ""),
        _ => ok(404, r#"{"error":"no such route"}"#),
    }
}

fn settings(allow_writes: bool) -> RunSettings {
    RunSettings {
        run_id: "20261207T101500Z-0badcafe".into(),
        allow_writes,
        secret_prefix: SecretPrefix::default(),
    }
}

async fn run_t0(spec: &CanarySpec, bound: Duration) -> Finding {
    canary(spec, HttpOptions::default(), &settings(true), bound).await
}

fn created() -> Reply {
    ok(201, r#"{"id":"item-77"}"#)
}

/// Neither the captured token nor the id is anywhere in the finding.
#[track_caller]
fn assert_nothing_captured(finding: &Finding) {
    let all = format!("{} {}", finding.message, finding.evidence);
    for held in [TOKEN, "item-77"] {
        assert!(!all.contains(held), "{held} in {all}");
    }
}

fn write_of<'a>(finding: &'a Finding, step: &str) -> &'a Value {
    finding.evidence.details["wrote"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["step"] == step))
        .unwrap_or_else(|| panic!("no write of {step}: {}", finding.evidence))
}

/// Without `--allow-writes` a writing canary is `skip`, never `pass`, and
/// sends nothing.
#[tokio::test]
async fn a_writing_canary_without_allow_writes_is_skip_and_sends_nothing() {
    let server = serve(api(created, || ok(200, "{}"), || ok(204, ""))).await;
    let finding = canary(
        &t0(&server),
        HttpOptions::default(),
        &settings(false),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(finding.status, Status::Skip, "{}", finding.message);
    assert!(
        finding
            .message
            .contains("writes not allowed: pass --allow-writes")
            && finding.message.contains("POST /sign-in, POST /items"),
        "{}",
        finding.message
    );
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    // A canary that only reads runs without it.
    let mut reads = t0(&server);
    reads.writes = false;
    reads.steps = vec![CanaryStep {
        headers: vec![],
        ..get("list", "/list")
    }];
    reads.undo.clear();
    let finding = canary(
        &reads,
        HttpOptions::default(),
        &settings(false),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(server.seen().len(), 1, "{}", finding.message);
}

/// Every request, steps and undo alike, carries `X-Verify-Canary: <run id>`;
/// the undo puts back both writes, and the report says so.
#[tokio::test]
async fn every_request_carries_the_run_id_and_the_writes_are_undone() {
    let server = serve(api(
        created,
        || ok(200, r#"{"id":"item-77"}"#),
        || ok(204, ""),
    ))
    .await;
    let finding = run_t0(&t0(&server), Duration::from_secs(30)).await;
    assert_eq!(finding.status, Status::Pass, "{}", finding.message);
    assert!(
        finding
            .message
            .contains("; wrote: POST /sign-in, POST /items; all undone"),
        "{}",
        finding.message
    );
    let seen = server.seen();
    let requests: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        requests,
        [
            "POST /sign-in",
            "POST /items",
            "GET /items/item-77",
            "DELETE /items/item-77",
            "DELETE /session"
        ]
    );
    for s in &seen {
        assert_eq!(
            s.header("x-verify-canary"),
            Some("20261207T101500Z-0badcafe"),
            "{s:?}"
        );
    }
    assert_eq!(
        finding.evidence.details["header"],
        "X-Verify-Canary: 20261207T101500Z-0badcafe"
    );
    assert_eq!(write_of(&finding, "create")["undone"], true);
    assert_eq!(write_of(&finding, "sign_in")["undone"], true);
    assert_nothing_captured(&finding);
}

/// A step that fails still has its writes undone (the undo uses what was
/// captured), and the canary stays `fail`; an undo answered "already gone"
/// (404, declared) leaves nothing behind.
#[tokio::test]
async fn the_undo_runs_after_a_failed_step() {
    let server = serve(api(
        created,
        || {
            ok(
                404,
                r#"{"error":"no such item","token":"tok-0123456789abcdef"}"#,
            )
        },
        || ok(404, r#"{"error":"gone"}"#),
    ))
    .await;
    let finding = run_t0(&t0(&server), Duration::from_secs(30)).await;
    assert_eq!(finding.status, Status::Fail, "{}", finding.message);
    assert!(
        finding
            .message
            .starts_with("canary 't0': step `read_back` status expected 200, observed 404 (body: ")
            && finding
                .message
                .ends_with("; wrote: POST /sign-in, POST /items; all undone"),
        "{}",
        finding.message
    );
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.method == "DELETE" && s.path == "/items/item-77")
    );
    assert_nothing_captured(&finding);
}

/// An undo that fails makes the canary `error`, naming what remains, even
/// when every step passed.
#[tokio::test]
async fn an_undo_that_fails_is_error_naming_what_remains() {
    let server = serve(api(
        created,
        || ok(200, "{}"),
        || ok(500, r#"{"error":"db down"}"#),
    ))
    .await;
    let finding = run_t0(&t0(&server), Duration::from_secs(30)).await;
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    assert!(
        finding.message.starts_with(
            "canary 't0': POST /items (step `create`) remains: undo `delete_item` status expected 204 or 404, observed 500; the steps: 3 step(s) as expected"
        ) && finding.message.ends_with("; undone: POST /sign-in; not undone: POST /items"),
        "{}",
        finding.message
    );
    assert_eq!(write_of(&finding, "create")["undone"], false);
    assert_nothing_captured(&finding);
}

/// A writing step that times out after sending may have written; its undo
/// cannot run (the id was never captured), so the canary is `error` naming
/// what may remain. The sign-in is still undone.
#[tokio::test]
async fn a_write_that_times_out_after_sending_may_have_written() {
    let server = serve(api(|| Reply::Hang, || ok(200, "{}"), || ok(204, ""))).await;
    let finding = run_t0(&t0(&server), Duration::from_secs(30)).await;
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    let m = &finding.message;
    assert!(
        m.contains("POST /items (step `create`) remains: undo `delete_item` could not run: {{id}} never captured")
            && m.contains("step `create` (POST /items) may have written: no response within 800ms after sending"),
        "{m}"
    );
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.method == "DELETE" && s.path == "/session")
    );
    assert!(
        write_of(&finding, "create")["sent"]
            .as_str()
            .is_some_and(|s| s.starts_with("may have written")),
        "{}",
        finding.evidence
    );
}

/// The steps keep within the check's bound less the undo's share: a step
/// that hangs past it ends the steps (`error`), and the undo still runs.
#[tokio::test]
async fn the_undo_runs_when_the_steps_run_out_of_time() {
    let server = serve(api(created, || Reply::Hang, || ok(204, ""))).await;
    let mut spec = t0(&server);
    spec.timeout = Duration::from_secs(5);
    // 3 s: 1 s margin, the undo's share (2 × 5 s, at most half) 1 s, the steps 1 s.
    let finding = run_t0(&spec, Duration::from_secs(3)).await;
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    assert!(
        finding
            .message
            .contains("the steps did not finish within 1s")
            && finding
                .message
                .ends_with("; wrote: POST /sign-in, POST /items; all undone"),
        "{}",
        finding.message
    );
    let deletes = server
        .seen()
        .iter()
        .filter(|s| s.method == "DELETE")
        .count();
    assert_eq!(deletes, 2);
}

/// A response served from a cache is `error`: not fresh.
#[tokio::test]
async fn a_cached_answer_is_error_not_fresh() {
    let server = serve(api(
        created,
        || Reply::Answer(200, vec![("cf-cache-status", "HIT".into())], "{}".into()),
        || ok(204, ""),
    ))
    .await;
    let finding = run_t0(&t0(&server), Duration::from_secs(30)).await;
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    assert!(
        finding.message.contains(
            "step `read_back`: the response was served from a cache (cf-cache-status: HIT): not fresh"
        ),
        "{}",
        finding.message
    );
}

/// A secret is never sent over plain http, even from a spec built by hand.
#[tokio::test]
async fn a_secret_is_never_sent_over_plain_http() {
    let server = serve(|_: &Seen| ok(200, "{}")).await;
    let mut spec = t0(&server);
    spec.secrets = vec![("password".into(), "VERIFY_SECRET_PASSWORD".into())];
    let mut values = Values::default();
    values.set("password", json!("hunter2-password"), true);
    let mut sign_in = post("sign_in", "/sign-in", 200, &[]);
    sign_in.body = Some(r#"{"password":"{{password}}"}"#.into());
    let refused = exchange(
        &spec,
        &Request::step(&sign_in),
        &HttpOptions::default(),
        &values,
        "r",
    )
    .await;
    assert_eq!(
        refused.err().map(|e| e.message),
        Some("refused to send a secret over plain http (base_url is not https://)".into())
    );
    assert!(server.seen().is_empty());
}

/// A variable outside the prefix is not read: the canary is `error` before
/// it sends anything.
#[tokio::test]
async fn a_secret_outside_the_prefix_is_error_and_nothing_is_sent() {
    let server = serve(|_: &Seen| ok(200, "{}")).await;
    let mut spec = t0(&server);
    spec.secrets = vec![("key".into(), "AWS_SECRET_ACCESS_KEY".into())];
    let finding = run_t0(&spec, Duration::from_secs(30)).await;
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    assert!(
        finding.message.contains("`secrets.key` names the environment variable AWS_SECRET_ACCESS_KEY, outside the secret prefix VERIFY_SECRET_")
            && finding.message.ends_with("; nothing was sent"),
        "{}",
        finding.message
    );
    assert!(server.seen().is_empty());
}

/// The last guard: a captured or secret value that reached a message or the
/// evidence is withheld.
#[test]
fn scrub_withholds_held_values() {
    let mut values = Values::default();
    values.set("token", json!(TOKEN), false);
    values.set("pw", json!("hunter2-password"), true);
    values.set("short", json!("ab"), false);
    let finding = Finding::fail(
        format!("saw {TOKEN} and hunter2-password and ab"),
        Evidence::of(format!("GET /x/{TOKEN}")).detail("d", json!({"k": [TOKEN]})),
    );
    let finding = scrub(finding, &values);
    assert_eq!(finding.message, "saw «withheld» and «withheld» and ab");
    assert!(!finding.evidence.to_string().contains(TOKEN));
}

// --- rate-limit bursts -------------------------------------------------------------

fn limit(requests: u32, limited_from: u32, status_before: Option<u16>) -> RateLimit {
    RateLimit {
        requests,
        limited_from,
        within: Duration::from_secs(10),
        interval: Duration::ZERO,
        status_before,
    }
}

#[test]
fn a_burst_is_judged_request_by_request() {
    let six = limit(6, 6, None);
    assert_eq!(judge_burst(&six, &[401, 401, 401, 401, 401, 429]), None);
    assert_eq!(judge_burst(&six, &[401, 401]), None, "so far so good");
    assert_eq!(
        judge_burst(&six, &[401, 401, 401, 401, 401, 401]).as_deref(),
        Some(
            "request 6 of 6: status expected 429 (limited from request 6), observed 401 \
             (statuses seen: 401, 401, 401, 401, 401, 401)"
        )
    );
    assert_eq!(
        judge_burst(&six, &[401, 401, 429]).as_deref(),
        Some(
            "request 3 of 6: status expected not 429 (limited only from request 6), observed \
             429 (statuses seen: 401, 401, 429)"
        )
    );
    // The step's `expect_status` before the limit.
    let strict = limit(6, 6, Some(401));
    assert_eq!(
        judge_burst(&strict, &[401, 500]).as_deref(),
        Some(
            "request 2 of 6: status expected 401 (before the limit), observed 500 \
             (statuses seen: 401, 500)"
        )
    );
    // Limited from the 4th: the 5th and 6th must stay limited.
    let early = limit(6, 4, None);
    assert_eq!(judge_burst(&early, &[200, 200, 200, 429, 429, 429]), None);
    assert!(
        judge_burst(&early, &[200, 200, 200, 429, 200])
            .is_some_and(|m| m.starts_with("request 5 of 6: status expected 429"))
    );
}

/// A sign-in endpoint that answers 401 to each attempt, and 429 (with
/// `Retry-After`) from attempt `limited_from` on, counting per email; 0:
/// no limit. The password is in every request body, never in the finding.
fn limited_api(limited_from: usize) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    let attempts = Arc::new(Mutex::new(0usize));
    move |r: &Seen| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/sign-in") => {
            let mut n = attempts.lock().unwrap();
            *n += 1;
            if limited_from > 0 && *n >= limited_from {
                Reply::Answer(
                    429,
                    vec![("retry-after", "60".into())],
                    r#"{"error":"slow down"}"#.into(),
                )
            } else {
                ok(401, r#"{"error":"wrong email or password"}"#)
            }
        }
        ("GET", "/orgs") => ok(200, r#"{"items":[]}"#),
        _ => ok(404, r#"{"error":"no such route"}"#),
    }
}

fn burst(server: &Server, requests: u32, limited_from: u32) -> CanarySpec {
    let mut step = post("sign_in_burst", "/sign-in", 401, &[]);
    step.headers = vec![];
    step.body = Some(r#"{"email":"rl-{{run_id}}@example.test","password":"{{password}}"}"#.into());
    step.rate_limit = Some(limit(requests, limited_from, Some(401)));
    CanarySpec {
        name: "sign_in_limit".into(),
        description: None,
        writes: true,
        base_url: server.base_url(),
        secrets: vec![],
        timeout: Duration::from_millis(800),
        steps: vec![step],
        undo: vec![],
    }
}

#[tokio::test]
async fn a_burst_passes_when_the_limit_answers_429_from_the_declared_request() {
    let server = serve(limited_api(6)).await;
    let spec = burst(&server, 6, 6);
    let finding = run_t0(&spec, Duration::from_secs(10)).await;
    assert_eq!(finding.status, Status::Pass, "{}", finding.message);
    let seen = server.seen();
    assert_eq!(seen.len(), 6);
    assert!(
        seen.iter()
            .all(|r| r.header(CANARY_HEADER) == Some("20261207T101500Z-0badcafe"))
    );
    let observed = &finding.evidence.observed["steps"][0];
    assert_eq!(observed["statuses"], json!([401, 401, 401, 401, 401, 429]));
    assert_eq!(observed["retry_after"], json!("60 s"));
    assert_eq!(
        finding.evidence.expected["steps"][0]["rate_limit"]["limited_from"],
        json!(6)
    );
    // 401s and a 429 wrote nothing: no write left to report.
    assert!(!finding.message.contains("wrote:"), "{}", finding.message);
}

#[tokio::test]
async fn a_burst_without_a_limit_fails_naming_the_request_and_stops_there() {
    let server = serve(limited_api(0)).await;
    let spec = burst(&server, 6, 6);
    let finding = run_t0(&spec, Duration::from_secs(10)).await;
    assert_eq!(finding.status, Status::Fail, "{}", finding.message);
    assert!(
        finding.message.contains(
            "step `sign_in_burst` request 6 of 6: status expected 429 (limited from request 6), \
             observed 401 (statuses seen: 401, 401, 401, 401, 401, 401)"
        ),
        "{}",
        finding.message
    );
    // Limited too early: the 3rd is the one named, and nothing after it is sent.
    let server = serve(limited_api(3)).await;
    let finding = run_t0(&burst(&server, 6, 6), Duration::from_secs(10)).await;
    assert_eq!(finding.status, Status::Fail, "{}", finding.message);
    assert!(
        finding
            .message
            .contains("request 3 of 6: status expected 401 (before the limit), observed 429"),
        "{}",
        finding.message
    );
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_burst_that_writes_is_skipped_without_allow_writes() {
    let server = serve(limited_api(6)).await;
    let spec = burst(&server, 6, 6);
    let finding = canary(
        &spec,
        HttpOptions::default(),
        &settings(false),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(finding.status, Status::Skip, "{}", finding.message);
    assert!(
        finding
            .message
            .contains("writes not allowed: pass --allow-writes"),
        "{}",
        finding.message
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn a_burst_past_its_time_bound_is_error_with_the_statuses_so_far() {
    let count = Arc::new(Mutex::new(0usize));
    let server = serve(move |_r: &Seen| {
        let mut n = count.lock().unwrap();
        *n += 1;
        if *n >= 3 { Reply::Hang } else { ok(401, "{}") }
    })
    .await;
    let mut spec = burst(&server, 6, 6);
    spec.timeout = Duration::from_secs(5);
    if let Some(l) = spec.steps[0].rate_limit.as_mut() {
        l.within = Duration::from_millis(600);
    }
    let finding = run_t0(&spec, Duration::from_secs(10)).await;
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    assert!(
        finding.message.contains("the 6 requests did not finish within 600ms (request 3 unanswered; statuses before: 401, 401)"),
        "{}",
        finding.message
    );
}

#[test]
fn a_rate_limited_canary_runs_after_the_other_canaries() {
    let plain = CanarySpec {
        name: "t0".into(),
        description: None,
        writes: false,
        base_url: "https://api.example".into(),
        secrets: vec![],
        timeout: Duration::from_secs(1),
        steps: vec![get("orgs", "/orgs")],
        undo: vec![],
    };
    let mut limited = plain.clone();
    limited.name = "limit".into();
    limited.steps[0].rate_limit = Some(limit(6, 6, None));
    let checks = checks(&[limited, plain]);
    let order: Vec<(&str, bool)> = checks
        .iter()
        .map(|c| (c.id.as_str(), c.runs_after_canaries()))
        .collect();
    assert_eq!(order, [("canary.limit", true), ("canary.t0", false)]);
}
