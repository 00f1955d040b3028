//! Target groups and their attributes, described once per run
//! (`pgbouncer.*`, `terraform.declared`).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::TargetGroup;

use crate::check::{CheckError, required};
use crate::context::Context;

pub const DESCRIBE_TARGET_GROUPS: &str = "elasticloadbalancing:DescribeTargetGroups";
pub const DESCRIBE_TG_ATTRIBUTES: &str = "elasticloadbalancing:DescribeTargetGroupAttributes";

/// The target group named `name`.
pub async fn target_group(cx: &Context, name: &str) -> Result<Arc<TargetGroup>, CheckError> {
    cx.cache()
        .get(&format!("{DESCRIBE_TARGET_GROUPS}:{name}"), || async {
            let resource = format!("target group '{name}'");
            let out = cx
                .aws()
                .elb
                .describe_target_groups()
                .names(name)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_TARGET_GROUPS, &resource, e))?;
            out.target_groups
                .unwrap_or_default()
                .into_iter()
                .next()
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE_TARGET_GROUPS.into(),
                    resource,
                })
        })
        .await
}

/// The attributes of the target group named `name` (key → value).
pub async fn target_group_attributes(
    cx: &Context,
    name: &str,
) -> Result<Arc<BTreeMap<String, String>>, CheckError> {
    let group = target_group(cx, name).await?;
    let resource = format!("target group '{name}'");
    let arn = required(
        group.target_group_arn(),
        DESCRIBE_TARGET_GROUPS,
        &resource,
        "TargetGroupArn",
    )?
    .to_string();
    cx.cache()
        .get(&format!("{DESCRIBE_TG_ATTRIBUTES}:{arn}"), || async {
            let out = cx
                .aws()
                .elb
                .describe_target_group_attributes()
                .target_group_arn(&arn)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_TG_ATTRIBUTES, &resource, e))?;
            Ok(out
                .attributes()
                .iter()
                .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                .collect())
        })
        .await
}
