//! `terraform.*`: what Terraform recorded and planned, against what is.
//!
//! - `terraform.idempotent`: the plan saved right after apply
//!   (`--terraform-plan`, `terraform show -json PLANFILE`) changes nothing:
//!   every resource change is `no-op` or `read`, nothing is imported or moved,
//!   and nothing drifted (`resource_drift`). An action this tool does not
//!   know is a change. Output-only changes are evidence, not a failure.
//! - `terraform.declared`: for the resource types the catalogue reads (see
//!   `live::COMPARED`), each attribute the state recorded (`--terraform-state`,
//!   `terraform show -json`) equals the live value, read through the run's
//!   shared reads (a resource another check described is not described
//!   again). Other types are counted as not compared, never as passed. A
//!   state holding resources of another account or region is an error: it
//!   is not this environment's state.
//!
//! Each skips when its file is not given; a file that cannot be read is
//! `error` (`cargo xtask verify` refuses it before the run, exit 2).

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::StreamExt;
use serde_json::{Value, json};
use terraform_json::plan::Plan;
use terraform_json::state::State;

use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding};
use crate::context::Context;

mod live;

// --- what: the checks, declared ----------------------------------------------

const IDEMPOTENT: CheckDef = CheckDef {
    id: "terraform.idempotent",
    title: "a plan saved after apply changes nothing",
    doc: "the given `terraform show -json` plan has no resource change other than `no-op`/`read`, and no `resource_drift`; an unknown action is a change",
    iam: &[],
};

const DECLARED: CheckDef = CheckDef {
    id: "terraform.declared",
    title: "the live resources match the Terraform state",
    doc: "the attributes Terraform recorded in its state (`terraform show -json`) for the resource types the catalogue reads equal the live values; other types are counted as not compared",
    iam: &[],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&IDEMPOTENT, |cx| Box::pin(idempotent(cx))),
        Check::new(&DECLARED, |cx| Box::pin(declared(cx))),
    ]
}

// --- terraform.idempotent ------------------------------------------------------

async fn idempotent(cx: &Context) -> CheckResult {
    let Some(file) = cx.env().terraform.plan.clone() else {
        return Ok(Finding::skip(
            "no plan given (--terraform-plan: `terraform show -json PLANFILE` of a plan saved after apply)",
        ));
    };
    tokio::task::spawn_blocking(move || {
        let bytes = terraform_json::read(&file).map_err(|e| unreadable(&file, e))?;
        let plan = Plan::parse(&bytes, &file).map_err(|e| unreadable(&file, e))?;
        judge_plan(&plan, &file)
    })
    .await
    .map_err(|e| CheckError::Probe {
        probe: "terraform plan".into(),
        target: "plan file".into(),
        message: format!("reading the plan panicked: {e}"),
    })?
}

