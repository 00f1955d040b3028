//! `cargo xtask`: the harness. Flags live in [`flags`]; one module per command.
//!
//! Exit status: 0 go (or success), 1 no-go (or a failed test), 2 could not run.

mod action;
mod cargo;
mod container;
mod dist;
mod docs;
mod drill;
mod environment;
#[cfg(test)]
mod examples;
mod flags;
mod iam_policy;
mod sandbox;
mod test;
mod verify;

use std::process::ExitCode;

use clap::Parser;

/// An error meaning "the command could not run" (exit 2), as opposed to no-go.
#[derive(Debug)]
pub struct CouldNotRun(pub String);

impl std::fmt::Display for CouldNotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CouldNotRun {}

fn main() -> ExitCode {
    let flags = match flags::Xtask::try_parse() {
        Ok(f) => f,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match &flags.command {
        flags::Command::Verify(v) => verify::run(v),
        flags::Command::Drill(d) => drill::run(d),
        flags::Command::Sandbox(s) => sandbox::run(s),
        flags::Command::Test(t) => test::run(t),
        flags::Command::Bench(b) => sandbox::bench(b),
        flags::Command::IamPolicy(p) => iam_policy::run(p),
        flags::Command::Dist(d) => dist::run(d),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
