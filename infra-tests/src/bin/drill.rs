//! `drill <kind> <env> [--report FORMAT=PATH]…`: runs one drill and reports
//! it. `cargo xtask drill` asks for consent, builds, and becomes this process
//! (exec), so Ctrl-C reaches the drill, which cleans up before it exits.
//!
//! Exit: 0 every assertion held, 1 one failed, 2 could not run (including
//! interrupted). Reports: `json=` (the [`DrillRecord`]), `markdown=`, `svg=`.

use std::path::PathBuf;
use std::process::ExitCode;

use infra_tests::{connection, load_for_run, runtime};
use verify::drill::{DrillError, DrillRecord, pgbouncer_drain, pitr_restore, rds_failover, render};
use verify::{Gate, Status};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(kind), Some(env_name)) = (args.first(), args.get(1)) else {
        eprintln!(
            "usage: drill <rds-failover|pgbouncer-drain> <env> [--report json|markdown|svg=PATH]…"
        );
        return ExitCode::from(2);
    };
    let mut reports = Vec::new();
    let mut rest = args[2..].iter();
    while let Some(arg) = rest.next() {
        let value = match arg.as_str() {
            "--report" => rest.next().cloned(),
            other => other.strip_prefix("--report=").map(String::from),
        };
        match value.as_deref().and_then(|v| v.split_once('=')) {
            Some((format @ ("json" | "markdown" | "svg"), path)) => {
                reports.push((format.to_string(), PathBuf::from(path)))
            }
            _ => {
                eprintln!(
                    "error: unknown argument {arg:?} (expected --report json|markdown|svg=PATH)"
                );
                return ExitCode::from(2);
            }
        }
    }

    let result = runtime().block_on(async {
        let env = load_for_run(env_name).map_err(|e| format!("{e:#}"))?;
        let connection = connection(&env).map_err(|e| format!("{e:#}"))?;
        let gate = Gate::connect(env, connection).await;
        let identity = gate.confirm_identity().await.map_err(|e| e.to_string())?;
        eprintln!(
            "drill {kind} on '{}': account {} as {}",
            gate.env().name,
            identity.account,
            identity.arn
        );
        let interrupt = async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C".to_string(),
                Err(_) => std::future::pending().await,
            }
        };
        let run = match kind.as_str() {
            "rds-failover" => rds_failover::run(&gate, interrupt).await,
            "pgbouncer-drain" => pgbouncer_drain::run(&gate, interrupt).await,
            "pitr-restore" => pitr_restore::run(&gate, interrupt).await,
            "cleanup" => {
                let removed = pitr_restore::cleanup_leftovers(&gate)
                    .await
                    .map_err(|e| e.to_string())?;
                if removed.is_empty() {
                    println!("no scratch instances left by a drill");
                }
                for id in &removed {
                    println!("deleted scratch instance {id}");
                }
                return Ok(None);
            }
            other => {
                return Err(format!(
                    "unknown drill {other:?} (known: rds-failover, pgbouncer-drain, pitr-restore, cleanup)"
                ));
            }
        };
        run.map(Some).map_err(|e: DrillError| e.to_string())
    });
    let record = match result {
        Ok(Some(record)) => record,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    print(&record);
    for (format, path) in &reports {
        let text = match format.as_str() {
            "json" => serde_json::to_string_pretty(&record).expect("record serialises"),
            "markdown" => markdown(&record),
            _ => render::svg(
                &record.timeline,
                &format!("{} on {}", record.outcome.id, record.environment),
            ),
        };
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    match record.outcome.status {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
        _ => ExitCode::from(2),
    }
}

fn print(record: &DrillRecord) {
    let o = &record.outcome;
    println!(
        "\n{}  {}  {}",
        o.id,
        o.status.as_str().to_uppercase(),
        o.message
    );
    print!("{}", render::terminal(&record.timeline, 60));
    if let Some(assertions) = o
        .evidence
        .details
        .get("assertions")
        .and_then(|a| a.as_array())
    {
        for a in assertions {
            let mark = if a["holds"] == true { "✓" } else { "✗" };
            println!(
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
