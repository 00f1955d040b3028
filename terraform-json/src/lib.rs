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
//! All three files are read by one reader, [`read`], which takes a file as
//! a pipeline left it ([`decode`]): a byte-order mark is honoured (Windows
//! PowerShell's `>` writes UTF-16LE with one), and the output of
//! hashicorp/setup-terraform's wrapper (`[command]…` and `::set-output`
//! lines around Terraform's) is refused naming the fix
//! ([`Error::Wrapped`]), never half-read.
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
    /// Text in an encoding this reader does not decode (or cannot: a
    /// UTF-16 file cut in the middle of a character), with the fix.
    #[error("{}: {message}", file.display())]
    Encoding { file: PathBuf, message: String },
    /// The output of hashicorp/setup-terraform's wrapper (on by default),
    /// which prints `[command]…` and workflow-command lines (`::set-output`,
    /// `::debug::`) around what Terraform wrote.
    #[error(
        "{}:{line}: {found:?} is a line of hashicorp/setup-terraform's wrapper, not Terraform's JSON: \
         the file holds the wrapper's `[command]…` and `::set-output` lines around Terraform's output; \
         set `terraform_wrapper: false` on the setup-terraform step (or call the terraform binary directly) \
         and write the file again",
        file.display()
    )]
    Wrapped {
        file: PathBuf,
        /// The 1-based line of the first wrapper line found.
        line: usize,
        /// That line, cut to 60 characters.
        found: String,
    },
    /// Terraform's shape, but without a field the judgement needs (named in
    /// the message, with the entry it is missing from).
    #[error("{}: {message}", file.display())]
    Incomplete { file: PathBuf, message: String },
}

impl Error {
    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            Error::Read { file, .. }
            | Error::Invalid { file, .. }
            | Error::UnsupportedVersion { file, .. }
            | Error::WrongDocument { file, .. }
            | Error::Encoding { file, .. }
            | Error::Wrapped { file, .. }
            | Error::Incomplete { file, .. } => file,
        }
    }
}

/// Reads `file` whole and [`decode`]s it: the one reader of plans, states
/// and outputs (the documents are parsed borrowing from these bytes).
pub fn read(file: &Path) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(file).map_err(|source| Error::Read {
        file: file.to_path_buf(),
        source,
    })?;
    decode(bytes, file)
}

/// The bytes of a file as a pipeline left it, as UTF-8 JSON text.
///
/// - A UTF-8 byte-order mark is dropped (PowerShell's `Out-File -Encoding
///   utf8` writes one);
/// - UTF-16LE or UTF-16BE with a byte-order mark is decoded (Windows
///   PowerShell's `terraform show -json tfplan > plan.json` writes
///   UTF-16LE); one that is not valid UTF-16 is [`Error::Encoding`];
/// - a file that starts or ends with a line of hashicorp/setup-terraform's
///   wrapper (`[command]…`, `::set-output …`, `::debug::…`) is
///   [`Error::Wrapped`], naming `terraform_wrapper: false`.
///
/// Anything else is returned as it is, for the parser to judge.
///
/// ```
/// use terraform_json::{decode, Error};
/// let file = std::path::Path::new("plan.json");
/// let utf16: Vec<u8> = [0xFF, 0xFE].into_iter()
///     .chain("{}".encode_utf16().flat_map(u16::to_le_bytes)).collect();
/// assert_eq!(decode(utf16, file).unwrap(), b"{}");
/// let wrapped = b"[command]/usr/bin/terraform-bin show -json tfplan\n{}\n".to_vec();
/// let e = decode(wrapped, file).unwrap_err();
/// assert!(matches!(e, Error::Wrapped { line: 1, .. }));
/// assert!(e.to_string().contains("terraform_wrapper: false"));
/// ```
pub fn decode(bytes: Vec<u8>, file: &Path) -> Result<Vec<u8>, Error> {
    let text = match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes, "UTF-16LE", file)?,
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes, "UTF-16BE", file)?,
        [0xEF, 0xBB, 0xBF, ..] => {
            let mut bytes = bytes;
            bytes.drain(..3);
            bytes
        }
        _ => bytes,
    };
    // Cheap: only the first and the last line (the wrapper's `[command]`
    // line comes first, its `::set-output` lines last). A document that
    // fails to parse has every line looked at ([`diagnose`]).
    if let Some((line, found)) = wrapper_line(&text, false) {
        return Err(Error::Wrapped {
            file: file.to_path_buf(),
            line,
            found,
        });
    }
    Ok(text)
}

