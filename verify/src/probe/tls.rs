//! TLS handshakes, for `edge.tls.certificate` and `edge.tls.legacy_rejected`.
//!
//! [`handshake`] makes a real TLS 1.2/1.3 handshake (rustls, aws-lc-rs) to a
//! hostname at an address the caller resolved, trusting the public web PKI
//! (`webpki-roots`) plus any extra roots (the sandbox CA), and reports what
//! was negotiated and what the certificate says. A chain or name failure is
//! [`ProbeError::Certificate`]; it is never confused with a connection
//! failure ([`ProbeError::Connect`]) or a timeout ([`ProbeError::Timeout`]).
//!
//! [`legacy_handshake`] asks whether a server would speak TLS 1.0 or 1.1,
//! which rustls cannot: it sends a hand-made ClientHello offering only that
//! version (with every legacy cipher suite) and reads the answer up to the
//! ServerHello. The verdict comes from the version the ServerHello
//! negotiates, never from the record layer; only an alert or a closed
//! connection counts as a refusal, and anything it cannot judge is an error.
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
#[non_exhaustive]
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

/// What a server did with a ClientHello offering only TLS 1.0 or 1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegacyAnswer {
    /// The server refused before any ServerHello: `how` says whether with an
    /// alert (and which) or by closing the connection.
    Refused {
        /// `alert protocol_version (70)`, `connection closed`…
        how: String,
    },
    /// The server answered a ServerHello negotiating a legacy version
    /// (SSL 3.0, TLS 1.0 or 1.1, judged from `server_version` and the
    /// `supported_versions` extension, never from the record layer).
    Accepted {
        /// The negotiated version's wire value (0x0301 = TLS 1.0).
        negotiated: u16,
        /// The cipher suite the server chose.
        cipher_suite: u16,
    },
}

impl LegacyAnswer {
    /// Whether the legacy handshake was accepted.
    pub fn accepted(&self) -> bool {
        matches!(self, LegacyAnswer::Accepted { .. })
    }
}

/// The name of a TLS wire version: `TLSv1.0`, `SSLv3`, `0x7f17`…
pub fn version_name(wire: u16) -> String {
    match wire {
        0x0300 => "SSLv3".to_owned(),
        0x0301 => "TLSv1.0".to_owned(),
        0x0302 => "TLSv1.1".to_owned(),
        0x0303 => "TLSv1.2".to_owned(),
        0x0304 => "TLSv1.3".to_owned(),
        other => format!("0x{other:04x}"),
    }
}

/// Whether the server at `address` accepts a handshake offering only
/// `version` (TLS 1.0 or 1.1) for `hostname`: [`legacy_handshake`], as a
/// boolean.
pub async fn legacy_version_accepted(
    hostname: &str,
    address: SocketAddr,
    version: LegacyTls,
    timeout: Duration,
) -> Result<bool, ProbeError> {
    legacy_handshake(hostname, address, version, timeout)
        .await
        .map(|answer| answer.accepted())
}

/// The most bytes of handshake records read while waiting for a complete
/// ServerHello (a ServerHello is well under 1 KiB).
const MAX_LEGACY_ANSWER: usize = 32 * 1024;

