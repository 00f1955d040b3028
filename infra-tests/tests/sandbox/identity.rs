//! Identity and scope, against the sandbox: before any check the gate
//! confirms that its credentials belong to the spec's `account_id`
//! (`sts:GetCallerIdentity`, once, guarded and counted) and that every AWS
//! client uses the spec's `region`. A mismatch is a typed error naming both
//! sides; `cargo xtask verify` turns it into exit 2 (xtask/src/test.rs).

use infra_tests::{connection, fresh_account, load_for_run, runtime};
use verify::Gate;
use verify::IdentityError;

/// The sandbox's default account (moto's, for its static test credentials).
const SANDBOX_ACCOUNT: &str = "123456789012";

#[test]
fn the_sandbox_identity_is_confirmed_with_one_sts_call() {
    let _sandbox = infra_tests::reading();
    let env = load_for_run("sandbox").unwrap();
    let connection = connection(&env).unwrap();
    runtime().block_on(async {
        let gate = Gate::connect(env.clone(), connection).await;
        let identity = gate
            .confirm_identity()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(identity.account, SANDBOX_ACCOUNT);
        assert!(identity.arn.contains(SANDBOX_ACCOUNT), "{identity:?}");
        assert_eq!(identity.region, env.region);
        let calls = gate.aws().calls.snapshot();
        assert_eq!(
            calls.operations.get("sts:GetCallerIdentity"),
            Some(&1),
            "{calls:?}"
        );
        assert_eq!(calls.total_operations(), 1, "{calls:?}");
    });
}

/// Through an assumed role (as production runs), the role's account is the one confirmed.
#[test]
fn an_assumed_role_in_the_declared_account_is_confirmed() {
    let _sandbox = infra_tests::reading();
    let mut env = load_for_run("sandbox").unwrap();
    let account = fresh_account();
    env.account_id = account.clone();
    env.aws.assume_role = Some(format!("arn:aws:iam::{account}:role/verify-readonly"));
    let connection = connection(&env).unwrap();
    let identity = runtime()
        .block_on(async {
            Gate::connect(env, connection)
                .await
                .confirm_identity()
                .await
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(identity.account, account);
    assert!(identity.arn.contains("verify-readonly"), "{identity:?}");
}

/// A spec declaring another account than the credentials' is refused, naming both.
#[test]
fn another_account_is_refused_naming_both() {
    let _sandbox = infra_tests::reading();
    let mut env = load_for_run("sandbox").unwrap();
    env.account_id = "210987654321".into();
    let connection = connection(&env).unwrap();
    let err = runtime()
        .block_on(async {
            Gate::connect(env, connection)
                .await
                .confirm_identity()
                .await
        })
        .unwrap_err();
    let text = err.to_string();
    match err {
        IdentityError::WrongAccount {
            declared, observed, ..
        } => {
            assert_eq!(declared, "210987654321");
            assert_eq!(observed, SANDBOX_ACCOUNT);
        }
        other => panic!("expected WrongAccount, got {other}"),
    }
    assert!(
        text.contains("210987654321") && text.contains(SANDBOX_ACCOUNT),
        "{text}"
    );
}

/// Clients built for another region than the spec's are refused before any call.
#[test]
fn clients_in_another_region_are_refused_before_any_call() {
    let _sandbox = infra_tests::reading();
    let env = load_for_run("sandbox").unwrap();
    let mut connection = connection(&env).unwrap();
    connection.region = "us-east-1".into();
    runtime().block_on(async {
        let gate = Gate::connect(env, connection).await;
        let err = gate.confirm_identity().await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, IdentityError::WrongRegion { .. })
                && text.contains("eu-central-1")
                && text.contains("us-east-1"),
            "{text}"
        );
        assert_eq!(gate.aws().calls.snapshot().total_operations(), 0);
    });
}
