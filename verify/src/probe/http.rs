//! A small, bounded HTTP(S) client for `edge.https.headers` and
//! `edge.http.redirect`.
//!
//! One `GET` per hop, HTTP/1.1 over a fresh connection (hyper's connection
//! API on tokio-rustls, aws-lc-rs, web PKI plus extra roots), redirects
//! followed only as far as asked, the body read up to [`MAX_BODY`] bytes,
//! everything within one timeout. A hostname can be pinned to an address
//! ([`HttpOptions::resolve`], like curl's `--resolve`): the URL keeps the
//! real hostname for SNI, certificate validation and `Host`.
//!
//! It uses hyper's connection API rather than a pooled client so that every
//! failure keeps its type: a rejected certificate is
//! [`ProbeError::Certificate`], a refused connection [`ProbeError::Connect`],
//! an elapsed timeout [`ProbeError::Timeout`] (the same errors as
//! [`super::tls`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), verify::probe::http::ProbeError> {
//! use verify::probe::http::{HttpOptions, get};
//!
//! let options = HttpOptions {
//!     resolve: vec![("app.example.com:443".into(), "127.0.0.1:8443".parse().unwrap())],
//!     ..HttpOptions::default()
//! };
//! let response = get("https://app.example.com/health", &options).await?;
//! assert_eq!(response.status, 200);
//! println!("cf-ray: {:?}", response.header("cf-ray"));
//! # Ok(()) }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use rustls::pki_types::CertificateDer;
use tokio::time::Instant;

pub use super::tls::ProbeError;
use super::tls::{client_config, connect, handshake_error, server_name};

/// At most this many body bytes are kept; the rest is not read.
pub const MAX_BODY: usize = 64 * 1024;

/// The most redirects [`get`] follows whatever is asked.
pub const MAX_REDIRECTS: u8 = 10;

/// How [`get`] reaches the server.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address overrides instead of DNS, like curl's `--resolve`: the first
    /// entry whose name is `host:port` (the URL's host and effective port)
    /// wins, else the first whose name is `host`. Names compare
    /// case-insensitively; the address is dialled as given (its port too).
    pub resolve: Vec<(String, SocketAddr)>,
    /// Extra trust anchors beside `webpki-roots` (e.g. the sandbox CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Bounds the whole call, every redirect included.
    pub timeout: Duration,
    /// How many redirects to follow; 0 returns the first redirect itself.
    /// Capped at [`MAX_REDIRECTS`].
    pub follow_redirects: u8,
}

impl Default for HttpOptions {
    /// No overrides, no extra roots, 10 s, no redirects followed.
    fn default() -> Self {
        HttpOptions {
            resolve: Vec::new(),
            extra_roots: Vec::new(),
            timeout: Duration::from_secs(10),
            follow_redirects: 0,
        }
    }
}

/// The last response of a [`get`], and the redirects that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Every header, names lowercase, in arrival order (repeated names repeat).
    pub headers: Vec<(String, String)>,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The URL that gave this response.
    pub final_url: String,
    /// Each redirect followed: its status and `Location`.
    pub redirects: Vec<(u16, String)>,
    /// The body, at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is a redirect (301, 302, 303, 307, 308).
    pub fn is_redirect(&self) -> bool {
        is_redirect(self.status)
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// One request to send: method, extra headers, body ([`send`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outgoing {
    /// `GET` when empty.
    pub method: String,
    /// Sent as given, after `Host` and `User-Agent`.
    pub headers: Vec<(String, String)>,
    /// A body to send, if any.
    pub body: Option<Vec<u8>>,
}

/// `outgoing` to `url` on a fresh connection, redirects not followed: the
/// synthetic canaries' client (`canary.*`).
///
/// ```no_run
/// # async fn demo() -> Result<(), verify::probe::http::ProbeError> {
/// use verify::probe::http::{HttpOptions, Outgoing, send};
/// let sign_in = Outgoing {
///     method: "POST".into(),
///     headers: vec![("content-type".into(), "application/json".into())],
///     body: Some(br#"{"email":"canary@example.com"}"#.to_vec()),
/// };
/// let response = send("https://api.example.com/v1/auth/sign-in", &sign_in, &HttpOptions::default()).await?;
/// println!("{} {}", response.status, String::from_utf8_lossy(&response.body));
/// # Ok(()) }
/// ```
pub async fn send(
    url: &str,
    outgoing: &Outgoing,
    options: &HttpOptions,
) -> Result<HttpResponse, ProbeError> {
    let deadline = Instant::now() + options.timeout;
    let target = Target::parse(url)?;
    fetch(&target, outgoing, options, deadline).await
}

