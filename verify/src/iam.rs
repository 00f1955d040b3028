//! The least-privilege IAM policy, derived from the declarations: every
//! check declares the [`Grant`]s it needs next to its judge
//! ([`crate::check::CheckDef::iam`]), every drill its own (its writes among
//! them, from which its write guard comes). [`document`] resolves them
//! against a spec: an action is scoped to the declared resources' ARNs
//! wherever the Service Authorization Reference lists a resource type for
//! it, `*` where it lists none; a grant whose resources the spec does not
//! declare is left out, so an area the spec does not declare adds nothing.
//!
//! `sts:GetCallerIdentity` needs no permission (IAM always allows it).
//! `terraform.*` reads the resources a state file names, which the spec does
//! not know: it declares no grant (with `--terraform-state` it reads the
//! same kinds of resource the areas do, under their ARNs).
//!
//! ```
//! let env = verify::spec::parse(
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
//! let policy = verify::iam::policy(&env, false);
//! assert_eq!(policy["Version"], "2012-10-17");
//! let rds = &policy["Statement"][0];
//! assert_eq!(rds["Sid"], "RdsReadDeclaredInstances");
//! assert_eq!(rds["Action"][0], "rds:DescribeDBInstances");
//! assert_eq!(
//!     rds["Resource"][0],
//!     "arn:aws:rds:eu-central-1:123456789012:db:restartix-staging"
//! );
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::spec::Environment;

/// The Sid of the statement for actions IAM cannot scope to a resource.
pub const UNSCOPED: &str = "ReadWithoutResourceLevelPermissions";

/// The ARNs an action is scoped to, from the spec.
pub type ArnsOf = fn(&Environment, &Arns<'_>) -> Vec<String>;

/// One IAM permission a check or a drill needs, declared once beside it and
/// resolved against a spec by [`permissions`].
#[derive(Clone, Copy)]
pub struct Grant {
    /// The statement it belongs to (readable, stable).
    pub sid: &'static str,
    /// `service:Action` as IAM spells it.
    pub action: &'static str,
    scope: Scope,
    condition: Option<(&'static str, &'static str, ArnsOf)>,
    /// `Some(why)`: called only when the live state has something the spec
    /// cannot tell (a security-group rule naming a prefix list, …); the
    /// policy grants it all the same.
    pub only_when: Option<&'static str>,
    /// A drill's write: its guard admits exactly these operations.
    pub write: bool,
}

#[derive(Clone, Copy)]
enum Scope {
    /// `*` when the spec declares what needs it.
    AnyIf(fn(&Environment) -> bool),
    /// The declared resources' ARNs; none declared, nothing granted.
    Arns(ArnsOf),
}

impl Grant {
    /// `action` on `*` (IAM lists no resource type for it), granted when
    /// `declared(env)`.
    pub const fn any(action: &'static str, declared: fn(&Environment) -> bool) -> Grant {
        Grant {
            sid: UNSCOPED,
            action,
            scope: Scope::AnyIf(declared),
            condition: None,
            only_when: None,
            write: false,
        }
    }

    /// `action` on the ARNs `arns` gives for a spec, in statement `sid`.
    pub const fn on(sid: &'static str, action: &'static str, arns: ArnsOf) -> Grant {
        Grant {
            sid,
            action,
            scope: Scope::Arns(arns),
            condition: None,
            only_when: None,
            write: false,
        }
    }

    /// In statement `sid` instead (a grant with a condition needs a statement
    /// of its own: a condition holds for every action of its statement).
    pub const fn sid(mut self, sid: &'static str) -> Grant {
        self.sid = sid;
        self
    }

    /// With the condition `operator: { key: values }`.
    pub const fn condition(
        mut self,
        operator: &'static str,
        key: &'static str,
        values: ArnsOf,
    ) -> Grant {
        self.condition = Some((operator, key, values));
        self
    }

    /// Called only when the live state has what `why` says.
    pub const fn only_when(mut self, why: &'static str) -> Grant {
        self.only_when = Some(why);
        self
    }

    /// A drill's write, admitted by its guard while the drill runs.
    pub const fn write(mut self) -> Grant {
        self.write = true;
        self
    }

    /// This grant for `env`, or `None` when the spec declares nothing it covers.
    fn resolve(&self, env: &Environment, needed_by: &str, drill: bool) -> Option<Permission> {
        let arns = Arns {
            region: &env.region,
            account: &env.account_id,
        };
        let resources = match self.scope {
            Scope::AnyIf(declared) => declared(env).then(|| vec!["*".to_string()])?,
            Scope::Arns(of) => Some(of(env, &arns)).filter(|r| !r.is_empty())?,
        };
        Some(Permission {
            sid: self.sid,
            action: self.action,
            resources,
            condition: self
                .condition
                .map(|(operator, key, values)| (operator, key, values(env, &arns))),
            needed_by: needed_by.to_string(),
            only_when: self.only_when,
            drill,
        })
    }
}

/// The operations a drill's write guard admits: its grants marked [`Grant::write`].
pub fn writes(grants: &[Grant]) -> Vec<&'static str> {
    grants
        .iter()
        .filter(|g| g.write)
        .map(|g| g.action)
        .collect()
}

