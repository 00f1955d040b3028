//! `scheduled.<task>.*`, one pair per declared task: the EventBridge rule or
//! Scheduler schedule is enabled with the declared expression and runs the
//! declared task family on the declared cluster; and the task has really
//! run: at least one run finished within the declared max age with every
//! essential container at exit code 0, or (when ECS no longer shows stopped
//! tasks, which it keeps for about an hour) the declared success marker is
//! in its log group within the max age. An invocation alone is not success.

use std::time::{Duration, SystemTime};

use aws_sdk_ecs::types::{DesiredStatus, Task};
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Evidence, Finding, required};
use crate::context::Context;
use crate::reads;
use crate::spec::{ScheduleTrigger, ScheduledTaskSpec};

const LIST_TARGETS: &str = "events:ListTargetsByRule";
const DESCRIBE_TASKS: &str = "ecs:DescribeTasks";
const FILTER_LOG_EVENTS: &str = "logs:FilterLogEvents";
const DESCRIBE_TASK_DEFINITION: &str = "ecs:DescribeTaskDefinition";

/// Two checks per declared task.
/// Every `scheduled.<task>.configured` check's title.
pub const CONFIGURED: &str = "the scheduled task's rule or schedule is enabled, as declared";
/// Every `scheduled.<task>.succeeded` check's title.
pub const SUCCEEDED: &str = "the scheduled task has run successfully within its declared age";

pub fn checks(tasks: &[ScheduledTaskSpec]) -> Vec<Check> {
    tasks
        .iter()
        .flat_map(|task| {
            let (a, b) = (task.name.clone(), task.name.clone());
            [
                Check::new(
                    format!("scheduled.{}.configured", task.name),
                    CONFIGURED,
                    move |g| {
                        let name = a.clone();
                        Box::pin(async move { configured(g, spec_of(g, &name)?).await })
                    },
                ),
                Check::new(
                    format!("scheduled.{}.succeeded", task.name),
                    SUCCEEDED,
                    move |g| {
                        let name = b.clone();
                        Box::pin(async move { succeeded(g, spec_of(g, &name)?).await })
                    },
                ),
            ]
        })
        .collect()
}

fn spec_of<'a>(cx: &'a Context, name: &str) -> Result<&'a ScheduledTaskSpec, CheckError> {
    cx.env()
        .scheduled_tasks
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| CheckError::NotFound {
            operation: "spec".into(),
            resource: format!("scheduled_task \"{name}\""),
        })
}

/// `scheduled.<task>.configured`.
async fn configured(cx: &Context, spec: &ScheduledTaskSpec) -> CheckResult {
    let (kind, name, state, expression, targets) = match &spec.trigger {
        ScheduleTrigger::Rule(rule) => {
            let resource = format!("EventBridge rule '{rule}'");
            let described = reads::events::rule(cx, rule).await?;
            let listed = list_targets(cx, rule, &resource).await?;
            let targets: Vec<(String, String)> = listed
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
            )
        }
        ScheduleTrigger::Schedule(schedule) => {
            let got = reads::events::schedule(cx, schedule, None).await?;
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
            )
        }
    };
    let resource = format!("{kind} '{name}'");
    let runs_declared = targets
        .iter()
        .any(|(arn, td)| names_cluster(arn, &spec.cluster) && names_family(td, &spec.task_family));
    let evidence = Evidence::of(&resource)
        .expected(json!({
            "State": "ENABLED",
            "ScheduleExpression": spec.expression,
            "target": { "cluster": spec.cluster, "task_family": spec.task_family },
        }))
        .observed(json!({
            "State": state, "ScheduleExpression": expression,
            "targets": targets.iter().map(|(arn, td)| json!({"Arn": arn, "TaskDefinitionArn": td})).collect::<Vec<_>>(),
        }))
        .detail("task", spec.name.clone());
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

/// Every target of an EventBridge rule (pages by `NextToken`).
async fn list_targets(
    cx: &Context,
    rule: &str,
    resource: &str,
) -> Result<Vec<aws_sdk_eventbridge::types::Target>, CheckError> {
    let mut targets = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cx
            .aws()
            .events
            .list_targets_by_rule()
            .rule(rule)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| CheckError::from_sdk(LIST_TARGETS, resource, e))?;
        targets.extend(out.targets.unwrap_or_default());
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(targets);
        }
    }
}

