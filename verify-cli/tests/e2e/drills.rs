//! The drills against the sandbox, as `verify drill <drill> sandbox --yes`:
//! each passes on the good sandbox, and fails on its negative control (a
//! sandbox break) naming the assertion that caught it; a stop alarm in
//! ALARM or missing refuses it with nothing injected; SIGTERM (and a GitHub
//! Actions cancel) at a chosen phase, the binary running as a child
//! process, is cleaned up after within the grace; `drill cleanup --yes`
//! leaves a live drill's scratch instance. Each holds the sandbox alone; a
//! break is reset however the test ends. Refusals (no
//! `--yes`, drills not allowed) are `cli.rs`'s
//! `a_drill_refuses_without_consent_and_where_drills_are_not_allowed`; a
//! failover drill whose probes would not reach the instance's endpoint
//! exits 2 here, before anything is injected.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use super::*;

/// `verify drill <drill> sandbox --yes <extra>…` from `dir`.
fn drill(dir: &Path, drill: &str, extra: &[&str]) -> Output {
    verify_sandbox(dir, "drill")
        .args([drill, "sandbox", "--yes"])
        .args(extra)
        .output()
        .unwrap()
}

/// `verify run sandbox` is go (the sandbox was left, or made, good again).
#[track_caller]
fn assert_sandbox_go(dir: &Path) {
    let json = dir.join("after-drill.json");
    let out = verify_sandbox_run(dir, &["--report", &report_arg("json", &json)]);
    assert_exit(&out, 0);
}

#[track_caller]
fn assert_stdout_holds(out: &Output, needles: &[&str]) {
    let stdout = stdout(out);
    for needle in needles {
        assert!(
            stdout.contains(needle),
            "the terminal report lacks {needle:?}:\n{}",
            text(out)
        );
    }
}

/// `drill <name> sandbox --yes` exits 0, its terminal report holds every
/// needle and its JSON and Markdown reports are written; the JSON record.
#[track_caller]
fn assert_drill_passes(dir: &Path, name: &str, needles: &[&str]) -> Value {
    let json = dir.join(format!("{name}.json"));
    let markdown = dir.join(format!("{name}.md"));
    let out = drill(
        dir,
        name,
        &[
            "--report",
            &report_arg("json", &json),
            "--report",
            &report_arg("markdown", &markdown),
        ],
    );
    assert_exit(&out, 0);
    assert_stdout_holds(&out, needles);
    let record = assert_schema(&json, "drill-record.schema.json");
    assert_eq!(
        record["outcome"]["status"],
        "pass",
        "{}: {record}",
        json.display()
    );
    let id = format!("drill.{}", name.replace('-', "_"));
    assert!(
        std::fs::read_to_string(&markdown).unwrap().contains(&id),
        "{} does not name the drill",
        markdown.display()
    );
    record
}

/// With the sandbox break `break_name`, `drill <name>` exits 1 and its
/// terminal report shows `failed` (the assertion that caught it). The
/// broken sandbox, still held, is reset when the returned guard goes.
#[track_caller]
fn assert_drill_fails_when_broken(break_name: &str, name: &str, failed: &str) -> Changed {
    let broken = Changed::broken(&[break_name]);
    let dir = scratch(&format!("e2e-{name}-{break_name}"));
    let json = dir.join(format!("{name}-{break_name}.json"));
    let out = drill(&dir, name, &["--report", &report_arg("json", &json)]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains(failed),
        "drill {name} with {break_name} did not fail on {failed:?}:\n{}",
        text(&out)
    );
    broken
}

#[test]
fn rds_failover_passes_with_its_timeline_on_the_terminal_in_json_and_svg_and_leaves_the_sandbox_go()
{
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-rds-failover");
    let json = dir.join("drill.json");
    let svg = dir.join("drill.svg");
    let out = drill(
        &dir,
        "rds-failover",
        &[
            "--report",
            &report_arg("json", &json),
            "--report",
            &report_arg("svg", &svg),
        ],
    );
    assert_exit(&out, 0);
    assert_stdout_holds(
        &out,
        &[
            "drill.rds_failover  PASS",
            "⚡",
            "✓ unavailability",
            "cleanup",
        ],
    );
    let record = common::json(&json);
    assert!(
        record["outcome"]["status"] == "pass"
            && record["timeline"]["probes"][0]["spans"]
                .as_array()
                .is_some_and(|s| s.len() >= 3),
        "drill.json: {record}"
    );
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("fault"),
        "drill.svg is not the timeline"
    );
    assert_sandbox_go(&dir);
}

