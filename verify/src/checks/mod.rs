//! The check catalogue (`docs/checks.md`): one module per area,
//! named as the id prefix. Ids are public interface.

pub mod alarms;
pub mod budgets;
pub mod canary;
pub mod cloudflare;
pub mod edge;
pub mod metrics;
pub mod network;
pub mod pgbouncer;
pub mod rds;
pub mod scheduled;
pub mod ses;
pub mod terraform;

pub use report_model::area::Area;

use crate::check::Check;
use crate::spec::Environment;

/// Every check for `env`, in catalogue order. Areas the spec does not
/// declare are still listed and end in `skip`.
pub fn catalogue(env: &Environment) -> Vec<Check> {
    in_order(
        scheduled::checks(&env.scheduled_tasks),
        metrics::checks(&env.metrics),
        canary::checks(&env.canaries),
    )
}

/// Every check of the catalogue without a spec, in catalogue order: the
/// ids a spec names (its tasks, metric gates and canaries) as templates.
/// Listing only: a template check judges nothing.
///
/// ```
/// let ids: Vec<String> = verify::checks::templates().into_iter().map(|c| c.id).collect();
/// let at = |id: &str| ids.iter().position(|i| i == id).unwrap();
/// assert!(at("rds.multi_az") < at("scheduled.<task>.succeeded"));
/// assert!(at("scheduled.<task>.succeeded") < at("alarms.present"));
/// assert_eq!(ids.last().map(String::as_str), Some("canary.<name>"));
/// ```
pub fn templates() -> Vec<Check> {
    let templates = |ids: &[(&str, &'static str)]| -> Vec<Check> {
        ids.iter()
            .map(|(id, title)| {
                Check::new(*id, title, |_| {
                    Box::pin(async { Ok(crate::check::Finding::skip("a template")) })
                })
            })
            .collect()
    };
    in_order(
        templates(&[
            ("scheduled.<task>.configured", scheduled::CONFIGURED),
            ("scheduled.<task>.succeeded", scheduled::SUCCEEDED),
        ]),
        templates(&[("metrics.<name>", metrics::TITLE)]),
        templates(&[("canary.<name>", canary::TITLE)]),
    )
}

/// Every area's checks, in [`Area::ALL`] order, with the checks that
/// depend on the spec given. The `match` names every area: a new one is a
/// compile error until its checks are here (and its group in [`Area::group`]).
fn in_order(scheduled: Vec<Check>, metrics: Vec<Check>, canaries: Vec<Check>) -> Vec<Check> {
    let (mut scheduled, mut metrics, mut canaries) =
        (Some(scheduled), Some(metrics), Some(canaries));
    let mut checks = Vec::new();
    for area in Area::ALL {
        checks.extend(match area {
            Area::Rds => rds::checks(),
            Area::Pgbouncer => pgbouncer::checks(),
            Area::Edge => edge::checks(),
            Area::Cloudflare => cloudflare::checks(),
            Area::Scheduled => scheduled.take().unwrap_or_default(),
            Area::Alarms => alarms::checks(),
            Area::Budgets => budgets::checks(),
            Area::Ses => ses::checks(),
            Area::Network => network::checks(),
            Area::Terraform => terraform::checks(),
            Area::Metrics => metrics.take().unwrap_or_default(),
            Area::Canary => canaries.take().unwrap_or_default(),
            // Drills are run by `verify drill`, not by the gate.
            Area::Drill => Vec::new(),
        });
    }
    debug_assert!(
        checks.iter().all(|c| Area::of(&c.id).is_some()),
        "a check outside every area"
    );
    checks
}

/// ECS tasks found by `list` (a prepared `ListTasks` request), described 100
/// at a time (the `DescribeTasks` limit). Shared by `pgbouncer` and `scheduled`.
///
/// `DescribeTasks` reports tasks it could not describe in `failures[]`. A
/// task that vanished between the list and the describe (`MISSING`) is
/// returned by ARN so the caller can take it into account; any other failure
/// is an error: never silently dropped.
pub(crate) async fn list_and_describe_tasks(
    cx: &crate::context::Context,
    cluster: &str,
    list: aws_sdk_ecs::operation::list_tasks::builders::ListTasksFluentBuilder,
    resource: &str,
) -> Result<DescribedTasks, crate::CheckError> {
    const DESCRIBE_TASKS: &str = "ecs:DescribeTasks";
    let arns: Vec<String> = list
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| crate::CheckError::from_sdk("ecs:ListTasks", resource, e))?;
    let mut described = DescribedTasks::default();
    for chunk in arns.chunks(100) {
        let out = cx
            .aws()
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| crate::CheckError::from_sdk(DESCRIBE_TASKS, resource, e))?;
        for failure in out.failures() {
            let arn = failure.arn().unwrap_or("?").to_string();
            match failure.reason() {
                Some("MISSING") => described.vanished.push(arn),
                reason => {
                    return Err(crate::CheckError::Aws {
                        operation: DESCRIBE_TASKS.into(),
                        resource: resource.into(),
                        code: reason.map(str::to_string),
                        message: format!(
                            "task {arn} could not be described: {} {}",
                            reason.unwrap_or("no reason"),
                            failure.detail().unwrap_or("")
                        ),
                    });
                }
            }
        }
        described.tasks.extend(out.tasks.unwrap_or_default());
    }
    Ok(described)
}

/// What [`list_and_describe_tasks`] found.
#[derive(Debug, Default)]
pub(crate) struct DescribedTasks {
    pub tasks: Vec<aws_sdk_ecs::types::Task>,
    /// Listed, then gone before `DescribeTasks` (reported as `MISSING`).
    pub vanished: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every check of the catalogue sits in the area its id's prefix names,
    /// areas in [`Area::ALL`] order.
    #[test]
    fn every_check_is_in_its_area_in_catalogue_order() {
        let checks = templates();
        let areas: Vec<Area> = checks
            .iter()
            .map(|c| Area::of(&c.id).unwrap_or_else(|| panic!("{} has no area", c.id)))
            .collect();
        assert!(areas.windows(2).all(|w| w[0] <= w[1]), "{areas:?}");
        assert!(checks.iter().all(|c| !c.title.is_empty()));
    }
}

#[cfg(test)]
mod docs_tests {
    /// `docs/checks.md` names every check of the catalogue (templates as
    /// templates): a new check without its line there fails here.
    #[test]
    fn the_catalogue_page_names_every_check() {
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/checks.md"),
        )
        .expect("docs/checks.md");
        let missing: Vec<String> = super::templates()
            .into_iter()
            .map(|c| c.id)
            .filter(|id| !page.contains(&format!("`{id}`")))
            .collect();
        assert!(missing.is_empty(), "docs/checks.md lacks {missing:?}");
    }
}
