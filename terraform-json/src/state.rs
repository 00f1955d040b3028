//! The state as `terraform show -json` (no plan file) writes it: what
//! `terraform.declared` compares with the live values, and the outputs the
//! environment spec may take identifiers from.
//!
//! Resources are kept with their `values` unparsed (`&RawValue`, borrowed
//! from the file): only those of a type the gate compares are parsed, so a
//! state of 20,000 resources costs one pass over the bytes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::outputs::Output;
use crate::{Error, ResourceArn};

#[derive(Debug, Deserialize)]
pub struct State<'a> {
    #[serde(borrow)]
    pub format_version: Cow<'a, str>,
    #[serde(borrow, default)]
    pub terraform_version: Option<Cow<'a, str>>,
    /// Absent when the state is empty.
    #[serde(borrow, default)]
    pub values: Option<Values<'a>>,
    /// Present in a plan, never in a state: tells a plan given as a state.
    #[serde(borrow, default)]
    planned_values: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resource_changes: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
pub struct Values<'a> {
    #[serde(default)]
    pub outputs: BTreeMap<String, Output>,
    #[serde(borrow, default)]
    pub root_module: Option<Module<'a>>,
}

/// The root module or a child module (`child_modules`, nested to any depth).
#[derive(Debug, Deserialize)]
pub struct Module<'a> {
    /// `module.network`; absent for the root module.
    #[serde(borrow, default)]
    pub address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub resources: Vec<Resource<'a>>,
    #[serde(borrow, default)]
    pub child_modules: Vec<Module<'a>>,
}

/// One resource instance: `aws_db_instance.core`, `aws_subnet.private["a"]`,
/// `module.network.aws_nat_gateway.az[0]`.
#[derive(Debug, Deserialize)]
pub struct Resource<'a> {
    #[serde(borrow)]
    pub address: Cow<'a, str>,
    /// `managed` or `data`.
    #[serde(borrow)]
    pub mode: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub provider_name: Option<Cow<'a, str>>,
    /// The attributes as recorded, unparsed until asked for.
    #[serde(borrow, default)]
    pub values: Option<&'a RawValue>,
}

impl<'a> State<'a> {
    /// Parses `bytes` (the whole file); `file` names it in errors.
    pub fn parse(bytes: &'a [u8], file: &Path) -> Result<State<'a>, Error> {
        let state: State =
            crate::parse_document(bytes, file, "a state", |s: &State| &s.format_version)?;
        if state.planned_values.is_some() || state.resource_changes.is_some() {
            return Err(Error::WrongDocument {
                file: file.to_path_buf(),
                message: "this is a plan (`terraform show -json PLANFILE`), not a state; \
                          give `terraform show -json` without a plan file"
                    .into(),
            });
        }
        Ok(state)
    }

    /// Every resource instance of every module, depth first (root first).
    pub fn resources(&self) -> Vec<&Resource<'a>> {
        self.values
            .as_ref()
            .and_then(|v| v.root_module.as_ref())
            .map(walk)
            .unwrap_or_default()
    }

    /// The own ARN (`arn` attribute) of every managed resource, in state
    /// order: what tells which account and region the state is of.
    pub fn resource_arns(&self) -> Vec<ResourceArn> {
        self.resources()
            .into_iter()
            .filter(|r| r.is_managed())
            .filter_map(|r| {
                r.arn().map(|arn| ResourceArn {
                    address: r.address.to_string(),
                    arn,
                })
            })
            .collect()
    }

    /// The root module's outputs.
    pub fn outputs(&self) -> BTreeMap<String, Output> {
        self.values
            .as_ref()
            .map(|v| v.outputs.clone())
            .unwrap_or_default()
    }
}

/// Every resource instance of `module` and its children, depth first.
pub(crate) fn walk<'s, 'a>(module: &'s Module<'a>) -> Vec<&'s Resource<'a>> {
    fn into<'s, 'a>(module: &'s Module<'a>, out: &mut Vec<&'s Resource<'a>>) {
        out.extend(module.resources.iter());
        for child in &module.child_modules {
            into(child, out);
        }
    }
    let mut out = Vec::new();
    into(module, &mut out);
    out
}

impl Resource<'_> {
    /// The recorded attributes, parsed (`Null` when the state recorded none).
    pub fn values(&self) -> serde_json::Value {
        self.values
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    pub fn is_managed(&self) -> bool {
        self.mode == "managed"
    }

    /// The resource's own `arn` attribute, when it recorded one as a string.
    pub fn arn(&self) -> Option<String> {
        crate::own_arn(self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = r#"{"format_version":"1.0","terraform_version":"1.11.4","values":{
      "outputs":{"rds_identifier":{"sensitive":false,"value":"restartix-sandbox","type":"string"}},
      "root_module":{"resources":[
        {"address":"aws_db_instance.core","mode":"managed","type":"aws_db_instance","name":"core",
         "provider_name":"registry.terraform.io/hashicorp/aws","values":{"identifier":"restartix-sandbox","multi_az":true}},
        {"address":"data.aws_caller_identity.me","mode":"data","type":"aws_caller_identity","name":"me","values":{}}],
       "child_modules":[{"address":"module.network","resources":[
         {"address":"module.network.aws_nat_gateway.az[\"eu-central-1a\"]","mode":"managed","type":"aws_nat_gateway",
          "name":"az","index":"eu-central-1a","values":{"id":"nat-1"}}],
         "child_modules":[{"address":"module.network.module.deep","resources":[
           {"address":"module.network.module.deep.aws_vpc.this[0]","mode":"managed","type":"aws_vpc","name":"this","index":0,"values":{}}]}]}]}},
      "some_future_field":{"ignored":true}}"#;

    #[test]
    fn resources_of_every_module_and_the_outputs() {
        let s = State::parse(STATE.as_bytes(), "s.json".as_ref()).unwrap();
        let addresses: Vec<&str> = s.resources().iter().map(|r| r.address.as_ref()).collect();
        assert_eq!(
            addresses,
            [
                "aws_db_instance.core",
                "data.aws_caller_identity.me",
                "module.network.aws_nat_gateway.az[\"eu-central-1a\"]",
                "module.network.module.deep.aws_vpc.this[0]",
            ]
        );
        assert_eq!(s.resources()[0].values()["multi_az"], true);
        assert!(!s.resources()[1].is_managed());
        assert_eq!(s.outputs()["rds_identifier"].value, "restartix-sandbox");
    }

    #[test]
    fn an_empty_state_has_no_resources_and_a_plan_is_not_a_state() {
        let s = State::parse(br#"{"format_version":"1.0"}"#, "s.json".as_ref()).unwrap();
        assert!(s.resources().is_empty());
        let plan = br#"{"format_version":"1.2","planned_values":{},"resource_changes":[]}"#;
        let e = State::parse(plan, "p.json".as_ref()).unwrap_err();
        assert!(e.to_string().contains("this is a plan"), "{e}");
    }
}
