//! Where secrets come from: environment variables whose name starts with a
//! fixed prefix, [`DEFAULT_PREFIX`] (`VERIFY_SECRET_`) or the one a run is
//! given on the command line (`--secret-env-prefix`), never one the spec
//! chooses.
//!
//! A spec names the variables that hold its secrets — a canary's
//! `secrets = { password = "VERIFY_SECRET_CANARY_PASSWORD" }`, Cloudflare's
//! `token_env`, the drills' `database_url_env` — and a spec can arrive in a
//! pull request. Were any name allowed, a spec naming
//! `AWS_SECRET_ACCESS_KEY` would have the pipeline send its own
//! credentials to whatever URL the spec declares. So every such attribute
//! follows one rule: the variable's name starts with the run's prefix.
//! [`check`] refuses a spec that breaks it, at the attribute's
//! `file:line:column`; the library reads a secret only through
//! `verify::secrets::read`, which refuses a name outside the prefix too.
//!
//! ```
//! use envspec::secret_env::{SecretPrefix, DEFAULT_PREFIX};
//! let prefix = SecretPrefix::default();
//! assert_eq!(prefix.as_str(), DEFAULT_PREFIX);
//! assert!(prefix.admits("VERIFY_SECRET_CANARY_PASSWORD"));
//! assert!(!prefix.admits("AWS_SECRET_ACCESS_KEY"));
//! assert!(!prefix.admits("VERIFY_SECRET_")); // the prefix alone names nothing
//! assert!("".parse::<SecretPrefix>().is_err());
//! assert!("AWS_".parse::<SecretPrefix>().is_err()); // would admit the AWS credentials
//! ```

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, BlockLabel, Body};

use crate::{Environment, SpecError};

/// The prefix every secret's variable starts with unless the run gives another.
pub const DEFAULT_PREFIX: &str = "VERIFY_SECRET_";

/// Variables that hold a pipeline's own credentials: no prefix may admit
/// them (`--secret-env-prefix AWS_` would let a spec name them again).
pub const NEVER_ADMITTED: [&str; 8] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "CI_JOB_TOKEN",
    "CI_JOB_JWT",
];

/// `<DEFAULT_PREFIX><suffix>`: the variable an attribute names when the
/// spec leaves it out (`VERIFY_SECRET_CLOUDFLARE_API_TOKEN`).
pub fn default_name(suffix: &str) -> String {
    format!("{DEFAULT_PREFIX}{suffix}")
}

/// The run's secret prefix: non-empty, letters, digits and `_`, admitting
/// none of [`NEVER_ADMITTED`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPrefix(String);

/// Why a `--secret-env-prefix` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretPrefixError {
    /// Empty: every variable would be admitted.
    #[error("the secret prefix must not be empty (it would admit every environment variable)")]
    Empty,
    /// A character an environment variable's name does not hold.
    #[error(
        "the secret prefix {prefix:?} may hold only letters, digits and `_` (an environment variable's name)"
    )]
    Characters {
        /// The prefix given.
        prefix: String,
    },
    /// It would admit a variable holding the pipeline's own credentials.
    #[error("the secret prefix {prefix:?} would admit {variable}, the pipeline's own credentials")]
    AdmitsCredentials {
        /// The prefix given.
        prefix: String,
        /// The credential variable it would admit.
        variable: &'static str,
    },
}

impl SecretPrefix {
    /// `prefix`, if it can be used.
    pub fn new(prefix: &str) -> Result<SecretPrefix, SecretPrefixError> {
        if prefix.is_empty() {
            return Err(SecretPrefixError::Empty);
        }
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(SecretPrefixError::Characters {
                prefix: prefix.to_string(),
            });
        }
        if let Some(variable) = NEVER_ADMITTED.iter().find(|v| v.starts_with(prefix)) {
            return Err(SecretPrefixError::AdmitsCredentials {
                prefix: prefix.to_string(),
                variable,
            });
        }
        Ok(SecretPrefix(prefix.to_string()))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `variable` may hold a secret: it starts with the prefix and
    /// names something after it.
    pub fn admits(&self, variable: &str) -> bool {
        variable.len() > self.0.len() && variable.starts_with(&self.0)
    }
}

