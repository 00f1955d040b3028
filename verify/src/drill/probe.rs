//! Postgres probes: clients that sample a database every interval, through
//! the endpoint real clients use, and record what they saw.
//!
//! - The **writer** inserts monotonic ids, one autocommit `INSERT` per
//!   sample, and keeps a [`Ledger`]: an id is *acknowledged* only when the
//!   server confirmed the commit; a commit whose outcome the client cannot
//!   know (connection lost or timed out while the statement was in flight)
//!   is *indeterminate*, never acknowledged.
//! - The **reader** runs `SELECT 1`.
//!
//! TLS unless the URL says `sslmode=disable`: rustls, verifying the server's
//! certificate and name against the public roots plus the spec's `ca_file`
//! ([`crate::probe::postgres`]).
//!
//! **Sampling.** A probe sends a sample every interval whatever the earlier
//! ones are doing: a sample that hangs (a black-holed endpoint: packets
//! dropped, no RST) holds its own connection until its bound, and the next
//! tick opens another, so the probe sees the outage begin and end within one
//! interval, never a timeout later. Every connection attempt and statement
//! is bounded ([`ProbeTarget::connect_timeout`],
//! [`ProbeTarget::statement_timeout`]), and every probe socket has TCP
//! keepalive and `TCP_USER_TIMEOUT` set ([`ProbeTarget::from_config`]), so
//! no connection waits for the kernel's own retry limit (~15 min). A
//! connection whose statement was answered is reused by the next sample; a
//! lost or untrusted one is dropped.
//!
//! **Dating.** A failed sample is dated when it was sent: a request that
//! timed out after two seconds is dated at its start. A good sample is dated
//! when its request could reach the server: when it was sent, or, for a
//! sample that opened a connection, when the TCP connection was established
//! (a SYN a black hole swallowed is retransmitted a second later: such a
//! sample is no evidence the service was there when it asked, and the TLS and
//! SCRAM handshakes after the TCP one are not outage). Client-observed
//! unavailability is then from the first failing request sent to the first
//! succeeding one ([`ProbeTrace::unavailable_after`]).
//!
//! **Server identity.** The writer's `INSERT … RETURNING` and the reader's
//! `SELECT` return the server that answered ([`SERVER_IDENTITY`]: its
//! address and port, and its postmaster's start time), recorded on every
//! good sample ([`Server`]): a failover is that identity changing to a
//! server that accepts writes ([`ServerChange`]).
//!
//! A database URL is parsed once, by tokio-postgres ([`config_from_url`]:
//! percent-encoded credentials, query parameters such as `sslmode`, IPv6 and
//! multi-host URLs as libpq reads them); the same credentials against another
//! endpoint are the parsed [`Config`] pointed elsewhere ([`retarget`],
//! [`ProbeTarget::with_host_port`]), never an edited URL string. Nothing here
//! prints a password: [`Config`]'s `Debug` shows it as `_`, and
//! [`ProbeTarget`]'s `Debug` is built on it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use report_model::timeline::{ProbeTrace, Server};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, timeout};
use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls};

use rustls_pki_types::pem::PemObject;

use crate::probe::postgres::RustlsConnector;

/// Idle time before a probe socket's first keepalive.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(1);
/// Time between keepalives on a probe socket.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// Keepalives unanswered before a probe socket is given up.
const KEEPALIVE_RETRIES: u32 = 3;

/// Where and how the probes connect.
///
/// Its `Debug` never shows the password (see the `impl`).
#[derive(Clone)]
pub struct ProbeTarget {
    /// Where and as whom (its Debug hides the password).
    pub config: Config,
    /// Bound on a connection attempt.
    pub connect_timeout: Duration,
    /// Bound on one statement.
    pub statement_timeout: Duration,
    /// Time between samples.
    pub interval: Duration,
    /// `None` for `sslmode=disable`.
    pub tls: Option<RustlsConnector>,
}

/// Redacted: the config through tokio-postgres's own `Debug`, which prints
/// a password as `_` (a unit test holds it to that), and the TLS connector
/// as whether there is one.
impl fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeTarget")
            .field("config", &self.config)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("interval", &self.interval)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Why a probe could not be set up (bad URL, unreadable CA file).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The URL did not parse; `env` names the variable it came from.
    #[error("the database URL in `{env}` is not a valid Postgres URL: {message}")]
    BadUrl {
        /// The variable (or spec attribute) it came from.
        env: String,
        /// Why, without the URL (it holds the password).
        message: String,
    },
    /// TLS could not be set up (an unreadable CA file).
    #[error("the probe's TLS: {0}")]
    Tls(String),
    /// The database refused or failed.
    #[error("{0}")]
    Database(String),
}

/// Parses a Postgres connection URL with tokio-postgres's parser (libpq's
/// rules), once. `env` names the variable it came from, for messages.
///
/// In the URL, an `@` in the user name or password must be percent-encoded
/// (`%40`); the crate decodes any `%XX` and takes other characters (a further
/// `:`, `/`, `?`, a `%` not followed by two hex digits) as they are. A raw
/// `@` would end the credentials early and leave the rest of the password in
/// the host name: refused, with a message that does not repeat it. Error
/// messages never hold the URL's values: the
/// crate's URL parser names only the option at fault; for a string that is
/// not a `postgres://` URL at all (the key=value form the crate also reads),
/// whose parser may echo a piece of it, no detail is given.
///
/// ```
/// use verify::drill::probe::config_from_url;
/// let config = config_from_url("postgres://app:p%40ss:w%25rd@db.internal/app?sslmode=require", "V").unwrap();
/// assert_eq!(config.get_password(), Some(&b"p@ss:w%rd"[..]));
/// assert_eq!(config.get_ports(), [5432]);
/// assert!(!format!("{config:?}").contains("p@ss"));
/// ```
pub fn config_from_url(url: &str, env: &str) -> Result<Config, ProbeError> {
    let bad = |message: String| ProbeError::BadUrl {
        env: env.to_string(),
        message,
    };
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
        bad(if is_url {
            // The error shows its kind only; the option at fault is its source.
            match std::error::Error::source(&e) {
                Some(why) => format!("{e}: {why}"),
                None => e.to_string(),
            }
        } else {
            "expected postgres://user:password@host:port/db (details withheld: the value may hold a password)".into()
        })
    })?;
    let at_in_host = config
        .get_hosts()
        .iter()
        .any(|host| matches!(host, Host::Tcp(name) if name.contains('@')));
    if at_in_host {
        return Err(bad(
            "a host name holds '@': percent-encode an '@' in the user name or password as %40"
                .into(),
        ));
    }
    Ok(config)
}

