//! Running cargo and the workspace's own binaries.
//!
//! Every command builds through [`build_workspace`]: one feature set for the
//! whole workspace but xtask ([`WORKSPACE`] + `--all-targets`), the one
//! `cargo test` uses too, so `verify`, the sandbox program and the tests
//! share one build of the AWS SDK, and switching between the sandbox and a
//! real account compiles nothing. xtask itself is left out: `cargo xtask`
//! builds it with its own small feature set, and rebuilding the running
//! binary would pull it from under us.
//!
//! Every build shows progress: a first one compiles the AWS SDK for minutes.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

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

/// `infra-tests/environments`, where `cargo xtask verify <name>` finds `<name>.hcl`.
pub fn environments_dir() -> PathBuf {
    root().join("infra-tests").join("environments")
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

/// The packages every sandbox build and test run selects: all but xtask.
pub const WORKSPACE: [&str; 3] = ["--workspace", "--exclude", "xtask"];

/// Builds every target of the workspace (with progress, quiet when nothing
/// needs compiling).
pub fn build_workspace() -> Result<()> {
    build(
        &[&WORKSPACE[..], &["--all-targets"]].concat(),
        "the workspace",
    )
}

/// The two programs a run needs: `verify` and the sandbox's `sandbox`,
/// without the workspace's tests and benches (a cold first `cargo xtask
/// verify sandbox` compiles what it runs, not what `cargo xtask test` does).
pub fn build_tools() -> Result<()> {
    build(
        &[
            "--package",
            "verify-cli",
            "--bin",
            "verify",
            "--package",
            "fixtures",
            "--bin",
            "sandbox",
        ],
        "verify and the sandbox",
    )
}

/// Runs `cargo build <args>`, following its artifacts: once one needs
/// compiling, says so and shows how far it got (a spinner on a terminal, a
/// line a minute otherwise). Compiler errors go to stderr as cargo renders them.
fn build(args: &[&str], what: &str) -> Result<()> {
    let mut child = cargo()
        .arg("build")
        .args(args)
        .args(["--quiet", "--message-format=json-render-diagnostics"])
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo build")?;
    let stdout = child.stdout.take().context("cargo build's output")?;
    let started = Instant::now();
    let mut progress: Option<BuildProgress> = None;
    for message in cargo_metadata::Message::parse_stream(BufReader::new(stdout)) {
        let message = message.context("reading cargo build's output")?;
        let cargo_metadata::Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        if artifact.fresh && progress.is_none() {
            continue;
        }
        progress
            .get_or_insert_with(|| BuildProgress::start(started, what))
            .compiled(&artifact.target.name);
    }
    let status = child.wait().context("waiting for cargo build")?;
    if let Some(progress) = progress {
        progress.finish();
    }
    if !status.success() {
        bail!("cargo build failed");
    }
    Ok(())
}

/// What a build shows while it compiles.
struct BuildProgress {
    bar: ProgressBar,
    compiled: u64,
    last_line: Instant,
}

impl BuildProgress {
    fn start(started: Instant, what: &str) -> BuildProgress {
        eprintln!(
            "compiling {what} (a first build takes several minutes on 2 cores; later ones seconds)"
        );
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} compiled {pos} crates  {wide_msg}")
                .expect("progress template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        BuildProgress {
            bar,
            compiled: 0,
            last_line: started,
        }
    }

    fn compiled(&mut self, name: &str) {
        self.compiled += 1;
        self.bar.set_position(self.compiled);
        self.bar.set_message(name.to_string());
        // Off a terminal the spinner is hidden: a line a minute instead.
        if self.bar.is_hidden() && self.last_line.elapsed() >= Duration::from_secs(60) {
            eprintln!("  … compiled {} crates (last: {name})", self.compiled);
            self.last_line = Instant::now();
        }
    }

    fn finish(self) {
        let elapsed = self.bar.elapsed();
        self.bar.finish_and_clear();
        eprintln!(
            "compiled {} crates in {}",
            self.compiled,
            humantime::format_duration(Duration::from_secs(elapsed.as_secs()))
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The packages `cargo tree` resolves for `selection` (every kind of dependency).
    fn packages(selection: &[&str]) -> Vec<String> {
        let out = cargo()
            .arg("tree")
            .args(selection)
            .args(["--prefix", "none", "-f", "{p}"])
            .output()
            .expect("cargo tree runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect()
    }

    /// The stand-ins and the servers they are built on.
    const SANDBOX_ONLY: [&str; 4] = ["fixtures", "axum", "hickory-server", "rcgen"];

    /// The program a pipeline installs never links the sandbox.
    #[test]
    fn the_verify_binary_leaves_the_sandbox_out() {
        let verify = packages(&["-p", "verify-cli", "-e", "normal"]);
        assert!(verify.iter().any(|p| p == "verify"), "{verify:?}");
        for crate_name in SANDBOX_ONLY {
            assert!(
                !verify.iter().any(|p| p == crate_name),
                "{crate_name} is linked into verify"
            );
        }
        // And the workspace does have them (this test can fail).
        let workspace = packages(&WORKSPACE);
        for crate_name in SANDBOX_ONLY {
            assert!(workspace.iter().any(|p| p == crate_name), "{crate_name}");
        }
    }

    #[test]
    fn nothing_pulls_in_ring() {
        for selection in [&["-p", "verify-cli"][..], &WORKSPACE[..]] {
            let all = packages(selection);
            assert!(
                !all.iter().any(|p| p == "ring"),
                "{selection:?} builds ring"
            );
            assert!(
                !all.iter().any(|p| p == "openssl-sys"),
                "{selection:?} builds OpenSSL"
            );
        }
    }
}
