//! The pipeline examples under `examples/` cannot rot: every `cargo xtask …`
//! line in a GitHub Actions `run:` or a GitLab CI `script:` (and
//! `before_script:` / `after_script:`) is split as a shell splits it and parsed
//! with the real flags ([`Xtask`]), so renaming or removing a flag that an
//! example uses fails `cargo test -p xtask`.
//!
//! Each example must also verify with the Terraform inputs and a JUnit
//! report, keep `verify`'s exit status (the job fails on 1 and 2), and publish
//! its reports even when the gate says no-go.

use std::path::{Path, PathBuf};

use clap::Parser;
use yaml_rust2::{Yaml, YamlLoader};

use report_model::report::ReportFormat;

use crate::flags::{Command, Verify, Xtask};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    GitLab,
}

/// A shell script of an example: a GitHub step's `run:` or a GitLab script entry.
#[derive(Debug)]
struct Script {
    /// Where: `jobs.verify.steps[4]` or `verify-after-apply.script[5]`.
    place: String,
    text: String,
}

/// One `cargo xtask …` command found in a script.
#[derive(Debug)]
struct Invocation {
    place: String,
    /// The logical line it is on (continuations joined).
    line: String,
    /// The words after `cargo xtask`, up to the shell operator that ends the command.
    args: Vec<String>,
    /// The operator that ended the command (`;`, `&&`, `||`, `|`, `&`), if any.
    ended_by: Option<String>,
}

impl Invocation {
    fn parse(&self) -> Result<Xtask, clap::Error> {
        Xtask::try_parse_from(std::iter::once("cargo xtask".to_string()).chain(self.args.clone()))
    }

    /// Whether the script still sees `cargo xtask`'s exit status (the step or job
    /// fails on 1 and 2): not after `||` or `&`, and not piped.
    fn keeps_exit_status(&self) -> bool {
        !matches!(self.ended_by.as_deref(), Some("||" | "&" | "|" | "|&"))
    }
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Every YAML file under `examples/`, with the CI system it is for.
fn example_files() -> Vec<(PathBuf, Kind)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&examples_dir(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let kind = kind_of(&path).unwrap_or_else(|| {
                panic!(
                    "{}: neither GitHub Actions nor GitLab CI \
                     (name it *.gitlab-ci.yml or put it under github-actions/)",
                    path.display()
                )
            });
            (path, kind)
        })
        .collect()
}

fn kind_of(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    if name.ends_with(".gitlab-ci.yml") || name == ".gitlab-ci.yml" {
        Some(Kind::GitLab)
    } else if path.components().any(|c| c.as_os_str() == "github-actions") {
        Some(Kind::GitHub)
    } else {
        None
    }
}

/// The one YAML document of a file.
fn load(text: &str) -> Result<Yaml, String> {
    let mut docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(format!("expected one YAML document, found {n}")),
    }
}

fn load_file(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    load(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn entries(yaml: &Yaml) -> impl Iterator<Item = (&str, &Yaml)> {
    yaml.as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?, v)))
}

/// Every step's `run:` of every job.
fn github_scripts(doc: &Yaml) -> Vec<Script> {
    let mut scripts = Vec::new();
    for (job, body) in entries(&doc["jobs"]) {
        for (i, step) in body["steps"].as_vec().into_iter().flatten().enumerate() {
            if let Some(run) = step["run"].as_str() {
                scripts.push(Script {
                    place: format!("jobs.{job}.steps[{i}]"),
                    text: run.to_string(),
                });
            }
        }
    }
    scripts
}

const GITLAB_SCRIPT_KEYS: [&str; 3] = ["before_script", "script", "after_script"];

