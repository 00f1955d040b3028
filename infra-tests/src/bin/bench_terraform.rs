//! `bench_terraform [--runs N]`: reading Terraform's JSON at the scale of a
//! large estate. `cargo xtask bench terraform` runs it.
//!
//! Generates (once, under `target/bench-terraform/`) a plan of about 50 MB
//! (`terraform show -json` shape: resource_changes with full before/after
//! objects, prior_state, planned_values) and a state of 20,000 resources
//! (nested modules, count/for_each addresses, a mix of compared and other
//! types). Each measured run is a child process that reads and judges one
//! file (`terraform.idempotent` on the plan; the state read of
//! `terraform.declared`, without the live reads) and reports its wall time
//! and peak resident memory (`VmHWM`). Goal: under 1 s and 200 MB each.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::json;

const PLAN_RESOURCES: usize = 13_000;
const STATE_RESOURCES: usize = 20_000;

/// Reading a generated plan and state at scale.
#[derive(clap::Parser)]
struct Args {
    /// Measured runs of each.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// (internal) read this plan once, in a child process of its own.
    #[arg(long, value_name = "FILE", hide = true)]
    child_plan: Option<PathBuf>,
    /// (internal) read this state once, in a child process of its own.
    #[arg(long, value_name = "FILE", hide = true)]
    child_state: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args: Args = clap::Parser::parse();
    if let Some(file) = &args.child_plan {
        return child_plan(file);
    }
    if let Some(file) = &args.child_state {
        return child_state(file);
    }
    let runs = args.runs;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-terraform");
    std::fs::create_dir_all(&dir)?;
    let plan = dir.join("plan.json");
    let state = dir.join("state.json");
    if !plan.exists() {
        generate_plan(&plan)?;
    }
    if !state.exists() {
        generate_state(&state)?;
    }
    let exe = std::env::current_exe()?;
    for (what, flag, file) in [
        ("plan  (terraform.idempotent)", "--child-plan", &plan),
        ("state (terraform.declared's read)", "--child-state", &state),
    ] {
        let size = std::fs::metadata(file)?.len();
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        for _ in 0..runs {
            let out = Command::new(&exe).arg(flag).arg(file).output()?;
            anyhow::ensure!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8(out.stdout)?;
            let v: serde_json::Value = serde_json::from_str(line.trim())?;
            times.push(v["ms"].as_f64().unwrap_or_default());
            peaks.push(v["peak_mb"].as_f64().unwrap_or_default());
        }
        times.sort_by(f64::total_cmp);
        peaks.sort_by(f64::total_cmp);
        println!(
            "{what}: {:.1} MB: median {:.0} ms (min {:.0}, max {:.0}), peak memory median {:.0} MB (max {:.0}), {runs} runs",
            size as f64 / 1e6,
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            peaks[peaks.len() / 2],
            peaks[peaks.len() - 1],
        );
    }
    Ok(())
}

fn child_plan(file: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let bytes = terraform_json::read(file)?;
    let plan = terraform_json::plan::Plan::parse(&bytes, file)?;
    // The generated plan's account and region, judged a minute after it was made.
    let env = verify::spec::parse(
        "environment = \"estate\"\nregion = \"eu-central-1\"\naccount_id = \"210987654321\"\n",
        "estate.hcl".as_ref(),
    )?;
    let now = plan
        .made_at()
        .ok_or_else(|| anyhow::anyhow!("the generated plan has a timestamp"))?
        + std::time::Duration::from_secs(60);
    let finding = verify::checks::judge_plan(&plan, file, &env, now)?;
    anyhow::ensure!(
        finding.status == verify::Status::Fail,
        "{}",
        finding.message
    );
    report(started)
}

fn child_state(file: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let summary = verify::checks::read_state(file)?;
    anyhow::ensure!(!summary.recorded.is_empty());
    report(started)
}

fn report(started: Instant) -> anyhow::Result<()> {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    println!("{}", json!({ "ms": ms, "peak_mb": peak_kb / 1024.0 }));
    Ok(())
}

