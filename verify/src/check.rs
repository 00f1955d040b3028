//! The check model: a check has an id, reads state, and ends in one
//! [`Status`] with a message and typed [`Evidence`]: the resources it looked
//! at, what was expected, what was observed (the runner adds the AWS
//! operations it relied on).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Map, Value};

use crate::context::Context;

pub use report_model::{Evidence, Outcome, Status};

/// What a check concluded from what it read: pass, fail or skip, with evidence.
///
/// The pass and the fail of one check carry the same evidence shape: the
/// same resources, the same `expected`, and `observed` with the same keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub status: Status,
    pub message: String,
    /// Filled in by the check but for `operations`, which the runner records.
    pub evidence: Evidence,
}

impl Finding {
    pub fn pass(message: impl Into<String>, evidence: Evidence) -> Self {
        Finding {
            status: Status::Pass,
            message: message.into(),
            evidence,
        }
    }

    pub fn fail(message: impl Into<String>, evidence: Evidence) -> Self {
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
            evidence: Evidence::default(),
        }
    }

    /// Keeps `value` under `key` in the evidence's details ([`Evidence::detail`]).
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.evidence = self.evidence.detail(key, value);
        self
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
    /// use verify::check::CheckError;
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

/// A check: a public id, what it asserts in a line, and the function that
/// reads and judges.
#[derive(Clone)]
pub struct Check {
    pub id: String,
    /// What a pass means, in a line (`verify checks` lists it).
    pub title: &'static str,
    run: Arc<RunFn>,
}

impl Check {
    /// ```
    /// use verify::check::{Check, Finding};
    /// let check = Check::new("demo.always", "always passes", |_cx| {
    ///     Box::pin(async { Ok(Finding::pass("ok", verify::Evidence::of("demo resource"))) })
    /// });
    /// assert_eq!(check.id, "demo.always");
    /// ```
    pub fn new<F>(id: impl Into<String>, title: &'static str, run: F) -> Self
    where
        F: for<'a> Fn(&'a Context) -> CheckFuture<'a> + Send + Sync + 'static,
    {
        Check {
            id: id.into(),
            title,
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
/// one: any error → error, any fail → fail (all failing messages), else pass.
///
/// The evidence: every item's resources in item order (each once);
/// `expected` and `observed` objects keyed by item (an item that judged
/// nothing, a skipped one, is left out); an item's details under its key.
pub(crate) fn combine(items: Vec<(String, CheckResult)>, none_declared: &str) -> CheckResult {
    if items.is_empty() {
        return Ok(Finding::skip(none_declared));
    }
    let mut evidence = Evidence::default();
    let (mut expected, mut observed) = (Map::new(), Map::new());
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
        let item = finding.evidence;
        evidence = evidence.resources(item.resources);
        if !item.expected.is_null() {
            expected.insert(key.clone(), item.expected);
        }
        if !item.observed.is_null() {
            observed.insert(key.clone(), item.observed);
        }
        if !item.details.is_empty() {
            evidence = evidence.detail(key, Value::Object(item.details));
        }
    }
    let evidence = evidence
        .expected(Value::Object(expected))
        .observed(Value::Object(observed));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(status: Status, resource: &str, min: u32, seen: u32) -> CheckResult {
        Ok(Finding {
            status,
            message: format!("{resource}: {}", status.as_str()),
            evidence: Evidence::of(resource)
                .resource("shared group")
                .expected(json!({ "min_days": min }))
                .observed(json!({ "days": seen })),
        })
    }

    #[test]
    fn combine_keys_expected_and_observed_by_item_and_keeps_resource_order() {
        let combined = combine(
            vec![
                ("b".into(), item(Status::Pass, "budget 'b'", 7, 9)),
                ("a".into(), item(Status::Fail, "budget 'a'", 7, 1)),
                ("c".into(), Ok(Finding::skip("c: not declared"))),
            ],
            "none",
        )
        .unwrap();
        assert_eq!(combined.status, Status::Fail);
        assert_eq!(combined.message, "budget 'a': fail");
        let e = combined.evidence;
        assert_eq!(e.resources, ["budget 'b'", "shared group", "budget 'a'"]);
        assert_eq!(
            e.expected,
            json!({ "b": { "min_days": 7 }, "a": { "min_days": 7 } })
        );
        assert_eq!(
            e.observed,
            json!({ "b": { "days": 9 }, "a": { "days": 1 } })
        );
        assert!(e.operations.is_empty() && e.details.is_empty());
    }

    #[test]
    fn combine_stops_at_an_error_and_its_evidence_names_the_resource() {
        let error = CheckError::Missing {
            operation: "budgets:DescribeBudget".into(),
            resource: "budget 'a'".into(),
            field: "BudgetLimit".into(),
        };
        let result = combine(
            vec![
                ("b".into(), item(Status::Pass, "budget 'b'", 7, 9)),
                ("a".into(), Err(error.clone())),
            ],
            "none",
        );
        assert_eq!(result, Err(error.clone()));
        let e = error.evidence();
        assert_eq!(e.resources, ["budget 'a'"]);
        assert_eq!(e.details["operation"], json!("budgets:DescribeBudget"));
        assert_eq!(e.details["error"], json!(error.to_string()));
        let timeout = CheckError::Timeout(Duration::from_secs(90)).evidence();
        assert!(timeout.resources.is_empty());
        assert_eq!(timeout.details["operation"], Value::Null);
    }

    #[test]
    fn nothing_declared_skips_with_empty_evidence() {
        let skipped = combine(Vec::new(), "no budget declared").unwrap();
        assert_eq!(skipped.status, Status::Skip);
        assert_eq!(skipped.evidence, Evidence::default());
    }
}
