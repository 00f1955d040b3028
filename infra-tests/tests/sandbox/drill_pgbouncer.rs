//! `drill.pgbouncer_drain` on the sandbox: real pgbouncer processes behind
//! the balancer (the NLB stand-in), stopped as ECS stops a task (the gap
//! layer's StopTask: deregister, the target group's delay, the image's stop
//! signal, SIGKILL after the stop timeout, a replacement), through the real
//! SDK:
//! - the good sandbox passes: a client was on the task it stopped (the
//!   database saw its transactions come from the task's address, as
//!   DescribeTasks reports it), zero failed transactions, every committed
//!   row present, the service back at its desired count across two AZs, the
//!   workload table dropped, the replacement on a new address that
//!   DescribeTasks reports; `pgbouncer.drain_ready` passes on it too;
//! - check and drill agree the other way: with connection termination on
//!   (the NLB resets open connections at the end of the delay)
//!   `pgbouncer.drain_ready` fails, and the drill fails naming the
//!   transactions it cut;
//! - negative control: with `pgbouncer-hard-stop` (the task dies at once,
//!   never deregistered) the drill fails on failed transactions;
//! - every client on the task in eu-central-1b (`pgbouncer-lb-one-zone`: an
//!   NLB with cross-zone balancing off): the drill stops that task, and
//!   passes; pinned to the idle task in eu-central-1a (`stop_az`) under the
//!   hard-stop image it is no pass but an `error`, "the fault touched no
//!   client" (exit 2), though no transaction failed;
//! - an image that sends SIGTERM (pgbouncer 1.18: immediate shutdown) fails too;
//! - interrupted midway, it reports `error` and its table is gone;
//! - its stop alarm put into ALARM after the stop aborts it (cleanup ran,
//!   the service recovers by itself);
//! - refused where the spec does not allow drills, when `pgbouncer.*` do
//!   not hold, and when a stop alarm is in ALARM or missing, with only
//!   reads made and nothing stopped.
//!
//! The sandbox's data plane is one shared thing: the test holds the sandbox
//! alone (`infra_tests::changing`) and leaves it good (reset) whatever
//! happens.

use std::time::Duration;

use fixtures::SandboxState;
use fixtures::standins::StandinsState;
use infra_tests::drills::{
    assertion, gate_for, nothing_injected, only_reads_made, refused_by_stop_alarm, refused_naming,
    running_sandbox, sandbox_gate, wait_for_call,
};
use infra_tests::operator;
use infra_tests::{Account, connection, load_for_run, runtime};
use verify::drill::{DrillError, DrillRecord, MarkKind, pgbouncer_drain};
use verify::{Gate, Status};

/// Workload tables a drill left behind.
async fn drain_tables(state: &SandboxState) -> Vec<String> {
    let url = &state.rds.as_ref().expect("rds").probe_url;
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the endpoint");
    tokio::spawn(conn);
    client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE tablename LIKE 'verify_drain_%'",
            &[],
        )
        .await
        .expect("pg_tables")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Both pgbouncer tasks running and registered again (a replacement is up).
