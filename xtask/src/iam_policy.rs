//! `cargo xtask iam-policy <env> [--drills]`: the least-privilege IAM policy
//! for the checks `<env>`'s spec enables (and with `--drills`, the drills'
//! writes), printed as JSON. The table is `iam-policy`'s, shared with the
//! sandbox test that proves it against every recorded operation. Nothing is
//! built and nothing is called: the spec is validated (exit 2 with
//! `file:line:column`) and the policy printed.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::CouldNotRun;
use crate::flags::IamPolicy;

pub fn run(flags: &IamPolicy) -> Result<ExitCode> {
    let terraform = envspec::inputs::TerraformFiles::read(
        None,
        flags.terraform_state.as_deref(),
        flags.terraform_outputs.as_deref(),
    )
    .map_err(|e| CouldNotRun(e.to_string()))?;
    let env = crate::environment::load(&flags.env, terraform.outputs.as_ref())?;
    if flags.drills && !env.drills.allowed {
        return Err(CouldNotRun(format!(
            "environment '{}' does not allow drills (`drills {{ allowed = true }}`): no drill policy to print",
            flags.env
        ))
        .into());
    }
    let text = iam_policy::render(&env, flags.drills);
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_policy_renders_as_an_iam_document() {
        let env = crate::environment::load("sandbox", None).expect("sandbox spec");
        let text = iam_policy::render(&env, true);
        assert!(
            text.starts_with("{\n  \"Version\": \"2012-10-17\""),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["Version"], "2012-10-17");
        let sids: Vec<&str> = back["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert!(
            sids.contains(&"ReadWithoutResourceLevelPermissions"),
            "{sids:?}"
        );
        assert!(sids.contains(&"DrillRdsFailoverReboot"), "{sids:?}");
    }

    #[test]
    fn a_bad_spec_is_refused_with_its_position() {
        let dir = std::env::temp_dir().join(format!("iam-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.hcl");
        std::fs::write(&bad, "environment = \"x\"\nregion = 3\n").unwrap();
        let err = run(&IamPolicy {
            env: bad.display().to_string(),
            drills: false,
            terraform_state: None,
            terraform_outputs: None,
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad.hcl:2:"), "{text}");
        assert!(err.downcast_ref::<CouldNotRun>().is_some());
    }
}
