//! `cargo xtask verify <env>…`: refuses bad input at once (the specs, the
//! `--only`/`--skip` globs, the waivers file, the sign-offs and the
//! Terraform files: exit 2 with `file:line:column`, before anything is
//! built), builds the `verify` binary, starts the sandbox if a spec needs it
//! and none runs, then becomes `verify run` (exec) with the same flags.
//! Names are found in `infra-tests/environments` (`--spec-dir`); the
//! sandbox's state is `target/sandbox/state.json` (`--sandbox-state`). A
//! spec naming a secret's variable outside `--secret-env-prefix` is
//! refused here too; `--allow-writes` is passed when asked for, or when
//! every spec is the sandbox's.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use anyhow::Result;
use envspec::inputs::TerraformFiles;

use crate::CouldNotRun;
use crate::cargo::{build_tools, environments_dir, workspace_bin};
use crate::flags::Verify;

pub fn run(flags: &Verify) -> Result<ExitCode> {
    for glob in flags.only.iter().chain(&flags.skip) {
        globset::Glob::new(glob).map_err(|e| CouldNotRun(format!("invalid glob {glob:?}: {e}")))?;
    }
    if let Some(w) = &flags.waivers {
        envspec::waivers::load(w).map_err(|e| CouldNotRun(e.to_string()))?;
    }
    if let Some(s) = &flags.signoffs {
        envspec::signoffs::load(s).map_err(|e| CouldNotRun(e.to_string()))?;
    }
    let terraform = TerraformFiles::read(
        flags.terraform_plan.as_deref(),
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )
    .map_err(|e| CouldNotRun(e.to_string()))?;
    let envs = crate::environment::load_all(&flags.envs, terraform.outputs.as_ref())?;
    for env in &envs {
        envspec::secret_env::check(env, &flags.secret_env_prefix)
            .map_err(|e| CouldNotRun(e.to_string()))?;
    }
    let sandbox = envs.iter().any(|e| e.aws.sandbox);
    // The sandbox is ours (and `sandbox reset` puts it back): its gate runs
    // the canary's writes and undo, as README's run shows.
    let allow_writes = flags.allow_writes || envs.iter().all(|e| e.aws.sandbox);

    build_tools()?;
    if sandbox {
        crate::sandbox::ensure_up_with(crate::flags::SandboxBackend::resolve(flags.backend)?)?;
    }
    let mut command = verify_command("run");
    command.args(&flags.envs);
    for glob in &flags.only {
        command.arg("--only").arg(glob);
    }
    for glob in &flags.skip {
        command.arg("--skip").arg(glob);
    }
    for (flag, path) in [
        ("--waivers", &flags.waivers),
        ("--signoffs", &flags.signoffs),
        ("--terraform-plan", &flags.terraform_plan),
        ("--terraform-state", &flags.terraform_state),
        ("--terraform-outputs", &flags.terraform_outputs),
        ("--baseline", &flags.baseline),
    ] {
        if let Some(path) = path {
            command.arg(flag).arg(path);
        }
    }
    if let Some(commit) = &flags.commit {
        command.arg("--commit").arg(commit);
    }
    for report in &flags.report {
        command.arg("--report").arg(format!(
            "{}={}",
            report.format.as_str(),
            report.path.display()
        ));
    }
    if allow_writes {
        command.arg("--allow-writes");
    }
    command
        .args(["--secret-env-prefix", flags.secret_env_prefix.as_str()])
        .args(["--jobs", &flags.jobs.to_string()])
        .args(["--per-account", &flags.per_account.to_string()]);
    Err(exec(command))
}

/// `verify <subcommand> --spec-dir infra-tests/environments --sandbox-state
/// target/sandbox/state.json`, run from the caller's directory (so relative
/// paths mean what the caller meant).
pub fn verify_command(subcommand: &str) -> Command {
    let mut command = Command::new(workspace_bin("verify"));
    command
        .arg(subcommand)
        .arg("--spec-dir")
        .arg(environments_dir())
        .arg("--sandbox-state")
        .arg(
            crate::cargo::target_dir()
                .join("sandbox")
                .join("state.json"),
        );
    command
}

/// Becomes `command` (only returns when it cannot start).
pub fn exec(mut command: Command) -> anyhow::Error {
    let err = command.exec();
    CouldNotRun(format!(
        "cannot run {}: {err}",
        command.get_program().to_string_lossy()
    ))
    .into()
}
