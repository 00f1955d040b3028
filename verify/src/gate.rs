//! One run of the gate: an environment, its clients and its describe cache,
//! and the catalogue of checks run concurrently with bounded concurrency.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::aws::OperationLog;
use crate::aws::{AccessMode, AwsClients, Connection, sdk_config};
use crate::check::{Check, CheckError, Outcome, Status};
use crate::checks;
use crate::context::{Context, RunSettings};
use crate::spec::Environment;

/// How many checks run at once by default.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Bound on one check, including all its calls and retries.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(90);

/// One verification run over one environment: the catalogue, and the
/// runner that gives each check the run's [`Context`].
pub struct Gate {
    cx: Context,
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
    /// // Before any check: the declared account and region, or no run at all.
    /// let identity = gate.confirm_identity().await?;
    /// println!("verifying account {} as {}", identity.account, identity.arn);
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
            cx: Context::new(env, aws),
            concurrency: DEFAULT_CONCURRENCY,
            check_timeout: DEFAULT_CHECK_TIMEOUT,
        }
    }

    /// The same environment and clients over an empty describe cache, so its
    /// reads see what changed since (a drill's steady state after recovery).
    pub fn fresh(&self) -> Gate {
        Gate {
            cx: Context::new(self.env().clone(), self.aws().fresh())
                .with_run(self.cx.run().clone())
                .with_check_timeout(self.check_timeout),
            concurrency: self.concurrency,
            check_timeout: self.check_timeout,
        }
    }

    /// The same gate under `run`'s settings (its id, whether canaries may
    /// write, the secret prefix); [`RunSettings::default`] otherwise.
    pub fn with_run(mut self, run: RunSettings) -> Gate {
        self.cx = self.cx.with_run(run);
        self
    }

    /// At most `concurrency` checks at once (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Gate {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Each check bounded by `timeout`, its calls and retries included.
    pub fn with_check_timeout(mut self, timeout: Duration) -> Gate {
        self.check_timeout = timeout;
        self.cx = self.cx.with_check_timeout(timeout);
        self
    }

    /// What the checks read with.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// The environment spec.
    pub fn env(&self) -> &Environment {
        self.cx.env()
    }

    /// The clients, their access mode and call counter.
    pub fn aws(&self) -> &AwsClients {
        self.cx.aws()
    }

    /// Confirms, before any check, that the run verifies the environment the
    /// spec declares: every AWS client sends its calls to the spec's `region`,
    /// and the credentials belong to the spec's `account_id`
    /// (one `sts:GetCallerIdentity`, through the same read-only guard and call
    /// counter as every other call). Without this a gate pointed at the wrong
    /// profile would verify some other account and call it production.
    ///
    /// The region is checked first, so a mismatch there makes no call at all.
    pub async fn confirm_identity(&self) -> Result<CallerIdentity, IdentityError> {
        check_regions(&self.env().region, &self.aws().regions())?;
        let answer = crate::aws::sts::caller_identity(self.aws())
            .await
            .map_err(IdentityError::Sts)?;
        let identity = CallerIdentity {
            account: answer
                .account()
                .filter(|a| !a.is_empty())
                .ok_or(IdentityError::Incomplete("Account"))?
                .to_string(),
            arn: answer
                .arn()
                .filter(|a| !a.is_empty())
                .ok_or(IdentityError::Incomplete("Arn"))?
                .to_string(),
            region: self.env().region.clone(),
        };
        check_account(&self.env().account_id, &identity)?;
        Ok(identity)
    }

    /// Every check of the catalogue for this environment (undeclared areas skip).
    pub fn checks(&self) -> Vec<Check> {
        checks::catalogue(self.env())
    }

    /// Runs the selected checks concurrently; `on_outcome` sees each as it ends.
    /// Outcomes come back in catalogue order.
    pub async fn run(
        &self,
        selection: &Selection,
        mut on_outcome: impl FnMut(&Outcome),
    ) -> Vec<Outcome> {
        let selected: Vec<Check> = self
            .checks()
            .into_iter()
            .filter(|c| selection.selects(&c.id))
            .collect();
        self.run_checks(selected, &mut on_outcome).await
    }

    /// Runs `checks` concurrently, in catalogue order but for those marked
    /// [`Check::after_canaries`] (a rate-limit canary): they are queued last
    /// and each starts only once every other selected canary has ended,
    /// whatever the spec's order. Queued last, they never hold a slot that
    /// a canary they wait for needs. Outcomes come back in `checks` order.
    async fn run_checks(
        &self,
        checks: Vec<Check>,
        on_outcome: &mut impl FnMut(&Outcome),
    ) -> Vec<Outcome> {
        let mut selected: Vec<(usize, Check)> = checks.into_iter().enumerate().collect();
        // Stable: the order among each kind is kept.
        selected.sort_by_key(|(_, c)| c.runs_after_canaries());
        let awaited = selected
            .iter()
            .filter(|(_, c)| c.is_awaited_canary())
            .count();
        let awaited = u32::try_from(awaited).unwrap_or(u32::MAX);
        // One permit per awaited canary that has ended.
        let ended = tokio::sync::Semaphore::new(0);
        let ended = &ended;
        let mut outcomes: Vec<(usize, Outcome)> = futures_util::stream::iter(selected)
            .map(|(i, check)| async move {
                if check.runs_after_canaries() {
                    // Every permit once, then given back for the next.
                    let _all = ended.acquire_many(awaited).await;
                }
                let outcome = self.run_check(&check).await;
                if check.is_awaited_canary() {
                    ended.add_permits(1);
                }
                (i, outcome)
            })
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

    /// Runs one check, bounded in time; its evidence's `operations` are the
    /// AWS operations it relied on, as recorded (never hand-written).
    async fn run_check(&self, check: &Check) -> Outcome {
        let started = Instant::now();
        let log = OperationLog::default();
        let bounded = tokio::time::timeout(self.check_timeout, log.record(check.run(&self.cx)));
        let result = match bounded.await {
            Ok(result) => result,
            Err(_) => Err(CheckError::Timeout(self.check_timeout)),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, message, mut evidence) = match result {
            Ok(finding) => (finding.status, finding.message, finding.evidence),
            Err(error) => (Status::Error, error.to_string(), error.evidence()),
        };
        evidence.operations = log.operations();
        Outcome {
            id: check.id.clone(),
            status,
            message,
            duration_ms,
            evidence,
        }
    }
}

