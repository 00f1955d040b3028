//! Drills: inject one fault through the AWS API and judge what a client saw.
//!
//! Every drill has the same shape:
//! 1. consent: the spec's `drills { allowed = true }` (the harness also asks
//!    for `--yes`); without it nothing is touched ([`DrillError::NotAllowed`]);
//! 2. steady state: the area's state checks pass first, or nothing is
//!    injected ([`DrillError::SteadyState`]); so does every stop alarm:
//!    found, readable and not in `ALARM` ([`DrillError::StopAlarm`]);
//! 3. probes start before the fault and sample every ≤ 50 ms ([`probe`]);
//! 4. the fault goes through the AWS API under a write guard admitting
//!    exactly the drill's operations ([`crate::aws::AccessMode::allow_writes`]);
//! 5. wait for recovery, bounded, with stop conditions (a stop alarm in
//!    `ALARM` or unreadable, an outage past the abort bound);
//! 6. assert, and run the steady-state checks again;
//! 7. clean up on every exit path (success, failure, timeout, panic, SIGINT
//!    and SIGTERM, within [`CLEANUP_GRACE`] of the signal; before the fault
//!    a signal ends the drill with nothing injected,
//!    [`DrillError::Interrupted`]);
//! 8. report a [`DrillRecord`]: the outcome (`drill.<name>`), evidence and a
//!    [`Timeline`].
//!
//! Exit codes follow: 0 every assertion held, 1 one failed, 2 could not run.

pub mod alarm_route;
pub mod az_outage;
pub(crate) mod dependents;
pub mod leftovers;
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
pub const GRANTS: [(&str, &[crate::iam::Grant]); 5] = [
    (rds_failover::ID, rds_failover::GRANTS),
    (pgbouncer_drain::ID, pgbouncer_drain::GRANTS),
    (pitr_restore::ID, pitr_restore::GRANTS),
    (alarm_route::ID, alarm_route::GRANTS),
    (az_outage::ID, az_outage::GRANTS),
];

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::Shared;

pub use report_model::DrillRecord;
pub use report_model::timeline::{Mark, MarkKind, ProbeTrace, Timeline, render};

use envspec::{Environment, RdsSpec};
use report_model::Evidence;
use serde_json::json;

use crate::check::{CheckError, Outcome};
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
    /// A stop alarm is missing, unreadable or in `ALARM` before the fault;
    /// nothing was injected (whatever the drill had set up was cleaned up).
    #[error("stop condition before the fault, nothing injected: {0}")]
    StopAlarm(#[from] StopAlarmError),
    /// SIGINT or SIGTERM (the harness's interrupt) came before the fault;
    /// nothing was injected.
    #[error("interrupted ({0}) before the fault: nothing injected")]
    Interrupted(String),
}

/// Why a drill's stop alarms stop it: before the fault a refusal (exit 2,
/// nothing injected), during the wait a stop condition (it aborts and cleans
/// up). A stop condition that cannot be read is treated as one that fired.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StopAlarmError {
    /// No metric or composite alarm has these names: a misspelt stop alarm
    /// would never fire, leaving the drill without its stop condition.
    #[error(
        "stop alarm {} not found: expected a metric or composite alarm by that name, observed none (DescribeAlarms)",
        quoted(.0)
    )]
    Missing(Vec<String>),
    /// The alarms could not be read (AccessDenied, throttled past every
    /// retry, unreachable).
    #[error(
        "stop alarm {} unreadable: expected its state, observed {error}",
        quoted(names)
    )]
    Unreadable {
        /// The alarms asked for.
        names: Vec<String>,
        /// Why the read failed.
        #[source]
        error: CheckError,
    },
    /// The alarm is in `ALARM`.
    #[error(
        "stop alarm '{name}' in ALARM: expected OK or INSUFFICIENT_DATA, observed ALARM{}",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    Firing {
        /// The alarm's name.
        name: String,
        /// Its `StateReason`, as CloudWatch gave it.
        reason: Option<String>,
    },
}

/// `'a', 'b'`.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
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
    /// SIGINT or SIGTERM (or the drill's task panicked): cleanup ran, no verdict.
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

