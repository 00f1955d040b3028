//! `drill.pitr_restore`: a point-in-time restore into a scratch instance,
//! judged by two marker rows.
//!
//! What it asserts:
//! - the scratch instance is `available` within `max_duration` of the restore call;
//! - marker A, committed before the restore time, is present in it;
//! - marker B, committed after the restore time, is absent (a restore that
//!   ignores the time, or lands after B, fails here);
//! - the scratch instance is deleted afterwards and nothing tagged as this
//!   run's scratch remains.
//!
//! How: on the source (through the URL the spec names) a table
//! `verify_pitr_<run>` gets marker A, the server's clock is read as the
//! restore time, then marker B. Once the source's `LatestRestorableTime`
//! has passed marker B, `RestoreDBInstanceToPointInTime` makes
//! `<source>-verify-<run>` (the source's subnet group and security groups,
//! single-AZ, private, no deletion protection, tagged
//! `verify:drill = pitr_restore`, `verify:run = <run>` and
//! `verify:deadline = <start + the drill's timeout>`); `DescribeDBInstances`
//! follows it to `available`; the markers are read through its endpoint with
//! the source's credentials (a restore keeps the master user). Cleanup on
//! every path, every undo issued before any wait:
//! `DeleteDBInstance(SkipFinalSnapshot, DeleteAutomatedBackups)` of the
//! scratch instance (after a restore call cut in flight, a bounded search by
//! the run's tag for what it may have made), the marker table dropped on the
//! source, then the wait until the instance is gone. [`cleanup_leftovers`]
//! removes what a crashed run left, never a scratch instance whose deadline
//! is still ahead (a live drill's).

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_rds::types::DbInstance;
use envspec::{Environment, PitrRestoreDrill, RdsSpec};
use report_model::Evidence;
use serde_json::json;

