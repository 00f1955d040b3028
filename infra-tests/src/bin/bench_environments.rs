//! `bench_environments --dir DIR [--environments N] [--jobs J] [--latency-ms L]`: N
//! environments in N fresh sandbox accounts, verified one after another and
//! then all at once (as `verify run e1 … eN` runs them: one process, one
//! runtime, the library's runner [`verify::run`]); prints both wall times and the
//! speed-up; then the same with every AWS call `L` ms longer (default 50,
//! the gap layer's model of AWS's round trip; moto alone answers in a few ms
//! of CPU, which bounds a concurrent run on this sandbox).
//! `cargo xtask bench environments` runs it.
//!
//! `--stand-in replay` (or `both`) measures the same against a stand-in whose
//! answers cost no CPU ([`infra_tests::replay`]): one environment's answers
//! recorded through a proxy in front of moto, then `N` copies of `sandbox.hcl`
//! (its account, another `environment` each) verified against a server
//! replaying them after `--latency-ms`. moto's CPU caps the first figure on 2
//! cores; the second is a model of AWS, where a call costs the caller
//! waiting, not CPU.
//!
//! Each account is seeded as the tests seed theirs (`fixtures::seed::seed`),
//! and its spec is `sandbox.hcl` with `environment`, `account_id` and
//! `aws { assume_role }` changed, written under `DIR/specs/`; every run
//! confirms its account through the assumed role before any check.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fixtures::{SandboxState, SeedTarget};
use infra_tests::replay::{Recorder, Replayer};
use infra_tests::{environments_dir, target};
use tokio::sync::Semaphore;
use verify::run::{Collected, DEFAULT_PER_ACCOUNT, Options, Target, run_to_end};

/// N sandbox environments, one after another and all at once.
#[derive(clap::Parser)]
struct Args {
    /// Where the specs are written.
    #[arg(long)]
    dir: PathBuf,
    /// How many environments (each in a fresh account).
    #[arg(long = "environments", default_value_t = 50)]
    n: usize,
    /// The concurrent run's global bound.
    #[arg(long, default_value_t = 16)]
    jobs: usize,
    /// A model of AWS's round trip for a second comparison (0: none), and
    /// the replayed stand-in's per-call latency.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// What answers the AWS calls: moto (with and without the latency
    /// model), the replayed recording, or both.
    #[arg(long, value_enum, default_value_t = StandIn::Both)]
    stand_in: StandIn,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StandIn {
    Moto,
    Replay,
    Both,
}

fn main() -> Result<()> {
    let Args {
        dir,
        n,
        jobs,
        latency_ms,
        stand_in,
    } = clap::Parser::parse();
    ensure!(n >= 1, "--environments must be at least 1");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("specs"))?;
    let state = SandboxState::load()?
        .context("the sandbox is not running: run `cargo xtask sandbox up`")?;
    let template = std::fs::read_to_string(environments_dir().join("sandbox.hcl"))?;

