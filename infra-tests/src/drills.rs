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

/// After a good run of `drill` (`rds_failover`, …) on `gate`: every
/// operation the gate recorded is granted by the policy with `--drills`; the
/// writes made are exactly the ones the drill's grants mark as writes (its
/// guard admits those); and every action granted for this drill alone was
/// called (nothing extra).
pub fn iam_policy_covers_the_drill(gate: &Gate, drill: &str) {
    use std::collections::BTreeSet;
    let id = format!("drill.{drill}");
    let grants = verify::drill::GRANTS
        .iter()
        .find(|(name, _)| *name == id)
        .map(|(_, g)| *g)
        .unwrap_or_else(|| panic!("no {id} in verify::drill::GRANTS"));
    let calls = gate.aws().calls.snapshot();
    let policy = verify::iam::policy(gate.env(), true);
    let granted = verify::iam::actions(&policy);
    let mut called = BTreeSet::new();
    for op in calls.operations.keys() {
        for action in verify::iam::iam_actions(op).unwrap_or_else(|e| panic!("{e}")) {
            called.insert(action);
        }
    }
    let missing: Vec<&String> = called.difference(&granted).collect();
    assert!(
        missing.is_empty(),
        "{drill} called, the policy does not grant: {missing:?}"
    );
    let written: BTreeSet<&str> = calls
        .operations
        .keys()
        .map(String::as_str)
        .filter(|op| !verify::aws::is_read_only(op.split(':').nth(1).unwrap_or(op)))
        .collect();
    assert_eq!(
        written,
        verify::iam::writes(grants)
            .into_iter()
            .collect::<BTreeSet<&str>>(),
        "{drill}: the writes made are the writes its grants declare"
    );
    let extra: Vec<&str> = verify::iam::permissions(gate.env(), true)
        .iter()
        .filter(|p| p.needed_by == id && !called.contains(p.action))
        .map(|p| p.action)
        .collect();
    assert!(
        extra.is_empty(),
        "{drill}: granted, never called: {extra:?}"
    );
}

/// `refused` is the steady-state refusal naming `check`.
pub fn refused_naming(refused: Result<DrillRecord, DrillError>, check: &str) {
    match refused {
        Err(DrillError::SteadyState(why)) => assert!(why.contains(check), "{why}"),
        other => panic!("expected a steady-state refusal naming {check}, got {other:?}"),
    }
}
