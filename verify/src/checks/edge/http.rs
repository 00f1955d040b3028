//! `edge.http.redirect`: plain HTTP on each public hostname redirects to
//! `https` on exactly that host (the `Location` parsed as a URL, port 443 or
//! none), and the redirect, followed, ends in a 2xx.

use serde_json::json;

use super::{NONE_DECLARED, hostnames, http_options, probe_error, probed};
use crate::check::{Check, CheckDef, CheckResult, Evidence, Finding, combine};
use crate::context::Context;
use crate::probe::http::{get, resolve_location};

// --- what: the checks, declared ----------------------------------------------

const HTTP_REDIRECT: CheckDef = CheckDef {
    id: "edge.http.redirect",
    title: "plain HTTP on the public hostname redirects to HTTPS",
    doc: "plain HTTP on the public hostname redirects to HTTPS",
    iam: &[],
};

pub fn checks() -> Vec<Check> {
    vec![Check::new(&HTTP_REDIRECT, |cx| Box::pin(redirect(cx)))]
}

/// `edge.http.redirect`: plain HTTP redirects to HTTPS on the same hostname
/// (the `Location` parsed as a URL: scheme `https`, host equal to the probed
/// hostname, port 443 or none; see [`judge_redirect_location`]), and
/// following the redirect (at most 3 hops) ends in a 2xx.
async fn redirect(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for (host, spec) in hostnames(cx) {
        let result = async {
            let url = format!("http://{host}{}", spec.health_path);
            let first = get(&url, &http_options(spec, 0)?)
                .await
                .map_err(|e| probe_error("http get", &url, e))?;
            let location = first.location.clone();
            let evidence = Evidence::of(&url).expected(json!({
                "status": "3xx",
                "location": format!("https://{host}/…, port 443 or none"),
                "final_status": "2xx",
            }));
            let judged = if first.is_redirect() {
                judge_redirect_location(&url, &host, location.as_deref())
            } else {
                Err(format!("observed {}", first.status))
            };
            if let Err(observed) = judged {
                return Ok(Finding::fail(
                    format!("{url}: a redirect to https://{host} expected, {observed}"),
                    evidence.observed(json!({ "status": first.status, "location": location, "final_url": null, "final_status": null })),
                ));
            }
            let followed = get(&url, &http_options(spec, 3)?)
                .await
                .map_err(|e| probe_error("http get (following redirects)", &url, e))?;
            let evidence = evidence.observed(json!({
                "status": first.status, "location": location,
                "final_url": followed.final_url, "final_status": followed.status,
            }));
            Ok(if (200..300).contains(&followed.status) {
                Finding::pass(
                    format!("{url}: {} to {}, which answers {}", first.status, location.unwrap_or_default(), followed.status),
                    evidence,
                )
            } else {
                Finding::fail(
                    format!(
                        "{url}: the redirect expected to end in 2xx, observed {} at {}",
                        followed.status, followed.final_url
                    ),
                    evidence,
                )
            })
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "http get")
}

/// Judges the `Location` of the redirect answered to `request_url` for
/// `host`: `Ok` only when it resolves (against `request_url`, so a relative
/// one stays `http`) to an `https` URL whose host is `host` (ASCII
/// case-insensitive, nothing more or less) on port 443 or none. `Err` says
/// what was observed, for the failing message.
fn judge_redirect_location(
    request_url: &str,
    host: &str,
    location: Option<&str>,
) -> Result<(), String> {
    let Some(location) = location else {
        return Err("observed a redirect without a Location".into());
    };
    let target = resolve_location(request_url, location)
        .map_err(|e| format!("observed Location {location:?}, which is not a URL ({e})"))?;
    let mut wrong = Vec::new();
    if !target.https {
        wrong.push("scheme http");
    }
    if !target.host.eq_ignore_ascii_case(host) {
        wrong.push("another host");
    }
    if target.port != 443 {
        wrong.push("another port");
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "observed Location {location:?} ({})",
            wrong.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::judge_redirect_location;

    #[test]
    fn only_https_on_the_same_host_and_port_is_a_good_redirect() {
        let url = "http://api.example.com/health";
        let host = "api.example.com";
        for good in [
            "https://api.example.com/health",
            "https://API.example.com/",
            "https://api.example.com:443/health",
            "https://api.example.com/health?from=http",
        ] {
            assert_eq!(
                judge_redirect_location(url, host, Some(good)),
                Ok(()),
                "{good}"
            );
        }
        for (bad, why) in [
            ("https://api.example.com.evil.net/health", "another host"),
            ("https://api.example.company/", "another host"),
            ("https://api.example.com@evil.net/", "another host"),
            ("https://evil.net/?https://api.example.com", "another host"),
            ("http://api.example.com/health", "scheme http"),
            ("/health", "scheme http"),
            ("//api.example.com/health", "scheme http"),
            ("https://api.example.com:8443/health", "another port"),
            ("https://", "not a URL"),
        ] {
            let observed = judge_redirect_location(url, host, Some(bad)).unwrap_err();
            assert!(
                observed.contains(why) && observed.contains(bad),
                "{bad}: {observed}"
            );
        }
        assert!(judge_redirect_location(url, host, None).is_err());
    }
}
