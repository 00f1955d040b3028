//! RDS: instances (read once per run for the checks, afresh for a drill
//! that follows changes), events, and the drills' writes (a reboot with
//! failover, a point-in-time restore into a scratch instance, its deletion).

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_rds::types::{DbInstance, Event, SourceType, Tag};

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_DB_INSTANCES: &str = "rds:DescribeDBInstances";
pub(crate) const DESCRIBE_EVENTS: &str = "rds:DescribeEvents";
pub(crate) const REBOOT_DB_INSTANCE: &str = "rds:RebootDBInstance";
pub(crate) const RESTORE_TO_POINT_IN_TIME: &str = "rds:RestoreDBInstanceToPointInTime";
pub(crate) const DELETE_DB_INSTANCE: &str = "rds:DeleteDBInstance";
pub(crate) const ADD_TAGS_TO_RESOURCE: &str = "rds:AddTagsToResource";

/// The instance `identifier`, described once per run.
pub(crate) async fn instance(
    aws: &AwsClients,
    identifier: &str,
) -> Result<Arc<DbInstance>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_DB_INSTANCES}:{identifier}"), || async {
            let resource = format!("rds instance '{identifier}'");
            describe_now(aws, identifier)
                .await?
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE_DB_INSTANCES.into(),
                    resource,
                })
        })
        .await
}

/// The instance `identifier` as RDS describes it now (never the cache: a
/// drill follows changes), or `None` when RDS says it does not exist.
pub(crate) async fn describe_now(
    aws: &AwsClients,
    identifier: &str,
) -> Result<Option<DbInstance>, CheckError> {
    let resource = format!("rds instance '{identifier}'");
    match aws
        .rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .db_instances
            .unwrap_or_default()
            .into_iter()
            .find(|db| db.db_instance_identifier() == Some(identifier))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(CheckError::from_sdk(DESCRIBE_DB_INSTANCES, &resource, e)),
    }
}

/// Every instance of the account and region, all pages.
pub(crate) async fn all_instances(aws: &AwsClients) -> Result<Vec<DbInstance>, CheckError> {
    let mut found = Vec::new();
    let mut pages = aws.rds.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| CheckError::from_sdk(DESCRIBE_DB_INSTANCES, "rds instances", e))?;
        found.extend(page.db_instances.unwrap_or_default());
    }
    Ok(found)
}

/// The events RDS recorded for instance `identifier` since `since`.
pub(crate) async fn events(
    aws: &AwsClients,
    identifier: &str,
    since: SystemTime,
) -> Result<Vec<Event>, CheckError> {
    let out = aws
        .rds
        .describe_events()
        .source_identifier(identifier)
        .source_type(SourceType::DbInstance)
        .start_time(aws_smithy_types::DateTime::from(since))
        .send()
        .await
        .map_err(|e| {
            CheckError::from_sdk(DESCRIBE_EVENTS, &format!("rds instance '{identifier}'"), e)
        })?;
    Ok(out.events.unwrap_or_default())
}

/// `RebootDBInstance` with `ForceFailover` (the failover drill's fault).
/// Refused unless the caller holds a guard admitting [`REBOOT_DB_INSTANCE`].
pub(crate) async fn reboot_with_failover(
    aws: &AwsClients,
    identifier: &str,
) -> Result<(), CheckError> {
    aws.rds
        .reboot_db_instance()
        .db_instance_identifier(identifier)
        .force_failover(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CheckError::from_sdk(REBOOT_DB_INSTANCE, identifier, e))
}

/// A point-in-time restore of `source` into a new, private, single-AZ
/// instance without deletion protection, in the source's subnet group and
/// security groups, tagged with `tags`. Refused unless the caller holds a
/// guard admitting [`RESTORE_TO_POINT_IN_TIME`].
pub(crate) async fn restore_to_point_in_time(
    aws: &AwsClients,
    source: &DbInstance,
    target: &str,
    restore_time: aws_smithy_types::DateTime,
    tags: &[(&str, &str)],
) -> Result<(), CheckError> {
    let mut restore = aws
        .rds
        .restore_db_instance_to_point_in_time()
        .set_source_db_instance_identifier(source.db_instance_identifier().map(String::from))
        .target_db_instance_identifier(target)
        .restore_time(restore_time)
        .multi_az(false)
        .publicly_accessible(false)
        .deletion_protection(false);
    for (key, value) in tags {
        restore = restore.tags(Tag::builder().key(*key).value(*value).build());
    }
    if let Some(group) = source
        .db_subnet_group()
        .and_then(|g| g.db_subnet_group_name())
    {
        restore = restore.db_subnet_group_name(group);
    }
    for sg in source.vpc_security_groups() {
        if let Some(id) = sg.vpc_security_group_id() {
            restore = restore.vpc_security_group_ids(id);
        }
    }
    restore
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CheckError::from_sdk(RESTORE_TO_POINT_IN_TIME, target, e))
}

