//! `rds.*`: the declared RDS instances are available, Multi-AZ, encrypted,
//! private, protected from deletion, and backed up recently enough.
//!
//! Every check reads the instance through one shared `DescribeDBInstances`
//! per instance per run; `rds.not_public` adds one `DescribeSecurityGroups`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_ec2::types::{IpPermission, SecurityGroup};
use aws_sdk_rds::types::DbInstance;
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Finding, combine};
use crate::gate::Gate;
use crate::spec::RdsSpec;

const DESCRIBE: &str = "rds:DescribeDBInstances";
const DESCRIBE_SGS: &str = "ec2:DescribeSecurityGroups";
const NONE_DECLARED: &str = "no rds instance declared for this environment";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("rds.available", |g| Box::pin(each(g, available))),
        Check::new("rds.multi_az", |g| Box::pin(each(g, multi_az))),
        Check::new("rds.encrypted", |g| Box::pin(each(g, encrypted))),
        Check::new("rds.not_public", |g| Box::pin(each_async(g, not_public))),
        Check::new("rds.deletion_protection", |g| {
            Box::pin(each(g, deletion_protection))
        }),
        Check::new("rds.backups", |g| Box::pin(each(g, backups))),
    ]
}

/// `rds.available`: the instance exists and its status is `available`.
fn available(spec: &RdsSpec, db: &DbInstance) -> Finding {
    let status = db.db_instance_status().unwrap_or("unknown");
    let evidence = json!({ "identifier": spec.identifier, "DBInstanceStatus": status, "operations": [DESCRIBE] });
    if status == "available" {
        Finding::pass(
            format!("rds instance '{}': status available", spec.identifier),
            evidence,
        )
    } else {
        Finding::fail(
            format!(
                "rds instance '{}': status expected available, observed {status}",
                spec.identifier
            ),
            evidence,
        )
    }
}

/// `rds.multi_az`: `MultiAZ = true` and a standby AZ distinct from the primary's.
fn multi_az(spec: &RdsSpec, db: &DbInstance) -> Finding {
    let id = &spec.identifier;
    let multi = db.multi_az().unwrap_or(false);
    let primary = db.availability_zone();
    let secondary = db.secondary_availability_zone();
    let evidence = json!({
        "identifier": id,
        "MultiAZ": multi,
        "AvailabilityZone": primary,
        "SecondaryAvailabilityZone": secondary,
        "operations": [DESCRIBE],
    });
    if !spec.multi_az {
        return Finding::skip(format!("rds instance '{id}': multi_az = false declared"));
    }
    if !multi {
        return Finding::fail(
            format!("rds instance '{id}': MultiAZ expected true, observed false"),
            evidence,
        );
    }
    match (primary, secondary) {
        (Some(p), Some(s)) if p != s => Finding::pass(
            format!("rds instance '{id}': Multi-AZ, primary {p}, standby {s}"),
            evidence,
        ),
        (p, s) => Finding::fail(
            format!(
                "rds instance '{id}': standby AZ expected distinct from primary, observed primary {} and standby {}",
                p.unwrap_or("none"),
                s.unwrap_or("none")
            ),
            evidence,
        ),
    }
}

