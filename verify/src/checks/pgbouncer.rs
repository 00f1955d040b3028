//! `pgbouncer.*`: the pgbouncer service on ECS runs its declared tasks across
//! AZs, sits behind a load-balancer target group with healthy targets in
//! several AZs, and can drain a task without cutting transactions.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::types::{Service, Task, TaskDefinition};
use aws_sdk_elasticloadbalancingv2::types::{
    TargetGroup, TargetHealthDescription, TargetHealthStateEnum,
};
use serde_json::json;

use crate::aws;
use crate::check::{
    Check, CheckDef, CheckError, CheckResult, Evidence, Fields, Finding, Grant, required,
};
use crate::context::Context;
use crate::spec::PgbouncerSpec;

use crate::aws::ecs::DESCRIBE_SERVICES;
use crate::aws::elb::DESCRIBE_TG_ATTRIBUTES;
/// Below this, ECS kills pgbouncer before it can finish a transaction.
const MIN_STOP_TIMEOUT: Duration = Duration::from_secs(10);

// --- what: the checks, declared ----------------------------------------------

const DESCRIBE_SERVICE: Grant = Grant::on(
    "EcsReadDeclaredServices",
    "ecs:DescribeServices",
    |env, a| {
        env.pgbouncer
            .iter()
            .map(|p| {
                a.arn(
                    "ecs",
                    &format!("service/{}/{}", a.cluster_name(&p.cluster), p.service),
                )
            })
            .collect()
    },
);
const LIST_TASKS: Grant = Grant::any("ecs:ListTasks", declared)
    .sid("EcsListTasksInDeclaredClusters")
    .condition("ArnEquals", "ecs:cluster", |env, a| {
        env.pgbouncer
            .iter()
            .map(|p| a.cluster(&p.cluster))
            .collect()
    });
const DESCRIBE_TASKS: Grant = Grant::on(
    "EcsReadTasksInDeclaredClusters",
    "ecs:DescribeTasks",
    |env, a| env.pgbouncer.iter().map(|p| a.tasks(&p.cluster)).collect(),
);
const DESCRIBE_SUBNETS: Grant = Grant::any("ec2:DescribeSubnets", declared);
const DESCRIBE_TARGET_GROUPS: Grant =
    Grant::any("elasticloadbalancing:DescribeTargetGroups", declared);

fn declared(env: &crate::Environment) -> bool {
    env.pgbouncer.is_some()
}

const SERVICE: CheckDef = CheckDef {
    id: "pgbouncer.service",
    title: "the pgbouncer service is active, not mid-rollout, at its declared size",
    doc: "service ACTIVE, one PRIMARY deployment (not mid-rollout), running = desired ≥ declared minimum (default 2)",
    iam: &[DESCRIBE_SERVICE],
};

const MULTI_AZ: CheckDef = CheckDef {
    id: "pgbouncer.multi_az",
    title: "pgbouncer tasks run in at least two AZs",
    doc: "running tasks sit in ≥ 2 distinct AZs (from the task AZ, or its ENI's subnet)",
    iam: &[LIST_TASKS, DESCRIBE_TASKS, DESCRIBE_SUBNETS],
};

const TARGETS: CheckDef = CheckDef {
    id: "pgbouncer.targets",
    title: "the load balancer sees healthy pgbouncer targets in at least two AZs",
    doc: "the load balancer target group has ≥ 2 healthy targets spanning ≥ 2 AZs",
    iam: &[
        DESCRIBE_TARGET_GROUPS,
        Grant::any("elasticloadbalancing:DescribeTargetHealth", declared),
        DESCRIBE_SUBNETS,
    ],
};

const DRAIN_READY: CheckDef = CheckDef {
    id: "pgbouncer.drain_ready",
    title: "a stopping pgbouncer task drains: deregistration delay, stop timeout, safe stop signal",
    doc: "target group deregistration delay and the container stop timeout each within a declared range (minimum and maximum), the stop signal a safe shutdown for the declared pgbouncer version, so a stopping task gets no new connections and finishes its transactions",
    iam: &[
        DESCRIBE_TARGET_GROUPS,
        Grant::any(
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            declared,
        ),
        DESCRIBE_SERVICE,
        Grant::any("ecs:DescribeTaskDefinition", declared),
    ],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&SERVICE, |g| Box::pin(with_spec(g, service_check))),
        Check::new(&MULTI_AZ, |g| Box::pin(with_spec(g, multi_az))),
        Check::new(&TARGETS, |g| Box::pin(with_spec(g, targets))),
        Check::new(&DRAIN_READY, |g| Box::pin(with_spec(g, drain_ready))),
    ]
}

// --- how: the judges ----------------------------------------------------------

async fn with_spec<'a, F, Fut>(cx: &'a Context, check: F) -> CheckResult
where
    F: FnOnce(&'a Context, &'a PgbouncerSpec) -> Fut,
    Fut: std::future::Future<Output = CheckResult>,
{
    match &cx.env().pgbouncer {
        Some(spec) => check(cx, spec).await,
        None => Ok(Finding::skip("no pgbouncer declared for this environment")),
    }
}

/// `pgbouncer.service`: ACTIVE, one PRIMARY deployment, running = desired ≥ declared minimum.
async fn service_check(cx: &Context, spec: &PgbouncerSpec) -> CheckResult {
    judge_service(spec, &*service(cx, spec).await?)
}

