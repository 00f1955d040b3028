//! `scheduled.<task>.*`, one pair per declared task: the EventBridge rule or
//! Scheduler schedule is enabled with the declared expression and runs the
//! declared task family on the declared cluster; and the task has really
//! run: its most recent finished run within the declared max age exited 0 in
//! every container, or (when ECS no longer shows stopped tasks, which it
//! keeps for about an hour) the declared success marker is in its log group
//! within the max age. An invocation alone is not success.

use std::time::{Duration, SystemTime};

use aws_sdk_ecs::types::{DesiredStatus, Task};
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Finding};
use crate::gate::Gate;
use crate::spec::{ScheduleTrigger, ScheduledTaskSpec};

const DESCRIBE_RULE: &str = "events:DescribeRule";
const LIST_TARGETS: &str = "events:ListTargetsByRule";
const GET_SCHEDULE: &str = "scheduler:GetSchedule";
const LIST_TASKS: &str = "ecs:ListTasks";
const DESCRIBE_TASKS: &str = "ecs:DescribeTasks";
const FILTER_LOG_EVENTS: &str = "logs:FilterLogEvents";

/// Two checks per declared task.
pub fn checks(tasks: &[ScheduledTaskSpec]) -> Vec<Check> {
    tasks
        .iter()
        .flat_map(|task| {
            let (a, b) = (task.name.clone(), task.name.clone());
            [
                Check::new(format!("scheduled.{}.configured", task.name), move |g| {
                    let name = a.clone();
                    Box::pin(async move { configured(g, spec_of(g, &name)?).await })
                }),
                Check::new(format!("scheduled.{}.succeeded", task.name), move |g| {
                    let name = b.clone();
                    Box::pin(async move { succeeded(g, spec_of(g, &name)?).await })
                }),
            ]
        })
        .collect()
}

fn spec_of<'a>(gate: &'a Gate, name: &str) -> Result<&'a ScheduledTaskSpec, CheckError> {
    gate.env()
        .scheduled_tasks
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("scheduled_task \"{name}\""),
        })
}

/// `scheduled.<task>.configured`.
async fn configured(gate: &Gate, spec: &ScheduledTaskSpec) -> CheckResult {
    let (kind, name, state, expression, targets, operations) = match &spec.trigger {
        ScheduleTrigger::Rule(rule) => {
            let resource = format!("EventBridge rule '{rule}'");
            let described = gate
                .aws()
                .events
                .describe_rule()
                .name(rule)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_RULE, &resource, e))?;
            let listed = gate
                .aws()
                .events
                .list_targets_by_rule()
                .rule(rule)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(LIST_TARGETS, &resource, e))?;
            let targets: Vec<(String, String)> = listed
                .targets()
                .iter()
                .map(|t| {
                    let td = t
                        .ecs_parameters()
                        .map(|e| e.task_definition_arn())
                        .unwrap_or("")
                        .to_string();
                    (t.arn().to_string(), td)
                })
                .collect();
            (
                "EventBridge rule",
                rule.clone(),
                described
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                described.schedule_expression().unwrap_or("").to_string(),
                targets,
                vec![DESCRIBE_RULE, LIST_TARGETS],
            )
        }
        ScheduleTrigger::Schedule(schedule) => {
            let resource = format!("Scheduler schedule '{schedule}'");
            let got = gate
                .aws()
                .scheduler
                .get_schedule()
                .name(schedule)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_SCHEDULE, &resource, e))?;
            let targets = got
                .target()
                .map(|t| {
                    let td = t
                        .ecs_parameters()
                        .map(|e| e.task_definition_arn())
                        .unwrap_or("")
                        .to_string();
                    vec![(t.arn().to_string(), td)]
                })
                .unwrap_or_default();
            (
                "Scheduler schedule",
                schedule.clone(),
                got.state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                got.schedule_expression().unwrap_or("").to_string(),
                targets,
                vec![GET_SCHEDULE],
            )
        }
    };
    let resource = format!("{kind} '{name}'");
    let runs_declared = targets
        .iter()
        .any(|(arn, td)| names_cluster(arn, &spec.cluster) && names_family(td, &spec.task_family));
    let evidence = json!({
        "task": spec.name, "trigger": resource, "State": state, "ScheduleExpression": expression,
        "targets": targets.iter().map(|(arn, td)| json!({"Arn": arn, "TaskDefinitionArn": td})).collect::<Vec<_>>(),
        "declared": { "expression": spec.expression, "cluster": spec.cluster, "task_family": spec.task_family },
        "operations": operations,
    });
    let mut problems = Vec::new();
    if state != "ENABLED" {
        problems.push(format!(
            "state expected ENABLED, observed {}",
            if state.is_empty() { "none" } else { &state }
        ));
    }
    if expression != spec.expression {
        problems.push(format!(
            "schedule expected {}, observed {expression}",
            spec.expression
        ));
    }
    if !runs_declared {
        let observed: Vec<String> = targets
            .iter()
            .map(|(arn, td)| format!("{arn} → {td}"))
            .collect();
        problems.push(format!(
            "a target running task family '{}' on cluster '{}' expected, observed [{}]",
            spec.task_family,
            spec.cluster,
            observed.join(", ")
        ));
    }
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "{resource}: enabled, {expression}, runs {} on {}",
                spec.task_family, spec.cluster
            ),
            evidence,
        )
    } else {
        Finding::fail(format!("{resource}: {}", problems.join("; ")), evidence)
    })
}

