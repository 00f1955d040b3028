//! The environments a command runs against, validated before anything is
//! built: an invalid spec is exit 2 with `file:line:column`, at once.

use envspec::Environment;

use crate::CouldNotRun;
use crate::cargo::environments_dir;

/// Loads the spec named `name` (`infra-tests/environments/<name>.hcl`, or a
/// path ending in `.hcl`); its `output.NAME` references read `outputs`.
pub fn load(name: &str, outputs: Option<&envspec::Outputs>) -> Result<Environment, CouldNotRun> {
    let path = envspec::resolve(name, &environments_dir());
    envspec::load_with(&path, outputs).map_err(|e| CouldNotRun(e.to_string()))
}

/// Every spec `args` name (names, paths, globs: [`envspec::inputs::expand`]), loaded.
pub fn load_all(
    args: &[String],
    outputs: Option<&envspec::Outputs>,
) -> Result<Vec<Environment>, CouldNotRun> {
    envspec::inputs::expand(args, &environments_dir())
        .map_err(|e| CouldNotRun(e.to_string()))?
        .iter()
        .map(|file| envspec::load_with(file, outputs).map_err(|e| CouldNotRun(e.to_string())))
        .collect()
}
