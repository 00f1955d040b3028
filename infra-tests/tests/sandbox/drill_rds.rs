//! `drill.rds_failover` on the sandbox's data plane (a real primary and
//! synchronous standby behind an endpoint that refuses while the primary is
//! gone), through the real SDK:
//! - the good data plane passes, with the outage measured and every
//!   acknowledged write kept;
//! - interrupted midway, the drill cleans up (its table is gone) and reports
//!   `error`, never a verdict;
//! - negative control: with `rds-async-standby`, the same drill fails and
//!   names the acknowledged writes it lost;
//! - refused where the spec does not allow drills, when the steady state
//!   does not hold, and when a stop alarm is in ALARM or does not exist,
//!   with nothing injected;
//! - the verdict is the writer's server, both ways: with `rds-az-lag`
//!   (`DescribeDBInstances` shows the new AZ seconds after clients moved)
//!   the drill passes, the AZ read after a wait as evidence; with
//!   `rds-failover-in-place` (the primary restarted where it was, the AZs
//!   reported swapped) it fails on `writer_failed_over`;
//! - a probe URL that is not the instance's endpoint is refused before
//!   anything is injected;
//! - dependents: the Core API's health URL (the sandbox spec's) and a
//!   read-only canary recover after the failover, each timed in the
//!   evidence; with `core-api-no-reconnect` (the application never
//!   reconnects) the same drill fails on `dependents_recovered`, naming the
//!   dependent; a writing canary as a dependent without --allow-writes is
//!   refused with nothing injected;
//! - the probes measure a black hole (nothing accepted or forwarded, no
//!   RST) as they measure refused connections: from the first failing
//!   request sent to the first succeeding one, sampling on through it.
//!
//! The data plane is one shared thing: the test holds the sandbox alone
//! (`infra_tests::changing`) and leaves it good (reset) whatever happens.

use std::time::Duration;

use fixtures::rds::{self, RdsState};
use infra_tests::drills::{
    assertion, failed_on, gate_for, nothing_injected, only_reads_made, refused_by_stop_alarm,
    refused_naming, running_sandbox, sandbox_gate,
};
use infra_tests::{Account, operator, runtime};
use verify::drill::{DrillError, MarkKind, rds_failover};
use verify::spec::{CanarySpec, CanaryStep, Dependent, DependentTarget, Environment};
use verify::{Gate, Status};

