//! `drill.pgbouncer_drain`: one pgbouncer task stopped under a concurrent
//! client workload, judged by what the clients saw.
//!
//! What it asserts:
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
//! How: `ecs:StopTask` on one RUNNING task of the service (the first by AZ),
//! the only write the guard admits. ECS then deregisters it from the target
//! group, waits the deregistration delay, sends the image's stop signal,
//! SIGKILL after the stop timeout, and the service starts a replacement; the
//! drill follows `DescribeTasks` (the stopped task's status) and
//! `DescribeServices` (running/desired) every second as marks. The workload
//! table (`verify_drain_<run>`) is dropped on every exit path.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use envspec::{PgbouncerDrainDrill, PgbouncerSpec};
use report_model::Evidence;
use serde_json::json;

use super::probe::ProbeTarget;
use super::workload::{self, Tally, Workload};
use super::{
    Assertion, DrillError, DrillRecord, Ending, Mark, MarkKind, Timeline, alarm_firing, allowed,
    database_url, interrupted, judged, ms_since, record, retry_for, steady_state,
    until_interrupted,
};
use crate::aws;
use crate::check::CheckError;
use crate::gate::Gate;
use crate::iam::{self, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.pgbouncer_drain";

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
/// harness passes Ctrl-C); the workload table is dropped whatever happens.
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
    let env = gate.env();
    allowed(env)?;
    let drill = env
        .drills
        .pgbouncer_drain
        .clone()
        .unwrap_or_else(PgbouncerDrainDrill::defaults);
    let spec = env.pgbouncer.as_ref().ok_or_else(|| {
        DrillError::Setup("drill pgbouncer_drain: the spec has no pgbouncer block".into())
    })?;
    let url = database_url(
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

    // Steady state first: nothing is stopped unless pgbouncer.* pass.
    let (before, failing) = steady_state(gate, steady).await;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    let tasks = placed(gate, spec)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    let (victim, victim_az) = tasks
        .iter()
        .filter_map(|(arn, az)| Some((arn.clone(), az.clone()?)))
        .min_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)))
        .ok_or_else(|| {
            DrillError::SteadyState(format!(
                "ecs service '{}/{}': no RUNNING task with a known AZ to stop",
                spec.cluster, spec.service
            ))
        })?;

    let table = format!(
        "verify_drain_{}",
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
        &victim,
        &load,
        t0,
        &mut marks,
        &mut progress,
    );
    let ending = until_interrupted(body, interrupt).await;
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
            retry_for(Duration::from_secs(60), || {
                workload::rows_present(&target, &table)
            })
            .await
        }
    };

    // Cleanup: the workload table goes, retried while pgbouncer recovers.
    let cleanup = retry_for(Duration::from_secs(60), || {
        workload::drop_table(&target, &table)
    })
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
    let ending = ending?;
    let task_name = format!("ecs task '{}' in {victim_az}", short_arn(&victim));

    if let Ending::Interrupted(why) = &ending {
        let evidence = Evidence::of(task_name).detail("table", table.clone());
        let outcome = interrupted(ID, why, cleanup.is_ok(), timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    let (after, failing_after) = steady_state(&gate.fresh(), steady).await;
    let assertions = judge(
        &drill,
        spec,
        tally.as_ref(),
        present.as_deref().map_err(String::as_str),
        &progress,
        &failing_after,
    );
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
        .detail("hold_ms", drill.hold.as_millis() as u64);
    let outcome = judged(
        ID,
        summary,
        &assertions,
        &ending,
        "back at the desired count",
        cleanup.as_ref().err().map(String::as_str),
        timeline.duration_ms,
        evidence,
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
}

/// Stops the task and waits for the service to recover, bounded; records marks.
#[allow(clippy::too_many_arguments)]
async fn follow(
    gate: &Gate,
    drill: &PgbouncerDrainDrill,
    spec: &PgbouncerSpec,
    steady: &[&str],
    victim: &str,
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
        label: format!("StopTask {}", short_arn(victim)),
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
        if let Some(alarm) = alarm_firing(gate, &drill.stop_alarms).await {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Abort,
                label: format!("alarm {alarm} in ALARM"),
            });
            return Ok(Ending::Aborted(format!(
                "stop condition: alarm {alarm} in ALARM"
            )));
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

/// The service's RUNNING tasks and their AZs, read fresh.
async fn placed(
    gate: &Gate,
    spec: &PgbouncerSpec,
) -> Result<Vec<(String, Option<String>)>, CheckError> {
    crate::checks::pgbouncer::placed_tasks(gate.fresh().context(), spec).await
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
