//! AWS access for one run: the SDK configuration (credential chain, timeouts,
//! retries, endpoint override), the read-only guard, the call counter and the
//! service clients built from them.
//!
//! Every client the gate uses goes through [`AwsClients::new`], so every call
//! is bounded in time, retried with backoff on throttling, counted, and
//! refused before it leaves the process if it would change anything while the
//! run is read-only.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::spec::AwsAccess;

/// Where a run's AWS calls go and as whom, after the harness has filled in
/// what the spec leaves to it (the sandbox endpoint and its test credentials).
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub region: String,
    pub access: AwsAccess,
    /// Static credentials (the sandbox's); `None` uses aws-config's chain.
    pub static_credentials: Option<(String, String)>,
}

/// Builds the shared SDK configuration: region, credentials (chain, profile,
/// optional assumed role), endpoint override, timeouts and retries.
pub async fn sdk_config(connection: &Connection) -> SdkConfig {
    let access = &connection.access;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(connection.region.clone()))
        .timeout_config(timeout_config(access))
        .retry_config(retry_config(access));
    if let Some(profile) = &access.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &access.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some((key, secret)) = &connection.static_credentials {
        loader =
            loader.credentials_provider(Credentials::new(key, secret, None, None, "verify-static"));
    }
    let base = loader.load().await;
    match &access.assume_role {
        None => base,
        Some(role_arn) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name("verify")
                .configure(&base)
                .build()
                .await;
            base.into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build()
        }
    }
}

/// Connect, read and per-operation bounds: no call waits forever.
pub fn timeout_config(access: &AwsAccess) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(access.connect_timeout)
        .read_timeout(access.read_timeout)
        .operation_attempt_timeout(access.read_timeout + access.connect_timeout)
        .operation_timeout(access.operation_timeout)
        .build()
}

/// Standard retry mode: throttling and transient errors back off exponentially.
pub fn retry_config(access: &AwsAccess) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(access.max_attempts)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

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
    pub service: String,
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
struct ReadOnlyGuard {
    mode: AccessMode,
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
fn operation_of(cfg: &ConfigBag) -> (String, String) {
    match cfg.load::<Metadata>() {
        Some(m) => (m.service().to_lowercase(), m.name().to_string()),
        None => ("unknown".to_string(), "unknown".to_string()),
    }
}

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
    pub fn total_operations(&self) -> u64 {
        self.operations.values().sum()
    }
}

impl CallCounter {
    pub fn snapshot(&self) -> CallCounts {
        self.inner.lock().expect("call counter poisoned").clone()
    }

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
        crate::context::OperationLog::note(&key);
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

/// The service clients a run uses, each guarded and counted.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub rds: aws_sdk_rds::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub budgets: aws_sdk_budgets::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub acm: aws_sdk_acm::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ses: aws_sdk_sesv2::Client,
    /// Only for `GetCallerIdentity`: whose credentials the run holds ([`crate::Gate::confirm_identity`]).
    pub sts: aws_sdk_sts::Client,
    pub mode: AccessMode,
    pub calls: CallCounter,
}

impl AwsClients {
    /// The region each client sends its calls to (`None` when a client has none),
    /// by service name. Every entry must equal the spec's region
    /// ([`crate::Gate::confirm_identity`] refuses the run otherwise).
    pub fn regions(&self) -> Vec<(&'static str, Option<String>)> {
        macro_rules! regions {
            ($($name:literal => $field:ident),* $(,)?) => {
                vec![$(($name, self.$field.config().region().map(|r| r.to_string()))),*]
            };
        }
        regions![
            "rds" => rds,
            "ec2" => ec2,
            "budgets" => budgets,
            "ecs" => ecs,
            "elasticloadbalancing" => elb,
            "acm" => acm,
            "cloudwatch" => cloudwatch,
            "sns" => sns,
            "events" => events,
            "scheduler" => scheduler,
            "logs" => logs,
            "sesv2" => ses,
            "sts" => sts,
        ]
    }

    /// Clients from one shared [`SdkConfig`], with the read-only guard and the counter.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use verify::aws::{AccessMode, AwsClients, Connection, sdk_config};
    /// let connection = Connection { region: "eu-central-1".into(), ..Default::default() };
    /// let clients = AwsClients::new(&sdk_config(&connection).await, AccessMode::read_only());
    /// // A write is refused before it is sent:
    /// let refused = clients.rds.delete_db_instance().db_instance_identifier("x").send().await;
    /// assert!(refused.is_err());
    /// # }
    /// ```
    pub fn new(config: &SdkConfig, mode: AccessMode) -> Self {
        let calls = CallCounter::default();
        let guard = ReadOnlyGuard { mode: mode.clone() };
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(config)
                        .interceptor(guard.clone())
                        .interceptor(calls.clone())
                        .build(),
                )
            };
        }
        AwsClients {
            rds: client!(aws_sdk_rds),
            ec2: client!(aws_sdk_ec2),
            budgets: client!(aws_sdk_budgets),
            ecs: client!(aws_sdk_ecs),
            elb: client!(aws_sdk_elasticloadbalancingv2),
            acm: client!(aws_sdk_acm),
            cloudwatch: client!(aws_sdk_cloudwatch),
            sns: client!(aws_sdk_sns),
            events: client!(aws_sdk_eventbridge),
            scheduler: client!(aws_sdk_scheduler),
            logs: client!(aws_sdk_cloudwatchlogs),
            ses: client!(aws_sdk_sesv2),
            sts: client!(aws_sdk_sts),
            mode,
            calls,
        }
    }
}
