//! `cargo xtask test`: installs and starts what the tests need, runs every
//! `cargo test` of the workspace against the sandbox, then drives the harness
//! end to end as a user would (`verify sandbox`, a broken sandbox, a bad spec,
//! a refused drill) and checks exit codes and reports.

use std::path::Path;
use std::process::{Command, ExitCode, Output};

use anyhow::{Context, Result, bail};

use crate::cargo::{WORKSPACE, build_workspace, cargo, root, sandbox_quiet, target_dir};
use crate::flags::Test;
use report_model::report::{CheckOutcome, Report, Status};

pub fn run(flags: &Test) -> Result<ExitCode> {
    install_system_packages()?;
    build_workspace()?;
    let started_sandbox = crate::sandbox::ensure_up()?;

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

    println!("\nend to end: the harness as a user runs it");
    let mut e2e = Scenarios::default();
    e2e.run_all();

    if started_sandbox {
        let _ = sandbox_quiet(&["down"]);
    }
    println!("\ncargo test: {}", if cargo_ok { "ok" } else { "FAILED" });
    println!("e2e: {} passed, {} failed", e2e.passed, e2e.failed);
    Ok(if cargo_ok && e2e.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The machine packages the sandbox needs, installed with apt when missing (CI runs as root).
fn install_system_packages() -> Result<()> {
    let have_postgres = fixtures_postgres_present();
    let have_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_postgres && have_python {
        return Ok(());
    }
    let mut packages = Vec::new();
    if !have_postgres {
        packages.push("postgresql");
    }
    if !have_python {
        packages.extend(["python3", "python3-venv"]);
    }
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

#[derive(Default)]
struct Scenarios {
    passed: usize,
    failed: usize,
}

impl Scenarios {
    fn check(&mut self, name: &str, result: Result<()>) {
        match result {
            Ok(()) => {
                self.passed += 1;
                println!("  ok    {name}");
            }
            Err(e) => {
                self.failed += 1;
                println!("  FAIL  {name}: {e:#}");
            }
        }
    }

    fn run_all(&mut self) {
        let dir = target_dir().join("e2e");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);

        self.check(
            "verify sandbox: go, exit 0, JSON/JUnit/Markdown reports",
            verify_go(&dir),
        );
        self.check(
            "the installed way: verify run <a spec in another folder> with no cargo on PATH: go",
            binary_without_cargo(&dir),
        );
        self.check(
            "cargo xtask verify staging after verify sandbox: nothing compiled, exit 2 without credentials",
            switching_environments_compiles_nothing(),
        );
        self.check(
            "verify --only 'budgets.*': only those checks",
            only_filter(&dir),
        );
        self.check(
            "verify --only '{rds,ses}.*': a glob with a comma is one glob",
            only_glob_with_comma(&dir),
        );
        self.check(
            "a spec declaring another account: exit 2 naming both, no check run",
            wrong_account(&dir),
        );
        self.check(
            "a broken sandbox: no-go, exit 1, the failing check named",
            broken_sandbox(&dir),
        );
        self.check(
            "metric gates and the T-0 canary: go, then a 5xx burst and a lost write: exit 1 with the observed values",
            gates_and_canary(&dir),
        );
        self.check(
            "an invalid spec: exit 2 with file:line:column",
            invalid_spec(&dir),
        );
        self.check("an unknown environment: exit 2", unknown_env());
        self.check(
            "verify sandbox <a copy>: both go at once, exit 0, the combined report and one per environment",
            several_environments(&dir),
        );
        self.check(
            "verify sandbox <another account's spec>: exit 2, that one could not run, sandbox still judged",
            several_environments_one_wrong_account(&dir),
        );
        self.check(
            "verify sandbox <an invalid spec>: exit 2 with file:line:column, nothing run",
            several_environments_one_invalid(&dir),
        );
        self.check(
            "an invalid waivers file: exit 2 with position",
            invalid_waivers(&dir),
        );
        self.check(
            "verify sandbox --signoffs <complete> --report html= --report json=: go, exit 0, the page parses",
            signoffs_go(&dir),
        );
        self.check(
            "verify sandbox --signoffs <one missing>: no-go, exit 1, the missing role named",
            signoffs_one_missing(&dir),
        );
        self.check(
            "an invalid sign-offs file: exit 2 with file:line:column, nothing built",
            invalid_signoffs(&dir),
        );
        self.check(
            "verify sandbox --terraform-plan <no-op> --terraform-state <seeded>: go, both terraform checks pass",
            terraform_go(&dir),
        );
        self.check(
            "a plan that changes resources: exit 1 naming each address and action",
            terraform_changed_plan(&dir),
        );
        self.check(
            "a live value drifted from the state: exit 1 naming address, attribute, state and live",
            terraform_drifted_live(&dir),
        );
        self.check(
            "a plan of format 2.0: exit 2 naming the file and the reason",
            terraform_unsupported_plan(),
        );
        self.check(
            "production without its Terraform outputs: exit 2 at the first output reference",
            production_without_outputs(),
        );
        self.check(
            "iam-policy sandbox [--drills]: the policy JSON, drill writes only with --drills",
            iam_policy_printed(),
        );
        self.check(
            "drills refuse without --yes and where not allowed",
            drills_refuse(),
        );
        self.check(
            "drill rds-failover sandbox --yes: exit 0, timeline on the terminal, JSON and SVG",
            drill_rds_failover(&dir),
        );
        self.check(
            "verify sandbox after the drill: go",
            verify_after_drill(&dir),
        );
        self.check(
            "drill rds-failover with rds-async-standby: exit 1, lost acknowledged writes named",
            negative_control(
                &dir,
                "rds-async-standby",
                "rds-failover",
                "✗ acknowledged_writes_kept",
            ),
        );
        self.check(
            "drill pgbouncer-drain sandbox --yes: exit 0, zero failed transactions",
            drill_pgbouncer_drain(&dir),
        );
        self.check(
            "drill pgbouncer-drain with pgbouncer-hard-stop: exit 1, failed transactions named",
            drill_pgbouncer_hard_stop(&dir),
        );
        self.check(
            "drill pitr-restore sandbox --yes: exit 0, marker A present, B absent, scratch deleted",
            drill_pitr_restore(&dir),
        );
        self.check(
            "drill pitr-restore with rds-restore-ignores-target: exit 1 on marker B",
            drill_pitr_ignores_target(&dir),
        );
        self.check(
            "drill cleanup sandbox: nothing left to delete",
            drill_cleanup(),
        );
        self.check(
            "verify sandbox after the drills and a reset: go",
            verify_after_drill(&dir),
        );
        let _ = sandbox_quiet(&["reset"]);
    }
}

fn xtask(args: &[&str]) -> Result<Output> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    Command::new(exe)
        .args(args)
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

fn read_report(path: &Path) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    for key in [
        "environment",
        "started_at",
        "duration_ms",
        "verdict",
        "summary",
        "checks",
    ] {
        if value.get(key).is_none() {
            bail!("JSON report lacks `{key}`");
        }
    }
    for check in value["checks"].as_array().context("checks is not a list")? {
        for key in ["id", "status", "message", "duration_ms", "evidence"] {
            if check.get(key).is_none() {
                bail!("check entry lacks `{key}`: {check}");
            }
        }
    }
    Ok(serde_json::from_value(value)?)
}

fn verify_go(dir: &Path) -> Result<()> {
    let json = dir.join("go.json");
    let junit = dir.join("go.xml");
    let md = dir.join("go.md");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("markdown={}", md.display()),
    ])?;
    expect_exit(&out, 0)?;
    let report = read_report(&json)?;
    if report.verdict != "go" || report.environment != "sandbox" {
        bail!("verdict {} for {}", report.verdict, report.environment);
    }
    for id in [
        "rds.available",
        "rds.multi_az",
        "rds.encrypted",
        "rds.not_public",
        "rds.deletion_protection",
        "rds.backups",
        "budgets.monthly",
        "budgets.thresholds",
    ] {
        let check = report
            .checks
            .iter()
            .find(|c| c.id == id)
            .with_context(|| format!("{id} missing from the report"))?;
        if check.status != Status::Pass {
            bail!("{id}: {} {}", check.status.as_str(), check.message);
        }
    }
    let xml = std::fs::read_to_string(&junit)?;
    if !xml.contains(r#"<testcase name="rds.multi_az" classname="rds""#) {
        bail!("JUnit report lacks the rds.multi_az testcase");
    }
    let markdown = std::fs::read_to_string(&md)?;
    if !markdown.contains("GO") || !markdown.contains("`budgets.thresholds`") {
        bail!("Markdown report incomplete");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("verdict: GO") {
        bail!("terminal report lacks the verdict:\n{stdout}");
    }
    // The confirmed identity is recorded, from one sts:GetCallerIdentity.
    if report.identity.account != SANDBOX_ACCOUNT
        || !report.identity.arn.contains(SANDBOX_ACCOUNT)
        || report.identity.region != "eu-central-1"
    {
        bail!("report identity {:?}", report.identity);
    }
    if report.aws_calls["operations"]["sts:GetCallerIdentity"] != 1 {
        bail!(
            "expected one sts:GetCallerIdentity, calls {}",
            report.aws_calls
        );
    }
    if !stdout.contains(&format!("account {SANDBOX_ACCOUNT} in eu-central-1")) {
        bail!("terminal report lacks the confirmed account:\n{stdout}");
    }
    Ok(())
}

