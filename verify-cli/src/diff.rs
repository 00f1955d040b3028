//! `verify diff OLD.json NEW.json`, `verify diff COMBINED.json --env A
//! --env B`, and the baseline `verify run --baseline OLD.json` reads.
//!
//! Reports are read as the report model reads them; a file that is not JSON
//! is refused at its line and column, a drill record, a combined report
//! where a single one is wanted (and the reverse), an unknown `--env`, or a
//! report of another major schema version are refused by name (exit 2).

use std::path::Path;
use std::process::ExitCode;

use report_model::diff::{Diff, DiffKind, DiffReport};
use report_model::report::{self, Report, ReportFormat};
use serde::Deserialize;
use serde_json::Value;

use crate::flags::{self, FailOn};
use crate::{CouldNotRun, Terminal, write};

/// A JSON report as read: one environment's, or a combined one.
pub enum Loaded {
    Report(Box<Report>),
    Combined(Vec<CombinedEnvironment>),
}

/// One environment of a combined report.
#[derive(Debug, Deserialize)]
pub struct CombinedEnvironment {
    pub environment: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub report: Option<Report>,
}

#[derive(Deserialize)]
struct CombinedFile {
    environments: Vec<CombinedEnvironment>,
}

/// `file:line:column: message` from a serde_json error (its own "at line …" left out).
fn positioned(path: &Path, e: &serde_json::Error, what: &str) -> CouldNotRun {
    let text = e.to_string();
    let message = text.rfind(" at line ").map(|i| &text[..i]).unwrap_or(&text);
    CouldNotRun(format!(
        "{}:{}:{}: {what}: {message}",
        path.display(),
        e.line(),
        e.column()
    ))
}

/// Reads a JSON report written by `verify run`.
pub fn load(path: &Path) -> Result<Loaded, CouldNotRun> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CouldNotRun(format!("{}: cannot read: {e}", path.display())))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| positioned(path, &e, "not JSON"))?;
    let not_a_report = |why: &str| {
        CouldNotRun(format!(
            "{}: {why}; expected a JSON report of `verify run` (--report json=PATH)",
            path.display()
        ))
    };
    let Some(object) = value.as_object() else {
        return Err(not_a_report("not a verify report (not a JSON object)"));
    };
    if let Some(version) = object.get("schema_version").and_then(Value::as_str)
        && !(version.starts_with("1.") || version.is_empty())
    {
        return Err(not_a_report(&format!(
            "schema_version {version:?}: written by a verify this one cannot read (it reads 1.x)"
        )));
    }
    if object.contains_key("timeline") && object.contains_key("outcome") {
        return Err(not_a_report(
            "a drill record (`verify drill`), not a gate report",
        ));
    }
    if object.contains_key("environments") && !object.contains_key("checks") {
        let file: CombinedFile = serde_json::from_str(&text)
            .map_err(|e| positioned(path, &e, "not a combined report as verify writes it"))?;
        return Ok(Loaded::Combined(file.environments));
    }
    if !object.contains_key("checks") {
        return Err(not_a_report("not a verify report (no `checks`)"));
    }
    let report: Report = serde_json::from_str(&text)
        .map_err(|e| positioned(path, &e, "not a report as verify writes it"))?;
    Ok(Loaded::Report(Box::new(report)))
}

/// One environment of a combined report, by name.
fn environment(
    path: &Path,
    environments: &mut Vec<CombinedEnvironment>,
    name: &str,
) -> Result<Report, CouldNotRun> {
    let names: Vec<String> = environments.iter().map(|e| e.environment.clone()).collect();
    let Some(at) = environments.iter().position(|e| e.environment == name) else {
        return Err(CouldNotRun(format!(
            "{}: no environment {name:?} in this combined report; it holds {}",
            path.display(),
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let env = environments.remove(at);
    env.report.ok_or_else(|| {
        CouldNotRun(format!(
            "{}: environment {name:?} could not run ({}): it has no checks to compare",
            path.display(),
            env.error.as_deref().unwrap_or("no report")
        ))
    })
}

/// The `--baseline` of a run of `environment`: a report of it, or a
/// combined report holding it. Returned with its label (the file).
pub fn baseline(path: &Path, environment: &str) -> Result<(String, Report), CouldNotRun> {
    let label = path.display().to_string();
    match load(path)? {
        Loaded::Report(r) => Ok((label, *r)),
        Loaded::Combined(mut envs) => Ok((label, self::environment(path, &mut envs, environment)?)),
    }
}

/// `verify diff`.
pub fn run(flags: &flags::Diff, terminal: Terminal) -> Result<ExitCode, CouldNotRun> {
    for target in &flags.report {
        if !matches!(
            target.format,
            ReportFormat::Json | ReportFormat::Markdown | ReportFormat::Html
        ) {
            return Err(CouldNotRun(format!(
                "--report {}=…: verify diff writes json, markdown or html",
                target.format.as_str()
            )));
        }
    }
    let diff = match (flags.files.as_slice(), flags.envs.as_slice()) {
        ([old, new], []) => {
            let single = |path: &Path| match load(path)? {
                Loaded::Report(r) => Ok(*r),
                Loaded::Combined(envs) => Err(CouldNotRun(format!(
                    "{}: a combined report ({} environments): compare two of its environments \
                     with `verify diff {} --env A --env B`, or give one environment's report",
                    path.display(),
                    envs.len(),
                    path.display()
                ))),
            };
            let (o, n) = (single(old)?, single(new)?);
            Diff::reports(
                DiffKind::Runs,
                &old.display().to_string(),
                &o,
                &new.display().to_string(),
                &n,
            )
        }
        ([file], [a, b]) => {
            if a == b {
                return Err(CouldNotRun(format!(
                    "--env {a:?} twice: name two different environments of {}",
                    file.display()
                )));
            }
            let Loaded::Combined(mut envs) = load(file)? else {
                return Err(CouldNotRun(format!(
                    "{}: one environment's report, not a combined one: --env needs the report \
                     of a run over several environments (`verify run A B --report json=PATH`)",
                    file.display()
                )));
            };
            let first = environment(file, &mut envs, a)?;
            let second = environment(file, &mut envs, b)?;
            Diff::reports(DiffKind::Environments, a, &first, b, &second)
        }
        ([_], envs) => {
            return Err(CouldNotRun(format!(
                "with one report, name two of its environments (`--env A --env B`); got {} --env",
                envs.len()
            )));
        }
        (_, _) => {
            return Err(CouldNotRun(
                "--env compares two environments of one combined report: give one file, not two"
                    .into(),
            ));
        }
    };
    let report = DiffReport::new(diff, crate::tool());
    crate::out(&report::diff::terminal(&report, terminal.colour));
    for target in &flags.report {
        let path = envspec::inputs::absolute(&target.path).map_err(CouldNotRun::from)?;
        let text = match target.format {
            ReportFormat::Json => report::diff::json(&report),
            ReportFormat::Markdown => report::diff::markdown(&report),
            _ => report::diff::html(&report),
        };
        write(&path, &text)?;
    }
    Ok(
        if flags.fail_on == Some(FailOn::New) && !report.new_failures.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}
