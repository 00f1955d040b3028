//! `verify drill KIND SPEC --yes`: drills change state, so they need
//! consent (`--yes`) and a spec that says `drills { allowed = true }`. A
//! drill runs in this process; SIGINT (Ctrl-C) and SIGTERM (a CI cancel)
//! reach it, and it cleans up, reports and exits 0 (every assertion held),
//! 1 (one failed) or 2 (could not run, or interrupted).
//!
//! `verify drill cleanup SPEC` deletes the scratch instances a crashed
//! `pitr-restore` left (only instances tagged `verify:drill = pitr_restore`).

use std::process::ExitCode;

use envspec::inputs::{TerraformFiles, absolute};
use verify::drill::{DrillError, DrillRecord, pgbouncer_drain, pitr_restore, rds_failover, render};
use verify::run::Target;
use verify::{Gate, Status};

use crate::flags::{Drill, DrillKind};
use crate::{CouldNotRun, write};

pub fn run(flags: &Drill) -> Result<ExitCode, CouldNotRun> {
    let kind = flags.drill;
    let cleanup = kind == DrillKind::Cleanup;
    if !flags.yes && !cleanup {
        return Err(CouldNotRun(format!(
            "refusing: drill {} changes state in '{}'. Re-run with --yes to consent.",
            kind.as_str(),
            flags.spec_name
        )));
    }
    let terraform = TerraformFiles::read(
        None,
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )
    .map_err(CouldNotRun::from)?;
    let file = envspec::resolve(&flags.spec_name, &flags.spec.spec_dir);
    let env = envspec::load_with(&file, terraform.outputs.as_ref()).map_err(CouldNotRun::from)?;
    if !env.drills.allowed && !cleanup {
        return Err(CouldNotRun(format!(
            "refusing: environment '{}' does not allow drills (set `drills {{ allowed = true }}` in {})",
            env.name,
            env.source.display()
        )));
    }
    let sandbox_state = absolute(&flags.spec.sandbox_state).map_err(CouldNotRun::from)?;
    let target = Target::new(env, &terraform, Some(&sandbox_state)).map_err(CouldNotRun::from)?;
    let result = crate::runtime()?.block_on(async {
        let gate = Gate::connect(target.env, target.connection).await;
        let identity = gate.confirm_identity().await.map_err(|e| e.to_string())?;
        eprintln!(
            "drill {} on '{}': account {} as {}",
            kind.as_str(),
            gate.env().name,
            identity.account,
            identity.arn
        );
        let run = match kind {
            DrillKind::RdsFailover => rds_failover::run(&gate, interrupted()).await,
            DrillKind::PgbouncerDrain => pgbouncer_drain::run(&gate, interrupted()).await,
            DrillKind::PitrRestore => pitr_restore::run(&gate, interrupted()).await,
            DrillKind::Cleanup => {
                let removed = pitr_restore::cleanup_leftovers(&gate)
                    .await
                    .map_err(|e| e.to_string())?;
                if removed.is_empty() {
                    outln!("no scratch instances left by a drill");
                }
                for id in &removed {
                    outln!("deleted scratch instance {id}");
                }
                return Ok(None);
            }
        };
        run.map(Some).map_err(|e: DrillError| e.to_string())
    });
    let record = match result {
        Ok(Some(record)) => record,
        Ok(None) => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(CouldNotRun(e)),
    };
    print(&record);
    for (format, path) in &flags.report {
        let text = match format.as_str() {
            "json" => record.to_json(&crate::tool()),
            "markdown" => markdown(&record),
            _ => render::svg(
                &record.timeline,
                &format!("{} on {}", record.outcome.id, record.environment),
            ),
        };
        write(&absolute(path).map_err(CouldNotRun::from)?, &text)?;
    }
    Ok(match record.outcome.status {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
        _ => ExitCode::from(2),
    })
}

/// Resolves with the signal's name at the first SIGINT (Ctrl-C) or SIGTERM
/// (a CI job cancelled); a signal that cannot be listened to never fires.
async fn interrupted() -> String {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let sigterm = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        result = tokio::signal::ctrl_c() => match result {
            Ok(()) => "Ctrl-C (SIGINT)".to_string(),
            Err(_) => std::future::pending().await,
        },
        () = sigterm => "SIGTERM".to_string(),
    }
}

fn print(record: &DrillRecord) {
    let o = &record.outcome;
    outln!(
        "\n{}  {}  {}",
        o.id,
        o.status.as_str().to_uppercase(),
        o.message
    );
    crate::out(&render::terminal(&record.timeline, 60));
    if let Some(assertions) = o
        .evidence
        .details
        .get("assertions")
        .and_then(|a| a.as_array())
    {
        for a in assertions {
            let mark = if a["holds"] == true { "✓" } else { "✗" };
            outln!(
                "  {mark} {}: expected {}, observed {}",
                a["name"].as_str().unwrap_or("?"),
                a["expected"],
                a["observed"]
            );
        }
    }
}

fn markdown(record: &DrillRecord) -> String {
    let o = &record.outcome;
    format!(
        "# {} on {}\n\n**{}**: {}\n\n{}",
        o.id,
        record.environment,
        o.status.as_str(),
        o.message,
        render::markdown(&record.timeline)
    )
}
