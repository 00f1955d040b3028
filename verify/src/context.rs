//! What a check reads with: the environment spec and the run's AWS access
//! (guarded clients and the describe cache, behind the per-service reads of
//! [`crate::aws`]). Checks see only this; the [`crate::Gate`] owns the
//! catalogue and the runner, so the check model does not depend on the
//! runner.

use crate::aws::AwsClients;
use crate::spec::Environment;

/// The spec and the AWS access of one run.
pub struct Context {
    env: Environment,
    aws: AwsClients,
}

impl Context {
    /// A context over `env` and its clients.
    pub fn new(env: Environment, aws: AwsClients) -> Context {
        Context { env, aws }
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
