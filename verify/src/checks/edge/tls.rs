//! `edge.tls.*`: for each public hostname, a real TLS handshake validates
//! the chain and name, negotiates TLS ≥ 1.2 and sees a certificate valid long
//! enough (`edge.tls.certificate`); hand-built TLS 1.0/1.1 ClientHellos are
//! refused (`edge.tls.legacy_rejected`).

use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use serde_json::json;

use super::{NONE_DECLARED, PROBE_TIMEOUT, address, extra_roots, hostnames, probed};
use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Fields, Finding, combine};
use crate::context::Context;
use crate::probe::tls::{
    HandshakeReport, LegacyAnswer, LegacyTls, ProbeError, TlsTarget, days_left, handshake,
    legacy_handshake, version_name,
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
            let target = TlsTarget {
                hostname: host.clone(),
                address,
                extra_roots: extra_roots(spec)?,
            };
            let shared = modern_handshake(cx, &target).await;
            let seen = match &*shared {
                Modern::Completed(report) => Ok(report),
                Modern::CertificateRejected(reason) => Err(reason.as_str()),
                Modern::Failed(message) => {
                    return Err(CheckError::Probe {
                        probe: "tls handshake".into(),
                        target: host.clone(),
                        message: message.clone(),
                    });
                }
            };
            Ok(judge_certificate(
                &host,
                address,
                spec.min_cert_days,
                seen,
                SystemTime::now(),
            ))
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "tls handshake")
}

/// What one TLS 1.2+ handshake to a hostname showed.
#[derive(Debug, Clone)]
enum Modern {
    /// It completed: chain and name validated.
    Completed(HandshakeReport),
    /// The server speaks TLS, but rustls rejected its certificate (why).
    CertificateRejected(String),
    /// No handshake (refused, timed out, not TLS): why.
    Failed(String),
}

/// The handshake to `target`, made once per run and shared by
/// `edge.tls.certificate` and `edge.tls.legacy_rejected` (its control).
async fn modern_handshake(cx: &Context, target: &TlsTarget) -> std::sync::Arc<Modern> {
    let key = format!("tls:handshake:{}@{}", target.hostname, target.address);
    cx.cache()
        .get(&key, || async {
            Ok(match handshake(target, PROBE_TIMEOUT).await {
                Ok(report) => Modern::Completed(report),
                Err(ProbeError::Certificate { reason, .. }) => Modern::CertificateRejected(reason),
                Err(e) => Modern::Failed(e.to_string()),
            })
        })
        .await
        .unwrap_or_else(|e| std::sync::Arc::new(Modern::Failed(e.to_string())))
}

/// `edge.tls.certificate` for one hostname at `now`: what the handshake
/// showed (`Err` is rustls' reason for rejecting the chain or the name:
/// expired, not yet valid, another name, an unknown issuer…). A completed
/// handshake is looked at again: TLS 1.2 or 1.3, the leaf valid at `now`
/// (not before its notBefore), a name covering `host` (a wildcard covers
/// exactly one label), and at least `min_days` whole days left (exactly
/// `min_days` passes).
fn judge_certificate(
    host: &str,
    address: SocketAddr,
    min_days: u32,
    seen: Result<&HandshakeReport, &str>,
    now: SystemTime,
) -> Finding {
    let rfc3339 = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let evidence = Evidence::of(host).expected(json!({
        "certificate": format!("valid for {host}, from a trusted CA"),
        "protocol": ["TLSv1.2", "TLSv1.3"],
        "min_days_left": min_days,
    }));
    let mut f = Fields::of(host);
    let report = match seen {
        Err(reason) => {
            f.problem(format!(
                "a certificate valid for {host} from a trusted CA expected, observed {reason}"
            ));
            let evidence = evidence.observed(json!({
                "address": address.to_string(), "certificate": reason, "protocol": null,
                "not_before": null, "not_after": null, "days_left": null, "issuer": null, "names": null,
            }));
            return Finding {
                evidence,
                ..f.finish("")
            };
        }
        Ok(report) => report,
    };
    let days = days_left(report.not_after, now);
    let protocol_ok = matches!(report.protocol.as_str(), "TLSv1.2" | "TLSv1.3");
    f.judge(
        "protocol",
        "TLSv1.2 or TLSv1.3",
        report.protocol.as_str(),
        protocol_ok,
    );
    f.judge(
        "not_before",
        format!("≤ {}", rfc3339(now)),
        rfc3339(report.not_before),
        report.not_before <= now,
    )
    .because("not yet valid");
    f.judge(
        "names",
        format!("one covering {host}"),
        format!("[{}]", report.names.join(", ")),
        report.names.iter().any(|n| name_covers(n, host)),
    );
    if days < i64::from(min_days) {
        f.problem(format!(
            "certificate valid ≥ {min_days} days expected, observed {days} days ({}not after {})",
            if days < 0 { "expired: " } else { "" },
            rfc3339(report.not_after)
        ));
    }
    let evidence = evidence.observed(json!({
        "address": address.to_string(), "certificate": "valid", "protocol": report.protocol,
        "not_before": rfc3339(report.not_before), "not_after": rfc3339(report.not_after),
        "days_left": days, "issuer": report.issuer, "names": report.names,
    }));
    let pass = format!(
        "{host}: {} with a valid certificate, {days} days left",
        report.protocol
    );
    Finding {
        evidence,
        ..f.finish(pass)
    }
}