/// Tables a drill left behind in the probe's database.
async fn drill_tables(rds: &RdsState) -> Vec<String> {
    let (client, conn) = tokio_postgres::connect(&rds.probe_url, tokio_postgres::NoTls)
        .await
        .expect("connect to the endpoint");
    tokio::spawn(conn);
    client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE tablename LIKE 'verify_drill_%'",
            &[],
        )
        .await
        .expect("pg_tables")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Waits until moto says the instance is `available` again (a failover's
/// last step), so the next drill's steady state holds.
async fn wait_available(gate: &Gate) {
    let rds = aws_sdk_rds::Client::new(&operator(gate.env()).await);
    for _ in 0..120 {
        let out = rds
            .describe_db_instances()
            .db_instance_identifier("restartix-sandbox")
            .send()
            .await
            .expect("rds:DescribeDBInstances");
        if out.db_instances()[0].db_instance_status() == Some("available") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("restartix-sandbox not available again within 60 s");
}

/// After a drill: its table is gone, the standby streams again and moto
/// says `available`, so the next drill's steady state holds.
async fn cleaned_up_and_settled(rds: &RdsState, gate: &Gate) {
    assert_eq!(
        drill_tables(rds).await,
        Vec::<String>::new(),
        "cleanup dropped the table"
    );
    rds::wait_until_good(rds, Duration::from_secs(60))
        .await
        .expect("standby back");
    wait_available(gate).await;
}

#[test]
fn the_failover_drill_passes_cleans_up_when_interrupted_and_fails_on_an_async_standby() {
    let _sandbox = infra_tests::changing();
    let state = running_sandbox();
    let rds = state
        .rds
        .clone()
        .expect("the sandbox has an RDS data plane");
    let standins = state.standins.clone().expect("stand-ins");
    runtime().block_on(async {
        let result = tokio::spawn(drills(rds.clone())).await;
        // Whatever happened: the good data plane back for everyone else.
        fixtures::standins::reset_running(&standins)
            .await
            .expect("reset");
        rds::wait_until_good(&rds, Duration::from_secs(60))
            .await
            .expect("good after reset");
        if let Err(e) = result
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}

async fn drills(rds: RdsState) {
    let rds = &rds;
    let state = running_sandbox();
    let standins = state.standins.clone().expect("stand-ins");

    // --- good: pass, with evidence; the spec's health URL and a read-only
    // canary as dependents, both back after recovery
    let mut env = infra_tests::load_for_run("sandbox").expect("sandbox spec");
    env.canaries.push(health_canary(&env));
    env.drills
        .rds_failover
        .as_mut()
        .expect("rds_failover")
        .dependents
        .push(Dependent {
            name: "health_canary".into(),
            target: DependentTarget::Canary("health".into()),
            recover_within: Duration::from_secs(30),
        });
    let gate = gate_for(env).await;
    let record = rds_failover::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    // Every operation it made is granted by `cargo xtask iam-policy sandbox --drills`.
    infra_tests::drills::iam_policy_covers_the_drill(&gate, "rds_failover");
    println!(
        "{}\n{}",
        record.outcome.message,
        verify::drill::render::terminal(&record.timeline, 60)
    );
    assert_eq!(
        record.outcome.status,
        Status::Pass,
        "{}",
        record.outcome.message
    );
    let unavailability = assertion(&record, "unavailability");
    let worst = unavailability["observed"]["worst_ms"].as_u64().unwrap();
    assert!(
        worst > 0,
        "a failover is an outage a client sees: {unavailability}"
    );
    // The verdict: the writer's server changed (both members are
    // 127.0.0.1, told apart by port and start time); the AZ is evidence.
    let moved = assertion(&record, "writer_failed_over");
    assert_eq!(moved["holds"], true, "{moved}");
    let before = moved["observed"]["before"][0]["address"].as_str().unwrap();
    let after = moved["observed"]["after"]["address"].as_str().unwrap();
    assert!(
        before.starts_with("127.0.0.1:") && after.starts_with("127.0.0.1:") && before != after,
        "{moved}"
    );
    let writer = &record.timeline.probes[0];
    assert!(
        writer
            .spans
            .iter()
            .filter(|s| s.ok)
            .all(|s| s.server.is_some()),
        "every good sample names its server: {:?}",
        writer.spans
    );
    let evidence = &record.outcome.evidence.details;
    assert_eq!(
        evidence["availability_zone"]["swapped"], true,
        "{evidence:?}"
    );
    assert!(
        evidence["probe_endpoint"]
            .as_str()
            .is_some_and(|e| e.ends_with("(the instance's endpoint)") && e.contains(&rds.endpoint)),
        "{evidence:?}"
    );
    assert_eq!(
        assertion(&record, "acknowledged_writes_kept")["observed"]["missing"],
        0
    );
    let dependents = assertion(&record, "dependents_recovered");
    assert_eq!(dependents["holds"], true, "{dependents}");
    for name in ["core_api", "health_canary"] {
        let observed = &dependents["observed"][name];
        assert!(
            observed["recovered_after_ms"].as_u64().is_some()
                && observed["verdict"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("recovered after")),
            "{name}: {dependents}"
        );
        assert!(
            record
                .timeline
                .marks
                .iter()
                .any(|m| m.kind == MarkKind::Dependent
                    && m.label.starts_with(&format!("'{name}' back"))),
            "{name}: {:?}",
            record.timeline.marks
        );
    }
    assert!(
        assertion(&record, "acknowledged_writes_kept")["observed"]["acknowledged"]
            .as_u64()
            .unwrap()
            > 20
    );
    for kind in [
        MarkKind::Fault,
        MarkKind::Status,
        MarkKind::Recovered,
        MarkKind::Cleanup,
    ] {
        assert!(
            record.timeline.marks.iter().any(|m| m.kind == kind),
            "no {kind:?} mark: {:?}",
            record.timeline.marks
        );
    }
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Event && m.label.contains("failover")),
        "RDS events as evidence: {:?}",
        record.timeline.marks
    );
    assert!(
        record
            .steady_state_after
            .iter()
            .all(|o| o.status == Status::Pass)
    );
    cleaned_up_and_settled(rds, &gate).await;

    // --- interrupted midway: cleanup ran, no verdict
    let gate = sandbox_gate().await;
    let interrupt = async {
        tokio::time::sleep(Duration::from_secs(6)).await;
        "test interrupt".to_string()
    };
    let record = rds_failover::run(&gate, interrupt)
        .await
        .expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Error,
        "{}",
        record.outcome.message
    );
    assert!(
        record.outcome.message.contains("interrupted"),
        "{}",
        record.outcome.message
    );
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Cleanup)
    );
    cleaned_up_and_settled(rds, &gate).await;

    // --- negative control: the application never reconnects after the
    // failover, so the dependent never recovers (a short bound keeps it quick)
    fixtures::standins::apply_break(&standins, "core-api-no-reconnect")
        .await
        .expect("break core-api-no-reconnect");
    let mut env = infra_tests::load_for_run("sandbox").expect("sandbox spec");
    let drill = env.drills.rds_failover.as_mut().expect("rds_failover");
    assert_eq!(drill.dependents[0].name, "core_api", "the sandbox spec's");
    drill.dependents[0].recover_within = Duration::from_secs(3);
    let gate = gate_for(env).await;
    let record = rds_failover::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    fixtures::standins::control(
        &standins,
        "PATCH",
        "/core-api",
        Some(serde_json::json!({ "no_reconnect": false })),
    )
    .await
    .expect("the Core API reconnects again");
    let dependents = failed_on(&record, "dependents_recovered");
    let core_api = &dependents["observed"]["core_api"];
    assert_eq!(core_api["verdict"], "never within 3000 ms", "{dependents}");
    assert!(
        core_api["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("answered 503")),
        "{dependents}"
    );
    assert!(
        record
            .outcome
            .message
            .contains("dependents_recovered: expected")
            && record.outcome.message.contains("core_api"),
        "the message names the dependent: {}",
        record.outcome.message
    );
    // The rest held: the failover itself was good.
    assert_eq!(assertion(&record, "writer_failed_over")["holds"], true);
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Dependent
                && m.label.starts_with("'core_api' not back within 3s")),
        "{:?}",
        record.timeline.marks
    );
    cleaned_up_and_settled(rds, &gate).await;

    // --- negative control: an async, stalled standby loses acknowledged writes
    fixtures::standins::apply_break(&standins, "rds-async-standby")
        .await
        .expect("break rds-async-standby");
    let gate = sandbox_gate().await;
    let record = rds_failover::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    println!("{}", record.outcome.message);
    assert_eq!(
        record.outcome.status,
        Status::Fail,
        "{}",
        record.outcome.message
    );
    let kept = assertion(&record, "acknowledged_writes_kept");
    assert_eq!(kept["holds"], false);
    assert!(kept["observed"]["missing"].as_u64().unwrap() > 0, "{kept}");
    assert!(
        record
            .outcome
            .message
            .contains("acknowledged_writes_kept: expected"),
        "the message names the failed assertion: {}",
        record.outcome.message
    );
    assert_eq!(
        drill_tables(rds).await,
        Vec::<String>::new(),
        "cleanup dropped the table"
    );

    // Four failovers: the primary is home again, where the reset that
    // follows expects it (moto's AZ fields and the data plane agree).
    wait_available(&gate).await;
}

