//! `verify checks [--spec FILE] [--format json]`: without a spec, the
//! catalogue (ids that depend on the spec as templates: `metrics.<name>`);
//! with one, the concrete ids it plans. Each with its title, its area, its
//! gate group and, with a spec, the IAM actions it needs there.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use crate::CouldNotRun;
use crate::flags::{Checks, Format};

/// One line of the listing.
#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    title: &'static str,
    area: String,
    group: &'static str,
    /// `None` in the catalogue: the actions depend on what the spec declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    iam_actions: Option<Vec<String>>,
}

pub fn run(flags: &Checks) -> Result<ExitCode, CouldNotRun> {
    let listed = match &flags.spec {
        Some(file) => planned(file)?,
        None => catalogue()?,
    };
    match flags.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&listed).expect("serialises")
        ),
        Format::Text => {
            let width = listed.iter().map(|l| l.id.len()).max().unwrap_or(10);
            for l in &listed {
                let actions = match &l.iam_actions {
                    Some(a) if a.is_empty() => "  (no AWS call)".to_string(),
                    Some(a) => format!("  {}", a.join(", ")),
                    None => String::new(),
                };
                outln!("{:<width$}  {}", l.id, l.title);
                let line = format!("{:<width$}  {}{actions}", "", l.group);
                outln!("{}", line.trim_end());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn catalogue() -> Result<Vec<Listed>, CouldNotRun> {
    Ok(verify::checks::templates()
        .into_iter()
        .map(|c| listed(c, None))
        .collect())
}

fn planned(file: &Path) -> Result<Vec<Listed>, CouldNotRun> {
    let env = envspec::load(file).map_err(CouldNotRun::from)?;
    let permissions = verify::iam::permissions(&env, false);
    Ok(verify::checks::catalogue(&env)
        .into_iter()
        .map(|check| {
            let actions: BTreeSet<String> = permissions
                .iter()
                .filter(|p| p.needed_by == check.id)
                .map(|p| p.action.to_string())
                .collect();
            listed(check, Some(actions.into_iter().collect()))
        })
        .collect())
}

fn listed(check: verify::Check, iam_actions: Option<Vec<String>>) -> Listed {
    Listed {
        area: check.area().to_string(),
        group: report_model::gates::group_of(&check.id),
        title: check.title(),
        id: check.id,
        iam_actions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_lists_fixed_ids_and_templates_in_area_order() {
        let ids: Vec<String> = catalogue().unwrap().into_iter().map(|l| l.id).collect();
        assert!(ids.contains(&"rds.multi_az".to_string()), "{ids:?}");
        let at = |id: &str| ids.iter().position(|i| i == id).unwrap();
        assert!(at("rds.multi_az") < at("scheduled.<task>.configured"));
        assert!(at("scheduled.<task>.succeeded") < at("alarms.present"));
        assert!(ids.contains(&"canary.<name>".to_string()));
    }

    #[test]
    fn a_spec_lists_its_concrete_ids_with_their_actions() {
        let spec =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra-tests/environments/sandbox.hcl");
        let listed = planned(&spec).unwrap();
        let rds = listed.iter().find(|l| l.id == "rds.multi_az").unwrap();
        assert!(
            rds.iam_actions
                .as_ref()
                .unwrap()
                .contains(&"rds:DescribeDBInstances".to_string()),
            "{rds:?}"
        );
        assert!(
            listed
                .iter()
                .any(|l| l.id.starts_with("scheduled.") && !l.id.contains('<'))
        );
    }
}