impl Default for SecretPrefix {
    /// [`DEFAULT_PREFIX`].
    fn default() -> SecretPrefix {
        SecretPrefix(DEFAULT_PREFIX.to_string())
    }
}

impl FromStr for SecretPrefix {
    type Err = SecretPrefixError;

    fn from_str(s: &str) -> Result<SecretPrefix, SecretPrefixError> {
        SecretPrefix::new(s)
    }
}

impl fmt::Display for SecretPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One attribute of a spec that names a secret's variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReference {
    /// The block, as [`crate::Declaration::block`] names it: `canary`,
    /// `edge.cloudflare`, `drills.rds_failover`.
    pub block: String,
    /// Its label (`t0` of `canary "t0"`).
    pub label: Option<String>,
    /// The attribute: `secrets`, `token_env`, `database_url_env`.
    pub attribute: &'static str,
    /// In a map (`secrets`), the key: the placeholder it fills.
    pub key: Option<String>,
    /// The environment variable named (or the attribute's default).
    pub variable: String,
}

impl SecretReference {
    /// `canary "t0"` `secrets.password`, as a message names it.
    pub fn describe(&self) -> String {
        let block = match &self.label {
            Some(label) => format!("{} \"{label}\"", self.block),
            None => self.block.clone(),
        };
        match &self.key {
            Some(key) => format!("block `{block}`: `{}.{key}`", self.attribute),
            None => format!("block `{block}`: `{}`", self.attribute),
        }
    }
}

/// Every attribute of `env` that names a secret's variable, in spec order
/// of kind: the canaries' `secrets`, Cloudflare's `token_env` (its default
/// when the block leaves it out), each declared drill's `database_url_env`.
/// A drill block the spec does not declare names nothing here (the drill
/// reads its default through the same rule when it runs).
pub fn references(env: &Environment) -> Vec<SecretReference> {
    let mut out = Vec::new();
    for canary in &env.canaries {
        for (placeholder, variable) in &canary.secrets {
            out.push(SecretReference {
                block: "canary".into(),
                label: Some(canary.name.clone()),
                attribute: "secrets",
                key: Some(placeholder.clone()),
                variable: variable.clone(),
            });
        }
    }
    if let Some(cf) = env.edge.as_ref().and_then(|e| e.cloudflare.as_ref()) {
        out.push(SecretReference {
            block: "edge.cloudflare".into(),
            label: None,
            attribute: "token_env",
            key: None,
            variable: cf.token_env.clone(),
        });
    }
    let drills = [
        (
            "drills.rds_failover",
            env.drills
                .rds_failover
                .as_ref()
                .map(|d| &d.database_url_env),
        ),
        (
            "drills.pgbouncer_drain",
            env.drills
                .pgbouncer_drain
                .as_ref()
                .map(|d| &d.database_url_env),
        ),
        (
            "drills.pitr_restore",
            env.drills
                .pitr_restore
                .as_ref()
                .map(|d| &d.database_url_env),
        ),
    ];
    for (block, variable) in drills {
        if let Some(variable) = variable {
            out.push(SecretReference {
                block: block.into(),
                label: None,
                attribute: "database_url_env",
                key: None,
                variable: variable.clone(),
            });
        }
    }
    out
}

/// The message for a variable outside the prefix, naming the rule.
pub fn outside_prefix_message(what: &str, variable: &str, prefix: &SecretPrefix) -> String {
    format!(
        "{what} names the environment variable {variable}, outside the secret prefix {prefix}: \
         secrets are read only from variables whose name starts with {prefix} (the run's \
         prefix, `--secret-env-prefix`; a spec never chooses it), so that no spec can name \
         another credential such as AWS_SECRET_ACCESS_KEY; rename it {prefix}…"
    )
}

