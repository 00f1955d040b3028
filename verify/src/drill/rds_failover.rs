//! `drill.rds_failover`: a forced Multi-AZ failover, judged by what a
//! Postgres client saw.
//!
//! What it asserts:
//! - client-observed unavailability (first failed sample after the fault to
//!   the first good one after the last failure, worst of writer and reader)
//!   ≤ `max_unavailable` (default: the `rds` block's `failover_budget`, the
//!   bound `rds.*` states, so check and drill agree);
//! - zero acknowledged writes missing after recovery (the writer's ledger
//!   against the table; indeterminate commits are reported, not counted);
//! - the primary now in the former standby's AZ;
//! - Multi-AZ again: the `rds.*` checks pass after recovery.
//!
//! How: `RebootDBInstance(ForceFailover=true)` on an `available` Multi-AZ
//! instance, the only write the guard admits; `DescribeDBInstances` every
//! second (status and AZ changes are marks); `DescribeEvents` afterwards as
//! evidence, never the verdict. The probe table (`verify_drill_<run>`) is
//! dropped on every exit path.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use envspec::{Environment, RdsFailoverDrill, RdsSpec};
use report_model::Evidence;
use serde_json::json;

use super::probe::{self, Ledger, ProbeTarget, RunningProbe};
use super::{
    Assertion, DrillError, DrillRecord, Ending, Mark, MarkKind, Timeline, alarm_firing, allowed,
    database_url, interrupted, judged, ms_since, rds_block, record, steady_state,
    until_interrupted,
};
use crate::aws;
use crate::check::CheckError;
use crate::gate::Gate;
use crate::iam::{self, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.rds_failover";

/// What this drill needs: its one write (a reboot with failover of its
/// instance), the reads it makes beyond its steady-state checks', and its
/// stop alarms. Its write guard admits exactly the writes among them.
pub const GRANTS: &[Grant] = &[
    Grant::on(
        "DrillRdsFailoverReboot",
        aws::rds::REBOOT_DB_INSTANCE,
        |env, a| {
            instance(env)
                .map(|r| a.db(&r.identifier))
                .into_iter()
                .collect()
        },
    )
    .write(),
    Grant::on("DrillRdsEvents", aws::rds::DESCRIBE_EVENTS, |env, _| {
        instance(env).map(|_| "*".to_string()).into_iter().collect()
    }),
    Grant::on(
        "DrillRdsDescribe",
        aws::rds::DESCRIBE_DB_INSTANCES,
        |env, a| {
            instance(env)
                .map(|r| a.db(&r.identifier))
                .into_iter()
                .collect()
        },
    ),
    Grant::on(
        "DrillReadStopAlarms",
        "cloudwatch:DescribeAlarms",
        |env, a| {
            let alarms = env.drills.rds_failover.iter().flat_map(|d| &d.stop_alarms);
            match instance(env) {
                Some(_) => alarms.map(|n| a.alarm(n)).collect(),
                None => Vec::new(),
            }
        },
    ),
];

/// The instance this drill fails over, if the spec names one.
fn instance(env: &Environment) -> Option<&RdsSpec> {
    super::rds_of(
        env,
        env.drills
            .rds_failover
            .as_ref()
            .and_then(|d| d.rds.as_deref()),
    )
}

/// Probes sample this long before the fault (the baseline must be clean).
const BASELINE: Duration = Duration::from_secs(2);
/// After recovery the writer must stay good this long before the probes stop.
const SETTLE: Duration = Duration::from_secs(1);
/// How often the instance is described while waiting.
const POLL: Duration = Duration::from_secs(1);

/// The instance's facts the drill follows.
#[derive(Debug, Clone, PartialEq)]
struct InstanceState {
    status: String,
    multi_az: bool,
    primary_az: Option<String>,
    secondary_az: Option<String>,
}

/// Runs the drill on `gate`'s environment. `interrupt` ends it early
/// (the harness passes Ctrl-C); cleanup runs whatever happens.
///
/// ```no_run
/// # async fn demo(gate: verify::Gate) -> Result<(), verify::drill::DrillError> {
/// let record = verify::drill::rds_failover::run(&gate, std::future::pending()).await?;
/// println!("{}: {}", record.outcome.status.as_str(), record.outcome.message);
/// # Ok(()) }
/// ```
pub async fn run(
    gate: &Gate,
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    // The drill's future holds the SDK's (large in a debug build): on the
    // heap, not on the caller's stack.
    Box::pin(run_drill(gate, interrupt)).await
}

async fn run_drill(
    gate: &Gate,
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    let env = gate.env();
    allowed(env)?;
    let drill = env
        .drills
        .rds_failover
        .clone()
        .unwrap_or_else(RdsFailoverDrill::defaults);
    let rds = rds_block(env, drill.rds.as_deref(), "rds_failover")?;
    let max_unavailable = drill.max_unavailable.unwrap_or(rds.failover_budget);
    let url = database_url(
        drill.database_url.as_deref(),
        &drill.database_url_env,
        "probe's",
        "postgres://user:password@host:port/db",
    )?;
    let target = ProbeTarget::from_url(
        &url,
        &drill.database_url_env,
        drill.ca_file.as_deref(),
        drill.connect_timeout,
        drill.statement_timeout,
        drill.probe_interval,
    )
    .map_err(|e| DrillError::Setup(e.to_string()))?;

    // Steady state first: nothing is injected unless rds.* pass and the
    // instance is available and Multi-AZ.
    let (before, failing) = steady_state(gate, &["rds.*"]).await;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    let start_state = describe(gate, &rds.identifier)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    if start_state.status != "available"
        || !start_state.multi_az
        || start_state.secondary_az.is_none()
    {
        return Err(DrillError::SteadyState(format!(
            "rds instance '{}' must be available and Multi-AZ with a standby AZ; observed status {}, MultiAZ {}, standby AZ {}",
            rds.identifier,
            start_state.status,
            start_state.multi_az,
            start_state.secondary_az.as_deref().unwrap_or("none")
        )));
    }

    let table = format!(
        "verify_drill_{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    probe::create_table(&target, &table)
        .await
        .map_err(|e| DrillError::SteadyState(e.to_string()))?;

    // From here on, cleanup runs on every path.
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let mut timeline = Timeline {
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        ..Timeline::default()
    };
    let writer = probe::start_writer(target.clone(), table.clone(), t0);
    let reader = probe::start_reader(target.clone(), t0);
    let mut marks = Vec::new();
    let body = follow(gate, &drill, rds, &start_state, &writer, t0, &mut marks);
    let ending = until_interrupted(body, interrupt).await;
    let ledger = writer_stop(writer, reader, &mut timeline).await;
    // The ledger against the table, before cleanup drops it (once the
    // database answers again: an interrupted drill may stop mid-outage).
    let present = if matches!(ending, Ok(Ending::Interrupted(_)) | Err(_)) {
        Err(probe::ProbeError::Database("not read".into()))
    } else if ledger.is_none() {
        Err(probe::ProbeError::Database(
            "the writer probe ended without its ledger (it panicked)".into(),
        ))
    } else {
        read_back(&target, &table).await
    };
    let ledger = ledger.unwrap_or_default();

    // Cleanup: the probe table goes, retried while the database recovers.
    let cleanup = cleanup(&target, &table).await;
    marks.push(Mark {
        at_ms: ms_since(t0),
        kind: MarkKind::Cleanup,
        label: match &cleanup {
            Ok(()) => format!("dropped {table}"),
            Err(e) => format!("could not drop {table}: {e}"),
        },
    });
    let ending = ending?;
    let fault_ms = marks
        .iter()
        .find(|m| m.kind == MarkKind::Fault)
        .map(|m| m.at_ms);
    marks.extend(events(gate, &rds.identifier, started_at).await);
    marks.sort_by_key(|m| m.at_ms);
    timeline.marks = marks;
    timeline.duration_ms = ms_since(t0);

    if let Ending::Interrupted(why) = &ending {
        let evidence = Evidence::of(rds.identifier.clone()).detail("table", table.clone());
        let outcome = interrupted(ID, why, cleanup.is_ok(), timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    // Judge.
    let end_state = describe(gate, &rds.identifier).await.ok();
    let (after, failing_after) = steady_state(&gate.fresh(), &["rds.*"]).await;
    let assertions = judge(
        &timeline,
        fault_ms,
        max_unavailable,
        &ledger,
        present.as_deref().map_err(|e| e.to_string()),
        &start_state,
        end_state.as_ref(),
        &failing_after,
    );
    let unavailable = worst_outage_ms(&timeline, fault_ms);
    let summary = format!(
        "rds instance '{}': failover {} → {}; clients unavailable {} (bound {}); {} acknowledged writes, {} missing, {} indeterminate",
        rds.identifier,
        start_state.primary_az.as_deref().unwrap_or("?"),
        end_state
            .as_ref()
            .and_then(|s| s.primary_az.as_deref())
            .unwrap_or("?"),
        unavailable
            .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "0 s".into()),
        humantime::format_duration(max_unavailable),
        ledger.acknowledged.len(),
        missing(&ledger, present.as_deref().ok()).map_or("?".to_string(), |m| m.len().to_string()),
        ledger.indeterminate.len(),
    );
    let evidence = Evidence::of(rds.identifier.clone())
        .detail("table", table)
        .detail("probe_interval_ms", drill.probe_interval.as_millis() as u64);
    let outcome = judged(
        ID,
        summary,
        &assertions,
        &ending,
        "recovered",
        cleanup.as_ref().err().map(String::as_str),
        timeline.duration_ms,
        evidence,
    );
    Ok(record(env, outcome, timeline, before, after))
}

/// Injects the fault and waits for recovery, bounded; records marks.
async fn follow(
    gate: &Gate,
    drill: &RdsFailoverDrill,
    rds: &RdsSpec,
    start: &InstanceState,
    writer: &RunningProbe<Ledger>,
    t0: Instant,
    marks: &mut Vec<Mark>,
) -> Result<Ending, DrillError> {
    tokio::time::sleep(BASELINE).await;
    // The baseline must show the probe working, or an outage (and a clean
    // ledger) later would mean nothing.
    let (samples, failed) = writer.trace.lock().expect("trace").counts();
    if samples == 0 || failed > 0 {
        return Err(DrillError::SteadyState(format!(
            "the writer took {samples} sample(s) in {}, {failed} failed, before any fault; the probe's path is not healthy",
            humantime::format_duration(BASELINE)
        )));
    }

    {
        let _guard = gate.aws().mode.allow_writes(&iam::writes(GRANTS));
        aws::rds::reboot_with_failover(gate.aws(), &rds.identifier)
            .await
            .map_err(|e| DrillError::Setup(e.to_string()))?;
    }
    let fault_ms = ms_since(t0);
    marks.push(Mark {
        at_ms: fault_ms,
        kind: MarkKind::Fault,
        label: format!("RebootDBInstance ForceFailover {}", rds.identifier),
    });

    let deadline = Instant::now() + drill.timeout;
    let mut last = start.clone();
    // Seen out of `available` since the fault: the reboot happened.
    let mut rebooted = false;
    loop {
        tokio::time::sleep(POLL).await;
        if Instant::now() >= deadline {
            return Ok(Ending::TimedOut(drill.timeout));
        }
        // Status and AZ changes are marks; a failed read is retried next poll.
        if let Ok(now) = describe(gate, &rds.identifier).await
            && now != last
        {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Status,
                label: format!(
                    "{} primary {} standby {}",
                    now.status,
                    now.primary_az.as_deref().unwrap_or("?"),
                    now.secondary_az.as_deref().unwrap_or("none")
                ),
            });
            rebooted |= now.status != "available";
            last = now;
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
        let (failing_for, stable_for) = {
            let trace = writer.trace.lock().expect("trace");
            let now = ms_since(t0);
            match trace.spans.last() {
                Some(s) if !s.ok => (now.saturating_sub(s.from_ms.max(fault_ms)), 0),
                Some(s) => (0, now.saturating_sub(s.from_ms)),
                None => (0, 0),
            }
        };
        if failing_for > drill.abort_unavailable.as_millis() as u64 {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Abort,
                label: "outage past the abort bound".into(),
            });
            return Ok(Ending::Aborted(format!(
                "stop condition: clients unavailable for over {}",
                humantime::format_duration(drill.abort_unavailable)
            )));
        }
        // Back once available again after the reboot (or with the AZs
        // swapped, when the reboot was quicker than a poll) and writes have
        // succeeded for a while; whether the primary moved is an assertion,
        // not something to wait for until the timeout.
        let swapped = last.primary_az.is_some() && last.primary_az != start.primary_az;
        if last.status == "available"
            && (swapped || rebooted)
            && stable_for >= SETTLE.as_millis() as u64
        {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Recovered,
                label: format!(
                    "available in {}, writes succeeding",
                    last.primary_az.as_deref().unwrap_or("?")
                ),
            });
            tokio::time::sleep(SETTLE).await;
            return Ok(Ending::Recovered);
        }
    }
}

