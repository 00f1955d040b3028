//! Waivers: a failed or errored check that a named person has accepted for a
//! while (applied to outcomes by `verify::waivers::apply`). A waiver names a check id or glob, a justification and an expiry
//! date; after that date it no longer applies and the report says so.
//!
//! ```hcl
//! waiver "edge.*" {
//!   justification = "Cloudflare cut-over on 2026-12-02; ALB checks green in staging (OPS-412)"
//!   expires       = "2026-12-05"
//! }
//! ```

use std::path::Path;
use std::time::SystemTime;

use globset::Glob;
use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{BlockLabel, Structure};

use crate::SpecError;
use crate::signoffs::Date;

#[derive(Debug, Clone)]
pub struct Waiver {
    pub pattern: String,
    pub justification: String,
    /// The waiver holds through the end of that day (UTC). The same calendar
    /// date as the sign-offs' ([`crate::signoffs::Date`]).
    pub expires: Date,
    /// The environments it applies to (`environments = ["staging"]`); empty
    /// means every environment.
    pub environments: Vec<String>,
    matcher: globset::GlobMatcher,
}

impl Waiver {
    /// Whether `now` is past the end of its `expires` day (UTC).
    pub fn expired(&self, now: SystemTime) -> bool {
        Date::utc(now) > self.expires
    }

    /// Whether it names the check `id` (its id or glob).
    pub fn covers(&self, id: &str) -> bool {
        self.matcher.is_match(id)
    }

    /// Whether it applies to the environment `name`: unscoped waivers apply
    /// to all.
    pub fn applies_to(&self, name: &str) -> bool {
        self.environments.is_empty() || self.environments.iter().any(|e| e == name)
    }
}

/// Reads a waivers file.
pub fn load(path: &Path) -> Result<Vec<Waiver>, SpecError> {
    let text = crate::read_utf8(path)?;
    parse(&text, path)
}

