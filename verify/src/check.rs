//! The check model: a check has an id, reads state, and ends in one
//! [`Status`] with a message and structured evidence.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use crate::context::Context;

pub use report_model::{Outcome, Status};

/// What a check concluded from what it read: pass, fail or skip, with evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub status: Status,
    pub message: String,
    pub evidence: Value,
}

impl Finding {
    pub fn pass(message: impl Into<String>, evidence: Value) -> Self {
        Finding {
            status: Status::Pass,
            message: message.into(),
            evidence,
        }
    }

    pub fn fail(message: impl Into<String>, evidence: Value) -> Self {
        Finding {
            status: Status::Fail,
            message: message.into(),
            evidence,
        }
    }

    pub fn skip(message: impl Into<String>) -> Self {
        Finding {
            status: Status::Skip,
            message: message.into(),
            evidence: Value::Null,
        }
    }
}

/// Why a check could not look. Always reported as `error`, never as `pass`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    /// The API answered with an error, or could not be reached.
    #[error("{operation} failed for {resource}: {message}")]
    Aws {
        operation: String,
        resource: String,
        code: Option<String>,
        message: String,
    },
    /// A declared resource does not exist (or is not visible to these credentials).
    #[error("{operation}: {resource} not found")]
    NotFound { operation: String, resource: String },
    /// The check did not finish within its bound.
    #[error("check did not finish within {0:?}")]
    Timeout(Duration),
    /// A probe outside AWS (TLS, HTTP, DNS, the Cloudflare API) could not look.
    #[error("{probe} failed for {target}: {message}")]
    Probe {
        probe: String,
        target: String,
        message: String,
    },
    /// The API answered but left out (or garbled) a value the judgement
    /// depends on: "AWS did not say" is never read as "fine".
    #[error("{operation} did not report {field} for {resource}")]
    Missing {
        operation: String,
        resource: String,
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

/// A declared duration as a person wrote it: `35d`, `2h`, `15m`, else
/// humantime's form (`1m 30s`). humantime alone turns 35 days into months.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(verify::check::human_duration(Duration::from_secs(35 * 86_400)), "35d");
/// assert_eq!(verify::check::human_duration(Duration::from_secs(7200)), "2h");
/// assert_eq!(verify::check::human_duration(Duration::from_secs(90)), "1m 30s");
/// ```
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        _ => humantime::format_duration(Duration::from_secs(s)).to_string(),
    }
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

/// What a check function returns.
pub type CheckResult = Result<Finding, CheckError>;

/// The future a check's run function returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

type RunFn = dyn for<'a> Fn(&'a Context) -> CheckFuture<'a> + Send + Sync;

/// A check: a public id and the function that reads and judges.
#[derive(Clone)]
pub struct Check {
    pub id: String,
    run: Arc<RunFn>,
}

impl Check {
    /// ```
    /// use verify::check::{Check, Finding};
    /// let check = Check::new("demo.always", |_cx| {
    ///     Box::pin(async { Ok(Finding::pass("ok", serde_json::Value::Null)) })
    /// });
    /// assert_eq!(check.id, "demo.always");
    /// ```
    pub fn new<F>(id: impl Into<String>, run: F) -> Self
    where
        F: for<'a> Fn(&'a Context) -> CheckFuture<'a> + Send + Sync + 'static,
    {
        Check {
            id: id.into(),
            run: Arc::new(run),
        }
    }

    /// The area is the id up to the first dot (`rds.multi_az` → `rds`).
    pub fn area(&self) -> &str {
        area_of(&self.id)
    }

    pub(crate) fn run<'a>(&self, cx: &'a Context) -> CheckFuture<'a> {
        (self.run)(cx)
    }
}

impl Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("id", &self.id).finish()
    }
}

/// `rds.multi_az` → `rds`; `scheduled.audit-partition-roll.succeeded` → `scheduled`.
pub fn area_of(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Judges every declared item of an area and folds the per-item findings into
/// one: any error → error, any fail → fail (all failing messages), else pass
/// with evidence keyed by item.
pub(crate) fn combine(items: Vec<(String, CheckResult)>, none_declared: &str) -> CheckResult {
    if items.is_empty() {
        return Ok(Finding::skip(none_declared));
    }
    let mut evidence = serde_json::Map::new();
    let mut failures = Vec::new();
    let mut passes = Vec::new();
    let mut skips = 0;
    for (key, result) in items {
        let finding = result?;
        match finding.status {
            Status::Fail => failures.push(finding.message.clone()),
            Status::Skip => skips += 1,
            _ => passes.push(finding.message.clone()),
        }
        evidence.insert(key, finding.evidence);
    }
    let evidence = Value::Object(evidence);
    if !failures.is_empty() {
        Ok(Finding::fail(failures.join("; "), evidence))
    } else if passes.is_empty() && skips > 0 {
        Ok(Finding {
            status: Status::Skip,
            message: none_declared.into(),
            evidence,
        })
    } else {
        Ok(Finding::pass(passes.join("; "), evidence))
    }
}
