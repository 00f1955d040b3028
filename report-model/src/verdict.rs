//! Go / no-go: the one place that decides it.
//!
//! The gate suite (`infra-tests/tests/gate.rs`, through [`blocks_go`]) and
//! `cargo xtask verify` (through [`decide`]) both judge with these functions.
//!
//! Statuses are named as reports spell them (`pass`, `fail`, `error`, `skip`,
//! `waived`); a name this code does not know blocks go, never passes.

use std::fmt;

/// The verdict of a complete run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Go,
    NoGo,
}

impl Verdict {
    /// `go` or `no-go`, as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Go => "go",
            Verdict::NoGo => "no-go",
        }
    }
}

/// Whether one outcome's status blocks go: `fail` and `error` do, and so
/// does any status name not known here. `pass`, `skip` and `waived` do not.
pub fn blocks_go(status: &str) -> bool {
    !matches!(status, "pass" | "skip" | "waived")
}

/// Why a run has no verdict: what was planned and what came back disagree.
/// `cargo xtask verify` exits 2 on it (the run could not be judged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Incomplete {
    /// The plan selected no check at all (nothing was verified).
    pub nothing_planned: bool,
    /// Planned ids without an outcome.
    pub missing: Vec<String>,
    /// Outcomes for ids that were not planned.
    pub unplanned: Vec<String>,
    /// Ids with more than one outcome.
    pub duplicated: Vec<String>,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.nothing_planned {
            parts.push("no check was selected, so nothing was verified".to_string());
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} planned check(s) without an outcome: {}",
                self.missing.len(),
                self.missing.join(", ")
            ));
        }
        if !self.unplanned.is_empty() {
            parts.push(format!(
                "outcome(s) for check(s) not in the plan: {}",
                self.unplanned.join(", ")
            ));
        }
        if !self.duplicated.is_empty() {
            parts.push(format!(
                "more than one outcome for: {}",
                self.duplicated.join(", ")
            ));
        }
        write!(f, "the run is incomplete: {}", parts.join("; "))
    }
}

impl std::error::Error for Incomplete {}

/// The verdict of a run: every planned id must have exactly one outcome and
/// no outcome may be unplanned (otherwise [`Incomplete`]); then the run is
/// `Go` when no outcome [`blocks_go`].
///
/// `outcomes` are `(id, status)` pairs.
pub fn decide<'a>(
    planned: &[String],
    outcomes: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Verdict, Incomplete> {
    let mut seen: Vec<&str> = Vec::new();
    let mut incomplete = Incomplete {
        nothing_planned: planned.is_empty(),
        ..Incomplete::default()
    };
    let mut blocked = false;
    for (id, status) in outcomes {
        if seen.contains(&id) {
            if !incomplete.duplicated.iter().any(|d| d == id) {
                incomplete.duplicated.push(id.to_string());
            }
        } else {
            seen.push(id);
        }
        if !planned.iter().any(|p| p == id) {
            incomplete.unplanned.push(id.to_string());
        }
        blocked |= blocks_go(status);
    }
    incomplete.missing = planned
        .iter()
        .filter(|p| !seen.contains(&p.as_str()))
        .cloned()
        .collect();
    if incomplete != Incomplete::default() {
        return Err(incomplete);
    }
    Ok(if blocked { Verdict::NoGo } else { Verdict::Go })
}

/// The verdict with the sign-offs: `Go` only when the automated verdict is
/// `Go` and, when a sign-offs file was given (`Some`), it is complete (every
/// required sign-off given and unexpired, every manual item done). Without
/// one (`None`) the automated verdict stands.
///
/// ```
/// use report_model::verdict::{Verdict, with_signoffs};
/// assert_eq!(with_signoffs(Verdict::Go, None), Verdict::Go);
/// assert_eq!(with_signoffs(Verdict::Go, Some(false)), Verdict::NoGo);
/// assert_eq!(with_signoffs(Verdict::NoGo, Some(true)), Verdict::NoGo);
/// ```
pub fn with_signoffs(automated: Verdict, signoffs_complete: Option<bool>) -> Verdict {
    match (automated, signoffs_complete) {
        (Verdict::Go, None | Some(true)) => Verdict::Go,
        _ => Verdict::NoGo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn statuses_that_block_go() {
        for (status, blocks) in [
            ("pass", false),
            ("skip", false),
            ("waived", false),
            ("fail", true),
            ("error", true),
            ("PASS", true),
            ("", true),
            ("unknown", true),
        ] {
            assert_eq!(blocks_go(status), blocks, "{status:?}");
        }
    }

    #[test]
    fn a_complete_run_is_judged_by_its_statuses() {
        let p = plan(&["a.x", "a.y"]);
        assert_eq!(
            decide(&p, [("a.x", "pass"), ("a.y", "waived")]),
            Ok(Verdict::Go)
        );
        assert_eq!(
            decide(&p, [("a.y", "skip"), ("a.x", "error")]),
            Ok(Verdict::NoGo)
        );
        assert_eq!(
            decide(&p, [("a.x", "pass"), ("a.y", "fail")]),
            Ok(Verdict::NoGo)
        );
    }

    #[test]
    fn a_planned_check_without_outcome_has_no_verdict_and_is_named() {
        let err = decide(&plan(&["a.x", "a.y", "a.z"]), [("a.x", "pass")]).unwrap_err();
        assert_eq!(err.missing, ["a.y", "a.z"]);
        assert!(err.to_string().contains("a.y, a.z"), "{err}");
    }

    #[test]
    fn unplanned_duplicated_and_empty_runs_have_no_verdict() {
        let err = decide(&plan(&["a.x"]), [("a.x", "pass"), ("b.q", "pass")]).unwrap_err();
        assert_eq!(err.unplanned, ["b.q"]);
        let err = decide(&plan(&["a.x"]), [("a.x", "pass"), ("a.x", "fail")]).unwrap_err();
        assert_eq!(err.duplicated, ["a.x"]);
        let err = decide(&plan(&[]), []).unwrap_err();
        assert!(err.nothing_planned, "{err}");
    }
}