/// `GET url`, following up to `options.follow_redirects` redirects.
///
/// A redirect beyond the limit is returned as the response (with its
/// `location`), not an error: the checks judge it.
pub async fn get(url: &str, options: &HttpOptions) -> Result<HttpResponse, ProbeError> {
    let deadline = Instant::now() + options.timeout;
    let mut current = Target::parse(url)?;
    let mut redirects = Vec::new();
    let limit = options.follow_redirects.min(MAX_REDIRECTS);
    loop {
        let mut response = fetch(&current, &Outgoing::default(), options, deadline).await?;
        match response.location.clone() {
            Some(location) if response.is_redirect() && redirects.len() < usize::from(limit) => {
                let next = current.join(&location)?;
                redirects.push((response.status, location));
                current = next;
            }
            _ => {
                response.redirects = redirects;
                return Ok(response);
            }
        }
    }
}

/// Where a `Location` header points, resolved against the URL that
/// answered it (absolute, scheme-relative or a path), as the probe would
/// follow it: [`resolve_location`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLocation {
    /// `https` (else `http`).
    pub https: bool,
    /// The host, lowercase, without IPv6 brackets (any userinfo dropped).
    pub host: String,
    /// The effective port (443/80 when none is written).
    pub port: u16,
    /// The path and query (`/` when empty).
    pub path_and_query: String,
}

/// Resolves `location` against `base_url` and parses it as an http(s) URL;
/// anything else (another scheme, no host, a bad port) is
/// [`ProbeError::Invalid`].
pub fn resolve_location(base_url: &str, location: &str) -> Result<ResolvedLocation, ProbeError> {
    let target = Target::parse(base_url)?.join(location)?;
    Ok(ResolvedLocation {
        https: target.https,
        host: target.host,
        port: target.port,
        path_and_query: target.path_and_query,
    })
}

/// A parsed absolute http(s) URL.
#[derive(Debug, Clone)]
struct Target {
    url: String,
    https: bool,
    /// The host without IPv6 brackets.
    host: String,
    port: u16,
    explicit_port: bool,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, ProbeError> {
        let invalid = |message: &str| ProbeError::Invalid {
            input: url.to_owned(),
            message: message.to_owned(),
        };
        let uri: Uri =
            url.parse()
                .map_err(|e: hyper::http::uri::InvalidUri| ProbeError::Invalid {
                    input: url.to_owned(),
                    message: e.to_string(),
                })?;
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => return Err(invalid("only absolute http:// and https:// URLs")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        // `Uri::port` is None for an unparsable port: look at the text.
        let authority = uri.authority().map_or("", |a| a.as_str());
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let after_host = host_port.rsplit_once(']').map_or(host_port, |(_, p)| p);
        let explicit_port = after_host.contains(':');
        let port = match uri.port_u16() {
            None if !explicit_port => {
                if https {
                    443
                } else {
                    80
                }
            }
            Some(port) if port != 0 => port,
            _ => return Err(invalid("port out of range")),
        };
        Ok(Target {
            url: url.to_owned(),
            https,
            host,
            port,
            explicit_port,
            path_and_query: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".to_owned()),
        })
    }

    /// `Location` resolved against this URL (absolute, scheme-relative or
    /// path).
    fn join(&self, location: &str) -> Result<Target, ProbeError> {
        let absolute = if location.contains("://") {
            location.to_owned()
        } else if let Some(rest) = location.strip_prefix("//") {
            format!("{}://{rest}", self.scheme())
        } else if location.starts_with('/') {
            format!("{}://{}{location}", self.scheme(), self.authority())
        } else {
            let dir = self
                .path_and_query
                .split('?')
                .next()
                .and_then(|p| p.rsplit_once('/'))
                .map_or("", |(dir, _)| dir);
            format!("{}://{}{dir}/{location}", self.scheme(), self.authority())
        };
        Target::parse(&absolute)
    }

    fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// `host[:port]` as sent in `Host` (port only when not the default).
    fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.https { 443 } else { 80 };
        if self.explicit_port && self.port != default {
            format!("{host}:{}", self.port)
        } else {
            host
        }
    }
}

/// The address for `target`: an override, an IP literal, or DNS.
async fn resolve(
    target: &Target,
    options: &HttpOptions,
    deadline: Instant,
) -> Result<SocketAddr, ProbeError> {
    let with_port = format!("{}:{}", target.host, target.port);
    let pinned = options
        .resolve
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&with_port))
        .or_else(|| {
            options
                .resolve
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&target.host))
        });
    if let Some((_, address)) = pinned {
        return Ok(*address);
    }
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, target.port));
    }
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    match tokio::time::timeout_at(deadline, lookup).await {
        Err(_) => Err(ProbeError::Timeout {
            target: with_port,
            stage: "DNS answer",
            timeout: options.timeout,
        }),
        Ok(Err(e)) => Err(ProbeError::Resolve {
            hostname: target.host.clone(),
            message: e.to_string(),
        }),
        Ok(Ok(mut addresses)) => addresses.next().ok_or_else(|| ProbeError::Resolve {
            hostname: target.host.clone(),
            message: "no address".to_owned(),
        }),
    }
}

