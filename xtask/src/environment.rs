//! The environment a command runs against, validated before anything is
//! built: an invalid spec is exit 2 with `file:line:column`, at once.

use envspec::Environment;

use crate::CouldNotRun;
use crate::cargo::{environments_dir, root};

/// Loads the spec named `name` (`infra-tests/environments/<name>.hcl`, or a
/// path ending in `.hcl`, relative to the workspace root); its `output.NAME`
/// references read `outputs`.
pub fn load(name: &str, outputs: Option<&envspec::Outputs>) -> Result<Environment, CouldNotRun> {
    let path = envspec::resolve(name, &environments_dir());
    let path = if path.is_absolute() {
        path
    } else {
        root().join(path)
    };
    envspec::load_with(&path, outputs).map_err(|e| CouldNotRun(e.to_string()))
}
