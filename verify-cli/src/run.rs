//! `verify run`, `verify validate` and `verify iam-policy`.
//!
//! Every input is read and refused first (exit 2 with `file:line:column`,
//! before any AWS call): the specs, the `--only`/`--skip` globs, the
//! waivers, the sign-offs and the Terraform files. `run` then verifies every
//! environment through the library's runner in this process; the terminal's
//! progress and every report come from its events.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use envspec::Environment;
use envspec::inputs::{TerraformFiles, absolute, expand};
use envspec::secret_env::SecretPrefix;
use envspec::signoffs::{Date, Signoffs};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use report_model::diff::{Diff, DiffKind, DiffReport};
use report_model::report::combined::{Combined, EnvironmentRun};
use report_model::report::{self, Report, per_environment};
use verify::run::{Collected, Event, Options, Target};
use verify::waivers::Waiver;
use verify::{RunSettings, Selection};

use crate::flags::{Format, IamPolicy, Inputs, Run, Validate};
use crate::{CouldNotRun, Terminal, write};

/// What every spec of a run is read with, all of it found usable.
struct Prepared {
    envs: Vec<Environment>,
    selection: Selection,
    waivers: Vec<Waiver>,
    signoffs: Option<(PathBuf, Signoffs)>,
    terraform: TerraformFiles,
}

/// Reads and refuses every input of `run` and `validate`: a spec naming a
/// secret's variable outside `secret_prefix` too.
fn prepare(
    specs: &[String],
    spec_dir: &Path,
    inputs: &Inputs,
    secret_prefix: &SecretPrefix,
) -> Result<Prepared, CouldNotRun> {
    let selection = Selection::new(&inputs.only, &inputs.skip)
        .map_err(|e| CouldNotRun(format!("invalid --only/--skip glob: {e}")))?;
    let waivers = match &inputs.waivers {
        Some(path) => verify::waivers::load(path).map_err(CouldNotRun::from)?,
        None => Vec::new(),
    };
    let signoffs = match &inputs.signoffs {
        Some(path) => {
            let path = absolute(path).map_err(CouldNotRun::from)?;
            let file = envspec::signoffs::load(&path).map_err(CouldNotRun::from)?;
            Some((path, file))
        }
        None => None,
    };
    let t = &inputs.terraform;
    let terraform = TerraformFiles::read(
        t.terraform_plan.as_deref(),
        t.terraform_state.as_deref(),
        t.terraform_outputs.as_deref(),
    )
    .map_err(CouldNotRun::from)?;
    let files = expand(specs, spec_dir).map_err(CouldNotRun::from)?;
    let mut envs: Vec<Environment> = Vec::new();
    for file in &files {
        let env =
            envspec::load_with(file, terraform.outputs.as_ref()).map_err(CouldNotRun::from)?;
        envspec::secret_env::check(&env, secret_prefix).map_err(CouldNotRun::from)?;
        // Each environment's report is named by it: two may not share a name
        // (nor one that reads the same in a file name).
        if let Some(other) = envs
            .iter()
            .find(|e| report::file_name_part(&e.name) == report::file_name_part(&env.name))
        {
            return Err(CouldNotRun(format!(
                "{} and {} both declare environment = {:?}{}: each environment's report is named by it",
                other.source.display(),
                env.source.display(),
                env.name,
                if other.name == env.name {
                    String::new()
                } else {
                    format!(" (as {:?} in a file name)", other.name)
                },
            )));
        }
        envs.push(env);
    }
    if envs.len() > 1 {
        if signoffs.is_some() {
            return Err(CouldNotRun(
                "--signoffs judges one environment's launch: with several environments, \
                 run `verify run <spec> --signoffs FILE` for each"
                    .into(),
            ));
        }
        if terraform.any() {
            return Err(CouldNotRun(
                "--terraform-plan/--terraform-state/--terraform-outputs describe one environment: \
                 with several environments, run `verify run <spec> --terraform-…` for each \
                 (a CI matrix job per environment)"
                    .into(),
            ));
        }
    }
    Ok(Prepared {
        envs,
        selection,
        waivers,
        signoffs,
        terraform,
    })
}