async fn both_tasks_back(standins: &StandinsState) {
    for _ in 0..100 {
        let status = fixtures::standins::control(standins, "GET", "/pgbouncer", None)
            .await
            .expect("GET /pgbouncer");
        let running = status["tasks"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["pid"].is_u64()));
        if running
            && status["registered"]
                .as_array()
                .is_some_and(|r| r.len() == 2)
        {
            // The stop knobs are the good ones (a reset undoes the breaks).
            assert_eq!(
                (&status["stop_signal"], &status["hard_stop"]),
                (&serde_json::json!("SIGINT"), &serde_json::json!(false)),
                "{status}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the pgbouncer tasks did not come back");
}

/// The pgbouncer tasks' addresses now: where the stand-ins' processes
/// listen (`GET /pgbouncer`), and the RUNNING service tasks' private IPs
/// as DescribeTasks reports them; both sorted.
async fn task_addresses(standins: &StandinsState, gate: &Gate) -> (Vec<String>, Vec<String>) {
    let status = fixtures::standins::control(standins, "GET", "/pgbouncer", None)
        .await
        .expect("GET /pgbouncer");
    let mut listening: Vec<String> = status["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            let backend: std::net::SocketAddr = t["backend"]
                .as_str()
                .expect("backend")
                .parse()
                .expect("addr");
            backend.ip().to_string()
        })
        .collect();
    listening.sort();
    let ecs = aws_sdk_ecs::Client::new(&operator(gate.env()).await);
    let arns = ecs
        .list_tasks()
        .cluster(fixtures::platform::CLUSTER)
        .send()
        .await
        .expect("ListTasks")
        .task_arns()
        .to_vec();
    let group = format!("service:{}", fixtures::platform::PGBOUNCER_SERVICE);
    let mut reported: Vec<String> = ecs
        .describe_tasks()
        .cluster(fixtures::platform::CLUSTER)
        .set_tasks(Some(arns))
        .send()
        .await
        .expect("DescribeTasks")
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING") && t.group() == Some(group.as_str()))
        .filter_map(|t| {
            t.attachments()
                .iter()
                .flat_map(|a| a.details())
                .find(|d| d.name() == Some("privateIPv4Address"))
                .and_then(|d| d.value())
                .map(String::from)
        })
        .collect();
    reported.sort();
    (listening, reported)
}

/// Sets a CloudWatch alarm's state in the sandbox account, as an operator
/// would (the test's own client): `ALARM` trips a drill's stop condition,
/// `OK` puts it back.
async fn set_alarm_state(gate: &Gate, alarm: &str, state: &str) {
    aws_sdk_cloudwatch::Client::new(&operator(gate.env()).await)
        .set_alarm_state()
        .alarm_name(alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
        .state_reason(format!("set to {state} by a drill test"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("cloudwatch:SetAlarmState {alarm} {state}: {e:?}"));
}

/// Sets the pgbouncer target group's connection termination on or off, in
/// the sandbox account, as an operator would (the test's own client, not
/// verify's guarded one).
async fn connection_termination(gate: &Gate, on: bool) {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&operator(gate.env()).await);
    let groups = elb
        .describe_target_groups()
        .names(fixtures::platform::PGBOUNCER_TARGET_GROUP)
        .send()
        .await
        .expect("DescribeTargetGroups");
    let arn = groups.target_groups()[0].target_group_arn().expect("arn");
    elb.modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.connection_termination.enabled")
                .value(on.to_string())
                .build(),
        )
        .send()
        .await
        .expect("ModifyTargetGroupAttributes");
}