/// Whether the certificate name `name` (a SAN: DNS name, wildcard or IP
/// address) covers `host`: ASCII case-insensitive, a trailing dot ignored;
/// `*.example.com` covers exactly one more label (`api.example.com`, not
/// `example.com` nor `a.b.example.com`); an IP address only itself.
fn name_covers(name: &str, host: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return name.parse::<IpAddr>() == Ok(ip);
    }
    match name.strip_prefix("*.") {
        Some(parent) => {
            parent.contains('.')
                && !parent.contains('*')
                && host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == parent)
        }
        None => !name.is_empty() && name == host,
    }
}

/// `edge.tls.legacy_rejected`: TLS 1.0 and 1.1 handshakes are refused.
///
/// Refused means an alert or a closed connection before any ServerHello;
/// a ServerHello negotiating SSL 3.0/TLS 1.0/1.1 is accepted (fail); any
/// other answer (a timeout, bytes that are not TLS, a ServerHello for TLS
/// 1.2+ to a legacy-only hello, a refused connection) cannot be judged and
/// is an error (see [`legacy_handshake`]). A TLS 1.2+ handshake on the same
/// address is the control: refusals from a server that speaks no TLS at all
/// are not a pass ([`judge_legacy`]).
async fn legacy_rejected(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for (host, spec) in hostnames(cx) {
        let result = async {
            let address = address(spec, &host, 443).await?;
            let mut answers = Vec::new();
            for version in [LegacyTls::Tls10, LegacyTls::Tls11] {
                let answer = legacy_handshake(&host, address, version, PROBE_TIMEOUT)
                    .await
                    .map_err(|e| e.to_string());
                answers.push((version, answer));
            }
            let target = TlsTarget {
                hostname: host.clone(),
                address,
                extra_roots: extra_roots(spec)?,
            };
            let shared = modern_handshake(cx, &target).await;
            let modern = match &*shared {
                Modern::Completed(report) => Ok(format!("{} handshake completed", report.protocol)),
                Modern::CertificateRejected(reason) => Ok(format!(
                    "TLS 1.2+ handshake reached the certificate ({reason})"
                )),
                Modern::Failed(message) => Err(message.clone()),
            };
            judge_legacy(&host, address, &answers, modern)
        }
        .await;
        items.push((host.clone(), result));
    }
    probed(combine(items, NONE_DECLARED), "TLS 1.0/1.1 ClientHello")
}

