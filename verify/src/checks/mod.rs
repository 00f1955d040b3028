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

use crate::check::{Check, CheckError};
use crate::spec::Environment;

/// Every check for `env`, in report order. Areas the spec does not declare
/// are still listed and end in `skip`.
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
    checks.extend(network::checks());
    checks.extend(not_yet_implemented(env));
    checks
}

/// Areas the spec may declare whose checks this version does not implement
/// yet. Declared, they end in `error`: the gate never passes what it did not look at.
fn not_yet_implemented(env: &Environment) -> Vec<Check> {
    let mut ids: Vec<String> = Vec::new();
    if env.ses.is_some() {
        ids.extend(
            [
                "ses.production_access",
                "ses.identity",
                "ses.dns",
                "ses.suppression",
                "ses.feedback",
            ]
            .map(String::from),
        );
    }
    ids.into_iter()
        .map(|id| {
            Check::new(id, |_gate| {
                Box::pin(async {
                    Err(CheckError::Aws {
                        operation: "verify".into(),
                        resource: "this check".into(),
                        code: None,
                        message:
                            "declared in the spec but not implemented by this version of verify"
                                .into(),
                    })
                })
            })
        })
        .collect()
}
