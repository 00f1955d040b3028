//! Drills: inject one fault through the AWS API and judge what a client saw.
//!
//! Every drill has the same shape:
//! 1. consent: the spec's `drills { allowed = true }` (the harness also asks
//!    for `--yes`); without it nothing is touched ([`DrillError::NotAllowed`]);
//! 2. steady state: the area's state checks pass first, or nothing is
//!    injected ([`DrillError::SteadyState`]);
//! 3. probes start before the fault and sample every ≤ 50 ms ([`probe`]);
//! 4. the fault goes through the AWS API under a write guard admitting
//!    exactly the drill's operations ([`crate::aws::AccessMode::allow_writes`]);
//! 5. wait for recovery, bounded, with stop conditions (an alarm in
//!    `ALARM`, an outage past the abort bound);
//! 6. assert, and run the steady-state checks again;
//! 7. clean up on every exit path (success, failure, timeout, panic, Ctrl-C);
//! 8. report a [`DrillRecord`]: the outcome (`drill.<name>`), evidence and a
//!    [`Timeline`].
//!
//! Exit codes follow: 0 every assertion held, 1 one failed, 2 could not run.

pub mod pgbouncer_drain;
pub mod pitr_restore;
// Public for the drill benchmark and suites; not part of the API.
#[doc(hidden)]
pub mod probe;
pub mod rds_failover;
pub(crate) mod workload;

/// Every drill's id and the IAM permissions it needs ([`crate::iam`]): the
/// drill policy (`verify iam-policy --drills`) and each drill's write guard
/// come from these.
pub const GRANTS: [(&str, &[crate::iam::Grant]); 3] = [
    (rds_failover::ID, rds_failover::GRANTS),
    (pgbouncer_drain::ID, pgbouncer_drain::GRANTS),
    (pitr_restore::ID, pitr_restore::GRANTS),
];

use std::time::Duration;

pub use report_model::DrillRecord;
pub use report_model::timeline::{Mark, MarkKind, ProbeTrace, Timeline, render};

use envspec::{Environment, RdsSpec};
use report_model::Evidence;
use serde_json::json;

use crate::check::Outcome;
use crate::gate::Gate;
use crate::{Selection, Status};

/// Why a drill could not run (exit 2). Nothing was injected, or, where the
/// message says so, cleanup ran.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    /// The spec does not allow drills.
    #[error(
        "environment '{0}' does not allow drills (set `drills {{ allowed = true }}` in its spec)"
    )]
    NotAllowed(String),
    /// The steady-state checks did not all pass; nothing was injected.
    #[error("steady state not met, nothing injected: {0}")]
    SteadyState(String),
    /// Could not set up (no URL, no instance, a refused call); the message says how far it got.
    #[error("{0}")]
    Setup(String),
}

/// How a drill's body ended, before the verdict.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Ending {
    /// Recovery was seen; the assertions decide.
    Recovered,
    /// The wait passed its bound.
    TimedOut(Duration),
    /// A stop condition fired.
    Aborted(String),
    /// Ctrl-C (or the drill's task panicked): cleanup ran, no verdict.
    Interrupted(String),
}

/// One assertion of a drill: what was required, what was measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Assertion {
    /// Its name in the report (`writer_changed`).
    pub name: &'static str,
    /// Whether it held.
    pub holds: bool,
    /// What was required.
    pub expected: serde_json::Value,
    /// What was measured.
    pub observed: serde_json::Value,
}

/// Runs the checks `globs` selects with a fresh gate; all must pass (or skip).
pub async fn steady_state(gate: &Gate, globs: &[&str]) -> (Vec<Outcome>, Vec<String>) {
    let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
    let selection = Selection::new(&globs, &[]).unwrap_or_else(|_| Selection::all());
    let outcomes = gate.run(&selection, |_| {}).await;
    let failing = outcomes
        .iter()
        .filter(|o| !matches!(o.status, Status::Pass | Status::Skip))
        .map(|o| format!("{} {}: {}", o.id, o.status.as_str(), o.message))
        .collect();
    (outcomes, failing)
}

/// Milliseconds since `t0`.
pub(crate) fn ms_since(t0: std::time::Instant) -> u64 {
    t0.elapsed().as_millis() as u64
}

/// The drill's record: its outcome, timeline and the steady-state checks around it.
pub(crate) fn record(
    env: &Environment,
    outcome: Outcome,
    timeline: Timeline,
    before: Vec<Outcome>,
    after: Vec<Outcome>,
) -> DrillRecord {
    DrillRecord {
        environment: env.name.clone(),
        outcome,
        timeline,
        steady_state_before: before,
        steady_state_after: after,
    }
}

/// `evidence` with each assertion's expected and observed under its name,
/// and the assertions themselves (`holds`) as a detail.
pub(crate) fn assertions_evidence(evidence: Evidence, assertions: &[Assertion]) -> Evidence {
    evidence
        .expected(json!(
            assertions
                .iter()
                .map(|a| (a.name.to_string(), a.expected.clone()))
                .collect::<serde_json::Map<_, _>>()
        ))
        .observed(json!(
            assertions
                .iter()
                .map(|a| (a.name.to_string(), a.observed.clone()))
                .collect::<serde_json::Map<_, _>>()
        ))
        .detail("assertions", json!(assertions))
}

/// The first stop alarm in `ALARM`, metric or composite. A failed read is
/// not a stop (the drill goes on; the next poll asks again).
pub(crate) async fn alarm_firing(gate: &Gate, alarms: &[String]) -> Option<String> {
    if alarms.is_empty() {
        return None;
    }
    let out = crate::aws::cloudwatch::alarms_now(gate.aws(), alarms)
        .await
        .ok()?;
    let metric = out.metric.iter().map(|a| (a.alarm_name(), a.state_value()));
    let composite = out
        .composite
        .iter()
        .map(|a| (a.alarm_name(), a.state_value()));
    metric
        .chain(composite)
        .find(|(_, state)| state.map(|s| s.as_str()) == Some("ALARM"))
        .and_then(|(name, _)| name.map(String::from))
}

