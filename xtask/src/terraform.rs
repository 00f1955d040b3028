//! `--terraform-plan`, `--terraform-state`, `--terraform-outputs`: read and
//! refused here, before anything is built (exit 2 with the file and the
//! reason: not JSON at line:column, a newer major `format_version`, a state
//! given as a plan), then handed to the gate suite or the drill runner as
//! `VERIFY_TERRAFORM_*` (absolute paths).

use std::path::{Path, PathBuf};
use std::process::Command;

use terraform_json::Outputs;

use crate::CouldNotRun;

/// The Terraform files of one run, each read once and found usable.
#[derive(Debug, Default)]
pub struct TerraformFiles {
    pub plan: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub outputs_file: Option<PathBuf>,
    /// What the spec's `output.NAME` references read.
    pub outputs: Option<Outputs>,
}

impl TerraformFiles {
    pub fn read(
        plan: Option<&Path>,
        state: Option<&Path>,
        outputs: Option<&Path>,
    ) -> Result<TerraformFiles, CouldNotRun> {
        let refused = |e: terraform_json::Error| CouldNotRun(e.to_string());
        let plan = plan.map(absolute).transpose()?;
        let state = state.map(absolute).transpose()?;
        let outputs_file = outputs.map(absolute).transpose()?;
        if let Some(file) = &plan {
            let bytes = terraform_json::read(file).map_err(refused)?;
            terraform_json::plan::Plan::parse(&bytes, file).map_err(refused)?;
        }
        if let Some(file) = &state {
            let bytes = terraform_json::read(file).map_err(refused)?;
            terraform_json::state::State::parse(&bytes, file).map_err(refused)?;
        }
        let outputs =
            Outputs::for_run(outputs_file.as_deref(), state.as_deref()).map_err(refused)?;
        Ok(TerraformFiles {
            plan,
            state,
            outputs_file,
            outputs,
        })
    }

    /// Sets (or clears) `VERIFY_TERRAFORM_PLAN`, `_STATE` and `_OUTPUTS`.
    pub fn pass_to(&self, command: &mut Command) {
        for (name, value) in [
            ("VERIFY_TERRAFORM_PLAN", &self.plan),
            ("VERIFY_TERRAFORM_STATE", &self.state),
            ("VERIFY_TERRAFORM_OUTPUTS", &self.outputs_file),
        ] {
            match value {
                Some(path) => command.env(name, path),
                None => command.env_remove(name),
            };
        }
    }
}

fn absolute(path: &Path) -> Result<PathBuf, CouldNotRun> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .map_err(|e| CouldNotRun(format!("current directory: {e}")))
    }
}
