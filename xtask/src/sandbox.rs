//! `cargo xtask sandbox up|reset|down|status|break|breaks` and `cargo xtask bench`.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::cargo::{build_workspace, root, sandbox as sandbox_bin, workspace_bin};
use crate::flags::{Bench, BenchWhat, Sandbox, SandboxAction, SandboxBackend};

pub fn run(flags: &Sandbox) -> Result<ExitCode> {
    crate::cargo::build_tools()?;
    let status = match &flags.action {
        SandboxAction::Up => {
            let backend = SandboxBackend::resolve(flags.backend)?;
            prepare_backend(backend)?;
            sandbox_bin(&["up", "--backend", backend.as_str()])?
        }
        SandboxAction::Reset => sandbox_bin(&["reset"])?,
        SandboxAction::Down => sandbox_bin(&["down"])?,
        SandboxAction::Status => sandbox_bin(&["status"])?,
        SandboxAction::Break { name } => sandbox_bin(&["break", name])?,
        SandboxAction::Breaks => sandbox_bin(&["breaks"])?,
    };
    Ok(ExitCode::from(
        status.code().unwrap_or(2).clamp(0, 255) as u8
    ))
}

/// What the containers backend needs from this machine before the sandbox
/// program starts it: podman and runc (a clear message when missing), and
/// the base image its Dockerfile names (made with debootstrap when the engine
/// lacks it: no registry is reachable here).
pub fn prepare_backend(backend: SandboxBackend) -> Result<()> {
    if backend == SandboxBackend::Process {
        return Ok(());
    }
    let missing: Vec<_> = crate::container::missing_packages()
        .into_iter()
        .filter(|p| *p != "debootstrap")
        .collect();
    if !missing.is_empty() {
        bail!(
            "the containers backend needs a container engine: {} not installed \
             (`apt-get install podman runc`); or use the default `--backend process`",
            missing.join(" and ")
        );
    }
    crate::container::ensure_base_image()?;
    Ok(())
}

/// The backend of the sandbox that runs (from `target/sandbox/state.json`).
fn running_backend() -> Option<String> {
    let text =
        std::fs::read_to_string(crate::cargo::target_dir().join("sandbox/state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(state["backend"].as_str().unwrap_or("process").to_string())
}

/// Starts the sandbox unless it runs; returns whether this call started it.
/// The backend is `VERIFY_SANDBOX_BACKEND`'s, else `process`.
pub fn ensure_up() -> Result<bool> {
    ensure_up_with(SandboxBackend::resolve(None)?)
}

/// Starts the sandbox with `backend` unless it runs; one running with the
/// other backend is an error (`down` first). Returns whether this call started it.
pub fn ensure_up_with(backend: SandboxBackend) -> Result<bool> {
    let running = Command::new(workspace_bin("sandbox"))
        .arg("status")
        .current_dir(root())
        .output()
        .context("running sandbox status")?
        .status
        .success();
    if running {
        if let Some(running) = running_backend().filter(|b| b != backend.as_str()) {
            bail!(
                "the sandbox runs with the {running} backend, not {}: `cargo xtask sandbox down` first",
                backend.as_str()
            );
        }
        return Ok(false);
    }
    prepare_backend(backend)?;
    if !sandbox_bin(&["up", "--backend", backend.as_str()])?.success() {
        bail!("the sandbox did not start (see target/sandbox/*.log)");
    }
    Ok(true)
}

pub fn bench(flags: &Bench) -> Result<ExitCode> {
    build_workspace()?;
    // Reading Terraform's JSON needs no sandbox.
    if flags.what != BenchWhat::Terraform {
        ensure_up()?;
    }
    let (bin, runs) = match flags.what {
        BenchWhat::Gate => ("bench", flags.runs.unwrap_or(10)),
        BenchWhat::Drills => ("bench_drills", flags.runs.unwrap_or(5)),
        BenchWhat::Terraform => ("bench_terraform", flags.runs.unwrap_or(5)),
        BenchWhat::Environments => ("bench_environments", flags.runs.unwrap_or(1)),
    };
    let mut command = Command::new(workspace_bin(bin));
    if flags.what != BenchWhat::Environments {
        command.args(["--runs", &runs.to_string()]);
    } else {
        command
            .arg("--dir")
            .arg(crate::cargo::target_dir().join("bench-environments"))
            .args(["--environments", &flags.environments.to_string()])
            .args(["--jobs", &flags.jobs.to_string()])
            .args(["--stand-in", &flags.stand_in]);
    }
    let status = command
        .current_dir(root())
        .status()
        .context("running the bench")?;
    if !status.success() {
        return Ok(ExitCode::from(1));
    }
    if flags.what == BenchWhat::Environments && flags.stand_in != "replay" {
        return bench_environments_end_to_end();
    }
    Ok(ExitCode::SUCCESS)
}

/// The same environments end to end as a pipeline runs them: `verify run
/// <spec>` for each, one after another (each its own process), against one
/// `verify run <spec>…`.
fn bench_environments_end_to_end() -> Result<ExitCode> {
    let dir = crate::cargo::target_dir()
        .join("bench-environments")
        .join("specs");
    let mut specs: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .collect();
    specs.sort();
    let verify = |args: &[String]| -> Result<()> {
        let out = crate::verify::verify_command("run")
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()?;
        if !out.status.success() {
            bail!(
                "verify {} exited {:?}:\n{}{}",
                args.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    let started = std::time::Instant::now();
    for spec in &specs {
        verify(std::slice::from_ref(spec))?;
    }
    let one_by_one = started.elapsed();
    let started = std::time::Instant::now();
    verify(&specs)?;
    let at_once = started.elapsed();
    println!("end to end, `verify run` as a pipeline runs it:");
    println!(
        "  verify <spec>, {} times one after another  {:.2} s",
        specs.len(),
        one_by_one.as_secs_f64()
    );
    println!(
        "  verify <{} specs> at once                  {:.2} s",
        specs.len(),
        at_once.as_secs_f64()
    );
    println!(
        "  speed-up                                    {:.1}×",
        one_by_one.as_secs_f64() / at_once.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
