//! EventBridge rules and their targets, read once per run
//! (`scheduled.*.configured`, `terraform.declared`).

use std::sync::Arc;

use aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput;

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_RULE: &str = "events:DescribeRule";
pub(crate) const LIST_TARGETS: &str = "events:ListTargetsByRule";

/// The rule `name` on the default event bus.
pub(crate) async fn rule(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<DescribeRuleOutput>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_RULE}:{name}"), || async {
            aws.events
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

/// Every target of an EventBridge rule (pages by `NextToken`).
pub(crate) async fn list_targets(
    aws: &AwsClients,
    rule: &str,
    resource: &str,
) -> Result<Vec<aws_sdk_eventbridge::types::Target>, CheckError> {
    let mut targets = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
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
