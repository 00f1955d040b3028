//! `dns.*`: the mail domains' MX records point at the declared provider.
//!
//! `dns.mx` asks DNS (the system resolver, or the `mail` block's
//! `nameserver`) for the MX records of every declared domain: each must
//! have at least one, and every one must be a host of the declared provider
//! (or of the declared `mx_hosts`). A null MX (`.`, RFC 7505: the domain
//! accepts no mail), NXDOMAIN and no MX records fail naming the domain; a
//! resolver that does not answer is an error.

use std::net::SocketAddr;

use serde_json::json;

use crate::check::{Check, CheckDef, CheckError, CheckResult, Fields, Finding, combine};
use crate::context::Context;
use crate::probe::dns::{MxAnswer, mx};
use crate::spec::MailSpec;

// --- what: the checks, declared ----------------------------------------------

const MX: CheckDef = CheckDef {
    id: "dns.mx",
    title: "the mail domains have MX records pointing at the declared provider",
    doc: "every domain of the `mail` block has MX records and every MX target is a host of the declared `provider` (its documented MX hosts) or of `mx_hosts`; a null MX (`.`, RFC 7505), NXDOMAIN or no MX records fail; a resolver that does not answer is `error`",
    iam: &[],
};

const PROBE: &str = "dns mx lookup";

pub fn checks() -> Vec<Check> {
    vec![Check::new(&MX, |cx| Box::pin(mx_check(cx)))]
}

// --- how: the judges ----------------------------------------------------------

async fn mx_check(cx: &Context) -> CheckResult {
    let Some(mail) = &cx.env().mail else {
        return Ok(Finding::skip("no mail block declared for this environment"));
    };
    let nameserver = match &mail.nameserver {
        None => None,
        Some(ns) => Some(ns.parse::<SocketAddr>().map_err(|e| CheckError::Probe {
            probe: PROBE.into(),
            target: ns.clone(),
            message: format!("nameserver is not ip:port: {e}"),
        })?),
    };
    let mut items = Vec::new();
    for domain in &mail.domains {
        let result = match mx(domain, nameserver, mail.timeout).await {
            Ok(answer) => Ok(judge(mail, domain, &answer)),
            Err(e) => Err(CheckError::Probe {
                probe: PROBE.into(),
                target: domain.clone(),
                message: e.to_string(),
            }),
        };
        items.push((domain.clone(), result));
    }
    combine(items, "no mail domains declared").map(|f| match f.status {
        crate::Status::Skip => f,
        _ => f.with_detail("probe", PROBE),
    })
}

/// Whether MX target `host` is one of `allowed` (exact, or `*.suffix` for
/// any name under `suffix`), case-insensitively, trailing dots ignored.
fn allowed_host(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allowed
        .iter()
        .any(|pattern| match pattern.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == *pattern,
        })
}

fn provider(mail: &MailSpec) -> String {
    match &mail.provider {
        Some(p) => format!("{p}'s MX hosts"),
        None => "the declared mx_hosts".into(),
    }
}