/// Refuses `env` when an attribute names a secret's variable outside
/// `prefix`: a [`SpecError::Invalid`] at the attribute (or, when it was
/// left out or the file cannot be read again, its block), naming the rule.
///
/// ```
/// use envspec::secret_env::{SecretPrefix, check};
/// let spec = "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\
///             canary \"c\" {\n  base_url = \"https://api.example\"\n  path = \"/x\"\n\
///             \x20 secrets = { key = \"AWS_SECRET_ACCESS_KEY\" }\n}\n";
/// let env = envspec::parse(spec, "s.hcl".as_ref()).unwrap();
/// let error = check(&env, &SecretPrefix::default()).unwrap_err().to_string();
/// assert!(error.starts_with("s.hcl:4:1: block `canary \"c\"`: `secrets.key` names"), "{error}");
/// assert!(error.contains("starts with VERIFY_SECRET_"), "{error}");
/// ```
pub fn check(env: &Environment, prefix: &SecretPrefix) -> Result<(), SpecError> {
    let Some(bad) = references(env)
        .into_iter()
        .find(|r| !prefix.admits(&r.variable))
    else {
        return Ok(());
    };
    let (line, column) = locate(env, &bad).unwrap_or_else(|| {
        env.declaration(&bad.block, bad.label.as_deref())
            .map_or((1, 1), |d| (d.line, d.column))
    });
    Err(SpecError::Invalid {
        file: env.source.clone(),
        line,
        column,
        message: outside_prefix_message(&bad.describe(), &bad.variable, prefix),
    })
}

/// The attribute's value in the spec's file (the map entry's for a key),
/// or its block's name when the attribute is left out; `None` when the
/// file cannot be read or parsed again.
fn locate(env: &Environment, reference: &SecretReference) -> Option<(usize, usize)> {
    let source = std::fs::read_to_string(&env.source).ok()?;
    let body = hcl_edit::parser::parse_body(&source).ok()?;
    let mut path = reference.block.split('.');
    let top = path.next()?;
    let mut block = find_block(&body, top, reference.label.as_deref())?;
    for inner in path {
        block = find_block(&block.body, inner, None)?;
    }
    let span = attribute_span(block, reference).or_else(|| block.ident.span())?;
    Some(position(&source, span))
}

fn find_block<'a>(body: &'a Body, name: &str, label: Option<&str>) -> Option<&'a Block> {
    body.blocks().find(|b| {
        b.ident.as_str() == name
            && match label {
                Some(label) => b.labels.first().is_some_and(|l| label_str(l) == label),
                None => true,
            }
    })
}

fn attribute_span(block: &Block, reference: &SecretReference) -> Option<Range<usize>> {
    let attribute = block
        .body
        .attributes()
        .find(|a| a.key.as_str() == reference.attribute)?;
    let Some(key) = &reference.key else {
        return attribute.value.span();
    };
    let Expression::Object(object) = &attribute.value else {
        return attribute.value.span();
    };
    object
        .iter()
        .find(|(k, _)| match k {
            ObjectKey::Ident(i) => i.as_str() == key,
            ObjectKey::Expression(Expression::String(s)) => s.value().as_str() == key,
            ObjectKey::Expression(_) => false,
        })
        .and_then(|(_, v)| v.expr().span())
        .or_else(|| attribute.value.span())
}

fn label_str(label: &BlockLabel) -> &str {
    match label {
        BlockLabel::Ident(i) => i.as_str(),
        BlockLabel::String(s) => s.value().as_str(),
    }
}

