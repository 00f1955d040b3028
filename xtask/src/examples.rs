//! The pipeline examples under `examples/`, the release workflow and the
//! composite action cannot rot:
//!
//! - each validates against the schema its CI system publishes (vendored in
//!   `docs/schemas/vendor/` from PyPI's `check-jsonschema`: GitHub workflow,
//!   GitHub action metadata, GitLab CI);
//! - every `verify …` command in a GitHub `run:` or a GitLab script (and the
//!   command the verify action composes from its `spec` and `args`) is split
//!   as a shell splits it and parsed with the `verify` binary's own flags
//!   (`verify-cli/src/flags.rs`, compiled in here), so a renamed or removed
//!   flag fails `cargo test -p xtask`;
//! - every `verify` is the pinned release (the action's version, or
//!   `VERIFY_VERSION`), downloaded from the URL `cargo binstall` uses (the
//!   binstall template, expanded: [`Naming`]) and checked with `sha256sum -c`;
//! - each example verifies with the Terraform inputs and a JUnit report,
//!   keeps `verify`'s exit status (the job fails on 1 and 2), and publishes
//!   its reports even when the gate says no-go; GitHub jobs upload SARIF;
//!   every job that reads environment-scoped variables names its
//!   `environment:`; every GitLab job has `rules:`; every action used is at
//!   its current major.
//!
//! `action.yml` run for real (download, checksum, gate) is `cargo xtask
//! test`'s step ([`crate::action::runs_the_gate`]): it needs the sandbox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use yaml_rust2::{Yaml, YamlLoader};

use report_model::report::ReportFormat;

use crate::dist::Naming;
use crate::flags::{Command as XtaskCommand, Xtask};

/// The `verify` binary's flags, exactly as the binary parses them.
#[allow(dead_code, unused_imports)]
#[path = "../../verify-cli/src/flags.rs"]
mod verify_flags;

use verify_flags::{Command, Run, Verify};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    GitLab,
}

/// Every action an example, the release workflow or action.yml uses, at its
/// current major (checked 2026-12: Node 20 actions are past removal). A new
/// action, or a major bump, is a deliberate edit here.
const CURRENT_MAJORS: [(&str, &str); 8] = [
    ("actions/checkout", "v6"),
    ("actions/cache", "v6"),
    ("actions/upload-artifact", "v7"),
    ("actions/download-artifact", "v7"),
    ("aws-actions/configure-aws-credentials", "v6"),
    ("hashicorp/setup-terraform", "v4"),
    ("mikepenz/action-junit-report", "v6"),
    ("github/codeql-action/upload-sarif", "v4"),
];

/// A shell script of an example: a GitHub step's `run:` or a GitLab script entry.
#[derive(Debug)]
struct Script {
    /// Where: `jobs.verify.steps[4]` or `verify-after-apply.script[5]`.
    place: String,
    text: String,
}

/// One `verify …` command found in a script (or composed by the verify action).
#[derive(Debug)]
struct Invocation {
    place: String,
    /// The logical line it is on (continuations joined).
    line: String,
    /// The words after `verify`, up to the shell operator that ends the command.
    args: Vec<String>,
    /// The operator that ended the command (`;`, `&&`, `||`, `|`, `&`), if any.
    ended_by: Option<String>,
}

impl Invocation {
    fn parse(&self) -> Result<Verify, clap::Error> {
        Verify::try_parse_from(std::iter::once("verify".to_string()).chain(self.args.clone()))
    }

    fn run(&self) -> Option<Run> {
        match self.parse().ok()?.command {
            Command::Run(run) => Some(run),
            _ => None,
        }
    }

    /// Whether the script still sees `verify`'s exit status (the step or job
    /// fails on 1 and 2): not after `||` or `&`, and not piped.
    fn keeps_exit_status(&self) -> bool {
        !matches!(self.ended_by.as_deref(), Some("||" | "&" | "|" | "|&"))
    }
}

fn root() -> PathBuf {
    crate::cargo::root()
}

fn examples_dir() -> PathBuf {
    root().join("examples")
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

// ---------------------------------------------------------------- schemas

/// A YAML document as the JSON value a schema validates (as GitHub and
/// GitLab read it: YAML 1.2, so `on` is a string).
fn to_json(yaml: &Yaml) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or(format!("not a number: {r}"))?,
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(hash) => {
            let mut map = serde_json::Map::new();
            for (k, v) in hash {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    other => return Err(format!("a key that is not a scalar: {other:?}")),
                };
                map.insert(key, to_json(v)?);
            }
            Value::Object(map)
        }
        other => return Err(format!("a YAML node JSON has no form for: {other:?}")),
    })
}

/// The schemas vendored in `docs/schemas/vendor/`.
#[derive(Debug, Clone, Copy)]
enum Schema {
    Workflow,
    Action,
    GitLab,
}

