//! `drill.pgbouncer_drain`: one pgbouncer task stopped under a concurrent
//! client workload, judged by what the clients saw.
//!
//! What it asserts:
//! - at least one workload client was on the stopped task when it was
//!   stopped: its latest transaction came from the task's private address as
//!   the database saw it (`inet_client_addr()`); a stop that touched no
//!   client proves nothing about a drain and is an `error` (exit 2), never a
//!   pass;
//! - zero failed transactions: no transaction whose `BEGIN` was acknowledged
//!   ended without its `COMMIT` answered (the workload module);
//! - errors before `BEGIN` (refused or lost connections the clients retried)
//!   ≤ the declared bound (default one per client);
//! - every committed transaction's row present afterwards;
//! - the workload really ran: transactions committed before the stop and
//!   after the stopped task was gone;
//! - the service back to its desired count across the declared AZs (the
//!   `pgbouncer.*` checks pass again) within `max_recovery` of the stop.
//!
//! How: `ecs:StopTask` on one RUNNING task of the service, the only write
//! the guard admits: after a baseline, the task carrying the most workload
//! clients (each client placed by the address its transactions came from,
//! matched to the tasks' `privateIPv4Address`), or the task in `stop_az`
//! when the spec pins one; with no client on any task (unpinned) nothing is
//! stopped. ECS then deregisters it from the target
//! group, waits the deregistration delay, sends the image's stop signal,
//! SIGKILL after the stop timeout, and the service starts a replacement; the
//! drill follows `DescribeTasks` (the stopped task's status) and
//! `DescribeServices` (running/desired) every second as marks. The workload
//! table (`verify_drain_<run>`) is dropped on every exit path.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use envspec::{PgbouncerDrainDrill, PgbouncerSpec};
use report_model::Evidence;
use serde_json::json;

