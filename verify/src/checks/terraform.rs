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
    tokio::task::spawn_blocking(move || judge_plan_file(&file))
        .await
        .map_err(|e| CheckError::Probe {
            probe: "terraform plan".into(),
            target: "plan file".into(),
            message: format!("reading the plan panicked: {e}"),
        })?
}

/// `terraform.idempotent` on the plan in `file`: a file that cannot be
/// read is an error, like any plan [`judge_plan_json`] refuses.
fn judge_plan_file(file: &Path) -> CheckResult {
    let bytes = terraform_json::read(file).map_err(|e| unreadable(file, e))?;
    judge_plan_json(&bytes, file)
}

/// `terraform.idempotent` on the bytes of `terraform show -json PLANFILE`:
/// what [`Plan::parse`] refuses (not JSON, a `format_version` other than
/// 0.x/1.x or none, a state instead of a plan, an entry without `change`)
/// is an error, never a pass; the rest is [`judge_plan`].
fn judge_plan_json(bytes: &[u8], file: &Path) -> CheckResult {
    let plan = Plan::parse(bytes, file).map_err(|e| unreadable(file, e))?;
    judge_plan(&plan, file)
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
    // Data sources (`read`) are not the configuration's resources: a plan
    // of reads alone covers no managed resource either.
    let only_reads = plan
        .resource_changes
        .iter()
        .all(|rc| rc.change.actions.len() == 1 && rc.change.actions[0] == "read");
    if only_reads && changes.is_empty() && drift.is_empty() {
        return Err(CheckError::Probe {
            probe: "terraform plan".into(),
            target: resource,
            message: format!(
                "the plan covers no resource{}: is it the plan of this environment's configuration?",
                if plan.resource_changes.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (only {} data source read(s))",
                        plan.resource_changes.len()
                    )
                }
            ),
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
                attributes += live::recorded_attributes(recorded).count();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    /// A `resource_changes[]` (or `resource_drift[]`) entry as Terraform
    /// 1.11 writes it; `extra` adds top-level keys (`action_reason`,
    /// `previous_address`), `change` keys after `actions`.
    fn rc(address: &str, actions: &str, extra: &str, change: &str) -> String {
        let (mode, rest) = match address.strip_prefix("data.") {
            Some(rest) => ("data", rest),
            None => ("managed", address),
        };
        let (kind, name) = rest.split_once('.').unwrap();
        let name = name.split('[').next().unwrap();
        format!(
            r#"{{"address":"{address}","mode":"{mode}","type":"{kind}","name":"{name}","provider_name":"registry.terraform.io/hashicorp/aws"{extra},
              "change":{{"actions":{actions},"before":{{"id":"x"}},"after":{{"id":"x"}},"after_unknown":{{}},"before_sensitive":{{}},"after_sensitive":{{}}{change}}}}}"#
        )
    }

    /// A plan document as `terraform show -json PLANFILE` writes it, with `body` at the top level.
    fn plan(body: &str) -> String {
        format!(
            r#"{{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{{"root_module":{{}}}},{body},
              "configuration":{{"root_module":{{}}}},"timestamp":"2026-12-01T10:00:00Z","applyable":false,"complete":true,"errored":false}}"#
        )
    }

    fn changes(entries: &[String]) -> String {
        plan(&format!(r#""resource_changes":[{}]"#, entries.join(",")))
    }

    #[test]
    fn the_plan_judge_table() {
        let noop = |a: &str| rc(a, r#"["no-op"]"#, "", "");
        let db = || noop("aws_db_instance.core");
        let data = || {
            rc(
                "data.aws_caller_identity.current",
                r#"["read"]"#,
                r#","action_reason":"read_because_config_unknown""#,
                "",
            )
        };
        let drift = plan(&format!(
            r#""resource_drift":[{}],"resource_changes":[{}]"#,
            r#"{"address":"aws_db_instance.core","mode":"managed","type":"aws_db_instance","name":"core","provider_name":"registry.terraform.io/hashicorp/aws",
               "change":{"actions":["update"],"before":{"multi_az":true,"engine":"postgres"},"after":{"multi_az":false,"engine":"postgres"}}}"#,
            db()
        ));
        // (case, the document, Ok((status, says)) or Err(says))
        type Row = (
            &'static str,
            String,
            Result<(Status, &'static str), &'static str>,
        );
        let rows: Vec<Row> = vec![
            ("no-op", changes(&[db(), noop("aws_nat_gateway.a[0]")]), Ok((Status::Pass, "terraform plan plan.json: all 2 resources no-op or read, no drift"))),
            ("a data source read does not count", changes(&[data(), db()]), Ok((Status::Pass, "all 2 resources no-op or read"))),
            ("outputs only", plan(&format!(r#""resource_changes":[{}],"output_changes":{{"endpoint":{{"actions":["update"],"before":"a","after":"b"}}}}"#, db())), Ok((Status::Pass, "outputs would change (not a failure): endpoint"))),
            ("create", changes(&[db(), rc("aws_sqs_queue.jobs", r#"["create"]"#, "", "")]), Ok((Status::Fail, "not idempotent: 1 of 2 resources would change: aws_sqs_queue.jobs: create"))),
            ("update", changes(&[rc("aws_db_instance.core", r#"["update"]"#, "", "")]), Ok((Status::Fail, "aws_db_instance.core: update"))),
            ("delete", changes(&[db(), rc("aws_nat_gateway.b", r#"["delete"]"#, r#","action_reason":"delete_because_no_resource_config""#, "")]), Ok((Status::Fail, "aws_nat_gateway.b: delete (delete_because_no_resource_config)"))),
            ("replace, delete first", changes(&[rc("aws_lb_listener.https", r#"["delete","create"]"#, r#","action_reason":"replace_because_cannot_update""#, "")]), Ok((Status::Fail, "aws_lb_listener.https: replace (delete, then create) (replace_because_cannot_update)"))),
            ("replace, create first", changes(&[rc("module.app.aws_ecs_service.api", r#"["create","delete"]"#, "", "")]), Ok((Status::Fail, "module.app.aws_ecs_service.api: replace (create, then delete)"))),
            ("every change named", changes(&[rc("aws_sqs_queue.a", r#"["create"]"#, "", ""), db(), rc("aws_sqs_queue.b", r#"["delete"]"#, "", "")]), Ok((Status::Fail, "2 of 3 resources would change: aws_sqs_queue.a: create; aws_sqs_queue.b: delete"))),
            ("forget", changes(&[rc("aws_nat_gateway.a", r#"["forget"]"#, "", "")]), Ok((Status::Fail, "aws_nat_gateway.a: forget"))),
            ("a move", changes(&[rc("aws_db_instance.primary", r#"["no-op"]"#, r#","previous_address":"aws_db_instance.core""#, "")]), Ok((Status::Fail, "aws_db_instance.primary: no-op (moved from aws_db_instance.core)"))),
            ("an import", changes(&[rc("aws_sqs_queue.jobs", r#"["no-op"]"#, "", r#","importing":{"id":"jobs"}"#)]), Ok((Status::Fail, "aws_sqs_queue.jobs: no-op (being imported)"))),
            ("an unknown action", changes(&[rc("aws_sqs_queue.jobs", r#"["frobnicate"]"#, "", "")]), Ok((Status::Fail, "aws_sqs_queue.jobs: unknown action [\"frobnicate\"]"))),
            ("no actions", changes(&[rc("aws_sqs_queue.jobs", "[]", "", "")]), Ok((Status::Fail, "aws_sqs_queue.jobs: unknown action []"))),
            ("drift", drift, Ok((Status::Fail, "1 drifted: aws_db_instance.core: changed outside Terraform (multi_az)"))),
            ("errored", plan(&format!(r#""resource_changes":[{}],"errored":true"#, db())).replace(r#","errored":false"#, ""), Err("the plan is marked `errored`")),
            ("incomplete", plan(&format!(r#""resource_changes":[{}],"complete":false"#, db())).replace(r#","complete":true"#, ""), Err("marked incomplete")),
            ("no resource_changes", plan(r#""output_changes":{}"#), Err("the plan covers no resource: is it")),
            ("empty resource_changes", changes(&[]), Err("the plan covers no resource")),
            ("only data source reads", changes(&[data()]), Err("the plan covers no resource (only 1 data source read(s))")),
            ("format 2.0", changes(&[db()]).replacen(r#""format_version":"1.2""#, r#""format_version":"2.0""#, 1), Err("format_version \"2.0\" is not supported")),
            ("no format_version", changes(&[db()]).replacen(r#""format_version":"1.2","#, "", 1), Err("no format_version")),
            ("a state, not a plan", r#"{"format_version":"1.0","terraform_version":"1.11.4","values":{"root_module":{"resources":[]}}}"#.into(), Err("this is a state")),
            ("an entry without change", plan(r#""resource_changes":[{"address":"aws_db_instance.core","mode":"managed"}]"#), Err("missing field `change`")),
            ("not JSON", "Error: Failed to read the given file as a state or plan file".into(), Err("not valid JSON")),
            ("cut short", changes(&[db()])[..120].to_string(), Err("not valid JSON")),
        ];
        let file = Path::new("plan.json");
        for (case, document, expected) in rows {
            let judged = judge_plan_json(document.as_bytes(), file);
            match (judged, expected) {
                (Ok(f), Ok((status, says))) => {
                    assert_eq!(f.status, status, "{case}: {}", f.message);
                    assert!(
                        f.message.contains(says),
                        "{case}: {:?} lacks {says:?}",
                        f.message
                    );
                    assert_eq!(f.evidence.resources, ["terraform plan plan.json"], "{case}");
                    assert!(f.evidence.observed["changes"].is_array(), "{case}");
                }
                (Err(e), Err(says)) => {
                    assert!(e.to_string().contains(says), "{case}: {e} lacks {says:?}");
                }
                (got, _) => panic!("{case}: expected {expected:?}, judged {got:?}"),
            }
        }
    }

    #[test]
    fn a_plan_that_cannot_be_read_is_an_error() {
        let missing =
            std::env::temp_dir().join(format!("verify-no-such-plan-{}.json", std::process::id()));
        let e = judge_plan_file(&missing).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
        assert!(matches!(e, CheckError::Probe { .. }), "{e:?}");
    }
}