impl Schema {
    fn file(self) -> &'static str {
        match self {
            Schema::Workflow => "github-workflows.json",
            Schema::Action => "github-actions.json",
            Schema::GitLab => "gitlab-ci.json",
        }
    }

    /// Every error of `doc` against the schema, one per line (empty: valid).
    fn errors(self, doc: &Yaml) -> Vec<String> {
        let path = root().join("docs/schemas/vendor").join(self.file());
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{}: not a schema: {e}", path.display()));
        let instance = match to_json(doc) {
            Ok(instance) => instance,
            Err(e) => return vec![e],
        };
        validator
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    fn check(self, doc: &Yaml, what: &str) {
        let errors = self.errors(doc);
        assert!(
            errors.is_empty(),
            "{what} does not validate against {}:\n{}",
            self.file(),
            errors.join("\n")
        );
    }
}

// ---------------------------------------------------------------- scripts

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

/// GitLab's top-level keys that are not jobs.
const GITLAB_KEYWORDS: [&str; 7] = [
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "cache",
];

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

/// One `verify` command on a line: the words after `verify`.
#[derive(Debug, PartialEq)]
struct Words {
    args: Vec<String>,
    ended_by: Option<String>,
}

/// `verify` (or a path ending in `/verify`) followed by one of its commands
/// or a flag: the program, not a word that happens to read "verify".
fn is_verify_command(word: &str, next: Option<&String>) -> bool {
    (word == "verify" || word.ends_with("/verify"))
        && next.is_some_and(|n| {
            let n = n.trim_end_matches(';');
            n.starts_with('-')
                || ["run", "validate", "checks", "drill", "iam-policy", "help"].contains(&n)
        })
}