#[test]
fn rds_failover_with_an_async_standby_fails_on_lost_acknowledged_writes_and_a_reset_makes_the_sandbox_go()
 {
    let mut broken = assert_drill_fails_when_broken(
        "rds-async-standby",
        "rds-failover",
        "✗ acknowledged_writes_kept",
    );
    broken.reset();
    assert_sandbox_go(&scratch("e2e-after-reset"));
}

#[test]
fn pgbouncer_drain_passes_with_zero_failed_transactions() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-pgbouncer-drain");
    let record = assert_drill_passes(
        &dir,
        "pgbouncer-drain",
        &[
            "drill.pgbouncer_drain  PASS",
            "✓ failed_transactions",
            "0 failed",
        ],
    );
    assert!(
        record["timeline"]["probes"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "the drain's record has no client traces: {record}"
    );
    // A client was on the task it stopped, as the database saw it.
    let touched = record["outcome"]["evidence"]["assertions"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "clients_on_stopped_task"))
        .unwrap_or_else(|| panic!("no clients_on_stopped_task: {record}"));
    assert!(
        touched["holds"] == true
            && touched["observed"]["clients"]
                .as_array()
                .is_some_and(|c| !c.is_empty()),
        "{touched}"
    );
}

/// The negative control: a task that dies at once cuts transactions in flight.
#[test]
fn pgbouncer_drain_with_a_hard_stop_fails_on_the_failed_transactions() {
    let _broken = assert_drill_fails_when_broken(
        "pgbouncer-hard-stop",
        "pgbouncer-drain",
        "✗ failed_transactions",
    );
}

/// Every client on the task in eu-central-1b (an NLB with cross-zone
/// balancing off), the drill pinned to the idle task in eu-central-1a
/// (`stop_az`), under an image that dies at once: no transaction fails, and
/// still no pass: exit 2, "the fault touched no client", the database's view
/// of where the clients were in the report.
#[test]
fn pgbouncer_drain_stopping_a_task_no_client_is_on_exits_2_the_fault_touched_no_client() {
    let _broken = Changed::broken(&["pgbouncer-lb-one-zone", "pgbouncer-hard-stop"]);
    let dir = scratch("e2e-pgbouncer-drain-untouched");
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let block = "  pgbouncer_drain {\n";
    assert!(
        spec.contains(block),
        "the sandbox spec has a pgbouncer_drain block"
    );
    let pinned = dir.join("sandbox-stop-az.hcl");
    std::fs::write(
        &pinned,
        spec.replacen(
            block,
            &format!("{block}    stop_az = \"eu-central-1a\"\n"),
            1,
        ),
    )
    .unwrap();
    let json = dir.join("untouched.json");
    let out = verify_sandbox(&dir, "drill")
        .args(["pgbouncer-drain", pinned.to_str().unwrap(), "--yes"])
        .args(["--report", &report_arg("json", &json)])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert_stdout_holds(
        &out,
        &[
            "drill.pgbouncer_drain  ERROR  the fault touched no client: no workload client was on the stopped task (127.0.1.",
            "the clients' latest transactions came from 127.0.2.",
            "✓ failed_transactions",
            "✗ clients_on_stopped_task",
            "0 clients on it",
        ],
    );
    let record = assert_schema(&json, "drill-record.schema.json");
    assert_eq!(record["outcome"]["status"], "error", "{record}");
}

#[test]
fn pitr_restore_passes_with_marker_a_present_marker_b_absent_and_the_scratch_deleted() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-pitr-restore");
    assert_drill_passes(
        &dir,
        "pitr-restore",
        &[
            "drill.pitr_restore  PASS",
            "marker A present, marker B absent",
            "scratch deleted",
        ],
    );
}

/// The negative control: a restore that ignores its target keeps marker B.
#[test]
fn pitr_restore_that_ignores_its_target_fails_on_marker_b() {
    let _broken = assert_drill_fails_when_broken(
        "rds-restore-ignores-target",
        "pitr-restore",
        "✗ marker_after_absent",
    );
}

