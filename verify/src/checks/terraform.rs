//! `terraform.*`: what Terraform recorded and planned, against what is.
//!
//! - `terraform.idempotent`: the plan saved right after apply
//!   (`--terraform-plan`, `terraform show -json PLANFILE`) changes nothing:
//!   every resource change is `no-op` or `read`, nothing is imported or moved,
//!   nothing drifted (`resource_drift`) and no action would run
//!   (`action_invocations`). An action this tool does not know is a change.
//!   Output-only changes are evidence, not a failure. Only a plan that can
//!   be this environment's, now, is judged: see [`judge_plan`].
//! - `terraform.declared`: for the resource types the catalogue reads (see
//!   `live::COMPARED`), each attribute the state recorded (`--terraform-state`,
//!   `terraform show -json`) equals the live value, read through the run's
//!   shared reads (a resource another check described is not described
//!   again). Other types are counted as not compared, never as passed. A
//!   state holding resources of another account or region is an error: it
//!   is not this environment's state (the same rule as for a plan,
//!   [`foreign`]).
//!
//! Each skips when its file is not given; a file that cannot be read is
//! `error` (`cargo xtask verify` refuses it before the run, exit 2).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use serde_json::{Value, json};
use terraform_json::ResourceArn;
use terraform_json::plan::{Completeness, Plan};
use terraform_json::state::State;

use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding};
use crate::context::Context;
use crate::spec::Environment;

mod live;

// --- what: the checks, declared ----------------------------------------------

const IDEMPOTENT: CheckDef = CheckDef {
    id: "terraform.idempotent",
    title: "a plan saved after apply changes nothing",
    doc: "the given `terraform show -json` plan has no resource change other than `no-op`/`read`, no `resource_drift` and no action invocation; an unknown action is a change. Only a plan of this environment, now, is judged: another account, a region not declared (`terraform { extra_regions }`), one older than `terraform { max_plan_age }` (6h) or without `timestamp`, a targeted or incomplete plan are `error`",
    iam: &[],
};

const DECLARED: CheckDef = CheckDef {
    id: "terraform.declared",
    title: "the live resources match the Terraform state",
    doc: "the attributes Terraform recorded in its state (`terraform show -json`) for the resource types the catalogue reads equal the live values; other types are counted as not compared; a state naming another account or an undeclared region is `error`",
    iam: &[],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&IDEMPOTENT, |cx| Box::pin(idempotent(cx))),
        Check::new(&DECLARED, |cx| Box::pin(declared(cx))),
    ]
}

// --- whose, and when: the rule for plans and states ------------------------------

/// A plan dated this far after the run's clock is a clock's error, not a
/// plan from the future.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// How many foreign resources a message lists before "and N more".
const LISTED: usize = 5;

/// Why `arn` cannot be of `env`: another account (an account of `aws` or
/// none, as in AWS-managed and S3 ARNs, is no account), or a region that is
/// neither `region` nor in `terraform { extra_regions }` (none, as in IAM's
/// ARNs, is global). `None` when it can be, or is not an ARN.
///
/// ```
/// let env = verify::spec::parse(
///     "environment = \"p\"\nregion = \"eu-central-1\"\naccount_id = \"111122223333\"\n\
///      terraform {\n  extra_regions = [\"us-east-1\"]\n}\n",
///     "p.hcl".as_ref(),
/// )
/// .unwrap();
/// use verify::checks::foreign;
/// assert_eq!(foreign("arn:aws:rds:eu-central-1:111122223333:db:core", &env), None);
/// assert_eq!(foreign("arn:aws:acm:us-east-1:111122223333:certificate/x", &env), None);
/// assert_eq!(foreign("arn:aws:iam::111122223333:role/ci", &env), None);
/// assert_eq!(foreign("arn:aws:iam::aws:policy/ReadOnlyAccess", &env), None);
/// assert_eq!(
///     foreign("arn:aws:rds:eu-central-1:999999999999:db:core", &env).unwrap(),
///     "account 999999999999, not 111122223333"
/// );
/// assert!(foreign("arn:aws:sqs:eu-west-1:111122223333:q", &env).unwrap().contains("region eu-west-1"));
/// ```
pub fn foreign(arn: &str, env: &Environment) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, _partition, _service, region, account, _resource] = parts.as_slice() else {
        return None;
    };
    if *prefix != "arn" {
        return None;
    }
    if !account.is_empty() && *account != "aws" && *account != env.account_id {
        return Some(format!("account {account}, not {}", env.account_id));
    }
    if !region.is_empty() && !region_allowed(region, env) {
        return Some(format!("region {region}, {}", not_declared(env)));
    }
    None
}

/// `region` or one of `terraform { extra_regions }`.
fn region_allowed(region: &str, env: &Environment) -> bool {
    region == env.region || env.terraform.extra_regions.iter().any(|r| r == region)
}

/// "not eu-central-1 nor one of extra_regions […]", with the fix.
fn not_declared(env: &Environment) -> String {
    let extra = &env.terraform.extra_regions;
    format!(
        "not {}{} (add it to `terraform {{ extra_regions }}` if it belongs to this environment)",
        env.region,
        if extra.is_empty() {
            String::new()
        } else {
            format!(" nor one of extra_regions {extra:?}")
        }
    )
}

