//! TXT lookups, for `ses.dns` (SPF on the MAIL FROM domain, DMARC at
//! `_dmarc.<domain>`), and MX lookups, for `dns.mx`.
//!
//! Absence is data: NXDOMAIN or a name without TXT records reads as an empty
//! list, which the check judges. Anything that stops the question from being
//! answered (timeout, unreachable server, SERVFAIL, REFUSED) is an error that
//! names the queried name and the server asked: never an empty answer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType};

/// Where the system resolvers are configured on Unix.
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Why a lookup gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// The name is not a valid domain name.
    #[error("{record} {name}: not a valid domain name: {message}")]
    InvalidName {
        /// The record type asked for (`TXT`, `MX`).
        record: &'static str,
        /// The name asked for.
        name: String,
        /// What the parser said.
        message: String,
    },
    /// No nameserver to ask (an empty or unreadable system configuration).
    #[error("{record} {name}: no nameserver configured ({message})")]
    NoNameserver {
        /// The record type asked for.
        record: &'static str,
        /// The name asked for.
        name: String,
        /// Why none was found.
        message: String,
    },
    /// No answer within the timeout.
    #[error("{record} {name} @ {server}: no answer within {timeout:?}")]
    Timeout {
        /// The record type asked for.
        record: &'static str,
        /// The name asked for.
        name: String,
        /// The server(s) asked.
        server: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The query failed: network error, SERVFAIL, REFUSED, malformed answer.
    #[error("{record} {name} @ {server}: {message}")]
    Lookup {
        /// The record type asked for.
        record: &'static str,
        /// The name asked for.
        name: String,
        /// The server(s) asked.
        server: String,
        /// What went wrong.
        message: String,
    },
}

/// What a server answered for a name and type.
enum Answer {
    /// Records of the type asked for (and perhaps others, CNAMEs followed).
    Records(Vec<RData>),
    /// The name exists without records of the type (NOERROR, no data).
    NoData,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
}

/// Asks for `record` records at `name`: only `nameserver` (UDP, falling
/// back to TCP) when given, else the nameservers of `/etc/resolv.conf`
/// (port 53); the whole lookup bounded by `timeout`, no cache, one attempt.
async fn query(
    record: RecordType,
    name: &str,
    nameserver: Option<SocketAddr>,
    timeout: Duration,
) -> Result<(Answer, String), DnsError> {
    let kind: &'static str = match record {
        RecordType::MX => "MX",
        _ => "TXT",
    };
    let servers = match nameserver {
        Some(addr) => vec![addr],
        None => system_nameservers().map_err(|message| DnsError::NoNameserver {
            record: kind,
            name: name.to_owned(),
            message,
        })?,
    };
    let server = servers
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ");

    let mut fqdn = Name::from_utf8(name).map_err(|e| DnsError::InvalidName {
        record: kind,
        name: name.to_owned(),
        message: e.to_string(),
    })?;
    fqdn.set_fqdn(true);

    let name_servers = servers
        .iter()
        .map(|addr| {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut ns.connections {
                connection.port = addr.port();
            }
            ns
        })
        .collect();
    let mut builder = Resolver::builder_with_config(
        ResolverConfig::from_name_servers(name_servers),
        TokioRuntimeProvider::default(),
    );
    let options = builder.options_mut();
    options.timeout = timeout;
    options.attempts = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.try_tcp_on_error = true;
    options.ndots = 0;
    let resolver = builder.build().map_err(|e| DnsError::Lookup {
        record: kind,
        name: name.to_owned(),
        server: server.clone(),
        message: format!("building the resolver: {e}"),
    })?;

    let answer = match tokio::time::timeout(timeout, resolver.lookup(fqdn, record)).await {
        Err(_) => {
            return Err(DnsError::Timeout {
                record: kind,
                name: name.to_owned(),
                server,
                timeout,
            });
        }
        Ok(Err(e)) if e.is_nx_domain() => Answer::NxDomain,
        Ok(Err(e)) if e.is_no_records_found() => Answer::NoData,
        Ok(Err(e)) => {
            return Err(DnsError::Lookup {
                record: kind,
                name: name.to_owned(),
                server,
                message: e.to_string(),
            });
        }
        Ok(Ok(lookup)) => {
            Answer::Records(lookup.answers().iter().map(|r| r.data.clone()).collect())
        }
    };
    Ok((answer, server))
}

