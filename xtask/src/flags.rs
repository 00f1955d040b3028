//! Every command and flag of `cargo xtask`, in one place.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
pub use report_model::report::ReportTarget;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Verify that an AWS environment is really ready.",
    version
)]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build `verify` and run the gate against one or more environments:
    /// go / no-go (exit 0 / 1; 2 = could not run).
    Verify(Verify),
    /// Run a chaos drill (changes state; needs --yes).
    Drill(Drill),
    /// Start, reset, stop or inspect the local sandbox.
    Sandbox(Sandbox),
    /// Install and start what the tests need, then run every test.
    Test(Test),
    /// Run the gate on a warm sandbox several times; print median wall time and AWS calls.
    Bench(Bench),
    /// Print the least-privilege IAM policy (JSON) for the checks the spec enables.
    IamPolicy(IamPolicy),
    /// Package `verify` as a release asset: `verify-<version>-<target>.tar.gz`
    /// and its `.sha256`, named from verify-cli's binstall metadata.
    Dist(Dist),
}

#[derive(Debug, Parser)]
pub struct Dist {
    /// The Rust target triple the binary is built for (`x86_64-unknown-linux-musl`).
    #[arg(long, value_name = "TRIPLE")]
    pub target: String,
    /// Package this binary instead of building one (`cargo build --release
    /// --locked --target TRIPLE`): the tests package `target/debug/verify`.
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Where the archive and its checksum go.
    #[arg(long, value_name = "DIR", default_value = "target/dist")]
    pub out_dir: PathBuf,
    /// The release tag being built: refused unless it is `v<version>` of verify-cli.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
}

#[derive(Debug, Parser)]
pub struct IamPolicy {
    /// Environment name (`infra-tests/environments/<env>.hcl`) or a path to a `.hcl` spec.
    pub env: String,
    /// Also grant the drills' writes (and the reads they make beyond the gate's).
    #[arg(long)]
    pub drills: bool,
    /// `terraform show -json` of the state: its outputs serve the spec's `output.NAME` references.
    #[arg(long, value_name = "STATE.json")]
    pub terraform_state: Option<PathBuf>,
    /// `terraform output -json`: the outputs the spec's `output.NAME` references read.
    #[arg(long, value_name = "OUTPUTS.json")]
    pub terraform_outputs: Option<PathBuf>,
}

#[derive(Debug, Parser)]
pub struct Verify {
    /// Environment name (`infra-tests/environments/<env>.hcl`), a path to a
    /// `.hcl` spec, or a glob over either (`'infra-tests/environments/*.hcl'`,
    /// `'stag*'`). Several run concurrently in one process and give one
    /// combined report plus one per environment.
    #[arg(value_name = "ENV", required = true, num_args = 1..)]
    pub envs: Vec<String>,
    /// With several environments: at most this many at once in all.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// With several environments: at most this many at once in one AWS account.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub per_account: u16,
    /// Only checks whose id matches this glob (repeatable), e.g. 'rds.*'.
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
    /// Skip checks whose id matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Write a report: json=PATH, junit=PATH, markdown=PATH or html=PATH (one
    /// self-contained page) (repeatable). With several environments PATH is
    /// the combined report, and each environment's is written beside it with
    /// its name before the extension (`out/gate.json` → `out/gate.staging.json`).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<ReportTarget>,
    /// Waivers file (HCL `waiver "<glob>" { justification, expires }` blocks).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Sign-offs file (one environment only) (HCL `signoff "<label>" { role, owner, confirms, signed_by, date,
    /// evidence, expires }` and `manual "<label>" { group, item, done, done_by, evidence }`
    /// blocks): go also needs every required sign-off given and unexpired, every item done.
    #[arg(long, value_name = "FILE")]
    pub signoffs: Option<PathBuf>,
    /// A JSON report of an earlier run: passed to `verify run --baseline`
    /// (what changed since; one environment only).
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// The commit deployed: passed to `verify run --commit` (part of the evidence digest).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// `terraform show -json` of a plan saved right after apply: runs
    /// `terraform.idempotent` (one environment only, as every `--terraform-*`).
    #[arg(long, value_name = "PLAN.json")]
    pub terraform_plan: Option<PathBuf>,
    /// `terraform show -json` of the state after apply: runs `terraform.declared`,
    /// and its outputs serve the spec's `output.NAME` references.
    #[arg(long, value_name = "STATE.json")]
    pub terraform_state: Option<PathBuf>,
    /// `terraform output -json`: the outputs the spec's `output.NAME` references read
    /// (instead of the state's).
    #[arg(long, value_name = "OUTPUTS.json")]
    pub terraform_outputs: Option<PathBuf>,
    /// Let canaries that write (`writes = true`) run, and undo what they
    /// wrote; without it they are `skip`. Passed by itself when every spec
    /// is a sandbox spec (the sandbox is ours; `sandbox reset` puts it back).
    #[arg(long)]
    pub allow_writes: bool,
    /// Secrets are read only from environment variables whose name starts
    /// with PREFIX; a spec naming one outside it is refused. Never set by the spec.
    #[arg(long, value_name = "PREFIX", default_value = envspec::secret_env::DEFAULT_PREFIX)]
    pub secret_env_prefix: envspec::secret_env::SecretPrefix,
    /// The sandbox backend, when a spec needs the sandbox and none runs
    /// (see `cargo xtask sandbox --help`).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<SandboxBackend>,
}