/// `Err` naming every resource (and AWS provider with a constant region)
/// that cannot be `env`'s: a plan or state of another environment would
/// otherwise be judged as this one's. `what` is `plan` or `state`.
fn of_this_environment(
    what: &str,
    resource: &str,
    arns: &[ResourceArn],
    providers: &[(String, String)],
    env: &Environment,
) -> Result<(), CheckError> {
    let mut foreign_ones: Vec<String> = arns
        .iter()
        .filter_map(|r| foreign(&r.arn, env).map(|why| format!("{} ({}: {why})", r.address, r.arn)))
        .collect();
    foreign_ones.extend(
        providers
            .iter()
            .filter(|(_, region)| !region_allowed(region, env))
            .map(|(key, region)| {
                format!(
                    "provider \"{key}\" (region = \"{region}\": {})",
                    not_declared(env)
                )
            }),
    );
    if foreign_ones.is_empty() {
        return Ok(());
    }
    let more = foreign_ones.len().saturating_sub(LISTED);
    let mut listed = foreign_ones[..foreign_ones.len().min(LISTED)].join("; ");
    if more > 0 {
        listed.push_str(&format!("; and {more} more"));
    }
    Err(CheckError::Probe {
        probe: format!("terraform {what}"),
        target: resource.to_string(),
        message: format!(
            "not this environment's {what} (account {}, region {}): {listed}",
            env.account_id, env.region,
        ),
    })
}

/// A duration as people say it, to the minute (to the hour past a day):
/// `5days 3h`, `6h`, `42m`; under a minute `42s`.
fn age(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    if minutes == 0 {
        return format!("{}s", d.as_secs());
    }
    let rounded = Duration::from_secs(if minutes >= 24 * 60 {
        minutes / 60 * 3600
    } else {
        minutes * 60
    });
    humantime::format_duration(rounded).to_string()
}

// --- terraform.idempotent ------------------------------------------------------

async fn idempotent(cx: &Context) -> CheckResult {
    let Some(file) = cx.env().terraform.plan.clone() else {
        return Ok(Finding::skip(
            "no plan given (--terraform-plan: `terraform show -json PLANFILE` of a plan saved after apply)",
        ));
    };
    let env = cx.env().clone();
    // The run's clock, as waivers and sign-offs read it.
    let now = SystemTime::now();
    tokio::task::spawn_blocking(move || judge_plan_file(&file, &env, now))
        .await
        .map_err(|e| CheckError::Probe {
            probe: "terraform plan".into(),
            target: "plan file".into(),
            message: format!("reading the plan panicked: {e}"),
        })?
}

/// `terraform.idempotent` on the plan in `file` (read by
/// [`terraform_json::read`]: decoded from UTF-16, the setup-terraform
/// wrapper refused): a file that cannot be read is an error, like any plan
/// [`judge_plan_json`] refuses.
fn judge_plan_file(file: &Path, env: &Environment, now: SystemTime) -> CheckResult {
    let bytes = terraform_json::read(file).map_err(|e| unreadable(file, e))?;
    judge_plan_json(&bytes, file, env, now)
}

/// `terraform.idempotent` on the bytes of `terraform show -json PLANFILE`
/// (as [`terraform_json::read`] returns them): what [`Plan::parse`]
/// refuses (not JSON, a `format_version` other than 0.x/1.x or none, a
/// state instead of a plan, an entry without `change`) is an error, never a
/// pass; the rest is [`judge_plan`].
fn judge_plan_json(bytes: &[u8], file: &Path, env: &Environment, now: SystemTime) -> CheckResult {
    let plan = Plan::parse(bytes, file).map_err(|e| unreadable(file, e))?;
    judge_plan(&plan, file, env, now)
}

