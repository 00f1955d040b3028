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
//!   the attributes that differ.
//!
//! Output-only changes are listed apart ([`Plan::output_changes`]): they are
//! evidence, not a failure.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::Error;

/// The fields of a plan the judgement reads; everything else is skipped
/// while parsing, never kept.
#[derive(Debug, Deserialize)]
pub struct Plan<'a> {
    #[serde(borrow)]
    pub format_version: Cow<'a, str>,
    #[serde(borrow, default)]
    pub terraform_version: Option<Cow<'a, str>>,
    /// When the plan was made (Terraform ≥ 1.5), RFC 3339.
    #[serde(borrow, default)]
    pub timestamp: Option<Cow<'a, str>>,
    /// Terraform ≥ 1.4: the plan stopped on an error and is partial.
    #[serde(default)]
    pub errored: bool,
    /// Terraform ≥ 1.8: `false` when some changes were deferred (the plan is
    /// not the whole picture).
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(borrow, default)]
    pub resource_changes: Vec<ResourceChange<'a>>,
    #[serde(borrow, default)]
    pub resource_drift: Vec<ResourceChange<'a>>,
    #[serde(borrow, default)]
    pub output_changes: BTreeMap<Cow<'a, str>, OutputChange<'a>>,
}

/// One `resource_changes[]` (or `resource_drift[]`) entry.
#[derive(Debug, Deserialize)]
pub struct ResourceChange<'a> {
    #[serde(borrow)]
    pub address: Cow<'a, str>,
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

impl<'a> Plan<'a> {
    /// Parses `bytes` (the whole file); `file` names it in errors. A
    /// `format_version` other than 0.x/1.x is refused before the body is read.
    pub fn parse(bytes: &'a [u8], file: &Path) -> Result<Plan<'a>, Error> {
        crate::format_version(bytes, file, "a plan")?;
        let plan: Plan =
            serde_json::from_slice(bytes).map_err(|e| crate::invalid(file, e, "a plan"))?;
        if plan.resource_changes.is_empty()
            && plan.output_changes.is_empty()
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
        Ok(plan)
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
