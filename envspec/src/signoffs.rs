//! The sign-offs file (`cargo xtask verify --signoffs FILE`): the launch
//! sign-offs people give and the manual checklist items no machine can check,
//! strictly parsed, every error at `file:line:column`.
//!
//! ```hcl
//! # Roles that must sign even if no block below names them (optional).
//! require = ["Engineering", "Regulatory", "Operations", "Customer Success", "Commercial"]
//!
//! signoff "engineering" {
//!   role      = "Engineering"
//!   owner     = "Head of Engineering"
//!   confirms  = "All automated checks green; drills run on staging"
//!   # Given: signed_by, date and evidence together. Without them the
//!   # sign-off is declared but not given (missing).
//!   signed_by = "Ana Pop"
//!   date      = "2026-12-01"
//!   evidence  = "https://wiki.example/launch/eng"
//!   expires   = "2026-12-31"   # optional: after this day (UTC) it is missing again
//!   # Optional: the run approved (`verify run` prints its evidence digest).
//!   # A run whose digest differs makes this sign-off stale (no-go).
//!   evidence_digest = "sha256:<64 lowercase hex digits>"
//! }
//!
//! manual "dpa-countersigned" {
//!   group    = "Regulatory"    # the launch-gate group it belongs to
//!   item     = "DPA countersigned with every clinic"
//!   done     = true
//!   done_by  = "Ioana Marin"   # required when done = true
//!   evidence = "https://wiki.example/launch/dpa"   # required when done = true
//! }
//! ```
//!
//! Every role that is required — listed in `require` or named by a
//! `signoff` block — must have a given, unexpired sign-off; every `manual`
//! item must be done. [`Signoffs::judge`] says what is missing on a given day.
//!
//! ```
//! use envspec::signoffs::{self, Date};
//! let file = signoffs::parse(
//!     r#"
//!     require = ["Engineering", "Commercial"]
//!     signoff "eng" {
//!       role = "Engineering"
//!       owner = "Head of Engineering"
//!       confirms = "checks green"
//!       signed_by = "Ana Pop"
//!       date = "2026-12-01"
//!       evidence = "https://wiki.example/eng"
//!     }
//!     "#,
//!     "signoffs.hcl".as_ref(),
//! )
//! .unwrap();
//! let judged = file.judge(Date::parse("2026-12-02").unwrap());
//! assert!(!judged.complete());
//! assert_eq!(judged.missing_roles(), ["Commercial"]);
//! ```

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, BlockLabel, Structure};

/// Why a sign-offs file could not be used. Displayed as `file:line:column: message`.
#[derive(Debug, thiserror::Error)]
pub enum SignoffsError {
    #[error("{}: cannot read sign-offs file: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A calendar date, `YYYY-MM-DD` (always a real day of the Gregorian calendar).
///
/// A thin wrapper over [`jiff::civil::Date`]: jiff does the calendar (which
/// days exist, leap years, the UTC day of an instant) instead of hand-written
/// arithmetic, built without its tz database since every date here is UTC.
/// The wrapper keeps the input strict: jiff's own parser also accepts other
/// ISO 8601 / Temporal forms (`20260105`, `2026-01-05T10:00`, `+002026-01-05`),
/// which a date in a sign-offs file must not be.
///
/// ```
/// use envspec::signoffs::Date;
/// let d = Date::parse("2028-02-29").unwrap();
/// assert_eq!(d.to_string(), "2028-02-29");
/// assert!(Date::parse("2027-02-29").is_none());
/// assert!(Date::parse("2026-1-05").is_none());
/// assert!(Date::parse("2026-01-05").unwrap() < d);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

impl Date {
    /// `YYYY-MM-DD` exactly (four, two and two digits), a day that exists.
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: Range<usize>| -> Option<i16> {
            let part = &b[r];
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(part.iter().fold(0, |n, c| n * 10 + i16::from(c - b'0')))
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        // jiff's calendar has a year 0 (1 BCE); `0000` is no day anyone signs on.
        if year == 0 {
            return None;
        }
        // Month and day are two digits (0..=99), so they fit an i8; jiff
        // refuses any month or day that does not exist (2027-02-29, 2026-04-31).
        jiff::civil::Date::new(year, month as i8, day as i8)
            .ok()
            .map(Date)
    }

    /// The UTC date of `time` (a time before 1970 reads as 1970-01-01; one
    /// past jiff's last instant, late on 9999-12-30 UTC, as 9999-12-30).
    ///
    /// ```
    /// use envspec::signoffs::Date;
    /// let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
    /// assert_eq!(Date::utc(t).to_string(), "2026-11-18");
    /// ```
    pub fn utc(time: std::time::SystemTime) -> Date {
        let time = time.max(std::time::UNIX_EPOCH);
        let instant = jiff::Timestamp::try_from(time).unwrap_or(jiff::Timestamp::MAX);
        Date(jiff::tz::Offset::UTC.to_datetime(instant).date())
    }

