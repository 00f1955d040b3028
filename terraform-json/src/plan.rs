//! A saved plan as `terraform show -json PLANFILE` writes it: what
//! `terraform.idempotent` judges.
//!
//! A plan taken right after `apply` should change nothing. What counts as a
//! change here:
//! - a `resource_changes` entry whose `actions` is anything but `["no-op"]`
//!   or `["read"]`: `create`, `update`, `delete`, `forget`, either replace
//!   order, and any action this crate does not know (never read as no-op);
//! - a no-op that still moves state: an `importing` object (an `import`
//!   block not yet applied) or a `previous_address` (a `moved` block);
//! - a `resource_drift` entry: the object changed outside Terraform, with
//!   the attributes that differ;
//! - an `action_invocations` entry (Terraform ≥ 1.14): an action applying
//!   the plan would run ([`Plan::actions`]).
//!
//! Output-only changes are listed apart ([`Plan::output_changes`]): they are
//! evidence, not a failure.
//!
//! What tells whether a plan is this environment's, now, is read here and
//! judged by the caller: when it was made ([`Plan::made_at`]), the
//! resources' own ARNs ([`Plan::resource_arns`]), the AWS providers'
//! constant regions ([`Plan::provider_regions`]), and the managed resources
//! of `prior_state` that `resource_changes` does not cover
//! ([`Plan::uncovered`]: a plan made with `-target` or `-refresh-only`).
//!
//! Shapes of other releases read as well: Terraform 1.0.0 wrote
//! `resource_drift` entries without `address` (rebuilt from `module_address`,
//! `mode`, `type`, `name` and `index`); 1.15 leaves out `applyable` and
//! `errored` when false; Terraform's test harness writes no
//! `terraform_version` and no `timestamp`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::state::Module;
use crate::{Error, ResourceArn};

/// The fields of a plan the judgement reads; everything else is skipped
/// while parsing, never kept.
#[derive(Debug, Deserialize)]
pub struct Plan<'a> {
    #[serde(borrow)]
    pub format_version: Cow<'a, str>,
    /// Absent in what Terraform's test harness writes.
    #[serde(borrow, default)]
    pub terraform_version: Option<Cow<'a, str>>,
    /// When the plan was made (Terraform ≥ 1.5), RFC 3339; a value that is
    /// not an RFC 3339 time is refused at its line and column.
    #[serde(default, deserialize_with = "rfc3339")]
    pub timestamp: Option<Cow<'a, str>>,
    /// Terraform ≥ 1.4: the plan stopped on an error and is partial (1.15
    /// leaves it out when false).
    #[serde(default)]
    pub errored: bool,
    /// Terraform ≥ 1.8: `false` when some changes were deferred (the plan is
    /// not the whole picture). See [`Plan::completeness`].
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(borrow, default)]
    pub resource_changes: Vec<ResourceChange<'a>>,
    #[serde(borrow, default)]
    pub resource_drift: Vec<ResourceChange<'a>>,
    /// Terraform ≥ 1.8: changes deferred to a later plan (unparsed: only
    /// their number matters).
    #[serde(borrow, default)]
    pub deferred_changes: Vec<&'a RawValue>,
    /// Terraform ≥ 1.14: the actions applying the plan would run.
    #[serde(borrow, default)]
    pub action_invocations: Vec<ActionInvocation<'a>>,
    #[serde(borrow, default)]
    pub output_changes: BTreeMap<Cow<'a, str>, OutputChange<'a>>,
    /// The state the plan was made against (absent when it was empty).
    #[serde(borrow, default)]
    pub prior_state: Option<PriorState<'a>>,
    #[serde(borrow, default)]
    pub configuration: Option<Configuration<'a>>,
}

/// `prior_state`: a state document inside the plan; only its resources are read.
#[derive(Debug, Deserialize)]
pub struct PriorState<'a> {
    #[serde(borrow, default)]
    pub values: Option<PriorValues<'a>>,
}

/// `prior_state.values`.
#[derive(Debug, Deserialize)]
pub struct PriorValues<'a> {
    #[serde(borrow, default)]
    pub root_module: Option<Module<'a>>,
}

/// `configuration`: only the providers' configurations are read.
#[derive(Debug, Deserialize)]
pub struct Configuration<'a> {
    #[serde(borrow, default)]
    pub provider_config: BTreeMap<Cow<'a, str>, ProviderConfig<'a>>,
}

/// `configuration.provider_config.<key>`: `aws`, `aws.use1`, `module.x:aws`.
#[derive(Debug, Deserialize)]
pub struct ProviderConfig<'a> {
    /// `aws` for the AWS provider.
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// The provider's arguments as expressions, unparsed until asked for.
    #[serde(borrow, default)]
    pub expressions: Option<&'a RawValue>,
}

