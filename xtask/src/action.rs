//! `action.yml` run here the way a GitHub runner runs a composite action:
//! each step's `run:` in `bash --noprofile --norc -eo pipefail`, its `env:`
//! with the `${{ inputs.* }}` and `${{ steps.*.outputs.* }}` it names,
//! `GITHUB_OUTPUT`, `GITHUB_PATH` and `GITHUB_STEP_SUMMARY` as files, and
//! `actions/cache` as a miss. The release it downloads is `cargo xtask
//! dist`'s archive of this build's `verify`, served on 127.0.0.1 under
//! `GITHUB_SERVER_URL`; the gate it runs is the sandbox's.
//!
//! `cargo xtask test` runs it after `cargo test` (it needs the sandbox);
//! the action's metadata is checked without it in `examples.rs`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use yaml_rust2::{Yaml, YamlLoader};

use crate::cargo::{root, target_dir, workspace_bin};
use crate::dist::{self, Naming};

pub fn action_path() -> PathBuf {
    root().join("action.yml")
}

pub fn load_action() -> Result<Yaml> {
    let path = action_path();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut docs = YamlLoader::load_from_str(&text).context("action.yml is not YAML")?;
    if docs.len() != 1 {
        bail!("action.yml: expected one YAML document");
    }
    Ok(docs.remove(0))
}

/// An input's default in action.yml.
pub fn input_default(action: &Yaml, input: &str) -> Option<String> {
    action["inputs"][input]["default"]
        .as_str()
        .map(str::to_string)
}

/// The Rust target a runner of this machine's architecture downloads.
fn runner_arch() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("ARM64", "aarch64-unknown-linux-musl"),
        _ => ("X64", "x86_64-unknown-linux-musl"),
    }
}

/// What one simulated run of the action left.
#[derive(Debug)]
pub struct Simulation {
    /// The step that failed and its exit status, if one did.
    pub failed: Option<(String, i32)>,
    /// What the failed step printed (stdout and stderr).
    pub failed_log: String,
    /// The action's `outputs:`, evaluated.
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    /// What the steps appended to `GITHUB_PATH`.
    pub path: Vec<PathBuf>,
}