/// `config` pointed at `host:port` alone: the same user, password, database
/// and parameters (`sslmode`, `application_name`, timeouts, …) against
/// another endpoint (a restored scratch instance, the pooler in front of the
/// same database). Every host, `hostaddr` and port of `config` is dropped, so
/// a multi-host URL becomes a single-host one; an IPv6 `host` is given bare
/// (`::1`), as the crate stores it.
///
/// ```
/// use verify::drill::probe::{config_from_url, retarget};
/// let source = config_from_url("postgres://u:p@db.internal:5432/app?sslmode=require", "V").unwrap();
/// let pooler = retarget(&source, "127.0.0.1", 6432);
/// assert_eq!(pooler.get_hosts(), [tokio_postgres::config::Host::Tcp("127.0.0.1".into())]);
/// assert_eq!(pooler.get_ports(), [6432]);
/// assert_eq!(pooler.get_dbname(), Some("app"));
/// assert_eq!(pooler.get_password(), Some(&b"p"[..]));
/// assert_eq!(pooler.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
/// ```
pub fn retarget(config: &Config, host: &str, port: u16) -> Config {
    // `Config::host`/`port` append (the crate's multi-host support) and it
    // has no way to remove a host, so the settings are copied onto a fresh
    // `Config` through its getters: all of them but the hosts, `hostaddr`s
    // and ports. The unit tests compare the result with the crate's own
    // reading of the equivalent URL (its `Debug`, every field), so a setting
    // a newer tokio-postgres adds and this copy misses fails there.
    let mut to = Config::new();
    if let Some(user) = config.get_user() {
        to.user(user);
    }
    if let Some(password) = config.get_password() {
        to.password(password);
    }
    if let Some(dbname) = config.get_dbname() {
        to.dbname(dbname);
    }
    if let Some(options) = config.get_options() {
        to.options(options);
    }
    if let Some(name) = config.get_application_name() {
        to.application_name(name);
    }
    if let Some(after) = config.get_connect_timeout() {
        to.connect_timeout(*after);
    }
    if let Some(after) = config.get_tcp_user_timeout() {
        to.tcp_user_timeout(*after);
    }
    if let Some(every) = config.get_keepalives_interval() {
        to.keepalives_interval(every);
    }
    if let Some(retries) = config.get_keepalives_retries() {
        to.keepalives_retries(retries);
    }
    to.ssl_mode(config.get_ssl_mode())
        .ssl_negotiation(config.get_ssl_negotiation())
        .keepalives(config.get_keepalives())
        .keepalives_idle(config.get_keepalives_idle())
        .target_session_attrs(config.get_target_session_attrs())
        .channel_binding(config.get_channel_binding())
        .load_balance_hosts(config.get_load_balance_hosts())
        .host(host)
        .port(port);
    to
}

impl ProbeTarget {
    /// Parses a `postgres://` URL (whose password must come from the
    /// environment, never the spec; see [`config_from_url`]). `env` names the
    /// variable, for messages.
    pub fn from_url(
        url: &str,
        env: &str,
        ca_file: Option<&std::path::Path>,
        connect_timeout: Duration,
        statement_timeout: Duration,
        interval: Duration,
    ) -> Result<ProbeTarget, ProbeError> {
        ProbeTarget::from_config(
            config_from_url(url, env)?,
            ca_file,
            connect_timeout,
            statement_timeout,
            interval,
        )
    }