/// One `resource_changes[]` (or `resource_drift[]`) entry.
#[derive(Debug, Deserialize)]
pub struct ResourceChange<'a> {
    /// Always set after [`Plan::parse`]: Terraform 1.0.0 left it out of
    /// `resource_drift` entries, and it is then rebuilt from the fields below.
    #[serde(borrow, default)]
    pub address: Cow<'a, str>,
    /// `module.network` (absent in the root module).
    #[serde(borrow, default)]
    pub module_address: Option<Cow<'a, str>>,
    /// `managed` or `data`.
    #[serde(borrow, default)]
    pub mode: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// `count` (a number) or `for_each` (a string) key.
    #[serde(default)]
    pub index: Option<serde_json::Value>,
    /// Set when a `moved` block moved the object from there.
    #[serde(borrow, default)]
    pub previous_address: Option<Cow<'a, str>>,
    /// Set when the change is to a deposed object (left by a failed replace).
    #[serde(borrow, default)]
    pub deposed: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub change: Change<'a>,
    /// Why Terraform chose this action (e.g. `replace_because_cannot_update`).
    #[serde(borrow, default)]
    pub action_reason: Option<Cow<'a, str>>,
}

/// The `change` object: actions, and for drift the objects before and after.
#[derive(Debug, Deserialize)]
pub struct Change<'a> {
    #[serde(borrow)]
    pub actions: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub before: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub after: Option<&'a RawValue>,
    /// Terraform ≥ 1.5: the object is being imported.
    #[serde(borrow, default)]
    pub importing: Option<&'a RawValue>,
}

/// An `action_invocations[]` entry (Terraform ≥ 1.14).
#[derive(Debug, Deserialize)]
pub struct ActionInvocation<'a> {
    /// `action.aws_lambda_invoke.notify`.
    #[serde(borrow, default)]
    pub address: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// Set when a resource's `action_trigger` runs it.
    #[serde(borrow, default)]
    pub lifecycle_action_trigger: Option<LifecycleActionTrigger<'a>>,
    /// Set when `terraform plan -invoke` asked for it.
    #[serde(borrow, default)]
    pub invoke_action_trigger: Option<&'a RawValue>,
}

/// What triggers an action through a resource's lifecycle.
#[derive(Debug, Deserialize)]
pub struct LifecycleActionTrigger<'a> {
    #[serde(borrow, default)]
    pub triggering_resource_address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub action_trigger_event: Option<Cow<'a, str>>,
}

/// An `output_changes` entry.
#[derive(Debug, Deserialize)]
pub struct OutputChange<'a> {
    #[serde(borrow)]
    pub actions: Vec<Cow<'a, str>>,
}

/// A resource the plan would change, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedChange {
    pub address: String,
    /// The actions as the plan wrote them.
    pub actions: Vec<String>,
    /// What they mean: `update`, `replace (delete, then create)`, `unknown action "x"`…
    pub meaning: String,
    /// `action_reason`, a move, an import, a deposed object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A resource changed outside Terraform (`resource_drift`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    pub address: String,
    pub actions: Vec<String>,
    /// Top-level attributes whose recorded and refreshed values differ;
    /// empty when the object is gone (`deleted` is then true).
    pub attributes: Vec<String>,
    pub deleted: bool,
}

/// An action applying the plan would run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedAction {
    /// `action.aws_lambda_invoke.notify`.
    pub address: String,
    /// `invoked (terraform plan -invoke)`, or `after_create of aws_db_instance.core`.
    pub trigger: String,
}

/// Whether the plan is the whole picture ([`Plan::completeness`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    /// `complete: true`, or a Terraform older than 1.8 (which never defers).
    Complete,
    /// `complete: false`, or `deferred_changes` listed.
    Incomplete,
    /// No `complete` from a Terraform that writes it (≥ 1.8), or one that
    /// does not say its version.
    Unknown,
}

/// The plan's `resource_changes` whole (every field of every entry, not
/// only the judged ones), `[]` when it lists none: what a run's evidence
/// digest covers of a plan (`report_model::digest`). `bytes` as
/// [`crate::read`] returns them; `file` names it in errors.
pub fn resource_changes(bytes: &[u8], file: &Path) -> Result<serde_json::Value, Error> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        resource_changes: Option<serde_json::Value>,
    }
    let only: Only =
        serde_json::from_slice(bytes).map_err(|e| crate::invalid(file, e, "a plan"))?;
    Ok(only
        .resource_changes
        .unwrap_or(serde_json::Value::Array(Vec::new())))
}

