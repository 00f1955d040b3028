//! `terraform.declared`, how: for each compared type, the live resource read
//! through the run's shared reads and shaped as the AWS provider records it
//! in state (same attribute names, blocks as lists of objects), then
//! compared attribute by attribute.
//!
//! Values are compared after [`canonical`]: numbers and numeric strings as
//! numbers (`"300"` = `300`, `"3000.0"` = `3000`), `""` and `[]` as unset,
//! lists as sets (Terraform records sets in no particular order). An
//! attribute the state does not record at all (an older provider) is not
//! compared; one it records as `null` is compared with the live value.

use serde_json::{Map, Value, json};

use super::{Mismatch, Recorded};
use crate::aws;
use crate::check::{CheckError, required};
use crate::checks::alarms;
use crate::context::Context;

/// An attribute as the state records it: a top-level path (`multi_az`,
/// `default_action.type`: lists are walked element by element), or a block
/// compared as a set of objects restricted to some keys.
#[derive(Debug, Clone, Copy)]
pub enum Attribute {
    Path(&'static str),
    Block(&'static str, &'static [&'static str]),
}

impl Attribute {
    pub fn name(&self) -> &'static str {
        match self {
            Attribute::Path(p) | Attribute::Block(p, _) => p,
        }
    }
}

use Attribute::{Block, Path};

/// The resource types `terraform.declared` compares, and the attributes.
pub const COMPARED: &[(&str, &[Attribute])] = &[
    (
        "aws_db_instance",
        &[
            Path("identifier"),
            Path("engine"),
            Path("instance_class"),
            Path("multi_az"),
            Path("storage_encrypted"),
            Path("publicly_accessible"),
            Path("deletion_protection"),
            Path("backup_retention_period"),
        ],
    ),
    (
        "aws_ecs_service",
        &[
            Path("name"),
            Path("cluster"),
            Path("desired_count"),
            Path("launch_type"),
            Path("task_definition"),
        ],
    ),
    (
        "aws_lb_listener",
        &[
            Path("port"),
            Path("protocol"),
            Path("ssl_policy"),
            Path("certificate_arn"),
            Block("default_action", &["type", "target_group_arn"]),
            Block(
                "default_action.redirect",
                &["protocol", "port", "status_code"],
            ),
        ],
    ),
    (
        "aws_lb_target_group",
        &[
            Path("name"),
            Path("port"),
            Path("protocol"),
            Path("target_type"),
            Path("vpc_id"),
            Path("deregistration_delay"),
            Path("connection_termination"),
        ],
    ),
    (
        "aws_budgets_budget",
        &[
            Path("name"),
            Path("budget_type"),
            Path("limit_amount"),
            Path("limit_unit"),
            Path("time_unit"),
            Block(
                "notification",
                &[
                    "comparison_operator",
                    "threshold",
                    "threshold_type",
                    "notification_type",
                ],
            ),
        ],
    ),
    (
        "aws_cloudwatch_event_rule",
        &[Path("name"), Path("schedule_expression"), Path("state")],
    ),
    (
        "aws_scheduler_schedule",
        &[
            Path("name"),
            Path("group_name"),
            Path("schedule_expression"),
            Path("schedule_expression_timezone"),
            Path("state"),
        ],
    ),
    (
        "aws_cloudwatch_metric_alarm",
        &[
            Path("alarm_name"),
            Path("namespace"),
            Path("metric_name"),
            Path("statistic"),
            Path("extended_statistic"),
            Path("comparison_operator"),
            Path("threshold"),
            Path("evaluation_periods"),
            Path("period"),
            Path("alarm_actions"),
            Path("ok_actions"),
            Path("actions_enabled"),
        ],
    ),
    (
        "aws_nat_gateway",
        &[
            Path("subnet_id"),
            Path("allocation_id"),
            Path("connectivity_type"),
        ],
    ),
    (
        "aws_sesv2_email_identity",
        &[Path("email_identity"), Path("configuration_set_name")],
    ),
    (
        "aws_sesv2_email_identity_mail_from_attributes",
        &[
            Path("email_identity"),
            Path("mail_from_domain"),
            Path("behavior_on_mx_failure"),
        ],
    ),
    (
        "aws_sesv2_configuration_set",
        &[
            Path("configuration_set_name"),
            Path("suppression_options.suppressed_reasons"),
            Path("sending_options.sending_enabled"),
        ],
    ),
    (
        "aws_sesv2_configuration_set_event_destination",
        &[
            Path("configuration_set_name"),
            Path("event_destination_name"),
            Path("event_destination.enabled"),
            Path("event_destination.matching_event_types"),
            Path("event_destination.sns_destination.topic_arn"),
        ],
    ),
];

pub fn is_compared(kind: &str) -> bool {
    COMPARED.iter().any(|(k, _)| *k == kind)
}

pub fn compared_types() -> Vec<&'static str> {
    COMPARED.iter().map(|(k, _)| *k).collect()
}

pub fn attributes_of(kind: &str) -> &'static [Attribute] {
    COMPARED
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, a)| *a)
        .unwrap_or(&[])
}