/// Every entry of every job's (and template's, and `default:`'s) scripts.
fn gitlab_scripts(doc: &Yaml) -> Vec<Script> {
    let mut scripts = Vec::new();
    for (job, body) in entries(doc) {
        for key in GITLAB_SCRIPT_KEYS {
            let place = format!("{job}.{key}");
            match &body[key] {
                Yaml::String(s) => scripts.push(Script {
                    place,
                    text: s.clone(),
                }),
                Yaml::Array(items) => {
                    // GitLab flattens nested arrays (from YAML anchors) one level.
                    let flat = items.iter().flat_map(|item| match item {
                        Yaml::Array(inner) => inner.iter().collect::<Vec<_>>(),
                        other => vec![other],
                    });
                    for (i, item) in flat.enumerate() {
                        if let Some(s) = item.as_str() {
                            scripts.push(Script {
                                place: format!("{place}[{i}]"),
                                text: s.to_string(),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    scripts
}

fn scripts(doc: &Yaml, kind: Kind) -> Vec<Script> {
    match kind {
        Kind::GitHub => github_scripts(doc),
        Kind::GitLab => gitlab_scripts(doc),
    }
}

/// The script's lines, with each line that ends in a backslash joined to the
/// next (the backslash-newline kept: the shell-words split drops it as a shell does).
fn logical_lines(script: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        current.push_str(line);
        let trailing_backslashes = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing_backslashes % 2 == 1 {
            current.push('\n');
        } else {
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

const OPERATORS: [&str; 6] = [";", "&&", "||", "|", "|&", "&"];

/// A redirection word (`>`, `2>`, `>>file`, `&>`, `<`): the file is not an argument.
/// Returns whether the next word is its target.
fn redirection(word: &str) -> Option<bool> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit() || c == '&');
    let op = rest.trim_start_matches(['>', '<']);
    (op.len() < rest.len()).then_some(op.is_empty())
}

/// One `cargo xtask` command on a line: the words after `cargo xtask`.
#[derive(Debug, PartialEq)]
struct Words {
    args: Vec<String>,
    ended_by: Option<String>,
}

/// Every `cargo xtask` command on one logical line: the words after it, up to
/// the shell operator that ends it (redirections left out).
fn invocations_in_line(line: &str) -> Result<Vec<Words>, String> {
    let words = shell_words::split(line).map_err(|e| format!("{e}: {line:?}"))?;
    let mut found = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !(words[i] == "cargo" && words.get(i + 1).is_some_and(|w| w == "xtask")) {
            i += 1;
            continue;
        }
        i += 2;
        let mut args = Vec::new();
        let mut ended_by = None;
        while i < words.len() {
            let word = &words[i];
            i += 1;
            if OPERATORS.contains(&word.as_str()) {
                ended_by = Some(word.clone());
                break;
            }
            if let Some(arg) = word.strip_suffix(';') {
                if !arg.is_empty() {
                    args.push(arg.to_string());
                }
                ended_by = Some(";".to_string());
                break;
            }
            match redirection(word) {
                Some(true) => i += 1,
                Some(false) => {}
                None => args.push(word.clone()),
            }
        }
        found.push(Words { args, ended_by });
    }
    Ok(found)
}

fn invocations(scripts: &[Script]) -> Result<Vec<Invocation>, String> {
    let mut found = Vec::new();
    for script in scripts {
        for line in logical_lines(&script.text) {
            let in_line =
                invocations_in_line(&line).map_err(|e| format!("{}: {e}", script.place))?;
            for Words { args, ended_by } in in_line {
                found.push(Invocation {
                    place: script.place.clone(),
                    line: line.clone(),
                    args,
                    ended_by,
                });
            }
        }
    }
    Ok(found)
}

/// Every `cargo xtask` command of an example parses; the first error otherwise.
fn check_parses(invocations: &[Invocation]) -> Result<(), String> {
    for inv in invocations {
        inv.parse()
            .map_err(|e| format!("{}: {:?} does not parse:\n{e}", inv.place, inv.line))?;
    }
    Ok(())
}

/// The `verify` commands with `--terraform-plan`, `--terraform-state` and a JUnit report.
fn terraform_verifies(invocations: &[Invocation]) -> Vec<(&Invocation, Verify)> {
    invocations
        .iter()
        .filter_map(|inv| match inv.parse().ok()?.command {
            Command::Verify(v)
                if v.terraform_plan.is_some()
                    && v.terraform_state.is_some()
                    && v.report.iter().any(|r| r.format == ReportFormat::Junit) =>
            {
                Some((inv, v))
            }
            _ => None,
        })
        .collect()
}

fn junit_path(verify: &Verify) -> String {
    let target = verify
        .report
        .iter()
        .find(|r| r.format == ReportFormat::Junit)
        .expect("a junit report");
    target.path.display().to_string()
}

/// `if: always()` (or another `always()` condition) on a GitHub step.
fn runs_always(step: &Yaml) -> bool {
    step["if"].as_str().is_some_and(|c| c.contains("always()"))
}

fn truthy(yaml: &Yaml) -> bool {
    matches!(yaml, Yaml::Boolean(true)) || yaml.as_str() == Some("true")
}

fn job_and_index(place: &str) -> (&str, Option<usize>) {
    // "jobs.JOB.steps[I]" or "JOB.script[I]"
    let place = place.strip_prefix("jobs.").unwrap_or(place);
    let (job, rest) = place.split_once('.').expect("job.key");
    let index = rest
        .split_once('[')
        .and_then(|(_, i)| i.trim_end_matches(']').parse().ok());
    (job, index)
}

fn check_github(doc: &Yaml) -> Result<(), String> {
    let invocations = invocations(&github_scripts(doc))?;
    check_parses(&invocations)?;
    let verifies = terraform_verifies(&invocations);
    let (inv, verify) = verifies.first().ok_or(
        "no `cargo xtask verify` with --terraform-plan, --terraform-state and --report junit=",
    )?;
    if !inv.keeps_exit_status() {
        return Err(format!(
            "{}: verify's exit status is lost ({:?})",
            inv.place, inv.ended_by
        ));
    }
    let (job, index) = job_and_index(&inv.place);
    let steps = doc["jobs"][job]["steps"]
        .as_vec()
        .ok_or("the job has no steps")?;
    let verify_step = &steps[index.ok_or("a step index")?];
    if truthy(&verify_step["continue-on-error"]) || truthy(&doc["jobs"][job]["continue-on-error"]) {
        return Err(format!("{}: continue-on-error hides a no-go", inv.place));
    }
    let later = &steps[index.expect("an index") + 1..];
    let summary = later.iter().find(|step| {
        step["run"].as_str().is_some_and(|run| {
            run.lines()
                .any(|l| l.contains(">>") && l.contains("$GITHUB_STEP_SUMMARY"))
        })
    });
    match summary {
        Some(step) if runs_always(step) => {}
        Some(_) => return Err("the step summary step lacks `if: always()`".into()),
        None => return Err("no later step appends to $GITHUB_STEP_SUMMARY".into()),
    }
    let junit = junit_path(verify);
    let reporter = later.iter().find(|step| {
        step["uses"].as_str().is_some_and(|u| {
            u.starts_with("mikepenz/action-junit-report@") || u.starts_with("dorny/test-reporter@")
        })
    });
    match reporter {
        Some(step) if runs_always(step) => {
            let paths = step["with"]["report_paths"]
                .as_str()
                .or(step["with"]["path"].as_str())
                .unwrap_or_default();
            if !paths.contains(&junit) {
                return Err(format!(
                    "the JUnit step reads {paths:?}, verify writes {junit:?}"
                ));
            }
        }
        Some(_) => return Err("the JUnit step lacks `if: always()`".into()),
        None => return Err("no later JUnit step (action-junit-report or test-reporter)".into()),
    }
    Ok(())
}

fn check_gitlab(doc: &Yaml) -> Result<(), String> {
    let invocations = invocations(&gitlab_scripts(doc))?;
    check_parses(&invocations)?;
    let verifies = terraform_verifies(&invocations);
    let (inv, verify) = verifies.first().ok_or(
        "no `cargo xtask verify` with --terraform-plan, --terraform-state and --report junit=",
    )?;
    if !inv.keeps_exit_status() {
        return Err(format!(
            "{}: verify's exit status is lost ({:?})",
            inv.place, inv.ended_by
        ));
    }
    let (job, _) = job_and_index(&inv.place);
    let job = &doc[job];
    if truthy(&job["allow_failure"]) {
        return Err(format!("{}: allow_failure hides a no-go", inv.place));
    }
    let artifacts = &job["artifacts"];
    let junit = junit_path(verify);
    let declared: Vec<&str> = match &artifacts["reports"]["junit"] {
        Yaml::String(s) => vec![s.as_str()],
        Yaml::Array(items) => items.iter().filter_map(Yaml::as_str).collect(),
        _ => return Err("the verify job declares no `artifacts: reports: junit`".into()),
    };
    if !declared.contains(&junit.as_str()) {
        return Err(format!(
            "reports: junit is {declared:?}, verify writes {junit:?}"
        ));
    }
    if artifacts["when"].as_str() != Some("always") {
        return Err("the verify job's artifacts lack `when: always`".into());
    }
    if job["needs"].is_badvalue() {
        return Err("the verify job has no `needs:` (the apply job)".into());
    }
    Ok(())
}

fn check(doc: &Yaml, kind: Kind) -> Result<(), String> {
    match kind {
        Kind::GitHub => check_github(doc),
        Kind::GitLab => check_gitlab(doc),
    }
}

#[test]
fn there_is_an_example_of_each_kind() {
    let files = example_files();
    for kind in [Kind::GitHub, Kind::GitLab] {
        assert!(
            files.iter().any(|(_, k)| *k == kind),
            "no {kind:?} example in {files:?}"
        );
    }
}

#[test]
fn every_cargo_xtask_line_in_the_examples_parses() {
    for (path, kind) in example_files() {
        let doc = load_file(&path);
        let invocations =
            invocations(&scripts(&doc, kind)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !invocations.is_empty(),
            "{}: no `cargo xtask` line found",
            path.display()
        );
        if let Err(e) = check_parses(&invocations) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn every_example_verifies_with_terraform_inputs_and_publishes_its_reports() {
    for (path, kind) in example_files() {
        let doc = load_file(&path);
        let invocations = invocations(&scripts(&doc, kind)).expect("splits");
        for inv in terraform_verifies(&invocations) {
            assert!(
                inv.0.args.iter().any(|a| a == "--terraform-plan")
                    && inv.0.args.iter().any(|a| a == "--terraform-state")
                    && inv.0.args.iter().any(|a| a.starts_with("junit=")),
                "{}: {:?}",
                path.display(),
                inv.0.line
            );
        }
        if let Err(e) = check(&doc, kind) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn a_misspelled_flag_fails_to_parse() {
    let line = "cargo xtask verify production --terraform-plann x";
    let found = invocations_in_line(line).expect("splits");
    assert_eq!(found.len(), 1);
    let inv = Invocation {
        place: "made up".into(),
        line: line.into(),
        args: found[0].args.clone(),
        ended_by: None,
    };
    let err = inv.parse().expect_err("--terraform-plann is no flag");
    assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    // And the same line with the real flag parses.
    let fixed = invocations_in_line("cargo xtask verify production --terraform-plan x").unwrap();
    assert!(
        Xtask::try_parse_from(
            std::iter::once("cargo xtask".to_string()).chain(fixed[0].args.clone())
        )
        .is_ok()
    );
}

#[test]
fn a_workflow_with_a_bad_flag_fails_the_check() {
    let github = r#"
jobs:
  verify:
    steps:
      - run: |
          cargo xtask verify production \
            --terraform-plan plan.json --terraform-state state.json \
            --report junit=j.xml --terraform-plann x
"#;
    let err = check(&load(github).unwrap(), Kind::GitHub).unwrap_err();
    assert!(err.contains("--terraform-plann"), "{err}");

    let gitlab = r#"
verify:
  script:
    - echo start
    - cargo xtask verify production --terraform-plan plan.json --reprot junit=j.xml
"#;
    let err = check(&load(gitlab).unwrap(), Kind::GitLab).unwrap_err();
    assert!(
        err.contains("verify.script[1]") && err.contains("--reprot"),
        "{err}"
    );
}

#[test]
fn a_workflow_that_hides_a_no_go_fails_the_check() {
    let github = r#"
jobs:
  verify:
    steps:
      - run: cargo xtask verify production --terraform-plan p --terraform-state s --report junit=j.xml || true
      - if: always()
        uses: mikepenz/action-junit-report@v4
        with:
          report_paths: j.xml
      - if: always()
        run: cat verify.md >> "$GITHUB_STEP_SUMMARY"
"#;
    let err = check(&load(github).unwrap(), Kind::GitHub).unwrap_err();
    assert!(err.contains("exit status is lost"), "{err}");
    // Without `|| true` the same workflow passes (the check can pass).
    check(
        &load(&github.replace(" || true", "")).unwrap(),
        Kind::GitHub,
    )
    .unwrap();
    // And without `if: always()` on the summary, it fails again.
    let no_always = github
        .replace(" || true", "")
        .replace("      - if: always()\n        run:", "      - run:");
    let err = check(&load(&no_always).unwrap(), Kind::GitHub).unwrap_err();
    assert!(err.contains("always()"), "{err}");

    let gitlab = r#"
verify:
  needs: [apply]
  script:
    - cargo xtask verify production --terraform-plan p --terraform-state s --report junit=j.xml
  artifacts:
    when: on_success
    reports:
      junit: j.xml
"#;
    let err = check(&load(gitlab).unwrap(), Kind::GitLab).unwrap_err();
    assert!(err.contains("when: always"), "{err}");
    check(
        &load(&gitlab.replace("on_success", "always")).unwrap(),
        Kind::GitLab,
    )
    .unwrap();
}

#[test]
fn continued_lines_join_and_shell_operators_end_the_command() {
    let script = "set -e\ncargo xtask verify production \\\n  --only 'rds.*' \\\n  --report \"junit=out dir/j.xml\" 2> err.log && echo done\n# cargo xtask in a comment\necho x; cargo xtask sandbox status; cargo xtask test -- --nocapture | tee log\n";
    let lines = logical_lines(script);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let found: Vec<_> = lines
        .iter()
        .flat_map(|l| invocations_in_line(l).unwrap())
        .collect();
    let words = |args: &[&str], ended_by: &str| Words {
        args: args.iter().map(|a| a.to_string()).collect(),
        ended_by: Some(ended_by.to_string()),
    };
    assert_eq!(
        found,
        [
            words(
                &[
                    "verify",
                    "production",
                    "--only",
                    "rds.*",
                    "--report",
                    "junit=out dir/j.xml"
                ],
                "&&"
            ),
            words(&["sandbox", "status"], ";"),
            words(&["test", "--", "--nocapture"], "|"),
        ]
    );
    assert!(invocations_in_line("cargo xtask verify 'unclosed").is_err());
}
