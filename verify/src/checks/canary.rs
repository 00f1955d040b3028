//! `canary.<name>`: a synthetic request, or a sequence of steps, through the
//! real edge (TLS, Cloudflare, the balancer, the app, its database) returns
//! what a client needs: the expected status, body assertions on JSON
//! pointers, within a latency bound; values captured from one step (a
//! token, an id) are used by the next.
//!
//! - Steps run in order; the first that fails ends the steps (`fail`,
//!   naming the step, expected and observed). A request that cannot be made
//!   (refused, TLS rejected, timed out) is `error`: the canary could not
//!   look; a writing step that timed out after sending says it may have
//!   written. A response served from a cache (`cf-cache-status: HIT`, a
//!   non-zero `Age`, `X-Cache: Hit…`) is `error`: not fresh, so it says
//!   nothing of the origin.
//! - A canary that writes (`writes = true`) runs only when the run allows
//!   writes (`verify run --allow-writes`); otherwise it is `skip` ("writes
//!   not allowed: pass --allow-writes"), never `pass`. Its `undo` steps run
//!   after the steps on every path — a failure, an error, the steps' own
//!   time bound — each when the step it undoes was sent and every value it
//!   uses exists. An undo that fails (or cannot run for a write that
//!   happened) makes the canary `error`, naming what remains; the evidence
//!   lists every write and whether it was undone. The whole canary keeps
//!   within the check's bound, the undo's share reserved first, so a slow
//!   step never leaves its write behind unreported.
//! - Every request carries `X-Verify-Canary: <run id>`
//!   ([`crate::RunSettings::run_id`]), so production can tell it apart.
//! - Secrets (`secrets = { password = "VERIFY_SECRET_…" }`) are read through
//!   [`crate::secrets::read`] (only inside the run's secret prefix; unset is
//!   `error`, and nothing is sent), and sent only over https; no request
//!   follows a redirect. No secret, captured value or response content is
//!   in a message or the evidence: requests are shown as their templates
//!   (`GET /v1/appointments/{{appointment}}`), a response body by its size
//!   and type, a value observed at a pointer by its kind (`a string of 9
//!   characters`), never its text.
//! - Connections use the edge's `resolve` and `ca_file` when the spec has
//!   an `edge` block (the sandbox), else DNS and the public roots.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding};
use crate::context::{Context, RunSettings};
use crate::probe::http::{HttpOptions, HttpResponse, Outgoing, ProbeError, send};
use crate::spec::{
    BodyExpectation, BodyTest, CanarySpec, CanaryStep, CanaryUndo, RUN_ID_PLACEHOLDER, RateLimit,
};

/// One check per declared canary: instances of this template. Requests
/// through the edge; no AWS call.
pub(crate) const CANARY: CheckDef = CheckDef {
    id: "canary.<name>",
    title: "the declared canary's steps answer as expected, in time",
    doc: "an HTTP request, or a sequence of steps with captured values, returns the expected status/body within the latency bound; a canary that writes is marked `writes = true`, runs only with a run-time opt-in, and undoes its writes; a `rate_limit` step sends its request N times and expects 429 from the K-th on (and not before), after every other canary; no secret or captured value in any output",
    iam: &[],
};

pub(crate) const TEMPLATES: &[&CheckDef] = &[&CANARY];

/// The header every canary request carries, with the run's id.
pub const CANARY_HEADER: &str = "X-Verify-Canary";

/// What the canary keeps back from the check's bound, beyond the undo's share.
const MARGIN: Duration = Duration::from_secs(1);

pub fn checks(canaries: &[CanarySpec]) -> Vec<Check> {
    canaries
        .iter()
        .map(|canary| {
            let name = canary.name.clone();
            let check = Check::instance(&CANARY, format!("canary.{}", canary.name), move |cx| {
                let name = name.clone();
                Box::pin(async move { run(cx, &name).await })
            });
            // A rate-limit burst would throttle the other canaries' requests
            // (an IP limit, the T-0 sign-in): it runs after all of them.
            if canary.rate_limited() {
                check.after_canaries()
            } else {
                check
            }
        })
        .collect()
}

async fn run(cx: &Context, name: &str) -> CheckResult {
    run_within(cx, name, cx.check_timeout()).await
}

/// The canary `name` of the spec, run as `canary.<name>` runs (the edge's
/// `resolve` and roots, the run's settings, its undo), within `bound`: a
/// drill's dependent ([`crate::drill::dependents`]).
pub(crate) async fn run_within(cx: &Context, name: &str, bound: Duration) -> CheckResult {
    let spec = cx
        .env()
        .canaries
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("canary '{name}'"),
        })?;
    let options = match &cx.env().edge {
        Some(edge) => super::edge::http_options(edge, 0)?,
        None => HttpOptions::default(),
    };
    Ok(canary(spec, options, cx.run(), bound).await)
}

// --- the run: steps, then undo ------------------------------------------------

