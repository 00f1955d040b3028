//! What the suites share: finding and loading an environment spec, turning
//! it into a connection (filling in the sandbox's endpoint and credentials),
//! writing outcomes for `cargo xtask verify`, and fresh sandbox accounts for
//! tests that break things.
//!
//! Everything that needs the sandbox (its state, seeding, breaks, stand-ins)
//! is behind the default `sandbox` feature: `cargo xtask verify production`
//! builds this crate without it, so a pipeline never compiles the stand-ins.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use anyhow::Result;
#[cfg(feature = "sandbox")]
use fixtures::SandboxState;
use serde::Serialize;
use verify::aws::Connection;
use verify::waivers::Waiver;
use verify::{Environment, Evidence, Gate, Outcome, Selection, SpecError};

/// The environment a suite runs against: `VERIFY_ENV`, default `sandbox`.
pub fn environment_name() -> String {
    std::env::var("VERIFY_ENV").unwrap_or_else(|_| "sandbox".into())
}

/// `infra-tests/environments`.
pub fn environments_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("environments")
}

/// Loads `environments/<name>.hcl`, or the file `name` itself when it ends in `.hcl`.
pub fn load_environment(name: &str) -> Result<Environment, SpecError> {
    verify::spec::load(&verify::spec::resolve(name, &environments_dir()))
}

/// The connection for `env`; a sandbox environment gets the running sandbox's
/// endpoint and static test credentials.
pub fn connection(env: &Environment) -> Result<Connection> {
    #[cfg_attr(not(feature = "sandbox"), allow(unused_mut))]
    let mut connection = Connection::for_environment(env);
    if env.aws.sandbox {
        #[cfg(feature = "sandbox")]
        {
            let state = sandbox_state()?;
            connection.access.endpoint = Some(state.aws_endpoint_url.clone());
            connection.static_credentials =
                Some((state.access_key_id.clone(), state.secret_access_key.clone()));
        }
        #[cfg(not(feature = "sandbox"))]
        return Err(no_sandbox_support());
    }
    Ok(connection)
}

/// The running sandbox's state.
#[cfg(feature = "sandbox")]
fn sandbox_state() -> Result<SandboxState> {
    use anyhow::Context;
    SandboxState::load()?.context("the sandbox is not running: run `cargo xtask sandbox up`")
}

/// A build without the `sandbox` feature cannot run a sandbox spec; it says so.
#[cfg(not(feature = "sandbox"))]
fn no_sandbox_support() -> anyhow::Error {
    anyhow::anyhow!(
        "this build has no sandbox support (infra-tests without its `sandbox` feature); \
         `cargo xtask verify` builds it for a sandbox spec"
    )
}

/// Points a sandbox environment's edge, Cloudflare and SES blocks at the
/// stand-ins in `standins` (hostnames resolve to loopback, the sandbox CA is
/// trusted, the Cloudflare API URL and token and the DNS server are filled in).
#[cfg(feature = "sandbox")]
pub fn point_at_standins(env: &mut Environment, standins: &fixtures::standins::StandinsState) {
    if let Some(edge) = env.edge.as_mut() {
        let mut names: Vec<String> = edge.hostnames.clone();
        if let Some(cf) = &edge.cloudflare {
            names.extend(cf.custom_hostnames.iter().cloned());
        }
        edge.resolve = names
            .iter()
            .flat_map(|h| {
                [
                    (
                        format!("{h}:443"),
                        format!("127.0.0.1:{}", standins.edge_https_port),
                    ),
                    (
                        format!("{h}:80"),
                        format!("127.0.0.1:{}", standins.edge_http_port),
                    ),
                ]
            })
            .collect();
        edge.ca_file = Some(standins.ca_file.clone());
        if let Some(cf) = edge.cloudflare.as_mut() {
            cf.api_url = Some(standins.cloudflare_api_url.clone());
            cf.token = Some(standins.cloudflare_token.clone());
        }
    }
    if let Some(ses) = env.ses.as_mut() {
        ses.nameserver = Some(standins.dns.to_string());
    }
    if let (Some(pgbouncer), Some(endpoint)) = (env.pgbouncer.as_mut(), standins.pgbouncer_endpoint)
    {
        pgbouncer.endpoint = Some(endpoint.to_string());
    }
}