/// Whose credentials a run holds and where its calls go, once confirmed
/// against the spec ([`Gate::confirm_identity`]); reports carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallerIdentity {
    /// The 12-digit account the credentials belong to (equals the spec's `account_id`).
    pub account: String,
    /// The caller's ARN (user, or assumed-role session).
    pub arn: String,
    /// The region every client uses (equals the spec's `region`).
    pub region: String,
}

/// Why a run must not start: it would verify something other than what the spec declares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The credentials are another account’s.
    #[error(
        "wrong AWS account: the spec declares account_id {declared}, but the credentials \
         belong to account {observed} ({arn}); refusing to verify another account"
    )]
    WrongAccount {
        /// The spec’s `account_id`.
        declared: String,
        /// The caller’s.
        observed: String,
        /// The caller’s ARN.
        arn: String,
    },
    /// A client sends its calls to another region than the spec’s.
    #[error(
        "wrong AWS region: the {service} client must use region {declared} (the spec's, or the \
         one its service is pinned to), but uses {}",
        observed.as_deref().unwrap_or("no region")
    )]
    WrongRegion {
        /// The spec’s region, or the client's fixed one.
        declared: String,
        /// The client’s service.
        service: &'static str,
        /// Its region, if it has one.
        observed: Option<String>,
    },
    /// `sts:GetCallerIdentity` failed.
    #[error("cannot confirm the AWS identity: {0}")]
    Sts(CheckError),
    /// STS answered without this field.
    #[error("cannot confirm the AWS identity: sts:GetCallerIdentity answered without {0}")]
    Incomplete(&'static str),
}