/// `pgbouncer.service` from the described service: pure, so every case is a
/// table row. A status ECS did not report is an error, never "not ACTIVE".
fn judge_service(spec: &PgbouncerSpec, svc: &Service) -> CheckResult {
    let name = format!("ecs service '{}/{}'", spec.cluster, spec.service);
    let status = required(svc.status(), DESCRIBE_SERVICES, &name, "status")?;
    let deployments: Vec<String> = svc
        .deployments()
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d.status().unwrap_or("?"),
                d.rollout_state().map(|r| r.as_str()).unwrap_or("-")
            )
        })
        .collect();
    let (running, desired) = (svc.running_count(), svc.desired_count());
    let evidence = Evidence::of(&name)
        .expected(json!({
            "status": "ACTIVE",
            "deployments": "exactly one, PRIMARY, rollout COMPLETED",
            "runningCount": "= desiredCount",
            "min_desiredCount": spec.min_tasks,
        }))
        .observed(json!({
            "status": status, "deployments": deployments,
            "runningCount": running, "desiredCount": desired,
        }));
    // The message names the counts as people do ("running tasks", as the
    // sandbox tests assert); the evidence keys them as ECS does (sandbox
    // tests read `/observed/runningCount`).
    let mut f = Fields::of(&name);
    f.expect("status", "ACTIVE", status);
    let primary_done = svc.deployments().len() == 1
        && svc.deployments()[0].status() == Some("PRIMARY")
        && svc.deployments()[0]
            .rollout_state()
            .is_none_or(|r| r.as_str() == "COMPLETED");
    if !primary_done {
        f.problem(format!(
            "one completed PRIMARY deployment expected, observed [{}]",
            deployments.join(", ")
        ));
    }
    f.judge(
        "running tasks",
        format!("= desired ({desired})"),
        running,
        running == desired,
    );
    f.judge(
        "desired tasks",
        format!("≥ {}", spec.min_tasks),
        desired,
        desired >= spec.min_tasks as i32,
    );
    Ok(Finding {
        evidence,
        ..f.finish(format!(
            "{name}: ACTIVE, {running}/{desired} tasks running, not mid-rollout"
        ))
    })
}

/// `pgbouncer.multi_az`: running tasks in ≥ declared AZs (task AZ, or its ENI's subnet).
async fn multi_az(cx: &Context, spec: &PgbouncerSpec) -> CheckResult {
    let tasks = running_tasks(cx, spec).await?;
    let subnet_azs = aws::ec2::subnet_azs(cx.aws(), &eni_subnets(&tasks)).await?;
    Ok(judge_multi_az(spec, &tasks, &subnet_azs))
}

