//! A stand-in for AWS whose answers cost no CPU: the sandbox's answers,
//! recorded once through a proxy ([`Recorder`]), then served by a small
//! server ([`Replayer`]) after a stated per-call latency.
//!
//! The environments benchmark (`cargo xtask bench environments`) measures
//! concurrency against it. moto is one Python process that spends CPU on
//! every answer, so on 2 cores it caps what running environments at once can
//! win; AWS's answers cost the caller no CPU, only waiting. The replayed
//! figure is therefore a model of AWS (every call waits the stated latency,
//! nothing else), not a measurement of it.
//!
//! A request is known by its method, path and query, `X-Amz-Target` and
//! body, with every run of digits folded to `#` (timestamps, account ids,
//! request ids and page sizes differ between runs) and a body that is not
//! text (RPCv2-CBOR) known by its length. Signatures and other headers do
//! not count. A request never recorded is answered `500` and counted as a
//! miss ([`Replayer::misses`]): the environment's checks then error, and the
//! benchmark says so.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use infra_tests::replay::{Recorder, Replayer};
//! let recorder = Recorder::start("http://127.0.0.1:5000").await?;
//! // … run a gate with its AWS endpoint at recorder.url() …
//! let replayer = Replayer::start(recorder.recording(), Duration::from_millis(50)).await?;
//! // … run gates against replayer.url() …
//! assert_eq!(replayer.misses(), 0);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// One recorded answer.
#[derive(Clone, Debug)]
struct Answer {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

/// The answers recorded so far, by request key; shared by the recorder and
/// a replayer made from it.
#[derive(Clone, Debug, Default)]
pub struct Recording(Arc<Mutex<HashMap<String, Answer>>>);

impl Recording {
    /// How many distinct requests were recorded.
    pub fn len(&self) -> usize {
        self.0.lock().expect("never poisoned").len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, key: &str) -> Option<Answer> {
        self.0.lock().expect("never poisoned").get(key).cloned()
    }

    fn put(&self, key: String, answer: Answer) {
        self.0.lock().expect("never poisoned").insert(key, answer);
    }
}

/// A proxy in front of the sandbox's AWS endpoint that records every answer.
pub struct Recorder {
    url: String,
    recording: Recording,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    recording: Recording,
}

impl Recorder {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Result<Recorder> {
        let recording = Recording::default();
        let state = Upstream {
            base: upstream.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            recording: recording.clone(),
        };
        let (url, server) = serve(axum::Router::new().fallback(forward).with_state(state)).await?;
        Ok(Recorder {
            url,
            recording,
            server,
        })
    }

    /// Where to point the SDK (`aws { endpoint }`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What was recorded so far.
    pub fn recording(&self) -> Recording {
        self.recording.clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State(up): State<Upstream>, request: Request) -> Response {
    match forward_and_record(&up, request).await {
        Ok(response) => response,
        Err(e) => plain(StatusCode::BAD_GATEWAY, format!("recorder: {e:#}")),
    }
}

async fn forward_and_record(up: &Upstream, request: Request) -> Result<Response> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let key = key(&parts.method, &parts.uri, &parts.headers, &body);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(format!("{}{path}", up.base));
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST {
            upstream = upstream.header(name, value);
        }
    }
    let answer = up
        .client
        .request(upstream.body(Full::new(body))?)
        .await
        .context("forwarding to the sandbox")?;
    let status = answer.status();
    let headers = kept_headers(answer.headers());
    let body = answer.into_body().collect().await?.to_bytes();
    let answer = Answer {
        status,
        headers,
        body,
    };
    up.recording.put(key, answer.clone());
    Ok(respond(answer))
}

/// A server answering from a [`Recording`], each answer after `latency`.
pub struct Replayer {
    url: String,
    misses: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Replay {
    recording: Recording,
    latency: Duration,
    misses: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
}

impl Replayer {
    /// Listens on a free loopback port.
    pub async fn start(recording: Recording, latency: Duration) -> Result<Replayer> {
        let state = Replay {
            recording,
            latency,
            misses: Arc::default(),
            calls: Arc::default(),
        };
        let (misses, calls) = (state.misses.clone(), state.calls.clone());
        let (url, server) = serve(axum::Router::new().fallback(replay).with_state(state)).await?;
        Ok(Replayer {
            url,
            misses,
            calls,
            server,
        })
    }

    /// Where to point the SDK (`aws { endpoint }`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests that matched nothing recorded.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Requests answered (misses included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Drop for Replayer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn replay(State(replay): State<Replay>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("replay: {e}")),
    };
    replay.calls.fetch_add(1, Ordering::Relaxed);
    let key = key(&parts.method, &parts.uri, &parts.headers, &body);
    // The stated latency: waiting, no CPU (AWS's round trip as the caller sees it).
    tokio::time::sleep(replay.latency).await;
    match replay.recording.get(&key) {
        Some(answer) => respond(answer),
        None => {
            replay.misses.fetch_add(1, Ordering::Relaxed);
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("replay: nothing recorded for {key}"),
            )
        }
    }
}

