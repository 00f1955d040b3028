//! Root-module outputs, from `terraform output -json` or from a state's
//! `values.outputs`: where the environment spec's `output.NAME` references
//! take their identifiers, so each is declared once, in Terraform.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// One output: `{"sensitive": false, "type": "string", "value": "…"}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Output {
    #[serde(default)]
    pub sensitive: bool,
    /// Terraform's type expression (`"string"`, `["list","string"]`…).
    #[serde(rename = "type", default)]
    pub kind: serde_json::Value,
    pub value: serde_json::Value,
}

/// The outputs of one root module, and the file they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    pub source: PathBuf,
    pub values: BTreeMap<String, Output>,
}

impl Outputs {
    /// Reads `terraform output -json` (a bare object of outputs).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join("tfjson-doc-outputs");
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("outputs.json");
    /// std::fs::write(&file, r#"{"rds_identifier":{"sensitive":false,"type":"string","value":"restartix-production"}}"#).unwrap();
    /// let outputs = terraform_json::Outputs::load(&file).unwrap();
    /// assert_eq!(outputs.string("rds_identifier"), Some("restartix-production"));
    /// ```
    pub fn load(file: &Path) -> Result<Outputs, Error> {
        let bytes = crate::read(file)?;
        Self::parse(&bytes, file)
    }

    /// [`Outputs::load`] on bytes already read.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Outputs, Error> {
        // A state or plan given here by mistake has a format_version.
        #[derive(Deserialize)]
        struct Probe {
            format_version: Option<serde_json::Value>,
        }
        if let Ok(Probe {
            format_version: Some(_),
        }) = serde_json::from_slice::<Probe>(bytes)
        {
            return Err(Error::WrongDocument {
                file: file.to_path_buf(),
                message: "this is `terraform show -json` output, not `terraform output -json`; \
                          give it as --terraform-state, or give `terraform output -json` here"
                    .into(),
            });
        }
        let values: BTreeMap<String, Output> = serde_json::from_slice(bytes).map_err(|e| {
            crate::diagnose(bytes, file).unwrap_or_else(|| crate::invalid(file, e, "outputs"))
        })?;
        Ok(Outputs {
            source: file.to_path_buf(),
            values,
        })
    }

    /// The outputs recorded in a state (`terraform show -json`).
    pub fn from_state(file: &Path) -> Result<Outputs, Error> {
        let bytes = crate::read(file)?;
        let state = crate::state::State::parse(&bytes, file)?;
        Ok(Outputs {
            source: file.to_path_buf(),
            values: state.outputs(),
        })
    }

    /// The outputs a run reads: `terraform output -json` when given, else
    /// the state's; `None` when neither file is given.
    pub fn for_run(outputs: Option<&Path>, state: Option<&Path>) -> Result<Option<Outputs>, Error> {
        match (outputs, state) {
            (Some(file), _) => Outputs::load(file).map(Some),
            (None, Some(file)) => Outputs::from_state(file).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The value of output `name` when it is a string.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|o| o.value.as_str())
    }

    /// The output names, for "no such output; these exist: …".
    pub fn names(&self) -> Vec<&str> {
        self.values.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_and_other_documents_are_refused() {
        let o = Outputs::parse(
            br#"{"a":{"sensitive":false,"type":"string","value":"x"},"m":{"sensitive":false,"type":["map","string"],"value":{"k":"v"}}}"#,
            "o.json".as_ref(),
        )
        .unwrap();
        assert_eq!(o.string("a"), Some("x"));
        assert_eq!(o.string("m"), None);
        assert_eq!(o.names(), ["a", "m"]);
        let e = Outputs::parse(
            br#"{"format_version":"1.0","values":{}}"#,
            "s.json".as_ref(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("--terraform-state"), "{e}");
        let e = Outputs::parse(b"{\"a\": {\"type\": \"string\"}}", "o.json".as_ref()).unwrap_err();
        assert!(e.to_string().starts_with("o.json:1:"), "{e}");
        assert!(e.to_string().contains("missing field `value`"), "{e}");
    }
}