/// Retries `attempt` every 500 ms until it succeeds or `within` passes (the
/// database may still be recovering); the last error otherwise.
pub(crate) async fn retry_for<T, E, F, Fut>(within: Duration, mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        match attempt().await {
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            result => return result,
        }
    }
}

/// The `rds` block a drill acts on: the one labelled `label`, or the only one.
pub(crate) fn rds_block<'a>(
    env: &'a Environment,
    label: Option<&str>,
    drill: &str,
) -> Result<&'a RdsSpec, DrillError> {
    rds_of(env, label).ok_or_else(|| {
        DrillError::Setup(format!(
            "drill {drill}: no rds block {} in the spec",
            label
                .map(|l| format!("\"{l}\""))
                .unwrap_or_else(|| "(exactly one expected)".into())
        ))
    })
}

/// The rds block `label` names, or the only one when none is named.
pub(crate) fn rds_of<'a>(env: &'a Environment, label: Option<&str>) -> Option<&'a RdsSpec> {
    match label {
        Some(label) => env.rds.iter().find(|r| r.label == label),
        None if env.rds.len() == 1 => env.rds.first(),
        None => None,
    }
}

/// Runs a drill's body until it ends or `interrupt` fires (Ctrl-C). A panic
/// in the body ends it as [`Ending::Interrupted`] too, so the cleanup that
/// follows the call runs on every path.
pub(crate) async fn until_interrupted(
    body: impl std::future::Future<Output = Result<Ending, DrillError>>,
    interrupt: impl std::future::Future<Output = String>,
) -> Result<Ending, DrillError> {
    use futures_util::FutureExt;
    let body = std::panic::AssertUnwindSafe(body).catch_unwind();
    tokio::select! {
        ending = body => ending.unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            Ok(Ending::Interrupted(format!("the drill panicked: {why}")))
        }),
        why = interrupt => Ok(Ending::Interrupted(why)),
    }
}

/// A drill's outcome once it ran: `pass` when the body recovered, every
/// assertion held and cleanup succeeded; otherwise `fail`, the summary
/// followed by each problem (how the wait ended, each assertion that did not
/// hold with expected and observed, the cleanup's error). `waited` names
/// what the wait was for ("recovered", "available", …).
#[allow(clippy::too_many_arguments)]
pub(crate) fn judged(
    id: &str,
    summary: String,
    assertions: &[Assertion],
    ending: &Ending,
    waited: &str,
    cleanup: Option<&str>,
    duration_ms: u64,
    evidence: Evidence,
) -> Outcome {
    let mut problems: Vec<String> = match ending {
        Ending::Recovered => Vec::new(),
        Ending::TimedOut(after) => vec![format!(
            "not {waited} within {}",
            humantime::format_duration(*after)
        )],
        Ending::Aborted(why) => vec![format!("aborted: {why}")],
        Ending::Interrupted(why) => vec![format!("interrupted: {why}")],
    };
    problems.extend(assertions.iter().filter(|a| !a.holds).map(|a| {
        format!(
            "{}: expected {}, observed {}",
            a.name, a.expected, a.observed
        )
    }));
    problems.extend(cleanup.map(|e| format!("cleanup: {e}")));
    let (status, message) = if problems.is_empty() {
        (Status::Pass, summary)
    } else {
        (Status::Fail, format!("{summary}; {}", problems.join("; ")))
    };
    Outcome {
        id: id.into(),
        status,
        message,
        duration_ms,
        evidence: assertions_evidence(evidence, assertions),
    }
}

/// The outcome of a drill interrupted (Ctrl-C, a panic): `error`, no
/// verdict, whether its cleanup succeeded in the evidence.
pub(crate) fn interrupted(
    id: &str,
    why: &str,
    cleanup_ok: bool,
    duration_ms: u64,
    evidence: Evidence,
) -> Outcome {
    Outcome {
        id: id.into(),
        status: Status::Error,
        message: format!("interrupted ({why}); cleanup ran, no verdict"),
        duration_ms,
        evidence: evidence.detail("cleanup", cleanup_ok),
    }
}

/// Consent in the spec: `drills { allowed = true }`, or nothing is touched.
pub(crate) fn allowed(env: &Environment) -> Result<(), DrillError> {
    if env.drills.allowed {
        Ok(())
    } else {
        Err(DrillError::NotAllowed(env.name.clone()))
    }
}

/// A drill's database URL: the one the harness filled in (the sandbox's),
/// else the environment variable the spec names, never the spec itself.
/// A blank value counts as unset; whitespace around the URL is dropped (a
/// URL's own spaces are percent-encoded). It is parsed once, by
/// tokio-postgres, where it is used ([`probe::ProbeTarget::from_url`]); it
/// holds the password, so it goes into no message. `whose` and `shape` are
/// for the message when neither is set.
pub(crate) fn database_url(
    filled: Option<&str>,
    variable: &str,
    whose: &str,
    shape: &str,
) -> Result<String, DrillError> {
    let set = |url: &str| {
        Some(url.trim())
            .filter(|url| !url.is_empty())
            .map(String::from)
    };
    filled
        .and_then(set)
        .or_else(|| std::env::var(variable).ok().as_deref().and_then(set))
        .ok_or_else(|| {
            DrillError::Setup(format!(
                "the {whose} database URL is not set: export {variable} ({shape})"
            ))
        })
}