    /// A target from a parsed config: TLS unless it says `sslmode=disable`,
    /// trusting the public roots plus `ca_file`.
    pub fn from_config(
        mut config: Config,
        ca_file: Option<&std::path::Path>,
        connect_timeout: Duration,
        statement_timeout: Duration,
        interval: Duration,
    ) -> Result<ProbeTarget, ProbeError> {
        let tls = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => None,
            // `prefer` (the default) falls back to plain Postgres when the
            // server has no TLS; `require` does not.
            _ => {
                let roots = match ca_file {
                    Some(path) => rustls_pki_types::CertificateDer::pem_file_iter(path)
                        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                        .map_err(|e| ProbeError::Tls(format!("ca_file {}: {e}", path.display())))?,
                    None => Vec::new(),
                };
                Some(RustlsConnector::new(&roots).map_err(|e| ProbeError::Tls(e.to_string()))?)
            }
        };
        config.connect_timeout(connect_timeout);
        config.application_name("verify-drill");
        // A black hole (packets dropped, no RST) must not hold a probe's
        // socket for the kernel's retry limit: keepalive on an idle
        // connection, and unacknowledged data bounded by the statement's
        // own bound. These are the probe's bounds, whatever the URL says.
        config
            .keepalives(true)
            .keepalives_idle(KEEPALIVE_IDLE)
            .keepalives_interval(KEEPALIVE_INTERVAL)
            .keepalives_retries(KEEPALIVE_RETRIES)
            .tcp_user_timeout(statement_timeout);
        Ok(ProbeTarget {
            config,
            connect_timeout,
            statement_timeout,
            interval,
            tls,
        })
    }

    /// The same target (credentials, database, parameters, TLS roots,
    /// timeouts) at `host:port` alone ([`retarget`]). TLS checks the
    /// certificate against `host`.
    pub fn with_host_port(&self, host: &str, port: u16) -> ProbeTarget {
        ProbeTarget {
            config: retarget(&self.config, host, port),
            ..self.clone()
        }
    }

    /// One bounded connection, with the statement timeout set server-side too.
    pub async fn connect(&self) -> Result<Client, String> {
        let client = self.connect_plain().await?;
        self.set_statement_timeout(&client).await?;
        Ok(client)
    }

    /// One bounded connection with the statement timeout set, as
    /// [`ProbeTarget::connect`], and when its TCP connection was established
    /// (`None` when tokio-postgres made it: a URL with several hosts or
    /// ports, or a Unix socket). The probes date a good sample on a new
    /// connection by that moment (see the module's *Dating*).
    pub async fn connect_timed(&self) -> Result<(Client, Option<Instant>), String> {
        // tokio-postgres's own connect does what `connect_raw` does not:
        // several hosts, Unix sockets, `target_session_attrs`.
        let own = self.config.get_target_session_attrs()
            == tokio_postgres::config::TargetSessionAttrs::Any;
        let Some((host, port)) = self.single_tcp_endpoint().filter(|_| own) else {
            return Ok((self.connect().await?, None));
        };
        let hostaddr = self.config.get_hostaddrs().first().copied();
        let attempt = async {
            let (stream, reached) = self.tcp_connect(&host, hostaddr, port).await?;
            let client = match &self.tls {
                Some(tls) => {
                    let connect =
                        MakeTlsConnect::<TcpStream>::make_tls_connect(&mut tls.clone(), &host)
                            .map_err(|e| format!("TLS: server name {host}: {e}"))?;
                    let (client, connection) = self
                        .config
                        .connect_raw(stream, connect)
                        .await
                        .map_err(|e| describe_error(&e))?;
                    tokio::spawn(async move { drop(connection.await) });
                    client
                }
                None => {
                    let (client, connection) = self
                        .config
                        .connect_raw(stream, NoTls)
                        .await
                        .map_err(|e| describe_error(&e))?;
                    tokio::spawn(async move { drop(connection.await) });
                    client
                }
            };
            Ok::<_, String>((client, reached))
        };
        let (client, reached) = match timeout(self.connect_timeout, attempt).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(format!(
                    "connect timed out after {}",
                    humantime::format_duration(self.connect_timeout)
                ));
            }
        };
        self.set_statement_timeout(&client).await?;
        Ok((client, Some(reached)))
    }

    /// The one TCP host and port the URL names, if it names exactly one
    /// (a port left out is 5432, as libpq has it).
    fn single_tcp_endpoint(&self) -> Option<(String, u16)> {
        let host = match self.config.get_hosts() {
            [Host::Tcp(host)] => host.clone(),
            _ => return None,
        };
        let port = match self.config.get_ports() {
            [] => 5432,
            [port] => *port,
            _ => return None,
        };
        (self.config.get_hostaddrs().len() <= 1).then_some((host, port))
    }

    /// Where the probes connect, as the URL names it: its one host and
    /// port. `Err` says why there is no single one (several hosts, a Unix
    /// socket), without the URL.
    pub fn endpoint(&self) -> Result<(String, u16), String> {
        self.single_tcp_endpoint().ok_or_else(|| {
            format!(
                "the URL names {} host(s) and {} port(s); one TCP host and port expected",
                self.config.get_hosts().len(),
                self.config.get_ports().len()
            )
        })
    }

    /// A TCP connection to `host:port` (or `hostaddr`), trying each address
    /// the name resolves to, with the probe's socket options; and when it
    /// was established. Bounded by the caller.
    async fn tcp_connect(
        &self,
        host: &str,
        hostaddr: Option<std::net::IpAddr>,
        port: u16,
    ) -> Result<(TcpStream, Instant), String> {
        let addresses: Vec<std::net::SocketAddr> = match hostaddr {
            Some(ip) => vec![(ip, port).into()],
            None => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("resolving {host}: {e}"))?
                .collect(),
        };
        let mut last = format!("{host} resolves to no address");
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    let reached = Instant::now();
                    self.socket_options(&stream)
                        .map_err(|e| format!("socket options on {address}: {e}"))?;
                    return Ok((stream, reached));
                }
                Err(e) => last = format!("connecting to {address}: {e}"),
            }
        }
        Err(last)
    }

    /// What tokio-postgres sets on the sockets it opens, from the same
    /// config: no Nagle delay, keepalive, `TCP_USER_TIMEOUT`.
    fn socket_options(&self, stream: &TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let socket = socket2::SockRef::from(stream);
        if self.config.get_keepalives() {
            let mut keepalive =
                socket2::TcpKeepalive::new().with_time(self.config.get_keepalives_idle());
            if let Some(every) = self.config.get_keepalives_interval() {
                keepalive = keepalive.with_interval(every);
            }
            if let Some(retries) = self.config.get_keepalives_retries() {
                keepalive = keepalive.with_retries(retries);
            }
            socket.set_tcp_keepalive(&keepalive)?;
        }
        if let Some(after) = self.config.get_tcp_user_timeout() {
            socket.set_tcp_user_timeout(Some(*after))?;
        }
        Ok(())
    }

    /// `SET statement_timeout` to the probe's bound, itself bounded.
    async fn set_statement_timeout(&self, client: &Client) -> Result<(), String> {
        let ms = self.statement_timeout.as_millis();
        match timeout(
            self.statement_timeout + Duration::from_millis(500),
            client.batch_execute(&format!("SET statement_timeout = {ms}")),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(describe_error(&e)),
            Err(_) => Err("SET statement_timeout timed out".into()),
        }
    }

    /// One bounded connection and nothing else (through a pooler in
    /// transaction mode a session `SET` would leak into the pool).
    pub async fn connect_plain(&self) -> Result<Client, String> {
        let attempt = async {
            // The connection's end is seen by the client's next statement.
            let client = match &self.tls {
                Some(tls) => {
                    let (client, connection) = self
                        .config
                        .connect(tls.clone())
                        .await
                        .map_err(|e| describe_error(&e))?;
                    tokio::spawn(async move { drop(connection.await) });
                    client
                }
                None => {
                    let (client, connection) = self
                        .config
                        .connect(NoTls)
                        .await
                        .map_err(|e| describe_error(&e))?;
                    tokio::spawn(async move { drop(connection.await) });
                    client
                }
            };
            Ok(client)
        };
        match timeout(self.connect_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "connect timed out after {}",
                humantime::format_duration(self.connect_timeout)
            )),
        }
    }
}

/// `url` as a URL *string* pointed at `host:port` alone. Anything that
/// connects uses [`ProbeTarget::with_host_port`] or [`retarget`] instead.
///
/// Why by hand: one caller must hand on a string (the sandbox fills a
/// drill's `database_url`, a `String` in the spec, with the pooler's address)
/// and tokio-postgres's [`Config`] cannot be written back as a URL. So the
/// split follows the crate's URL parser exactly (the credentials end at the
/// first `@`, the hosts at the next `/` or `?`, parameters are `&`-separated
/// `key=value`s), the `host`, `hostaddr` and `port` parameters are dropped,
/// everything else is kept byte for byte (percent-encoded credentials, path,
/// other parameters), the host is bracketed when it is an IPv6 address, and
/// the unit tests check that the crate reads every result as [`retarget`] of
/// the original. A string that is not a `postgres://` or `postgresql://` URL
/// is returned unchanged.
pub fn with_host_port(url: &str, host: &str, port: u16) -> String {
    /// What would end a host early in the crate's URL parser (`%` decodes).
    const HOST: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'%')
        .add(b'@')
        .add(b'/')
        .add(b'?')
        .add(b',')
        .add(b'[')
        .add(b']');
    let Some(scheme) = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|scheme| url.starts_with(scheme))
    else {
        return url.to_string();
    };
    let rest = &url[scheme.len()..];
    let hosts_start = rest.find('@').map_or(0, |at| at + 1);
    let hosts_end = rest[hosts_start..]
        .find(['/', '?'])
        .map_or(rest.len(), |end| hosts_start + end);
    let (path, query) = match rest[hosts_end..].split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (&rest[hosts_end..], None),
    };
    // The endpoint's parameters would add hosts, addresses or ports again.
    let kept: Vec<&str> = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter(|parameter| {
            let key = parameter.split('=').next().unwrap_or_default();
            let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
            !matches!(&*key, "host" | "hostaddr" | "port")
        })
        .collect();
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    let host = percent_encoding::utf8_percent_encode(host, HOST).to_string();
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    format!("{scheme}{}{host}:{port}{path}{query}", &rest[..hosts_start])
}

