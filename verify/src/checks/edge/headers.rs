//! `edge.https.security_headers`: on every declared hostname, at each path
//! of `edge { security_headers { paths } }`, the response (redirects
//! followed) carries the headers a browser needs, read as a browser reads
//! them:
//!
//! - framing: an enforced `Content-Security-Policy` with a restrictive
//!   `frame-ancestors` (no `*`, no bare scheme), or, when no policy has
//!   `frame-ancestors` (a browser then ignores X-Frame-Options),
//!   `X-Frame-Options` `DENY` or `SAMEORIGIN` (two different values are
//!   invalid and ignored, as browsers do). A CSP in a `<meta>` tag cannot
//!   set `frame-ancestors` and is not read; `Content-Security-Policy-Report-Only`
//!   enforces nothing and is not read either;
//! - `X-Content-Type-Options`: its first value `nosniff` (Fetch);
//! - `Referrer-Policy`: the last valid token of every value, present and not
//!   `unsafe-url` (or one of the declared `referrer_policies`);
//! - with `require_csp`, a `Content-Security-Policy` header; with
//!   `require_hsts`, `Strict-Transport-Security` (the first header, as a
//!   browser keeps) with `max-age` ≥ the edge's `hsts_min_max_age`.
//!
//! One request per hostname and path per run (the run's cache).

use serde_json::json;

use super::https::hsts_max_age;
use super::{NONE_DECLARED, http_options, probe_error, probed};
use crate::check::{Check, CheckDef, CheckResult, Fields, Finding, combine};
use crate::context::Context;
use crate::probe::http::{HttpResponse, get};
use crate::spec::{EdgeSpec, SecurityHeadersSpec};

// --- what: the checks, declared ----------------------------------------------

const SECURITY_HEADERS: CheckDef = CheckDef {
    id: "edge.https.security_headers",
    title: "the declared hostnames and paths send the browser security headers",
    doc: "each declared hostname at each `security_headers` path (redirects followed): CSP `frame-ancestors` (restrictive) or `X-Frame-Options` DENY/SAMEORIGIN, `X-Content-Type-Options: nosniff`, a `Referrer-Policy` other than `unsafe-url` (or one declared), read as a browser reads repeated and invalid values; `require_csp` and `require_hsts` tighten it",
    iam: &[],
};

/// Redirects followed before the response judged (`/app` → `/app/`).
const FOLLOW: u8 = 5;
const PROBE: &str = "https get";
/// What framing protection is expected, whichever header gives it.
const FRAMING: &str =
    "CSP frame-ancestors (no * or bare scheme) or X-Frame-Options DENY/SAMEORIGIN";

pub fn checks() -> Vec<Check> {
    vec![Check::new(&SECURITY_HEADERS, |cx| {
        Box::pin(security_headers(cx))
    })]
}

async fn security_headers(cx: &Context) -> CheckResult {
    let Some(edge) = &cx.env().edge else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    let Some(wanted) = &edge.security_headers else {
        return Ok(Finding::skip(
            "no `security_headers` block declared in `edge`",
        ));
    };
    let mut items = Vec::new();
    for host in &wanted.hostnames {
        for path in &wanted.paths {
            let url = format!("https://{host}{path}");
            let result = async {
                let response = fetch(cx, edge, &url).await?;
                Ok(judge(&url, edge, wanted, &response))
            }
            .await;
            items.push((url, result));
        }
    }
    probed(combine(items, NONE_DECLARED), PROBE)
}

/// `GET url` (redirects followed), once per run.
async fn fetch(
    cx: &Context,
    edge: &EdgeSpec,
    url: &str,
) -> Result<std::sync::Arc<HttpResponse>, crate::CheckError> {
    cx.cache()
        .get(&format!("{PROBE} follow={FOLLOW}:{url}"), || async {
            get(url, &http_options(edge, FOLLOW)?)
                .await
                .map_err(|e| probe_error(PROBE, url, e))
        })
        .await
}

