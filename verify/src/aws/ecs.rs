//! ECS services, described once per run (`pgbouncer.*`, `terraform.declared`).

use std::sync::Arc;

use aws_sdk_ecs::types::{DesiredStatus, Service, TaskDefinition};

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_SERVICES: &str = "ecs:DescribeServices";
pub(crate) const LIST_TASKS: &str = "ecs:ListTasks";
pub(crate) const DESCRIBE_TASKS: &str = "ecs:DescribeTasks";
pub(crate) const DESCRIBE_TASK_DEFINITION: &str = "ecs:DescribeTaskDefinition";
pub(crate) const STOP_TASK: &str = "ecs:StopTask";

/// Which tasks of a cluster [`list_and_describe_tasks`] lists.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TaskListing<'a> {
    /// The RUNNING tasks of a service.
    RunningInService(&'a str),
    /// The STOPPED tasks of a task-definition family (ECS keeps them about an hour).
    StoppedOfFamily(&'a str),
}

/// The service `name` in `cluster` (a name or an ARN: both are one read).
pub(crate) async fn service(
    aws: &AwsClients,
    cluster: &str,
    name: &str,
) -> Result<Arc<Service>, CheckError> {
    let cluster = cluster.rsplit(":cluster/").next().unwrap_or(cluster);
    aws.cache()
        .get(&format!("{DESCRIBE_SERVICES}:{cluster}:{name}"), || async {
            service_now(aws, cluster, name)
                .await?
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE_SERVICES.into(),
                    resource: format!("ecs service '{cluster}/{name}'"),
                })
        })
        .await
}

/// ECS tasks in `cluster` that `listing` selects, all pages, described 100
/// at a time (the `DescribeTasks` limit). Shared by `pgbouncer` and `scheduled`.
///
/// `DescribeTasks` reports tasks it could not describe in `failures[]`. A
/// task that vanished between the list and the describe (`MISSING`) is
/// returned by ARN so the caller can take it into account; any other failure
/// is an error: never silently dropped.
pub(crate) async fn list_and_describe_tasks(
    aws: &AwsClients,
    cluster: &str,
    listing: TaskListing<'_>,
    resource: &str,
) -> Result<DescribedTasks, CheckError> {
    let list = aws.ecs.list_tasks().cluster(cluster);
    let list = match listing {
        TaskListing::RunningInService(service) => list
            .service_name(service)
            .desired_status(DesiredStatus::Running),
        TaskListing::StoppedOfFamily(family) => {
            list.family(family).desired_status(DesiredStatus::Stopped)
        }
    };
    let arns: Vec<String> = list
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| CheckError::from_sdk(LIST_TASKS, resource, e))?;
    let mut described = DescribedTasks::default();
    for chunk in arns.chunks(100) {
        let out = aws
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| CheckError::from_sdk(DESCRIBE_TASKS, resource, e))?;
        for failure in out.failures() {
            let arn = failure.arn().unwrap_or("?").to_string();
            match failure.reason() {
                Some("MISSING") => described.vanished.push(arn),
                reason => {
                    return Err(CheckError::Aws {
                        operation: DESCRIBE_TASKS.into(),
                        resource: resource.into(),
                        code: reason.map(str::to_string),
                        message: format!(
                            "task {arn} could not be described: {} {}",
                            reason.unwrap_or("no reason"),
                            failure.detail().unwrap_or("")
                        ),
                    });
                }
            }
        }
        described.tasks.extend(out.tasks.unwrap_or_default());
    }
    Ok(described)
}

/// What [`list_and_describe_tasks`] found.
#[derive(Debug, Default)]
pub(crate) struct DescribedTasks {
    pub tasks: Vec<aws_sdk_ecs::types::Task>,
    /// Listed, then gone before `DescribeTasks` (reported as `MISSING`).
    pub vanished: Vec<String>,
}

/// The task definition `name` (family:revision or ARN), described once per run.
pub(crate) async fn task_definition(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<TaskDefinition>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_TASK_DEFINITION}:{name}"), || async {
            let resource = format!("task definition '{name}'");
            aws.ecs
                .describe_task_definition()
                .task_definition(name)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_TASK_DEFINITION, &resource, e))?
                .task_definition
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE_TASK_DEFINITION.into(),
                    resource,
                })
        })
        .await
}

/// The last status of task `task` in `cluster`, read now (never the cache).
pub(crate) async fn task_status(
    aws: &AwsClients,
    cluster: &str,
    task: &str,
) -> Result<Option<String>, CheckError> {
    let out = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(task)
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_TASKS, &format!("task {task}"), e))?;
    Ok(out
        .tasks()
        .first()
        .and_then(|t| t.last_status())
        .map(str::to_string))
}

/// The service `name` in `cluster` as ECS describes it now (never the cache).
pub(crate) async fn service_now(
    aws: &AwsClients,
    cluster: &str,
    name: &str,
) -> Result<Option<Service>, CheckError> {
    let out = aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .map_err(|e| {
            CheckError::from_sdk(
                DESCRIBE_SERVICES,
                &format!("ecs service '{cluster}/{name}'"),
                e,
            )
        })?;
    Ok(out
        .services
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.service_name() == Some(name)))
}

/// Stops task `task` in `cluster` (the drain drill's fault). Refused unless
/// the caller holds a guard admitting [`STOP_TASK`].
pub(crate) async fn stop_task(
    aws: &AwsClients,
    cluster: &str,
    task: &str,
    reason: &str,
) -> Result<(), CheckError> {
    aws.ecs
        .stop_task()
        .cluster(cluster)
        .task(task)
        .reason(reason)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CheckError::from_sdk(STOP_TASK, &format!("task {task}"), e))
}
