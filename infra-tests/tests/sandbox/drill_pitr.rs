//! `drill.pitr_restore` on the sandbox's data plane (WAL archived by every
//! member, a base backup from `up`; a restore is a new PostgreSQL cluster
//! recovering to the restore time), through the real SDK:
//! - the good data plane passes: marker A present, marker B absent, the
//!   scratch instance deleted and its cluster gone, the marker table dropped;
//!   also after a failover (the archive crosses a timeline switch);
//! - negative control: with `rds-restore-ignores-target` (recovery to the
//!   end of the archive) the drill fails on marker B;
//! - interrupted after the restore call, it reports `error` and still
//!   deletes the scratch instance; interrupted while the restore call is in
//!   flight (moto made slow), it finds what the call made by the run's tag
//!   and deletes it;
//! - its scratch instance carries `verify:deadline` (start + timeout);
//!   `cleanup_leftovers` deletes tagged scratch instances whose deadline
//!   has passed (or that have none) only, never a live drill's;
//! - refused where the spec does not allow drills, and when `rds.*` do not
//!   hold, with only reads made.

use std::time::Duration;

use fixtures::SandboxState;
use fixtures::rds;
use infra_tests::drills::{
    Latency, assertion, only_reads_made, refused_naming, running_sandbox, sandbox_gate,
    wait_for_call,
};
use infra_tests::{Account, runtime};
use verify::aws::sdk_config;
use verify::drill::{DrillError, pitr_restore};
use verify::{Gate, Status};

/// No scratch instance in moto, no restored cluster in the data plane, no marker table.
async fn nothing_left(state: &SandboxState, gate: &Gate) {
    let rds_state = state.rds.as_ref().expect("rds");
    let status = rds::status(rds_state).await.expect("GET /rds");
    assert!(status.restores.is_empty(), "{status:?}");
    let out = aws_sdk_rds::Client::new(&infra_tests::operator(gate.env()).await)
        .describe_db_instances()
        .send()
        .await
        .expect("DescribeDBInstances");
    let ids: Vec<&str> = out
        .db_instances()
        .iter()
        .filter_map(|d| d.db_instance_identifier())
        .collect();
    assert_eq!(ids, vec!["restartix-sandbox"], "only the source is left");
    let (client, conn) = tokio_postgres::connect(&rds_state.probe_url, tokio_postgres::NoTls)
        .await
        .expect("connect to the endpoint");
    tokio::spawn(conn);
    let tables = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE tablename LIKE 'verify_pitr_%'",
            &[],
        )
        .await
        .expect("pg_tables");
    assert!(tables.is_empty(), "marker tables left: {}", tables.len());
}

