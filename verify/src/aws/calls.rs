//! What a run called: the call counter (operations started, HTTP requests
//! sent) and the operation log of each piece of work (a check, a drill step).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::guard::operation_of;

/// Counts AWS operations and HTTP attempts per `service:Operation`.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    inner: Arc<Mutex<CallCounts>>,
}

/// What a [`CallCounter`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallCounts {
    /// Operations started (one per SDK call).
    pub operations: BTreeMap<String, u64>,
    /// HTTP requests sent (retries included).
    pub requests: u64,
}

impl CallCounts {
    /// Operations started, all services.
    pub fn total_operations(&self) -> u64 {
        self.operations.values().sum()
    }
}

impl CallCounter {
    /// What was counted so far.
    pub fn snapshot(&self) -> CallCounts {
        self.inner.lock().expect("call counter poisoned").clone()
    }

    /// Forgets what was counted.
    pub fn reset(&self) {
        *self.inner.lock().expect("call counter poisoned") = CallCounts::default();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "verify::CallCounter"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = operation_of(cfg);
        let key = format!("{service}:{operation}");
        OperationLog::note(&key);
        *self
            .inner
            .lock()
            .expect("call counter poisoned")
            .operations
            .entry(key)
            .or_default() += 1;
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.lock().expect("call counter poisoned").requests += 1;
        Ok(())
    }
}

/// The AWS operations (`service:Operation`) a piece of work relied on.
#[derive(Debug, Clone, Default)]
pub struct OperationLog(Arc<Mutex<BTreeSet<String>>>);

tokio::task_local! {
    static CURRENT: OperationLog;
}

impl OperationLog {
    /// Runs `work`, recording into this log every AWS operation it calls
    /// (the call counter reports to the log in scope) and every operation
    /// behind a cached read it is served.
    pub async fn record<F: Future>(&self, work: F) -> F::Output {
        CURRENT.scope(self.clone(), work).await
    }

    /// What was recorded, sorted.
    pub fn operations(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("operation log poisoned")
            .iter()
            .cloned()
            .collect()
    }

    /// Adds `operation` to the log of the work in scope, if any.
    pub fn note(operation: &str) {
        let _ = CURRENT.try_with(|log| {
            log.0
                .lock()
                .expect("operation log poisoned")
                .insert(operation.to_string());
        });
    }
}
