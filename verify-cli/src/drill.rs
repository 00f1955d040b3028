//! `verify drill KIND SPEC --yes`: drills change state, so they need
//! consent (`--yes`) and a spec that says `drills { allowed = true }`. A
//! drill runs in this process. Its SIGINT (Ctrl-C) and SIGTERM (a CI
//! cancel) handlers are installed before anything else: a signal before the
//! fault ends it with nothing injected, after it through its cleanup; it
//! reports and exits 0 (every assertion held), 1 (one failed) or 2 (could
//! not run, or interrupted).
//!
//! `verify drill cleanup SPEC --yes` deletes the scratch instances a crashed
//! `pitr-restore` left (only instances tagged `verify:drill = pitr_restore`,
//! never one whose `verify:deadline` is ahead: a live drill's).

use std::process::ExitCode;

use envspec::inputs::{TerraformFiles, absolute};
use tokio::signal::unix::{Signal, SignalKind, signal};
use verify::drill::{
    DrillError, DrillRecord, alarm_route, az_outage, leftovers, pgbouncer_drain, pitr_restore,
    rds_failover, render,
};
use verify::run::Target;
use verify::{Gate, RunSettings, Status};

use crate::flags::{Drill, DrillKind};
use crate::{CouldNotRun, write};

pub fn run(flags: &Drill) -> Result<ExitCode, CouldNotRun> {
    let kind = flags.drill;
    let cleanup = kind == DrillKind::Cleanup;
    if !flags.yes {
        return Err(CouldNotRun(if cleanup {
            format!(
                "refusing: drill cleanup deletes what drills left in '{}' (scratch instances, tables). Re-run with --yes to consent.",
                flags.spec_name
            )
        } else {
            format!(
                "refusing: drill {} changes state in '{}'. Re-run with --yes to consent.",
                kind.as_str(),
                flags.spec_name
            )
        }));
    }
    let runtime = crate::runtime()?;
    // The signal handlers before anything else: from here on SIGINT and
    // SIGTERM end a drill through its cleanup, never the process outright.
    let signals = if cleanup {
        None
    } else {
        Some(Signals::install(&runtime)?)
    };
    let terraform = TerraformFiles::read(
        None,
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )
    .map_err(CouldNotRun::from)?;
    let file = envspec::resolve(&flags.spec_name, &flags.spec.spec_dir);
    let env = envspec::load_with(&file, terraform.outputs.as_ref()).map_err(CouldNotRun::from)?;
    let secret_prefix = flags.secrets.secret_env_prefix.clone();
    envspec::secret_env::check(&env, &secret_prefix).map_err(CouldNotRun::from)?;
    if !env.drills.allowed && !cleanup {
        return Err(CouldNotRun(format!(
            "refusing: environment '{}' does not allow drills (set `drills {{ allowed = true }}` in {})",
            env.name,
            env.source.display()
        )));
    }
    let sandbox_state = absolute(&flags.spec.sandbox_state).map_err(CouldNotRun::from)?;
    let target = Target::new(env, &terraform, Some(&sandbox_state)).map_err(CouldNotRun::from)?;
    let result = runtime.block_on(async {
        let mut interrupt = std::pin::pin!(async {
            match signals {
                Some(signals) => signals.first().await,
                None => std::future::pending().await,
            }
        });
        let before_start =
            |why: String| format!("interrupted ({why}) before the drill started: nothing injected");
        let gate = tokio::select! {
            biased;
            why = interrupt.as_mut() => return Err(before_start(why)),
            gate = Gate::connect(target.env, target.connection) => gate.with_run(RunSettings {
                secret_prefix,
                allow_writes: flags.allow_writes,
                ..RunSettings::default()
            }),
        };
        let identity = tokio::select! {
            biased;
            why = interrupt.as_mut() => return Err(before_start(why)),
            identity = gate.confirm_identity() => identity.map_err(|e| e.to_string())?,
        };
        eprintln!(
            "drill {} on '{}': account {} as {}",
            kind.as_str(),
            gate.env().name,
            identity.account,
            identity.arn
        );
        let run = match kind {
            DrillKind::RdsFailover => rds_failover::run(&gate, interrupt).await,
            DrillKind::PgbouncerDrain => pgbouncer_drain::run(&gate, interrupt).await,
            DrillKind::PitrRestore => pitr_restore::run(&gate, interrupt).await,
            DrillKind::AlarmRoute => alarm_route::run(&gate, interrupt).await,
            DrillKind::AzOutage => az_outage::run(&gate, interrupt).await,
            DrillKind::Cleanup => {
                let leftovers = pitr_restore::cleanup_leftovers(&gate)
                    .await
                    .map_err(|e| e.to_string())?;
                if leftovers.deleted.is_empty() && leftovers.kept.is_empty() {
                    outln!("no scratch instances left by a drill");
                }
                for id in &leftovers.deleted {
                    outln!("deleted scratch instance {id}");
                }
                for (id, why) in &leftovers.kept {
                    outln!("kept scratch instance {id}: {why}");
                }
                let tables = leftovers::drop_expired_tables(&gate).await;
                if tables.dropped.is_empty() && tables.kept.is_empty() {
                    outln!("no tables left by a drill");
                }
                for table in &tables.dropped {
                    outln!("dropped table {table}");
                }
                for (table, why) in &tables.kept {
                    outln!("kept table {table}: {why}");
                }
                for (drill, why) in &tables.not_searched {
                    outln!("tables of {drill} not searched: {why}");
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

/// SIGINT and SIGTERM, listened to from the start of a drill. Once
/// installed they stay caught for the life of the process: a later signal
/// does not end it outright either (the drill's cleanup, bounded after the
/// first one by `verify::drill::CLEANUP_GRACE`, ends it).
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Installs both handlers; a drill is not run when either cannot be.
    fn install(runtime: &tokio::runtime::Runtime) -> Result<Signals, CouldNotRun> {
        let _entered = runtime.enter();
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| {
                CouldNotRun(format!(
                    "cannot listen for {name} ({e}): a drill that a cancel could not clean up after is not run"
                ))
            })
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
        })
    }

    /// The name of the first signal to come (one that came before this is
    /// awaited counts: the handlers kept it).
    async fn first(mut self) -> String {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT (Ctrl-C)".to_string(),
            _ = self.terminate.recv() => "SIGTERM".to_string(),
        }
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
