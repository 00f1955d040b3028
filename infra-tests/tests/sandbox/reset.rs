//! `sandbox reset` restores every stand-in, not only moto: each stand-in
//! break (a Cloudflare API write, an edge knob, a DNS record, a balancer
//! deregistration, the RDS data plane's replication made asynchronous and
//! stalled) is undone by the same reset call `sandbox reset` makes.
//!
//! Runs on a private set of stand-ins started the way `sandbox serve`
//! starts them (with the control API and an RDS data plane of its own: two
//! more PostgreSQL clusters), over two throwaway TCP backends, so it never
//! disturbs the shared good sandbox that other tests run against in
//! parallel. The stand-ins are judged by the real checks (edge, Cloudflare,
//! SES DNS; none of them calls AWS), the balancer by real connections and
//! the data plane by `pg_stat_replication` and writes through its endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fixtures::{rds, standins};
use infra_tests::{connection, load_environment, runtime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use verify::{Gate, Outcome, Selection, Status};

/// The checks that read the stand-ins each break touches.
const STANDIN_CHECKS: [&str; 5] = [
    "cloudflare.ssl_strict",
    "cloudflare.waf",
    "cloudflare.custom_hostnames",
    "edge.https.headers",
    "ses.dns",
];

/// A backend that answers every connection with its name.
async fn named_backend(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(name.as_bytes()).await;
        }
    });
    addr
}

/// The backends that answer six connections through the balancer.
async fn answering(balancer: SocketAddr) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let mut s = TcpStream::connect(balancer).await.unwrap();
        let mut name = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut name)).await;
        seen.insert(name);
    }
    seen
}

async fn run_checks(state: &standins::StandinsState) -> Vec<Outcome> {
    let mut env = load_environment("sandbox").expect("sandbox spec");
    state.endpoints().point(&mut env);
    let conn = connection(&env).expect("sandbox connection");
    let ids: Vec<String> = STANDIN_CHECKS.iter().map(|s| s.to_string()).collect();
    Gate::connect(env, conn)
        .await
        .run(&Selection::new(&ids, &[]).unwrap(), |_| {})
        .await
}

fn status_of(outcomes: &[Outcome], id: &str) -> (Status, String) {
    let o = outcomes.iter().find(|o| o.id == id).expect(id);
    (o.status, o.message.clone())
}