/// Parses waivers; every error has a position.
pub fn parse(text: &str, file: &Path) -> Result<Vec<Waiver>, SpecError> {
    let at = |offset: usize, message: String| {
        let before = &text[..offset.min(text.len())];
        SpecError::Invalid {
            file: file.into(),
            line: before.matches('\n').count() + 1,
            column: before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1,
            message,
        }
    };
    let body = hcl_edit::parser::parse_body(text).map_err(|e| SpecError::Invalid {
        file: file.into(),
        line: e.location().line(),
        column: e.location().column(),
        message: format!("HCL syntax error: {}", e.message()),
    })?;
    let mut waivers = Vec::new();
    for structure in body.iter() {
        let start = |s: Option<std::ops::Range<usize>>| s.map(|r| r.start).unwrap_or(0);
        let block = match structure {
            Structure::Block(b) if b.ident.as_str() == "waiver" => b,
            Structure::Block(b) => {
                return Err(at(
                    start(b.ident.span()),
                    format!(
                        "unknown block `{}`; expected `waiver \"<check id or glob>\" {{ … }}`",
                        b.ident.as_str()
                    ),
                ));
            }
            Structure::Attribute(a) => {
                return Err(at(
                    start(a.key.span()),
                    format!(
                        "unknown attribute `{}`; expected `waiver` blocks",
                        a.key.as_str()
                    ),
                ));
            }
        };
        let pattern = match block.labels.as_slice() {
            [BlockLabel::String(s)] => s.value().to_string(),
            [BlockLabel::Ident(i)] => i.as_str().to_string(),
            _ => {
                return Err(at(
                    start(block.ident.span()),
                    "block `waiver` needs exactly one label: the check id or glob".into(),
                ));
            }
        };
        let matcher = Glob::new(&pattern)
            .map_err(|e| {
                at(
                    start(block.ident.span()),
                    format!("waiver \"{pattern}\": invalid glob: {e}"),
                )
            })?
            .compile_matcher();
        let mut justification = None;
        let mut expires = None;
        let mut environments = Vec::new();
        for s in block.body.iter() {
            let Structure::Attribute(a) = s else {
                return Err(at(
                    start(s.as_block().and_then(|b| b.ident.span())),
                    format!("waiver \"{pattern}\": unexpected block"),
                ));
            };
            if a.key.as_str() == "environments" {
                let names = match &a.value {
                    Expression::Array(items) => items
                        .iter()
                        .map(|item| match item {
                            Expression::String(v) if !v.value().trim().is_empty() => {
                                Some(v.value().to_string())
                            }
                            _ => None,
                        })
                        .collect::<Option<Vec<String>>>(),
                    _ => None,
                };
                environments = names.filter(|n| !n.is_empty()).ok_or_else(|| {
                    at(
                        start(a.value.span()),
                        format!(
                            "waiver \"{pattern}\": `environments` must be a non-empty list of environment names (leave it out to waive in every environment)"
                        ),
                    )
                })?;
                continue;
            }
            let value = match &a.value {
                Expression::String(v) => v.value().to_string(),
                _ => {
                    return Err(at(
                        start(a.value.span()),
                        format!(
                            "waiver \"{pattern}\": `{}` must be a string",
                            a.key.as_str()
                        ),
                    ));
                }
            };
            match a.key.as_str() {
                "justification" => justification = Some(value),
                "expires" => {
                    let when = Date::parse(&value).ok_or_else(|| {
                        at(start(a.value.span()), format!("waiver \"{pattern}\": `expires` = \"{value}\" is not a date; expected YYYY-MM-DD"))
                    })?;
                    expires = Some(when);
                }
                other => {
                    return Err(at(
                        start(a.key.span()),
                        format!(
                            "waiver \"{pattern}\": unknown attribute `{other}`; expected justification, expires, environments"
                        ),
                    ));
                }
            }
        }
        let block_at = start(block.ident.span());
        let justification = justification
            .filter(|j| !j.trim().is_empty())
            .ok_or_else(|| at(block_at, format!("waiver \"{pattern}\": missing required attribute `justification` (who accepted what, and why)")))?;
        let expires = expires.ok_or_else(|| {
            at(
                block_at,
                format!("waiver \"{pattern}\": missing required attribute `expires` (YYYY-MM-DD)"),
            )
        })?;
        waivers.push(Waiver {
            pattern,
            justification,
            expires,
            environments,
            matcher,
        });
    }
    Ok(waivers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expires` is the sign-offs' calendar date: strict, and the waiver
    /// holds through the end of that day (UTC), expired the next.
    #[test]
    fn expires_is_a_real_day_held_to_its_end() {
        let waiver = |date: &str| {
            parse(
                &format!(
                    "waiver \"rds.*\" {{\n  justification = \"x\"\n  expires = \"{date}\"\n}}\n"
                ),
                Path::new("waivers.hcl"),
            )
        };
        for bad in ["2027-02-29", "2026-1-05", "2026-12-05T10:00", "soon"] {
            let err = waiver(bad).unwrap_err().to_string();
            assert!(
                err.contains("waivers.hcl:3:") && err.contains("is not a date"),
                "{bad}: {err}"
            );
        }
        let w = &waiver("2028-02-29").unwrap()[0];
        assert_eq!(w.expires.to_string(), "2028-02-29");
        let day = |secs: u64| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        // 2028-02-29T23:59:59Z is still the day; a second later it is not.
        assert!(!w.expired(day(1_835_481_599)));
        assert!(w.expired(day(1_835_481_600)));
    }

    #[test]
    fn a_waiver_may_be_scoped_to_environments() {
        let w = parse(
            "waiver \"rds.*\" {\n  justification = \"x\"\n  expires = \"2026-12-31\"\n  environments = [\"staging\"]\n}\nwaiver \"budgets.*\" {\n  justification = \"y\"\n  expires = \"2026-12-31\"\n}\n",
            Path::new("w.hcl"),
        )
        .unwrap();
        assert!(w[0].applies_to("staging") && !w[0].applies_to("production"));
        assert!(w[1].applies_to("production") && w[1].applies_to("staging"));
        for (bad, position) in [
            ("environments = []", "w.hcl:4:18:"),
            ("environments = \"staging\"", "w.hcl:4:18:"),
            ("environments = [\"\"]", "w.hcl:4:18:"),
            ("environments = [1]", "w.hcl:4:18:"),
        ] {
            let err = parse(
                &format!("waiver \"rds.*\" {{\n  justification = \"x\"\n  expires = \"2026-12-31\"\n  {bad}\n}}\n"),
                Path::new("w.hcl"),
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with(position) && err.contains("environments"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_waiver_without_justification_is_refused_with_position() {
        let err = parse(
            "\nwaiver \"rds.*\" {\n  expires = \"2026-12-31\"\n}\n",
            Path::new("w.hcl"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("w.hcl:2:1: "), "{err}");
        assert!(err.to_string().contains("justification"), "{err}");
        let err = parse(
            "waiver \"rds.*\" {\n  justification = \"x\"\n  expires = \"soon\"\n}\n",
            Path::new("w.hcl"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("w.hcl:3:13: "), "{err}");
    }
}
