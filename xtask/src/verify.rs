//! `cargo xtask verify <env>`: runs the gate suite (`infra-tests/tests/gate.rs`)
//! as `cargo test` against `<env>`, follows its progress, and builds every
//! report from the outcomes it writes to a results directory. Several
//! environments (or a glob matching several) run in one process instead:
//! [`many`].

mod many;
pub(crate) use many::report_files;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::CouldNotRun;
use crate::cargo::{GATE_SUITE, WORKSPACE, build_gate_suite, build_workspace, cargo, target_dir};
use crate::flags::{ReportFormat, Verify};
use crate::report::{self, CheckOutcome, Report, RunRecord};
use crate::terraform::TerraformFiles;

pub fn run(flags: &Verify) -> Result<ExitCode> {
    let envs = crate::environment::expand(&flags.envs)?;
    match envs.as_slice() {
        [env] => run_one(flags, env),
        _ => many::run(flags, &envs),
    }
}

/// `--only`/`--skip` globs must compile (exit 2 otherwise); the waivers file must exist.
fn validate_selection(flags: &Verify) -> Result<Option<PathBuf>> {
    for glob in flags.only.iter().chain(&flags.skip) {
        if glob.contains('\n') {
            bail!(CouldNotRun(format!(
                "invalid glob {glob:?}: a check id glob cannot contain a line break"
            )));
        }
        globset::Glob::new(glob).map_err(|e| CouldNotRun(format!("invalid glob {glob:?}: {e}")))?;
    }
    let waivers = flags.waivers.as_ref().map(|w| absolute(w)).transpose()?;
    if let Some(w) = &waivers
        && !w.is_file()
    {
        bail!(CouldNotRun(format!(
            "waivers file {} not found",
            w.display()
        )));
    }
    Ok(waivers)
}

