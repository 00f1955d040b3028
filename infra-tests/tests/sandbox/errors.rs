//! `error`, never `pass`: when a check cannot look, it says so, names the
//! AWS operation, and does it in bounded time.
//!
//! An unreachable endpoint and an unknown instance use the real SDK; what no
//! local part can produce (AccessDenied, throttling past every retry) is
//! tested with the official `aws-smithy-mocks` beside the AWS module
//! (`verify/src/aws/tests.rs`).

use std::time::{Duration, Instant};

use infra_tests::{Account, connection, load_environment, runtime};
use verify::{Gate, Selection, Status};

fn sandbox_env() -> verify::Environment {
    load_environment("sandbox").expect("sandbox spec")
}

#[test]
fn an_unreachable_endpoint_is_an_error_in_bounded_time() {
    let _sandbox = infra_tests::reading();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = sandbox_env();
    env.aws.max_attempts = 2;
    env.aws.operation_timeout = Duration::from_secs(8);
    let mut conn = verify::aws::Connection::for_environment(&env);
    conn.access.endpoint = Some(format!("http://127.0.0.1:{closed_port}"));
    conn.static_credentials = Some(("testing".into(), "testing".into()));
    let started = Instant::now();
    let outcomes = runtime().block_on(async {
        Gate::connect(env, conn)
            .await
            .run(&Selection::all(), |_| {})
            .await
    });
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    for outcome in outcomes
        .iter()
        .filter(|o| o.id.starts_with("rds.") || o.id.starts_with("budgets."))
    {
        assert_eq!(
            outcome.status,
            Status::Error,
            "{}: {}",
            outcome.id,
            outcome.message
        );
        assert!(
            outcome.message.contains("rds:DescribeDBInstances")
                || outcome.message.contains("rds:DescribeDBSnapshots")
                || outcome.message.contains("budgets:Describe"),
            "{}: {}",
            outcome.id,
            outcome.message
        );
    }
}

#[test]
fn an_unknown_instance_is_an_error_naming_it() {
    let _sandbox = infra_tests::reading();
    let outcome = runtime().block_on(async {
        let mut account = Account::seeded(&[]).await.expect("account");
        account.env.rds[0].identifier = "restartix-sandbox-typo".into();
        account.check("rds.multi_az").await
    });
    assert_eq!(outcome.status, Status::Error, "{}", outcome.message);
    assert!(
        outcome.message.contains("rds:DescribeDBInstances"),
        "{}",
        outcome.message
    );
    assert!(
        outcome
            .message
            .contains("'restartix-sandbox-typo' not found"),
        "{}",
        outcome.message
    );
}

/// The suite's own harness fails loudly, not green, when the sandbox spec cannot reach AWS.
#[test]
fn the_sandbox_connection_needs_a_running_sandbox_or_says_so() {
    let _sandbox = infra_tests::reading();
    let env = sandbox_env();
    match connection(&env) {
        Ok(conn) => assert!(
            conn.access
                .endpoint
                .is_some_and(|e| e.starts_with("http://127.0.0.1:"))
        ),
        Err(e) => assert!(e.to_string().contains("cargo xtask sandbox up"), "{e}"),
    }
}
