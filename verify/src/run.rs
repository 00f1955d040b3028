//! The runner: one or many environments verified in one process, reported
//! as a stream of typed [`Event`]s. One environment is the same path with
//! N = 1. Every face of the project drives this: the `verify` binary (its
//! terminal progress and every report come from the events), the `cargo
//! test` face (one trial per check id) and the benchmarks. Nothing passes
//! through environment variables or files: what a run reads is in its
//! [`Target`]s and [`Options`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use verify::run::{Event, Options, Target};
//! let target = Target::load(
//!     "environments/production.hcl".as_ref(),
//!     &Default::default(),
//!     None,
//! )?;
//! let mut events = verify::run::start(vec![target], Options::default());
//! while let Some(event) = events.next().await {
//!     match event {
//!         Event::Plan { ids, .. } => println!("{} checks", ids.len()),
//!         Event::Outcome { outcome, .. } => println!("{} {}", outcome.id, outcome.status.as_str()),
//!         Event::Finished { record, .. } => println!("{} in {} ms", record.environment, record.duration_ms),
//!         Event::CouldNotRun { message, .. } => eprintln!("could not run: {message}"),
//!         _ => {} // a kind of event added later
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use report_model::report::{Identity, RunRecord};
use tokio::sync::{Semaphore, mpsc};

use crate::Outcome;
use crate::aws::Connection;
use crate::context::RunSettings;
use crate::gate::{Gate, Selection};
use crate::sandbox::{SandboxEndpoints, SandboxError};
use crate::spec::inputs::TerraformFiles;
use crate::spec::{Environment, SpecError};
use crate::waivers::Waiver;

/// Environments of one account verified at once, by default.
pub const DEFAULT_PER_ACCOUNT: usize = 2;
/// Environments verified at once in all, by default.
pub const DEFAULT_JOBS: usize = 16;

/// One environment to verify: its spec, loaded with the run's Terraform
/// files (and, for a sandbox spec, pointed at the sandbox), and how to
/// connect to its account.
#[derive(Debug, Clone)]
pub struct Target {
    /// The spec, with its Terraform files.
    pub env: Environment,
    /// Where its AWS calls go and as whom.
    pub connection: Connection,
}

/// Why a [`Target`] cannot be made: exit 2 before anything runs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The spec (or a file it names) is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The sandbox's state could not be read.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A sandbox spec, and no sandbox state file at this path (`cargo xtask sandbox up` writes it).
    #[error(
        "{}: a sandbox spec (`sandbox = true`) needs the sandbox's state (--sandbox-state)",
        .0.display()
    )]
    NoSandboxState(PathBuf),
}

impl Target {
    /// Loads the spec at `path`: its `output.NAME` references read the
    /// Terraform outputs, its `terraform.*` checks judge the plan and state
    /// given. A `sandbox = true` spec is pointed at the sandbox whose
    /// `state.json` is `sandbox_state`; without one it is refused.
    pub fn load(
        path: &Path,
        terraform: &TerraformFiles,
        sandbox_state: Option<&Path>,
    ) -> Result<Target, LoadError> {
        let env = crate::spec::load_with(path, terraform.outputs.as_ref())?;
        Target::new(env, terraform, sandbox_state)
    }

    /// [`Target::load`] over a spec already read (with the same outputs).
    pub fn new(
        mut env: Environment,
        terraform: &TerraformFiles,
        sandbox_state: Option<&Path>,
    ) -> Result<Target, LoadError> {
        env.terraform.plan = terraform.plan.clone();
        env.terraform.state = terraform.state.clone();
        if !env.aws.sandbox {
            let connection = Connection::for_environment(&env);
            return Ok(Target { env, connection });
        }
        let state = sandbox_state.ok_or_else(|| LoadError::NoSandboxState(env.source.clone()))?;
        let endpoints = SandboxEndpoints::load(state)?;
        endpoints.point(&mut env);
        let connection = endpoints.connection(&env);
        Ok(Target { env, connection })
    }

    /// The ids this environment's run would plan under `selection`, in
    /// catalogue order (no AWS call).
    pub fn planned(&self, selection: &Selection) -> Vec<String> {
        planned(&self.env, selection)
    }
}

/// The ids a run of `env` plans under `selection`, in catalogue order (no AWS call).
pub fn planned(env: &Environment, selection: &Selection) -> Vec<String> {
    crate::checks::catalogue(env)
        .into_iter()
        .map(|c| c.id)
        .filter(|id| selection.selects(id))
        .collect()
}

