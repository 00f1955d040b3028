//! What a check reads with: the environment spec, the guarded AWS clients
//! and the run's shared reads. Checks see only this; the [`crate::Gate`]
//! owns the catalogue and the runner, so the check model does not depend on
//! the runner.
//!
//! The context also keeps, per running check, the AWS operations it relied
//! on: every call it made, and the calls behind every cached read it was
//! served. The runner puts them in the outcome's evidence (`operations`), so
//! evidence names what was actually called, never a hand-written list.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::aws::AwsClients;
use crate::cache::DescribeCache;
use crate::spec::Environment;

/// The spec, the clients and the shared reads of one run.
pub struct Context {
    env: Environment,
    aws: AwsClients,
    cache: DescribeCache,
}

impl Context {
    /// A context over `env` and its clients, with an empty describe cache.
    ///
    /// ```no_run
    /// # async fn demo(env: verify::Environment, aws: verify::aws::AwsClients) {
    /// let cx = verify::context::Context::new(env, aws);
    /// assert!(cx.env().rds.len() <= 16);
    /// # }
    /// ```
    pub fn new(env: Environment, aws: AwsClients) -> Context {
        Context {
            env,
            aws,
            cache: DescribeCache::default(),
        }
    }

    pub fn env(&self) -> &Environment {
        &self.env
    }

    pub fn aws(&self) -> &AwsClients {
        &self.aws
    }

    pub fn cache(&self) -> &DescribeCache {
        &self.cache
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
