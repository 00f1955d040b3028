//! `drill.az_outage`: one Availability Zone cut for a declared duration,
//! then back, judged by what clients saw.
//!
//! What it asserts:
//! - `db_failed_over`: the writer probe's writes, acknowledged before the
//!   cut by one server, are acknowledged after it by a server at another
//!   address when the primary was in the cut AZ (as `drill.rds_failover`
//!   judges it), by the same server when only the standby was;
//! - `pgbouncer_service`: the pgbouncer service back at its desired count
//!   across ≥ 2 AZs, the `pgbouncer.*` checks passing, within
//!   `max_recovery` of the AZ's return;
//! - `pgbouncer_survives_az`: just before the cut, the service had a task
//!   running outside the cut AZ (every task in it: the service is down
//!   until ECS starts new ones elsewhere, which on AWS takes minutes);
//! - `unavailability_within_budget`: the longest client-observed outage
//!   after the cut (worst of writer and reader, through the load-balanced
//!   pgbouncer endpoint) ≤ `max_unavailable` (default the `rds` block's
//!   `failover_budget`);
//! - `no_acknowledged_write_lost`: every write the writer saw acknowledged
//!   is in the table afterwards;
//! - `dependents_recovered`: each declared dependent works again once the AZ is back.
//!
//! How the cut is made:
//! - on the sandbox (`aws { sandbox = true }`), the stand-ins' control call
//!   `POST /az-outage {az, duration_ms}`: the AZ's database member and
//!   pgbouncer tasks frozen and their addresses black-holed (no RST), the
//!   AZ back after the duration; `POST /az-outage/end` ends it early;
//! - on AWS, the spec's FIS experiment template: `fis:GetExperimentTemplate`
//!   first (its stop conditions must be exactly the spec's stop alarms, or
//!   nothing is started, exit 2), `fis:StartExperiment`, `fis:GetExperiment`
//!   every poll until the experiment has ended, and `fis:StopExperiment` on
//!   every abort path (a stop alarm, the timeout, a signal). Without a
//!   template the drill exits 2: FIS injects, this tool judges.
//!
//! The probe table (`verify_az_<run>`) is dropped on every exit path.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use envspec::{AzOutageDrill, Environment, PgbouncerSpec};
use report_model::Evidence;
use serde_json::{Value, json};

use super::probe::{self, Ledger, Moved, ProbeTarget, RunningProbe, ServerChange};
use super::{
    Assertion, DrillError, DrillRecord, Ending, Interrupt, Mark, MarkKind, Timeline, allowed,
    database_url, dependents, interrupt_mark, interrupted, judged, ms_since, on_heap, rds_block,
    record, steady_state, stop_alarms, stop_alarms_abort,
};
use crate::aws;
use crate::check::CheckError;
use crate::gate::Gate;
use crate::iam::{self, Arns, Grant};

/// The public id of this drill's outcome.
pub const ID: &str = "drill.az_outage";

/// The probe table's name up to the run's start (ms since the epoch).
pub const TABLE_PREFIX: &str = "verify_az_";

/// The tag every experiment the drill starts carries (`verify:drill = drill.az_outage`).
pub const TAG_KEY: &str = "verify:drill";

fn drill_of(env: &Environment) -> Option<&AzOutageDrill> {
    env.drills.az_outage.as_ref()
}

fn template_arn(env: &Environment, a: &Arns<'_>) -> Vec<String> {
    drill_of(env)
        .and_then(|d| d.fis_experiment_template.as_deref())
        .map(|t| a.arn("fis", &format!("experiment-template/{t}")))
        .into_iter()
        .collect()
}

fn experiments(env: &Environment, a: &Arns<'_>) -> Vec<String> {
    if template_arn(env, a).is_empty() {
        return Vec::new();
    }
    vec![a.arn("fis", "experiment/*")]
}

fn drill_tag(_: &Environment, _: &Arns<'_>) -> Vec<String> {
    vec![ID.to_string()]
}