// --- how: the judges ----------------------------------------------------------

/// Every value of header `name`, combined and split on commas outside
/// quotes, trimmed ("get, decode, and split" of the Fetch standard).
fn split_values(response: &HttpResponse, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (_, value) in response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        let mut current = String::new();
        let mut quoted = false;
        for c in value.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    current.push(c);
                }
                ',' if !quoted => out.push(std::mem::take(&mut current).trim().to_string()),
                _ => current.push(c),
            }
        }
        out.push(current.trim().to_string());
    }
    out
}

/// The `frame-ancestors` directives of the enforced policies: for each
/// policy (every header, every comma-separated policy in it) that has one,
/// its source list (the first such directive of a policy wins).
fn frame_ancestors(response: &HttpResponse) -> Vec<String> {
    let mut found = Vec::new();
    for policy in split_values(response, "content-security-policy") {
        if let Some(sources) = policy.split(';').find_map(|directive| {
            let directive = directive.trim();
            let (name, value) = directive
                .split_once(|c: char| c.is_ascii_whitespace())
                .unwrap_or((directive, ""));
            name.eq_ignore_ascii_case("frame-ancestors")
                .then(|| value.trim().to_string())
        }) {
            found.push(sources);
        }
    }
    found
}

/// Whether a `frame-ancestors` source list keeps other sites from framing:
/// no `*`, no bare scheme (`https:`), no `scheme://*`. Empty is `'none'`.
fn restrictive(sources: &str) -> bool {
    sources.split_ascii_whitespace().all(|s| {
        let s = s.to_ascii_lowercase();
        let host = s.split_once("://").map_or(s.as_str(), |(_, rest)| rest);
        let bare_scheme = s.ends_with(':')
            && s[..s.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b));
        s != "*"
            && !bare_scheme
            && !host.starts_with("*/")
            && host != "*"
            && !host.starts_with("*:")
    })
}

/// X-Frame-Options as the HTML standard reads it: `Some("deny")` or
/// `Some("sameorigin")` when it protects; `None` when absent or invalid
/// (two different values, `ALLOW-FROM`, anything else), and why.
fn x_frame_options(values: &[String]) -> Result<&'static str, String> {
    let mut set: Vec<String> = values
        .iter()
        .map(|v| v.to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    set.sort();
    set.dedup();
    match set.as_slice() {
        [] => Err("none".into()),
        [one] if one == "deny" => Ok("deny"),
        [one] if one == "sameorigin" => Ok("sameorigin"),
        [one] => Err(format!("{one:?} (not DENY or SAMEORIGIN: ignored)")),
        many => Err(format!(
            "{} different values {many:?} (invalid: ignored)",
            many.len()
        )),
    }
}

/// The Referrer-Policy a browser applies: the last valid token.
fn referrer_policy(values: &[String]) -> Option<String> {
    values
        .iter()
        .rev()
        .map(|v| v.to_ascii_lowercase())
        .find(|v| envspec::REFERRER_POLICIES.contains(&v.as_str()))
}