#[derive(Debug, Parser)]
pub struct Drill {
    #[arg(value_enum)]
    pub drill: DrillKind,
    pub env: String,
    /// Consent: the drill changes state in <env>.
    #[arg(long)]
    pub yes: bool,
    /// Let a dependent that runs a writing canary run after recovery (and
    /// undo what it wrote); passed to `verify drill`.
    #[arg(long)]
    pub allow_writes: bool,
    /// Secrets are read only from environment variables whose name starts
    /// with PREFIX; a spec naming one outside it is refused. Never set by the spec.
    #[arg(long, value_name = "PREFIX", default_value = envspec::secret_env::DEFAULT_PREFIX)]
    pub secret_env_prefix: envspec::secret_env::SecretPrefix,
    /// Write a report: json=PATH, markdown=PATH or svg=PATH (the timeline) (repeatable).
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_drill_report)]
    pub report: Vec<String>,
    /// `terraform show -json` of the state: its outputs serve the spec's `output.NAME` references.
    #[arg(long, value_name = "STATE.json")]
    pub terraform_state: Option<PathBuf>,
    /// `terraform output -json`: the outputs the spec's `output.NAME` references read.
    #[arg(long, value_name = "OUTPUTS.json")]
    pub terraform_outputs: Option<PathBuf>,
}

