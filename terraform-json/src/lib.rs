//! Terraform's machine-readable output, read for what the gate judges.
//!
//! HashiCorp's supported interface is the JSON of `terraform show -json`
//! (of a saved plan, [`plan`], or of the state, [`state`]) and of
//! `terraform output -json` ([`outputs`]), never the raw `.tfstate`. The
//! format rules from its documentation hold for all three:
//! - `format_version` `0.x` and `1.x` are read; any other major version is
//!   refused ([`Error::UnsupportedVersion`]), never guessed at;
//! - properties this crate does not know are ignored (later minor versions
//!   add them).
//!
//! Only the fields a judgement needs are deserialised, borrowed from the
//! input where they can be (`Cow<str>`, `&RawValue`): a plan of tens of MB
//! is never built into a `serde_json::Value` tree.
//!
//! ```
//! let plan = br#"{"format_version":"1.2","terraform_version":"1.11.4",
//!   "resource_changes":[{"address":"aws_db_instance.core","mode":"managed",
//!   "type":"aws_db_instance","name":"core","change":{"actions":["no-op"]}}]}"#;
//! let plan = terraform_json::plan::Plan::parse(plan, "plan.json".as_ref()).unwrap();
//! assert!(plan.changes().is_empty());
//! ```

use std::path::{Path, PathBuf};

pub mod outputs;
pub mod plan;
pub mod state;

pub use outputs::Outputs;

/// Why a Terraform JSON file cannot be used. Each names the file; syntax and
/// shape errors name the line and column too.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// Not JSON, or JSON of another shape than Terraform writes.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A `format_version` whose major version this crate does not read.
    #[error(
        "{}: format_version {found:?} is not supported: this tool reads Terraform's JSON format 0.x and 1.x{}",
        file.display(),
        what.map(|w| format!(" ({w})")).unwrap_or_default()
    )]
    UnsupportedVersion {
        file: PathBuf,
        found: String,
        what: Option<&'static str>,
    },
    /// Valid JSON of the right version, but not the document asked for
    /// (e.g. a state given where a plan is expected).
    #[error("{}: {message}", file.display())]
    WrongDocument { file: PathBuf, message: String },
}

impl Error {
    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            Error::Read { file, .. }
            | Error::Invalid { file, .. }
            | Error::UnsupportedVersion { file, .. }
            | Error::WrongDocument { file, .. } => file,
        }
    }
}

/// Reads `file` whole (the documents are parsed borrowing from these bytes).
pub fn read(file: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(file).map_err(|source| Error::Read {
        file: file.to_path_buf(),
        source,
    })
}

/// A serde_json error at its line and column in `file`.
pub(crate) fn invalid(file: &Path, e: serde_json::Error, what: &str) -> Error {
    let message = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not valid JSON: {e}")
        }
        _ => format!("not {what} as Terraform writes it: {e}"),
    };
    // serde_json appends " at line L column C"; the position leads instead.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    Error::Invalid {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Accepts `0.x` and `1.x` (any minor); anything else is refused.
///
/// ```
/// use terraform_json::check_format_version;
/// assert!(check_format_version("1.2", "p.json".as_ref()).is_ok());
/// assert!(check_format_version("0.1", "p.json".as_ref()).is_ok());
/// assert!(check_format_version("2.0", "p.json".as_ref()).is_err());
/// assert!(check_format_version("one", "p.json".as_ref()).is_err());
/// ```
pub fn check_format_version(found: &str, file: &Path) -> Result<(), Error> {
    let refused = |what| Error::UnsupportedVersion {
        file: file.to_path_buf(),
        found: found.to_string(),
        what,
    };
    let (major, minor) = found.split_once('.').unwrap_or((found, ""));
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !number(major) || !number(minor) {
        return Err(refused(Some("not a MAJOR.MINOR version")));
    }
    match major.trim_start_matches('0') {
        "" | "1" => Ok(()),
        _ => Err(refused(None)),
    }
}

/// Parses a whole document of type `T` in one pass; only when that fails is
/// the `format_version` read on its own, so that a newer major version is
/// refused as such rather than as a shape error. `version` picks the
/// parsed document's version, which must then be 0.x or 1.x.
pub(crate) fn parse_document<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    file: &Path,
    what: &str,
    version: impl Fn(&T) -> &str,
) -> Result<T, Error> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(document) => {
            check_format_version(version(&document), file)?;
            Ok(document)
        }
        Err(e) => {
            format_version(bytes, file, what)?;
            Err(invalid(file, e, what))
        }
    }
}

/// The `format_version` of a document on its own (a newer major version is
/// refused as such rather than as a shape error).
pub(crate) fn format_version(bytes: &[u8], file: &Path, what: &str) -> Result<String, Error> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        format_version: Option<std::borrow::Cow<'a, str>>,
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|e| invalid(file, e, what))?;
    let version = head.format_version.ok_or_else(|| Error::WrongDocument {
        file: file.to_path_buf(),
        message: format!("no format_version: not {what} from `terraform show -json`"),
    })?;
    check_format_version(&version, file)?;
    Ok(version.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let f = Path::new("x.json");
        for ok in ["0.1", "0.2", "1.0", "1.2", "1.10", "01.3"] {
            assert!(check_format_version(ok, f).is_ok(), "{ok}");
        }
        for bad in ["2.0", "10.1", "", "1", "1.", "v1.0", "1.2.3", "-1.0"] {
            let e = check_format_version(bad, f).unwrap_err();
            assert!(e.to_string().starts_with("x.json: format_version"), "{e}");
        }
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = format_version(
            b"{\n  \"format_version\": \"1.0\",\n  oops\n}",
            "p.json".as_ref(),
            "a plan",
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("p.json:3:3: not valid JSON"), "{text}");
        assert!(!text.contains(" at line "), "{text}");
    }
}