/// Stops both probes and moves their traces into the timeline.
async fn writer_stop(
    writer: RunningProbe<Ledger>,
    reader: RunningProbe<()>,
    timeline: &mut Timeline,
) -> Option<Ledger> {
    let writer_trace = writer.trace.clone();
    let reader_trace = reader.trace.clone();
    // A writer that did not come back (it panicked) kept no ledger: the
    // verdict must not read "nothing lost" from an empty one.
    let ledger = writer.stop().await;
    reader.stop().await;
    timeline.probes = vec![
        writer_trace.lock().expect("trace").clone(),
        reader_trace.lock().expect("trace").clone(),
    ];
    ledger
}

/// Drops the probe table, retried for up to a minute while the database recovers.
async fn cleanup(target: &ProbeTarget, table: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match probe::drop_table(target, table).await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// The ids in the probe table, retried for up to a minute while the database recovers.
async fn read_back(target: &ProbeTarget, table: &str) -> Result<Vec<i64>, probe::ProbeError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match probe::ids_present(target, table).await {
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            result => return result,
        }
    }
}

/// Acknowledged ids missing from the table.
fn missing(ledger: &Ledger, present: Option<&[i64]>) -> Option<Vec<i64>> {
    let present: std::collections::BTreeSet<i64> = present?.iter().copied().collect();
    Some(
        ledger
            .acknowledged
            .iter()
            .copied()
            .filter(|id| !present.contains(id))
            .collect(),
    )
}