use super::probe::{ProbeTarget, describe_error};
use super::{
    Assertion, DrillError, DrillRecord, Ending, Interrupt, Mark, MarkKind, Timeline, allowed,
    database_url, dependents, interrupt_mark, interrupted, judged, ms_since, on_heap, rds_block,
    record, retry_for, steady_state, stop_alarms, stop_alarms_abort,
};
use crate::aws;
use crate::check::CheckError;
use crate::gate::Gate;
use crate::iam::{self, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.pitr_restore";

/// The marker table's name up to the run's id (its start, ms since the
/// epoch): `verify drill cleanup` finds by it a table a killed run left.
pub const TABLE_PREFIX: &str = "verify_pitr_";

/// What this drill needs: its writes (the restore into a scratch instance,
/// and the scratch instance's deletion), scoped as tightly as IAM allows,
/// and the reads it makes beyond its steady-state checks'. Its write guard
/// admits exactly the writes among them.
pub const GRANTS: &[Grant] = &[
    // The restore is authorised against the source, the new instance and
    // the groups it is created in (the source's subnet group, default
    // option and parameter groups).
    Grant::on(
        "DrillPitrRestoreIntoScratch",
        aws::rds::RESTORE_TO_POINT_IN_TIME,
        |env, a| match source(env) {
            Some(r) => vec![
                a.db(&r.identifier),
                scratch(a, r),
                a.arn("rds", "subgrp:*"),
                a.arn("rds", "og:*"),
                a.arn("rds", "pg:*"),
            ],
            None => Vec::new(),
        },
    )
    .write(),
    // Tags given at creation need AddTagsToResource on the new instance;
    // it is also called to give up an instance the drill could not delete
    // (its deadline moved to now, so `drill cleanup` takes it at once).
    Grant::on(
        "DrillPitrTagScratch",
        aws::rds::ADD_TAGS_TO_RESOURCE,
        |env, a| source(env).map(|r| scratch(a, r)).into_iter().collect(),
    )
    .condition("StringEquals", "aws:RequestTag/verify:drill", |_, _| {
        vec![SCRATCH_TAG_VALUE.into()]
    })
    .only_when("called to give up a scratch instance the drill could not delete")
    .write(),
    Grant::on(
        "DrillPitrDeleteScratch",
        aws::rds::DELETE_DB_INSTANCE,
        |env, a| source(env).map(|r| scratch(a, r)).into_iter().collect(),
    )
    .condition("StringEquals", "aws:ResourceTag/verify:drill", |_, _| {
        vec![SCRATCH_TAG_VALUE.into()]
    })
    .write(),
    Grant::on(
        "DrillReadStopAlarms",
        "cloudwatch:DescribeAlarms",
        |env, a| {
            let alarms = env.drills.pitr_restore.iter().flat_map(|d| &d.stop_alarms);
            match source(env) {
                Some(_) => alarms.map(|n| a.alarm(n)).collect(),
                None => Vec::new(),
            }
        },
    ),
    // Finding scratch instances by tag lists every instance: a list is
    // authorised against `db:*`.
    Grant::on(
        "DrillPitrFindScratch",
        aws::rds::DESCRIBE_DB_INSTANCES,
        |env, a| {
            source(env)
                .map(|_| a.arn("rds", "db:*"))
                .into_iter()
                .collect()
        },
    ),
];

/// The instance this drill restores from, if the spec names one.
fn source(env: &Environment) -> Option<&RdsSpec> {
    super::rds_of(
        env,
        env.drills
            .pitr_restore
            .as_ref()
            .and_then(|d| d.rds.as_deref()),
    )
}

/// A scratch instance of `source`'s: `<identifier>-verify-<run>`.
fn scratch(a: &crate::iam::Arns<'_>, source: &RdsSpec) -> String {
    a.db(&format!("{}-verify-*", source.identifier))
}

/// The value of [`SCRATCH_TAG`] on every scratch instance.
pub const SCRATCH_TAG_VALUE: &str = "pitr_restore";

/// The tag every scratch instance carries (value `pitr_restore`), and the run's.
pub const SCRATCH_TAG: &str = "verify:drill";
/// The tag naming the run a scratch instance belongs to (its value: the run's id).
pub const RUN_TAG: &str = "verify:run";
/// The tag saying until when a drill may still own a scratch instance (its
/// value: the drill's start plus its timeout, RFC 3339 UTC to the second):
/// [`cleanup_leftovers`] never deletes one whose deadline is ahead.
pub const DEADLINE_TAG: &str = "verify:deadline";

/// How often the instances are described while waiting.
const POLL: Duration = Duration::from_secs(1);
/// The wait for a deleted scratch instance to be gone.
const DELETE_WITHIN: Duration = Duration::from_secs(30 * 60);
/// The gap on each side of the restore time (server clock).
const MARKER_GAP: Duration = Duration::from_secs(1);
/// How long the markers are read from the scratch instance (it may still be
/// starting to accept connections).
const MARKERS_WITHIN: Duration = Duration::from_secs(60);
/// How long, after a restore call that got no answer, the run's tag is
/// searched for the instance it may have made (cut short after a signal).
const RESTORE_SEARCH: Duration = Duration::from_secs(30);

/// The drill's timeout: its body (the wait for the restorable time, the
/// restore, the markers' read, the dependents' recovery) ends within it, so a scratch instance is the
/// drill's own until its start plus this ([`DEADLINE_TAG`]).
pub fn timeout(drill: &PitrRestoreDrill) -> Duration {
    drill.restorable_within
        + drill.max_duration
        + MARKERS_WITHIN
        + dependents::longest(&drill.dependents)
}

/// Runs the drill on `gate`'s environment. `interrupt` ends it early (the
/// harness passes SIGINT and SIGTERM): before the markers with nothing
/// made, after them through cleanup; the scratch instance is deleted
/// whatever happens.
///
/// ```no_run
/// # async fn demo(gate: verify::Gate) -> Result<(), verify::drill::DrillError> {
/// let record = verify::drill::pitr_restore::run(&gate, std::future::pending()).await?;
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
        .pitr_restore
        .clone()
        .unwrap_or_else(PitrRestoreDrill::defaults);
    // A writing canary as a dependent needs --allow-writes, or nothing is touched.
    dependents::refuse_writes(gate, &drill.dependents)?;
    let rds = rds_block(env, drill.rds.as_deref(), "pitr_restore")?;
    let url = database_url(
        &gate.context().run().secret_prefix,
        drill.database_url.as_deref(),
        &drill.database_url_env,
        "source's",
        "postgres://user:password@host:port/db",
    )?;
    let target = probe_target(&url, &drill)?;

    let (before, failing) = interrupt
        .before_fault(on_heap(|| steady_state(gate, &["rds.*"])))
        .await?;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    interrupt
        .before_fault(stop_alarms(gate, &drill.stop_alarms))
        .await??;
    let source = interrupt
        .before_fault(on_heap(|| describe(gate, &rds.identifier)))
        .await?
        .map_err(|e| DrillError::Setup(e.to_string()))?
        .ok_or_else(|| DrillError::Setup(format!("rds instance '{}' not found", rds.identifier)))?;

    let run_id = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
        .to_string();
    let table = format!("{TABLE_PREFIX}{run_id}");
    let scratch = format!("{}-verify-{run_id}", rds.identifier);
    // Every statement is bounded server-side and by TCP_USER_TIMEOUT; the
    // whole write is bounded too, so a black-holed source cannot hold it.
    let bound = target.connect_timeout
        + 4 * (target.statement_timeout + Duration::from_millis(500))
        + 2 * MARKER_GAP;
    let written = tokio::time::timeout(bound, write_markers(&target, &table))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "writing the markers: no answer within {}",
                humantime::format_duration(bound)
            ))
        });
    let markers = match written {
        Ok(markers) => markers,
        Err(e) => {
            // The table may have been made before the markers failed.
            let _ = drop_table(&target, &table).await;
            return Err(DrillError::SteadyState(e));
        }
    };

    // From here on, cleanup runs on every path.
    let started_at = SystemTime::now();
    let timeout = timeout(&drill);
    let deadline = humantime::format_rfc3339_seconds(started_at + timeout).to_string();
    let t0 = Instant::now();
    let mut timeline = Timeline {
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        ..Timeline::default()
    };
    let mut marks = vec![Mark {
        at_ms: 0,
        kind: MarkKind::Status,
        label: format!(
            "markers written: A at {}, restore time {}, B at {}",
            markers.a_at, markers.restore_time, markers.b_at
        ),
    }];
    let mut progress = Progress::default();
    let guard = gate.aws().mode.allow_writes(&iam::writes(GRANTS));
    let tags = [
        (SCRATCH_TAG, SCRATCH_TAG_VALUE),
        (RUN_TAG, run_id.as_str()),
        (DEADLINE_TAG, deadline.as_str()),
    ];
    let body = on_heap(|| {
        follow(
            gate,
            &drill,
            rds,
            &source,
            &scratch,
            &run_id,
            &tags,
            &markers,
            &url,
            t0,
            &mut marks,
            &mut progress,
        )
    });
    // The body ends within the timeout, so the deadline tag holds.
    let body = async {
        tokio::time::timeout(timeout, body)
            .await
            .unwrap_or(Ok(Ending::TimedOut(timeout)))
    };
    let ending = interrupt.until(body).await;
    marks.extend(interrupt_mark(&ending, t0));

    // Cleanup: the undo calls together (the scratch instance's deletion, the
    // marker table's drop: neither waits for the other), then the wait for
    // the instance to go and a last look for anything of this run's.
    let not_dropped = format!("table {table} not dropped");
    let ((cleanup, deletion_marks), (dropped, dropped_ms)) = tokio::join!(
        on_heap(|| clean_up(gate, &scratch, &run_id, &progress, &interrupt, t0)),
        async {
            let dropped = interrupt
                .retry(Duration::from_secs(60), &not_dropped, || {
                    drop_table(&target, &table)
                })
                .await;
            (dropped, ms_since(t0))
        },
    );
    drop(guard);
    marks.extend(deletion_marks);
    marks.push(Mark {
        at_ms: dropped_ms,
        kind: MarkKind::Cleanup,
        label: match &dropped {
            Ok(()) => format!("dropped {table}"),
            Err(e) => e.clone(),
        },
    });
    let cleanup = on_heap(|| cleanup.wait(gate, &run_id, &interrupt, t0, &mut marks)).await;
    marks.sort_by_key(|m| m.at_ms);
    timeline.marks = marks;
    timeline.duration_ms = ms_since(t0);
    let ending = interrupt.ending(ending)?;
    let mut left = cleanup.left(&deadline);
    left.extend(dropped.as_ref().err().cloned());
    let cleanup_ok = left.is_empty();
    let source_name = format!("rds instance '{}'", rds.identifier);

    if let Ending::Interrupted(why) = &ending {
        let evidence = Evidence::of(source_name)
            .resource(format!("rds instance '{scratch}'"))
            .detail("table", table.clone())
            .detail("deadline", deadline.clone());
        let outcome = interrupted(ID, why, &left, timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    // The source is untouched by a restore; its checks again, for the record.
    let (after, _) = steady_state(&gate.fresh(), &["rds.*"]).await;
    let mut assertions = judge(&drill, &markers, &progress, &cleanup);
    assertions.extend(progress.dependents.clone());
    let summary = format!(
        "{source_name} restored to {} into '{scratch}': available in {} (bound {}); marker A {}, marker B {}; scratch {}",
        markers.restore_time,
        progress
            .available_after_ms
            .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "—".into()),
        humantime::format_duration(drill.max_duration),
        presence(progress.markers.as_ref(), "A"),
        presence(progress.markers.as_ref(), "B"),
        if cleanup_ok {
            "deleted"
        } else {
            "NOT cleaned up"
        },
    );
    let evidence = Evidence::of(source_name)
        .resource(format!("rds instance '{scratch}'"))
        .detail("table", table)
        .detail("restore_time", markers.restore_time.clone())
        .detail("deadline", deadline);
    let outcome = judged(
        ID,
        summary,
        &assertions,
        &ending,
        "available",
        dropped.as_ref().err().map(String::as_str),
        timeline.duration_ms,
        evidence,
    );
    Ok(record(env, outcome, timeline, before, after))
}

