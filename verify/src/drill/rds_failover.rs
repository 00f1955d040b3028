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
//! - the writer failed over: its writes, acknowledged before the fault by
//!   one server, are acknowledged after recovery by a server at another
//!   address (each sample records the server that answered it: address,
//!   port, postmaster start time; [`probe::ServerChange`]). The same address
//!   with a new start time is a restart in place, not a failover;
//! - Multi-AZ again: the `rds.*` checks pass after recovery.
//!
//! `DescribeDBInstances`' `AvailabilityZone` can show the swap minutes after
//! clients moved: it is evidence, read after a bounded wait
//! ([`AZ_EVIDENCE_WAIT`]), never the verdict; so are the RDS events.
//!
//! Before anything is injected, the probes' endpoint must be the instance's
//! own (`Endpoint.Address:Port`) or the spec's `proxy_endpoint` (exit 2
//! otherwise: probes elsewhere would judge another database), and the
//! writer's baseline must reach exactly one server.
//!
//! How: `RebootDBInstance(ForceFailover=true)` on an `available` Multi-AZ
//! instance, the only write the guard admits, the fault dated when the call
//! is made; `DescribeDBInstances` every second (status and AZ changes are
//! marks); `DescribeEvents` afterwards. The probe table
//! (`verify_drill_<run>`) is dropped on every exit path.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use envspec::{Environment, RdsFailoverDrill, RdsSpec};
use report_model::Evidence;
use serde_json::json;