/// Offers only `version` (TLS 1.0 or 1.1) to the server at `address` for
/// `hostname` and says what it did.
///
/// Sends a hand-made ClientHello (record and client version = `version`, no
/// `supported_versions` extension, every pre-TLS 1.2 cipher suite and the
/// common newer ones, so that "no cipher in common" cannot pass for a
/// refusal; SNI) and reads the answer up to the ServerHello:
///
/// - an alert, or the connection closed or reset before any byte:
///   [`LegacyAnswer::Refused`];
/// - a ServerHello whose negotiated version (`supported_versions` if
///   present, else `server_version`; the record-layer version is not
///   looked at) is SSL 3.0, TLS 1.0 or 1.1: [`LegacyAnswer::Accepted`];
/// - anything else is an error, never a refusal: a connect failure
///   ([`ProbeError::Connect`]), a timeout ([`ProbeError::Timeout`]), bytes
///   that are not TLS, a record cut short, another handshake message first,
///   or a ServerHello negotiating TLS 1.2+ to a hello that did not offer it
///   ([`ProbeError::Tls`]).
pub async fn legacy_handshake(
    hostname: &str,
    address: SocketAddr,
    version: LegacyTls,
    timeout: Duration,
) -> Result<LegacyAnswer, ProbeError> {
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
        Ok(Err(e)) => {
            return Ok(LegacyAnswer::Refused {
                how: format!("connection closed before the ClientHello was sent ({e})"),
            });
        }
        Ok(Ok(())) => {}
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match parse_legacy_answer(&answer, version) {
            Parsed::Done(verdict) => {
                return verdict.map_err(|message| tls_error(hostname, message));
            }
            Parsed::NeedMore if answer.len() >= MAX_LEGACY_ANSWER => {
                return Err(tls_error(
                    hostname,
                    format!("no complete ServerHello in the first {MAX_LEGACY_ANSWER} bytes"),
                ));
            }
            Parsed::NeedMore => {}
        }
        match tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await {
            Err(_) => return Err(timed_out("answer to the ClientHello")),
            Ok(Ok(0)) => return end_of_answer(hostname, &answer, "closed", version),
            Ok(Err(e)) => return end_of_answer(hostname, &answer, &e.to_string(), version),
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn tls_error(hostname: &str, message: String) -> ProbeError {
    ProbeError::Tls {
        hostname: hostname.to_owned(),
        message,
    }
}

/// The connection ended (closed or reset, `how`) after `answer`, which did
/// not hold a complete verdict.
fn end_of_answer(
    hostname: &str,
    answer: &[u8],
    how: &str,
    version: LegacyTls,
) -> Result<LegacyAnswer, ProbeError> {
    if answer.is_empty() {
        return Ok(LegacyAnswer::Refused {
            how: format!("connection {how} without an answer"),
        });
    }
    Err(tls_error(
        hostname,
        format!(
            "answer to a {version} ClientHello cut short after {} bytes (connection {how}; first bytes {:02x?})",
            answer.len(),
            &answer[..answer.len().min(8)]
        ),
    ))
}

/// Progress of [`parse_legacy_answer`].
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// Not enough bytes yet to decide.
    NeedMore,
    /// A verdict, or why the answer cannot be judged.
    Done(Result<LegacyAnswer, String>),
}

/// Judges the bytes answered so far to a legacy ClientHello offering
/// `version` (see [`legacy_handshake`] for the rules).
fn parse_legacy_answer(answer: &[u8], version: LegacyTls) -> Parsed {
    let not_tls = |why: &str| {
        Parsed::Done(Err(format!(
            "answer to a {version} ClientHello is not TLS ({why}; first bytes {:02x?})",
            &answer[..answer.len().min(8)]
        )))
    };
    // Handshake bytes gathered from consecutive handshake records.
    let mut handshake = Vec::new();
    let mut at = 0;
    loop {
        let Some(header) = answer.get(at..at + 5) else {
            // A partial header: still plausible only if what there is looks like TLS.
            let partial = &answer[at..];
            return match partial.first() {
                None | Some(0x15 | 0x16) if partial.get(1).is_none_or(|m| *m == 0x03) => {
                    Parsed::NeedMore
                }
                _ => not_tls("unknown record type or version"),
            };
        };
        let (kind, major) = (header[0], header[1]);
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if major != 0x03 || !(kind == 0x15 || kind == 0x16) || length == 0 || length > 18_432 {
            return not_tls("unknown record type, version or length");
        }
        let Some(body) = answer.get(at + 5..at + 5 + length) else {
            return Parsed::NeedMore;
        };
        at += 5 + length;
        if kind == 0x15 {
            // An alert before any ServerHello: refused.
            return Parsed::Done(match body {
                [level, description, ..] => Ok(LegacyAnswer::Refused {
                    how: format!(
                        "{} alert {} ({description})",
                        if *level == 2 { "fatal" } else { "warning" },
                        alert_name(*description)
                    ),
                }),
                _ => Err(format!(
                    "a {}-byte alert record answered the {version} ClientHello",
                    body.len()
                )),
            });
        }
        handshake.extend_from_slice(body);
        let Some(&[message_type, l1, l2, l3]) = handshake.get(..4) else {
            continue;
        };
        if message_type != 0x02 {
            return Parsed::Done(Err(format!(
                "the first handshake message answering a {version} ClientHello is type {message_type}, not a ServerHello"
            )));
        }
        let length = (usize::from(l1) << 16) | (usize::from(l2) << 8) | usize::from(l3);
        let Some(hello) = handshake.get(4..4 + length) else {
            continue;
        };
        return Parsed::Done(judge_server_hello(hello, version));
    }
}

/// Reads a ServerHello body: the negotiated version (the
/// `supported_versions` extension if present, else `server_version`) must be
/// a legacy one for [`LegacyAnswer::Accepted`]; TLS 1.2+ answering a hello
/// that offered only `version` is not a valid answer (an error).
fn judge_server_hello(hello: &[u8], version: LegacyTls) -> Result<LegacyAnswer, String> {
    let short = || format!("a ServerHello of {} bytes is cut short", hello.len());
    let server_version = u16::from_be_bytes([
        *hello.first().ok_or_else(short)?,
        *hello.get(1).ok_or_else(short)?,
    ]);
    let mut at = 2 + 32;
    let session_len = usize::from(*hello.get(at).ok_or_else(short)?);
    at += 1 + session_len;
    let suite = hello.get(at..at + 2).ok_or_else(short)?;
    let cipher_suite = u16::from_be_bytes([suite[0], suite[1]]);
    at += 2;
    hello.get(at).ok_or_else(short)?; // compression method
    at += 1;
    let mut negotiated = server_version;
    if let Some(length) = hello.get(at..at + 2) {
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        let mut extensions = hello.get(at + 2..at + 2 + length).ok_or_else(short)?;
        while !extensions.is_empty() {
            let (kind, length) = match extensions {
                [k1, k2, l1, l2, ..] => (
                    u16::from_be_bytes([*k1, *k2]),
                    usize::from(u16::from_be_bytes([*l1, *l2])),
                ),
                _ => return Err(short()),
            };
            let data = extensions.get(4..4 + length).ok_or_else(short)?;
            if kind == 0x002b {
                match data {
                    [major, minor] => negotiated = u16::from_be_bytes([*major, *minor]),
                    _ => {
                        return Err(
                            "a ServerHello supported_versions extension that is not 2 bytes".into(),
                        );
                    }
                }
            }
            extensions = &extensions[4 + length..];
        }
    }
    match negotiated {
        0x0300..=0x0302 => Ok(LegacyAnswer::Accepted {
            negotiated,
            cipher_suite,
        }),
        other => Err(format!(
            "a ServerHello negotiating {} answered a ClientHello offering only {version}: not a valid answer, so neither a refusal nor an acceptance",
            version_name(other)
        )),
    }
}

/// The name of a TLS alert description.
fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        112 => "unrecognized_name",
        _ => "alert",
    }
}