    /// Today's date in UTC.
    pub fn today() -> Date {
        Date::utc(std::time::SystemTime::now())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Years 1..=9999 only (parse and utc see to it): jiff prints them as
        // four digits, `YYYY-MM-DD`, the form parse reads back.
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

/// A whole sign-offs file.
#[derive(Debug, Clone, PartialEq)]
pub struct Signoffs {
    /// `require = [...]`: roles that must sign, declared or not.
    pub require: Vec<String>,
    /// The `signoff "<label>"` blocks, in file order.
    pub signoffs: Vec<Signoff>,
    /// The `manual "<label>"` blocks, in file order.
    pub manual: Vec<ManualItem>,
    /// The file this was read from.
    pub source: PathBuf,
}

/// `signoff "<label>" { … }`: one role's sign-off.
#[derive(Debug, Clone, PartialEq)]
pub struct Signoff {
    pub label: String,
    /// The role signing (`Engineering`); one block per role.
    pub role: String,
    /// Who is accountable for this sign-off (a position, `Head of Engineering`).
    pub owner: String,
    /// What signing confirms.
    pub confirms: String,
    /// Present when the sign-off was given: who signed, when, and where the evidence is.
    pub given: Option<Given>,
    /// The last day (UTC) the sign-off holds; after it the role is missing again.
    pub expires: Option<Date>,
}

/// Who gave a sign-off, when, and the link to what they looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub signed_by: String,
    pub date: Date,
    pub evidence: String,
    /// The evidence digest of the run approved (`sha256:…`, as `verify run`
    /// prints it); `None`: the sign-off holds for any run.
    pub evidence_digest: Option<String>,
}

/// `manual "<label>" { … }`: a checklist item no machine can check.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualItem {
    pub label: String,
    /// The launch-gate group it belongs to (`Regulatory`, `Operations`…).
    pub group: String,
    /// What must be true.
    pub item: String,
    /// Who did it and the evidence link, when done.
    pub done: Option<Done>,
}

/// Who did a manual item, and where it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub done_by: String,
    pub evidence: String,
}