/// ARNs in a spec's region and account.
pub struct Arns<'a> {
    region: &'a str,
    account: &'a str,
}

impl<'a> Arns<'a> {
    /// ARNs in `env`'s region and account.
    pub fn of(env: &'a Environment) -> Arns<'a> {
        Arns {
            region: &env.region,
            account: &env.account_id,
        }
    }
    /// `arn:aws:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
    /// An RDS instance.
    pub fn db(&self, identifier: &str) -> String {
        self.arn("rds", &format!("db:{identifier}"))
    }
    /// An ECS cluster (a name or already an ARN).
    pub fn cluster(&self, cluster: &str) -> String {
        if cluster.starts_with("arn:") {
            cluster.to_string()
        } else {
            self.arn("ecs", &format!("cluster/{cluster}"))
        }
    }
    /// The name of a cluster given by name or ARN.
    pub fn cluster_name<'c>(&self, cluster: &'c str) -> &'c str {
        cluster.rsplit('/').next().unwrap_or(cluster)
    }
    /// Every task of a cluster.
    pub fn tasks(&self, cluster: &str) -> String {
        self.arn("ecs", &format!("task/{}/*", self.cluster_name(cluster)))
    }
    /// An SNS topic (a name or already an ARN).
    pub fn topic(&self, topic: &str) -> String {
        if topic.starts_with("arn:") {
            topic.to_string()
        } else {
            self.arn("sns", topic)
        }
    }
    /// A CloudWatch alarm.
    pub fn alarm(&self, name: &str) -> String {
        self.arn("cloudwatch", &format!("alarm:{name}"))
    }
    /// AWS Budgets ARNs have no region.
    pub fn budget(&self, name: &str) -> String {
        format!("arn:aws:budgets::{}:budget/{name}", self.account)
    }
}

/// One IAM action the policy grants for a spec, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// The statement it belongs to.
    pub sid: &'static str,
    /// `service:Action` as IAM spells it.
    pub action: &'static str,
    /// ARNs (or `*`).
    pub resources: Vec<String>,
    /// `(operator, key, values)`, e.g. `("ArnEquals", "ecs:cluster", [arn])`.
    pub condition: Option<(&'static str, &'static str, Vec<String>)>,
    /// The check (`rds.multi_az`) or drill (`drill.pitr_restore`) that needs it.
    pub needed_by: String,
    /// See [`Grant::only_when`].
    pub only_when: Option<&'static str>,
    /// A drill's permission (granted only with `--drills`).
    pub drill: bool,
}

/// Every permission `env`'s checks (and with `drills`, its drills) need, in
/// catalogue order.
pub fn permissions(env: &Environment, drills: bool) -> Vec<Permission> {
    let mut out: Vec<Permission> = crate::checks::catalogue(env)
        .iter()
        .flat_map(|check| {
            check
                .def
                .iam
                .iter()
                .filter_map(|g| g.resolve(env, &check.id, false))
                .collect::<Vec<_>>()
        })
        .collect();
    if drills {
        for (id, grants) in crate::drill::GRANTS {
            out.extend(grants.iter().filter_map(|g| g.resolve(env, id, true)));
        }
    }
    out
}

/// An IAM policy document, its keys in the order IAM's own examples use.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Document {
    /// `2012-10-17`.
    pub version: &'static str,
    /// One per Sid.
    pub statement: Vec<Statement>,
}

/// One statement: a scope (Sid), its actions, resources and condition.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// The scope's name.
    pub sid: &'static str,
    /// Always `Allow`.
    pub effect: &'static str,
    /// Sorted.
    pub action: Vec<&'static str>,
    /// Sorted.
    pub resource: Vec<String>,
    /// `{ operator: { key: [values] } }`.
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
        "kms" => "kms",
        "secrets manager" => "secretsmanager",
        "s3" => "s3",
        // IAM's prefix is `s3` too; its operations map below.
        "s3 control" => "s3control",
        "wafv2" => "wafv2",
        "health" => "health",
        "fis" => "fis",
        _ => return None,
    })
}

