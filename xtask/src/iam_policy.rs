//! `cargo xtask iam-policy <env> [--drills]`: the least-privilege IAM policy
//! for the checks `<env>`'s spec enables (and with `--drills`, the drills'),
//! printed as JSON by `verify iam-policy`, which derives it from the
//! checks' and drills' declarations. The spec is validated first (exit 2
//! with `file:line:column`, nothing built); then `verify` is built and run.

use std::process::ExitCode;

use anyhow::Result;

use crate::CouldNotRun;
use crate::cargo::{build_tools, environments_dir, workspace_bin};
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
    build_tools()?;
    let mut command = std::process::Command::new(workspace_bin("verify"));
    command
        .arg("iam-policy")
        .arg(&flags.env)
        .arg("--spec-dir")
        .arg(environments_dir());
    if flags.drills {
        command.arg("--drills");
    }
    for (flag, path) in [
        ("--terraform-state", &flags.terraform_state),
        ("--terraform-outputs", &flags.terraform_outputs),
    ] {
        if let Some(path) = path {
            command.arg(flag).arg(path);
        }
    }
    Err(crate::verify::exec(command))
}

#[cfg(test)]
mod tests {
    use super::*;

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