impl<'a> Plan<'a> {
    /// Parses `bytes` (the whole file, as [`crate::read`] returns it);
    /// `file` names it in errors. A `format_version` other than 0.x/1.x is
    /// refused before the body is read; an entry without `address` gets one
    /// rebuilt (Terraform 1.0.0's drift), or is refused when it has not the
    /// fields to rebuild it from.
    pub fn parse(bytes: &'a [u8], file: &Path) -> Result<Plan<'a>, Error> {
        crate::format_version(bytes, file, "a plan")?;
        let mut plan: Plan =
            serde_json::from_slice(bytes).map_err(|e| crate::invalid(file, e, "a plan"))?;
        if plan.resource_changes.is_empty()
            && plan.output_changes.is_empty()
            && plan.action_invocations.is_empty()
            && looks_like_state(bytes)
        {
            return Err(Error::WrongDocument {
                file: file.to_path_buf(),
                message:
                    "this is a state (`terraform show -json` without a plan file), not a plan; \
                          give `terraform show -json PLANFILE`"
                        .into(),
            });
        }
        for (list, entries) in [
            ("resource_changes", &mut plan.resource_changes),
            ("resource_drift", &mut plan.resource_drift),
        ] {
            for (i, entry) in entries.iter_mut().enumerate() {
                if entry.address.is_empty() {
                    entry.address = entry.rebuilt_address().map(Cow::Owned).ok_or_else(|| {
                        Error::Incomplete {
                            file: file.to_path_buf(),
                            message: format!(
                                "{list}[{i}] has no `address`, and not the `mode`, `type` and `name` \
                                 (with `module_address` and `index` if any) to rebuild it from"
                            ),
                        }
                    })?;
                }
            }
        }
        Ok(plan)
    }

    /// When the plan was made (its `timestamp`); `None` when it does not say.
    pub fn made_at(&self) -> Option<SystemTime> {
        let text = self.timestamp.as_deref()?;
        let at = text.parse::<jiff::Timestamp>().ok()?;
        SystemTime::try_from(at).ok()
    }

    /// Whether the plan is the whole picture: `complete: false` or a
    /// deferred change is incomplete; a missing `complete` is only read as
    /// complete from a Terraform older than 1.8, which did not write it.
    pub fn completeness(&self) -> Completeness {
        if self.complete == Some(false) || !self.deferred_changes.is_empty() {
            return Completeness::Incomplete;
        }
        if self.complete == Some(true) {
            return Completeness::Complete;
        }
        match self
            .terraform_version
            .as_deref()
            .and_then(|v| crate::version_at_least(v, 1, 8))
        {
            Some(false) => Completeness::Complete,
            Some(true) | None => Completeness::Unknown,
        }
    }

    /// Every resource the plan would change, in plan order.
    pub fn changes(&self) -> Vec<PlannedChange> {
        self.resource_changes
            .iter()
            .filter_map(|rc| {
                let actions: Vec<String> =
                    rc.change.actions.iter().map(|a| a.to_string()).collect();
                let meaning = meaning(&actions);
                let mut notes = Vec::new();
                if let Some(from) = &rc.previous_address {
                    notes.push(format!("moved from {from}"));
                }
                if rc.change.importing.is_some() {
                    notes.push("being imported".into());
                }
                if let Some(key) = &rc.deposed {
                    notes.push(format!("deposed object {key}"));
                }
                if let Some(reason) = &rc.action_reason {
                    notes.push(reason.to_string());
                }
                let moves_state = rc.previous_address.is_some()
                    || rc.change.importing.is_some()
                    || rc.deposed.is_some();
                let changes_state = moves_state || !matches!(meaning.as_str(), "no-op" | "read");
                changes_state.then(|| PlannedChange {
                    address: rc.address.to_string(),
                    actions,
                    meaning,
                    notes,
                })
            })
            .collect()
    }

    /// Every `resource_drift` entry, with the attributes that differ.
    pub fn drift(&self) -> Vec<Drift> {
        self.resource_drift
            .iter()
            .map(|rc| {
                let parse = |raw: Option<&RawValue>| -> serde_json::Value {
                    raw.and_then(|r| serde_json::from_str(r.get()).ok())
                        .unwrap_or(serde_json::Value::Null)
                };
                let before = parse(rc.change.before);
                let after = parse(rc.change.after);
                let deleted = after.is_null();
                let attributes = match (&before, &after) {
                    (serde_json::Value::Object(b), serde_json::Value::Object(a)) => {
                        let mut keys: Vec<String> = b
                            .iter()
                            .filter(|(k, v)| a.get(*k) != Some(*v))
                            .map(|(k, _)| k.clone())
                            .chain(a.keys().filter(|k| !b.contains_key(*k)).cloned())
                            .collect();
                        keys.sort();
                        keys.dedup();
                        keys
                    }
                    _ => Vec::new(),
                };
                Drift {
                    address: rc.address.to_string(),
                    actions: rc.change.actions.iter().map(|a| a.to_string()).collect(),
                    attributes,
                    deleted,
                }
            })
            .collect()
    }

    /// Every action applying the plan would run (`action_invocations`), in
    /// plan order.
    pub fn actions(&self) -> Vec<PlannedAction> {
        self.action_invocations
            .iter()
            .map(|a| {
                let address = match (&a.address, &a.kind, &a.name) {
                    (Some(address), _, _) => address.to_string(),
                    (None, Some(kind), Some(name)) => format!("action.{kind}.{name}"),
                    _ => "an action without an address".to_string(),
                };
                let trigger = match (&a.lifecycle_action_trigger, a.invoke_action_trigger) {
                    (Some(t), _) => format!(
                        "{} of {}",
                        t.action_trigger_event.as_deref().unwrap_or("an event"),
                        t.triggering_resource_address
                            .as_deref()
                            .unwrap_or("a resource")
                    ),
                    (None, Some(_)) => "invoked (terraform plan -invoke)".to_string(),
                    (None, None) => "no trigger given".to_string(),
                };
                PlannedAction { address, trigger }
            })
            .collect()
    }

    /// Outputs whose value would change (name → actions); not a failure.
    pub fn output_changes(&self) -> BTreeMap<String, Vec<String>> {
        self.output_changes
            .iter()
            .filter(|(_, c)| !(c.actions.len() == 1 && c.actions[0] == "no-op"))
            .map(|(name, c)| {
                (
                    name.to_string(),
                    c.actions.iter().map(|a| a.to_string()).collect(),
                )
            })
            .collect()
    }

    /// How many resources had each action set (`no-op`, `update`,
    /// `delete,create`…), for the evidence.
    pub fn action_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for rc in &self.resource_changes {
            *counts.entry(rc.change.actions.join(",")).or_insert(0) += 1;
        }
        counts
    }

