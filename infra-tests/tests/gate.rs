//! The gate as a test suite: every check of the catalogue against the
//! environment named by `VERIFY_ENV` (default `sandbox`). Test names mirror
//! check ids (`rds.multi_az` → `rds::multi_az`); a failing check fails its
//! test with the check's message. `cargo xtask verify <env>` runs this binary
//! and builds its reports from the outcomes written to `VERIFY_RESULTS_DIR`.
//!
//! One `#[once]` fixture runs the whole gate concurrently in one runtime, so
//! the describe cache serves the whole suite (one describe per resource).

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use infra_tests::{ResultsSink, RunRecord, connection, environment_name, load_for_run, runtime};
use rstest::{fixture, rstest};
use verify::{Gate, Outcome, Selection, Status};

struct Suite {
    outcomes: BTreeMap<String, Outcome>,
}

fn csv_env(name: &str) -> Vec<String> {
    std::env::var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[fixture]
#[once]
fn suite() -> Suite {
    let sink = ResultsSink::from_env().expect("results directory");
    let name = environment_name();
    let setup = || -> anyhow::Result<_> {
        let env = load_for_run(&name)?;
        let connection = connection(&env)?;
        let selection = Selection::new(&csv_env("VERIFY_ONLY"), &csv_env("VERIFY_SKIP"))?;
        let waivers = match std::env::var_os("VERIFY_WAIVERS") {
            Some(path) => verify::waivers::load(path.as_ref())?,
            None => Vec::new(),
        };
        Ok((env, connection, selection, waivers))
    };
    let (env, connection, selection, waivers) = match setup() {
        Ok(parts) => parts,
        Err(e) => {
            sink.setup_error(&format!("{e:#}"));
            panic!("cannot run the gate on {name}: {e:#}");
        }
    };
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    let waive = |outcome: &Outcome| {
        let mut outcome = outcome.clone();
        verify::waivers::apply(
            std::slice::from_mut(&mut outcome),
            &waivers,
            SystemTime::now(),
        );
        outcome
    };
    let (outcomes, calls) = runtime().block_on(async {
        let gate = Gate::connect(env, connection).await;
        sink.plan(
            gate.checks()
                .iter()
                .map(|c| c.id.as_str())
                .filter(|id| selection.selects(id)),
        );
        let outcomes = gate.run(&selection, |o| sink.outcome(&waive(o))).await;
        (outcomes, gate.aws().calls.snapshot())
    });
    sink.finish(&RunRecord {
        environment: &name,
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        aws_calls: calls,
    });
    Suite {
        outcomes: outcomes.iter().map(|o| (o.id.clone(), waive(o))).collect(),
    }
}

/// Passes on pass/skip/waived; fails with the check's message otherwise.
/// A check not selected by `VERIFY_ONLY`/`VERIFY_SKIP` passes vacuously.
fn expect(suite: &Suite, id: &str) {
    let Some(outcome) = suite.outcomes.get(id) else {
        return;
    };
    match outcome.status {
        Status::Pass | Status::Skip | Status::Waived => {}
        Status::Fail | Status::Error => {
            panic!("{id}: {}: {}", outcome.status.as_str(), outcome.message)
        }
    }
}

/// Every selected check of an area whose ids depend on the spec (e.g. one pair per scheduled task).
fn expect_area(suite: &Suite, area: &str) {
    let failing: Vec<String> = suite
        .outcomes
        .values()
        .filter(|o| verify::check::area_of(&o.id) == area && o.status.blocks_go())
        .map(|o| format!("{}: {}: {}", o.id, o.status.as_str(), o.message))
        .collect();
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}

mod rds {
    use super::*;

    #[rstest]
    fn available(suite: &Suite) {
        expect(suite, "rds.available")
    }

    #[rstest]
    fn multi_az(suite: &Suite) {
        expect(suite, "rds.multi_az")
    }

    #[rstest]
    fn encrypted(suite: &Suite) {
        expect(suite, "rds.encrypted")
    }

    #[rstest]
    fn not_public(suite: &Suite) {
        expect(suite, "rds.not_public")
    }

    #[rstest]
    fn deletion_protection(suite: &Suite) {
        expect(suite, "rds.deletion_protection")
    }

    #[rstest]
    fn backups(suite: &Suite) {
        expect(suite, "rds.backups")
    }
}

mod budgets {
    use super::*;

    #[rstest]
    fn monthly(suite: &Suite) {
        expect(suite, "budgets.monthly")
    }

    #[rstest]
    fn thresholds(suite: &Suite) {
        expect(suite, "budgets.thresholds")
    }
}

/// Areas whose checks are not yet implemented end in `error` when declared.
mod other_areas {
    use super::*;

    #[rstest]
    #[case("pgbouncer")]
    #[case("edge")]
    #[case("cloudflare")]
    #[case("scheduled")]
    #[case("alarms")]
    #[case("ses")]
    #[case("network")]
    fn declared_area(suite: &Suite, #[case] name: &str) {
        expect_area(suite, name)
    }
}
