//! A concurrent client workload of short transactions, through a pooler
//! (pgbouncer in transaction mode), counting what each client saw.
//!
//! Each client loops: connect when it has no connection, `BEGIN`, one
//! `INSERT` of `(client, seq)` and a `pg_sleep` of 0.5–1.5 × hold in one
//! statement, `COMMIT`, a pause of up to one interval (the spread keeps the
//! clients from moving in step, so at any moment most are inside a
//! transaction). It tells apart:
//! - a **committed** transaction: `COMMIT` answered;
//! - a **failed** transaction: `BEGIN` acknowledged and `COMMIT` not
//!   answered (an error, a lost connection, a timeout): what a drain must
//!   never cause;
//! - an **error before `BEGIN`** (a refused or lost connection, an error
//!   answering `BEGIN`): the client reconnects with backoff; counted apart
//!   and judged against its own bound.
//!
//! Each transaction's row records the address the database saw it come from
//! (`inet_client_addr()`, returned by the `INSERT`): through a pooler, the
//! pooler's own address, so which pgbouncer task carried it ([`Placement`]).
//!
//! Only the simple query protocol is used (no prepared statements: a pooler
//! in transaction mode may hand the next transaction another server), and
//! the statement timeout is `SET LOCAL`, so nothing leaks into the pool.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use report_model::timeline::ProbeTrace;
use tokio::sync::watch;
use tokio::time::timeout;
use tokio_postgres::Client;

use super::probe::{ProbeTarget, describe_error};

/// One transaction that failed after its `BEGIN` was acknowledged.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailedTransaction {
    /// Which workload client.
    pub client: u32,
    /// Its transaction number.
    pub seq: u64,
    /// When, from the start of the drill.
    pub at_ms: u64,
    /// What the client saw.
    pub error: String,
}

/// Where one committed transaction ran, as the database saw it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Placement {
    /// Which workload client.
    pub client: u32,
    /// When its `COMMIT` was answered, from the start of the drill.
    pub at_ms: u64,
    /// `inet_client_addr()` in the transaction: the address the database
    /// saw the connection come from (the pooler's, through one); `None`
    /// over a Unix socket or when the server did not say.
    pub via: Option<String>,
}

/// What all clients saw.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Tally {
    /// `(client, seq)` of every transaction whose `COMMIT` was answered.
    #[serde(skip)]
    pub committed: Vec<(u32, u64)>,
    /// Where each committed transaction ran, in commit order per client.
    #[serde(skip)]
    pub placements: Vec<Placement>,
    /// Transactions that began and did not commit: the verdict.
    pub failed: Vec<FailedTransaction>,
    /// Errors before `BEGIN` was acknowledged, with the last message.
    pub errors_before_begin: u64,
    /// The last connection error before a `BEGIN`, if any.
    pub last_error_before_begin: Option<String>,
}

impl Tally {
    /// Committed transactions, by all clients.
    pub fn committed_count(&self) -> usize {
        self.committed.len()
    }
}

/// The workload running in the background until [`Workload::stop`].
pub struct Workload {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    tally: Arc<Mutex<Tally>>,
    /// One trace per client: ok = a committed transaction.
    pub traces: Vec<Arc<Mutex<ProbeTrace>>>,
}

impl Workload {
    /// Starts `clients` clients inserting into `table` (`client int, seq bigint`),
    /// holding each transaction open `hold`, times relative to `t0`.
    pub fn start(
        target: &ProbeTarget,
        table: &str,
        clients: u32,
        hold: Duration,
        t0: Instant,
    ) -> Workload {
        let (stop, stopped) = watch::channel(false);
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut tasks = Vec::new();
        let mut traces = Vec::new();
        for client in 1..=clients {
            let trace = Arc::new(Mutex::new(ProbeTrace::new(format!("client-{client}"))));
            traces.push(trace.clone());
            // Clients start spread over one cycle (hold + interval), so at
            // any moment most of them are inside a transaction: a fault cuts
            // some, whenever it lands.
            let cycle = hold + target.interval;
            let offset = cycle * (client - 1) / clients;
            let run = WorkloadClient {
                offset,
                id: client,
                target: target.clone(),
                table: table.to_string(),
                hold,
                t0,
                tally: tally.clone(),
                trace,
            };
            tasks.push(tokio::spawn(run.run(stopped.clone())));
        }
        Workload {
            stop,
            tasks,
            tally,
            traces,
        }
    }

