//! One run of the gate: an environment, its clients and its describe cache,
//! and the catalogue of checks run concurrently with bounded concurrency.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::json;

use crate::aws::{AccessMode, AwsClients, Connection, sdk_config};
use crate::cache::DescribeCache;
use crate::check::{Check, CheckError, Outcome, Status};
use crate::checks;
use crate::spec::Environment;

/// How many checks run at once by default.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Bound on one check, including all its calls and retries.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(90);

/// One verification run over one environment.
pub struct Gate {
    env: Environment,
    aws: AwsClients,
    cache: DescribeCache,
    concurrency: usize,
    check_timeout: Duration,
}

impl Gate {
    /// Connects to the environment's AWS account, read-only.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use verify::{Gate, Selection, aws::Connection};
    /// let env = verify::spec::load("infra-tests/environments/production.hcl".as_ref())?;
    /// let gate = Gate::connect(env.clone(), Connection::for_environment(&env)).await;
    /// let outcomes = gate.run(&Selection::all(), |o| println!("{} {:?}", o.id, o.status)).await;
    /// assert!(outcomes.iter().all(|o| !o.status.blocks_go()));
    /// # Ok(()) }
    /// ```
    pub async fn connect(env: Environment, connection: Connection) -> Gate {
        let config = sdk_config(&connection).await;
        let aws = AwsClients::new(&config, AccessMode::read_only());
        Gate::with_clients(env, aws)
    }

    /// A gate over clients built elsewhere (tests).
    pub fn with_clients(env: Environment, aws: AwsClients) -> Gate {
        Gate {
            env,
            aws,
            cache: DescribeCache::default(),
            concurrency: DEFAULT_CONCURRENCY,
            check_timeout: DEFAULT_CHECK_TIMEOUT,
        }
    }

    pub fn with_concurrency(mut self, concurrency: usize) -> Gate {
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn with_check_timeout(mut self, timeout: Duration) -> Gate {
        self.check_timeout = timeout;
        self
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

    /// Every check of the catalogue for this environment (undeclared areas skip).
    pub fn checks(&self) -> Vec<Check> {
        checks::catalogue(&self.env)
    }

    /// Runs the selected checks concurrently; `on_outcome` sees each as it ends.
    /// Outcomes come back in catalogue order.
    pub async fn run(
        &self,
        selection: &Selection,
        mut on_outcome: impl FnMut(&Outcome),
    ) -> Vec<Outcome> {
        let selected: Vec<(usize, Check)> = self
            .checks()
            .into_iter()
            .filter(|c| selection.selects(&c.id))
            .enumerate()
            .collect();
        let mut outcomes: Vec<(usize, Outcome)> = futures_util::stream::iter(selected)
            .map(|(i, check)| async move { (i, self.run_check(&check).await) })
            .buffer_unordered(self.concurrency)
            .inspect(|(_, outcome)| on_outcome(outcome))
            .collect()
            .await;
        outcomes.sort_by_key(|(i, _)| *i);
        outcomes.into_iter().map(|(_, o)| o).collect()
    }

    /// Runs one check by id (`None` when the catalogue has no such id).
    pub async fn run_id(&self, id: &str) -> Option<Outcome> {
        let check = self.checks().into_iter().find(|c| c.id == id)?;
        Some(self.run_check(&check).await)
    }

    async fn run_check(&self, check: &Check) -> Outcome {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.check_timeout, check.run(self)).await {
            Ok(result) => result,
            Err(_) => Err(CheckError::Timeout(self.check_timeout)),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(finding) => Outcome {
                id: check.id.clone(),
                status: finding.status,
                message: finding.message,
                duration_ms,
                evidence: finding.evidence,
            },
            Err(error) => Outcome {
                id: check.id.clone(),
                status: Status::Error,
                message: error.to_string(),
                duration_ms,
                evidence: json!({ "error": error.to_string(), "operation": error.operation() }),
            },
        }
    }
}

/// Which check ids a run includes: `--only` globs (all when empty) minus `--skip` globs.
#[derive(Debug, Clone)]
pub struct Selection {
    only: Option<GlobSet>,
    skip: GlobSet,
}

impl Selection {
    pub fn all() -> Selection {
        Selection {
            only: None,
            skip: GlobSet::empty(),
        }
    }

    /// ```
    /// let s = verify::Selection::new(&["rds.*".into()], &["rds.backups".into()]).unwrap();
    /// assert!(s.selects("rds.multi_az"));
    /// assert!(!s.selects("rds.backups"));
    /// assert!(!s.selects("budgets.monthly"));
    /// ```
    pub fn new(only: &[String], skip: &[String]) -> Result<Selection, globset::Error> {
        fn set(globs: &[String]) -> Result<GlobSet, globset::Error> {
            let mut builder = GlobSetBuilder::new();
            for g in globs {
                builder.add(Glob::new(g)?);
            }
            builder.build()
        }
        Ok(Selection {
            only: if only.is_empty() {
                None
            } else {
                Some(set(only)?)
            },
            skip: set(skip)?,
        })
    }

    pub fn selects(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.is_match(id)) && !self.skip.is_match(id)
    }
}

impl Connection {
    /// The connection the spec describes, before any harness overrides.
    pub fn for_environment(env: &Environment) -> Connection {
        Connection {
            region: env.region.clone(),
            access: env.aws.clone(),
            static_credentials: None,
        }
    }
}