/// The canary `spec` over `options`, under the run's settings, within `bound`
/// (the check's), undo included.
async fn canary(
    spec: &CanarySpec,
    mut options: HttpOptions,
    settings: &RunSettings,
    bound: Duration,
) -> Finding {
    let name = &spec.name;
    let run_id = settings.run_id.as_str();
    let evidence = Evidence::of(format!("canary '{name}'"))
        .resources(
            spec.steps
                .iter()
                .map(|s| Request::step(s).template(&spec.base_url))
                .collect::<Vec<_>>(),
        )
        .expected(json!({
            "steps": spec.steps.iter().map(expected_of).collect::<Vec<_>>(),
            "undo": spec.undo.iter().map(expected_of_undo).collect::<Vec<_>>(),
        }))
        .detail("writes", spec.writes)
        .detail("header", format!("{CANARY_HEADER}: {run_id}"));
    if spec.writes && !settings.allow_writes {
        let would: Vec<String> = spec
            .steps
            .iter()
            .map(Request::step)
            .filter(Request::writes)
            .map(|r| r.short())
            .collect();
        let mut finding = Finding::skip(format!(
            "canary '{name}': writes not allowed: pass --allow-writes (it would write: {})",
            would.join(", ")
        ));
        finding.evidence = evidence.detail("wrote", json!([]));
        return finding;
    }
    options.timeout = spec.timeout;
    let mut values = Values::default();
    values.set_public(RUN_ID_PLACEHOLDER, Value::String(run_id.to_string()));
    for (placeholder, variable) in &spec.secrets {
        let what = format!("`secrets.{placeholder}`");
        match crate::secrets::read(&settings.secret_prefix, variable, &what) {
            Ok(value) => values.set(placeholder, Value::String(value), true),
            Err(e) => {
                return Finding::error(
                    format!("canary '{name}': {e}; nothing was sent"),
                    evidence.detail("wrote", json!([])),
                );
            }
        }
    }

    // The steps, within the bound less the undo's share.
    let started = Instant::now();
    let bound = bound.saturating_sub(MARGIN);
    let undo_share = spec
        .timeout
        .saturating_mul(u32::try_from(spec.undo.len()).unwrap_or(u32::MAX))
        .min(bound / 2);
    let steps_bound = bound.saturating_sub(undo_share);
    let mut progress = Progress::default();
    let steps = run_steps(spec, &options, &mut values, &mut progress, run_id);
    let ending = match tokio::time::timeout_at(started + steps_bound, steps).await {
        Ok(ending) => ending,
        Err(_) => Ending::Error(format!(
            "the steps did not finish within {} (the check's bound, less the undo's share)",
            duration_text(steps_bound)
        )),
    };
    // A write cut off by that bound may have reached the server.
    for write in &mut progress.writes {
        if write.state == WriteState::InFlight {
            write.state = WriteState::MayHave("cut off by the steps' time bound".into());
        }
    }
    let elapsed = started.elapsed();

    // Then the undo, however the steps ended.
    let undo_observed = run_undo(
        spec,
        &options,
        &values,
        &mut progress,
        run_id,
        started + bound,
    )
    .await;

    let remains = progress.remaining();
    let summary = progress.summary();
    let observed = json!({ "steps": progress.observed, "undo": undo_observed });
    let evidence = evidence
        .observed(observed)
        .detail("wrote", progress.writes_json());
    let steps_said = match &ending {
        Ending::Passed => format!(
            "{} step(s) as expected in {} ms",
            spec.steps.len(),
            elapsed.as_millis()
        ),
        Ending::Failed(problem) | Ending::Error(problem) => problem.clone(),
    };
    let finding = if !remains.is_empty() {
        Finding::error(
            format!(
                "canary '{name}': {}; the steps: {steps_said}{summary}",
                remains.join("; ")
            ),
            evidence,
        )
    } else {
        let message = format!("canary '{name}': {steps_said}{summary}");
        match ending {
            Ending::Passed => Finding::pass(message, evidence),
            Ending::Failed(_) => Finding::fail(message, evidence),
            Ending::Error(_) => Finding::error(message, evidence),
        }
    };
    scrub(finding, &values)
}

/// How the steps ended.
#[derive(Debug, Clone, PartialEq)]
enum Ending {
    Passed,
    /// A step answered other than expected: `fail`.
    Failed(String),
    /// A step could not look (no answer, not fresh, the bound): `error`.
    Error(String),
}

/// What the steps did: what each returned, and each write.
#[derive(Debug, Default)]
struct Progress {
    observed: Vec<Value>,
    writes: Vec<Write>,
}

