//! `cargo xtask drill <kind> <env> --yes [--report FORMAT=PATH]…`: drills
//! change state, so they need consent (`--yes`) and an environment whose spec
//! says `drills { allowed = true }`. Then `verify` is built and this
//! process becomes `verify drill` (exec): Ctrl-C and SIGTERM reach the
//! drill, which cleans up, reports and exits 0 (every assertion held), 1
//! (one failed) or 2 (could not run).

use std::process::ExitCode;

use anyhow::Result;

use crate::CouldNotRun;
use crate::cargo::build_tools;
use crate::flags::{Drill, DrillKind};

pub fn run(flags: &Drill) -> Result<ExitCode> {
    let name = flags.drill.as_str();
    // `cleanup` deletes only what a drill made (tagged scratch instances
    // whose deadline passed), so it needs no drills allowed: it is how a
    // crashed restore drill is undone anywhere. It deletes, so it needs
    // consent as every drill does.
    let cleanup = flags.drill == DrillKind::Cleanup;
    if !flags.yes {
        eprintln!(
            "refusing: drill {name} changes state in '{}'. Re-run with --yes to consent.",
            flags.env
        );
        return Ok(ExitCode::from(2));
    }
    let terraform = envspec::inputs::TerraformFiles::read(
        None,
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )
    .map_err(|e| CouldNotRun(e.to_string()))?;
    let env = crate::environment::load(&flags.env, terraform.outputs.as_ref())?;
    envspec::secret_env::check(&env, &flags.secret_env_prefix)
        .map_err(|e| CouldNotRun(e.to_string()))?;
    if !env.drills.allowed && !cleanup {
        eprintln!(
            "refusing: environment '{}' does not allow drills (set `drills {{ allowed = true }}` in its spec)",
            flags.env
        );
        return Ok(ExitCode::from(2));
    }
    build_tools()?;
    if env.aws.sandbox {
        crate::sandbox::ensure_up()?;
    }
    let mut command = crate::verify::verify_command("drill");
    command.arg(name).arg(&flags.env);
    if flags.yes {
        command.arg("--yes");
    }
    if flags.allow_writes {
        command.arg("--allow-writes");
    }
    command.args(["--secret-env-prefix", flags.secret_env_prefix.as_str()]);
    for (flag, path) in [
        ("--terraform-state", &flags.terraform_state),
        ("--terraform-outputs", &flags.terraform_outputs),
    ] {
        if let Some(path) = path {
            command.arg(flag).arg(path);
        }
    }
    for report in &flags.report {
        command.arg("--report").arg(report);
    }
    Err(crate::verify::exec(command))
}
