//! TLS handshakes, for `edge.tls.certificate` and `edge.tls.legacy_rejected`.
//!
//! [`handshake`] makes a real TLS 1.2/1.3 handshake (rustls, aws-lc-rs) to a
//! hostname at an address the caller resolved, trusting the public web PKI
//! (`webpki-roots`) plus any extra roots (the sandbox CA), and reports what
//! was negotiated and what the certificate says. A chain or name failure is
//! [`ProbeError::Certificate`]; it is never confused with a connection
//! failure ([`ProbeError::Connect`]) or a timeout ([`ProbeError::Timeout`]).
//!
//! [`legacy_version_accepted`] asks whether a server would speak TLS 1.0 or
//! 1.1, which rustls cannot: it sends a hand-made ClientHello offering only
//! that version and reads the first record back.
//!
//! ```no_run
//! # async fn demo() -> Result<(), verify::probe::tls::ProbeError> {
//! use std::time::Duration;
//! use verify::probe::tls::{TlsTarget, handshake};
//!
//! let target = TlsTarget::new("app.example.com", "203.0.113.10:443".parse().unwrap());
//! let report = handshake(&target, Duration::from_secs(5)).await?;
//! println!("{} until {:?} ({} days)", report.protocol, report.not_after, report.days_left);
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Why a probe (TLS or HTTP) could not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The TCP connection could not be made (refused, unreachable, reset).
    #[error("connect to {target} ({address}): {message}")]
    Connect {
        /// `host:port` as asked for.
        target: String,
        /// The address dialled.
        address: SocketAddr,
        /// What the OS said.
        message: String,
    },
    /// No answer within the timeout.
    #[error("{target}: no {stage} within {timeout:?}")]
    Timeout {
        /// `host:port` (or the URL) as asked for.
        target: String,
        /// What was being waited for: `connect`, `TLS handshake`, `response`…
        stage: &'static str,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The certificate chain or name did not validate (expired, unknown
    /// issuer, wrong name…): rustls' reason.
    #[error("certificate for {hostname} rejected: {reason}")]
    Certificate {
        /// The hostname validated against (the SNI).
        hostname: String,
        /// Why rustls rejected it.
        reason: String,
    },
    /// The TLS handshake failed for another reason (an alert from the
    /// server, no common version or cipher suite, a protocol error).
    #[error("TLS handshake with {hostname}: {message}")]
    Tls {
        /// The hostname (SNI).
        hostname: String,
        /// What went wrong.
        message: String,
    },
    /// The hostname cannot be resolved (no override and DNS failed).
    #[error("resolve {hostname}: {message}")]
    Resolve {
        /// The hostname.
        hostname: String,
        /// Why.
        message: String,
    },
    /// The HTTP exchange failed after the connection was made.
    #[error("HTTP {url}: {message}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The input cannot be used: a bad hostname, URL or extra root.
    #[error("invalid input {input:?}: {message}")]
    Invalid {
        /// What was given.
        input: String,
        /// Why it cannot be used.
        message: String,
    },
}

/// Where to handshake: the name to validate (and send as SNI), the address
/// the caller resolved it to, and roots to trust beside the web PKI.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    /// The hostname validated against the certificate and sent as SNI.
    pub hostname: String,
    /// The address to connect to.
    pub address: SocketAddr,
    /// Extra trust anchors (e.g. the sandbox CA), beside `webpki-roots`.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl TlsTarget {
    /// A target trusting only the web PKI.
    pub fn new(hostname: impl Into<String>, address: SocketAddr) -> TlsTarget {
        TlsTarget {
            hostname: hostname.into(),
            address,
            extra_roots: Vec::new(),
        }
    }

    /// Adds trust anchors (builder style).
    pub fn with_roots(mut self, roots: impl IntoIterator<Item = CertificateDer<'static>>) -> Self {
        self.extra_roots.extend(roots);
        self
    }
}

/// What a successful handshake showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeReport {
    /// The hostname validated.
    pub hostname: String,
    /// The address connected to.
    pub address: SocketAddr,
    /// The negotiated protocol version: `TLSv1.2` or `TLSv1.3`.
    pub protocol: String,
    /// The negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The leaf certificate's notBefore.
    pub not_before: SystemTime,
    /// The leaf certificate's notAfter.
    pub not_after: SystemTime,
    /// Whole days from now until notAfter (negative once expired).
    pub days_left: i64,
    /// The leaf's subject, e.g. `CN=app.example.com`.
    pub subject: String,
    /// The leaf's subject alternative names (DNS names and IP addresses).
    pub names: Vec<String>,
    /// The leaf's issuer.
    pub issuer: String,
    /// How many certificates the server sent.
    pub chain_len: usize,
}

