//! Fresh sandbox accounts for tests that break things: each test seeds the
//! good environment into an account of its own, applies its breaks, and
//! checks through an assumed role, as in production.

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use fixtures::{SandboxState, SeedTarget};
use verify::aws::Connection;
use verify::{Environment, Gate, Outcome};

use crate::{connection, load_for_run};

/// A fresh 12-digit moto account id, unique per process and call.
pub fn fresh_account() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("9{:06}{:05}", std::process::id() % 1_000_000, n % 100_000)
}

/// A seeded sandbox account of its own, and the sandbox environment spec
/// pointed at it (through an assumed role, as in production).
pub struct Account {
    pub target: SeedTarget,
    pub env: Environment,
    pub connection: Connection,
}

impl Account {
    /// Seeds the good environment into a fresh account, then applies `breaks`.
    pub async fn seeded(breaks: &[&str]) -> Result<Account> {
        let state = SandboxState::load()?
            .context("the sandbox is not running: run `cargo xtask sandbox up`")?;
        let account = fresh_account();
        let target = SeedTarget {
            endpoint: state.aws_endpoint_url.clone(),
            account: account.clone(),
        };
        // Boxed: these state machines are large, and a test thread's stack is 2 MiB.
        Box::pin(fixtures::seed::seed(&target))
            .await
            .context("seeding a fresh account")?;
        for b in breaks {
            Box::pin(fixtures::breaks::apply(&target, b))
                .await
                .with_context(|| format!("applying break {b}"))?;
        }
        let mut env = load_for_run("sandbox")?;
        env.account_id = account.clone();
        env.aws.assume_role = target.role_arn();
        let connection = connection(&env)?;
        Ok(Account {
            target,
            env,
            connection,
        })
    }

    /// A read-only gate over this account.
    pub async fn gate(&self) -> Gate {
        Gate::connect(self.env.clone(), self.connection.clone()).await
    }

    /// Runs one check by id.
    pub async fn check(&self, id: &str) -> Outcome {
        self.gate()
            .await
            .run_id(id)
            .await
            .unwrap_or_else(|| panic!("no check {id} in the catalogue"))
    }
}
