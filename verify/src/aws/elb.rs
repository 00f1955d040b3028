//! Target groups and their attributes, described once per run
//! (`pgbouncer.*`, `terraform.declared`).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{
    Listener, LoadBalancer, Rule, TargetGroup, TargetHealthDescription,
};

use super::AwsClients;
use crate::{CheckError, required};

pub(crate) const DESCRIBE_TARGET_GROUPS: &str = "elasticloadbalancing:DescribeTargetGroups";
pub(crate) const DESCRIBE_LOAD_BALANCERS: &str = "elasticloadbalancing:DescribeLoadBalancers";
pub(crate) const DESCRIBE_LISTENERS: &str = "elasticloadbalancing:DescribeListeners";
pub(crate) const DESCRIBE_LB_ATTRIBUTES: &str =
    "elasticloadbalancing:DescribeLoadBalancerAttributes";
pub(crate) const DESCRIBE_RULES: &str = "elasticloadbalancing:DescribeRules";
pub(crate) const DESCRIBE_LISTENER_CERTIFICATES: &str =
    "elasticloadbalancing:DescribeListenerCertificates";
pub(crate) const DESCRIBE_TARGET_HEALTH: &str = "elasticloadbalancing:DescribeTargetHealth";
pub(crate) const DESCRIBE_TG_ATTRIBUTES: &str =
    "elasticloadbalancing:DescribeTargetGroupAttributes";

/// The target group named `name`.
pub(crate) async fn target_group(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<TargetGroup>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_TARGET_GROUPS}:{name}"), || async {
            let resource = format!("target group '{name}'");
            let out = aws
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
pub(crate) async fn target_group_attributes(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<BTreeMap<String, String>>, CheckError> {
    let group = target_group(aws, name).await?;
    let resource = format!("target group '{name}'");
    let arn = required(
        group.target_group_arn(),
        DESCRIBE_TARGET_GROUPS,
        &resource,
        "TargetGroupArn",
    )?
    .to_string();
    aws.cache()
        .get(&format!("{DESCRIBE_TG_ATTRIBUTES}:{arn}"), || async {
            let out = aws
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

pub(crate) async fn load_balancer(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<LoadBalancer>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_LOAD_BALANCERS}:{name}"), || async {
            let resource = format!("load balancer '{name}'");
            let out = aws
                .elb
                .describe_load_balancers()
                .names(name)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_LOAD_BALANCERS, &resource, e))?;
            out.load_balancers
                .unwrap_or_default()
                .into_iter()
                .next()
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE_LOAD_BALANCERS.into(),
                    resource,
                })
        })
        .await
}

pub(crate) async fn listeners(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<Vec<Listener>>, CheckError> {
    let lb = load_balancer(aws, name).await?;
    let resource = format!("load balancer '{name}'");
    let arn = required(
        lb.load_balancer_arn(),
        DESCRIBE_LOAD_BALANCERS,
        &resource,
        "LoadBalancerArn",
    )?
    .to_string();
    aws.cache()
        .get(&format!("{DESCRIBE_LISTENERS}:{name}"), || async {
            aws.elb
                .describe_listeners()
                .load_balancer_arn(arn)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_LISTENERS, &resource, e))
        })
        .await
}

/// The listener's certificates beyond its default (SNI), by ARN (pages by marker).
pub(crate) async fn listener_certificates(
    aws: &AwsClients,
    listener_arn: &str,
    lb_name: &str,
) -> Result<Vec<String>, CheckError> {
    let mut arns = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .elb
            .describe_listener_certificates()
            .listener_arn(listener_arn)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                CheckError::from_sdk(
                    DESCRIBE_LISTENER_CERTIFICATES,
                    &format!("{lb_name} 443 listener"),
                    e,
                )
            })?;
        arns.extend(
            out.certificates()
                .iter()
                .filter_map(|c| c.certificate_arn().map(str::to_string)),
        );
        marker = out.next_marker.filter(|m| !m.is_empty());
        if marker.is_none() {
            return Ok(arns);
        }
    }
}

/// Every rule of a listener, the default rule included (pages by marker).
pub(crate) async fn listener_rules(
    aws: &AwsClients,
    listener_arn: &str,
    lb_name: &str,
) -> Result<Vec<Rule>, CheckError> {
    let mut rules = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .elb
            .describe_rules()
            .listener_arn(listener_arn)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                CheckError::from_sdk(DESCRIBE_RULES, &format!("{lb_name} port 80 listener"), e)
            })?;
        rules.extend(out.rules.unwrap_or_default());
        marker = out.next_marker.filter(|m| !m.is_empty());
        if marker.is_none() {
            return Ok(rules);
        }
    }
}

/// The attributes of the load balancer named `name` (key → value).
pub(crate) async fn load_balancer_attributes(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<BTreeMap<String, String>>, CheckError> {
    let lb = load_balancer(aws, name).await?;
    let resource = format!("load balancer '{name}'");
    let arn = required(
        lb.load_balancer_arn(),
        DESCRIBE_LOAD_BALANCERS,
        &resource,
        "LoadBalancerArn",
    )?
    .to_string();
    aws.cache()
        .get(&format!("{DESCRIBE_LB_ATTRIBUTES}:{arn}"), || async {
            let out = aws
                .elb
                .describe_load_balancer_attributes()
                .load_balancer_arn(&arn)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_LB_ATTRIBUTES, &resource, e))?;
            Ok(out
                .attributes()
                .iter()
                .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                .collect())
        })
        .await
}

/// The health of every target of the group `arn`, read now (never the cache).
pub(crate) async fn target_health(
    aws: &AwsClients,
    arn: &str,
    resource: &str,
) -> Result<Vec<TargetHealthDescription>, CheckError> {
    Ok(aws
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_TARGET_HEALTH, resource, e))?
        .target_health_descriptions
        .unwrap_or_default())
}
