//! Plain verification never changes anything: a whole gate run makes only
//! read calls (the guard that refuses a mutating call before it leaves the
//! process is tested beside it, in `verify/src/aws/tests.rs`).

use std::collections::BTreeSet;

use infra_tests::{Account, runtime};
use verify::Selection;
use verify::aws::{CallCounts, is_read_only};

#[test]
fn a_whole_gate_run_makes_only_read_calls() {
    let _sandbox = infra_tests::reading();
    let calls = runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let gate = account.gate().await;
        let outcomes = gate.run(&Selection::all(), |_| {}).await;
        assert!(
            outcomes.iter().all(|o| !o.status.blocks_go()),
            "{outcomes:#?}"
        );
        gate.aws().calls.snapshot()
    });
    assert!(calls.total_operations() > 0);
    for operation in calls.operations.keys() {
        let name = operation.split(':').nth(1).unwrap_or(operation);
        assert!(is_read_only(name), "verify called {operation}");
    }
}

/// The IAM actions that authorise what `calls` recorded; an operation the
/// IAM table cannot map fails (a new service needs its prefix in `verify::iam`).
fn iam_actions_of(calls: &CallCounts) -> BTreeSet<String> {
    calls
        .operations
        .keys()
        .flat_map(|op| verify::iam::iam_actions(op).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Every check's own operations (its evidence's `operations`, recorded per
/// check) are authorised by the grants it declares: a check that starts
/// calling something new fails here until its declaration says so.
fn each_check_declares_what_it_called(env: &verify::Environment, outcomes: &[verify::Outcome]) {
    let permissions = verify::iam::permissions(env, false);
    for outcome in outcomes {
        let declared: BTreeSet<&str> = permissions
            .iter()
            .filter(|p| p.needed_by == outcome.id)
            .map(|p| p.action)
            .collect();
        for op in &outcome.evidence.operations {
            for action in verify::iam::iam_actions(op).unwrap_or_else(|e| panic!("{e}")) {
                assert!(
                    declared.contains(action.as_str()),
                    "{} called {op} ({action}), which its declaration does not grant: {declared:?}",
                    outcome.id
                );
            }
        }
    }
}

/// The policy `cargo xtask iam-policy sandbox` prints grants exactly what a
/// whole gate run calls: nothing missing (every recorded operation's IAM
/// action is granted) and nothing extra (every granted action is called).
/// An action the table marks as called only when the live state has
/// something (a prefix list in a rule, a failed scheduled run) must then be
/// called by a run on an account broken to have it.
#[test]
fn the_iam_policy_grants_exactly_what_a_gate_run_calls() {
    let _sandbox = infra_tests::reading();
    let run = |breaks: &'static [&'static str]| {
        runtime().block_on(async move {
            let account = Account::seeded(breaks).await.expect("account");
            let gate = account.gate().await;
            gate.confirm_identity().await.expect("identity");
            let outcomes = gate.run(&Selection::all(), |_| {}).await;
            if breaks.is_empty() {
                assert!(
                    outcomes.iter().all(|o| !o.status.blocks_go()),
                    "{outcomes:#?}"
                );
            }
            each_check_declares_what_it_called(&account.env, &outcomes);
            (account.env.clone(), gate.aws().calls.snapshot())
        })
    };
    let (env, good) = run(&[]);
    let granted = verify::iam::actions(&verify::iam::policy(&env, false));
    let called = iam_actions_of(&good);
    let missing: Vec<&String> = called.difference(&granted).collect();
    assert!(missing.is_empty(), "called, not granted: {missing:?}");

    let only_when: BTreeSet<String> = verify::iam::permissions(&env, false)
        .iter()
        .filter(|p| p.only_when.is_some())
        .map(|p| p.action.to_string())
        .collect();
    let never_called: BTreeSet<&String> = granted.difference(&called).collect();
    let extra: Vec<&&String> = never_called
        .iter()
        .filter(|a| !only_when.contains(a.as_str()))
        .collect();
    assert!(extra.is_empty(), "granted, never called: {extra:?}");

    // The state-dependent ones, on a state that has what they read.
    let (_, broken) = run(&[
        "alb-prefix-list",
        "scheduled-exit-1",
        "health-event-in-window",
    ]);
    let called_broken = iam_actions_of(&broken);
    let missing: Vec<&String> = called_broken.difference(&granted).collect();
    assert!(
        missing.is_empty(),
        "called on the broken account, not granted: {missing:?}"
    );
    let still_never: Vec<&&String> = never_called
        .iter()
        .filter(|a| !called_broken.contains(a.as_str()))
        .collect();
    assert!(
        still_never.is_empty(),
        "granted, called by neither the good nor the broken run: {still_never:?}"
    );
    // Without a declared area, its actions are not granted (the table keys on the spec).
    let mut no_ses = env.clone();
    no_ses.ses = None;
    let without = verify::iam::actions(&verify::iam::policy(&no_ses, false));
    assert!(
        !without.iter().any(|a| a.starts_with("ses:")),
        "{without:?}"
    );
    assert!(called.iter().any(|a| a.starts_with("ses:")));
}
