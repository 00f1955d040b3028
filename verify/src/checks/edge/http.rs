//! `edge.http.redirect`: plain HTTP on each public hostname redirects to
//! `https` on exactly that host (the `Location` parsed as a URL, port 443 or
//! none), and the redirect, followed, ends in a 2xx.

use serde_json::json;

use super::{NONE_DECLARED, hostnames, http_options, probe_error, probed};
use crate::check::{Check, CheckDef, CheckResult, Evidence, Finding, combine};
use crate::context::Context;
use crate::probe::http::{HttpResponse, get, resolve_location};

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
/// following the redirect (at most 3 hops) ends in a 2xx over HTTPS
/// ([`judge_redirect`]).
async fn redirect(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for (host, spec) in hostnames(cx) {
        let result = async {
            let url = format!("http://{host}{}", spec.health_path);
            let first = get(&url, &http_options(spec, 0)?)
                .await
                .map_err(|e| probe_error("http get", &url, e))?;
            // Followed only when the first answer is a good redirect.
            let good = first.is_redirect()
                && judge_redirect_location(&url, &host, first.location.as_deref()).is_ok();
            let followed = if good {
                Some(
                    get(&url, &http_options(spec, 3)?)
                        .await
                        .map_err(|e| probe_error("http get (following redirects)", &url, e))?,
                )
            } else {
                None
            };
            Ok(judge_redirect(&url, &host, &first, followed.as_ref()))
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "http get")
}

/// `edge.http.redirect` for `host` from the first answer to `url` (not
/// followed) and, when that is a good redirect, the answer at the end of
/// the redirects followed: a 3xx whose `Location` is `https` on `host`
/// ([`judge_redirect_location`]), ending in a 2xx served over `https` (a
/// chain that lands back on plain HTTP is not a redirect to HTTPS).
fn judge_redirect(
    url: &str,
    host: &str,
    first: &HttpResponse,
    followed: Option<&HttpResponse>,
) -> Finding {
    let location = first.location.clone();
    let evidence = Evidence::of(url).expected(json!({
        "status": "3xx",
        "location": format!("https://{host}/…, port 443 or none"),
        "final_status": "2xx",
    }));
    let judged = if first.is_redirect() {
        judge_redirect_location(url, host, location.as_deref())
    } else {
        Err(format!("observed {}", first.status))
    };
    let (followed, observed) = match (judged, followed) {
        (Ok(()), Some(followed)) => (
            followed,
            json!({
                "status": first.status, "location": location,
                "final_url": followed.final_url, "final_status": followed.status,
            }),
        ),
        (judged, _) => {
            let observed = judged
                .err()
                .unwrap_or_else(|| "observed a redirect that was not followed".into());
            return Finding::fail(
                format!("{url}: a redirect to https://{host} expected, {observed}"),
                evidence.observed(json!({ "status": first.status, "location": location, "final_url": null, "final_status": null })),
            );
        }
    };
    let evidence = evidence.observed(observed);
    if !(200..300).contains(&followed.status) {
        return Finding::fail(
            format!(
                "{url}: the redirect expected to end in 2xx, observed {} at {}",
                followed.status, followed.final_url
            ),
            evidence,
        );
    }
    if !followed.final_url.starts_with("https://") {
        return Finding::fail(
            format!(
                "{url}: the redirect expected to end on https, observed {} at {}",
                followed.status, followed.final_url
            ),
            evidence,
        );
    }
    Finding::pass(
        format!(
            "{url}: {} to {}, which answers {}",
            first.status,
            location.unwrap_or_default(),
            followed.status
        ),
        evidence,
    )
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
    use super::*;
    use crate::check::Status;

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

    const URL: &str = "http://api.example.com/health";
    const HOST: &str = "api.example.com";

    fn answer(status: u16, location: Option<&str>, final_url: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            location: location.map(String::from),
            final_url: final_url.into(),
            redirects: vec![],
            body: vec![],
        }
    }

    #[test]
    fn the_redirect_judge_table() {
        let https = "https://api.example.com/health";
        let ok = || Some(answer(200, None, https));
        // (case, first answer, followed answer, status, says)
        let rows: Vec<(&str, HttpResponse, Option<HttpResponse>, Status, &str)> = vec![
            (
                "301 to https, 200",
                answer(301, Some(https), URL),
                ok(),
                Status::Pass,
                "http://api.example.com/health: 301 to https://api.example.com/health, which answers 200",
            ),
            (
                "308 to https on :443",
                answer(308, Some("https://api.example.com:443/health"), URL),
                ok(),
                Status::Pass,
                "which answers 200",
            ),
            (
                "lookalike host",
                answer(301, Some("https://api.example.com.evil.net/health"), URL),
                None,
                Status::Fail,
                "a redirect to https://api.example.com expected, observed Location \"https://api.example.com.evil.net/health\" (another host)",
            ),
            (
                "userinfo lookalike",
                answer(302, Some("https://api.example.com@evil.net/"), URL),
                None,
                Status::Fail,
                "(another host)",
            ),
            (
                "relative Location stays http",
                answer(301, Some("/health"), URL),
                None,
                Status::Fail,
                "observed Location \"/health\" (scheme http, another port)",
            ),
            (
                "http to http",
                answer(301, Some("http://api.example.com/health"), URL),
                None,
                Status::Fail,
                "observed Location \"http://api.example.com/health\" (scheme http, another port)",
            ),
            (
                "another port",
                answer(301, Some("https://api.example.com:8443/health"), URL),
                None,
                Status::Fail,
                "(another port)",
            ),
            (
                "a redirect without Location",
                answer(301, None, URL),
                None,
                Status::Fail,
                "observed a redirect without a Location",
            ),
            (
                "not a URL",
                answer(301, Some("https://"), URL),
                None,
                Status::Fail,
                "which is not a URL",
            ),
            (
                "200 over http",
                answer(200, None, URL),
                None,
                Status::Fail,
                "a redirect to https://api.example.com expected, observed 200",
            ),
            (
                "304 is not a redirect",
                answer(304, Some(https), URL),
                None,
                Status::Fail,
                "expected, observed 304",
            ),
            (
                "404",
                answer(404, None, URL),
                None,
                Status::Fail,
                "observed 404",
            ),
            (
                "redirect ends in a 502",
                answer(301, Some(https), URL),
                Some(answer(502, None, https)),
                Status::Fail,
                "the redirect expected to end in 2xx, observed 502 at https://api.example.com/health",
            ),
            (
                "redirect loops past the hops",
                answer(301, Some(https), URL),
                Some(answer(301, Some(https), https)),
                Status::Fail,
                "expected to end in 2xx, observed 301",
            ),
            (
                "lands back on http",
                answer(301, Some(https), URL),
                Some(answer(200, None, URL)),
                Status::Fail,
                "the redirect expected to end on https, observed 200 at http://api.example.com/health",
            ),
            (
                "a good redirect never followed",
                answer(301, Some(https), URL),
                None,
                Status::Fail,
                "observed a redirect that was not followed",
            ),
        ];
        for (case, first, followed, status, says) in rows {
            let f = judge_redirect(URL, HOST, &first, followed.as_ref());
            assert_eq!(f.status, status, "{case}: {}", f.message);
            assert!(
                f.message.contains(says),
                "{case}: {:?} lacks {says:?}",
                f.message
            );
            let observed = f.evidence.observed.as_object().unwrap();
            assert_eq!(observed.len(), 4, "{case}: {observed:?}");
            assert_eq!(f.evidence.observed["status"], first.status, "{case}");
        }
    }
}