/// What [`cleanup_leftovers`] did with each scratch instance it found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leftovers {
    /// Deleted now (DeleteDBInstance sent): their deadline had passed, or
    /// they carry none (made by a `verify` before deadlines).
    pub deleted: Vec<String>,
    /// Left alone, each with why: a live drill's (its deadline is ahead),
    /// already being deleted, or a deadline that cannot be read.
    pub kept: Vec<(String, String)>,
}

/// Finds every scratch instance (tagged `verify:drill = pitr_restore`, any
/// run's, every page of `DescribeDBInstances`) and deletes those a drill can
/// no longer own: its `verify:deadline` passed (or it has none). One whose
/// deadline is ahead belongs to a drill that may still be running and is
/// kept, as is one already being deleted. What `verify drill cleanup SPEC
/// --yes` does.
pub async fn cleanup_leftovers(gate: &Gate) -> Result<Leftovers, DrillError> {
    let found = scratch_instances(gate, None)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    let _guard = gate
        .aws()
        .mode
        .allow_writes(&[aws::rds::DELETE_DB_INSTANCE]);
    let now = SystemTime::now();
    let mut leftovers = Leftovers::default();
    for db in found {
        let deadline = db
            .deadline
            .as_deref()
            .map(|d| humantime::parse_rfc3339(d).map_err(|_| d));
        match (db.status.as_str(), deadline) {
            ("deleting", _) => leftovers
                .kept
                .push((db.identifier, "already being deleted".into())),
            (_, Some(Err(unreadable))) => leftovers.kept.push((
                db.identifier,
                format!("its {DEADLINE_TAG} {unreadable:?} is not an RFC 3339 time"),
            )),
            (_, Some(Ok(deadline))) if deadline > now => leftovers.kept.push((
                db.identifier,
                format!(
                    "a drill may still own it: {DEADLINE_TAG} {} is ahead",
                    humantime::format_rfc3339_seconds(deadline)
                ),
            )),
            _ => {
                aws::rds::delete_instance(gate.aws(), &db.identifier)
                    .await
                    .map_err(|e| DrillError::Setup(format!("deleting {}: {e}", db.identifier)))?;
                leftovers.deleted.push(db.identifier);
            }
        }
    }
    Ok(leftovers)
}