/// What identifies a request across runs and accounts (see the module docs).
fn key(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> String {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .unwrap_or("-");
    let body = match std::str::from_utf8(body) {
        Ok(text) => digits_folded(text),
        Err(_) => format!("<{} bytes>", body.len()),
    };
    format!("{method} {} {target} {body}", digits_folded(path))
}

/// `text` with every run of ASCII digits as one `#`.
fn digits_folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The headers an answer is replayed with: all but those of the connection
/// and the framing (the server sets those).
fn kept_headers(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    const DROPPED: [&str; 5] = [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "date",
    ];
    headers
        .iter()
        .filter(|(name, _)| !DROPPED.contains(&name.as_str()))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

fn respond(answer: Answer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    for (name, value) in answer.headers {
        response.headers_mut().append(name, value);
    }
    response
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// Serves `router` on a free loopback port; its URL and task.
async fn serve(router: axum::Router) -> Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((url, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One request through `base`: its status, a header and body.
    async fn post(base: &str, target: &str, body: &str) -> (StatusCode, Option<String>, String) {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let request = hyper::Request::post(format!("{base}/"))
            .header("x-amz-target", target)
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let answer = client.request(request).await.unwrap();
        let status = answer.status();
        let smithy = answer
            .headers()
            .get("smithy-protocol")
            .map(|v| v.to_str().unwrap().to_string());
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        (status, smithy, String::from_utf8(body.to_vec()).unwrap())
    }

    /// What the recorder saw is what the replayer answers, after its latency;
    /// anything else is a counted miss, never a made-up answer.
    #[test]
    fn recorded_answers_are_replayed_after_the_latency_and_misses_counted() {
        crate::runtime().block_on(async {
            let upstream = axum::Router::new().fallback(|request: Request| async move {
                let body = request.into_body().collect().await.unwrap().to_bytes();
                let mut answer = Response::new(Body::from(format!(
                    "answer to {}",
                    String::from_utf8_lossy(&body)
                )));
                answer
                    .headers_mut()
                    .insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
                answer
            });
            let (upstream, _server) = serve(upstream).await.unwrap();
            let recorder = Recorder::start(&upstream).await.unwrap();
            let recorded = post(recorder.url(), "Svc.Op", r#"{"t":1700000000}"#).await;
            assert_eq!(recorded.2, r#"answer to {"t":1700000000}"#);
            assert_eq!(recorder.recording().len(), 1);

            let latency = Duration::from_millis(50);
            let replayer = Replayer::start(recorder.recording(), latency)
                .await
                .unwrap();
            drop(recorder);
            let started = std::time::Instant::now();
            // Another timestamp: the same request, folded.
            let replayed = post(replayer.url(), "Svc.Op", r#"{"t":1800000000}"#).await;
            assert!(started.elapsed() >= latency);
            assert_eq!(replayed, recorded);
            let missed = post(replayer.url(), "Svc.Other", "{}").await;
            assert_eq!(missed.0, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!((replayer.calls(), replayer.misses()), (2, 1));
        });
    }

    #[test]
    fn digits_fold_to_one_mark_per_run() {
        assert_eq!(
            digits_folded("arn:aws:sns:eu-central-1:123456789012:t?MaxRecords=100"),
            "arn:aws:sns:eu-central-#:#:t?MaxRecords=#"
        );
        assert_eq!(digits_folded("no digits"), "no digits");
    }

    #[test]
    fn a_request_is_known_by_method_path_target_and_folded_body() {
        let get = axum::http::Method::POST;
        let uri: axum::http::Uri = "/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("Logs.FilterLogEvents"),
        );
        let a = key(&get, &uri, &headers, br#"{"startTime":1700000000000}"#);
        let b = key(&get, &uri, &headers, br#"{"startTime":1800000000001}"#);
        assert_eq!(a, b);
        let c = key(&get, &uri, &headers, br#"{"logGroupName":"x"}"#);
        assert_ne!(a, c);
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("Logs.DescribeLogGroups"),
        );
        assert_ne!(
            a,
            key(&get, &uri, &headers, br#"{"startTime":1700000000000}"#)
        );
        // A body that is not text (RPCv2-CBOR) is known by its length.
        assert_eq!(
            key(&get, &uri, &HeaderMap::new(), &[0xbf, 0xff, 0x01]),
            key(&get, &uri, &HeaderMap::new(), &[0xbf, 0xff, 0x02])
        );
    }
}