/// `terraform.idempotent` on a parsed plan.
///
/// ```
/// let bytes = br#"{"format_version":"1.2","terraform_version":"1.11.4","resource_changes":[
///   {"address":"aws_db_instance.core","change":{"actions":["update"]}}]}"#;
/// let file = std::path::Path::new("plan.json");
/// let plan = terraform_json::plan::Plan::parse(bytes, file).unwrap();
/// let finding = verify::checks::judge_plan(&plan, file).unwrap();
/// assert_eq!(finding.status, verify::Status::Fail);
/// assert!(finding.message.contains("aws_db_instance.core: update"));
/// ```
pub fn judge_plan(plan: &Plan, file: &Path) -> CheckResult {
    let resource = format!("terraform plan {}", file.display());
    let changes = plan.changes();
    let drift = plan.drift();
    let outputs = plan.output_changes();
    let evidence = Evidence::of(resource.clone())
        .expected(json!({ "actions": [["no-op"], ["read"]], "resource_drift": [] }))
        .observed(json!({ "changes": changes, "resource_drift": drift }))
        .detail("actions", json!(plan.action_counts()))
        .detail("resources", plan.resource_changes.len())
        .detail("terraform_version", plan.terraform_version.as_deref())
        .detail("format_version", plan.format_version.as_ref())
        .detail("timestamp", plan.timestamp.as_deref())
        .detail("output_changes", json!(outputs));
    if plan.errored {
        return Err(CheckError::Probe {
            probe: "terraform plan".into(),
            target: resource,
            message:
                "the plan is marked `errored`: Terraform stopped on an error, so it is partial"
                    .into(),
        });
    }
    if plan.complete == Some(false) {
        return Err(CheckError::Probe {
            probe: "terraform plan".into(),
            target: resource,
            message:
                "the plan is marked incomplete (`complete: false`): some changes were deferred"
                    .into(),
        });
    }
    if plan.resource_changes.is_empty() && drift.is_empty() {
        return Err(CheckError::Probe {
            probe: "terraform plan".into(),
            target: resource,
            message:
                "the plan covers no resource: is it the plan of this environment's configuration?"
                    .into(),
        });
    }
    if changes.is_empty() && drift.is_empty() {
        let outputs_note = if outputs.is_empty() {
            String::new()
        } else {
            format!(
                "; outputs would change (not a failure): {}",
                outputs.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        return Ok(Finding::pass(
            format!(
                "{resource}: all {} resources no-op or read, no drift{outputs_note}",
                plan.resource_changes.len()
            ),
            evidence,
        ));
    }
    let mut parts = Vec::new();
    if !changes.is_empty() {
        let listed: Vec<String> = changes
            .iter()
            .map(|c| {
                let notes = if c.notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.notes.join(", "))
                };
                format!("{}: {}{notes}", c.address, c.meaning)
            })
            .collect();
        parts.push(format!(
            "{} of {} resources would change: {}",
            changes.len(),
            plan.resource_changes.len(),
            listed.join("; ")
        ));
    }
    if !drift.is_empty() {
        let listed: Vec<String> = drift
            .iter()
            .map(|d| {
                if d.deleted {
                    format!("{}: deleted outside Terraform", d.address)
                } else {
                    format!(
                        "{}: changed outside Terraform ({})",
                        d.address,
                        if d.attributes.is_empty() {
                            "attributes not shown".to_string()
                        } else {
                            d.attributes.join(", ")
                        }
                    )
                }
            })
            .collect();
        parts.push(format!("{} drifted: {}", drift.len(), listed.join("; ")));
    }
    Ok(Finding::fail(
        format!("{resource}: not idempotent: {}", parts.join("; ")),
        evidence,
    ))
}

fn unreadable(file: &Path, e: terraform_json::Error) -> CheckError {
    CheckError::Probe {
        probe: "terraform show -json".into(),
        target: file.display().to_string(),
        message: e.to_string(),
    }
}

// --- terraform.declared ----------------------------------------------------------

/// A resource of a compared type, as the state recorded it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub address: String,
    pub kind: String,
    pub values: Value,
}

/// What the state holds, for the comparison.
#[derive(Debug, Default)]
pub struct StateSummary {
    /// The Terraform that wrote the state, if it said.
    pub terraform_version: Option<String>,
    /// The resources of compared types, their recorded values parsed.
    pub recorded: Vec<Recorded>,
    /// Managed resources of types not compared, by type.
    pub not_compared: BTreeMap<String, usize>,
    /// Data sources in the state (read, never compared).
    pub data_sources: usize,
}

/// One attribute whose recorded and live values differ.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    pub address: String,
    pub attribute: String,
    pub state: Value,
    pub live: Value,
}

/// How many state reads run at once (each is a cached describe).
const CONCURRENCY: usize = 8;