    infra_tests::runtime().block_on(async {
        if stand_in != StandIn::Moto {
            replayed(&template, &dir, n, jobs, latency_ms, &state).await?;
        }
        if stand_in == StandIn::Replay {
            return Ok(());
        }
        // N fresh accounts, seeded a few at a time.
        let started = Instant::now();
        let base = 900_000_000_000u64 + u64::from(std::process::id() % 100_000) * 1000;
        let seeding = Arc::new(Semaphore::new(8));
        let mut seeds = tokio::task::JoinSet::new();
        for i in 0..n {
            let target = SeedTarget {
                endpoint: state.aws_endpoint_url.clone(),
                account: (base + i as u64).to_string(),
            };
            let seeding = seeding.clone();
            seeds.spawn(async move {
                let _slot = seeding.acquire_owned().await.expect("never closed");
                Box::pin(fixtures::seed::seed(&target))
                    .await
                    .with_context(|| format!("seeding account {}", target.account))?;
                anyhow::Ok((i, target))
            });
        }
        let mut targets: Vec<Option<SeedTarget>> = (0..n).map(|_| None).collect();
        while let Some(seeded) = seeds.join_next().await {
            let (i, target) = seeded??;
            targets[i] = Some(target);
        }
        let mut specs = Vec::new();
        for (i, target) in targets.into_iter().enumerate() {
            let target = target.expect("seeded");
            let spec = spec_for(&template, &format!("bench-{i:02}"), &target)?;
            let path = dir.join("specs").join(format!("bench-{i:02}.hcl"));
            std::fs::write(&path, spec)?;
            specs.push(path.display().to_string());
        }
        println!(
            "{n} environments in {n} fresh sandbox accounts, seeded in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        // Warm-up: the first call per moto service is slow (docs/moto.md).
        let warm = Box::pin(run_to_end(
            vec![target(&specs[0])?],
            Options::default(),
            |_| {},
        ))
        .await;
        all_go(&specs[0], &warm[0])?;

        let moto = state
            .services
            .iter()
            .find(|s| s.name == "moto")
            .map(|s| s.pid);
        let targets = || specs.iter().map(|s| target(s)).collect::<Result<Vec<_>>>();
        let checks = compare(
            &specs,
            targets()?,
            (jobs, DEFAULT_PER_ACCOUNT),
            moto,
            "as moto answers",
        )
        .await?;
        if latency_ms > 0 {
            // AWS answers over a network: the same runs with every call
            // waiting `latency_ms` first (the gap layer's latency model).
            let _latency = Latency::set(&state.aws_endpoint_url, latency_ms)?;
            compare(
                &specs,
                targets()?,
                (jobs, DEFAULT_PER_ACCOUNT),
                moto,
                &format!("every AWS call {latency_ms} ms longer (a model of AWS's round trip)"),
            )
            .await?;
        }
        println!("every environment go in every run ({checks} checks each)");
        Ok(())
    })
}

/// One after another, then all at once, printed under `label`; the number of
/// checks each environment ran.
async fn compare(
    specs: &[String],
    targets: Vec<Target>,
    (jobs, per_account): (usize, usize),
    moto: Option<u32>,
    label: &str,
) -> Result<usize> {
    // One after another: each a whole gate run, as `verify run <spec>` runs it.
    let cpu = || moto.and_then(cpu_seconds);
    // The gate's own CPU (this process: the SDK, TLS, the runner).
    let own = || cpu_seconds(std::process::id());
    let own_at = own();
    let (cpu_at, started) = (cpu(), Instant::now());
    let mut each = Vec::new();
    for (spec, target) in specs.iter().zip(&targets) {
        let one = Instant::now();
        let run = Box::pin(run_to_end(vec![target.clone()], Options::default(), |_| {})).await;
        all_go(spec, &run[0])?;
        each.push(one.elapsed());
    }
    let sequential = started.elapsed();
    let moto_sequential = cpu().zip(cpu_at).map(|(b, a)| b - a);

    // All at once, bounded as `verify --jobs J --per-account P`.
    let (cpu_at, started) = (cpu(), Instant::now());
    let options = Options {
        jobs,
        per_account,
        ..Options::default()
    };
    let runs = Box::pin(run_to_end(targets, options, |_| {})).await;
    let concurrent = started.elapsed();
    let moto_concurrent = cpu().zip(cpu_at).map(|(b, a)| b - a);
    let own_total = own().zip(own_at).map(|(b, a)| b - a);
    for (spec, run) in specs.iter().zip(&runs) {
        all_go(spec, run)?;
    }
    each.sort();
    println!("{label}:");
    println!(
        "  one after another  {}  (per environment: median {}, min {}, max {})",
        secs(sequential),
        secs(each[each.len() / 2]),
        secs(each[0]),
        secs(*each.last().expect("one"))
    );
    println!(
        "  all at once        {}  (--jobs {jobs}, --per-account {per_account})",
        secs(concurrent)
    );
    println!(
        "  speed-up           {:.1}×",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );
    // moto is one Python process: its CPU time bounds the concurrent run.
    if let (Some(s), Some(c)) = (moto_sequential, moto_concurrent) {
        println!(
            "  moto CPU time      {s:.2} s one after another, {c:.2} s all at once \
             ({:.0} % and {:.0} % of the wall time)",
            100.0 * s / sequential.as_secs_f64(),
            100.0 * c / concurrent.as_secs_f64()
        );
    }
    if let Some(own) = own_total {
        println!(
            "  the gate's CPU     {own:.2} s in this process for both runs (a debug build; \
             it bounds the concurrent run on 2 cores)"
        );
    }
    Ok(runs[0].outcomes.len())
}

/// N copies of `sandbox.hcl` against recorded answers replayed after
/// `latency_ms` (a stand-in whose answers cost no CPU).
async fn replayed(
    template: &str,
    dir: &std::path::Path,
    n: usize,
    jobs: usize,
    latency_ms: u64,
    state: &SandboxState,
) -> Result<()> {
    let mut specs = Vec::new();
    for i in 0..n {
        let name = format!("replay-{i:02}");
        let spec = template.replacen(
            "environment = \"sandbox\"",
            &format!("environment = \"{name}\""),
            1,
        );
        ensure!(
            spec != template,
            "sandbox.hcl no longer has its environment line"
        );
        let path = dir.join("specs").join(format!("{name}.hcl"));
        std::fs::write(&path, spec)?;
        specs.push(path.display().to_string());
    }
    let at = |spec: &str, url: &str| -> Result<Target> {
        let mut t = target(spec)?;
        t.connection.access.endpoint = Some(url.to_string());
        Ok(t)
    };
    // Record: one environment, twice (the second run finds nothing new when
    // the first saw every request a run makes).
    let recorder = Recorder::start(&state.aws_endpoint_url).await?;
    for _ in 0..2 {
        let run = Box::pin(run_to_end(
            vec![at(&specs[0], recorder.url())?],
            Options::default(),
            |_| {},
        ))
        .await;
        all_go(&specs[0], &run[0])?;
    }
    let recording = recorder.recording();
    drop(recorder);
    let replayer = Replayer::start(recording.clone(), Duration::from_millis(latency_ms)).await?;
    let targets = specs
        .iter()
        .map(|s| at(s, replayer.url()))
        .collect::<Result<Vec<_>>>()?;
    // The copies share the recorded account, where the moto figure has one
    // account each: the per-account bound is lifted to the global one so
    // both compare N accounts' worth of concurrency.
    compare(
        &specs,
        targets,
        (jobs, jobs),
        None,
        &format!(
            "recorded answers replayed after {latency_ms} ms each, no CPU per answer \
             ({} distinct requests recorded; a model of AWS, not a measurement of it)",
            recording.len()
        ),
    )
    .await?;
    println!(
        "  replayed calls     {} ({} matched nothing recorded)",
        replayer.calls(),
        replayer.misses()
    );
    ensure!(
        replayer.misses() == 0,
        "the replayed stand-in missed requests"
    );
    Ok(())
}

/// The gap layer's latency model on for as long as this lives (off again on
/// every exit path).
struct Latency {
    endpoint: String,
}

impl Latency {
    fn set(endpoint: &str, ms: u64) -> Result<Latency> {
        post_latency(endpoint, ms)?;
        Ok(Latency {
            endpoint: endpoint.to_string(),
        })
    }
}

impl Drop for Latency {
    fn drop(&mut self) {
        if let Err(e) = post_latency(&self.endpoint, 0) {
            eprintln!("could not turn the sandbox latency model off: {e:#}");
        }
    }
}

/// `POST /sandbox-api/latency?ms=N` to moto (plain HTTP/1.0 on loopback).
fn post_latency(endpoint: &str, ms: u64) -> Result<()> {
    use std::io::{Read, Write};
    let address = endpoint
        .strip_prefix("http://")
        .context("the sandbox endpoint is http://")?
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST /sandbox-api/latency?ms={ms} HTTP/1.0\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    ensure!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "moto answered {answer:?}"
    );
    Ok(())
}