/// The longest client-observed outage after the fault, over all probes.
fn worst_outage_ms(timeline: &Timeline, fault_ms: Option<u64>) -> Option<u64> {
    let fault_ms = fault_ms?;
    timeline
        .probes
        .iter()
        .filter_map(|p| p.unavailable_after(fault_ms))
        .map(|o| o.duration_ms())
        .max()
}

/// The drill's assertions, each with expected and observed.
#[allow(clippy::too_many_arguments)]
fn judge(
    timeline: &Timeline,
    fault_ms: Option<u64>,
    max_unavailable: Duration,
    ledger: &Ledger,
    present: Result<&[i64], String>,
    start: &InstanceState,
    end: Option<&InstanceState>,
    failing_after: &[String],
) -> Vec<Assertion> {
    let outages: Vec<serde_json::Value> = timeline
        .probes
        .iter()
        .map(|p| {
            let o = fault_ms.and_then(|f| p.unavailable_after(f));
            json!({
                "probe": p.name,
                "unavailable_ms": o.map(|o| o.duration_ms()).unwrap_or(0),
                "recovered": o.is_none_or(|o| o.recovered),
            })
        })
        .collect();
    let worst = worst_outage_ms(timeline, fault_ms).unwrap_or(0);
    let all_recovered = outages.iter().all(|o| o["recovered"] == true);
    let lost = match &present {
        Ok(p) => missing(ledger, Some(p)),
        Err(_) => None,
    };
    vec![
        Assertion {
            name: "unavailability",
            holds: fault_ms.is_some()
                && all_recovered
                && worst <= max_unavailable.as_millis() as u64,
            expected: json!({ "max_ms": max_unavailable.as_millis() as u64 }),
            observed: json!({ "worst_ms": worst, "probes": outages }),
        },
        Assertion {
            name: "acknowledged_writes_kept",
            holds: lost.as_ref().is_some_and(|l| l.is_empty()),
            expected: json!({ "missing": 0 }),
            observed: match (&lost, &present) {
                (Some(l), _) => json!({
                    "acknowledged": ledger.acknowledged.len(),
                    "missing": l.len(),
                    "missing_ids": l.iter().take(20).collect::<Vec<_>>(),
                    "indeterminate": ledger.indeterminate.len(),
                    "refused": ledger.refused.len(),
                }),
                (None, Err(e)) => json!({ "error": e }),
                (None, Ok(_)) => json!(null),
            },
        },
        Assertion {
            name: "primary_moved_to_standby_az",
            holds: end
                .is_some_and(|e| e.primary_az.is_some() && e.primary_az == start.secondary_az),
            expected: json!({ "primary_az": start.secondary_az }),
            observed: json!({ "primary_az": end.and_then(|e| e.primary_az.clone()) }),
        },
        Assertion {
            name: "multi_az_restored",
            holds: failing_after.is_empty()
                && end.is_some_and(|e| {
                    e.multi_az && e.secondary_az.is_some() && e.secondary_az != e.primary_az
                }),
            expected: json!({ "rds_checks": "pass", "multi_az": true }),
            observed: json!({
                "failing_checks": failing_after,
                "multi_az": end.map(|e| e.multi_az),
                "standby_az": end.and_then(|e| e.secondary_az.clone()),
            }),
        },
    ]
}

