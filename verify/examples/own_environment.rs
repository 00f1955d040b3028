//! A team's own tests of its own environment with the `verify` library, as
//! Terratest users write theirs: ordinary `#[test]`s that connect to the
//! account the spec declares (read-only), confirm whose credentials they
//! hold, and assert the checks they care about.
//!
//! ```sh
//! VERIFY_SPEC=environments/production.hcl \
//!   cargo test -p verify --example own_environment -- --ignored
//! ```
//!
//! CI compiles it (it needs AWS credentials for the spec's account to run).

fn main() {
    eprintln!("run it as tests: cargo test -p verify --example own_environment -- --ignored");
}

#[cfg(test)]
mod tests {
    use verify::aws::Connection;
    use verify::{Environment, Gate, Selection, Status};

    fn environment() -> Environment {
        // The spec's path, not a secret (verify/clippy.toml keeps the
        // library's own reads to its secrets).
        #[allow(clippy::disallowed_methods)]
        let path = std::env::var("VERIFY_SPEC").expect("VERIFY_SPEC names the spec file");
        verify::spec::load(path.as_ref()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `body` against a read-only gate over the spec's account.
    fn with_gate(body: impl AsyncFnOnce(Gate)) {
        let env = environment();
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let gate = Gate::connect(env.clone(), Connection::for_environment(&env)).await;
                gate.confirm_identity()
                    .await
                    .expect("credentials for the declared account and region");
                body(gate).await;
            });
    }

    #[test]
    #[ignore = "needs AWS credentials for the spec's account"]
    fn the_database_survives_an_az() {
        with_gate(async |gate| {
            let outcome = gate.run_id("rds.multi_az").await.expect("a catalogue id");
            assert_eq!(outcome.status, Status::Pass, "{}", outcome.message);
        });
    }

    #[test]
    #[ignore = "needs AWS credentials for the spec's account"]
    fn every_edge_check_passes() {
        with_gate(async |gate| {
            let edge = Selection::new(&["edge.*".into(), "cloudflare.*".into()], &[])
                .expect("valid globs");
            for outcome in gate.run(&edge, |_| {}).await {
                assert!(
                    !outcome.status.blocks_go(),
                    "{}: {}",
                    outcome.id,
                    outcome.message
                );
            }
        });
    }
}
