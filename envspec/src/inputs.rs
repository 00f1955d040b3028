//! The files a run is given besides its spec, read and refused before
//! anything runs (exit 2 naming the file and the reason), and the spec
//! arguments expanded: shared by `verify` (which runs them) and `cargo
//! xtask` (which refuses bad input before it builds anything).

use std::path::{Path, PathBuf};

use terraform_json::Outputs;

/// Why an input cannot be used: a message naming the file (or argument) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// `--terraform-plan`, `--terraform-state`, `--terraform-outputs` of one
/// run, each read once and found usable (not JSON at line:column, a newer
/// major `format_version`, a state given as a plan: refused).
#[derive(Debug, Default, Clone)]
pub struct TerraformFiles {
    pub plan: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub outputs_file: Option<PathBuf>,
    /// What the spec's `output.NAME` references read.
    pub outputs: Option<Outputs>,
}

impl TerraformFiles {
    /// Reads and checks each file given (relative paths are made absolute
    /// against the current directory).
    ///
    /// ```
    /// let none = envspec::inputs::TerraformFiles::read(None, None, None).unwrap();
    /// assert!(none.plan.is_none() && none.outputs.is_none());
    /// let err = envspec::inputs::TerraformFiles::read(Some("no/such/plan.json".as_ref()), None, None);
    /// assert!(err.unwrap_err().to_string().contains("plan.json"));
    /// ```
    pub fn read(
        plan: Option<&Path>,
        state: Option<&Path>,
        outputs: Option<&Path>,
    ) -> Result<TerraformFiles, InputError> {
        let refused = |e: terraform_json::Error| InputError(e.to_string());
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

    /// The plan's `resource_changes` whole, for the run's evidence digest;
    /// `None` without a plan.
    pub fn plan_resource_changes(&self) -> Result<Option<serde_json::Value>, InputError> {
        let Some(file) = &self.plan else {
            return Ok(None);
        };
        let refused = |e: terraform_json::Error| InputError(e.to_string());
        let bytes = terraform_json::read(file).map_err(refused)?;
        terraform_json::plan::resource_changes(&bytes, file)
            .map(Some)
            .map_err(refused)
    }

    /// Whether any file was given.
    pub fn any(&self) -> bool {
        self.plan.is_some() || self.state.is_some() || self.outputs_file.is_some()
    }
}

/// `path` made absolute against the current directory.
pub fn absolute(path: &Path) -> Result<PathBuf, InputError> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .map_err(|e| InputError(format!("current directory: {e}")))
    }
}

/// The spec files `args` name, in order, each once: a bare name is
/// `<spec_dir>/<name>.hcl`, a path ending in `.hcl` is itself; a glob (`*`,
/// `?`, `[…]`, `{…}`) is expanded, sorted — over `<spec_dir>/<glob>.hcl` for
/// a bare name glob (`'stag*'`), over the files of its directory for a path
/// glob (`'environments/*.hcl'`, only the file name may be a glob). A glob
/// matching nothing is an error.
///
/// ```
/// use std::path::Path;
/// let dir = Path::new("/specs");
/// let files = envspec::inputs::expand(&["production".into(), "ci/x.hcl".into()], dir).unwrap();
/// assert_eq!(files, [Path::new("/specs/production.hcl"), Path::new("ci/x.hcl")]);
/// ```
pub fn expand(args: &[String], spec_dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut out: Vec<PathBuf> = Vec::new();
    for arg in args {
        let found = if is_glob(arg) {
            expand_glob(arg, spec_dir)?
        } else {
            vec![crate::resolve(arg, spec_dir)]
        };
        for file in found {
            if !out.contains(&file) {
                out.push(file);
            }
        }
    }
    Ok(out)
}

fn expand_glob(arg: &str, spec_dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let bad = |e: String| InputError(format!("invalid environment glob {arg:?}: {e}"));
    let path = Path::new(arg);
    let name_glob = !arg.contains('/') && !arg.ends_with(".hcl");
    let (dir, file_glob) = if name_glob {
        (spec_dir.to_path_buf(), format!("{arg}.hcl"))
    } else {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .ok_or_else(|| bad("no file name".into()))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        if is_glob(&dir.display().to_string()) {
            return Err(bad("only the file name may be a glob".into()));
        }
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        (dir.to_path_buf(), file.to_string())
    };
    let matcher = globset::Glob::new(&file_glob)
        .map_err(|e| bad(e.to_string()))?
        .compile_matcher();
    let entries =
        std::fs::read_dir(&dir).map_err(|e| bad(format!("cannot read {}: {e}", dir.display())))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter(|e| e.file_name().to_str().is_some_and(|f| matcher.is_match(f)))
        .map(|e| dir.join(e.file_name()))
        .collect();
    if found.is_empty() {
        return Err(InputError(format!(
            "no environment matches {arg:?} (in {})",
            dir.display()
        )));
    }
    found.sort();
    Ok(found)
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '[', '{'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("infra-tests")
            .join("environments")
    }

    #[test]
    fn globs_expand_over_names_and_paths() {
        let dir = specs();
        let names = expand(&["s*".into()], &dir).unwrap();
        assert_eq!(names, [dir.join("sandbox.hcl"), dir.join("staging.hcl")]);
        let glob = format!("{}/*.hcl", dir.display());
        let paths = expand(&[glob], &dir).unwrap();
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert!(paths[0].ends_with("production.hcl"));
        // The same file twice is one environment.
        assert_eq!(
            expand(&["sandbox".into(), "s*".into()], &dir).unwrap(),
            [dir.join("sandbox.hcl"), dir.join("staging.hcl")]
        );
        assert!(
            expand(&["nomatch*".into()], &dir)
                .unwrap_err()
                .0
                .contains("no environment matches")
        );
        assert!(expand(&["infra-*/environments/*.hcl".into()], &dir).is_err());
    }
}