/// One fresh `DescribeDBInstances` (never the cache: the drill follows changes).
async fn describe(gate: &Gate, identifier: &str) -> Result<InstanceState, CheckError> {
    let db = aws::rds::describe_now(gate.aws(), identifier)
        .await?
        .ok_or_else(|| CheckError::NotFound {
            operation: aws::rds::DESCRIBE_DB_INSTANCES.into(),
            resource: format!("rds instance '{identifier}'"),
        })?;
    Ok(InstanceState {
        status: db.db_instance_status().unwrap_or("unknown").to_string(),
        multi_az: db.multi_az().unwrap_or(false),
        primary_az: db.availability_zone().map(String::from),
        secondary_az: db.secondary_availability_zone().map(String::from),
    })
}

/// RDS events for the instance since the drill started, as marks (best effort).
async fn events(gate: &Gate, identifier: &str, started_at: SystemTime) -> Vec<Mark> {
    let Ok(events) = aws::rds::events(gate.aws(), identifier, started_at).await else {
        return Vec::new();
    };
    let start_secs = started_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    events
        .iter()
        .filter_map(|e| {
            let at = e.date()?.to_millis().ok()? - start_secs;
            Some(Mark {
                at_ms: at.max(0) as u64,
                kind: MarkKind::Event,
                label: e.message().unwrap_or("").to_string(),
            })
        })
        .collect()
}
