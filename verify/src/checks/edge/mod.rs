//! `edge.*`: the Core API's edge, one file per id prefix.
//!
//! | ids | file | reads |
//! |---|---|---|
//! | `edge.alb.*` | [`alb`] | ELBv2, ACM, EC2, Cloudflare `/ips` |
//! | `edge.tls.*` | [`tls`] | real TLS handshakes with each public hostname |
//! | `edge.https.*` | [`https`] | HTTPS requests to the health URL |
//! | `edge.https.security_headers` | [`headers`] | HTTPS requests to each declared path |
//! | `edge.http.*` | [`http`] | plain-HTTP requests to each public hostname |
//!
//! The probes of what a client on the internet sees (tls, https, http) share
//! the helpers below: hostnames resolve through DNS unless the spec's
//! `resolve` override points them elsewhere (the sandbox: loopback).

pub mod alb;
pub mod headers;
pub mod http;
pub mod https;
pub mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::check::{Check, CheckError, CheckResult, Status};
use crate::context::Context;
use crate::probe::http::HttpOptions;
use crate::probe::tls::ProbeError;
use crate::spec::EdgeSpec;

pub(super) const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const NONE_DECLARED: &str = "no public hostnames declared for this environment";

/// Every `edge.*` check, in catalogue order.
pub fn checks() -> Vec<Check> {
    let mut checks = alb::checks();
    checks.extend(tls::checks());
    checks.extend(https::checks());
    checks.extend(headers::checks());
    checks.extend(http::checks());
    checks
}

pub(super) fn hostnames(cx: &Context) -> Vec<(String, &EdgeSpec)> {
    cx.env()
        .edge
        .iter()
        .flat_map(|e| e.hostnames.iter().map(move |h| (h.clone(), e)))
        .collect()
}

/// Names the probe in the evidence of a check that looked (not a skip).
pub(super) fn probed(result: CheckResult, probe: &str) -> CheckResult {
    result.map(|finding| match finding.status {
        Status::Skip => finding,
        _ => finding.with_detail("probe", probe),
    })
}

pub(super) fn probe_error(probe: &str, target: &str, e: ProbeError) -> CheckError {
    CheckError::Probe {
        probe: probe.into(),
        target: target.into(),
        message: e.to_string(),
    }
}

/// The spec's CA file, if any (the sandbox CA); public roots are always trusted.
pub(super) fn extra_roots(spec: &EdgeSpec) -> Result<Vec<CertificateDer<'static>>, CheckError> {
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

pub(super) fn resolve_entries(spec: &EdgeSpec) -> Vec<(String, SocketAddr)> {
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

pub(crate) fn http_options(
    spec: &EdgeSpec,
    follow_redirects: u8,
) -> Result<HttpOptions, CheckError> {
    Ok(HttpOptions {
        resolve: resolve_entries(spec),
        extra_roots: extra_roots(spec)?,
        timeout: PROBE_TIMEOUT,
        follow_redirects,
    })
}

/// `host:port` from the spec's `resolve` (exact `host:port` entry first, then `host`), else DNS.
pub(super) async fn address(
    spec: &EdgeSpec,
    host: &str,
    port: u16,
) -> Result<SocketAddr, CheckError> {
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
