//! `cargo xtask verify <env> <env>…`: several environments in one process.
//!
//! Every spec is validated first (any invalid one: exit 2 with
//! `file:line:column`, before anything is built or run). Then one build, and
//! one run of the gate runner (`infra-tests/src/bin/gates.rs`): every
//! environment concurrently on one tokio runtime, at most `--per-account` at
//! once in one AWS account and `--jobs` in all, each with its own
//! credentials and its own account and region guard. Each writes its
//! outcomes into `target/verify/many/<i>/` as the gate suite does; each
//! report is judged here exactly as one environment's is.
//!
//! Reports: `--report FORMAT=PATH` writes the combined report at PATH and
//! each environment's beside it, its name before the extension
//! ([`per_environment`]). Exit 0 when every environment is go, 2 when any
//! could not run, else 1.
//!
//! `--signoffs` and the `--terraform-*` files belong to one environment (one
//! launch, one state): with several they are refused (exit 2).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use super::{absolute, glob_list, in_plan_order, render, validate_selection};
use crate::CouldNotRun;
use crate::cargo::{build_gate_suite, build_workspace, target_dir, workspace_bin};
use crate::flags::Verify;
use crate::report::combined::{Combined, EnvironmentRun};
use crate::report::{self, Report, RunRecord};

pub fn run(flags: &Verify, names: &[String]) -> Result<ExitCode> {
    if flags.signoffs.is_some() {
        bail!(CouldNotRun(
            "--signoffs judges one environment's launch: with several environments, \
             run `cargo xtask verify <env> --signoffs FILE` for each"
                .into()
        ));
    }
    if flags.terraform_plan.is_some()
        || flags.terraform_state.is_some()
        || flags.terraform_outputs.is_some()
    {
        bail!(CouldNotRun(
            "--terraform-plan/--terraform-state/--terraform-outputs describe one environment: \
             with several environments, run `cargo xtask verify <env> --terraform-…` for each \
             (a CI matrix job per environment, see examples/)"
                .into()
        ));
    }
    let waivers = validate_selection(flags)?;

    // Every spec, before anything is built; each once, each name once.
    let mut envs: Vec<envspec::Environment> = Vec::new();
    for name in names {
        let env = crate::environment::load(name, None)?;
        if envs.iter().any(|e| e.source == env.source) {
            continue;
        }
        if let Some(other) = envs.iter().find(|e| e.name == env.name) {
            bail!(CouldNotRun(format!(
                "{} and {} both declare environment = {:?}: each environment's report is named by it",
                other.source.display(),
                env.source.display(),
                env.name
            )));
        }
        envs.push(env);
    }
    if envs.len() == 1 {
        // The same spec named twice (or a glob and a name): one environment.
        return super::run_one(flags, &envs[0].source.display().to_string());
    }

    if envs.iter().any(|e| e.aws.sandbox) {
        build_workspace()?;
        crate::sandbox::ensure_up()?;
    } else {
        build_gate_suite()?;
    }

    let results = target_dir().join("verify").join("many");
    if results.exists() {
        std::fs::remove_dir_all(&results)
            .with_context(|| format!("clearing {}", results.display()))?;
    }
    std::fs::create_dir_all(&results)?;
    let log_path = results.join("gates.log");
    let log = std::fs::File::create(&log_path)?;
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    let mut command = Command::new(workspace_bin("gates"));
    command
        .arg("--results")
        .arg(&results)
        .args(["--jobs", &flags.jobs.to_string()])
        .args(["--per-account", &flags.per_account.to_string()])
        .args(envs.iter().map(|e| e.source.as_os_str()))
        .env("VERIFY_ONLY", glob_list(&flags.only))
        .env("VERIFY_SKIP", glob_list(&flags.skip))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    match &waivers {
        Some(w) => command.env("VERIFY_WAIVERS", w),
        None => command.env_remove("VERIFY_WAIVERS"),
    };
    let mut child = command.spawn().context("starting the gate runner")?;

    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} environments  {wide_msg}")
            .expect("progress template"),
    );
    progress.set_length(envs.len() as u64);
    progress.enable_steady_tick(Duration::from_millis(120));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let (mut finished, mut done, mut planned) = (0, 0, 0);
        for i in 0..envs.len() {
            let dir = results.join(i.to_string());
            if dir.join("run.json").exists() || dir.join("setup-error.txt").exists() {
                finished += 1;
            }
            done += report::read_outcomes_so_far(&dir.join("outcomes.jsonl")).len();
            planned += report::read_plan(&dir.join("plan.json")).map_or(0, |p| p.len());
        }
        progress.set_position(finished);
        progress.set_message(format!("{done}/{planned} checks"));
        std::thread::sleep(Duration::from_millis(200));
    };
    progress.finish_and_clear();

    let runs: Vec<EnvironmentRun> = envs
        .iter()
        .enumerate()
        .map(|(i, env)| EnvironmentRun {
            environment: env.name.clone(),
            spec: env.source.display().to_string(),
            report: judge(&results.join(i.to_string()))
                .map_err(|e| format!("{e:#}"))
                .map(Box::new),
        })
        .collect();
    if !status.success() && runs.iter().any(|r| r.report.is_err()) {
        eprintln!(
            "the gate runner ended {status}; its log: {}",
            log_path.display()
        );
    }
    let combined = Combined::new(started_at, started.elapsed().as_millis() as u64, runs);
    report::combined::print_terminal(&combined);
    for target in &flags.report {
        let path = absolute(&target.path)?;
        report::write(
            &path,
            &report::combined::render(&combined, target.format, &path),
        )?;
        for run in &combined.runs {
            if let Ok(r) = &run.report {
                report::write(
                    &per_environment(&path, &run.environment),
                    &render(r, target.format),
                )?;
            }
        }
    }
    Ok(ExitCode::from(combined.exit_code()))
}

