//! `bench [--runs N]`: the gate on the warm sandbox, several times in one
//! process (fresh describe cache each run, as each `verify` has), then the
//! median wall time and the AWS calls per run. Also shows that checks on an
//! already-described resource add no call. `cargo xtask bench` runs it.

use std::time::{Duration, Instant};

use infra_tests::{connection, load_for_run, runtime};
use verify::{Gate, Selection};

/// The gate on the warm sandbox, several times.
#[derive(clap::Parser)]
struct Args {
    /// Measured runs (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    runs: usize,
}

fn main() -> anyhow::Result<()> {
    let Args { runs } = clap::Parser::parse();
    let env = load_for_run("sandbox")?;
    let connection = connection(&env)?;
    runtime().block_on(async {
        let gate = Gate::connect(env.clone(), connection.clone()).await;
        let all = Selection::all();
        // Warm-up: first call per moto service is slow (docs/moto.md).
        gate.run(&all, |_| {}).await;
        let mut times = Vec::new();
        let mut calls = Vec::new();
        for _ in 0..runs.max(1) {
            // Over an empty describe cache: every run reads afresh.
            let gate = gate.fresh();
            gate.aws().calls.reset();
            let started = Instant::now();
            // As every `verify` run: one sts:GetCallerIdentity before any check.
            gate.confirm_identity().await?;
            let outcomes = gate.run(&all, |_| {}).await;
            times.push(started.elapsed());
            let snapshot = gate.aws().calls.snapshot();
            anyhow::ensure!(
                outcomes
                    .iter()
                    .all(|o| !verify::verdict::blocks_go(o.status.as_str())),
                "the sandbox is not green: {outcomes:#?}"
            );
            calls.push(snapshot);
        }
        times.sort();
        let median = times[times.len() / 2];
        let checks = gate.checks().len();
        println!(
            "gate on the warm sandbox: {checks} checks, {} runs",
            times.len()
        );
        println!(
            "  wall time  median {}  min {}  max {}",
            ms(median),
            ms(times[0]),
            ms(*times.last().unwrap())
        );
        let last = calls.last().expect("at least one run");
        println!(
            "  AWS calls per run: {} operations, {} HTTP requests",
            last.total_operations(),
            last.requests
        );
        for (op, n) in &last.operations {
            println!("    {op:<45} {n}");
        }

        println!("\nadding checks on an already-described resource:");
        for only in [
            vec!["rds.available"],
            vec!["rds.available", "rds.multi_az"],
            vec![
                "rds.available",
                "rds.multi_az",
                "rds.encrypted",
                "rds.deletion_protection",
                "rds.backups",
            ],
        ] {
            let gate = gate.fresh();
            gate.aws().calls.reset();
            let selection =
                Selection::new(&only.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &[])?;
            gate.run(&selection, |_| {}).await;
            let c = gate.aws().calls.snapshot();
            println!(
                "  {} check(s) on rds instance '{}': {} AWS call(s)",
                only.len(),
                env.rds[0].identifier,
                c.total_operations()
            );
        }
        Ok(())
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