#[test]
fn a_spec_without_consent_or_a_broken_steady_state_injects_nothing() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        // Not allowed: refused before anything is read or written.
        let account = Account::seeded(&[]).await.expect("account");
        let mut env = account.env.clone();
        env.drills.allowed = false;
        let gate = Gate::connect(env, account.connection.clone()).await;
        let refused = rds_failover::run(&gate, std::future::pending()).await;
        assert!(
            matches!(refused, Err(DrillError::NotAllowed(_))),
            "{refused:?}"
        );
        assert_eq!(gate.aws().calls.snapshot().total_operations(), 0);

        // A writing canary as a dependent, without --allow-writes: refused
        // before anything is read or written, naming the dependent and the flag.
        let account = Account::seeded(&[]).await.expect("account");
        let mut env = account.env.clone();
        env.drills
            .rds_failover
            .as_mut()
            .expect("rds_failover")
            .dependents
            .push(Dependent {
                name: "booking".into(),
                target: DependentTarget::Canary("t0".into()),
                recover_within: Duration::from_secs(60),
            });
        let gate = Gate::connect(env, account.connection.clone()).await;
        match rds_failover::run(&gate, std::future::pending()).await {
            Err(e @ DrillError::Setup(_)) => {
                let text = e.to_string();
                assert!(
                    text.contains("dependent 'booking' (canary 't0')")
                        && text.contains("--allow-writes")
                        && text.contains("nothing injected"),
                    "{text}"
                );
            }
            other => panic!("expected the writing dependent refused, got {other:?}"),
        }
        assert_eq!(gate.aws().calls.snapshot().total_operations(), 0);

        // Steady state broken (the instance is not Multi-AZ): refused, and
        // the only calls made were reads.
        let account = Account::seeded(&["rds-single-az"]).await.expect("account");
        let gate = account.gate().await;
        refused_naming(
            rds_failover::run(&gate, std::future::pending()).await,
            "rds.multi_az",
        );
        only_reads_made(&gate);
    });
}