    /// The managed resources of `prior_state`, every module, depth first.
    fn prior_resources(&self) -> Vec<&crate::state::Resource<'a>> {
        self.prior_state
            .as_ref()
            .and_then(|p| p.values.as_ref())
            .and_then(|v| v.root_module.as_ref())
            .map(|root| {
                crate::state::walk(root)
                    .into_iter()
                    .filter(|r| r.is_managed())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The managed resources of `prior_state` that no `resource_changes`
    /// entry covers (by `address` or `previous_address`), each once, in
    /// state order: a full plan covers every one (a no-op at least); a plan
    /// made with `-target` or `-refresh-only` does not.
    pub fn uncovered(&self) -> Vec<String> {
        let covered: HashSet<&str> = self
            .resource_changes
            .iter()
            .flat_map(|rc| [Some(rc.address.as_ref()), rc.previous_address.as_deref()])
            .flatten()
            .collect();
        let mut seen = HashSet::new();
        self.prior_resources()
            .into_iter()
            .map(|r| r.address.as_ref())
            .filter(|a| !covered.contains(a) && seen.insert(*a))
            .map(String::from)
            .collect()
    }

    /// How many managed resources `prior_state` holds (each address once).
    pub fn prior_managed(&self) -> usize {
        self.prior_resources()
            .iter()
            .map(|r| r.address.as_ref())
            .collect::<HashSet<_>>()
            .len()
    }

    /// The own ARN (`arn` attribute) of every managed resource the plan
    /// records: in `prior_state`, and in each `resource_changes` and
    /// `resource_drift` entry's `before` and `after`; each pair once, sorted.
    /// (`planned_values` holds the same objects as the changes' `after`.)
    pub fn resource_arns(&self) -> Vec<ResourceArn> {
        let mut found = BTreeSet::new();
        for r in self.prior_resources() {
            if let Some(arn) = r.arn() {
                found.insert(ResourceArn {
                    address: r.address.to_string(),
                    arn,
                });
            }
        }
        for rc in self.resource_changes.iter().chain(&self.resource_drift) {
            if rc.is_data() {
                continue;
            }
            for values in [rc.change.before, rc.change.after] {
                if let Some(arn) = crate::own_arn(values) {
                    found.insert(ResourceArn {
                        address: rc.address.to_string(),
                        arn,
                    });
                }
            }
        }
        found.into_iter().collect()
    }

    /// The AWS providers whose `region` is a constant in the configuration:
    /// (`configuration.provider_config` key, region), in key order. A
    /// region from a variable or another expression is not known here.
    pub fn provider_regions(&self) -> Vec<(String, String)> {
        #[derive(Deserialize)]
        struct Expressions {
            #[serde(default)]
            region: Option<Constant>,
        }
        #[derive(Deserialize)]
        struct Constant {
            #[serde(default)]
            constant_value: Option<serde_json::Value>,
        }
        let Some(configuration) = &self.configuration else {
            return Vec::new();
        };
        configuration
            .provider_config
            .iter()
            .filter(|(_, p)| p.name.as_deref() == Some("aws"))
            .filter_map(|(key, p)| {
                let expressions: Expressions = serde_json::from_str(p.expressions?.get()).ok()?;
                match expressions.region?.constant_value? {
                    serde_json::Value::String(region) => Some((key.to_string(), region)),
                    _ => None,
                }
            })
            .collect()
    }
}

impl ResourceChange<'_> {
    /// `[module_address.][data.]type.name[index]`, as Terraform writes
    /// addresses: `module.network.aws_nat_gateway.az["eu-central-1a"]`.
    /// `None` without `mode`, `type` and `name`, or with an index that is
    /// neither a number nor a string.
    pub fn rebuilt_address(&self) -> Option<String> {
        let (mode, kind, name) = (
            self.mode.as_deref()?,
            self.kind.as_deref()?,
            self.name.as_deref()?,
        );
        let mut address = String::new();
        if let Some(module) = self.module_address.as_deref().filter(|m| !m.is_empty()) {
            address.push_str(module);
            address.push('.');
        }
        match mode {
            "managed" => {}
            "data" => address.push_str("data."),
            _ => return None,
        }
        address.push_str(&format!("{kind}.{name}"));
        match &self.index {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Number(n)) => address.push_str(&format!("[{n}]")),
            Some(serde_json::Value::String(key)) => {
                address.push_str(&format!("[{}]", serde_json::Value::from(key.as_str())));
            }
            Some(_) => return None,
        }
        Some(address)
    }