/// What applies to every environment of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which checks run.
    pub selection: Selection,
    /// Waivers applied to the outcomes.
    pub waivers: Vec<Waiver>,
    /// At most this many environments at once in all.
    pub jobs: usize,
    /// At most this many environments at once in one AWS account.
    pub per_account: usize,
    /// The run's id, whether canaries may write, the secret prefix: one for
    /// every environment of the run.
    pub run: RunSettings,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            selection: Selection::all(),
            waivers: Vec::new(),
            jobs: DEFAULT_JOBS,
            per_account: DEFAULT_PER_ACCOUNT,
            run: RunSettings::default(),
        }
    }
}

/// What a run reports, as it happens. `index` is the target's position in
/// the list the run was started with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The identity is confirmed; these checks will run, in catalogue order.
    Plan {
        /// Which target (in the order given).
        index: usize,
        /// Its name.
        environment: String,
        /// The check ids it will run, in catalogue order.
        ids: Vec<String>,
    },
    /// One check ended (waivers applied).
    /// One check finished.
    Outcome {
        /// Which target.
        index: usize,
        /// Its outcome.
        outcome: Outcome,
    },
    /// The environment's last check ended.
    /// The environment finished: its record.
    Finished {
        /// Which target.
        index: usize,
        /// Everything the run found, for the reports.
        record: RunRecord,
    },
    /// The environment could not be verified: credentials, another account
    /// or region than declared. No check ran.
    CouldNotRun {
        /// Which target.
        index: usize,
        /// Its name.
        environment: String,
        /// Why it could not run.
        message: String,
    },
}

/// The events of a run, in the order they happened; `None` once every
/// environment has finished or could not run.
pub struct Events {
    receiver: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// The next event, or `None` when every environment has finished.
    pub async fn next(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }
}

/// Starts verifying `targets` on the current tokio runtime: each a whole
/// gate run of its own (its own credentials, its identity confirmed before
/// any check, its own describe cache and call counts), at most
/// `options.per_account` at a time in one account and `options.jobs` in
/// all.
pub fn start(targets: Vec<Target>, options: Options) -> Events {
    let (sender, receiver) = mpsc::unbounded_channel();
    let options = Arc::new(options);
    let global = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut accounts: HashMap<String, Arc<Semaphore>> = HashMap::new();
    for (index, target) in targets.into_iter().enumerate() {
        let account = accounts
            .entry(target.env.account_id.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(options.per_account.max(1))))
            .clone();
        let (global, options, sender) = (global.clone(), options.clone(), sender.clone());
        tokio::spawn(async move {
            // The account's bound first, so a waiting run holds no global slot.
            let _account = account.acquire_owned().await.expect("never closed");
            let _global = global.acquire_owned().await.expect("never closed");
            run_one(index, target, &options, &sender).await;
        });
    }
    Events { receiver }
}

/// One environment, start to end; every event goes to `events`.
async fn run_one(
    index: usize,
    target: Target,
    options: &Options,
    events: &mpsc::UnboundedSender<Event>,
) {
    let send = |event: Event| {
        // A receiver that went away wants no more events.
        let _ = events.send(event);
    };
    let environment = target.env.name.clone();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    // A spec naming a secret's variable outside the run's prefix is bad
    // input: nothing runs (the CLI refuses it earlier, with exit 2).
    if let Err(e) = crate::spec::secret_env::check(&target.env, &options.run.secret_prefix) {
        send(Event::CouldNotRun {
            index,
            environment,
            message: e.to_string(),
        });
        return;
    }
    let gate = Gate::connect(target.env, target.connection)
        .await
        .with_run(options.run.clone());
    // Before any check: the credentials must be the declared account's and
    // every client must use the declared region.
    let identity = match gate.confirm_identity().await {
        Ok(identity) => identity,
        Err(e) => {
            send(Event::CouldNotRun {
                index,
                environment,
                message: e.to_string(),
            });
            return;
        }
    };
    let ids: Vec<String> = gate
        .checks()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| options.selection.selects(id))
        .collect();
    send(Event::Plan {
        index,
        environment: environment.clone(),
        ids,
    });
    let waive = |outcome: &Outcome| {
        let mut outcome = outcome.clone();
        crate::waivers::apply(
            std::slice::from_mut(&mut outcome),
            &options.waivers,
            &environment,
            SystemTime::now(),
        );
        outcome
    };
    gate.run(&options.selection, |o| {
        send(Event::Outcome {
            index,
            outcome: waive(o),
        })
    })
    .await;
    let aws_calls =
        serde_json::to_value(gate.aws().calls.snapshot()).unwrap_or(serde_json::Value::Null);
    send(Event::Finished {
        index,
        record: RunRecord {
            environment,
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            identity: Identity {
                account: identity.account,
                arn: identity.arn,
                region: identity.region,
            },
            aws_calls,
        },
    });
}