/// The mismatches of one recorded resource; a resource the state has and
/// AWS does not is one mismatch (`exists`).
pub async fn compare(cx: &Context, recorded: &Recorded) -> Result<Vec<Mismatch>, CheckError> {
    let live = match live_view(cx, recorded).await {
        Ok(live) => live,
        Err(CheckError::NotFound { .. }) => {
            return Ok(vec![Mismatch {
                address: recorded.address.clone(),
                attribute: "exists".into(),
                state: json!(true),
                live: json!(false),
            }]);
        }
        Err(e) => return Err(e),
    };
    Ok(mismatches(recorded, &live))
}

/// The type's attributes this state really records (an older provider may
/// not record one): what [`mismatches`] compares, and all that a pass may
/// count as compared.
pub fn recorded_attributes(recorded: &Recorded) -> impl Iterator<Item = &'static Attribute> {
    attributes_of(&recorded.kind).iter().filter(|attribute| {
        let root = attribute.name().split('.').next().unwrap_or_default();
        recorded.values.get(root).is_some()
    })
}

/// Compares `live` with what `recorded` holds, for the type's attributes
/// the state records ([`recorded_attributes`]).
pub fn mismatches(recorded: &Recorded, live: &Value) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for attribute in recorded_attributes(recorded) {
        let state = canonical(&project(&recorded.values, *attribute), attribute.name());
        let seen = canonical(&project(live, *attribute), attribute.name());
        if state != seen {
            out.push(Mismatch {
                address: recorded.address.clone(),
                attribute: attribute.name().to_string(),
                state: project(&recorded.values, *attribute),
                live: project(live, *attribute),
            });
        }
    }
    out
}

/// The value at `attribute`: lists along the path are walked element by
/// element and flattened; a block is restricted to its keys.
fn project(value: &Value, attribute: Attribute) -> Value {
    let (path, keys) = match attribute {
        Path(p) => (p, None),
        Block(p, keys) => (p, Some(keys)),
    };
    let mut current = vec![value.clone()];
    let mut listed = false;
    for segment in path.split('.') {
        let mut next = Vec::new();
        for v in current {
            match v.get(segment) {
                Some(Value::Array(items)) => {
                    listed = true;
                    next.extend(items.iter().cloned());
                }
                Some(other) => next.push(other.clone()),
                None => next.push(Value::Null),
            }
        }
        current = next;
    }
    if let Some(keys) = keys {
        current = current
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| {
                let object: Map<String, Value> = keys
                    .iter()
                    .map(|k| (k.to_string(), v.get(*k).cloned().unwrap_or(Value::Null)))
                    .collect();
                Value::Object(object)
            })
            .collect();
        return Value::Array(current);
    }
    if listed || current.len() != 1 {
        Value::Array(current.into_iter().filter(|v| !v.is_null()).collect())
    } else {
        current.pop().unwrap_or(Value::Null)
    }
}

