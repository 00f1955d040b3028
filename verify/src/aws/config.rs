//! The SDK configuration of a run: region, credential chain (profile,
//! assumed role, the sandbox's static keys), endpoint override, timeouts and
//! retries.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::spec::AwsAccess;

/// Where a run's AWS calls go and as whom, after the harness has filled in
/// what the spec leaves to it (the sandbox endpoint and its test credentials).
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// The region every client sends its calls to.
    pub region: String,
    /// The spec's `aws { … }` block: profile, role, endpoint, bounds.
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