/// The synthetic incident: the test alarm set to ALARM, its notification
/// seen in the topic's delivery-status log, the alarm put back.
#[test]
fn alarm_route_passes_with_the_delivery_latency_and_the_alarm_put_back() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-alarm-route");
    let record = assert_drill_passes(
        &dir,
        "alarm-route",
        &["✓ delivered", "✓ within_bound", "✓ alarm_restored"],
    );
    // Each proof's latency, from the call to the delivery it saw.
    let latency = &record["outcome"]["evidence"]["latency_ms"];
    assert!(
        latency
            .as_object()
            .is_some_and(|proofs| !proofs.is_empty() && proofs.values().all(Value::is_u64)),
        "{record}"
    );
    assert_sandbox_go(&dir);
}

/// The negative control: a route that fails to deliver fails the drill.
#[test]
fn alarm_route_whose_delivery_fails_fails_on_delivered() {
    let _broken =
        assert_drill_fails_when_broken("alarm-route-delivery-fails", "alarm-route", "✗ delivered");
}

/// An alarm with an EC2 action is refused (exit 2): SetAlarmState would run it.
#[test]
fn alarm_route_refuses_an_alarm_with_a_non_sns_action() {
    let _broken = Changed::broken(&["alarm-route-ec2-action"]);
    let dir = scratch("e2e-alarm-route-ec2");
    let out = drill(&dir, "alarm-route", &[]);
    assert_exit(&out, 2);
    assert!(
        text(&out).contains("arn:aws:automate:"),
        "the refusal names the action:\n{}",
        text(&out)
    );
}

/// `cleanup` deletes only what a crashed restore left (tagged scratch
/// instances): held alone, so no restore is running meanwhile.
#[test]
fn drill_cleanup_finds_no_scratch_instances_left() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-drill-cleanup");
    let out = verify_sandbox(&dir, "drill")
        .args(["cleanup", "sandbox", "--yes"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("no scratch instances left"),
        "drill cleanup: {}",
        text(&out)
    );
}

/// `drill rds-failover` with the probes' URL on the primary's own port (a
/// working Postgres, not the instance's endpoint): exit 2 naming both, no
/// password, nothing injected (the data plane's primary where it was).
#[test]
fn rds_failover_refuses_a_probe_url_that_is_not_the_instance_s_endpoint() {
    let _sandbox = reading_sandbox();
    let state = running_sandbox();
    let rds = state
        .rds
        .clone()
        .expect("the sandbox has an RDS data plane");
    let member = rds.members[0].port;
    let dir = scratch("e2e-rds-failover-wrong-endpoint");
    // The sandbox's state as `verify` reads it, the probes' URL pointed at
    // the member: what a spec's URL naming the primary's host would do.
    let mut copy = json(&sandbox_state());
    let url = copy["endpoints"]["rds_probe_url"]
        .as_str()
        .expect("endpoints.rds_probe_url")
        .to_string();
    copy["endpoints"]["rds_probe_url"] = Value::String(verify::drill::probe::with_host_port(
        &url,
        "127.0.0.1",
        member,
    ));
    let state_file = dir.join("state.json");
    std::fs::write(&state_file, serde_json::to_string(&copy).unwrap()).unwrap();
    let primary_before = block_on(fixtures::rds::status(&rds))
        .expect("GET /rds")
        .primary_az;

    let out = verify()
        .current_dir(&dir)
        .args(["drill", "rds-failover", "sandbox", "--yes", "--spec-dir"])
        .arg(specs())
        .arg("--sandbox-state")
        .arg(&state_file)
        .env("VERIFY_SECRET_SANDBOX_CANARY_PASSWORD", canary_password())
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let all = text(&out);
    for needle in [
        format!("connects to 127.0.0.1:{member}"),
        format!(
            "not rds instance 'restartix-sandbox''s endpoint ({})",
            rds.endpoint
        ),
        "proxy_endpoint".to_string(),
        "Nothing was injected".to_string(),
    ] {
        assert!(all.contains(&needle), "lacks {needle:?}:\n{all}");
    }
    assert!(!all.contains(fixtures::rds::MASTER_PASSWORD), "{all}");
    let after = block_on(fixtures::rds::status(&rds)).expect("GET /rds");
    assert_eq!(
        after.primary_az, primary_before,
        "nothing failed over: {after:?}"
    );
}