/// `target/debug/verify` run as a pipeline runs an installed binary: from a
/// folder of its own with a copy of the spec, the sandbox's state named,
/// and a PATH without cargo (or rustc) on it.
fn binary_without_cargo(dir: &Path) -> Result<()> {
    let folder = dir.join("installed");
    std::fs::create_dir_all(&folder)?;
    std::fs::copy(
        root().join("infra-tests/environments/sandbox.hcl"),
        folder.join("sandbox.hcl"),
    )?;
    let path: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let without_cargo: Vec<&std::path::PathBuf> = path
        .iter()
        .filter(|d| !d.join("cargo").exists() && !d.join("rustc").exists())
        .collect();
    let out = Command::new(crate::cargo::workspace_bin("verify"))
        .current_dir(&folder)
        .args(["run", "sandbox.hcl", "--report", "json=out/go.json"])
        .arg("--sandbox-state")
        .arg(target_dir().join("sandbox/state.json"))
        .env("PATH", std::env::join_paths(without_cargo)?)
        .env_remove("CARGO")
        // What the spec's canary asks for (cargo's [env] gives it to xtask).
        .env(
            "SANDBOX_CANARY_PASSWORD",
            std::env::var("SANDBOX_CANARY_PASSWORD").unwrap_or_default(),
        )
        .env("NO_COLOR", "1")
        .output()
        .context("running verify")?;
    expect_exit(&out, 0)?;
    let report = read_report(&folder.join("out/go.json"))?;
    if report.verdict != "go" || report.checks.len() < 30 {
        bail!("{} with {} checks", report.verdict, report.checks.len());
    }
    Ok(())
}

