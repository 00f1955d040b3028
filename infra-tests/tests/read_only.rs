//! Plain verification never changes anything: the SDK guard refuses a
//! mutating call before it leaves the process, and a whole gate run makes
//! only read calls.

use std::collections::BTreeSet;

use infra_tests::{Account, runtime};
use verify::aws::{AccessMode, AwsClients, CallCounts, is_read_only, sdk_config};
use verify::{Selection, Status};

#[test]
fn the_guard_refuses_a_mutating_call_and_nothing_changes() {
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let clients = AwsClients::new(
            &sdk_config(&account.connection).await,
            AccessMode::read_only(),
        );
        let refused = clients
            .rds
            .modify_db_instance()
            .db_instance_identifier("restartix-sandbox")
            .multi_az(false)
            .apply_immediately(true)
            .send()
            .await;
        let err = refused.expect_err("a write in verify mode must be refused");
        let text = aws_smithy_types::error::display::DisplayErrorContext(&err).to_string();
        assert!(text.contains("refused rds:ModifyDBInstance"), "{text}");
        assert_eq!(
            clients.calls.snapshot().requests,
            0,
            "the refused call never reached the network"
        );

        // The instance is untouched.
        let outcome = account.check("rds.multi_az").await;
        assert_eq!(outcome.status, Status::Pass, "{}", outcome.message);
    });
}

#[test]
fn a_drill_guard_admits_exactly_its_operations_only_while_held() {
    runtime().block_on(async {
        let account = Account::seeded(&[]).await.expect("account");
        let mode = AccessMode::read_only();
        let clients = AwsClients::new(&sdk_config(&account.connection).await, mode.clone());
        {
            let _drill = mode.allow_writes(&["rds:ModifyDBInstance"]);
            clients
                .rds
                .modify_db_instance()
                .db_instance_identifier("restartix-sandbox")
                .backup_retention_period(8)
                .apply_immediately(true)
                .send()
                .await
                .expect("allowed during a drill");
            // Any other write is still refused, before it is sent.
            let before = clients.calls.snapshot().requests;
            let other = clients
                .rds
                .delete_db_instance()
                .db_instance_identifier("restartix-sandbox")
                .skip_final_snapshot(true)
                .send()
                .await
                .expect_err("a write the drill did not declare");
            let text = aws_smithy_types::error::display::DisplayErrorContext(&other).to_string();
            assert!(text.contains("refused rds:DeleteDBInstance"), "{text}");
            assert_eq!(clients.calls.snapshot().requests, before);
        }
        let again = clients
            .rds
            .modify_db_instance()
            .db_instance_identifier("restartix-sandbox")
            .backup_retention_period(7)
            .send()
            .await;
        assert!(
            again.is_err(),
            "writes are refused again once the drill guard is dropped"
        );
    });
}

#[test]
fn a_whole_gate_run_makes_only_read_calls() {
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
/// policy table cannot map fails (a new call needs its row in `iam-policy`).
fn iam_actions_of(calls: &CallCounts) -> BTreeSet<String> {
    calls
        .operations
        .keys()
        .flat_map(|op| iam_policy::iam_actions(op).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// The policy `cargo xtask iam-policy sandbox` prints grants exactly what a
/// whole gate run calls: nothing missing (every recorded operation's IAM
/// action is granted) and nothing extra (every granted action is called).
/// An action the table marks as called only when the live state has
/// something (a prefix list in a rule, a failed scheduled run) must then be
/// called by a run on an account broken to have it.
#[test]
fn the_iam_policy_grants_exactly_what_a_gate_run_calls() {
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
            (account.env.clone(), gate.aws().calls.snapshot())
        })
    };
    let (env, good) = run(&[]);
    let granted = iam_policy::actions(&iam_policy::policy(&env, false));
    let called = iam_actions_of(&good);
    let missing: Vec<&String> = called.difference(&granted).collect();
    assert!(missing.is_empty(), "called, not granted: {missing:?}");

    let only_when: BTreeSet<String> = iam_policy::permissions(&env, false)
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
    let (_, broken) = run(&["alb-prefix-list", "scheduled-exit-1"]);
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
    let without = iam_policy::actions(&iam_policy::policy(&no_ses, false));
    assert!(
        !without.iter().any(|a| a.starts_with("ses:")),
        "{without:?}"
    );
    assert!(called.iter().any(|a| a.starts_with("ses:")));
}
