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

pub mod probe;
pub mod rds_failover;

use std::time::Duration;

pub use report_model::DrillRecord;
pub use report_model::timeline::{Mark, MarkKind, ProbeTrace, Timeline, render};

use crate::check::Outcome;
use crate::gate::Gate;
use crate::{Selection, Status};

/// Why a drill could not run (exit 2). Nothing was injected, or, where the
/// message says so, cleanup ran.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(
        "environment '{0}' does not allow drills (set `drills {{ allowed = true }}` in its spec)"
    )]
    NotAllowed(String),
    #[error("steady state not met, nothing injected: {0}")]
    SteadyState(String),
    #[error("{0}")]
    Setup(String),
}

/// How a drill's body ended, before the verdict.
#[derive(Debug, Clone, PartialEq)]
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
    pub name: &'static str,
    pub holds: bool,
    pub expected: serde_json::Value,
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
