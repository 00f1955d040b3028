//! The least-privilege IAM policy for the checks an environment's spec
//! enables (and, asked for, the drills' writes): one table, here, of check
//! area → IAM actions, the resource ARNs they are scoped to and their
//! conditions. `cargo xtask iam-policy <env> [--drills]` prints it; the
//! sandbox tests record every operation a gate run (and each drill) makes
//! and prove, through [`iam_actions`], that the policy grants exactly those.
//!
//! ```
//! let env = envspec::parse(
//!     r#"
//!     environment = "staging"
//!     region      = "eu-central-1"
//!     account_id  = "123456789012"
//!     rds "core" {
//!       identifier = "restartix-staging"
//!     }
//!     "#,
//!     "staging.hcl".as_ref(),
//! )
//! .unwrap();
//! let policy = iam_policy::policy(&env, false);
//! assert_eq!(policy["Version"], "2012-10-17");
//! let rds = &policy["Statement"][0];
//! assert_eq!(rds["Sid"], "RdsReadDeclaredInstances");
//! assert_eq!(rds["Action"][0], "rds:DescribeDBInstances");
//! assert_eq!(
//!     rds["Resource"][0],
//!     "arn:aws:rds:eu-central-1:123456789012:db:restartix-staging"
//! );
//! ```
//!
//! Scope: an action is scoped to the declared resources' ARNs wherever the
//! Service Authorization Reference lists a resource type for it; `*` where
//! it lists none (EC2 and ELBv2 `Describe*`, `cloudwatch:GetMetricData`,
//! `ecs:DescribeTaskDefinition`, `ses:GetAccount`, `rds:DescribeEvents`) or
//! where the resource is not known from the spec (prefix lists referenced by
//! security groups). `sts:GetCallerIdentity` needs no permission (IAM
//! always allows it), so it is in no statement. `terraform.*` reads the
//! resources a state file names, which the spec does not know: it is not
//! covered (with `--terraform-state` it reads the same kinds of resource the
//! areas below do, under their ARNs).

use std::collections::{BTreeMap, BTreeSet};

use envspec::{Environment, ScheduleTrigger};
use serde_json::{Value, json};

/// One IAM action the policy grants, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// The statement it belongs to (readable, stable).
    pub sid: &'static str,
    /// `service:Action` as IAM spells it.
    pub action: &'static str,
    /// ARNs (or `*`).
    pub resources: Vec<String>,
    /// `(operator, key, values)`, e.g. `("ArnEquals", "ecs:cluster", [arn])`.
    pub condition: Option<(&'static str, &'static str, Vec<String>)>,
    /// The check area or drill that needs it (`rds`, `drill.pitr_restore`).
    pub needed_by: &'static str,
    /// `Some(why)`: called only when the live state has something the spec
    /// cannot tell (a security-group rule naming a prefix list, …). A run on
    /// a state without it does not call it; the policy must still grant it.
    pub only_when: Option<&'static str>,
    /// A drill's permission (granted only with `--drills`).
    pub drill: bool,
}

/// The drills' write operations, as their write guards admit them
/// (`service:Operation`, the recorder's spelling): must equal each drill's
/// `WRITES` (a test compares them).
pub const DRILL_WRITES: &[(&str, &[&str])] = &[
    ("rds_failover", &["rds:RebootDBInstance"]),
    ("pgbouncer_drain", &["ecs:StopTask"]),
    (
        "pitr_restore",
        &["rds:RestoreDBInstanceToPointInTime", "rds:DeleteDBInstance"],
    ),
];

/// The tag a pitr-restore scratch instance carries (`verify:drill = pitr_restore`).
pub const SCRATCH_TAG: (&str, &str) = ("verify:drill", "pitr_restore");

struct Arns<'a> {
    region: &'a str,
    account: &'a str,
}

