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

/// The environments `args` name, in order: a name or a `.hcl` path is kept
/// as given; a glob (`*`, `?`, `[…]`, `{…}`) is expanded, sorted — over
/// `infra-tests/environments/<glob>.hcl` for a bare name glob (`'stag*'`),
/// over the files of its directory for a path glob
/// (`'infra-tests/environments/*.hcl'`, only the file name may be a glob). A
/// glob matching nothing is exit 2.
pub fn expand(args: &[String]) -> Result<Vec<String>, CouldNotRun> {
    let mut out = Vec::new();
    for arg in args {
        if !is_glob(arg) {
            out.push(arg.clone());
            continue;
        }
        let bad = |e: String| CouldNotRun(format!("invalid environment glob {arg:?}: {e}"));
        let path = std::path::Path::new(arg);
        let name_glob = !arg.contains('/') && !arg.ends_with(".hcl");
        let (dir, file_glob) = if name_glob {
            (environments_dir(), format!("{arg}.hcl"))
        } else {
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .ok_or_else(|| bad("no file name".into()))?;
            let dir = path.parent().unwrap_or(std::path::Path::new(""));
            if is_glob(&dir.display().to_string()) {
                return Err(bad("only the file name may be a glob".into()));
            }
            let dir = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                root().join(dir)
            };
            (dir, file.to_string())
        };
        let matcher = globset::Glob::new(&file_glob)
            .map_err(|e| bad(e.to_string()))?
            .compile_matcher();
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| bad(format!("cannot read {}: {e}", dir.display())))?;
        let mut found: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .filter(|f| matcher.is_match(f))
            .map(|f| {
                if name_glob {
                    f.trim_end_matches(".hcl").to_string()
                } else {
                    dir.join(f).display().to_string()
                }
            })
            .collect();
        if found.is_empty() {
            return Err(CouldNotRun(format!(
                "no environment matches {arg:?} (in {})",
                dir.display()
            )));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '[', '{'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_expand_over_names_and_paths() {
        let names = expand(&["s*".into()]).unwrap();
        assert_eq!(names, ["sandbox", "staging"]);
        let paths = expand(&["infra-tests/environments/*.hcl".into()]).unwrap();
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert!(paths[0].ends_with("infra-tests/environments/production.hcl"));
        assert_eq!(
            expand(&["sandbox".into(), "x/y.hcl".into()]).unwrap(),
            ["sandbox", "x/y.hcl"]
        );
        assert!(
            expand(&["nomatch*".into()])
                .unwrap_err()
                .0
                .contains("no environment matches")
        );
        assert!(expand(&["infra-*/environments/*.hcl".into()]).is_err());
    }
}