/// `edge.https.security_headers` on the response from `url`.
fn judge(
    url: &str,
    edge: &EdgeSpec,
    wanted: &SecurityHeadersSpec,
    response: &HttpResponse,
) -> Finding {
    let csp = split_values(response, "content-security-policy");
    let csp_present = response
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-security-policy"));
    let ancestors = frame_ancestors(response);
    let xfo_values = split_values(response, "x-frame-options");
    let xfo = x_frame_options(&xfo_values);
    let nosniff_values = split_values(response, "x-content-type-options");
    let nosniff = nosniff_values
        .first()
        .is_some_and(|v| v.eq_ignore_ascii_case("nosniff"));
    let referrer_values = split_values(response, "referrer-policy");
    let referrer = referrer_policy(&referrer_values);
    let hsts = response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("strict-transport-security"))
        .map(|(_, v)| v.clone());
    let hsts_age = hsts.as_deref().and_then(hsts_max_age);

    let mut f = Fields::of(url);
    // Framing: frame-ancestors, when any policy has it, decides alone.
    let framing = if !ancestors.is_empty() {
        let ok = ancestors.iter().any(|a| restrictive(a));
        f.judge(
            "framing",
            FRAMING,
            format!("frame-ancestors {}", ancestors.join(" | ")),
            ok,
        );
        if !ok && xfo.is_ok() {
            f.because("X-Frame-Options is ignored when a policy has frame-ancestors");
        }
        format!("frame-ancestors {}", ancestors.join(" | "))
    } else {
        let (ok, shown) = match &xfo {
            Ok(v) => (true, format!("X-Frame-Options {}", v.to_ascii_uppercase())),
            Err(why) => (
                false,
                format!("no CSP frame-ancestors, X-Frame-Options {why}"),
            ),
        };
        f.judge("framing", FRAMING, shown.clone(), ok);
        shown
    };
    f.judge(
        "X-Content-Type-Options",
        "nosniff",
        nosniff_values
            .first()
            .cloned()
            .unwrap_or_else(|| "none".into()),
        nosniff,
    );
    f.judge(
        "Referrer-Policy",
        format!("one of [{}]", wanted.referrer_policies.join(", ")),
        referrer.clone().unwrap_or_else(|| {
            if referrer_values.is_empty() {
                "none".into()
            } else {
                format!("no valid policy in {referrer_values:?}")
            }
        }),
        referrer
            .as_ref()
            .is_some_and(|r| wanted.referrer_policies.contains(r)),
    );
    if wanted.require_csp {
        f.judge(
            "Content-Security-Policy",
            "present",
            if csp_present { "present" } else { "none" },
            csp_present,
        );
    }
    if wanted.require_hsts {
        let min = edge.hsts_min_max_age.as_secs();
        f.judge(
            "Strict-Transport-Security",
            format!("max-age ≥ {min}"),
            match (&hsts, hsts_age) {
                (None, _) => "none".to_string(),
                (Some(h), None) => format!("{h:?} (no valid max-age)"),
                (Some(_), Some(age)) => format!("max-age {age}"),
            },
            hsts_age.is_some_and(|a| a >= min),
        );
    }
    let mut finding = f.finish(format!(
        "{url}: {framing}, nosniff, Referrer-Policy {}",
        referrer.as_deref().unwrap_or("none")
    ));
    // The raw headers beside the verdicts (what a reader compares with).
    let observed = &mut finding.evidence.observed;
    observed["status"] = json!(response.status);
    observed["final_url"] = json!(response.final_url);
    observed["content-security-policy"] = json!(csp);
    observed["frame-ancestors"] = json!(ancestors);
    observed["x-frame-options"] = json!(xfo_values);
    observed["x-content-type-options"] = json!(nosniff_values);
    observed["referrer-policy"] = json!(referrer_values);
    observed["effective_referrer_policy"] = json!(referrer);
    observed["strict-transport-security"] = json!(hsts);
    finding
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use std::time::Duration;

    const URL: &str = "https://app.example.com/";

    fn edge() -> EdgeSpec {
        envspec::parse(
            "environment = \"e\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\
             edge {\n  load_balancer = \"lb\"\n  hostnames = [\"app.example.com\"]\n  security_headers {}\n}\n",
            "e.hcl".as_ref(),
        )
        .unwrap()
        .edge
        .unwrap()
    }

    fn wanted() -> SecurityHeadersSpec {
        edge().security_headers.unwrap()
    }

    fn response(headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            location: None,
            final_url: URL.into(),
            redirects: vec![],
            body: vec![],
        }
    }

    const GOOD: [(&str, &str); 4] = [
        (
            "content-security-policy",
            "default-src 'self'; frame-ancestors 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ];

    fn with(changes: &[(&str, Option<&str>)], extra: &[(&str, &str)]) -> HttpResponse {
        let mut headers: Vec<(&str, &str)> = GOOD
            .iter()
            .copied()
            .filter(|(n, _)| !changes.iter().any(|(c, _)| c == n))
            .collect();
        for (n, v) in changes {
            if let Some(v) = v {
                headers.push((n, v));
            }
        }
        headers.extend(extra);
        response(&headers)
    }

    #[test]
    fn headers_are_judged_as_a_browser_reads_them() {
        let cases: Vec<(&str, HttpResponse, SecurityHeadersSpec, &str)> = vec![
            (
                "good",
                with(&[], &[]),
                wanted(),
                "pass: https://app.example.com/: frame-ancestors 'none', nosniff, Referrer-Policy strict-origin-when-cross-origin",
            ),
            (
                "XFO alone",
                with(&[("content-security-policy", None)], &[]),
                wanted(),
                "pass: https://app.example.com/: X-Frame-Options DENY",
            ),
            (
                "XFO sameorigin, lowercase, repeated alike",
                with(
                    &[
                        ("content-security-policy", None),
                        ("x-frame-options", Some("sameorigin")),
                    ],
                    &[("X-Frame-Options", "SAMEORIGIN")],
                ),
                wanted(),
                "pass",
            ),
            (
                "two different XFO values",
                with(
                    &[("content-security-policy", None)],
                    &[("x-frame-options", "SAMEORIGIN")],
                ),
                wanted(),
                "fail: https://app.example.com/: framing expected CSP frame-ancestors (no * or bare scheme) or X-Frame-Options DENY/SAMEORIGIN, observed no CSP frame-ancestors, X-Frame-Options 2 different values",
            ),
            (
                "XFO ALLOW-FROM",
                with(
                    &[
                        ("content-security-policy", None),
                        ("x-frame-options", Some("ALLOW-FROM https://a.example")),
                    ],
                    &[],
                ),
                wanted(),
                "fail: https://app.example.com/: framing expected",
            ),
            (
                "no framing protection",
                with(
                    &[
                        ("content-security-policy", Some("default-src 'self'")),
                        ("x-frame-options", None),
                    ],
                    &[],
                ),
                wanted(),
                "fail: https://app.example.com/: framing expected CSP frame-ancestors (no * or bare scheme) or X-Frame-Options DENY/SAMEORIGIN, observed no CSP frame-ancestors, X-Frame-Options none",
            ),
            (
                "frame-ancestors * overrides XFO DENY",
                with(
                    &[("content-security-policy", Some("frame-ancestors *"))],
                    &[],
                ),
                wanted(),
                "fail: https://app.example.com/: framing expected CSP frame-ancestors (no * or bare scheme) or X-Frame-Options DENY/SAMEORIGIN, observed frame-ancestors * (X-Frame-Options is ignored",
            ),
            (
                "frame-ancestors https:",
                with(
                    &[
                        ("content-security-policy", Some("frame-ancestors https:")),
                        ("x-frame-options", None),
                    ],
                    &[],
                ),
                wanted(),
                "fail",
            ),
            (
                "a second policy restricts framing",
                with(
                    &[(
                        "content-security-policy",
                        Some("frame-ancestors *, frame-ancestors 'self'"),
                    )],
                    &[],
                ),
                wanted(),
                "pass",
            ),
            (
                "report-only does not count",
                with(
                    &[("content-security-policy", None), ("x-frame-options", None)],
                    &[(
                        "content-security-policy-report-only",
                        "frame-ancestors 'none'",
                    )],
                ),
                wanted(),
                "fail",
            ),
            (
                "sniffing allowed",
                with(&[("x-content-type-options", None)], &[]),
                wanted(),
                "fail: https://app.example.com/: X-Content-Type-Options expected nosniff, observed none",
            ),
            (
                "nosniff not first",
                with(&[("x-content-type-options", Some("foo, nosniff"))], &[]),
                wanted(),
                "fail: https://app.example.com/: X-Content-Type-Options expected nosniff, observed foo",
            ),
            (
                "NOSNIFF in capitals",
                with(&[("x-content-type-options", Some("NOSNIFF"))], &[]),
                wanted(),
                "pass",
            ),
            (
                "no referrer policy",
                with(&[("referrer-policy", None)], &[]),
                wanted(),
                "fail: https://app.example.com/: Referrer-Policy expected one of [no-referrer, no-referrer-when-downgrade, same-origin, origin, strict-origin, origin-when-cross-origin, strict-origin-when-cross-origin], observed none",
            ),
            (
                "unsafe-url",
                with(&[("referrer-policy", Some("unsafe-url"))], &[]),
                wanted(),
                "fail: https://app.example.com/: Referrer-Policy expected one of",
            ),
            (
                "the last valid token wins",
                with(
                    &[("referrer-policy", Some("no-referrer, bogus"))],
                    &[("referrer-policy", "unsafe-url")],
                ),
                wanted(),
                "fail: https://app.example.com/: Referrer-Policy expected one of [no-referrer, no-referrer-when-downgrade, same-origin, origin, strict-origin, origin-when-cross-origin, strict-origin-when-cross-origin], observed unsafe-url",
            ),
            (
                "only invalid tokens",
                with(&[("referrer-policy", Some("bogus"))], &[]),
                wanted(),
                "fail: https://app.example.com/: Referrer-Policy expected one of",
            ),
            (
                "a declared narrower list",
                with(&[], &[]),
                SecurityHeadersSpec {
                    referrer_policies: vec!["no-referrer".into()],
                    ..wanted()
                },
                "fail: https://app.example.com/: Referrer-Policy expected one of [no-referrer], observed strict-origin-when-cross-origin",
            ),
            (
                "CSP required, XFO only",
                with(&[("content-security-policy", None)], &[]),
                SecurityHeadersSpec {
                    require_csp: true,
                    ..wanted()
                },
                "fail: https://app.example.com/: Content-Security-Policy expected present, observed none",
            ),
            (
                "HSTS required, absent",
                with(&[], &[]),
                SecurityHeadersSpec {
                    require_hsts: true,
                    ..wanted()
                },
                "fail: https://app.example.com/: Strict-Transport-Security expected max-age ≥ 15552000, observed none",
            ),
            (
                "HSTS required, present",
                with(&[], &[("strict-transport-security", "max-age=31536000")]),
                SecurityHeadersSpec {
                    require_hsts: true,
                    ..wanted()
                },
                "pass",
            ),
        ];
        let edge = edge();
        for (case, response, wanted, expected) in cases {
            let f = judge(URL, &edge, &wanted, &response);
            let got = format!("{}: {}", f.status.as_str(), f.message);
            assert!(
                got.starts_with(expected),
                "{case}: expected {expected:?}, got {got:?}"
            );
        }
    }

    #[test]
    fn pass_and_fail_carry_the_same_evidence_shape() {
        let (edge, wanted) = (edge(), wanted());
        let pass = judge(URL, &edge, &wanted, &with(&[], &[]));
        let fail = judge(URL, &edge, &wanted, &response(&[]));
        assert_eq!((pass.status, fail.status), (Status::Pass, Status::Fail));
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&pass.evidence.observed), keys(&fail.evidence.observed));
        assert_eq!(pass.evidence.expected, fail.evidence.expected);
        assert_eq!(
            pass.evidence.observed["x-content-type-options"],
            json!(["nosniff"])
        );
        assert_eq!(
            fail.evidence.observed["framing"],
            "no CSP frame-ancestors, X-Frame-Options none"
        );
        let _ = Duration::ZERO;
    }
}