/// Where one required role stands on the day judged.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleState<'a> {
    /// Signed and not expired.
    Given(&'a Signoff),
    /// A block declares it, but nobody signed.
    NotSigned(&'a Signoff),
    /// Signed, but its `expires` day has passed.
    Expired(&'a Signoff),
    /// Dated after the day judged: not given yet, whatever else it says.
    DatedAhead(&'a Signoff),
    /// Required (`require`) with no block at all.
    NoBlock,
}

/// [`Signoffs::judge`]: every required role with its state, and every manual item.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged<'a> {
    /// The day judged against (UTC).
    pub today: Date,
    /// Required roles in order: `require` first, then roles only blocks name.
    pub roles: Vec<(String, RoleState<'a>)>,
    pub manual: &'a [ManualItem],
}

impl Judged<'_> {
    /// Every required role given and unexpired, every manual item done.
    pub fn complete(&self) -> bool {
        self.roles
            .iter()
            .all(|(_, s)| matches!(s, RoleState::Given(_)))
            && self.manual.iter().all(|m| m.done.is_some())
    }

    /// The roles not given (never signed, expired, or without a block).
    pub fn missing_roles(&self) -> Vec<&str> {
        self.roles
            .iter()
            .filter(|(_, s)| !matches!(s, RoleState::Given(_)))
            .map(|(r, _)| r.as_str())
            .collect()
    }
}

impl Signoffs {
    /// Judges the file on `today` (UTC): a sign-off holds through its
    /// `expires` day. Roles compare case-insensitively.
    pub fn judge(&self, today: Date) -> Judged<'_> {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let mut roles: Vec<String> = self.require.clone();
        for s in &self.signoffs {
            if !roles.iter().any(|r| same(r, &s.role)) {
                roles.push(s.role.clone());
            }
        }
        let roles = roles
            .into_iter()
            .map(|role| {
                let state = match self.signoffs.iter().find(|s| same(&s.role, &role)) {
                    None => RoleState::NoBlock,
                    Some(s) if s.given.is_none() => RoleState::NotSigned(s),
                    Some(s) if s.given.as_ref().is_some_and(|g| g.date > today) => {
                        RoleState::DatedAhead(s)
                    }
                    Some(s) if s.expires.is_some_and(|e| e < today) => RoleState::Expired(s),
                    Some(s) => RoleState::Given(s),
                };
                (role, state)
            })
            .collect();
        Judged {
            today,
            roles,
            manual: &self.manual,
        }
    }
}

/// Reads and validates a sign-offs file.
pub fn load(path: &Path) -> Result<Signoffs, SignoffsError> {
    let bytes = std::fs::read(path).map_err(|source| SignoffsError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let text = crate::decode_utf8(bytes, path).map_err(|e| match e {
        crate::SpecError::Invalid {
            file,
            line,
            column,
            message,
        } => SignoffsError::Invalid {
            file,
            line,
            column,
            message,
        },
        crate::SpecError::Read { file, source } => SignoffsError::Read { file, source },
    })?;
    parse(&text, path)
}

/// Parses and validates a sign-offs file; `file` is only used in errors,
/// which name its line and column and what was expected.
///
/// ```
/// let err = envspec::signoffs::parse(
///     "manual \"dpa\" {\n  group = \"Regulatory\"\n  item = \"DPA\"\n  done = \"yes\"\n}\n",
///     "signoffs.hcl".as_ref(),
/// )
/// .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "signoffs.hcl:4:10: block `manual \"dpa\"`: `done` must be true or false, found the string \"yes\""
/// );
/// ```
pub fn parse(text: &str, file: &Path) -> Result<Signoffs, SignoffsError> {
    let doc = Doc { text, file };
    let body = hcl_edit::parser::parse_body(text).map_err(|e| SignoffsError::Invalid {
        file: file.to_path_buf(),
        line: e.location().line(),
        column: e.location().column(),
        message: format!("HCL syntax error: {}", e.message()),
    })?;
    let mut require: Option<Vec<String>> = None;
    let mut signoffs: Vec<Signoff> = Vec::new();
    let mut manual: Vec<ManualItem> = Vec::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(a) if a.key.as_str() == "require" => {
                if require.is_some() {
                    return Err(doc.error(a.key.span(), "attribute `require` is set twice".into()));
                }
                let list = strings(&doc, a, "the sign-offs file")?;
                for (i, role) in list.iter().enumerate() {
                    if role.trim().is_empty() {
                        return Err(doc.error(
                            a.value.span(),
                            "`require` must list non-empty role names".into(),
                        ));
                    }
                    if list[..i].iter().any(|r| r.eq_ignore_ascii_case(role)) {
                        return Err(doc.error(
                            a.value.span(),
                            format!("`require` lists the role \"{role}\" twice"),
                        ));
                    }
                }
                require = Some(list);
            }
            Structure::Attribute(a) => {
                return Err(doc.error(
                    a.key.span(),
                    format!(
                        "unknown attribute `{}`; expected `require = [\"<role>\", …]`, \
                         `signoff \"<label>\" {{ … }}` or `manual \"<label>\" {{ … }}` blocks",
                        a.key.as_str()
                    ),
                ));
            }
            Structure::Block(b) => match b.ident.as_str() {
                "signoff" => {
                    let label = label(&doc, b)?;
                    if signoffs.iter().any(|s| s.label == label) {
                        return Err(doc.error(
                            b.labels.first().and_then(|l| l.span()),
                            format!("block `signoff \"{label}\"` is declared twice"),
                        ));
                    }
                    let signoff = signoff(&doc, label, b)?;
                    if let Some(first) = signoffs
                        .iter()
                        .find(|s| s.role.trim().eq_ignore_ascii_case(signoff.role.trim()))
                    {
                        let at = attribute(b, "role").and_then(|a| a.value.span());
                        return Err(doc.error(
                            at,
                            format!(
                                "block `signoff \"{}\"`: role \"{}\" already signs in block `signoff \"{}\"`; one block per role",
                                signoff.label, signoff.role, first.label
                            ),
                        ));
                    }
                    signoffs.push(signoff);
                }
                "manual" => {
                    let label = label(&doc, b)?;
                    if manual.iter().any(|m| m.label == label) {
                        return Err(doc.error(
                            b.labels.first().and_then(|l| l.span()),
                            format!("block `manual \"{label}\"` is declared twice"),
                        ));
                    }
                    manual.push(manual_item(&doc, label, b)?);
                }
                other => {
                    return Err(doc.error(
                        b.ident.span(),
                        format!(
                            "unknown block `{other}`; expected `signoff \"<label>\" {{ … }}` or `manual \"<label>\" {{ … }}`"
                        ),
                    ));
                }
            },
        }
    }
    let require = require.unwrap_or_default();
    if require.is_empty() && signoffs.is_empty() && manual.is_empty() {
        return Err(doc.error(
            Some(0..0),
            "the sign-offs file declares nothing; expected `require = [\"<role>\", …]`, \
             `signoff \"<label>\" { … }` or `manual \"<label>\" { … }` blocks"
                .into(),
        ));
    }
    Ok(Signoffs {
        require,
        signoffs,
        manual,
        source: file.to_path_buf(),
    })
}

