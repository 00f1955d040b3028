//! The read-only guard: every mutating call is refused before it is
//! serialised, unless a drill holds a [`WriteGuard`] admitting exactly it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Whether a run may change anything. Plain verification is read-only; a
/// drill admits exactly its own operations for as long as it holds the
/// [`WriteGuard`] ([`AccessMode::allow_writes`]).
#[derive(Debug, Clone, Default)]
pub struct AccessMode {
    /// Admitted writes, as `service:Operation` (`rds:RebootDBInstance`),
    /// counted so two guards admitting the same operation nest.
    admitted: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl AccessMode {
    /// A read-only mode: every mutating operation is refused.
    pub fn read_only() -> Self {
        Self::default()
    }

    /// Admits exactly `operations` (each `service:Operation`, service as the
    /// SDK names it in lower case: `rds:RebootDBInstance`, `ecs:StopTask`)
    /// while the returned guard lives; any other write is still refused.
    ///
    /// ```
    /// use verify::aws::AccessMode;
    /// let mode = AccessMode::read_only();
    /// {
    ///     let _drill = mode.allow_writes(&["rds:RebootDBInstance"]);
    ///     assert!(mode.admits("rds", "RebootDBInstance"));
    ///     assert!(!mode.admits("rds", "DeleteDBInstance"));
    /// }
    /// assert!(!mode.admits("rds", "RebootDBInstance"));
    /// ```
    pub fn allow_writes(&self, operations: &[&str]) -> WriteGuard {
        let operations: Vec<String> = operations.iter().map(|o| o.to_string()).collect();
        let mut admitted = self.admitted.lock().expect("access mode poisoned");
        for op in &operations {
            *admitted.entry(op.clone()).or_default() += 1;
        }
        WriteGuard {
            admitted: self.admitted.clone(),
            operations,
        }
    }

    /// Whether a call of `service:operation` may be sent now.
    pub fn admits(&self, service: &str, operation: &str) -> bool {
        is_read_only(operation)
            || self
                .admitted
                .lock()
                .expect("access mode poisoned")
                .contains_key(&format!("{service}:{operation}"))
    }
}

/// Returned by [`AccessMode::allow_writes`]; its operations are refused again when dropped.
pub struct WriteGuard {
    admitted: Arc<Mutex<BTreeMap<String, usize>>>,
    operations: Vec<String>,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        // A poisoned lock still holds the map: refusing again matters more than the panic.
        let mut admitted = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        for op in &self.operations {
            if let Some(n) = admitted.get_mut(op) {
                *n -= 1;
                if *n == 0 {
                    admitted.remove(op);
                }
            }
        }
    }
}

/// Operation-name prefixes that only read. Anything else is a write.
const READ_PREFIXES: &[&str] = &[
    "Describe", "Get", "List", "Head", "Lookup", "BatchGet", "Search", "Filter",
];

/// True when `operation` (an AWS operation name such as `DescribeDBInstances`) only reads.
pub fn is_read_only(operation: &str) -> bool {
    READ_PREFIXES.iter().any(|p| operation.starts_with(p))
}

/// The error a refused call fails with.
#[derive(Debug)]
pub struct WriteRefused {
    /// The service, as the SDK names it in lower case.
    pub service: String,
    /// The operation (`ModifyDBInstance`).
    pub operation: String,
}

impl fmt::Display for WriteRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused {}:{}: verification is read-only; only a drill may change state",
            self.service, self.operation
        )
    }
}

impl std::error::Error for WriteRefused {}

/// Refuses every non-read operation before it is serialised, unless a drill
/// holds a [`WriteGuard`] admitting exactly that operation.
#[derive(Debug, Clone)]
pub(super) struct ReadOnlyGuard {
    pub(super) mode: AccessMode,
}

impl Intercept for ReadOnlyGuard {
    fn name(&self) -> &'static str {
        "verify::ReadOnlyGuard"
    }

    // The operation's metadata is in the bag from this hook on (not yet in
    // `read_before_execution`); nothing has been serialised or sent.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = operation_of(cfg);
        if self.mode.admits(&service, &operation) {
            Ok(())
        } else {
            Err(Box::new(WriteRefused { service, operation }))
        }
    }
}

/// `(service, operation)` of the call in flight; unknown is refused rather than guessed.
pub(super) fn operation_of(cfg: &ConfigBag) -> (String, String) {
    match cfg.load::<Metadata>() {
        Some(m) => (m.service().to_lowercase(), m.name().to_string()),
        None => ("unknown".to_string(), "unknown".to_string()),
    }
}