// --- Safe before the fault, clean after it: the binary as a CI job runs it.

/// The sandbox's stop alarm (its spec's `stop_alarms`).
const STOP_ALARM: &str = "restartix-sandbox-core-api-5xx";

/// How long after a signal the drill may take to clean up and exit
/// (`verify::drill::CLEANUP_GRACE`, plus the probes stopping and the report).
const EXIT_AFTER_SIGNAL: Duration = Duration::from_secs(7);

/// A drill running as a child process, as a CI job runs it: stderr and
/// stdout read as they come, so a test can wait for a phase and signal it.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// `verify drill <drill> sandbox --yes` from `dir`, with its JSON report
    /// at `dir/drill.json` (returned).
    fn drill(dir: &Path, drill: &str) -> (Running, std::path::PathBuf) {
        let json = dir.join("drill.json");
        let running = Running::start(
            dir,
            &[
                drill,
                "sandbox",
                "--yes",
                "--report",
                &report_arg("json", &json),
            ],
        );
        (running, json)
    }

    /// `verify drill <args>` from `dir`, against the sandbox.
    fn start(dir: &Path, args: &[&str]) -> Running {
        let mut child = verify_sandbox(dir, "drill")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap());
        let sink = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let mut out = child.stdout.take().unwrap();
        let sink = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            sink.lock().unwrap().extend(bytes);
        });
        Running {
            child,
            stderr,
            stdout,
            readers: vec![err_reader, out_reader],
        }
    }

    /// Polls `ready` (given the stderr so far) every 10 ms until it holds;
    /// panics naming `phase` when the drill exits first or `within` passes.
    fn wait_for(&mut self, phase: &str, within: Duration, mut ready: impl FnMut(&str) -> bool) {
        let started = Instant::now();
        loop {
            let stderr = self.stderr.lock().unwrap().clone();
            if ready(&stderr) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // What it said last, once the readers have it.
                std::thread::sleep(Duration::from_millis(200));
                let stderr = self.stderr.lock().unwrap().clone();
                let stdout = String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned();
                panic!("the drill exited ({status}) before {phase}:\n{stdout}\n{stderr}");
            }
            assert!(
                started.elapsed() < within,
                "not {phase} within {within:?}:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` to the drill; when it was sent.
    fn signal(&self, signal: Signal) -> Instant {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
        Instant::now()
    }

    /// Whether it has exited.
    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Waits for the drill to exit; its output.
    fn finish(mut self) -> Output {
        let status = self.child.wait().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let stdout = std::mem::take(&mut *self.stdout.lock().unwrap());
        let stderr = self.stderr.lock().unwrap().clone().into_bytes();
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

/// The running sandbox's data plane now (`GET /rds` on its control API).
fn rds_status() -> fixtures::rds::RdsStatus {
    let rds = running_sandbox()
        .rds
        .expect("the sandbox has an RDS data plane");
    block_on(fixtures::rds::status(&rds)).expect("GET /rds")
}

/// The pgbouncer stand-ins now (`GET /pgbouncer`): each task's name and
/// live pid, and how many backends the balancer has registered.
fn pgbouncer_status() -> (Vec<(String, Option<u64>)>, usize) {
    let standins = running_sandbox().standins.expect("stand-ins");
    let status = block_on(fixtures::standins::control(
        &standins,
        "GET",
        "/pgbouncer",
        None,
    ))
    .expect("GET /pgbouncer");
    let tasks = status["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| (t["name"].to_string(), t["pid"].as_u64()))
        .collect();
    let registered = status["registered"].as_array().map_or(0, Vec::len);
    (tasks, registered)
}

/// The drills' tables (`verify_drill_…`, `verify_drain_…`, `verify_pitr_…`)
/// in the sandbox's database now.
fn drill_tables() -> Vec<String> {
    let url = running_sandbox().rds.expect("rds").probe_url;
    block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect to the sandbox's database");
        tokio::spawn(connection);
        client
            .query(
                "SELECT tablename::text FROM pg_tables WHERE tablename ~ '^verify_(drill|drain|pitr)_'",
                &[],
            )
            .await
            .expect("pg_tables")
            .iter()
            .map(|r| r.get(0))
            .collect()
    })
}

/// Polls `done` every 50 ms for up to `within`; whether it held.
fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// `at_ms` of the first mark of `record`'s timeline whose label starts with `prefix`.
#[track_caller]
/// The drill's table (`<prefix>…`) was dropped within the 5 s grace after
/// the drill saw `signal`, and no drill table is left: how long it took.
fn dropped_within_grace(record: &Value, prefix: &str, signal: &str, what: &str) -> u64 {
    let dropped = mark_at(record, &format!("dropped {prefix}"))
        - mark_at(record, &format!("interrupted: {signal}"));
    assert!(dropped < 5_000, "{dropped} ms");
    assert_eq!(
        drill_tables(),
        Vec::<String>::new(),
        "the {what} table is left"
    );
    dropped
}

fn mark_at(record: &Value, prefix: &str) -> u64 {
    record["timeline"]["marks"]
        .as_array()
        .expect("marks")
        .iter()
        .find(|m| m["label"].as_str().is_some_and(|l| l.starts_with(prefix)))
        .and_then(|m| m["at_ms"].as_u64())
        .unwrap_or_else(|| panic!("no mark {prefix:?} in {}", record["timeline"]["marks"]))
}

/// After `signal`: exit 2 within [`EXIT_AFTER_SIGNAL`], the terminal report
/// naming the signal with nothing left, the JSON record `error` with
/// `cleanup: true`. The record, and how long the drill took to exit.
#[track_caller]
fn assert_interrupted_and_clean(
    out: &Output,
    json: &Path,
    signal: &str,
    signalled: Instant,
) -> (Value, Duration) {
    let exit = signalled.elapsed();
    assert_exit(out, 2);
    assert!(
        exit < EXIT_AFTER_SIGNAL,
        "exited {exit:?} after {signal}:\n{}",
        text(out)
    );
    assert!(
        stdout(out).contains(&format!(
            "interrupted ({signal}); cleanup ran, nothing left, no verdict"
        )),
        "{}",
        text(out)
    );
    let record = assert_schema(json, "drill-record.schema.json");
    assert_eq!(record["outcome"]["status"], "error", "{record}");
    assert_eq!(record["outcome"]["evidence"]["cleanup"], true, "{record}");
    (record, exit)
}

/// The data plane did not fail over since `before`, and no drill table is left.
#[track_caller]
fn assert_nothing_injected(before: &fixtures::rds::RdsStatus) {
    let after = rds_status();
    assert!(
        after.phase == "steady" && after.primary_az == before.primary_az,
        "the data plane failed over: {before:?} → {after:?}"
    );
    assert_eq!(drill_tables(), Vec::<String>::new(), "a drill made a table");
}

/// A stop alarm is read before anything is injected: in ALARM (the sandbox
/// break `alarm-firing`), or not existing (a spec naming one that does
/// not), the drill exits 2 naming it, and nothing was injected: no table
/// made, the data plane never failed over, no pgbouncer task stopped.
#[test]
fn a_stop_alarm_in_alarm_or_missing_refuses_the_drill_with_nothing_injected() {
    let firing = Changed::broken(&["alarm-firing"]);
    let dir = scratch("e2e-stop-alarm");
    let before = rds_status();
    let (tasks, _) = pgbouncer_status();
    for name in ["rds-failover", "pgbouncer-drain", "pitr-restore"] {
        let out = drill(&dir, name, &[]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(&format!(
                "stop condition before the fault, nothing injected: stop alarm '{STOP_ALARM}' in ALARM"
            )),
            "{name}: {}",
            text(&out)
        );
    }
    assert_nothing_injected(&before);
    assert_eq!(pgbouncer_status().0, tasks, "a pgbouncer task was stopped");
    // The reset puts the alarm back (and the primary home).
    drop(firing);

    // Missing: the sandbox's spec with its stop alarm misspelt.
    let _sandbox = Changed::by_drill();
    let before = rds_status();
    let spec = std::fs::read_to_string(specs().join("sandbox.hcl")).unwrap();
    let declared = format!("stop_alarms       = [\"{STOP_ALARM}\"]");
    assert!(spec.contains(&declared), "sandbox.hcl declares {declared}");
    let misspelt = dir.join("sandbox.hcl");
    std::fs::write(
        &misspelt,
        spec.replacen(
            &declared,
            "stop_alarms       = [\"restartix-sandbox-core-api-5xxx\"]",
            1,
        ),
    )
    .unwrap();
    let out = verify_sandbox(&dir, "drill")
        .arg("rds-failover")
        .arg(&misspelt)
        .arg("--yes")
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("stop alarm 'restartix-sandbox-core-api-5xxx' not found"),
        "{}",
        text(&out)
    );
    assert_nothing_injected(&before);
}

/// SIGTERM before the drill's body starts (right after it names the
/// account, while it reads the steady state): the handlers were installed
/// first, so it is no kill: exit 2, nothing injected, nothing made.
#[test]
fn sigterm_before_the_body_starts_injects_nothing() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-sigterm-before");
    let before = rds_status();
    let mut running = Running::start(&dir, &["rds-failover", "sandbox", "--yes"]);
    running.wait_for("it names the account", Duration::from_secs(60), |stderr| {
        stderr.contains("drill rds-failover on 'sandbox': account")
    });
    let signalled = running.signal(Signal::SIGTERM);
    let out = running.finish();
    let exit = signalled.elapsed();
    println!("rds-failover, SIGTERM before the body: exit {exit:?} after it");
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("interrupted (SIGTERM) before the fault: nothing injected"),
        "{}",
        text(&out)
    );
    assert!(exit < Duration::from_secs(2), "{exit:?}");
    assert_nothing_injected(&before);
}