/// One environment: `cargo test` of the gate suite, as it always was.
fn run_one(flags: &Verify, env_name: &str) -> Result<ExitCode> {
    let waivers = validate_selection(flags)?;
    // Validate the sign-offs, the Terraform files and the spec before
    // anything is built: exit 2 with file:line:column.
    let signoffs = flags
        .signoffs
        .as_ref()
        .map(|s| absolute(s).map_err(|e| CouldNotRun(e.to_string())))
        .transpose()?
        .map(|s| crate::signoffs::load(&s))
        .transpose()?;
    let terraform = TerraformFiles::read(
        flags.terraform_plan.as_deref(),
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )?;
    let env = crate::environment::load(env_name, terraform.outputs.as_ref())?;
    let spec_file = env.source.display().to_string();
    // The sandbox needs the whole workspace (its stand-ins, the sandbox
    // control program); a real account needs only the gate suite.
    let packages = if env.aws.sandbox {
        build_workspace()?;
        crate::sandbox::ensure_up()?;
        &WORKSPACE
    } else {
        build_gate_suite()?;
        &GATE_SUITE
    };

    let results = target_dir().join("verify").join(sanitize(env_name));
    if results.exists() {
        std::fs::remove_dir_all(&results)
            .with_context(|| format!("clearing {}", results.display()))?;
    }
    std::fs::create_dir_all(&results)?;
    let log_path = results.join("cargo-test.log");
    let log = std::fs::File::create(&log_path)?;

    let env_arg = if env_name.ends_with(".hcl") {
        absolute(Path::new(env_name))?.display().to_string()
    } else {
        env_name.to_string()
    };
    let mut command = cargo();
    command
        .arg("test")
        .args(packages)
        .args(["--quiet", "--test", "gate", "--", "--test-threads=4"])
        .env("VERIFY_ENV", env_arg)
        .env("VERIFY_RESULTS_DIR", &results)
        // One glob per line: a glob may itself hold commas (`{rds,ses}.*`).
        .env("VERIFY_ONLY", glob_list(&flags.only))
        .env("VERIFY_SKIP", glob_list(&flags.skip))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    terraform.pass_to(&mut command);
    if let Some(w) = &waivers {
        command.env("VERIFY_WAIVERS", w);
    } else {
        command.env_remove("VERIFY_WAIVERS");
    }
    let mut child = command.spawn().context("starting cargo test")?;

    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} checks  {wide_msg}")
            .expect("progress template"),
    );
    progress.enable_steady_tick(Duration::from_millis(120));
    let outcomes_path = results.join("outcomes.jsonl");
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Ok(plan) = std::fs::read_to_string(results.join("plan.json"))
            && let Ok(ids) = serde_json::from_str::<Vec<String>>(&plan)
        {
            progress.set_length(ids.len() as u64);
        }
        let done = report::read_outcomes_so_far(&outcomes_path);
        progress.set_position(done.len() as u64);
        if let Some(last) = done.last() {
            progress.set_message(format!("{} {}", last.id, last.status.as_str()));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    progress.finish_and_clear();

    if let Ok(setup_error) = std::fs::read_to_string(results.join("setup-error.txt")) {
        eprintln!("error: {setup_error}");
        return Ok(ExitCode::from(2));
    }
    let record: RunRecord = match std::fs::read_to_string(results.join("run.json")) {
        Ok(text) => serde_json::from_str(&text).context("reading run.json")?,
        Err(_) => {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            bail!(CouldNotRun(format!(
                "the gate suite ended ({status}) without a result; full log: {}",
                log_path.display()
            )));
        }
    };
    // From here on, whatever cannot be read or does not add up means the run
    // cannot be judged: exit 2, naming the line or the ids.
    let plan = report::read_plan(&results.join("plan.json"))
        .map_err(|e| CouldNotRun(format!("the gate suite's plan is unreadable: {e:#}")))?;
    let outcomes = report::read_outcomes(&outcomes_path)
        .map_err(|e| CouldNotRun(format!("the gate suite's outcomes are unreadable: {e:#}")))?;
    let report = Report::new(record, &plan, in_plan_order(&plan, outcomes)).map_err(|e| {
        CouldNotRun(format!(
            "{e} (cargo test ended {status}; full log: {})",
            log_path.display()
        ))
    })?;
    // The sign-offs are judged on the day the run ended (UTC).
    let report = match &signoffs {
        Some(file) => report.with_signoffs(crate::signoffs::judge(
            file,
            envspec::signoffs::Date::today(),
        )),
        None => report,
    };
    if !status.success() && report.automated_go() {
        bail!(CouldNotRun(format!(
            "cargo test failed ({status}) although every check passed; see {}",
            log_path.display()
        )));
    }

    report::terminal::print(&report, &spec_file);
    for target in &flags.report {
        report::write(&absolute(&target.path)?, &render(&report, target.format))?;
    }
    Ok(if report.is_go() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One environment's report in `format`.
fn render(report: &Report, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => report::json::render(report),
        ReportFormat::Junit => report::junit::render(report),
        ReportFormat::Markdown => report::markdown::render(report),
        ReportFormat::Html => report::html::render(report),
    }
}

/// Outcomes in catalogue order (as planned), whatever order they finished in.
fn in_plan_order(plan: &[String], mut outcomes: Vec<CheckOutcome>) -> Vec<CheckOutcome> {
    outcomes.sort_by_key(|o| plan.iter().position(|id| *id == o.id).unwrap_or(usize::MAX));
    outcomes
}

/// `--only`/`--skip` globs for the gate suite's `VERIFY_ONLY`/`VERIFY_SKIP`:
/// one glob per line, never re-split on commas (`{rds,ses}.*` is one glob).
fn glob_list(globs: &[String]) -> String {
    globs.join("\n")
}

fn sanitize(env: &str) -> String {
    env.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Paths given by the user are relative to where they ran the command
/// (`cargo xtask` runs from the workspace root, so relative paths are kept as given there).
fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_with_commas_pass_whole_one_per_line() {
        let globs = vec!["{rds,ses}.*".to_string(), "budgets.monthly".to_string()];
        assert_eq!(glob_list(&globs), "{rds,ses}.*\nbudgets.monthly");
        let list = glob_list(&globs);
        let back: Vec<&str> = list.split('\n').collect();
        assert_eq!(back, ["{rds,ses}.*", "budgets.monthly"]);
    }

    #[test]
    fn outcomes_follow_the_plan() {
        let o = |id: &str| CheckOutcome {
            id: id.into(),
            status: report::Status::Pass,
            message: String::new(),
            duration_ms: 0,
            evidence: Default::default(),
        };
        let plan = vec!["b".to_string(), "a".to_string()];
        let ids: Vec<String> = in_plan_order(&plan, vec![o("a"), o("x"), o("b")])
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["b", "a", "x"]);
    }
}