impl Arns<'_> {
    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
    fn db(&self, identifier: &str) -> String {
        self.arn("rds", &format!("db:{identifier}"))
    }
    /// A pitr-restore drill's scratch instances: `<identifier>-verify-<run>`.
    fn scratch(&self, identifier: &str) -> String {
        self.db(&format!("{identifier}-verify-*"))
    }
    fn cluster(&self, cluster: &str) -> String {
        if cluster.starts_with("arn:") {
            cluster.to_string()
        } else {
            self.arn("ecs", &format!("cluster/{cluster}"))
        }
    }
    fn cluster_name<'c>(&self, cluster: &'c str) -> &'c str {
        cluster.rsplit('/').next().unwrap_or(cluster)
    }
    fn tasks(&self, cluster: &str) -> String {
        self.arn("ecs", &format!("task/{}/*", self.cluster_name(cluster)))
    }
    fn topic(&self, topic: &str) -> String {
        if topic.starts_with("arn:") {
            topic.to_string()
        } else {
            self.arn("sns", topic)
        }
    }
}

const ANY: &str = "*";

/// Every permission `env`'s checks (and with `drills`, its drills) need, in
/// catalogue order. An area the spec does not declare adds nothing.
pub fn permissions(env: &Environment, drills: bool) -> Vec<Permission> {
    let a = Arns {
        region: &env.region,
        account: &env.account_id,
    };
    let mut out = Vec::new();
    let mut add = |sid: &'static str,
                   action: &'static str,
                   resources: Vec<String>,
                   condition: Option<(&'static str, &'static str, Vec<String>)>,
                   needed_by: &'static str,
                   only_when: Option<&'static str>| {
        out.push(Permission {
            sid,
            action,
            resources,
            condition,
            needed_by,
            only_when,
            drill: needed_by.starts_with("drill."),
        })
    };
    let any = || vec![ANY.to_string()];
    const PREFIX_LISTS: Option<&str> =
        Some("a security-group rule on the port references a managed prefix list");
    const UNSCOPED: &str = "ReadWithoutResourceLevelPermissions";

    // rds.*
    if !env.rds.is_empty() {
        let dbs = env.rds.iter().map(|r| a.db(&r.identifier)).collect();
        add(
            "RdsReadDeclaredInstances",
            "rds:DescribeDBInstances",
            dbs,
            None,
            "rds",
            None,
        );
        add(
            UNSCOPED,
            "ec2:DescribeSecurityGroups",
            any(),
            None,
            "rds",
            None,
        );
        add(
            UNSCOPED,
            "ec2:GetManagedPrefixListEntries",
            any(),
            None,
            "rds",
            PREFIX_LISTS,
        );
    }
    // pgbouncer.*
    if let Some(p) = &env.pgbouncer {
        let service = a.arn(
            "ecs",
            &format!("service/{}/{}", a.cluster_name(&p.cluster), p.service),
        );
        add(
            "EcsReadDeclaredServices",
            "ecs:DescribeServices",
            vec![service],
            None,
            "pgbouncer",
            None,
        );
        add(
            "EcsListTasksInDeclaredClusters",
            "ecs:ListTasks",
            any(),
            Some(("ArnEquals", "ecs:cluster", vec![a.cluster(&p.cluster)])),
            "pgbouncer",
            None,
        );
        add(
            "EcsReadTasksInDeclaredClusters",
            "ecs:DescribeTasks",
            vec![a.tasks(&p.cluster)],
            None,
            "pgbouncer",
            None,
        );
        add(
            UNSCOPED,
            "ecs:DescribeTaskDefinition",
            any(),
            None,
            "pgbouncer",
            None,
        );
        for action in [
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DescribeTargetGroupAttributes",
        ] {
            add(UNSCOPED, action, any(), None, "pgbouncer", None);
        }
        add(
            UNSCOPED,
            "ec2:DescribeSubnets",
            any(),
            None,
            "pgbouncer",
            None,
        );
    }
    // edge.alb.* (edge.tls/https/http and cloudflare.* make no AWS call)
    if env.edge.is_some() {
        for action in [
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
        ] {
            add(UNSCOPED, action, any(), None, "edge", None);
        }
        add(
            UNSCOPED,
            "elasticloadbalancing:DescribeRules",
            any(),
            None,
            "edge",
            Some("the load balancer has a listener on port 80"),
        );
        add(
            "AcmReadCertificatesInAccount",
            "acm:DescribeCertificate",
            vec![a.arn("acm", "certificate/*")],
            None,
            "edge",
            Some("a listener certificate is an ACM certificate"),
        );
        add(
            UNSCOPED,
            "ec2:DescribeSecurityGroups",
            any(),
            None,
            "edge",
            None,
        );
        add(
            UNSCOPED,
            "ec2:GetManagedPrefixListEntries",
            any(),
            None,
            "edge",
            PREFIX_LISTS,
        );
    }
    // scheduled.<task>.*
    for t in &env.scheduled_tasks {
        match &t.trigger {
            ScheduleTrigger::Rule(rule) => {
                let arn = vec![a.arn("events", &format!("rule/{rule}"))];
                add(
                    "EventBridgeReadDeclaredRules",
                    "events:DescribeRule",
                    arn.clone(),
                    None,
                    "scheduled",
                    None,
                );
                add(
                    "EventBridgeReadDeclaredRules",
                    "events:ListTargetsByRule",
                    arn,
                    None,
                    "scheduled",
                    None,
                );
            }
            ScheduleTrigger::Schedule(name) => {
                let (group, name) = name.split_once('/').unwrap_or(("default", name));
                let arn = a.arn("scheduler", &format!("schedule/{group}/{name}"));
                add(
                    "SchedulerReadDeclaredSchedules",
                    "scheduler:GetSchedule",
                    vec![arn],
                    None,
                    "scheduled",
                    None,
                );
            }
        }
        add(
            "EcsListTasksInDeclaredClusters",
            "ecs:ListTasks",
            any(),
            Some(("ArnEquals", "ecs:cluster", vec![a.cluster(&t.cluster)])),
            "scheduled",
            None,
        );
        add(
            "EcsReadTasksInDeclaredClusters",
            "ecs:DescribeTasks",
            vec![a.tasks(&t.cluster)],
            None,
            "scheduled",
            None,
        );
        add(
            UNSCOPED,
            "ecs:DescribeTaskDefinition",
            any(),
            None,
            "scheduled",
            Some("a listed run has a container that did not exit 0"),
        );
        if let (Some(group), Some(_)) = (&t.log_group, &t.success_marker) {
            add(
                "LogsSearchDeclaredLogGroups",
                "logs:FilterLogEvents",
                vec![
                    a.arn("logs", &format!("log-group:{group}")),
                    a.arn("logs", &format!("log-group:{group}:*")),
                ],
                None,
                "scheduled",
                Some("ECS lists no successful run within the max age"),
            );
        }
    }
    // alarms.*
    if let Some(al) = &env.alarms {
        let alarms = al
            .required
            .iter()
            .map(|n| a.arn("cloudwatch", &format!("alarm:{n}")))
            .collect();
        add(
            "CloudWatchReadDeclaredAlarms",
            "cloudwatch:DescribeAlarms",
            alarms,
            None,
            "alarms",
            None,
        );
        add(
            "SnsReadDeclaredTopics",
            "sns:ListSubscriptionsByTopic",
            vec![a.topic(&al.topic)],
            None,
            "alarms",
            None,
        );
    }
    // budgets.*: DescribeBudget, DescribeNotificationsForBudget and
    // DescribeSubscribersForNotification are all authorised by budgets:ViewBudget.
    if !env.budgets.is_empty() {
        let budgets = env
            .budgets
            .iter()
            .map(|b| format!("arn:aws:budgets::{}:budget/{}", env.account_id, b.name))
            .collect();
        add(
            "BudgetsViewDeclaredBudgets",
            "budgets:ViewBudget",
            budgets,
            None,
            "budgets",
            None,
        );
    }
    // ses.* (SESv2; its IAM prefix is `ses`)
    if let Some(s) = &env.ses {
        add(UNSCOPED, "ses:GetAccount", any(), None, "ses", None);
        add(
            "SesReadDeclaredIdentity",
            "ses:GetEmailIdentity",
            vec![a.arn("ses", &format!("identity/{}", s.domain))],
            None,
            "ses",
            None,
        );
        // `ses:GetConfigurationSet` is terraform.declared's read alone
        // (not granted: see the crate doc on terraform.declared).
        let set = vec![a.arn("ses", &format!("configuration-set/{}", s.configuration_set))];
        add(
            "SesReadDeclaredConfigurationSet",
            "ses:GetConfigurationSetEventDestinations",
            set,
            None,
            "ses",
            None,
        );
        add(
            "SnsReadDeclaredTopics",
            "sns:ListSubscriptionsByTopic",
            vec![a.topic(&s.feedback_topic)],
            None,
            "ses",
            None,
        );
    }
    // network.*
    if env.network.is_some() {
        for action in [
            "ec2:DescribeVpcs",
            "ec2:DescribeSubnets",
            "ec2:DescribeRouteTables",
            "ec2:DescribeNatGateways",
        ] {
            add(UNSCOPED, action, any(), None, "network", None);
        }
    }
    // metrics.<name>: one GetMetricData for every gate; target groups and
    // load balancers named by a query are looked up for their dimensions.
    if !env.metrics.is_empty() {
        add(
            UNSCOPED,
            "cloudwatch:GetMetricData",
            any(),
            None,
            "metrics",
            None,
        );
        let queries = || env.metrics.iter().flat_map(|m| &m.queries);
        if queries().any(|q| q.target_group.is_some()) {
            add(
                UNSCOPED,
                "elasticloadbalancing:DescribeTargetGroups",
                any(),
                None,
                "metrics",
                None,
            );
        }
        if queries().any(|q| q.load_balancer.is_some()) {
            add(
                UNSCOPED,
                "elasticloadbalancing:DescribeLoadBalancers",
                any(),
                None,
                "metrics",
                None,
            );
        }
    }
    // canary.<name>: requests through the edge, no AWS call.

    if drills {
        drill_permissions(env, &a, &mut add);
    }
    out
}