/// `scheduled.<task>.succeeded`: at least one run finished successfully
/// within the max age — a stopped task whose every *essential* container
/// exited 0 — or, when ECS no longer lists one (it forgets stopped tasks
/// after about an hour), the success marker in the task's log group within
/// the max age. A failed run does not hide an earlier success; an invocation
/// alone is not success.
async fn succeeded(cx: &Context, spec: &ScheduledTaskSpec) -> CheckResult {
    let now = SystemTime::now();
    let since = now
        .checked_sub(spec.max_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let (mut runs, vanished) = finished_runs(cx, spec).await?;
    runs.retain(|r| r.stopped_at >= since);
    runs.sort_by_key(|r| std::cmp::Reverse(r.stopped_at));
    let age = crate::check::human_duration(spec.max_age);
    let marker = spec.log_group.as_ref().zip(spec.success_marker.as_ref());
    let mut expected = json!({
        "max_age": age,
        "success": "a stopped run with every essential container at exit code 0",
    });
    if let Some((group, marker)) = marker {
        expected["success"] = json!(format!(
            "a stopped run with every essential container at exit code 0, or the success marker in {group}"
        ));
        expected["success_marker"] = json!(marker);
    }
    let mut observed = json!({
        "finished_runs": runs.iter().map(|r| json!({
            "task": r.arn,
            "stoppedAt": humantime::format_rfc3339_seconds(r.stopped_at).to_string(),
            "exit_codes": r.exit_codes,
            "essential_exit_codes": r.essential_exit_codes(),
            "succeeded": r.succeeded(),
        })).collect::<Vec<_>>(),
        "vanished_before_describe": vanished,
    });
    let evidence = Evidence::of(format!(
        "task family '{}' on cluster '{}'",
        spec.task_family, spec.cluster
    ))
    .expected(expected)
    .detail("task", spec.name.clone());
    if let Some(success) = runs.iter().find(|r| r.succeeded()) {
        let later_failures = runs.iter().take_while(|r| r.arn != success.arn).count();
        return Ok(Finding::pass(
            format!(
                "scheduled task '{}': run {} finished at {} with every essential container at exit code 0{}",
                spec.name,
                success.arn,
                humantime::format_rfc3339_seconds(success.stopped_at),
                if later_failures > 0 {
                    format!(" ({later_failures} later run(s) failed)")
                } else {
                    String::new()
                }
            ),
            evidence.observed(observed),
        ));
    }
    let failed_runs: Vec<String> = runs
        .iter()
        .map(|r| format!("{} ({})", r.arn, r.failure()))
        .collect();
    // ECS keeps stopped tasks for about an hour; the log marker covers longer ages.
    if let Some((group, marker)) = marker {
        let hit = marker_line(cx, group, marker, since).await?;
        observed["marker_line"] = json!(hit);
        let evidence = evidence
            .resource(format!("log group '{group}'"))
            .observed(observed);
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
                "scheduled task '{}': a successful run or the marker \"{marker}\" in {group} expected within {age}, observed {}",
                spec.name,
                if failed_runs.is_empty() {
                    "neither".to_string()
                } else {
                    format!(
                        "only failed runs [{}] and no marker",
                        failed_runs.join(", ")
                    )
                }
            ),
            evidence,
        ));
    }
    Ok(Finding::fail(
        format!(
            "scheduled task '{}': a successful run within {age} expected, observed {}",
            spec.name,
            if failed_runs.is_empty() {
                "none".to_string()
            } else {
                format!("only failed runs [{}]", failed_runs.join(", "))
            }
        ),
        evidence.observed(observed),
    ))
}

/// The first log line holding `marker` in `group` since `since`. Pages until
/// a hit or the end: an empty page with a next token is normal (CloudWatch
/// Logs searches a slice of the group per call).
async fn marker_line(
    cx: &Context,
    group: &str,
    marker: &str,
    since: SystemTime,
) -> Result<Option<String>, CheckError> {
    /// A bound on pages, so a huge group cannot hold the check forever.
    const MAX_PAGES: usize = 1000;
    let resource = format!("log group '{group}'");
    let start = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64;
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = cx
            .aws()
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start)
            .filter_pattern(format!("\"{}\"", marker.replace('"', "")))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| CheckError::from_sdk(FILTER_LOG_EVENTS, &resource, e))?;
        if let Some(event) = out
            .events()
            .iter()
            .find(|e| e.message().is_some_and(|m| m.contains(marker)))
        {
            return Ok(event.message().map(str::to_string));
        }
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(None);
        }
    }
    Err(CheckError::Aws {
        operation: FILTER_LOG_EVENTS.into(),
        resource,
        code: None,
        message: format!("no answer after {MAX_PAGES} pages; narrow the log group or max_age"),
    })
}

/// One finished run: its containers' exit codes and which are essential.
struct Run {
    arn: String,
    stopped_at: SystemTime,
    /// `(container, exit code, essential)`.
    exit_codes: Vec<(String, Option<i32>, bool)>,
}

impl Run {
    fn essential_exit_codes(&self) -> Vec<(&str, Option<i32>)> {
        self.exit_codes
            .iter()
            .filter(|(_, _, essential)| *essential)
            .map(|(name, code, _)| (name.as_str(), *code))
            .collect()
    }

    /// Every essential container exited 0 (and there is at least one).
    fn succeeded(&self) -> bool {
        let essential = self.essential_exit_codes();
        !essential.is_empty() && essential.iter().all(|(_, code)| *code == Some(0))
    }

    fn failure(&self) -> String {
        let bad: Vec<String> = self
            .essential_exit_codes()
            .iter()
            .filter(|(_, code)| *code != Some(0))
            .map(|(c, code)| {
                format!(
                    "container '{c}' exit code {}",
                    code.map(|c| c.to_string()).unwrap_or_else(|| "none".into())
                )
            })
            .collect();
        if bad.is_empty() {
            "no essential container".into()
        } else {
            bad.join(", ")
        }
    }
}

