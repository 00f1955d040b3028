//! EventBridge rules and Scheduler schedules, read once per run
//! (`scheduled.*.configured`, `terraform.declared`).

use std::sync::Arc;

use aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;

use crate::check::CheckError;
use crate::context::Context;

pub const DESCRIBE_RULE: &str = "events:DescribeRule";
pub const GET_SCHEDULE: &str = "scheduler:GetSchedule";

/// The rule `name` on the default event bus.
pub async fn rule(cx: &Context, name: &str) -> Result<Arc<DescribeRuleOutput>, CheckError> {
    cx.cache()
        .get(&format!("{DESCRIBE_RULE}:{name}"), || async {
            cx.aws()
                .events
                .describe_rule()
                .name(name)
                .send()
                .await
                .map_err(|e| {
                    CheckError::from_sdk(DESCRIBE_RULE, &format!("EventBridge rule '{name}'"), e)
                })
        })
        .await
}

/// The schedule `name` in `group` (`None`: the default group).
pub async fn schedule(
    cx: &Context,
    name: &str,
    group: Option<&str>,
) -> Result<Arc<GetScheduleOutput>, CheckError> {
    let group = group.unwrap_or("default");
    cx.cache()
        .get(&format!("{GET_SCHEDULE}:{group}:{name}"), || async {
            let mut request = cx.aws().scheduler.get_schedule().name(name);
            if group != "default" {
                request = request.group_name(group);
            }
            request.send().await.map_err(|e| {
                CheckError::from_sdk(GET_SCHEDULE, &format!("Scheduler schedule '{name}'"), e)
            })
        })
        .await
}
