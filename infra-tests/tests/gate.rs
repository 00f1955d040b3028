//! The gate as a test suite: every check of the catalogue against the
//! environment named by `VERIFY_ENV` (default `sandbox`). Test names mirror
//! check ids (`rds.multi_az` → `rds::multi_az`); a failing check fails its
//! test with the check's message. `cargo xtask verify <env>` runs this binary
//! and builds its reports from the outcomes written to `VERIFY_RESULTS_DIR`.
//!
//! One `#[once]` fixture runs the whole gate concurrently in one runtime, so
//! the describe cache serves the whole suite (one describe per resource).

use std::collections::{BTreeMap, BTreeSet};

use infra_tests::{
    GateRun, ResultsSink, environment_name, glob_list_env, run_gate, runtime, waivers_from_env,
};
use rstest::{fixture, rstest};
use verify::{Outcome, Selection};

struct Suite {
    /// Every id of the catalogue for this spec, selected or not.
    catalogue: BTreeSet<String>,
    selection: Selection,
    outcomes: BTreeMap<String, Outcome>,
}

#[fixture]
#[once]
fn suite() -> Suite {
    let sink = ResultsSink::from_env().expect("results directory");
    let name = environment_name();
    /// Records why the run could not start (exit 2 in `cargo xtask verify`) and stops.
    fn fail_setup(sink: &ResultsSink, name: &str, e: anyhow::Error) -> ! {
        sink.setup_error(&format!("{e:#}"));
        panic!("cannot run the gate on {name}: {e:#}");
    }
    let selection = Selection::new(&glob_list_env("VERIFY_ONLY"), &glob_list_env("VERIFY_SKIP"))
        .map_err(anyhow::Error::from)
        .unwrap_or_else(|e| fail_setup(&sink, &name, e));
    let waivers = waivers_from_env().unwrap_or_else(|e| fail_setup(&sink, &name, e));
    // Loads the spec, confirms the account and region before any check (exit
    // 2 in `cargo xtask verify` otherwise), runs every selected check.
    let GateRun {
        catalogue,
        outcomes,
    } = runtime()
        .block_on(run_gate(&name, &name, &sink, &selection, &waivers))
        .unwrap_or_else(|e| fail_setup(&sink, &name, e.0));
    Suite {
        catalogue,
        selection,
        outcomes: outcomes.into_iter().map(|o| (o.id.clone(), o)).collect(),
    }
}

/// Passes on pass/skip/waived; fails with the check's message otherwise
/// (the verdict's own rule, [`verify::verdict::blocks_go`]).
/// A check not selected by `VERIFY_ONLY`/`VERIFY_SKIP` passes vacuously, but
/// an id the catalogue lacks fails: a removed or renamed check cannot pass its test.
fn expect(suite: &Suite, id: &str) {
    assert!(
        suite.catalogue.contains(id),
        "{id}: no such check in the catalogue (removed or renamed?)"
    );
    let Some(outcome) = suite.outcomes.get(id) else {
        assert!(
            !suite.selection.selects(id),
            "{id}: selected but the run gave no outcome"
        );
        return;
    };
    if verify::verdict::blocks_go(outcome.status.as_str()) {
        panic!("{id}: {}: {}", outcome.status.as_str(), outcome.message)
    }
}

/// Every selected check of an area whose ids depend on the spec (e.g. one pair per scheduled task).
fn expect_area(suite: &Suite, area: &str) {
    let failing: Vec<String> = suite
        .outcomes
        .values()
        .filter(|o| {
            verify::check::area_of(&o.id) == area && verify::verdict::blocks_go(o.status.as_str())
        })
        .map(|o| format!("{}: {}: {}", o.id, o.status.as_str(), o.message))
        .collect();
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}

/// One test per check id: `checks!(name => "area.id", …)` inside the area's
/// module; `IDS` lists them for [`every_catalogue_id_has_its_test`].
macro_rules! checks {
    ($($name:ident => $id:literal),* $(,)?) => {
        pub const IDS: &[&str] = &[$($id),*];
        $(
            #[rstest]
            fn $name(suite: &Suite) {
                expect(suite, $id)
            }
        )*
    };
}

mod rds {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        available => "rds.available",
        multi_az => "rds.multi_az",
        encrypted => "rds.encrypted",
        not_public => "rds.not_public",
        deletion_protection => "rds.deletion_protection",
        backups => "rds.backups",
    }
}