/// One environment's report from its results directory, judged as `verify
/// <env>` judges one; `Err` when it could not run (or cannot be judged).
fn judge(dir: &Path) -> Result<Report> {
    if let Ok(setup_error) = std::fs::read_to_string(dir.join("setup-error.txt")) {
        bail!("{setup_error}");
    }
    let record: RunRecord = serde_json::from_str(
        &std::fs::read_to_string(dir.join("run.json")).context("the run ended without a result")?,
    )
    .context("reading run.json")?;
    let plan =
        report::read_plan(&dir.join("plan.json")).context("the gate's plan is unreadable")?;
    let outcomes = report::read_outcomes(&dir.join("outcomes.jsonl"))
        .context("the gate's outcomes are unreadable")?;
    Ok(Report::new(record, &plan, in_plan_order(&plan, outcomes))?)
}

/// Where one environment's report goes when the combined one goes to
/// `path`: beside it, the environment's name before the extension
/// (`out/gate.json` → `out/gate.production.json`; `out/gate` → `out/gate.production`).
pub fn per_environment(path: &Path, environment: &str) -> PathBuf {
    let name = super::sanitize(environment);
    let file = match (path.file_stem(), path.extension()) {
        (Some(stem), Some(ext)) => format!(
            "{}.{name}.{}",
            stem.to_string_lossy(),
            ext.to_string_lossy()
        ),
        _ => format!(
            "{}.{name}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
    };
    path.with_file_name(file)
}

/// Environments by their report file (for the combined HTML's links).
pub fn report_files(path: &Path, environments: &[&str]) -> BTreeMap<String, String> {
    environments
        .iter()
        .map(|e| {
            let file = per_environment(path, e);
            (
                e.to_string(),
                file.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_environment_is_named_beside_the_combined_report() {
        let at = |p: &str, e: &str| per_environment(Path::new(p), e).display().to_string();
        assert_eq!(
            at("out/gate.json", "production"),
            "out/gate.production.json"
        );
        assert_eq!(at("out/gate", "staging"), "out/gate.staging");
        assert_eq!(at("gate.tar.xml", "a b"), "gate.tar.a_b.xml");
        assert_eq!(at("/r/verify.md", "sandbox"), "/r/verify.sandbox.md");
    }
}
