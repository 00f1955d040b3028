//! What a check reads with: the environment spec and the run's AWS access
//! (guarded clients and the describe cache, behind the per-service reads of
//! [`crate::aws`]). Checks see only this; the [`crate::Gate`] owns the
//! catalogue and the runner, so the check model does not depend on the
//! runner.

use std::time::Duration;

use crate::aws::AwsClients;
use crate::spec::Environment;
use crate::spec::secret_env::SecretPrefix;

/// The spec and the AWS access of one run.
pub struct Context {
    env: Environment,
    aws: AwsClients,
    run: RunSettings,
    check_timeout: Duration,
}

/// What one run decides beyond the spec: its id, whether canaries may
/// write, and which environment variables may hold secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    /// This run's id: every canary request carries it as `X-Verify-Canary`,
    /// so production can tell (and filter) the run's synthetic traffic.
    pub run_id: String,
    /// Whether a canary that writes may run (`verify run --allow-writes`);
    /// without it such a canary is `skip`, never `pass`.
    pub allow_writes: bool,
    /// Secrets are read only from variables starting with this
    /// (`--secret-env-prefix`; default `VERIFY_SECRET_`).
    pub secret_prefix: SecretPrefix,
}

impl Default for RunSettings {
    /// A fresh run id, no writes, the default secret prefix.
    fn default() -> RunSettings {
        RunSettings {
            run_id: new_run_id(),
            allow_writes: false,
            secret_prefix: SecretPrefix::default(),
        }
    }
}

/// A run id: the start time (UTC, to the second) and 32 random bits,
/// `20261207T101500Z-9f3a01c2`. Unique enough to tell runs apart in a log,
/// and holding nothing about the environment.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        now.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    let time = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace(['-', ':'], "");
    format!("{time}-{:08x}", hasher.finish() as u32)
}

impl Context {
    /// A context over `env` and its clients, with [`RunSettings::default`].
    pub fn new(env: Environment, aws: AwsClients) -> Context {
        Context {
            env,
            aws,
            run: RunSettings::default(),
            check_timeout: crate::gate::DEFAULT_CHECK_TIMEOUT,
        }
    }

    /// The same, under `run`'s settings.
    pub fn with_run(mut self, run: RunSettings) -> Context {
        self.run = run;
        self
    }

    /// The same, each check bounded by `timeout` (the gate's bound: a check
    /// that must finish something on every path, such as a canary's undo,
    /// keeps within it).
    pub(crate) fn with_check_timeout(mut self, timeout: Duration) -> Context {
        self.check_timeout = timeout;
        self
    }

    /// This run's settings: its id, writes, the secret prefix.
    pub fn run(&self) -> &RunSettings {
        &self.run
    }

    /// The bound on each check of this run.
    pub fn check_timeout(&self) -> Duration {
        self.check_timeout
    }

    /// The environment spec.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The run's AWS access: every read and write goes through a
    /// per-service module of [`crate::aws`] with this.
    pub fn aws(&self) -> &AwsClients {
        &self.aws
    }

    /// The run's shared reads (also for what is not AWS: the Cloudflare API).
    pub(crate) fn cache(&self) -> &crate::aws::DescribeCache {
        self.aws.cache()
    }
}