/// A Postgres error as a person needs it: the server's message and code
/// when it sent one (tokio-postgres displays only "db error").
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}): {}", db.severity(), db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// What the writer knows about its commits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// The server confirmed these commits.
    pub acknowledged: Vec<i64>,
    /// Sent, outcome unknown (connection lost or timed out in flight).
    pub indeterminate: Vec<i64>,
    /// The server refused these (not committed).
    pub refused: Vec<i64>,
}

/// How one sample ended.
enum Attempt {
    /// Answered, by this server (when the statement asked).
    Ok(Option<Server>),
    /// Nothing was sent (no connection).
    Unreachable(String),
    /// Sent; the server refused it.
    Refused(String),
    /// Sent; no answer the client can trust.
    Indeterminate(String),
}

/// What a probe's statements return to name the server that answered:
/// its address (text, no netmask; NULL over a Unix socket), its port, and
/// its postmaster's start time in UTC to the microsecond. On the loopback
/// sandbox both members are `127.0.0.1`, told apart by port and start
/// time; on RDS a failover moves the writer to another host (another
/// address, another start time), a reboot without failover keeps the
/// address with a new start time. Readable by any user (no superuser, no
/// `pg_monitor`), and answered through a proxy or pooler by the database
/// server itself.
pub const SERVER_IDENTITY: &str = "host(inet_server_addr()), inet_server_port(), \
     to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

/// A [`Server`] from what [`SERVER_IDENTITY`] returned; `None` without a
/// start time (then the server named nothing).
pub fn server_from(
    address: Option<&str>,
    port: Option<i32>,
    started_at: Option<&str>,
) -> Option<Server> {
    let started_at = started_at?.to_string();
    let address = match (address, port) {
        (None, _) => "local socket".to_string(),
        (Some(host), Some(port)) if host.contains(':') => format!("[{host}]:{port}"),
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
    };
    Some(Server {
        address,
        started_at,
    })
}

/// The servers a probe's good samples reached around a fault: what the
/// failover drill's verdict rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerChange {
    /// Every server good samples reached before the fault, in order (one,
    /// through a single writer's endpoint).
    pub before: Vec<Server>,
    /// The server of the last good samples, when the probe ended on good
    /// samples (`None`: it never recovered, or named no server).
    pub after: Option<Server>,
    /// When the first good sample at or after the fault reached a server
    /// none before had.
    pub changed_at_ms: Option<u64>,
}

/// What a [`ServerChange`] says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// The probe ended on another address than any before the fault: a
    /// failover, to a server that answers it.
    ToAnotherServer,
    /// The same address, a new postmaster start time: restarted in place.
    RestartedInPlace,
    /// The same server as before the fault.
    Unchanged,
    /// No server before the fault, or none after (never recovered).
    NotSeen,
}

impl Moved {
    /// As the verdict's evidence says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Moved::ToAnotherServer => "moved to another server",
            Moved::RestartedInPlace => "restarted in place (same address, new start time)",
            Moved::Unchanged => "the same server as before the fault",
            Moved::NotSeen => "no server seen before the fault or after recovery",
        }
    }
}

impl ServerChange {
    /// The servers `trace`'s good samples reached before `fault_ms`, the
    /// one it ended on, and when it first reached a new one.
    pub fn of(trace: &ProbeTrace, fault_ms: u64) -> ServerChange {
        let mut before: Vec<Server> = Vec::new();
        for span in trace.spans.iter().filter(|s| s.ok && s.from_ms < fault_ms) {
            if let Some(server) = &span.server
                && !before.contains(server)
            {
                before.push(server.clone());
            }
        }
        let after = match trace.spans.last() {
            Some(last) if last.ok => last.server.clone(),
            _ => None,
        };
        let changed_at_ms = trace
            .spans
            .iter()
            .filter(|s| s.ok && s.from_ms >= fault_ms)
            .find(|s| {
                s.server
                    .as_ref()
                    .is_some_and(|server| !before.contains(server))
            })
            .map(|s| s.from_ms);
        ServerChange {
            before,
            after,
            changed_at_ms,
        }
    }

    /// Whether the probe ended on another server than before the fault.
    pub fn moved(&self) -> Moved {
        let Some(after) = &self.after else {
            return Moved::NotSeen;
        };
        if self.before.is_empty() {
            Moved::NotSeen
        } else if self.before.contains(after) {
            Moved::Unchanged
        } else if self.before.iter().any(|b| b.address == after.address) {
            Moved::RestartedInPlace
        } else {
            Moved::ToAnotherServer
        }
    }
}

/// A probe running in the background until [`RunningProbe::stop`].
pub struct RunningProbe<T> {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<T>,
    /// Every sample so far, for the timeline.
    pub trace: Arc<Mutex<ProbeTrace>>,
}

impl<T> RunningProbe<T> {
    /// Stops sampling (samples in flight end within their bounds) and
    /// returns what the probe kept.
    pub async fn stop(self) -> Option<T> {
        let _ = self.stop.send(true);
        self.task.await.ok()
    }
}

/// Starts the writer: inserts into `table` (a `bigint` primary key column
/// `id`) every interval, times relative to `t0`; each commit returns the
/// server that made it ([`SERVER_IDENTITY`]).
pub fn start_writer(target: ProbeTarget, table: String, t0: Instant) -> RunningProbe<Ledger> {
    let trace = Arc::new(Mutex::new(ProbeTrace::new("writer")));
    let (stop, stopped) = watch::channel(false);
    let sink = trace.clone();
    let task = tokio::spawn(async move {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        // The simple protocol, the id inlined (a number of ours): through
        // pgbouncer's transaction pooling a named prepared statement may be
        // parsed on one server connection and executed on another ("prepared
        // statement does not exist"), which is the probe failing, not the
        // database.
        let statement_timeout = target.statement_timeout;
        let kept = ledger.clone();
        sample_loop(&target, t0, stopped, sink, |seq, client| {
            // Ids are the samples' numbers: monotonic, one per sample.
            let id = seq as i64 + 1;
            let insert =
                format!("INSERT INTO {table} (id) VALUES ({id}) RETURNING {SERVER_IDENTITY}");
            let ledger = kept.clone();
            async move {
                let sent = timeout(
                    statement_timeout + Duration::from_millis(500),
                    client.simple_query(&insert),
                )
                .await;
                let attempt = judge_write(sent);
                let mut ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
                match &attempt {
                    Attempt::Ok(_) => ledger.acknowledged.push(id),
                    Attempt::Refused(_) => ledger.refused.push(id),
                    Attempt::Indeterminate(_) => ledger.indeterminate.push(id),
                    Attempt::Unreachable(_) => {}
                }
                attempt
            }
        })
        .await;
        let mut ledger = ledger.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // Samples end out of order (each its own connection when one hangs).
        for ids in [
            &mut ledger.acknowledged,
            &mut ledger.indeterminate,
            &mut ledger.refused,
        ] {
            ids.sort_unstable();
        }
        ledger
    });
    RunningProbe { stop, task, trace }
}

