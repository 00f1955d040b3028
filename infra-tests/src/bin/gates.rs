//! `gates --results DIR [--jobs N] [--per-account N] SPEC…`: the gate over
//! several environments at once, in one process, on one tokio runtime
//! (`cargo xtask verify <env> <env>…` runs it). The environments run
//! concurrently, at most `--per-account` (default 2) at a time in one AWS
//! account and `--jobs` (default 16) in all ([`infra_tests::run_gates`]);
//! each is a whole gate run of its own ([`infra_tests::run_gate`]): its
//! spec's credentials (profile, assumed role, or the sandbox's), its own
//! identity confirmation (account and region) before any check, its own
//! describe cache and call counts.
//!
//! The `i`-th spec (from 0) writes into `DIR/<i>/` what the gate suite
//! writes into `VERIFY_RESULTS_DIR`: `plan.json`, `outcomes.jsonl` (one line
//! per outcome, as it ends) and `run.json`, or `setup-error.txt` when it
//! could not start. `VERIFY_ONLY`, `VERIFY_SKIP`, `VERIFY_WAIVERS` apply to
//! every environment. Exit 0 once every environment has its files written;
//! the verdicts are `cargo xtask verify`'s to judge.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use infra_tests::{
    DEFAULT_JOBS, DEFAULT_PER_ACCOUNT, ResultsSink, glob_list_env, run_gates, waivers_from_env,
};
use verify::Selection;

struct Args {
    results: PathBuf,
    jobs: usize,
    per_account: usize,
    specs: Vec<String>,
}

fn args() -> Result<Args> {
    let mut results = None;
    let mut jobs = DEFAULT_JOBS;
    let mut per_account = DEFAULT_PER_ACCOUNT;
    let mut specs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--results" => results = Some(PathBuf::from(value("--results")?)),
            "--jobs" => jobs = value("--jobs")?.parse().context("--jobs")?,
            "--per-account" => {
                per_account = value("--per-account")?.parse().context("--per-account")?
            }
            flag if flag.starts_with("--") => bail!("unknown flag {flag}"),
            spec => specs.push(spec.to_string()),
        }
    }
    Ok(Args {
        results: results.context("--results DIR is required")?,
        jobs,
        per_account,
        specs,
    })
}

fn main() -> Result<()> {
    let args = args()?;
    let setup = || -> Result<_> {
        let selection =
            Selection::new(&glob_list_env("VERIFY_ONLY"), &glob_list_env("VERIFY_SKIP"))?;
        Ok((Arc::new(selection), Arc::new(waivers_from_env()?)))
    };
    let (selection, waivers) = match setup() {
        Ok(setup) => setup,
        Err(e) => {
            // Every environment could not run, for the same reason.
            for i in 0..args.specs.len() {
                ResultsSink::in_dir(&args.results.join(i.to_string()))?
                    .setup_error(&format!("{e:#}"));
            }
            return Ok(());
        }
    };
    infra_tests::runtime().block_on(run_gates(
        &args.specs,
        &args.results,
        args.jobs,
        args.per_account,
        selection,
        waivers,
    ))?;
    Ok(())
}
