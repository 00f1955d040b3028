#![warn(missing_docs)]
//! `verify`: typed, read-only checks that a live AWS environment is what its
//! spec declares, and drills that inject a fault and judge what a client saw.
//!
//! - [`spec`]: the HCL environment spec, strictly parsed.
//! - [`aws`]: SDK configuration, the read-only guard, the call counter, and
//!   every AWS call, one module per service.
//! - [`Gate`]: one run: the catalogue, run concurrently over shared reads;
//!   [`Context`]: what a check reads with (the spec and the run's AWS access).
//! - [`checks`]: one module per area, named as the check id prefix.
//! - [`check`]: the model every check shares (status, outcome, typed evidence, errors).
//! - [`drill`]: consent, steady state, probes, a guarded fault, recovery,
//!   cleanup, and a timeline (`drill.rds_failover`).
//! - [`verdict`]: go / no-go, decided in one place.
//! - [`run`]: the runner: one or many environments, a stream of typed events.
//! - [`sandbox`]: where a sandbox spec's services are (the sandbox's `state.json`).
//! - [`secrets`]: the one reader of a secret's environment variable, inside
//!   the run's secret prefix; [`RunSettings`]: a run's id, whether canaries
//!   may write, that prefix.
//! - [`signoffs`]: the sign-offs file judged on the day of the run.
//! - [`iam`]: the least-privilege policy, derived from the checks' declarations.
//!
//! A team's own test of its own environment (as Terratest users write
//! them); `verify/examples/own_environment.rs` is a whole one:
//!
//! ```no_run
//! use verify::{Gate, Status, aws::Connection};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let env = verify::spec::load("environments/production.hcl".as_ref())?;
//! let gate = Gate::connect(env.clone(), Connection::for_environment(&env)).await;
//! // The credentials are the declared account's, in the declared region, or nothing runs.
//! gate.confirm_identity().await?;
//! let outcome = gate.run_id("rds.multi_az").await.expect("a catalogue id");
//! assert_eq!(outcome.status, Status::Pass, "{}", outcome.message);
//! # Ok(()) }
//! ```

pub mod aws;
pub mod check;
pub mod checks;
mod context;
pub mod drill;
mod error;
mod gate;
pub mod iam;
// The probes under the checks (TLS, HTTP, DNS, the Cloudflare API): public
// for the sandbox suites that test them against real stand-ins; not part of
// the API, and free to change.
#[doc(hidden)]
pub mod probe;
pub mod run;
pub mod sandbox;
pub mod secrets;
pub mod signoffs;
/// The environment spec (the `envspec` crate, re-exported).
pub use envspec as spec;
pub use report_model::verdict;
pub mod waivers;

pub use check::{Check, CheckError, Evidence, Fields, Finding, Outcome, Status};
pub use context::{Context, RunSettings, new_run_id};
pub(crate) use error::required;
pub use gate::{
    CallerIdentity, DEFAULT_CHECK_TIMEOUT, DEFAULT_CONCURRENCY, Gate, IdentityError, Selection,
};
pub use spec::{Environment, SpecError};