/// After `cargo xtask verify sandbox` (every scenario before this one),
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

/// The sandbox's default account (moto's, for its static test credentials).
const SANDBOX_ACCOUNT: &str = "123456789012";

fn only_glob_with_comma(dir: &Path) -> Result<()> {
    let json = dir.join("only-comma.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--only",
        "{rds,ses}.*",
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 0)?;
    let ids: Vec<String> = read_report(&json)?
        .checks
        .into_iter()
        .map(|c| c.id)
        .collect();
    // What the spec plans in those areas, as `verify checks` lists it (from
    // the checks' declarations, so a new rds check needs no edit here).
    let listed = std::process::Command::new(crate::cargo::workspace_bin("verify"))
        .args(["checks", "--format", "json", "--spec"])
        .arg(root().join("infra-tests/environments/sandbox.hcl"))
        .output()?;
    expect_exit(&listed, 0)?;
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout)?;
    let expected: Vec<&str> = listed
        .iter()
        .filter_map(|c| c["id"].as_str())
        .filter(|id| id.starts_with("rds.") || id.starts_with("ses."))
        .collect();
    if expected.is_empty() || ids != expected {
        bail!("--only '{{rds,ses}}.*' ran {ids:?}, the spec plans {expected:?}");
    }
    Ok(())
}

