//! The drills against the sandbox, as `verify drill <drill> sandbox --yes`:
//! each passes on the good sandbox, and fails on its negative control (a
//! sandbox break) naming the assertion that caught it. Each holds the
//! sandbox alone; a break is reset however the test ends. Refusals (no
//! `--yes`, drills not allowed) are `cli.rs`'s
//! `a_drill_refuses_without_consent_and_where_drills_are_not_allowed`.

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

/// `cleanup` deletes only what a crashed restore left (tagged scratch
/// instances): held alone, so no restore is running meanwhile.
#[test]
fn drill_cleanup_finds_no_scratch_instances_left() {
    let _sandbox = Changed::by_drill();
    let dir = scratch("e2e-drill-cleanup");
    let out = verify_sandbox(&dir, "drill")
        .args(["cleanup", "sandbox"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("no scratch instances left"),
        "drill cleanup: {}",
        text(&out)
    );
}