/// One writing step, as far as it got, and its undo.
#[derive(Debug)]
struct Write {
    step: String,
    /// `POST /v1/appointments` (the template).
    request: String,
    state: WriteState,
    /// Each undo declared for it that applied: its name and whether it put
    /// the write back (else why not).
    undo: Vec<(String, Result<String, String>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum WriteState {
    /// Being sent when the steps' bound cut it off (resolved after).
    InFlight,
    /// Never sent (the connection failed first).
    NotSent,
    /// Answered with this status.
    Answered(u16),
    /// No answer, and it may have reached the server: why.
    MayHave(String),
}

impl Write {
    /// Whether the server may hold what it sent: answered 2xx/3xx, a 5xx
    /// (it may have written before failing), or no answer after sending.
    /// A 4xx was refused: it wrote nothing.
    fn may_remain(&self) -> bool {
        match &self.state {
            WriteState::Answered(status) => !(400..500).contains(status),
            WriteState::MayHave(_) | WriteState::InFlight => true,
            WriteState::NotSent => false,
        }
    }

    fn undone(&self) -> bool {
        self.undo.iter().any(|(_, r)| r.is_ok())
    }

    fn sent(&self) -> String {
        match &self.state {
            WriteState::Answered(status) => format!("answered {status}"),
            WriteState::MayHave(why) => format!("may have written ({why})"),
            WriteState::NotSent => "not sent".into(),
            WriteState::InFlight => "may have written (in flight)".into(),
        }
    }
}

impl Progress {
    /// Each write whose undo was declared and did not put it back: what
    /// remains, and why.
    fn remaining(&self) -> Vec<String> {
        self.writes
            .iter()
            .filter(|w| w.may_remain() && !w.undo.is_empty() && !w.undone())
            .map(|w| {
                let why: Vec<String> = w
                    .undo
                    .iter()
                    .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("undo `{name}` {e}")))
                    .collect();
                format!(
                    "{} (step `{}`) remains: {}",
                    w.request,
                    w.step,
                    why.join("; ")
                )
            })
            .collect()
    }