/// One request on a fresh connection.
async fn fetch(
    target: &Target,
    outgoing: &Outgoing,
    options: &HttpOptions,
    deadline: Instant,
) -> Result<HttpResponse, ProbeError> {
    let label = format!("{}:{}", target.host, target.port);
    let address = resolve(target, options, deadline).await?;
    let tcp = connect(&label, address, deadline, options.timeout).await?;
    if target.https {
        let config = client_config(&options.extra_roots, &[b"http/1.1"])?;
        let name = server_name(&target.host)?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let tls = match tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await {
            Err(_) => {
                return Err(ProbeError::Timeout {
                    target: label,
                    stage: "TLS handshake",
                    timeout: options.timeout,
                });
            }
            Ok(Err(e)) => return Err(handshake_error(&target.host, e)),
            Ok(Ok(tls)) => tls,
        };
        exchange(TokioIo::new(tls), target, outgoing, options, deadline).await
    } else {
        exchange(TokioIo::new(tcp), target, outgoing, options, deadline).await
    }
}

/// Aborts the connection task however `exchange` ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn exchange<I>(
    io: I,
    target: &Target,
    outgoing: &Outgoing,
    options: &HttpOptions,
    deadline: Instant,
) -> Result<HttpResponse, ProbeError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let http_error = |message: String| ProbeError::Http {
        url: target.url.clone(),
        message,
    };
    let timed_out = |stage| ProbeError::Timeout {
        target: target.url.clone(),
        stage,
        timeout: options.timeout,
    };
    let (mut sender, connection) =
        match tokio::time::timeout_at(deadline, hyper::client::conn::http1::handshake(io)).await {
            Err(_) => return Err(timed_out("HTTP connection")),
            Ok(Err(e)) => return Err(http_error(e.to_string())),
            Ok(Ok(pair)) => pair,
        };
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let method = if outgoing.method.is_empty() {
        "GET"
    } else {
        outgoing.method.as_str()
    };
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(target.path_and_query.as_str())
        .header(hyper::header::HOST, target.authority())
        .header(hyper::header::USER_AGENT, "verify-probe")
        .header(hyper::header::CONNECTION, "close");
    if !outgoing
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
    {
        request = request.header(hyper::header::ACCEPT, "*/*");
    }
    for (name, value) in &outgoing.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(
            outgoing.body.clone().unwrap_or_default(),
        )))
        .map_err(|e| http_error(e.to_string()))?;
    let response = match tokio::time::timeout_at(deadline, sender.send_request(request)).await {
        Err(_) => return Err(timed_out("response")),
        Ok(Err(e)) => return Err(http_error(e.to_string())),
        Ok(Ok(response)) => response,
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let location = headers
        .iter()
        .find(|(name, _)| name == "location")
        .map(|(_, value)| value.clone());

    let mut body = Vec::new();
    let mut incoming = response.into_body();
    while body.len() < MAX_BODY {
        match tokio::time::timeout_at(deadline, incoming.frame()).await {
            Err(_) => return Err(timed_out("response body")),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(http_error(format!("reading the body: {e}"))),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    let room = MAX_BODY - body.len();
                    body.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        location,
        final_url: target.url.clone(),
        redirects: Vec::new(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_joins_urls() {
        let t = Target::parse("http://App.Example.com/health?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.https),
            ("app.example.com", 80, false)
        );
        assert_eq!(t.path_and_query, "/health?x=1");
        assert_eq!(t.authority(), "app.example.com");
        let next = t.join("https://app.example.com/health").unwrap();
        assert_eq!((next.port, next.https), (443, true));
        let rel = Target::parse("https://h.test:8443/a/b")
            .unwrap()
            .join("/c")
            .unwrap();
        assert_eq!(rel.url, "https://h.test:8443/c");
        let rel = Target::parse("https://h.test/a/b")
            .unwrap()
            .join("c")
            .unwrap();
        assert_eq!(rel.url, "https://h.test/a/c");
        let v6 = Target::parse("http://[::1]:8080/").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority()),
            ("::1", "[::1]:8080".to_owned())
        );
        for bad in [
            "",
            "ftp://h/",
            "/relative",
            "http://",
            "http://h:99999/",
            "\u{0}",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }
}