    /// What the clients saw so far.
    pub fn tally(&self) -> Tally {
        self.tally.lock().expect("tally").clone()
    }

    /// Stops every client (each finishes the transaction it is in) and
    /// returns the tally; `None` if a client task panicked.
    pub async fn stop(self) -> Option<Tally> {
        let _ = self.stop.send(true);
        let mut complete = true;
        for task in self.tasks {
            complete &= task.await.is_ok();
        }
        complete.then(|| self.tally.lock().expect("tally").clone())
    }
}

/// One client of the workload.
struct WorkloadClient {
    /// When this client starts, after the workload does.
    offset: Duration,
    id: u32,
    target: ProbeTarget,
    table: String,
    hold: Duration,
    t0: Instant,
    tally: Arc<Mutex<Tally>>,
    trace: Arc<Mutex<ProbeTrace>>,
}

/// How one transaction ended.
enum Transaction {
    /// With the address the database saw it come from.
    Committed(Option<String>),
    /// `BEGIN` was not acknowledged: nothing was started.
    BeforeBegin(String),
    /// `BEGIN` was acknowledged, `COMMIT` not answered.
    Failed(String),
}

impl WorkloadClient {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        tokio::time::sleep(self.offset).await;
        let mut client: Option<Client> = None;
        let mut seq: u64 = 0;
        let mut backoff = self.target.interval;
        loop {
            if *stopped.borrow() {
                return;
            }
            let outcome = match &client {
                Some(c) if !c.is_closed() => {
                    seq += 1;
                    self.transaction(c, seq).await
                }
                _ => match self.target.connect_plain().await {
                    Ok(c) => {
                        client = Some(c);
                        continue;
                    }
                    Err(e) => Transaction::BeforeBegin(e),
                },
            };
            let at_ms = self.t0.elapsed().as_millis() as u64;
            let pause = match outcome {
                Transaction::Committed(via) => {
                    let mut tally = self.tally.lock().expect("tally");
                    tally.committed.push((self.id, seq));
                    tally.placements.push(Placement {
                        client: self.id,
                        at_ms,
                        via,
                    });
                    drop(tally);
                    self.trace.lock().expect("trace").sample(at_ms, true, None);
                    backoff = self.target.interval;
                    self.target.interval.mul_f64(jitter(self.id, seq, 1))
                }
                Transaction::BeforeBegin(e) => {
                    client = None;
                    let mut tally = self.tally.lock().expect("tally");
                    tally.errors_before_begin += 1;
                    tally.last_error_before_begin = Some(e.clone());
                    drop(tally);
                    self.trace
                        .lock()
                        .expect("trace")
                        .sample(at_ms, false, Some(&e));
                    // Reconnect with backoff: interval, doubling, at most 500 ms.
                    let pause = backoff;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                    pause
                }
                Transaction::Failed(e) => {
                    client = None;
                    self.tally
                        .lock()
                        .expect("tally")
                        .failed
                        .push(FailedTransaction {
                            client: self.id,
                            seq,
                            at_ms,
                            error: e.clone(),
                        });
                    self.trace
                        .lock()
                        .expect("trace")
                        .sample(at_ms, false, Some(&e));
                    self.target.interval
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => return,
            }
        }
    }

