//! Running cargo and the workspace's own binaries.
//!
//! Every build goes through [`build_workspace`]: one feature set for the
//! whole workspace but xtask ([`WORKSPACE`] + `--all-targets`), so `cargo
//! test` afterwards reuses it instead of compiling the AWS SDK a second time.
//! xtask itself is left out: `cargo xtask` builds it with its own small
//! feature set, and rebuilding the running binary would pull it from under us.

use std::path::PathBuf;
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result, bail};

/// The workspace root (this crate's parent).
pub fn root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(&xtask).to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

/// The packages every build and test run selects: all but xtask.
pub const WORKSPACE: [&str; 3] = ["--workspace", "--exclude", "xtask"];

/// Builds every target of the workspace (quietly unless it fails).
pub fn build_workspace() -> Result<()> {
    let status = cargo()
        .arg("build")
        .args(WORKSPACE)
        .args(["--all-targets", "--quiet"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    Ok(())
}

/// A binary of the workspace, built by [`build_workspace`].
pub fn workspace_bin(name: &str) -> PathBuf {
    target_dir().join("debug").join(name)
}

/// Runs the sandbox control program with `args`.
pub fn sandbox(args: &[&str]) -> Result<ExitStatus> {
    let bin = workspace_bin("sandbox");
    Command::new(&bin)
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("running {}", bin.display()))
}

/// Runs the sandbox control program quietly; its output is shown only if it fails.
pub fn sandbox_quiet(args: &[&str]) -> Result<bool> {
    let bin = workspace_bin("sandbox");
    let out = Command::new(&bin)
        .args(args)
        .current_dir(root())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        eprint!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.status.success())
}