mod pgbouncer {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        service => "pgbouncer.service",
        multi_az => "pgbouncer.multi_az",
        targets => "pgbouncer.targets",
        drain_ready => "pgbouncer.drain_ready",
    }
}

mod edge {
    pub mod alb {
        use crate::{Suite, expect, suite};
        use rstest::rstest;

        checks! {
            https_listener => "edge.alb.https_listener",
            http_redirect => "edge.alb.http_redirect",
            origin_locked => "edge.alb.origin_locked",
            access_logs => "edge.alb.access_logs",
        }
    }

    pub mod tls {
        use crate::{Suite, expect, suite};
        use rstest::rstest;

        checks! {
            certificate => "edge.tls.certificate",
            legacy_rejected => "edge.tls.legacy_rejected",
        }
    }

    pub mod https {
        use crate::{Suite, expect, suite};
        use rstest::rstest;

        checks! {
            headers => "edge.https.headers",
        }
    }

    pub mod http {
        use crate::{Suite, expect, suite};
        use rstest::rstest;

        checks! {
            redirect => "edge.http.redirect",
        }
    }
}

mod cloudflare {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        ssl_strict => "cloudflare.ssl_strict",
        waf => "cloudflare.waf",
        custom_hostnames => "cloudflare.custom_hostnames",
    }
}

mod alarms {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        present => "alarms.present",
        routed => "alarms.routed",
    }
}

mod budgets {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        monthly => "budgets.monthly",
        thresholds => "budgets.thresholds",
    }
}

mod ses {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        production_access => "ses.production_access",
        identity => "ses.identity",
        dns => "ses.dns",
        suppression => "ses.suppression",
        feedback => "ses.feedback",
    }
}

mod network {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        multi_az => "network.multi_az",
    }
}

/// Skipped unless `cargo xtask verify` is given `--terraform-plan` / `--terraform-state`.
mod terraform {
    use crate::{Suite, expect, suite};
    use rstest::rstest;

    checks! {
        idempotent => "terraform.idempotent",
        declared => "terraform.declared",
    }
}

/// Scheduled ids depend on the spec (`scheduled.<task>.configured|succeeded`):
/// one area-level test over all of them.
mod scheduled {
    use crate::{Suite, expect_area, suite};
    use rstest::rstest;

    #[rstest]
    fn every_declared_task(suite: &Suite) {
        expect_area(suite, "scheduled")
    }
}

/// Metric gates (`metrics.<name>`) depend on the spec: one area-level test.
mod metrics {
    use crate::{Suite, expect_area, suite};
    use rstest::rstest;

    #[rstest]
    fn every_declared_gate(suite: &Suite) {
        expect_area(suite, "metrics")
    }
}

/// Canaries (`canary.<name>`) depend on the spec: one area-level test.
mod canary {
    use crate::{Suite, expect_area, suite};
    use rstest::rstest;

    #[rstest]
    fn every_declared_canary(suite: &Suite) {
        expect_area(suite, "canary")
    }
}

/// A removed or renamed check cannot pass its test: an id the catalogue lacks fails.
#[rstest]
#[should_panic(expected = "rds.removed_check: no such check in the catalogue")]
fn an_id_the_catalogue_lacks_fails_its_test(suite: &Suite) {
    expect(suite, "rds.removed_check")
}

/// Every id of the catalogue is covered by a test above (a new check needs its test).
#[rstest]
fn every_catalogue_id_has_its_test(suite: &Suite) {
    let tested: BTreeSet<&str> = [
        rds::IDS,
        pgbouncer::IDS,
        edge::alb::IDS,
        edge::tls::IDS,
        edge::https::IDS,
        edge::http::IDS,
        cloudflare::IDS,
        alarms::IDS,
        budgets::IDS,
        ses::IDS,
        network::IDS,
        terraform::IDS,
    ]
    .concat()
    .into_iter()
    .collect();
    let untested: Vec<&String> = suite
        .catalogue
        .iter()
        .filter(|id| {
            // Spec-dependent ids: covered by their area-level tests.
            !["scheduled.", "metrics.", "canary."]
                .iter()
                .any(|area| id.starts_with(area))
                && !tested.contains(id.as_str())
        })
        .collect();
    assert!(
        untested.is_empty(),
        "catalogue ids without their own test in gate.rs: {untested:?}"
    );
}
