//! Every command and flag of `verify`, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use report_model::report::ReportTarget;

const EXIT_CODES: &str = "\
Exit status:
  0  go (every check passed, skipped or waived; every sign-off given) — or the command succeeded
  1  no-go (a check failed or could not look, a sign-off is missing; a drill's assertion failed)
  2  could not run (bad arguments; an invalid spec, waivers, sign-offs or Terraform file, named
     with file:line:column; credentials of another account or region; no consent for a drill)";

#[derive(Debug, Parser)]
#[command(
    name = "verify",
    about = "verify: is this AWS environment really ready? Typed, read-only checks of a live \
             environment against its HCL spec, and drills that inject a fault and judge what \
             a client saw.",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("VERIFY_COMMIT"), ")"),
    after_help = EXIT_CODES,
)]
pub struct Verify {
    #[command(subcommand)]
    pub command: Command,
    /// Colour on the terminal: auto (a TTY, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,
    /// More log lines on stderr (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr, and no progress.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gate against one or more environments and report go / no-go.
    #[command(after_help = EXIT_CODES)]
    Run(Run),
    /// Read the spec, waivers, sign-offs and Terraform files; list the checks
    /// a run would make and the IAM actions they need. No AWS call.
    #[command(after_help = EXIT_CODES)]
    Validate(Validate),
    /// List the check catalogue, or the checks a spec plans.
    Checks(Checks),
    /// Run a chaos drill, or clean up after one (either changes state; needs --yes).
    #[command(after_help = EXIT_CODES)]
    Drill(Drill),
    /// Print the least-privilege IAM policy (JSON) for the checks the spec enables.
    IamPolicy(IamPolicy),
    /// Compare two runs' JSON reports (newly failing, fixed, still failing,
    /// ids on one side only), or two environments of a combined report.
    #[command(after_help = DIFF_EXIT_CODES)]
    Diff(Diff),
}

const DIFF_EXIT_CODES: &str = "\
Exit status:
  0  compared (whatever differs, unless --fail-on new)
  1  --fail-on new and a check fails in NEW (or the second --env) that did not fail in OLD (or the
     first --env), or fails there and was not in OLD at all
  2  could not compare (a file that is not a verify JSON report, named with file:line:column where
     it does not parse; a drill record; an --env the combined report does not hold)";

/// `verify diff OLD.json NEW.json | verify diff COMBINED.json --env A --env B`.
#[derive(Debug, Parser)]
pub struct Diff {
    /// Two JSON reports (`verify run --report json=PATH`), OLD then NEW; or
    /// one combined report (several environments) with two --env.
    #[arg(value_name = "REPORT.json", required = true, num_args = 1..=2)]
    pub files: Vec<PathBuf>,
    /// With a combined report: the environments to compare, first then second (twice).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// `new`: exit 1 when a check newly fails (see the exit status below).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,
    /// Also write the comparison: json=PATH, markdown=PATH or html=PATH (repeatable).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<ReportTarget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A check failing now that did not fail before.
    New,
}

/// Where specs are found and what a sandbox spec connects to.
#[derive(Debug, Clone, Args)]
pub struct SpecArgs {
    /// Where a bare name is found: NAME is `<DIR>/NAME.hcl`.
    #[arg(long, value_name = "DIR", default_value = "environments")]
    pub spec_dir: PathBuf,
    /// The running sandbox's state, for a `sandbox = true` spec (written by
    /// `cargo xtask sandbox up`). `verify` never starts the sandbox.
    #[arg(long, value_name = "PATH", default_value = "target/sandbox/state.json")]
    pub sandbox_state: PathBuf,
}

/// Where secrets come from: the commands that read them (`run`, `drill`)
/// and `validate`, which refuses a spec the same way.
#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// Secrets are read only from environment variables whose name starts
    /// with PREFIX; a spec naming one outside it (a canary's `secrets`,
    /// Cloudflare's `token_env`, a drill's `database_url_env`) is refused.
    /// Never set by the spec.
    #[arg(long, value_name = "PREFIX", default_value = envspec::secret_env::DEFAULT_PREFIX)]
    pub secret_env_prefix: envspec::secret_env::SecretPrefix,
}

/// The files a run reads besides its specs.
#[derive(Debug, Clone, Args)]
pub struct Inputs {
    /// Only checks whose id matches this glob (repeatable), e.g. 'rds.*'.
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
    /// Skip checks whose id matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Waivers file (HCL `waiver "<glob>" { justification, expires }` blocks).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Sign-offs file (one environment only): go also needs every required
    /// sign-off given and unexpired, every manual item done.
    #[arg(long, value_name = "FILE")]
    pub signoffs: Option<PathBuf>,
    #[command(flatten)]
    pub terraform: TerraformArgs,
}

/// `--terraform-*` (one environment only).
#[derive(Debug, Clone, Args)]
pub struct TerraformArgs {
    /// `terraform show -json` of a plan saved right after apply: runs `terraform.idempotent`.
    #[arg(long, value_name = "PLAN.json")]
    pub terraform_plan: Option<PathBuf>,
    /// `terraform show -json` of the state after apply: runs `terraform.declared`,
    /// and its outputs serve the spec's `output.NAME` references.
    #[arg(long, value_name = "STATE.json")]
    pub terraform_state: Option<PathBuf>,
    /// `terraform output -json`: the outputs the spec's `output.NAME` references
    /// read (instead of the state's).
    #[arg(long, value_name = "OUTPUTS.json")]
    pub terraform_outputs: Option<PathBuf>,
}