/// Reads every declared stop alarm now (never the cache), metric or
/// composite, and resolves each by name: `Ok` when every one exists and
/// none is in `ALARM` (`INSUFFICIENT_DATA` is not firing). A read that fails
/// is [`StopAlarmError::Unreadable`], never "not firing". No alarm declared:
/// `Ok`, without a call.
pub(crate) async fn stop_alarms(gate: &Gate, names: &[String]) -> Result<(), StopAlarmError> {
    if names.is_empty() {
        return Ok(());
    }
    let read = crate::aws::cloudwatch::alarms_now(gate.aws(), names)
        .await
        .map_err(|error| StopAlarmError::Unreadable {
            names: names.to_vec(),
            error,
        })?;
    let metric = read
        .metric
        .iter()
        .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
    let composite = read
        .composite
        .iter()
        .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
    let found: Vec<_> = metric.chain(composite).collect();
    if let Some((name, _, reason)) = found
        .iter()
        .find(|(_, state, _)| state.is_some_and(|s| s.as_str() == "ALARM"))
    {
        return Err(StopAlarmError::Firing {
            name: name.unwrap_or_default().to_string(),
            reason: reason.map(String::from),
        });
    }
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !found.iter().any(|(name, _, _)| *name == Some(n.as_str())))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StopAlarmError::Missing(missing))
    }
}

/// A stop condition during the wait: the stop alarms read again, any
/// [`StopAlarmError`] (in `ALARM`, and as much unreadable or gone) an abort
/// mark and [`Ending::Aborted`].
pub(crate) async fn stop_alarms_abort(
    gate: &Gate,
    names: &[String],
    t0: Instant,
    marks: &mut Vec<Mark>,
) -> Option<Ending> {
    let stop = stop_alarms(gate, names).await.err()?;
    marks.push(Mark {
        at_ms: ms_since(t0),
        kind: MarkKind::Abort,
        label: stop.to_string(),
    });
    Some(Ending::Aborted(format!("stop condition: {stop}")))
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

/// The future `make` makes, on the heap, made in a frame of its own. A
/// debug build gives every future an async fn constructs a stack slot of
/// its full size (the SDK's are large); made here, the caller's frame holds
/// a pointer, and a drill's stays within a test thread's 2 MiB.
#[inline(never)]
pub(crate) fn on_heap<F: Future>(make: impl FnOnce() -> F) -> Pin<Box<F>> {
    Box::pin(make())
}

/// An abort mark when a signal (or a panic) ended the body, at that
/// moment: the timeline shows how soon each undo followed it.
pub(crate) fn interrupt_mark(ending: &Result<Ending, DrillError>, t0: Instant) -> Option<Mark> {
    match ending {
        Ok(Ending::Interrupted(why)) => Some(Mark {
            at_ms: ms_since(t0),
            kind: MarkKind::Abort,
            label: format!("interrupted: {why}"),
        }),
        _ => None,
    }
}

/// How long cleanup keeps retrying and waiting once a signal came; then
/// what is left is reported. Every undo call is issued before it runs out;
/// under GitHub Actions' cancel (SIGINT, SIGTERM about 7.5 s later, SIGKILL
/// about 2.5 s after that) the report is written before the SIGTERM.
pub const CLEANUP_GRACE: Duration = Duration::from_secs(5);

/// The pause between two attempts of a cleanup step.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// A drill's interrupt (the harness passes SIGINT and SIGTERM), watched
/// from the drill's first step to the end of its cleanup: before the fault
/// it ends the drill with nothing injected ([`DrillError::Interrupted`]);
/// during the body it ends the body (cleanup runs, no verdict); during
/// cleanup it cuts every retry and wait to [`CLEANUP_GRACE`] after it.
/// Shared: cleanup steps watch it side by side (their undo calls go out
/// together, a slow one holding up none of the others).
pub(crate) struct Interrupt<'a> {
    signal: Shared<Pin<Box<dyn Future<Output = String> + Send + 'a>>>,
    /// When it was first seen to have come.
    fired_at: OnceLock<Instant>,
}

impl<'a> Interrupt<'a> {
    /// Watches `signal`, which resolves with what interrupted (`SIGTERM`).
    pub(crate) fn new(signal: impl Future<Output = String> + Send + 'a) -> Self {
        let signal: Pin<Box<dyn Future<Output = String> + Send + 'a>> = Box::pin(signal);
        Interrupt {
            signal: signal.shared(),
            fired_at: OnceLock::new(),
        }
    }

    /// What interrupted, once it has.
    pub(crate) fn why(&self) -> Option<&str> {
        self.signal.peek().map(String::as_str)
    }

    /// Resolves once the signal has come (at once when it already has).
    async fn fired(&self) -> String {
        let why = self.signal.clone().await;
        self.fired_at.get_or_init(Instant::now);
        why
    }