/// An RDS-instance-sized object of attributes (~1.5 KB as JSON).
fn attributes(i: usize) -> serde_json::Value {
    json!({
        "id": format!("db-{i:06}"), "arn": format!("arn:aws:rds:eu-central-1:210987654321:db:db-{i:06}"),
        "identifier": format!("db-{i:06}"), "engine": "postgres", "engine_version": "16.4",
        "instance_class": "db.r6g.large", "multi_az": true, "storage_encrypted": true,
        "publicly_accessible": false, "deletion_protection": true, "backup_retention_period": 14,
        "allocated_storage": 100, "max_allocated_storage": 1000, "storage_type": "gp3",
        "availability_zone": "eu-central-1a", "db_subnet_group_name": "restartix-production",
        "vpc_security_group_ids": ["sg-0123456789abcdef0", "sg-0fedcba9876543210"],
        "parameter_group_name": "restartix-production-pg16", "port": 5432,
        "tags": { "Name": format!("db-{i:06}"), "env": "production", "team": "platform", "cost-center": "clinics" },
        "tags_all": { "Name": format!("db-{i:06}"), "env": "production", "team": "platform", "cost-center": "clinics" },
        "maintenance_window": "sun:02:00-sun:03:00", "backup_window": "01:00-01:30",
        "performance_insights_enabled": true, "monitoring_interval": 60,
        "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
        "ca_cert_identifier": "rds-ca-rsa2048-g1", "copy_tags_to_snapshot": true,
        "timeouts": null, "username": "restartix", "password": null,
    })
}

fn write(file: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    serde_json::to_writer(&mut out, value)?;
    out.flush()?;
    Ok(())
}

fn generate_plan(file: &Path) -> anyhow::Result<()> {
    let address = |i: usize| {
        format!(
            "module.estate[\"cell-{}\"].aws_db_instance.db[{}]",
            i / 100,
            i % 100
        )
    };
    let changes: Vec<serde_json::Value> = (0..PLAN_RESOURCES)
        .map(|i| {
            // One in a thousand changes: the check must find them all.
            let actions = if i % 1000 == 999 { json!(["update"]) } else { json!(["no-op"]) };
            json!({
                "address": address(i), "module_address": format!("module.estate[\"cell-{}\"]", i / 100),
                "mode": "managed", "type": "aws_db_instance", "name": "db", "index": i % 100,
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": { "actions": actions, "before": attributes(i), "after": attributes(i),
                            "after_unknown": {}, "before_sensitive": {"password": true}, "after_sensitive": {"password": true} }
            })
        })
        .collect();
    let resources: Vec<serde_json::Value> = (0..PLAN_RESOURCES)
        .map(|i| json!({ "address": address(i), "mode": "managed", "type": "aws_db_instance", "name": "db",
                         "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 2,
                         "values": attributes(i), "sensitive_values": {} }))
        .collect();
    let plan = json!({
        "format_version": "1.2", "terraform_version": "1.11.4", "timestamp": "2026-12-02T00:00:00Z",
        "planned_values": { "root_module": { "resources": resources } },
        "resource_changes": changes,
        "configuration": { "provider_config": {} },
        "applyable": true, "complete": true, "errored": false,
    });
    write(file, &plan)
}

fn generate_state(file: &Path) -> anyhow::Result<()> {
    let kinds = [
        "aws_security_group_rule",
        "aws_route53_record",
        "aws_iam_role_policy_attachment",
        "aws_db_instance",
        "aws_s3_bucket_policy",
    ];
    let modules: Vec<serde_json::Value> = (0..STATE_RESOURCES / 500)
        .map(|m| {
            let resources: Vec<serde_json::Value> = (0..500)
                .map(|r| {
                    let i = m * 500 + r;
                    let kind = kinds[i % kinds.len()];
                    json!({ "address": format!("module.cell[{m}].{kind}.this[\"r{r}\"]"), "mode": "managed",
                            "type": kind, "name": "this", "index": format!("r{r}"),
                            "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
                            "values": attributes(i), "sensitive_values": {} })
                })
                .collect();
            json!({ "address": format!("module.cell[{m}]"), "resources": resources,
                    "child_modules": [{ "address": format!("module.cell[{m}].module.inner"), "resources": [] }] })
        })
        .collect();
    let state = json!({
        "format_version": "1.0", "terraform_version": "1.11.4",
        "values": { "outputs": { "rds_identifier": { "sensitive": false, "type": "string", "value": "db-000000" } },
                    "root_module": { "resources": [], "child_modules": modules } }
    });
    write(file, &state)
}