#[derive(Debug, Parser)]
pub struct Run {
    /// A spec: a path to a `.hcl` file, a bare name (`<--spec-dir>/NAME.hcl`),
    /// or a glob over either. Several run concurrently in one process and give
    /// one combined report plus one per environment.
    #[arg(value_name = "SPEC", required = true, num_args = 1..)]
    pub specs: Vec<String>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// Let canaries that write (`writes = true`) run, and undo what they
    /// wrote; without it they are `skip`, never `pass`.
    #[arg(long)]
    pub allow_writes: bool,
    /// A JSON report of an earlier run (or a combined one holding this
    /// environment): after the run, print what changed since (as `verify
    /// diff`), and put it in the JSON report as `baseline`; a stale
    /// sign-off that approved it says which checks changed. One environment only.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// The commit the environment was deployed from (7 to 64 hex digits):
    /// part of the run's evidence digest, which sign-offs can name.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Write a report: json=PATH, junit=PATH, markdown=PATH, html=PATH or
    /// sarif=PATH (SARIF 2.1.0: each failing, erroring or waived check at its
    /// block of the spec) (repeatable). With several environments PATH is the
    /// combined report (SARIF: one run per environment), and each
    /// environment's is written beside it with its name before the extension
    /// (`out/gate.json` → `out/gate.staging.json`).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<ReportTarget>,
    /// With several environments: at most this many at once in all.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// With several environments: at most this many at once in one AWS account.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub per_account: u16,
}

#[derive(Debug, Parser)]
pub struct Validate {
    /// As for `run`.
    #[arg(value_name = "SPEC", required = true, num_args = 1..)]
    pub specs: Vec<String>,
    /// Where a bare name is found: NAME is `<DIR>/NAME.hcl`.
    #[arg(long, value_name = "DIR", default_value = "environments")]
    pub spec_dir: PathBuf,
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// `text` (default) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Parser)]
pub struct Checks {
    /// List the checks this spec plans (concrete ids) instead of the catalogue.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Parser)]
pub struct Drill {
    #[arg(value_enum)]
    pub drill: DrillKind,
    /// A spec path or a bare name, as for `run`.
    #[arg(value_name = "SPEC")]
    pub spec_name: String,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Consent: the drill (or `cleanup`) changes state in the environment.
    #[arg(long)]
    pub yes: bool,
    /// Let a dependent that runs a writing canary (`writes = true`) run
    /// after recovery, and undo what it wrote; without it such a drill is
    /// refused before anything is touched.
    #[arg(long)]
    pub allow_writes: bool,
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// Write a report: json=PATH, markdown=PATH or svg=PATH (the timeline) (repeatable).
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_drill_report)]
    pub report: Vec<(String, PathBuf)>,
    /// `terraform show -json` of the state: its outputs serve the spec's `output.NAME` references.
    #[arg(long, value_name = "STATE.json")]
    pub terraform_state: Option<PathBuf>,
    /// `terraform output -json`: the outputs the spec's `output.NAME` references read.
    #[arg(long, value_name = "OUTPUTS.json")]
    pub terraform_outputs: Option<PathBuf>,
}

/// `json=PATH`, `markdown=PATH` or `svg=PATH`.
fn parse_drill_report(value: &str) -> Result<(String, PathBuf), String> {
    match value.split_once('=') {
        Some((format @ ("json" | "markdown" | "svg"), path)) if !path.is_empty() => {
            Ok((format.to_string(), PathBuf::from(path)))
        }
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
pub struct IamPolicy {
    /// A spec path or a bare name, as for `run`.
    #[arg(value_name = "SPEC")]
    pub spec_name: String,
    /// Where a bare name is found: NAME is `<DIR>/NAME.hcl`.
    #[arg(long, value_name = "DIR", default_value = "environments")]
    pub spec_dir: PathBuf,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Verify::command().debug_assert();
    }

    #[test]
    fn help_names_the_program_and_the_exit_codes() {
        let help = Verify::command().render_long_help().to_string();
        assert!(help.contains("verify"), "{help}");
        for code in ["0  go", "1  no-go", "2  could not run"] {
            assert!(help.contains(code), "{help}");
        }
    }

    #[test]
    fn reports_parse_and_a_bad_one_is_refused() {
        let run = Verify::try_parse_from(["verify", "run", "x.hcl", "--report", "junit=o/j.xml"])
            .unwrap();
        let Command::Run(run) = run.command else {
            panic!()
        };
        assert_eq!(run.report[0].path, PathBuf::from("o/j.xml"));
        let err = Verify::try_parse_from(["verify", "run", "x.hcl", "--report", "xml=a"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown report format"), "{err}");
        let run = Verify::try_parse_from(["verify", "run", "x.hcl", "--report", "sarif=o/v.sarif"])
            .unwrap();
        let Command::Run(run) = run.command else {
            panic!()
        };
        assert_eq!(
            run.report[0].format,
            report_model::report::ReportFormat::Sarif
        );
    }
}
