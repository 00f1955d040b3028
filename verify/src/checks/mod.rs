//! The check catalogue (`docs/checks.md`): one module per area,
//! named as the id prefix. Ids are public interface.

pub(crate) mod alarms;
pub(crate) mod budgets;
pub(crate) mod canary;
pub(crate) mod cloudflare;
pub(crate) mod dns;
pub(crate) mod edge;
pub(crate) mod kms;
pub(crate) mod logs;
pub(crate) mod maintenance;
pub(crate) mod metrics;
pub(crate) mod network;
pub(crate) mod pgbouncer;
pub(crate) mod rds;
pub(crate) mod s3;
pub(crate) mod scheduled;
pub(crate) mod secrets;
pub(crate) mod ses;
pub(crate) mod terraform;

#[doc(hidden)] // the sandbox suite pages through it; not a user-facing read.
pub use metrics::{MetricData, read_all};
pub use report_model::area::Area;
pub use terraform::{StateSummary, foreign, judge_plan, read_state};

use crate::check::{Check, CheckDef};
use crate::spec::Environment;

/// Every check for `env`, in catalogue order. Areas the spec does not
/// declare are still listed and end in `skip`.
pub fn catalogue(env: &Environment) -> Vec<Check> {
    in_order(Source::Spec(env))
}

/// Every check of the catalogue without a spec, in catalogue order: the
/// checks a spec names (its tasks, metric gates, canaries, secrets, buckets
/// and snapshots) as their templates. Listing only: a template check judges
/// nothing.
///
/// ```
/// let ids: Vec<String> = verify::checks::templates().into_iter().map(|c| c.id).collect();
/// let at = |id: &str| ids.iter().position(|i| i == id).unwrap();
/// assert!(at("rds.multi_az") < at("scheduled.<task>.succeeded"));
/// assert!(at("scheduled.<task>.succeeded") < at("alarms.present"));
/// assert!(at("canary.<name>") < at("maintenance.rds"));
/// assert_eq!(ids.last().map(String::as_str), Some("maintenance.health"));
/// ```
pub fn templates() -> Vec<Check> {
    in_order(Source::Templates)
}

/// Every declaration of the catalogue, in catalogue order.
pub fn defs() -> Vec<&'static CheckDef> {
    templates().into_iter().map(|c| c.def).collect()
}

/// Where the checks a spec names come from: the spec, or (for listing) their templates.
#[derive(Clone, Copy)]
enum Source<'a> {
    Spec(&'a Environment),
    Templates,
}

impl Source<'_> {
    /// The checks `env` names (`checks(env)`), or their templates.
    fn named(
        self,
        templates: &[&'static CheckDef],
        checks: impl FnOnce(&Environment) -> Vec<Check>,
    ) -> Vec<Check> {
        match self {
            Source::Spec(env) => checks(env),
            Source::Templates => templates
                .iter()
                .map(|def| {
                    Check::new(def, |_| {
                        Box::pin(async { Ok(crate::check::Finding::skip("a template")) })
                    })
                })
                .collect(),
        }
    }
}

/// Every area's checks, in [`Area::ALL`] order. The `match` names every
/// area: a new one is a compile error until its checks are here (and its
/// group in [`Area::group`]).
fn in_order(source: Source<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    for area in Area::ALL {
        checks.extend(match area {
            Area::Rds => {
                let mut all = rds::checks();
                all.extend(source.named(rds::SNAPSHOT_TEMPLATES, rds::snapshot_checks));
                all
            }
            Area::Pgbouncer => pgbouncer::checks(),
            Area::Edge => edge::checks(),
            Area::Cloudflare => cloudflare::checks(),
            Area::Scheduled => source.named(scheduled::TEMPLATES, |e| {
                scheduled::checks(&e.scheduled_tasks)
            }),
            Area::Alarms => alarms::checks(),
            Area::Budgets => budgets::checks(),
            Area::Ses => ses::checks(),
            Area::Dns => dns::checks(),
            Area::Kms => kms::checks(),
            Area::Secrets => source.named(secrets::TEMPLATES, secrets::checks),
            Area::S3 => source.named(s3::TEMPLATES, s3::checks),
            Area::Logs => logs::checks(),
            Area::Network => network::checks(),
            Area::Terraform => terraform::checks(),
            Area::Metrics => source.named(metrics::TEMPLATES, |e| metrics::checks(&e.metrics)),
            Area::Canary => source.named(canary::TEMPLATES, |e| canary::checks(&e.canaries)),
            Area::Maintenance => maintenance::checks(),
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
        assert!(
            checks
                .iter()
                .all(|c| !c.title().is_empty() && !c.def.doc.is_empty())
        );
        // A template and its checks share the declaration.
        assert!(checks.iter().all(|c| c.id == c.def.id));
    }
}

/// The catalogue's tables for `docs/checks.md`: one per area, in catalogue
/// order, each check's id and what it asserts, from the declarations.
pub fn catalogue_tables() -> String {
    let mut out = String::new();
    let mut area = None;
    for def in defs() {
        let this = Area::of(def.id);
        if this != area {
            area = this;
            if let Some(a) = this {
                out.push_str(&format!(
                    "\n### {} (`{}.*`)\n| id | asserts |\n|---|---|\n",
                    a.title(),
                    a.prefix()
                ));
            }
        }
        out.push_str(&format!("| `{}` | {} |\n", def.id, def.doc));
    }
    out
}

#[cfg(test)]
mod docs_tests {
    const BEGIN: &str = "<!-- catalogue: generated";
    const END: &str = "<!-- end catalogue -->";

    /// `docs/checks.md`'s tables are the declarations': when they are not,
    /// this rewrites them and fails (commit the page).
    #[test]
    fn the_catalogue_page_is_generated_from_the_declarations() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/checks.md");
        let page = std::fs::read_to_string(&path).expect("docs/checks.md");
        let begin = page.find(BEGIN).expect("the catalogue's begin marker");
        let begin = begin + page[begin..].find('\n').expect("a line") + 1;
        let end = page.find(END).expect("the catalogue's end marker");
        let fresh = format!(
            "{}{}{}",
            &page[..begin],
            super::catalogue_tables(),
            &page[end..]
        );
        if fresh != page {
            std::fs::write(&path, &fresh).expect("rewrite docs/checks.md");
            panic!("docs/checks.md was stale: regenerated from the declarations; commit it");
        }
    }
}