fn signoff(doc: &Doc, label: String, block: &Block) -> Result<Signoff, SignoffsError> {
    let what = format!("block `signoff \"{label}\"`");
    let s = Fields::new(
        doc,
        block,
        what.clone(),
        &[
            "role",
            "owner",
            "confirms",
            "signed_by",
            "date",
            "evidence",
            "expires",
            "evidence_digest",
        ],
    )?;
    let role = s.required_string("role", "the role signing, e.g. \"Engineering\"")?;
    let owner = s.required_string("owner", "who is accountable, e.g. \"Head of Engineering\"")?;
    let confirms = s.required_string("confirms", "what signing confirms")?;
    let signed_by = s.string("signed_by")?;
    let date = s.date("date")?;
    let evidence = s.url("evidence")?;
    let expires = s.date("expires")?;
    let evidence_digest = s.digest("evidence_digest")?;
    let given = match (signed_by, date, evidence) {
        (None, None, None) => {
            if let Some(attr) = attribute(block, "evidence_digest") {
                return Err(doc.error(
                    attr.key.span(),
                    format!(
                        "{what}: `evidence_digest` names the run a given sign-off approved; \
                         set it together with `signed_by`, `date` and `evidence`, or leave it out"
                    ),
                ));
            }
            None
        }
        (Some(signed_by), Some(date), Some(evidence)) => Some(Given {
            signed_by,
            date,
            evidence,
            evidence_digest,
        }),
        (signed_by, date, evidence) => {
            let missing: Vec<&str> = [
                ("signed_by", signed_by.is_none()),
                ("date", date.is_none()),
                ("evidence", evidence.is_none()),
            ]
            .into_iter()
            .filter(|(_, m)| *m)
            .map(|(k, _)| k)
            .collect();
            return Err(doc.error(
                block.ident.span(),
                format!(
                    "{what}: missing required attribute `{}`: a given sign-off has `signed_by`, \
                     `date` (YYYY-MM-DD) and `evidence` (a URL) together; leave all three out \
                     while it is not given",
                    missing.join("`, `")
                ),
            ));
        }
    };
    if let (Some(given), Some(expires)) = (&given, expires)
        && expires < given.date
    {
        return Err(doc.error(
            attribute(block, "expires").and_then(|a| a.value.span()),
            format!(
                "{what}: `expires` = \"{expires}\" is before `date` = \"{}\"; expected a day on or after it",
                given.date
            ),
        ));
    }
    Ok(Signoff {
        label,
        role,
        owner,
        confirms,
        given,
        expires,
    })
}

fn manual_item(doc: &Doc, label: String, block: &Block) -> Result<ManualItem, SignoffsError> {
    let what = format!("block `manual \"{label}\"`");
    let s = Fields::new(
        doc,
        block,
        what.clone(),
        &["group", "item", "done", "done_by", "evidence"],
    )?;
    let group = s.required_string("group", "the launch-gate group, e.g. \"Regulatory\"")?;
    let item = s.required_string("item", "what must be true")?;
    let done = s.required_bool("done")?;
    let done_by = s.string("done_by")?;
    let evidence = s.url("evidence")?;
    let done = match (done, done_by, evidence) {
        (true, Some(done_by), Some(evidence)) => Some(Done { done_by, evidence }),
        (true, done_by, _) => {
            let key = if done_by.is_none() {
                "done_by"
            } else {
                "evidence"
            };
            return Err(doc.error(
                block.ident.span(),
                format!(
                    "{what}: missing required attribute `{key}`: an item with `done = true` names \
                     who did it (`done_by`) and links the evidence (`evidence`, a URL)"
                ),
            ));
        }
        (false, _, _) => None,
    };
    Ok(ManualItem {
        label,
        group,
        item,
        done,
    })
}

// ---------------------------------------------------------------------------
// Small readers (the spec parser's are private to it): positions from spans.

struct Doc<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Doc<'_> {
    fn error(&self, span: Option<Range<usize>>, message: String) -> SignoffsError {
        let offset = span.map(|s| s.start).unwrap_or(0).min(self.text.len());
        // Spans are byte offsets at character boundaries; step back to one if not.
        let mut offset = offset;
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        SignoffsError::Invalid {
            file: self.file.to_path_buf(),
            line: before.matches('\n').count() + 1,
            column: before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1,
            message,
        }
    }
}