/// Starts the reader: a `SELECT` of [`SERVER_IDENTITY`] every interval.
pub fn start_reader(target: ProbeTarget, t0: Instant) -> RunningProbe<()> {
    let trace = Arc::new(Mutex::new(ProbeTrace::new("reader")));
    let (stop, stopped) = watch::channel(false);
    let sink = trace.clone();
    let task = tokio::spawn(async move {
        let statement_timeout = target.statement_timeout;
        let select = format!("SELECT {SERVER_IDENTITY}");
        sample_loop(&target, t0, stopped, sink, |_, client: Arc<Client>| {
            let select = select.as_str();
            async move {
                match timeout(
                    statement_timeout + Duration::from_millis(500),
                    client.simple_query(select),
                )
                .await
                {
                    Ok(Ok(messages)) => Attempt::Ok(server_in(&messages)),
                    Ok(Err(e)) => Attempt::Indeterminate(describe_error(&e)),
                    Err(_) => Attempt::Indeterminate("statement timed out".into()),
                }
            }
        })
        .await;
    });
    RunningProbe { stop, task, trace }
}

/// The server named by the first row of a simple query selecting
/// [`SERVER_IDENTITY`].
fn server_in(messages: &[tokio_postgres::SimpleQueryMessage]) -> Option<Server> {
    messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => {
            let column = |i: usize| row.try_get(i).ok().flatten();
            server_from(column(0), column(1).and_then(|p| p.parse().ok()), column(2))
        }
        _ => None,
    })
}

/// A write's outcome, as the client can know it: acknowledged only when the
/// statement's row came back.
fn judge_write(
    sent: Result<
        Result<Vec<tokio_postgres::SimpleQueryMessage>, tokio_postgres::Error>,
        tokio::time::error::Elapsed,
    >,
) -> Attempt {
    match sent {
        Ok(Ok(messages)) => Attempt::Ok(server_in(&messages)),
        Err(_) => Attempt::Indeterminate("statement timed out in flight".into()),
        Ok(Err(e)) => match e.as_db_error() {
            // Operator intervention (57: admin/crash shutdown) and connection
            // exceptions (08) can arrive after the commit reached disk.
            Some(db) if matches!(&db.code().code()[..2], "57" | "08") => {
                Attempt::Indeterminate(describe_error(&e))
            }
            Some(_) => Attempt::Refused(describe_error(&e)),
            None => Attempt::Indeterminate(describe_error(&e)),
        },
    }
}

/// At most this many samples of one probe in flight at once (a black hole
/// holds each until its bound); a tick that finds this many still waiting
/// takes no sample.
const MAX_IN_FLIGHT: usize = 128;

/// One sample, done: its number, its date (see the module's *Dating*),
/// what it saw, and the connection it used when that can be used again.
struct Done {
    seq: u64,
    asked_ms: u64,
    at_ms: u64,
    attempt: Attempt,
    reusable: Option<Arc<Client>>,
}

/// Samples are recorded in the trace in time order, though they end out of
/// order: a done sample waits until no sample still in flight can be dated
/// before it.
#[derive(Default)]
struct Recorder {
    /// Done, not yet recorded: by (date, number).
    done: BTreeMap<(u64, u64), Attempt>,
    /// In flight: (asked, number). None can be dated before it was asked.
    in_flight: BTreeSet<(u64, u64)>,
}

impl Recorder {
    fn started(&mut self, seq: u64, asked_ms: u64) {
        self.in_flight.insert((asked_ms, seq));
    }

    fn ended(&mut self, done: Done) {
        self.in_flight.remove(&(done.asked_ms, done.seq));
        self.done.insert((done.at_ms, done.seq), done.attempt);
    }

    /// Records every done sample no sample in flight can come before; all
    /// of them when `all`.
    fn flush(&mut self, trace: &Mutex<ProbeTrace>, all: bool) {
        let horizon = match self.in_flight.first() {
            Some(&(asked, _)) if !all => asked,
            _ => u64::MAX,
        };
        let mut trace = trace.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(entry) = self.done.first_entry() {
            let (at_ms, _) = *entry.key();
            if at_ms >= horizon {
                break;
            }
            match entry.remove() {
                Attempt::Ok(server) => trace.sample_on(at_ms, true, None, server.as_ref()),
                Attempt::Unreachable(e) | Attempt::Refused(e) | Attempt::Indeterminate(e) => {
                    trace.sample_on(at_ms, false, Some(&e), None)
                }
            }
        }
    }
}

/// Samples every interval until stopped, each sample independent of the
/// ones still in flight: it reuses the idle connection if there is one,
/// else opens its own; runs `operation(sample number, client)`; records the
/// outcome in `trace`, dated as the module says. On stop, the samples in
/// flight are waited for (each is bounded).
async fn sample_loop<F, Fut>(
    target: &ProbeTarget,
    t0: Instant,
    mut stopped: watch::Receiver<bool>,
    trace: Arc<Mutex<ProbeTrace>>,
    operation: F,
) where
    F: Fn(u64, Arc<Client>) -> Fut,
    Fut: std::future::Future<Output = Attempt>,
{
    let mut ticks = tokio::time::interval(target.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let since = |at: Instant| at.saturating_duration_since(t0).as_millis() as u64;
    // A connection whose last statement was answered, free for the next sample.
    let mut idle: Option<Arc<Client>> = None;
    let mut in_flight = FuturesUnordered::new();
    let mut recorder = Recorder::default();
    let mut seq: u64 = 0;
    let operation = &operation;
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if *stopped.borrow() || in_flight.len() >= MAX_IN_FLIGHT {
                    continue;
                }
                let asked = Instant::now();
                let asked_ms = since(asked);
                let this = seq;
                seq += 1;
                recorder.started(this, asked_ms);
                let reuse = idle.take().filter(|c| !c.is_closed());
                in_flight.push(async move {
                    let (client, reached) = match reuse {
                        Some(client) => (client, asked),
                        None => match target.connect_timed().await {
                            Ok((client, reached)) => (Arc::new(client), reached.unwrap_or(asked)),
                            Err(e) => {
                                return Done {
                                    seq: this,
                                    asked_ms,
                                    at_ms: asked_ms,
                                    attempt: Attempt::Unreachable(e),
                                    reusable: None,
                                };
                            }
                        },
                    };
                    let attempt = operation(this, client.clone()).await;
                    let (at_ms, reusable) = match &attempt {
                        Attempt::Ok(_) => (since(reached).max(asked_ms), Some(client)),
                        // Refused by a server that answered: the connection is sound.
                        Attempt::Refused(_) => (asked_ms, Some(client)),
                        // The connection cannot be trusted after an answer we did not get.
                        _ => (asked_ms, None),
                    };
                    Done { seq: this, asked_ms, at_ms, attempt, reusable }
                });
            }
            Some(done) = in_flight.next() => {
                if let Some(client) = done.reusable.as_ref().filter(|c| !c.is_closed())
                    && idle.is_none()
                {
                    idle = Some(client.clone());
                }
                recorder.ended(done);
                recorder.flush(&trace, false);
            }
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    break;
                }
            }
        }
    }
    while let Some(done) = in_flight.next().await {
        recorder.ended(done);
    }
    recorder.flush(&trace, true);
}