/// `verify run SPEC…`.
pub fn run(flags: &Run, terminal: Terminal) -> Result<ExitCode, CouldNotRun> {
    let prepared = prepare(
        &flags.specs,
        &flags.spec.spec_dir,
        &flags.inputs,
        &flags.secrets.secret_env_prefix,
    )?;
    let sandbox_state = absolute(&flags.spec.sandbox_state).map_err(CouldNotRun::from)?;
    let evidence = Evidence::read(flags, &prepared)?;
    let targets: Vec<Target> = prepared
        .envs
        .iter()
        .map(|env| {
            Target::new(env.clone(), &prepared.terraform, Some(&sandbox_state))
                .map_err(CouldNotRun::from)
        })
        .collect::<Result<_, _>>()?;
    let options = Options {
        selection: prepared.selection.clone(),
        waivers: prepared.waivers.clone(),
        jobs: flags.jobs.into(),
        per_account: flags.per_account.into(),
        run: RunSettings {
            run_id: verify::new_run_id(),
            allow_writes: flags.allow_writes,
            secret_prefix: flags.secrets.secret_env_prefix.clone(),
        },
    };
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    let several = targets.len() > 1;
    let progress = Progress::new(terminal, targets.len());
    let collected = runtime_block_on(verify::run::run_to_end(targets, options, |event| {
        progress.event(event)
    }))?;
    progress.finish();

    let judged: Vec<Result<Report, String>> = collected
        .iter()
        .map(|c| {
            judge(c).map(|r| r.with_evidence(evidence.plan.as_ref(), evidence.commit.as_deref()))
        })
        .collect();
    if !several {
        let env = &prepared.envs[0];
        let report = judged
            .into_iter()
            .next()
            .expect("one environment")
            .map_err(CouldNotRun)?;
        let report = evidence.apply(report, prepared.signoffs.as_ref());
        let context = crate::sarif::context(env, &report.checks);
        crate::out(&report::terminal::render(
            &report,
            &env.source.display().to_string(),
            terminal.colour,
        ));
        if let Some(baseline) = &report.baseline {
            crate::out(&report::diff::terminal(baseline, terminal.colour));
        }
        for target in &flags.report {
            let path = absolute(&target.path).map_err(CouldNotRun::from)?;
            write(&path, &report::render(&report, target.format, &context))?;
        }
        return Ok(if report.is_go() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }

    let runs: Vec<EnvironmentRun> = prepared
        .envs
        .iter()
        .zip(judged)
        .map(|(env, report)| EnvironmentRun {
            environment: env.name.clone(),
            spec: env.source.display().to_string(),
            report: report.map(Box::new),
        })
        .collect();
    let combined = Combined::new(started_at, started.elapsed().as_millis() as u64, runs)
        .with_tool(crate::tool());
    crate::out(&report::combined::terminal(&combined, terminal.colour));
    let contexts: Vec<_> = prepared
        .envs
        .iter()
        .zip(&combined.runs)
        .map(|(env, run)| {
            let checks = run.report.as_ref().map(|r| r.checks.as_slice());
            crate::sarif::context(env, checks.unwrap_or_default())
        })
        .collect();
    for target in &flags.report {
        let path = absolute(&target.path).map_err(CouldNotRun::from)?;
        write(
            &path,
            &report::combined::render(&combined, target.format, &path, &contexts),
        )?;
        for (run, context) in combined.runs.iter().zip(&contexts) {
            if let Ok(r) = &run.report {
                write(
                    &per_environment(&path, &run.environment),
                    &report::render(r, target.format, context),
                )?;
            }
        }
    }
    Ok(ExitCode::from(combined.exit_code()))
}

/// One environment's report from its events; `Err` when it could not run
/// or its events do not add up (a planned check without outcome).
fn judge(collected: &Collected) -> Result<Report, String> {
    if let Some(message) = &collected.could_not_run {
        return Err(message.clone());
    }
    let record = collected
        .record
        .clone()
        .ok_or("the run ended without finishing (a check panicked?)")?;
    Report::new(record, &collected.planned, collected.in_plan_order())
        .map(|r| r.with_tool(crate::tool()))
        .map_err(|e| e.to_string())
}

/// What a run's evidence digest covers besides its checks (`--terraform-plan`'s
/// `resource_changes`, `--commit`), and the `--baseline` it is compared
/// with: read and refused before the run.
struct Evidence {
    plan: Option<serde_json::Value>,
    commit: Option<String>,
    /// `--baseline`'s label (the file) and report.
    baseline: Option<(String, Report)>,
}

impl Evidence {
    fn read(flags: &Run, prepared: &Prepared) -> Result<Evidence, CouldNotRun> {
        if let Some(commit) = &flags.commit
            && !report_model::digest::is_commit(commit)
        {
            return Err(CouldNotRun(format!(
                "--commit {commit:?}: expected a commit SHA, 7 to 64 hex digits"
            )));
        }
        let baseline = match &flags.baseline {
            Some(_) if prepared.envs.len() > 1 => {
                return Err(CouldNotRun(
                    "--baseline compares one environment's run: with several environments, \
                     compare the reports afterwards with `verify diff OLD.json NEW.json`"
                        .into(),
                ));
            }
            Some(path) => {
                let path = absolute(path).map_err(CouldNotRun::from)?;
                Some(crate::diff::baseline(&path, &prepared.envs[0].name)?)
            }
            None => None,
        };
        Ok(Evidence {
            plan: prepared
                .terraform
                .plan_resource_changes()
                .map_err(CouldNotRun::from)?,
            commit: flags.commit.clone(),
            baseline,
        })
    }

    /// One environment's report with the sign-offs judged on the day the
    /// run ended (UTC) against its evidence digest, the baseline compared,
    /// and the binary named.
    fn apply(&self, report: Report, signoffs: Option<&(PathBuf, Signoffs)>) -> Report {
        let baseline = self.baseline.as_ref().map(|(l, r)| (l.as_str(), r));
        let report = match signoffs {
            Some((_, file)) => {
                let judged = verify::signoffs::judge_run(file, Date::today(), &report, baseline);
                report.with_signoffs(judged)
            }
            None => report,
        };
        let report = match baseline {
            Some((label, old)) => {
                let diff = Diff::reports(DiffKind::Runs, label, old, "this run", &report);
                report.with_baseline(DiffReport::new(diff, crate::tool()))
            }
            None => report,
        };
        report.with_tool(crate::tool())
    }
}

fn runtime_block_on<F: std::future::Future>(future: F) -> Result<F::Output, CouldNotRun> {
    Ok(crate::runtime()?.block_on(future))
}

/// Progress on stderr, from the runner's events (nothing off a terminal or with `-q`).
struct Progress {
    bar: ProgressBar,
    environments: usize,
    state: std::cell::RefCell<(u64, u64, u64)>,
}

impl Progress {
    fn new(terminal: Terminal, environments: usize) -> Progress {
        let bar = if terminal.quiet {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new_spinner()
        };
        let template = if environments > 1 {
            "{spinner} {pos}/{len} environments  {wide_msg}"
        } else {
            "{spinner} {pos}/{len} checks  {wide_msg}"
        };
        bar.set_style(ProgressStyle::with_template(template).expect("progress template"));
        if environments > 1 {
            bar.set_length(environments as u64);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            environments,
            state: Default::default(),
        }
    }

    fn event(&self, event: &Event) {
        let mut state = self.state.borrow_mut();
        let (planned, done, finished) = &mut *state;
        match event {
            Event::Plan { ids, .. } => *planned += ids.len() as u64,
            Event::Outcome { outcome, .. } => {
                *done += 1;
                if self.environments == 1 {
                    self.bar
                        .set_message(format!("{} {}", outcome.id, outcome.status.as_str()));
                }
            }
            Event::Finished { .. } | Event::CouldNotRun { .. } => *finished += 1,
            // A kind of event this progress line does not show.
            _ => {}
        }
        if self.environments > 1 {
            self.bar.set_position(*finished);
            self.bar.set_message(format!("{done}/{planned} checks"));
        } else {
            self.bar.set_length(*planned);
            self.bar.set_position(*done);
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `verify validate SPEC…`: every input read, the planned checks and the
/// IAM actions they need listed; no AWS call.
pub fn validate(flags: &Validate) -> Result<ExitCode, CouldNotRun> {
    let prepared = prepare(
        &flags.specs,
        &flags.spec_dir,
        &flags.inputs,
        &flags.secrets.secret_env_prefix,
    )?;
    let mut out = Vec::new();
    for env in &prepared.envs {
        let mut env = env.clone();
        env.terraform.plan = prepared.terraform.plan.clone();
        env.terraform.state = prepared.terraform.state.clone();
        let checks = verify::run::planned(&env, &prepared.selection);
        // The actions the planned checks declare, for this spec.
        let actions: std::collections::BTreeSet<&str> = verify::iam::permissions(&env, false)
            .into_iter()
            .filter(|p| checks.contains(&p.needed_by))
            .map(|p| p.action)
            .collect();
        out.push(serde_json::json!({
            "environment": env.name,
            "spec": env.source.display().to_string(),
            "account_id": env.account_id,
            "region": env.region,
            "sandbox": env.aws.sandbox,
            "checks": checks,
            "iam_actions": actions,
        }));
    }
    let inputs = serde_json::json!({
        "waivers": prepared.waivers.len(),
        "signoffs": prepared.signoffs.as_ref().map(|(p, _)| p.display().to_string()),
        "terraform_plan": prepared.terraform.plan.as_ref().map(|p| p.display().to_string()),
        "terraform_state": prepared.terraform.state.as_ref().map(|p| p.display().to_string()),
        "terraform_outputs": prepared.terraform.outputs_file.as_ref().map(|p| p.display().to_string()),
    });
    match flags.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "valid": true,
                "environments": out,
                "inputs": inputs,
            }))
            .expect("serialises")
        ),
        Format::Text => {
            for env in &out {
                outln!(
                    "{} ({}): valid; account {} in {}",
                    env["environment"].as_str().unwrap_or_default(),
                    env["spec"].as_str().unwrap_or_default(),
                    env["account_id"].as_str().unwrap_or_default(),
                    env["region"].as_str().unwrap_or_default(),
                );
                let checks = env["checks"].as_array().cloned().unwrap_or_default();
                outln!("  {} checks planned:", checks.len());
                for id in checks {
                    outln!("    {}", id.as_str().unwrap_or_default());
                }
                let actions = env["iam_actions"].as_array().cloned().unwrap_or_default();
                outln!(
                    "  {} IAM actions needed (verify iam-policy prints the policy):",
                    actions.len()
                );
                for action in actions {
                    outln!("    {}", action.as_str().unwrap_or_default());
                }
            }
            if !prepared.waivers.is_empty() {
                outln!("{} waivers read", prepared.waivers.len());
            }
            if let Some((path, _)) = &prepared.signoffs {
                outln!("sign-offs {} read", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `verify iam-policy SPEC [--drills]`: the policy as pretty JSON.
pub fn iam_policy(flags: &IamPolicy) -> Result<ExitCode, CouldNotRun> {
    let terraform = TerraformFiles::read(
        None,
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )
    .map_err(CouldNotRun::from)?;
    let file = envspec::resolve(&flags.spec_name, &flags.spec_dir);
    let env = envspec::load_with(&file, terraform.outputs.as_ref()).map_err(CouldNotRun::from)?;
    if flags.drills && !env.drills.allowed {
        return Err(CouldNotRun(format!(
            "refusing --drills: environment '{}' does not allow drills (set `drills {{ allowed = true }}` in {})",
            env.name,
            env.source.display()
        )));
    }
    outln!("{}", verify::iam::render(&env, flags.drills));
    Ok(ExitCode::SUCCESS)
}