type Add<'a> = dyn FnMut(
        &'static str,
        &'static str,
        Vec<String>,
        Option<(&'static str, &'static str, Vec<String>)>,
        &'static str,
        Option<&'static str>,
    ) + 'a;

/// The drills' own permissions: their writes, scoped as tightly as IAM
/// allows, and the reads they make beyond their steady-state checks'.
fn drill_permissions(env: &Environment, a: &Arns<'_>, add: &mut Add<'_>) {
    let rds_block = |label: Option<&str>| match label {
        Some(label) => env.rds.iter().find(|r| r.label == label),
        None if env.rds.len() == 1 => env.rds.first(),
        None => None,
    };
    let stop_alarms = |add: &mut Add<'_>, alarms: &[String], by: &'static str| {
        if !alarms.is_empty() {
            let arns = alarms
                .iter()
                .map(|n| a.arn("cloudwatch", &format!("alarm:{n}")))
                .collect();
            add(
                "DrillReadStopAlarms",
                "cloudwatch:DescribeAlarms",
                arns,
                None,
                by,
                None,
            );
        }
    };
    let failover = env.drills.rds_failover.clone();
    let failover_rds = rds_block(failover.as_ref().and_then(|d| d.rds.as_deref()));
    if let Some(rds) = failover_rds {
        let by = "drill.rds_failover";
        add(
            "DrillRdsFailoverReboot",
            "rds:RebootDBInstance",
            vec![a.db(&rds.identifier)],
            None,
            by,
            None,
        );
        add(
            "DrillRdsEvents",
            "rds:DescribeEvents",
            vec![ANY.into()],
            None,
            by,
            None,
        );
        add(
            "DrillRdsDescribe",
            "rds:DescribeDBInstances",
            vec![a.db(&rds.identifier)],
            None,
            by,
            None,
        );
        if let Some(d) = &failover {
            stop_alarms(add, &d.stop_alarms, by);
        }
    }
    if let Some(p) = &env.pgbouncer {
        let by = "drill.pgbouncer_drain";
        add(
            "DrillPgbouncerStopTask",
            "ecs:StopTask",
            vec![a.tasks(&p.cluster)],
            Some(("ArnEquals", "ecs:cluster", vec![a.cluster(&p.cluster)])),
            by,
            None,
        );
        if let Some(d) = &env.drills.pgbouncer_drain {
            stop_alarms(add, &d.stop_alarms, by);
        }
    }
    let pitr = env.drills.pitr_restore.clone();
    if let Some(rds) = rds_block(pitr.as_ref().and_then(|d| d.rds.as_deref())) {
        let by = "drill.pitr_restore";
        let scratch = a.scratch(&rds.identifier);
        // The restore is authorised against the source, the new instance and
        // the groups it is created in (the source's subnet group, default
        // option and parameter groups).
        add(
            "DrillPitrRestoreIntoScratch",
            "rds:RestoreDBInstanceToPointInTime",
            vec![
                a.db(&rds.identifier),
                scratch.clone(),
                a.arn("rds", "subgrp:*"),
                a.arn("rds", "og:*"),
                a.arn("rds", "pg:*"),
            ],
            None,
            by,
            None,
        );
        // Tags given at creation need AddTagsToResource on the new instance.
        add(
            "DrillPitrTagScratch",
            "rds:AddTagsToResource",
            vec![scratch.clone()],
            Some((
                "StringEquals",
                "aws:RequestTag/verify:drill",
                vec![SCRATCH_TAG.1.into()],
            )),
            by,
            None,
        );
        add(
            "DrillPitrDeleteScratch",
            "rds:DeleteDBInstance",
            vec![scratch],
            Some((
                "StringEquals",
                "aws:ResourceTag/verify:drill",
                vec![SCRATCH_TAG.1.into()],
            )),
            by,
            None,
        );
        // Finding scratch instances by tag lists every instance: a list is
        // authorised against `db:*`.
        add(
            "DrillPitrFindScratch",
            "rds:DescribeDBInstances",
            vec![a.arn("rds", "db:*")],
            None,
            by,
            None,
        );
    }
}