#[test]
fn the_restore_drill_passes_fails_when_the_target_is_ignored_and_always_deletes_its_scratch() {
    let _sandbox = infra_tests::changing();
    let state = running_sandbox();
    let rds_state = state
        .rds
        .clone()
        .expect("the sandbox has an RDS data plane");
    let standins = state.standins.clone().expect("stand-ins");
    runtime().block_on(async {
        let result = tokio::spawn(drills()).await;
        fixtures::standins::reset_running(&standins)
            .await
            .expect("reset");
        rds::wait_until_good(&rds_state, Duration::from_secs(60))
            .await
            .expect("good after reset");
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

    // --- good
    let gate = sandbox_gate().await;
    let record = pitr_restore::run(&gate, std::future::pending())
        .await
        .expect("the drill runs");
    // Every operation it made is granted by `cargo xtask iam-policy sandbox --drills`.
    infra_tests::drills::iam_policy_covers_the_drill(&gate, "pitr_restore");
    let o = &record.outcome;
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    assert!(
        o.message.contains("marker A present, marker B absent"),
        "{}",
        o.message
    );
    for name in [
        "restore_duration",
        "marker_before_present",
        "marker_after_absent",
        "scratch_deleted",
    ] {
        assert_eq!(
            assertion(&record, name)["holds"],
            true,
            "{name}: {}",
            o.message
        );
    }
    let labels: Vec<&str> = record
        .timeline
        .marks
        .iter()
        .map(|m| m.label.as_str())
        .collect();
    assert!(
        labels
            .iter()
            .any(|l| l.starts_with("RestoreDBInstanceToPointInTime")),
        "{labels:?}"
    );
    // Its scratch instance was the drill's own until start + timeout
    // (restorable_within 1m + max_duration 2m + the markers' read 1m + the
    // longest dependent's recover_within 30s).
    let deadline = o.evidence.details["deadline"].as_str().expect("deadline");
    let deadline = humantime::parse_rfc3339(deadline).expect("RFC 3339");
    let ahead = deadline
        .duration_since(std::time::SystemTime::now())
        .expect("the deadline is ahead");
    assert!(
        ahead > Duration::from_secs(3 * 60 + 30) && ahead <= Duration::from_secs(4 * 60 + 30),
        "{ahead:?}"
    );
    nothing_left(&state, &gate).await;

    // --- after a failover: the archive spans a timeline switch
    fixtures::standins::control(&standins, "POST", "/rds/failover", None)
        .await
        .expect("failover");
    rds::wait_until_good(state.rds.as_ref().unwrap(), Duration::from_secs(60))
        .await
        .expect("standby back");
    let record = pitr_restore::run(&gate.fresh(), std::future::pending())
        .await
        .expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Pass,
        "{}",
        record.outcome.message
    );
    nothing_left(&state, &gate).await;

    // --- negative control: a restore that ignores the target keeps marker B
    fixtures::standins::apply_break(&standins, "rds-restore-ignores-target")
        .await
        .expect("break");
    let record = pitr_restore::run(&gate.fresh(), std::future::pending())
        .await
        .expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Fail,
        "{}",
        record.outcome.message
    );
    assert_eq!(assertion(&record, "marker_after_absent")["holds"], false);
    assert!(
        record.outcome.message.contains("marker B present"),
        "{}",
        record.outcome.message
    );
    assert_eq!(assertion(&record, "scratch_deleted")["holds"], true);
    fixtures::standins::reset_running(&standins)
        .await
        .expect("reset");
    nothing_left(&state, &gate).await;

    // --- interrupted after the restore call: error, and the scratch still goes
    let interrupt = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        "test interrupt".to_string()
    };
    let record = pitr_restore::run(&gate.fresh(), interrupt)
        .await
        .expect("the drill runs");
    assert_eq!(
        record.outcome.status,
        Status::Error,
        "{}",
        record.outcome.message
    );
    assert_eq!(record.outcome.evidence.details["cleanup"], true);
    nothing_left(&state, &gate).await;

    // --- interrupted while the restore call is in flight: moto made slow
    // (every request waits 300 ms before moto sees it), the interrupt comes
    // 100 ms after the call is counted (sent, never answered); moto still
    // makes the instance, and the cleanup finds it by its tag.
    // A gate of its own: its call counter has seen no restore yet.
    let gate = sandbox_gate().await;
    let calls = gate.aws().calls.clone();
    let latency = Latency::set(300);
    let interrupt = async {
        wait_for_call(&calls, "rds:RestoreDBInstanceToPointInTime").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        "test interrupt".to_string()
    };
    let record = pitr_restore::run(&gate, interrupt)
        .await
        .expect("the drill runs");
    drop(latency);
    let labels: Vec<&str> = record
        .timeline
        .marks
        .iter()
        .map(|m| m.label.as_str())
        .collect();
    println!("{}\n{labels:#?}", record.outcome.message);
    assert_eq!(
        record.outcome.status,
        Status::Error,
        "{}",
        record.outcome.message
    );
    assert!(
        labels
            .iter()
            .any(|l| l.contains("found by its verify:run tag")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("DeleteDBInstance")),
        "{labels:?}"
    );
    assert_eq!(
        record.outcome.evidence.details["cleanup"], true,
        "{}",
        record.outcome.message
    );
    nothing_left(&state, &gate).await;
}