/// `scheduled.<task>.succeeded`.
async fn succeeded(gate: &Gate, spec: &ScheduledTaskSpec) -> CheckResult {
    let now = SystemTime::now();
    let since = now
        .checked_sub(spec.max_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut runs = finished_runs(gate, spec).await?;
    runs.retain(|r| r.stopped_at >= since);
    runs.sort_by_key(|r| std::cmp::Reverse(r.stopped_at));
    let age = humantime::format_duration(spec.max_age).to_string();
    let mut evidence = json!({
        "task": spec.name,
        "cluster": spec.cluster,
        "task_family": spec.task_family,
        "max_age": age,
        "finished_runs": runs.iter().map(|r| json!({
            "task": r.arn, "stoppedAt": humantime::format_rfc3339_seconds(r.stopped_at).to_string(), "exit_codes": r.exit_codes,
        })).collect::<Vec<_>>(),
        "operations": [LIST_TASKS, DESCRIBE_TASKS],
    });
    if let Some(latest) = runs.first() {
        let failed: Vec<String> = latest
            .exit_codes
            .iter()
            .filter(|(_, code)| *code != Some(0))
            .map(|(c, code)| {
                format!(
                    "container '{c}' exit code {}",
                    code.map(|c| c.to_string()).unwrap_or_else(|| "none".into())
                )
            })
            .collect();
        return Ok(if failed.is_empty() && !latest.exit_codes.is_empty() {
            Finding::pass(
                format!(
                    "scheduled task '{}': last run {} exited 0",
                    spec.name, latest.arn
                ),
                evidence,
            )
        } else {
            Finding::fail(
                format!(
                    "scheduled task '{}': last run expected to exit 0, observed task {} with {}",
                    spec.name,
                    latest.arn,
                    if failed.is_empty() {
                        "no container exit code".into()
                    } else {
                        failed.join(", ")
                    }
                ),
                evidence,
            )
        });
    }
    // ECS keeps stopped tasks for about an hour; the log marker covers longer ages.
    if let (Some(group), Some(marker)) = (&spec.log_group, &spec.success_marker) {
        let resource = format!("log group '{group}'");
        let start = since
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as i64;
        let out = gate
            .aws()
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start)
            .filter_pattern(format!("\"{}\"", marker.replace('"', "")))
            .limit(1)
            .send()
            .await
            .map_err(|e| CheckError::from_sdk(FILTER_LOG_EVENTS, &resource, e))?;
        let hit = out
            .events()
            .first()
            .map(|e| e.message().unwrap_or("").to_string());
        evidence["log_group"] = json!(group);
        evidence["success_marker"] = json!(marker);
        evidence["marker_line"] = json!(hit);
        evidence["operations"] = json!([LIST_TASKS, DESCRIBE_TASKS, FILTER_LOG_EVENTS]);
        if hit.is_some() {
            return Ok(Finding::pass(
                format!(
                    "scheduled task '{}': success marker in {group} within {age}",
                    spec.name
                ),
                evidence,
            ));
        }
        return Ok(Finding::fail(
            format!(
                "scheduled task '{}': a finished run or the marker \"{marker}\" in {group} expected within {age}, observed neither",
                spec.name
            ),
            evidence,
        ));
    }
    Ok(Finding::fail(
        format!(
            "scheduled task '{}': a finished run within {age} expected, observed none",
            spec.name
        ),
        evidence,
    ))
}

struct Run {
    arn: String,
    stopped_at: SystemTime,
    exit_codes: Vec<(String, Option<i32>)>,
}

/// Stopped tasks of the family on the cluster.
async fn finished_runs(gate: &Gate, spec: &ScheduledTaskSpec) -> Result<Vec<Run>, CheckError> {
    let resource = format!(
        "task family '{}' on cluster '{}'",
        spec.task_family, spec.cluster
    );
    let list = gate
        .aws()
        .ecs
        .list_tasks()
        .cluster(&spec.cluster)
        .family(&spec.task_family)
        .desired_status(DesiredStatus::Stopped);
    let tasks = super::list_and_describe_tasks(gate, &spec.cluster, list, &resource).await?;
    let runs = tasks
        .iter()
        .filter(|t| is_finished_run(t, &spec.task_family))
        .filter_map(|t| {
            Some(Run {
                arn: t.task_arn()?.to_string(),
                stopped_at: t.stopped_at().and_then(|d| SystemTime::try_from(*d).ok())?,
                exit_codes: t
                    .containers()
                    .iter()
                    .map(|c| (c.name().unwrap_or("?").to_string(), c.exit_code()))
                    .collect(),
            })
        })
        .collect();
    Ok(runs)
}

fn is_finished_run(task: &Task, family: &str) -> bool {
    task.last_status() == Some("STOPPED")
        && task
            .task_definition_arn()
            .is_some_and(|td| names_family(td, family))
}

/// `arn:…:cluster/<name>` or the bare name.
fn names_cluster(arn: &str, cluster: &str) -> bool {
    arn == cluster || arn.rsplit('/').next() == Some(cluster) && arn.contains(":cluster/")
}

/// `arn:…:task-definition/<family>:<revision>`, `<family>:<revision>` or `<family>`.
fn names_family(task_definition: &str, family: &str) -> bool {
    let last = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition);
    last.split(':').next() == Some(family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_clusters_match_by_name_only() {
        assert!(names_family(
            "arn:aws:ecs:eu-central-1:1:task-definition/usage-quota-reset:7",
            "usage-quota-reset"
        ));
        assert!(!names_family(
            "arn:aws:ecs:eu-central-1:1:task-definition/usage-quota-reset-v2:7",
            "usage-quota-reset"
        ));
        assert!(names_cluster(
            "arn:aws:ecs:eu-central-1:1:cluster/restartix",
            "restartix"
        ));
        assert!(!names_cluster(
            "arn:aws:ecs:eu-central-1:1:cluster/restartix-staging",
            "restartix"
        ));
    }
}
