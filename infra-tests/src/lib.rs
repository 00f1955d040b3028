//! What the suites share: finding and loading an environment spec, pointing
//! a sandbox spec at the running sandbox (the library's
//! [`verify::sandbox::SandboxEndpoints`], read from the sandbox's
//! `state.json`), and fresh sandbox accounts for tests that break things.
//!
//! The gate itself runs through the library's runner ([`verify::run`]):
//! `tests/gate.rs` is its `cargo test` face, one trial per check id.

use std::path::PathBuf;

use anyhow::Result;
use verify::aws::Connection;
use verify::run::Target;
use verify::spec::inputs::TerraformFiles;
use verify::{Environment, Evidence, SpecError};

/// The environment a suite runs against: `VERIFY_ENV`, default `sandbox`.
pub fn environment_name() -> String {
    std::env::var("VERIFY_ENV").unwrap_or_else(|_| "sandbox".into())
}

/// `infra-tests/environments`.
pub fn environments_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("environments")
}

/// Loads `environments/<name>.hcl`, or the file `name` itself when it ends in `.hcl`.
pub fn load_environment(name: &str) -> Result<Environment, SpecError> {
    verify::spec::load(&verify::spec::resolve(name, &environments_dir()))
}

/// The environment `name` as a run's target: loaded, and a sandbox spec
/// pointed at the running sandbox (`target/sandbox/state.json`).
pub fn target(name: &str) -> Result<Target> {
    let path = verify::spec::resolve(name, &environments_dir());
    Ok(Target::load(
        &path,
        &TerraformFiles::default(),
        Some(&fixtures::sandbox::state_path()),
    )?)
}

/// The connection for `env`; a sandbox environment gets the running sandbox's
/// endpoint and static test credentials.
pub fn connection(env: &Environment) -> Result<Connection> {
    Ok(Target::new(
        env.clone(),
        &TerraformFiles::default(),
        Some(&fixtures::sandbox::state_path()),
    )?
    .connection)
}

/// An SDK configuration for the sandbox environment `env` as its operator:
/// a test arranges the world (a failover back home, an attribute flipped)
/// with its own clients, never with verify's guarded ones.
pub async fn operator(env: &Environment) -> aws_config::SdkConfig {
    verify::aws::sdk_config(&connection(env).expect("the sandbox is running")).await
}

/// Loads the named environment; a sandbox one is pointed at the running
/// sandbox's stand-ins.
pub fn load_for_run(name: &str) -> Result<Environment> {
    Ok(target(name)?.env)
}

/// This test reads the running sandbox: it shares it with other readers,
/// and waits while a test changes it ([`fixtures::sandbox::TestLock`]).
/// Hold it for the whole test; never with [`changing`] in one test.
pub fn reading() -> fixtures::sandbox::TestLock {
    fixtures::sandbox::TestLock::reading().expect("the sandbox's test lock")
}

/// This test changes what other tests read (the shared RDS data plane, the
/// pgbouncer tasks): it holds the sandbox alone.
pub fn changing() -> fixtures::sandbox::TestLock {
    fixtures::sandbox::TestLock::changing().expect("the sandbox's test lock")
}

mod accounts;
pub use accounts::{Account, fresh_account};
pub mod drills;
pub mod replay;

/// A multi-thread runtime for a test (each test owns its clients).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The value at `pointer` inside the typed evidence field its first segment
/// names: `/observed/…`, `/expected/…`, or `/details/<key>/…`.
///
/// ```
/// use serde_json::json;
/// let e = verify::Evidence::of("r").observed(json!({ "db": { "MultiAZ": false } }));
/// assert_eq!(infra_tests::evidence_at(&e, "/observed/db/MultiAZ"), Some(&json!(false)));
/// assert_eq!(infra_tests::evidence_at(&e, "/expected/db"), None);
/// ```
pub fn evidence_at<'a>(evidence: &'a Evidence, pointer: &str) -> Option<&'a serde_json::Value> {
    let (field, rest) = pointer.strip_prefix('/')?.split_once('/')?;
    let rest = format!("/{rest}");
    match field {
        "observed" => evidence.observed.pointer(&rest),
        "expected" => evidence.expected.pointer(&rest),
        "details" => {
            let (key, rest) = rest[1..].split_once('/').unwrap_or((&rest[1..], ""));
            let value = evidence.details.get(key)?;
            if rest.is_empty() {
                Some(value)
            } else {
                value.pointer(&format!("/{rest}"))
            }
        }
        _ => None,
    }
}