/// How to write the file as UTF-8 from PowerShell: the fix every
/// encoding refusal names.
const AS_UTF8: &str = "write it as UTF-8 (in PowerShell: \
    `terraform show -json tfplan | Out-File -Encoding utf8 plan.json`)";

/// `rest` (after the byte-order mark) as UTF-16 in the byte order `unit` reads.
fn utf16(
    rest: &[u8],
    unit: fn([u8; 2]) -> u16,
    encoding: &str,
    file: &Path,
) -> Result<Vec<u8>, Error> {
    let refused = |problem: String| Error::Encoding {
        file: file.to_path_buf(),
        message: format!(
            "the file starts with a {encoding} byte-order mark but is not {encoding} text ({problem}); {AS_UTF8}"
        ),
    };
    if !rest.len().is_multiple_of(2) {
        return Err(refused(format!(
            "{} bytes after the mark: a character is cut in half",
            rest.len()
        )));
    }
    let units = rest.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let mut text = String::with_capacity(rest.len() / 2);
    for (i, decoded) in char::decode_utf16(units).enumerate() {
        match decoded {
            Ok(c) => text.push(c),
            Err(e) => {
                return Err(refused(format!(
                    "an unpaired surrogate 0x{:04X} at byte {}",
                    e.unpaired_surrogate(),
                    2 + 2 * i
                )));
            }
        }
    }
    Ok(text.into_bytes())
}

/// Whether a line, leading blanks aside, is one hashicorp/setup-terraform's
/// wrapper writes: `[command]` (the command @actions/exec echoes) or a
/// workflow command (`::set-output`, `::debug::`…). No line of a JSON
/// document can start so (a string never spans lines), so this never
/// mistakes Terraform's own output.
fn is_wrapper_line(line: &[u8]) -> bool {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let line = &line[start..];
    line.starts_with(b"[command]") || line.starts_with(b"::")
}

/// The first wrapper line (1-based number, text cut to 60 characters):
/// of every line when `every`, else of the first and the last non-blank one.
fn wrapper_line(text: &[u8], every: bool) -> Option<(usize, String)> {
    let shown = |line: &[u8]| {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        match line.char_indices().nth(60) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line.to_string(),
        }
    };
    let blank = |line: &&[u8]| line.iter().all(u8::is_ascii_whitespace);
    if every {
        return text
            .split(|b| *b == b'\n')
            .enumerate()
            .find(|(_, line)| is_wrapper_line(line))
            .map(|(i, line)| (i + 1, shown(line)));
    }
    let first = text
        .split(|b| *b == b'\n')
        .enumerate()
        .find(|(_, line)| !blank(line));
    if let Some((i, line)) = first
        && is_wrapper_line(line)
    {
        return Some((i + 1, shown(line)));
    }
    let last = text.rsplit(|b| *b == b'\n').find(|line| !blank(line))?;
    if is_wrapper_line(last) {
        // Only now are the lines counted.
        let number = text
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !blank(line))
            .last()
            .map_or(1, |(i, _)| i + 1);
        return Some((number, shown(last)));
    }
    None
}

/// Why bytes that failed to parse are not JSON, when the reason is their
/// shape rather than their content: an encoding not decoded (bytes parsed
/// without [`decode`], or UTF-16 written without a byte-order mark), or a
/// wrapper line anywhere in the file.
pub(crate) fn diagnose(bytes: &[u8], file: &Path) -> Option<Error> {
    let encoding = |message: String| Error::Encoding {
        file: file.to_path_buf(),
        message,
    };
    match bytes {
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] | [0xEF, 0xBB, 0xBF, ..] => {
            return Some(encoding(
                "the file starts with a byte-order mark: read it with terraform_json::read (or decode), \
                 which decodes it"
                    .into(),
            ));
        }
        [first, 0, ..] if *first != 0 => {
            return Some(encoding(format!(
                "the file looks like UTF-16LE without a byte-order mark (every other byte is 0); {AS_UTF8}"
            )));
        }
        [0, second, ..] if *second != 0 => {
            return Some(encoding(format!(
                "the file looks like UTF-16BE without a byte-order mark (every other byte is 0); {AS_UTF8}"
            )));
        }
        _ => {}
    }
    wrapper_line(bytes, true).map(|(line, found)| Error::Wrapped {
        file: file.to_path_buf(),
        line,
        found,
    })
}