/// How far the cleanup of this run's scratch instance got.
#[derive(Debug, Clone, PartialEq)]
struct Cleanup {
    /// Instances DeleteDBInstance was sent for.
    deleting: Vec<String>,
    /// Each instance whose deletion could not be sent, with why.
    failed: Vec<(String, String)>,
    /// Those of `failed` whose deadline was moved to now (given up).
    released: Vec<String>,
    /// This run's scratch instances still listed at the end (or why they
    /// could not be listed).
    listed: Result<Vec<String>, String>,
    /// Whether `listed` is already the last word (a search by tag that
    /// found nothing, with nothing sent for deletion since).
    listed_last: bool,
}

/// The undo call of the scratch instance, issued at once: DeleteDBInstance
/// of the instance the restore made. After a restore call that got no
/// answer (cut in flight, or its answer lost) the instance is not assumed:
/// a bounded search by the run's tag finds what the call made, if anything,
/// and that is deleted. Its marks are returned.
async fn clean_up(
    gate: &Gate,
    scratch: &str,
    run_id: &str,
    progress: &Progress,
    interrupt: &Interrupt<'_>,
    t0: Instant,
) -> (Cleanup, Vec<Mark>) {
    let mut cleanup = Cleanup {
        deleting: Vec::new(),
        failed: Vec::new(),
        released: Vec::new(),
        listed: Ok(Vec::new()),
        listed_last: false,
    };
    let mut marks = Vec::new();
    let mut made = Vec::new();
    if progress.restore_answered {
        made.push(scratch.to_string());
    } else if progress.restore_called {
        let usual = Instant::now() + RESTORE_SEARCH;
        loop {
            let found = interrupt
                .bounded(usual, scratch_instances(gate, Some(run_id)))
                .await;
            if let Some(Ok(found)) = &found
                && !found.is_empty()
            {
                made.extend(found.iter().map(|db| db.identifier.clone()));
                marks.push(Mark {
                    at_ms: ms_since(t0),
                    kind: MarkKind::Status,
                    label: format!(
                        "{} found by its {RUN_TAG} tag after the restore call got no answer",
                        made.join(", ")
                    ),
                });
                break;
            }
            let pause = interrupt.bounded(usual, tokio::time::sleep(POLL)).await;
            if found.is_none() || pause.is_none() {
                // What the search saw last is what is listed.
                cleanup.listed = match found {
                    Some(Ok(_)) => Ok(Vec::new()),
                    Some(Err(e)) => Err(format!("listing this run's scratch instances: {e}")),
                    None => Err(format!(
                        "listing this run's scratch instances: no answer after {}",
                        interrupt.why().unwrap_or("the search's bound")
                    )),
                };
                cleanup.listed_last = true;
                marks.push(Mark {
                    at_ms: ms_since(t0),
                    kind: MarkKind::Status,
                    label: format!(
                        "no instance tagged {RUN_TAG} = {run_id} found after the restore call got no answer"
                    ),
                });
                break;
            }
        }
    }
    for id in made {
        // Marked when sent: how soon the undo went out after a signal.
        let sent_ms = ms_since(t0);
        match delete_call(gate, &id, interrupt).await {
            Ok(true) => {
                marks.push(Mark {
                    at_ms: sent_ms,
                    kind: MarkKind::Cleanup,
                    label: format!("DeleteDBInstance {id}"),
                });
                cleanup.deleting.push(id);
            }
            Ok(false) => {}
            Err(e) => {
                // Given up: its deadline moves to now, so `drill cleanup`
                // may delete it at once instead of after the drill's timeout.
                let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
                let arn = crate::iam::Arns::of(gate.env()).db(&id);
                let released = interrupt
                    .bounded(
                        Instant::now() + Duration::from_secs(10),
                        aws::rds::tag(
                            gate.aws(),
                            &arn,
                            &[(SCRATCH_TAG, SCRATCH_TAG_VALUE), (DEADLINE_TAG, &now)],
                        ),
                    )
                    .await;
                if let Some(Ok(())) = released {
                    marks.push(Mark {
                        at_ms: ms_since(t0),
                        kind: MarkKind::Cleanup,
                        label: format!("{id} given up: {DEADLINE_TAG} now {now}"),
                    });
                    cleanup.released.push(id.clone());
                }
                cleanup.failed.push((id, e))
            }
        }
    }
    (cleanup, marks)
}