    /// `; wrote: POST /a, POST /b; all undone`, or what was not; empty when
    /// nothing may have been written.
    fn summary(&self) -> String {
        let written: Vec<&Write> = self.writes.iter().filter(|w| w.may_remain()).collect();
        if written.is_empty() {
            return String::new();
        }
        let list = |ws: &[&Write]| {
            ws.iter()
                .map(|w| match &w.state {
                    WriteState::Answered(s) if *s < 500 => w.request.clone(),
                    WriteState::Answered(s) => {
                        format!("{} (may have written: answered {s})", w.request)
                    }
                    WriteState::MayHave(why) => format!("{} (may have written: {why})", w.request),
                    WriteState::InFlight | WriteState::NotSent => {
                        format!("{} (may have written)", w.request)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!("; wrote: {}", list(&written));
        let not_undone: Vec<&Write> = written.iter().copied().filter(|w| !w.undone()).collect();
        if not_undone.is_empty() {
            out.push_str("; all undone");
        } else {
            let undone: Vec<&Write> = written.iter().copied().filter(|w| w.undone()).collect();
            if !undone.is_empty() {
                out.push_str(&format!("; undone: {}", list(&undone)));
            }
            let reasons: Vec<String> = not_undone
                .iter()
                .map(|w| {
                    if w.undo.is_empty() {
                        format!("{} (no undo declared)", w.request)
                    } else {
                        w.request.clone()
                    }
                })
                .collect();
            out.push_str(&format!("; not undone: {}", reasons.join(", ")));
        }
        out
    }

    /// The evidence's `wrote`: each writing step, how far it got, its undo.
    fn writes_json(&self) -> Value {
        Value::Array(
            self.writes
                .iter()
                .map(|w| {
                    json!({
                        "step": w.step,
                        "request": w.request,
                        "sent": w.sent(),
                        "may_remain": w.may_remain(),
                        "undo": w.undo.iter().map(|(n, r)| json!({
                            "undo": n,
                            "result": match r { Ok(done) => done.clone(), Err(why) => why.clone() },
                            "ok": r.is_ok(),
                        })).collect::<Vec<_>>(),
                        "undone": if w.may_remain() { json!(w.undone()) } else { Value::Null },
                    })
                })
                .collect(),
        )
    }
}

async fn run_steps(
    spec: &CanarySpec,
    options: &HttpOptions,
    values: &mut Values,
    progress: &mut Progress,
    run_id: &str,
) -> Ending {
    for step in &spec.steps {
        let request = Request::step(step);
        let writes = request.writes();
        if writes {
            progress.writes.push(Write {
                step: step.name.clone(),
                request: request.short(),
                state: WriteState::InFlight,
                undo: Vec::new(),
            });
        }
        if let Some(limit) = &step.rate_limit {
            match run_burst(spec, step, limit, options, values, progress, run_id).await {
                Ending::Passed => continue,
                ending => return ending,
            }
        }
        let answered = exchange(spec, &request, options, values, run_id).await;
        let last_write = |progress: &mut Progress, state: WriteState| {
            if writes && let Some(w) = progress.writes.last_mut() {
                w.state = state;
            }
        };
        let (response, latency) = match answered {
            Ok(answered) => answered,
            Err(no) => {
                progress
                    .observed
                    .push(json!({ "step": step.name, "error": no.message }));
                let message = if writes && no.may_have_sent {
                    last_write(progress, WriteState::MayHave(no.message.clone()));
                    format!(
                        "step `{}` ({}) may have written: {} after sending",
                        step.name,
                        request.short(),
                        no.message
                    )
                } else {
                    last_write(progress, WriteState::NotSent);
                    format!("step `{}` could not be made: {}", step.name, no.message)
                };
                return Ending::Error(message);
            }
        };
        last_write(progress, WriteState::Answered(response.status));
        let mut seen = json!({
            "step": step.name,
            "status": response.status,
            "latency_ms": latency.as_millis() as u64,
        });
        if let Some(cache) = served_from_cache(&response) {
            seen["cache"] = json!(cache);
            progress.observed.push(seen);
            return Ending::Error(format!(
                "step `{}`: the response was served from a cache ({cache}): not fresh",
                step.name
            ));
        }
        let problem = judge_step(step, &response, latency, values, &mut seen);
        progress.observed.push(seen);
        if let Some(problem) = problem {
            return Ending::Failed(format!("step `{}` {problem}", step.name));
        }
    }
    Ending::Passed
}

/// A rate-limit step: its request sent `limit.requests` times, one after
/// another, each judged as it is answered ([`judge_burst`]); the first
/// that breaks the expectation ends the burst (nothing more is sent). The
/// whole burst keeps within `limit.within`. A writing burst is one entry of
/// the evidence's `wrote`: a 4xx (401, 429) wrote nothing; any other status
/// may have.
async fn run_burst(
    spec: &CanarySpec,
    step: &CanaryStep,
    limit: &RateLimit,
    options: &HttpOptions,
    values: &Values,
    progress: &mut Progress,
    run_id: &str,
) -> Ending {
    let request = Request::step(step);
    let writes = request.writes();
    let started = Instant::now();
    let deadline = started + limit.within;
    let mut statuses: Vec<u16> = Vec::new();
    let mut retry_after: Option<String> = None;
    // What the burst may have written: the first status that is not a 4xx.
    let mut wrote: Option<WriteState> = None;
    let ending = loop {
        let index = statuses.len() as u32 + 1;
        if index > limit.requests {
            break Ending::Passed;
        }
        if index > 1 && !limit.interval.is_zero() {
            tokio::time::sleep_until((Instant::now() + limit.interval).min(deadline)).await;
        }
        let answered =
            tokio::time::timeout_at(deadline, exchange(spec, &request, options, values, run_id))
                .await;
        let response = match answered {
            Ok(Ok((response, _))) => response,
            Ok(Err(no)) => {
                if writes && no.may_have_sent && wrote.is_none() {
                    wrote = Some(WriteState::MayHave(no.message.clone()));
                }
                break Ending::Error(format!(
                    "step `{}` request {index} of {} could not be made: {} (statuses before: {})",
                    step.name,
                    limit.requests,
                    no.message,
                    status_list(&statuses)
                ));
            }
            Err(_) => {
                if writes && wrote.is_none() {
                    wrote = Some(WriteState::MayHave(
                        "cut off by the burst's time bound".into(),
                    ));
                }
                break Ending::Error(format!(
                    "step `{}`: the {} requests did not finish within {} (request {index} \
                     unanswered; statuses before: {})",
                    step.name,
                    limit.requests,
                    duration_text(limit.within),
                    status_list(&statuses)
                ));
            }
        };
        if writes && wrote.is_none() && !(400..500).contains(&response.status) {
            wrote = Some(WriteState::Answered(response.status));
        }
        statuses.push(response.status);
        if response.status == 429 && retry_after.is_none() {
            retry_after = Some(retry_after_of(&response));
        }
        if let Some(cache) = served_from_cache(&response) {
            break Ending::Error(format!(
                "step `{}` request {index} of {}: the response was served from a cache \
                 ({cache}): not fresh",
                step.name, limit.requests
            ));
        }
        if let Some(problem) = judge_burst(limit, &statuses) {
            break Ending::Failed(format!("step `{}` {problem}", step.name));
        }
    };
    if writes && let Some(w) = progress.writes.last_mut() {
        w.state = wrote.unwrap_or_else(|| match statuses.last() {
            Some(status) => WriteState::Answered(*status),
            None => WriteState::NotSent,
        });
    }
    progress.observed.push(json!({
        "step": step.name,
        "requests": limit.requests,
        "limited_from": limit.limited_from,
        "sent": statuses.len(),
        "statuses": statuses,
        "retry_after": retry_after,
        "elapsed_ms": started.elapsed().as_millis() as u64,
    }));
    ending
}

/// The first request of a burst whose status breaks `limit`: before
/// `limited_from` anything but 429 (the step's `expect_status` when it sets
/// one), from it on 429. Names the request (1-based) and every status seen.
fn judge_burst(limit: &RateLimit, statuses: &[u16]) -> Option<String> {
    let n = limit.requests;
    let k = limit.limited_from;
    for (i, &status) in statuses.iter().enumerate() {
        let index = i as u32 + 1;
        let expected = if index < k {
            match limit.status_before {
                Some(want) if status != want => Some(format!("{want} (before the limit)")),
                _ if status == 429 => Some(format!("not 429 (limited only from request {k})")),
                _ => None,
            }
        } else if status != 429 {
            Some(format!("429 (limited from request {k})"))
        } else {
            None
        };
        if let Some(expected) = expected {
            return Some(format!(
                "request {index} of {n}: status expected {expected}, observed {status} \
                 (statuses seen: {})",
                status_list(&statuses[..=i])
            ));
        }
    }
    None
}

/// `401, 401, 429`; `none` for no status.
fn status_list(statuses: &[u16]) -> String {
    if statuses.is_empty() {
        return "none".into();
    }
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A 429's `Retry-After` as evidence may show it: a number of seconds as
/// itself, an HTTP date as `a date`, else `absent` (or `not a number or a date`).
fn retry_after_of(response: &HttpResponse) -> String {
    match response.header("retry-after").map(str::trim) {
        None => "absent".into(),
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{v} s")
        }
        Some(v) if httpdate_like(v) => "a date".into(),
        Some(_) => "not a number or a date".into(),
    }
}

/// `Wed, 21 Oct 2026 07:28:00 GMT`: the shape of an HTTP date.
fn httpdate_like(v: &str) -> bool {
    v.len() <= 40 && v.ends_with("GMT") && v.contains(',')
}

/// Each undo, in the order declared, by `deadline`; what each did.
async fn run_undo(
    spec: &CanarySpec,
    options: &HttpOptions,
    values: &Values,
    progress: &mut Progress,
    run_id: &str,
    deadline: Instant,
) -> Vec<Value> {
    let mut observed = Vec::new();
    for undo in &spec.undo {
        let request = Request::undo(undo);
        let Some(write) = progress.writes.iter().position(|w| w.step == undo.undoes) else {
            observed.push(json!({ "undo": undo.name, "skipped": format!("step `{}` was not reached", undo.undoes) }));
            continue;
        };
        if !progress.writes[write].may_remain() {
            let why = format!(
                "step `{}` wrote nothing ({})",
                undo.undoes,
                progress.writes[write].sent()
            );
            observed.push(json!({ "undo": undo.name, "skipped": why }));
            continue;
        }
        let missing: Vec<String> = request
            .uses()
            .into_iter()
            .filter(|p| !values.has(p))
            .map(|p| format!("{{{{{p}}}}}"))
            .collect();
        let result = if !missing.is_empty() {
            Err(format!(
                "could not run: {} never captured",
                missing.join(", ")
            ))
        } else {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err("could not run: no time left within the check's bound".to_string())
            } else {
                let mut options = options.clone();
                options.timeout = spec.timeout.min(left);
                match exchange(spec, &request, &options, values, run_id).await {
                    Err(no) => Err(format!("got no answer: {}", no.message)),
                    Ok((response, _)) => match served_from_cache(&response) {
                        Some(cache) => {
                            Err(format!("was answered from a cache ({cache}): not fresh"))
                        }
                        None if undo.expect_status.contains(&response.status) => {
                            Ok(format!("answered {}", response.status))
                        }
                        None => Err(format!(
                            "status expected {}, observed {}",
                            statuses(&undo.expect_status),
                            response.status
                        )),
                    },
                }
            }
        };
        observed.push(json!({
            "undo": undo.name,
            "request": request.short(),
            "result": match &result { Ok(done) => done.clone(), Err(why) => why.clone() },
            "ok": result.is_ok(),
        }));
        progress.writes[write]
            .undo
            .push((undo.name.clone(), result));
    }
    observed
}

/// `750ms`, `10s`, `1m 30s`: to the millisecond.
fn duration_text(d: Duration) -> String {
    let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    humantime::format_duration(Duration::from_millis(millis)).to_string()
}

fn statuses(list: &[u16]) -> String {
    let shown: Vec<String> = list.iter().map(u16::to_string).collect();
    match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => shown.join(""),
    }
}

// --- one request ---------------------------------------------------------------

/// One request of a canary: a step's or an undo's.
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a [(String, String)],
    body: Option<&'a str>,
    body_is_json: bool,
}

impl<'a> Request<'a> {
    fn step(step: &'a CanaryStep) -> Request<'a> {
        Request {
            method: &step.method,
            path: &step.path,
            headers: &step.headers,
            body: step.body.as_deref(),
            body_is_json: step.body_is_json,
        }
    }

    fn undo(undo: &'a CanaryUndo) -> Request<'a> {
        Request {
            method: &undo.method,
            path: &undo.path,
            headers: &undo.headers,
            body: undo.body.as_deref(),
            body_is_json: undo.body_is_json,
        }
    }

    /// Anything but GET and HEAD may change data.
    fn writes(&self) -> bool {
        !matches!(self.method, "GET" | "HEAD")
    }

    /// `POST /v1/appointments`: the template, placeholders unfilled.
    fn short(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// `POST https://api.example/v1/appointments`: the template.
    fn template(&self, base_url: &str) -> String {
        format!("{} {base_url}{}", self.method, self.path)
    }

    /// The placeholders it uses, in its path, headers and body.
    fn uses(&self) -> Vec<&'a str> {
        let mut out = placeholders(self.path);
        for (_, v) in self.headers {
            out.extend(placeholders(v));
        }
        if let Some(body) = self.body {
            out.extend(placeholders(body));
        }
        out
    }
}

/// Why a request got no answer, told without its URL; whether it may have
/// reached the server.
#[derive(Debug, Clone, PartialEq)]
struct NoAnswer {
    message: String,
    may_have_sent: bool,
}

/// `request`, filled with `values`, to the canary's base URL, carrying the
/// run's id; the answer and how long it took.
async fn exchange(
    spec: &CanarySpec,
    request: &Request<'_>,
    options: &HttpOptions,
    values: &Values,
    run_id: &str,
) -> Result<(HttpResponse, Duration), NoAnswer> {
    // A secret is sent only over https (the spec refuses it otherwise; this
    // holds for a spec built by hand too).
    if !spec.base_url.starts_with("https://") && request.uses().iter().any(|p| values.is_secret(p))
    {
        return Err(NoAnswer {
            message: "refused to send a secret over plain http (base_url is not https://)".into(),
            may_have_sent: false,
        });
    }
    let url = format!(
        "{}{}",
        spec.base_url.trim_end_matches('/'),
        fill(request.path, values, false)
    );
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(CANARY_HEADER))
        .map(|(k, v)| (k.clone(), fill(v, values, false)))
        .collect();
    headers.push((CANARY_HEADER.to_string(), run_id.to_string()));
    if request.body_is_json
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let body = request.body.map(|b| {
        if request.body_is_json {
            fill_json_text(b, values)
        } else {
            fill(b, values, false)
        }
    });
    let outgoing = Outgoing {
        method: request.method.to_string(),
        headers,
        body: body.map(String::into_bytes),
    };
    let started = Instant::now();
    match send(&url, &outgoing, options).await {
        Ok(response) => Ok((response, started.elapsed())),
        Err(e) => Err(NoAnswer {
            message: describe_error(&e),
            may_have_sent: may_have_sent(&e),
        }),
    }
}

/// The probe's error without the URL it names (the URL holds the filled-in
/// placeholders): the host, the stage, what went wrong.
fn describe_error(e: &ProbeError) -> String {
    match e {
        ProbeError::Timeout { stage, timeout, .. } => {
            format!("no {stage} within {}", duration_text(*timeout))
        }
        ProbeError::Http { message, .. } => format!("the HTTP exchange failed: {message}"),
        ProbeError::Invalid { message, .. } => format!("the request URL is invalid: {message}"),
        // These name the host (from the base URL, never a placeholder) only.
        ProbeError::Connect { .. }
        | ProbeError::Certificate { .. }
        | ProbeError::Tls { .. }
        | ProbeError::Resolve { .. } => e.to_string(),
    }
}

/// Whether a request that got `e` may have reached the server: anything
/// after the connection was ready (the request written, or being written).
fn may_have_sent(e: &ProbeError) -> bool {
    match e {
        ProbeError::Timeout { stage, .. } => !matches!(
            *stage,
            "DNS answer" | "connect" | "TLS handshake" | "HTTP connection"
        ),
        ProbeError::Http { .. } => true,
        ProbeError::Connect { .. }
        | ProbeError::Certificate { .. }
        | ProbeError::Tls { .. }
        | ProbeError::Resolve { .. }
        | ProbeError::Invalid { .. } => false,
    }
}

/// Why `response` is not fresh from the origin: a cache answered it
/// (Cloudflare's `cf-cache-status` HIT, STALE, UPDATING or REVALIDATED; a
/// non-zero `Age`; an `X-Cache` hit, as CloudFront and others say). Only
/// the header's name and a known value are shown.
fn served_from_cache(response: &HttpResponse) -> Option<String> {
    if let Some(status) = response.header("cf-cache-status") {
        let status = status.trim().to_ascii_uppercase();
        if matches!(
            status.as_str(),
            "HIT" | "STALE" | "UPDATING" | "REVALIDATED"
        ) {
            return Some(format!("cf-cache-status: {status}"));
        }
    }
    if let Some(age) = response.header("age") {
        match age.trim().parse::<u64>() {
            Ok(0) => {}
            Ok(seconds) => return Some(format!("Age: {seconds}")),
            Err(_) => return Some("an Age header that is not a number".into()),
        }
    }
    if let Some(cache) = response.header("x-cache")
        && cache.to_ascii_lowercase().contains("hit")
    {
        return Some("X-Cache: a hit".into());
    }
    None
}

// --- the judgement -------------------------------------------------------------

fn expected_of(step: &CanaryStep) -> Value {
    json!({
        "step": step.name,
        "request": Request::step(step).short(),
        "status": if step.rate_limit.is_none() { json!(step.expect_status) } else { Value::Null },
        "max_latency_ms": step.max_latency.map(|d| d.as_millis() as u64),
        "body": step.expect.iter().map(describe_expectation).collect::<Vec<_>>(),
        "captures": step.capture.iter().map(|(k, p)| format!("{k} ← {p}")).collect::<Vec<_>>(),
        "rate_limit": step.rate_limit.as_ref().map(|l| json!({
            "requests": l.requests,
            "limited_from": l.limited_from,
            "before": l.status_before.map_or_else(|| "not 429".to_string(), |s| s.to_string()),
            "from_then": 429,
            "within_ms": l.within.as_millis() as u64,
            "interval_ms": l.interval.as_millis() as u64,
        })),
    })
}

fn expected_of_undo(undo: &CanaryUndo) -> Value {
    json!({
        "undo": undo.name,
        "undoes": undo.undoes,
        "request": Request::undo(undo).short(),
        "status": undo.expect_status,
    })
}

/// The first way `response` is not what `step` expects; captures its values.
fn judge_step(
    step: &CanaryStep,
    response: &HttpResponse,
    latency: Duration,
    values: &mut Values,
    seen: &mut Value,
) -> Option<String> {
    if response.status != step.expect_status {
        return Some(format!(
            "status expected {}, observed {} (body: {})",
            step.expect_status,
            response.status,
            body_shape(response)
        ));
    }
    if let Some(bound) = step.max_latency
        && latency > bound
    {
        return Some(format!(
            "latency expected ≤ {} ms, observed {} ms",
            bound.as_millis(),
            latency.as_millis()
        ));
    }
    if step.expect.is_empty() && step.capture.is_empty() {
        return None;
    }
    let body: Value = match serde_json::from_slice(&response.body) {
        Ok(body) => body,
        Err(e) => {
            return Some(format!(
                "body expected JSON, observed {} ({})",
                body_shape(response),
                e.classify_text()
            ));
        }
    };
    let mut checked = Vec::new();
    for expectation in &step.expect {
        let found = body.pointer(&expectation.pointer);
        let ok = match (&expectation.test, found) {
            (_, None) => false,
            (BodyTest::Exists, Some(v)) => !v.is_null(),
            (BodyTest::Equals(want), Some(got)) => json_equal(got, &fill_json(want, values)),
            (BodyTest::Contains(want), Some(got)) => contains(got, &fill_json(want, values)),
        };
        checked.push(describe_expectation(expectation));
        if !ok {
            seen["body"] = json!(checked);
            return Some(format!(
                "body {} expected, observed {}",
                describe_expectation(expectation),
                found.map_or_else(|| "nothing there".to_string(), |v| kind_of(v, values))
            ));
        }
    }
    seen["body"] = json!(checked);
    for (name, pointer) in &step.capture {
        match body.pointer(pointer) {
            None => {
                return Some(format!(
                    "capture `{name}` expected a value at {}, observed nothing there",
                    pointer_label(pointer)
                ));
            }
            Some(Value::Null) => {
                return Some(format!(
                    "capture `{name}` expected a value at {}, observed null",
                    pointer_label(pointer)
                ));
            }
            Some(value) => values.set(name, value.clone(), false),
        }
    }
    seen["captured"] = json!(step.capture.iter().map(|(k, _)| k).collect::<Vec<_>>());
    None
}

/// A body as a message may show it: its size and type, never its text (it
/// may hold a token, or echo a password).
fn body_shape(response: &HttpResponse) -> String {
    let len = response.body.len();
    let kind = response
        .header("content-type")
        .and_then(|t| t.split(';').next())
        .map(str::trim)
        .filter(|t| {
            !t.is_empty()
                && t.len() <= 64
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/.+-".contains(c))
        });
    match (len, kind) {
        (0, _) => "empty".into(),
        (n, Some(kind)) => format!("{n} bytes of {kind}"),
        (n, None) => format!("{n} bytes"),
    }
}

/// A value observed at a pointer as a message may show it: `null`, a
/// boolean or a number (unless it is a secret's or a captured value) as
/// itself; a string, array or object by its kind and size, never its text.
fn kind_of(value: &Value, values: &Values) -> String {
    match value {
        Value::Null | Value::Bool(_) => value.to_string(),
        Value::Number(n) if !values.holds_text(&n.to_string()) => n.to_string(),
        Value::Number(_) => "a number (withheld: a secret or captured value)".into(),
        Value::String(s) => format!("a string of {} characters", s.chars().count()),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(map) => format!("an object with {} keys", map.len()),
    }
}

fn describe_expectation(e: &BodyExpectation) -> String {
    match &e.test {
        BodyTest::Exists => format!("{} present", pointer_label(&e.pointer)),
        BodyTest::Equals(v) => format!("{} = {v}", pointer_label(&e.pointer)),
        BodyTest::Contains(v) => format!("{} contains {v}", pointer_label(&e.pointer)),
    }
}

fn pointer_label(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(the body)"
    } else {
        pointer
    }
}

/// Equal as JSON values, numbers by value (`42` equals `42.0`; integers
/// compared exactly).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A string holding `want` (a string), or an array with an element equal to `want`.
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::String(s), Value::String(w)) => s.contains(w.as_str()),
        (Value::Array(items), want) => items.iter().any(|i| json_equal(i, want)),
        _ => false,
    }
}