/// Runs action.yml's steps with `inputs` (the rest take their defaults),
/// `server` standing in for `GITHUB_SERVER_URL`, in `dir`.
pub fn simulate(
    action: &Yaml,
    inputs: &[(&str, &str)],
    server: &str,
    dir: &Path,
) -> Result<Simulation> {
    let _ = std::fs::remove_dir_all(dir);
    let workspace = dir.join("workspace");
    for sub in ["workspace", "runner-temp", "tool-cache"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let mut input_values: BTreeMap<String, String> = BTreeMap::new();
    for (name, spec) in action["inputs"].as_hash().context("no inputs")? {
        let name = name.as_str().context("an input name")?;
        input_values.insert(
            name.to_string(),
            spec["default"].as_str().unwrap_or_default().to_string(),
        );
    }
    for (name, value) in inputs {
        if !input_values.contains_key(*name) {
            bail!("action.yml has no input {name:?}");
        }
        input_values.insert(name.to_string(), value.to_string());
    }
    let summary = dir.join("step-summary.md");
    let github_path = dir.join("github-path");
    std::fs::write(&summary, "")?;
    std::fs::write(&github_path, "")?;
    let (arch, _) = runner_arch();

    let mut step_outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut failed = None;
    let mut failed_log = String::new();
    let steps = action["runs"]["steps"].as_vec().context("no runs.steps")?;
    for (i, step) in steps.iter().enumerate() {
        let id = step["id"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("step{i}"));
        let eval = |expr: &str| -> Result<String> {
            let expr = expr.trim();
            if let Some(name) = expr.strip_prefix("inputs.") {
                return input_values
                    .get(name)
                    .cloned()
                    .with_context(|| format!("no input {name:?}"));
            }
            if let Some(rest) = expr.strip_prefix("steps.")
                && let Some((step, output)) = rest.split_once(".outputs.")
            {
                return Ok(step_outputs
                    .get(step)
                    .and_then(|o| o.get(output))
                    .cloned()
                    .unwrap_or_default());
            }
            bail!("an expression this simulation does not know: {expr:?}")
        };
        if let Some(condition) = step["if"].as_str() {
            let (left, negate) = match condition.split_once("!=") {
                Some((left, right)) if right.trim() == "'true'" => (left, true),
                _ => match condition.split_once("==") {
                    Some((left, right)) if right.trim() == "'true'" => (left, false),
                    _ => bail!("step {id}: a condition this simulation does not know: {condition}"),
                },
            };
            let is_true = eval(left)? == "true";
            if is_true == negate {
                continue;
            }
        }
        if let Some(uses) = step["uses"].as_str() {
            if uses.starts_with("actions/cache@") {
                // A miss: the cache is empty on a first run.
                step_outputs.insert(id, BTreeMap::from([("cache-hit".into(), String::new())]));
                continue;
            }
            bail!("step {id}: `uses: {uses}` is not simulated");
        }
        let script = step["run"]
            .as_str()
            .with_context(|| format!("step {id}: no run"))?;
        if script.contains("${{") {
            bail!("step {id}: an expression inside run: (pass it through env:)");
        }
        let mut env = BTreeMap::new();
        for (key, value) in step["env"].as_hash().into_iter().flatten() {
            let key = key.as_str().context("an env name")?;
            let value = value.as_str().context("an env value")?;
            env.insert(key.to_string(), substitute(value, &eval)?);
        }
        let script_file = dir.join(format!("{id}.sh"));
        std::fs::write(&script_file, script)?;
        let output_file = dir.join(format!("{id}.output"));
        std::fs::write(&output_file, "")?;
        let added: Vec<String> = std::fs::read_to_string(&github_path)?
            .lines()
            .map(str::to_string)
            .collect();
        let path = added
            .iter()
            .rev()
            .cloned()
            .chain(std::env::var("PATH").ok())
            .collect::<Vec<_>>()
            .join(":");
        let log = dir.join(format!("{id}.log"));
        let log_file = std::fs::File::create(&log)?;
        let status = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_file)
            .current_dir(&workspace)
            .env("PATH", path)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TEMP", dir.join("runner-temp"))
            .env("RUNNER_TOOL_CACHE", dir.join("tool-cache"))
            .env("GITHUB_SERVER_URL", server)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("NO_COLOR", "1")
            .envs(&env)
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .status()
            .with_context(|| format!("running step {id}"))?;
        let outputs = std::fs::read_to_string(&output_file)?
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        step_outputs.insert(id.clone(), outputs);
        if !status.success() {
            failed_log = std::fs::read_to_string(&log).unwrap_or_default();
            failed = Some((id, status.code().unwrap_or(-1)));
            break;
        }
    }

    let mut outputs = BTreeMap::new();
    for (name, spec) in action["outputs"].as_hash().into_iter().flatten() {
        let name = name.as_str().context("an output name")?;
        let value = spec["value"].as_str().context("an output value")?;
        let value = substitute(value, &|expr: &str| {
            let rest = expr.trim().strip_prefix("steps.").context("steps.")?;
            let (step, output) = rest.split_once(".outputs.").context(".outputs.")?;
            Ok(step_outputs
                .get(step)
                .and_then(|o| o.get(output))
                .cloned()
                .unwrap_or_default())
        })?;
        outputs.insert(name.to_string(), value);
    }
    Ok(Simulation {
        failed,
        failed_log,
        outputs,
        summary: std::fs::read_to_string(&summary)?,
        path: std::fs::read_to_string(&github_path)?
            .lines()
            .map(PathBuf::from)
            .collect(),
    })
}

/// `text` with every `${{ expr }}` replaced by `eval(expr)`.
pub fn substitute(text: &str, eval: &dyn Fn(&str) -> Result<String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .with_context(|| format!("unclosed ${{{{ in {text:?}"))?;
        out.push_str(&eval(&rest[start + 3..start + end])?);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Serves the files under `dir` over HTTP on 127.0.0.1 (GET only), for as
/// long as the process lives. Returns its base URL.
fn serve(dir: PathBuf) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &dir);
        }
    });
    Ok(url)
}