impl Cleanup {
    /// Waits until every instance sent for deletion is gone (bounded, cut
    /// short after a signal), then lists this run's scratch instances left.
    async fn wait(
        mut self,
        gate: &Gate,
        run_id: &str,
        interrupt: &Interrupt<'_>,
        t0: Instant,
        marks: &mut Vec<Mark>,
    ) -> Cleanup {
        if self.listed_last {
            return self;
        }
        let usual = Instant::now() + DELETE_WITHIN;
        for id in &self.deleting {
            loop {
                if let Some(Ok(None)) = interrupt.bounded(usual, describe(gate, id)).await {
                    marks.push(Mark {
                        at_ms: ms_since(t0),
                        kind: MarkKind::Cleanup,
                        label: format!("{id} gone"),
                    });
                    break;
                }
                if interrupt
                    .bounded(usual, tokio::time::sleep(POLL))
                    .await
                    .is_none()
                {
                    break;
                }
            }
        }
        self.listed = interrupt
            .retry(
                Duration::from_secs(30),
                "listing this run's scratch instances",
                || scratch_instances(gate, Some(run_id)),
            )
            .await
            .map(|found| found.into_iter().map(|db| db.identifier).collect());
        self
    }

    /// What is left, each naming the resource, why, and how it goes.
    fn left(&self, deadline: &str) -> Vec<String> {
        let mut left: Vec<String> = self
            .failed
            .iter()
            .map(|(id, why)| {
                if self.released.contains(id) {
                    format!("rds instance '{id}' ({DEADLINE_TAG} moved to now: `verify drill cleanup --yes` deletes it): {why}")
                } else {
                    format!("rds instance '{id}' ({DEADLINE_TAG} {deadline}): {why}")
                }
            })
            .collect();
        let failed = |id: &String| self.failed.iter().any(|(f, _)| f == id);
        match &self.listed {
            Ok(listed) => left.extend(listed.iter().filter(|id| !failed(id)).map(|id| {
                if self.deleting.contains(id) {
                    format!(
                        "rds instance '{id}' still being deleted (DeleteDBInstance sent; it goes by itself)"
                    )
                } else {
                    format!("rds instance '{id}' not deleted ({DEADLINE_TAG} {deadline})")
                }
            })),
            Err(e) => left.push(e.clone()),
        }
        left
    }
}

