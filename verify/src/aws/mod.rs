//! AWS access for one run, and every AWS call the library makes.
//!
//! [`AwsClients`] holds the service clients, built from one SDK
//! configuration ([`sdk_config`]) with the read-only guard
//! ([`AccessMode`]) and the call counter ([`CallCounter`]), and the run's
//! describe cache. Its clients are private to this module: checks and
//! drills read and write through the per-service modules below (one file
//! per AWS service), so every call is bounded in time, retried with backoff
//! on throttling, counted, credited to the check that relied on it, and
//! refused before it leaves the process if it would change anything while
//! the run is read-only. Outside this module an SDK call does not compile.

use std::sync::Arc;

use aws_config::SdkConfig;

mod cache;
mod calls;
mod config;
mod guard;
#[cfg(test)]
mod tests;

pub(crate) mod acm;
pub(crate) mod budgets;
pub(crate) mod cloudwatch;
pub(crate) mod ec2;
pub(crate) mod ecs;
pub(crate) mod elb;
pub(crate) mod events;
pub(crate) mod fis;
pub(crate) mod health;
pub(crate) mod kms;
pub(crate) mod logs;
pub(crate) mod rds;
pub(crate) mod s3;
pub(crate) mod s3control;
pub(crate) mod scheduler;
pub(crate) mod secretsmanager;
pub(crate) mod ses;
pub(crate) mod sns;
pub(crate) mod sts;
pub(crate) mod wafv2;

pub(crate) use cache::DescribeCache;
pub use calls::{CallCounter, CallCounts, OperationLog};
pub use config::{Connection, retry_config, sdk_config, timeout_config};
use guard::ReadOnlyGuard;
pub use guard::{AccessMode, WriteGuard, WriteRefused, is_read_only};

/// The clients whose calls go to one region whatever the spec's: the named
/// exceptions to the region guard ([`crate::Gate::confirm_identity`]), each
/// with why. Budgets is not here: its client has the spec's region and the
/// SDK sends it to the global endpoint.
pub const FIXED_REGIONS: [(&str, &str, &str); 2] = [
    (
        "health",
        "us-east-1",
        "AWS Health's API is served from us-east-1 for the whole account",
    ),
    (
        "logs@us-east-1",
        "us-east-1",
        "AWS Chatbot writes its delivery logs to CloudWatch Logs in us-east-1",
    ),
];

/// The region [`FIXED_REGIONS`] names for a client, if it names one.
pub fn fixed_region(service: &str) -> Option<&'static str> {
    FIXED_REGIONS
        .iter()
        .find(|(name, _, _)| *name == service)
        .map(|(_, region, _)| *region)
}

/// The service clients a run uses, each guarded and counted.
#[derive(Clone, Debug)]
pub struct AwsClients {
    rds: aws_sdk_rds::Client,
    ec2: aws_sdk_ec2::Client,
    budgets: aws_sdk_budgets::Client,
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    acm: aws_sdk_acm::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    events: aws_sdk_eventbridge::Client,
    scheduler: aws_sdk_scheduler::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    ses: aws_sdk_sesv2::Client,
    kms: aws_sdk_kms::Client,
    secretsmanager: aws_sdk_secretsmanager::Client,
    /// Path-style when the endpoint is overridden (the sandbox).
    s3: aws_sdk_s3::Client,
    s3control: aws_sdk_s3control::Client,
    wafv2: aws_sdk_wafv2::Client,
    /// AWS FIS: only the AZ-outage drill's experiment.
    fis: aws_sdk_fis::Client,
    /// AWS Health: its API is served from us-east-1 whatever the spec's
    /// region ([`FIXED_REGIONS`]).
    health: aws_sdk_health::Client,
    /// CloudWatch Logs in us-east-1: where AWS Chatbot (Amazon Q Developer in
    /// chat applications) writes its logs ([`FIXED_REGIONS`]).
    logs_us_east_1: aws_sdk_cloudwatchlogs::Client,
    /// Only for `GetCallerIdentity`: whose credentials the run holds ([`crate::Gate::confirm_identity`]).
    sts: aws_sdk_sts::Client,
    /// Whether writes are admitted (a drill's [`AccessMode::allow_writes`]).
    pub mode: AccessMode,
    /// Every operation and request the clients made.
    pub calls: CallCounter,
    /// The run's shared reads: a resource read by several checks is fetched once.
    cache: Arc<DescribeCache>,
}

/// S3 Control's endpoint rules put the account id in the host
/// (`123456789012.s3-control.eu-central-1.amazonaws.com`), an overridden
/// endpoint included (`123456789012.127.0.0.1:PORT` does not resolve): when
/// the endpoint is overridden (the sandbox), S3 Control uses it as given.
/// Signed as `s3`, the service's signing name, as the rules would.
#[derive(Debug)]
struct OverriddenEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for OverriddenEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

impl AwsClients {
    /// The region each client sends its calls to (`None` when a client has none),
    /// by service name. Every entry must equal the spec's region, or the
    /// region [`FIXED_REGIONS`] names for it
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
            "kms" => kms,
            "secretsmanager" => secretsmanager,
            "s3" => s3,
            "s3control" => s3control,
            "wafv2" => wafv2,
            "fis" => fis,
            "sts" => sts,
            "health" => health,
            "logs@us-east-1" => logs_us_east_1,
        ]
    }

    /// Clients from one shared [`SdkConfig`], with the read-only guard and the counter.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use verify::aws::{AccessMode, AwsClients, Connection, sdk_config};
    /// let connection = Connection { region: "eu-central-1".into(), ..Default::default() };
    /// let clients = AwsClients::new(&sdk_config(&connection).await, AccessMode::read_only());
    /// assert_eq!(clients.calls.snapshot().total_operations(), 0);
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
        // A client whose calls go to the region FIXED_REGIONS names for it.
        macro_rules! pinned {
            ($krate:ident, $name:literal) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(config)
                        .region(aws_config::Region::from_static(
                            fixed_region($name).expect(concat!($name, " is in FIXED_REGIONS")),
                        ))
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
            kms: client!(aws_sdk_kms),
            secretsmanager: client!(aws_sdk_secretsmanager),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(config)
                    .force_path_style(config.endpoint_url().is_some())
                    .interceptor(guard.clone())
                    .interceptor(calls.clone())
                    .build(),
            ),
            s3control: {
                let builder = aws_sdk_s3control::config::Builder::from(config)
                    .interceptor(guard.clone())
                    .interceptor(calls.clone());
                aws_sdk_s3control::Client::from_conf(
                    match config.endpoint_url() {
                        Some(url) => builder.endpoint_resolver(OverriddenEndpoint(url.to_string())),
                        None => builder,
                    }
                    .build(),
                )
            },
            wafv2: client!(aws_sdk_wafv2),
            fis: client!(aws_sdk_fis),
            health: pinned!(aws_sdk_health, "health"),
            logs_us_east_1: pinned!(aws_sdk_cloudwatchlogs, "logs@us-east-1"),
            sts: client!(aws_sdk_sts),
            mode,
            calls,
            cache: Arc::default(),
        }
    }

    /// The same clients over an empty describe cache: later reads see what
    /// changed since (a drill's steady state after recovery).
    pub fn fresh(&self) -> Self {
        AwsClients {
            cache: Arc::default(),
            ..self.clone()
        }
    }

    /// The run's describe cache.
    pub(crate) fn cache(&self) -> &DescribeCache {
        &self.cache
    }
}