fn label(doc: &Doc, block: &Block) -> Result<String, SignoffsError> {
    let name = block.ident.as_str();
    match block.labels.as_slice() {
        [l] => {
            let text = match l {
                BlockLabel::Ident(i) => i.as_str().to_string(),
                BlockLabel::String(s) => s.value().to_string(),
            };
            if text.trim().is_empty() {
                return Err(doc.error(l.span(), format!("block `{name}`: the label is empty")));
            }
            Ok(text)
        }
        _ => Err(doc.error(
            block.ident.span(),
            format!(
                "block `{name}` needs exactly one label, e.g. `{name} \"engineering\" {{ … }}`"
            ),
        )),
    }
}

fn attribute<'a>(block: &'a Block, key: &str) -> Option<&'a Attribute> {
    block.body.attributes().find(|a| a.key.as_str() == key)
}

fn describe(expr: &Expression) -> String {
    match expr {
        Expression::Null(_) => "null".into(),
        Expression::Bool(b) => format!("the bool {}", b.value()),
        Expression::Number(n) => format!("the number {}", n.value()),
        Expression::String(s) => format!("the string {:?}", s.value().as_str()),
        Expression::Array(_) => "a list".into(),
        Expression::Object(_) => "an object".into(),
        Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
            "a string template (interpolation is not supported here)".into()
        }
        _ => "an expression (only literal values are supported)".into(),
    }
}

fn strings(doc: &Doc, attr: &Attribute, what: &str) -> Result<Vec<String>, SignoffsError> {
    let key = attr.key.as_str();
    let Expression::Array(items) = &attr.value else {
        return Err(doc.error(
            attr.value.span(),
            format!(
                "{what}: `{key}` must be a list of strings, found {}",
                describe(&attr.value)
            ),
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Expression::String(s) => Ok(s.value().to_string()),
            other => Err(doc.error(
                other.span(),
                format!(
                    "{what}: `{key}` must be a list of strings, found {} in it",
                    describe(other)
                ),
            )),
        })
        .collect()
}

/// One block's attributes: each known key read at most once, any other
/// key or any nested block refused.
struct Fields<'a> {
    doc: &'a Doc<'a>,
    block: &'a Block,
    what: String,
}