/// `rds.encrypted`: storage encrypted; the KMS key is reported.
fn encrypted(spec: &RdsSpec, db: &DbInstance) -> Finding {
    let id = &spec.identifier;
    let encrypted = db.storage_encrypted().unwrap_or(false);
    let evidence = json!({ "identifier": id, "StorageEncrypted": encrypted, "KmsKeyId": db.kms_key_id(), "operations": [DESCRIBE] });
    if encrypted {
        Finding::pass(
            format!(
                "rds instance '{id}': storage encrypted with {}",
                db.kms_key_id().unwrap_or("an unnamed key")
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!("rds instance '{id}': StorageEncrypted expected true, observed false"),
            evidence,
        )
    }
}

/// `rds.not_public`: not publicly accessible, and no security group on the
/// instance admits 0.0.0.0/0 or ::/0 on the DB port.
async fn not_public(gate: &Gate, spec: &RdsSpec, db: Arc<DbInstance>) -> CheckResult {
    let id = &spec.identifier;
    let port = db
        .endpoint()
        .and_then(|e| e.port())
        .or(db.db_instance_port())
        .unwrap_or(5432);
    let group_ids: Vec<String> = db
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
        .collect();
    let public = db.publicly_accessible().unwrap_or(false);
    let groups = security_groups(gate, &group_ids).await?;
    let open: Vec<String> = groups
        .iter()
        .flat_map(|g| {
            g.ip_permissions()
                .iter()
                .filter(|p| covers_port(p, port))
                .flat_map(world_sources)
                .map(|cidr| format!("{} admits {cidr} on {port}", g.group_id().unwrap_or("?")))
                .collect::<Vec<_>>()
        })
        .collect();
    let evidence = json!({
        "identifier": id,
        "PubliclyAccessible": public,
        "port": port,
        "security_groups": group_ids,
        "open_to_world": open,
        "operations": [DESCRIBE, DESCRIBE_SGS],
    });
    let mut problems = Vec::new();
    if public {
        problems.push("PubliclyAccessible expected false, observed true".to_string());
    }
    if !open.is_empty() {
        problems.push(format!(
            "security groups expected closed to the internet, observed {}",
            open.join(", ")
        ));
    }
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "rds instance '{id}': not public; {} security group(s) closed to 0.0.0.0/0 and ::/0 on {port}",
                group_ids.len()
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!("rds instance '{id}': {}", problems.join("; ")),
            evidence,
        )
    })
}

/// `rds.deletion_protection`.
fn deletion_protection(spec: &RdsSpec, db: &DbInstance) -> Finding {
    let id = &spec.identifier;
    let on = db.deletion_protection().unwrap_or(false);
    let evidence = json!({ "identifier": id, "DeletionProtection": on, "operations": [DESCRIBE] });
    if on {
        Finding::pass(
            format!("rds instance '{id}': deletion protection on"),
            evidence,
        )
    } else {
        Finding::fail(
            format!("rds instance '{id}': DeletionProtection expected true, observed false"),
            evidence,
        )
    }
}

/// `rds.backups`: retention ≥ declared days; latest restorable time no older than the declared lag.
fn backups(spec: &RdsSpec, db: &DbInstance) -> Finding {
    backups_at(spec, db, SystemTime::now())
}

fn backups_at(spec: &RdsSpec, db: &DbInstance, now: SystemTime) -> Finding {
    let id = &spec.identifier;
    let retention = db.backup_retention_period().unwrap_or(0);
    let restorable = db
        .latest_restorable_time()
        .and_then(|t| SystemTime::try_from(*t).ok());
    let lag = restorable.map(|t| now.duration_since(t).unwrap_or(Duration::ZERO));
    let evidence = json!({
        "identifier": id,
        "BackupRetentionPeriod": retention,
        "declared_retention_days": spec.backup_retention_days,
        "LatestRestorableTime": restorable.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        "restorable_lag_s": lag.map(|l| l.as_secs()),
        "declared_max_lag_s": spec.max_restorable_lag.as_secs(),
        "operations": [DESCRIBE],
    });
    let mut problems = Vec::new();
    if retention < spec.backup_retention_days as i32 {
        problems.push(format!(
            "BackupRetentionPeriod expected ≥ {} days, observed {retention}",
            spec.backup_retention_days
        ));
    }
    match lag {
        None => problems
            .push("LatestRestorableTime expected, observed none (automated backups off?)".into()),
        Some(lag) if lag > spec.max_restorable_lag => problems.push(format!(
            "latest restorable time expected within {}, observed {} ago",
            humantime::format_duration(spec.max_restorable_lag),
            humantime::format_duration(Duration::from_secs(lag.as_secs()))
        )),
        Some(_) => {}
    }
    if problems.is_empty() {
        Finding::pass(
            format!(
                "rds instance '{id}': {retention}-day retention, restorable to {}s ago",
                lag.map(|l| l.as_secs()).unwrap_or(0)
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!("rds instance '{id}': {}", problems.join("; ")),
            evidence,
        )
    }
}

// --- how: shared reads -------------------------------------------------------

/// The instance, described once per run.
pub async fn instance(gate: &Gate, identifier: &str) -> Result<Arc<DbInstance>, CheckError> {
    gate.cache()
        .get(&format!("{DESCRIBE}:{identifier}"), || async {
            let resource = format!("rds instance '{identifier}'");
            let out = gate
                .aws()
                .rds
                .describe_db_instances()
                .db_instance_identifier(identifier)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE, &resource, e))?;
            out.db_instances
                .unwrap_or_default()
                .into_iter()
                .find(|db| db.db_instance_identifier() == Some(identifier))
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE.into(),
                    resource,
                })
        })
        .await
}