/// A value in comparable form (see the module doc). `cluster` and
/// `task_definition` compare by the ARN's resource name, as the provider
/// records either a name or an ARN.
pub fn canonical(value: &Value, attribute: &str) -> Value {
    match value {
        Value::String(s) if s.is_empty() => Value::Null,
        Value::String(s) if matches!(attribute, "cluster" | "task_definition") => {
            Value::String(s.rsplit('/').next().unwrap_or(s).to_string())
        }
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && !s.trim().is_empty() => json!(n),
            _ => value.clone(),
        },
        Value::Number(n) => json!(n.as_f64().unwrap_or_default()),
        Value::Array(items) if items.is_empty() => Value::Null,
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|v| canonical(v, attribute)).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), canonical(v, k)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn text<'a>(values: &'a Value, key: &str, recorded: &Recorded) -> Result<&'a str, CheckError> {
    values
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CheckError::Probe {
            probe: "terraform state".into(),
            target: recorded.address.clone(),
            message: format!("the state records no `{key}`, so the live resource cannot be found"),
        })
}

/// The live resource, shaped as the state records it.
async fn live_view(cx: &Context, recorded: &Recorded) -> Result<Value, CheckError> {
    let v = &recorded.values;
    match recorded.kind.as_str() {
        "aws_db_instance" => {
            let id = text(v, "identifier", recorded)?;
            let db = aws::rds::instance(cx.aws(), id).await?;
            let op = "rds:DescribeDBInstances";
            let resource = format!("rds instance '{id}'");
            Ok(json!({
                "identifier": db.db_instance_identifier(),
                "engine": db.engine(),
                "instance_class": db.db_instance_class(),
                "multi_az": required(db.multi_az(), op, &resource, "MultiAZ")?,
                "storage_encrypted": required(db.storage_encrypted(), op, &resource, "StorageEncrypted")?,
                "publicly_accessible": required(db.publicly_accessible(), op, &resource, "PubliclyAccessible")?,
                "deletion_protection": required(db.deletion_protection(), op, &resource, "DeletionProtection")?,
                "backup_retention_period": required(db.backup_retention_period(), op, &resource, "BackupRetentionPeriod")?,
            }))
        }
        "aws_ecs_service" => {
            let cluster = text(v, "cluster", recorded)?;
            let name = text(v, "name", recorded)?;
            let s = aws::ecs::service(cx.aws(), cluster, name).await?;
            Ok(json!({
                "name": s.service_name(),
                "cluster": s.cluster_arn(),
                "desired_count": s.desired_count(),
                "launch_type": s.launch_type().map(|l| l.as_str()),
                "task_definition": s.task_definition(),
            }))
        }
        "aws_lb_listener" => {
            let arn = text(v, "arn", recorded)?;
            let lb_arn = text(v, "load_balancer_arn", recorded)?;
            let lb_name = load_balancer_name(lb_arn).ok_or_else(|| CheckError::Probe {
                probe: "terraform state".into(),
                target: recorded.address.clone(),
                message: format!("`load_balancer_arn` {lb_arn:?} is not a load balancer ARN"),
            })?;
            let listeners = aws::elb::listeners(cx.aws(), lb_name).await?;
            let Some(l) = listeners.iter().find(|l| l.listener_arn() == Some(arn)) else {
                return Err(CheckError::NotFound {
                    operation: "elasticloadbalancing:DescribeListeners".into(),
                    resource: format!("listener {arn}"),
                });
            };
            let certificate = l
                .certificates()
                .iter()
                .find(|c| c.is_default() != Some(false))
                .and_then(|c| c.certificate_arn());
            let actions: Vec<Value> = l
                .default_actions()
                .iter()
                .map(|a| {
                    let redirect: Vec<Value> = a
                        .redirect_config()
                        .map(|r| {
                            json!({
                                "protocol": r.protocol(),
                                "port": r.port(),
                                "status_code": r.status_code().map(|s| s.as_str()),
                            })
                        })
                        .into_iter()
                        .collect();
                    json!({
                        "type": a.r#type().map(|t| t.as_str()),
                        "target_group_arn": a.target_group_arn(),
                        "redirect": redirect,
                    })
                })
                .collect();
            Ok(json!({
                "port": l.port(),
                "protocol": l.protocol().map(|p| p.as_str()),
                "ssl_policy": l.ssl_policy(),
                "certificate_arn": certificate,
                "default_action": actions,
            }))
        }
        "aws_lb_target_group" => {
            let name = text(v, "name", recorded)?;
            let group = aws::elb::target_group(cx.aws(), name).await?;
            let attributes = aws::elb::target_group_attributes(cx.aws(), name).await?;
            let resource = format!("target group '{name}'");
            let op = aws::elb::DESCRIBE_TG_ATTRIBUTES;
            let delay = required(
                attributes.get("deregistration_delay.timeout_seconds"),
                op,
                &resource,
                "deregistration_delay.timeout_seconds",
            )?;
            let termination =
                match attributes.get("deregistration_delay.connection_termination.enabled") {
                    Some(t) => t == "true",
                    // Reported for NLB groups only; the provider records false for others.
                    None if matches!(
                        group.protocol().map(|p| p.as_str()),
                        Some("HTTP" | "HTTPS" | "GENEVE")
                    ) =>
                    {
                        false
                    }
                    None => {
                        return Err(CheckError::Missing {
                            operation: op.into(),
                            resource,
                            field: "deregistration_delay.connection_termination.enabled".into(),
                        });
                    }
                };
            Ok(json!({
                "name": group.target_group_name(),
                "port": group.port(),
                "protocol": group.protocol().map(|p| p.as_str()),
                "target_type": group.target_type().map(|t| t.as_str()),
                "vpc_id": group.vpc_id(),
                "deregistration_delay": delay,
                "connection_termination": termination,
            }))
        }
        "aws_budgets_budget" => {
            let name = text(v, "name", recorded)?;
            let budget = aws::budgets::budget(cx.aws(), &cx.env().account_id, name).await?;
            let notifications =
                aws::budgets::notifications(cx.aws(), &cx.env().account_id, name).await?;
            let limit = budget.budget_limit();
            Ok(json!({
                "name": budget.budget_name(),
                "budget_type": budget.budget_type().as_str(),
                "limit_amount": limit.map(|l| l.amount()),
                "limit_unit": limit.map(|l| l.unit()),
                "time_unit": budget.time_unit().as_str(),
                "notification": notifications.iter().map(|n| json!({
                    "comparison_operator": n.comparison_operator().as_str(),
                    "threshold": n.threshold(),
                    "threshold_type": n.threshold_type().map(|t| t.as_str()),
                    "notification_type": n.notification_type().as_str(),
                })).collect::<Vec<_>>(),
            }))
        }
        "aws_cloudwatch_event_rule" => {
            let name = text(v, "name", recorded)?;
            let rule = aws::events::rule(cx.aws(), name).await?;
            Ok(json!({
                "name": rule.name(),
                "schedule_expression": rule.schedule_expression(),
                "state": rule.state().map(|s| s.as_str()),
            }))
        }
        "aws_scheduler_schedule" => {
            let name = text(v, "name", recorded)?;
            let group = v
                .get("group_name")
                .and_then(Value::as_str)
                .filter(|g| !g.is_empty());
            let s = aws::scheduler::schedule(cx.aws(), name, group).await?;
            Ok(json!({
                "name": s.name(),
                "group_name": s.group_name(),
                "schedule_expression": s.schedule_expression(),
                "schedule_expression_timezone": s.schedule_expression_timezone(),
                "state": s.state().map(|s| s.as_str()),
            }))
        }
        "aws_cloudwatch_metric_alarm" => {
            let name = text(v, "alarm_name", recorded)?;
            // The declared alarms are one shared read; another alarm is read alone.
            let declared = cx
                .env()
                .alarms
                .as_ref()
                .map(|a| a.required.clone())
                .filter(|r| r.iter().any(|n| n == name))
                .unwrap_or_else(|| vec![name.to_string()]);
            let found = alarms::alarms(cx, &declared).await?;
            let Some(a) = found
                .iter()
                .find(|a| a.name == name)
                .and_then(|a| a.metric.as_ref())
            else {
                return Err(CheckError::NotFound {
                    operation: "cloudwatch:DescribeAlarms".into(),
                    resource: format!("metric alarm '{name}'"),
                });
            };
            Ok(json!({
                "alarm_name": a.alarm_name(),
                "namespace": a.namespace(),
                "metric_name": a.metric_name(),
                "statistic": a.statistic().map(|s| s.as_str()),
                "extended_statistic": a.extended_statistic(),
                "comparison_operator": a.comparison_operator().map(|c| c.as_str()),
                "threshold": a.threshold(),
                "evaluation_periods": a.evaluation_periods(),
                "period": a.period(),
                "alarm_actions": a.alarm_actions(),
                "ok_actions": a.ok_actions(),
                "actions_enabled": a.actions_enabled(),
            }))
        }
        "aws_nat_gateway" => {
            let id = text(v, "id", recorded)?;
            let mut found = None;
            if let Some(spec) = &cx.env().network {
                let vpc = aws::ec2::vpc_id(cx.aws(), &spec.vpc).await?;
                found = aws::ec2::nat_gateways(cx.aws(), &vpc)
                    .await?
                    .iter()
                    .find(|n| n.nat_gateway_id() == Some(id))
                    .cloned();
            }
            if found.is_none() {
                found = aws::ec2::nat_gateways_by_id(cx.aws(), &[id.to_string()])
                    .await?
                    .into_iter()
                    .find(|n| n.nat_gateway_id() == Some(id));
            }
            let Some(n) = found
                .filter(|n| !matches!(n.state().map(|s| s.as_str()), Some("deleted" | "deleting")))
            else {
                return Err(CheckError::NotFound {
                    operation: "ec2:DescribeNatGateways".into(),
                    resource: format!("nat gateway {id}"),
                });
            };
            Ok(json!({
                "subnet_id": n.subnet_id(),
                "allocation_id": n.nat_gateway_addresses().first().and_then(|a| a.allocation_id()),
                "connectivity_type": n.connectivity_type().map(|c| c.as_str()),
            }))
        }
        "aws_sesv2_email_identity" => {
            let identity = text(v, "email_identity", recorded)?;
            let out = aws::ses::email_identity(cx.aws(), identity).await?;
            Ok(json!({
                "email_identity": identity,
                "configuration_set_name": out.configuration_set_name(),
            }))
        }
        "aws_sesv2_email_identity_mail_from_attributes" => {
            let identity = text(v, "email_identity", recorded)?;
            let out = aws::ses::email_identity(cx.aws(), identity).await?;
            let m = out.mail_from_attributes();
            Ok(json!({
                "email_identity": identity,
                "mail_from_domain": m.map(|m| m.mail_from_domain()),
                "behavior_on_mx_failure": m.map(|m| m.behavior_on_mx_failure().as_str()),
            }))
        }
        "aws_sesv2_configuration_set" => {
            let name = text(v, "configuration_set_name", recorded)?;
            let set = aws::ses::configuration_set(cx.aws(), name).await?;
            Ok(json!({
                "configuration_set_name": set.configuration_set_name(),
                "suppression_options": set.suppression_options().map(|s| json!({
                    "suppressed_reasons": s.suppressed_reasons().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                })).into_iter().collect::<Vec<_>>(),
                "sending_options": set.sending_options().map(|s| json!({
                    "sending_enabled": s.sending_enabled(),
                })).into_iter().collect::<Vec<_>>(),
            }))
        }
        "aws_sesv2_configuration_set_event_destination" => {
            let set = text(v, "configuration_set_name", recorded)?;
            let name = text(v, "event_destination_name", recorded)?;
            let destinations = aws::ses::event_destinations(cx.aws(), set).await?;
            let Some(d) = destinations.iter().find(|d| d.name() == name) else {
                return Err(CheckError::NotFound {
                    operation: aws::ses::GET_DESTINATIONS.into(),
                    resource: format!("SES event destination '{set}/{name}'"),
                });
            };
            Ok(json!({
                "configuration_set_name": set,
                "event_destination_name": d.name(),
                "event_destination": [{
                    "enabled": d.enabled(),
                    "matching_event_types": d.matching_event_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                    "sns_destination": d.sns_destination().map(|s| json!({ "topic_arn": s.topic_arn() })).into_iter().collect::<Vec<_>>(),
                }],
            }))
        }
        other => Err(CheckError::Probe {
            probe: "terraform.declared".into(),
            target: recorded.address.clone(),
            message: format!("no live read for type {other}"),
        }),
    }
}