/// SIGTERM mid-failover (the data plane seen failing over): the probe
/// table is dropped within the grace, the report says so, and the sandbox
/// is go again once the failover finishes by itself.
#[test]
fn sigterm_mid_failover_drops_the_probe_table() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-sigterm-failover");
    let (mut running, json) = Running::drill(&dir, "rds-failover");
    running.wait_for("failing over", Duration::from_secs(120), |_| {
        rds_status().phase != "steady"
    });
    let signalled = running.signal(Signal::SIGTERM);
    let out = running.finish();
    let (record, exit) = assert_interrupted_and_clean(&out, &json, "SIGTERM", signalled);
    let dropped = dropped_within_grace(&record, "verify_drill_", "SIGTERM", "probe");
    println!(
        "rds-failover, SIGTERM mid-failover: table dropped {dropped} ms after the signal was seen; exit {exit:?} after it"
    );
    let rds = running_sandbox().rds.unwrap();
    block_on(fixtures::rds::wait_until_good(
        &rds,
        Duration::from_secs(60),
    ))
    .expect("standby back");
    assert!(
        eventually(Duration::from_secs(60), || {
            verify_sandbox_run(&dir, &["--only", "rds.*"])
                .status
                .success()
        }),
        "rds.* not go again after the interrupted failover"
    );
}