/// A path from the environment variable `name` (unset or empty: none).
fn path_from_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Loads `environments/<name>.hcl` (or the file `name`) with the Terraform
/// files `cargo xtask` passed: `VERIFY_TERRAFORM_OUTPUTS` (or the outputs
/// of `VERIFY_TERRAFORM_STATE`) serve `output.NAME` references, and the plan
/// and state become the run's `terraform.*` inputs.
pub fn load_with_terraform(name: &str) -> Result<Environment> {
    let state = path_from_env("VERIFY_TERRAFORM_STATE");
    let outputs = verify::spec::Outputs::for_run(
        path_from_env("VERIFY_TERRAFORM_OUTPUTS").as_deref(),
        state.as_deref(),
    )?;
    let path = verify::spec::resolve(name, &environments_dir());
    let mut env = verify::spec::load_with(&path, outputs.as_ref())?;
    env.terraform.plan = path_from_env("VERIFY_TERRAFORM_PLAN");
    env.terraform.state = state;
    Ok(env)
}

/// Loads the named environment (with the run's Terraform files, see
/// [`load_with_terraform`]); a sandbox one is pointed at the running
/// sandbox's stand-ins.
pub fn load_for_run(name: &str) -> Result<Environment> {
    #[cfg_attr(not(feature = "sandbox"), allow(unused_mut))]
    let mut env = load_with_terraform(name)?;
    if env.aws.sandbox {
        #[cfg(feature = "sandbox")]
        {
            let state = sandbox_state()?;
            if let Some(standins) = &state.standins {
                point_at_standins(&mut env, standins);
            }
            // The failover drill's probes go through the data plane's endpoint.
            if let (Some(drill), Some(rds)) = (env.drills.rds_failover.as_mut(), &state.rds)
                && drill.database_url.is_none()
            {
                drill.database_url = Some(rds.probe_url.clone());
            }
            // The restore drill writes its markers through the endpoint too.
            if let Some(rds) = &state.rds {
                let drill = env
                    .drills
                    .pitr_restore
                    .get_or_insert_with(verify::spec::PitrRestoreDrill::defaults);
                if drill.database_url.is_none() {
                    drill.database_url = Some(rds.probe_url.clone());
                }
            }
            // The drain drill's workload goes through the balancer (the NLB
            // stand-in) to pgbouncer, as the master user.
            if let (Some(rds), Some(endpoint)) = (
                &state.rds,
                state.standins.as_ref().and_then(|s| s.pgbouncer_endpoint),
            ) {
                let drill = env
                    .drills
                    .pgbouncer_drain
                    .get_or_insert_with(verify::spec::PgbouncerDrainDrill::defaults);
                if drill.database_url.is_none() {
                    drill.database_url = Some(verify::drill::probe::with_host_port(
                        &rds.probe_url,
                        &endpoint.ip().to_string(),
                        endpoint.port(),
                    ));
                }
            }
        }
        #[cfg(not(feature = "sandbox"))]
        return Err(no_sandbox_support());
    }
    Ok(env)
}

/// A list of check-id globs from the environment variable `name`, one per
/// line (`cargo xtask verify` writes `--only`/`--skip` so): a glob may hold
/// commas (`{rds,ses}.*`), so the list is never split on them. Unset is empty.
pub fn glob_list_env(name: &str) -> Vec<String> {
    std::env::var(name)
        .map(|v| parse_glob_list(&v))
        .unwrap_or_default()
}

/// [`glob_list_env`] on a value: one glob per line, blank lines ignored.
///
/// ```
/// assert_eq!(
///     infra_tests::parse_glob_list("{rds,ses}.*\nbudgets.monthly\n"),
///     ["{rds,ses}.*", "budgets.monthly"]
/// );
/// ```
pub fn parse_glob_list(value: &str) -> Vec<String> {
    value
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Where `cargo xtask verify` collects outcomes: `VERIFY_RESULTS_DIR`, if set.
pub struct ResultsSink {
    file: Option<Mutex<std::fs::File>>,
    dir: Option<PathBuf>,
}

/// The record of one run, written after the last outcome.
#[derive(Serialize)]
pub struct RunRecord<'a> {
    pub environment: &'a str,
    pub started_at: String,
    pub duration_ms: u64,
    /// Whose credentials the run held, confirmed against the spec before any check.
    pub identity: verify::gate::CallerIdentity,
    pub aws_calls: verify::aws::CallCounts,
}

impl ResultsSink {
    pub fn from_env() -> Result<ResultsSink> {
        match std::env::var_os("VERIFY_RESULTS_DIR").map(PathBuf::from) {
            Some(dir) => ResultsSink::in_dir(&dir),
            None => Ok(ResultsSink {
                file: None,
                dir: None,
            }),
        }
    }