/// `terraform.idempotent` on a parsed plan, for `env` at `now` (the run's
/// clock).
///
/// First, whether the plan can be this environment's, now; each of these is
/// `error` (the plan is not judged):
/// 1. `errored`: Terraform stopped on an error;
/// 2. a resource's own ARN (`arn` attribute, in `prior_state` or a change's
///    `before`/`after`) of another account, or of a region neither `region`
///    nor in `terraform { extra_regions }`; an AWS provider whose `region`
///    is such a constant ([`foreign`]);
/// 3. older than `terraform { max_plan_age }` (6h unless declared) by its
///    `timestamp`, or dated more than 5 minutes after `now`; no `timestamp`
///    at all unless the age check is `"off"`.
///
/// Then what it says: any change, drift or action invocation fails (a
/// proof that applying it is not a no-op, even in a partial plan). Without
/// any, the plan must be whole to pass: managed resources of `prior_state`
/// that `resource_changes` does not cover (`-target`, `-refresh-only`), an
/// incomplete plan (`complete: false`, deferred changes, or no `complete`
/// from a Terraform ≥ 1.8) and a plan of no resource are `error`.
///
/// ```
/// let bytes = br#"{"format_version":"1.2","terraform_version":"1.11.4","timestamp":"2026-12-07T10:00:00Z",
///   "complete":true,"resource_changes":[{"address":"aws_db_instance.core","change":{"actions":["update"]}}]}"#;
/// let file = std::path::Path::new("plan.json");
/// let plan = terraform_json::plan::Plan::parse(bytes, file).unwrap();
/// let env = verify::spec::parse(
///     "environment = \"p\"\nregion = \"eu-central-1\"\naccount_id = \"111122223333\"\n",
///     "p.hcl".as_ref(),
/// )
/// .unwrap();
/// let an_hour_later = plan.made_at().unwrap() + std::time::Duration::from_secs(3600);
/// let finding = verify::checks::judge_plan(&plan, file, &env, an_hour_later).unwrap();
/// assert_eq!(finding.status, verify::Status::Fail);
/// assert!(finding.message.contains("aws_db_instance.core: update"));
/// let a_day_later = an_hour_later + std::time::Duration::from_secs(23 * 3600);
/// let stale = verify::checks::judge_plan(&plan, file, &env, a_day_later).unwrap_err();
/// assert!(stale.to_string().contains("older than max_plan_age"));
/// ```
pub fn judge_plan(plan: &Plan, file: &Path, env: &Environment, now: SystemTime) -> CheckResult {
    let resource = format!("terraform plan {}", file.display());
    let error = |message: String| CheckError::Probe {
        probe: "terraform plan".into(),
        target: resource.clone(),
        message,
    };
    if plan.errored {
        return Err(error(
            "the plan is marked `errored`: Terraform stopped on an error, so it is partial".into(),
        ));
    }
    let arns = plan.resource_arns();
    of_this_environment("plan", &resource, &arns, &plan.provider_regions(), env)?;
    let made_at = plan.made_at();
    // How long before the run it was made (`Err`: how long after).
    let plan_age = made_at.map(|at| now.duration_since(at).map_err(|e| e.duration()));
    if let Some(max) = env.terraform.max_plan_age {
        let limit = format!(
            "max_plan_age {} (`terraform {{ max_plan_age }}` in {}; \"off\" judges a plan of any age)",
            humantime::format_duration(max),
            env.source.display()
        );
        match (plan.timestamp.as_deref(), plan_age) {
            (None, _) | (Some(_), None) => {
                return Err(error(format!(
                    "the plan has no `timestamp` (Terraform before 1.5, or its test harness, writes none): \
                     how old it is cannot be told, against {limit}; make the plan again with Terraform ≥ 1.5"
                )));
            }
            (Some(at), Some(Ok(elapsed))) if elapsed > max => {
                return Err(error(format!(
                    "the plan was made at {at}, {} before this run: older than {limit}; \
                     make it again right after apply (`terraform plan -out=tfplan`)",
                    age(elapsed)
                )));
            }
            (Some(at), Some(Err(ahead))) if ahead > CLOCK_SKEW => {
                return Err(error(format!(
                    "the plan is dated {at}, {} after this run's clock: a plan cannot be from the future \
                     (is a clock wrong?)",
                    age(ahead)
                )));
            }
            _ => {}
        }
    }
    let changes = plan.changes();
    let drift = plan.drift();
    let actions = plan.actions();
    let outputs = plan.output_changes();
    let uncovered = plan.uncovered();
    let accounts: std::collections::BTreeSet<&str> = arns
        .iter()
        .filter_map(|r| r.arn.split(':').nth(4))
        .filter(|a| !a.is_empty() && *a != "aws")
        .collect();
    let evidence = Evidence::of(resource.clone())
        .expected(json!({
            "actions": [["no-op"], ["read"]],
            "resource_drift": [],
            "action_invocations": [],
            "account": env.account_id,
            "regions": std::iter::once(&env.region).chain(&env.terraform.extra_regions).collect::<Vec<_>>(),
            "max_plan_age_s": env.terraform.max_plan_age.map(|d| d.as_secs()),
        }))
        .observed(json!({ "changes": changes, "resource_drift": drift, "action_invocations": actions }))
        .detail("actions", json!(plan.action_counts()))
        .detail("resources", plan.resource_changes.len())
        .detail("terraform_version", plan.terraform_version.as_deref())
        .detail("format_version", plan.format_version.as_ref())
        .detail("timestamp", plan.timestamp.as_deref())
        .detail(
            "plan_age_s",
            plan_age.and_then(|a| a.ok()).map(|a| a.as_secs()),
        )
        .detail("accounts", json!(accounts))
        .detail("output_changes", json!(outputs));

    if !changes.is_empty() || !drift.is_empty() || !actions.is_empty() {
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
        if !actions.is_empty() {
            let listed: Vec<String> = actions
                .iter()
                .map(|a| format!("{} ({})", a.address, a.trigger))
                .collect();
            parts.push(format!(
                "{} action(s) would run on apply: {}",
                actions.len(),
                listed.join("; ")
            ));
        }
        return Ok(Finding::fail(
            format!("{resource}: not idempotent: {}", parts.join("; ")),
            evidence,
        ));
    }

    if !uncovered.is_empty() {
        let more = uncovered.len().saturating_sub(LISTED);
        return Err(error(format!(
            "not a full plan: {} of the {} managed resources in `prior_state` have no entry in \
             `resource_changes` ({}{}): a plan made with `-target` or `-refresh-only` cannot show \
             that nothing would change; plan the whole configuration",
            uncovered.len(),
            plan.prior_managed(),
            uncovered[..uncovered.len().min(LISTED)].join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            },
        )));
    }
    match plan.completeness() {
        Completeness::Complete => {}
        Completeness::Incomplete => {
            return Err(error(
                "the plan is marked incomplete (`complete: false` or `deferred_changes`): some changes were deferred"
                    .into(),
            ));
        }
        Completeness::Unknown => {
            return Err(error(format!(
                "the plan has no `complete` (Terraform {} writes it from 1.8): whether changes were deferred \
                 cannot be told",
                plan.terraform_version
                    .as_deref()
                    .unwrap_or("of no stated version")
            )));
        }
    }
    // Data sources (`read`) are not the configuration's resources: a plan
    // of reads alone covers no managed resource either.
    let only_reads = plan
        .resource_changes
        .iter()
        .all(|rc| rc.change.actions.len() == 1 && rc.change.actions[0] == "read");
    if only_reads {
        return Err(error(format!(
            "the plan covers no resource{}: is it the plan of this environment's configuration?",
            if plan.resource_changes.is_empty() {
                String::new()
            } else {
                format!(
                    " (only {} data source read(s))",
                    plan.resource_changes.len()
                )
            }
        )));
    }
    let outputs_note = if outputs.is_empty() {
        String::new()
    } else {
        format!(
            "; outputs would change (not a failure): {}",
            outputs.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    let when = match (plan.timestamp.as_deref(), plan_age) {
        (Some(at), Some(Ok(elapsed))) => format!(", made {} ago ({at})", age(elapsed)),
        (Some(at), _) => format!(", made at {at}"),
        (None, _) => ", of no stated time (max_plan_age is off)".to_string(),
    };
    Ok(Finding::pass(
        format!(
            "{resource}: all {} resources no-op or read, no drift{when}{outputs_note}",
            plan.resource_changes.len()
        ),
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
    /// The own ARN of every managed resource, compared or not: what tells
    /// whose state it is.
    pub arns: Vec<ResourceArn>,
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
    of_this_environment("state", &resource, &summary.arns, &[], cx.env())?;

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
        arns: state.resource_arns(),
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

    /// The account and region of every test spec.
    const ACCOUNT: &str = "123456789012";

    /// The plans' `timestamp`, and the run's clock an hour later.
    const MADE: &str = "2026-12-01T10:00:00Z";
    fn made() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_119_200)
    }
    fn hour() -> Duration {
        Duration::from_secs(3600)
    }

    /// A spec of account 123456789012 in eu-central-1, with `extra` (a
    /// `terraform { … }` block) after the header.
    fn spec(extra: &str) -> Environment {
        crate::spec::parse(
            &format!(
                "environment = \"sandbox\"\nregion = \"eu-central-1\"\naccount_id = \"{ACCOUNT}\"\n{extra}"
            ),
            Path::new("spec.hcl"),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A `resource_changes[]` (or `resource_drift[]`) entry as Terraform
    /// 1.11 writes it; `extra` adds top-level keys (`action_reason`,
    /// `previous_address`), `change` keys after `actions`.
    fn rc(address: &str, actions: &str, extra: &str, change: &str) -> String {
        rc_with(address, actions, extra, change, r#"{"id":"x"}"#)
    }

    /// [`rc`] whose `before` and `after` are `values`.
    fn rc_with(address: &str, actions: &str, extra: &str, change: &str, values: &str) -> String {
        let (mode, rest) = match address.strip_prefix("data.") {
            Some(rest) => ("data", rest),
            None => ("managed", address),
        };
        let (kind, name) = rest.split_once('.').unwrap();
        let name = name.split('[').next().unwrap();
        format!(
            r#"{{"address":"{address}","mode":"{mode}","type":"{kind}","name":"{name}","provider_name":"registry.terraform.io/hashicorp/aws"{extra},
              "change":{{"actions":{actions},"before":{values},"after":{values},"after_unknown":{{}},"before_sensitive":{{}},"after_sensitive":{{}}{change}}}}}"#
        )
    }

    /// A plan document as `terraform show -json PLANFILE` writes it, with `body` at the top level.
    fn plan(body: &str) -> String {
        format!(
            r#"{{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{{"root_module":{{}}}},{body},
              "configuration":{{"root_module":{{}}}},"timestamp":"{MADE}","applyable":false,"complete":true,"errored":false}}"#
        )
    }

    fn changes(entries: &[String]) -> String {
        plan(&format!(r#""resource_changes":[{}]"#, entries.join(",")))
    }

    /// A `prior_state` of these managed resources, each `(address, values)`.
    fn prior(resources: &[(&str, &str)]) -> String {
        let listed: Vec<String> = resources
            .iter()
            .map(|(address, values)| {
                let (kind, name) = address.split_once('.').unwrap();
                format!(
                    r#"{{"address":"{address}","mode":"managed","type":"{kind}","name":"{}","values":{values}}}"#,
                    name.split('[').next().unwrap()
                )
            })
            .collect();
        format!(
            r#""prior_state":{{"format_version":"1.0","terraform_version":"1.11.4","values":{{"root_module":{{"resources":[{}]}}}}}}"#,
            listed.join(",")
        )
    }

    /// An AWS provider configuration `key` with a constant `region`.
    fn provider(key: &str, region: &str) -> String {
        format!(
            r#""configuration":{{"provider_config":{{"{key}":{{"name":"aws","full_name":"registry.terraform.io/hashicorp/aws","expressions":{{"region":{{"constant_value":"{region}"}}}}}}}}}}"#
        )
    }

    /// One row: the case, the file's bytes, the spec's `terraform` block,
    /// the run's clock, and `Ok((status, says))` or `Err(says)`.
    type Row = (
        &'static str,
        Vec<u8>,
        &'static str,
        SystemTime,
        Result<(Status, &'static str), &'static str>,
    );

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
        let arn_db = |account: &str, region: &str| {
            format!(
                r#"{{"arn":"arn:aws:rds:{region}:{account}:db:core","kms_key_id":"arn:aws:kms:eu-central-1:999999999999:key/shared"}}"#
            )
        };
        let with_prior = |resources: &[(&str, &str)], entries: &[String]| {
            plan(&format!(
                r#"{},"resource_changes":[{}]"#,
                prior(resources),
                entries.join(",")
            ))
        };
        let cert = r#"{"arn":"arn:aws:acm:us-east-1:123456789012:certificate/edge"}"#;
        let role = r#"{"arn":"arn:aws:iam::123456789012:role/ci","managed_policy_arns":["arn:aws:iam::aws:policy/ReadOnlyAccess"]}"#;
        let bucket = r#"{"arn":"arn:aws:s3:::restartix-logs"}"#;
        let no_time = |doc: String| doc.replace(&format!(r#","timestamp":"{MADE}""#), "");
        let no_complete = |doc: String| doc.replace(r#","complete":true"#, "");
        let version = |doc: String, v: &str| {
            doc.replacen(
                r#""terraform_version":"1.11.4""#,
                &format!(r#""terraform_version":"{v}""#),
                1,
            )
        };
        let action = r#"{"address":"action.aws_lambda_invoke.notify","type":"aws_lambda_invoke","name":"notify","provider_name":"registry.terraform.io/hashicorp/aws","invoke_action_trigger":{}}"#;
        let triggered = r#"{"address":"action.aws_lambda_invoke.audit","type":"aws_lambda_invoke","name":"audit","lifecycle_action_trigger":{"triggering_resource_address":"aws_db_instance.core","action_trigger_event":"after_update","action_trigger_block_index":0,"actions_list_index":0,"on_failure":"fail"}}"#;
        let utf16le = |doc: String| -> Vec<u8> {
            [0xFF, 0xFE]
                .into_iter()
                .chain(
                    format!("{doc}\r\n")
                        .encode_utf16()
                        .flat_map(u16::to_le_bytes),
                )
                .collect()
        };
        let extra_us_east = "terraform {\n  extra_regions = [\"us-east-1\"]\n}\n";
        let off = "terraform {\n  max_plan_age = \"off\"\n}\n";
        let hour_later = made() + hour();
        let b = |s: String| s.into_bytes();
        let rows: Vec<Row> = vec![
            ("no-op", b(changes(&[db(), noop("aws_nat_gateway.a[0]")])), "", hour_later, Ok((Status::Pass, "terraform plan plan.json: all 2 resources no-op or read, no drift, made 1h ago (2026-12-01T10:00:00Z)"))),
            ("a data source read does not count", b(changes(&[data(), db()])), "", hour_later, Ok((Status::Pass, "all 2 resources no-op or read"))),
            ("outputs only", b(plan(&format!(r#""resource_changes":[{}],"output_changes":{{"endpoint":{{"actions":["update"],"before":"a","after":"b"}}}}"#, db()))), "", hour_later, Ok((Status::Pass, "outputs would change (not a failure): endpoint"))),
            ("create", b(changes(&[db(), rc("aws_sqs_queue.jobs", r#"["create"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "not idempotent: 1 of 2 resources would change: aws_sqs_queue.jobs: create"))),
            ("update", b(changes(&[rc("aws_db_instance.core", r#"["update"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "aws_db_instance.core: update"))),
            ("delete", b(changes(&[db(), rc("aws_nat_gateway.b", r#"["delete"]"#, r#","action_reason":"delete_because_no_resource_config""#, "")])), "", hour_later, Ok((Status::Fail, "aws_nat_gateway.b: delete (delete_because_no_resource_config)"))),
            ("replace, delete first", b(changes(&[rc("aws_lb_listener.https", r#"["delete","create"]"#, r#","action_reason":"replace_because_cannot_update""#, "")])), "", hour_later, Ok((Status::Fail, "aws_lb_listener.https: replace (delete, then create) (replace_because_cannot_update)"))),
            ("replace, create first", b(changes(&[rc("module.app.aws_ecs_service.api", r#"["create","delete"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "module.app.aws_ecs_service.api: replace (create, then delete)"))),
            ("every change named", b(changes(&[rc("aws_sqs_queue.a", r#"["create"]"#, "", ""), db(), rc("aws_sqs_queue.b", r#"["delete"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "2 of 3 resources would change: aws_sqs_queue.a: create; aws_sqs_queue.b: delete"))),
            ("forget", b(changes(&[rc("aws_nat_gateway.a", r#"["forget"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "aws_nat_gateway.a: forget"))),
            ("a move", b(changes(&[rc("aws_db_instance.primary", r#"["no-op"]"#, r#","previous_address":"aws_db_instance.core""#, "")])), "", hour_later, Ok((Status::Fail, "aws_db_instance.primary: no-op (moved from aws_db_instance.core)"))),
            ("an import", b(changes(&[rc("aws_sqs_queue.jobs", r#"["no-op"]"#, "", r#","importing":{"id":"jobs"}"#)])), "", hour_later, Ok((Status::Fail, "aws_sqs_queue.jobs: no-op (being imported)"))),
            ("an unknown action", b(changes(&[rc("aws_sqs_queue.jobs", r#"["frobnicate"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "aws_sqs_queue.jobs: unknown action [\"frobnicate\"]"))),
            ("no actions", b(changes(&[rc("aws_sqs_queue.jobs", "[]", "", "")])), "", hour_later, Ok((Status::Fail, "aws_sqs_queue.jobs: unknown action []"))),
            ("drift", b(drift), "", hour_later, Ok((Status::Fail, "1 drifted: aws_db_instance.core: changed outside Terraform (multi_az)"))),
            ("errored", b(plan(&format!(r#""resource_changes":[{}],"errored":true"#, db())).replace(r#","errored":false"#, "")), "", hour_later, Err("the plan is marked `errored`")),
            ("incomplete", b(plan(&format!(r#""resource_changes":[{}],"complete":false"#, db())).replace(r#","complete":true"#, "")), "", hour_later, Err("marked incomplete")),
            ("deferred changes", b(plan(&format!(r#""resource_changes":[{}],"deferred_changes":[{{"reason":"provider_config_unknown"}}]"#, db()))), "", hour_later, Err("marked incomplete (`complete: false` or `deferred_changes`)")),
            ("an incomplete plan still fails on a change it shows", b(plan(&format!(r#""resource_changes":[{}],"complete":false"#, rc("aws_db_instance.core", r#"["update"]"#, "", ""))).replace(r#","complete":true"#, "")), "", hour_later, Ok((Status::Fail, "aws_db_instance.core: update"))),
            ("no `complete` from Terraform 1.11", b(no_complete(changes(&[db()]))), "", hour_later, Err("the plan has no `complete` (Terraform 1.11.4 writes it from 1.8)")),
            ("no `complete` from Terraform 1.7", b(version(no_complete(changes(&[db()])), "1.7.5")), "", hour_later, Ok((Status::Pass, "all 1 resources no-op or read"))),
            ("no resource_changes", b(plan(r#""output_changes":{}"#)), "", hour_later, Err("the plan covers no resource: is it")),
            ("empty resource_changes", b(changes(&[])), "", hour_later, Err("the plan covers no resource")),
            ("only data source reads", b(changes(&[data()])), "", hour_later, Err("the plan covers no resource (only 1 data source read(s))")),
            ("format 2.0", b(changes(&[db()]).replacen(r#""format_version":"1.2""#, r#""format_version":"2.0""#, 1)), "", hour_later, Err("format_version \"2.0\" is not supported")),
            ("no format_version", b(changes(&[db()]).replacen(r#""format_version":"1.2","#, "", 1)), "", hour_later, Err("no format_version")),
            ("a state, not a plan", b(r#"{"format_version":"1.0","terraform_version":"1.11.4","values":{"root_module":{"resources":[]}}}"#.into()), "", hour_later, Err("this is a state")),
            ("an entry without change", b(plan(r#""resource_changes":[{"address":"aws_db_instance.core","mode":"managed"}]"#)), "", hour_later, Err("missing field `change`")),
            ("not JSON", b("Error: Failed to read the given file as a state or plan file".into()), "", hour_later, Err("not valid JSON")),
            ("cut short", b(changes(&[db()])[..120].to_string()), "", hour_later, Err("not valid JSON")),
            // Whose: the resources' own ARNs and the providers' regions.
            ("this account and region", b(with_prior(&[("aws_db_instance.core", &arn_db(ACCOUNT, "eu-central-1"))], &[rc_with("aws_db_instance.core", r#"["no-op"]"#, "", "", &arn_db(ACCOUNT, "eu-central-1"))])), "", hour_later, Ok((Status::Pass, "all 1 resources no-op"))),
            ("another account, in prior_state", b(with_prior(&[("aws_db_instance.core", &arn_db("999999999999", "eu-central-1"))], &[db()])), "", hour_later, Err("not this environment's plan (account 123456789012, region eu-central-1): aws_db_instance.core (arn:aws:rds:eu-central-1:999999999999:db:core: account 999999999999, not 123456789012)")),
            ("another account, in a change", b(changes(&[rc_with("aws_db_instance.core", r#"["no-op"]"#, "", "", &arn_db("999999999999", "eu-central-1"))])), "", hour_later, Err("account 999999999999, not 123456789012")),
            ("another account is an error before any change", b(changes(&[rc_with("aws_db_instance.core", r#"["update"]"#, "", "", &arn_db("999999999999", "eu-central-1"))])), "", hour_later, Err("not this environment's plan")),
            ("another region", b(changes(&[rc_with("aws_db_instance.core", r#"["no-op"]"#, "", "", &arn_db(ACCOUNT, "eu-west-1"))])), "", hour_later, Err("region eu-west-1, not eu-central-1 (add it to `terraform { extra_regions }`")),
            ("us-east-1, undeclared", b(with_prior(&[("aws_acm_certificate.edge", cert)], &[noop("aws_acm_certificate.edge")])), "", hour_later, Err("aws_acm_certificate.edge (arn:aws:acm:us-east-1:123456789012:certificate/edge: region us-east-1, not eu-central-1")),
            ("us-east-1, in extra_regions", b(with_prior(&[("aws_acm_certificate.edge", cert)], &[noop("aws_acm_certificate.edge")])), extra_us_east, hour_later, Ok((Status::Pass, "all 1 resources no-op"))),
            ("eu-west-1 is still not in extra_regions", b(changes(&[rc_with("aws_db_instance.core", r#"["no-op"]"#, "", "", &arn_db(ACCOUNT, "eu-west-1"))])), extra_us_east, hour_later, Err("not eu-central-1 nor one of extra_regions [\"us-east-1\"]")),
            ("IAM and S3 ARNs have no region; AWS-managed ones no account", b(with_prior(&[("aws_iam_role.ci", role), ("aws_s3_bucket.logs", bucket)], &[noop("aws_iam_role.ci"), noop("aws_s3_bucket.logs")])), "", hour_later, Ok((Status::Pass, "all 2 resources no-op"))),
            ("a data source of another account is a reference, not this plan's", b(changes(&[db(), rc_with("data.aws_iam_role.shared", r#"["read"]"#, "", "", r#"{"arn":"arn:aws:iam::999999999999:role/shared"}"#)])), "", hour_later, Ok((Status::Pass, "all 2 resources no-op or read"))),
            ("a provider in another region", b(plan(&format!(r#""resource_changes":[{}],{}"#, db(), provider("aws", "eu-west-1"))).replacen(r#""configuration":{"root_module":{}},"#, "", 1)), "", hour_later, Err("provider \"aws\" (region = \"eu-west-1\": not eu-central-1")),
            ("a us-east-1 provider alias, declared", b(plan(&format!(r#""resource_changes":[{}],{}"#, db(), provider("aws.use1", "us-east-1"))).replacen(r#""configuration":{"root_module":{}},"#, "", 1)), extra_us_east, hour_later, Ok((Status::Pass, "all 1 resources no-op"))),
            // When: the plan's age against max_plan_age.
            ("5h59m old", b(changes(&[db()])), "", made() + Duration::from_secs(6 * 3600 - 60), Ok((Status::Pass, "made 5h 59m ago"))),
            ("stale", b(changes(&[db()])), "", made() + Duration::from_secs(7 * 3600 + 120), Err("the plan was made at 2026-12-01T10:00:00Z, 7h 2m before this run: older than max_plan_age 6h (`terraform { max_plan_age }` in spec.hcl")),
            ("stale by days, with changes", b(changes(&[rc("aws_db_instance.core", r#"["update"]"#, "", "")])), "", made() + Duration::from_secs(5 * 86_400 + 3 * 3600 + 59), Err("5days 3h before this run")),
            ("older than a declared 1h", b(changes(&[db()])), "terraform {\n  max_plan_age = \"1h\"\n}\n", made() + Duration::from_secs(2 * 3600), Err("older than max_plan_age 1h")),
            ("30 days old, age off", b(changes(&[db()])), off, made() + Duration::from_secs(30 * 86_400), Ok((Status::Pass, "made 30days ago"))),
            ("from the future", b(changes(&[db()])), "", made() - hour(), Err("1h after this run's clock")),
            ("a minute ahead: a clock's skew", b(changes(&[db()])), "", made() - Duration::from_secs(60), Ok((Status::Pass, "all 1 resources no-op"))),
            ("no timestamp, age on", b(no_time(changes(&[db()]))), "", hour_later, Err("the plan has no `timestamp`")),
            ("no timestamp, age off", b(no_time(changes(&[db()]))), off, hour_later, Ok((Status::Pass, "of no stated time (max_plan_age is off)"))),
            // Whole: a targeted plan.
            ("targeted", b(with_prior(&[("aws_db_instance.core", "{}"), ("aws_sqs_queue.a", "{}"), ("aws_sqs_queue.b[\\\"x\\\"]", "{}")], &[db()])), "", hour_later, Err("not a full plan: 2 of the 3 managed resources in `prior_state` have no entry in `resource_changes` (aws_sqs_queue.a, aws_sqs_queue.b[\"x\"]): a plan made with `-target`")),
            ("targeted, with a change", b(with_prior(&[("aws_db_instance.core", "{}"), ("aws_sqs_queue.a", "{}")], &[rc("aws_db_instance.core", r#"["update"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "aws_db_instance.core: update"))),
            ("a move covers the old address", b(with_prior(&[("aws_db_instance.core", "{}")], &[rc("aws_db_instance.primary", r#"["no-op"]"#, r#","previous_address":"aws_db_instance.core""#, "")])), "", hour_later, Ok((Status::Fail, "moved from aws_db_instance.core"))),
            // Shapes of other releases.
            ("1.0.0 drift without address", b(no_complete(no_time(version(plan(&format!(r#""resource_drift":[{{"module_address":"module.network","mode":"managed","type":"aws_nat_gateway","name":"az","index":"eu-central-1a","change":{{"actions":["delete"],"before":{{"id":"nat-1"}},"after":null}}}}],"resource_changes":[{}]"#, db())), "1.0.0")))), off, hour_later, Ok((Status::Fail, "1 drifted: module.network.aws_nat_gateway.az[\"eu-central-1a\"]: deleted outside Terraform"))),
            ("1.0.0 drift without anything to name it by", b(plan(&format!(r#""resource_drift":[{{"mode":"managed","change":{{"actions":["delete"]}}}}],"resource_changes":[{}]"#, db()))), "", hour_later, Err("resource_drift[0] has no `address`")),
            ("1.14: an action invoked, no resource changes", b(plan(&format!(r#""action_invocations":[{action}]"#))), "", hour_later, Ok((Status::Fail, "not idempotent: 1 action(s) would run on apply: action.aws_lambda_invoke.notify (invoked (terraform plan -invoke))"))),
            ("1.14: an action triggered beside no-ops", b(plan(&format!(r#""resource_changes":[{}],"action_invocations":[{triggered}]"#, db()))), "", hour_later, Ok((Status::Fail, "action.aws_lambda_invoke.audit (after_update of aws_db_instance.core)"))),
            ("1.15: no applyable, no errored", b(version(changes(&[db()]).replace(r#","applyable":false"#, "").replace(r#","errored":false"#, ""), "1.15.0")), "", hour_later, Ok((Status::Pass, "all 1 resources no-op or read"))),
            ("the test harness: no version, no time, age on", b(no_time(changes(&[db()]).replacen(r#""terraform_version":"1.11.4","#, "", 1))), "", hour_later, Err("the plan has no `timestamp`")),
            ("the test harness: no version, no time, age off", b(no_time(changes(&[db()]).replacen(r#""terraform_version":"1.11.4","#, "", 1))), off, hour_later, Ok((Status::Pass, "all 1 resources no-op or read"))),
            // How it was saved.
            ("UTF-16LE with a byte-order mark (PowerShell)", utf16le(changes(&[db()])), "", hour_later, Ok((Status::Pass, "all 1 resources no-op or read"))),
            ("UTF-16LE with a change", utf16le(changes(&[rc("aws_db_instance.core", r#"["update"]"#, "", "")])), "", hour_later, Ok((Status::Fail, "aws_db_instance.core: update"))),
            ("the setup-terraform wrapper", b(format!("[command]/home/runner/work/_temp/x/terraform-bin show -json tfplan\n{}\n::debug::Terraform exited with code 0.\n::set-output name=exitcode::0\n", changes(&[db()]).replace('\n', ""))), "", hour_later, Err("plan.json:1: \"[command]/home/runner/work/_temp/x/terraform-bin show -json …\" is a line of hashicorp/setup-terraform's wrapper")),
            ("the wrapper's trailing lines alone", b(format!("{}\n::set-output name=exitcode::0\n", changes(&[db()]).replace('\n', ""))), "", hour_later, Err("set `terraform_wrapper: false`")),
        ];
        let file = Path::new("plan.json");
        for (case, document, terraform, now, expected) in rows {
            let env = spec(terraform);
            // As the check reads a file: through terraform_json's one reader.
            let judged = terraform_json::decode(document, file)
                .map_err(|e| unreadable(file, e))
                .and_then(|bytes| judge_plan_json(&bytes, file, &env, now));
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

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/terraform/plans")
            .join(name)
    }

    /// The fixtures of real shapes (`fixtures/terraform/plans/README.md`),
    /// read from their files as the check reads them, judged an hour after
    /// their own `timestamp` (or with the age check off when they have none).
    #[test]
    fn the_fixtures_of_other_releases_and_savers_are_judged() {
        // (file, spec's terraform block, Ok((status, says)) or Err(says))
        type Case = (
            &'static str,
            &'static str,
            Result<(Status, &'static str), &'static str>,
        );
        let off = "terraform {\n  max_plan_age = \"off\"\n}\n";
        let cases: [Case; 9] = [
            (
                "drift_1_0_0.json",
                off,
                Ok((
                    Status::Fail,
                    "2 drifted: aws_db_instance.core: changed outside Terraform (multi_az); module.network.aws_nat_gateway.az[\"eu-central-1a\"]: deleted outside Terraform",
                )),
            ),
            (
                "actions_1_14.json",
                "",
                Ok((
                    Status::Fail,
                    "1 action(s) would run on apply: action.aws_lambda_invoke.notify",
                )),
            ),
            (
                "noop_1_15.json",
                "",
                Ok((Status::Pass, "all 5 resources no-op or read, no drift")),
            ),
            ("test_harness.json", "", Err("the plan has no `timestamp`")),
            (
                "test_harness.json",
                off,
                Ok((Status::Pass, "all 5 resources no-op or read")),
            ),
            (
                "noop_utf16le.json",
                "",
                Ok((Status::Pass, "all 5 resources no-op or read")),
            ),
            (
                "noop_setup_terraform_wrapper.json",
                "",
                Err("set `terraform_wrapper: false` on the setup-terraform step"),
            ),
            (
                "targeted.json",
                "",
                Err("not a full plan: 4 of the 5 managed resources"),
            ),
            (
                "format_0_1.json",
                off,
                Ok((Status::Pass, "all 5 resources no-op or read")),
            ),
        ];
        for (name, terraform, expected) in cases {
            let path = fixture(name);
            // The run's clock: an hour after the plan was made, when it says.
            let now = terraform_json::read(&path)
                .ok()
                .and_then(|bytes| Plan::parse(&bytes, &path).ok().and_then(|p| p.made_at()))
                .map_or_else(SystemTime::now, |at| at + hour());
            let judged = judge_plan_file(&path, &spec(terraform), now);
            match (judged, expected) {
                (Ok(f), Ok((status, says))) => {
                    assert_eq!(f.status, status, "{name}: {}", f.message);
                    assert!(
                        f.message.contains(says),
                        "{name}: {:?} lacks {says:?}",
                        f.message
                    );
                }
                (Err(e), Err(says)) => {
                    assert!(e.to_string().contains(says), "{name}: {e} lacks {says:?}")
                }
                (got, _) => panic!("{name}: expected {expected:?}, judged {got:?}"),
            }
        }
        // Judged at the run's real clock, a fixture made days ago is stale.
        let e = judge_plan_file(&fixture("noop.json"), &spec(""), SystemTime::now()).unwrap_err();
        assert!(e.to_string().contains("older than max_plan_age 6h"), "{e}");
    }

    /// The same ARN rule for a state: another account is an error, a
    /// region in `extra_regions` is this environment's.
    #[test]
    fn a_state_of_another_account_or_an_undeclared_region_is_not_this_environment_s() {
        let state = |arn: &str| {
            format!(
                r#"{{"format_version":"1.0","values":{{"root_module":{{"resources":[
                  {{"address":"aws_db_instance.core","mode":"managed","type":"aws_db_instance","name":"core","values":{{"arn":"arn:aws:rds:eu-central-1:{ACCOUNT}:db:core","identifier":"core"}}}},
                  {{"address":"aws_acm_certificate.edge","mode":"managed","type":"aws_acm_certificate","name":"edge","values":{{"arn":"{arn}"}}}}]}}}}}}"#
            )
        };
        let dir = std::env::temp_dir().join(format!("verify-state-rule-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let summary = |arn: &str| {
            let file = dir.join("state.json");
            std::fs::write(&file, state(arn)).unwrap();
            read_state(&file).unwrap()
        };
        let judge = |arn: &str, terraform: &str| {
            of_this_environment(
                "state",
                "terraform state s.json",
                &summary(arn).arns,
                &[],
                &spec(terraform),
            )
        };
        let cert = format!("arn:aws:acm:us-east-1:{ACCOUNT}:certificate/edge");
        // Not a compared type, still this state's: its own ARN counts.
        let e = judge(&cert, "").unwrap_err().to_string();
        assert!(
            e.contains("not this environment's state") && e.contains("aws_acm_certificate.edge"),
            "{e}"
        );
        assert!(judge(&cert, "terraform {\n  extra_regions = [\"us-east-1\"]\n}\n").is_ok());
        let other = "arn:aws:acm:eu-central-1:999999999999:certificate/edge";
        let e = judge(other, "terraform {\n  extra_regions = [\"us-east-1\"]\n}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("account 999999999999, not 123456789012"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_plan_that_cannot_be_read_is_an_error() {
        let missing =
            std::env::temp_dir().join(format!("verify-no-such-plan-{}.json", std::process::id()));
        let e = judge_plan_file(&missing, &spec(""), SystemTime::now()).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
        assert!(matches!(e, CheckError::Probe { .. }), "{e:?}");
    }

    #[test]
    fn ages_read_as_people_say_them() {
        for (secs, says) in [
            (42, "42s"),
            (60, "1m"),
            (3599, "59m"),
            (6 * 3600, "6h"),
            (7 * 3600 + 120, "7h 2m"),
            (5 * 86_400 + 3 * 3600 + 59, "5days 3h"),
        ] {
            assert_eq!(age(Duration::from_secs(secs)), says, "{secs}");
        }
    }
}