/// What this drill needs on AWS: starting its declared template (the
/// experiment tagged as the drill's), stopping that experiment when it
/// aborts, and the reads around them. Its write guard admits exactly the
/// writes among them; on the sandbox it writes nothing through AWS.
pub const GRANTS: &[Grant] = &[
    Grant::on(
        "DrillAzOutageStartExperiment",
        aws::fis::START_EXPERIMENT,
        |env, a| {
            let mut arns = template_arn(env, a);
            arns.extend(experiments(env, a));
            arns
        },
    )
    .condition("StringEquals", "aws:RequestTag/verify:drill", drill_tag)
    .write(),
    Grant::on(
        "DrillAzOutageStopExperiment",
        aws::fis::STOP_EXPERIMENT,
        experiments,
    )
    .condition("StringEquals", "aws:ResourceTag/verify:drill", drill_tag)
    .only_when("the drill aborts: a stop alarm, its timeout or a signal stops the experiment")
    .write(),
    Grant::on(
        "DrillAzOutageReadTemplate",
        aws::fis::GET_EXPERIMENT_TEMPLATE,
        template_arn,
    ),
    Grant::on(
        "DrillAzOutageReadExperiment",
        aws::fis::GET_EXPERIMENT,
        experiments,
    ),
    Grant::on(
        "DrillAzOutageDescribeDb",
        aws::rds::DESCRIBE_DB_INSTANCES,
        |env, a| match drill_of(env) {
            Some(d) => super::rds_of(env, d.rds.as_deref())
                .map(|r| a.db(&r.identifier))
                .into_iter()
                .collect(),
            None => Vec::new(),
        },
    ),
    Grant::on(
        "DrillReadStopAlarms",
        "cloudwatch:DescribeAlarms",
        |env, a| {
            drill_of(env)
                .iter()
                .flat_map(|d| &d.stop_alarms)
                .map(|n| a.alarm(n))
                .collect()
        },
    ),
];

/// The probes run this long before the cut (the baseline must be clean).
const BASELINE: Duration = Duration::from_secs(2);
/// Writes acknowledged this long in a row count as recovered.
const SETTLE: Duration = Duration::from_secs(1);
/// How often the cut, the service and the stop alarms are read.
const POLL: Duration = Duration::from_secs(1);

/// Runs the drill on `gate`'s environment with the steady state
/// `rds.*` and `pgbouncer.*`. `interrupt` ends it early (the harness passes
/// SIGINT and SIGTERM); the cut is ended and the probe table dropped
/// whatever happens.
pub async fn run(
    gate: &Gate,
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    Box::pin(run_with_steady_state(
        gate,
        &["rds.*", "pgbouncer.*"],
        interrupt,
    ))
    .await
}