/// What one environment's run gave, collected from its events.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// The planned ids (empty until the plan).
    pub planned: Vec<String>,
    /// Outcomes in the order they ended.
    pub outcomes: Vec<Outcome>,
    /// Its record, when it ran.
    pub record: Option<RunRecord>,
    /// Why it could not run.
    pub could_not_run: Option<String>,
}

impl Collected {
    /// Adds one event of this environment.
    pub fn add(&mut self, event: Event) {
        match event {
            Event::Plan { ids, .. } => self.planned = ids,
            Event::Outcome { outcome, .. } => self.outcomes.push(outcome),
            Event::Finished { record, .. } => self.record = Some(record),
            Event::CouldNotRun { message, .. } => self.could_not_run = Some(message),
        }
    }

    /// Outcomes in plan (catalogue) order, whatever order they ended in.
    pub fn in_plan_order(&self) -> Vec<Outcome> {
        let mut outcomes = self.outcomes.clone();
        outcomes.sort_by_key(|o| {
            self.planned
                .iter()
                .position(|id| *id == o.id)
                .unwrap_or(usize::MAX)
        });
        outcomes
    }
}

impl Event {
    /// The target this event belongs to.
    pub fn index(&self) -> usize {
        match self {
            Event::Plan { index, .. }
            | Event::Outcome { index, .. }
            | Event::Finished { index, .. }
            | Event::CouldNotRun { index, .. } => *index,
        }
    }
}

/// Runs `targets` to the end and collects each one's events (in `targets`'
/// order), calling `on_event` with each as it comes.
pub async fn run_to_end(
    targets: Vec<Target>,
    options: Options,
    mut on_event: impl FnMut(&Event),
) -> Vec<Collected> {
    let mut collected = vec![Collected::default(); targets.len()];
    let mut events = start(targets, options);
    while let Some(event) = events.next().await {
        on_event(&event);
        let index = event.index();
        collected[index].add(event);
    }
    collected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn outcome(id: &str) -> Outcome {
        Outcome {
            id: id.into(),
            status: Status::Pass,
            message: String::new(),
            duration_ms: 0,
            evidence: crate::Evidence::default(),
        }
    }

    /// Events fold into one environment's result; outcomes come back in
    /// plan order whatever order they ended in, and an unplanned one last.
    #[test]
    fn events_collect_in_plan_order() {
        let mut collected = Collected::default();
        let plan = Event::Plan {
            index: 0,
            environment: "e".into(),
            ids: vec!["b".into(), "a".into()],
        };
        assert_eq!(plan.index(), 0);
        collected.add(plan);
        for id in ["a", "x", "b"] {
            collected.add(Event::Outcome {
                index: 0,
                outcome: outcome(id),
            });
        }
        let ids: Vec<String> = collected
            .in_plan_order()
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(ids, ["b", "a", "x"]);
        assert!(collected.record.is_none() && collected.could_not_run.is_none());
        collected.add(Event::CouldNotRun {
            index: 0,
            environment: "e".into(),
            message: "wrong account".into(),
        });
        assert_eq!(collected.could_not_run.as_deref(), Some("wrong account"));
    }

    /// A sandbox spec needs the sandbox's state; a real one never reads it.
    #[test]
    fn only_a_sandbox_spec_needs_the_sandbox_state() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra-tests/environments");
        let none = TerraformFiles::default();
        let err = Target::load(&dir.join("sandbox.hcl"), &none, None).unwrap_err();
        assert!(matches!(err, LoadError::NoSandboxState(_)), "{err}");
        let missing = std::path::Path::new("/nonexistent/state.json");
        let err = Target::load(&dir.join("sandbox.hcl"), &none, Some(missing)).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/state.json"), "{err}");
        let staging = Target::load(&dir.join("staging.hcl"), &none, Some(missing)).unwrap();
        assert!(staging.connection.static_credentials.is_none());
        assert!(staging.connection.access.endpoint.is_none());
    }
}