    /// A data source (`mode: data`, or a `data.` address when `mode` is absent).
    pub fn is_data(&self) -> bool {
        match self.mode.as_deref() {
            Some(mode) => mode == "data",
            None => self.address.starts_with("data.") || self.address.contains(".data."),
        }
    }
}

/// `timestamp`: kept as written, and refused (at its position) when it is
/// not an RFC 3339 time.
fn rfc3339<'de, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    match text.parse::<jiff::Timestamp>() {
        Ok(_) => Ok(Some(Cow::Owned(text))),
        Err(e) => Err(serde::de::Error::custom(format!(
            "`timestamp` {text:?} is not an RFC 3339 time ({e})"
        ))),
    }
}

/// What an action list means. Terraform documents these sets; any other
/// is named as unknown and counts as a change.
///
/// ```
/// use terraform_json::plan::meaning;
/// assert_eq!(meaning(&["delete".into(), "create".into()]), "replace (delete, then create)");
/// assert_eq!(meaning(&["frobnicate".into()]), "unknown action [\"frobnicate\"]");
/// ```
pub fn meaning(actions: &[String]) -> String {
    let a: Vec<&str> = actions.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["no-op"] => "no-op".into(),
        ["read"] => "read".into(),
        ["create"] => "create".into(),
        ["update"] => "update".into(),
        ["delete"] => "delete".into(),
        ["forget"] => "forget (removed from state, left running)".into(),
        ["delete", "create"] => "replace (delete, then create)".into(),
        ["create", "delete"] => "replace (create, then delete)".into(),
        ["create", "forget"] => "replace (create, then forget the old object)".into(),
        _ => format!("unknown action {a:?}"),
    }
}