/// [`run`] with another steady state (check-id globs), before and after:
/// how a test shows what clients see of a configuration a check refuses.
pub async fn run_with_steady_state(
    gate: &Gate,
    steady: &[&str],
    interrupt: impl Future<Output = String> + Send,
) -> Result<DrillRecord, DrillError> {
    let interrupt = Interrupt::new(interrupt);
    let env = gate.env();
    allowed(env)?;
    let drill = drill_of(env).cloned().ok_or_else(|| {
        DrillError::Setup(
            "drill az_outage: the spec has no `drills { az_outage { az = \"…\" } }` block".into(),
        )
    })?;
    dependents::refuse_writes(gate, &drill.dependents)?;
    let rds = rds_block(env, drill.rds.as_deref(), "az_outage")?;
    let pgbouncer = env.pgbouncer.as_ref().ok_or_else(|| {
        DrillError::Setup("drill az_outage: the spec has no pgbouncer block".into())
    })?;
    let max_unavailable = drill.max_unavailable.unwrap_or(rds.failover_budget);
    let cut = Cut::of(env, &drill)?;
    let url = database_url(
        &gate.context().run().secret_prefix,
        drill.database_url.as_deref(),
        &drill.database_url_env,
        "probes'",
        "postgres://user:password@<pgbouncer endpoint>/db",
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

    let (before, failing) = interrupt
        .before_fault(on_heap(|| steady_state(gate, steady)))
        .await?;
    if !failing.is_empty() {
        return Err(DrillError::SteadyState(failing.join("; ")));
    }
    interrupt
        .before_fault(stop_alarms(gate, &drill.stop_alarms))
        .await??;
    if let Cut::Fis { template } = &cut {
        let read = interrupt
            .before_fault(aws::fis::template(gate.aws(), template))
            .await?
            .map_err(|e| DrillError::Setup(e.to_string()))?;
        stop_conditions_match(env, &drill, &read).map_err(DrillError::Setup)?;
    }
    let primary_az = interrupt
        .before_fault(aws::rds::describe_now(gate.aws(), &rds.identifier))
        .await?
        .map_err(|e| DrillError::Setup(e.to_string()))?
        .and_then(|db| db.availability_zone().map(String::from));

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
    let mut progress = Progress::default();
    let body = follow(
        gate,
        &drill,
        pgbouncer,
        steady,
        &cut,
        &writer,
        t0,
        &mut marks,
        &mut progress,
    );
    let ending = interrupt.until(body).await;
    // Whatever ended the body, a cut still in force is ended first.
    let ended = end_cut(&cut, gate, &progress, &interrupt).await;
    if let Some(label) = &ended {
        marks.push(Mark {
            at_ms: ms_since(t0),
            kind: MarkKind::Cleanup,
            label: label.clone(),
        });
    }
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
    let writer_trace = writer.trace.clone();
    let reader_trace = reader.trace.clone();
    let ledger = writer.stop().await;
    reader.stop().await;
    timeline.probes = vec![
        writer_trace.lock().expect("trace").clone(),
        reader_trace.lock().expect("trace").clone(),
    ];
    let present = match (&ending, &ledger) {
        (Ok(Ending::Interrupted(_)) | Err(_), _) => Err("not read".to_string()),
        (_, None) => Err("the writer probe ended without its ledger (it panicked)".to_string()),
        _ => {
            interrupt
                .retry(Duration::from_secs(60), &format!("reading {table}"), || {
                    probe::ids_present(&target, &table)
                })
                .await
        }
    };
    let ledger = ledger.unwrap_or_default();
    let cleanup = interrupt
        .retry(
            Duration::from_secs(60),
            &format!("table {table} not dropped"),
            || probe::drop_table(&target, &table),
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
    let subject = format!("availability zone {}", drill.az);

    if let Ending::Interrupted(why) = &ending {
        let evidence = Evidence::of(subject).detail("table", table.clone());
        let mut left: Vec<String> = cleanup.err().into_iter().collect();
        left.extend(ended.filter(|l| l.starts_with("could not")));
        let outcome = interrupted(ID, why, &left, timeline.duration_ms, evidence);
        return Ok(record(env, outcome, timeline, before, Vec::new()));
    }

    let (after, failing_after) = steady_state(&gate.fresh(), steady).await;
    let mut assertions = judge(
        &drill,
        &timeline,
        &progress,
        primary_az.as_deref(),
        max_unavailable,
        &ledger,
        present.as_deref().map_err(String::as_str),
        &failing_after,
    );
    assertions.extend(dependents_recovered);
    let worst = worst_outage_ms(&timeline, progress.fault_ms).unwrap_or(0);
    let summary = format!(
        "{subject} cut for {} ({}): writer {}; clients unavailable {:.1} s (bound {}); {} acknowledged writes, {} missing; pgbouncer service back across ≥ 2 AZs {}",
        humantime::format_duration(drill.duration),
        cut.how(),
        writer_change(&timeline, progress.fault_ms).moved().as_str(),
        worst as f64 / 1000.0,
        humantime::format_duration(max_unavailable),
        ledger.acknowledged.len(),
        missing(&ledger, present.as_deref().ok()).map_or("?".to_string(), |m| m.len().to_string()),
        progress
            .service_back_ms
            .map(|ms| format!("{:.1} s after the AZ returned", ms as f64 / 1000.0))
            .unwrap_or_else(|| "—".into()),
    );
    let evidence = Evidence::of(subject)
        .resource(format!("rds instance '{}'", rds.identifier))
        .resource(format!(
            "ecs service '{}/{}'",
            pgbouncer.cluster, pgbouncer.service
        ))
        .detail("table", table)
        .detail("cut", cut.how())
        .detail("experiment", progress.experiment.clone())
        .detail("primary_az_before", primary_az)
        .detail("cut_report", progress.report.clone());
    let outcome = judged(
        ID,
        summary,
        &assertions,
        &ending,
        "back",
        cleanup.as_ref().err().map(String::as_str),
        timeline.duration_ms,
        evidence,
    );
    Ok(record(env, outcome, timeline, before, after))
}

// ---------------------------------------------------------------- the cut

/// Who cuts the AZ.
#[derive(Debug, Clone, PartialEq)]
enum Cut {
    /// The sandbox's stand-ins, through their control API.
    Sandbox { url: String },
    /// AWS FIS, the declared experiment template.
    Fis { template: String },
}

impl Cut {
    /// The sandbox's control call on a sandbox spec; the declared template
    /// on AWS; none declared there: exit 2.
    fn of(env: &Environment, drill: &AzOutageDrill) -> Result<Cut, DrillError> {
        if env.aws.sandbox {
            return drill
                .sandbox_control_url
                .clone()
                .map(|url| Cut::Sandbox { url })
                .ok_or_else(|| {
                    DrillError::Setup(
                        "drill az_outage: the sandbox's stand-ins have no control API in its state (run `cargo xtask sandbox up`)".into(),
                    )
                });
        }
        drill
            .fis_experiment_template
            .clone()
            .map(|template| Cut::Fis { template })
            .ok_or_else(|| {
                DrillError::Setup(format!(
                    "drill az_outage: no FIS experiment template declared: on AWS the AZ is cut by a declared AWS FIS experiment template (set `fis_experiment_template = \"EXT…\"` in `drills {{ az_outage {{ … }} }}`, its stop conditions the spec's stop alarms); nothing started in {}",
                    drill.az
                ))
            })
    }

    fn how(&self) -> String {
        match self {
            Cut::Sandbox { .. } => "the sandbox's stand-ins".into(),
            Cut::Fis { template } => format!("FIS experiment template {template}"),
        }
    }
}

/// The template's stop conditions must be exactly the spec's stop alarms
/// (by ARN); with none declared, exactly FIS's `none`.
fn stop_conditions_match(
    env: &Environment,
    drill: &AzOutageDrill,
    template: &aws::fis::Template,
) -> Result<(), String> {
    let arns = Arns::of(env);
    let expected: BTreeSet<String> = drill.stop_alarms.iter().map(|n| arns.alarm(n)).collect();
    let mut observed = BTreeSet::new();
    let mut other = Vec::new();
    for (source, value) in &template.stop_conditions {
        match (source.as_str(), value) {
            ("aws:cloudwatch:alarm", Some(arn)) => {
                observed.insert(arn.clone());
            }
            ("none", _) => {}
            (source, value) => other.push(format!("{source} {}", value.as_deref().unwrap_or(""))),
        }
    }
    if expected == observed && other.is_empty() {
        return Ok(());
    }
    Err(format!(
        "FIS experiment template {}: its stop conditions must be exactly the spec's stop alarms; expected [{}], observed [{}]; nothing started",
        template.id,
        expected.into_iter().collect::<Vec<_>>().join(", "),
        observed
            .into_iter()
            .chain(other)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The cut's state now: `(ended, label)`.
async fn cut_state(
    cut: &Cut,
    gate: &Gate,
    progress: &mut Progress,
) -> Result<(bool, String), String> {
    match cut {
        Cut::Sandbox { url } => {
            let state = control(url, "GET", "/az-outage", None).await?;
            let phase = state["phase"].as_str().unwrap_or("unknown").to_string();
            let ended = matches!(phase.as_str(), "returned" | "failed" | "idle");
            // The stand-ins' full report (what was cut, promoted, replaced)
            // once the AZ is back.
            if ended && !state["report"].is_null() {
                progress.report = Some(state["report"].clone());
            }
            Ok((ended, format!("AZ {phase}")))
        }
        Cut::Fis { .. } => {
            let Some(id) = &progress.experiment else {
                return Err("no experiment started".into());
            };
            let (status, reason) = aws::fis::status(gate.aws(), id)
                .await
                .map_err(|e| e.to_string())?;
            Ok((
                aws::fis::ended(&status),
                format!(
                    "experiment {status}{}",
                    reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ),
            ))
        }
    }
}

/// Ends a cut still in force (an abort, a timeout, a signal): the sandbox's
/// AZ back, or the experiment stopped. `None` when there was nothing to end.
async fn end_cut(
    cut: &Cut,
    gate: &Gate,
    progress: &Progress,
    interrupt: &Interrupt<'_>,
) -> Option<String> {
    if progress.fault_ms.is_none() || progress.returned_ms.is_some() {
        return None;
    }
    let done = match cut {
        Cut::Sandbox { url } => interrupt
            .retry(Duration::from_secs(120), "the AZ not brought back", || {
                control(url, "POST", "/az-outage/end", None)
            })
            .await
            .map(|_| "the AZ brought back (POST /az-outage/end)".to_string()),
        Cut::Fis { .. } => {
            let id = progress.experiment.clone()?;
            let _guard = gate.aws().mode.allow_writes(&iam::writes(GRANTS));
            interrupt
                .retry(
                    Duration::from_secs(60),
                    &format!("FIS experiment {id} not stopped"),
                    || aws::fis::stop(gate.aws(), &id),
                )
                .await
                .map(|()| format!("StopExperiment {id}"))
        }
    };
    Some(done.unwrap_or_else(|e| format!("could not end the cut: {e}")))
}

/// One call to the sandbox stand-ins' control API (plain HTTP on
/// loopback): the answer's JSON, or why not.
async fn control(
    url: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("the control API {url} is not http://"))?
        .trim_end_matches('/');
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(180), exchange)
        .await
        .map_err(|_| format!("{method} {path}: no answer within 180 s"))?
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_ref(), ""));
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status != "200" {
        return Err(format!("{method} {path}: HTTP {status}: {}", body.trim()));
    }
    serde_json::from_str(body.trim()).map_err(|e| format!("{method} {path}: {e}"))
}

// ---------------------------------------------------------------- the wait

/// `(runningCount, desiredCount, AZs with a RUNNING task)` of the service.
type ServiceNow = (i32, i32, Vec<String>);

/// What the wait saw, for the assertions.
#[derive(Debug, Default, Clone, PartialEq)]
struct Progress {
    /// When the cut was made, from the drill's start.
    fault_ms: Option<u64>,
    /// When the AZ was seen back (the cut ended).
    returned_ms: Option<u64>,
    /// From the AZ's return to the service at its desired count across
    /// ≥ 2 AZs with the `pgbouncer.*` checks passing.
    service_back_ms: Option<u64>,
    /// The service as last seen: running, desired, the AZs with a task.
    service: Option<ServiceNow>,
    /// The service read just before the cut (`Err`: it could not be read).
    service_before: Option<Result<ServiceNow, String>>,
    /// The FIS experiment's id.
    experiment: Option<String>,
    /// What the sandbox's control call answered.
    report: Option<Value>,
}

/// Cuts the AZ and waits for it to return and for everything to recover,
/// bounded; records marks.
#[allow(clippy::too_many_arguments)]
async fn follow(
    gate: &Gate,
    drill: &AzOutageDrill,
    pgbouncer: &PgbouncerSpec,
    steady: &[&str],
    cut: &Cut,
    writer: &RunningProbe<Ledger>,
    t0: Instant,
    marks: &mut Vec<Mark>,
    progress: &mut Progress,
) -> Result<Ending, DrillError> {
    tokio::time::sleep(BASELINE).await;
    let (samples, failed) = writer.trace.lock().expect("trace").counts();
    if samples == 0 || failed > 0 {
        return Err(DrillError::SteadyState(format!(
            "the writer took {samples} sample(s) in {}, {failed} failed, before any fault; the probes' path is not healthy",
            humantime::format_duration(BASELINE)
        )));
    }
    stop_alarms(gate, &drill.stop_alarms).await?;
    // Where the tasks run as the AZ goes: a service with every task there
    // is down until ECS starts new ones elsewhere, however fast that is.
    progress.service_before = Some(service(gate, pgbouncer).await.map_err(|e| e.to_string()));
    let fault_ms = ms_since(t0);
    progress.fault_ms = Some(fault_ms);
    let label = match cut {
        Cut::Sandbox { url } => {
            let report = control(
                url,
                "POST",
                "/az-outage",
                Some(json!({ "az": drill.az, "duration_ms": drill.duration.as_millis() as u64 })),
            )
            .await
            .map_err(|e| {
                progress.fault_ms = None;
                DrillError::Setup(format!("the sandbox's AZ outage: {e}"))
            })?;
            progress.report = Some(report);
            format!(
                "AZ {} cut for {} (stand-ins)",
                drill.az,
                humantime::format_duration(drill.duration)
            )
        }
        Cut::Fis { template } => {
            let token = format!(
                "verify-az-outage-{}",
                t0.elapsed().as_nanos() ^ std::process::id() as u128
            );
            let started = {
                let _guard = gate.aws().mode.allow_writes(&iam::writes(GRANTS));
                aws::fis::start(gate.aws(), template, &token).await
            };
            let id = started.map_err(|e| {
                progress.fault_ms = None;
                DrillError::Setup(e.to_string())
            })?;
            progress.experiment = Some(id.clone());
            format!("StartExperiment {template} → {id} (AZ {})", drill.az)
        }
    };
    marks.push(Mark {
        at_ms: fault_ms,
        kind: MarkKind::Fault,
        label,
    });

    let deadline = Instant::now() + drill.timeout;
    let mut last_cut: Option<String> = None;
    let mut last_service: Option<ServiceNow> = None;
    loop {
        tokio::time::sleep(POLL).await;
        if Instant::now() >= deadline {
            return Ok(Ending::TimedOut(drill.timeout));
        }
        if let Some(abort) = stop_alarms_abort(gate, &drill.stop_alarms, t0, marks).await {
            return Ok(abort);
        }
        if progress.returned_ms.is_none()
            && let Ok((ended, label)) = cut_state(cut, gate, progress).await
        {
            if last_cut.as_ref() != Some(&label) {
                marks.push(Mark {
                    at_ms: ms_since(t0),
                    kind: MarkKind::Status,
                    label: label.clone(),
                });
                last_cut = Some(label);
            }
            if ended {
                progress.returned_ms = Some(ms_since(t0));
            }
        }
        if let Ok(service) = service(gate, pgbouncer).await
            && last_service.as_ref() != Some(&service)
        {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Status,
                label: format!(
                    "service {}/{} running in {}",
                    service.0,
                    service.1,
                    service.2.join(", ")
                ),
            });
            last_service = Some(service.clone());
            progress.service = Some(service);
        }
        let Some(returned_ms) = progress.returned_ms else {
            continue;
        };
        let spread = progress
            .service
            .as_ref()
            .is_some_and(|(running, desired, azs)| {
                running >= desired && *desired > 0 && azs.len() >= 2
            });
        if spread && progress.service_back_ms.is_none() {
            let (_, failing) = steady_state(&gate.fresh(), &["pgbouncer.*"]).await;
            if failing.is_empty() {
                progress.service_back_ms = Some(ms_since(t0).saturating_sub(returned_ms));
                marks.push(Mark {
                    at_ms: ms_since(t0),
                    kind: MarkKind::Recovered,
                    label:
                        "pgbouncer service at its desired count across ≥ 2 AZs, pgbouncer.* pass"
                            .into(),
                });
            }
        }
        let writing = {
            let trace = writer.trace.lock().expect("trace");
            trace.spans.last().is_some_and(|s| {
                s.ok && ms_since(t0).saturating_sub(s.from_ms) >= SETTLE.as_millis() as u64
            })
        };
        let waited =
            ms_since(t0).saturating_sub(returned_ms) > drill.max_recovery.as_millis() as u64;
        if writing && (progress.service_back_ms.is_some() || waited) {
            marks.push(Mark {
                at_ms: ms_since(t0),
                kind: MarkKind::Recovered,
                label: "AZ back, writes acknowledged".into(),
            });
            let _ = steady;
            return Ok(Ending::Recovered);
        }
    }
}

