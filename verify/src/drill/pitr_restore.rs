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
//! `verify:drill = pitr_restore`, `verify:run = <run>`); `DescribeDBInstances`
//! follows it to `available`; the markers are read through its endpoint with
//! the source's credentials (a restore keeps the master user). Cleanup on
//! every path: `DeleteDBInstance(SkipFinalSnapshot, DeleteAutomatedBackups)`
//! of the scratch instance, waiting until it is gone, and the marker table
//! dropped on the source. [`cleanup_leftovers`] removes what a crashed run left.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_rds::types::DbInstance;
use envspec::{Environment, PitrRestoreDrill, RdsSpec};
use report_model::Evidence;
use serde_json::json;

use super::probe::{ProbeTarget, describe_error};
use super::{
    Assertion, DrillError, DrillRecord, Ending, Mark, MarkKind, Timeline, allowed, database_url,
    interrupted, judged, ms_since, rds_block, record, retry_for, steady_state, until_interrupted,
};
use crate::aws;
use crate::check::CheckError;
use crate::gate::Gate;
use crate::iam::{self, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.pitr_restore";

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
    // Tags given at creation need AddTagsToResource on the new instance
    // (IAM only: no operation of its own).
    Grant::on("DrillPitrTagScratch", "rds:AddTagsToResource", |env, a| {
        source(env).map(|r| scratch(a, r)).into_iter().collect()
    })
    .condition("StringEquals", "aws:RequestTag/verify:drill", |_, _| {
        vec![SCRATCH_TAG_VALUE.into()]
    }),
    Grant::on(
        "DrillPitrDeleteScratch",
        aws::rds::DELETE_DB_INSTANCE,
        |env, a| source(env).map(|r| scratch(a, r)).into_iter().collect(),
    )
    .condition("StringEquals", "aws:ResourceTag/verify:drill", |_, _| {
        vec![SCRATCH_TAG_VALUE.into()]
    })
    .write(),
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

/// How often the instances are described while waiting.
const POLL: Duration = Duration::from_secs(1);
/// The wait for a deleted scratch instance to be gone.
const DELETE_WITHIN: Duration = Duration::from_secs(30 * 60);
/// The gap on each side of the restore time (server clock).
const MARKER_GAP: Duration = Duration::from_secs(1);

/// Runs the drill on `gate`'s environment. `interrupt` ends it early (the
/// harness passes Ctrl-C); the scratch instance is deleted whatever happens.
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
    let env = gate.env();
    allowed(env)?;
    let drill = env
        .drills
        .pitr_restore
        .clone()
        .unwrap_or_else(PitrRestoreDrill::defaults);
    let rds = rds_block(env, drill.rds.as_deref(), "pitr_restore")?;
    let url = database_url(
        drill.database_url.as_deref(),
        &drill.database_url_env,
        "source's",
        "postgres://user:password@host:port/db",
    )?;
    let target = probe_target(&url, &drill)?;

    let (before, failing) = steady_state(gate, &["rds.*"]).await;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    let source = describe(gate, &rds.identifier)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?
        .ok_or_else(|| DrillError::Setup(format!("rds instance '{}' not found", rds.identifier)))?;

    let run_id = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
        .to_string();
    let table = format!("verify_pitr_{run_id}");
    let scratch = format!("{}-verify-{run_id}", rds.identifier);
    let markers = write_markers(&target, &table)
        .await
        .map_err(DrillError::SteadyState)?;

    // From here on, cleanup runs on every path.
    let started_at = SystemTime::now();
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
    let body = follow(
        gate,
        &drill,
        rds,
        &source,
        &scratch,
        &run_id,
        &markers,
        &url,
        t0,
        &mut marks,
        &mut progress,
    );
    let ending = until_interrupted(body, interrupt).await;

    // Cleanup: the scratch instance deleted and gone, nothing of this run
    // left, the marker table dropped.
    let deleted = if progress.restore_called {
        delete_scratch(gate, &scratch).await
    } else {
        Ok(false)
    };
    let left = retry_for(Duration::from_secs(30), || {
        scratch_instances(gate, Some(&run_id))
    })
    .await;
    drop(guard);
    let dropped = retry_for(Duration::from_secs(60), || drop_table(&target, &table)).await;
    marks.push(Mark {
        at_ms: ms_since(t0),
        kind: MarkKind::Cleanup,
        label: match (&deleted, &dropped) {
            (Ok(true), Ok(())) => format!("deleted {scratch}, dropped {table}"),
            (Ok(false), Ok(())) => format!("no scratch instance made; dropped {table}"),
            (Err(e), _) => format!("could not delete {scratch}: {e}"),
            (_, Err(e)) => format!("could not drop {table}: {e}"),
        },
    });
    marks.sort_by_key(|m| m.at_ms);
    timeline.marks = marks;
    timeline.duration_ms = ms_since(t0);
    let ending = ending?;
    let cleanup_ok =
        deleted.is_ok() && dropped.is_ok() && left.as_ref().is_ok_and(|l| l.is_empty());
    let source_name = format!("rds instance '{}'", rds.identifier);

    if let Ending::Interrupted(why) = &ending {
        let evidence = Evidence::of(source_name)
            .resource(format!("rds instance '{scratch}'"))
            .detail("table", table.clone());
        let outcome = interrupted(ID, why, cleanup_ok, timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    // The source is untouched by a restore; its checks again, for the record.
    let (after, _) = steady_state(&gate.fresh(), &["rds.*"]).await;
    let assertions = judge(&drill, &markers, &progress, &deleted, &left);
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
        .detail("restore_time", markers.restore_time.clone());
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

/// Lists the scratch instances a crashed run left (any run's) and deletes
/// each; returns their identifiers. What `cargo xtask drill cleanup <env>` does.
pub async fn cleanup_leftovers(gate: &Gate) -> Result<Vec<String>, DrillError> {
    let found = scratch_instances(gate, None)
        .await
        .map_err(|e| DrillError::Setup(e.to_string()))?;
    let _guard = gate
        .aws()
        .mode
        .allow_writes(&[aws::rds::DELETE_DB_INSTANCE]);
    for id in &found {
        delete_scratch(gate, id)
            .await
            .map_err(|e| DrillError::Setup(format!("deleting {id}: {e}")))?;
    }
    Ok(found)
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
    restore_called: bool,
    /// From the restore call to `available`.
    available_after_ms: Option<u64>,
    final_status: Option<String>,
    /// The markers found in the scratch instance (or why they could not be read).
    markers: Option<Result<BTreeSet<String>, String>>,
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
        if Instant::now() >= deadline {
            return Ok(Ending::TimedOut(drill.restorable_within));
        }
        tokio::time::sleep(POLL).await;
    }

    progress.restore_called = true;
    aws::rds::restore_to_point_in_time(
        gate.aws(),
        source,
        scratch,
        restore_time,
        &[(SCRATCH_TAG, SCRATCH_TAG_VALUE), (RUN_TAG, run_id)],
    )
    .await
    .map_err(|e| DrillError::Setup(e.to_string()))?;
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
    let table = format!("verify_pitr_{run_id}");
    progress.markers = Some(
        retry_for(Duration::from_secs(60), || {
            markers_in(&scratch_target, &table)
        })
        .await,
    );
    Ok(Ending::Recovered)
}

/// The drill's assertions, each with expected and observed.
fn judge(
    drill: &PitrRestoreDrill,
    markers: &Markers,
    progress: &Progress,
    deleted: &Result<bool, String>,
    left: &Result<Vec<String>, CheckError>,
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
            holds: deleted.is_ok() && left.as_ref().is_ok_and(|l| l.is_empty()),
            expected: json!({ "scratch_instances_left": 0 }),
            observed: json!({
                "deleted": deleted.as_ref().map_err(|e| e.clone()).ok(),
                "delete_error": deleted.as_ref().err(),
                "left": left.as_ref().map(|l| json!(l)).unwrap_or_else(|e| json!({ "error": e.to_string() })),
            }),
        },
    ]
}

