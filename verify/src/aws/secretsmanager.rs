//! Secrets Manager: a secret's description, and (opt-in) its value, which
//! never leaves the process.
//!
//! The value is read into a [`SecretValue`], whose `Debug` and `Display`
//! redact it, never cached (every other read here is), and dropped (its
//! bytes overwritten) as soon as the judge has looked at it. Errors name
//! the operation and the secret, never the value.

use std::fmt;
use std::sync::Arc;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_SECRET: &str = "secretsmanager:DescribeSecret";
pub(crate) const GET_SECRET_VALUE: &str = "secretsmanager:GetSecretValue";

/// How a secret is named in messages.
pub(crate) fn resource(secret_id: &str) -> String {
    format!("secret '{secret_id}'")
}

/// The secret `secret_id` (a name or full ARN) as Secrets Manager describes
/// it, once per run; `None` when it does not exist.
pub(crate) async fn describe(
    aws: &AwsClients,
    secret_id: &str,
) -> Result<Arc<Option<DescribeSecretOutput>>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_SECRET}:{secret_id}"), || async {
            match aws
                .secretsmanager
                .describe_secret()
                .secret_id(secret_id)
                .send()
                .await
            {
                Ok(out) => Ok(Some(out)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(CheckError::from_sdk(
                    DESCRIBE_SECRET,
                    &resource(secret_id),
                    e,
                )),
            }
        })
        .await
}

/// A secret's current value: text or binary. `Debug` and `Display` never
/// show it; dropping it overwrites its bytes.
pub(crate) enum SecretValue {
    /// `SecretString`.
    Text(Redacted),
    /// `SecretBinary` only: no text to match.
    Binary,
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretValue::Text(_) => f.write_str("SecretValue::Text([redacted])"),
            SecretValue::Binary => f.write_str("SecretValue::Binary([redacted])"),
        }
    }
}

/// Text that is never shown: `Debug` and `Display` print `[redacted]`,
/// and its bytes are overwritten when it is dropped.
pub(crate) struct Redacted(String);

impl Redacted {
    /// Wraps `text`, taking it (no copy is made).
    pub(crate) fn new(text: String) -> Self {
        Redacted(text)
    }

    /// The text, for the judge's eyes only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Redacted {
    fn drop(&mut self) {
        // Best effort without unsafe code: `black_box` keeps the compiler
        // from dropping the overwrite of memory about to be freed.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// The current value (`AWSCURRENT`) of `secret_id`. Never cached: each
/// caller reads it, judges it and drops it.
pub(crate) async fn value(aws: &AwsClients, secret_id: &str) -> Result<SecretValue, CheckError> {
    let mut out = aws
        .secretsmanager
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(GET_SECRET_VALUE, &resource(secret_id), e))?;
    match (out.secret_string.take(), out.secret_binary.is_some()) {
        (Some(text), _) => Ok(SecretValue::Text(Redacted::new(text))),
        (None, true) => Ok(SecretValue::Binary),
        (None, false) => Err(CheckError::Missing {
            operation: GET_SECRET_VALUE.into(),
            resource: resource(secret_id),
            field: "SecretString or SecretBinary".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_never_shown() {
        let text = Redacted::new("sk_live_not_a_real_key".into());
        assert_eq!(format!("{text} {text:?}"), "[redacted] [redacted]");
        assert_eq!(text.expose().len(), 22);
        let value = SecretValue::Text(text);
        assert!(!format!("{value:?}").contains("sk_live"));
    }
}
