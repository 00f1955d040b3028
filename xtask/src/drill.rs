//! `cargo xtask drill <kind> <env> --yes [--report FORMAT=PATH]…`: drills
//! change state, so they need consent (`--yes`) and an environment whose spec
//! says `drills { allowed = true }`. Then the drill runner is built and this
//! process becomes it (exec): Ctrl-C reaches the drill, which cleans up,
//! reports and exits 0 (every assertion held), 1 (one failed) or 2 (could
//! not run).

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use anyhow::Result;

use crate::CouldNotRun;
use crate::cargo::{build_gate_suite, build_workspace, root, workspace_bin};
use crate::flags::{Drill, DrillKind};

pub fn run(flags: &Drill) -> Result<ExitCode> {
    let name = flags.drill.as_str();
    // `cleanup` deletes only what a drill made (tagged scratch instances),
    // so it needs neither consent nor drills allowed: it is how a crashed
    // restore drill is undone anywhere.
    let cleanup = flags.drill == DrillKind::Cleanup;
    if !flags.yes && !cleanup {
        eprintln!(
            "refusing: drill {name} changes state in '{}'. Re-run with --yes to consent.",
            flags.env
        );
        return Ok(ExitCode::from(2));
    }
    let terraform = crate::terraform::TerraformFiles::read(
        None,
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )?;
    let env = crate::environment::load(&flags.env, terraform.outputs.as_ref())?;
    if !env.drills.allowed && !cleanup {
        eprintln!(
            "refusing: environment '{}' does not allow drills (set `drills {{ allowed = true }}` in its spec)",
            flags.env
        );
        return Ok(ExitCode::from(2));
    }
    if env.aws.sandbox {
        build_workspace()?;
        crate::sandbox::ensure_up()?;
    } else {
        build_gate_suite()?;
    }
    let mut command = Command::new(workspace_bin("drill"));
    command.arg(name).arg(&flags.env).current_dir(root());
    terraform.pass_to(&mut command);
    for report in &flags.report {
        command.arg("--report").arg(absolute(report)?);
    }
    let err = command.exec();
    Err(CouldNotRun(format!("cannot run the drill runner: {err}")).into())
}

/// `svg=out/t.svg` with the path made absolute (the runner's directory is the root).
fn absolute(report: &str) -> Result<String> {
    let (format, path) = report.split_once('=').unwrap_or(("json", report));
    let path = std::path::Path::new(path);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    Ok(format!("{format}={}", path.display()))
}