async fn declared(cx: &Context) -> CheckResult {
    let Some(file) = cx.env().terraform.state.clone() else {
        return Ok(Finding::skip(
            "no state given (--terraform-state: `terraform show -json` of the state after apply)",
        ));
    };
    let resource = format!("terraform state {}", file.display());
    let summary = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || read_state(&file))
            .await
            .map_err(|e| CheckError::Probe {
                probe: "terraform state".into(),
                target: "state file".into(),
                message: format!("reading the state panicked: {e}"),
            })??
    };
    if summary.recorded.is_empty() {
        return Err(CheckError::Probe {
            probe: "terraform state".into(),
            target: resource,
            message: format!(
                "the state holds no resource of a compared type ({}); {} of other types: nothing to compare",
                live::compared_types().join(", "),
                summary.not_compared.values().sum::<usize>()
            ),
        });
    }
    foreign_resources(cx, &summary.recorded, &resource)?;

    let results: Vec<(Recorded, Result<Vec<Mismatch>, CheckError>)> =
        futures_util::stream::iter(summary.recorded.iter().cloned())
            .map(|recorded| async move {
                let result = live::compare(cx, &recorded).await;
                (recorded, result)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;

    let mut mismatches = Vec::new();
    let mut errors = Vec::new();
    let mut compared: BTreeMap<String, usize> = BTreeMap::new();
    let mut attributes = 0usize;
    for (recorded, result) in &results {
        match result {
            Ok(found) => {
                *compared.entry(recorded.kind.clone()).or_default() += 1;
                attributes += live::attributes_of(&recorded.kind).len();
                mismatches.extend(found.iter().cloned());
            }
            Err(e) => errors.push(format!("{}: {e}", recorded.address)),
        }
    }
    let evidence = Evidence::of(resource.clone())
        .expected(json!({ "live": "equal to the state, for every compared attribute" }))
        .observed(json!({ "mismatches": mismatches, "errors": errors }))
        .detail("compared", json!(compared))
        .detail("attributes_compared", attributes)
        .detail("not_compared", json!(summary.not_compared))
        .detail("data_sources", summary.data_sources)
        .detail("terraform_version", summary.terraform_version.clone());
    let not_compared: usize = summary.not_compared.values().sum();
    if !mismatches.is_empty() {
        let listed: Vec<String> = mismatches
            .iter()
            .map(|m| {
                format!(
                    "{} {}: state {}, live {}",
                    m.address,
                    m.attribute,
                    show(&m.state),
                    show(&m.live)
                )
            })
            .collect();
        let errors_note = if errors.is_empty() {
            String::new()
        } else {
            format!("; could not read: {}", errors.join("; "))
        };
        return Ok(Finding::fail(
            format!(
                "{resource}: {} attribute(s) differ from the live values: {}{errors_note}",
                mismatches.len(),
                listed.join("; ")
            ),
            evidence,
        ));
    }
    if !errors.is_empty() {
        return Err(CheckError::Probe {
            probe: "terraform.declared".into(),
            target: resource,
            message: format!("could not read the live value of: {}", errors.join("; ")),
        });
    }
    Ok(Finding::pass(
        format!(
            "{resource}: {} resources ({attributes} attributes) equal the live values; {not_compared} resources of other types not compared",
            results.len()
        ),
        evidence,
    ))
}

/// Reads the state and keeps the resources of compared types, parsed (the
/// others are counted by type, their values never parsed).
pub fn read_state(file: &Path) -> Result<StateSummary, CheckError> {
    let bytes = terraform_json::read(file).map_err(|e| unreadable(file, e))?;
    let state = State::parse(&bytes, file).map_err(|e| unreadable(file, e))?;
    let mut summary = StateSummary {
        terraform_version: state.terraform_version.as_deref().map(String::from),
        ..StateSummary::default()
    };
    for r in state.resources() {
        if !r.is_managed() {
            summary.data_sources += 1;
        } else if live::is_compared(&r.kind) {
            summary.recorded.push(Recorded {
                address: r.address.to_string(),
                kind: r.kind.to_string(),
                values: r.values(),
            });
        } else {
            *summary.not_compared.entry(r.kind.to_string()).or_default() += 1;
        }
    }
    Ok(summary)
}

/// Every ARN the compared resources recorded must be of this environment's
/// account (and, where the ARN has one, its region): a state from another
/// environment would otherwise be compared with whatever shares its names.
fn foreign_resources(
    cx: &Context,
    recorded: &[Recorded],
    resource: &str,
) -> Result<(), CheckError> {
    let env = cx.env();
    let mut foreign = Vec::new();
    for r in recorded {
        let Some(arn) = r.values.get("arn").and_then(Value::as_str) else {
            continue;
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() < 6 {
            continue;
        }
        let (region, account) = (parts[3], parts[4]);
        if account != env.account_id || (!region.is_empty() && region != env.region) {
            foreign.push(format!("{} ({arn})", r.address));
        }
    }
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(CheckError::Probe {
            probe: "terraform state".into(),
            target: resource.to_string(),
            message: format!(
                "not this environment's state: {} resource(s) are outside account {} / region {}: {}",
                foreign.len(),
                env.account_id,
                env.region,
                foreign.join(", ")
            ),
        })
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "not set".into(),
        other => other.to_string(),
    }
}