/// `(runningCount, desiredCount, AZs with a RUNNING task)` of the service now.
async fn service(gate: &Gate, spec: &PgbouncerSpec) -> Result<ServiceNow, CheckError> {
    let fresh = gate.fresh();
    let (running, desired) = aws::ecs::service_now(fresh.aws(), &spec.cluster, &spec.service)
        .await?
        .map(|s| (s.running_count(), s.desired_count()))
        .ok_or(CheckError::NotFound {
            operation: aws::ecs::DESCRIBE_SERVICES.into(),
            resource: format!("ecs service '{}/{}'", spec.cluster, spec.service),
        })?;
    let tasks = crate::checks::pgbouncer::placed_tasks(fresh.context(), spec).await?;
    let azs: BTreeSet<String> = tasks.into_iter().filter_map(|t| t.az).collect();
    Ok((running, desired, azs.into_iter().collect()))
}

// ---------------------------------------------------------------- the verdict

/// Acknowledged ids missing from the table.
fn missing(ledger: &Ledger, present: Option<&[i64]>) -> Option<Vec<i64>> {
    let present: BTreeSet<i64> = present?.iter().copied().collect();
    Some(
        ledger
            .acknowledged
            .iter()
            .copied()
            .filter(|id| !present.contains(id))
            .collect(),
    )
}