/// `edge.tls.legacy_rejected` for one hostname, from the answers to the
/// legacy ClientHellos (`Err`: the probe could not judge the answer) and
/// the control, a TLS 1.2+ handshake on the same address (`Ok`: the server
/// speaks TLS; `Err`: why not).
///
/// Any legacy version accepted is a fail, whatever else happened. Otherwise
/// an answer that could not be judged is an error, and so are refusals
/// from a server that did not complete the control either: a server that
/// closes every connection has not shown that it refuses TLS 1.0.
fn judge_legacy(
    host: &str,
    address: SocketAddr,
    answers: &[(LegacyTls, Result<LegacyAnswer, String>)],
    modern: Result<String, String>,
) -> CheckResult {
    let mut accepted = Vec::new();
    let mut seen = serde_json::Map::new();
    for (version, answer) in answers {
        let text = match answer {
            Ok(LegacyAnswer::Refused { how }) => format!("refused: {how}"),
            Ok(LegacyAnswer::Accepted {
                negotiated,
                cipher_suite,
            }) => {
                accepted.push(version.name().to_string());
                format!(
                    "accepted: ServerHello negotiating {} with cipher suite 0x{cipher_suite:04x}",
                    version_name(*negotiated)
                )
            }
            Err(e) => format!("not judged: {e}"),
        };
        seen.insert(version.name().into(), text.into());
    }
    let evidence = Evidence::of(host)
        .expected(json!({ "accepted": [], "refused": ["TLSv1.0", "TLSv1.1"], "modern_handshake": "completes" }))
        .observed(json!({
            "address": address.to_string(), "accepted": accepted, "answers": seen,
            "modern_handshake": match &modern { Ok(how) => how.clone(), Err(e) => format!("failed: {e}") },
        }));
    let mut f = Fields::of(host);
    if !accepted.is_empty() {
        f.judge(
            format!("{} handshake", accepted.join(" and ")).as_str(),
            "refused",
            "accepted",
            false,
        );
        return Ok(Finding {
            evidence,
            ..f.finish("")
        });
    }
    let unjudged: Vec<String> = answers
        .iter()
        .filter_map(|(version, answer)| answer.as_ref().err().map(|e| format!("{version}: {e}")))
        .collect();
    let error = |message: String| CheckError::Probe {
        probe: "legacy tls handshake".into(),
        target: host.into(),
        message,
    };
    if !unjudged.is_empty() {
        return Err(error(unjudged.join("; ")));
    }
    if let Err(why) = modern {
        return Err(error(format!(
            "TLS 1.0 and 1.1 were refused, but a TLS 1.2+ handshake on {address} failed too ({why}): a server that speaks no TLS at all refuses everything, so this is not a pass"
        )));
    }
    Ok(Finding {
        evidence,
        ..f.finish(format!("{host}: TLS 1.0 and 1.1 refused"))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rustls::CertificateError;
    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;
    use crate::check::Status;

    const DAY: u64 = 86_400;
    const HOST: &str = "api.example.com";

    fn addr() -> SocketAddr {
        "203.0.113.10:443".parse().unwrap()
    }

    /// A completed handshake with a leaf for `names`, valid from `from`
    /// to `until` (seconds from `now`).
    fn report(
        now: SystemTime,
        protocol: &str,
        names: &[&str],
        from: i64,
        until: i64,
    ) -> HandshakeReport {
        let at = |s: i64| {
            if s >= 0 {
                now + Duration::from_secs(s as u64)
            } else {
                now - Duration::from_secs(s.unsigned_abs())
            }
        };
        HandshakeReport {
            hostname: HOST.into(),
            address: addr(),
            protocol: protocol.into(),
            cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
            not_before: at(from),
            not_after: at(until),
            days_left: 0,
            subject: format!("CN={}", names.first().unwrap_or(&"")),
            names: names.iter().map(|n| n.to_string()).collect(),
            issuer: "CN=Example CA".into(),
            chain_len: 2,
        }
    }

    /// rustls' reason as the probe reports it (`ProbeError::Certificate`).
    fn rejected(e: CertificateError) -> String {
        e.to_string()
    }

    fn unix(t: SystemTime) -> UnixTime {
        UnixTime::since_unix_epoch(t.duration_since(SystemTime::UNIX_EPOCH).unwrap())
    }

    #[test]
    fn the_certificate_judge_table() {
        let now = SystemTime::now();
        let d = |days: i64| days * DAY as i64;
        let expired = rejected(CertificateError::ExpiredContext {
            time: unix(now),
            not_after: unix(now - Duration::from_secs(3 * DAY)),
        });
        let not_yet = rejected(CertificateError::NotValidYetContext {
            time: unix(now),
            not_before: unix(now + Duration::from_secs(DAY)),
        });
        let wrong_name = rejected(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from(HOST).unwrap().to_owned(),
            presented: vec!["DnsName(\"www.example.org\")".into()],
        });
        let untrusted = rejected(CertificateError::UnknownIssuer);
        type Row<'a> = (&'a str, Result<HandshakeReport, String>, Status, &'a str);
        let rows: Vec<Row> = vec![
            (
                "valid, 90 days",
                Ok(report(now, "TLSv1.3", &[HOST], -d(1), d(90))),
                Status::Pass,
                "api.example.com: TLSv1.3 with a valid certificate, 90 days left",
            ),
            (
                "TLS 1.2 is enough",
                Ok(report(now, "TLSv1.2", &[HOST], -d(1), d(90))),
                Status::Pass,
                "TLSv1.2 with a valid certificate",
            ),
            (
                "exactly the declared 21 days",
                Ok(report(now, "TLSv1.3", &[HOST], -d(1), d(21))),
                Status::Pass,
                "21 days left",
            ),
            (
                "a second short of 21 days",
                Ok(report(now, "TLSv1.3", &[HOST], -d(1), d(21) - 1)),
                Status::Fail,
                "certificate valid ≥ 21 days expected, observed 20 days",
            ),
            (
                "expiring within the declared days",
                Ok(report(now, "TLSv1.3", &[HOST], -d(80), d(4) + 60)),
                Status::Fail,
                "certificate valid ≥ 21 days expected, observed 4 days (not after",
            ),
            (
                "expired, as rustls says",
                Err(expired),
                Status::Fail,
                "a certificate valid for api.example.com from a trusted CA expected, observed certificate expired",
            ),
            (
                "expired, yet the handshake completed",
                Ok(report(now, "TLSv1.3", &[HOST], -d(90), -d(3))),
                Status::Fail,
                "observed -3 days (expired: not after",
            ),
            (
                "not yet valid, as rustls says",
                Err(not_yet),
                Status::Fail,
                "from a trusted CA expected, observed certificate not valid yet",
            ),
            (
                "not yet valid, yet the handshake completed",
                Ok(report(now, "TLSv1.3", &[HOST], d(1), d(90))),
                Status::Fail,
                "not_before expected ≤ ",
            ),
            (
                "wrong name, as rustls says",
                Err(wrong_name),
                Status::Fail,
                "observed certificate not valid for name \"api.example.com\"",
            ),
            (
                "wrong name, yet the handshake completed",
                Ok(report(now, "TLSv1.3", &["www.example.org"], -d(1), d(90))),
                Status::Fail,
                "names expected one covering api.example.com, observed [www.example.org]",
            ),
            (
                "a lookalike name",
                Ok(report(
                    now,
                    "TLSv1.3",
                    &["api.example.com.evil.net"],
                    -d(1),
                    d(90),
                )),
                Status::Fail,
                "names expected one covering",
            ),
            (
                "wildcard covering one label",
                Ok(report(now, "TLSv1.3", &["*.example.com"], -d(1), d(90))),
                Status::Pass,
                "with a valid certificate",
            ),
            (
                "wildcard, upper case and among others",
                Ok(report(
                    now,
                    "TLSv1.3",
                    &["www.example.org", "*.EXAMPLE.com"],
                    -d(1),
                    d(90),
                )),
                Status::Pass,
                "with a valid certificate",
            ),
            (
                "wildcard one level too high",
                Ok(report(now, "TLSv1.3", &["*.com"], -d(1), d(90))),
                Status::Fail,
                "observed [*.com]",
            ),
            (
                "wildcard of a deeper domain",
                Ok(report(now, "TLSv1.3", &["*.api.example.com"], -d(1), d(90))),
                Status::Fail,
                "observed [*.api.example.com]",
            ),
            (
                "untrusted chain",
                Err(untrusted),
                Status::Fail,
                "from a trusted CA expected, observed UnknownIssuer",
            ),
            (
                "TLS 1.1 negotiated",
                Ok(report(now, "TLSv1.1", &[HOST], -d(1), d(90))),
                Status::Fail,
                "protocol expected TLSv1.2 or TLSv1.3, observed TLSv1.1",
            ),
        ];
        for (case, seen, status, says) in rows {
            let f = judge_certificate(HOST, addr(), 21, seen.as_ref().map_err(String::as_str), now);
            assert_eq!(f.status, status, "{case}: {}", f.message);
            assert!(
                f.message.contains(says),
                "{case}: {:?} lacks {says:?}",
                f.message
            );
            if status == Status::Fail {
                assert!(
                    f.message.starts_with("api.example.com: "),
                    "{case}: {}",
                    f.message
                );
            }
            // The pass and the fail carry the same evidence shape.
            let keys: Vec<&String> = f.evidence.observed.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 8, "{case}: {keys:?}");
            assert_eq!(f.evidence.resources, [HOST], "{case}");
        }
        // A wildcard covers exactly one label, never the parent or a deeper name.
        let wildcard = |host: &str| {
            let r = report(now, "TLSv1.3", &["*.example.com"], -d(1), d(90));
            judge_certificate(host, addr(), 21, Ok(&r), now).status
        };
        assert_eq!(wildcard("api.example.com"), Status::Pass);
        assert_eq!(wildcard("a.b.example.com"), Status::Fail);
        assert_eq!(wildcard("example.com"), Status::Fail);
        assert_eq!(wildcard("api.example.com."), Status::Pass);
    }

    #[test]
    fn names_cover_hosts_as_webpki_matches_them() {
        for (name, host, covers) in [
            ("api.example.com", "api.example.com", true),
            ("API.Example.com", "api.example.COM", true),
            ("api.example.com.", "api.example.com", true),
            ("*.example.com", "api.example.com", true),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", "example.com", false),
            ("*.example.com", ".example.com", false),
            ("*.com", "example.com", false),
            ("a*.example.com", "api.example.com", false),
            ("api.example.com", "api.example.com.evil.net", false),
            ("", "api.example.com", false),
            ("203.0.113.10", "203.0.113.10", true),
            ("203.0.113.10", "203.0.113.11", false),
            ("::1", "[::1]", true),
            ("*.0.113.10", "203.0.113.10", false),
        ] {
            assert_eq!(name_covers(name, host), covers, "{name} for {host}");
        }
    }

    fn refused(how: &str) -> Result<LegacyAnswer, String> {
        Ok(LegacyAnswer::Refused { how: how.into() })
    }

    fn accepted(negotiated: u16) -> Result<LegacyAnswer, String> {
        Ok(LegacyAnswer::Accepted {
            negotiated,
            cipher_suite: 0xc014,
        })
    }

    #[test]
    fn the_legacy_judge_table() {
        use LegacyTls::{Tls10, Tls11};
        let alert = || refused("fatal alert protocol_version (70)");
        let closed = || refused("connection closed without an answer");
        let modern = || Ok::<_, String>("TLSv1.3 handshake completed".to_string());
        let connect =
            "connect to api.example.com:443 (203.0.113.10:443): Connection refused (os error 111)";
        // (case, TLS 1.0 answer, TLS 1.1 answer, control, Ok((status, says)) or Err(says))
        type Row = (
            &'static str,
            Result<LegacyAnswer, String>,
            Result<LegacyAnswer, String>,
            Result<String, String>,
            Result<(Status, &'static str), &'static str>,
        );
        let rows: Vec<Row> = vec![
            ("both refused by an alert", alert(), alert(), modern(), Ok((Status::Pass, "api.example.com: TLS 1.0 and 1.1 refused"))),
            ("refused by closing, TLS 1.3 works", closed(), closed(), modern(), Ok((Status::Pass, "TLS 1.0 and 1.1 refused"))),
            ("refused, the control reached a bad certificate", alert(), alert(), Ok("TLS 1.2+ handshake reached the certificate (UnknownIssuer)".into()), Ok((Status::Pass, "refused"))),
            ("TLS 1.0 accepted", accepted(0x0301), alert(), modern(), Ok((Status::Fail, "api.example.com: TLSv1.0 handshake expected refused, observed accepted"))),
            ("TLS 1.1 accepted", alert(), accepted(0x0302), modern(), Ok((Status::Fail, "TLSv1.1 handshake expected refused, observed accepted"))),
            ("both accepted", accepted(0x0301), accepted(0x0302), modern(), Ok((Status::Fail, "TLSv1.0 and TLSv1.1 handshake expected refused, observed accepted"))),
            ("SSL 3.0 negotiated to a TLS 1.0 hello", accepted(0x0300), alert(), modern(), Ok((Status::Fail, "TLSv1.0 handshake expected refused"))),
            ("accepted beside an unjudgeable answer", Err("no answer to the ClientHello within 10s".into()), accepted(0x0302), Err(connect.into()), Ok((Status::Fail, "TLSv1.1 handshake expected refused, observed accepted"))),
            ("could not connect at all", Err(connect.into()), Err(connect.into()), Err(connect.into()), Err("Connection refused")),
            ("closed every connection, TLS 1.2+ too", closed(), closed(), Err("TLS handshake with api.example.com: connection failed during the handshake: unexpected end of file".into()), Err("speaks no TLS at all")),
            ("one answer not TLS", Err("answer to a TLSv1.0 ClientHello is not TLS".into()), alert(), modern(), Err("TLSv1.0: answer to a TLSv1.0 ClientHello is not TLS")),
            ("a timeout is not a refusal", alert(), Err("api.example.com:443: no answer to the ClientHello within 10s".into()), modern(), Err("TLSv1.1: api.example.com:443: no answer")),
        ];
        for (case, tls10, tls11, control, expected) in rows {
            let judged = judge_legacy(HOST, addr(), &[(Tls10, tls10), (Tls11, tls11)], control);
            match (judged, expected) {
                (Ok(f), Ok((status, says))) => {
                    assert_eq!(f.status, status, "{case}: {}", f.message);
                    assert!(
                        f.message.contains(says),
                        "{case}: {:?} lacks {says:?}",
                        f.message
                    );
                    assert!(f.evidence.observed["accepted"].is_array(), "{case}");
                }
                (Err(e), Err(says)) => {
                    assert!(matches!(e, CheckError::Probe { .. }), "{case}: {e:?}");
                    assert!(e.to_string().contains(says), "{case}: {e} lacks {says:?}");
                }
                (got, _) => panic!("{case}: expected {expected:?}, judged {got:?}"),
            }
        }
    }
}
