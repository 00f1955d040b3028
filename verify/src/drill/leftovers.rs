//! What a drill leaves when it cannot finish its cleanup (its process
//! killed, a database that did not answer within the grace after a signal):
//! its table in the database (`verify_drill_<start>`, `verify_drain_<start>`,
//! `verify_pitr_<start>`), beside the restore drill's scratch instance
//! ([`super::pitr_restore::cleanup_leftovers`]). `verify drill cleanup SPEC
//! --yes` finds both. A table is dropped only once no run can still be
//! using it: its start (in its name) plus its drill's timeout plus
//! [`TABLE_IN_USE_AFTER_TIMEOUT`] has passed.

use std::time::{Duration, SystemTime};

use envspec::{PgbouncerDrainDrill, PitrRestoreDrill, RdsFailoverDrill};

use super::probe::{ProbeTarget, describe_error};
use super::{database_url, pgbouncer_drain, pitr_restore, rds_failover};
use crate::gate::Gate;

/// How long after its drill's timeout a run may still use its table: the
/// probes' stop, the read-back and the drop's own retries (a minute each).
pub const TABLE_IN_USE_AFTER_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// What [`drop_expired_tables`] found, per drill.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tables {
    /// Dropped now: no run can still be using them.
    pub dropped: Vec<String>,
    /// Left alone, each with why (a run may still be using it).
    pub kept: Vec<(String, String)>,
    /// Drills whose database could not be searched, each with why (its URL
    /// not set, the database not answering).
    pub not_searched: Vec<(&'static str, String)>,
}

/// Where one drill's tables are and how long a run may use one.
struct Place {
    drill: &'static str,
    prefix: &'static str,
    target: Result<ProbeTarget, String>,
    in_use_for: Duration,
}

/// Finds each drill's tables in its database (through the URL its spec
/// names, as the drill itself connects) and drops those no run can still
/// be using; keeps and names the others. A name that is not the prefix and
/// a start time is not a drill's and is never touched.
pub async fn drop_expired_tables(gate: &Gate) -> Tables {
    let mut tables = Tables::default();
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    for place in places(gate) {
        let target = match place.target {
            Ok(target) => target,
            Err(why) => {
                tables.not_searched.push((place.drill, why));
                continue;
            }
        };
        let found = match list(&target, place.prefix).await {
            Ok(found) => found,
            Err(why) => {
                tables.not_searched.push((place.drill, why));
                continue;
            }
        };
        for (table, start_ms) in found {
            let until_ms = start_ms + place.in_use_for.as_millis();
            if until_ms > now_ms {
                let until = SystemTime::UNIX_EPOCH + Duration::from_millis(until_ms as u64);
                tables.kept.push((
                    table,
                    format!(
                        "a {} run may still use it until {}",
                        place.drill,
                        humantime::format_rfc3339_seconds(until)
                    ),
                ));
                continue;
            }
            match statement(&target, &format!("DROP TABLE IF EXISTS {table}")).await {
                Ok(_) => tables.dropped.push(table),
                Err(why) => tables
                    .kept
                    .push((table, format!("could not drop it: {why}"))),
            }
        }
    }
    tables
}

/// The three drills' databases, as each drill reaches its own.
fn places(gate: &Gate) -> Vec<Place> {
    let env = gate.env();
    let prefix = &gate.context().run().secret_prefix;
    let url = |filled: Option<&str>, variable: &str| {
        database_url(prefix, filled, variable, "drill's", "postgres://…").map_err(|e| e.to_string())
    };
    let rds = env
        .drills
        .rds_failover
        .clone()
        .unwrap_or_else(RdsFailoverDrill::defaults);
    let drain = env
        .drills
        .pgbouncer_drain
        .clone()
        .unwrap_or_else(PgbouncerDrainDrill::defaults);
    let pitr = env
        .drills
        .pitr_restore
        .clone()
        .unwrap_or_else(PitrRestoreDrill::defaults);
    let target = |url: Result<String, String>,
                  variable: &str,
                  ca_file: Option<&std::path::Path>,
                  connect: Duration,
                  statement: Duration| {
        url.and_then(|url| {
            ProbeTarget::from_url(
                &url,
                variable,
                ca_file,
                connect,
                statement,
                Duration::from_millis(50),
            )
            .map_err(|e| e.to_string())
        })
    };
    vec![
        Place {
            drill: rds_failover::ID,
            prefix: rds_failover::TABLE_PREFIX,
            target: target(
                url(rds.database_url.as_deref(), &rds.database_url_env),
                &rds.database_url_env,
                rds.ca_file.as_deref(),
                rds.connect_timeout,
                rds.statement_timeout,
            ),
            in_use_for: rds.timeout + TABLE_IN_USE_AFTER_TIMEOUT,
        },
        Place {
            drill: pgbouncer_drain::ID,
            prefix: pgbouncer_drain::TABLE_PREFIX,
            target: target(
                url(drain.database_url.as_deref(), &drain.database_url_env),
                &drain.database_url_env,
                drain.ca_file.as_deref(),
                drain.connect_timeout,
                drain.statement_timeout,
            ),
            in_use_for: drain.timeout + TABLE_IN_USE_AFTER_TIMEOUT,
        },
        Place {
            drill: pitr_restore::ID,
            prefix: pitr_restore::TABLE_PREFIX,
            target: target(
                url(pitr.database_url.as_deref(), &pitr.database_url_env),
                &pitr.database_url_env,
                pitr.ca_file.as_deref(),
                pitr.connect_timeout,
                pitr.statement_timeout,
            ),
            in_use_for: pitr_restore::timeout(&pitr) + TABLE_IN_USE_AFTER_TIMEOUT,
        },
    ]
}

/// The tables named `<prefix><start ms>` in the schemas the URL's user
/// sees first, with their start.
async fn list(target: &ProbeTarget, prefix: &str) -> Result<Vec<(String, u128)>, String> {
    // Simple query protocol only: a transaction pool (pgbouncer) keeps no
    // prepared statement. The prefix is ours, letters and underscores.
    let rows = statement(
        target,
        &format!(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = ANY (current_schemas(false)) AND left(tablename, {}) = '{prefix}'",
            prefix.len()
        ),
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(String::from),
            _ => None,
        })
        .filter_map(|table| {
            let start = table.strip_prefix(prefix)?;
            let start_ms = start
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| start.parse::<u128>().ok())??;
            Some((table, start_ms))
        })
        .collect())
}

/// One statement through a bounded connection, bounded itself.
async fn statement(
    target: &ProbeTarget,
    sql: &str,
) -> Result<Vec<tokio_postgres::SimpleQueryMessage>, String> {
    let client = target.connect().await?;
    let bound = target.statement_timeout + Duration::from_millis(500);
    tokio::time::timeout(bound, client.simple_query(sql))
        .await
        .map_err(|_| format!("no answer within {}", humantime::format_duration(bound)))?
        .map_err(|e| describe_error(&e))
}
