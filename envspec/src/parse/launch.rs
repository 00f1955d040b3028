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

/// `launch { window = [from, to] }`: two RFC 3339 times in UTC (`Z`), from
/// before to. Each bad time is refused at its own position.
pub(super) fn launch(doc: &Doc, block: &Block) -> Result<LaunchSpec, SpecError> {
    const EXPECTED: &str = "a list of two RFC 3339 UTC times, from and to, such as [\"2027-01-18T06:00:00Z\", \"2027-01-25T06:00:00Z\"]";
    let mut s = Section::of_block(doc, block)?;
    let Some(attr) = s.attribute("window") else {
        return Err(s.missing("window", EXPECTED));
    };
    let Expression::Array(items) = &attr.value else {
        return Err(s.wrong_type(attr, EXPECTED));
    };
    if items.len() != 2 {
        return Err(s.invalid_value(
            "window",
            &format!("{EXPECTED} (found {} items)", items.len()),
        ));
    }
    let mut times = Vec::with_capacity(2);
    for (item, which) in items.iter().zip(["from", "to"]) {
        let Expression::String(text) = item else {
            return Err(doc.error(
                item.span(),
                format!(
                    "{}: `window` {which} must be an RFC 3339 UTC time such as \"2027-01-18T06:00:00Z\", found {}",
                    s.what,
                    describe(item)
                ),
            ));
        };
        let text = text.value().trim();
        let time = humantime::parse_rfc3339(text).map_err(|e| {
            doc.error(
                item.span(),
                format!(
                    "{}: `window` {which} = \"{text}\" is not an RFC 3339 UTC time ({e}); expected one such as \"2027-01-18T06:00:00Z\" (UTC, ending in Z)",
                    s.what
                ),
            )
        })?;
        times.push(time);
    }
    if times[0] >= times[1] {
        return Err(doc.error(
            items.iter().nth(1).and_then(|i| i.span()),
            format!(
                "{}: `window` must end after it starts (from {}, to {})",
                s.what,
                humantime::format_rfc3339_seconds(times[0]),
                humantime::format_rfc3339_seconds(times[1])
            ),
        ));
    }
    s.finish()?;
    Ok(LaunchSpec {
        window: (times[0], times[1]),
    })
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

#[cfg(test)]
mod launch_window_tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::SpecError;

    fn parsed(launch: &str) -> Result<crate::Environment, SpecError> {
        crate::parse(
            &format!(
                "environment = \"p\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n{launch}"
            ),
            "p.hcl".as_ref(),
        )
    }

    fn refused(launch: &str) -> (usize, usize, String) {
        match parsed(launch) {
            Err(SpecError::Invalid {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("{launch}: {other:?}"),
        }
    }

    #[test]
    fn a_window_is_two_utc_times_from_before_to() {
        let env = parsed(
            "launch {\n  window = [\"2027-01-18T06:00:00Z\", \"2027-01-25T06:00:00Z\"]\n}\n",
        )
        .unwrap();
        let (from, to) = env.launch.unwrap().window;
        assert_eq!(from, UNIX_EPOCH + Duration::from_secs(1_800_252_000));
        assert_eq!(to - Duration::from_secs(7 * 86_400), from);
        assert!(parsed("").unwrap().launch.is_none());
    }

    #[test]
    fn a_bad_window_is_refused_where_it_is_written() {
        for (launch, at, words) in [
            (
                "launch {\n}\n",
                (4, 1),
                "missing required attribute `window`",
            ),
            (
                "launch {\n  window = \"2027-01-18T06:00:00Z\"\n}\n",
                (5, 12),
                "`window` must be a list of two RFC 3339 UTC times",
            ),
            (
                "launch {\n  window = [\"2027-01-18T06:00:00Z\"]\n}\n",
                (5, 12),
                "(found 1 items)",
            ),
            (
                "launch {\n  window = [\"2027-01-18T06:00:00+01:00\", \"2027-01-25T06:00:00Z\"]\n}\n",
                (5, 13),
                "`window` from = \"2027-01-18T06:00:00+01:00\" is not an RFC 3339 UTC time",
            ),
            (
                "launch {\n  window = [\"2027-01-18T06:00:00Z\", \"next monday\"]\n}\n",
                (5, 37),
                "`window` to = \"next monday\" is not an RFC 3339 UTC time",
            ),
            (
                "launch {\n  window = [\"2027-01-18T06:00:00Z\", 7]\n}\n",
                (5, 37),
                "`window` to must be an RFC 3339 UTC time",
            ),
            (
                "launch {\n  window = [\"2027-01-25T06:00:00Z\", \"2027-01-18T06:00:00Z\"]\n}\n",
                (5, 37),
                "`window` must end after it starts",
            ),
            (
                "launch {\n  window = [\"2027-01-18T06:00:00Z\", \"2027-01-25T06:00:00Z\"]\n  from = 1\n}\n",
                (6, 3),
                "unknown attribute `from`",
            ),
            (
                "launch \"x\" {\n  window = []\n}\n",
                (4, 8),
                "block `launch` takes no label",
            ),
        ] {
            let (line, column, message) = refused(launch);
            assert!(message.contains(words), "{launch}: {message}");
            assert_eq!((line, column), at, "{launch}: {message}");
        }
    }
}