/// Reads the TXT records at `name`, each record's character-strings joined
/// without separator (as SPF and DMARC require), in answer order.
///
/// With `nameserver`, asks only that server (UDP, falling back to TCP);
/// without it, the nameservers of `/etc/resolv.conf` (port 53). The whole
/// lookup is bounded by `timeout`.
///
/// NXDOMAIN or no TXT records at the name: `Ok(vec![])`.
pub async fn txt(
    name: &str,
    nameserver: Option<SocketAddr>,
    timeout: Duration,
) -> Result<Vec<String>, DnsError> {
    let Answer::Records(answers) = query(RecordType::TXT, name, nameserver, timeout).await?.0
    else {
        return Ok(Vec::new());
    };
    Ok(answers
        .iter()
        .filter_map(|data| match data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect())
}

/// The MX records of a domain, as [`mx`] read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxAnswer {
    /// `(preference, exchange)` in answer order; the exchange lowercase,
    /// without its trailing dot (`.` itself, the root, for a null MX:
    /// RFC 7505).
    Records(Vec<(u16, String)>),
    /// The domain exists and has no MX records.
    NoRecords,
    /// The domain does not exist (NXDOMAIN).
    NxDomain,
}

/// Reads the MX records at `domain` (the same servers and bounds as [`txt`]).
/// NXDOMAIN and "no MX records" are answers; a timeout, SERVFAIL, REFUSED or
/// an unreachable server is a [`DnsError`].
pub async fn mx(
    domain: &str,
    nameserver: Option<SocketAddr>,
    timeout: Duration,
) -> Result<MxAnswer, DnsError> {
    Ok(
        match query(RecordType::MX, domain, nameserver, timeout).await?.0 {
            Answer::NxDomain => MxAnswer::NxDomain,
            Answer::NoData => MxAnswer::NoRecords,
            Answer::Records(answers) => {
                let records: Vec<(u16, String)> = answers
                    .iter()
                    .filter_map(|data| match data {
                        RData::MX(mx) => {
                            let host = mx.exchange.to_ascii().to_ascii_lowercase();
                            let host = match host.trim_end_matches('.') {
                                "" => ".".to_owned(),
                                h => h.to_owned(),
                            };
                            Some((mx.preference, host))
                        }
                        _ => None,
                    })
                    .collect();
                if records.is_empty() {
                    MxAnswer::NoRecords
                } else {
                    MxAnswer::Records(records)
                }
            }
        },
    )
}

/// The `nameserver` lines of `/etc/resolv.conf`, on port 53; `127.0.0.1:53`
/// when the file names none (as the C library does).
fn system_nameservers() -> Result<Vec<SocketAddr>, String> {
    let text =
        std::fs::read_to_string(RESOLV_CONF).map_err(|e| format!("reading {RESOLV_CONF}: {e}"))?;
    Ok(parse_resolv_conf(&text))
}

fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    let mut servers: Vec<SocketAddr> = text
        .lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or_default();
            let mut words = line.split_whitespace();
            if words.next() != Some("nameserver") {
                return None;
            }
            // Drop an IPv6 zone id (`fe80::1%eth0`): not representable here.
            let addr = words.next()?.split('%').next()?;
            addr.parse::<IpAddr>().ok()
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect();
    if servers.is_empty() {
        servers.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
    }
    servers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameservers_in_order_with_comments_ignored() {
        let text = "# generated\nsearch example.com\nnameserver 10.0.0.2 # primary\n\
                    ;nameserver 9.9.9.9\nnameserver ::1\noptions ndots:2\n";
        assert_eq!(
            parse_resolv_conf(text),
            ["10.0.0.2:53".parse().unwrap(), "[::1]:53".parse().unwrap()] as [SocketAddr; 2]
        );
        assert_eq!(
            parse_resolv_conf("search x\n"),
            ["127.0.0.1:53".parse().unwrap()] as [SocketAddr; 1]
        );
    }
}