    async fn transaction(&self, client: &Client, seq: u64) -> Transaction {
        let bound = self.target.statement_timeout + Duration::from_millis(500);
        match timeout(bound, client.simple_query("BEGIN")).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Transaction::BeforeBegin(format!("BEGIN: {}", describe_error(&e)));
            }
            Err(_) => return Transaction::BeforeBegin("BEGIN: timed out".into()),
        }
        let body = format!(
            "SET LOCAL statement_timeout = {}; INSERT INTO {} (client, seq) VALUES ({}, {seq}) RETURNING host(via); SELECT pg_sleep({})",
            self.target.statement_timeout.as_millis(),
            self.table,
            self.id,
            // 0.5–1.5 × hold: commits answered together (a synchronous
            // standby acknowledges in batches) would otherwise line the
            // clients up, all between transactions at the same moments.
            self.hold.as_secs_f64() * (0.5 + jitter(self.id, seq, 2))
        );
        let mut via = None;
        for (what, sql) in [("INSERT", body.as_str()), ("COMMIT", "COMMIT")] {
            match timeout(bound, client.simple_query(sql)).await {
                Ok(Ok(messages)) => {
                    if what == "INSERT" {
                        via = returned_via(&messages);
                    }
                }
                Ok(Err(e)) => {
                    return Transaction::Failed(format!("{what}: {}", describe_error(&e)));
                }
                Err(_) => return Transaction::Failed(format!("{what}: timed out")),
            }
        }
        Transaction::Committed(via)
    }
}

/// The `INSERT … RETURNING host(via)`'s value: the first row's first column
/// (the `pg_sleep` after it answers a row too).
fn returned_via(messages: &[tokio_postgres::SimpleQueryMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    })
}

/// A number in [0, 1), fixed by `(client, seq, salt)` (splitmix64): the
/// spread of pauses and holds, the same on every run.
fn jitter(client: u32, seq: u64, salt: u64) -> f64 {
    let mut z = (u64::from(client) << 40 ^ seq << 2 ^ salt).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// One statement on a fresh connection, bounded by the statement timeout
/// on the client's side (no session `SET` through a transaction pool).
async fn one_statement(
    target: &ProbeTarget,
    sql: &str,
    what: &str,
) -> Result<Vec<tokio_postgres::SimpleQueryMessage>, String> {
    let client = target.connect_plain().await?;
    let bound = target.statement_timeout + Duration::from_millis(500);
    match timeout(bound, client.simple_query(sql)).await {
        Ok(Ok(messages)) => Ok(messages),
        Ok(Err(e)) => Err(format!("{what}: {}", describe_error(&e))),
        Err(_) => Err(format!(
            "{what}: no answer within {}",
            humantime::format_duration(bound)
        )),
    }
}

/// Creates the workload's table (`client int, seq bigint`, one row per
/// commit; `via`: the address the database saw the transaction come from).
pub async fn create_table(target: &ProbeTarget, table: &str) -> Result<(), String> {
    one_statement(
        target,
        &format!(
            "CREATE TABLE IF NOT EXISTS {table} (client int NOT NULL, seq bigint NOT NULL, at timestamptz NOT NULL DEFAULT now(), via inet DEFAULT inet_client_addr(), PRIMARY KEY (client, seq))"
        ),
        &format!("creating {table}"),
    )
    .await
    .map(drop)
}

/// The `(client, seq)` rows in `table` now.
pub async fn rows_present(target: &ProbeTarget, table: &str) -> Result<Vec<(u32, u64)>, String> {
    let messages = one_statement(
        target,
        &format!("SELECT client, seq FROM {table}"),
        &format!("reading {table}"),
    )
    .await?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some((row.get(0)?.parse().ok()?, row.get(1)?.parse().ok()?))
            }
            _ => None,
        })
        .collect())
}

/// Drops `table`.
pub async fn drop_table(target: &ProbeTarget, table: &str) -> Result<(), String> {
    one_statement(
        target,
        &format!("DROP TABLE IF EXISTS {table}"),
        &format!("dropping {table}"),
    )
    .await
    .map(drop)
}