/// The marker rows and the restore time between them (the server's clock).
#[derive(Debug, Clone, PartialEq)]
struct Markers {
    a_at: String,
    restore_time: String,
    b_at: String,
}

/// What the wait saw, for the assertions.
#[derive(Debug, Default, Clone, PartialEq)]
struct Progress {
    /// The restore call was sent (it may have made the instance)…
    restore_called: bool,
    /// …and answered: the instance is the one named (else it is searched for by tag).
    restore_answered: bool,
    /// From the restore call to `available`.
    available_after_ms: Option<u64>,
    final_status: Option<String>,
    /// The markers found in the scratch instance (or why they could not be read).
    markers: Option<Result<BTreeSet<String>, String>>,
    /// `dependents_recovered`, when the spec declares dependents.
    dependents: Option<Assertion>,
}

fn presence(markers: Option<&Result<BTreeSet<String>, String>>, marker: &str) -> &'static str {
    match markers {
        Some(Ok(found)) if found.contains(marker) => "present",
        Some(Ok(_)) => "absent",
        _ => "not read",
    }
}

fn probe_target(url: &str, drill: &PitrRestoreDrill) -> Result<ProbeTarget, DrillError> {
    ProbeTarget::from_url(
        url,
        &drill.database_url_env,
        drill.ca_file.as_deref(),
        drill.connect_timeout,
        drill.statement_timeout,
        Duration::from_millis(50),
    )
    .map_err(|e| DrillError::Setup(e.to_string()))
}