/// The instance, or `None` when RDS says it does not exist.
async fn describe(gate: &Gate, identifier: &str) -> Result<Option<DbInstance>, CheckError> {
    aws::rds::describe_now(gate.aws(), identifier).await
}

/// Scratch instances (tagged `verify:drill = pitr_restore`), of one run or
/// of any; every page of DescribeDBInstances read.
async fn scratch_instances(gate: &Gate, run: Option<&str>) -> Result<Vec<String>, CheckError> {
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
        {
            found.extend(db.db_instance_identifier().map(String::from));
        }
    }
    Ok(found)
}

/// Deletes a scratch instance (no final snapshot, no automated backups
/// kept) and waits until it is gone. `Ok(false)`: there was none.
async fn delete_scratch(gate: &Gate, identifier: &str) -> Result<bool, String> {
    let sent = retry_for(Duration::from_secs(60), || async {
        // Still `creating` (an interrupted drill): retried until it can be deleted.
        aws::rds::delete_instance(gate.aws(), identifier)
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    let deadline = Instant::now() + DELETE_WITHIN;
    loop {
        match describe(gate, identifier).await {
            Ok(None) => return Ok(sent),
            _ if Instant::now() >= deadline => {
                return Err(format!(
                    "{identifier} still listed {} after DeleteDBInstance",
                    humantime::format_duration(DELETE_WITHIN)
                ));
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
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