    /// A sink writing into `dir` (created): `plan.json`, `outcomes.jsonl`,
    /// `run.json`, or `setup-error.txt`, as `cargo xtask verify` reads them.
    pub fn in_dir(dir: &Path) -> Result<ResultsSink> {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let file = std::fs::File::create(dir.join("outcomes.jsonl"))?;
        Ok(ResultsSink {
            file: Some(Mutex::new(file)),
            dir: Some(dir),
        })
    }

    /// Appends one outcome as a JSON line, at once, so progress can be followed.
    pub fn outcome(&self, outcome: &Outcome) {
        if let Some(file) = &self.file {
            let mut file = file.lock().expect("results file poisoned");
            let line = serde_json::to_string(outcome).expect("outcome serialises");
            // A results directory that cannot be written is the harness's problem to report.
            if let Err(e) = writeln!(file, "{line}").and_then(|_| file.flush()) {
                eprintln!("cannot write outcome: {e}");
            }
        }
    }

    /// The ids about to run, so progress has a total.
    pub fn plan<'a>(&self, ids: impl Iterator<Item = &'a str>) {
        if let Some(dir) = &self.dir {
            let ids: Vec<&str> = ids.collect();
            if let Err(e) = std::fs::write(
                dir.join("plan.json"),
                serde_json::to_string(&ids).expect("ids serialise"),
            ) {
                eprintln!("cannot write plan: {e}");
            }
        }
    }

    pub fn finish(&self, record: &RunRecord) {
        if let Some(dir) = &self.dir {
            let text = serde_json::to_string_pretty(record).expect("run record serialises");
            if let Err(e) = std::fs::write(dir.join("run.json"), text) {
                eprintln!("cannot write run record: {e}");
            }
        }
    }

    /// Records why the run could not start (exit 2 in `cargo xtask verify`).
    pub fn setup_error(&self, message: &str) {
        if let Some(dir) = &self.dir
            && let Err(e) = std::fs::write(dir.join("setup-error.txt"), message)
        {
            eprintln!("cannot write setup error: {e}");
        }
    }
}

/// The waivers named by `VERIFY_WAIVERS` (none when unset).
pub fn waivers_from_env() -> Result<Vec<Waiver>> {
    Ok(match std::env::var_os("VERIFY_WAIVERS") {
        Some(path) => verify::waivers::load(path.as_ref())?,
        None => Vec::new(),
    })
}

/// What one gate run over one environment gave: every id of its catalogue
/// (selected or not) and the selected checks' outcomes, waivers applied.
pub struct GateRun {
    pub catalogue: BTreeSet<String>,
    pub outcomes: Vec<Outcome>,
}

/// Why a gate run could not start: the spec, its credentials, or another
/// account or region than declared (exit 2 in `cargo xtask verify`).
#[derive(Debug)]
pub struct SetupError(pub anyhow::Error);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

/// One whole gate run over the environment `name` (a name or a `.hcl`
/// path), as the gate suite and the many-environment runner (`gates`) do
/// it: load the spec (with the run's Terraform files), connect with the
/// spec's own credentials (profile, assumed role, or the sandbox's), confirm
/// the account and region before any check, then run the selected checks
/// concurrently, writing each outcome to `sink` as it ends and the run
/// record at the end.
///
/// The run record names the environment `record_as` (the gate suite: as
/// `VERIFY_ENV` gave it; the runner: the spec's `environment`).
pub async fn run_gate(
    name: &str,
    record_as: &str,
    sink: &ResultsSink,
    selection: &Selection,
    waivers: &[Waiver],
) -> Result<GateRun, SetupError> {
    let env = load_for_run(name).map_err(SetupError)?;
    let connection = connection(&env).map_err(SetupError)?;
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    let waive = |outcome: &Outcome| {
        let mut outcome = outcome.clone();
        verify::waivers::apply(
            std::slice::from_mut(&mut outcome),
            waivers,
            SystemTime::now(),
        );
        outcome
    };
    let gate = Gate::connect(env, connection).await;
    // Before any check: the credentials must be the declared account's and
    // every client must use the declared region.
    let identity = gate
        .confirm_identity()
        .await
        .map_err(|e| SetupError(e.into()))?;
    let catalogue: BTreeSet<String> = gate.checks().into_iter().map(|c| c.id).collect();
    sink.plan(
        gate.checks()
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| selection.selects(id)),
    );
    let outcomes = gate.run(selection, |o| sink.outcome(&waive(o))).await;
    sink.finish(&RunRecord {
        environment: record_as,
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        identity,
        aws_calls: gate.aws().calls.snapshot(),
    });
    Ok(GateRun {
        catalogue,
        outcomes: outcomes.iter().map(waive).collect(),
    })
}

