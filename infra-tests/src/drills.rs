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

/// The drill failed, on (at least) the assertion `name`, which is returned;
/// its message is printed for the test's log.
pub fn failed_on<'a>(record: &'a DrillRecord, name: &str) -> &'a serde_json::Value {
    println!("{}", record.outcome.message);
    assert_eq!(
        record.outcome.status,
        verify::Status::Fail,
        "{}",
        record.outcome.message
    );
    let held = assertion(record, name);
    assert_eq!(held["holds"], false, "{held}");
    held
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
    // A write made only on a failure path (`only_when`) may be absent.
    let declared: BTreeSet<&str> = verify::iam::writes(grants).into_iter().collect();
    let always: BTreeSet<&str> = grants
        .iter()
        .filter(|g| g.write && g.only_when.is_none())
        .map(|g| g.action)
        .collect();
    assert!(
        written.is_subset(&declared) && always.is_subset(&written),
        "{drill}: the writes made {written:?} are not the writes its grants declare {declared:?} (always: {always:?})"
    );
    let extra: Vec<&str> = verify::iam::permissions(gate.env(), true)
        .iter()
        .filter(|p| p.needed_by == id && p.only_when.is_none() && !called.contains(p.action))
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

/// `refused` is the refusal before the fault that a stop alarm makes
/// (missing, unreadable or in `ALARM`), its message holding `needle`.
pub fn refused_by_stop_alarm(refused: Result<DrillRecord, DrillError>, needle: &str) {
    match refused {
        Err(e @ DrillError::StopAlarm(_)) => {
            let text = e.to_string();
            assert!(
                text.contains("nothing injected") && text.contains(needle),
                "{text}"
            );
        }
        other => panic!("expected a stop-alarm refusal naming {needle:?}, got {other:?}"),
    }
}

/// Nothing was injected: no write reached the guard's admission at all
/// (every operation the gate counted only reads, `write` among none).
pub fn nothing_injected(gate: &Gate, write: &str) {
    only_reads_made(gate);
    let calls = gate.aws().calls.snapshot();
    assert!(
        !calls.operations.contains_key(write),
        "{write} was called: {calls:?}"
    );
}

/// Resolves once `counter` has seen `operation` (`service:Operation`): a
/// test follows a drill's progress through it (a call is counted before it
/// is sent, so a write counted is one in flight).
/// Panics when it has not within two minutes.
pub async fn wait_for_call(counter: &verify::aws::CallCounter, operation: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !counter.snapshot().operations.contains_key(operation) {
        assert!(
            std::time::Instant::now() < deadline,
            "{operation} not called within 2 minutes: {:?}",
            counter.snapshot()
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The sandbox's latency model (`POST /sandbox-api/latency?ms=N` to moto:
/// every later request waits N ms before moto sees it, as over a network),
/// turned off again when dropped.
pub struct Latency {
    endpoint: String,
}

impl Latency {
    /// Every request to the running sandbox's moto waits `ms` first.
    pub fn set(ms: u64) -> Latency {
        let endpoint = running_sandbox().aws_endpoint_url;
        post_latency(&endpoint, ms).expect("POST /sandbox-api/latency");
        Latency { endpoint }
    }
}

impl Drop for Latency {
    fn drop(&mut self) {
        if let Err(e) = post_latency(&self.endpoint, 0) {
            eprintln!("could not turn the sandbox latency model off: {e}");
        }
    }
}

fn post_latency(endpoint: &str, ms: u64) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(
        stream,
        "POST /sandbox-api/latency?ms={ms} HTTP/1.0\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("moto answered {answer:?}")))
    }
}
