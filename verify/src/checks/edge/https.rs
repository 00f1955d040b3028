//! `edge.https.headers`: the health URL answers 2xx through Cloudflare
//! (`cf-ray` present) with HSTS whose `max-age` is at least the declared one.

use serde_json::json;

use super::{NONE_DECLARED, hostnames, http_options, probe_error, probed};
use crate::check::{Check, CheckDef, CheckResult, Evidence, Finding, combine};
use crate::context::Context;
use crate::probe::http::get;

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
            let response = get(&url, &http_options(spec, 0)?).await.map_err(|e| probe_error("https get", &url, e))?;
            let cf_ray = response.header("cf-ray").map(str::to_string);
            let hsts = response.header("strict-transport-security").map(str::to_string);
            let max_age = hsts.as_deref().and_then(hsts_max_age);
            let evidence = Evidence::of(&url)
                .expected(json!({ "status": "2xx", "cf-ray": "present", "min_hsts_max_age_s": spec.hsts_min_max_age.as_secs() }))
                .observed(json!({ "status": response.status, "cf-ray": cf_ray, "strict-transport-security": hsts, "hsts_max_age_s": max_age }));
            let mut problems = Vec::new();
            if !(200..300).contains(&response.status) {
                problems.push(format!("status 2xx expected, observed {}", response.status));
            }
            if cf_ray.is_none() {
                problems.push("cf-ray header expected (served through Cloudflare), observed none".into());
            }
            match max_age {
                None => problems.push(format!("Strict-Transport-Security expected, observed {}", hsts.as_deref().unwrap_or("none"))),
                Some(age) if age < spec.hsts_min_max_age.as_secs() => problems.push(format!(
                    "HSTS max-age ≥ {} expected, observed {age}",
                    spec.hsts_min_max_age.as_secs()
                )),
                Some(_) => {}
            }
            Ok(if problems.is_empty() {
                Finding::pass(format!("{url}: {} via Cloudflare with HSTS max-age {}", response.status, max_age.unwrap_or(0)), evidence)
            } else {
                Finding::fail(format!("{url}: {}", problems.join("; ")), evidence)
            })
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "https get")
}

fn hsts_max_age(header: &str) -> Option<u64> {
    header
        .split(';')
        .filter_map(|part| part.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim_matches('"').parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hsts_max_age_is_read() {
        assert_eq!(
            super::hsts_max_age("max-age=31536000; includeSubDomains"),
            Some(31_536_000)
        );
        assert_eq!(super::hsts_max_age("includeSubDomains"), None);
    }
}
