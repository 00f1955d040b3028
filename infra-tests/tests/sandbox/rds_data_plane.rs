//! The sandbox's RDS data plane is worth drilling: `RebootDBInstance`
//! through the real SDK against moto fails a real PostgreSQL primary over to
//! its synchronous standby, and a client through the instance endpoint sees
//! a real outage, and loses nothing it was told was committed; with the
//! `rds-async-standby` break it does lose acknowledged writes.
//!
//! The failover test runs on the shared sandbox's one data plane, so it takes
//! the sandbox alone (`infra_tests::changing`: other processes, drills, wait) and leaves it
//! good: the primary back in the AZ it found it in (two failovers), the
//! standby streaming synchronously, moto's AZ fields agreeing. moto itself
//! is never reset here (other suites' accounts live in it). The refusals
//! and the simulated reboot run in a fresh account of their own.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_rds::types::SourceType;
use fixtures::SandboxState;
use fixtures::rds::{self, RdsState};
use infra_tests::runtime;

/// How long a failover may take before the test calls it broken (the
/// sandbox's takes about `DETECTION_DELAY` plus a promotion: ~1.3 s).
const FAILOVER_BOUND: Duration = Duration::from_secs(60);

fn sandbox() -> SandboxState {
    SandboxState::load()
        .expect("state.json")
        .expect("the sandbox is running (cargo xtask sandbox up)")
}

async fn rds_client(target: &fixtures::SeedTarget) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&target.sdk_config().await)
}