fn answer(mut stream: TcpStream, dir: &Path) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let file = (!path.contains(".."))
        .then(|| dir.join(path.trim_start_matches('/')))
        .filter(|f| f.is_file());
    match file.map(std::fs::read) {
        Some(Ok(body)) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        _ => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
    }
    Ok(())
}

/// action.yml on this machine: its default release (this build's `verify`,
/// packaged by `cargo xtask dist` and served locally) is downloaded, its
/// sha256 checked, and the gate run on the sandbox: go, every output set,
/// the Markdown report in the step summary. A tampered archive stops at the
/// checksum, before anything runs.
pub fn runs_the_gate(dir: &Path) -> Result<()> {
    let action = load_action()?;
    let naming = Naming::load()?;
    let version = input_default(&action, "version").context("no default version")?;
    if version != naming.tag() {
        bail!(
            "action.yml installs {version} by default, verify-cli is {}",
            naming.tag()
        );
    }
    let repository = input_default(&action, "repository").context("no default repository")?;
    let (_, target) = runner_arch();
    let dir = dir.join("action");
    let server_root = dir.join("server");
    let release = server_root
        .join(&repository)
        .join("releases/download")
        .join(&version);
    dist::package(&naming, target, &workspace_bin("verify"), &release)?;
    let server = serve(server_root)?;

    let spec = root().join("infra-tests/environments/sandbox.hcl");
    let state = target_dir().join("sandbox/state.json");
    let args = format!("--sandbox-state '{}' -q", state.display());
    let inputs = [
        ("spec", spec.to_str().context("a UTF-8 path")?),
        ("args", args.as_str()),
    ];
    let _lock = crate::container::sandbox_lock(&target_dir().join("sandbox"))?;
    let run = simulate(&action, &inputs, &server, &dir.join("good"))?;
    if let Some((step, code)) = &run.failed {
        bail!(
            "step {step} failed (exit {code}), outputs {:?}:\n{}",
            run.outputs,
            run.failed_log
        );
    }
    if run.outputs["verdict"] != "go" || run.outputs["exit-code"] != "0" {
        bail!("outputs: {:?}", run.outputs);
    }
    let workspace = dir.join("good/workspace");
    for report in [
        "json-report",
        "junit-report",
        "markdown-report",
        "sarif-report",
    ] {
        let path = &run.outputs[report];
        if path.is_empty() || !workspace.join(path).is_file() {
            bail!("output {report} = {path:?}, not a file: {:?}", run.outputs);
        }
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(workspace.join(&run.outputs["json-report"]))?)?;
    if json["verdict"] != "go" {
        bail!("the JSON report's verdict: {}", json["verdict"]);
    }
    let markdown = std::fs::read_to_string(workspace.join(&run.outputs["markdown-report"]))?;
    if run.summary.trim().is_empty() || !markdown.starts_with(run.summary.trim_end()) {
        bail!(
            "the step summary is not the Markdown report:\n{}",
            run.summary
        );
    }
    let installed = run.path.first().context("nothing added to GITHUB_PATH")?;
    if !installed.join("verify").is_file() || !installed.starts_with(dir.join("good/tool-cache")) {
        bail!("GITHUB_PATH: {:?}", run.path);
    }

    // The same release with one byte changed: the checksum stops it.
    let archive = release.join(naming.asset(target)?);
    let mut bytes = std::fs::read(&archive)?;
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&archive, bytes)?;
    let tampered = simulate(&action, &inputs, &server, &dir.join("tampered"))?;
    match &tampered.failed {
        Some((step, _)) if step == "download" && tampered.outputs["verdict"].is_empty() => {}
        other => bail!(
            "a tampered archive: {other:?}, outputs {:?}",
            tampered.outputs
        ),
    }
    // Two copies of the binary: not kept.
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// `cargo xtask test`'s action step alone: `cargo test -p xtask -- --ignored
/// the_action` (the sandbox running and `target/debug/verify` built).
#[cfg(test)]
#[test]
#[ignore = "needs the sandbox and target/debug/verify: cargo xtask test runs it"]
fn the_action_runs_the_gate() {
    runs_the_gate(&target_dir().join("xtask-tests")).unwrap();
}
