//! The sandbox's pgbouncer data path is real: two pgbouncer processes (one
//! per ECS task / AZ) in front of the sandbox PostgreSQL, behind the NLB
//! stand-in whose address the harness gives the spec as `pgbouncer.endpoint`.
//! Each task listens on the private IP its ECS task reports (DescribeTasks:
//! `127.0.<az>.<n>`) and PostgreSQL sees its connections come from that
//! address (`inet_client_addr()`), as RDS sees a task's ENI: how the drain
//! drill shows which task carried a client.

use std::net::SocketAddr;
use std::process::Command;

use fixtures::SandboxState;
use infra_tests::{load_for_run, operator, runtime};

fn select_one(addr: SocketAddr) -> Result<String, String> {
    query(addr, "select 40 + 2")
}

fn query(addr: SocketAddr, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .arg(format!(
            "host={} port={} user=postgres dbname=postgres connect_timeout=5",
            addr.ip(),
            addr.port()
        ))
        .args(["-Atc", sql])
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

/// The pgbouncer tasks now (a drill's replacement listens on a new
/// address): `(AZ, backend)`.
fn tasks_now(standins: &fixtures::standins::StandinsState) -> Vec<(String, SocketAddr)> {
    let status = runtime()
        .block_on(fixtures::standins::control(
            standins,
            "GET",
            "/pgbouncer",
            None,
        ))
        .expect("GET /pgbouncer");
    status["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["az"].as_str().expect("az").to_string(),
                t["backend"]
                    .as_str()
                    .expect("backend")
                    .parse()
                    .expect("ip:port"),
            )
        })
        .collect()
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
    let tasks = tasks_now(&standins);
    assert_eq!(tasks.len(), 2);
    for (_, backend) in &tasks {
        assert_eq!(
            select_one(*backend).as_deref(),
            Ok("42"),
            "through pgbouncer {backend}"
        );
    }
}

#[test]
fn each_task_listens_on_and_reaches_the_database_from_the_ip_describe_tasks_reports() {
    let _sandbox = infra_tests::reading();
    let standins = standins();
    let env = load_for_run("sandbox").expect("sandbox spec");
    // DescribeTasks: each RUNNING pgbouncer task's AZ (its subnet's) and private IP.
    let reported: Vec<(String, String)> = runtime().block_on(async {
        let config = operator(&env).await;
        let ecs = aws_sdk_ecs::Client::new(&config);
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let arns = ecs
            .list_tasks()
            .cluster(fixtures::platform::CLUSTER)
            .service_name(fixtures::platform::PGBOUNCER_SERVICE)
            .send()
            .await
            .expect("ListTasks")
            .task_arns()
            .to_vec();
        let described = ecs
            .describe_tasks()
            .cluster(fixtures::platform::CLUSTER)
            .set_tasks(Some(arns))
            .send()
            .await
            .expect("DescribeTasks");
        let mut reported = Vec::new();
        for task in described.tasks().iter().filter(|t| {
            t.last_status() == Some("RUNNING")
                && t.group()
                    == Some(&format!(
                        "service:{}",
                        fixtures::platform::PGBOUNCER_SERVICE
                    ))
        }) {
            let detail = |name: &str| {
                task.attachments()
                    .iter()
                    .flat_map(|a| a.details())
                    .find(|d| d.name() == Some(name))
                    .and_then(|d| d.value())
                    .map(String::from)
                    .unwrap_or_else(|| panic!("no {name} in {task:?}"))
            };
            let subnet = ec2
                .describe_subnets()
                .subnet_ids(detail("subnetId"))
                .send()
                .await
                .expect("DescribeSubnets");
            let az = subnet.subnets()[0]
                .availability_zone()
                .expect("az")
                .to_string();
            reported.push((az, detail("privateIPv4Address")));
        }
        reported.sort();
        reported
    });
    let mut listening: Vec<(String, String)> = tasks_now(&standins)
        .into_iter()
        .map(|(az, backend)| (az, backend.ip().to_string()))
        .collect();
    listening.sort();
    assert_eq!(
        reported, listening,
        "DescribeTasks' IPs are where the tasks listen"
    );
    for (az, ip) in &listening {
        assert!(ip.starts_with("127.0."), "{az}: {ip}");
        let backend = tasks_now(&standins)
            .into_iter()
            .find(|(a, _)| a == az)
            .expect("task")
            .1;
        assert_eq!(
            query(backend, "select host(inet_client_addr())").as_deref(),
            Ok(ip.as_str()),
            "PostgreSQL sees the task in {az} from its own address"
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
