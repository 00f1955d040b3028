//! `drill.rds_failover` on the sandbox's data plane (a real primary and
//! synchronous standby behind an endpoint that refuses while the primary is
//! gone), through the real SDK:
//! - the good data plane passes, with the outage measured and every
//!   acknowledged write kept;
//! - interrupted midway, the drill cleans up (its table is gone) and reports
//!   `error`, never a verdict;
//! - negative control: with `rds-async-standby`, the same drill fails and
//!   names the acknowledged writes it lost;
//! - refused where the spec does not allow drills, and when the steady
//!   state does not hold, with nothing injected.
//!
//! The data plane is one shared thing: the test holds the sandbox alone
//! (`infra_tests::changing`) and leaves it good (reset) whatever happens.

use std::time::Duration;

use fixtures::rds::{self, RdsState};
use infra_tests::drills::{
    assertion, only_reads_made, refused_naming, running_sandbox, sandbox_gate,
};
use infra_tests::{Account, operator, runtime};
use verify::drill::{DrillError, MarkKind, rds_failover};
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

    // --- good: pass, with evidence
    let gate = sandbox_gate().await;
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
    assert_eq!(
        assertion(&record, "acknowledged_writes_kept")["observed"]["missing"],
        0
    );
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

    // Three failovers so far: a fourth brings the primary home, where the
    // reset that follows expects it (moto's AZ fields and the data plane agree).
    {
        aws_sdk_rds::Client::new(&operator(gate.env()).await)
            .reboot_db_instance()
            .db_instance_identifier("restartix-sandbox")
            .force_failover(true)
            .send()
            .await
            .expect("rds:RebootDBInstance");
    }
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