/// `dns.mx` on one domain's answer.
fn judge(mail: &MailSpec, domain: &str, answer: &MxAnswer) -> Finding {
    let resource = format!("mail domain '{domain}'");
    let expected_hosts = format!("{} ({})", provider(mail), mail.mx_hosts.join(", "));
    let mut f = Fields::of(&resource);
    let records: &[(u16, String)] = match answer {
        MxAnswer::Records(r) => r,
        _ => &[],
    };
    let shown: Vec<String> = records.iter().map(|(p, h)| format!("{p} {h}")).collect();
    let answer_kind = match answer {
        MxAnswer::Records(_) => "records",
        MxAnswer::NoRecords => "no MX records",
        MxAnswer::NxDomain => "NXDOMAIN",
    };
    match answer {
        MxAnswer::NxDomain => {
            f.problem(format!(
                "MX records expected at {domain}, observed NXDOMAIN (the domain does not exist)"
            ));
        }
        MxAnswer::NoRecords => {
            f.problem(format!(
                "MX records expected at {domain}, observed none (mail goes to the domain's A record, or nowhere)"
            ));
        }
        MxAnswer::Records(_) => {
            if records.iter().any(|(_, h)| h == ".") {
                f.problem(format!(
                    "MX records expected at {domain}, observed a null MX (\".\", RFC 7505: the domain accepts no mail)"
                ));
            }
            let foreign: Vec<String> = records
                .iter()
                .filter(|(_, h)| h != "." && !allowed_host(h, &mail.mx_hosts))
                .map(|(p, h)| format!("{p} {h}"))
                .collect();
            if !foreign.is_empty() {
                f.problem(format!(
                    "every MX target expected among {expected_hosts}, observed {}",
                    foreign.join(", ")
                ));
            }
        }
    }
    let mut finding = f.finish(format!(
        "{resource}: MX {} ({})",
        shown.join(", "),
        provider(mail)
    ));
    finding.evidence.expected = json!({
        "provider": mail.provider,
        "mx_hosts": mail.mx_hosts,
        "answer": "records",
        "null_mx": false,
        "not_allowed": [],
    });
    finding.evidence.observed = json!({
        "answer": answer_kind,
        "mx": shown,
        "null_mx": records.iter().any(|(_, h)| h == "."),
        "not_allowed": records
            .iter()
            .filter(|(_, h)| h != "." && !allowed_host(h, &mail.mx_hosts))
            .map(|(_, h)| h.clone())
            .collect::<Vec<_>>(),
    });
    finding
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn google() -> MailSpec {
        MailSpec {
            domains: vec!["restartix.test".into()],
            provider: Some("google_workspace".into()),
            mx_hosts: envspec::MX_PROVIDERS[0]
                .1
                .iter()
                .map(|h| h.to_string())
                .collect(),
            nameserver: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn records(list: &[(u16, &str)]) -> MxAnswer {
        MxAnswer::Records(list.iter().map(|(p, h)| (*p, h.to_string())).collect())
    }

    #[test]
    fn mx_targets_are_judged_against_the_provider() {
        let m365 = MailSpec {
            provider: Some("microsoft_365".into()),
            mx_hosts: vec![
                "*.mail.protection.outlook.com".into(),
                "*.mx.microsoft".into(),
            ],
            ..google()
        };
        let cases: Vec<(&str, MailSpec, MxAnswer, &str)> = vec![
            (
                "google",
                google(),
                records(&[(1, "aspmx.l.google.com"), (5, "alt1.aspmx.l.google.com")]),
                "pass: mail domain 'restartix.test': MX 1 aspmx.l.google.com, 5 alt1.aspmx.l.google.com (google_workspace's MX hosts)",
            ),
            (
                "google, one host",
                google(),
                records(&[(1, "smtp.google.com")]),
                "pass",
            ),
            (
                "microsoft by suffix",
                m365.clone(),
                records(&[(0, "restartix-test.mail.protection.outlook.com")]),
                "pass",
            ),
            (
                "a bare suffix is not under it",
                m365,
                records(&[(0, "mail.protection.outlook.com.evil.net")]),
                "fail: mail domain 'restartix.test': every MX target expected among microsoft_365's MX hosts",
            ),
            (
                "wrong provider",
                google(),
                records(&[(10, "mx.zoho.eu")]),
                "fail: mail domain 'restartix.test': every MX target expected among google_workspace's MX hosts (smtp.google.com, aspmx.l.google.com",
            ),
            (
                "one stray host among good ones",
                google(),
                records(&[(1, "aspmx.l.google.com"), (20, "mx.old-host.example")]),
                "observed 20 mx.old-host.example",
            ),
            (
                "null MX",
                google(),
                records(&[(0, ".")]),
                "fail: mail domain 'restartix.test': MX records expected at restartix.test, observed a null MX (\".\", RFC 7505",
            ),
            (
                "no MX",
                google(),
                MxAnswer::NoRecords,
                "fail: mail domain 'restartix.test': MX records expected at restartix.test, observed none",
            ),
            (
                "NXDOMAIN",
                google(),
                MxAnswer::NxDomain,
                "fail: mail domain 'restartix.test': MX records expected at restartix.test, observed NXDOMAIN",
            ),
        ];
        for (case, spec, answer, expected) in cases {
            let f = judge(&spec, "restartix.test", &answer);
            let got = format!("{}: {}", f.status.as_str(), f.message);
            assert!(
                got.starts_with(expected)
                    || (expected.starts_with("observed") && got.contains(expected)),
                "{case}: expected {expected:?}, got {got:?}"
            );
        }
    }

    #[test]
    fn pass_and_fail_carry_the_same_evidence_shape() {
        let pass = judge(&google(), "d", &records(&[(1, "aspmx.l.google.com")]));
        let fail = judge(&google(), "d", &records(&[(1, "mx.zoho.eu")]));
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&pass.evidence.observed), keys(&fail.evidence.observed));
        assert_eq!(pass.evidence.expected, fail.evidence.expected);
        assert_eq!(fail.evidence.observed["not_allowed"], json!(["mx.zoho.eu"]));
        assert_eq!(pass.evidence.resources, ["mail domain 'd'"]);
    }

    #[test]
    fn host_patterns_match_exactly_or_by_suffix() {
        let allowed = vec![
            "aspmx.l.google.com".to_string(),
            "*.mx.microsoft".to_string(),
        ];
        assert!(allowed_host("ASPMX.L.GOOGLE.COM.", &allowed));
        assert!(allowed_host("contoso-com.r-v1.mx.microsoft", &allowed));
        assert!(!allowed_host("mx.microsoft", &allowed));
        assert!(!allowed_host("xaspmx.l.google.com", &allowed));
    }
}
