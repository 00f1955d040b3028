//! The gate as a test suite: one test per check id of the environment's
//! catalogue (generated at run time, never a list written by hand), named
//! exactly by the id, so `cargo test -p infra-tests --test gate --
//! rds.multi_az` runs one. The environment is `VERIFY_ENV` (a name in
//! `infra-tests/environments` or a `.hcl` path; default `sandbox`).
//!
//! It is an adapter over the library's runner ([`verify::run`]), the same
//! path `verify run` takes: the first test to run starts one run of every
//! selected check (concurrently, one describe cache), and each test reads
//! its outcome. A check that ends `fail` or `error` fails its test with the
//! check's message; `pass`, `skip` and `waived` pass.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use libtest_mimic::{Arguments, Failed, Trial};
use verify::Outcome;
use verify::run::{Options, Target, run_to_end};

/// Every outcome of the one run, by id, or why it could not run.
type Run = Result<BTreeMap<String, Outcome>, String>;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let name = infra_tests::environment_name();
    let target = match infra_tests::target(&name) {
        Ok(target) => target,
        Err(e) => {
            // Not one trial could be made: a test that says why, and fails.
            let message = format!("cannot run the gate on {name}: {e:#}");
            let trial = Trial::test("gate.setup", move || Err(message.into()));
            return libtest_mimic::run(&args, vec![trial]).exit_code();
        }
    };
    let ids = target.planned(&verify::Selection::all());
    // Only what the filter selects runs (a single id runs a single check).
    let selected: Vec<String> = ids
        .iter()
        .filter(|id| selected_by(&args, id))
        .cloned()
        .collect();
    let shared: Arc<OnceLock<Run>> = Arc::default();
    let target = Arc::new(target);
    let trials = ids
        .into_iter()
        .map(|id| {
            let (shared, target, selected) = (shared.clone(), target.clone(), selected.clone());
            Trial::test(id.clone(), move || {
                let run = shared.get_or_init(|| run_gate(&target, &selected));
                expect(run, &id)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// libtest's own selection: a substring filter (exact with `--exact`) and `--skip`.
fn selected_by(args: &Arguments, id: &str) -> bool {
    let matches = |pattern: &str| {
        if args.exact {
            id == pattern
        } else {
            id.contains(pattern)
        }
    };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}

/// One run of the `selected` checks through the runner.
fn run_gate(target: &Target, selected: &[String]) -> Run {
    let selection = verify::Selection::new(selected, &[]).map_err(|e| e.to_string())?;
    let options = Options {
        selection,
        ..Options::default()
    };
    let runtime = infra_tests::runtime();
    let mut collected = runtime.block_on(run_to_end(vec![target.clone()], options, |_| {}));
    let run = collected.pop().ok_or("the runner reported nothing")?;
    if let Some(message) = run.could_not_run {
        return Err(format!(
            "cannot run the gate on {}: {message}",
            target.env.name
        ));
    }
    Ok(run
        .outcomes
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect())
}

/// Passes on pass/skip/waived; fails with the check's message otherwise
/// (the verdict's own rule, [`verify::verdict::blocks_go`]).
fn expect(run: &Run, id: &str) -> Result<(), Failed> {
    let outcomes = run.as_ref().map_err(|e| Failed::from(e.as_str()))?;
    let outcome = outcomes
        .get(id)
        .ok_or_else(|| Failed::from(format!("{id}: selected but the run gave no outcome")))?;
    if verify::verdict::blocks_go(outcome.status.as_str()) {
        return Err(format!("{id}: {}: {}", outcome.status.as_str(), outcome.message).into());
    }
    Ok(())
}