async fn security_groups(
    gate: &Gate,
    ids: &[String],
) -> Result<Arc<Vec<SecurityGroup>>, CheckError> {
    if ids.is_empty() {
        return Ok(Arc::new(Vec::new()));
    }
    let mut sorted = ids.to_vec();
    sorted.sort();
    gate.cache()
        .get(&format!("{DESCRIBE_SGS}:{}", sorted.join(",")), || async {
            let out = gate
                .aws()
                .ec2
                .describe_security_groups()
                .set_group_ids(Some(sorted.clone()))
                .send()
                .await
                .map_err(|e| {
                    CheckError::from_sdk(
                        DESCRIBE_SGS,
                        &format!("security groups {}", sorted.join(", ")),
                        e,
                    )
                })?;
            Ok(out.security_groups.unwrap_or_default())
        })
        .await
}

fn covers_port(p: &IpPermission, port: i32) -> bool {
    match p.ip_protocol() {
        Some("-1") | Some("all") => true,
        Some("tcp") | Some("6") => {
            let from = p.from_port().unwrap_or(0);
            let to = p.to_port().unwrap_or(65535);
            from <= port && port <= to
        }
        _ => false,
    }
}

fn world_sources(p: &IpPermission) -> Vec<String> {
    let v4 = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .filter(|c| *c == "0.0.0.0/0");
    let v6 = p
        .ipv6_ranges()
        .iter()
        .filter_map(|r| r.cidr_ipv6())
        .filter(|c| *c == "::/0");
    v4.chain(v6).map(str::to_string).collect()
}

async fn each(gate: &Gate, judge: fn(&RdsSpec, &DbInstance) -> Finding) -> CheckResult {
    let mut items = Vec::new();
    for spec in &gate.env().rds {
        let result = instance(gate, &spec.identifier)
            .await
            .map(|db| judge(spec, &db));
        items.push((spec.identifier.clone(), result));
    }
    combine(items, NONE_DECLARED)
}

async fn each_async<'a, F, Fut>(gate: &'a Gate, judge: F) -> CheckResult
where
    F: Fn(&'a Gate, &'a RdsSpec, Arc<DbInstance>) -> Fut,
    Fut: std::future::Future<Output = CheckResult>,
{
    let mut items = Vec::new();
    for spec in &gate.env().rds {
        let result = match instance(gate, &spec.identifier).await {
            Ok(db) => judge(gate, spec, db).await,
            Err(e) => Err(e),
        };
        items.push((spec.identifier.clone(), result));
    }
    combine(items, NONE_DECLARED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    fn spec() -> RdsSpec {
        RdsSpec {
            label: "core".into(),
            identifier: "db".into(),
            multi_az: true,
            backup_retention_days: 7,
            max_restorable_lag: Duration::from_secs(900),
            failover_budget: Duration::from_secs(120),
        }
    }

    #[test]
    fn stale_restorable_time_fails_with_the_lag() {
        let now = SystemTime::now();
        let old = now - Duration::from_secs(3600);
        let db = DbInstance::builder()
            .backup_retention_period(7)
            .latest_restorable_time(DateTime::from(old))
            .build();
        let f = backups_at(&spec(), &db, now);
        assert_eq!(f.status, crate::Status::Fail, "{}", f.message);
        assert!(
            f.message.contains("expected within 15m, observed 1h ago"),
            "{}",
            f.message
        );
    }

    #[test]
    fn missing_restorable_time_fails() {
        let db = DbInstance::builder().backup_retention_period(7).build();
        let f = backups_at(&spec(), &db, SystemTime::now());
        assert_eq!(f.status, crate::Status::Fail);
        assert!(f.message.contains("observed none"), "{}", f.message);
    }
}