/// Marker A, the restore time, marker B, each committed, on the server's clock.
async fn write_markers(target: &ProbeTarget, table: &str) -> Result<Markers, String> {
    let client = target.connect().await?;
    let one = |sql: String| {
        let client = &client;
        async move {
            client
                .query_one(&sql, &[])
                .await
                .map(|row| row.get::<_, String>(0))
                .map_err(|e| describe_error(&e))
        }
    };
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (marker text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ))
        .await
        .map_err(|e| format!("creating {table}: {}", describe_error(&e)))?;
    let stamp =
        "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
    let a_at = one(format!(
        "INSERT INTO {table} (marker) VALUES ('A') RETURNING to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    ))
    .await?;
    tokio::time::sleep(MARKER_GAP).await;
    let restore_time = one(format!("SELECT {stamp}")).await?;
    tokio::time::sleep(MARKER_GAP).await;
    let b_at = one(format!(
        "INSERT INTO {table} (marker) VALUES ('B') RETURNING to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    ))
    .await?;
    Ok(Markers {
        a_at,
        restore_time,
        b_at,
    })
}

/// Waits for the restorable time, restores, waits for `available`, reads the markers.
#[allow(clippy::too_many_arguments)]
async fn follow(
    gate: &Gate,
    drill: &PitrRestoreDrill,
    rds: &RdsSpec,
    source: &DbInstance,
    scratch: &str,
    run_id: &str,
    tags: &[(&str, &str)],
    markers: &Markers,
    url: &str,
    t0: Instant,
    marks: &mut Vec<Mark>,
    progress: &mut Progress,
) -> Result<Ending, DrillError> {
    let restore_time = aws_smithy_types::DateTime::from_str(
        &markers.restore_time,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .map_err(|e| {
        DrillError::Setup(format!(
            "the server's clock {:?}: {e}",
            markers.restore_time
        ))
    })?;
    let b_at = aws_smithy_types::DateTime::from_str(
        &markers.b_at,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .map_err(|e| DrillError::Setup(format!("marker B's time {:?}: {e}", markers.b_at)))?;

    // RDS restores only up to LatestRestorableTime (its WAL uploads lag
    // about five minutes): wait until it has passed marker B.
    let deadline = Instant::now() + drill.restorable_within;
    loop {
        let latest = describe(gate, &rds.identifier)
            .await
            .ok()
            .flatten()
            .and_then(|db| db.latest_restorable_time().copied());
        if latest.is_some_and(|l| l > b_at) {
            break;
        }
        // A stop alarm in ALARM, or one that cannot be read, aborts.
        if let Some(abort) = stop_alarms_abort(gate, &drill.stop_alarms, t0, marks).await {
            return Ok(abort);
        }
        if Instant::now() >= deadline {
            return Ok(Ending::TimedOut(drill.restorable_within));
        }
        tokio::time::sleep(POLL).await;
    }

    progress.restore_called = true;
    aws::rds::restore_to_point_in_time(gate.aws(), source, scratch, restore_time, tags)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    progress.restore_answered = true;
    let fault_ms = ms_since(t0);
    marks.push(Mark {
        at_ms: fault_ms,
        kind: MarkKind::Fault,
        label: format!(
            "RestoreDBInstanceToPointInTime {scratch} to {}",
            markers.restore_time
        ),
    });

    let started = Instant::now();
    let deadline = started + drill.max_duration;
    let mut last: Option<String> = None;
    let endpoint = loop {
        tokio::time::sleep(POLL).await;
        if Instant::now() >= deadline {
            return Ok(Ending::TimedOut(drill.max_duration));
        }
        if let Some(abort) = stop_alarms_abort(gate, &drill.stop_alarms, t0, marks).await {
            return Ok(abort);
        }
        let Ok(Some(db)) = describe(gate, scratch).await else {
            continue;
        };
        let status = db.db_instance_status().unwrap_or("unknown").to_string();
        if last.as_ref() != Some(&status) {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Status,
                label: format!("{scratch} {status}"),
            });
            progress.final_status = Some(status.clone());
            last = Some(status.clone());
        }
        match status.as_str() {
            "available" => {
                let address = db
                    .endpoint()
                    .and_then(|e| Some((e.address()?.to_string(), e.port()?)));
                match address {
                    Some(a) => break a,
                    None => continue,
                }
            }
            "failed"
            | "incompatible-restore"
            | "incompatible-parameters"
            | "incompatible-network" => {
                return Ok(Ending::Aborted(format!("the restore ended {status}")));
            }
            _ => {}
        }
    };
    progress.available_after_ms = Some(started.elapsed().as_millis() as u64);
    marks.push(Mark {
        at_ms: ms_since(t0),
        kind: MarkKind::Recovered,
        label: format!("{scratch} available at {}:{}", endpoint.0, endpoint.1),
    });
    let scratch_target = probe_target(url, drill)?.with_host_port(&endpoint.0, endpoint.1 as u16);
    let table = format!("{TABLE_PREFIX}{run_id}");
    progress.markers =
        Some(retry_for(MARKERS_WITHIN, || markers_in(&scratch_target, &table)).await);
    // Restored: each declared dependent must work (again) within its bound.
    progress.dependents = dependents::recover(gate, &drill.dependents, t0, marks).await;
    Ok(Ending::Recovered)
}

/// The drill's assertions, each with expected and observed.
fn judge(
    drill: &PitrRestoreDrill,
    markers: &Markers,
    progress: &Progress,
    cleanup: &Cleanup,
) -> Vec<Assertion> {
    let found = match &progress.markers {
        Some(Ok(found)) => json!(found),
        Some(Err(e)) => json!({ "error": e }),
        None => json!(null),
    };
    let has = |m: &str| matches!(&progress.markers, Some(Ok(f)) if f.contains(m));
    let read = matches!(&progress.markers, Some(Ok(_)));
    vec![
        Assertion {
            name: "restore_duration",
            holds: progress
                .available_after_ms
                .is_some_and(|ms| ms <= drill.max_duration.as_millis() as u64),
            expected: json!({ "max_ms": drill.max_duration.as_millis() as u64 }),
            observed: json!({
                "available_after_ms": progress.available_after_ms,
                "status": progress.final_status,
            }),
        },
        Assertion {
            name: "marker_before_present",
            holds: read && has("A"),
            expected: json!({ "marker": "A", "written_at": markers.a_at, "present": true }),
            observed: json!({ "markers": found }),
        },
        Assertion {
            name: "marker_after_absent",
            holds: read && !has("B"),
            expected: json!({
                "marker": "B",
                "written_at": markers.b_at,
                "restore_time": markers.restore_time,
                "present": false,
            }),
            observed: json!({ "markers": found }),
        },
        Assertion {
            name: "scratch_deleted",
            holds: cleanup.failed.is_empty() && cleanup.listed.as_ref().is_ok_and(|l| l.is_empty()),
            expected: json!({ "scratch_instances_left": 0 }),
            observed: json!({
                "deleted": cleanup.deleting,
                "delete_error": cleanup.failed.iter().map(|(_, why)| why).collect::<Vec<_>>(),
                "left": cleanup.listed.as_ref().map(|l| json!(l)).unwrap_or_else(|e| json!({ "error": e })),
            }),
        },
    ]
}

/// The instance, or `None` when RDS says it does not exist.
async fn describe(gate: &Gate, identifier: &str) -> Result<Option<DbInstance>, CheckError> {
    aws::rds::describe_now(gate.aws(), identifier).await
}

/// A scratch instance as `DescribeDBInstances` lists it.
#[derive(Debug, Clone, PartialEq)]
struct ScratchInstance {
    identifier: String,
    status: String,
    /// Its `verify:deadline` tag, as written.
    deadline: Option<String>,
}

/// Scratch instances (tagged `verify:drill = pitr_restore`), of one run or
/// of any; every page of DescribeDBInstances read.
async fn scratch_instances(
    gate: &Gate,
    run: Option<&str>,
) -> Result<Vec<ScratchInstance>, CheckError> {
    let mut found = Vec::new();
    for db in aws::rds::all_instances(gate.aws()).await? {
        let tag = |key: &str| {
            db.tag_list()
                .iter()
                .find(|t| t.key() == Some(key))
                .and_then(|t| t.value())
        };
        if tag(SCRATCH_TAG) == Some(SCRATCH_TAG_VALUE)
            && run.is_none_or(|r| tag(RUN_TAG) == Some(r))
            && let Some(identifier) = db.db_instance_identifier()
        {
            found.push(ScratchInstance {
                identifier: identifier.to_string(),
                status: db.db_instance_status().unwrap_or("unknown").to_string(),
                deadline: tag(DEADLINE_TAG).map(String::from),
            });
        }
    }
    Ok(found)
}

/// Sends DeleteDBInstance of a scratch instance (no final snapshot, no
/// automated backups kept), retried for a minute (one still `creating`
/// may refuse) and cut short after a signal. `Ok(false)`: there was none.
async fn delete_call(
    gate: &Gate,
    identifier: &str,
    interrupt: &Interrupt<'_>,
) -> Result<bool, String> {
    interrupt
        .retry(
            Duration::from_secs(60),
            &format!("rds instance '{identifier}' not deleted"),
            || aws::rds::delete_instance(gate.aws(), identifier),
        )
        .await
}

/// The markers in the scratch instance's copy of the table.
async fn markers_in(target: &ProbeTarget, table: &str) -> Result<BTreeSet<String>, String> {
    let client = target.connect().await?;
    let bound = target.statement_timeout + Duration::from_millis(500);
    let rows = tokio::time::timeout(
        bound,
        client.query(&format!("SELECT marker FROM {table}"), &[]),
    )
    .await
    .map_err(|_| {
        format!(
            "reading {table}: no answer within {}",
            humantime::format_duration(bound)
        )
    })?
    .map_err(|e| format!("reading {table}: {}", describe_error(&e)))?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

async fn drop_table(target: &ProbeTarget, table: &str) -> Result<(), String> {
    let client = target.connect().await?;
    let bound = target.statement_timeout + Duration::from_millis(500);
    tokio::time::timeout(
        bound,
        client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")),
    )
    .await
    .map_err(|_| {
        format!(
            "dropping {table}: no answer within {}",
            humantime::format_duration(bound)
        )
    })?
    .map_err(|e| format!("dropping {table}: {}", describe_error(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is left names each instance and when `drill cleanup` may take
    /// it: at once when the drill gave it up (deadline moved to now), else
    /// after its deadline.
    #[test]
    fn what_is_left_says_when_cleanup_may_take_it() {
        let cleanup = Cleanup {
            deleting: vec!["db-verify-1".into()],
            failed: vec![
                ("db-verify-2".into(), "AccessDenied".into()),
                ("db-verify-3".into(), "throttled".into()),
            ],
            released: vec!["db-verify-2".into()],
            listed: Ok(vec![
                "db-verify-1".into(),
                "db-verify-2".into(),
                "db-verify-3".into(),
            ]),
            listed_last: false,
        };
        let left = cleanup.left("2026-12-07T10:00:00Z");
        assert_eq!(
            left,
            [
                "rds instance 'db-verify-2' (verify:deadline moved to now: `verify drill cleanup --yes` deletes it): AccessDenied",
                "rds instance 'db-verify-3' (verify:deadline 2026-12-07T10:00:00Z): throttled",
                "rds instance 'db-verify-1' still being deleted (DeleteDBInstance sent; it goes by itself)",
            ]
        );
        let clean = Cleanup {
            deleting: vec!["db-verify-1".into()],
            failed: Vec::new(),
            released: Vec::new(),
            listed: Ok(Vec::new()),
            listed_last: false,
        };
        assert!(clean.left("x").is_empty());
    }
}