/// (status, AvailabilityZone, SecondaryAvailabilityZone) as DescribeDBInstances reports them.
async fn describe(client: &aws_sdk_rds::Client, id: &str) -> (String, String, String) {
    let out = client
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .expect("rds:DescribeDBInstances");
    let db = &out.db_instances()[0];
    (
        db.db_instance_status().unwrap_or_default().to_string(),
        db.availability_zone().unwrap_or_default().to_string(),
        db.secondary_availability_zone()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Polls until the instance is `available` again; (time it took, AZ, secondary AZ).
async fn wait_available(client: &aws_sdk_rds::Client, id: &str) -> (Duration, String, String) {
    let started = Instant::now();
    loop {
        let (status, az, secondary) = describe(client, id).await;
        if status == "available" {
            return (started.elapsed(), az, secondary);
        }
        assert_eq!(status, "rebooting", "between the reboot and available");
        assert!(
            started.elapsed() < FAILOVER_BOUND,
            "{id} still {status} after {FAILOVER_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn reboot(client: &aws_sdk_rds::Client, id: &str, failover: bool) -> String {
    let out = client
        .reboot_db_instance()
        .db_instance_identifier(id)
        .force_failover(failover)
        .send()
        .await
        .expect("rds:RebootDBInstance");
    out.db_instance()
        .and_then(|d| d.db_instance_status())
        .unwrap_or_default()
        .to_string()
}

async fn event_messages(client: &aws_sdk_rds::Client, id: &str) -> Vec<String> {
    client
        .describe_events()
        .source_type(SourceType::DbInstance)
        .source_identifier(id)
        .send()
        .await
        .expect("rds:DescribeEvents")
        .events()
        .iter()
        .filter_map(|e| e.message().map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------- the probe

async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Whether a probe failure was the endpoint refusing the connection.
fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = e.source();
    }
    false
}

#[derive(Default)]
struct Ledger {
    /// Ids whose COMMIT (autocommit INSERT) was acknowledged.
    acknowledged: Vec<i64>,
    /// Ids whose outcome is unknown (the connection went during the INSERT).
    indeterminate: Vec<i64>,
    /// (when, ok, refused) per attempt.
    samples: Vec<(Instant, bool, bool)>,
}

/// A writer through the endpoint: monotonic ids into `table`, one autocommit
/// INSERT each, every ~20 ms, reconnecting after any failure, each
/// operation bounded by 2 s.
struct Writer {
    ledger: Arc<Mutex<Ledger>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(url: String, table: String, first_id: i64) -> Writer {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let shared = ledger.clone();
        let task = tokio::spawn(async move {
            let bound = Duration::from_secs(2);
            let mut client = None;
            let mut id = first_id;
            while !*stopped.borrow() {
                if client.is_none() {
                    match tokio::time::timeout(bound, connect(&url)).await {
                        Ok(Ok(c)) => client = Some(c),
                        Ok(Err(e)) => {
                            let refused = refused(&e);
                            shared
                                .lock()
                                .unwrap()
                                .samples
                                .push((Instant::now(), false, refused));
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                        Err(_) => {
                            shared
                                .lock()
                                .unwrap()
                                .samples
                                .push((Instant::now(), false, false));
                            continue;
                        }
                    }
                }
                let c = client.as_ref().expect("connected");
                let insert = format!("INSERT INTO {table} (id) VALUES ({id})");
                let outcome = tokio::time::timeout(bound, c.batch_execute(&insert)).await;
                let ok = matches!(outcome, Ok(Ok(())));
                {
                    let mut ledger = shared.lock().unwrap();
                    if ok {
                        ledger.acknowledged.push(id);
                    } else {
                        ledger.indeterminate.push(id);
                    }
                    ledger.samples.push((Instant::now(), ok, false));
                }
                if !ok {
                    client = None;
                }
                id += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Writer { ledger, stop, task }
    }

    fn acknowledged(&self) -> usize {
        self.ledger.lock().unwrap().acknowledged.len()
    }

    async fn wait_acknowledged(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.acknowledged() < n {
            assert!(
                Instant::now() < deadline,
                "fewer than {n} writes acknowledged in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(self) -> Ledger {
        let _ = self.stop.send(true);
        self.task.await.expect("writer task");
        Arc::try_unwrap(self.ledger)
            .ok()
            .expect("writer gone")
            .into_inner()
            .unwrap()
    }
}

/// First failed sample after `from` to the first good one after it.
fn outage(ledger: &Ledger, from: Instant) -> Option<Duration> {
    let samples: Vec<_> = ledger.samples.iter().filter(|s| s.0 >= from).collect();
    let first_bad = samples.iter().position(|s| !s.1)?;
    let recovered = samples[first_bad..].iter().find(|s| s.1)?;
    Some(recovered.0 - samples[first_bad].0)
}

async fn ids_in(url: &str, table: &str) -> BTreeSet<i64> {
    let client = connect(url).await.expect("connect through the endpoint");
    client
        .query(&format!("SELECT id FROM {table}"), &[])
        .await
        .expect("select ids")
        .iter()
        .map(|r| r.get::<_, i64>(0))
        .collect()
}

/// `pg_stat_replication` on the member in `az`, as the superuser: (application_name, state, sync_state).
async fn replication_on(rds: &RdsState, az: &str) -> Vec<(String, String, String)> {
    let member = rds.member(az).expect("member");
    let client = connect(&format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres",
        member.port
    ))
    .await
    .expect("connect to the primary member");
    client
        .query(
            "SELECT application_name, state, sync_state FROM pg_stat_replication",
            &[],
        )
        .await
        .expect("pg_stat_replication")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

// ---------------------------------------------------------------- the tests

/// One forced failover with the good data plane (no acknowledged write
/// lost, AZs swapped, events, Multi-AZ back), then one with the
/// `rds-async-standby` break (acknowledged writes lost), then the reset:
/// in this order, holding the sandbox alone.
#[test]
fn a_failover_keeps_every_acknowledged_write_and_an_async_standby_loses_some() {
    let _sandbox = infra_tests::changing();
    let state = sandbox();
    let rds = state
        .rds
        .clone()
        .expect("state.json records the RDS data plane");
    let standins = state.standins.clone().expect("stand-ins");
    let runtime = runtime();
    let body = runtime.spawn(failover_both_ways(
        state.clone(),
        rds.clone(),
        standins.clone(),
    ));
    let outcome = runtime.block_on(body);
    // Whatever happened, leave the data plane good for the suites after us.
    runtime.block_on(async {
        fixtures::standins::reset_running(&standins)
            .await
            .expect("reset the stand-ins (and the data plane)");
        rds::wait_until_good(&rds, Duration::from_secs(60))
            .await
            .expect("good after the reset");
    });
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn failover_both_ways(
    state: SandboxState,
    rds: RdsState,
    standins: fixtures::standins::StandinsState,
) {
    let id = rds.instance.clone();
    let client = rds_client(&state.seed_target()).await;
    let before = rds::wait_until_good(&rds, Duration::from_secs(60))
        .await
        .expect("a good data plane to start from");
    let (status, az, secondary) = describe(&client, &id).await;
    assert_eq!(status, "available");
    assert_eq!(
        (az.as_str(), secondary.as_str()),
        (before.primary_az.as_str(), before.standby_az.as_str()),
        "moto's AZ fields agree with the data plane"
    );

    let table = format!("drill_probe_{}", std::process::id());
    let setup = connect(&rds.probe_url)
        .await
        .expect("the master user through the endpoint");
    setup
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id bigint PRIMARY KEY)"
        ))
        .await
        .expect("the probe's table");
    drop(setup);

    // --- the good data plane: nothing acknowledged is lost
    let writer = Writer::start(rds.probe_url.clone(), table.clone(), 1);
    writer.wait_acknowledged(200).await;
    let injected = Instant::now();
    assert_eq!(reboot(&client, &id, true).await, "rebooting");
    assert_eq!(describe(&client, &id).await.0, "rebooting");
    let (took, new_az, new_secondary) = wait_available(&client, &id).await;
    assert_eq!(
        (new_az.as_str(), new_secondary.as_str()),
        (secondary.as_str(), az.as_str()),
        "primary and standby AZs swapped"
    );
    let after = rds::status(&rds).await.expect("GET /rds");
    assert_eq!(after.primary_az, new_az, "the data plane agrees with moto");
    // Writes carry on through the endpoint to the new primary.
    let acknowledged_at_recovery = writer.acknowledged();
    writer
        .wait_acknowledged(acknowledged_at_recovery + 20)
        .await;
    let ledger = writer.finish().await;
    let outage = outage(&ledger, injected).expect("the probe saw an outage and a recovery");
    let refusals = ledger
        .samples
        .iter()
        .filter(|s| s.0 >= injected && s.2)
        .count();
    println!(
        "failover: available after {took:?}; client-observed outage {outage:?}; {} acknowledged, {} indeterminate, {refusals} connections refused",
        ledger.acknowledged.len(),
        ledger.indeterminate.len()
    );
    assert!(
        refusals > 0,
        "new connections are refused while the primary is gone"
    );
    assert!(outage < FAILOVER_BOUND, "outage {outage:?}");
    let present = ids_in(&rds.probe_url, &table).await;
    let missing: Vec<i64> = ledger
        .acknowledged
        .iter()
        .filter(|i| !present.contains(i))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged writes missing after a synchronous failover: {missing:?}"
    );
    let messages = event_messages(&client, &id).await;
    let started = messages
        .iter()
        .rposition(|m| m == "Multi-AZ instance failover started.")
        .unwrap_or_else(|| panic!("no failover-started event: {messages:?}"));
    let completed = messages
        .iter()
        .rposition(|m| m == "Multi-AZ instance failover completed.")
        .unwrap_or_else(|| panic!("no failover-completed event: {messages:?}"));
    assert!(started < completed, "{messages:?}");
    // Multi-AZ comes back: the old primary rebuilt as a synchronous standby.
    let back = rds::wait_until_good(&rds, Duration::from_secs(60))
        .await
        .expect("the standby rebuilt and streaming synchronously");
    assert_eq!(back.standby_az, az);
    let standby_name = rds
        .member(&az)
        .expect("old primary")
        .application_name
        .clone();
    assert_eq!(
        replication_on(&rds, &new_az).await,
        vec![(standby_name, "streaming".to_string(), "sync".to_string())],
        "pg_stat_replication on the new primary"
    );

    // --- rds-async-standby: acknowledged writes are lost
    fixtures::standins::apply_break(&standins, "rds-async-standby")
        .await
        .expect("break rds-async-standby");
    let broken = rds::status(&rds).await.expect("GET /rds");
    assert_eq!(broken.synchronous_standby_names.as_deref(), Some(""));
    assert_eq!(
        broken.standby_state, None,
        "the standby's WAL stream stalled"
    );
    let writer = Writer::start(rds.probe_url.clone(), table.clone(), 1_000_000);
    writer.wait_acknowledged(100).await;
    let ledger = writer.finish().await;
    assert_eq!(reboot(&client, &id, true).await, "rebooting");
    let (_, az_again, _) = wait_available(&client, &id).await;
    assert_eq!(az_again, az, "failed back over to the first AZ");
    let present = ids_in(&rds.probe_url, &table).await;
    let lost = ledger
        .acknowledged
        .iter()
        .filter(|i| !present.contains(i))
        .count();
    println!(
        "async standby: {lost} of {} acknowledged writes lost in the failover",
        ledger.acknowledged.len()
    );
    assert!(
        lost > 0,
        "an async, stalled standby must lose acknowledged writes"
    );

    // The reset (the caller runs it again whatever happens) brings the good state back.
    fixtures::standins::reset_running(&standins)
        .await
        .expect("reset");
    let good = rds::wait_until_good(&rds, Duration::from_secs(60))
        .await
        .expect("good after reset");
    assert_eq!(
        good.primary_az, az,
        "home again, where moto says the primary is"
    );
    assert_eq!(describe(&client, &id).await.1, good.primary_az);
    let cleanup = connect(&rds.probe_url).await.expect("connect");
    cleanup
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .expect("drop the probe's table");
}

/// An instance without a data plane (a fresh account's): the refusals RDS
/// gives, `rebooting` then `available`, the AZs swapped by a forced failover
/// and kept by a plain reboot, and their events.
#[test]
fn reboot_is_refused_as_rds_refuses_it_and_simulated_elsewhere() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let state = sandbox();
        let target = fixtures::SeedTarget {
            endpoint: state.aws_endpoint_url.clone(),
            account: infra_tests::fresh_account(),
        };
        let client = rds_client(&target).await;
        for (id, multi_az) in [("single", false), ("multi", true)] {
            client
                .create_db_instance()
                .db_instance_identifier(id)
                .engine("postgres")
                .db_instance_class("db.t4g.micro")
                .allocated_storage(20)
                .master_username("u")
                .master_user_password("password-1")
                .multi_az(multi_az)
                .send()
                .await
                .expect("rds:CreateDBInstance");
        }
        let error = client
            .reboot_db_instance()
            .db_instance_identifier("single")
            .force_failover(true)
            .send()
            .await
            .expect_err("ForceFailover on a single-AZ instance");
        let error = error.into_service_error();
        assert_eq!(
            aws_sdk_rds::error::ProvideErrorMetadata::code(&error),
            Some("InvalidParameterCombination"),
            "{error:?}"
        );

        let (_, az, secondary) = describe(&client, "multi").await;
        assert_ne!(az, secondary);
        assert_eq!(reboot(&client, "multi", true).await, "rebooting");
        let again = client
            .reboot_db_instance()
            .db_instance_identifier("multi")
            .send()
            .await
            .expect_err("a reboot while rebooting");
        assert_eq!(
            aws_sdk_rds::error::ProvideErrorMetadata::code(&again.into_service_error()),
            Some("InvalidDBInstanceState")
        );
        let (_, new_az, new_secondary) = wait_available(&client, "multi").await;
        assert_eq!(
            (new_az.as_str(), new_secondary.as_str()),
            (secondary.as_str(), az.as_str())
        );

        assert_eq!(reboot(&client, "multi", false).await, "rebooting");
        let (_, kept_az, kept_secondary) = wait_available(&client, "multi").await;
        assert_eq!(
            (kept_az, kept_secondary),
            (new_az, new_secondary),
            "no failover, no swap"
        );
        let messages = event_messages(&client, "multi").await;
        let ours = [
            "Multi-AZ instance failover started.",
            "DB instance restarted",
            "Multi-AZ instance failover completed.",
        ];
        let tail: Vec<&str> = messages
            .iter()
            .map(String::as_str)
            .filter(|m| ours.contains(m))
            .collect();
        assert_eq!(
            tail,
            [
                "Multi-AZ instance failover started.",
                "DB instance restarted",
                "Multi-AZ instance failover completed.",
                "DB instance restarted",
            ]
        );
        // Categories filter, as AWS applies it.
        let failovers = client
            .describe_events()
            .source_type(SourceType::DbInstance)
            .source_identifier("multi")
            .event_categories("failover")
            .send()
            .await
            .expect("rds:DescribeEvents");
        assert_eq!(failovers.events().len(), 2);
        // The past hour only, unless asked for more.
        let old = client
            .describe_events()
            .source_type(SourceType::DbInstance)
            .source_identifier("multi")
            .end_time(aws_smithy_types::DateTime::from_secs(1_600_000_000))
            .send()
            .await
            .expect("rds:DescribeEvents");
        assert!(old.events().is_empty());
    });
}

/// The endpoint, the probe URL and the members state.json records.
#[test]
fn state_json_records_the_data_plane() {
    let _sandbox = infra_tests::reading();
    let state = sandbox();
    let rds = state.rds.expect("rds in state.json");
    assert!(rds.probe_url.contains(&rds.endpoint), "{}", rds.probe_url);
    assert_eq!(rds.members.len(), 2);
    assert_ne!(rds.primary_az, rds.standby_az);
    assert!(rds.control_url.is_some());
    assert_eq!(
        state.postgres.port.to_string(),
        rds.endpoint.rsplit(':').next().unwrap()
    );
    for member in &rds.members {
        let service = state
            .services
            .iter()
            .find(|s| s.name == format!("rds-{}", member.az))
            .expect("a service per member");
        assert_eq!(service.pid_file.as_ref(), Some(&member.pid_file()));
        assert!(service.alive(), "{} runs", service.name);
    }
    runtime().block_on(async {
        let client = connect(&rds.probe_url)
            .await
            .expect("the master user connects");
        let row = client
            .query_one("SELECT current_user::text, current_database()::text", &[])
            .await
            .expect("query");
        assert_eq!(
            (row.get::<_, String>(0), row.get::<_, String>(1)),
            (rds::MASTER_USER.to_string(), rds::DATABASE.to_string())
        );
        let wrong = rds
            .probe_url
            .replace(rds::MASTER_PASSWORD, "not-the-password");
        assert!(
            connect(&wrong).await.is_err(),
            "a wrong password is refused"
        );
    });
}
