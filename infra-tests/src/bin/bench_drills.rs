//! `bench_drills [--runs N]`: how well the drills measure, and how long they
//! take, on the warm sandbox. `cargo xtask bench drills` runs it.
//!
//! 1. Accuracy: the data plane's endpoint is unavailable for a known 2.0 s,
//!    the database untouched, while the failover drill's reader probe
//!    samples every 50 ms (connect and statement bounds of 1 s); the
//!    measured unavailability against the outage the endpoint kept, N times
//!    each, and the median error (goal ±100 ms), for two kinds of outage:
//!    - refused (`POST /rds/outage`): connections cut, new ones refused (RST);
//!    - black hole (`POST /rds/black-hole`): nothing accepted (SYNs dropped),
//!      nothing forwarded on open connections, no RST, so the probe's
//!      requests hang until their bounds.
//! 2. Wall time of each drill (`rds_failover`, `pgbouncer_drain`,
//!    `pitr_restore`) on the good sandbox, and of the three together
//!    (goal: under 2 min, so CI runs them every time).

use std::time::{Duration, Instant};

use fixtures::{SandboxState, rds};
use infra_tests::{connection, load_for_run, runtime};
use serde_json::json;
use verify::Gate;
use verify::drill::probe::{self, ProbeTarget};
use verify::drill::{pgbouncer_drain, pitr_restore, rds_failover};

/// The known outage.
const OUTAGE: Duration = Duration::from_millis(2000);

/// The drills' measurement of a known outage, and each drill's wall time.
#[derive(clap::Parser)]
struct Args {
    /// Runs of the known outage.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

fn main() -> anyhow::Result<()> {
    let Args { runs } = clap::Parser::parse();
    let state = SandboxState::load()?.ok_or_else(|| anyhow::anyhow!("the sandbox is not up"))?;
    let rds_state = state
        .rds
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no RDS data plane"))?;
    let standins = state
        .standins
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no stand-ins"))?;
    let _sandbox = fixtures::sandbox::TestLock::changing()?;
    runtime().block_on(async {
        // The good state everywhere (moto's AZs and the data plane's agree).
        fixtures::sandbox::reset().await?;
        let second = Duration::from_secs(1);
        let target = ProbeTarget::from_url(
            &format!("{}?sslmode=disable", rds_state.probe_url),
            "probe_url",
            None,
            second,
            second,
            Duration::from_millis(50),
        )?;
        for (kind, path) in [
            ("refused connections (RST)", "/rds/outage"),
            ("a black hole (nothing accepted or forwarded, no RST)", "/rds/black-hole"),
        ] {
            println!(
                "known outage of {} ms on the RDS endpoint, {kind}, reader probe every 50 ms, {runs} runs:",
                OUTAGE.as_millis()
            );
            let mut errors = Vec::new();
            for run in 1..=runs.max(1) {
                let t0 = Instant::now();
                let reader = probe::start_reader(target.clone(), t0);
                tokio::time::sleep(second).await;
                let fault_ms = t0.elapsed().as_millis() as u64;
                let kept = fixtures::standins::control(
                    &standins,
                    "POST",
                    path,
                    Some(json!({ "ms": OUTAGE.as_millis() as u64 })),
                )
                .await?["outage_ms"]
                    .as_u64()
                    .ok_or_else(|| anyhow::anyhow!("POST {path}: no outage_ms"))?;
                tokio::time::sleep(second).await;
                let trace = reader.trace.clone();
                reader.stop().await;
                let trace = trace.lock().expect("trace");
                let measured = trace
                    .unavailable_after(fault_ms)
                    .map(|o| o.duration_ms())
                    .ok_or_else(|| anyhow::anyhow!("run {run}: the probe saw no outage"))?;
                let (samples, failed) = trace.counts();
                let error = measured as i64 - kept as i64;
                println!(
                    "  run {run}: endpoint down {kept} ms, probe measured {measured} ms, error {error:+} ms ({failed} of {samples} samples failed)"
                );
                errors.push(error);
            }
            errors.sort_by_key(|e| e.abs());
            let median = errors[errors.len() / 2];
            let worst = errors.last().copied().unwrap_or_default();
            println!(
                "  median |error| {} ms, worst {worst:+} ms (goal within ±100 ms): {}",
                median.abs(),
                if median.abs() <= 100 { "met" } else { "NOT met" }
            );
        }

        println!("\neach drill on the good sandbox:");
        let env = load_for_run("sandbox")?;
        let gate = Gate::connect(env.clone(), connection(&env)?).await;
        let mut total = Duration::ZERO;
        for name in ["rds_failover", "pgbouncer_drain", "pitr_restore"] {
            rds::wait_until_good(&rds_state, Duration::from_secs(60)).await?;
            let started = Instant::now();
            let fresh = gate.fresh();
            let record = match name {
                "rds_failover" => rds_failover::run(&fresh, std::future::pending()).await,
                "pgbouncer_drain" => pgbouncer_drain::run(&fresh, std::future::pending()).await,
                _ => pitr_restore::run(&fresh, std::future::pending()).await,
            }
            .map_err(|e| anyhow::anyhow!("drill.{name}: {e}"))?;
            let took = started.elapsed();
            total += took;
            println!(
                "  drill.{name:<16} {:<5} {:>6.1} s (timeline {:.1} s)",
                record.outcome.status.as_str(),
                took.as_secs_f64(),
                record.timeline.duration_ms as f64 / 1000.0
            );
        }
        println!(
            "  all three: {:.1} s (goal under 120 s): {}",
            total.as_secs_f64(),
            if total < Duration::from_secs(120) { "met" } else { "NOT met" }
        );
        fixtures::sandbox::reset().await?;
        Ok(())
    })
}
