//! `edge.https.headers`: the health URL answers 2xx through Cloudflare
//! (`cf-ray` present) with HSTS whose `max-age` is at least the declared one.

use serde_json::json;

use super::{NONE_DECLARED, hostnames, http_options, probe_error, probed};
use crate::check::{Check, CheckDef, CheckResult, Evidence, Fields, Finding, combine};
use crate::context::Context;
use crate::probe::http::{HttpResponse, get};

// --- what: the checks, declared ----------------------------------------------

const HTTPS_HEADERS: CheckDef = CheckDef {
    id: "edge.https.headers",
    title: "the health URL answers 2xx through Cloudflare with HSTS",
    doc: "the health URL answers 2xx through Cloudflare (`cf-ray` present) with HSTS (`max-age` ≥ declared)",
    iam: &[],
};

pub fn checks() -> Vec<Check> {
    vec![Check::new(&HTTPS_HEADERS, |cx| Box::pin(headers(cx)))]
}

/// `edge.https.headers`: the health URL answers 2xx through Cloudflare (`cf-ray`) with HSTS.
async fn headers(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for (host, spec) in hostnames(cx) {
        let result = async {
            let url = format!("https://{host}{}", spec.health_path);
            let response = get(&url, &http_options(spec, 0)?)
                .await
                .map_err(|e| probe_error("https get", &url, e))?;
            Ok(judge_headers(
                &url,
                spec.hsts_min_max_age.as_secs(),
                &response,
            ))
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "https get")
}

/// `edge.https.headers` on the response from `url`: status 2xx, a
/// non-empty `cf-ray`, and one `Strict-Transport-Security` (repeats must
/// agree: which one a client keeps is not the server's choice) whose
/// `max-age` parses ([`hsts_max_age`]) and is at least `min_max_age` seconds.
fn judge_headers(url: &str, min_max_age: u64, response: &HttpResponse) -> Finding {
    let values = |name: &str| -> Vec<&str> {
        response
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let cf_ray = values("cf-ray").first().map(|v| v.to_string());
    let hsts_all = values("strict-transport-security");
    let hsts = hsts_all.first().map(|v| v.to_string());
    let max_age = hsts.as_deref().and_then(hsts_max_age);
    let evidence = Evidence::of(url)
        .expected(json!({ "status": "2xx", "cf-ray": "present", "min_hsts_max_age_s": min_max_age, "hsts_headers": 1 }))
        .observed(json!({
            "status": response.status, "cf-ray": cf_ray, "strict-transport-security": hsts,
            "hsts_max_age_s": max_age, "hsts_headers": hsts_all.len(),
        }));
    let mut f = Fields::of(url);
    f.judge(
        "status",
        "2xx",
        response.status,
        (200..300).contains(&response.status),
    );
    match cf_ray.as_deref().map(str::trim) {
        None => {
            f.problem("cf-ray header expected (served through Cloudflare), observed none");
        }
        Some("") => {
            f.problem("cf-ray header expected (served through Cloudflare), observed an empty one");
        }
        Some(_) => {}
    }
    match (hsts.as_deref(), max_age) {
        (None, _) => {
            f.problem("Strict-Transport-Security expected, observed none");
        }
        (Some(header), None) => {
            f.problem(format!(
                "Strict-Transport-Security expected, observed {header:?} (no valid max-age)"
            ));
        }
        (Some(_), Some(age)) if age < min_max_age => {
            f.problem(format!(
                "HSTS max-age ≥ {min_max_age} expected, observed {age}"
            ));
        }
        (Some(_), Some(_)) => {}
    }
    if hsts_all.iter().any(|v| Some(*v) != hsts.as_deref()) {
        f.problem(format!(
            "one Strict-Transport-Security header expected, observed {} that differ: {hsts_all:?}",
            hsts_all.len()
        ));
    }
    let pass = format!(
        "{url}: {} via Cloudflare with HSTS max-age {}",
        response.status,
        max_age.unwrap_or(0)
    );
    Finding {
        evidence,
        ..f.finish(pass)
    }
}

/// The `max-age` of a `Strict-Transport-Security` value, as a browser
/// reads it (RFC 6797 §6.1): directive names case-insensitive, the value a
/// plain or quoted number. `None` when there is none, when it is not a
/// number, or when any directive repeats (a browser ignores such a header).
pub(super) fn hsts_max_age(header: &str) -> Option<u64> {
    let mut names = Vec::new();
    let mut max_age = None;
    for directive in header.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (directive, None),
        };
        let name = name.to_ascii_lowercase();
        if names.contains(&name) {
            return None;
        }
        if name == "max-age" {
            let value = value?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            max_age = Some(value.parse().ok()?);
        }
        names.push(name);
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    const URL: &str = "https://api.example.com/health";
    const YEAR: &str = "max-age=31536000; includeSubDomains";

    fn response(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
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

    #[test]
    fn hsts_max_age_is_read() {
        for (header, max_age) in [
            ("max-age=31536000; includeSubDomains", Some(31_536_000)),
            ("includeSubDomains; max-age=300", Some(300)),
            ("Max-Age=300", Some(300)),
            ("max-age=\"300\"; preload", Some(300)),
            ("max-age = 300", Some(300)),
            ("includeSubDomains", None),
            ("max-age=", None),
            ("max-age=abc", None),
            ("max-age=-1", None),
            ("max-age=300s", None),
            ("max-age=\"300", None),
            ("max-age", None),
            ("max-age=99999999999999999999999", None),
            // A repeated directive: the browser ignores the whole header.
            ("max-age=31536000; max-age=0", None),
            (
                "max-age=31536000; includeSubDomains; includeSubDomains",
                None,
            ),
            // Two headers folded into one by a proxy.
            ("max-age=300, max-age=31536000", None),
        ] {
            assert_eq!(hsts_max_age(header), max_age, "{header:?}");
        }
    }

    #[test]
    fn the_headers_judge_table() {
        let cf = ("cf-ray", "8a1b2c3d4e5f6789-FRA");
        let rows: Vec<(&str, HttpResponse, Status, &str)> = vec![
            (
                "good",
                response(200, &[cf, ("strict-transport-security", YEAR)]),
                Status::Pass,
                "https://api.example.com/health: 200 via Cloudflare with HSTS max-age 31536000",
            ),
            (
                "header names in any case",
                response(204, &[("CF-Ray", "x"), ("Strict-Transport-Security", YEAR)]),
                Status::Pass,
                "204 via Cloudflare",
            ),
            (
                "exactly the declared max-age",
                response(
                    200,
                    &[cf, ("strict-transport-security", "max-age=15552000")],
                ),
                Status::Pass,
                "HSTS max-age 15552000",
            ),
            (
                "the same header twice",
                response(
                    200,
                    &[
                        cf,
                        ("strict-transport-security", YEAR),
                        ("strict-transport-security", YEAR),
                    ],
                ),
                Status::Pass,
                "HSTS max-age 31536000",
            ),
            (
                "HSTS missing",
                response(200, &[cf]),
                Status::Fail,
                "https://api.example.com/health: Strict-Transport-Security expected, observed none",
            ),
            (
                "HSTS short",
                response(200, &[cf, ("strict-transport-security", "max-age=300")]),
                Status::Fail,
                "HSTS max-age ≥ 15552000 expected, observed 300",
            ),
            (
                "HSTS max-age zero",
                response(200, &[cf, ("strict-transport-security", "max-age=0")]),
                Status::Fail,
                "observed 0",
            ),
            (
                "HSTS garbled max-age",
                response(200, &[cf, ("strict-transport-security", "max-age=forever")]),
                Status::Fail,
                "Strict-Transport-Security expected, observed \"max-age=forever\" (no valid max-age)",
            ),
            (
                "HSTS without max-age",
                response(
                    200,
                    &[cf, ("strict-transport-security", "includeSubDomains")],
                ),
                Status::Fail,
                "(no valid max-age)",
            ),
            (
                "HSTS max-age repeated inside",
                response(
                    200,
                    &[
                        cf,
                        ("strict-transport-security", "max-age=31536000; max-age=0"),
                    ],
                ),
                Status::Fail,
                "(no valid max-age)",
            ),
            (
                "two HSTS headers that differ, short first",
                response(
                    200,
                    &[
                        cf,
                        ("strict-transport-security", "max-age=0"),
                        ("strict-transport-security", YEAR),
                    ],
                ),
                Status::Fail,
                "one Strict-Transport-Security header expected, observed 2 that differ",
            ),
            (
                "two HSTS headers that differ, long first",
                response(
                    200,
                    &[
                        cf,
                        ("strict-transport-security", YEAR),
                        ("strict-transport-security", "max-age=0"),
                    ],
                ),
                Status::Fail,
                "observed 2 that differ",
            ),
            (
                "cf-ray missing",
                response(200, &[("strict-transport-security", YEAR)]),
                Status::Fail,
                "cf-ray header expected (served through Cloudflare), observed none",
            ),
            (
                "cf-ray empty",
                response(200, &[("cf-ray", " "), ("strict-transport-security", YEAR)]),
                Status::Fail,
                "observed an empty one",
            ),
            (
                "not 2xx",
                response(503, &[cf, ("strict-transport-security", YEAR)]),
                Status::Fail,
                "status expected 2xx, observed 503",
            ),
            (
                "a redirect is not 2xx",
                response(301, &[cf, ("strict-transport-security", YEAR)]),
                Status::Fail,
                "observed 301",
            ),
            (
                "everything wrong",
                response(500, &[]),
                Status::Fail,
                "status expected 2xx, observed 500; cf-ray header expected (served through Cloudflare), observed none; Strict-Transport-Security expected, observed none",
            ),
        ];
        for (case, response, status, says) in rows {
            let f = judge_headers(URL, 15_552_000, &response);
            assert_eq!(f.status, status, "{case}: {}", f.message);
            assert!(
                f.message.contains(says),
                "{case}: {:?} lacks {says:?}",
                f.message
            );
            assert_eq!(f.evidence.observed["status"], response.status, "{case}");
            assert_eq!(f.evidence.resources, [URL], "{case}");
        }
    }
}