/// Environments of one account verified at once, by default.
pub const DEFAULT_PER_ACCOUNT: usize = 2;
/// Environments verified at once in all, by default.
pub const DEFAULT_JOBS: usize = 16;

/// Several whole gate runs ([`run_gate`]) at once on the current runtime:
/// at most `per_account` at a time in one AWS account (the spec's
/// `account_id`) and `jobs` in all. The `i`-th spec writes into
/// `results/<i>/`; a run that could not start records why there
/// (`setup-error.txt`). Results come back in `specs`' order.
pub async fn run_gates(
    specs: &[String],
    results: &Path,
    jobs: usize,
    per_account: usize,
    selection: std::sync::Arc<Selection>,
    waivers: std::sync::Arc<Vec<Waiver>>,
) -> Result<Vec<Result<GateRun, String>>> {
    use std::sync::Arc;
    use tokio::sync::Semaphore;
    let global = Arc::new(Semaphore::new(jobs.max(1)));
    let mut accounts: std::collections::HashMap<String, Arc<Semaphore>> = Default::default();
    let mut runs = tokio::task::JoinSet::new();
    for (i, spec) in specs.iter().enumerate() {
        let sink = ResultsSink::in_dir(&results.join(i.to_string()))?;
        // The account keys the bound; a spec that does not load fails in
        // its own run, under no account.
        let (account, record_as) = match load_environment(spec) {
            Ok(env) => (env.account_id.clone(), env.name.clone()),
            Err(_) => (String::new(), spec.clone()),
        };
        let account = accounts
            .entry(account)
            .or_insert_with(|| Arc::new(Semaphore::new(per_account.max(1))))
            .clone();
        let (global, selection, waivers, spec) = (
            global.clone(),
            selection.clone(),
            waivers.clone(),
            spec.clone(),
        );
        runs.spawn(async move {
            // The account's bound first, so a waiting run holds no global slot.
            let _account = account.acquire_owned().await.expect("never closed");
            let _global = global.acquire_owned().await.expect("never closed");
            let run = Box::pin(run_gate(&spec, &record_as, &sink, &selection, &waivers)).await;
            if let Err(e) = &run {
                sink.setup_error(&e.to_string());
            }
            (i, run.map_err(|e| e.to_string()))
        });
    }
    let mut done: Vec<Option<Result<GateRun, String>>> = specs.iter().map(|_| None).collect();
    while let Some(joined) = runs.join_next().await {
        let (i, run) = joined.map_err(|e| anyhow::anyhow!("an environment's run panicked: {e}"))?;
        done[i] = Some(run);
    }
    Ok(done
        .into_iter()
        .map(|r| r.expect("every run joined"))
        .collect())
}

#[cfg(feature = "sandbox")]
mod accounts;
#[cfg(feature = "sandbox")]
pub use accounts::{Account, fresh_account};
#[cfg(feature = "sandbox")]
pub mod drills;

/// A multi-thread runtime for a test (each test owns its clients).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The value at `pointer` inside the typed evidence field its first segment
/// names: `/observed/…`, `/expected/…`, or `/details/<key>/…`.
///
/// ```
/// use serde_json::json;
/// let e = verify::Evidence::of("r").observed(json!({ "db": { "MultiAZ": false } }));
/// assert_eq!(infra_tests::evidence_at(&e, "/observed/db/MultiAZ"), Some(&json!(false)));
/// assert_eq!(infra_tests::evidence_at(&e, "/expected/db"), None);
/// ```
pub fn evidence_at<'a>(evidence: &'a Evidence, pointer: &str) -> Option<&'a serde_json::Value> {
    let (field, rest) = pointer.strip_prefix('/')?.split_once('/')?;
    let rest = format!("/{rest}");
    match field {
        "observed" => evidence.observed.pointer(&rest),
        "expected" => evidence.expected.pointer(&rest),
        "details" => {
            let (key, rest) = rest[1..].split_once('/').unwrap_or((&rest[1..], ""));
            let value = evidence.details.get(key)?;
            if rest.is_empty() {
                Some(value)
            } else {
                value.pointer(&format!("/{rest}"))
            }
        }
        _ => None,
    }
}