#[test]
fn the_drain_drill_passes_agrees_with_drain_ready_and_fails_when_transactions_are_cut() {
    let _sandbox = infra_tests::changing();
    let state = running_sandbox();
    let standins = state.standins.clone().expect("stand-ins");
    runtime().block_on(async {
        let result = tokio::spawn(drills()).await;
        // Whatever happened: the good sandbox back for everyone else.
        let gate = sandbox_gate().await;
        connection_termination(&gate, false).await;
        fixtures::standins::reset_running(&standins)
            .await
            .expect("reset");
        both_tasks_back(&standins).await;
        if let Err(e) = result
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}

async fn drills() {
    let state = running_sandbox();
    let standins = state.standins.clone().expect("stand-ins");

    // --- good: the check passes, and the drill agrees
    let gate = sandbox_gate().await;
    let check = gate
        .run_id("pgbouncer.drain_ready")
        .await
        .expect("drain_ready");
    assert_eq!(check.status, Status::Pass, "{}", check.message);
    let record = pgbouncer_drain::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    // Every operation it made is granted by `cargo xtask iam-policy sandbox --drills`.
    infra_tests::drills::iam_policy_covers_the_drill(&gate, "pgbouncer_drain");
    let o = &record.outcome;
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    assert!(o.message.contains("0 failed"), "{}", o.message);
    assert_eq!(assertion(&record, "failed_transactions")["holds"], true);
    let ran = &assertion(&record, "workload_ran_through")["observed"];
    assert!(
        ran["committed_after_task_stopped"].as_u64() > Some(0),
        "{ran}"
    );
    assert_eq!(
        assertion(&record, "service_recovered")["holds"],
        true,
        "{}",
        o.message
    );
    // The spec's dependent (the Core API's health through the edge) works
    // again after the drain, its recovery time in the evidence.
    let dependents = assertion(&record, "dependents_recovered");
    assert_eq!(dependents["holds"], true, "{dependents}");
    assert!(
        dependents["observed"]["core_api"]["recovered_after_ms"]
            .as_u64()
            .is_some(),
        "{dependents}"
    );
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Dependent && m.label.starts_with("'core_api' back")),
        "{:?}",
        record.timeline.marks
    );
    assert!(record.timeline.probes.len() == 8, "a trace per client");
    let labels: Vec<&str> = record
        .timeline
        .marks
        .iter()
        .map(|m| m.label.as_str())
        .collect();
    for needle in [
        "StopTask",
        "task DEACTIVATING",
        "task STOPPED",
        "service 2/2 running",
    ] {
        assert!(
            labels.iter().any(|l| l.contains(needle)),
            "no mark {needle:?}: {labels:?}"
        );
    }
    assert!(
        record
            .steady_state_after
            .iter()
            .all(|o| o.status == Status::Pass)
    );
    assert_eq!(
        drain_tables(&state).await,
        Vec::<String>::new(),
        "table dropped"
    );
    // A client was on the task it stopped: the database saw its latest
    // transaction before the stop come from the task's address.
    let touched = assertion(&record, "clients_on_stopped_task");
    assert_eq!(touched["holds"], true, "{touched}");
    let stopped = o.evidence.details["task_address"]
        .as_str()
        .expect("task_address")
        .to_string();
    assert!(
        stopped.starts_with("127.0.1."),
        "the task in eu-central-1a: {stopped}"
    );
    assert_eq!(touched["expected"]["task_address"], stopped.as_str());
    let on_it = touched["observed"]["clients"].as_array().expect("clients");
    assert!(!on_it.is_empty(), "{touched}");
    assert!(
        labels.iter().any(|l| l.starts_with("StopTask")
            && l.contains(&stopped)
            && l.contains(on_it[0].as_str().unwrap())),
        "the fault mark names the clients on the task: {labels:?}"
    );
    assert!(
        o.evidence.details["committed_via"][&stopped].as_u64() > Some(0),
        "{}",
        o.evidence.details["committed_via"]
    );
    both_tasks_back(&standins).await;
    // The replacement took a new address (a new ENI), and DescribeTasks says so.
    let (listening, reported) = task_addresses(&standins, &gate).await;
    assert_eq!(
        listening, reported,
        "where the tasks listen is what ECS reports"
    );
    assert!(
        !reported.contains(&stopped),
        "{stopped} still in {reported:?}"
    );

    // --- the other direction: connection termination cuts open
    // transactions at the end of the delay; the check fails, and so does the drill
    connection_termination(&gate, true).await;
    let check = gate
        .fresh()
        .run_id("pgbouncer.drain_ready")
        .await
        .expect("drain_ready");
    assert_eq!(check.status, Status::Fail, "{}", check.message);
    assert!(
        check.message.contains("connection_termination"),
        "{}",
        check.message
    );
    // The drill's steady state includes drain_ready; run it with the check
    // out of the way to see what clients see.
    let record = drill_ignoring_drain_ready().await;
    connection_termination(&gate, false).await;
    assert_eq!(
        record.outcome.status,
        Status::Fail,
        "{}",
        record.outcome.message
    );
    let failed = &assertion(&record, "failed_transactions")["observed"]["failed"];
    assert!(failed.as_u64() > Some(0), "{}", record.outcome.message);
    both_tasks_back(&standins).await;

    // --- negative control: a task that dies at once cuts transactions
    fixtures::standins::apply_break(&standins, "pgbouncer-hard-stop")
        .await
        .expect("break");
    let record = pgbouncer_drain::run(&sandbox_gate().await, std::future::pending())
        .await
        .expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Fail,
        "{}",
        record.outcome.message
    );
    assert!(
        record.outcome.message.contains("failed_transactions"),
        "{}",
        record.outcome.message
    );
    assert_eq!(
        assertion(&record, "clients_on_stopped_task")["holds"],
        true,
        "the negative control cut the clients that were on it"
    );
    fixtures::standins::reset_running(&standins)
        .await
        .expect("reset");
    both_tasks_back(&standins).await;

    // --- cross-zone balancing off: every client on the task in eu-central-1b.
    // The drill stops the task carrying them, and passes.
    fixtures::standins::apply_break(&standins, "pgbouncer-lb-one-zone")
        .await
        .expect("break");
    let record = pgbouncer_drain::run(&sandbox_gate().await, std::future::pending())
        .await
        .expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Pass,
        "{}",
        record.outcome.message
    );
    assert!(
        record.outcome.message.contains("in eu-central-1b"),
        "{}",
        record.outcome.message
    );
    let touched = assertion(&record, "clients_on_stopped_task");
    assert_eq!(
        touched["observed"]["clients"].as_array().map(Vec::len),
        Some(8),
        "{touched}"
    );
    both_tasks_back(&standins).await;
    // Pinned to the idle task in eu-central-1a, under an image that dies at
    // once: no transaction fails, and still no pass. The fault touched no
    // client: error (exit 2).
    fixtures::standins::apply_break(&standins, "pgbouncer-hard-stop")
        .await
        .expect("break");
    let mut env = load_for_run("sandbox").expect("sandbox spec");
    env.drills
        .pgbouncer_drain
        .get_or_insert_with(verify::spec::PgbouncerDrainDrill::defaults)
        .stop_az = Some("eu-central-1a".into());
    let record = pgbouncer_drain::run(&gate_for(env).await, std::future::pending())
        .await
        .expect("the drill runs");
    let o = &record.outcome;
    assert_eq!(o.status, Status::Error, "{}", o.message);
    assert!(
        o.message.starts_with(
            "the fault touched no client: no workload client was on the stopped task (127.0.1."
        ),
        "{}",
        o.message
    );
    assert!(o.message.contains("in eu-central-1a"), "{}", o.message);
    assert_eq!(assertion(&record, "failed_transactions")["holds"], true);
    let touched = assertion(&record, "clients_on_stopped_task");
    assert_eq!(touched["holds"], false, "{touched}");
    assert_eq!(touched["observed"]["clients"], serde_json::json!([]));
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Fault && m.label.contains("0 clients on it")),
        "{:?}",
        record.timeline.marks
    );
    fixtures::standins::reset_running(&standins)
        .await
        .expect("reset");
    both_tasks_back(&standins).await;

    // --- an image without STOPSIGNAL: SIGTERM is pgbouncer 1.18's immediate shutdown
    fixtures::standins::apply_break(&standins, "pgbouncer-sigterm")
        .await
        .expect("break");
    // The spec that tells the truth about that image fails drain_ready…
    let mut env = load_for_run("sandbox").expect("sandbox spec");
    env.pgbouncer.as_mut().expect("pgbouncer").stop_signal = "SIGTERM".into();
    let sigterm_spec = Gate::connect(env.clone(), connection(&env).expect("connection")).await;
    let check = sigterm_spec
        .run_id("pgbouncer.drain_ready")
        .await
        .expect("drain_ready");
    assert_eq!(check.status, Status::Fail, "{}", check.message);
    assert!(
        check.message.contains("immediate shutdown"),
        "{}",
        check.message
    );
    // …and the drill shows the transactions it cuts.
    let record = drill_ignoring_drain_ready().await;
    assert_eq!(
        record.outcome.status,
        Status::Fail,
        "{}",
        record.outcome.message
    );
    let failed = &assertion(&record, "failed_transactions")["observed"]["failed"];
    assert!(failed.as_u64() > Some(0), "{}", record.outcome.message);
    fixtures::standins::reset_running(&standins)
        .await
        .expect("reset");
    both_tasks_back(&standins).await;

    // --- the stop alarm goes into ALARM after the stop: the drill aborts
    // at its next poll, cleans up, and the service recovers by itself
    let alarm = fixtures::platform::ALARMS[0];
    let gate = sandbox_gate().await;
    let calls = gate.aws().calls.clone();
    let operator_gate = sandbox_gate().await;
    let trip = async {
        wait_for_call(&calls, "ecs:StopTask").await;
        set_alarm_state(&operator_gate, alarm, "ALARM").await;
    };
    let (record, ()) = tokio::join!(pgbouncer_drain::run(&gate, std::future::pending()), trip);
    set_alarm_state(&operator_gate, alarm, "OK").await;
    let record = record.expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Fail,
        "{}",
        record.outcome.message
    );
    assert!(
        record.outcome.message.contains(&format!(
            "aborted: stop condition: stop alarm '{alarm}' in ALARM"
        )),
        "{}",
        record.outcome.message
    );
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Abort && m.label.contains(alarm)),
        "{:?}",
        record.timeline.marks
    );
    assert_eq!(
        drain_tables(&state).await,
        Vec::<String>::new(),
        "table dropped"
    );
    both_tasks_back(&standins).await;

    // --- interrupted midway: error, no verdict, the table gone
    let interrupt = async {
        tokio::time::sleep(Duration::from_secs(4)).await;
        "test interrupt".to_string()
    };
    let record = pgbouncer_drain::run(&sandbox_gate().await, interrupt)
        .await
        .expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Error,
        "{}",
        record.outcome.message
    );
    assert!(record.outcome.message.contains("interrupted"));
    assert_eq!(record.outcome.evidence.details["cleanup"], true);
    assert_eq!(
        drain_tables(&state).await,
        Vec::<String>::new(),
        "table dropped"
    );
}

