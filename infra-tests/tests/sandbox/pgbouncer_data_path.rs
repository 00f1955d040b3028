//! The sandbox's pgbouncer data path is real: two pgbouncer processes (one
//! per ECS task / AZ) in front of the sandbox PostgreSQL, behind the NLB
//! stand-in whose address the harness gives the spec as `pgbouncer.endpoint`.

use std::net::SocketAddr;
use std::process::Command;

use fixtures::SandboxState;
use infra_tests::load_for_run;

fn select_one(addr: SocketAddr) -> Result<String, String> {
    let out = Command::new("psql")
        .arg(format!(
            "host={} port={} user=postgres dbname=postgres connect_timeout=5",
            addr.ip(),
            addr.port()
        ))
        .args(["-Atc", "select 40 + 2"])
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn standins() -> fixtures::standins::StandinsState {
    SandboxState::load()
        .expect("state.json")
        .expect("the sandbox is running")
        .standins
        .expect("stand-ins recorded")
}

#[test]
fn queries_pass_through_the_balancer_and_each_pgbouncer() {
    let _sandbox = infra_tests::reading();
    let standins = standins();
    let endpoint = standins.pgbouncer_endpoint.expect("balancer endpoint");
    for _ in 0..4 {
        assert_eq!(
            select_one(endpoint).as_deref(),
            Ok("42"),
            "through the balancer {endpoint}"
        );
    }
    assert_eq!(standins.pgbouncer_backends.len(), 2);
    for backend in &standins.pgbouncer_backends {
        assert_eq!(
            select_one(*backend).as_deref(),
            Ok("42"),
            "through pgbouncer {backend}"
        );
    }
}

#[test]
fn the_sandbox_spec_points_pgbouncer_at_the_balancer() {
    let _sandbox = infra_tests::reading();
    let env = load_for_run("sandbox").expect("sandbox spec");
    let endpoint = env
        .pgbouncer
        .and_then(|p| p.endpoint)
        .expect("pgbouncer.endpoint filled in");
    assert_eq!(
        Some(endpoint.parse().unwrap()),
        standins().pgbouncer_endpoint
    );
}

#[test]
fn a_closed_port_is_not_a_database() {
    let _sandbox = infra_tests::reading();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(select_one(closed).is_err());
}
