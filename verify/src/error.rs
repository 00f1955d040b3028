//! Why a check (or a drill step) could not look: [`CheckError`], always
//! reported as `error`, never as `pass`.

use std::fmt::Debug;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::Evidence;

/// Why a check could not look. Always reported as `error`, never as `pass`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The API answered with an error, or could not be reached.
    #[error("{operation} failed for {resource}: {message}")]
    Aws {
        /// `service:Operation`.
        operation: String,
        /// What it was called for.
        resource: String,
        /// The error code AWS gave, if any.
        code: Option<String>,
        /// What it said.
        message: String,
    },
    /// A declared resource does not exist (or is not visible to these credentials).
    #[error("{operation}: {resource} not found")]
    NotFound {
        /// `service:Operation`.
        operation: String,
        /// What was not found.
        resource: String,
    },
    /// The check did not finish within its bound.
    #[error("check did not finish within {0:?}")]
    Timeout(Duration),
    /// A probe outside AWS (TLS, HTTP, DNS, the Cloudflare API) could not look.
    #[error("{probe} failed for {target}: {message}")]
    Probe {
        /// `tls`, `https`, `dns`, `cloudflare`.
        probe: String,
        /// What it probed.
        target: String,
        /// What went wrong.
        message: String,
    },
    /// The API answered but left out (or garbled) a value the judgement
    /// depends on: "AWS did not say" is never read as "fine".
    #[error("{operation} did not report {field} for {resource}")]
    Missing {
        /// `service:Operation`.
        operation: String,
        /// What it was called for.
        resource: String,
        /// The field it left out.
        field: String,
    },
}

impl CheckError {
    /// Maps an SDK error: `*NotFound*` codes become [`CheckError::NotFound`],
    /// everything else (AccessDenied, throttling past retries, timeouts,
    /// unreachable endpoint, a refused write) [`CheckError::Aws`].
    pub fn from_sdk<E, R>(operation: &str, resource: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug + 'static,
    {
        let code = err.code().map(str::to_string);
        if code.as_deref().is_some_and(|c| c.contains("NotFound")) {
            return CheckError::NotFound {
                operation: operation.into(),
                resource: resource.into(),
            };
        }
        let message = match (&code, err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            _ => error_chain(&err),
        };
        CheckError::Aws {
            operation: operation.into(),
            resource: resource.into(),
            code,
            message,
        }
    }

    /// The AWS operation that failed, if any.
    pub fn operation(&self) -> Option<&str> {
        match self {
            CheckError::Aws { operation, .. }
            | CheckError::NotFound { operation, .. }
            | CheckError::Missing { operation, .. } => Some(operation),
            CheckError::Probe { probe, .. } => Some(probe),
            CheckError::Timeout(_) => None,
        }
    }

    /// The resource (or probe target) the check could not read, if known.
    pub fn resource(&self) -> Option<&str> {
        match self {
            CheckError::Aws { resource, .. }
            | CheckError::NotFound { resource, .. }
            | CheckError::Missing { resource, .. } => Some(resource),
            CheckError::Probe { target, .. } => Some(target),
            CheckError::Timeout(_) => None,
        }
    }

    /// The evidence of a check that could not look: the resource when
    /// known, and the `error` and the `operation` (`null` for a timeout) as
    /// details. The runner adds the operations recorded.
    ///
    /// ```
    /// use verify::CheckError;
    /// let e = CheckError::NotFound { operation: "rds:DescribeDBInstances".into(), resource: "rds instance 'db'".into() };
    /// let evidence = e.evidence();
    /// assert_eq!(evidence.resources, ["rds instance 'db'"]);
    /// assert_eq!(evidence.details["operation"], "rds:DescribeDBInstances");
    /// assert_eq!(evidence.details["error"], e.to_string());
    /// ```
    pub fn evidence(&self) -> Evidence {
        Evidence::default()
            .resources(self.resource())
            .detail("error", self.to_string())
            .detail("operation", self.operation())
    }
}

/// A value the judgement needs, or [`CheckError::Missing`] naming the
/// operation, the resource and the field that was not reported.
///
/// ```
/// use verify::check::{CheckError, required};
/// let public: Option<bool> = None;
/// let err = required(public, "rds:DescribeDBInstances", "rds instance 'db'", "PubliclyAccessible");
/// assert!(matches!(err, Err(CheckError::Missing { .. })));
/// assert_eq!(required(Some(false), "op", "r", "f").unwrap(), false);
/// ```
pub fn required<T>(
    value: Option<T>,
    operation: &str,
    resource: &str,
    field: &str,
) -> Result<T, CheckError> {
    value.ok_or_else(|| CheckError::Missing {
        operation: operation.into(),
        resource: resource.into(),
        field: field.into(),
    })
}

/// An error and its sources, `: `-joined, without repeats (the SDK's
/// `Display` is terse and its `Debug` is noisy).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