/// The stop alarms are read before anything is injected: one in ALARM, or
/// one that does not exist (a misspelt name is no stop condition), refuses
/// the drill with nothing injected, named; the same spec with the alarm OK
/// gets past them (the sandbox's own drill passes with it: `drills`).
#[test]
fn a_stop_alarm_in_alarm_or_missing_injects_nothing() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let alarm = fixtures::platform::ALARMS[0];
        let unreachable = Some("postgres://u:p@127.0.0.1:1/db?sslmode=disable".to_string());

        // In ALARM: refused after the steady state, before any table or fault.
        let account = Account::seeded(&["alarm-firing"]).await.expect("account");
        let mut env = account.env.clone();
        let drill = env.drills.rds_failover.as_mut().expect("rds_failover");
        assert_eq!(
            drill.stop_alarms,
            vec![alarm.to_string()],
            "the sandbox spec's"
        );
        drill.database_url = unreachable.clone();
        let gate = Gate::connect(env, account.connection.clone()).await;
        refused_by_stop_alarm(
            rds_failover::run(&gate, std::future::pending()).await,
            &format!("stop alarm '{alarm}' in ALARM"),
        );
        nothing_injected(&gate, "rds:RebootDBInstance");
        assert!(
            gate.aws()
                .calls
                .snapshot()
                .operations
                .keys()
                .any(|op| op.ends_with(":DescribeAlarms")),
            "the alarm was read"
        );

        // Missing: a name CloudWatch does not know is refused, named.
        let account = Account::seeded(&[]).await.expect("account");
        let mut env = account.env.clone();
        let drill = env.drills.rds_failover.as_mut().expect("rds_failover");
        drill.stop_alarms = vec![alarm.to_string(), "restartix-sandbox-core-api-5xxx".into()];
        drill.database_url = unreachable;
        let gate = Gate::connect(env.clone(), account.connection.clone()).await;
        refused_by_stop_alarm(
            rds_failover::run(&gate, std::future::pending()).await,
            "stop alarm 'restartix-sandbox-core-api-5xxx' not found",
        );
        nothing_injected(&gate, "rds:RebootDBInstance");
    });
}