/// A state document has `values` and no `planned_values`/`resource_changes`.
fn looks_like_state(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Shape<'a> {
        #[serde(borrow, default)]
        values: Option<&'a RawValue>,
        #[serde(borrow, default)]
        planned_values: Option<&'a RawValue>,
    }
    serde_json::from_slice::<Shape>(bytes)
        .map(|s| s.values.is_some() && s.planned_values.is_none())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(body: &str) -> Vec<u8> {
        format!(r#"{{"format_version":"1.2","terraform_version":"1.11.4",{body}}}"#).into_bytes()
    }

    fn rc(address: &str, actions: &str, extra: &str) -> String {
        format!(
            r#"{{"address":"{address}","mode":"managed","type":"t","name":"n","change":{{"actions":{actions}{extra}}}}}"#
        )
    }

    #[test]
    fn each_action_set_is_a_change_or_not() {
        let cases = [
            (r#"["no-op"]"#, None),
            (r#"["read"]"#, None),
            (r#"["create"]"#, Some("create")),
            (r#"["update"]"#, Some("update")),
            (r#"["delete"]"#, Some("delete")),
            (
                r#"["forget"]"#,
                Some("forget (removed from state, left running)"),
            ),
            (
                r#"["delete","create"]"#,
                Some("replace (delete, then create)"),
            ),
            (
                r#"["create","delete"]"#,
                Some("replace (create, then delete)"),
            ),
            (
                r#"["frobnicate"]"#,
                Some(r#"unknown action ["frobnicate"]"#),
            ),
            (r#"[]"#, Some("unknown action []")),
            (
                r#"["no-op","no-op"]"#,
                Some(r#"unknown action ["no-op", "no-op"]"#),
            ),
        ];
        for (actions, expected) in cases {
            let bytes = plan(&format!(
                r#""resource_changes":[{}]"#,
                rc("a.b", actions, "")
            ));
            let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
            let changes = p.changes();
            assert_eq!(
                changes.first().map(|c| c.meaning.as_str()),
                expected,
                "{actions}"
            );
        }
    }

    #[test]
    fn an_import_or_a_move_in_a_no_op_is_a_change() {
        let importing = rc("a.imported", r#"["no-op"]"#, r#","importing":{"id":"i-1"}"#);
        let moved = r#"{"address":"a.new","previous_address":"a.old","mode":"managed","type":"t","name":"new","change":{"actions":["no-op"]}}"#;
        let reason = rc("a.same", r#"["no-op"]"#, "");
        let bytes = plan(&format!(
            r#""resource_changes":[{importing},{moved},{reason}]"#
        ));
        let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
        let changes = p.changes();
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].notes, ["being imported"]);
        assert_eq!(changes[1].notes, ["moved from a.old"]);
    }

    #[test]
    fn drift_names_the_attributes_that_differ() {
        let drift = r#""resource_drift":[
          {"address":"aws_db_instance.core","mode":"managed","type":"aws_db_instance","name":"core",
           "change":{"actions":["update"],"before":{"multi_az":true,"backup_retention_period":7,"engine":"postgres"},
                     "after":{"multi_az":false,"backup_retention_period":1,"engine":"postgres"}}},
          {"address":"aws_nat_gateway.a","mode":"managed","type":"aws_nat_gateway","name":"a",
           "change":{"actions":["delete"],"before":{"id":"nat-1"},"after":null}}]"#;
        let bytes = plan(drift);
        let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
        let d = p.drift();
        assert_eq!(d[0].attributes, ["backup_retention_period", "multi_az"]);
        assert!(!d[0].deleted);
        assert!(d[1].deleted && d[1].attributes.is_empty());
    }

    #[test]
    fn output_changes_are_listed_apart() {
        let bytes = plan(
            r#""resource_changes":[],"output_changes":{"a":{"actions":["update"],"before":"x","after":"y"},"b":{"actions":["no-op"]}}"#,
        );
        let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
        assert!(p.changes().is_empty());
        assert_eq!(p.output_changes().keys().collect::<Vec<_>>(), ["a"]);
    }

    /// `fixtures/terraform/plans/<name>`, read by the one reader.
    fn fixture(name: &str) -> (Vec<u8>, std::path::PathBuf) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/terraform/plans")
            .join(name);
        (crate::read(&path).unwrap_or_else(|e| panic!("{e}")), path)
    }

    #[test]
    fn terraform_1_0_0_drift_without_address_gets_it_rebuilt() {
        let (bytes, path) = fixture("drift_1_0_0.json");
        let p = Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
        let drifted: Vec<(String, bool)> = p
            .drift()
            .into_iter()
            .map(|d| (d.address, d.deleted))
            .collect();
        assert_eq!(
            drifted,
            [
                ("aws_db_instance.core".to_string(), false),
                (
                    "module.network.aws_nat_gateway.az[\"eu-central-1a\"]".to_string(),
                    true
                ),
            ]
        );
        assert_eq!(p.drift()[0].attributes, ["multi_az"]);
        // Every form of address, rebuilt as Terraform writes it.
        let rebuilt = |entry: &str| {
            let bytes = plan(&format!(r#""resource_drift":[{entry}]"#));
            Plan::parse(&bytes, "p.json".as_ref()).map(|p| p.resource_drift[0].address.to_string())
        };
        let change = r#""change":{"actions":["update"]}"#;
        for (fields, address) in [
            (r#""mode":"managed","type":"t","name":"n""#, "t.n"),
            (r#""mode":"data","type":"t","name":"n""#, "data.t.n"),
            (
                r#""mode":"managed","type":"t","name":"n","index":3"#,
                "t.n[3]",
            ),
            (
                r#""module_address":"module.a[\"x\"]","mode":"managed","type":"t","name":"n","index":"k\"q""#,
                r#"module.a["x"].t.n["k\"q"]"#,
            ),
            (
                r#""address":"kept.as.is","mode":"managed","type":"t","name":"n""#,
                "kept.as.is",
            ),
        ] {
            assert_eq!(
                rebuilt(&format!("{{{fields},{change}}}")).unwrap(),
                address,
                "{fields}"
            );
        }
        // Without the fields to rebuild it from: refused, naming the entry.
        for fields in [
            r#""mode":"managed","name":"n""#,
            r#""type":"t","name":"n""#,
            r#""mode":"other","type":"t","name":"n""#,
            r#""mode":"managed","type":"t","name":"n","index":[1]"#,
        ] {
            let e = rebuilt(&format!("{{{fields},{change}}}")).unwrap_err();
            assert!(matches!(e, Error::Incomplete { .. }), "{fields}: {e}");
            assert!(
                e.to_string().contains("resource_drift[0] has no `address`"),
                "{e}"
            );
        }
    }

    #[test]
    fn terraform_1_14_action_invocations_are_read_as_actions() {
        let (bytes, path) = fixture("actions_1_14.json");
        let p = Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.resource_changes.is_empty() && p.changes().is_empty());
        assert_eq!(
            p.actions(),
            [PlannedAction {
                address: "action.aws_lambda_invoke.notify".into(),
                trigger: "invoked (terraform plan -invoke)".into(),
            }]
        );
        // Triggered by a resource's lifecycle; no address: type and name.
        let bytes = plan(
            r#""action_invocations":[{"type":"aws_lambda_invoke","name":"n","lifecycle_action_trigger":{"triggering_resource_address":"aws_db_instance.core","action_trigger_event":"after_update","action_trigger_block_index":0,"actions_list_index":0,"on_failure":"fail"}}]"#,
        );
        let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
        assert_eq!(p.actions()[0].address, "action.aws_lambda_invoke.n");
        assert_eq!(
            p.actions()[0].trigger,
            "after_update of aws_db_instance.core"
        );
    }

    #[test]
    fn terraform_1_15_leaves_out_false_booleans_and_the_harness_its_version_and_time() {
        let (bytes, path) = fixture("noop_1_15.json");
        let p = Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.errored);
        assert_eq!(p.completeness(), Completeness::Complete);
        assert!(p.made_at().is_some());
        let (bytes, path) = fixture("test_harness.json");
        let p = Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.terraform_version.is_none() && p.timestamp.is_none() && p.made_at().is_none());
        assert_eq!(p.changes(), []);
    }

    #[test]
    fn completeness_is_never_assumed_from_a_terraform_that_writes_it() {
        let doc = |version: Option<&str>, rest: &str| {
            let version = version
                .map(|v| format!(r#","terraform_version":"{v}""#))
                .unwrap_or_default();
            format!(r#"{{"format_version":"1.2"{version},"resource_changes":[]{rest}}}"#)
                .into_bytes()
        };
        for (version, rest, expected) in [
            (
                Some("1.11.4"),
                r#","complete":true"#,
                Completeness::Complete,
            ),
            (
                Some("1.11.4"),
                r#","complete":false"#,
                Completeness::Incomplete,
            ),
            (
                Some("1.11.4"),
                r#","complete":true,"deferred_changes":[{"reason":"instance_count_unknown"}]"#,
                Completeness::Incomplete,
            ),
            (Some("1.7.5"), "", Completeness::Complete),
            (Some("0.12.31"), "", Completeness::Complete),
            (Some("1.8.0"), "", Completeness::Unknown),
            (Some("1.15.0"), "", Completeness::Unknown),
            (None, "", Completeness::Unknown),
            (None, r#","complete":true"#, Completeness::Complete),
        ] {
            let bytes = doc(version, rest);
            let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
            assert_eq!(p.completeness(), expected, "{version:?} {rest}");
        }
    }

    #[test]
    fn the_timestamp_is_an_rfc_3339_time_or_refused_where_it_is() {
        let bytes = plan(r#""resource_changes":[],"timestamp":"2026-12-02T02:11:19Z""#);
        let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
        let at = p.made_at().unwrap();
        assert_eq!(
            at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            1_796_177_479
        );
        let bytes = plan(r#""resource_changes":[],"timestamp":"2026-12-02T02:11:19+02:00""#);
        let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
        assert_eq!(
            at.duration_since(p.made_at().unwrap()).unwrap().as_secs(),
            7200
        );
        for garbled in [
            r#""yesterday""#,
            r#""2026-12-02""#,
            "17",
            r#""2026-13-02T02:11:19Z""#,
        ] {
            let bytes = plan(&format!(r#""resource_changes":[],"timestamp":{garbled}"#));
            let e = Plan::parse(&bytes, "p.json".as_ref()).unwrap_err();
            assert!(
                matches!(e, Error::Invalid { line: 1, .. }),
                "{garbled}: {e}"
            );
        }
    }

    #[test]
    fn a_targeted_plan_leaves_managed_resources_of_prior_state_uncovered() {
        let (bytes, path) = fixture("targeted.json");
        let p = Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.uncovered(),
            [
                "terraform_data.cache[0]",
                "terraform_data.worker[\"a\"]",
                "terraform_data.worker[\"b\"]",
                "module.app.terraform_data.x",
            ]
        );
        assert_eq!(p.prior_managed(), 5);
        // A full plan covers every one; a move covers its old address.
        for full in [
            "noop.json",
            "moved.json",
            "delete.json",
            "forget.json",
            "read.json",
        ] {
            let (bytes, path) = fixture(full);
            let p = Plan::parse(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.uncovered(), Vec::<String>::new(), "{full}");
            assert!(p.prior_managed() > 0, "{full}");
        }
    }

    #[test]
    fn own_arns_and_constant_provider_regions() {
        let bytes = plan(
            r#""resource_changes":[
              {"address":"aws_db_instance.core","mode":"managed","type":"aws_db_instance","name":"core","change":{"actions":["no-op"],
                "before":{"arn":"arn:aws:rds:eu-central-1:111122223333:db:core","kms_key_id":"arn:aws:kms:eu-central-1:999999999999:key/shared"},
                "after":{"arn":"arn:aws:rds:eu-central-1:111122223333:db:core"}}},
              {"address":"aws_sqs_queue.new","mode":"managed","type":"aws_sqs_queue","name":"new","change":{"actions":["create"],"before":null,"after":{"arn":null}}},
              {"address":"data.aws_iam_policy.managed","mode":"data","type":"aws_iam_policy","name":"managed","change":{"actions":["read"],
                "after":{"arn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}}],
             "prior_state":{"format_version":"1.0","values":{"root_module":{"resources":[
               {"address":"aws_db_instance.core","mode":"managed","type":"aws_db_instance","name":"core","values":{"arn":"arn:aws:rds:eu-central-1:111122223333:db:core"}},
               {"address":"data.aws_caller_identity.me","mode":"data","type":"aws_caller_identity","name":"me","values":{"arn":"arn:aws:sts::444455556666:assumed-role/ci/x"}}],
               "child_modules":[{"address":"module.cdn","resources":[
               {"address":"module.cdn.aws_acm_certificate.edge","mode":"managed","type":"aws_acm_certificate","name":"edge","values":{"arn":"arn:aws:acm:us-east-1:111122223333:certificate/c"}}]}]}}},
             "configuration":{"provider_config":{
               "aws":{"name":"aws","full_name":"registry.terraform.io/hashicorp/aws","expressions":{"region":{"constant_value":"eu-central-1"}}},
               "aws.use1":{"name":"aws","alias":"use1","expressions":{"region":{"constant_value":"us-east-1"}}},
               "aws.var":{"name":"aws","alias":"var","expressions":{"region":{"references":["var.region"]}}},
               "google":{"name":"google","expressions":{"region":{"constant_value":"europe-west3"}}},
               "odd":{"name":"aws","expressions":{"region":[{"constant_value":"x"}]}}}}"#,
        );
        let p = Plan::parse(&bytes, "p.json".as_ref()).unwrap();
        let arns: Vec<(String, String)> = p
            .resource_arns()
            .into_iter()
            .map(|r| (r.address, r.arn))
            .collect();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            arns,
            [
                pair(
                    "aws_db_instance.core",
                    "arn:aws:rds:eu-central-1:111122223333:db:core"
                ),
                pair(
                    "module.cdn.aws_acm_certificate.edge",
                    "arn:aws:acm:us-east-1:111122223333:certificate/c"
                ),
            ]
        );
        assert_eq!(
            p.provider_regions(),
            [
                ("aws".to_string(), "eu-central-1".to_string()),
                ("aws.use1".to_string(), "us-east-1".to_string()),
            ]
        );
    }

    #[test]
    fn a_state_is_not_a_plan_and_a_newer_major_is_refused() {
        let state = br#"{"format_version":"1.0","values":{"root_module":{}}}"#;
        let e = Plan::parse(state, "s.json".as_ref()).unwrap_err();
        assert!(e.to_string().contains("this is a state"), "{e}");
        let v2 = br#"{"format_version":"2.0","resource_changes":"a new shape"}"#;
        let e = Plan::parse(v2, "p.json".as_ref()).unwrap_err();
        assert!(matches!(e, Error::UnsupportedVersion { .. }), "{e}");
        let shape = br#"{"format_version":"1.2","resource_changes":[{"address":"a"}]}"#;
        let e = Plan::parse(shape, "p.json".as_ref()).unwrap_err();
        assert!(e.to_string().starts_with("p.json:1:"), "{e}");
        assert!(e.to_string().contains("missing field `change`"), "{e}");
    }
}