/// Every cipher suite a TLS 1.0/1.1 server might pick: all the pre-1.2
/// suites (ECDHE, DHE, ECDH and RSA key exchange; AES, Camellia, SEED,
/// 3DES, IDEA, DES, RC4, export), then the TLS 1.2 AEAD suites some servers
/// pick regardless of version, then the renegotiation SCSV. Offering them
/// all means a refusal cannot be "no cipher in common" in disguise.
const LEGACY_SUITES: &[u16] = &[
    // ECDHE
    0xc00a, 0xc014, 0xc009, 0xc013, 0xc008, 0xc012, 0xc007, 0xc011, 0xc006, 0xc010,
    // DHE
    0x0039, 0x0038, 0x0033, 0x0032, 0x0088, 0x0087, 0x0045, 0x0044, 0x009a, 0x0099, 0x0016, 0x0013,
    0x0015, 0x0012, // ECDH
    0xc005, 0xc00f, 0xc004, 0xc00e, 0xc003, 0xc00d, 0xc002, 0xc00c, // RSA
    0x0035, 0x002f, 0x0084, 0x0041, 0x0096, 0x000a, 0x0007, 0x0009, 0x0005, 0x0004,
    // anonymous and export (a server accepting these accepts the version)
    0x003a, 0x0034, 0x001b, 0x0018, 0x0014, 0x0011, 0x0008, 0x0006, 0x0003,
    // TLS 1.2 AEAD, picked by some servers whatever the version
    0xc02c, 0xc030, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0x009f, 0x009e, 0x009d, 0x009c,
    // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    0x00ff,
];

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
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1.
    push_extension(
        &mut extensions,
        0x000a,
        &[0x00, 0x08, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19],
    );
    // ec_point_formats: uncompressed.
    push_extension(&mut extensions, 0x000b, &[0x01, 0x00]);

    let mut body = vec![major, minor];
    body.extend(pseudo_random_32());
    body.push(0); // no session id
    body.extend_from_slice(&((LEGACY_SUITES.len() * 2) as u16).to_be_bytes());
    for suite in LEGACY_SUITES {
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

    /// A ServerHello handshake record: `record` version on the record
    /// layer, `server_version` in the hello, optional extensions.
    fn server_hello(record: u16, server_version: u16, extensions: Option<&[u8]>) -> Vec<u8> {
        let mut hello = server_version.to_be_bytes().to_vec();
        hello.extend([7u8; 32]);
        hello.push(0); // session id
        hello.extend_from_slice(&[0xc0, 0x14]);
        hello.push(0); // compression
        if let Some(ext) = extensions {
            hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
            hello.extend_from_slice(ext);
        }
        let mut message = vec![0x02, 0];
        message.extend_from_slice(&(hello.len() as u16).to_be_bytes());
        message.extend(hello);
        let mut out = vec![0x16];
        out.extend_from_slice(&record.to_be_bytes());
        out.extend_from_slice(&(message.len() as u16).to_be_bytes());
        out.extend(message);
        out
    }

    fn verdict(answer: &[u8]) -> Result<LegacyAnswer, String> {
        match parse_legacy_answer(answer, LegacyTls::Tls10) {
            Parsed::Done(v) => v,
            Parsed::NeedMore => Err("need more".into()),
        }
    }

    #[test]
    fn an_alert_is_a_refusal() {
        let answer = verdict(&[0x15, 3, 3, 0, 2, 2, 70]).unwrap();
        assert_eq!(
            answer,
            LegacyAnswer::Refused {
                how: "fatal alert protocol_version (70)".into()
            }
        );
    }

    #[test]
    fn the_negotiated_version_decides_not_the_record_layer() {
        // TLS 1.0 in the hello, 1.2 on the record layer: accepted.
        let accepted = verdict(&server_hello(0x0303, 0x0301, None)).unwrap();
        assert_eq!(
            accepted,
            LegacyAnswer::Accepted {
                negotiated: 0x0301,
                cipher_suite: 0xc014
            }
        );
        assert!(
            verdict(&server_hello(0x0301, 0x0302, Some(&[])))
                .unwrap()
                .accepted()
        );
        assert!(
            verdict(&server_hello(0x0301, 0x0300, None))
                .unwrap()
                .accepted()
        );
        // TLS 1.2 in the hello to a 1.0-only ClientHello: not judgeable.
        let error = verdict(&server_hello(0x0301, 0x0303, None)).unwrap_err();
        assert!(error.contains("negotiating TLSv1.2"), "{error}");
        // supported_versions (0x002b) wins over server_version.
        let ext = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04];
        let error = verdict(&server_hello(0x0303, 0x0301, Some(&ext))).unwrap_err();
        assert!(error.contains("negotiating TLSv1.3"), "{error}");
        let ext = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x01];
        assert!(
            verdict(&server_hello(0x0303, 0x0303, Some(&ext)))
                .unwrap()
                .accepted()
        );
    }

    #[test]
    fn partial_answers_wait_and_garbage_is_an_error() {
        let full = server_hello(0x0301, 0x0301, None);
        for cut in 0..full.len() {
            assert_eq!(
                parse_legacy_answer(&full[..cut], LegacyTls::Tls10),
                Parsed::NeedMore,
                "cut at {cut}"
            );
        }
        // A ServerHello split over two handshake records.
        let message = &full[5..];
        let mut split = vec![0x16, 3, 1, 0, 10];
        split.extend_from_slice(&message[..10]);
        split.extend_from_slice(&[0x16, 3, 1, 0, (message.len() - 10) as u8]);
        split.extend_from_slice(&message[10..]);
        assert!(verdict(&split).unwrap().accepted());

        assert!(verdict(b"HTTP/1.1 400 Bad Request").is_err());
        assert!(verdict(&[0x17, 3, 1, 0, 1, 0]).is_err());
        assert!(verdict(&[0x15, 3, 1, 0, 1, 2]).is_err());
        // A certificate before any ServerHello is not an answer either.
        assert!(verdict(&[0x16, 3, 1, 0, 4, 0x0b, 0, 0, 0]).is_err());
        // Never a panic on any short or odd input.
        for len in 0..full.len() {
            let mut odd = full.clone();
            odd[len] ^= 0xff;
            let _ = parse_legacy_answer(&odd, LegacyTls::Tls11);
        }
    }

    #[test]
    fn the_hello_offers_every_legacy_suite() {
        let hello = legacy_client_hello("app.example.com", LegacyTls::Tls10).unwrap();
        for suite in [
            0x002f_u16, 0x0035, 0x000a, 0x0005, 0xc014, 0x0039, 0x0016, 0x0084,
        ] {
            assert!(
                hello.windows(2).any(|w| w == suite.to_be_bytes()),
                "suite {suite:04x} not offered"
            );
        }
    }
}