/// The sandbox spec with another `account_id`: the credentials are the
/// sandbox's, so the run must stop before any check, naming both accounts.
fn wrong_account(dir: &Path) -> Result<()> {
    let spec = std::fs::read_to_string(root().join("infra-tests/environments/sandbox.hcl"))?;
    let declared = format!("account_id  = \"{SANDBOX_ACCOUNT}\"");
    if !spec.contains(&declared) {
        bail!("sandbox.hcl no longer declares {declared}");
    }
    let path = dir.join("wrong-account.hcl");
    std::fs::write(
        &path,
        spec.replace(&declared, "account_id  = \"210987654321\""),
    )?;
    let json = dir.join("wrong-account.json");
    let out = xtask(&[
        "verify",
        &path.display().to_string(),
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("210987654321") || !stderr.contains(SANDBOX_ACCOUNT) {
        bail!("stderr does not name both accounts:\n{stderr}");
    }
    if json.exists() {
        bail!("a report was written although no check may run");
    }
    Ok(())
}

fn only_filter(dir: &Path) -> Result<()> {
    let json = dir.join("only.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--only",
        "budgets.*",
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 0)?;
    let ids: Vec<String> = read_report(&json)?
        .checks
        .into_iter()
        .map(|c| c.id)
        .collect();
    if ids != ["budgets.monthly", "budgets.thresholds"] {
        bail!("--only budgets.* ran {ids:?}");
    }
    Ok(())
}

fn broken_sandbox(dir: &Path) -> Result<()> {
    if !sandbox_quiet(&["break", "rds-single-az"])? {
        bail!("could not break the sandbox");
    }
    let result = (|| {
        let json = dir.join("broken.json");
        let out = xtask(&[
            "verify",
            "sandbox",
            "--report",
            &format!("json={}", json.display()),
        ])?;
        expect_exit(&out, 1)?;
        let report = read_report(&json)?;
        let check = report
            .checks
            .iter()
            .find(|c| c.id == "rds.multi_az")
            .context("rds.multi_az missing")?;
        if check.status != Status::Fail
            || !check
                .message
                .contains("MultiAZ expected true, observed false")
        {
            bail!("rds.multi_az: {} {}", check.status.as_str(), check.message);
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !stdout.contains("verdict: NO-GO") || !stdout.contains("rds.multi_az") {
            bail!("terminal report does not show the failure:\n{stdout}");
        }
        // A live waiver turns it into `waived` and the run into go.
        let waivers = dir.join("waivers.hcl");
        std::fs::write(
            &waivers,
            "waiver \"rds.multi_az\" {\n  justification = \"standby rebuilt tonight (OPS-7)\"\n  expires = \"2999-12-31\"\n}\n",
        )?;
        let waived_json = dir.join("waived.json");
        let out = xtask(&[
            "verify",
            "sandbox",
            "--waivers",
            &waivers.display().to_string(),
            "--report",
            &format!("json={}", waived_json.display()),
        ])?;
        expect_exit(&out, 0)?;
        let waived = read_report(&waived_json)?;
        if waived.summary.waived != 1 {
            bail!("expected one waived check, summary {:?}", waived.summary);
        }
        Ok(())
    })();
    if !sandbox_quiet(&["reset"])? {
        bail!("could not reset the sandbox");
    }
    result
}

/// `metrics.*` and `canary.*` pass on the good sandbox; a 5xx burst (the
/// default account's CloudWatch) and a write the Core API loses (its knob)
/// turn them to fail with what was observed.
fn gates_and_canary(dir: &Path) -> Result<()> {
    let only = ["--only", "metrics.*", "--only", "canary.*"];
    let good = dir.join("gates-good.json");
    let mut args = vec!["verify", "sandbox"];
    args.extend(only);
    let good_arg = format!("json={}", good.display());
    args.extend(["--report", &good_arg]);
    expect_exit(&xtask(&args)?, 0)?;
    let report = read_report(&good)?;
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    if ids.len() != 4 || !ids.contains(&"canary.t0") || report.summary.pass != 4 {
        bail!(
            "expected 3 metric gates and the canary passing, got {ids:?} {:?}",
            report.summary
        );
    }
    for b in ["metrics-5xx-burst", "core-api-lost-write"] {
        if !sandbox_quiet(&["break", b])? {
            let _ = sandbox_quiet(&["reset"]);
            bail!("could not apply {b}");
        }
    }
    let result = (|| {
        let broken = dir.join("gates-broken.json");
        let broken_arg = format!("json={}", broken.display());
        let mut args = vec!["verify", "sandbox"];
        args.extend(only);
        args.extend(["--report", &broken_arg]);
        expect_exit(&xtask(&args)?, 1)?;
        let report = read_report(&broken)?;
        let rate = check_in(&report, "metrics.core_api_5xx_rate")?;
        if rate.status != Status::Fail || !rate.message.contains("expected never > 0.5 for 10m") {
            bail!(
                "metrics.core_api_5xx_rate: {} {}",
                rate.status.as_str(),
                rate.message
            );
        }
        let canary = check_in(&report, "canary.t0")?;
        if canary.status != Status::Fail
            || !canary
                .message
                .contains("step `read_back` status expected 200, observed 404")
        {
            bail!("canary.t0: {} {}", canary.status.as_str(), canary.message);
        }
        Ok(())
    })();
    if !sandbox_quiet(&["reset"])? {
        bail!("could not reset the sandbox");
    }
    result
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

fn invalid_spec(dir: &Path) -> Result<()> {
    let spec = dir.join("bad.hcl");
    std::fs::write(
        &spec,
        "environment = \"bad\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\nrds \"core\" {\n  identifier = \"x\"\n  multiaz = true\n}\n",
    )?;
    let out = xtask(&["verify", &spec.display().to_string()])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("bad.hcl:7:3:") || !stderr.contains("unknown attribute `multiaz`") {
        bail!("stderr lacks file:line:column and the reason:\n{stderr}");
    }
    Ok(())
}

/// The sandbox spec under another environment name (same account).
fn sandbox_copy(dir: &Path) -> Result<std::path::PathBuf> {
    let spec = std::fs::read_to_string(root().join("infra-tests/environments/sandbox.hcl"))?;
    let declared = "environment = \"sandbox\"";
    if !spec.contains(declared) {
        bail!("sandbox.hcl no longer declares {declared}");
    }
    let path = dir.join("sandbox-copy.hcl");
    std::fs::write(
        &path,
        spec.replace(declared, "environment = \"sandbox-copy\""),
    )?;
    Ok(path)
}

fn several_environments(dir: &Path) -> Result<()> {
    let copy = sandbox_copy(dir)?;
    let json = dir.join("multi.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        &copy.display().to_string(),
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("junit={}", dir.join("multi.xml").display()),
    ])?;
    expect_exit(&out, 0)?;
    let combined: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    if combined["verdict"] != "go" || combined["summary"]["go"] != 2 {
        bail!("combined report: {}", combined["summary"]);
    }
    for env in ["sandbox", "sandbox-copy"] {
        let report = read_report(&dir.join(format!("multi.{env}.json")))?;
        if report.environment != env || report.verdict != "go" {
            bail!("{env}: {} for {}", report.verdict, report.environment);
        }
        // Each confirmed its own identity: one sts:GetCallerIdentity each.
        if report.aws_calls["operations"]["sts:GetCallerIdentity"] != 1
            || report.identity.account != SANDBOX_ACCOUNT
        {
            bail!(
                "{env}: identity {:?}, calls {}",
                report.identity,
                report.aws_calls
            );
        }
        if !dir.join(format!("multi.{env}.xml")).is_file() {
            bail!("no JUnit report for {env}");
        }
    }
    let xml = std::fs::read_to_string(dir.join("multi.xml"))?;
    if !xml.contains(r#"<testsuite name="verify.sandbox-copy""#) {
        bail!("the combined JUnit report lacks sandbox-copy's suite");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("2 environments: 2 go, 0 no-go, 0 could not run")
        || !stdout.contains("verdict: GO")
    {
        bail!("terminal summary:\n{stdout}");
    }
    Ok(())
}

/// Each environment has its own account guard: one declaring another
/// account cannot run, the other is judged as usual.
fn several_environments_one_wrong_account(dir: &Path) -> Result<()> {
    let spec = std::fs::read_to_string(root().join("infra-tests/environments/sandbox.hcl"))?;
    let path = dir.join("multi-wrong-account.hcl");
    std::fs::write(
        &path,
        spec.replace("environment = \"sandbox\"", "environment = \"elsewhere\"")
            .replace(
                &format!("account_id  = \"{SANDBOX_ACCOUNT}\""),
                "account_id  = \"210987654321\"",
            ),
    )?;
    let json = dir.join("multi-wrong.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        &path.display().to_string(),
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 2)?;
    let combined: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    let elsewhere = &combined["environments"][1];
    if elsewhere["verdict"] != "could-not-run"
        || !elsewhere["error"]
            .as_str()
            .is_some_and(|e| e.contains("210987654321") && e.contains(SANDBOX_ACCOUNT))
    {
        bail!("the wrong account's entry: {elsewhere}");
    }
    if combined["environments"][0]["verdict"] != "go" {
        bail!("sandbox: {}", combined["environments"][0]["verdict"]);
    }
    read_report(&dir.join("multi-wrong.sandbox.json"))?;
    if dir.join("multi-wrong.elsewhere.json").exists() {
        bail!("a report was written for an environment that could not run");
    }
    Ok(())
}

fn several_environments_one_invalid(dir: &Path) -> Result<()> {
    let bad = dir.join("multi-bad.hcl");
    std::fs::write(
        &bad,
        "environment = \"bad\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\nrds \"core\" {\n  identifier = \"x\"\n  multiaz = true\n}\n",
    )?;
    let json = dir.join("multi-bad.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        &bad.display().to_string(),
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("multi-bad.hcl:7:3:") {
        bail!("stderr lacks file:line:column:\n{stderr}");
    }
    if json.exists() {
        bail!("a report was written although nothing may run");
    }
    // Sign-offs belong to one environment: refused with several.
    let out = xtask(&[
        "verify",
        "sandbox",
        "staging",
        "--signoffs",
        &sandbox_signoffs().display().to_string(),
    ])?;
    expect_exit(&out, 2)?;
    if !String::from_utf8_lossy(&out.stderr).contains("--signoffs judges one environment") {
        bail!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn unknown_env() -> Result<()> {
    let out = xtask(&["verify", "no-such-environment"])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("no-such-environment.hcl") {
        bail!("stderr does not name the missing file:\n{stderr}");
    }
    Ok(())
}

fn invalid_waivers(dir: &Path) -> Result<()> {
    let waivers = dir.join("bad-waivers.hcl");
    std::fs::write(
        &waivers,
        "waiver \"rds.*\" {\n  justification = \"x\"\n  expires = \"next week\"\n}\n",
    )?;
    let out = xtask(&[
        "verify",
        "sandbox",
        "--waivers",
        &waivers.display().to_string(),
    ])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("bad-waivers.hcl:3:13:") {
        bail!("stderr lacks the waiver's position:\n{stderr}");
    }
    Ok(())
}

/// The sandbox's sign-offs, all given (`examples/sandbox/signoffs.hcl`).
fn sandbox_signoffs() -> std::path::PathBuf {
    root().join("examples").join("sandbox").join("signoffs.hcl")
}

fn signoffs_go(dir: &Path) -> Result<()> {
    let json = dir.join("signoffs-go.json");
    let html = dir.join("signoffs-go.html");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--signoffs",
        &sandbox_signoffs().display().to_string(),
        "--report",
        &format!("html={}", html.display()),
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 0)?;
    let report = read_report(&json)?;
    let signoffs = report
        .signoffs
        .as_ref()
        .context("JSON report lacks the signoffs section")?;
    if report.verdict != "go" || !signoffs.complete || signoffs.roles.len() != 5 {
        bail!("verdict {}, sign-offs {signoffs:?}", report.verdict);
    }
    let page = std::fs::read_to_string(&html)?;
    let doc = html_is_self_contained(&page)?;
    for needle in [
        "data-verdict=\"go\"",
        "data-role=\"Commercial\"",
        "data-id=\"rds.multi_az\"",
    ] {
        if !doc.contains(needle) {
            bail!("HTML report lacks {needle}");
        }
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("Sign-offs") || stdout.contains("not given to this run") {
        bail!("terminal report lacks the sign-offs:\n{stdout}");
    }
    Ok(())
}

/// The HTML report's shape without an HTML parser in the binary (the unit
/// tests parse it with html5ever): one document, closed, nothing fetched.
fn html_is_self_contained(page: &str) -> Result<&str> {
    if !page.starts_with("<!DOCTYPE html>") || !page.trim_end().ends_with("</html>") {
        bail!("the HTML report is not one whole document");
    }
    if page.contains("<script") || page.contains(" src=") || page.contains("<link") {
        bail!("the HTML report fetches or runs something");
    }
    Ok(page)
}

fn signoffs_one_missing(dir: &Path) -> Result<()> {
    let complete = std::fs::read_to_string(sandbox_signoffs())?;
    let file = dir.join("signoffs-missing.hcl");
    std::fs::write(&file, unsigned(&complete, "commercial")?)?;
    let json = dir.join("signoffs-missing.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--signoffs",
        &file.display().to_string(),
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 1)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("✗ MISSING Commercial") || !stdout.contains("verdict: NO-GO") {
        bail!("stdout does not name the missing sign-off:\n{stdout}");
    }
    let report = read_report(&json)?;
    let missing = report
        .signoffs
        .as_ref()
        .map(|s| s.missing_roles().join(","))
        .unwrap_or_default();
    if report.verdict != "no-go" || missing != "Commercial" || !report.automated_go() {
        bail!(
            "verdict {}, automated {}, missing {missing:?}",
            report.verdict,
            report.automated_verdict
        );
    }
    Ok(())
}

/// `text` with the sign-off `signoff "<label>"` declared but not given: its
/// `signed_by`, `date` and `evidence` lines removed.
fn unsigned(text: &str, label: &str) -> Result<String> {
    let block = text
        .find(&format!("signoff \"{label}\""))
        .with_context(|| format!("no block signoff \"{label}\""))?;
    let (head, tail) = text.split_at(block);
    let end = tail
        .find("\n}\n")
        .with_context(|| format!("signoff \"{label}\" is not closed"))?;
    let kept: Vec<&str> = tail[..end]
        .lines()
        .filter(|l| {
            let key = l.trim_start();
            !["signed_by", "date", "evidence"]
                .iter()
                .any(|k| key.starts_with(k))
        })
        .collect();
    Ok(format!("{head}{}{}", kept.join("\n"), &tail[end..]))
}

fn invalid_signoffs(dir: &Path) -> Result<()> {
    let file = dir.join("bad-signoffs.hcl");
    std::fs::write(
        &file,
        "signoff \"engineering\" {\n  role = \"Engineering\"\n  owner = \"Head of Engineering\"\n  confirms = \"x\"\n  signed_by = \"Ana\"\n  date = \"2026-02-30\"\n  evidence = \"https://wiki.example\"\n}\n",
    )?;
    let started = std::time::Instant::now();
    let out = xtask(&[
        "verify",
        "sandbox",
        "--signoffs",
        &file.display().to_string(),
    ])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("bad-signoffs.hcl:6:10:") || !stderr.contains("expected YYYY-MM-DD") {
        bail!("stderr lacks the sign-off's position and what was expected:\n{stderr}");
    }
    // Refused before anything is built or any check runs.
    if String::from_utf8_lossy(&out.stdout).contains("verdict:") {
        bail!("checks ran although the sign-offs file is invalid");
    }
    if started.elapsed() > std::time::Duration::from_secs(30) {
        bail!("took {:?}: was something built first?", started.elapsed());
    }
    Ok(())
}

fn drill_rds_failover(dir: &Path) -> Result<()> {
    let json = dir.join("drill.json");
    let svg = dir.join("drill.svg");
    let out = xtask(&[
        "drill",
        "rds-failover",
        "sandbox",
        "--yes",
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("svg={}", svg.display()),
    ])?;
    expect_exit(&out, 0)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "drill.rds_failover  PASS",
        "⚡",
        "✓ unavailability",
        "cleanup",
    ] {
        if !stdout.contains(needle) {
            bail!("the terminal report lacks {needle:?}:\n{stdout}");
        }
    }
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    if record["outcome"]["status"] != "pass"
        || record["timeline"]["probes"][0]["spans"]
            .as_array()
            .is_none_or(|s| s.len() < 3)
    {
        bail!("drill.json: {record}");
    }
    let svg = std::fs::read_to_string(&svg)?;
    if !svg.starts_with("<svg") || !svg.contains("fault") {
        bail!("drill.svg is not the timeline");
    }
    Ok(())
}

fn drill_pgbouncer_drain(dir: &Path) -> Result<()> {
    let record = drill_passes(
        dir,
        "pgbouncer-drain",
        &[
            "drill.pgbouncer_drain  PASS",
            "✓ failed_transactions",
            "0 failed",
        ],
    )?;
    if record["timeline"]["probes"]
        .as_array()
        .is_none_or(|p| p.is_empty())
    {
        bail!("the drain's record has no client traces: {record}");
    }
    Ok(())
}

/// The negative control: a task that dies at once cuts transactions in flight.
fn drill_pgbouncer_hard_stop(dir: &Path) -> Result<()> {
    negative_control(
        dir,
        "pgbouncer-hard-stop",
        "pgbouncer-drain",
        "✗ failed_transactions",
    )
}

fn drill_pitr_restore(dir: &Path) -> Result<()> {
    drill_passes(
        dir,
        "pitr-restore",
        &[
            "drill.pitr_restore  PASS",
            "marker A present, marker B absent",
            "scratch deleted",
        ],
    )
    .map(drop)
}

/// The negative control: a restore that ignores its target keeps marker B.
fn drill_pitr_ignores_target(dir: &Path) -> Result<()> {
    negative_control(
        dir,
        "rds-restore-ignores-target",
        "pitr-restore",
        "✗ marker_after_absent",
    )
}

/// `drill <drill> sandbox --yes` exits 0, its terminal report holds every
/// needle and its JSON and Markdown reports are written; the JSON record.
fn drill_passes(dir: &Path, drill: &str, needles: &[&str]) -> Result<serde_json::Value> {
    let json = dir.join(format!("{drill}.json"));
    let markdown = dir.join(format!("{drill}.md"));
    let out = xtask(&[
        "drill",
        drill,
        "sandbox",
        "--yes",
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("markdown={}", markdown.display()),
    ])?;
    expect_exit(&out, 0)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in needles {
        if !stdout.contains(needle) {
            bail!("the terminal report lacks {needle:?}:\n{stdout}");
        }
    }
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    if record["outcome"]["status"] != "pass" {
        bail!("{}: {record}", json.display());
    }
    if !std::fs::read_to_string(&markdown)?.contains(&format!("drill.{}", drill.replace('-', "_")))
    {
        bail!("{} does not name the drill", markdown.display());
    }
    Ok(record)
}

/// With the sandbox break `break_name`, `drill <drill>` exits 1 and its
/// terminal report shows `failed` (the assertion that caught it); the
/// sandbox is reset whatever happened.
fn negative_control(dir: &Path, break_name: &str, drill: &str, failed: &str) -> Result<()> {
    if !sandbox_quiet(&["break", break_name])? {
        bail!("sandbox break {break_name} failed");
    }
    let out = xtask(&[
        "drill",
        drill,
        "sandbox",
        "--yes",
        "--report",
        &format!(
            "json={}",
            dir.join(format!("{drill}-{break_name}.json")).display()
        ),
    ]);
    if !sandbox_quiet(&["reset"])? {
        bail!("sandbox reset failed after drill {drill} with {break_name}");
    }
    let out = out?;
    expect_exit(&out, 1)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains(failed) {
        bail!("drill {drill} with {break_name} did not fail on {failed:?}:\n{stdout}");
    }
    Ok(())
}

fn drill_cleanup() -> Result<()> {
    let out = xtask(&["drill", "cleanup", "sandbox"])?;
    expect_exit(&out, 0)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("no scratch instances left") {
        bail!("drill cleanup: {stdout}");
    }
    Ok(())
}

fn verify_after_drill(dir: &Path) -> Result<()> {
    let json = dir.join("after-drill.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 0)
}

fn drills_refuse() -> Result<()> {
    let out = xtask(&["drill", "rds-failover", "sandbox"])?;
    expect_exit(&out, 2)?;
    if !String::from_utf8_lossy(&out.stderr).contains("--yes") {
        bail!("no consent message");
    }
    let out = xtask(&[
        "drill",
        "rds-failover",
        "production",
        "--yes",
        "--terraform-outputs",
        "examples/production/outputs.json",
    ])?;
    expect_exit(&out, 2)?;
    if !String::from_utf8_lossy(&out.stderr).contains("does not allow drills") {
        bail!(
            "production drill not refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

// --- terraform.* end to end ----------------------------------------------------

const PLANS: &str = "fixtures/terraform/plans";

/// The seeded sandbox's `terraform show -json` state (written by `sandbox up`/`reset`).
fn seeded_state() -> std::path::PathBuf {
    target_dir()
        .join("sandbox")
        .join("terraform")
        .join("state.json")
}

/// The JSON report's entry for `id`.
fn check_in<'a>(report: &'a Report, id: &str) -> Result<&'a CheckOutcome> {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .with_context(|| format!("{id} missing from the report"))
}

fn terraform_go(dir: &Path) -> Result<()> {
    let json = dir.join("terraform-go.json");
    let state = seeded_state();
    let out = xtask(&[
        "verify",
        "sandbox",
        "--terraform-plan",
        &format!("{PLANS}/noop.json"),
        "--terraform-state",
        &state.display().to_string(),
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 0)?;
    let report = read_report(&json)?;
    for id in ["terraform.idempotent", "terraform.declared"] {
        let check = check_in(&report, id)?;
        if check.status != Status::Pass {
            bail!("{id}: {} {}", check.status.as_str(), check.message);
        }
    }
    let declared = check_in(&report, "terraform.declared")?;
    if !declared.message.contains("equal the live values") {
        bail!("terraform.declared: {}", declared.message);
    }
    Ok(())
}

fn terraform_changed_plan(dir: &Path) -> Result<()> {
    let json = dir.join("terraform-changed.json");
    let out = xtask(&[
        "verify",
        "sandbox",
        "--only",
        "terraform.*",
        "--terraform-plan",
        &format!("{PLANS}/replace_create_delete.json"),
        "--report",
        &format!("json={}", json.display()),
    ])?;
    expect_exit(&out, 1)?;
    let report = read_report(&json)?;
    let check = check_in(&report, "terraform.idempotent")?;
    if check.status != Status::Fail
        || !check
            .message
            .contains("module.app.terraform_data.x: replace (create, then delete)")
    {
        bail!(
            "terraform.idempotent: {} {}",
            check.status.as_str(),
            check.message
        );
    }
    Ok(())
}

fn terraform_drifted_live(dir: &Path) -> Result<()> {
    if !sandbox_quiet(&["break", "rds-single-az"])? {
        bail!("could not break the sandbox");
    }
    let result = (|| {
        let json = dir.join("terraform-drift.json");
        let state = seeded_state();
        let out = xtask(&[
            "verify",
            "sandbox",
            "--only",
            "terraform.declared",
            "--terraform-state",
            &state.display().to_string(),
            "--report",
            &format!("json={}", json.display()),
        ])?;
        expect_exit(&out, 1)?;
        let report = read_report(&json)?;
        let check = check_in(&report, "terraform.declared")?;
        if check.status != Status::Fail
            || !check.message.contains("aws_db_instance.")
            || !check.message.contains("multi_az: state true, live false")
        {
            bail!(
                "terraform.declared: {} {}",
                check.status.as_str(),
                check.message
            );
        }
        Ok(())
    })();
    if !sandbox_quiet(&["reset"])? {
        bail!("could not reset the sandbox");
    }
    result
}

fn terraform_unsupported_plan() -> Result<()> {
    let out = xtask(&[
        "verify",
        "sandbox",
        "--terraform-plan",
        &format!("{PLANS}/format_2_0.json"),
    ])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("format_2_0.json")
        || !stderr.contains("format_version \"2.0\" is not supported")
    {
        bail!("stderr lacks the file and the reason:\n{stderr}");
    }
    Ok(())
}

fn production_without_outputs() -> Result<()> {
    let out = xtask(&["verify", "production"])?;
    expect_exit(&out, 2)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("production.hcl:21:") || !stderr.contains("output.rds_identifier") {
        bail!("stderr lacks the position and the reference:\n{stderr}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The e2e "one missing" file, checked here without the sandbox.
    #[test]
    fn the_one_missing_signoffs_file_misses_only_commercial() {
        let complete = std::fs::read_to_string(sandbox_signoffs()).unwrap();
        let text = unsigned(&complete, "commercial").unwrap();
        let file = envspec::signoffs::parse(&text, Path::new("missing.hcl"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let today = envspec::signoffs::Date::parse("2026-11-23").unwrap();
        let judged = file.judge(today);
        let missing: Vec<&str> = judged
            .roles
            .iter()
            .filter(|(_, state)| !matches!(state, envspec::signoffs::RoleState::Given(_)))
            .map(|(role, _)| role.as_str())
            .collect();
        assert_eq!(missing, ["Commercial"]);
        assert!(unsigned(&complete, "nobody").is_err());
    }

    /// The e2e invalid file is refused at the position the scenario expects.
    #[test]
    fn the_invalid_signoffs_file_is_refused_where_the_scenario_says() {
        let text = "signoff \"engineering\" {\n  role = \"Engineering\"\n  owner = \"Head of Engineering\"\n  confirms = \"x\"\n  signed_by = \"Ana\"\n  date = \"2026-02-30\"\n  evidence = \"https://wiki.example\"\n}\n";
        let err = envspec::signoffs::parse(text, Path::new("/tmp/bad-signoffs.hcl"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad-signoffs.hcl:6:10:"), "{err}");
        assert!(err.contains("expected YYYY-MM-DD"), "{err}");
    }
}
