//! `edge.tls.*`, `edge.https.headers`, `edge.http.redirect`: what a client on
//! the internet sees of each public hostname, through real handshakes and
//! requests. Hostnames resolve through DNS unless the spec's `resolve`
//! override points them elsewhere (the sandbox: loopback).

use std::net::SocketAddr;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Finding, combine};
use crate::context::Context;
use crate::probe::http::{HttpOptions, get, resolve_location};
use crate::probe::tls::{
    LegacyAnswer, LegacyTls, ProbeError, TlsTarget, handshake, legacy_handshake, version_name,
};
use crate::spec::EdgeSpec;

const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
const NONE_DECLARED: &str = "no public hostnames declared for this environment";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("edge.tls.certificate", |g| Box::pin(certificate(g))),
        Check::new("edge.tls.legacy_rejected", |g| Box::pin(legacy_rejected(g))),
        Check::new("edge.https.headers", |g| Box::pin(headers(g))),
        Check::new("edge.http.redirect", |g| Box::pin(redirect(g))),
    ]
}

fn hostnames(cx: &Context) -> Vec<(String, &EdgeSpec)> {
    cx.env()
        .edge
        .iter()
        .flat_map(|e| e.hostnames.iter().map(move |h| (h.clone(), e)))
        .collect()
}

/// `edge.tls.certificate`: chain and name validate, TLS ≥ 1.2, valid ≥ declared days.
async fn certificate(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for (host, spec) in hostnames(cx) {
        let result = async {
            let address = address(spec, &host, 443).await?;
            let target = TlsTarget { hostname: host.clone(), address, extra_roots: extra_roots(spec)? };
            match handshake(&target, PROBE_TIMEOUT).await {
                Ok(report) => {
                    let evidence = json!({
                        "hostname": host, "address": address.to_string(), "protocol": report.protocol,
                        "not_after": humantime::format_rfc3339_seconds(report.not_after).to_string(),
                        "days_left": report.days_left, "issuer": report.issuer, "names": report.names,
                        "declared_min_days": spec.min_cert_days, "probe": "tls handshake",
                    });
                    let mut problems = Vec::new();
                    if !matches!(report.protocol.as_str(), "TLSv1.2" | "TLSv1.3") {
                        problems.push(format!("TLS ≥ 1.2 expected, observed {}", report.protocol));
                    }
                    if report.days_left < i64::from(spec.min_cert_days) {
                        problems.push(format!(
                            "certificate valid ≥ {} days expected, observed {} days (not after {})",
                            spec.min_cert_days,
                            report.days_left,
                            humantime::format_rfc3339_seconds(report.not_after)
                        ));
                    }
                    Ok(if problems.is_empty() {
                        Finding::pass(
                            format!("{host}: {} with a valid certificate, {} days left", report.protocol, report.days_left),
                            evidence,
                        )
                    } else {
                        Finding::fail(format!("{host}: {}", problems.join("; ")), evidence)
                    })
                }
                Err(ProbeError::Certificate { reason, .. }) => Ok(Finding::fail(
                    format!("{host}: a certificate valid for {host} from a trusted CA expected, observed {reason}"),
                    json!({ "hostname": host, "address": address.to_string(), "certificate_error": reason, "probe": "tls handshake" }),
                )),
                Err(e) => Err(probe_error("tls handshake", &host, e)),
            }
        }
        .await;
        items.push((host.clone(), result));
    }
    combine(items, NONE_DECLARED)
}

