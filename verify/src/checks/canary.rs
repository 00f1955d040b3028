//! `canary.<name>`: a synthetic request, or a sequence of steps, through the
//! real edge (TLS, Cloudflare, the balancer, the app, its database) returns
//! what a client needs: the expected status, body assertions on JSON
//! pointers, within a latency bound; values captured from one step (a
//! token, an id) are used by the next.
//!
//! - Steps run in order; the first that fails ends the canary (`fail`, naming
//!   the step, expected and observed). A request that cannot be made
//!   (refused, TLS rejected, timed out) is `error`: the canary could not look.
//! - A secret the spec names (`secrets = { password = "ENV_VAR" }`) is read
//!   from the environment; an unset variable is `error`. Secrets and captured
//!   values never appear in the evidence: it shows the templates.
//! - Only a canary marked `writes = true` may send anything but GET/HEAD
//!   (the spec refuses otherwise); the evidence lists what it wrote.
//! - Connections use the edge's `resolve` and `ca_file` when the spec has
//!   an `edge` block (the sandbox), else DNS and the public roots.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding};
use crate::context::Context;
use crate::probe::http::{HttpOptions, HttpResponse, Outgoing, send};
use crate::spec::{BodyExpectation, BodyTest, CanarySpec, CanaryStep};

/// One check per declared canary: instances of this template. Requests
/// through the edge; no AWS call.
pub(crate) const CANARY: CheckDef = CheckDef {
    id: "canary.<name>",
    title: "the declared canary's steps answer as expected, in time",
    doc: "an HTTP request, or a sequence of steps with captured values, returns the expected status/body within the latency bound; a canary that writes is marked `writes = true`, runs only with a run-time opt-in, and undoes its writes; no secret or captured value in any output",
    iam: &[],
};

pub(crate) const TEMPLATES: &[&CheckDef] = &[&CANARY];

pub fn checks(canaries: &[CanarySpec]) -> Vec<Check> {
    canaries
        .iter()
        .map(|canary| {
            let name = canary.name.clone();
            Check::instance(&CANARY, format!("canary.{}", canary.name), move |cx| {
                let name = name.clone();
                Box::pin(async move { run(cx, &name).await })
            })
        })
        .collect()
}

async fn run(cx: &Context, name: &str) -> CheckResult {
    let spec = cx
        .env()
        .canaries
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("canary '{name}'"),
        })?;
    let mut options = match &cx.env().edge {
        Some(edge) => super::edge::http_options(edge, 0)?,
        None => HttpOptions::default(),
    };
    options.timeout = spec.timeout;
    let mut values = Vec::new();
    for (placeholder, variable) in &spec.secrets {
        let value = std::env::var(variable).map_err(|_| CheckError::Probe {
            probe: "canary secret".into(),
            target: format!("canary '{name}'"),
            message: format!(
                "environment variable {variable} (for {{{{{placeholder}}}}}) is not set"
            ),
        })?;
        values.push((placeholder.clone(), value));
    }
    let mut evidence = Evidence::of(format!("canary '{name}'"))
        .resources(
            spec.steps
                .iter()
                .map(|s| format!("{} {}{}", s.method, spec.base_url, s.path))
                .collect::<Vec<_>>(),
        )
        .expected(json!({ "steps": spec.steps.iter().map(expected_of).collect::<Vec<_>>() }));
    let mut observed = Vec::new();
    let mut wrote = Vec::new();
    let started = Instant::now();
    for step in &spec.steps {
        let outcome = run_step(spec, step, &options, &mut values).await;
        if !matches!(step.method.as_str(), "GET" | "HEAD") {
            // Sent, whatever came back: the write may have happened.
            wrote.push(format!("{} {}", step.method, step.path));
        }
        let (seen, problem) = outcome?;
        observed.push(seen);
        if let Some(problem) = problem {
            evidence = evidence
                .observed(json!({ "steps": observed }))
                .detail("writes", spec.writes)
                .detail("wrote", wrote.clone());
            return Ok(Finding::fail(
                format!("canary '{name}': step `{}` {problem}", step.name),
                evidence,
            ));
        }
    }
    let elapsed = started.elapsed().as_millis();
    let writes = if wrote.is_empty() {
        String::new()
    } else {
        format!("; wrote: {}", wrote.join(", "))
    };
    Ok(Finding::pass(
        format!(
            "canary '{name}': {} step(s) as expected in {elapsed} ms{writes}",
            spec.steps.len()
        ),
        evidence
            .observed(json!({ "steps": observed }))
            .detail("writes", spec.writes)
            .detail("wrote", wrote),
    ))
}

fn expected_of(step: &CanaryStep) -> Value {
    json!({
        "step": step.name,
        "status": step.expect_status,
        "max_latency_ms": step.max_latency.map(|d| d.as_millis() as u64),
        "body": step.expect.iter().map(describe_expectation).collect::<Vec<_>>(),
        "captures": step.capture.iter().map(|(k, p)| format!("{k} ← {p}")).collect::<Vec<_>>(),
    })
}