/// GitHub Actions' cancel: SIGINT, SIGTERM about 7.5 s later, SIGKILL
/// about 2.5 s after that. A failover drill cancelled mid-failover has
/// cleaned up, reported and exited on the SIGINT, before the SIGTERM is due.
#[test]
fn a_github_actions_cancel_mid_failover_is_cleaned_up_before_the_sigterm() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-github-cancel");
    let (mut running, json) = Running::drill(&dir, "rds-failover");
    running.wait_for("failing over", Duration::from_secs(120), |_| {
        rds_status().phase != "steady"
    });
    let signalled = running.signal(Signal::SIGINT);
    let mut sent = vec!["SIGINT"];
    for (at, signal, name) in [
        (Duration::from_millis(7_500), Signal::SIGTERM, "SIGTERM"),
        (Duration::from_millis(10_000), Signal::SIGKILL, "SIGKILL"),
    ] {
        while !running.exited() && signalled.elapsed() < at {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !running.exited() {
            running.signal(signal);
            sent.push(name);
        }
    }
    let out = running.finish();
    assert_eq!(
        sent,
        vec!["SIGINT"],
        "still running when GitHub sends more:\n{}",
        text(&out)
    );
    let (record, exit) = assert_interrupted_and_clean(&out, &json, "SIGINT (Ctrl-C)", signalled);
    let dropped = dropped_within_grace(&record, "verify_drill_", "SIGINT", "probe");
    println!(
        "rds-failover, GitHub cancel: table dropped {dropped} ms after SIGINT was seen; exit {exit:?} after it"
    );
    let rds = running_sandbox().rds.unwrap();
    block_on(fixtures::rds::wait_until_good(
        &rds,
        Duration::from_secs(60),
    ))
    .expect("standby back");
}