/// `sandbox.hcl` as environment `name` in `target`'s account, reached through its role.
fn spec_for(template: &str, name: &str, target: &SeedTarget) -> Result<String> {
    let role = target.role_arn().context("a fresh account has a role")?;
    let replace = |text: &str, from: &str, to: &str| -> Result<String> {
        ensure!(text.contains(from), "sandbox.hcl no longer has {from:?}");
        Ok(text.replacen(from, to, 1))
    };
    let spec = replace(
        template,
        "environment = \"sandbox\"",
        &format!("environment = \"{name}\""),
    )?;
    let spec = replace(
        &spec,
        "account_id  = \"123456789012\"",
        &format!("account_id  = \"{}\"", target.account),
    )?;
    replace(
        &spec,
        "  sandbox         = true\n",
        &format!("  sandbox         = true\n  assume_role     = \"{role}\"\n"),
    )
}

fn all_go(spec: &str, run: &Collected) -> Result<()> {
    if let Some(e) = &run.could_not_run {
        bail!("{spec} could not run: {e}");
    }
    let blocking: Vec<String> = run
        .outcomes
        .iter()
        .filter(|o| o.status.blocks_go())
        .map(|o| format!("{} {}: {}", o.id, o.status.as_str(), o.message))
        .collect();
    ensure!(
        blocking.is_empty(),
        "{spec} is not go:\n{}",
        blocking.join("\n")
    );
    Ok(())
}

/// A process's user + system CPU seconds (`/proc/<pid>/stat`, at 100 ticks a second).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