/// Deletes instance `identifier` with no final snapshot and no automated
/// backups kept. `Ok(false)`: there was none. Refused unless the caller
/// holds a guard admitting [`DELETE_DB_INSTANCE`].
pub(crate) async fn delete_instance(
    aws: &AwsClients,
    identifier: &str,
) -> Result<bool, CheckError> {
    match aws
        .rds
        .delete_db_instance()
        .db_instance_identifier(identifier)
        .skip_final_snapshot(true)
        .delete_automated_backups(true)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            Ok(false)
        }
        Err(e) => Err(CheckError::from_sdk(DELETE_DB_INSTANCE, identifier, e)),
    }
}

/// Sets `tags` on the RDS resource `arn` (a scratch instance's deadline,
/// moved to now when its drill gives it up). Refused unless the caller
/// holds a guard admitting [`ADD_TAGS_TO_RESOURCE`].
pub(crate) async fn tag(
    aws: &AwsClients,
    arn: &str,
    tags: &[(&str, &str)],
) -> Result<(), CheckError> {
    let mut call = aws.rds.add_tags_to_resource().resource_name(arn);
    for (key, value) in tags {
        call = call.tags(Tag::builder().key(*key).value(*value).build());
    }
    call.send()
        .await
        .map(|_| ())
        .map_err(|e| CheckError::from_sdk(ADD_TAGS_TO_RESOURCE, arn, e))
}

pub(crate) const DESCRIBE_DB_SNAPSHOTS: &str = "rds:DescribeDBSnapshots";

/// Every manual snapshot of instance `identifier`, all pages, read once
/// per run (`rds.snapshots.<label>` checks on one instance share it). An
/// instance that does not exist has none.
pub(crate) async fn manual_snapshots(
    aws: &AwsClients,
    identifier: &str,
) -> Result<Arc<Vec<aws_sdk_rds::types::DbSnapshot>>, CheckError> {
    aws.cache()
        .get(
            &format!("{DESCRIBE_DB_SNAPSHOTS}:manual:{identifier}"),
            || async {
                let resource = format!("rds instance '{identifier}'");
                let mut found = Vec::new();
                let mut pages = aws
                    .rds
                    .describe_db_snapshots()
                    .db_instance_identifier(identifier)
                    .snapshot_type("manual")
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    match page {
                        Ok(page) => found.extend(page.db_snapshots.unwrap_or_default()),
                        // AWS answers an unknown instance with no snapshots;
                        // a fault saying so is the same observation.
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|s| s.is_db_snapshot_not_found_fault()) =>
                        {
                            break;
                        }
                        Err(e) => {
                            return Err(CheckError::from_sdk(DESCRIBE_DB_SNAPSHOTS, &resource, e));
                        }
                    }
                }
                Ok(found)
            },
        )
        .await
}

pub(crate) const DESCRIBE_PENDING_MAINTENANCE_ACTIONS: &str =
    "rds:DescribePendingMaintenanceActions";

/// The pending maintenance actions of the instances `identifiers` (by the
/// `db-instance-id` filter), all pages, read once per run: each resource's
/// ARN with its actions. An instance with none is not listed.
pub(crate) async fn pending_maintenance(
    aws: &AwsClients,
    identifiers: &[String],
) -> Result<Arc<Vec<aws_sdk_rds::types::ResourcePendingMaintenanceActions>>, CheckError> {
    aws.cache()
        .get(
            &format!(
                "{DESCRIBE_PENDING_MAINTENANCE_ACTIONS}:{}",
                identifiers.join(",")
            ),
            || async {
                let resource = format!("rds instances {}", identifiers.join(", "));
                let mut found = Vec::new();
                let mut pages = aws
                    .rds
                    .describe_pending_maintenance_actions()
                    .filters(
                        aws_sdk_rds::types::Filter::builder()
                            .name("db-instance-id")
                            .set_values(Some(identifiers.to_vec()))
                            .build(),
                    )
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        CheckError::from_sdk(DESCRIBE_PENDING_MAINTENANCE_ACTIONS, &resource, e)
                    })?;
                    found.extend(page.pending_maintenance_actions.unwrap_or_default());
                }
                Ok(found)
            },
        )
        .await
}