#[test]
fn a_probe_asking_for_tls_verifies_or_refuses_never_falls_back() {
    let _sandbox = infra_tests::reading();
    use verify::drill::probe::ProbeTarget;
    let rds = running_sandbox()
        .rds
        .expect("the sandbox has an RDS data plane");
    let second = Duration::from_secs(1);
    let interval = Duration::from_millis(50);
    runtime().block_on(async {
        // The data plane speaks no TLS: `require` is refused, never plain text.
        let url = format!("{}?sslmode=require", rds.probe_url);
        let target =
            ProbeTarget::from_url(&url, "V", None, second, second, interval).expect("a valid URL");
        let refused = target.connect().await.expect_err("no TLS, no connection");
        assert!(refused.to_lowercase().contains("tls"), "{refused}");
        // `disable` is plain Postgres, and works.
        let url = format!("{}?sslmode=disable", rds.probe_url);
        let target =
            ProbeTarget::from_url(&url, "V", None, second, second, interval).expect("a valid URL");
        assert!(target.tls.is_none());
        target.connect().await.expect("plain Postgres");
    });
    // A CA file that cannot be read is a setup error naming it.
    let url = format!("{}?sslmode=require", rds.probe_url);
    let missing = std::path::Path::new("/nonexistent/global-bundle.pem");
    let error = ProbeTarget::from_url(&url, "V", Some(missing), second, second, interval)
        .expect_err("unreadable CA file");
    assert!(error.to_string().contains("global-bundle.pem"), "{error}");
}

/// A read-only canary: `GET /v1/health` through the edge answers 200 (the
/// T-0 canary's base URL and bound).
fn health_canary(env: &Environment) -> CanarySpec {
    let t0 = env
        .canaries
        .iter()
        .find(|c| c.name == "t0")
        .expect("the sandbox's t0 canary");
    let step = t0
        .steps
        .iter()
        .find(|s| s.method == "GET")
        .expect("a GET step");
    CanarySpec {
        name: "health".into(),
        description: None,
        writes: false,
        base_url: t0.base_url.clone(),
        secrets: Vec::new(),
        timeout: t0.timeout,
        steps: vec![CanaryStep {
            name: "health".into(),
            path: "/v1/health".into(),
            headers: Vec::new(),
            expect_status: 200,
            expect: Vec::new(),
            capture: Vec::new(),
            ..step.clone()
        }],
        undo: Vec::new(),
    }
}

/// After a drill on a break that left the sandbox changed: reset, good again.
async fn reset_and_settle(standins: &fixtures::standins::StandinsState, rds: &RdsState) {
    fixtures::standins::reset_running(standins)
        .await
        .expect("reset");
    rds::wait_until_good(rds, Duration::from_secs(60))
        .await
        .expect("good after reset");
}