    /// A step before the fault (steady state, stop alarms, reads), unless
    /// the signal comes first: then the drill ends with nothing injected.
    pub(crate) async fn before_fault<T>(
        &self,
        step: impl Future<Output = T>,
    ) -> Result<T, DrillError> {
        tokio::select! {
            biased;
            why = self.fired() => Err(DrillError::Interrupted(why)),
            done = step => Ok(done),
        }
    }

    /// Runs a drill's body until it ends or the signal comes. A panic in the
    /// body ends it as [`Ending::Interrupted`] too, so the cleanup that
    /// follows the call runs on every path.
    pub(crate) async fn until(
        &self,
        body: impl Future<Output = Result<Ending, DrillError>>,
    ) -> Result<Ending, DrillError> {
        let body = std::panic::AssertUnwindSafe(body).catch_unwind();
        tokio::select! {
            biased;
            why = self.fired() => Ok(Ending::Interrupted(why)),
            ending = body => ending.unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("no message");
                Ok(Ending::Interrupted(format!("the drill panicked: {why}")))
            }),
        }
    }

    /// `ending`, unless the signal came after the body ended (while the
    /// drill read back or cleaned up): then there is no verdict either.
    pub(crate) fn ending(&self, ending: Result<Ending, DrillError>) -> Result<Ending, DrillError> {
        let why = self.signal.clone().now_or_never();
        if why.is_some() {
            self.fired_at.get_or_init(Instant::now);
        }
        match (&ending, why) {
            (Ok(Ending::Interrupted(_)) | Err(_), _) | (_, None) => ending,
            (Ok(_), Some(why)) => Ok(Ending::Interrupted(why)),
        }
    }

    /// When cleanup stops: `usual`, or [`CLEANUP_GRACE`] after the signal, whichever is first.
    fn deadline(&self, usual: Instant) -> Instant {
        match self.fired_at.get() {
            Some(at) => usual.min(*at + CLEANUP_GRACE),
            None => usual,
        }
    }

    /// Runs one step of cleanup until it completes or cleanup's deadline
    /// (`usual`, cut by a signal meanwhile) passes: `None` then.
    pub(crate) async fn bounded<T>(
        &self,
        usual: Instant,
        step: impl Future<Output = T>,
    ) -> Option<T> {
        let mut step = std::pin::pin!(step);
        loop {
            let deadline = tokio::time::Instant::from_std(self.deadline(usual));
            if self.fired_at.get().is_some() {
                return tokio::time::timeout_at(deadline, step.as_mut()).await.ok();
            }
            tokio::select! {
                done = step.as_mut() => return Some(done),
                () = tokio::time::sleep_until(deadline) => return None,
                // The deadline moves closer: look again.
                _ = self.fired() => {}
            }
        }
    }

    /// Retries a cleanup step every 500 ms until it succeeds, `within`
    /// passes or [`CLEANUP_GRACE`] after a signal does, each attempt bounded
    /// by the same deadline. The error says what (`doing`) was given up and
    /// the last attempt's error.
    pub(crate) async fn retry<T, E, F, Fut>(
        &self,
        within: Duration,
        doing: &str,
        mut attempt: F,
    ) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let usual = Instant::now() + within;
        let mut last: Option<String> = None;
        loop {
            match self.bounded(usual, attempt()).await {
                Some(Ok(done)) => return Ok(done),
                Some(Err(e)) => last = Some(e.to_string()),
                None => return Err(self.given_up(doing, within, last)),
            }
            let pause = self.bounded(usual, tokio::time::sleep(RETRY_PAUSE)).await;
            if pause.is_none() || Instant::now() >= self.deadline(usual) {
                return Err(self.given_up(doing, within, last));
            }
        }
    }

    /// Why a cleanup step stopped short: its bound or the signal, and the last error.
    fn given_up(&self, doing: &str, within: Duration, last: Option<String>) -> String {
        let last = last.map(|e| format!(": {e}")).unwrap_or_default();
        match self.why() {
            Some(why) => format!(
                "{doing}: given up {} after {why}{last}",
                humantime::format_duration(CLEANUP_GRACE)
            ),
            None => format!(
                "{doing}: not done within {}{last}",
                humantime::format_duration(within)
            ),
        }
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

/// The outcome of a drill interrupted (SIGINT, SIGTERM, a panic): `error`,
/// no verdict; what cleanup could not undo (`left`, each naming the
/// resource and why) in the message and the evidence (`cleanup`: whether
/// nothing is left; `left`).
pub(crate) fn interrupted(
    id: &str,
    why: &str,
    left: &[String],
    duration_ms: u64,
    evidence: Evidence,
) -> Outcome {
    let message = if left.is_empty() {
        format!("interrupted ({why}); cleanup ran, nothing left, no verdict")
    } else {
        format!(
            "interrupted ({why}); cleanup ran, no verdict; LEFT: {} (`verify drill cleanup SPEC --yes` removes each once no run can still own it)",
            left.join("; ")
        )
    };
    Outcome {
        id: id.into(),
        status: Status::Error,
        message,
        duration_ms,
        evidence: evidence
            .detail("cleanup", left.is_empty())
            .detail("left", left),
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
/// else the environment variable the spec names (read through
/// [`crate::secrets::read`]: only inside the run's secret prefix), never
/// the spec itself. A blank value counts as unset; whitespace around the
/// URL is dropped (a URL's own spaces are percent-encoded). It is parsed
/// once, by tokio-postgres, where it is used
/// ([`probe::ProbeTarget::from_url`]); it holds the password, so it goes
/// into no message. `whose` and `shape` are for the message when neither
/// is set.
pub(crate) fn database_url(
    prefix: &crate::spec::secret_env::SecretPrefix,
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
    if let Some(url) = filled.and_then(set) {
        return Ok(url);
    }
    let unset = || {
        DrillError::Setup(format!(
            "the {whose} database URL is not set: export {variable} ({shape})"
        ))
    };
    match crate::secrets::read(prefix, variable, "database_url_env") {
        Ok(url) => set(&url).ok_or_else(unset),
        Err(crate::secrets::SecretError::Unset { .. }) => Err(unset()),
        Err(refused) => Err(DrillError::Setup(refused.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// A signal before the fault ends the drill there: the next step is
    /// never run, and a body (or a verdict) after it is no longer reached.
    #[test]
    fn a_signal_before_the_fault_ends_the_drill_with_nothing_injected() {
        runtime().block_on(async {
            let interrupt = Interrupt::new(async { "SIGTERM".to_string() });
            let injected = AtomicBool::new(false);
            let step = interrupt
                .before_fault(async { injected.store(true, Ordering::SeqCst) })
                .await;
            assert!(
                matches!(&step, Err(DrillError::Interrupted(why)) if why == "SIGTERM"),
                "{step:?}"
            );
            assert!(!injected.load(Ordering::SeqCst), "the step ran");
            assert_eq!(
                step.unwrap_err().to_string(),
                "interrupted (SIGTERM) before the fault: nothing injected"
            );
            // Once fired it stays fired: the body ends at once, and an
            // ending reached meanwhile gives no verdict.
            let ending = interrupt.until(std::future::pending()).await;
            assert_eq!(ending.unwrap(), Ending::Interrupted("SIGTERM".into()));
            assert_eq!(
                interrupt.ending(Ok(Ending::Recovered)).unwrap(),
                Ending::Interrupted("SIGTERM".into())
            );
        });
    }

    /// Without a signal a cleanup step is retried until it succeeds; a
    /// signal cuts even an attempt in flight to CLEANUP_GRACE after it.
    #[test]
    fn cleanup_is_retried_and_a_signal_cuts_it_to_the_grace() {
        runtime().block_on(async {
            let quiet = Interrupt::new(std::future::pending());
            let mut failures = 2;
            let dropped = quiet
                .retry(Duration::from_secs(60), "table t not dropped", || {
                    failures -= 1;
                    let outcome = if failures < 0 {
                        Ok("dropped")
                    } else {
                        Err("connection refused")
                    };
                    async move { outcome }
                })
                .await;
            assert_eq!(dropped, Ok("dropped"));

            let interrupt = Interrupt::new(async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                "SIGTERM".to_string()
            });
            let started = Instant::now();
            let hung = interrupt
                .retry(Duration::from_secs(60), "table t not dropped", || {
                    std::future::pending::<Result<(), String>>()
                })
                .await;
            let took = started.elapsed();
            assert_eq!(
                hung,
                Err("table t not dropped: given up 5s after SIGTERM".into())
            );
            assert!(
                took >= CLEANUP_GRACE && took < CLEANUP_GRACE + Duration::from_secs(1),
                "{took:?}"
            );
        });
    }
}
