//! What the drill suites (`drill_rds.rs`, `drill_pgbouncer.rs`,
//! `drill_pitr.rs`) share: the running sandbox, a gate on it, a drill's
//! assertion by name, and the refusal every drill must make.

use fixtures::SandboxState;
use verify::drill::{DrillError, DrillRecord};
use verify::{Environment, Gate};

use crate::{connection, load_for_run};

/// The running sandbox's state; panics (a test's failure) when it is not up.
pub fn running_sandbox() -> SandboxState {
    SandboxState::load()
        .expect("state.json")
        .expect("the sandbox is running (cargo xtask sandbox up)")
}

/// A gate on the running sandbox, as `cargo xtask drill … sandbox` makes it.
pub async fn sandbox_gate() -> Gate {
    let env = load_for_run("sandbox").expect("sandbox spec");
    gate_for(env).await
}

/// A gate on `env` with its own connection.
pub async fn gate_for(env: Environment) -> Gate {
    let connection = connection(&env).expect("connection");
    Gate::connect(env, connection).await
}

/// The drill's assertion called `name` (`holds`, `expected`, `observed`).
pub fn assertion<'a>(record: &'a DrillRecord, name: &str) -> &'a serde_json::Value {
    record.outcome.evidence.details["assertions"]
        .as_array()
        .expect("assertions")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no assertion {name}"))
}

/// A refused drill made only read calls (nothing injected).
pub fn only_reads_made(gate: &Gate) {
    let calls = gate.aws().calls.snapshot();
    assert!(
        calls
            .operations
            .keys()
            .all(|op| verify::aws::is_read_only(op.split(':').nth(1).unwrap_or(op))),
        "{calls:?}"
    );
}

/// `refused` is the steady-state refusal naming `check`.
pub fn refused_naming(refused: Result<DrillRecord, DrillError>, check: &str) {
    match refused {
        Err(DrillError::SteadyState(why)) => assert!(why.contains(check), "{why}"),
        other => panic!("expected a steady-state refusal naming {check}, got {other:?}"),
    }
}