/// `pgbouncer.multi_az` from the service's RUNNING tasks and the AZs of
/// their ENIs' subnets: pure, a table row per case. A task whose AZ neither
/// it nor its subnet tells is `unknown`: listed, never counted as an AZ.
fn judge_multi_az(
    spec: &PgbouncerSpec,
    tasks: &[Task],
    subnet_azs: &[(String, String)],
) -> Finding {
    let name = format!("ecs service '{}/{}'", spec.cluster, spec.service);
    let placed: Vec<(String, String)> = tasks
        .iter()
        .map(|t| {
            (
                short_arn(t.task_arn().unwrap_or("?")),
                task_az(t, subnet_azs).unwrap_or_else(|| "unknown".into()),
            )
        })
        .collect();
    let azs: BTreeSet<&str> = placed
        .iter()
        .map(|(_, az)| az.as_str())
        .filter(|az| *az != "unknown")
        .collect();
    // The message counts AZs; sandbox tests read the list at `/observed/azs`.
    let evidence = Evidence::of(&name)
        .resources(placed.iter().map(|(t, _)| format!("ecs task '{t}'")))
        .expected(json!({ "min_azs": spec.min_azs }))
        .observed(json!({
            "tasks": placed.iter().map(|(t, az)| json!({"task": t, "az": az})).collect::<Vec<_>>(),
            "azs": azs,
        }));
    let listing = if placed.is_empty() {
        "no running task".to_string()
    } else {
        placed
            .iter()
            .map(|(t, az)| format!("{t} in {az}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut f = Fields::of(&name);
    f.judge(
        "running tasks",
        format!("in ≥ {} AZs", spec.min_azs),
        azs.len(),
        azs.len() >= spec.min_azs as usize,
    )
    .because(&listing);
    Finding {
        evidence,
        ..f.finish(format!(
            "{name}: {} running tasks across {} AZs ({listing})",
            placed.len(),
            azs.len()
        ))
    }
}

/// `pgbouncer.targets`: ≥ 2 healthy targets spanning ≥ declared AZs.
async fn targets(cx: &Context, spec: &PgbouncerSpec) -> CheckResult {
    let group = target_group(cx, &spec.target_group).await?;
    let name = format!("target group '{}'", spec.target_group);
    let arn = required(
        group.target_group_arn(),
        aws::elb::DESCRIBE_TARGET_GROUPS,
        &name,
        "TargetGroupArn",
    )?;
    let health: Vec<TargetHealthDescription> =
        aws::elb::target_health(cx.aws(), arn, &name).await?;
    // IP targets: DescribeTargetHealth may omit the AZ; the VPC subnet holding the IP tells it.
    let vpc_subnets = match group.vpc_id() {
        Some(vpc) => aws::ec2::vpc_subnet_cidrs(cx.aws(), vpc).await?,
        None => Vec::new(),
    };
    Ok(judge_targets(spec, &health, &vpc_subnets))
}

/// `pgbouncer.targets` from DescribeTargetHealth and the VPC's subnets
/// (CIDR, AZ): pure, a table row per case. A target's AZ is its own, else
/// the subnet's holding its IP; one neither tells (or `all`, an IP outside
/// the VPC) counts as no AZ. A state ELB did not report is not healthy.
fn judge_targets(
    spec: &PgbouncerSpec,
    health: &[TargetHealthDescription],
    vpc_subnets: &[(String, String)],
) -> Finding {
    let name = format!("target group '{}'", spec.target_group);
    let described: Vec<(String, String, String)> = health
        .iter()
        .map(|h| {
            let target = h.target();
            let id = target.and_then(|t| t.id()).unwrap_or_default();
            let az = target
                .and_then(|t| t.availability_zone())
                .filter(|az| *az != "all")
                .map(str::to_string)
                .or_else(|| az_of_ip(vpc_subnets, id))
                .unwrap_or_else(|| "unknown".into());
            (
                id.to_string(),
                az,
                h.target_health()
                    .and_then(|t| t.state())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "unknown".into()),
            )
        })
        .collect();
    let healthy: Vec<&(String, String, String)> = described
        .iter()
        .filter(|(_, _, state)| state == TargetHealthStateEnum::Healthy.as_str())
        .collect();
    let azs: BTreeSet<&str> = healthy
        .iter()
        .map(|(_, az, _)| az.as_str())
        .filter(|az| *az != "unknown")
        .collect();
    let min_azs = spec.min_azs.max(2) as usize;
    // Two counts in one phrase: a problem in words. Sandbox tests read
    // `/observed/healthy_azs`.
    let evidence = Evidence::of(&name)
        .expected(json!({ "min_healthy_targets": 2, "min_healthy_azs": min_azs }))
        .observed(json!({
            "targets": described.iter().map(|(id, az, state)| json!({"id": id, "az": az, "state": state})).collect::<Vec<_>>(),
            "healthy_targets": healthy.len(),
            "healthy_azs": azs,
        }));
    let listing = described
        .iter()
        .map(|(id, az, state)| format!("{id} {state} in {az}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut f = Fields::of(&name);
    if healthy.len() < 2 || azs.len() < min_azs {
        f.problem(format!(
            "≥ 2 healthy targets across ≥ {min_azs} AZs expected, observed {} healthy across {} AZs ([{listing}])",
            healthy.len(),
            azs.len()
        ));
    }
    Finding {
        evidence,
        ..f.finish(format!(
            "{name}: {} healthy targets across {} AZs",
            healthy.len(),
            azs.len()
        ))
    }
}

/// `pgbouncer.drain_ready`: deregistration delay and container stop timeout within bounds.
async fn drain_ready(cx: &Context, spec: &PgbouncerSpec) -> CheckResult {
    let group = target_group(cx, &spec.target_group).await?;
    let attributes = aws::elb::target_group_attributes(cx.aws(), &spec.target_group).await?;
    let svc = service(cx, spec).await?;
    let td_name = required(
        svc.task_definition(),
        DESCRIBE_SERVICES,
        &format!("ecs service '{}/{}'", spec.cluster, spec.service),
        "taskDefinition",
    )?
    .to_string();
    let td = aws::ecs::task_definition(cx.aws(), &td_name).await?;
    judge_drain(spec, &group, &attributes, &td_name, &td)
}

/// `pgbouncer.drain_ready` from what was read: pure, a table row per case.
fn judge_drain(
    spec: &PgbouncerSpec,
    group: &TargetGroup,
    attributes: &std::collections::BTreeMap<String, String>,
    td_name: &str,
    td: &TaskDefinition,
) -> CheckResult {
    let tg_name = format!("target group '{}'", spec.target_group);
    let attribute = |key: &str| attributes.get(key).map(String::as_str);
    let delay_text = required(
        attribute("deregistration_delay.timeout_seconds"),
        DESCRIBE_TG_ATTRIBUTES,
        &tg_name,
        "deregistration_delay.timeout_seconds",
    )?;
    let delay_s: u64 = delay_text.parse().map_err(|_| CheckError::Missing {
        operation: DESCRIBE_TG_ATTRIBUTES.into(),
        resource: tg_name.clone(),
        field: format!("a numeric deregistration_delay.timeout_seconds (got {delay_text:?})"),
    })?;
    // NLB only: at the end of the delay it resets every connection still open,
    // cutting whatever transaction is in flight on it. An NLB's target group
    // (TCP, TLS, UDP) always reports it: absent there is "could not see";
    // absent on an ALB's (HTTP/HTTPS) is off.
    let termination = attribute("deregistration_delay.connection_termination.enabled");
    // Without its protocol, a group without the attribute may be an NLB's:
    // not known to be off.
    let nlb = group
        .protocol()
        .is_none_or(|p| matches!(p.as_str(), "TCP" | "TLS" | "UDP" | "TCP_UDP"));
    if nlb && termination.is_none() {
        return Err(CheckError::Missing {
            operation: DESCRIBE_TG_ATTRIBUTES.into(),
            resource: tg_name.clone(),
            field: "deregistration_delay.connection_termination.enabled".into(),
        });
    }
    let terminates = termination == Some("true");
    let resource = format!("task definition '{}'", short_arn(td_name));
    // ECS waits 30 s for a container without stopTimeout (Fargate's default).
    let stop_timeouts: Vec<(String, u64)> = td
        .container_definitions()
        .iter()
        .filter(|c| c.essential().unwrap_or(true))
        .map(|c| {
            (
                c.name().unwrap_or("?").to_string(),
                c.stop_timeout().map(|s| s.max(0) as u64).unwrap_or(30),
            )
        })
        .collect();
    let shutdown = stop_shutdown(&spec.stop_signal, spec.version);
    let evidence = Evidence::of(&tg_name)
        .resource(format!("ecs service '{}/{}'", spec.cluster, spec.service))
        .resource(&resource)
        .expected(json!({
            "shutdown": Shutdown::Safe.as_str(),
            "min_deregistration_delay_s": spec.min_deregistration_delay.as_secs(),
            "max_deregistration_delay_s": spec.max_deregistration_delay.as_secs(),
            "connection_termination": false,
            "essential_containers": "at least one",
            "min_stop_timeout_s": MIN_STOP_TIMEOUT.as_secs(),
            "max_stop_timeout_s": spec.max_stop_timeout.as_secs(),
        }))
        .observed(json!({
            "shutdown": shutdown.as_str(),
            "stop_signal": spec.stop_signal,
            "version": spec.version.map(|(a, b)| format!("{a}.{b}")),
            "deregistration_delay_s": delay_s,
            "connection_termination": terminates,
            "task_definition": td_name,
            "stop_timeouts_s": stop_timeouts.iter().map(|(n, s)| json!({"container": n, "stopTimeout": s})).collect::<Vec<_>>(),
        }));
    let mut problems = Vec::new();
    if shutdown != Shutdown::Safe {
        problems.push(format!(
            "ecs service '{}/{}': the stop signal {} means {} for pgbouncer {}; expected a safe shutdown (declare STOPSIGNAL SIGINT in the image and stop_signal = \"SIGINT\")",
            spec.cluster,
            spec.service,
            spec.stop_signal,
            shutdown.as_str(),
            spec.version
                .map(|(a, b)| format!("{a}.{b}"))
                .unwrap_or_else(|| "(version not declared)".into()),
        ));
    }
    if delay_s < spec.min_deregistration_delay.as_secs() {
        problems.push(format!(
            "{tg_name}: deregistration delay expected ≥ {}s, observed {delay_s}s (the balancer cuts a stopping task's connections without letting them finish)",
            spec.min_deregistration_delay.as_secs()
        ));
    }
    if delay_s > spec.max_deregistration_delay.as_secs() {
        problems.push(format!(
            "{tg_name}: deregistration delay expected ≤ {}s, observed {delay_s}s",
            spec.max_deregistration_delay.as_secs()
        ));
    }
    if terminates {
        problems.push(format!(
            "{tg_name}: deregistration_delay.connection_termination.enabled expected false, observed true (the NLB resets open connections after {delay_s}s, cutting their transactions)"
        ));
    }
    if stop_timeouts.is_empty() {
        problems.push(format!(
            "{resource}: an essential container expected, observed none"
        ));
    }
    for (container, timeout) in &stop_timeouts {
        if *timeout < MIN_STOP_TIMEOUT.as_secs() || *timeout > spec.max_stop_timeout.as_secs() {
            problems.push(format!(
                "{resource}: container '{container}' stopTimeout expected {}–{}s, observed {timeout}s",
                MIN_STOP_TIMEOUT.as_secs(),
                spec.max_stop_timeout.as_secs()
            ));
        }
    }
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "{tg_name}: deregistration delay {delay_s}s; {resource}: stop timeouts within bounds"
            ),
            evidence,
        )
    } else {
        Finding::fail(problems.join("; "), evidence)
    })
}