/// The resource's own `arn` attribute in `values` (an object of
/// attributes as Terraform records them), when it is a string. Other
/// attributes holding ARNs are references to other resources, never
/// read here.
pub(crate) fn own_arn(values: Option<&serde_json::value::RawValue>) -> Option<String> {
    let raw = values?.get();
    // Most objects without an `arn` are skipped without parsing them.
    if !raw.contains("\"arn\"") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Own {
        #[serde(default)]
        arn: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Own>(raw).ok()?.arn? {
        serde_json::Value::String(arn) => Some(arn),
        _ => None,
    }
}

/// A resource's own ARN, as a plan or state recorded it: what tells which
/// account and region the document is of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ResourceArn {
    /// `aws_db_instance.core`, `module.network.aws_nat_gateway.az["a"]`.
    pub address: String,
    /// The resource's `arn` attribute.
    pub arn: String,
}

/// Whether `version` (`1.15.0`, `1.8.0-beta1`, `0.12.31`) is at least
/// `major.minor`; `None` when it is not a version.
///
/// ```
/// use terraform_json::version_at_least;
/// assert_eq!(version_at_least("1.15.0", 1, 8), Some(true));
/// assert_eq!(version_at_least("1.8.0-beta1", 1, 8), Some(true));
/// assert_eq!(version_at_least("0.12.31", 1, 8), Some(false));
/// assert_eq!(version_at_least("dev", 1, 8), None);
/// ```
pub fn version_at_least(version: &str, major: u64, minor: u64) -> Option<bool> {
    let mut parts = version.trim_start_matches('v').split(['.', '-']);
    let number = |p: Option<&str>| p.and_then(|p| p.parse::<u64>().ok());
    let found = (number(parts.next())?, number(parts.next())?);
    Some(found >= (major, minor))
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
    let head: Head = serde_json::from_slice(bytes)
        .map_err(|e| diagnose(bytes, file).unwrap_or_else(|| invalid(file, e, what)))?;
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

    fn plans() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/terraform/plans")
    }

    /// A file in a fresh directory of this test process.
    fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("terraform-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        file
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    /// Windows PowerShell's `>`: the same plan as the UTF-8 one, decoded.
    #[test]
    fn a_powershell_utf16le_plan_reads_as_its_utf8_original() {
        let utf16 = read(&plans().join("noop_utf16le.json")).unwrap_or_else(|e| panic!("{e}"));
        let original = read(&plans().join("noop.json")).unwrap();
        let as_value = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
        assert_eq!(as_value(&utf16), as_value(&original));
        let plan = plan::Plan::parse(&utf16, "noop_utf16le.json".as_ref()).unwrap();
        assert_eq!(plan.resource_changes.len(), 5);
    }

    #[test]
    fn byte_order_marks_are_honoured_and_broken_utf16_is_refused_naming_the_fix() {
        let f = Path::new("plan.json");
        let text = "{\"format_version\":\"1.2\",\"x\":\"é ☃ 𝄞\"}";
        assert_eq!(decode(utf16(text, false), f).unwrap(), text.as_bytes());
        assert_eq!(decode(utf16(text, true), f).unwrap(), text.as_bytes());
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(text.as_bytes());
        assert_eq!(decode(bom, f).unwrap(), text.as_bytes());
        assert_eq!(
            decode(text.as_bytes().to_vec(), f).unwrap(),
            text.as_bytes()
        );

        let mut odd = utf16(text, false);
        odd.push(b'\n');
        let e = decode(odd, f).unwrap_err();
        assert!(matches!(e, Error::Encoding { .. }), "{e}");
        let e = e.to_string();
        assert!(
            e.starts_with("plan.json: the file starts with a UTF-16LE byte-order mark"),
            "{e}"
        );
        assert!(
            e.contains("cut in half") && e.contains("Out-File -Encoding utf8"),
            "{e}"
        );
        let mut lone = vec![0xFF, 0xFE];
        lone.extend([0x7B, 0x00, 0x00, 0xD8, 0x7D, 0x00]);
        let e = decode(lone, f).unwrap_err().to_string();
        assert!(e.contains("unpaired surrogate 0xD800 at byte 4"), "{e}");

        // Bytes parsed without the reader, or UTF-16 without a mark: named, not "not JSON".
        let e = plan::Plan::parse(&utf16(text, false), f).unwrap_err();
        assert!(
            e.to_string()
                .contains("byte-order mark: read it with terraform_json::read"),
            "{e}"
        );
        let no_bom = utf16(text, false)[2..].to_vec();
        let e = plan::Plan::parse(&no_bom, f).unwrap_err().to_string();
        assert!(
            e.contains("UTF-16LE without a byte-order mark") && e.contains("Out-File"),
            "{e}"
        );
        let e = state::State::parse(&utf16(text, true)[2..], f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("UTF-16BE without a byte-order mark"), "{e}");
    }

    /// hashicorp/setup-terraform's wrapper: refused wherever its lines are,
    /// naming the line and `terraform_wrapper: false`.
    #[test]
    fn the_setup_terraform_wrapper_s_output_is_refused_naming_terraform_wrapper_false() {
        let file = plans().join("noop_setup_terraform_wrapper.json");
        let e = read(&file).unwrap_err();
        assert!(matches!(e, Error::Wrapped { line: 1, .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{}:1: \"[command]/home/runner/", file.display())),
            "{text}"
        );
        assert!(text.contains("set `terraform_wrapper: false`"), "{text}");

        let json = std::fs::read_to_string(plans().join("noop.json")).unwrap();
        let f = Path::new("plan.json");
        // Only the trailing lines left (the `[command]` line cut by hand).
        let trailing = format!(
            "{json}::debug::Terraform exited with code 0.\n::set-output name=exitcode::0\n\n"
        );
        let line = json.lines().count() + 2;
        let e = decode(trailing.into_bytes(), f).unwrap_err();
        assert!(
            matches!(e, Error::Wrapped { line: l, .. } if l == line),
            "{e}"
        );
        assert!(
            e.to_string().contains("\"::set-output name=exitcode::0\""),
            "{e}"
        );
        // A wrapper line in the middle: found when the document fails to parse.
        let middle = format!("{json}::debug::stderr: \n{json}");
        let bytes = decode(middle.into_bytes(), f).unwrap();
        let e = plan::Plan::parse(&bytes, f).unwrap_err();
        assert!(matches!(e, Error::Wrapped { .. }), "{e}");
        // Terraform's own JSON, pretty-printed or not, is never taken for it.
        assert!(decode(json.clone().into_bytes(), f).is_ok());
        let state = r#"{"format_version":"1.0","values":{"outputs":{"m":{"sensitive":false,"type":"string","value":"::set-output [command]"}}}}"#;
        assert!(decode(state.as_bytes().to_vec(), f).is_ok());
    }

    /// One reader for all three documents: a state and `terraform output
    /// -json` saved by PowerShell read too, and each refuses the wrapper.
    #[test]
    fn the_state_and_the_outputs_share_the_reader() {
        let state = r#"{"format_version":"1.0","values":{"outputs":{"rds_identifier":{"sensitive":false,"type":"string","value":"restartix-production"}},"root_module":{"resources":[]}}}"#;
        let outputs = r#"{"rds_identifier":{"sensitive":false,"type":"string","value":"restartix-production"}}"#;
        let state_file = scratch("state.json", &utf16(&format!("{state}\r\n"), false));
        let outputs_file = scratch("outputs.json", &utf16(&format!("{outputs}\r\n"), false));
        let from_state = Outputs::from_state(&state_file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            from_state.string("rds_identifier"),
            Some("restartix-production")
        );
        let loaded = Outputs::load(&outputs_file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            loaded.string("rds_identifier"),
            Some("restartix-production")
        );

        let wrapped = |doc: &str| {
            format!(
                "[command]/opt/hostedtoolcache/terraform-bin output -json\n{doc}\n::set-output name=exitcode::0\n"
            )
        };
        let e = Outputs::load(&scratch("w-outputs.json", wrapped(outputs).as_bytes())).unwrap_err();
        assert!(e.to_string().contains("terraform_wrapper: false"), "{e}");
        let e =
            Outputs::from_state(&scratch("w-state.json", wrapped(state).as_bytes())).unwrap_err();
        assert!(e.to_string().contains("terraform_wrapper: false"), "{e}");
        let e = Outputs::parse(wrapped(outputs).as_bytes(), "o.json".as_ref()).unwrap_err();
        assert!(matches!(e, Error::Wrapped { line: 1, .. }), "{e}");
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