impl<'a> Fields<'a> {
    fn new(
        doc: &'a Doc<'a>,
        block: &'a Block,
        what: String,
        known: &[&str],
    ) -> Result<Self, SignoffsError> {
        let mut seen: Vec<&str> = Vec::new();
        for structure in block.body.iter() {
            match structure {
                Structure::Attribute(a) => {
                    let key = a.key.as_str();
                    if !known.contains(&key) {
                        return Err(doc.error(
                            a.key.span(),
                            format!(
                                "{what}: unknown attribute `{key}`; expected one of: {}",
                                known.join(", ")
                            ),
                        ));
                    }
                    if seen.contains(&key) {
                        return Err(doc.error(
                            a.key.span(),
                            format!("{what}: attribute `{key}` is set twice"),
                        ));
                    }
                    seen.push(key);
                }
                Structure::Block(b) => {
                    return Err(doc.error(
                        b.ident.span(),
                        format!(
                            "{what}: unexpected block `{}`; expected attributes: {}",
                            b.ident.as_str(),
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(Fields { doc, block, what })
    }

    fn wrong_type(&self, attr: &Attribute, expected: &str) -> SignoffsError {
        self.doc.error(
            attr.value.span(),
            format!(
                "{}: `{}` must be {expected}, found {}",
                self.what,
                attr.key.as_str(),
                describe(&attr.value)
            ),
        )
    }

    fn string(&self, key: &str) -> Result<Option<String>, SignoffsError> {
        let Some(attr) = attribute(self.block, key) else {
            return Ok(None);
        };
        match &attr.value {
            Expression::String(s) if s.value().trim().is_empty() => Err(self.doc.error(
                attr.value.span(),
                format!(
                    "{}: `{key}` must be a non-empty string (leave it out instead)",
                    self.what
                ),
            )),
            Expression::String(s) => Ok(Some(s.value().to_string())),
            _ => Err(self.wrong_type(attr, "a string")),
        }
    }

    fn required_string(&self, key: &str, expected: &str) -> Result<String, SignoffsError> {
        self.string(key)?.ok_or_else(|| {
            self.doc.error(
                self.block.ident.span(),
                format!(
                    "{}: missing required attribute `{key}` ({expected})",
                    self.what
                ),
            )
        })
    }

    fn required_bool(&self, key: &str) -> Result<bool, SignoffsError> {
        let Some(attr) = attribute(self.block, key) else {
            return Err(self.doc.error(
                self.block.ident.span(),
                format!(
                    "{}: missing required attribute `{key}` (true or false)",
                    self.what
                ),
            ));
        };
        match &attr.value {
            Expression::Bool(b) => Ok(*b.value()),
            _ => Err(self.wrong_type(attr, "true or false")),
        }
    }

    fn date(&self, key: &str) -> Result<Option<Date>, SignoffsError> {
        let Some(attr) = attribute(self.block, key) else {
            return Ok(None);
        };
        let Expression::String(s) = &attr.value else {
            return Err(self.wrong_type(attr, "a date string \"YYYY-MM-DD\""));
        };
        Date::parse(s.value()).map(Some).ok_or_else(|| {
            self.doc.error(
                attr.value.span(),
                format!(
                    "{}: `{key}` = {:?} is not a date; expected YYYY-MM-DD (a day that exists)",
                    self.what,
                    s.value().as_str()
                ),
            )
        })
    }

    /// `sha256:` and 64 lowercase hex digits, as `verify run` prints a run's evidence digest.
    fn digest(&self, key: &str) -> Result<Option<String>, SignoffsError> {
        let Some(attr) = attribute(self.block, key) else {
            return Ok(None);
        };
        let Expression::String(s) = &attr.value else {
            return Err(self.wrong_type(attr, "a digest string \"sha256:<hex>\""));
        };
        let good = s.value().strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !good {
            return Err(self.doc.error(
                attr.value.span(),
                format!(
                    "{}: `{key}` = {:?} is not an evidence digest; expected \"sha256:\" and 64 \
                     lowercase hex digits, as `verify run` prints it",
                    self.what,
                    s.value().as_str()
                ),
            ));
        }
        Ok(Some(s.value().to_string()))
    }

    fn url(&self, key: &str) -> Result<Option<String>, SignoffsError> {
        let Some(attr) = attribute(self.block, key) else {
            return Ok(None);
        };
        let Expression::String(s) = &attr.value else {
            return Err(self.wrong_type(attr, "a URL string (https://…)"));
        };
        if !is_url(s.value()) {
            return Err(self.doc.error(
                attr.value.span(),
                format!(
                    "{}: `{key}` = {:?} is not a URL; expected an http:// or https:// link to the evidence",
                    self.what,
                    s.value().as_str()
                ),
            ));
        }
        Ok(Some(s.value().to_string()))
    }
}

/// An `http://` or `https://` URL with a host and no whitespace or control characters.
fn is_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    !host.is_empty()
        && !host.starts_with(':')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || ".-:[]_".contains(c))
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"require = ["Engineering", "Regulatory"]

signoff "engineering" {
  role      = "Engineering"
  owner     = "Head of Engineering"
  confirms  = "All automated checks green"
  signed_by = "Ana Pop"
  date      = "2026-12-01"
  evidence  = "https://wiki.example/launch/eng"
  expires   = "2026-12-31"
  evidence_digest = "sha256:6f1e0c3f2b9a8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e"
}

signoff "commercial" {
  role     = "Commercial"
  owner    = "CCO"
  confirms = "Pricing live"
}

manual "dpa" {
  group    = "Regulatory"
  item     = "DPA countersigned"
  done     = true
  done_by  = "Ioana Marin"
  evidence = "https://wiki.example/dpa"
}

manual "status-page" {
  group = "Operations"
  item  = "Status page live"
  done  = false
}
"#;

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn err(text: &str) -> String {
        parse(text, Path::new("s.hcl")).unwrap_err().to_string()
    }

    #[test]
    fn a_good_file_reads_and_is_judged() {
        let file = parse(GOOD, Path::new("s.hcl")).unwrap();
        assert_eq!(file.require, ["Engineering", "Regulatory"]);
        assert_eq!(file.signoffs.len(), 2);
        let eng = &file.signoffs[0];
        assert_eq!(eng.given.as_ref().unwrap().signed_by, "Ana Pop");
        assert_eq!(eng.expires, Some(day("2026-12-31")));
        assert_eq!(
            eng.given.as_ref().unwrap().evidence_digest.as_deref(),
            Some("sha256:6f1e0c3f2b9a8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e")
        );
        assert!(file.signoffs[1].given.is_none());
        assert_eq!(
            file.manual[0].done.as_ref().unwrap().evidence,
            "https://wiki.example/dpa"
        );
        assert!(file.manual[1].done.is_none());

        let judged = file.judge(day("2026-12-31"));
        let states: Vec<(&str, &str)> = judged
            .roles
            .iter()
            .map(|(r, s)| {
                let s = match s {
                    RoleState::Given(_) => "given",
                    RoleState::NotSigned(_) => "not signed",
                    RoleState::Expired(_) => "expired",
                    RoleState::DatedAhead(_) => "dated ahead",
                    RoleState::NoBlock => "no block",
                };
                (r.as_str(), s)
            })
            .collect();
        assert_eq!(
            states,
            [
                ("Engineering", "given"),
                ("Regulatory", "no block"),
                ("Commercial", "not signed")
            ]
        );
        assert!(!judged.complete());
        // The day before it was signed, it is not given yet.
        let judged = file.judge(day("2026-11-30"));
        assert!(
            matches!(judged.roles[0].1, RoleState::DatedAhead(_)),
            "{:?}",
            judged.roles[0]
        );
        assert!(!judged.complete());
        // The day after `expires`, the sign-off is missing again.
        let judged = file.judge(day("2027-01-01"));
        assert!(matches!(judged.roles[0].1, RoleState::Expired(_)));
        assert_eq!(
            judged.missing_roles(),
            ["Engineering", "Regulatory", "Commercial"]
        );
    }

    #[test]
    fn complete_means_every_role_given_and_every_item_done() {
        let file = parse(
            "signoff \"e\" {\n  role = \"Engineering\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"x\"\n  date = \"2026-01-01\"\n  evidence = \"http://e.example\"\n}\nmanual \"m\" {\n  group = \"Ops\"\n  item = \"i\"\n  done = true\n  done_by = \"y\"\n  evidence = \"https://e.example/m?x=1#y\"\n}\n",
            Path::new("s.hcl"),
        )
        .unwrap();
        assert!(file.judge(day("2030-01-01")).complete());
        // Roles compare case-insensitively with `require`.
        let mut required = file.clone();
        required.require = vec!["engineering".into()];
        assert!(required.judge(day("2030-01-01")).complete());
    }

    #[test]
    fn every_error_has_a_position_and_says_what_was_expected() {
        let mut wrong = Vec::new();
        for (text, at, says) in [
            ("signoff \"e\" {\n", "s.hcl:1:15:", "HCL syntax error"),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  signer = \"x\"\n}\n",
                "s.hcl:5:3:",
                "unknown attribute `signer`; expected one of: role, owner",
            ),
            (
                "signoff \"e\" {\n  role = 3\n}\n",
                "s.hcl:2:10:",
                "`role` must be a string, found the number 3",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  confirms = \"c\"\n}\n",
                "s.hcl:1:1:",
                "missing required attribute `owner`",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"x\"\n  date = \"2026-02-30\"\n  evidence = \"https://e.example\"\n}\n",
                "s.hcl:6:10:",
                "is not a date; expected YYYY-MM-DD",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"x\"\n  date = \"2026-02-03\"\n  evidence = \"wiki/eng\"\n}\n",
                "s.hcl:7:14:",
                "is not a URL",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"x\"\n}\n",
                "s.hcl:1:1:",
                "missing required attribute `date`, `evidence`",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"x\"\n  date = \"2026-02-03\"\n  evidence = \"https://e.example\"\n  expires = \"2026-02-01\"\n}\n",
                "s.hcl:8:13:",
                "is before `date`",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n}\nsignoff \"e\" {\n  role = \"F\"\n  owner = \"o\"\n  confirms = \"c\"\n}\n",
                "s.hcl:6:9:",
                "`signoff \"e\"` is declared twice",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n}\nsignoff \"f\" {\n  role = \"e\"\n  owner = \"o\"\n  confirms = \"c\"\n}\n",
                "s.hcl:7:10:",
                "one block per role",
            ),
            (
                "manual \"m\" {\n  group = \"G\"\n  item = \"i\"\n  done = true\n}\n",
                "s.hcl:1:1:",
                "missing required attribute `done_by`",
            ),
            (
                "manual \"m\" {\n  group = \"G\"\n  item = \"i\"\n  done = \"yes\"\n}\n",
                "s.hcl:4:10:",
                "`done` must be true or false, found the string \"yes\"",
            ),
            (
                "manual \"m\" {\n  group = \"G\"\n  item = \"i\"\n}\n",
                "s.hcl:1:1:",
                "missing required attribute `done`",
            ),
            (
                "manual \"m\" {\n  group = \"G\"\n  item = \"i\"\n  done = false\n}\nmanual \"m\" {\n  group = \"G\"\n  item = \"i\"\n  done = false\n}\n",
                "s.hcl:6:8:",
                "`manual \"m\"` is declared twice",
            ),
            (
                "waiver \"x\" {\n}\n",
                "s.hcl:1:1:",
                "unknown block `waiver`",
            ),
            (
                "\n\nsignoffs = 1\n",
                "s.hcl:3:1:",
                "unknown attribute `signoffs`",
            ),
            (
                "require = \"Engineering\"\n",
                "s.hcl:1:11:",
                "must be a list of strings",
            ),
            (
                "require = [\"A\", \"a\"]\n",
                "s.hcl:1:11:",
                "lists the role \"a\" twice",
            ),
            ("signoff {\n}\n", "s.hcl:1:1:", "needs exactly one label"),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  note { }\n}\n",
                "s.hcl:5:3:",
                "unexpected block `note`",
            ),
            (
                "signoff \"e\" {\n  role = \"\"\n}\n",
                "s.hcl:2:10:",
                "non-empty string",
            ),
            ("# nothing\n", "s.hcl:1:1:", "declares nothing"),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"x\"\n  date = \"2026-02-03\"\n  evidence = \"https://e.example\"\n  evidence_digest = \"sha256:ABC\"\n}\n",
                "s.hcl:8:21:",
                "is not an evidence digest; expected \"sha256:\" and 64",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  signed_by = \"x\"\n  date = \"2026-02-03\"\n  evidence = \"https://e.example\"\n  evidence_digest = 12\n}\n",
                "s.hcl:8:21:",
                "`evidence_digest` must be a digest string",
            ),
            (
                "signoff \"e\" {\n  role = \"E\"\n  owner = \"o\"\n  confirms = \"c\"\n  evidence_digest = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n}\n",
                "s.hcl:5:3:",
                "set it together with `signed_by`, `date` and `evidence`",
            ),
        ] {
            let e = err(text);
            if !e.starts_with(at) || !e.contains(says) {
                wrong.push(format!(
                    "{text:?}: {e:?} should start with {at:?} and say {says:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn urls_and_dates() {
        for good in [
            "https://wiki.example/launch",
            "http://10.0.0.1:8080/x",
            "https://wiki.example",
        ] {
            assert!(is_url(good), "{good}");
        }
        for bad in [
            "wiki.example",
            "https://",
            "https:///x",
            "ftp://x",
            "https://a b",
            "https://<script>",
        ] {
            assert!(!is_url(bad), "{bad}");
        }
        for good in [
            "2026-12-01",
            "2028-02-29",
            "2000-02-29",
            "0001-01-01",
            "9999-12-31",
        ] {
            assert_eq!(
                Date::parse(good).map(|d| d.to_string()).as_deref(),
                Some(good)
            );
        }
        for bad in [
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "26-01-01",
            "2026/01/01",
            "2026-01-01T00",
            "0000-01-01",
            "２０２６-01-01",
            "2027-02-29",
            "2100-02-29",
            "2026-1-05",
            "2026-01-5",
            "+2026-01-05",
            "-2026-01-05",
            "2026-+1-05",
            " 2026-01-05",
            // ISO 8601 / Temporal forms jiff's own parser reads.
            "20260105",
            "+002026-01-05",
            "2026-01-05T10:00",
            "2026-01-05Z",
            "2026-W02-1",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Date::utc(std::time::UNIX_EPOCH).to_string(), "1970-01-01");
        let leap = humantime::parse_rfc3339("2028-02-29T23:59:59Z").unwrap();
        assert_eq!(Date::utc(leap).to_string(), "2028-02-29");
        let new_year = humantime::parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        assert_eq!(Date::utc(new_year).to_string(), "2027-01-01");
        let before = std::time::UNIX_EPOCH - std::time::Duration::from_secs(86_400 * 400);
        assert_eq!(Date::utc(before).to_string(), "1970-01-01");
        let far = std::time::UNIX_EPOCH + std::time::Duration::from_secs(400_000 * 365 * 86_400);
        assert_eq!(Date::utc(far).to_string(), "9999-12-30");
    }

    /// No input panics: truncations and byte flips of a real file only ever give `Ok` or `Err`.
    #[test]
    fn no_input_panics() {
        let bytes = GOOD.as_bytes();
        for cut in 0..bytes.len() {
            let truncated = String::from_utf8_lossy(&bytes[..cut]);
            let _ = parse(&truncated, Path::new("s.hcl"));
        }
        for (i, replacement) in (0..bytes.len()).step_by(3).zip(
            [b'{', b'}', b'"', b'=', b'[', b'\n', b'#', b'$', 0xC3, b'\\']
                .iter()
                .cycle(),
        ) {
            let mut mutated = bytes.to_vec();
            mutated[i] = *replacement;
            let _ = parse(&String::from_utf8_lossy(&mutated), Path::new("s.hcl"));
            if let Ok(text) = String::from_utf8(mutated) {
                let _ = parse(&text, Path::new("s.hcl"));
            }
        }
        // The example files ship valid.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for example in [
            "examples/production/signoffs.hcl",
            "examples/sandbox/signoffs.hcl",
        ] {
            let path = root.join(example);
            let file = load(&path).unwrap_or_else(|e| panic!("{e}"));
            let text = std::fs::read_to_string(&path).unwrap();
            for cut in (0..text.len()).step_by(5) {
                let _ = parse(&String::from_utf8_lossy(&text.as_bytes()[..cut]), &path);
            }
            assert!(file.signoffs.len() >= 5, "{example}");
        }
    }
}