/// What pgbouncer does on the signal ECS sends it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shutdown {
    /// Waits for the transactions in flight, then closes (SIGINT; SIGTERM from 1.23).
    Safe,
    /// Closes every connection at once (SIGTERM before 1.23).
    Immediate,
    /// SIGTERM with no declared version: it may be either.
    Unknown,
    /// Any other signal: not a pgbouncer shutdown (SIGKILL after the stop timeout).
    Killed,
}

impl Shutdown {
    fn as_str(self) -> &'static str {
        match self {
            Shutdown::Safe => "a safe shutdown",
            Shutdown::Immediate => "an immediate shutdown (transactions in flight are cut)",
            Shutdown::Unknown => "an immediate shutdown before 1.23, a safe one from 1.23",
            Shutdown::Killed => "no shutdown at all (the task is killed after its stop timeout)",
        }
    }
}

/// pgbouncer's signals: SIGINT is a safe shutdown in every version; SIGTERM
/// is an immediate shutdown before 1.23 and a (super) safe one from 1.23.
fn stop_shutdown(signal: &str, version: Option<(u32, u32)>) -> Shutdown {
    match (signal, version) {
        ("SIGINT", _) => Shutdown::Safe,
        ("SIGTERM", Some(v)) if v >= (1, 23) => Shutdown::Safe,
        ("SIGTERM", Some(_)) => Shutdown::Immediate,
        ("SIGTERM", None) => Shutdown::Unknown,
        _ => Shutdown::Killed,
    }
}