/// Every `verify` command on one logical line: the words after it, up to
/// the shell operator that ends it (redirections left out).
fn invocations_in_line(line: &str) -> Result<Vec<Words>, String> {
    let words = shell_words::split(line).map_err(|e| format!("{e}: {line:?}"))?;
    let mut found = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !is_verify_command(&words[i], words.get(i + 1)) {
            i += 1;
            continue;
        }
        i += 1;
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

/// Every `verify` command of an example parses; the first error otherwise.
fn check_parses(invocations: &[Invocation]) -> Result<(), String> {
    use clap::error::ErrorKind;
    for inv in invocations {
        match inv.parse() {
            Ok(_) => {}
            // `verify --version`, `verify run --help`: a parse that prints and exits 0.
            Err(e) if matches!(e.kind(), ErrorKind::DisplayVersion | ErrorKind::DisplayHelp) => {}
            Err(e) => {
                return Err(format!(
                    "{}: {:?} does not parse:\n{e}",
                    inv.place, inv.line
                ));
            }
        }
    }
    Ok(())
}

/// The `verify run` commands with `--terraform-plan`, `--terraform-state` and a JUnit report.
fn terraform_runs(invocations: &[Invocation]) -> Vec<(&Invocation, Run)> {
    invocations
        .iter()
        .filter_map(|inv| {
            let run = inv.run()?;
            (run.inputs.terraform.terraform_plan.is_some()
                && run.inputs.terraform.terraform_state.is_some()
                && run.report.iter().any(|r| r.format == ReportFormat::Junit))
            .then_some((inv, run))
        })
        .collect()
}

fn report_path(run: &Run, format: &str) -> Option<String> {
    run.report
        .iter()
        .find(|r| r.format.as_str() == format)
        .map(|r| r.path.display().to_string())
}

// ---------------------------------------------------------------- the verify action

fn action() -> Yaml {
    crate::action::load_action().unwrap()
}

/// Whether a step uses the verify action (this repository's, at any ref).
fn uses_verify_action(step: &Yaml, repository: &str) -> bool {
    step["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with(&format!("{repository}@")) || u == "./")
}

/// The report files the action writes in its `reports` folder, by format,
/// read from its run step (`json="$REPORTS/verify.json"` …).
fn action_report_names(action: &Yaml) -> BTreeMap<String, String> {
    let run = action_run_script(action, "run");
    ["json", "junit", "markdown", "sarif"]
        .into_iter()
        .filter_map(|format| {
            let prefix = format!("{format}=\"$REPORTS/");
            let line = run
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with(&prefix))?;
            let name = line[prefix.len()..].trim_end_matches('"');
            Some((format.to_string(), name.to_string()))
        })
        .collect()
}

fn action_run_script(action: &Yaml, id: &str) -> String {
    action["runs"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("action.yml has no step {id} with run:"))
        .to_string()
}

/// The `verify run` the action runs for a step's `with:` (its `spec`, its
/// `args` split as the action splits them, and its reports).
fn action_invocation(step: &Yaml, place: &str, action: &Yaml) -> Result<Invocation, String> {
    let with = &step["with"];
    let spec = with["spec"]
        .as_str()
        .ok_or(format!("{place}: the verify action without `spec`"))?;
    let args = with["args"].as_str().unwrap_or_default();
    let reports = with["reports"]
        .as_str()
        .map(str::to_string)
        .or_else(|| crate::action::input_default(action, "reports"))
        .unwrap_or_default();
    let mut words = vec!["run".to_string()];
    words.extend(spec.split_whitespace().map(str::to_string));
    words.extend(shell_words::split(args).map_err(|e| format!("{place}: args: {e}"))?);
    for (format, name) in action_report_names(action) {
        words.push("--report".into());
        words.push(format!("{format}={reports}/{name}"));
    }
    Ok(Invocation {
        place: place.to_string(),
        line: format!("uses: verify action, spec {spec:?}, args {args:?}"),
        args: words,
        ended_by: None,
    })
}

// ---------------------------------------------------------------- the pinned release

/// The repository the binstall URL downloads from (`owner/name`).
fn release_repository(naming: &Naming) -> String {
    let url = naming.url("t").unwrap();
    let rest = url
        .strip_prefix("https://github.com/")
        .expect("a GitHub release URL");
    rest.split("/releases/").next().unwrap().to_string()
}

/// `$NAME` and `${NAME}` in `text` replaced from `vars` (others left as they are).
fn expand_shell(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        // `${NAME}`, `${NAME#prefix}` (the prefix removed) or `$NAME`.
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let (name, prefix) = name.split_once('#').unwrap_or((name, ""));
        match vars.get(name) {
            Some(value) if !name.is_empty() => {
                out.push_str(value.strip_prefix(prefix).unwrap_or(value));
                rest = &after[len..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A script's `name=value` assignments, in order, each expanded with what came before.
fn assignments(script: &str, mut vars: BTreeMap<String, String>) -> BTreeMap<String, String> {
    for line in script.lines().map(str::trim) {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            continue;
        }
        let value = value.trim().trim_matches('"');
        let value = expand_shell(value, &vars);
        vars.insert(name.to_string(), value);
    }
    vars
}

fn string_map(yaml: &Yaml) -> BTreeMap<String, String> {
    entries(yaml)
        .filter_map(|(k, v)| {
            let v = match v {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                _ => return None,
            };
            Some((k.to_string(), v))
        })
        .collect()
}

/// A script that downloads verify: the release URL it builds is the binstall
/// one for `VERIFY_VERSION` (= verify-cli's version) and `VERIFY_TARGET`, and
/// the archive is checked with `sha256sum -c` before it is unpacked.
fn check_install_script(
    script: &str,
    vars: &BTreeMap<String, String>,
    naming: &Naming,
) -> Result<(), String> {
    let version = vars.get("VERIFY_VERSION").ok_or("no VERIFY_VERSION")?;
    if *version != naming.version {
        return Err(format!(
            "VERIFY_VERSION {version} is not the release {}",
            naming.version
        ));
    }
    let target = vars.get("VERIFY_TARGET").ok_or("no VERIFY_TARGET")?;
    let expanded = assignments(script, vars.clone());
    let url = expanded
        .get("url")
        .ok_or("the install script sets no url=")?;
    let expected = naming.url(target).map_err(|e| e.to_string())?;
    if *url != expected {
        return Err(format!("downloads {url}\n  binstall: {expected}"));
    }
    let check = script
        .find("sha256sum -c")
        .ok_or("the archive is not checked (no sha256sum -c)")?;
    let unpack = script
        .find("tar -xzf")
        .ok_or("the archive is not unpacked")?;
    if check > unpack {
        return Err("the archive is unpacked before its checksum is checked".into());
    }
    Ok(())
}

// ---------------------------------------------------------------- GitHub

/// Every `uses:` of a workflow or action, with where it is.
fn uses_of(doc: &Yaml) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (job, body) in entries(&doc["jobs"]) {
        for (i, step) in body["steps"].as_vec().into_iter().flatten().enumerate() {
            if let Some(uses) = step["uses"].as_str() {
                found.push((format!("jobs.{job}.steps[{i}]"), uses.to_string()));
            }
        }
    }
    for (i, step) in doc["runs"]["steps"]
        .as_vec()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(uses) = step["uses"].as_str() {
            found.push((format!("runs.steps[{i}]"), uses.to_string()));
        }
    }
    found
}

fn check_current_majors(doc: &Yaml, repository: &str, naming: &Naming) -> Result<(), String> {
    for (place, uses) in uses_of(doc) {
        let (action, reference) = uses
            .split_once('@')
            .ok_or(format!("{place}: {uses} is not pinned"))?;
        if action == repository {
            if reference != naming.tag() {
                return Err(format!("{place}: {uses}, the release is {}", naming.tag()));
            }
            continue;
        }
        match CURRENT_MAJORS.iter().find(|(a, _)| *a == action) {
            Some((_, major)) if reference == *major => {}
            Some((_, major)) => {
                return Err(format!("{place}: {uses}, current is {action}@{major}"));
            }
            None => return Err(format!("{place}: {uses} is not in CURRENT_MAJORS")),
        }
    }
    Ok(())
}

/// Whether YAML holds a `${{ vars.* }}` or `${{ secrets.* }}` reference
/// (GITHUB_TOKEN aside: it is the repository's, not an environment's).
fn reads_environment_scoped(yaml: &Yaml) -> bool {
    match yaml {
        Yaml::String(s) => s.split("${{").skip(1).any(|expr| {
            let expr = expr.split("}}").next().unwrap_or_default();
            expr.contains("vars.")
                || (expr.contains("secrets.") && !expr.contains("secrets.GITHUB_TOKEN"))
        }),
        Yaml::Array(items) => items.iter().any(reads_environment_scoped),
        Yaml::Hash(hash) => hash.values().any(reads_environment_scoped),
        _ => false,
    }
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
    let naming = Naming::load().map_err(|e| e.to_string())?;
    let action = action();
    let repository = release_repository(&naming);
    check_current_majors(doc, &repository, &naming)?;
    for (job, body) in entries(&doc["jobs"]) {
        if reads_environment_scoped(body) && body["environment"].is_badvalue() {
            return Err(format!(
                "jobs.{job} reads vars/secrets but names no `environment:`"
            ));
        }
    }

    let mut invocations = invocations(&github_scripts(doc))?;
    for (job, body) in entries(&doc["jobs"]) {
        for (i, step) in body["steps"].as_vec().into_iter().flatten().enumerate() {
            if uses_verify_action(step, &repository) {
                let place = format!("jobs.{job}.steps[{i}]");
                if step["with"]["version"]
                    .as_str()
                    .is_some_and(|v| v != naming.tag())
                {
                    return Err(format!("{place}: with.version is not {}", naming.tag()));
                }
                invocations.push(action_invocation(step, &place, &action)?);
            }
        }
    }
    check_parses(&invocations)?;
    let runs = terraform_runs(&invocations);
    let (inv, run) = runs
        .first()
        .ok_or("no `verify run` with --terraform-plan, --terraform-state and --report junit=")?;
    if !inv.keeps_exit_status() {
        return Err(format!(
            "{}: verify's exit status is lost ({:?})",
            inv.place, inv.ended_by
        ));
    }
    let (job, index) = job_and_index(&inv.place);
    let job_body = &doc["jobs"][job];
    let steps = job_body["steps"].as_vec().ok_or("the job has no steps")?;
    let index = index.ok_or("a step index")?;
    let verify_step = &steps[index];
    if truthy(&verify_step["continue-on-error"]) || truthy(&job_body["continue-on-error"]) {
        return Err(format!("{}: continue-on-error hides a no-go", inv.place));
    }

    // verify itself is the pinned release, checksum-verified, cached by version.
    let by_action = uses_verify_action(verify_step, &repository);
    if !by_action {
        let mut vars = string_map(&doc["env"]);
        vars.extend(string_map(&job_body["env"]));
        let install = steps[..index]
            .iter()
            .filter_map(|s| s["run"].as_str())
            .find(|run| run.contains("/releases/download/"))
            .ok_or("verify is not installed from a release before it runs")?;
        check_install_script(install, &vars, &naming)?;
        let cached = steps[..index].iter().any(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
                && s["with"]["key"]
                    .as_str()
                    .is_some_and(|k| k.contains("VERIFY_VERSION"))
        });
        if !cached {
            return Err(
                "the release is not cached by version (actions/cache keyed on VERIFY_VERSION)"
                    .into(),
            );
        }
    }

    let later = &steps[index + 1..];
    // The step summary: the action writes it; otherwise a later step, always.
    if !by_action {
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
    }
    let published = |uses_prefix: &str, input: &str, format: &str| -> Result<(), String> {
        let path = report_path(run, format).ok_or(format!("verify writes no {format} report"))?;
        let step = later
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(uses_prefix))
            })
            .ok_or(format!("no later {uses_prefix} step"))?;
        if !runs_always(step) {
            return Err(format!("the {uses_prefix} step lacks `if: always()`"));
        }
        let reads = step["with"][input].as_str().unwrap_or_default();
        if !reads.contains(&path) {
            return Err(format!(
                "the {uses_prefix} step reads {reads:?}, verify writes {path:?}"
            ));
        }
        Ok(())
    };
    published("mikepenz/action-junit-report@", "report_paths", "junit")?;
    published("github/codeql-action/upload-sarif@", "sarif_file", "sarif")?;
    if job_body["permissions"]["security-events"].as_str() != Some("write") {
        return Err(format!(
            "jobs.{job}: the SARIF upload needs `security-events: write`"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- GitLab

/// A job's key, following `extends:` (one template or a list, nearest last).
fn gitlab_key<'a>(doc: &'a Yaml, job: &'a Yaml, key: &str) -> &'a Yaml {
    if !job[key].is_badvalue() {
        return &job[key];
    }
    let parents: Vec<&str> = match &job["extends"] {
        Yaml::String(s) => vec![s.as_str()],
        Yaml::Array(items) => items.iter().filter_map(Yaml::as_str).collect(),
        _ => vec![],
    };
    for parent in parents.into_iter().rev() {
        let found = gitlab_key(doc, &doc[parent], key);
        if !found.is_badvalue() {
            return found;
        }
    }
    &job[key]
}

fn gitlab_jobs(doc: &Yaml) -> impl Iterator<Item = (&str, &Yaml)> {
    entries(doc).filter(|(name, _)| !name.starts_with('.') && !GITLAB_KEYWORDS.contains(name))
}

fn check_gitlab(doc: &Yaml) -> Result<(), String> {
    let naming = Naming::load().map_err(|e| e.to_string())?;
    for (name, job) in gitlab_jobs(doc) {
        if gitlab_key(doc, job, "rules").is_badvalue() {
            return Err(format!("{name}: no `rules:`"));
        }
    }
    let invocations = invocations(&gitlab_scripts(doc))?;
    check_parses(&invocations)?;
    let runs = terraform_runs(&invocations);
    let (inv, run) = runs
        .first()
        .ok_or("no `verify run` with --terraform-plan, --terraform-state and --report junit=")?;
    if !inv.keeps_exit_status() {
        return Err(format!(
            "{}: verify's exit status is lost ({:?})",
            inv.place, inv.ended_by
        ));
    }
    let (name, _) = job_and_index(&inv.place);
    let job = &doc[name];
    if truthy(gitlab_key(doc, job, "allow_failure")) {
        return Err(format!("{}: allow_failure hides a no-go", inv.place));
    }
    if gitlab_key(doc, job, "environment").is_badvalue() {
        return Err(format!("{name}: no `environment:` (its scoped variables)"));
    }

    // verify itself is the pinned release, checksum-verified, cached by version.
    let before: Vec<&str> = match gitlab_key(doc, job, "before_script") {
        Yaml::Array(items) => items.iter().filter_map(Yaml::as_str).collect(),
        Yaml::String(s) => vec![s.as_str()],
        _ => vec![],
    };
    let install = before
        .iter()
        .find(|s| s.contains("/releases/download/"))
        .ok_or(format!("{name}: verify is not installed from a release"))?;
    let mut vars = string_map(&doc["variables"]);
    vars.extend(string_map(gitlab_key(doc, job, "variables")));
    check_install_script(install, &vars, &naming)?;
    let cache_key = gitlab_key(doc, job, "cache")["key"]
        .as_str()
        .unwrap_or_default();
    if !cache_key.contains("VERIFY_VERSION") {
        return Err(format!(
            "{name}: the release is not cached by version ({cache_key:?})"
        ));
    }

    let artifacts = gitlab_key(doc, job, "artifacts");
    let junit = report_path(run, "junit").expect("a junit report");
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
    if gitlab_key(doc, job, "needs").is_badvalue() {
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

// ---------------------------------------------------------------- tests: the examples

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
fn every_example_validates_against_its_ci_schema() {
    for (path, kind) in example_files() {
        let schema = match kind {
            Kind::GitHub => Schema::Workflow,
            Kind::GitLab => Schema::GitLab,
        };
        schema.check(&load_file(&path), &path.display().to_string());
    }
}

#[test]
fn the_schemas_catch_a_broken_workflow_and_pipeline() {
    let github = load("on: push\njobs:\n  verify:\n    steps:\n      - run: x\n").unwrap();
    // A job without `runs-on` (nor `uses`).
    let errors = Schema::Workflow.errors(&github);
    assert!(
        errors.iter().any(|e| e.contains("/jobs/verify")),
        "{errors:?}"
    );
    let gitlab = load("verify:\n  stage: test\n  scirpt: [x]\n").unwrap();
    assert!(!Schema::GitLab.errors(&gitlab).is_empty());
}

#[test]
fn every_verify_command_in_the_examples_parses() {
    let action = action();
    let repository = release_repository(&Naming::load().unwrap());
    for (path, kind) in example_files() {
        let doc = load_file(&path);
        let mut found =
            invocations(&scripts(&doc, kind)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (job, body) in entries(&doc["jobs"]) {
            for (i, step) in body["steps"].as_vec().into_iter().flatten().enumerate() {
                if uses_verify_action(step, &repository) {
                    found.push(action_invocation(step, &format!("{job}[{i}]"), &action).unwrap());
                }
            }
        }
        assert!(
            !found.is_empty(),
            "{}: no `verify` command found",
            path.display()
        );
        if let Err(e) = check_parses(&found) {
            panic!("{}: {e}", path.display());
        }
    }
}

/// The T-0 job runs the canary, which writes (and undoes): every `verify
/// run` that selects `canary.*` passes `--allow-writes` (without it the
/// canary is `skip`), and there is one. Every secret a verify step is given
/// is named inside the secret prefix (`VERIFY_SECRET_…`).
#[test]
fn the_t0_job_lets_the_canary_write_and_names_its_secrets_inside_the_prefix() {
    let action = action();
    let repository = release_repository(&Naming::load().unwrap());
    let mut t0_runs = 0;
    for (path, kind) in example_files() {
        let doc = load_file(&path);
        let mut found = invocations(&scripts(&doc, kind)).unwrap();
        for (job, body) in entries(&doc["jobs"]) {
            for (i, step) in body["steps"].as_vec().into_iter().flatten().enumerate() {
                if uses_verify_action(step, &repository) {
                    found.push(action_invocation(step, &format!("{job}[{i}]"), &action).unwrap());
                }
                let runs_verify = uses_verify_action(step, &repository)
                    || step["run"]
                        .as_str()
                        .is_some_and(|r| r.contains("verify run"));
                for (name, _) in entries(&step["env"]) {
                    assert!(
                        !runs_verify
                            || name.starts_with(envspec::secret_env::DEFAULT_PREFIX)
                            || !name.contains("TOKEN") && !name.contains("PASSWORD"),
                        "{}: jobs.{job}.steps[{i}] gives verify {name}, outside VERIFY_SECRET_",
                        path.display()
                    );
                }
            }
        }
        for inv in &found {
            let Some(run) = inv.run() else { continue };
            // A whole gate (no --only) after apply leaves the canary `skip`;
            // a run that selects it (T-0) must let it write.
            let selects_canary = run.inputs.only.iter().any(|glob| {
                globset::Glob::new(glob)
                    .map(|g| g.compile_matcher().is_match("canary.t0"))
                    .unwrap_or(false)
            });
            if selects_canary {
                t0_runs += 1;
                assert!(
                    run.allow_writes,
                    "{}: {} runs the canary without --allow-writes ({:?})",
                    path.display(),
                    inv.place,
                    inv.line
                );
            }
        }
    }
    assert!(
        t0_runs > 0,
        "no example runs the T-0 canary (`--only 'canary.*'`)"
    );
}

#[test]
fn every_example_installs_the_release_verifies_with_terraform_inputs_and_publishes_its_reports() {
    for (path, kind) in example_files() {
        let doc = load_file(&path);
        if let Err(e) = check(&doc, kind) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn a_misspelled_flag_fails_to_parse() {
    let line = "verify run production.hcl --terraform-plann x";
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
    let fixed = invocations_in_line("verify run production.hcl --terraform-plan x").unwrap();
    assert!(
        Verify::try_parse_from(std::iter::once("verify".to_string()).chain(fixed[0].args.clone()))
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
          verify run production.hcl \
            --terraform-plan plan.json --terraform-state state.json \
            --report junit=j.xml --terraform-plann x
"#;
    let err = check(&load(github).unwrap(), Kind::GitHub).unwrap_err();
    assert!(err.contains("--terraform-plann"), "{err}");

    let gitlab = r#"
verify:
  script:
    - echo start
    - verify run production.hcl --terraform-plan plan.json --reprot junit=j.xml
  rules:
    - when: always
"#;
    let err = check(&load(gitlab).unwrap(), Kind::GitLab).unwrap_err();
    assert!(
        err.contains("verify.script[1]") && err.contains("--reprot"),
        "{err}"
    );
}

/// A GitHub job that installs the release by hand and runs the gate; the
/// variations below break one rule each.
const GITHUB_OK: &str = r#"
env:
  VERIFY_VERSION: "@VERSION@"
  VERIFY_TARGET: x86_64-unknown-linux-musl
jobs:
  verify:
    runs-on: ubuntu-24.04
    environment: production-gate
    permissions:
      security-events: write
    steps:
      - uses: actions/cache@v6
        with:
          path: ~/verify
          key: verify-${{ env.VERIFY_VERSION }}
      - run: |
          asset="verify-${VERIFY_VERSION}-${VERIFY_TARGET}.tar.gz"
          url="@URL@/v${VERIFY_VERSION}/${asset}"
          curl -fsSLo "$asset" "$url" && curl -fsSLo "$asset.sha256" "$url.sha256"
          sha256sum -c "$asset.sha256"
          tar -xzf "$asset"
      - uses: aws-actions/configure-aws-credentials@v6
        with:
          role-to-assume: ${{ vars.AWS_VERIFY_ROLE_ARN }}
      - run: verify run p.hcl --terraform-plan p --terraform-state s --report junit=j.xml --report sarif=v.sarif
      - if: always()
        uses: mikepenz/action-junit-report@v6
        with:
          report_paths: j.xml
      - if: always()
        uses: github/codeql-action/upload-sarif@v4
        with:
          sarif_file: v.sarif
      - if: always()
        run: cat verify.md >> "$GITHUB_STEP_SUMMARY"
"#;

fn github_ok() -> String {
    let naming = Naming::load().unwrap();
    let url = naming.url("T").unwrap();
    let base = url.split("/releases/download/").next().unwrap().to_string() + "/releases/download";
    GITHUB_OK
        .replace("@VERSION@", &naming.version)
        .replace("@URL@", &base)
}

#[test]
fn a_workflow_that_hides_a_no_go_or_skips_a_rule_fails_the_check() {
    let ok = github_ok();
    check(&load(&ok).unwrap(), Kind::GitHub).unwrap();
    let broken = |from: &str, to: &str, expect: &str| {
        assert!(ok.contains(from), "{from}");
        let err = check(&load(&ok.replace(from, to)).unwrap(), Kind::GitHub)
            .expect_err(&format!("{from} -> {to}"));
        assert!(err.contains(expect), "{from} -> {to}: {err}");
    };
    broken(
        "--report sarif=v.sarif",
        "--report sarif=v.sarif || true",
        "exit status is lost",
    );
    broken(
        "      - if: always()\n        run: cat",
        "      - run: cat",
        "always()",
    );
    broken("    environment: production-gate\n", "", "environment");
    broken(
        "actions/cache@v6",
        "actions/cache@v4",
        "current is actions/cache@v6",
    );
    broken(
        "          sha256sum -c \"$asset.sha256\"\n",
        "",
        "sha256sum -c",
    );
    broken(
        "verify-${VERIFY_VERSION}-${VERIFY_TARGET}",
        "verify-${VERIFY_TARGET}",
        "binstall",
    );
    broken(
        "key: verify-${{ env.VERIFY_VERSION }}",
        "key: verify",
        "cached by version",
    );
    broken(
        "sarif_file: v.sarif",
        "sarif_file: other.sarif",
        "verify writes",
    );
    broken(
        "      security-events: write\n",
        "      contents: read\n",
        "security-events",
    );

    let gitlab = r#"
verify:
  needs: [apply]
  environment: production
  script:
    - verify run p.hcl --terraform-plan p --terraform-state s --report junit=j.xml
  artifacts:
    when: on_success
    reports:
      junit: j.xml
  rules:
    - when: always
"#;
    let err = check(&load(gitlab).unwrap(), Kind::GitLab).unwrap_err();
    assert!(err.contains("not installed from a release"), "{err}");
}

#[test]
fn continued_lines_join_and_shell_operators_end_the_command() {
    let script = "set -e\nverify run production.hcl \\\n  --only 'rds.*' \\\n  --report \"junit=out dir/j.xml\" 2> err.log && echo done\n# verify run in a comment\necho x; verify checks; \"$DIR/verify\" --version | tee log\nmkdir -p .verify; echo \"verify $X wrote\"\n";
    let lines = logical_lines(script);
    assert_eq!(lines.len(), 5, "{lines:?}");
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
                    "run",
                    "production.hcl",
                    "--only",
                    "rds.*",
                    "--report",
                    "junit=out dir/j.xml"
                ],
                "&&"
            ),
            words(&["checks"], ";"),
            words(&["--version"], "|"),
        ]
    );
    assert!(invocations_in_line("verify run 'unclosed").is_err());
}

#[test]
fn shell_variables_expand_as_the_install_scripts_use_them() {
    let vars = BTreeMap::from([
        ("V".to_string(), "1.2.3".to_string()),
        ("T".to_string(), "x86_64".to_string()),
    ]);
    let got = assignments("a=\"v-${V}-$T.tar.gz\"\nurl=\"https://h/$a\"\n", vars);
    assert_eq!(got["url"], "https://h/v-1.2.3-x86_64.tar.gz");
    assert_eq!(expand_shell("$NOPE/${V}", &got), "$NOPE/1.2.3");
    let tag = BTreeMap::from([("TAG".to_string(), "v1.2.3".to_string())]);
    assert_eq!(expand_shell("${TAG#v}", &tag), "1.2.3");
}

// ---------------------------------------------------------------- tests: action.yml

#[test]
fn the_action_validates_against_the_action_metadata_schema() {
    Schema::Action.check(&action(), "action.yml");
    // And the schema does catch a broken one.
    let broken = load("name: x\ndescription: y\nruns:\n  using: composite\n  stepz: []\n").unwrap();
    assert!(!Schema::Action.errors(&broken).is_empty());
}

#[test]
fn the_action_installs_the_release_binstall_names() {
    let naming = Naming::load().unwrap();
    let action = action();
    let default = |input| crate::action::input_default(&action, input).unwrap();
    assert_eq!(
        default("version"),
        naming.tag(),
        "the action's default release"
    );
    assert_eq!(default("repository"), release_repository(&naming));
    check_current_majors(&action, &release_repository(&naming), &naming).unwrap();

    // The asset and folder names its first step builds, for each runner.
    let release = action_run_script(&action, "release");
    for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        assert!(release.contains(&format!("={target} ;;")), "{target}");
        let vars = BTreeMap::from([
            ("VERSION".to_string(), naming.tag()),
            ("target".to_string(), target.to_string()),
            (
                "GITHUB_SERVER_URL".to_string(),
                "https://github.com".to_string(),
            ),
            ("REPOSITORY".to_string(), default("repository")),
        ]);
        let lines: String = release
            .lines()
            .map(|l| l.trim().trim_start_matches("echo ").trim_matches('"'))
            .collect::<Vec<_>>()
            .join("\n");
        let got = assignments(&lines, vars);
        assert_eq!(got["asset"], naming.asset(target).unwrap());
        assert_eq!(got["url"], naming.url(target).unwrap());
        assert_eq!(
            format!("{}/verify", got["bin-dir"]),
            naming.bin_path(target).unwrap()
        );
    }
    let download = action_run_script(&action, "download");
    let check = download.find("sha256sum -c").expect("a checksum check");
    assert!(check < download.find("tar -xzf").unwrap());
}

#[test]
fn the_action_runs_a_verify_command_that_parses_and_exposes_its_outputs() {
    let action = action();
    // Its own command, with the shell's variables as a run would fill them.
    let run = action_run_script(&action, "run");
    let line = logical_lines(&run)
        .into_iter()
        .find(|l| l.trim_start().starts_with("verify run"))
        .expect("a verify run line");
    let filled = line
        .replace("\"${specs[@]}\"", "production.hcl")
        .replace("\"${extra[@]}\"", "--only 'rds.*'")
        .replace("$REPORTS", "out")
        .replace("$json", "out/verify.json")
        .replace("$junit", "out/verify-junit.xml")
        .replace("$markdown", "out/verify.md")
        .replace("$sarif", "out/verify.sarif");
    let found = invocations_in_line(&filled).unwrap();
    assert_eq!(found.len(), 1, "{filled}");
    let inv = Invocation {
        place: "action.yml runs.steps.run".into(),
        line: filled.clone(),
        args: found[0].args.clone(),
        ended_by: found[0].ended_by.clone(),
    };
    let parsed = inv
        .run()
        .unwrap_or_else(|| panic!("{:?}", inv.parse().unwrap_err()));
    let formats: Vec<_> = parsed.report.iter().map(|r| r.format.as_str()).collect();
    assert_eq!(formats, ["json", "junit", "markdown", "sarif"]);
    assert_eq!(
        action_report_names(&action).into_keys().collect::<Vec<_>>(),
        ["json", "junit", "markdown", "sarif"]
    );

    // Every output is a step's output, and the step exists.
    let ids: Vec<&str> = action["runs"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    for output in ["verdict", "json-report", "junit-report", "sarif-report"] {
        let value = action["outputs"][output]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no output {output}"));
        let step = value
            .trim_start_matches("${{ steps.")
            .split('.')
            .next()
            .unwrap();
        assert!(ids.contains(&step), "{output}: {value}");
        assert!(run.contains(output.trim_end_matches("-report")), "{output}");
    }
    // No expression inside a script: inputs reach the shell through env only.
    for step in action["runs"]["steps"].as_vec().unwrap() {
        if let Some(run) = step["run"].as_str() {
            assert!(!run.contains("${{"), "{run}");
        }
    }
}

// ---------------------------------------------------------------- tests: the release workflow

#[test]
fn the_release_workflow_packages_with_cargo_xtask_dist_for_each_target() {
    let path = root().join(".github/workflows/release.yml");
    let doc = load_file(&path);
    Schema::Workflow.check(&doc, "release.yml");
    let naming = Naming::load().unwrap();
    check_current_majors(&doc, &release_repository(&naming), &naming).unwrap();
    let tags = doc["on"]["push"]["tags"].as_vec().expect("on.push.tags");
    assert!(tags.iter().any(|t| t.as_str() == Some("v*")), "{tags:?}");

    // The build job: one `cargo xtask dist --target <matrix target> --tag <tag>` per target.
    let build = &doc["jobs"]["build"];
    let targets: Vec<&str> = build["strategy"]["matrix"]["include"]
        .as_vec()
        .expect("a matrix of targets")
        .iter()
        .filter_map(|t| t["target"].as_str())
        .collect();
    assert!(
        targets.contains(&"x86_64-unknown-linux-musl"),
        "{targets:?}"
    );
    let dist_line = github_scripts(&doc)
        .into_iter()
        .flat_map(|s| logical_lines(&s.text))
        .find(|l| l.contains("cargo xtask dist"))
        .expect("a cargo xtask dist line");
    let words = shell_words::split(&dist_line).unwrap();
    let at = words.iter().position(|w| w == "xtask").unwrap();
    let parsed = Xtask::try_parse_from(
        std::iter::once("cargo xtask".to_string()).chain(words[at + 1..].iter().cloned()),
    )
    .unwrap_or_else(|e| panic!("{dist_line}: {e}"));
    let XtaskCommand::Dist(dist) = parsed.command else {
        panic!("{dist_line}")
    };
    assert_eq!(dist.target, "$TARGET");
    assert_eq!(
        build["env"]["TARGET"].as_str(),
        Some("${{ matrix.target }}")
    );
    assert!(dist.tag.is_some(), "the tag is checked against the version");

    // The release job publishes every archive and checksum dist wrote.
    let release = github_scripts(&doc)
        .into_iter()
        .find(|s| s.text.contains("gh release create"))
        .expect("a gh release create step");
    for glob in ["*.tar.gz", "*.sha256"] {
        assert!(release.text.contains(glob), "{glob}: {}", release.text);
    }
}

// ---------------------------------------------------------------- tests: one repository, vendored schemas

/// Every `https://github.com/<owner>/<name>/…` link to verify's own
/// repository in the shipped files is the one the binstall URL names: the
/// placeholder is replaced in one go, or the test says where it was missed.
#[test]
fn every_link_to_the_release_repository_is_the_same() {
    let naming = Naming::load().unwrap();
    let repository = release_repository(&naming);
    let (owner, _) = repository.split_once('/').unwrap();
    let mut files = vec![
        root().join("action.yml"),
        root().join("Dockerfile"),
        root().join("docs/install.md"),
        root().join("docs/pipelines.md"),
        root().join("CHANGELOG.md"),
        root().join("README.md"),
    ];
    files.extend(example_files().into_iter().map(|(p, _)| p));
    for file in files {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (i, _) in text.match_indices(&format!("{owner}/")) {
            let rest = &text[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
                .unwrap_or(rest.len());
            let found = rest[..end].split('@').next().unwrap();
            let found: Vec<&str> = found.split('/').take(2).collect();
            assert_eq!(found.join("/"), repository, "{}", file.display());
        }
    }
}

#[test]
fn the_vendored_schemas_are_the_files_sources_md_names() {
    let dir = root().join("docs/schemas/vendor");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    for file in [
        "github-workflows.json",
        "github-actions.json",
        "gitlab-ci.json",
    ] {
        let row = sources
            .lines()
            .find(|l| l.starts_with(&format!("| `{file}` |")))
            .unwrap_or_else(|| panic!("SOURCES.md has no row for {file}"));
        let out = std::process::Command::new("sha256sum")
            .arg(dir.join(file))
            .output()
            .unwrap();
        let sum = String::from_utf8(out.stdout).unwrap();
        let sum = sum.split_whitespace().next().unwrap();
        assert!(row.contains(sum), "{file}: sha256 {sum}, SOURCES.md: {row}");
    }
}
