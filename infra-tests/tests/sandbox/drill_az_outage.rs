//! `drill.az_outage` on the sandbox (either backend): the stand-ins' control
//! call `POST /az-outage` freezes eu-central-1a's database member (the
//! primary) and pgbouncer task and black-holes their addresses; the data
//! plane promotes the standby after its detection delay, the balancer's
//! health checks take the dead target out, the ECS stand-in starts a
//! replacement in eu-central-1b, and after the duration the AZ returns (the
//! old primary rejoins as the standby, the task back home):
//! - the good sandbox passes: the writer moved to the other member, the
//!   clients' unavailability within the budget, no acknowledged write lost,
//!   the service back across two AZs, the Core API healthy again;
//! - negative control, a single-AZ database (`rds-single-az`, and
//!   `rds-async-standby`: no standby the data plane will promote): the
//!   writer stays dark for the whole cut and the drill fails on
//!   `db_failed_over` and `unavailability_within_budget`;
//! - negative control, every pgbouncer task in the lost AZ
//!   (`pgbouncer-one-az`): the drill fails on `pgbouncer_survives_az`;
//! - refused without consent, nothing read or written.
//!
//! The test holds the sandbox alone and leaves it good (reset, tasks home).

use infra_tests::drills::{assertion, running_sandbox, sandbox_gate};
use infra_tests::{Account, runtime};
use verify::drill::{DrillError, az_outage};
use verify::{Gate, Status};

#[test]
fn the_az_outage_drill_passes_and_fails_for_a_single_az_database_or_service() {
    let _sandbox = infra_tests::changing();
    runtime().block_on(async {
        let result = tokio::spawn(drills()).await;
        back_to_good().await;
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

    // --- good: the AZ goes and comes back, clients barely notice.
    back_to_good().await;
    let gate = sandbox_gate().await;
    let record = az_outage::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    let o = &record.outcome;
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    for name in [
        "db_failed_over",
        "pgbouncer_service",
        "unavailability_within_budget",
        "no_acknowledged_write_lost",
        "pgbouncer_survives_az",
        "dependents_recovered",
    ] {
        assert_eq!(
            assertion(&record, name)["holds"],
            true,
            "{name}: {}",
            o.message
        );
    }
    assert_eq!(
        assertion(&record, "db_failed_over")["observed"]["moved"],
        "moved to another server"
    );
    let report = &o.evidence.details["cut_report"];
    assert_eq!(report["rds"]["was_primary"], true, "{report}");
    assert_eq!(report["tasks_cut"], 1, "{report}");
    let labels: Vec<&str> = record
        .timeline
        .marks
        .iter()
        .map(|m| m.label.as_str())
        .collect();
    assert!(
        labels.iter().any(|l| l.starts_with("AZ eu-central-1a cut")),
        "{labels:?}"
    );
    assert!(labels.contains(&"AZ returned"), "{labels:?}");

    // --- negative control: a single-AZ database (MultiAZ off, and no
    // standby the data plane may promote).
    back_to_good().await;
    fixtures::breaks::apply(&state.seed_target(), "rds-single-az")
        .await
        .expect("rds-single-az");
    fixtures::standins::apply_break(&standins, "rds-async-standby")
        .await
        .expect("rds-async-standby");
    let gate = sandbox_gate().await;
    let record = az_outage::run_with_steady_state(&gate, &["pgbouncer.*"], std::future::pending())
        .await
        .expect("the drill runs");
    let o = &record.outcome;
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    for name in ["db_failed_over", "unavailability_within_budget"] {
        assert_eq!(
            assertion(&record, name)["holds"],
            false,
            "{name}: {}",
            o.message
        );
    }

    // --- negative control: every pgbouncer task in the lost AZ.
    back_to_good().await;
    fixtures::breaks::apply(&state.seed_target(), "pgbouncer-one-az")
        .await
        .expect("pgbouncer-one-az");
    let gate = sandbox_gate().await;
    let record = az_outage::run_with_steady_state(&gate, &["rds.*"], std::future::pending())
        .await
        .expect("the drill runs");
    let o = &record.outcome;
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    let survives = assertion(&record, "pgbouncer_survives_az");
    assert_eq!(survives["holds"], false, "{}", o.message);
    assert_eq!(
        survives["observed"]["azs"],
        serde_json::json!(["eu-central-1a"]),
        "{survives}"
    );
}

/// The good sandbox again: stand-ins reset, tasks home, moto seeded afresh.
async fn back_to_good() {
    fixtures::sandbox::reset().await.expect("sandbox reset");
}

#[test]
fn without_consent_nothing_is_touched() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let mut env = account.env.clone();
        env.drills.allowed = false;
        let gate = Gate::connect(env, account.connection.clone()).await;
        let refused = az_outage::run(&gate, std::future::pending()).await;
        assert!(
            matches!(refused, Err(DrillError::NotAllowed(_))),
            "{refused:?}"
        );
        assert_eq!(gate.aws().calls.snapshot().total_operations(), 0);
    });
}