// --- values and placeholders ---------------------------------------------------

/// The values placeholders are filled with: secrets (from the environment)
/// and captured values (as JSON: a captured number stays a number).
#[derive(Debug, Default)]
struct Values {
    entries: Vec<(String, Value, bool)>,
    /// Values any output may show (the run's id, already in the evidence's
    /// header): filled like the others, never withheld.
    public: Vec<(String, Value)>,
}

impl Values {
    fn set(&mut self, name: &str, value: Value, secret: bool) {
        self.entries.retain(|(k, _, _)| k != name);
        self.entries.push((name.to_string(), value, secret));
    }

    fn set_public(&mut self, name: &str, value: Value) {
        self.public.retain(|(k, _)| k != name);
        self.public.push((name.to_string(), value));
    }

    /// Every value, held and public, by name.
    fn all(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.entries
            .iter()
            .map(|(k, v, _)| (k, v))
            .chain(self.public.iter().map(|(k, v)| (k, v)))
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.all().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn is_secret(&self, name: &str) -> bool {
        self.entries.iter().any(|(k, _, s)| k == name && *s)
    }

    /// Whether `text` is the text of a value held.
    fn holds_text(&self, text: &str) -> bool {
        self.entries.iter().any(|(_, v, _)| as_text(v) == text)
    }

    /// The texts to keep out of any output: every secret, and every
    /// captured value long enough not to be a common word or number.
    fn withheld(&self) -> Vec<String> {
        let mut texts: Vec<String> = self
            .entries
            .iter()
            .map(|(_, v, secret)| (as_text(v), *secret))
            .filter(|(t, secret)| t.chars().count() >= if *secret { 4 } else { 8 })
            .map(|(t, _)| t)
            .collect();
        // Longest first, so a value holding another is replaced whole.
        texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
        texts
    }
}

/// A value as it goes into a path or header: a string as itself, anything
/// else as JSON text (`42`).
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `{{name}}` placeholders in `text`, in order.
fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

/// The one placeholder `text` is, whole (`"{{id}}"`, `"{{ id }}"`).
fn sole_placeholder(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

/// `text` with every `{{name}}` replaced (JSON-escaped inside a JSON string).
fn fill(text: &str, values: &Values, json_escaped: bool) -> String {
    let mut out = text.to_string();
    for (name, value) in values.all() {
        let value = as_text(value);
        let value = if json_escaped {
            // The JSON string without its quotes.
            let quoted = serde_json::to_string(&value).unwrap_or_default();
            quoted
                .get(1..quoted.len().saturating_sub(1))
                .unwrap_or_default()
                .to_string()
        } else {
            value
        };
        for spelling in [format!("{{{{{name}}}}}"), format!("{{{{ {name} }}}}")] {
            out = out.replace(&spelling, &value);
        }
    }
    out
}

/// A JSON value with its placeholders filled: a string that is one
/// placeholder whole becomes the value as captured (a number stays a
/// number), any other string has its placeholders filled as text.
fn fill_json(want: &Value, values: &Values) -> Value {
    match want {
        Value::String(s) => match sole_placeholder(s).and_then(|p| values.get(p)) {
            Some(value) => value.clone(),
            None => Value::String(fill(s, values, false)),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_json(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A JSON body (the spec's `json = { … }`, as text) with its placeholders
/// filled by [`fill_json`]; text that is not JSON is filled JSON-escaped.
fn fill_json_text(body: &str, values: &Values) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(parsed) => fill_json(&parsed, values).to_string(),
        Err(_) => fill(body, values, true),
    }
}

/// The finding with every secret and captured value replaced by
/// `«withheld»`: a last guard, should a message or evidence ever carry one.
fn scrub(mut finding: Finding, values: &Values) -> Finding {
    let withheld = values.withheld();
    if withheld.is_empty() {
        return finding;
    }
    let clean = |text: &str| {
        let mut out = text.to_string();
        for value in &withheld {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "«withheld»");
            }
        }
        out
    };
    fn walk(value: &mut Value, clean: &dyn Fn(&str) -> String) {
        match value {
            Value::String(s) => *s = clean(s),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, clean)),
            Value::Object(map) => map.values_mut().for_each(|v| walk(v, clean)),
            _ => {}
        }
    }
    finding.message = clean(&finding.message);
    let e = &mut finding.evidence;
    e.resources = e.resources.iter().map(|r| clean(r)).collect();
    walk(&mut e.expected, &clean);
    walk(&mut e.observed, &clean);
    e.details.values_mut().for_each(|v| walk(v, &clean));
    finding
}

/// A serde_json error as text, without input: its category and position.
trait ClassifyText {
    fn classify_text(&self) -> String;
}

impl ClassifyText for serde_json::Error {
    fn classify_text(&self) -> String {
        let what = match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "not the JSON expected",
            serde_json::error::Category::Eof => "cut short",
        };
        format!("{what} at line {} column {}", self.line(), self.column())
    }
}

#[cfg(test)]
mod tests;