// --- how: shared reads -------------------------------------------------------

async fn service(cx: &Context, spec: &PgbouncerSpec) -> Result<Arc<Service>, CheckError> {
    aws::ecs::service(cx.aws(), &spec.cluster, &spec.service).await
}

/// The service's RUNNING tasks (`group = service:<name>`, which real ECS sets
/// and which keeps a listing that ignores the service filter honest).
async fn running_tasks(cx: &Context, spec: &PgbouncerSpec) -> Result<Vec<Task>, CheckError> {
    let resource = format!("ecs service '{}/{}'", spec.cluster, spec.service);
    // A task gone between list and describe is no longer running: not counted.
    let tasks = aws::ecs::list_and_describe_tasks(
        cx.aws(),
        &spec.cluster,
        aws::ecs::TaskListing::RunningInService(&spec.service),
        &resource,
    )
    .await?
    .tasks;
    let group = format!("service:{}", spec.service);
    Ok(tasks
        .into_iter()
        .filter(|t| t.group() == Some(group.as_str()) && t.last_status() == Some("RUNNING"))
        .collect())
}

/// A RUNNING task of the service, as the drain drill sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlacedTask {
    pub arn: String,
    /// The AZ it runs in (`None` when neither the task nor its ENI's subnet says).
    pub az: Option<String>,
    /// Its ENI's private IPv4 address (`privateIPv4Address`): where the
    /// load balancer reaches it, and where the database sees its
    /// connections come from.
    pub address: Option<String>,
}

/// The service's RUNNING tasks, each with its ARN, AZ and private address.
/// Fresh reads on `cx` (the drain drill passes a fresh gate's context each
/// time it looks).
pub(crate) async fn placed_tasks(
    cx: &Context,
    spec: &PgbouncerSpec,
) -> Result<Vec<PlacedTask>, CheckError> {
    let tasks = running_tasks(cx, spec).await?;
    let subnet_azs = aws::ec2::subnet_azs(cx.aws(), &eni_subnets(&tasks)).await?;
    Ok(tasks
        .iter()
        .filter_map(|t| {
            Some(PlacedTask {
                arn: t.task_arn()?.to_string(),
                az: task_az(t, &subnet_azs),
                address: eni_detail(t, "privateIPv4Address").map(str::to_string),
            })
        })
        .collect())
}

/// The AZ a task runs in: its own, else its ENI's subnet's (`subnet_azs`:
/// subnet id, AZ).
fn task_az(task: &Task, subnet_azs: &[(String, String)]) -> Option<String> {
    task.availability_zone().map(str::to_string).or_else(|| {
        eni_subnet(task)
            .and_then(|s| subnet_azs.iter().find(|(id, _)| id == s))
            .map(|(_, az)| az.clone())
    })
}

/// The subnets of the tasks' ENIs.
fn eni_subnets(tasks: &[Task]) -> Vec<String> {
    tasks
        .iter()
        .filter_map(|t| eni_subnet(t).map(str::to_string))
        .collect()
}

fn eni_subnet(task: &Task) -> Option<&str> {
    eni_detail(task, "subnetId")
}

/// A detail of the task's ENI attachment (`subnetId`, `privateIPv4Address`).
fn eni_detail<'a>(task: &'a Task, name: &str) -> Option<&'a str> {
    task.attachments()
        .iter()
        .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some(name))
        .and_then(|d| d.value())
}

/// The AZ of the subnet whose IPv4 CIDR contains `ip`.
fn az_of_ip(subnets: &[(String, String)], ip: &str) -> Option<String> {
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    subnets.iter().find_map(|(cidr, az)| {
        let (net, bits) = cidr.split_once('/')?;
        let net: std::net::Ipv4Addr = net.parse().ok()?;
        let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        (u32::from(ip) & mask == u32::from(net) & mask).then(|| az.clone())
    })
}

async fn target_group(cx: &Context, name: &str) -> Result<Arc<TargetGroup>, CheckError> {
    aws::elb::target_group(cx.aws(), name).await
}