/// `cleanup_leftovers` (`verify drill cleanup --yes`) deletes a tagged
/// scratch instance whose `verify:deadline` has passed, or that carries
/// none; it keeps a live drill's (deadline ahead), one whose deadline
/// cannot be read, and anything not tagged as a drill's.
#[test]
fn cleanup_deletes_expired_scratch_instances_only() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let gate = account.gate().await;
        let rds = aws_sdk_rds::Client::new(&sdk_config(&account.connection).await);
        let at = |offset: i64| {
            let now = std::time::SystemTime::now();
            let t = if offset >= 0 {
                now + Duration::from_secs(offset as u64)
            } else {
                now - Duration::from_secs(offset.unsigned_abs())
            };
            humantime::format_rfc3339_seconds(t).to_string()
        };
        for (id, tagged, deadline) in [
            ("crashed-long-ago", true, Some(at(-60))),
            ("made-before-deadlines", true, None),
            ("live-drill", true, Some(at(3600))),
            ("garbled-deadline", true, Some("tomorrow".to_string())),
            ("someone-elses-copy", false, None),
        ] {
            let mut restore = rds
                .restore_db_instance_to_point_in_time()
                .source_db_instance_identifier("restartix-sandbox")
                .target_db_instance_identifier(id)
                .use_latest_restorable_time(true)
                .deletion_protection(false);
            let tag = |key: &str, value: &str| {
                aws_sdk_rds::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
            };
            if tagged {
                restore = restore.tags(tag(pitr_restore::SCRATCH_TAG, "pitr_restore"));
            }
            if let Some(deadline) = &deadline {
                restore = restore.tags(tag(pitr_restore::DEADLINE_TAG, deadline));
            }
            restore.send().await.expect("restore");
        }
        let leftovers = pitr_restore::cleanup_leftovers(&gate)
            .await
            .expect("cleanup");
        let mut deleted = leftovers.deleted.clone();
        deleted.sort();
        assert_eq!(deleted, vec!["crashed-long-ago", "made-before-deadlines"]);
        let kept: Vec<(&str, &str)> = leftovers
            .kept
            .iter()
            .map(|(id, why)| (id.as_str(), why.as_str()))
            .collect();
        assert!(
            kept.iter().any(|(id, why)| *id == "live-drill"
                && why.contains("a drill may still own it: verify:deadline")),
            "{kept:?}"
        );
        assert!(
            kept.iter().any(|(id, why)| *id == "garbled-deadline"
                && why.contains("\"tomorrow\" is not an RFC 3339 time")),
            "{kept:?}"
        );
        assert_eq!(kept.len(), 2, "{kept:?}");
        let out = rds.describe_db_instances().send().await.expect("describe");
        let mut ids: Vec<&str> = out
            .db_instances()
            .iter()
            .filter_map(|d| d.db_instance_identifier())
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            vec![
                "garbled-deadline",
                "live-drill",
                "restartix-sandbox",
                "someone-elses-copy"
            ]
        );
    });
}

#[test]
fn a_restore_time_after_the_latest_restorable_time_is_refused() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let rds = aws_sdk_rds::Client::new(&sdk_config(&account.connection).await);
        let future = std::time::SystemTime::now() + Duration::from_secs(3600);
        let refused = rds
            .restore_db_instance_to_point_in_time()
            .source_db_instance_identifier("restartix-sandbox")
            .target_db_instance_identifier("too-late")
            .restore_time(aws_smithy_types::DateTime::from(future))
            .send()
            .await
            .expect_err("a restore time in the future");
        let text = format!("{:?}", refused);
        assert!(text.contains("InvalidRestoreFault"), "{text}");
    });
}

#[test]
fn a_spec_without_consent_or_a_broken_steady_state_restores_nothing() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let mut env = account.env.clone();
        env.drills.allowed = false;
        let gate = Gate::connect(env, account.connection.clone()).await;
        let refused = pitr_restore::run(&gate, std::future::pending()).await;
        assert!(
            matches!(refused, Err(DrillError::NotAllowed(_))),
            "{refused:?}"
        );
        assert_eq!(gate.aws().calls.snapshot().total_operations(), 0);

        let account = Account::seeded(&["rds-retention-1"])
            .await
            .expect("account");
        let mut env = account.env.clone();
        env.drills
            .pitr_restore
            .get_or_insert_with(verify::spec::PitrRestoreDrill::defaults)
            .database_url = Some("postgres://u:p@127.0.0.1:1/db?sslmode=disable".into());
        let gate = Gate::connect(env, account.connection.clone()).await;
        refused_naming(
            pitr_restore::run(&gate, std::future::pending()).await,
            "rds.backups",
        );
        only_reads_made(&gate);
    });
}
