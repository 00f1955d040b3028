//! `cargo xtask drill <kind> <env> [--yes]`: drills change state, so they
//! need consent and an environment that allows them.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::cargo::{build_workspace, root, workspace_bin};
use crate::flags::Drill;

pub fn run(flags: &Drill) -> Result<ExitCode> {
    let name = format!("{:?}", flags.drill);
    if !flags.yes {
        eprintln!(
            "refusing: drill {name} changes state in '{}'. Re-run with --yes to consent.",
            flags.env
        );
        return Ok(ExitCode::from(2));
    }
    build_workspace()?;
    let out = Command::new(workspace_bin("envspec"))
        .arg(&flags.env)
        .current_dir(root())
        .output()
        .context("running envspec")?;
    if !out.status.success() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        return Ok(ExitCode::from(2));
    }
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).context("envspec output")?;
    if info["drills_allowed"] != serde_json::Value::Bool(true) {
        eprintln!(
            "refusing: environment '{}' does not allow drills (set `drills {{ allowed = true }}` in its spec)",
            flags.env
        );
        return Ok(ExitCode::from(2));
    }
    eprintln!("drill {name}: not implemented in this version; nothing was changed");
    Ok(ExitCode::from(2))
}