fn short_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{ContainerDefinition, Deployment, DeploymentRolloutState};
    use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;

    fn spec() -> PgbouncerSpec {
        PgbouncerSpec {
            cluster: "core".into(),
            service: "pgbouncer".into(),
            target_group: "pgbouncer".into(),
            min_tasks: 2,
            min_azs: 2,
            endpoint: None,
            min_deregistration_delay: Duration::from_secs(5),
            max_deregistration_delay: Duration::from_secs(300),
            max_stop_timeout: Duration::from_secs(120),
            stop_signal: "SIGINT".into(),
            version: None,
        }
    }

    fn deployment(status: &str, rollout: Option<DeploymentRolloutState>) -> Deployment {
        Deployment::builder()
            .status(status)
            .set_rollout_state(rollout)
            .build()
    }

    fn service(
        status: Option<&str>,
        deployments: Vec<Deployment>,
        running: i32,
        desired: i32,
    ) -> Service {
        Service::builder()
            .set_status(status.map(String::from))
            .set_deployments(Some(deployments))
            .running_count(running)
            .desired_count(desired)
            .build()
    }

    fn group(protocol: Option<ProtocolEnum>) -> TargetGroup {
        TargetGroup::builder()
            .target_group_name("pgbouncer")
            .set_protocol(protocol)
            .build()
    }

    fn attributes(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn task_definition(stop_timeouts: &[(Option<i32>, Option<bool>)]) -> TaskDefinition {
        let mut td = TaskDefinition::builder();
        for (i, (timeout, essential)) in stop_timeouts.iter().enumerate() {
            td = td.container_definitions(
                ContainerDefinition::builder()
                    .name(format!("c{i}"))
                    .set_stop_timeout(*timeout)
                    .set_essential(*essential)
                    .build(),
            );
        }
        td.build()
    }

    #[test]
    fn a_stopping_task_drains_without_cutting_transactions() {
        use ProtocolEnum::{Http, Tcp};
        let delay = ("deregistration_delay.timeout_seconds", "30");
        let off = (
            "deregistration_delay.connection_termination.enabled",
            "false",
        );
        let on = (
            "deregistration_delay.connection_termination.enabled",
            "true",
        );
        let judge = |g: TargetGroup, a: &[(&str, &str)], td: TaskDefinition| match judge_drain(
            &spec(),
            &g,
            &attributes(a),
            "pgbouncer:3",
            &td,
        ) {
            Ok(f) => format!("{}: {}", f.status.as_str(), f.message),
            Err(e) => format!("error: {e}"),
        };
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "an NLB group, termination off, 60 s",
                judge(
                    group(Some(Tcp)),
                    &[delay, off],
                    task_definition(&[(Some(60), None)]),
                ),
                "pass",
            ),
            // ECS waits 30 s for a container without stopTimeout.
            (
                "no stopTimeout: ECS's 30 s",
                judge(
                    group(Some(Tcp)),
                    &[delay, off],
                    task_definition(&[(None, Some(true))]),
                ),
                "pass",
            ),
            (
                "an ALB group reports no termination",
                judge(
                    group(Some(Http)),
                    &[delay],
                    task_definition(&[(Some(60), None)]),
                ),
                "pass",
            ),
            (
                "termination on",
                judge(
                    group(Some(Tcp)),
                    &[delay, on],
                    task_definition(&[(Some(60), None)]),
                ),
                "connection_termination.enabled expected false, observed true",
            ),
            (
                "an NLB group without the attribute",
                judge(
                    group(Some(Tcp)),
                    &[delay],
                    task_definition(&[(Some(60), None)]),
                ),
                "error: elasticloadbalancing:DescribeTargetGroupAttributes did not report deregistration_delay.connection_termination.enabled",
            ),
            (
                "a group without its protocol or the attribute",
                judge(group(None), &[delay], task_definition(&[(Some(60), None)])),
                "error: ",
            ),
            (
                "no delay at all",
                judge(
                    group(Some(Tcp)),
                    &[("deregistration_delay.timeout_seconds", "0"), off],
                    task_definition(&[(Some(60), None)]),
                ),
                "deregistration delay expected ≥ 5s, observed 0s",
            ),
            (
                "a long delay",
                judge(
                    group(Some(Tcp)),
                    &[("deregistration_delay.timeout_seconds", "900"), off],
                    task_definition(&[(Some(60), None)]),
                ),
                "deregistration delay expected ≤ 300s, observed 900s",
            ),
            (
                "a garbled delay",
                judge(
                    group(Some(Tcp)),
                    &[("deregistration_delay.timeout_seconds", "soon"), off],
                    task_definition(&[(Some(60), None)]),
                ),
                "error: ",
            ),
            (
                "no delay reported",
                judge(
                    group(Some(Tcp)),
                    &[off],
                    task_definition(&[(Some(60), None)]),
                ),
                "error: ",
            ),
            (
                "a stop timeout too short",
                judge(
                    group(Some(Tcp)),
                    &[delay, off],
                    task_definition(&[(Some(2), None)]),
                ),
                "container 'c0' stopTimeout expected 10–120s, observed 2s",
            ),
            (
                "only inessential containers",
                judge(
                    group(Some(Tcp)),
                    &[delay, off],
                    task_definition(&[(Some(60), Some(false))]),
                ),
                "an essential container expected, observed none",
            ),
        ];
        for (case, got, expected) in cases {
            if expected == "pass" {
                assert!(got.starts_with("pass"), "{case}: {got}");
            } else {
                assert!(got.contains(expected), "{case}: {got}");
                assert!(!got.starts_with("pass"), "{case}: {got}");
            }
        }
        // An immediate-shutdown stop signal for the declared version.
        let sigterm_118 = PgbouncerSpec {
            stop_signal: "SIGTERM".into(),
            version: Some((1, 18)),
            ..spec()
        };
        let f = judge_drain(
            &sigterm_118,
            &group(Some(Tcp)),
            &attributes(&[delay, off]),
            "pgbouncer:3",
            &task_definition(&[(Some(60), None)]),
        )
        .unwrap();
        assert_eq!(f.status, crate::Status::Fail);
        assert!(
            f.message.contains("the stop signal SIGTERM"),
            "{}",
            f.message
        );
    }

    #[test]
    fn the_service_is_active_settled_and_at_its_size() {
        use DeploymentRolloutState::{Completed, InProgress};
        let done = || vec![deployment("PRIMARY", Some(Completed))];
        let cases: Vec<(&str, Service, &str)> = vec![
            ("steady", service(Some("ACTIVE"), done(), 2, 2), "pass"),
            // rolloutState is only reported for some deployment types.
            (
                "no rollout state",
                service(Some("ACTIVE"), vec![deployment("PRIMARY", None)], 3, 3),
                "pass",
            ),
            (
                "draining",
                service(Some("DRAINING"), done(), 2, 2),
                "status expected ACTIVE, observed DRAINING",
            ),
            (
                "mid-rollout",
                service(
                    Some("ACTIVE"),
                    vec![
                        deployment("PRIMARY", Some(InProgress)),
                        deployment("ACTIVE", Some(Completed)),
                    ],
                    2,
                    2,
                ),
                "one completed PRIMARY deployment expected, observed [PRIMARY:IN_PROGRESS, ACTIVE:COMPLETED]",
            ),
            (
                "a task down",
                service(Some("ACTIVE"), done(), 1, 2),
                "running tasks expected = desired (2), observed 1",
            ),
            (
                "scaled to one",
                service(Some("ACTIVE"), done(), 1, 1),
                "desired tasks expected ≥ 2, observed 1",
            ),
            (
                "status unsaid",
                service(None, done(), 2, 2),
                "error: ecs:DescribeServices did not report status",
            ),
        ];
        for (case, svc, expected) in cases {
            let got = match judge_service(&spec(), &svc) {
                Ok(f) => format!("{}: {}", f.status.as_str(), f.message),
                Err(e) => format!("error: {e}"),
            };
            if expected == "pass" {
                assert!(got.starts_with("pass"), "{case}: {got}");
            } else {
                assert!(got.contains(expected), "{case}: {got}");
                assert!(!got.starts_with("pass"), "{case}: {got}");
            }
        }
    }

    /// A RUNNING task `id`, in `az` when the task says, on an ENI in `subnet` when given.
    fn task(id: &str, az: Option<&str>, subnet: Option<&str>) -> Task {
        use aws_sdk_ecs::types::{Attachment, KeyValuePair};
        let mut t = Task::builder()
            .task_arn(format!(
                "arn:aws:ecs:eu-central-1:123456789012:task/core/{id}"
            ))
            .set_availability_zone(az.map(String::from));
        if let Some(subnet) = subnet {
            t = t.attachments(
                Attachment::builder()
                    .r#type("ElasticNetworkInterface")
                    .details(
                        KeyValuePair::builder()
                            .name("subnetId")
                            .value(subnet)
                            .build(),
                    )
                    .build(),
            );
        }
        t.build()
    }

    #[test]
    fn tasks_run_in_at_least_the_declared_azs() {
        let subnets = vec![
            ("subnet-a".to_string(), "eu-central-1a".to_string()),
            ("subnet-b".to_string(), "eu-central-1b".to_string()),
        ];
        let a = || task("t1", Some("eu-central-1a"), None);
        let b = || task("t2", Some("eu-central-1b"), None);
        let cases: Vec<(&str, Vec<Task>, &str)> = vec![
            (
                "two tasks, two AZs",
                vec![a(), b()],
                "pass: ecs service 'core/pgbouncer': 2 running tasks across 2 AZs (t1 in eu-central-1a, t2 in eu-central-1b)",
            ),
            (
                "the AZ from the ENI's subnet",
                vec![a(), task("t2", None, Some("subnet-b"))],
                "pass: ecs service 'core/pgbouncer': 2 running tasks across 2 AZs",
            ),
            (
                "all in one AZ",
                vec![a(), task("t2", Some("eu-central-1a"), None)],
                "fail: ecs service 'core/pgbouncer': running tasks expected in ≥ 2 AZs, observed 1 (t1 in eu-central-1a, t2 in eu-central-1a)",
            ),
            (
                "one task",
                vec![a()],
                "running tasks expected in ≥ 2 AZs, observed 1 (t1 in eu-central-1a)",
            ),
            (
                "no running task",
                vec![],
                "running tasks expected in ≥ 2 AZs, observed 0 (no running task)",
            ),
            (
                "a task whose AZ nothing tells",
                vec![a(), task("t2", None, None)],
                "observed 1 (t1 in eu-central-1a, t2 in unknown)",
            ),
            (
                "a task on a subnet DescribeSubnets did not return",
                vec![a(), task("t2", None, Some("subnet-gone"))],
                "observed 1 (t1 in eu-central-1a, t2 in unknown)",
            ),
            (
                "two unknown AZs are not two AZs",
                vec![task("t1", None, None), task("t2", None, None)],
                "observed 0 (t1 in unknown, t2 in unknown)",
            ),
        ];
        for (case, tasks, expected) in &cases {
            let f = judge_multi_az(&spec(), tasks, &subnets);
            let got = format!("{}: {}", f.status.as_str(), f.message);
            if expected.starts_with("pass") {
                assert!(got.starts_with(expected), "{case}: {got}");
            } else {
                assert!(got.starts_with("fail"), "{case}: {got}");
                assert!(got.contains(expected), "{case}: {got}");
            }
        }
        // The pointer sandbox tests read.
        let f = judge_multi_az(&spec(), &cases[0].1, &subnets);
        assert_eq!(
            f.evidence.observed["azs"],
            serde_json::json!(["eu-central-1a", "eu-central-1b"])
        );
        // Three declared: two AZs are too few.
        let three = PgbouncerSpec {
            min_azs: 3,
            ..spec()
        };
        let f = judge_multi_az(&three, &cases[0].1, &subnets);
        assert!(
            f.message.contains("expected in ≥ 3 AZs, observed 2"),
            "{}",
            f.message
        );
    }

    /// A target `id` in `az` (when ELB says) in `state` (when ELB says).
    fn target(
        id: &str,
        az: Option<&str>,
        state: Option<TargetHealthStateEnum>,
    ) -> TargetHealthDescription {
        use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealth};
        TargetHealthDescription::builder()
            .target(
                TargetDescription::builder()
                    .id(id)
                    .port(6432)
                    .set_availability_zone(az.map(String::from))
                    .build(),
            )
            .set_target_health(state.map(|s| TargetHealth::builder().state(s).build()))
            .build()
    }

    #[test]
    fn healthy_targets_span_at_least_two_azs() {
        use TargetHealthStateEnum::{Draining, Healthy, Unhealthy};
        let subnets = vec![
            ("10.0.1.0/24".to_string(), "eu-central-1a".to_string()),
            ("10.0.2.0/24".to_string(), "eu-central-1b".to_string()),
        ];
        let a = || target("10.0.1.10", Some("eu-central-1a"), Some(Healthy));
        let b = || target("10.0.2.10", Some("eu-central-1b"), Some(Healthy));
        let cases: Vec<(&str, Vec<TargetHealthDescription>, &str)> = vec![
            (
                "two healthy, two AZs",
                vec![a(), b()],
                "pass: target group 'pgbouncer': 2 healthy targets across 2 AZs",
            ),
            (
                "the AZ from the subnet holding the IP",
                vec![a(), target("10.0.2.10", None, Some(Healthy))],
                "pass: target group 'pgbouncer': 2 healthy targets across 2 AZs",
            ),
            (
                "no targets",
                vec![],
                "fail: target group 'pgbouncer': ≥ 2 healthy targets across ≥ 2 AZs expected, observed 0 healthy across 0 AZs ([])",
            ),
            (
                "one unhealthy",
                vec![
                    a(),
                    target("10.0.2.10", Some("eu-central-1b"), Some(Unhealthy)),
                ],
                "observed 1 healthy across 1 AZs ([10.0.1.10 healthy in eu-central-1a, 10.0.2.10 unhealthy in eu-central-1b])",
            ),
            (
                "one draining",
                vec![
                    a(),
                    target("10.0.2.10", Some("eu-central-1b"), Some(Draining)),
                ],
                "observed 1 healthy across 1 AZs",
            ),
            (
                "a state ELB did not report",
                vec![a(), target("10.0.2.10", Some("eu-central-1b"), None)],
                "10.0.2.10 unknown in eu-central-1b",
            ),
            (
                "two healthy in one AZ",
                vec![
                    a(),
                    target("10.0.1.11", Some("eu-central-1a"), Some(Healthy)),
                ],
                "observed 2 healthy across 1 AZs",
            ),
            (
                "a target without AZ, outside every subnet",
                vec![a(), target("192.168.0.5", None, Some(Healthy))],
                "observed 2 healthy across 1 AZs ([10.0.1.10 healthy in eu-central-1a, 192.168.0.5 healthy in unknown])",
            ),
            (
                "an IP outside the VPC (AZ all)",
                vec![a(), target("192.168.0.5", Some("all"), Some(Healthy))],
                "192.168.0.5 healthy in unknown",
            ),
            (
                "instance targets without AZ",
                vec![
                    target("i-0a", None, Some(Healthy)),
                    target("i-0b", None, Some(Healthy)),
                ],
                "observed 2 healthy across 0 AZs",
            ),
        ];
        for (case, health, expected) in &cases {
            let f = judge_targets(&spec(), health, &subnets);
            let got = format!("{}: {}", f.status.as_str(), f.message);
            if expected.starts_with("pass") {
                assert!(got.starts_with(expected), "{case}: {got}");
            } else {
                assert!(got.starts_with("fail"), "{case}: {got}");
                assert!(got.contains(expected), "{case}: {got}");
            }
        }
        // The pointer sandbox tests read.
        let f = judge_targets(&spec(), &cases[0].1, &subnets);
        assert_eq!(
            f.evidence.observed["healthy_azs"],
            serde_json::json!(["eu-central-1a", "eu-central-1b"])
        );
    }

    #[test]
    fn only_a_safe_shutdown_lets_a_drain_keep_transactions() {
        for (signal, version, expected) in [
            ("SIGINT", None, Shutdown::Safe),
            ("SIGINT", Some((1, 18)), Shutdown::Safe),
            ("SIGTERM", Some((1, 23)), Shutdown::Safe),
            ("SIGTERM", Some((1, 24)), Shutdown::Safe),
            ("SIGTERM", Some((1, 22)), Shutdown::Immediate),
            ("SIGTERM", Some((1, 18)), Shutdown::Immediate),
            ("SIGTERM", None, Shutdown::Unknown),
            ("SIGQUIT", Some((1, 23)), Shutdown::Killed),
            ("SIGKILL", None, Shutdown::Killed),
        ] {
            assert_eq!(
                stop_shutdown(signal, version),
                expected,
                "{signal} on {version:?}"
            );
        }
    }
}