/// Every client's region must be the declared one, or the one
/// [`crate::aws::FIXED_REGIONS`] names for it (a client without a region is a
/// mismatch).
pub fn check_regions(
    declared: &str,
    regions: &[(&'static str, Option<String>)],
) -> Result<(), IdentityError> {
    let expected = |service: &str| crate::aws::fixed_region(service).unwrap_or(declared);
    match regions
        .iter()
        .find(|(service, observed)| observed.as_deref() != Some(expected(service)))
    {
        None => Ok(()),
        Some((service, observed)) => Err(IdentityError::WrongRegion {
            declared: expected(service).to_string(),
            service,
            observed: observed.clone(),
        }),
    }
}

/// The credentials' account must be the declared one.
pub fn check_account(declared: &str, identity: &CallerIdentity) -> Result<(), IdentityError> {
    if identity.account == declared {
        Ok(())
    } else {
        Err(IdentityError::WrongAccount {
            declared: declared.to_string(),
            observed: identity.account.clone(),
            arn: identity.arn.clone(),
        })
    }
}

/// Which check ids a run includes: `--only` globs (all when empty) minus `--skip` globs.
#[derive(Debug, Clone)]
pub struct Selection {
    only: Option<GlobSet>,
    skip: GlobSet,
}

impl Selection {
    /// Every check.
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

    /// Whether the check `id` runs.
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

#[cfg(test)]
mod verdict_tests {
    use crate::check::Status;

    /// `Status::blocks_go` and the shared verdict agree on every status.
    #[test]
    fn status_and_verdict_agree() {
        for status in [
            Status::Pass,
            Status::Fail,
            Status::Error,
            Status::Skip,
            Status::Waived,
        ] {
            // Exhaustive: a new status must be added to the list above.
            match status {
                Status::Pass | Status::Fail | Status::Error | Status::Skip | Status::Waived => {}
            }
            assert_eq!(
                status.blocks_go(),
                crate::verdict::blocks_go(status.as_str()),
                "{status:?}"
            );
        }
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    fn identity(account: &str) -> CallerIdentity {
        CallerIdentity {
            account: account.into(),
            arn: format!("arn:aws:sts::{account}:assumed-role/verify-readonly/verify"),
            region: "eu-central-1".into(),
        }
    }

    #[test]
    fn the_declared_account_passes_and_another_is_refused_naming_both() {
        assert!(check_account("210987654321", &identity("210987654321")).is_ok());
        let err = check_account("210987654321", &identity("123456789012")).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, IdentityError::WrongAccount { .. })
                && text.contains("account_id 210987654321")
                && text.contains("account 123456789012"),
            "{text}"
        );
    }

    #[test]
    fn every_client_must_use_the_declared_region() {
        let good = || -> Vec<(&'static str, Option<String>)> {
            vec![
                ("rds", Some("eu-central-1".into())),
                ("sts", Some("eu-central-1".into())),
            ]
        };
        assert!(check_regions("eu-central-1", &good()).is_ok());
        for (i, observed) in [Some("us-east-1".to_string()), None]
            .into_iter()
            .enumerate()
        {
            let mut regions = good();
            regions[i].1 = observed.clone();
            let err = check_regions("eu-central-1", &regions).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("must use region eu-central-1")
                    && text.contains(observed.as_deref().unwrap_or("no region")),
                "{text}"
            );
        }
        // A client pinned by FIXED_REGIONS is judged against its own region.
        let mut regions = good();
        regions.push(("health", Some("us-east-1".into())));
        assert!(check_regions("eu-central-1", &regions).is_ok());
        regions.last_mut().expect("pushed").1 = Some("eu-central-1".into());
        let text = check_regions("eu-central-1", &regions)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("health client must use region us-east-1"),
            "{text}"
        );
    }

    /// The clients really report the region of the config they were built from.
    #[test]
    fn clients_report_the_region_of_their_config() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-west-2"))
            .build();
        let clients = AwsClients::new(&config, AccessMode::read_only());
        let regions = clients.regions();
        assert!(regions.len() >= 13);
        assert!(check_regions("us-west-2", &regions).is_ok());
        assert!(matches!(
            check_regions("eu-central-1", &regions),
            Err(IdentityError::WrongRegion { .. })
        ));
    }
}

#[cfg(test)]
mod ordering_tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::check::{CheckDef, Evidence, Finding};

    static CANARY: CheckDef = CheckDef {
        id: "canary.<name>",
        title: "a canary",
        doc: "",
        iam: &[],
    };
    static OTHER: CheckDef = CheckDef {
        id: "demo.other",
        title: "not a canary",
        doc: "",
        iam: &[],
    };

    type Log = Arc<Mutex<Vec<String>>>;

    /// A check that logs its start and end around `ms` of sleep.
    fn logged(def: &'static CheckDef, id: &str, ms: u64, log: &Log) -> Check {
        let (log, name) = (log.clone(), id.to_string());
        Check::instance(def, id, move |_cx| {
            let (log, name) = (log.clone(), name.clone());
            Box::pin(async move {
                log.lock().unwrap().push(format!("start {name}"));
                tokio::time::sleep(Duration::from_millis(ms)).await;
                log.lock().unwrap().push(format!("end {name}"));
                Ok(Finding::pass("ok", Evidence::of(name)))
            })
        })
    }

    fn gate(concurrency: usize) -> Gate {
        let closed = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../infra-tests/environments/sandbox.hcl");
        let env = crate::spec::load(&path).expect("sandbox spec");
        Gate::with_clients(env, AwsClients::new(&closed, AccessMode::read_only()))
            .with_concurrency(concurrency)
    }

    /// A rate-limit canary declared first still starts only after every
    /// other canary has ended (at any concurrency, one included: no
    /// deadlock), and the outcomes keep the given order.
    #[tokio::test]
    async fn a_canary_marked_after_canaries_waits_for_the_others() {
        for concurrency in [1, 2, 16] {
            let log: Log = Arc::default();
            let checks = vec![
                logged(&CANARY, "canary.burst", 10, &log).after_canaries(),
                logged(&CANARY, "canary.t0", 150, &log),
                logged(&OTHER, "demo.other", 10, &log),
                logged(&CANARY, "canary.slow", 300, &log),
            ];
            let outcomes = gate(concurrency).run_checks(checks, &mut |_| {}).await;
            let ids: Vec<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
            assert_eq!(
                ids,
                ["canary.burst", "canary.t0", "demo.other", "canary.slow"]
            );
            let log = log.lock().unwrap().clone();
            let at = |entry: &str| log.iter().position(|e| e == entry).unwrap();
            assert!(
                at("start canary.burst") > at("end canary.t0")
                    && at("start canary.burst") > at("end canary.slow"),
                "concurrency {concurrency}: {log:?}"
            );
        }
    }
}
