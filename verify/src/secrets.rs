//! Reading a secret: the one place the library reads an environment
//! variable, and it reads only one inside the run's secret prefix
//! ([`crate::spec::secret_env`]: `VERIFY_SECRET_`, or `--secret-env-prefix`).
//!
//! A spec names the variables its secrets are in (a canary's `secrets`,
//! Cloudflare's `token_env`, the drills' `database_url_env`); the CLI refuses
//! a spec naming one outside the prefix before anything runs, and this
//! refuses it again when it would be read, so no path — a library user's
//! own gate, a spec loaded elsewhere — reads `AWS_SECRET_ACCESS_KEY`.
//! `verify/clippy.toml` disallows `std::env::var` and its kin everywhere
//! else in the crate, so this stays the only reader.
//!
//! A value read here goes into no message, evidence or log: the errors name
//! the variable, never what it holds.

use crate::spec::secret_env::{SecretPrefix, outside_prefix_message};

/// Why a secret could not be read. Names the variable, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The variable is outside the run's secret prefix: it is not read.
    #[error("{}", outside_prefix_message(what, variable, prefix))]
    OutsidePrefix {
        /// The attribute that names it (`canary 't0' secrets.password`).
        what: String,
        /// The variable.
        variable: String,
        /// The run's prefix.
        prefix: SecretPrefix,
    },
    /// The variable is not set, is empty, or is not Unicode.
    #[error("{what}: environment variable {variable} is not set")]
    Unset {
        /// The attribute that names it.
        what: String,
        /// The variable.
        variable: String,
    },
}

/// The value of `variable`, read only if `prefix` admits it; an empty value
/// is unset. `what` names the attribute naming it, for the error.
///
/// ```
/// use verify::secrets::{SecretError, read};
/// use verify::spec::secret_env::SecretPrefix;
/// let refused = read(&SecretPrefix::default(), "AWS_SECRET_ACCESS_KEY", "token_env");
/// assert!(matches!(refused, Err(SecretError::OutsidePrefix { .. })));
/// let unset = read(&SecretPrefix::default(), "VERIFY_SECRET_NOT_SET_ANYWHERE", "token_env");
/// assert!(matches!(unset, Err(SecretError::Unset { .. })));
/// ```
#[allow(clippy::disallowed_methods)] // The one reader: the prefix is checked first.
pub fn read(prefix: &SecretPrefix, variable: &str, what: &str) -> Result<String, SecretError> {
    if !prefix.admits(variable) {
        return Err(SecretError::OutsidePrefix {
            what: what.to_string(),
            variable: variable.to_string(),
            prefix: prefix.clone(),
        });
    }
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => Err(SecretError::Unset {
            what: what.to_string(),
            variable: variable.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A variable that is set but outside the prefix is never read: the
    /// error is the rule, and holds no value.
    #[test]
    fn a_set_variable_outside_the_prefix_is_refused_unread() {
        // PATH is set in every test process.
        let error = read(&SecretPrefix::default(), "PATH", "secrets.path").unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, SecretError::OutsidePrefix { .. })
                && text.contains("outside the secret prefix VERIFY_SECRET_"),
            "{text}"
        );
        #[allow(clippy::disallowed_methods)]
        let path = std::env::var("PATH").unwrap_or_default();
        assert!(path.is_empty() || !text.contains(&path));
        let acme = SecretPrefix::new("ACME_").unwrap();
        assert!(matches!(
            read(&acme, "VERIFY_SECRET_X", "token_env"),
            Err(SecretError::OutsidePrefix { .. })
        ));
    }
}