use super::probe::ProbeTarget;
use super::workload::{self, Placement, Tally, Workload};
use super::{
    Assertion, DrillError, DrillRecord, Ending, Interrupt, Mark, MarkKind, Timeline, allowed,
    database_url, dependents, interrupt_mark, interrupted, judged, ms_since, on_heap, record,
    steady_state, stop_alarms, stop_alarms_abort,
};
use crate::Status;
use crate::aws;
use crate::check::{CheckError, Outcome};
use crate::checks::pgbouncer::PlacedTask;
use crate::gate::Gate;
use crate::iam::{self, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.pgbouncer_drain";

/// The workload table's name up to the run's start (ms since the epoch):
/// `verify drill cleanup` finds by it a table a killed run left.
pub const TABLE_PREFIX: &str = "verify_drain_";

/// What this drill needs: its one write (a stop of one task of the
/// pgbouncer service's cluster) and its stop alarms. Its write guard admits
/// exactly the writes among them.
pub const GRANTS: &[Grant] = &[
    Grant::on("DrillPgbouncerStopTask", aws::ecs::STOP_TASK, |env, a| {
        env.pgbouncer.iter().map(|p| a.tasks(&p.cluster)).collect()
    })
    .condition("ArnEquals", "ecs:cluster", |env, a| {
        env.pgbouncer
            .iter()
            .map(|p| a.cluster(&p.cluster))
            .collect()
    })
    .write(),
    Grant::on(
        "DrillReadStopAlarms",
        "cloudwatch:DescribeAlarms",
        |env, a| match &env.pgbouncer {
            Some(_) => env
                .drills
                .pgbouncer_drain
                .iter()
                .flat_map(|d| &d.stop_alarms)
                .map(|n| a.alarm(n))
                .collect(),
            None => Vec::new(),
        },
    ),
];

/// The workload runs this long before the stop (the baseline must be clean).
const BASELINE: Duration = Duration::from_secs(2);
/// After recovery the workload goes on this long before it stops.
const SETTLE: Duration = Duration::from_secs(1);
/// How often the task and the service are described while waiting.
const POLL: Duration = Duration::from_secs(1);

/// Runs the drill on `gate`'s environment. `interrupt` ends it early (the
/// harness passes SIGINT and SIGTERM): before the stop with nothing
/// stopped, after it through cleanup; the workload table is dropped
/// whatever happens.
///
/// ```no_run
/// # async fn demo(gate: verify::Gate) -> Result<(), verify::drill::DrillError> {
/// let record = verify::drill::pgbouncer_drain::run(&gate, std::future::pending()).await?;
/// println!("{}: {}", record.outcome.status.as_str(), record.outcome.message);
/// # Ok(()) }
/// ```
pub async fn run(
    gate: &Gate,
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    // The drill's future holds the SDK's (large in a debug build): on the
    // heap, not on the caller's stack.
    Box::pin(run_with_steady_state(gate, &["pgbouncer.*"], interrupt)).await
}

/// [`run`] with another steady state than `pgbouncer.*` (check-id globs),
/// before and after: how a test shows what clients see of a configuration
/// a check refuses.
pub async fn run_with_steady_state(
    gate: &Gate,
    steady: &[&str],
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    let interrupt = Interrupt::new(interrupt);
    let env = gate.env();
    allowed(env)?;
    let drill = env
        .drills
        .pgbouncer_drain
        .clone()
        .unwrap_or_else(PgbouncerDrainDrill::defaults);
    // A writing canary as a dependent needs --allow-writes, or nothing is touched.
    dependents::refuse_writes(gate, &drill.dependents)?;
    let spec = env.pgbouncer.as_ref().ok_or_else(|| {
        DrillError::Setup("drill pgbouncer_drain: the spec has no pgbouncer block".into())
    })?;
    let url = database_url(
        &gate.context().run().secret_prefix,
        drill.database_url.as_deref(),
        &drill.database_url_env,
        "workload's",
        "postgres://user:password@<pgbouncer endpoint>/db",
    )?;
    let target = ProbeTarget::from_url(
        &url,
        &drill.database_url_env,
        drill.ca_file.as_deref(),
        drill.connect_timeout,
        drill.statement_timeout,
        drill.interval,
    )
    .map_err(|e| DrillError::Setup(e.to_string()))?;

    // Steady state first: nothing is stopped unless pgbouncer.* pass and
    // every stop alarm exists, can be read and is not in ALARM.
    let (before, failing) = interrupt
        .before_fault(on_heap(|| steady_state(gate, steady)))
        .await?;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    interrupt
        .before_fault(stop_alarms(gate, &drill.stop_alarms))
        .await??;
    let tasks = interrupt
        .before_fault(placed(gate, spec))
        .await?
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    let candidates = candidates(&tasks, drill.stop_az.as_deref()).map_err(|why| {
        DrillError::SteadyState(format!(
            "ecs service '{}/{}': {why}",
            spec.cluster, spec.service
        ))
    })?;

    let table = format!(
        "{TABLE_PREFIX}{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    workload::create_table(&target, &table)
        .await
        .map_err(DrillError::SteadyState)?;

    // From here on, cleanup runs on every path.
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let mut timeline = Timeline {
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        ..Timeline::default()
    };
    let load = Workload::start(&target, &table, drill.clients, drill.hold, t0);
    let mut marks = Vec::new();
    let mut progress = Progress::default();
    let body = follow(
        gate,
        &drill,
        spec,
        steady,
        &candidates,
        &load,
        t0,
        &mut marks,
        &mut progress,
    );
    let ending = interrupt.until(body).await;
    // Recovered: each declared dependent must work again within its bound.
    let mut dependents_recovered = None;
    let ending = match ending {
        Ok(Ending::Recovered) => {
            interrupt
                .until(async {
                    dependents_recovered =
                        dependents::recover(gate, &drill.dependents, t0, &mut marks).await;
                    Ok(Ending::Recovered)
                })
                .await
        }
        other => other,
    };
    marks.extend(interrupt_mark(&ending, t0));
    let traces: Vec<_> = load.traces.clone();
    let tally = load.stop().await;
    timeline.probes = traces
        .iter()
        .map(|t| t.lock().expect("trace").clone())
        .collect();
    let present = match (&ending, &tally) {
        (Ok(Ending::Interrupted(_)) | Err(_), _) => Err("not read".to_string()),
        (_, None) => Err("a workload client ended without its tally (it panicked)".to_string()),
        _ => {
            interrupt
                .retry(Duration::from_secs(60), &format!("reading {table}"), || {
                    workload::rows_present(&target, &table)
                })
                .await
        }
    };

    // Cleanup: the workload table goes, retried while pgbouncer recovers
    // (cut short after a signal).
    let cleanup = interrupt
        .retry(
            Duration::from_secs(60),
            &format!("table {table} not dropped"),
            || workload::drop_table(&target, &table),
        )
        .await;
    marks.push(Mark {
        at_ms: ms_since(t0),
        kind: MarkKind::Cleanup,
        label: match &cleanup {
            Ok(()) => format!("dropped {table}"),
            Err(e) => format!("could not drop {table}: {e}"),
        },
    });
    marks.sort_by_key(|m| m.at_ms);
    timeline.marks = marks;
    timeline.duration_ms = ms_since(t0);
    let ending = interrupt.ending(ending)?;
    let task_name = match &progress.victim {
        Some(v) => format!("ecs task '{}' in {}", short_arn(&v.arn), v.az),
        None => format!(
            "ecs service '{}/{}' (no task stopped)",
            spec.cluster, spec.service
        ),
    };

    if let Ending::Interrupted(why) = &ending {
        let evidence = Evidence::of(task_name).detail("table", table.clone());
        let left: Vec<String> = cleanup.err().into_iter().collect();
        let outcome = interrupted(ID, why, &left, timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    let (after, failing_after) = steady_state(&gate.fresh(), steady).await;
    let mut assertions = judge(
        &drill,
        spec,
        tally.as_ref(),
        present.as_deref().map_err(String::as_str),
        &progress,
        &failing_after,
    );
    assertions.extend(dependents_recovered);
    let empty = Tally::default();
    let t = tally.as_ref().unwrap_or(&empty);
    let summary = format!(
        "{task_name} of ecs service '{}/{}' stopped under {} clients: {} transactions committed, {} failed, {} errors before BEGIN (bound {}); service back in {}",
        spec.cluster,
        spec.service,
        drill.clients,
        t.committed_count(),
        t.failed.len(),
        t.errors_before_begin,
        drill.connect_error_bound(),
        progress
            .recovered_after_ms
            .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "—".into()),
    );
    let evidence = Evidence::of(task_name)
        .resource(format!("ecs service '{}/{}'", spec.cluster, spec.service))
        .detail("table", table)
        .detail("clients", drill.clients)
        .detail("hold_ms", drill.hold.as_millis() as u64)
        .detail(
            "task_address",
            progress.victim.as_ref().and_then(|v| v.address.clone()),
        )
        .detail("committed_via", json!(committed_via(&t.placements)));
    let outcome = judged(
        ID,
        summary.clone(),
        &assertions,
        &ending,
        "back at the desired count",
        cleanup.as_ref().err().map(String::as_str),
        timeline.duration_ms,
        evidence,
    );
    let outcome = touched_no_client(
        outcome,
        &summary,
        &assertions,
        ending == Ending::Recovered && cleanup.is_ok(),
    );
    Ok(record(env, outcome, timeline, before, after))
}

/// What the wait saw, for the assertions.
#[derive(Debug, Default, Clone, PartialEq)]
struct Progress {
    /// Committed transactions at the moment of the stop, and once the
    /// stopped task was seen `STOPPED`.
    committed_at_stop: usize,
    committed_when_stopped: Option<usize>,
    /// From the stop to the service running its desired count again with
    /// the `pgbouncer.*` checks passing.
    recovered_after_ms: Option<u64>,
    final_task_status: Option<String>,
    /// The task stopped, once chosen (after the baseline).
    victim: Option<Candidate>,
    /// When `StopTask` was sent, from the drill's start.
    fault_ms: Option<u64>,
}

/// Stops the task and waits for the service to recover, bounded; records marks.
#[allow(clippy::too_many_arguments)]
async fn follow(
    gate: &Gate,
    drill: &PgbouncerDrainDrill,
    spec: &PgbouncerSpec,
    steady: &[&str],
    candidates: &[Candidate],
    load: &Workload,
    t0: Instant,
    marks: &mut Vec<Mark>,
    progress: &mut Progress,
) -> Result<Ending, DrillError> {
    tokio::time::sleep(BASELINE).await;
    // The baseline must show every client committing, or "zero failed" later
    // would mean nothing.
    let baseline = load.tally();
    let quiet: Vec<String> = load
        .traces
        .iter()
        .filter_map(|t| {
            let trace = t.lock().expect("trace");
            let (samples, failed) = trace.counts();
            (samples == 0 || failed > 0)
                .then(|| format!("{} ({samples} samples, {failed} failed)", trace.name))
        })
        .collect();
    if !quiet.is_empty() || !baseline.failed.is_empty() {
        return Err(DrillError::SteadyState(format!(
            "before any fault, in {}: clients not committing cleanly: {}; the workload's path is not healthy (last error: {})",
            humantime::format_duration(BASELINE),
            quiet.join(", "),
            baseline
                .last_error_before_begin
                .or_else(|| baseline.failed.last().map(|f| f.error.clone()))
                .unwrap_or_else(|| "none".into())
        )));
    }
    // The task to stop: the one carrying the most clients (the database
    // tells which task each transaction came through), or the pinned AZ's.
    let latest = latest_via(&baseline.placements, u64::MAX);
    let victim = choose_victim(candidates, &latest, drill.stop_az.is_some()).map_err(|why| {
        DrillError::SteadyState(format!(
            "ecs service '{}/{}': {why}",
            spec.cluster, spec.service
        ))
    })?;
    progress.victim = Some(victim.clone());
    let victim_address = victim.address.as_deref().unwrap_or("no private address");
    let victim = victim.arn.as_str();

    // The stop alarms once more, right before the stop.
    stop_alarms(gate, &drill.stop_alarms).await?;
    let sent_ms = ms_since(t0);
    progress.fault_ms = Some(sent_ms);
    let on_it = clients_at(
        &latest_via(&load.tally().placements, sent_ms),
        victim_address,
    );
    {
        let _guard = gate.aws().mode.allow_writes(&iam::writes(GRANTS));
        aws::ecs::stop_task(
            gate.aws(),
            &spec.cluster,
            victim,
            "verify drill.pgbouncer_drain",
        )
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    }
    let fault_ms = ms_since(t0);
    progress.committed_at_stop = load.tally().committed_count();
    marks.push(Mark {
        at_ms: fault_ms,
        kind: MarkKind::Fault,
        label: format!(
            "StopTask {} ({victim_address}: {} on it{})",
            short_arn(victim),
            plural(on_it.len(), "client"),
            if on_it.is_empty() {
                String::new()
            } else {
                format!(
                    ", {}",
                    on_it
                        .iter()
                        .map(|c| format!("client-{c}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        ),
    });

    let started = Instant::now();
    let deadline = started + drill.timeout;
    let recovery_deadline = started + drill.max_recovery;
    let mut last_status: Option<String> = None;
    let mut last_count: Option<(i32, i32)> = None;
    loop {
        tokio::time::sleep(POLL).await;
        let now = Instant::now();
        if now >= deadline || now >= recovery_deadline {
            return Ok(Ending::TimedOut(drill.max_recovery.min(drill.timeout)));
        }
        // Status changes are marks; a failed read is retried next poll.
        if let Ok(status) = task_status(gate, &spec.cluster, victim).await
            && last_status.as_ref() != Some(&status)
        {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Status,
                label: format!("task {status}"),
            });
            if status == "STOPPED" {
                progress.committed_when_stopped = Some(load.tally().committed_count());
            }
            progress.final_task_status = Some(status.clone());
            last_status = Some(status);
        }
        if let Ok(count) = service_count(gate, spec).await
            && last_count != Some(count)
        {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Status,
                label: format!("service {}/{} running", count.0, count.1),
            });
            last_count = Some(count);
        }
        // A stop alarm in ALARM, or one that cannot be read, aborts.
        if let Some(abort) = stop_alarms_abort(gate, &drill.stop_alarms, t0, marks).await {
            return Ok(abort);
        }
        let stopped = last_status.as_deref() == Some("STOPPED");
        let full = last_count.is_some_and(|(running, desired)| running == desired && desired > 0);
        if stopped && full {
            let (_, failing) = steady_state(&gate.fresh(), steady).await;
            if failing.is_empty() {
                let after_ms = ms_since(t0).saturating_sub(fault_ms);
                progress.recovered_after_ms = Some(after_ms);
                marks.push(Mark {
                    at_ms: ms_since(t0),
                    kind: MarkKind::Recovered,
                    label: "service at desired count, pgbouncer.* pass".into(),
                });
                tokio::time::sleep(SETTLE).await;
                return Ok(Ending::Recovered);
            }
        }
    }
}

/// The drill's assertions, each with expected and observed.
fn judge(
    drill: &PgbouncerDrainDrill,
    spec: &PgbouncerSpec,
    tally: Option<&Tally>,
    present: Result<&[(u32, u64)], &str>,
    progress: &Progress,
    failing_after: &[String],
) -> Vec<Assertion> {
    let no_tally = json!({ "error": "the workload's tally is missing (a client panicked)" });
    let missing: Option<Vec<(u32, u64)>> = match (tally, present) {
        (Some(t), Ok(rows)) => {
            let rows: BTreeSet<&(u32, u64)> = rows.iter().collect();
            Some(
                t.committed
                    .iter()
                    .filter(|c| !rows.contains(c))
                    .copied()
                    .collect(),
            )
        }
        _ => None,
    };
    let committed = tally.map(|t| t.committed_count()).unwrap_or(0);
    let after_stopped = progress
        .committed_when_stopped
        .map(|at| committed.saturating_sub(at));
    vec![
        touched(tally, progress),
        Assertion {
            name: "failed_transactions",
            holds: tally.is_some_and(|t| t.failed.is_empty()),
            expected: json!({ "failed": 0 }),
            observed: match tally {
                Some(t) => json!({
                    "failed": t.failed.len(),
                    "first_failed": t.failed.iter().take(10).collect::<Vec<_>>(),
                }),
                None => no_tally.clone(),
            },
        },
        Assertion {
            name: "errors_before_begin",
            holds: tally
                .is_some_and(|t| t.errors_before_begin <= drill.connect_error_bound() as u64),
            expected: json!({ "max": drill.connect_error_bound() }),
            observed: match tally {
                Some(t) => json!({
                    "errors": t.errors_before_begin,
                    "last_error": t.last_error_before_begin,
                }),
                None => no_tally.clone(),
            },
        },
        Assertion {
            name: "committed_rows_present",
            holds: missing.as_ref().is_some_and(|m| m.is_empty()),
            expected: json!({ "missing": 0 }),
            observed: match (&missing, present) {
                (Some(m), _) => json!({
                    "committed": committed,
                    "missing": m.len(),
                    "missing_rows": m.iter().take(10).collect::<Vec<_>>(),
                }),
                (None, Err(e)) => json!({ "error": e }),
                (None, Ok(_)) => no_tally.clone(),
            },
        },
        Assertion {
            name: "workload_ran_through",
            holds: progress.committed_at_stop > 0 && after_stopped.is_some_and(|n| n > 0),
            expected: json!({
                "min_committed_before_stop": 1,
                "min_committed_after_task_stopped": 1,
            }),
            observed: json!({
                "committed_before_stop": progress.committed_at_stop,
                "committed_after_task_stopped": after_stopped,
                "task_status": progress.final_task_status,
            }),
        },
        Assertion {
            name: "service_recovered",
            holds: failing_after.is_empty()
                && progress
                    .recovered_after_ms
                    .is_some_and(|ms| ms <= drill.max_recovery.as_millis() as u64),
            expected: json!({
                "pgbouncer_checks": "pass",
                "min_azs": spec.min_azs,
                "max_recovery_ms": drill.max_recovery.as_millis() as u64,
            }),
            observed: json!({
                "failing_checks": failing_after,
                "recovered_after_ms": progress.recovered_after_ms,
            }),
        },
    ]
}

/// The service's RUNNING tasks, their AZs and private addresses, read fresh.
async fn placed(gate: &Gate, spec: &PgbouncerSpec) -> Result<Vec<PlacedTask>, CheckError> {
    crate::checks::pgbouncer::placed_tasks(gate.fresh().context(), spec).await
}

// --- which task, and whether a client was on it ------------------------------
//
// The proof that the stop touched a client is the database's: each workload
// transaction records `inet_client_addr()`, the address its connection came
// from. Through pgbouncer that is the pgbouncer task's own address (the
// task's ENI's private IP; the database in the same VPC, no NAT or proxy
// between), which DescribeTasks reports as the task's `privateIPv4Address`.
// A client whose latest transaction before the stop came from the stopped
// task's address was on it: its connection ran through that task.

/// The name of the assertion that a client was on the stopped task.
const TOUCHED: &str = "clients_on_stopped_task";

/// A task the drill may stop: a RUNNING task of the service with a known AZ.
#[derive(Debug, Clone, PartialEq)]
struct Candidate {
    arn: String,
    az: String,
    /// Its ENI's private IPv4 address, as DescribeTasks reports it.
    address: Option<String>,
}

/// The RUNNING tasks the drill may stop, by AZ then ARN: those with a known
/// AZ, and only the `stop_az` one's when the spec pins an AZ. Why none, else.
fn candidates(tasks: &[PlacedTask], stop_az: Option<&str>) -> Result<Vec<Candidate>, String> {
    let mut known: Vec<Candidate> = tasks
        .iter()
        .filter_map(|t| {
            Some(Candidate {
                arn: t.arn.clone(),
                az: t.az.clone()?,
                address: t.address.clone(),
            })
        })
        .collect();
    known.sort_by(|a, b| (&a.az, &a.arn).cmp(&(&b.az, &b.arn)));
    if known.is_empty() {
        return Err("no RUNNING task with a known AZ to stop".into());
    }
    match stop_az {
        None => Ok(known),
        Some(az) => {
            let azs: Vec<&str> = known.iter().map(|c| c.az.as_str()).collect();
            let pinned: Vec<Candidate> = known.iter().filter(|c| c.az == az).cloned().collect();
            if pinned.is_empty() {
                Err(format!(
                    "no RUNNING task in {az} (stop_az) to stop; tasks run in {}",
                    azs.join(", ")
                ))
            } else {
                Ok(pinned)
            }
        }
    }
}

/// Each client's latest transaction committed at or before `until_ms`: the
/// address the database saw it come from.
fn latest_via(placements: &[Placement], until_ms: u64) -> BTreeMap<u32, Option<String>> {
    let mut latest: BTreeMap<u32, (u64, Option<String>)> = BTreeMap::new();
    for p in placements.iter().filter(|p| p.at_ms <= until_ms) {
        let entry = latest.entry(p.client).or_insert((p.at_ms, p.via.clone()));
        if p.at_ms >= entry.0 {
            *entry = (p.at_ms, p.via.clone());
        }
    }
    latest.into_iter().map(|(c, (_, via))| (c, via)).collect()
}

/// The clients whose latest transaction came from `address`.
fn clients_at(latest: &BTreeMap<u32, Option<String>>, address: &str) -> Vec<u32> {
    latest
        .iter()
        .filter(|(_, via)| via.as_deref() == Some(address))
        .map(|(c, _)| *c)
        .collect()
}

/// How many clients each address carried (their latest transactions).
fn clients_by_address(latest: &BTreeMap<u32, Option<String>>) -> BTreeMap<String, usize> {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for via in latest.values() {
        *by.entry(via.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    by
}

/// Committed transactions by the address the database saw them come from.
fn committed_via(placements: &[Placement]) -> BTreeMap<String, usize> {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for p in placements {
        *by.entry(p.via.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    by
}

/// `{"127.0.1.1": 4, …}` as `127.0.1.1 (4 clients), …`.
fn listing(by: &BTreeMap<String, usize>) -> String {
    if by.is_empty() {
        return "nowhere (no transaction committed)".into();
    }
    by.iter()
        .map(|(a, n)| format!("{a} ({})", plural(*n, "client")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The task to stop: with an AZ pinned, its task; else the task carrying
/// the most clients (by their latest transactions), ties by AZ then ARN.
/// Unpinned, when no client is on any task the drill refuses, nothing
/// stopped: the fault would touch no client, and no database view could
/// show otherwise (something between pgbouncer and the database hides the
/// tasks' addresses: a proxy, NAT).
fn choose_victim(
    candidates: &[Candidate],
    latest: &BTreeMap<u32, Option<String>>,
    pinned: bool,
) -> Result<Candidate, String> {
    let carried = |c: &Candidate| {
        c.address
            .as_deref()
            .map(|a| clients_at(latest, a).len())
            .unwrap_or(0)
    };
    if pinned {
        return candidates
            .first()
            .cloned()
            .ok_or_else(|| "no task to stop".to_string());
    }
    let best = candidates
        .iter()
        .max_by(|a, b| {
            carried(a)
                .cmp(&carried(b))
                .then_with(|| (&b.az, &b.arn).cmp(&(&a.az, &a.arn)))
        })
        .ok_or_else(|| "no task to stop".to_string())?;
    if carried(best) > 0 {
        return Ok(best.clone());
    }
    Err(format!(
        "no workload client on any task, so the fault would touch no client; nothing stopped: the database saw the clients' latest transactions come from {}, the tasks' private addresses are {} (something between pgbouncer and the database — a proxy, NAT — hides the task's address?)",
        listing(&clients_by_address(latest)),
        candidates
            .iter()
            .map(|c| format!("{} in {}", c.address.as_deref().unwrap_or("none"), c.az))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The assertion that at least one workload client was on the stopped task
/// when `StopTask` was sent, with which, and where the others were.
fn touched(tally: Option<&Tally>, progress: &Progress) -> Assertion {
    let address = progress.victim.as_ref().and_then(|v| v.address.clone());
    let expected = json!({ "min_clients": 1, "task_address": address });
    let (Some(tally), Some(sent_ms), Some(victim)) = (tally, progress.fault_ms, &progress.victim)
    else {
        return Assertion {
            name: TOUCHED,
            holds: false,
            expected,
            observed: json!({ "error": "no task stopped, or the workload's tally is missing" }),
        };
    };
    let latest = latest_via(&tally.placements, sent_ms);
    let Some(address) = victim.address.as_deref() else {
        return Assertion {
            name: TOUCHED,
            holds: false,
            expected,
            observed: json!({
                "error": "DescribeTasks gave the task no private address (attachments → ElasticNetworkInterface → privateIPv4Address)",
                "clients_by_address": clients_by_address(&latest),
            }),
        };
    };
    let on = clients_at(&latest, address);
    let after = tally
        .placements
        .iter()
        .filter(|p| p.at_ms > sent_ms && p.via.as_deref() == Some(address))
        .count();
    Assertion {
        name: TOUCHED,
        holds: !on.is_empty(),
        expected,
        observed: json!({
            "clients": on.iter().map(|c| format!("client-{c}")).collect::<Vec<_>>(),
            "clients_by_address": clients_by_address(&latest),
            "committed_through_it_after_stop": after,
        }),
    }
}

/// A stop that touched no client showed nothing about a drain (an image
/// that dies at once passes it): when that is all that went wrong, the
/// outcome is `error` (exit 2), "the fault touched no client", never a pass.
/// Anything else that failed (`clean`: the wait recovered and cleanup
/// succeeded) stands as a `fail`.
fn touched_no_client(
    outcome: Outcome,
    summary: &str,
    assertions: &[Assertion],
    clean: bool,
) -> Outcome {
    let Some(touch) = assertions.iter().find(|a| a.name == TOUCHED) else {
        return outcome;
    };
    let rest_hold = assertions
        .iter()
        .filter(|a| a.name != TOUCHED)
        .all(|a| a.holds);
    if touch.holds || !rest_hold || !clean {
        return outcome;
    }
    let address = touch.expected["task_address"].as_str();
    let why = match (address, touch.observed.get("clients_by_address")) {
        (Some(address), Some(by)) => {
            let by: BTreeMap<String, usize> =
                serde_json::from_value(by.clone()).unwrap_or_default();
            format!(
                "no workload client was on the stopped task ({address}) when it was stopped; the clients' latest transactions came from {}",
                listing(&by)
            )
        }
        _ => touch.observed["error"]
            .as_str()
            .unwrap_or("no client could be shown on the stopped task")
            .to_string(),
    };
    Outcome {
        status: Status::Error,
        message: format!("the fault touched no client: {why}; {summary}"),
        ..outcome
    }
}

/// The task's `lastStatus` now.
async fn task_status(gate: &Gate, cluster: &str, task: &str) -> Result<String, CheckError> {
    aws::ecs::task_status(gate.aws(), cluster, task)
        .await?
        .ok_or_else(|| CheckError::Missing {
            operation: aws::ecs::DESCRIBE_TASKS.into(),
            resource: short_arn(task),
            field: "lastStatus".into(),
        })
}

/// `(runningCount, desiredCount)` of the service now.
async fn service_count(gate: &Gate, spec: &PgbouncerSpec) -> Result<(i32, i32), CheckError> {
    aws::ecs::service_now(gate.aws(), &spec.cluster, &spec.service)
        .await?
        .map(|s| (s.running_count(), s.desired_count()))
        .ok_or(CheckError::NotFound {
            operation: aws::ecs::DESCRIBE_SERVICES.into(),
            resource: format!("ecs service '{}/{}'", spec.cluster, spec.service),
        })
}

/// The last part of an ARN (`…/task/cluster/ID` → `ID`).
fn short_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "127.0.1.1";
    const B: &str = "127.0.2.1";

    fn placed(client: u32, at_ms: u64, via: Option<&str>) -> Placement {
        Placement {
            client,
            at_ms,
            via: via.map(String::from),
        }
    }

    fn task(arn: &str, az: &str, address: Option<&str>) -> Candidate {
        Candidate {
            arn: arn.into(),
            az: az.into(),
            address: address.map(String::from),
        }
    }

    fn latest(pairs: &[(u32, Option<&str>)]) -> BTreeMap<u32, Option<String>> {
        pairs
            .iter()
            .map(|(c, v)| (*c, v.map(String::from)))
            .collect()
    }

    /// A client is on a task when its latest transaction before the stop
    /// came from the task's address: one that moved is where it went, and
    /// a transaction after the stop does not count.
    #[test]
    fn a_client_is_on_the_task_its_latest_transaction_before_the_stop_came_from() {
        let placements = [
            placed(1, 10, Some(A)),
            placed(1, 20, Some(B)),
            placed(2, 15, Some(A)),
            placed(3, 12, Some(B)),
            placed(3, 30, Some(A)),
            placed(4, 18, None),
        ];
        let at_stop = latest_via(&placements, 25);
        assert_eq!(
            at_stop,
            latest(&[(1, Some(B)), (2, Some(A)), (3, Some(B)), (4, None)])
        );
        assert_eq!(clients_at(&at_stop, A), vec![2]);
        assert_eq!(clients_at(&at_stop, B), vec![1, 3]);
        assert_eq!(clients_at(&at_stop, "10.0.1.9"), Vec::<u32>::new());
        assert_eq!(
            clients_by_address(&at_stop),
            BTreeMap::from([(A.into(), 1), (B.into(), 2), ("unknown".into(), 1)])
        );
        assert_eq!(
            clients_at(&latest_via(&placements, u64::MAX), A),
            vec![2, 3]
        );
        assert_eq!(latest_via(&placements, 5), BTreeMap::new());
    }

    /// The task carrying the most clients is stopped (ties: the first AZ);
    /// a pinned AZ's task is stopped even when idle; unpinned, with no
    /// client on any task, nothing is stopped and the refusal says where
    /// the clients were.
    #[test]
    fn the_task_stopped_is_the_one_carrying_clients_or_the_pinned_one() {
        let tasks = [
            task("arn/t-a", "eu-central-1a", Some(A)),
            task("arn/t-b", "eu-central-1b", Some(B)),
        ];
        let spread = latest(&[(1, Some(A)), (2, Some(B)), (3, Some(A)), (4, Some(B))]);
        let all_on_b = latest(&[(1, Some(B)), (2, Some(B))]);
        let elsewhere = latest(&[(1, Some("10.9.9.9")), (2, None)]);
        assert_eq!(
            choose_victim(&tasks, &spread, false).unwrap().arn,
            "arn/t-a"
        );
        assert_eq!(
            choose_victim(&tasks, &all_on_b, false).unwrap().arn,
            "arn/t-b"
        );
        assert_eq!(
            choose_victim(
                &tasks,
                &latest(&[(1, Some(A)), (2, Some(B)), (3, Some(B))]),
                false
            )
            .unwrap()
            .arn,
            "arn/t-b"
        );
        // Pinned (candidates already filtered to the AZ): stopped, idle or not.
        assert_eq!(
            choose_victim(&tasks[..1], &all_on_b, true).unwrap().arn,
            "arn/t-a"
        );
        let refused = choose_victim(&tasks, &elsewhere, false).unwrap_err();
        for needle in [
            "the fault would touch no client; nothing stopped",
            "10.9.9.9 (1 client), unknown (1 client)",
            "127.0.1.1 in eu-central-1a, 127.0.2.1 in eu-central-1b",
        ] {
            assert!(refused.contains(needle), "{refused:?} lacks {needle:?}");
        }
        // A task without an address carries nobody the drill can see.
        let blind = [task("arn/t-a", "eu-central-1a", None)];
        assert!(choose_victim(&blind, &spread, false).is_err());
    }

    #[test]
    fn only_tasks_with_a_known_az_are_stopped_and_a_pinned_az_must_run_one() {
        let placed = |arn: &str, az: Option<&str>| PlacedTask {
            arn: arn.into(),
            az: az.map(String::from),
            address: Some(A.into()),
        };
        let tasks = [
            placed("arn/t-b", Some("eu-central-1b")),
            placed("arn/t-x", None),
            placed("arn/t-a", Some("eu-central-1a")),
        ];
        let all = candidates(&tasks, None).unwrap();
        assert_eq!(
            all.iter().map(|c| c.arn.as_str()).collect::<Vec<_>>(),
            ["arn/t-a", "arn/t-b"]
        );
        let pinned = candidates(&tasks, Some("eu-central-1b")).unwrap();
        assert_eq!(pinned, vec![task("arn/t-b", "eu-central-1b", Some(A))]);
        assert_eq!(
            candidates(&tasks, Some("eu-central-1c")).unwrap_err(),
            "no RUNNING task in eu-central-1c (stop_az) to stop; tasks run in eu-central-1a, eu-central-1b"
        );
        assert_eq!(
            candidates(&tasks[1..2], None).unwrap_err(),
            "no RUNNING task with a known AZ to stop"
        );
    }

    fn progress(victim: Option<&str>) -> Progress {
        Progress {
            committed_at_stop: 1,
            committed_when_stopped: Some(1),
            recovered_after_ms: Some(9_000),
            final_task_status: Some("STOPPED".into()),
            victim: Some(task("arn/task/c/t-a", "eu-central-1a", victim)),
            fault_ms: Some(2_000),
        }
    }

    fn tally(placements: Vec<Placement>) -> Tally {
        let committed = placements
            .iter()
            .enumerate()
            .map(|(i, p)| (p.client, i as u64))
            .collect();
        Tally {
            committed,
            placements,
            ..Tally::default()
        }
    }

    /// The whole verdict from what the drill saw: `pass` with a client on
    /// the stopped task; `error` (exit 2) "the fault touched no client"
    /// when the stop touched none and nothing else went wrong, even though
    /// no transaction failed; a real failure stays `fail`.
    fn verdict(tally: &Tally, progress: &Progress) -> Outcome {
        let drill = PgbouncerDrainDrill::defaults();
        let spec = PgbouncerSpec {
            cluster: "c".into(),
            service: "pgbouncer".into(),
            target_group: "pgbouncer".into(),
            min_tasks: 2,
            min_azs: 2,
            endpoint: None,
            min_deregistration_delay: Duration::from_secs(5),
            max_deregistration_delay: Duration::from_secs(300),
            max_stop_timeout: Duration::from_secs(120),
            stop_signal: "SIGINT".into(),
            version: None,
        };
        let rows = tally.committed.clone();
        let assertions = judge(&drill, &spec, Some(tally), Ok(&rows), progress, &[]);
        let outcome = judged(
            ID,
            "summary".into(),
            &assertions,
            &Ending::Recovered,
            "back at the desired count",
            None,
            1,
            Evidence::of("ecs task 't-a' in eu-central-1a"),
        );
        touched_no_client(outcome, "summary", &assertions, true)
    }

    #[test]
    fn a_stop_that_touched_no_client_is_never_a_pass() {
        // Clients on both tasks, work through the replacement after.
        let on_both = tally(vec![
            placed(1, 1_000, Some(A)),
            placed(2, 1_100, Some(B)),
            placed(1, 1_900, Some(A)),
            placed(1, 8_000, Some("127.0.1.2")),
            placed(2, 8_100, Some(B)),
        ]);
        let o = verdict(&on_both, &progress(Some(A)));
        assert_eq!((o.status, o.message.as_str()), (Status::Pass, "summary"));
        let touch = &o.evidence.details["assertions"][0];
        assert_eq!(touch["name"], TOUCHED);
        assert_eq!(touch["observed"]["clients"], json!(["client-1"]));
        assert_eq!(touch["expected"]["task_address"], A);

        // Every client on the other task (NLB cross-zone off): no failed
        // transaction, every row present, and still no pass.
        let all_on_b = tally(vec![
            placed(1, 1_000, Some(B)),
            placed(2, 1_500, Some(B)),
            placed(1, 8_000, Some(B)),
        ]);
        let o = verdict(&all_on_b, &progress(Some(A)));
        assert_eq!(o.status, Status::Error, "{}", o.message);
        assert_eq!(
            o.message,
            "the fault touched no client: no workload client was on the stopped task (127.0.1.1) when it was stopped; the clients' latest transactions came from 127.0.2.1 (2 clients); summary"
        );
        // A task DescribeTasks gave no address: no client can be shown on it.
        let o = verdict(&on_both, &progress(None));
        assert_eq!(o.status, Status::Error, "{}", o.message);
        assert!(
            o.message.contains("gave the task no private address"),
            "{}",
            o.message
        );

        // No client on it and something else wrong: that failure stands.
        let mut failed = all_on_b.clone();
        failed.failed.push(workload::FailedTransaction {
            client: 2,
            seq: 9,
            at_ms: 2_100,
            error: "COMMIT: connection reset".into(),
        });
        let o = verdict(&failed, &progress(Some(A)));
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(o.message.contains("failed_transactions"), "{}", o.message);
        assert!(o.message.contains(TOUCHED), "{}", o.message);
    }
}
