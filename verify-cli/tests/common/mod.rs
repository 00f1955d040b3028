//! What the `verify` binary's tests share (`cli.rs`, `e2e/`): the binary as
//! a user runs it, the workspace's files, and the running sandbox (held for
//! reading, or alone to change it, and reset after a break however the test
//! ends). Each test binary uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixtures::sandbox::{SandboxState, TestLock};
use serde_json::Value;

/// The `verify` binary, without colour.
pub fn verify() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify"));
    command.env("NO_COLOR", "1");
    command
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// `infra-tests/environments`, where a bare name is found.
pub fn specs() -> PathBuf {
    workspace().join("infra-tests").join("environments")
}

/// `target/sandbox/state.json`, written by `cargo xtask sandbox up`.
pub fn sandbox_state() -> PathBuf {
    fixtures::state_path()
}

/// A fresh directory for one test, outside the workspace.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verify-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A finished command as a failed assertion shows it.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit status, showing the whole run when it differs.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
}

pub fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sandbox spec under another environment name, in `dir`.
pub fn sandbox_as(dir: &Path, name: &str) -> PathBuf {
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let declared = "environment = \"sandbox\"";
    assert!(spec.contains(declared));
    let path = dir.join(format!("{}.hcl", name.replace(['.', '/'], "-")));
    std::fs::write(
        &path,
        spec.replace(declared, &format!("environment = \"{name}\"")),
    )
    .unwrap();
    path
}

// The running sandbox.

/// Holds the running sandbox for reading, for as long as the guard lives:
/// other readers run at once, a test that changes it waits. Fails, saying
/// how to start it, when the sandbox is not up.
#[must_use = "the sandbox is held only while the guard lives"]
pub fn reading_sandbox() -> TestLock {
    let lock = TestLock::reading().unwrap_or_else(|e| panic!("{e:#}"));
    running_sandbox();
    lock
}

/// Holds the running sandbox alone: no other test reads or changes it meanwhile.
#[must_use = "the sandbox is held only while the guard lives"]
pub fn changing_sandbox() -> TestLock {
    let lock = TestLock::changing().unwrap_or_else(|e| panic!("{e:#}"));
    running_sandbox();
    lock
}

/// The running sandbox's state; fails saying how to start it when it is not up.
pub fn running_sandbox() -> SandboxState {
    let path = sandbox_state();
    match SandboxState::load_from(&path) {
        Ok(Some(state)) => {
            if let Some(dead) = state.dead_services().first() {
                panic!(
                    "the sandbox's {} (pid {}) is not running (see {}): run `cargo xtask sandbox up`",
                    dead.name,
                    dead.pid,
                    dead.log.display()
                );
            }
            state
        }
        Ok(None) => panic!(
            "the sandbox is not running (no {}): run `cargo xtask sandbox up` first",
            path.display()
        ),
        Err(e) => panic!("{e:#}: run `cargo xtask sandbox up`"),
    }
}

/// `verify <subcommand> --spec-dir infra-tests/environments --sandbox-state
/// target/sandbox/state.json` from `dir`, as `cargo xtask verify` and
/// `cargo xtask drill` run it, with the canary's password (cargo's `[env]`
/// gives it to the tests).
pub fn verify_sandbox(dir: &Path, subcommand: &str) -> Command {
    let mut command = verify();
    command
        .current_dir(dir)
        .arg(subcommand)
        .arg("--spec-dir")
        .arg(specs())
        .arg("--sandbox-state")
        .arg(sandbox_state())
        .env("VERIFY_SECRET_SANDBOX_CANARY_PASSWORD", canary_password());
    command
}

/// What the sandbox spec's canary signs in with (`VERIFY_SECRET_SANDBOX_CANARY_PASSWORD`).
pub fn canary_password() -> String {
    std::env::var("VERIFY_SECRET_SANDBOX_CANARY_PASSWORD")
        .ok()
        .or(option_env!("VERIFY_SECRET_SANDBOX_CANARY_PASSWORD").map(String::from))
        .unwrap_or_default()
}

/// A run over the sandbox from a folder of its own; `extra` adds flags.
pub fn run_sandbox(dir: &Path, spec: &Path, extra: &[&str]) -> Output {
    verify_sandbox(dir, "run")
        .arg(spec)
        .args(extra)
        .output()
        .unwrap()
}

/// The sandbox held alone while a test changes it: with [`Changed::broken`]
/// it is reset to the good state when the guard goes, however the test ends
/// (a failed assertion too); with [`Changed::by_drill`] only when the test
/// failed (a drill that passed leaves it good, and says so).
#[must_use = "the sandbox is held (and reset) only while the guard lives"]
pub struct Changed {
    reset_on_drop: bool,
    // Dropped after `drop` has reset: nobody reads a half-reset sandbox.
    _lock: TestLock,
}

impl Changed {
    /// The sandbox with the named breaks applied (`cargo xtask sandbox
    /// breaks` lists them): the default account's (`fixtures::breaks`) or
    /// the stand-ins' (`fixtures::standins::BREAKS`).
    pub fn broken(names: &[&str]) -> Changed {
        let lock = changing_sandbox();
        let state = running_sandbox();
        let changed = Changed {
            reset_on_drop: true,
            _lock: lock,
        };
        for name in names {
            block_on(apply_break(&state, name))
                .unwrap_or_else(|e| panic!("applying the sandbox break {name}: {e}"));
        }
        changed
    }

    /// The sandbox held alone for a drill (which changes it, then restores it).
    pub fn by_drill() -> Changed {
        Changed {
            _lock: changing_sandbox(),
            reset_on_drop: false,
        }
    }

    /// Restores the good state now, still holding the sandbox.
    pub fn reset(&mut self) {
        block_on(fixtures::sandbox::reset())
            .unwrap_or_else(|e| panic!("resetting the sandbox: {e:#}"));
        self.reset_on_drop = false;
    }
}

impl Drop for Changed {
    fn drop(&mut self) {
        if !self.reset_on_drop && !std::thread::panicking() {
            return;
        }
        if let Err(e) = block_on(fixtures::sandbox::reset()) {
            if std::thread::panicking() {
                eprintln!("resetting the sandbox after a failed test: {e:#}");
            } else {
                panic!("resetting the sandbox: {e:#}");
            }
        }
    }
}

/// As `cargo xtask sandbox break <name>` applies it.
async fn apply_break(state: &SandboxState, name: &str) -> Result<(), String> {
    let applied = if fixtures::standins::BREAKS.iter().any(|(n, _)| *n == name) {
        let Some(standins) = &state.standins else {
            return Err("state.json records no stand-ins".into());
        };
        fixtures::standins::apply_break(standins, name).await
    } else {
        fixtures::breaks::apply(&state.seed_target(), name).await
    };
    applied.map_err(|e| format!("{e:#}"))
}

/// Runs `future` to completion on a runtime of its own (the tests are
/// synchronous; the sandbox's helpers are not).
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}