/// `arn:aws:elasticloadbalancing:…:loadbalancer/app/NAME/ID` → `NAME`.
fn load_balancer_name(arn: &str) -> Option<&str> {
    let resource = arn.split(":loadbalancer/").nth(1)?;
    let mut parts = resource.split('/');
    let _kind = parts.next()?;
    parts.next().filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(kind: &str, values: Value) -> Recorded {
        Recorded {
            address: format!("{kind}.x"),
            kind: kind.into(),
            values,
        }
    }

    #[test]
    fn canonical_forms_compare_equal() {
        let db = recorded(
            "aws_db_instance",
            json!({"identifier": "db", "engine": "postgres", "instance_class": "db.t4g.micro",
                   "multi_az": true, "storage_encrypted": true, "publicly_accessible": false,
                   "deletion_protection": true, "backup_retention_period": 7}),
        );
        let live = json!({"identifier": "db", "engine": "postgres", "instance_class": "db.t4g.micro",
                   "multi_az": true, "storage_encrypted": true, "publicly_accessible": false,
                   "deletion_protection": true, "backup_retention_period": 7});
        assert!(mismatches(&db, &live).is_empty());
        let mut drifted = live.clone();
        drifted["multi_az"] = json!(false);
        let m = mismatches(&db, &drifted);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].attribute.as_str(), &m[0].state, &m[0].live),
            ("multi_az", &json!(true), &json!(false))
        );
    }

    #[test]
    fn numbers_strings_sets_and_blocks() {
        let tg = recorded(
            "aws_lb_target_group",
            json!({"name": "t", "port": 6432, "protocol": "TCP", "target_type": "ip", "vpc_id": "vpc-1",
                   "deregistration_delay": "300", "connection_termination": false}),
        );
        let live = json!({"name": "t", "port": 6432, "protocol": "TCP", "target_type": "ip", "vpc_id": "vpc-1",
                   "deregistration_delay": "300", "connection_termination": false});
        assert!(mismatches(&tg, &live).is_empty());
        let budget = recorded(
            "aws_budgets_budget",
            json!({"name": "b", "budget_type": "COST", "limit_amount": "3000.0", "limit_unit": "USD",
                   "time_unit": "MONTHLY", "notification": [
                     {"comparison_operator": "GREATER_THAN", "threshold": 80, "threshold_type": "PERCENTAGE",
                      "notification_type": "ACTUAL", "subscriber_email_addresses": ["a@b"]},
                     {"comparison_operator": "GREATER_THAN", "threshold": 50, "threshold_type": "PERCENTAGE",
                      "notification_type": "ACTUAL", "subscriber_email_addresses": []}]}),
        );
        let live_budget = json!({"name": "b", "budget_type": "COST", "limit_amount": "3000", "limit_unit": "USD",
                   "time_unit": "MONTHLY", "notification": [
                     {"comparison_operator": "GREATER_THAN", "threshold": 50.0, "threshold_type": "PERCENTAGE", "notification_type": "ACTUAL"},
                     {"comparison_operator": "GREATER_THAN", "threshold": 80.0, "threshold_type": "PERCENTAGE", "notification_type": "ACTUAL"}]});
        assert!(
            mismatches(&budget, &live_budget).is_empty(),
            "{:?}",
            mismatches(&budget, &live_budget)
        );
        let mut fewer = live_budget.clone();
        fewer["notification"].as_array_mut().unwrap().pop();
        let m = mismatches(&budget, &fewer);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].attribute, "notification");
    }

    #[test]
    fn listener_blocks_and_unrecorded_attributes() {
        let listener = recorded(
            "aws_lb_listener",
            json!({"arn": "arn:l", "port": 80, "protocol": "HTTP", "ssl_policy": "", "certificate_arn": null,
                   "default_action": [{"type": "redirect", "order": 1, "target_group_arn": "",
                     "redirect": [{"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301", "host": "#{host}"}]}]}),
        );
        let live = json!({"port": 80, "protocol": "HTTP", "ssl_policy": null, "certificate_arn": null,
            "default_action": [{"type": "redirect", "target_group_arn": null,
              "redirect": [{"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}]}]});
        assert!(
            mismatches(&listener, &live).is_empty(),
            "{:?}",
            mismatches(&listener, &live)
        );
        let mut forward = live.clone();
        forward["default_action"] =
            json!([{"type": "forward", "target_group_arn": "arn:tg", "redirect": []}]);
        let names: Vec<String> = mismatches(&listener, &forward)
            .into_iter()
            .map(|m| m.attribute)
            .collect();
        assert_eq!(names, ["default_action", "default_action.redirect"]);
        // An attribute an older provider did not record is not compared,
        // and not counted as compared either.
        let old = recorded(
            "aws_cloudwatch_event_rule",
            json!({"name": "r", "schedule_expression": "rate(5 minutes)", "is_enabled": true}),
        );
        assert!(
            recorded_attributes(&old).count() < attributes_of("aws_cloudwatch_event_rule").len(),
            "{:?}",
            recorded_attributes(&old)
                .map(|a| a.name())
                .collect::<Vec<_>>()
        );
        assert!(
            mismatches(
                &old,
                &json!({"name": "r", "schedule_expression": "rate(5 minutes)", "state": "DISABLED"})
            )
            .is_empty()
        );
    }

    #[test]
    fn a_private_nat_gateway_has_no_allocation_and_that_is_no_mismatch() {
        // Providers record a private NAT gateway's allocation as "" or null;
        // AWS reports no AllocationId for it.
        for allocation in [json!(""), Value::Null] {
            let nat = recorded(
                "aws_nat_gateway",
                json!({"subnet_id": "subnet-a", "allocation_id": allocation, "connectivity_type": "private"}),
            );
            let live = json!({"subnet_id": "subnet-a", "allocation_id": null, "connectivity_type": "private"});
            assert!(
                mismatches(&nat, &live).is_empty(),
                "{:?}",
                mismatches(&nat, &live)
            );
        }
        // A public one whose Elastic IP changed still differs.
        let public = recorded(
            "aws_nat_gateway",
            json!({"subnet_id": "subnet-a", "allocation_id": "eipalloc-1", "connectivity_type": "public"}),
        );
        let live = json!({"subnet_id": "subnet-a", "allocation_id": "eipalloc-2", "connectivity_type": "public"});
        let names: Vec<String> = mismatches(&public, &live)
            .into_iter()
            .map(|m| m.attribute)
            .collect();
        assert_eq!(names, ["allocation_id"]);
    }

    #[test]
    fn ecs_cluster_by_name_or_arn() {
        let svc = recorded(
            "aws_ecs_service",
            json!({"name": "pgbouncer", "cluster": "arn:aws:ecs:eu-central-1:123456789012:cluster/c",
                   "desired_count": 2, "launch_type": "FARGATE",
                   "task_definition": "arn:aws:ecs:eu-central-1:123456789012:task-definition/pgbouncer:3"}),
        );
        let live = json!({"name": "pgbouncer", "cluster": "arn:aws:ecs:eu-central-1:123456789012:cluster/c",
            "desired_count": 2, "launch_type": "FARGATE", "task_definition": "arn:aws:ecs:eu-central-1:123456789012:task-definition/pgbouncer:3"});
        assert!(mismatches(&svc, &live).is_empty());
        let mut scaled = live.clone();
        scaled["desired_count"] = json!(1);
        assert_eq!(mismatches(&svc, &scaled)[0].attribute, "desired_count");
    }

    #[test]
    fn load_balancer_names_from_arns() {
        assert_eq!(
            load_balancer_name(
                "arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/core-api/50dc6c495c0c9188"
            ),
            Some("core-api")
        );
        assert_eq!(load_balancer_name("arn:aws:s3:::bucket"), None);
    }
}