/// The IAM actions that authorise one recorded operation (`service:Operation`
/// as the call counter writes it: `elastic load balancing v2:DescribeRules`):
/// usually one; none for `sts:GetCallerIdentity` (always allowed); two for
/// a restore with tags (`rds:AddTagsToResource` too). `Err` names an
/// operation this table does not know: a new service needs its prefix here.
///
/// ```
/// use verify::iam::iam_actions;
/// assert_eq!(
///     iam_actions("elastic load balancing v2:DescribeRules").unwrap(),
///     ["elasticloadbalancing:DescribeRules"]
/// );
/// assert_eq!(iam_actions("budgets:DescribeBudget").unwrap(), ["budgets:ViewBudget"]);
/// assert!(iam_actions("sts:GetCallerIdentity").unwrap().is_empty());
/// assert!(iam_actions("quantum:Entangle").is_err());
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
        // Secrets Manager decrypts the value with the secret's KMS key on
        // the caller's behalf: the caller needs `kms:Decrypt` (via the service).
        ("secretsmanager", "GetSecretValue") => {
            vec!["secretsmanager:GetSecretValue".into(), "kms:Decrypt".into()]
        }
        // S3's IAM actions are not all named as its operations.
        ("s3", "GetBucketEncryption") => vec!["s3:GetEncryptionConfiguration".into()],
        ("s3", "GetPublicAccessBlock") => vec!["s3:GetBucketPublicAccessBlock".into()],
        ("s3control", "GetPublicAccessBlock") => vec!["s3:GetAccountPublicAccessBlock".into()],
        ("s3control", operation) => vec![format!("s3:{operation}")],
        (prefix, operation) => vec![format!("{prefix}:{operation}")],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &str) -> Environment {
        crate::spec::parse(
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
                 alarm_route {
                   alarm = "route-test"
                   topic = "alerts"
                 }
                 az_outage {
                   az                      = "eu-west-1a"
                   fis_experiment_template = "EXTaz1"
                 }
               }"#);
        let granted = actions(&policy(&spec, true));
        for (_, grants) in crate::drill::GRANTS {
            for w in writes(grants) {
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
        let outputs = crate::spec::Outputs::load(&root.join("examples/production/outputs.json"))
            .expect("outputs");
        let spec = crate::spec::load_with(
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
                // S3 ARNs have neither (the bucket's region and owner are
                // checked by the calls: GetBucketLocation, ExpectedBucketOwner).
                let bucket = r
                    .strip_prefix("arn:aws:s3:::")
                    .is_some_and(|b| spec.s3_buckets.iter().any(|d| d.name == b));
                assert!(
                    r.contains(&prefix_region) || r.starts_with(&budgets) || bucket,
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

    /// A condition holds for every action of its statement: a statement
    /// mixing grants with and without one would deny the others (an
    /// `ArnEquals ecs:cluster` on `ec2:DescribeSubnets` matches nothing).
    #[test]
    fn a_conditional_grant_has_a_statement_of_its_own() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let outputs = crate::spec::Outputs::load(&root.join("examples/production/outputs.json"))
            .expect("outputs");
        for spec in ["sandbox.hcl", "staging.hcl", "production.hcl"] {
            let env = crate::spec::load_with(
                &root.join("infra-tests/environments").join(spec),
                Some(&outputs),
            )
            .expect(spec);
            let mut by_sid: BTreeMap<&str, BTreeSet<Option<(&str, &str)>>> = BTreeMap::new();
            for p in permissions(&env, true) {
                by_sid
                    .entry(p.sid)
                    .or_default()
                    .insert(p.condition.as_ref().map(|(op, key, _)| (*op, *key)));
            }
            for (sid, conditions) in by_sid {
                assert_eq!(
                    conditions.len(),
                    1,
                    "{spec}: statement {sid} mixes {conditions:?}"
                );
            }
        }
    }

    /// Per check: `rds.available` needs only the instance read;
    /// `rds.not_public` also the security groups.
    #[test]
    fn each_check_is_granted_what_it_declares() {
        let perms = permissions(&env(""), false);
        let of = |id: &str| -> Vec<&str> {
            perms
                .iter()
                .filter(|p| p.needed_by == id)
                .map(|p| p.action)
                .collect()
        };
        assert_eq!(of("rds.available"), ["rds:DescribeDBInstances"]);
        assert!(of("rds.not_public").contains(&"ec2:DescribeSecurityGroups"));
        assert!(of("edge.tls.certificate").is_empty());
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
