//! `cargo xtask test`: installs and starts what the tests need, runs every
//! `cargo test` of the workspace against the sandbox (the `verify` binary
//! end to end is `verify-cli/tests/e2e/`), then what only `cargo xtask`
//! itself does: `verify` builds, then becomes `verify run`; a second
//! environment compiles nothing; `iam-policy` validates, then becomes
//! `verify iam-policy`; the container image runs the gate; `action.yml`'s
//! steps install a release and run the gate.

use std::path::Path;
use std::process::{Command, ExitCode, Output};

use anyhow::{Context, Result, bail};

use crate::cargo::{WORKSPACE, build_workspace, cargo, root, sandbox_quiet, target_dir};
use crate::flags::Test;

pub fn run(flags: &Test) -> Result<ExitCode> {
    install_system_packages()?;
    build_workspace()?;
    let backend = crate::flags::SandboxBackend::resolve(flags.backend)?;
    if backend == crate::flags::SandboxBackend::Containers {
        return containers(flags);
    }
    let started_sandbox = crate::sandbox::ensure_up_with(backend)?;

    let cargo_ok = cargo()
        .arg("test")
        .args(WORKSPACE)
        .arg("--no-fail-fast")
        .args(&flags.cargo_test_args)
        .status()
        .context("running cargo test")?
        .success();
    // xtask's own unit tests, with the feature set `cargo xtask` already built.
    let xtask_ok = cargo()
        .args(["test", "--package", "xtask"])
        .status()
        .context("running cargo test -p xtask")?
        .success();
    let cargo_ok = cargo_ok && xtask_ok;

    println!("\ncargo xtask itself: validate, build, then become verify");
    let xtask_result = xtask_end_to_end();
    if let Err(e) = &xtask_result {
        println!("  FAILED: {e:#}");
    }

    if started_sandbox {
        let _ = sandbox_quiet(&["down"]);
    }
    println!("\ncargo test: {}", if cargo_ok { "ok" } else { "FAILED" });
    println!(
        "cargo xtask end to end: {}",
        if xtask_result.is_ok() { "ok" } else { "FAILED" }
    );
    Ok(if cargo_ok && xtask_result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `cargo xtask test --backend containers`: what depends on where the RDS
/// members and pgbouncer tasks run, on a sandbox of containers (the rest
/// runs on the default backend: `cargo xtask test`). The engine's own test
/// (a labelled, capped container; removed by label), the gate (`verify`
/// GO), the drills that start, stop, freeze or replace servers (or the
/// `cargo test` arguments given), then `sandbox down` and nothing labelled
/// left on the engine. A sandbox of the process backend running is an error.
fn containers(flags: &Test) -> Result<ExitCode> {
    use crate::flags::SandboxBackend;
    let started = std::time::Instant::now();
    let started_sandbox = crate::sandbox::ensure_up_with(SandboxBackend::Containers)?;
    println!(
        "containers backend: sandbox up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut failed = Vec::new();
    let mut step = |name: &str, ok: bool| {
        println!("  {}  {name}", if ok { "ok    " } else { "FAILED" });
        if !ok {
            failed.push(name.to_string());
        }
    };
    let engine_ok = cargo()
        .args(["test", "--package", "fixtures", "--test", "containers"])
        .args(["--", "--ignored"])
        .status()
        .context("running the containers backend's own test")?
        .success();
    step(
        "the engine: a labelled, capped container, removed by label",
        engine_ok,
    );
    let gate = xtask_with_env(
        &["verify", "sandbox"],
        &[(SandboxBackend::ENV, SandboxBackend::Containers.as_str())],
    )?;
    step(
        "cargo xtask verify sandbox --backend containers: GO",
        gate.status.success() && String::from_utf8_lossy(&gate.stdout).contains("verdict: GO"),
    );
    // The drills that start, stop, freeze or replace the members and
    // tasks (refusals and the alarm route do not depend on where they run).
    let drill_args: Vec<String> = if flags.cargo_test_args.is_empty() {
        [
            "--test",
            "sandbox",
            "--",
            "drill_rds::the_failover",
            "drill_pgbouncer::the_drain",
            "drill_pitr::the_restore",
            "drill_az_outage::the_az",
        ]
        .map(String::from)
        .to_vec()
    } else {
        flags.cargo_test_args.clone()
    };
    let drills_ok = cargo()
        .arg("test")
        .args(WORKSPACE)
        .arg("--no-fail-fast")
        .args(&drill_args)
        .env(SandboxBackend::ENV, SandboxBackend::Containers.as_str())
        .status()
        .context("running the drills on the containers backend")?
        .success();
    step(
        "the failover, drain, restore and AZ-outage drills on containers",
        drills_ok,
    );
    if started_sandbox {
        let _ = sandbox_quiet(&["down"]);
        let left = containers_left()?;
        step(
            &format!("nothing left on the engine after `sandbox down` {left:?}"),
            left.is_empty(),
        );
    }
    println!(
        "
cargo xtask test --backend containers: {}",
        if failed.is_empty() { "ok" } else { "FAILED" }
    );
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Containers, networks and volumes labelled `verify.sandbox` (any
/// sandbox's), as `kind name` lines.
fn containers_left() -> Result<Vec<String>> {
    let mut left = Vec::new();
    for (kind, format) in [
        ("container", "{{.Names}}"),
        ("network", "{{.Name}}"),
        ("volume", "{{.Name}}"),
    ] {
        let mut command = Command::new("podman");
        if kind == "container" {
            command.args(["ps", "--all"]);
        } else {
            command.args([kind, "ls"]);
        }
        let out = command
            .args(["--filter", "label=verify.sandbox", "--format", format])
            .output()
            .with_context(|| format!("listing {kind}s with podman"))?;
        if !out.status.success() {
            bail!(
                "podman {kind} ls: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        left.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| format!("{kind} {l}")),
        );
    }
    Ok(left)
}

/// The machine packages the sandbox needs, installed with apt when missing (CI runs as root).
fn install_system_packages() -> Result<()> {
    let have_postgres = fixtures_postgres_present();
    let have_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // The container image's step: podman (with runc) and debootstrap for its base.
    let container = crate::container::missing_packages();
    if have_postgres && have_python && container.is_empty() {
        return Ok(());
    }
    let mut packages = Vec::new();
    if !have_postgres {
        packages.push("postgresql");
    }
    if !have_python {
        packages.extend(["python3", "python3-venv"]);
    }
    packages.extend(container);
    eprintln!("installing {} with apt-get", packages.join(" "));
    let ok = Command::new("apt-get")
        .arg("update")
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        bail!(
            "could not install {} (apt-get failed; run as root or install them by hand)",
            packages.join(" ")
        );
    }
    Ok(())
}

fn fixtures_postgres_present() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(|d| d.ok())
                .any(|d| d.path().join("bin/initdb").exists())
        })
        .unwrap_or(false)
}

/// What only `cargo xtask` does, one step after another (the first that
/// fails stops them, saying what went wrong). Everything `verify` itself
/// does is tested on the binary (`verify-cli/tests/`).
fn xtask_end_to_end() -> Result<()> {
    let dir = target_dir().join("e2e");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    verify_sandbox_builds_then_runs_the_gate(&dir)
        .context("cargo xtask verify sandbox: build, then become verify run")?;
    println!("  ok    cargo xtask verify sandbox: built, then verify run: go");
    switching_environments_compiles_nothing()
        .context("cargo xtask verify staging after verify sandbox")?;
    println!("  ok    cargo xtask verify staging after verify sandbox: nothing compiled, exit 2");
    iam_policy_printed()
        .context("cargo xtask iam-policy: validate, then become verify iam-policy")?;
    println!("  ok    cargo xtask iam-policy sandbox [--drills]: the policy; production: exit 2");
    let image = crate::container::build_and_run_the_gate()
        .context("the container image: build it, run verify run sandbox in it")?;
    println!(
        "  ok    the container image: built, runs the gate: go ({:.0} s{}, {:.1} MB)",
        image.seconds,
        if image.made_base {
            ", debootstrap of its base included"
        } else {
            ""
        },
        image.size_bytes as f64 / 1e6
    );
    crate::action::runs_the_gate(&dir)
        .context("action.yml: its install and run steps, on a local release")?;
    println!(
        "  ok    action.yml: downloads a release, checks its sha256, runs the gate: go, outputs and summary"
    );
    Ok(())
}

fn xtask(args: &[&str]) -> Result<Output> {
    xtask_with_env(args, &[])
}

fn xtask_with_env(args: &[&str], env: &[(&str, &str)]) -> Result<Output> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .context("running xtask")
}

fn expect_exit(out: &Output, code: i32) -> Result<()> {
    if out.status.code() != Some(code) {
        bail!(
            "exit {:?}, expected {code}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// `cargo xtask verify sandbox --report json=…`: the workspace built, then
/// `verify run` with the same flags (the report written where asked) and
/// the spec directory and sandbox state it adds: go.
fn verify_sandbox_builds_then_runs_the_gate(dir: &Path) -> Result<()> {
    let json = dir.join("go.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 0)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("verdict: GO") {
        bail!("the terminal report lacks the verdict:\n{stdout}");
    }
    let text =
        std::fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text)?;
    if report["verdict"] != "go" || report["environment"] != "sandbox" {
        bail!(
            "{}: verdict {} for {}",
            json.display(),
            report["verdict"],
            report["environment"]
        );
    }
    // The sandbox's gate runs its canary's writes (and undo): xtask passes
    // --allow-writes for a sandbox spec, so README's `canary.t0` pass holds.
    let canary = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == "canary.t0"));
    if canary.map(|c| &c["status"]) != Some(&serde_json::json!("pass")) {
        bail!(
            "{}: canary.t0 {}, expected pass (written and undone)",
            json.display(),
            canary.map_or("missing".to_string(), |c| c.to_string())
        );
    }
    Ok(())
}

/// After `cargo xtask verify sandbox` (the step before this one),
/// a real account's run builds nothing: one build serves both. Staging's
/// profile does not exist here, so it stops at the identity: exit 2.
fn switching_environments_compiles_nothing() -> Result<()> {
    let out = xtask(&["verify", "staging"])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("compil") {
        bail!("something was compiled:\n{stderr}");
    }
    Ok(())
}

/// `cargo xtask iam-policy`: a policy document on stdout, the drills' writes
/// only with `--drills`; production without its outputs cannot be read (2).
fn iam_policy_printed() -> Result<()> {
    let actions = |args: &[&str]| -> Result<Vec<String>> {
        let out = xtask(args)?;
        expect_exit(&out, 0)?;
        let policy: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("iam-policy prints JSON")?;
        if policy["Version"] != "2012-10-17" {
            bail!("not a policy document: {policy}");
        }
        Ok(policy["Statement"]
            .as_array()
            .context("no statements")?
            .iter()
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect())
    };
    let reads = actions(&["iam-policy", "sandbox"])?;
    if !reads.iter().any(|a| a == "cloudwatch:GetMetricData")
        || reads.iter().any(|a| a == "rds:RebootDBInstance")
    {
        bail!("the read policy: {reads:?}");
    }
    let drills = actions(&["iam-policy", "sandbox", "--drills"])?;
    if !drills.iter().any(|a| a == "rds:RebootDBInstance") {
        bail!("the drill policy lacks rds:RebootDBInstance: {drills:?}");
    }
    expect_exit(&xtask(&["iam-policy", "production"])?, 2)
}
