//! Plain verification never changes anything: the SDK guard refuses a
//! mutating call before it leaves the process, and a whole gate run makes
//! only read calls.

use infra_tests::{Account, runtime};
use verify::aws::{AccessMode, AwsClients, is_read_only, sdk_config};
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
