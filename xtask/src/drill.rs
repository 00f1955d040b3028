//! `cargo xtask drill <kind> <env> [--yes]`: drills change state, so they
//! need consent and an environment that allows them.

use std::process::ExitCode;

use anyhow::Result;

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
    let env = crate::environment::load(&flags.env)?;
    if !env.drills.allowed {
        eprintln!(
            "refusing: environment '{}' does not allow drills (set `drills {{ allowed = true }}` in its spec)",
            flags.env
        );
        return Ok(ExitCode::from(2));
    }
    eprintln!("drill {name}: not implemented in this version; nothing was changed");
    Ok(ExitCode::from(2))
}