/// `edge.tls.legacy_rejected`: TLS 1.0 and 1.1 handshakes are refused.
///
/// Refused means an alert or a closed connection before any ServerHello;
/// a ServerHello negotiating SSL 3.0/TLS 1.0/1.1 is accepted (fail); any
/// other answer (a timeout, bytes that are not TLS, a ServerHello for TLS
/// 1.2+ to a legacy-only hello, a refused connection) cannot be judged and
/// is an error (see [`legacy_handshake`]).
async fn legacy_rejected(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for (host, spec) in hostnames(cx) {
        let result = async {
            let address = address(spec, &host, 443).await?;
            let mut accepted = Vec::new();
            let mut answers = serde_json::Map::new();
            for version in [LegacyTls::Tls10, LegacyTls::Tls11] {
                let answer = legacy_handshake(&host, address, version, PROBE_TIMEOUT)
                    .await
                    .map_err(|e| probe_error("legacy tls handshake", &host, e))?;
                let seen = match &answer {
                    LegacyAnswer::Refused { how } => format!("refused: {how}"),
                    LegacyAnswer::Accepted { negotiated, cipher_suite } => {
                        accepted.push(version.name().to_string());
                        format!("accepted: ServerHello negotiating {} with cipher suite 0x{cipher_suite:04x}", version_name(*negotiated))
                    }
                };
                answers.insert(version.name().into(), seen.into());
            }
            let evidence = json!({ "hostname": host, "address": address.to_string(), "accepted": accepted, "answers": answers, "probe": "TLS 1.0/1.1 ClientHello" });
            Ok(if accepted.is_empty() {
                Finding::pass(format!("{host}: TLS 1.0 and 1.1 refused"), evidence)
            } else {
                Finding::fail(format!("{host}: {} handshake expected refused, observed accepted", accepted.join(" and ")), evidence)
            })
        }
        .await;
        items.push((host.clone(), result));
    }
    combine(items, NONE_DECLARED)
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
            let evidence = json!({ "url": url, "status": response.status, "cf-ray": cf_ray, "strict-transport-security": hsts, "declared_min_max_age_s": spec.hsts_min_max_age.as_secs(), "probe": "https get" });
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
    combine(items, NONE_DECLARED)
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
            let judged = if first.is_redirect() {
                judge_redirect_location(&url, &host, location.as_deref())
            } else {
                Err(format!("observed {}", first.status))
            };
            if let Err(observed) = judged {
                return Ok(Finding::fail(
                    format!("{url}: a redirect to https://{host} expected, {observed}"),
                    json!({ "url": url, "status": first.status, "location": location, "probe": "http get" }),
                ));
            }
            let followed = get(&url, &http_options(spec, 3)?)
                .await
                .map_err(|e| probe_error("http get (following redirects)", &url, e))?;
            let evidence = json!({
                "url": url, "status": first.status, "location": location,
                "final_url": followed.final_url, "final_status": followed.status,
                "probe": "http get",
            });
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
    combine(items, NONE_DECLARED)
}

// --- how ---------------------------------------------------------------------

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

fn hsts_max_age(header: &str) -> Option<u64> {
    header
        .split(';')
        .filter_map(|part| part.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim_matches('"').parse().ok())
}

fn probe_error(probe: &str, target: &str, e: ProbeError) -> CheckError {
    CheckError::Probe {
        probe: probe.into(),
        target: target.into(),
        message: e.to_string(),
    }
}

/// The spec's CA file, if any (the sandbox CA); public roots are always trusted.
fn extra_roots(spec: &EdgeSpec) -> Result<Vec<CertificateDer<'static>>, CheckError> {
    let Some(path) = &spec.ca_file else {
        return Ok(Vec::new());
    };
    CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| CheckError::Probe {
            probe: "read ca_file".into(),
            target: path.display().to_string(),
            message: e.to_string(),
        })
}

fn resolve_entries(spec: &EdgeSpec) -> Vec<(String, SocketAddr)> {
    spec.resolve
        .iter()
        .filter_map(|(name, value)| {
            let addr = value.parse::<SocketAddr>().ok().or_else(|| {
                let port = name
                    .rsplit_once(':')
                    .and_then(|(_, p)| p.parse().ok())
                    .unwrap_or(443);
                value
                    .parse::<std::net::IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, port))
            })?;
            Some((name.clone(), addr))
        })
        .collect()
}

fn http_options(spec: &EdgeSpec, follow_redirects: u8) -> Result<HttpOptions, CheckError> {
    Ok(HttpOptions {
        resolve: resolve_entries(spec),
        extra_roots: extra_roots(spec)?,
        timeout: PROBE_TIMEOUT,
        follow_redirects,
    })
}

/// `host:port` from the spec's `resolve` (exact `host:port` entry first, then `host`), else DNS.
async fn address(spec: &EdgeSpec, host: &str, port: u16) -> Result<SocketAddr, CheckError> {
    let entries = resolve_entries(spec);
    let exact = format!("{host}:{port}");
    if let Some((_, addr)) = entries
        .iter()
        .find(|(n, _)| *n == exact)
        .or_else(|| entries.iter().find(|(n, _)| n == host))
    {
        return Ok(*addr);
    }
    let lookup = tokio::time::timeout(PROBE_TIMEOUT, tokio::net::lookup_host((host, port))).await;
    match lookup {
        Ok(Ok(mut addrs)) => addrs.next().ok_or_else(|| CheckError::Probe {
            probe: "dns lookup".into(),
            target: host.into(),
            message: "no address".into(),
        }),
        Ok(Err(e)) => Err(CheckError::Probe {
            probe: "dns lookup".into(),
            target: host.into(),
            message: e.to_string(),
        }),
        Err(_) => Err(CheckError::Probe {
            probe: "dns lookup".into(),
            target: host.into(),
            message: format!("no answer within {PROBE_TIMEOUT:?}"),
        }),
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

    #[test]
    fn hsts_max_age_is_read() {
        assert_eq!(
            super::hsts_max_age("max-age=31536000; includeSubDomains"),
            Some(31_536_000)
        );
        assert_eq!(super::hsts_max_age("includeSubDomains"), None);
    }
}
