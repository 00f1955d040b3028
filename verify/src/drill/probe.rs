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

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use report_model::timeline::ProbeTrace;
use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, timeout};
use tokio_postgres::{Client, Config, NoTls};

use rustls_pki_types::pem::PemObject;

use crate::probe::postgres::RustlsConnector;

/// Where and how the probes connect.
#[derive(Clone)]
pub struct ProbeTarget {
    pub config: Config,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    pub interval: Duration,
    /// `None` for `sslmode=disable`.
    pub tls: Option<RustlsConnector>,
}

/// Why a probe could not be set up (bad URL, unreadable CA file).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("the database URL in `{env}` is not a valid Postgres URL: {message}")]
    BadUrl { env: String, message: String },
    #[error("the probe's TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Database(String),
}

impl ProbeTarget {
    /// Parses a `postgres://` URL (whose password must come from the
    /// environment, never the spec). `env` names the variable, for messages.
    pub fn from_url(
        url: &str,
        env: &str,
        ca_file: Option<&std::path::Path>,
        connect_timeout: Duration,
        statement_timeout: Duration,
        interval: Duration,
    ) -> Result<ProbeTarget, ProbeError> {
        let mut config: Config =
            url.parse()
                .map_err(|e: tokio_postgres::Error| ProbeError::BadUrl {
                    env: env.to_string(),
                    message: e.to_string(),
                })?;
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

/// `url` (`postgres://user:password@host:port/db?…`) with its host and port
/// replaced by `host:port`: the same credentials against another instance
/// (a restored scratch instance, the pooler in front of the same database).
///
/// ```
/// use verify::drill::probe::with_host_port;
/// assert_eq!(
///     with_host_port("postgres://u:p@db.internal:5432/app?sslmode=require", "127.0.0.1", 6432),
///     "postgres://u:p@127.0.0.1:6432/app?sslmode=require"
/// );
/// ```
pub fn with_host_port(url: &str, host: &str, port: u16) -> String {
    // The last '@' ends the credentials (a host holds none).
    let Some(at) = url.rfind('@') else {
        return url.to_string();
    };
    let rest = &url[at + 1..];
    let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
    format!("{}{host}:{port}{tail}", &url[..=at])
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