/// One step: what was observed, and the first problem if any. `Err` when the
/// request could not be made.
async fn run_step(
    spec: &CanarySpec,
    step: &CanaryStep,
    options: &HttpOptions,
    values: &mut Vec<(String, String)>,
) -> Result<(Value, Option<String>), CheckError> {
    let url = format!(
        "{}{}",
        spec.base_url.trim_end_matches('/'),
        fill(&step.path, values, false)
    );
    let mut headers: Vec<(String, String)> = step
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), fill(v, values, false)))
        .collect();
    if step.body_is_json
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let outgoing = Outgoing {
        method: step.method.clone(),
        headers,
        body: step
            .body
            .as_ref()
            .map(|b| fill(b, values, step.body_is_json).into_bytes()),
    };
    let target = format!("{} {}{}", step.method, spec.base_url, step.path);
    let started = Instant::now();
    let response = send(&url, &outgoing, options)
        .await
        .map_err(|e| CheckError::Probe {
            probe: format!("canary '{}' step `{}`", spec.name, step.name),
            target: target.clone(),
            message: e.to_string(),
        })?;
    let latency = started.elapsed();
    let mut seen = json!({
        "step": step.name,
        "status": response.status,
        "latency_ms": latency.as_millis() as u64,
    });
    let problem = judge_step(step, &response, latency, values, &mut seen);
    Ok((seen, problem))
}

/// The first way `response` is not what `step` expects; captures its values.
fn judge_step(
    step: &CanaryStep,
    response: &HttpResponse,
    latency: Duration,
    values: &mut Vec<(String, String)>,
    seen: &mut Value,
) -> Option<String> {
    if response.status != step.expect_status {
        return Some(format!(
            "status expected {}, observed {} (body: {})",
            step.expect_status,
            response.status,
            excerpt(&response.body)
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
                "body expected JSON, observed {} ({e})",
                excerpt(&response.body)
            ));
        }
    };
    let mut checked = Vec::new();
    for expectation in &step.expect {
        let found = body.pointer(&expectation.pointer);
        let ok = match (&expectation.test, found) {
            (_, None) => false,
            (BodyTest::Exists, Some(_)) => true,
            (BodyTest::Equals(want), Some(got)) => *got == fill_json(want, values),
            (BodyTest::Contains(want), Some(got)) => contains(got, &fill_json(want, values)),
        };
        checked.push(describe_expectation(expectation));
        if !ok {
            seen["body"] = json!(checked);
            return Some(format!(
                "body {} expected, observed {}",
                describe_expectation(expectation),
                found.map_or_else(|| "nothing there".to_string(), |v| truncate(&v.to_string()))
            ));
        }
    }
    seen["body"] = json!(checked);
    for (name, pointer) in &step.capture {
        let value = match body.pointer(pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => {
                return Some(format!(
                    "capture `{name}` expected a value at {pointer}, observed nothing there"
                ));
            }
            Some(other) => other.to_string(),
        };
        values.retain(|(k, _)| k != name);
        values.push((name.clone(), value));
    }
    seen["captured"] = json!(step.capture.iter().map(|(k, _)| k).collect::<Vec<_>>());
    None
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

/// A string holding `want` (a string), or an array with an element equal to `want`.
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::String(s), Value::String(w)) => s.contains(w.as_str()),
        (Value::Array(items), want) => items.iter().any(|i| i == want),
        _ => false,
    }
}

/// `text` with every `{{name}}` replaced (JSON-escaped inside a JSON body).
fn fill(text: &str, values: &[(String, String)], json_escaped: bool) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        let value = if json_escaped {
            let quoted = serde_json::to_string(value).unwrap_or_default();
            quoted[1..quoted.len().saturating_sub(1).max(1)].to_string()
        } else {
            value.clone()
        };
        for spelling in [format!("{{{{{name}}}}}"), format!("{{{{ {name} }}}}")] {
            out = out.replace(&spelling, &value);
        }
    }
    out
}

fn fill_json(want: &Value, values: &[(String, String)]) -> Value {
    match want {
        Value::String(s) => Value::String(fill(s, values, false)),
        other => other.clone(),
    }
}

fn excerpt(body: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(body))
}

fn truncate(text: &str) -> String {
    const MAX: usize = 200;
    let text = text.trim();
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            location: None,
            final_url: "https://api.example/v1/orgs".into(),
            redirects: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    fn judge(status: u16, body: &str, latency_ms: u64) -> (Option<String>, Vec<(String, String)>) {
        let mut values = Vec::new();
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
        assert_eq!(values, [("org".to_string(), "o-1".to_string())]);
        let cases = [
            (500, good, 10, "status expected 200, observed 500"),
            (200, good, 900, "latency expected ≤ 500 ms, observed 900 ms"),
            (
                200,
                "<html>oops</html>",
                10,
                "body expected JSON, observed <html>oops</html>",
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
                "observed \"Kinetic\"",
            ),
            (
                200,
                r#"{"items":[{"name":"Physio"}]}"#,
                10,
                "capture `org` expected a value at /items/0/id",
            ),
        ];
        for (status, body, latency, fragment) in cases {
            let (problem, _) = judge(status, body, latency);
            let problem = problem.unwrap_or_else(|| panic!("{body}: no problem found"));
            assert!(problem.contains(fragment), "{problem:?} lacks {fragment:?}");
        }
    }

    #[test]
    fn placeholders_fill_json_escaped_in_json_bodies() {
        let values = vec![("p".to_string(), r#"a"b\c"#.to_string())];
        assert_eq!(
            fill(r#"{"password":"{{p}}"}"#, &values, true),
            r#"{"password":"a\"b\\c"}"#
        );
        assert_eq!(fill("Bearer {{ p }}", &values, false), r#"Bearer a"b\c"#);
    }

    #[test]
    fn contains_means_substring_or_element() {
        assert!(contains(&json!("Physio Bucharest"), &json!("Physio")));
        assert!(contains(&json!(["a", 2]), &json!(2)));
        assert!(!contains(&json!({"a": 1}), &json!("a")));
    }
}
