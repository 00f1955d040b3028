//! `envspec <name-or-path.hcl>`: validates an environment spec and prints what
//! the harness needs to know about it as JSON (`sandbox`, `drills_allowed`).
//! An invalid spec prints `file:line:column: message` and exits 2.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("usage: envspec <environment name or path to .hcl>");
        return ExitCode::from(2);
    };
    match infra_tests::load_environment(&name) {
        Ok(env) => {
            let summary = serde_json::json!({
                "environment": env.name,
                "region": env.region,
                "account_id": env.account_id,
                "sandbox": env.aws.sandbox,
                "drills_allowed": env.drills.allowed,
                "source": env.source,
            });
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