#[test]
fn the_failover_verdict_is_the_writer_s_server_not_the_availability_zone() {
    let _sandbox = infra_tests::changing();
    let state = running_sandbox();
    let rds = state
        .rds
        .clone()
        .expect("the sandbox has an RDS data plane");
    let standins = state.standins.clone().expect("stand-ins");
    runtime().block_on(async {
        let result = tokio::spawn(verdict_both_ways(rds.clone())).await;
        // Whatever happened: the good data plane back for everyone else.
        reset_and_settle(&standins, &rds).await;
        if let Err(e) = result
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}

async fn verdict_both_ways(rds: RdsState) {
    let rds = &rds;
    let standins = running_sandbox().standins.expect("stand-ins");

    // RDS reports the new AZ late: the writer moved, the drill passes, and
    // the AZ, read after a bounded wait, is evidence.
    fixtures::standins::apply_break(&standins, "rds-az-lag")
        .await
        .expect("break rds-az-lag");
    let gate = sandbox_gate().await;
    let record = rds_failover::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    println!(
        "{}\n{}",
        record.outcome.message,
        verify::drill::render::terminal(&record.timeline, 60)
    );
    assert_eq!(
        record.outcome.status,
        Status::Pass,
        "{}",
        record.outcome.message
    );
    assert_eq!(assertion(&record, "writer_failed_over")["holds"], true);
    let az = &record.outcome.evidence.details["availability_zone"];
    assert_eq!(az["swapped"], true, "{az}");
    assert!(
        az["read_after_ms"].as_u64().unwrap() >= 1_000,
        "recovered on the writer's server before the AZ changed, then waited for it: {az}"
    );
    assert!(
        record
            .timeline
            .marks
            .iter()
            .any(|m| m.kind == MarkKind::Status && m.label.contains("evidence")),
        "{:?}",
        record.timeline.marks
    );
    cleaned_up_and_settled(rds, &gate).await;
    // Back home with moto agreeing (a stand-in reset alone would move the
    // data plane and not moto's AZ fields): the lag off, a failover home.
    set_failover_knobs(&standins, serde_json::json!({ "az_report_delay_ms": 0 })).await;
    failover_home(&gate).await;
    rds::wait_until_good(rds, Duration::from_secs(60))
        .await
        .expect("good again");

    // The primary restarted in place while RDS reports the AZs swapped:
    // the writer is back on the same address with a new start time.
    fixtures::standins::apply_break(&standins, "rds-failover-in-place")
        .await
        .expect("break rds-failover-in-place");
    let gate = sandbox_gate().await;
    let record = rds_failover::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    let moved = failed_on(&record, "writer_failed_over");
    assert!(
        moved["observed"]["moved"]
            .as_str()
            .is_some_and(|m| m.starts_with("restarted in place")),
        "{moved}"
    );
    assert_eq!(
        moved["observed"]["before"][0]["address"],
        moved["observed"]["after"]["address"]
    );
    assert_ne!(
        moved["observed"]["before"][0]["started_at"],
        moved["observed"]["after"]["started_at"]
    );
    assert_eq!(
        record.outcome.evidence.details["availability_zone"]["swapped"], true,
        "the control plane said it moved"
    );
    assert!(
        record
            .outcome
            .message
            .contains("writer_failed_over: expected"),
        "{}",
        record.outcome.message
    );
    assert_eq!(drill_tables(rds).await, Vec::<String>::new());
    // moto says the primary moved, the data plane never did: two real
    // failovers put both in the standby's AZ, then home again.
    set_failover_knobs(&standins, serde_json::json!({ "failover_in_place": false })).await;
    for _ in 0..2 {
        rds::wait_until_good(rds, Duration::from_secs(60))
            .await
            .expect("good before a failover");
        failover_home(&gate).await;
    }
}

/// `PATCH /rds` on the stand-ins' control API.
async fn set_failover_knobs(
    standins: &fixtures::standins::StandinsState,
    knobs: serde_json::Value,
) {
    fixtures::standins::control(standins, "PATCH", "/rds", Some(knobs))
        .await
        .expect("PATCH /rds");
}

/// A forced failover through the SDK, until moto says `available`.
async fn failover_home(gate: &Gate) {
    aws_sdk_rds::Client::new(&operator(gate.env()).await)
        .reboot_db_instance()
        .db_instance_identifier("restartix-sandbox")
        .force_failover(true)
        .send()
        .await
        .expect("rds:RebootDBInstance");
    wait_available(gate).await;
}

#[test]
fn a_probe_url_that_is_not_the_instance_s_endpoint_is_refused_before_the_fault() {
    let _sandbox = infra_tests::reading();
    let rds = running_sandbox()
        .rds
        .expect("the sandbox has an RDS data plane");
    runtime().block_on(async {
        // The home primary's own port: a working Postgres, not the endpoint.
        let mut env = infra_tests::load_for_run("sandbox").expect("sandbox spec");
        let member = rds.members[0].port;
        let drill = env.drills.rds_failover.as_mut().expect("rds_failover");
        drill.database_url = Some(verify::drill::probe::with_host_port(
            &rds.probe_url,
            "127.0.0.1",
            member,
        ));
        let gate = infra_tests::drills::gate_for(env).await;
        let refused = rds_failover::run(&gate, std::future::pending()).await;
        let Err(DrillError::Setup(why)) = refused else {
            panic!("expected a refusal naming the endpoints, got {refused:?}");
        };
        assert!(
            why.contains(&format!("127.0.0.1:{member}"))
                && why.contains(&format!("endpoint ({})", rds.endpoint))
                && why.contains("Nothing was injected")
                && !why.contains(fixtures::rds::MASTER_PASSWORD),
            "{why}"
        );
        only_reads_made(&gate);
        assert_eq!(drill_tables(&rds).await, Vec::<String>::new());
    });
}

#[test]
fn the_probes_measure_a_black_hole_as_they_measure_refused_connections() {
    use verify::drill::probe::{self, ProbeTarget};
    const HOLE_MS: u64 = 2_000;
    let _sandbox = infra_tests::changing();
    let state = running_sandbox();
    let rds = state
        .rds
        .clone()
        .expect("the sandbox has an RDS data plane");
    let standins = state.standins.clone().expect("stand-ins");
    runtime().block_on(async {
        rds::wait_until_good(&rds, Duration::from_secs(60))
            .await
            .expect("good before");
        let second = Duration::from_secs(1);
        let target = ProbeTarget::from_url(
            &format!("{}?sslmode=disable", rds.probe_url),
            "probe_url",
            None,
            second,
            second,
            Duration::from_millis(50),
        )
        .expect("a target");
        for path in ["/rds/black-hole", "/rds/outage"] {
            let table = format!("verify_drill_hole_{}", path.len());
            probe::drop_table(&target, &table).await.expect("drop");
            probe::create_table(&target, &table).await.expect("table");
            let t0 = std::time::Instant::now();
            let writer = probe::start_writer(target.clone(), table.clone(), t0);
            let reader = probe::start_reader(target.clone(), t0);
            tokio::time::sleep(second).await;
            let fault_ms = t0.elapsed().as_millis() as u64;
            let kept = fixtures::standins::control(
                &standins,
                "POST",
                path,
                Some(serde_json::json!({ "ms": HOLE_MS })),
            )
            .await
            .expect(path)["outage_ms"]
                .as_u64()
                .expect("outage_ms");
            tokio::time::sleep(second).await;
            let traces = [writer.trace.clone(), reader.trace.clone()];
            writer.stop().await.expect("the writer's ledger");
            reader.stop().await;
            for trace in traces {
                let trace = trace.lock().expect("trace").clone();
                let outage = trace
                    .unavailable_after(fault_ms)
                    .unwrap_or_else(|| panic!("{path}: the {} saw no outage", trace.name));
                let error = outage.duration_ms() as i64 - kept as i64;
                let (samples, failed) = trace.counts();
                println!(
                    "{path} {}: kept {kept} ms, measured {} ms ({error:+} ms), {failed} of {samples} samples failed, the first {} ms after the fault",
                    trace.name,
                    outage.duration_ms(),
                    outage.from_ms as i64 - fault_ms as i64
                );
                assert!(outage.recovered, "{path} {}: {trace:?}", trace.name);
                // The bench's goal is ±100 ms (median of 5); one run here
                // on a shared machine gets a little more room.
                assert!(
                    error.abs() <= 150,
                    "{path} {}: error {error:+} ms: {trace:?}",
                    trace.name
                );
                // Seen within an interval of its start, and sampled through
                // (not one sample per timeout).
                assert!(
                    outage.from_ms <= fault_ms + 100,
                    "{path} {}: the first failure {} ms after the fault",
                    trace.name,
                    outage.from_ms.saturating_sub(fault_ms)
                );
                assert!(
                    failed >= 30,
                    "{path} {}: {failed} failed samples in a {HOLE_MS} ms outage",
                    trace.name
                );
            }
            probe::drop_table(&target, &table).await.expect("drop");
        }
        rds::wait_until_good(&rds, Duration::from_secs(60))
            .await
            .expect("good after");
    });
}