/// SIGTERM after the pgbouncer task was stopped (its backend deregistered):
/// the workload table is dropped within the grace, and the stopped task's
/// service comes back to its desired count by itself (`pgbouncer.*` go).
#[test]
fn sigterm_mid_drain_drops_the_workload_table_and_the_service_recovers() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-sigterm-drain");
    let (mut running, json) = Running::drill(&dir, "pgbouncer-drain");
    running.wait_for("a task deregistered", Duration::from_secs(120), |_| {
        pgbouncer_status().1 < 2
    });
    let signalled = running.signal(Signal::SIGTERM);
    let out = running.finish();
    let (record, exit) = assert_interrupted_and_clean(&out, &json, "SIGTERM", signalled);
    let dropped = dropped_within_grace(&record, "verify_drain_", "SIGTERM", "workload");
    println!(
        "pgbouncer-drain, SIGTERM after StopTask: table dropped {dropped} ms after the signal was seen; exit {exit:?} after it"
    );
    assert!(
        eventually(Duration::from_secs(60), || {
            let (tasks, registered) = pgbouncer_status();
            registered == 2 && tasks.iter().all(|(_, pid)| pid.is_some())
        }),
        "the stopped task was not replaced"
    );
    assert!(
        eventually(Duration::from_secs(60), || {
            verify_sandbox_run(&dir, &["--only", "pgbouncer.*"])
                .status
                .success()
        }),
        "the service is not back at its desired count (pgbouncer.* not go)"
    );
}

/// SIGTERM while the scratch instance is being restored: DeleteDBInstance
/// and the marker table's drop go out at once, together. The sandbox, as
/// RDS may, answers the deletion of a `creating` instance only once its
/// restore has ended: either that is within the grace (nothing left) or
/// the report names the instance as left; either way the deletion that
/// went out removes it, and `drill cleanup --yes` finds nothing after.
#[test]
fn sigterm_mid_restore_deletes_the_scratch_instance_and_drops_the_marker_table() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-sigterm-restore");
    let (mut running, json) = Running::drill(&dir, "pitr-restore");
    running.wait_for("restoring", Duration::from_secs(120), |_| {
        !rds_status().restores.is_empty()
    });
    let scratch_instance = rds_status().restores[0].clone();
    let signalled = running.signal(Signal::SIGTERM);
    let out = running.finish();
    let exit = signalled.elapsed();
    assert_exit(&out, 2);
    assert!(exit < EXIT_AFTER_SIGNAL, "exited {exit:?} after SIGTERM");
    assert!(
        stdout(&out).contains("interrupted (SIGTERM); cleanup ran"),
        "{}",
        text(&out)
    );
    let record = assert_schema(&json, "drill-record.schema.json");
    assert_eq!(record["outcome"]["status"], "error", "{record}");
    let interrupted = mark_at(&record, "interrupted: SIGTERM");
    let dropped = dropped_within_grace(&record, "verify_pitr_", "SIGTERM", "marker");
    let evidence = &record["outcome"]["evidence"];
    let left: Vec<&str> = evidence["left"]
        .as_array()
        .expect("left")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if evidence["cleanup"] == true {
        let delete = mark_at(&record, "DeleteDBInstance ") - interrupted;
        println!(
            "pitr-restore, SIGTERM mid-restore: DeleteDBInstance sent {delete} ms, table dropped {dropped} ms after the signal was seen; exit {exit:?} after it"
        );
        assert!(delete < 5_000, "{delete} ms");
    } else {
        println!(
            "pitr-restore, SIGTERM mid-restore: table dropped {dropped} ms after the signal was seen; left {left:?}; exit {exit:?} after it"
        );
        assert!(
            left.len() == 1 && left[0].contains(&format!("rds instance '{scratch_instance}'")),
            "only the scratch instance may be left, named: {left:?}"
        );
    }
    assert!(
        eventually(Duration::from_secs(60), || rds_status().restores.is_empty()),
        "the scratch instance {scratch_instance} is left"
    );
    let out = verify_sandbox(&dir, "drill")
        .args(["cleanup", "sandbox", "--yes"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("no scratch instances left"),
        "{}",
        text(&out)
    );
}