#[test]
fn reset_restores_every_standin_after_every_standin_break() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let dir = std::env::temp_dir().join(format!(
            "verify-reset-{}-{}",
            std::process::id(),
            infra_tests::fresh_account()
        ));
        let backends = vec![named_backend("a").await, named_backend("b").await];
        let mut set = standins::start_with_balancer(&dir, backends)
            .await
            .expect("stand-ins");
        set.start_rds(&dir.join("rds"), Default::default())
            .await
            .expect("a private RDS data plane");
        let set = Arc::new(set);
        let control = standins::start_control(set.clone())
            .await
            .expect("control API");
        let mut state = set.state.clone();
        state.control_url = Some(control.url());
        let rds_state = state.rds.as_mut().expect("rds");
        rds_state.control_url = Some(control.url());
        let rds_state = rds_state.clone();
        let balancer = state.pgbouncer_endpoint.expect("balancer");
        let all = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();

        let good = run_checks(&state).await;
        for id in STANDIN_CHECKS {
            let (status, message) = status_of(&good, id);
            assert_eq!(status, Status::Pass, "{id} before any break: {message}");
        }
        assert_eq!(answering(balancer).await, all(&["a", "b"]));
        let good_rds = rds::status(&rds_state).await.expect("GET /rds");
        assert!(good_rds.is_good(), "{good_rds:?}");

        // The pgbouncer tasks' stop knobs need real pgbouncer processes
        // (`drill_pgbouncer.rs` breaks and resets those).
        for (name, _) in standins::BREAKS
            .iter()
            .filter(|(name, _)| !standins::TASK_BREAKS.contains(name))
        {
            standins::apply_break(&state, name)
                .await
                .unwrap_or_else(|e| panic!("break {name}: {e:#}"));
        }
        let broken = run_checks(&state).await;
        for (id, part) in [
            ("cloudflare.ssl_strict", "full"),
            ("cloudflare.waf", ""),
            ("cloudflare.custom_hostnames", "app.physio-bucharest.test"),
            ("edge.https.headers", "Strict-Transport-Security expected"),
            ("ses.dns", "p=none"),
        ] {
            let (status, message) = status_of(&broken, id);
            assert_ne!(status, Status::Pass, "{id} after the breaks: {message}");
            assert!(message.contains(part), "{id}: {message:?} lacks {part:?}");
        }
        assert_eq!(answering(balancer).await, all(&["b"]), "a deregistered");
        let broken_rds = rds::status(&rds_state).await.expect("GET /rds");
        assert_eq!(
            (
                broken_rds.synchronous_standby_names.as_deref(),
                broken_rds.standby_state.as_deref()
            ),
            (Some(""), None),
            "asynchronous, the standby's stream stalled: {broken_rds:?}"
        );
        assert!(
            broken_rds.failover_in_place && broken_rds.az_report_delay_ms > 0,
            "rds-failover-in-place and rds-az-lag on: {broken_rds:?}"
        );
        // Written while the standby stalls: the reset must catch it up, not lose it.
        let (writer, connection) =
            tokio_postgres::connect(&rds_state.probe_url, tokio_postgres::NoTls)
                .await
                .expect("through the private endpoint");
        tokio::spawn(connection);
        writer
            .batch_execute(
                "CREATE TABLE during_break (id int); INSERT INTO during_break VALUES (1), (2), (3)",
            )
            .await
            .expect("write while broken");

        // What `sandbox reset` calls for the stand-ins.
        standins::reset_running(&state).await.expect("reset");

        let restored = run_checks(&state).await;
        for id in STANDIN_CHECKS {
            let (status, message) = status_of(&restored, id);
            assert_eq!(status, Status::Pass, "{id} after reset: {message}");
        }
        assert_eq!(
            answering(balancer).await,
            all(&["a", "b"]),
            "both registered again"
        );
        let restored_rds = rds::status(&rds_state).await.expect("GET /rds");
        assert!(restored_rds.is_good(), "after reset: {restored_rds:?}");
        assert!(
            !restored_rds.failover_in_place && restored_rds.az_report_delay_ms == 0,
            "the failover knobs off after reset: {restored_rds:?}"
        );
        assert_eq!(restored_rds.primary_az, good_rds.primary_az);
        // The standby caught up: a failover now keeps what was written while it stalled.
        let report = standins::control(&state, "POST", "/rds/failover", None)
            .await
            .expect("failover");
        assert_eq!(report["primary_az"], good_rds.standby_az.as_str());
        let (reader, connection) =
            tokio_postgres::connect(&rds_state.probe_url, tokio_postgres::NoTls)
                .await
                .expect("through the endpoint, after the failover");
        tokio::spawn(connection);
        let count: i64 = reader
            .query_one("SELECT count(*) FROM during_break", &[])
            .await
            .expect("count")
            .get(0);
        assert_eq!(count, 3);

        // A second round: the reset state is a working good state, not a snapshot used once.
        standins::apply_break(&state, "cloudflare-hostname-deleted")
            .await
            .expect("break again");
        standins::reset_running(&state).await.expect("reset again");
        let (status, message) = status_of(&run_checks(&state).await, "cloudflare.custom_hostnames");
        assert_eq!(status, Status::Pass, "{message}");

        // A reset after a failover puts the primary back home, Multi-AZ again.
        standins::reset_running(&state)
            .await
            .expect("reset after a failover");
        let home = rds::status(&rds_state).await.expect("GET /rds");
        assert!(home.is_good(), "{home:?}");
        assert_eq!(home.primary_az, good_rds.primary_az);

        drop(control);
        if let Some(plane) = &set.rds {
            plane.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(dir);
    });
}

/// A running set without a control API cannot be reset, and says how to fix it.
#[test]
fn a_set_without_a_control_api_says_so() {
    let _sandbox = infra_tests::reading();
    runtime().block_on(async {
        let dir = std::env::temp_dir().join(format!(
            "verify-reset-none-{}-{}",
            std::process::id(),
            infra_tests::fresh_account()
        ));
        let set = standins::start(&dir).await.expect("stand-ins");
        let error = standins::reset_running(&set.state).await.unwrap_err();
        assert!(format!("{error:#}").contains("sandbox down"), "{error:#}");
        let _ = std::fs::remove_dir_all(dir);
    });
}