/// The TLS versions a legacy probe can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyTls {
    /// TLS 1.0 (0x0301).
    Tls10,
    /// TLS 1.1 (0x0302).
    Tls11,
}

impl LegacyTls {
    /// The wire version.
    pub fn wire(self) -> u16 {
        match self {
            LegacyTls::Tls10 => 0x0301,
            LegacyTls::Tls11 => 0x0302,
        }
    }

    /// `TLSv1.0` / `TLSv1.1`.
    pub fn name(self) -> &'static str {
        match self {
            LegacyTls::Tls10 => "TLSv1.0",
            LegacyTls::Tls11 => "TLSv1.1",
        }
    }
}

impl std::fmt::Display for LegacyTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A rustls client config (aws-lc-rs, TLS 1.2 and 1.3) trusting
/// `webpki-roots` plus `extra_roots`, offering `alpn`.
pub(crate) fn client_config(
    extra_roots: &[CertificateDer<'static>],
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ClientConfig>, ProbeError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for root in extra_roots {
        roots.add(root.clone()).map_err(|e| ProbeError::Invalid {
            input: format!("extra root ({} bytes)", root.len()),
            message: e.to_string(),
        })?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ProbeError::Invalid {
            input: "TLS 1.2/1.3".to_owned(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// `hostname` as rustls takes it (a DNS name or an IP literal).
pub(crate) fn server_name(hostname: &str) -> Result<ServerName<'static>, ProbeError> {
    ServerName::try_from(hostname.to_owned()).map_err(|e| ProbeError::Invalid {
        input: hostname.to_owned(),
        message: format!("not a valid TLS server name: {e}"),
    })
}

/// Opens a TCP connection bounded by `deadline`.
pub(crate) async fn connect(
    target: &str,
    address: SocketAddr,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, ProbeError> {
    match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
        Err(_) => Err(ProbeError::Timeout {
            target: target.to_owned(),
            stage: "connect",
            timeout,
        }),
        Ok(Err(e)) => Err(ProbeError::Connect {
            target: target.to_owned(),
            address,
            message: e.to_string(),
        }),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
    }
}

/// Turns a failed handshake into a typed error: a rejected certificate is
/// [`ProbeError::Certificate`], anything rustls-level [`ProbeError::Tls`], an
/// I/O failure (reset, closed) [`ProbeError::Tls`] too (the TCP connection
/// itself was made).
pub(crate) fn handshake_error(hostname: &str, error: std::io::Error) -> ProbeError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(reason)) => ProbeError::Certificate {
            hostname: hostname.to_owned(),
            reason: reason.to_string(),
        },
        Some(e @ rustls::Error::NoCertificatesPresented) => ProbeError::Certificate {
            hostname: hostname.to_owned(),
            reason: e.to_string(),
        },
        Some(e) => ProbeError::Tls {
            hostname: hostname.to_owned(),
            message: e.to_string(),
        },
        None => ProbeError::Tls {
            hostname: hostname.to_owned(),
            message: format!("connection failed during the handshake: {error}"),
        },
    }
}

/// Connects to `target.address`, handshakes as `target.hostname` (TLS 1.2 or
/// 1.3, chain and name validated against the web PKI plus
/// `target.extra_roots`), reads the leaf certificate and closes.
///
/// `timeout` bounds the whole probe (connect and handshake).
pub async fn handshake(
    target: &TlsTarget,
    timeout: Duration,
) -> Result<HandshakeReport, ProbeError> {
    let deadline = Instant::now() + timeout;
    let label = format!("{}:{}", target.hostname, target.address.port());
    let name = server_name(&target.hostname)?;
    let config = client_config(&target.extra_roots, &[])?;
    let tcp = connect(&label, target.address, deadline, timeout).await?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let tls = match tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await {
        Err(_) => {
            return Err(ProbeError::Timeout {
                target: label,
                stage: "TLS handshake",
                timeout,
            });
        }
        Ok(Err(e)) => return Err(handshake_error(&target.hostname, e)),
        Ok(Ok(tls)) => tls,
    };
    let (_, conn) = tls.get_ref();
    let protocol = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let chain = conn.peer_certificates().unwrap_or(&[]);
    let leaf = chain.first().ok_or_else(|| ProbeError::Certificate {
        hostname: target.hostname.clone(),
        reason: "the server presented no certificate".to_owned(),
    })?;
    let facts = leaf_facts(leaf).map_err(|reason| ProbeError::Certificate {
        hostname: target.hostname.clone(),
        reason,
    })?;
    let report = HandshakeReport {
        hostname: target.hostname.clone(),
        address: target.address,
        protocol,
        cipher_suite,
        days_left: days_left(facts.not_after, SystemTime::now()),
        not_before: facts.not_before,
        not_after: facts.not_after,
        subject: facts.subject,
        names: facts.names,
        issuer: facts.issuer,
        chain_len: chain.len(),
    };
    let mut tls = tls;
    let _ = tokio::time::timeout_at(deadline, tls.shutdown()).await;
    Ok(report)
}

/// What the leaf certificate says.
struct LeafFacts {
    not_before: SystemTime,
    not_after: SystemTime,
    subject: String,
    names: Vec<String>,
    issuer: String,
}

fn leaf_facts(der: &CertificateDer<'_>) -> Result<LeafFacts, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("cannot parse the leaf certificate: {e}"))?;
    let names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => ip_to_string(ip),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let validity = cert.validity();
    Ok(LeafFacts {
        not_before: from_unix(validity.not_before.timestamp()),
        not_after: from_unix(validity.not_after.timestamp()),
        subject: cert.subject().to_string(),
        names,
        issuer: cert.issuer().to_string(),
    })
}

fn ip_to_string(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => {
            let octets: [u8; 4] = bytes.try_into().ok()?;
            Some(std::net::Ipv4Addr::from(octets).to_string())
        }
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}

fn from_unix(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(seconds.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(seconds.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// Whole days from `now` until `not_after`, rounded towards minus infinity
/// (a certificate expiring in 20 h has 0 days left; one expired 1 h ago, -1).
pub fn days_left(not_after: SystemTime, now: SystemTime) -> i64 {
    let seconds = match not_after.duration_since(now) {
        Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
        Err(behind) => {
            let secs = behind.duration().as_secs_f64().ceil();
            -(secs as i64)
        }
    };
    seconds.div_euclid(86_400)
}

/// Whether the server at `address` accepts a handshake offering only
/// `version` (TLS 1.0 or 1.1) for `hostname`.
///
/// Sends a hand-made ClientHello (record and client version = `version`, no
/// `supported_versions` extension, common CBC cipher suites, SNI) and reads
/// the first record back: a ServerHello for that version is `true`; an
/// alert, a closed or reset connection, or a ServerHello for another version
/// (a client offering only `version` would abort) is `false`. A connect
/// failure, a timeout or an answer that is not TLS at all is an error, never
/// a `false`.
pub async fn legacy_version_accepted(
    hostname: &str,
    address: SocketAddr,
    version: LegacyTls,
    timeout: Duration,
) -> Result<bool, ProbeError> {
    let deadline = Instant::now() + timeout;
    let label = format!("{hostname}:{}", address.port());
    let hello = legacy_client_hello(hostname, version)?;
    let mut tcp = connect(&label, address, deadline, timeout).await?;
    let timed_out = |stage| ProbeError::Timeout {
        target: label.clone(),
        stage,
        timeout,
    };
    match tokio::time::timeout_at(deadline, tcp.write_all(&hello)).await {
        Err(_) => return Err(timed_out("ClientHello write")),
        // The server hung up before taking the hello: refused.
        Ok(Err(_)) => return Ok(false),
        Ok(Ok(())) => {}
    }
    let mut header = [0u8; 6];
    let mut read = 0;
    while read < header.len() {
        match tokio::time::timeout_at(deadline, tcp.read(&mut header[read..])).await {
            Err(_) => return Err(timed_out("answer to the ClientHello")),
            // Closed or reset without a ServerHello: refused.
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => read += n,
        }
    }
    classify_legacy_answer(hostname, &header[..read], version)
}

/// Judges the first bytes answered to a legacy ClientHello.
fn classify_legacy_answer(
    hostname: &str,
    answer: &[u8],
    version: LegacyTls,
) -> Result<bool, ProbeError> {
    match answer {
        [] => Ok(false),
        // Alert record: refused (typically protocol_version).
        [0x15, ..] => Ok(false),
        // Handshake record: a ServerHello for the offered version accepts.
        [0x16, major, minor, _, _, kind] => {
            Ok(*kind == 0x02 && u16::from_be_bytes([*major, *minor]) == version.wire())
        }
        // A handshake record cut short: the server went away mid-answer.
        [0x16, ..] => Ok(false),
        other => Err(ProbeError::Tls {
            hostname: hostname.to_owned(),
            message: format!(
                "answer to a {version} ClientHello is not TLS (first bytes {:02x?})",
                &other[..other.len().min(6)]
            ),
        }),
    }
}

/// A ClientHello record offering only `version`, with SNI (unless
/// `hostname` is an IP literal).
fn legacy_client_hello(hostname: &str, version: LegacyTls) -> Result<Vec<u8>, ProbeError> {
    let invalid = |message: &str| ProbeError::Invalid {
        input: hostname.to_owned(),
        message: message.to_owned(),
    };
    let sni = match server_name(hostname)? {
        ServerName::DnsName(name) => Some(name.as_ref().to_owned()),
        _ => None,
    };
    let [major, minor] = version.wire().to_be_bytes();

    let mut extensions = Vec::new();
    if let Some(name) = &sni {
        let name_len = u16::try_from(name.len()).map_err(|_| invalid("hostname too long"))?;
        let mut ext = Vec::new();
        ext.extend_from_slice(&(name_len + 3).to_be_bytes()); // server_name_list length
        ext.push(0); // host_name
        ext.extend_from_slice(&name_len.to_be_bytes());
        ext.extend_from_slice(name.as_bytes());
        push_extension(&mut extensions, 0x0000, &ext);
    }
    // supported_groups: x25519, secp256r1, secp384r1.
    push_extension(
        &mut extensions,
        0x000a,
        &[0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
    );
    // ec_point_formats: uncompressed.
    push_extension(&mut extensions, 0x000b, &[0x01, 0x00]);

    let mut body = vec![major, minor];
    body.extend(pseudo_random_32());
    body.push(0); // no session id
    const SUITES: [u16; 8] = [
        0xc013, // ECDHE-RSA-AES128-SHA
        0xc014, // ECDHE-RSA-AES256-SHA
        0xc009, // ECDHE-ECDSA-AES128-SHA
        0xc00a, // ECDHE-ECDSA-AES256-SHA
        0x002f, // AES128-SHA
        0x0035, // AES256-SHA
        0x000a, // DES-CBC3-SHA
        0x00ff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    ];
    body.extend_from_slice(&((SUITES.len() * 2) as u16).to_be_bytes());
    for suite in SUITES {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[0x01, 0x00]); // compression: null
    let ext_len = u16::try_from(extensions.len()).map_err(|_| invalid("hostname too long"))?;
    body.extend_from_slice(&ext_len.to_be_bytes());
    body.extend(extensions);

    let body_len = u32::try_from(body.len()).map_err(|_| invalid("hostname too long"))?;
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&body_len.to_be_bytes()[1..]);
    handshake.extend(body);

    let record_len = u16::try_from(handshake.len()).map_err(|_| invalid("hostname too long"))?;
    let mut record = vec![0x16, major, minor];
    record.extend_from_slice(&record_len.to_be_bytes());
    record.extend(handshake);
    Ok(record)
}

fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// 32 bytes that differ per call (the ClientHello random; no secrecy needed).
fn pseudo_random_32() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    (0..4u64)
        .flat_map(|i| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(i);
            h.finish().to_be_bytes()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_rounds_down() {
        let now = SystemTime::now();
        assert_eq!(days_left(now + Duration::from_secs(20 * 3600), now), 0);
        assert_eq!(
            days_left(now + Duration::from_secs(30 * 86_400 + 5), now),
            30
        );
        assert_eq!(days_left(now - Duration::from_secs(3600), now), -1);
        assert_eq!(days_left(now - Duration::from_secs(86_400), now), -1);
        assert_eq!(days_left(now - Duration::from_secs(86_401), now), -2);
    }

    #[test]
    fn client_hello_is_well_formed() {
        let hello = legacy_client_hello("app.example.com", LegacyTls::Tls11).unwrap();
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x02]);
        assert_eq!(
            usize::from(u16::from_be_bytes([hello[3], hello[4]])),
            hello.len() - 5
        );
        assert_eq!(hello[5], 0x01);
        assert_eq!(&hello[9..11], &[0x03, 0x02]);
        assert!(hello.windows(15).any(|w| w == b"app.example.com"));
        // IP literals carry no SNI; nonsense is refused, not panicked on.
        assert!(legacy_client_hello("127.0.0.1", LegacyTls::Tls10).is_ok());
        assert!(legacy_client_hello("", LegacyTls::Tls10).is_err());
        assert!(legacy_client_hello(&"a".repeat(70_000), LegacyTls::Tls10).is_err());
    }

    #[test]
    fn classifies_answers() {
        let v = LegacyTls::Tls10;
        assert!(!classify_legacy_answer("h", &[], v).unwrap());
        assert!(!classify_legacy_answer("h", &[0x15, 3, 3, 0, 2, 2], v).unwrap());
        assert!(classify_legacy_answer("h", &[0x16, 3, 1, 0, 40, 2], v).unwrap());
        assert!(!classify_legacy_answer("h", &[0x16, 3, 3, 0, 40, 2], v).unwrap());
        assert!(!classify_legacy_answer("h", &[0x16, 3], v).unwrap());
        assert!(classify_legacy_answer("h", b"HTTP/1", v).is_err());
    }
}
