//! `edge.tls.*`: for each public hostname, a real TLS handshake validates
//! the chain and name, negotiates TLS ≥ 1.2 and sees a certificate valid long
//! enough (`edge.tls.certificate`); hand-built TLS 1.0/1.1 ClientHellos are
//! refused (`edge.tls.legacy_rejected`).

use serde_json::json;

use super::{NONE_DECLARED, PROBE_TIMEOUT, address, extra_roots, hostnames, probe_error, probed};
use crate::check::{Check, CheckDef, CheckResult, Evidence, Finding, combine};
use crate::context::Context;
use crate::probe::tls::{
    LegacyAnswer, LegacyTls, ProbeError, TlsTarget, handshake, legacy_handshake, version_name,
};

// --- what: the checks, declared ----------------------------------------------

const TLS_CERTIFICATE: CheckDef = CheckDef {
    id: "edge.tls.certificate",
    title: "each public hostname's certificate validates, TLS 1.2+, not expiring soon",
    doc: "for each public hostname: the handshake validates chain and name, TLS ≥ 1.2 negotiated, certificate valid ≥ declared days (default 21)",
    iam: &[],
};

const TLS_LEGACY_REJECTED: CheckDef = CheckDef {
    id: "edge.tls.legacy_rejected",
    title: "TLS 1.0 and 1.1 handshakes are refused",
    doc: "TLS 1.0 and 1.1 handshakes are refused",
    iam: &[],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&TLS_CERTIFICATE, |cx| Box::pin(certificate(cx))),
        Check::new(&TLS_LEGACY_REJECTED, |cx| Box::pin(legacy_rejected(cx))),
    ]
}

/// `edge.tls.certificate`: chain and name validate, TLS ≥ 1.2, valid ≥ declared days.
async fn certificate(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for (host, spec) in hostnames(cx) {
        let result = async {
            let address = address(spec, &host, 443).await?;
            let target = TlsTarget { hostname: host.clone(), address, extra_roots: extra_roots(spec)? };
            let evidence = Evidence::of(&host).expected(json!({
                "certificate": format!("valid for {host}, from a trusted CA"),
                "protocol": ["TLSv1.2", "TLSv1.3"],
                "min_days_left": spec.min_cert_days,
            }));
            match handshake(&target, PROBE_TIMEOUT).await {
                Ok(report) => {
                    let evidence = evidence.observed(json!({
                        "address": address.to_string(), "certificate": "valid", "protocol": report.protocol,
                        "not_after": humantime::format_rfc3339_seconds(report.not_after).to_string(),
                        "days_left": report.days_left, "issuer": report.issuer, "names": report.names,
                    }));
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
                    evidence.observed(json!({ "address": address.to_string(), "certificate": reason })),
                )),
                Err(e) => Err(probe_error("tls handshake", &host, e)),
            }
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "tls handshake")
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
            let evidence = Evidence::of(&host)
                .expected(json!({ "accepted": [], "refused": ["TLSv1.0", "TLSv1.1"] }))
                .observed(json!({ "address": address.to_string(), "accepted": accepted, "answers": answers }));
            Ok(if accepted.is_empty() {
                Finding::pass(format!("{host}: TLS 1.0 and 1.1 refused"), evidence)
            } else {
                Finding::fail(format!("{host}: {} handshake expected refused, observed accepted", accepted.join(" and ")), evidence)
            })
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "TLS 1.0/1.1 ClientHello")
}