/// The drill on the sandbox with `pgbouncer.drain_ready` left out of its
/// steady state: what clients see of a configuration the check refuses.
async fn drill_ignoring_drain_ready() -> DrillRecord {
    pgbouncer_drain::run_with_steady_state(
        &sandbox_gate().await,
        &[
            "pgbouncer.service",
            "pgbouncer.multi_az",
            "pgbouncer.targets",
        ],
        std::future::pending(),
    )
    .await
    .expect("the drill runs")
}

/// The stop alarms are read before anything is stopped: one in ALARM, or
/// one that does not exist, refuses the drill with nothing stopped, named.
#[test]
fn a_stop_alarm_in_alarm_or_missing_stops_nothing() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let alarm = fixtures::platform::ALARMS[0];
        let unreachable = Some("postgres://u:p@127.0.0.1:1/db?sslmode=disable".to_string());
        for (breaks, declared, refusal) in [
            (
                &["alarm-firing"][..],
                vec![alarm.to_string()],
                format!("stop alarm '{alarm}' in ALARM"),
            ),
            (
                &[][..],
                vec!["restartix-sandbox-no-such-alarm".to_string()],
                "stop alarm 'restartix-sandbox-no-such-alarm' not found".to_string(),
            ),
        ] {
            let account = Account::seeded(breaks).await.expect("account");
            let mut env = account.env.clone();
            let drill = env
                .drills
                .pgbouncer_drain
                .as_mut()
                .expect("pgbouncer_drain");
            drill.stop_alarms = declared;
            drill.database_url = unreachable.clone();
            let gate = Gate::connect(env, account.connection.clone()).await;
            refused_by_stop_alarm(
                pgbouncer_drain::run(&gate, std::future::pending()).await,
                &refusal,
            );
            nothing_injected(&gate, "ecs:StopTask");
        }
    });
}

#[test]
fn a_spec_without_consent_or_a_broken_steady_state_stops_nothing() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let mut env = account.env.clone();
        env.drills.allowed = false;
        let gate = Gate::connect(env, account.connection.clone()).await;
        let refused = pgbouncer_drain::run(&gate, std::future::pending()).await;
        assert!(
            matches!(refused, Err(DrillError::NotAllowed(_))),
            "{refused:?}"
        );
        assert_eq!(gate.aws().calls.snapshot().total_operations(), 0);

        // A task already stopped: pgbouncer.service fails, nothing is stopped.
        let account = Account::seeded(&["pgbouncer-task-stopped"])
            .await
            .expect("account");
        let mut env = account.env.clone();
        let drill = env
            .drills
            .pgbouncer_drain
            .get_or_insert_with(verify::spec::PgbouncerDrainDrill::defaults);
        drill.database_url = Some("postgres://u:p@127.0.0.1:1/db?sslmode=disable".into());
        let gate = Gate::connect(env, account.connection.clone()).await;
        refused_naming(
            pgbouncer_drain::run(&gate, std::future::pending()).await,
            "pgbouncer.service",
        );
        only_reads_made(&gate);
    });
}