/// Stopped tasks of the family on the cluster, with the essential flag of
/// each container from its task definition (one describe per revision), and
/// the ARNs of tasks that vanished between list and describe.
async fn finished_runs(
    cx: &Context,
    spec: &ScheduledTaskSpec,
) -> Result<(Vec<Run>, Vec<String>), CheckError> {
    let resource = format!(
        "task family '{}' on cluster '{}'",
        spec.task_family, spec.cluster
    );
    let list = cx
        .aws()
        .ecs
        .list_tasks()
        .cluster(&spec.cluster)
        .family(&spec.task_family)
        .desired_status(DesiredStatus::Stopped);
    let described = super::list_and_describe_tasks(cx, &spec.cluster, list, &resource).await?;
    let mut runs = Vec::new();
    for task in described
        .tasks
        .iter()
        .filter(|t| is_finished_run(t, &spec.task_family))
    {
        let arn = required(task.task_arn(), DESCRIBE_TASKS, &resource, "taskArn")?;
        let stopped_at = required(
            task.stopped_at()
                .and_then(|d| SystemTime::try_from(*d).ok()),
            DESCRIBE_TASKS,
            &format!("task {arn}"),
            "stoppedAt",
        )?;
        let td = required(
            task.task_definition_arn(),
            DESCRIBE_TASKS,
            arn,
            "taskDefinitionArn",
        )?;
        // Which containers are essential matters only when one did not exit 0:
        // a run whose every container exited 0 succeeded whatever the flags
        // (ECS requires at least one essential container), so the task
        // definition is read only for the others.
        let all_zero = !task.containers().is_empty()
            && task.containers().iter().all(|c| c.exit_code() == Some(0));
        let essential = if all_zero {
            None
        } else {
            Some(essential_containers(cx, td).await?)
        };
        let exit_codes = task
            .containers()
            .iter()
            .map(|c| {
                let name = c.name().unwrap_or("?").to_string();
                // Not read (all exited 0), or a container the definition does
                // not name: never judged inessential.
                let is_essential = essential
                    .as_ref()
                    .and_then(|e| e.get(&name).copied())
                    .unwrap_or(true);
                (name, c.exit_code(), is_essential)
            })
            .collect();
        runs.push(Run {
            arn: arn.to_string(),
            stopped_at,
            exit_codes,
        });
    }
    Ok((runs, described.vanished))
}

/// Container name → essential (ECS's default is true), per task definition
/// revision, described once per run.
async fn essential_containers(
    cx: &Context,
    task_definition: &str,
) -> Result<std::sync::Arc<std::collections::BTreeMap<String, bool>>, CheckError> {
    cx.cache()
        .get(
            &format!("{DESCRIBE_TASK_DEFINITION}:{task_definition}"),
            || async {
                let resource = format!("task definition '{task_definition}'");
                let td = cx
                    .aws()
                    .ecs
                    .describe_task_definition()
                    .task_definition(task_definition)
                    .send()
                    .await
                    .map_err(|e| CheckError::from_sdk(DESCRIBE_TASK_DEFINITION, &resource, e))?
                    .task_definition
                    .ok_or(CheckError::NotFound {
                        operation: DESCRIBE_TASK_DEFINITION.into(),
                        resource: resource.clone(),
                    })?;
                Ok(td
                    .container_definitions()
                    .iter()
                    .map(|c| {
                        (
                            c.name().unwrap_or("?").to_string(),
                            c.essential().unwrap_or(true),
                        )
                    })
                    .collect())
            },
        )
        .await
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

    fn run(containers: &[(&str, Option<i32>, bool)]) -> Run {
        Run {
            arn: "t".into(),
            stopped_at: SystemTime::now(),
            exit_codes: containers
                .iter()
                .map(|(n, c, e)| (n.to_string(), *c, *e))
                .collect(),
        }
    }

    #[test]
    fn a_run_succeeds_when_every_essential_container_exits_zero() {
        let cases = [
            ("one essential, 0", vec![("app", Some(0), true)], true),
            ("one essential, 1", vec![("app", Some(1), true)], false),
            (
                "essential with no exit code",
                vec![("app", None, true)],
                false,
            ),
            (
                "a sidecar failed, the app succeeded",
                vec![("app", Some(0), true), ("log-router", Some(1), false)],
                true,
            ),
            (
                "the app failed, a sidecar succeeded",
                vec![("app", Some(137), true), ("log-router", Some(0), false)],
                false,
            ),
            (
                "no essential container",
                vec![("log-router", Some(0), false)],
                false,
            ),
            ("no container at all", vec![], false),
        ];
        for (case, containers, expected) in cases {
            let r = run(&containers);
            assert_eq!(r.succeeded(), expected, "{case}");
            if !expected && !containers.is_empty() {
                assert!(!r.failure().is_empty(), "{case}");
            }
        }
        assert_eq!(
            run(&[("app", Some(137), true), ("log-router", Some(0), false)]).failure(),
            "container 'app' exit code 137"
        );
    }

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