/// An IAM policy document, its keys in the order IAM's own examples use.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Document {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

/// One statement: a scope (Sid), its actions, resources and condition.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: &'static str,
    pub effect: &'static str,
    pub action: Vec<&'static str>,
    pub resource: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

/// The IAM policy document for `env`: `Version` 2012-10-17, one statement
/// per scope (Sid), in catalogue order; actions and resources sorted.
pub fn document(env: &Environment, drills: bool) -> Document {
    type Cond = BTreeMap<(&'static str, &'static str), BTreeSet<String>>;
    let mut order: Vec<&'static str> = Vec::new();
    let mut statements: BTreeMap<&'static str, (BTreeSet<&'static str>, BTreeSet<String>, Cond)> =
        BTreeMap::new();
    for p in permissions(env, drills) {
        if !statements.contains_key(p.sid) {
            order.push(p.sid);
        }
        let entry = statements.entry(p.sid).or_default();
        entry.0.insert(p.action);
        entry.1.extend(p.resources);
        if let Some((op, key, values)) = p.condition {
            entry.2.entry((op, key)).or_default().extend(values);
        }
    }
    let statement = order
        .into_iter()
        .map(|sid| {
            let (actions, resources, condition) = statements.remove(sid).unwrap_or_default();
            let condition = (!condition.is_empty()).then(|| {
                let mut c = serde_json::Map::new();
                for ((op, key), values) in condition {
                    let entry = c.entry(op.to_string()).or_insert_with(|| json!({}));
                    entry[key] = json!(values);
                }
                Value::Object(c)
            });
            Statement {
                sid,
                effect: "Allow",
                action: actions.into_iter().collect(),
                resource: resources.into_iter().collect(),
                condition,
            }
        })
        .collect();
    Document {
        version: "2012-10-17",
        statement,
    }
}