/// The longest client-observed outage after the cut, over all probes.
fn worst_outage_ms(timeline: &Timeline, fault_ms: Option<u64>) -> Option<u64> {
    let fault_ms = fault_ms?;
    timeline
        .probes
        .iter()
        .filter_map(|p| p.unavailable_after(fault_ms))
        .map(|o| o.duration_ms())
        .max()
}

/// The writer's servers around the cut.
fn writer_change(timeline: &Timeline, fault_ms: Option<u64>) -> ServerChange {
    let empty = report_model::timeline::ProbeTrace::new("writer");
    let writer = timeline
        .probes
        .iter()
        .find(|p| p.name == "writer")
        .unwrap_or(&empty);
    ServerChange::of(writer, fault_ms.unwrap_or(u64::MAX))
}

/// The drill's assertions, each with expected and observed.
#[allow(clippy::too_many_arguments)]
fn judge(
    drill: &AzOutageDrill,
    timeline: &Timeline,
    progress: &Progress,
    primary_az: Option<&str>,
    max_unavailable: Duration,
    ledger: &Ledger,
    present: Result<&[i64], &str>,
    failing_after: &[String],
) -> Vec<Assertion> {
    let fault_ms = progress.fault_ms;
    let outages: Vec<Value> = timeline
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
    let lost = present.ok().and_then(|p| missing(ledger, Some(p)));
    let change = writer_change(timeline, fault_ms);
    // The primary in the cut AZ must move; a cut standby leaves the writer where it was.
    let primary_cut = primary_az == Some(drill.az.as_str());
    let want = if primary_cut {
        Moved::ToAnotherServer
    } else {
        Moved::Unchanged
    };
    let max_recovery_ms = drill.max_recovery.as_millis() as u64;
    vec![
        Assertion {
            name: "db_failed_over",
            holds: fault_ms.is_some() && change.moved() == want,
            expected: json!({
                "primary_az": primary_az,
                "writer": want.as_str(),
            }),
            observed: json!({
                "moved": change.moved().as_str(),
                "before": change.before,
                "after": change.after,
                "changed_at_ms": change.changed_at_ms,
            }),
        },
        Assertion {
            name: "pgbouncer_service",
            holds: failing_after.is_empty()
                && progress
                    .service_back_ms
                    .is_some_and(|ms| ms <= max_recovery_ms),
            expected: json!({
                "desired_count": "running",
                "min_azs": 2,
                "pgbouncer_checks": "pass",
                "max_recovery_ms": max_recovery_ms,
            }),
            observed: json!({
                "back_after_az_returned_ms": progress.service_back_ms,
                "service": progress.service.as_ref().map(|(r, d, azs)| json!({
                    "running": r, "desired": d, "azs": azs,
                })),
                "failing_checks": failing_after,
            }),
        },
        Assertion {
            name: "pgbouncer_survives_az",
            holds: matches!(
                &progress.service_before,
                Some(Ok((running, _, azs))) if *running > 0 && azs.iter().any(|az| *az != drill.az)
            ),
            expected: json!({ "running_outside": drill.az, "min_tasks": 1 }),
            observed: match &progress.service_before {
                Some(Ok((running, desired, azs))) => json!({
                    "running": running, "desired": desired, "azs": azs,
                }),
                Some(Err(e)) => json!({ "error": e }),
                None => json!({ "error": "not read: the drill ended before the cut" }),
            },
        },
        Assertion {
            name: "unavailability_within_budget",
            holds: fault_ms.is_some()
                && all_recovered
                && worst <= max_unavailable.as_millis() as u64,
            expected: json!({ "max_ms": max_unavailable.as_millis() as u64 }),
            observed: json!({ "worst_ms": worst, "probes": outages }),
        },
        Assertion {
            name: "no_acknowledged_write_lost",
            holds: lost.as_ref().is_some_and(|l| l.is_empty()),
            expected: json!({ "missing": 0 }),
            observed: match (&lost, present) {
                (Some(l), _) => json!({
                    "acknowledged": ledger.acknowledged.len(),
                    "missing": l.len(),
                    "missing_ids": l.iter().take(20).collect::<Vec<_>>(),
                    "indeterminate": ledger.indeterminate.len(),
                }),
                (None, Err(e)) => json!({ "error": e }),
                (None, Ok(_)) => Value::Null,
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(sandbox: bool, template: Option<&str>, alarms: &[&str]) -> Environment {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../infra-tests/environments/sandbox.hcl");
        let source = std::fs::read_to_string(&path).expect("the sandbox spec");
        let mut env = envspec::parse(&source, &path).expect("the sandbox spec");
        env.aws.sandbox = sandbox;
        let mut drill = AzOutageDrill::defaults("eu-central-1a");
        drill.fis_experiment_template = template.map(String::from);
        drill.stop_alarms = alarms.iter().map(|a| a.to_string()).collect();
        env.drills.az_outage = Some(drill);
        env
    }

    #[test]
    fn on_aws_without_a_template_nothing_is_started() {
        let env = env_with(false, None, &[]);
        let err = Cut::of(&env, env.drills.az_outage.as_ref().unwrap()).unwrap_err();
        assert!(matches!(err, DrillError::Setup(_)));
        assert!(
            err.to_string()
                .contains("no FIS experiment template declared"),
            "{err}"
        );
        let env = env_with(false, Some("EXT1"), &[]);
        assert_eq!(
            Cut::of(&env, env.drills.az_outage.as_ref().unwrap()).unwrap(),
            Cut::Fis {
                template: "EXT1".into()
            }
        );
        let env = env_with(true, Some("EXT1"), &[]);
        assert!(matches!(
            Cut::of(&env, env.drills.az_outage.as_ref().unwrap()),
            Err(DrillError::Setup(m)) if m.contains("control API")
        ));
    }

    #[test]
    fn the_template_s_stop_conditions_must_be_exactly_the_stop_alarms() {
        let env = env_with(false, Some("EXT1"), &["db-errors"]);
        let drill = env.drills.az_outage.clone().unwrap();
        let arn = Arns::of(&env).alarm("db-errors");
        let template = |conds: Vec<(&str, Option<&str>)>| aws::fis::Template {
            id: "EXT1".into(),
            stop_conditions: conds
                .into_iter()
                .map(|(s, v)| (s.to_string(), v.map(String::from)))
                .collect(),
            actions: vec![],
        };
        assert_eq!(
            stop_conditions_match(
                &env,
                &drill,
                &template(vec![("aws:cloudwatch:alarm", Some(&arn))])
            ),
            Ok(())
        );
        let none = stop_conditions_match(&env, &drill, &template(vec![("none", None)]));
        assert!(none.unwrap_err().contains("observed []"));
        let extra = Arns::of(&env).alarm("other");
        let more = stop_conditions_match(
            &env,
            &drill,
            &template(vec![
                ("aws:cloudwatch:alarm", Some(&arn)),
                ("aws:cloudwatch:alarm", Some(&extra)),
            ]),
        );
        assert!(more.unwrap_err().contains("alarm:other"));
        let quiet = env_with(false, Some("EXT1"), &[]);
        let quiet_drill = quiet.drills.az_outage.clone().unwrap();
        assert_eq!(
            stop_conditions_match(&quiet, &quiet_drill, &template(vec![("none", None)])),
            Ok(())
        );
    }

    #[test]
    fn the_grants_are_the_template_s_and_the_tagged_experiments() {
        let env = env_with(false, Some("EXT1"), &["db-errors"]);
        let writes = iam::writes(GRANTS);
        assert_eq!(
            writes,
            vec![aws::fis::START_EXPERIMENT, aws::fis::STOP_EXPERIMENT]
        );
        let a = Arns::of(&env);
        assert_eq!(
            template_arn(&env, &a),
            vec![a.arn("fis", "experiment-template/EXT1")]
        );
        let none = env_with(false, None, &[]);
        assert!(experiments(&none, &Arns::of(&none)).is_empty());
    }
}