use super::probe::{self, Ledger, Moved, ProbeTarget, RunningProbe, ServerChange};
use super::{
    Assertion, DrillError, DrillRecord, Ending, Interrupt, Mark, MarkKind, Timeline, allowed,
    database_url, dependents, interrupt_mark, interrupted, judged, ms_since, on_heap, rds_block,
    record, steady_state, stop_alarms, stop_alarms_abort,
};
use crate::aws;
use crate::check::CheckError;
use crate::gate::Gate;
use crate::iam::{self, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.rds_failover";

/// The probe table's name up to the run's start (ms since the epoch):
/// `verify drill cleanup` finds by it a table a killed run left.
pub const TABLE_PREFIX: &str = "verify_drill_";

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
/// After recovery, how long `DescribeDBInstances` is given to show the
/// primary in the former standby's AZ (evidence only: RDS can take minutes).
pub const AZ_EVIDENCE_WAIT: Duration = Duration::from_secs(120);

/// The instance's facts the drill follows.
#[derive(Debug, Clone, PartialEq)]
struct InstanceState {
    status: String,
    multi_az: bool,
    primary_az: Option<String>,
    secondary_az: Option<String>,
    /// `Endpoint.Address` and `Endpoint.Port`, when RDS reports them.
    endpoint: Option<(String, u16)>,
}

/// Runs the drill on `gate`'s environment. `interrupt` ends it early (the
/// harness passes SIGINT and SIGTERM): before the fault with nothing
/// injected, after it through cleanup, which runs whatever happens.
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
    let interrupt = Interrupt::new(interrupt);
    let env = gate.env();
    allowed(env)?;
    let drill = env
        .drills
        .rds_failover
        .clone()
        .unwrap_or_else(RdsFailoverDrill::defaults);
    // A writing canary as a dependent needs --allow-writes, or nothing is touched.
    dependents::refuse_writes(gate, &drill.dependents)?;
    let rds = rds_block(env, drill.rds.as_deref(), "rds_failover")?;
    let max_unavailable = drill.max_unavailable.unwrap_or(rds.failover_budget);
    let url = database_url(
        &gate.context().run().secret_prefix,
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

    // Steady state first: nothing is injected unless rds.* pass, every
    // stop alarm exists, can be read and is not in ALARM, and the instance
    // is available and Multi-AZ.
    let (before, failing) = interrupt
        .before_fault(on_heap(|| steady_state(gate, &["rds.*"])))
        .await?;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    interrupt
        .before_fault(stop_alarms(gate, &drill.stop_alarms))
        .await??;
    let start_state = interrupt
        .before_fault(describe(gate, &rds.identifier))
        .await?
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
    // The probes must reach the instance the fault goes to, or they judge
    // another database.
    let endpoint_seen = probe_endpoint(
        target.endpoint(),
        &rds.identifier,
        start_state.endpoint.as_ref(),
        drill.proxy_endpoint.as_ref(),
        &drill.database_url_env,
    )?;

    let table = format!(
        "{TABLE_PREFIX}{}",
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
        read_back(&target, &table, &interrupt).await
    };
    let ledger = ledger.unwrap_or_default();

    // Cleanup: the probe table goes, retried while the database recovers.
    let cleanup = cleanup(&target, &table, &interrupt).await;
    marks.push(Mark {
        at_ms: ms_since(t0),
        kind: MarkKind::Cleanup,
        label: match &cleanup {
            Ok(()) => format!("dropped {table}"),
            Err(e) => format!("could not drop {table}: {e}"),
        },
    });
    let ending = interrupt.ending(ending)?;
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
        let left: Vec<String> = cleanup.err().into_iter().collect();
        let outcome = interrupted(ID, why, &left, timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    // Judge. The AZ swap is evidence, read after a bounded wait.
    let (end_state, az_read_ms) = az_evidence(gate, &rds.identifier, &start_state, &ending).await;
    timeline.marks.push(Mark {
        at_ms: ms_since(t0),
        kind: MarkKind::Status,
        label: format!(
            "AvailabilityZone {} (evidence, read {:.1} s after recovery)",
            end_state
                .as_ref()
                .and_then(|s| s.primary_az.as_deref())
                .unwrap_or("?"),
            az_read_ms as f64 / 1000.0
        ),
    });
    timeline.duration_ms = ms_since(t0);
    let (after, failing_after) = steady_state(&gate.fresh(), &["rds.*"]).await;
    let mut assertions = judge(
        &timeline,
        fault_ms,
        max_unavailable,
        &ledger,
        present.as_deref().map_err(|e| e.to_string()),
        &start_state,
        end_state.as_ref(),
        &failing_after,
    );
    assertions.extend(dependents_recovered);
    let unavailable = worst_outage_ms(&timeline, fault_ms);
    let change = writer_change(&timeline, fault_ms);
    let summary = format!(
        "rds instance '{}': writer {}; AvailabilityZone {} → {} (evidence); clients unavailable {} (bound {}); {} acknowledged writes, {} missing, {} indeterminate",
        rds.identifier,
        moved_words(&change),
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
        .detail("probe_interval_ms", drill.probe_interval.as_millis() as u64)
        .detail("probe_endpoint", endpoint_seen)
        .detail(
            "availability_zone",
            json!({
                "before": start_state.primary_az,
                "former_standby": start_state.secondary_az,
                "after": end_state.as_ref().and_then(|s| s.primary_az.clone()),
                "swapped": end_state.as_ref().is_some_and(|s| {
                    s.primary_az.is_some() && s.primary_az == start_state.secondary_az
                }),
                "read_after_ms": az_read_ms,
                "bound_ms": AZ_EVIDENCE_WAIT.as_millis() as u64,
                "note": "evidence, not the verdict: RDS can report the new AZ minutes after clients moved",
            }),
        );
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

    // ... and one server answering it: the verdict is the writer's server
    // changing (`judge`).
    let baseline = ServerChange::of(&writer.trace.lock().expect("trace"), u64::MAX).before;
    if baseline.len() != 1 {
        return Err(DrillError::SteadyState(format!(
            "the writer's writes before any fault were acknowledged by {} server(s) [{}]; the probe endpoint must lead to one writer",
            baseline.len(),
            baseline
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    // The stop alarms once more, right before the fault.
    stop_alarms(gate, &drill.stop_alarms).await?;
    // Dated when the call is made: the fault may act before it returns.
    let fault_ms = ms_since(t0);
    {
        let _guard = gate.aws().mode.allow_writes(&iam::writes(GRANTS));
        aws::rds::reboot_with_failover(gate.aws(), &rds.identifier)
            .await
            .map_err(|e| DrillError::Setup(e.to_string()))?;
    }
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
        // A stop alarm in ALARM, or one that cannot be read, aborts.
        if let Some(abort) = stop_alarms_abort(gate, &drill.stop_alarms, t0, marks).await {
            return Ok(abort);
        }
        let (failing_for, stable_for, server) = {
            let trace = writer.trace.lock().expect("trace");
            let now = ms_since(t0);
            match trace.spans.last() {
                Some(s) if !s.ok => (now.saturating_sub(s.from_ms.max(fault_ms)), 0, None),
                Some(s) => (0, now.saturating_sub(s.from_ms), s.server.clone()),
                None => (0, 0, None),
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
        // Back once writes have been acknowledged for a while by a server
        // other than the baseline's (what clients see of a failover, however
        // late RDS reports it), or, still by the baseline's, once the
        // instance is available again after the reboot (or with the AZs
        // swapped, when the reboot was quicker than a poll). Whether the
        // writer moved is an assertion, not something to wait for until the
        // timeout.
        let swapped = last.primary_az.is_some() && last.primary_az != start.primary_az;
        let on_another = server.as_ref().is_some_and(|s| !baseline.contains(s));
        if (on_another || (last.status == "available" && (swapped || rebooted)))
            && stable_for >= SETTLE.as_millis() as u64
        {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Recovered,
                label: match &server {
                    Some(server) => format!("writes acknowledged by {server}"),
                    None => "writes succeeding".into(),
                },
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

/// Drops the probe table, retried for up to a minute while the database
/// recovers (cut short after a signal).
async fn cleanup(
    target: &ProbeTarget,
    table: &str,
    interrupt: &Interrupt<'_>,
) -> Result<(), String> {
    interrupt
        .retry(
            Duration::from_secs(60),
            &format!("table {table} not dropped"),
            || probe::drop_table(target, table),
        )
        .await
}

/// The ids in the probe table, retried for up to a minute while the
/// database recovers (cut short after a signal).
async fn read_back(
    target: &ProbeTarget,
    table: &str,
    interrupt: &Interrupt<'_>,
) -> Result<Vec<i64>, probe::ProbeError> {
    interrupt
        .retry(Duration::from_secs(60), &format!("reading {table}"), || {
            probe::ids_present(target, table)
        })
        .await
        .map_err(probe::ProbeError::Database)
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
        {
            let change = writer_change(timeline, fault_ms);
            Assertion {
                name: "writer_failed_over",
                holds: fault_ms.is_some() && change.moved() == Moved::ToAnotherServer,
                expected: json!({
                    "writer": format!(
                        "acknowledged by a server at another address than {}",
                        change.before.iter().map(|s| s.address.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                }),
                observed: json!({
                    "moved": change.moved().as_str(),
                    "before": change.before,
                    "after": change.after,
                    "changed_at_ms": change.changed_at_ms,
                    "availability_zone": {
                        "before": start.primary_az,
                        "after": end.and_then(|e| e.primary_az.clone()),
                    },
                }),
            }
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

/// The writer's servers around the fault (the first probe named `writer`).
fn writer_change(timeline: &Timeline, fault_ms: Option<u64>) -> ServerChange {
    let empty = report_model::timeline::ProbeTrace::new("writer");
    let writer = timeline
        .probes
        .iter()
        .find(|p| p.name == "writer")
        .unwrap_or(&empty);
    ServerChange::of(writer, fault_ms.unwrap_or(u64::MAX))
}

/// The failover as the writer saw it, for the summary.
fn moved_words(change: &ServerChange) -> String {
    let before = change
        .before
        .iter()
        .map(|s| s.address.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    match (change.moved(), &change.after) {
        (Moved::ToAnotherServer, Some(after)) => format!("moved {before} → {}", after.address),
        (Moved::RestartedInPlace, Some(after)) => {
            format!("restarted in place at {} (not failed over)", after.address)
        }
        (Moved::Unchanged, _) => format!("still on {before} (not failed over)"),
        _ => "on no server seen after the fault".into(),
    }
}

/// Checks that the probes' `endpoint` is the instance's own (`declared`,
/// from `DescribeDBInstances`) or the spec's `proxy` in front of it, and
/// says which. Host names compare without case and a trailing dot; a
/// name that resolves to the endpoint (a CNAME) does not count, declare it
/// as `proxy_endpoint`. Messages name hosts and ports, never the URL.
fn probe_endpoint(
    endpoint: Result<(String, u16), String>,
    instance: &str,
    declared: Option<&(String, u16)>,
    proxy: Option<&(String, u16)>,
    variable: &str,
) -> Result<String, DrillError> {
    let show = |(host, port): &(String, u16)| {
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    };
    let same = |a: &(String, u16), b: &(String, u16)| {
        let name = |h: &str| h.trim_end_matches('.').to_ascii_lowercase();
        a.1 == b.1 && name(&a.0) == name(&b.0)
    };
    let endpoint = endpoint.map_err(|why| {
        DrillError::Setup(format!(
            "drill rds_failover: the probe's URL (in {variable}) must name rds instance '{instance}''s endpoint: {why}"
        ))
    })?;
    if declared.is_some_and(|d| same(&endpoint, d)) {
        return Ok(format!("{} (the instance's endpoint)", show(&endpoint)));
    }
    if proxy.is_some_and(|p| same(&endpoint, p)) {
        return Ok(format!("{} (the declared proxy_endpoint)", show(&endpoint)));
    }
    Err(DrillError::Setup(format!(
        "drill rds_failover: the probe's URL (in {variable}) connects to {}, which is not rds instance '{instance}''s endpoint ({}){}; probes elsewhere would not see this instance's failover. Point the URL at the endpoint, or declare a proxy in front of it as `proxy_endpoint` in `drills {{ rds_failover {{ … }} }}`. Nothing was injected",
        show(&endpoint),
        declared
            .map(show)
            .unwrap_or_else(|| "not reported by DescribeDBInstances".into()),
        proxy
            .map(|p| format!(" nor its declared proxy_endpoint ({})", show(p)))
            .unwrap_or_default(),
    )))
}

/// The instance after a recovered drill, once `DescribeDBInstances` shows
/// the primary in the former standby's AZ or [`AZ_EVIDENCE_WAIT`] passed
/// (at once for any other ending); and how long that took, in ms.
async fn az_evidence(
    gate: &Gate,
    identifier: &str,
    start: &InstanceState,
    ending: &Ending,
) -> (Option<InstanceState>, u64) {
    let began = Instant::now();
    let waits = matches!(ending, Ending::Recovered);
    loop {
        let now = describe(gate, identifier).await.ok();
        let swapped = now
            .as_ref()
            .is_some_and(|s| s.primary_az.is_some() && s.primary_az == start.secondary_az);
        if swapped || !waits || began.elapsed() + POLL > AZ_EVIDENCE_WAIT {
            return (now, began.elapsed().as_millis() as u64);
        }
        tokio::time::sleep(POLL).await;
    }
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
        endpoint: db
            .endpoint()
            .and_then(|e| Some((e.address()?.to_string(), u16::try_from(e.port()?).ok()?))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use report_model::timeline::{ProbeTrace, Server};

    fn server(address: &str, started_at: &str) -> Server {
        Server {
            address: address.into(),
            started_at: started_at.into(),
        }
    }

    fn state(primary: &str, standby: &str) -> InstanceState {
        InstanceState {
            status: "available".into(),
            multi_az: true,
            primary_az: Some(primary.into()),
            secondary_az: Some(standby.into()),
            endpoint: Some(("db.abc.eu-central-1.rds.amazonaws.com".into(), 5432)),
        }
    }

    /// A writer good on `before` until 1000 ms, failing, then good on `after`
    /// from 2400 ms; the fault at 1000 ms.
    fn timeline(before: &Server, after: &Server) -> Timeline {
        let mut writer = ProbeTrace::new("writer");
        for at in (0..1000).step_by(50) {
            writer.sample_on(at, true, None, Some(before));
        }
        for at in (1000..2400).step_by(50) {
            writer.sample_on(at, false, Some("connection refused"), None);
        }
        for at in (2400..4000).step_by(50) {
            writer.sample_on(at, true, None, Some(after));
        }
        Timeline {
            probes: vec![writer],
            ..Timeline::default()
        }
    }

    fn failed_over(timeline: &Timeline, start: &InstanceState, end: &InstanceState) -> bool {
        let ledger = Ledger::default();
        let assertions = judge(
            timeline,
            Some(1000),
            Duration::from_secs(10),
            &ledger,
            Ok(&[]),
            start,
            Some(end),
            &[],
        );
        let a = assertions
            .iter()
            .find(|a| a.name == "writer_failed_over")
            .expect("the assertion");
        assert!(
            a.observed["availability_zone"]["after"].is_string(),
            "the AZ is evidence beside it: {}",
            a.observed
        );
        a.holds
    }

    #[test]
    fn the_verdict_is_the_writer_s_server_not_the_availability_zone() {
        let a = server("10.0.1.5:5432", "2026-12-07T06:00:00.000001Z");
        let b = server("10.0.2.7:5432", "2026-12-07T06:00:09.000002Z");
        let a_again = server("10.0.1.5:5432", "2026-12-07T06:01:00.000003Z");
        let start = state("eu-central-1a", "eu-central-1b");
        let swapped = state("eu-central-1b", "eu-central-1a");
        // Moved, AZ swapped: holds.
        assert!(failed_over(&timeline(&a, &b), &start, &swapped));
        // Moved, AZ not (yet) reported: still holds (RDS lags; evidence only).
        assert!(failed_over(&timeline(&a, &b), &start, &start));
        // AZ swapped, writer back on the same server: no failover.
        assert!(!failed_over(&timeline(&a, &a), &start, &swapped));
        // Same address, new start time: a restart in place, no failover.
        assert!(!failed_over(&timeline(&a, &a_again), &start, &swapped));
        let change = writer_change(&timeline(&a, &a_again), Some(1000));
        assert_eq!(change.moved(), Moved::RestartedInPlace);
        assert!(moved_words(&change).contains("restarted in place at 10.0.1.5:5432"));
        let change = writer_change(&timeline(&a, &b), Some(1000));
        assert_eq!(
            (change.moved(), change.changed_at_ms),
            (Moved::ToAnotherServer, Some(2400))
        );
        assert_eq!(moved_words(&change), "moved 10.0.1.5:5432 → 10.0.2.7:5432");
        // No fault, or no writer: never holds.
        let ledger = Ledger::default();
        let none = judge(
            &Timeline::default(),
            None,
            Duration::from_secs(1),
            &ledger,
            Ok(&[]),
            &start,
            Some(&swapped),
            &[],
        );
        assert!(
            !none
                .iter()
                .any(|a| a.name == "writer_failed_over" && a.holds)
        );
    }

    #[test]
    fn the_probe_endpoint_must_be_the_instance_s_or_a_declared_proxy() {
        let declared = ("db.abc.eu-central-1.rds.amazonaws.com".to_string(), 5432);
        let proxy = (
            "core-proxy.proxy-abc.eu-central-1.rds.amazonaws.com".to_string(),
            5432,
        );
        let var = "VERIFY_SECRET_DRILL_DATABASE_URL";
        let ok = |endpoint: (&str, u16), proxy: Option<&(String, u16)>| {
            probe_endpoint(
                Ok((endpoint.0.to_string(), endpoint.1)),
                "core",
                Some(&declared),
                proxy,
                var,
            )
        };
        assert_eq!(
            ok(("DB.abc.eu-central-1.rds.amazonaws.com.", 5432), None).unwrap(),
            "DB.abc.eu-central-1.rds.amazonaws.com.:5432 (the instance's endpoint)"
        );
        assert!(
            ok(
                ("core-proxy.proxy-abc.eu-central-1.rds.amazonaws.com", 5432),
                Some(&proxy)
            )
            .unwrap()
            .contains("declared proxy_endpoint")
        );
        for (endpoint, proxy) in [
            // Another port of the same host, the primary's host itself, an
            // undeclared proxy, a CNAME.
            (("db.abc.eu-central-1.rds.amazonaws.com", 6432), None),
            (("10.0.1.5", 5432), Some(&proxy)),
            (
                ("core-proxy.proxy-abc.eu-central-1.rds.amazonaws.com", 5432),
                None,
            ),
            (("db.internal.example", 5432), None),
        ] {
            let error = ok(endpoint, proxy).unwrap_err().to_string();
            assert!(
                error.contains(&format!("{}:{}", endpoint.0, endpoint.1))
                    && error.contains("db.abc.eu-central-1.rds.amazonaws.com:5432")
                    && error.contains(var)
                    && error.contains("Nothing was injected"),
                "{error}"
            );
            assert_eq!(
                proxy.is_some(),
                error.contains("nor its declared proxy_endpoint"),
                "{error}"
            );
        }
        // RDS reported no endpoint; the URL names no single host.
        let error = probe_endpoint(Ok(("h".into(), 5432)), "core", None, None, var)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not reported by DescribeDBInstances"),
            "{error}"
        );
        let error = probe_endpoint(Err("2 host(s)".into()), "core", Some(&declared), None, var)
            .unwrap_err()
            .to_string();
        assert!(error.contains("2 host(s)"), "{error}");
        // IPv6 shown bracketed.
        let error = probe_endpoint(Ok(("::1".into(), 5432)), "core", Some(&declared), None, var)
            .unwrap_err()
            .to_string();
        assert!(error.contains("[::1]:5432"), "{error}");
    }
}
