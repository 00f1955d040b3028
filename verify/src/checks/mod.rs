//! The check catalogue (`../shared/spec/checks.md`): one module per area,
//! named as the id prefix. Ids are public interface.

pub mod alarms;
pub mod budgets;
pub mod cloudflare;
pub mod edge;
pub mod edge_public;
pub mod network;
pub mod pgbouncer;
pub mod rds;
pub mod scheduled;
pub mod ses;

use crate::check::Check;
use crate::spec::Environment;

/// Every check for `env`, in catalogue order. Areas the spec does not
/// declare are still listed and end in `skip`.
pub fn catalogue(env: &Environment) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(rds::checks());
    checks.extend(pgbouncer::checks());
    checks.extend(edge::checks());
    checks.extend(edge_public::checks());
    checks.extend(cloudflare::checks());
    checks.extend(scheduled::checks(&env.scheduled_tasks));
    checks.extend(alarms::checks());
    checks.extend(budgets::checks());
    checks.extend(ses::checks());
    checks.extend(network::checks());
    checks
}