/// `drill cleanup` racing a live restore drill (stopped with SIGSTOP while
/// its scratch instance exists, so the race is decided): without `--yes`
/// it refuses (exit 2); with it, it keeps the live drill's scratch instance
/// (its `verify:deadline` is ahead). The drill, continued, passes and
/// deletes its own scratch instance.
#[test]
fn drill_cleanup_needs_yes_and_leaves_a_live_drills_scratch_instance() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-cleanup-race");
    let mut running = Running::start(&dir, &["pitr-restore", "sandbox", "--yes"]);
    running.wait_for("restoring", Duration::from_secs(120), |_| {
        !rds_status().restores.is_empty()
    });
    running.signal(Signal::SIGSTOP);
    let live = rds_status().restores[0].clone();
    let cleanup = |yes: bool| {
        let mut command = verify_sandbox(&dir, "drill");
        command.args(["cleanup", "sandbox"]);
        if yes {
            command.arg("--yes");
        }
        command.output().unwrap()
    };
    let refused = cleanup(false);
    let kept = cleanup(true);
    let still_there = rds_status().restores;
    running.signal(Signal::SIGCONT);
    let out = running.finish();

    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("Re-run with --yes"),
        "{}",
        text(&refused)
    );
    assert_exit(&kept, 0);
    assert!(
        stdout(&kept).contains(&format!(
            "kept scratch instance {live}: a drill may still own it: verify:deadline"
        )),
        "{}",
        text(&kept)
    );
    assert_eq!(
        still_there,
        vec![live],
        "cleanup deleted a live drill's scratch instance"
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("scratch deleted"), "{}", text(&out));
    assert_eq!(rds_status().restores, Vec::<String>::new());
}

/// A table a killed drill left (its start in its name) is found again by
/// `drill cleanup --yes` and dropped once no run can still use it (start +
/// its drill's timeout + 5 min); a live run's is kept, named with until
/// when; a table that only looks like a drill's is never touched.
#[test]
fn drill_cleanup_drops_the_tables_a_killed_drill_left_and_keeps_a_live_runs() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-cleanup-tables");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let killed = ["verify_drill_1796500000000", "verify_pitr_1796500000000"];
    let live = format!("verify_drain_{now_ms}");
    let lookalike = "verify_drill_by_hand";
    let url = running_sandbox().rds.expect("rds").probe_url;
    let sql = |statement: String| {
        block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect to the sandbox's database");
            tokio::spawn(connection);
            client.batch_execute(&statement).await.expect(&statement);
        })
    };
    for table in killed.iter().copied().chain([live.as_str(), lookalike]) {
        sql(format!("CREATE TABLE {table} (id bigint)"));
    }
    let out = verify_sandbox(&dir, "drill")
        .args(["cleanup", "sandbox", "--yes"])
        .output()
        .unwrap();
    let mut left = drill_tables();
    left.sort();
    sql(format!("DROP TABLE IF EXISTS {live}, {lookalike}"));

    assert_exit(&out, 0);
    for table in killed {
        assert!(
            stdout(&out).contains(&format!("dropped table {table}")),
            "{}",
            text(&out)
        );
    }
    assert!(
        stdout(&out).contains(&format!(
            "kept table {live}: a drill.pgbouncer_drain run may still use it until"
        )),
        "{}",
        text(&out)
    );
    assert!(!stdout(&out).contains(lookalike), "{}", text(&out));
    assert_eq!(
        left,
        vec![live.clone(), lookalike.to_string()],
        "what cleanup left"
    );
    assert!(
        !stdout(&out).contains("not searched"),
        "every drill's database was searched: {}",
        text(&out)
    );
}
