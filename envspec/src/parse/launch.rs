//! The launch checklist's blocks: `rds_snapshot "<label>"` (the T-7
//! known-clean and T-0 post-import snapshots, `rds.snapshots.<label>`),
//! `mail` (`dns.mx`) and `edge { security_headers }`
//! (`edge.https.security_headers`), read as strictly as the rest.

use super::gates::check_label;
use super::*;

pub(super) fn rds_snapshot(
    doc: &Doc,
    label: String,
    block: &Block,
    rds: &[RdsSpec],
) -> Result<RdsSnapshotSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    check_label(doc, block, &label)?;
    let instance = s.required_string("instance")?;
    // An `rds` block's label names its instance; anything else is an identifier.
    let instance = rds
        .iter()
        .find(|r| r.label == instance)
        .map(|r| r.identifier.clone())
        .unwrap_or(instance);
    let tags = s.string_map("tag")?;
    let name_prefix = s.string("name_prefix")?;
    let max_age = s.required_duration("max_age")?;
    match (&tags, &name_prefix) {
        (None, None) => {
            return Err(s.missing(
                "tag",
                "the tag(s) the snapshot carries, e.g. `{ \"verify:purpose\" = \"known-clean\" }`, or a `name_prefix`",
            ));
        }
        (Some(t), _) if t.is_empty() => {
            return Err(s.invalid_value("tag", "an object of at least one tag"));
        }
        (Some(t), _) if t.iter().any(|(k, _)| k.trim().is_empty()) => {
            return Err(s.invalid_value("tag", "an object whose keys are tag keys"));
        }
        (_, Some(p)) if p.trim().is_empty() => {
            return Err(s.invalid_value("name_prefix", "a non-empty snapshot identifier prefix"));
        }
        _ => {}
    }
    if max_age.is_zero() {
        return Err(s.invalid_value("max_age", "a duration above zero"));
    }
    s.finish()?;
    Ok(RdsSnapshotSpec {
        label,
        instance,
        tags: tags.unwrap_or_default(),
        name_prefix: name_prefix.map(|p| p.to_ascii_lowercase()),
        max_age,
    })
}

pub(super) fn mail(doc: &Doc, block: &Block) -> Result<MailSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let domains = s.required_strings("domains")?;
    if let Some(bad) = domains.iter().find(|d| !is_domain(d)) {
        return Err(s.invalid_value(
            "domains",
            &format!("a list of domain names (\"{bad}\" is not one)"),
        ));
    }
    let provider = s.string("provider")?;
    let declared_hosts = s.strings("mx_hosts")?;
    let mx_hosts = match (&provider, declared_hosts) {
        (Some(name), None) => match MX_PROVIDERS.iter().find(|(p, _)| p == name) {
            Some((_, hosts)) => hosts.iter().map(|h| h.to_string()).collect(),
            None => {
                let known: Vec<&str> = MX_PROVIDERS.iter().map(|(p, _)| *p).collect();
                return Err(s.invalid_value(
                    "provider",
                    &format!(
                        "one of {} (or declare `mx_hosts` instead)",
                        known.join(", ")
                    ),
                ));
            }
        },
        (None, Some(hosts)) => {
            let hosts: Vec<String> = hosts
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect();
            if hosts.is_empty()
                || hosts
                    .iter()
                    .any(|h| !is_domain(h.strip_prefix("*.").unwrap_or(h)))
            {
                return Err(s.invalid_value(
                    "mx_hosts",
                    "a non-empty list of host names, `*.suffix` for any name under suffix",
                ));
            }
            hosts
        }
        (Some(_), Some(_)) => {
            return Err(s.invalid_value("mx_hosts", "left out when `provider` is set"));
        }
        (None, None) => {
            return Err(s.missing(
                "provider",
                "a mail provider such as \"google_workspace\", or `mx_hosts`",
            ));
        }
    };
    let nameserver = s.string("nameserver")?;
    if let Some(ns) = &nameserver
        && ns.parse::<std::net::SocketAddr>().is_err()
    {
        return Err(s.invalid_value("nameserver", "\"ip:port\" of a DNS server"));
    }
    let timeout = s.duration("timeout")?.unwrap_or(Duration::from_secs(5));
    if timeout.is_zero() {
        return Err(s.invalid_value("timeout", "a duration above zero"));
    }
    s.finish()?;
    Ok(MailSpec {
        domains: domains
            .iter()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        provider,
        mx_hosts,
        nameserver,
        timeout,
    })
}

pub(super) fn security_headers(
    doc: &Doc,
    block: &Block,
    edge_hostnames: &[String],
) -> Result<SecurityHeadersSpec, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let paths = s.strings("paths")?.unwrap_or_else(|| vec!["/".into()]);
    if paths.is_empty()
        || paths
            .iter()
            .any(|p| !p.starts_with('/') || p.contains(char::is_whitespace))
    {
        return Err(s.invalid_value("paths", "a non-empty list of paths, each starting with `/`"));
    }
    let referrer_policies = match s.strings("referrer_policies")? {
        None => REFERRER_POLICIES
            .iter()
            .filter(|p| **p != "unsafe-url")
            .map(|p| p.to_string())
            .collect(),
        Some(list) => {
            let list: Vec<String> = list.iter().map(|p| p.trim().to_ascii_lowercase()).collect();
            if list.is_empty()
                || list
                    .iter()
                    .any(|p| !REFERRER_POLICIES.contains(&p.as_str()))
            {
                return Err(s.invalid_value(
                    "referrer_policies",
                    &format!("a non-empty list of {}", REFERRER_POLICIES.join(", ")),
                ));
            }
            list
        }
    };
    let hostnames = match s.strings("hostnames")? {
        None => edge_hostnames.to_vec(),
        Some(list) if !list.is_empty() && list.iter().all(|h| is_domain(h)) => list,
        Some(_) => {
            return Err(s.invalid_value("hostnames", "a non-empty list of host names"));
        }
    };
    let spec = SecurityHeadersSpec {
        hostnames,
        paths,
        require_csp: s.bool("require_csp")?.unwrap_or(false),
        require_hsts: s.bool("require_hsts")?.unwrap_or(false),
        referrer_policies,
    };
    s.finish()?;
    Ok(spec)
}

/// A plausible DNS name: dot-separated labels of letters, digits and `-`
/// (and `_`), none empty, at most 253 characters.
fn is_domain(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}
