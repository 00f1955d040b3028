//! EventBridge Scheduler schedules, read once per run
//! (`scheduled.*.configured`, `terraform.declared`).

use std::sync::Arc;

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;

use super::AwsClients;
use crate::CheckError;

pub(crate) const GET_SCHEDULE: &str = "scheduler:GetSchedule";

/// The schedule `name` in `group` (`None`: the default group).
pub(crate) async fn schedule(
    aws: &AwsClients,
    name: &str,
    group: Option<&str>,
) -> Result<Arc<GetScheduleOutput>, CheckError> {
    let group = group.unwrap_or("default");
    aws.cache()
        .get(&format!("{GET_SCHEDULE}:{group}:{name}"), || async {
            let mut request = aws.scheduler.get_schedule().name(name);
            if group != "default" {
                request = request.group_name(group);
            }
            request.send().await.map_err(|e| {
                CheckError::from_sdk(GET_SCHEDULE, &format!("Scheduler schedule '{name}'"), e)
            })
        })
        .await
}