/// [`document`] as a JSON value.
pub fn policy(env: &Environment, drills: bool) -> Value {
    serde_json::to_value(document(env, drills)).expect("a policy document is JSON")
}

/// [`document`] as pretty JSON, `Version` first and each statement's `Sid` first.
pub fn render(env: &Environment, drills: bool) -> String {
    serde_json::to_string_pretty(&document(env, drills)).expect("a policy document is JSON")
}

/// Every action a policy document grants.
pub fn actions(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().into_iter().flatten())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// The IAM prefix of a service as the SDK names it (the recorder's
/// `service:` part, the SDK's service name in lower case).
fn iam_prefix(sdk_service: &str) -> Option<&'static str> {
    Some(match sdk_service {
        "rds" => "rds",
        "ec2" => "ec2",
        "budgets" => "budgets",
        "acm" => "acm",
        "ecs" => "ecs",
        "elastic load balancing v2" | "elasticloadbalancingv2" => "elasticloadbalancing",
        "cloudwatch" => "cloudwatch",
        "sns" => "sns",
        "eventbridge" => "events",
        "scheduler" => "scheduler",
        "cloudwatch logs" => "logs",
        "sesv2" => "ses",
        "sts" => "sts",
        _ => return None,
    })
}

/// The IAM actions that authorise one recorded operation (`service:Operation`
/// as [the recorder] writes it: `elastic load balancing v2:DescribeRules`):
/// usually one; none for `sts:GetCallerIdentity` (always allowed); two for
/// a restore with tags (`rds:AddTagsToResource` too). `Err` names an
/// operation this table does not know: a new call needs its row here.
///
/// ```
/// assert_eq!(
///     iam_policy::iam_actions("elastic load balancing v2:DescribeRules").unwrap(),
///     ["elasticloadbalancing:DescribeRules"]
/// );
/// assert_eq!(iam_policy::iam_actions("budgets:DescribeBudget").unwrap(), ["budgets:ViewBudget"]);
/// assert!(iam_policy::iam_actions("sts:GetCallerIdentity").unwrap().is_empty());
/// assert!(iam_policy::iam_actions("quantum:Entangle").is_err());
/// ```
pub fn iam_actions(recorded: &str) -> Result<Vec<String>, String> {
    let (service, operation) = recorded
        .split_once(':')
        .ok_or_else(|| format!("{recorded:?} is not service:Operation"))?;
    let prefix = iam_prefix(service)
        .ok_or_else(|| format!("{recorded}: no IAM prefix for service {service:?}"))?;
    Ok(match (prefix, operation) {
        ("sts", "GetCallerIdentity") => vec![],
        (
            "budgets",
            "DescribeBudget"
            | "DescribeNotificationsForBudget"
            | "DescribeSubscribersForNotification",
        ) => vec!["budgets:ViewBudget".into()],
        ("rds", "RestoreDBInstanceToPointInTime") => vec![
            "rds:RestoreDBInstanceToPointInTime".into(),
            "rds:AddTagsToResource".into(),
        ],
        (prefix, operation) => vec![format!("{prefix}:{operation}")],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &str) -> Environment {
        envspec::parse(
            &format!(
                r#"
                environment = "staging"
                region      = "eu-west-1"
                account_id  = "111122223333"
                rds "core" {{
                  identifier = "core-staging"
                }}
                {extra}
                "#
            ),
            "staging.hcl".as_ref(),
        )
        .expect("spec")
    }

    fn statement<'a>(policy: &'a Value, sid: &str) -> &'a Value {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid} in {policy:#}"))
    }

    #[test]
    fn an_area_not_declared_grants_nothing() {
        let policy = policy(&env(""), false);
        let actions = actions(&policy);
        assert!(
            !actions.iter().any(|a| a.starts_with("ses:")),
            "{actions:?}"
        );
        assert!(!actions.iter().any(|a| a.starts_with("budgets:")));
        assert!(
            !actions
                .iter()
                .any(|a| a.starts_with("elasticloadbalancing:"))
        );
        assert_eq!(
            actions,
            [
                "ec2:DescribeSecurityGroups",
                "ec2:GetManagedPrefixListEntries",
                "rds:DescribeDBInstances"
            ]
            .map(String::from)
            .into()
        );
    }

    #[test]
    fn drills_add_only_their_own_statements() {
        let spec = env("drills {\n allowed = true\n}");
        let without = policy(&spec, false);
        let with = policy(&spec, true);
        let added: Vec<&Value> = with["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| !without["Statement"].as_array().unwrap().contains(s))
            .collect();
        assert!(
            added
                .iter()
                .all(|s| s["Sid"].as_str().unwrap().starts_with("Drill")),
            "{added:#?}"
        );
        let delete = statement(&with, "DrillPitrDeleteScratch");
        assert_eq!(
            delete["Resource"],
            json!(["arn:aws:rds:eu-west-1:111122223333:db:core-staging-verify-*"])
        );
        assert_eq!(
            delete["Condition"]["StringEquals"]["aws:ResourceTag/verify:drill"],
            json!(["pitr_restore"])
        );
        // No pgbouncer declared: no StopTask.
        assert!(!actions(&with).contains("ecs:StopTask"));
    }

    #[test]
    fn every_drill_write_has_its_statement() {
        let spec = env(r#"pgbouncer {
                 cluster      = "core"
                 service      = "pgbouncer"
                 target_group = "pgbouncer"
               }
               drills {
                 allowed = true
               }"#);
        let granted = actions(&policy(&spec, true));
        for (_, writes) in DRILL_WRITES {
            for w in *writes {
                for action in iam_actions(w).unwrap() {
                    assert!(granted.contains(&action), "{action} not granted");
                }
            }
        }
        let stop = statement(&policy(&spec, true), "DrillPgbouncerStopTask").clone();
        assert_eq!(
            stop["Condition"]["ArnEquals"]["ecs:cluster"],
            json!(["arn:aws:ecs:eu-west-1:111122223333:cluster/core"])
        );
    }

    #[test]
    fn production_is_scoped_to_its_own_account_and_region() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let outputs = envspec::Outputs::load(&root.join("examples/production/outputs.json"))
            .expect("outputs");
        let spec = envspec::load_with(
            &root.join("infra-tests/environments/production.hcl"),
            Some(&outputs),
        )
        .expect("production.hcl");
        let prefix_region = format!(":{}:{}:", spec.region, spec.account_id);
        let policy = policy(&spec, false);
        let mut scoped = 0;
        for s in policy["Statement"].as_array().unwrap() {
            for r in s["Resource"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                if r == "*" {
                    continue;
                }
                scoped += 1;
                let budgets = format!("arn:aws:budgets::{}:budget/", spec.account_id);
                assert!(
                    r.contains(&prefix_region) || r.starts_with(&budgets),
                    "{r} is not in {} / {}",
                    spec.region,
                    spec.account_id
                );
            }
        }
        assert!(scoped > 5, "{policy:#}");
        let db = statement(&policy, "RdsReadDeclaredInstances");
        assert_eq!(
            db["Resource"][0],
            format!(
                "arn:aws:rds:{}:{}:db:{}",
                spec.region, spec.account_id, spec.rds[0].identifier
            )
        );
        assert!(actions(&policy).contains("ses:GetEmailIdentity"));
        // production allows no drill; its policy grants no write.
        assert!(
            !actions(&policy)
                .iter()
                .any(|a| a.contains("Reboot") || a.contains("Delete"))
        );
    }

    #[test]
    fn recorded_operations_map_to_iam_actions() {
        for (recorded, action) in [
            ("cloudwatch logs:FilterLogEvents", "logs:FilterLogEvents"),
            ("eventbridge:DescribeRule", "events:DescribeRule"),
            ("sesv2:GetAccount", "ses:GetAccount"),
            (
                "elastic load balancing v2:DescribeTargetHealth",
                "elasticloadbalancing:DescribeTargetHealth",
            ),
            (
                "budgets:DescribeSubscribersForNotification",
                "budgets:ViewBudget",
            ),
            ("cloudwatch:GetMetricData", "cloudwatch:GetMetricData"),
        ] {
            assert_eq!(iam_actions(recorded).unwrap(), [action]);
        }
    }
}
