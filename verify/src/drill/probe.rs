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
//! ([`crate::probe::postgres`]). Every connection attempt and statement is bounded; a lost connection is
//! re-opened on the next sample (an attempt per interval: a fixed backoff of
//! one interval, so the outage's end is seen within one interval).
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

use report_model::timeline::ProbeTrace;
use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, timeout};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use rustls_pki_types::pem::PemObject;

use crate::probe::postgres::RustlsConnector;

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
        let ms = self.statement_timeout.as_millis();
        match timeout(
            self.statement_timeout + Duration::from_millis(500),
            client.batch_execute(&format!("SET statement_timeout = {ms}")),
        )
        .await
        {
            Ok(Ok(())) => Ok(client),
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
    Ok,
    /// Nothing was sent (no connection).
    Unreachable(String),
    /// Sent; the server refused it.
    Refused(String),
    /// Sent; no answer the client can trust.
    Indeterminate(String),
}

/// A probe running in the background until [`RunningProbe::stop`].
pub struct RunningProbe<T> {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<T>,
    /// Every sample so far, for the timeline.
    pub trace: Arc<Mutex<ProbeTrace>>,
}

impl<T> RunningProbe<T> {
    /// Stops sampling and returns what the probe kept.
    pub async fn stop(self) -> Option<T> {
        let _ = self.stop.send(true);
        self.task.await.ok()
    }
}

/// Starts the writer: inserts into `table` (a `bigint` primary key column
/// `id`) every interval, times relative to `t0`.
pub fn start_writer(target: ProbeTarget, table: String, t0: Instant) -> RunningProbe<Ledger> {
    let trace = Arc::new(Mutex::new(ProbeTrace::new("writer")));
    let (stop, stopped) = watch::channel(false);
    let sink = trace.clone();
    let task = tokio::spawn(async move {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let mut next_id: i64 = 1;
        let insert = Arc::new(format!("INSERT INTO {table} (id) VALUES ($1)"));
        let statement_timeout = target.statement_timeout;
        let kept = ledger.clone();
        sample_loop(&target, t0, stopped, sink, move |client| {
            let id = next_id;
            next_id += 1;
            let insert = insert.clone();
            let ledger = kept.clone();
            async move {
                let sent = timeout(
                    statement_timeout + Duration::from_millis(500),
                    client.execute(insert.as_str(), &[&id]),
                )
                .await;
                let attempt = judge_write(sent);
                let mut ledger = ledger.lock().expect("ledger poisoned");
                match &attempt {
                    Attempt::Ok => ledger.acknowledged.push(id),
                    Attempt::Refused(_) => ledger.refused.push(id),
                    Attempt::Indeterminate(_) => ledger.indeterminate.push(id),
                    Attempt::Unreachable(_) => {}
                }
                attempt
            }
        })
        .await;
        ledger.lock().expect("ledger poisoned").clone()
    });
    RunningProbe { stop, task, trace }
}

/// Starts the reader: `SELECT 1` every interval.
pub fn start_reader(target: ProbeTarget, t0: Instant) -> RunningProbe<()> {
    let trace = Arc::new(Mutex::new(ProbeTrace::new("reader")));
    let (stop, stopped) = watch::channel(false);
    let sink = trace.clone();
    let task = tokio::spawn(async move {
        let statement_timeout = target.statement_timeout;
        sample_loop(
            &target,
            t0,
            stopped,
            sink,
            |client: Arc<Client>| async move {
                match timeout(
                    statement_timeout + Duration::from_millis(500),
                    client.simple_query("SELECT 1"),
                )
                .await
                {
                    Ok(Ok(_)) => Attempt::Ok,
                    Ok(Err(e)) => Attempt::Indeterminate(describe_error(&e)),
                    Err(_) => Attempt::Indeterminate("statement timed out".into()),
                }
            },
        )
        .await;
    });
    RunningProbe { stop, task, trace }
}

/// A write's outcome, as the client can know it.
fn judge_write(
    sent: Result<Result<u64, tokio_postgres::Error>, tokio::time::error::Elapsed>,
) -> Attempt {
    match sent {
        Ok(Ok(_)) => Attempt::Ok,
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

/// Samples every interval until stopped: (re)connects when needed, runs
/// `operation`, records each outcome in `trace`.
async fn sample_loop<F, Fut>(
    target: &ProbeTarget,
    t0: Instant,
    mut stopped: watch::Receiver<bool>,
    trace: Arc<Mutex<ProbeTrace>>,
    mut operation: F,
) where
    F: FnMut(Arc<Client>) -> Fut,
    Fut: std::future::Future<Output = Attempt>,
{
    let mut ticks = tokio::time::interval(target.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut client: Option<Arc<Client>> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
        // A sample is dated when the client asked: the service was (or was
        // not) there for a request made then. Dating it by the answer would
        // add the reconnection's cost (a TLS and SCRAM handshake) to every
        // outage's end.
        let at_ms = t0.elapsed().as_millis() as u64;
        let attempt = match &client {
            Some(c) if !c.is_closed() => operation(c.clone()).await,
            _ => match target.connect().await {
                Ok(c) => {
                    let c = Arc::new(c);
                    client = Some(c.clone());
                    operation(c).await
                }
                Err(e) => Attempt::Unreachable(e),
            },
        };
        let mut trace = trace.lock().expect("probe trace poisoned");
        match attempt {
            Attempt::Ok => trace.sample(at_ms, true, None),
            Attempt::Unreachable(e) | Attempt::Refused(e) => trace.sample(at_ms, false, Some(&e)),
            Attempt::Indeterminate(e) => {
                // The connection cannot be trusted after an answer we did not get.
                client = None;
                trace.sample(at_ms, false, Some(&e));
            }
        }
    }
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
            let error = config_from_url(url, "VERIFY_DRILL_DATABASE_URL")
                .expect_err(url)
                .to_string();
            assert!(error.contains("VERIFY_DRILL_DATABASE_URL"), "{error}");
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

    // `crate::drill::database_url` (drill/mod.rs has no test module of its own).
    #[test]
    fn database_url_prefers_the_filled_url_and_ignores_blank_ones() {
        use crate::drill::database_url;
        let unset = "VERIFY_TEST_PROBE_RS_NEVER_SET";
        assert_eq!(
            database_url(Some(" postgres://u:p@h/db\n"), unset, "probe's", "shape").unwrap(),
            "postgres://u:p@h/db"
        );
        let error = database_url(Some("  "), unset, "probe's", "postgres://…")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!("the probe's database URL is not set: export {unset} (postgres://…)")
        );
        assert!(database_url(None, unset, "probe's", "shape").is_err());
    }
}