/// 1-based line and column (in characters) of `span`'s start in `source`.
fn position(source: &str, span: Range<usize>) -> (usize, usize) {
    let offset = span.start.min(source.len());
    let before = source.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n";

    fn spec_file(name: &str, body: &str) -> (std::path::PathBuf, Environment) {
        let dir = std::env::temp_dir().join(format!("envspec-secret-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, format!("{HEAD}{body}")).unwrap();
        let env = crate::load(&path).unwrap();
        (path, env)
    }

    #[test]
    fn a_prefix_is_non_empty_a_variable_name_and_admits_no_credentials() {
        assert_eq!(SecretPrefix::new(""), Err(SecretPrefixError::Empty));
        assert!(matches!(
            SecretPrefix::new("MY-SECRET"),
            Err(SecretPrefixError::Characters { .. })
        ));
        for admits_aws in ["A", "AWS", "AWS_", "AWS_SECRET_", "GITHUB_", "CI_JOB_"] {
            assert!(
                matches!(
                    SecretPrefix::new(admits_aws),
                    Err(SecretPrefixError::AdmitsCredentials { .. })
                ),
                "{admits_aws}"
            );
        }
        let acme = SecretPrefix::new("ACME_CI_").unwrap();
        assert!(acme.admits("ACME_CI_TOKEN"));
        assert!(!acme.admits("ACME_CI_"));
        assert!(!acme.admits("VERIFY_SECRET_TOKEN"));
        assert!(!acme.admits("acme_ci_token"));
        assert_eq!(default_name("X"), "VERIFY_SECRET_X");
    }

    /// Each kind of attribute, refused at its own value, with the rule named;
    /// a name inside the prefix passes.
    #[test]
    fn every_secret_attribute_outside_the_prefix_is_refused_at_its_position() {
        let cases = [
            (
                "canary \"c\" {\n  base_url = \"https://a.example\"\n  path = \"/x\"\n  secrets = { ok = \"VERIFY_SECRET_OK\", key = \"AWS_SECRET_ACCESS_KEY\" }\n}\n",
                (7, 46),
                "block `canary \"c\"`: `secrets.key` names the environment variable AWS_SECRET_ACCESS_KEY",
            ),
            (
                "edge {\n  load_balancer = \"lb\"\n  hostnames = [\"a.example\"]\n  cloudflare {\n    zone = \"a.example\"\n    token_env = \"CLOUDFLARE_API_TOKEN\"\n  }\n}\n",
                (9, 17),
                "block `edge.cloudflare`: `token_env` names the environment variable CLOUDFLARE_API_TOKEN",
            ),
            // Left out: the default is inside the default prefix, so only a
            // run with another prefix refuses it, at the block.
            (
                "rds \"core\" {\n  identifier = \"db\"\n}\ndrills {\n  pitr_restore {\n    database_url_env = \"DATABASE_URL\"\n  }\n}\n",
                (9, 24),
                "block `drills.pitr_restore`: `database_url_env` names the environment variable DATABASE_URL",
            ),
        ];
        for (i, (body, (line, column), message)) in cases.into_iter().enumerate() {
            let (path, env) = spec_file(&format!("case{i}.hcl"), body);
            let error = check(&env, &SecretPrefix::default()).unwrap_err();
            let SpecError::Invalid {
                line: l,
                column: c,
                message: m,
                ..
            } = &error
            else {
                panic!("{error}")
            };
            assert_eq!((*l, *c), (line, column), "{error}");
            assert!(m.starts_with(message), "{m}");
            assert!(m.contains("whose name starts with VERIFY_SECRET_"), "{m}");
            assert!(error.to_string().starts_with(&path.display().to_string()));
            // Renamed into the prefix, the same spec passes.
            let fixed = body
                .replace("AWS_SECRET_ACCESS_KEY", "VERIFY_SECRET_KEY")
                .replace(
                    "\"CLOUDFLARE_API_TOKEN\"",
                    "\"VERIFY_SECRET_CLOUDFLARE_API_TOKEN\"",
                )
                .replace("\"DATABASE_URL\"", "\"VERIFY_SECRET_DATABASE_URL\"");
            let (_, env) = spec_file(&format!("fixed{i}.hcl"), &fixed);
            check(&env, &SecretPrefix::default()).unwrap();
        }
    }

    #[test]
    fn a_default_outside_another_prefix_is_refused_at_its_block() {
        let (_, env) = spec_file(
            "default.hcl",
            "edge {\n  load_balancer = \"lb\"\n  hostnames = [\"a.example\"]\n  cloudflare {\n    zone = \"a.example\"\n  }\n}\n",
        );
        check(&env, &SecretPrefix::default()).unwrap();
        let acme = SecretPrefix::new("ACME_").unwrap();
        let error = check(&env, &acme).unwrap_err().to_string();
        assert!(
            error.contains(":7:3: block `edge.cloudflare`: `token_env` names the environment variable VERIFY_SECRET_CLOUDFLARE_API_TOKEN, outside the secret prefix ACME_"),
            "{error}"
        );
    }
}