/// `json=PATH`, `markdown=PATH` or `svg=PATH`, passed to the drill as given.
fn parse_drill_report(value: &str) -> Result<String, String> {
    match value.split_once('=') {
        Some(("json" | "markdown" | "svg", path)) if !path.is_empty() => Ok(value.to_string()),
        _ => Err(format!(
            "expected json=PATH, markdown=PATH or svg=PATH, got {value:?}"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DrillKind {
    RdsFailover,
    PgbouncerDrain,
    PitrRestore,
    AlarmRoute,
    /// Cut one AZ: on the sandbox the stand-ins' control call, on AWS the
    /// spec's FIS experiment template (`fis_experiment_template`).
    AzOutage,
    /// Delete the scratch instances a crashed `pitr-restore` left (needs
    /// --yes; only instances tagged `verify:drill = pitr_restore`, never one
    /// whose `verify:deadline` is ahead: a live drill's).
    Cleanup,
}

impl DrillKind {
    /// As the command line spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillKind::RdsFailover => "rds-failover",
            DrillKind::PgbouncerDrain => "pgbouncer-drain",
            DrillKind::PitrRestore => "pitr-restore",
            DrillKind::AlarmRoute => "alarm-route",
            DrillKind::AzOutage => "az-outage",
            DrillKind::Cleanup => "cleanup",
        }
    }
}

#[derive(Debug, Parser)]
pub struct Sandbox {
    #[command(subcommand)]
    pub action: SandboxAction,
    /// What runs the RDS members and pgbouncer tasks when `up` starts the
    /// sandbox: processes (default) or containers (a container engine
    /// serving the Docker API: podman). Default: `VERIFY_SANDBOX_BACKEND`,
    /// else `process`.
    #[arg(long, value_enum, global = true, value_name = "BACKEND")]
    pub backend: Option<SandboxBackend>,
}

/// The sandbox's backends (`--backend`, `VERIFY_SANDBOX_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxBackend {
    Process,
    Containers,
}

impl SandboxBackend {
    pub const ENV: &str = "VERIFY_SANDBOX_BACKEND";

    pub fn as_str(self) -> &'static str {
        match self {
            SandboxBackend::Process => "process",
            SandboxBackend::Containers => "containers",
        }
    }

    /// `flag`, else `VERIFY_SANDBOX_BACKEND`, else `process` (never detected).
    pub fn resolve(flag: Option<SandboxBackend>) -> anyhow::Result<SandboxBackend> {
        if let Some(backend) = flag {
            return Ok(backend);
        }
        match std::env::var(Self::ENV) {
            Err(_) => Ok(SandboxBackend::Process),
            Ok(v) if v.is_empty() => Ok(SandboxBackend::Process),
            Ok(v) => SandboxBackend::from_str(&v, false).map_err(|_| {
                anyhow::anyhow!("{}={v:?}: expected `process` or `containers`", Self::ENV)
            }),
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum SandboxAction {
    /// Start every sandbox service in the background and seed the good state.
    Up,
    /// Restore the good state without a restart.
    Reset,
    /// Stop what `up` started, by pid.
    Down,
    /// Say what runs.
    Status,
    /// Break the sandbox the way production breaks (see `breaks`), to see a red run.
    Break { name: String },
    /// List the named breaks.
    Breaks,
}

#[derive(Debug, Parser)]
pub struct Test {
    /// The sandbox backend the tests run on (see `cargo xtask sandbox --help`).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<SandboxBackend>,
    /// Extra arguments for `cargo test` (after `--`).
    #[arg(last = true)]
    pub cargo_test_args: Vec<String>,
}

#[derive(Debug, Parser)]
pub struct Bench {
    /// What to measure: the gate (default), the drills (the measured
    /// unavailability of a known outage, and each drill's wall time), or
    /// reading Terraform's JSON at scale.
    #[arg(value_enum, default_value_t = BenchWhat::Gate)]
    pub what: BenchWhat,
    /// Measured runs (after one warm-up run); for drills, runs of the known outage.
    #[arg(long)]
    pub runs: Option<usize>,
    /// For `environments`: how many sandbox environments (each in an account of its own).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub environments: usize,
    /// For `environments`: the concurrent run's global bound (`verify --jobs`).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub jobs: usize,
    /// For `environments`: what answers the AWS calls: `moto` (as it
    /// answers, then with the latency model), `replay` (recorded answers
    /// replayed after 50 ms, no CPU per answer: a model of AWS), or `both`.
    #[arg(long, value_name = "moto|replay|both", default_value = "both")]
    pub stand_in: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchWhat {
    Gate,
    Drills,
    /// Reading a generated 50 MB plan and a 20,000-resource state: wall time and peak memory.
    Terraform,
    /// N environments in N fresh sandbox accounts: all at once (as `verify e1 e2 …`)
    /// against one after another.
    Environments,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Xtask::command().debug_assert();
    }

    #[test]
    fn the_sandbox_backend_is_a_flag_on_sandbox_verify_and_test() {
        let parsed =
            Xtask::try_parse_from(["cargo xtask", "sandbox", "up", "--backend", "containers"])
                .unwrap();
        let Command::Sandbox(s) = parsed.command else {
            panic!("sandbox")
        };
        assert_eq!(s.backend, Some(SandboxBackend::Containers));
        let parsed = Xtask::try_parse_from(["cargo xtask", "sandbox", "status"]).unwrap();
        let Command::Sandbox(s) = parsed.command else {
            panic!("sandbox")
        };
        assert_eq!(s.backend, None);
        for args in [
            &["cargo xtask", "verify", "sandbox", "--backend", "process"][..],
            &["cargo xtask", "test", "--backend", "containers"][..],
        ] {
            Xtask::try_parse_from(args).unwrap();
        }
        let err = Xtask::try_parse_from(["cargo xtask", "sandbox", "up", "--backend", "docker"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("process") && err.contains("containers"),
            "{err}"
        );
        assert_eq!(
            SandboxBackend::resolve(Some(SandboxBackend::Process)).unwrap(),
            SandboxBackend::Process
        );
    }

    #[test]
    fn report_targets_parse() {
        let t: ReportTarget = "html=out/launch.html".parse().unwrap();
        assert_eq!(t.format, report_model::report::ReportFormat::Html);
        assert_eq!(t.path, PathBuf::from("out/launch.html"));
        let err = Xtask::try_parse_from(["cargo xtask", "verify", "sandbox", "--report", "xml=a"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown report format"), "{err}");
    }
}