/// Creates the writer's table (`id bigint primary key`).
pub async fn create_table(target: &ProbeTarget, table: &str) -> Result<(), ProbeError> {
    let client = target.connect().await.map_err(ProbeError::Database)?;
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"
        ))
        .await
        .map_err(|e| ProbeError::Database(format!("creating {table}: {}", describe_error(&e))))
}

/// The ids present in `table` now.
pub async fn ids_present(target: &ProbeTarget, table: &str) -> Result<Vec<i64>, ProbeError> {
    let client = target.connect().await.map_err(ProbeError::Database)?;
    let rows = match client
        .query(&format!("SELECT id FROM {table} ORDER BY id"), &[])
        .await
    {
        Ok(rows) => rows,
        // The table itself was lost (its creation never reached the new
        // primary): every acknowledged row with it.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            return Ok(Vec::new());
        }
        Err(e) => {
            return Err(ProbeError::Database(format!(
                "reading {table}: {}",
                describe_error(&e)
            )));
        }
    };
    Ok(rows.iter().map(|r| r.get::<_, i64>(0)).collect())
}

/// Drops `table` (cleanup; retried by the caller until the database answers).
pub async fn drop_table(target: &ProbeTarget, table: &str) -> Result<(), ProbeError> {
    let client = target.connect().await.map_err(ProbeError::Database)?;
    client
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await
        .map_err(|e| ProbeError::Database(format!("dropping {table}: {}", describe_error(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(url, host, port, the URL pointed at host:port)`: what the crate must
    /// read [`retarget`] (and [`with_host_port`]'s string) as.
    const RETARGETS: &[(&str, &str, u16, &str)] = &[
        // The former doc test.
        (
            "postgres://u:p@db.internal:5432/app?sslmode=require",
            "127.0.0.1",
            6432,
            "postgres://u:p@127.0.0.1:6432/app?sslmode=require",
        ),
        // `@`, `:` and `%` in the password, percent-encoded.
        (
            "postgres://app:p%40ss%3Aw%25rd@db.internal:5432/app",
            "scratch.rds.amazonaws.com",
            5432,
            "postgres://app:p%40ss%3Aw%25rd@scratch.rds.amazonaws.com:5432/app",
        ),
        // `:` and a `%` that is no escape, as they are; `/` and `?` encoded.
        (
            "postgres://app:a:b%zz%2F%3F@db.internal:5432/app",
            "127.0.0.1",
            6432,
            "postgres://app:a:b%zz%2F%3F@127.0.0.1:6432/app",
        ),
        // No port (5432), `postgresql://`, several parameters.
        (
            "postgresql://u:p@db.internal/app?sslmode=require&application_name=drill&connect_timeout=7",
            "127.0.0.1",
            6432,
            "postgresql://u:p@127.0.0.1:6432/app?sslmode=require&application_name=drill&connect_timeout=7",
        ),
        // IPv6, from and to.
        (
            "postgres://u:p@[::1]:5432/app?sslmode=disable",
            "fd00::2",
            6432,
            "postgres://u:p@[fd00::2]:6432/app?sslmode=disable",
        ),
        (
            "postgres://u:p@[::1]/app",
            "10.0.0.5",
            5433,
            "postgres://u:p@10.0.0.5:5433/app",
        ),
        // Multi-host: one host left.
        (
            "postgres://u:p@h1:5432,h2:5433/app?target_session_attrs=read-write",
            "127.0.0.1",
            6432,
            "postgres://u:p@127.0.0.1:6432/app?target_session_attrs=read-write",
        ),
        // A `hostaddr` goes with the host it belonged to.
        (
            "postgres://u:p@db.internal/app?hostaddr=10.0.0.1&keepalives_idle=30",
            "127.0.0.1",
            6432,
            "postgres://u:p@127.0.0.1:6432/app?keepalives_idle=30",
        ),
        // Hosts and ports given as parameters.
        (
            "postgres://u:p@/app?host=db.internal&sslmode=require&port=5433",
            "127.0.0.1",
            6432,
            "postgres://u:p@127.0.0.1:6432/app?sslmode=require",
        ),
        // A query and no path (the former string surgery dropped the query).
        (
            "postgres://u:p@db.internal:5432?sslmode=require",
            "127.0.0.1",
            6432,
            "postgres://u:p@127.0.0.1:6432?sslmode=require",
        ),
        // No credentials (the former string surgery changed nothing).
        (
            "postgres://db.internal:5432/app",
            "127.0.0.1",
            6432,
            "postgres://127.0.0.1:6432/app",
        ),
    ];

    fn parsed(url: &str) -> Config {
        config_from_url(url, "V").unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn retarget_is_the_crate_reading_of_the_url_at_the_new_host() {
        for &(url, host, port, expected) in RETARGETS {
            let source = parsed(url);
            let moved = retarget(&source, host, port);
            let expected = parsed(expected);
            // Every field the crate shows (the password as `_`, hence apart).
            assert_eq!(format!("{moved:?}"), format!("{expected:?}"), "{url}");
            assert_eq!(moved.get_password(), source.get_password(), "{url}");
            assert_eq!(moved.get_ssl_negotiation(), source.get_ssl_negotiation());
            assert_eq!(moved.get_hosts(), [Host::Tcp(host.to_string())], "{url}");
            assert_eq!(moved.get_ports(), [port], "{url}");
            assert!(moved.get_hostaddrs().is_empty(), "{url}");
        }
    }

    #[test]
    fn with_host_port_string_reads_as_retarget() {
        for &(url, host, port, expected) in RETARGETS {
            let moved = with_host_port(url, host, port);
            assert_eq!(moved, expected, "{url}");
            let source = parsed(url);
            let moved = parsed(&moved);
            assert_eq!(
                format!("{moved:?}"),
                format!("{:?}", retarget(&source, host, port)),
                "{url}"
            );
            assert_eq!(moved.get_password(), source.get_password(), "{url}");
        }
        // A host the URL parser would cut short is encoded; not a URL: unchanged.
        let odd = with_host_port("postgres://u:p@h/app", "fe80::1%eth0", 5432);
        assert_eq!(odd, "postgres://u:p@[fe80::1%25eth0]:5432/app");
        assert_eq!(parsed(&odd).get_hosts(), [Host::Tcp("fe80::1%eth0".into())]);
        assert_eq!(with_host_port("host=h user=u", "x", 1), "host=h user=u");
    }

    #[test]
    fn special_characters_in_the_password_are_the_crate_s_to_decode() {
        let cases: &[(&str, &[u8])] = &[
            ("postgres://app:p%40ss%3Aw%25rd@h/app", b"p@ss:w%rd"),
            ("postgres://app:a:b%zz%2F%3F@h/app", b"a:b%zz/?"),
            ("postgres://app:a/b?c#d@h/app", b"a/b?c#d"),
            ("postgres://app:%C3%A9t%C3%A9@h/app", "été".as_bytes()),
            ("postgres://app@h/app", b""),
        ];
        for &(url, password) in cases {
            let config = parsed(url);
            assert_eq!(config.get_user(), Some("app"), "{url}");
            assert_eq!(config.get_password().unwrap_or_default(), password, "{url}");
            assert_eq!(config.get_hosts(), [Host::Tcp("h".into())], "{url}");
            assert_eq!(config.get_dbname(), Some("app"), "{url}");
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        for (url, secret) in [
            ("postgres://app:hunter2-%40x@db.internal/app", "hunter2"),
            (
                "postgres://app:hunter2@db.internal/app?sslmode=disable",
                "hunter2",
            ),
            ("postgres://app:hunter2@[::1]:6432/app", "hunter2"),
            ("host=db.internal user=app password=hunter2", "hunter2"),
        ] {
            let config: Config = url.parse().expect(url);
            let shown = format!("{config:?}");
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("password: Some(_)"), "{shown}");
            let target = ProbeTarget::from_config(
                config,
                None,
                Duration::from_secs(1),
                Duration::from_secs(1),
                Duration::from_millis(50),
            )
            .expect("a target");
            for shown in [
                format!("{target:?}"),
                format!("{:?}", target.with_host_port("127.0.0.1", 6432)),
            ] {
                assert!(!shown.contains(secret), "{shown}");
                assert!(shown.contains("password: Some(_)"), "{shown}");
            }
            let pretty = format!("{target:#?}");
            assert!(!pretty.contains(secret), "{pretty}");
        }
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_the_password() {
        for url in [
            "postgres://app:hunter2@db.internal:notaport/app",
            "postgres://app:hunter2@db.internal/app?sslmode=hunter2",
            "postgres://app:hunter2@db.internal/app?hunter2",
            "postgres://app:hunt@er2@db.internal/app",
            "postgres://app:hunter2@[::1/app",
            "hunter2",
            "hunter2=x",
            "user=app password=hunter2 sslmode=hunter2",
        ] {
            let error = config_from_url(url, "VERIFY_SECRET_DRILL_DATABASE_URL")
                .expect_err(url)
                .to_string();
            assert!(
                error.contains("VERIFY_SECRET_DRILL_DATABASE_URL"),
                "{error}"
            );
            for piece in ["hunter2", "er2"] {
                assert!(!error.contains(piece), "{url}: {error}");
            }
            let error = ProbeTarget::from_url(
                url,
                "V",
                None,
                Duration::from_secs(1),
                Duration::from_secs(1),
                Duration::from_millis(50),
            )
            .expect_err(url);
            assert!(
                !format!("{error} {error:?}").contains("hunter"),
                "{error:?}"
            );
        }
        // The option at fault is named.
        let error = config_from_url("postgres://u:p@h/app?sslmode=sometimes", "V").unwrap_err();
        assert!(error.to_string().contains("sslmode"), "{error}");
        let error = config_from_url("postgres://u:p@x@h/app", "V").unwrap_err();
        assert!(error.to_string().contains("%40"), "{error}");
    }

    #[test]
    fn the_target_keeps_tls_and_timeouts_when_moved() {
        let target = ProbeTarget::from_url(
            "postgres://u:p@db.internal/app?sslmode=require",
            "V",
            None,
            Duration::from_secs(2),
            Duration::from_secs(3),
            Duration::from_millis(50),
        )
        .expect("a target");
        let moved = target.with_host_port("::1", 6432);
        assert!(moved.tls.is_some());
        assert_eq!(moved.connect_timeout, Duration::from_secs(2));
        assert_eq!(moved.statement_timeout, Duration::from_secs(3));
        assert_eq!(moved.interval, Duration::from_millis(50));
        assert_eq!(moved.config.get_hosts(), [Host::Tcp("::1".into())]);
        assert_eq!(moved.config.get_ports(), [6432]);
        assert_eq!(moved.config.get_application_name(), Some("verify-drill"));
        assert_eq!(
            moved.config.get_connect_timeout(),
            Some(&Duration::from_secs(2))
        );
        let plain = ProbeTarget::from_url(
            "postgres://u:p@db.internal/app?sslmode=disable",
            "V",
            None,
            Duration::from_secs(2),
            Duration::from_secs(3),
            Duration::from_millis(50),
        )
        .expect("a target");
        assert!(plain.with_host_port("127.0.0.1", 5432).tls.is_none());
    }

    fn ok_on(server: &Server) -> Attempt {
        Attempt::Ok(Some(server.clone()))
    }

    fn done(seq: u64, asked_ms: u64, at_ms: u64, attempt: Attempt) -> Done {
        Done {
            seq,
            asked_ms,
            at_ms,
            attempt,
            reusable: None,
        }
    }

    #[test]
    fn samples_ending_out_of_order_are_recorded_by_date_failures_at_their_send() {
        // A black hole from 40 ms to 2000 ms, a sample every 50 ms: the one
        // sent at 50 ms hangs until its bound (ends at 2550); those sent
        // inside it fail at their bound; the one sent at 1500 ms had its SYN
        // retransmitted after the hole and connected at 2500 (dated then);
        // the one sent at 2000 connects at once.
        let a = Server {
            address: "10.0.1.5:5432".into(),
            started_at: "2026-12-07T06:00:00.000001Z".into(),
        };
        let trace = Mutex::new(ProbeTrace::new("reader"));
        let mut recorder = Recorder::default();
        recorder.started(0, 0);
        recorder.ended(done(0, 0, 0, ok_on(&a)));
        recorder.flush(&trace, false);
        let asked: Vec<u64> = (1..=40).map(|i| i * 50).collect(); // 50..=2000
        for (i, at) in asked.iter().enumerate() {
            recorder.started(i as u64 + 1, *at);
        }
        // The last one (2000 ms) ends first, then the retransmitted one.
        recorder.ended(done(40, 2000, 2001, ok_on(&a)));
        recorder.flush(&trace, false);
        assert_eq!(
            trace.lock().unwrap().counts(),
            (1, 0),
            "waits for earlier samples"
        );
        recorder.ended(done(30, 1500, 2500, ok_on(&a)));
        for (i, at) in asked.iter().enumerate().take(39) {
            if i as u64 + 1 != 30 {
                let failed = Attempt::Indeterminate("statement timed out".into());
                recorder.ended(done(i as u64 + 1, *at, *at, failed));
            }
        }
        recorder.flush(&trace, false);
        recorder.flush(&trace, true);
        let trace = trace.into_inner().unwrap();
        assert_eq!(trace.counts(), (41, 38));
        let outage = trace.unavailable_after(40).unwrap();
        assert_eq!((outage.from_ms, outage.to_ms), (50, 2001));
        assert_eq!(trace.spans.last().unwrap().server.as_ref(), Some(&a));
        assert_eq!(trace.spans.last().unwrap().to_ms, 2500);
    }

    #[test]
    fn the_server_is_named_from_what_it_returned() {
        let at = "2026-12-07T06:00:00.000001Z";
        let named = |a, p| server_from(a, p, Some(at)).map(|s| s.address);
        assert_eq!(
            named(Some("10.0.1.5"), Some(5432)).as_deref(),
            Some("10.0.1.5:5432")
        );
        assert_eq!(
            named(Some("fd00::5"), Some(5432)).as_deref(),
            Some("[fd00::5]:5432")
        );
        assert_eq!(named(None, None).as_deref(), Some("local socket"));
        assert_eq!(server_from(Some("10.0.1.5"), Some(5432), None), None);
        assert!(SERVER_IDENTITY.contains("inet_server_addr()"));
        assert!(SERVER_IDENTITY.contains("pg_postmaster_start_time()"));
    }

    #[test]
    fn a_failover_is_the_writer_reaching_another_address_after_the_fault() {
        let server = |address: &str, started_at: &str| Server {
            address: address.into(),
            started_at: started_at.into(),
        };
        // The sandbox: both members on 127.0.0.1, told apart by port.
        let a = server("127.0.0.1:41283", "2026-12-07T06:33:44.100000Z");
        let b = server("127.0.0.1:34823", "2026-12-07T06:33:47.900000Z");
        let a_restarted = server("127.0.0.1:41283", "2026-12-07T07:00:00.000000Z");
        let trace = |samples: &[(u64, Option<&Server>)]| {
            let mut t = ProbeTrace::new("writer");
            for (at, s) in samples {
                t.sample_on(*at, s.is_some(), s.is_none().then_some("refused"), *s);
            }
            t
        };
        let moved = trace(&[(0, Some(&a)), (50, Some(&a)), (100, None), (1400, Some(&b))]);
        let change = ServerChange::of(&moved, 100);
        assert_eq!(change.before, std::slice::from_ref(&a));
        assert_eq!(change.after.as_ref(), Some(&b));
        assert_eq!(change.changed_at_ms, Some(1400));
        assert_eq!(change.moved(), Moved::ToAnotherServer);
        let restarted = trace(&[(0, Some(&a)), (100, None), (900, Some(&a_restarted))]);
        assert_eq!(
            ServerChange::of(&restarted, 100).moved(),
            Moved::RestartedInPlace
        );
        let same = trace(&[(0, Some(&a)), (100, None), (900, Some(&a))]);
        let change = ServerChange::of(&same, 100);
        assert_eq!(
            (change.moved(), change.changed_at_ms),
            (Moved::Unchanged, None)
        );
        // Never recovered: nothing seen after.
        let down = trace(&[(0, Some(&a)), (100, None), (900, None)]);
        assert_eq!(ServerChange::of(&down, 100).moved(), Moved::NotSeen);
        // No server before the fault (a probe that does not ask).
        let blind = trace(&[(200, Some(&b))]);
        assert_eq!(ServerChange::of(&blind, 100).moved(), Moved::NotSeen);
        // Moving back to the first server after visiting another is no failover.
        let back = trace(&[(0, Some(&a)), (100, None), (300, Some(&b)), (500, Some(&a))]);
        let change = ServerChange::of(&back, 100);
        assert_eq!(
            (change.moved(), change.changed_at_ms),
            (Moved::Unchanged, Some(300))
        );
    }

    #[test]
    fn probe_sockets_have_keepalive_and_a_user_timeout() {
        let target = ProbeTarget::from_url(
            "postgres://u:p@db.internal/app?sslmode=disable&keepalives=0",
            "V",
            None,
            Duration::from_secs(2),
            Duration::from_secs(3),
            Duration::from_millis(50),
        )
        .expect("a target");
        assert!(target.config.get_keepalives());
        assert_eq!(target.config.get_keepalives_idle(), KEEPALIVE_IDLE);
        assert_eq!(
            target.config.get_keepalives_interval(),
            Some(KEEPALIVE_INTERVAL)
        );
        assert_eq!(
            target.config.get_keepalives_retries(),
            Some(KEEPALIVE_RETRIES)
        );
        assert_eq!(
            target.config.get_tcp_user_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(
            target.endpoint().unwrap(),
            ("db.internal".to_string(), 5432)
        );
        let moved = target.with_host_port("127.0.0.1", 6432);
        assert_eq!(
            moved.config.get_tcp_user_timeout(),
            Some(&Duration::from_secs(3))
        );
        let two = ProbeTarget::from_url(
            "postgres://u:p@h1:5432,h2:5433/app",
            "V",
            None,
            Duration::from_secs(2),
            Duration::from_secs(3),
            Duration::from_millis(50),
        )
        .expect("a target");
        assert!(two.endpoint().unwrap_err().contains("2 host(s)"));
    }

    // `crate::drill::database_url` (drill/mod.rs has no test module of its own).
    #[test]
    fn database_url_prefers_the_filled_url_and_ignores_blank_ones() {
        use crate::drill::database_url;
        use crate::spec::secret_env::SecretPrefix;
        let prefix = SecretPrefix::default();
        let unset = "VERIFY_SECRET_TEST_PROBE_RS_NEVER_SET";
        assert_eq!(
            database_url(
                &prefix,
                Some(" postgres://u:p@h/db\n"),
                unset,
                "probe's",
                "shape"
            )
            .unwrap(),
            "postgres://u:p@h/db"
        );
        let error = database_url(&prefix, Some("  "), unset, "probe's", "postgres://…")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!("the probe's database URL is not set: export {unset} (postgres://…)")
        );
        assert!(database_url(&prefix, None, unset, "probe's", "shape").is_err());
        // A variable outside the prefix is not read, set or not (PATH is set).
        let error = database_url(&prefix, None, "PATH", "probe's", "shape")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("outside the secret prefix VERIFY_SECRET_"),
            "{error}"
        );
    }
}
