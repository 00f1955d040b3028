//! Two runs compared (`verify diff OLD.json NEW.json`, `verify run
//! --baseline OLD.json`), or two environments of one combined report
//! (`verify diff COMBINED.json --env staging --env production`).
//!
//! Each check id falls in one class. "Failing" is a status that blocks go
//! ([`crate::verdict::blocks_go`]: `fail`, `error`):
//!
//! | class | old | new |
//! |---|---|---|
//! | `newly_failing` | not failing | failing |
//! | `fixed` | failing | not failing |
//! | `still_failing` | failing | failing |
//! | `changed` | not failing | not failing, another status (`pass` → `skip`) |
//! | `only_in_old` / `only_in_new` | the id is on one side only | |
//!
//! For two environments, `old` is the first `--env` and `new` the second.
//! [`Diff::new_failures`] (what `--fail-on new` fails on) is every newly
//! failing id and every id only in new that fails: a check that was not
//! there before and fails now is a new failure too.
//!
//! ```
//! use report_model::diff::{Diff, DiffKind, Side, Entry};
//! use report_model::Status;
//! let old = [("rds.multi_az", Status::Pass, ""), ("ses.identity", Status::Fail, "")];
//! let new = [("rds.multi_az", Status::Fail, "MultiAZ false"), ("ses.identity", Status::Pass, "")];
//! let diff = Diff::compare(DiffKind::Runs, Side::named("old.json"), &old, Side::named("new.json"), &new);
//! assert_eq!(diff.newly_failing[0].id, "rds.multi_az");
//! assert_eq!(diff.fixed[0].id, "ses.identity");
//! assert_eq!(diff.new_failures(), ["rds.multi_az"]);
//! ```

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::{SCHEMA_VERSION, Status, Tool};

/// The JSON document of a comparison: what `verify diff --report json=PATH`
/// writes, and `baseline` in a report of `verify run --baseline`
/// (`docs/schemas/diff.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffReport {
    pub schema_version: String,
    pub tool: Tool,
    #[serde(flatten)]
    pub diff: Diff,
    /// [`Diff::new_failures`]: what `--fail-on new` fails on.
    pub new_failures: Vec<String>,
}

impl DiffReport {
    pub fn new(diff: Diff, tool: Tool) -> DiffReport {
        let new_failures = diff.new_failures().into_iter().map(String::from).collect();
        DiffReport {
            schema_version: SCHEMA_VERSION.into(),
            tool,
            diff,
            new_failures,
        }
    }
}

/// What was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    /// Two runs (two JSON reports), `old` before `new`.
    Runs,
    /// Two environments of one combined report.
    Environments,
}

/// One side of a comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// The report file (runs) or the environment's name (environments).
    pub label: String,
    /// The environment the report is of.
    pub environment: String,
    pub started_at: String,
    /// `go` or `no-go`.
    pub verdict: String,
    /// The run's evidence digest (empty for a report written before it existed).
    pub evidence_digest: String,
}

impl Side {
    /// A side known only by its label.
    pub fn named(label: &str) -> Side {
        Side {
            label: label.into(),
            ..Side::default()
        }
    }

    /// `label`, with the facts of `report`.
    pub fn of(label: &str, report: &Report) -> Side {
        Side {
            label: label.into(),
            environment: report.environment.clone(),
            started_at: report.started_at.clone(),
            verdict: report.verdict.clone(),
            evidence_digest: report.evidence_digest.clone(),
        }
    }
}

/// An id on both sides, with its two statuses and the message of the side
/// that matters (new's, or old's when new does not fail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub old: Status,
    pub new: Status,
    pub message: String,
}

/// An id on one side only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub status: Status,
    pub message: String,
}

/// Two runs (or two environments) compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub kind: DiffKind,
    pub old: Side,
    pub new: Side,
    pub newly_failing: Vec<Change>,
    pub fixed: Vec<Change>,
    pub still_failing: Vec<Change>,
    /// Neither side fails, but the status differs.
    pub changed: Vec<Change>,
    pub only_in_old: Vec<Entry>,
    pub only_in_new: Vec<Entry>,
    /// Ids with the same status on both sides.
    pub unchanged: usize,
}

impl Diff {
    /// Compares `(id, status, message)` lists; classes keep new's order
    /// (old's for `only_in_old`).
    pub fn compare(
        kind: DiffKind,
        old_side: Side,
        old: &[(&str, Status, &str)],
        new_side: Side,
        new: &[(&str, Status, &str)],
    ) -> Diff {
        let mut diff = Diff {
            kind,
            old: old_side,
            new: new_side,
            newly_failing: Vec::new(),
            fixed: Vec::new(),
            still_failing: Vec::new(),
            changed: Vec::new(),
            only_in_old: Vec::new(),
            only_in_new: Vec::new(),
            unchanged: 0,
        };
        for &(id, status, message) in new {
            let Some(&(_, before, old_message)) = old.iter().find(|o| o.0 == id) else {
                diff.only_in_new.push(Entry {
                    id: id.into(),
                    status,
                    message: message.into(),
                });
                continue;
            };
            let change = |message: &str| Change {
                id: id.into(),
                old: before,
                new: status,
                message: message.into(),
            };
            match (before.blocks_go(), status.blocks_go()) {
                (false, true) => diff.newly_failing.push(change(message)),
                (true, false) => diff.fixed.push(change(old_message)),
                (true, true) => diff.still_failing.push(change(message)),
                (false, false) if before != status => diff.changed.push(change(message)),
                (false, false) => diff.unchanged += 1,
            }
        }
        for &(id, status, message) in old {
            if !new.iter().any(|n| n.0 == id) {
                diff.only_in_old.push(Entry {
                    id: id.into(),
                    status,
                    message: message.into(),
                });
            }
        }
        diff
    }

    /// Two reports compared.
    pub fn reports(
        kind: DiffKind,
        old_label: &str,
        old: &Report,
        new_label: &str,
        new: &Report,
    ) -> Diff {
        fn list(r: &Report) -> Vec<(&str, Status, &str)> {
            r.checks
                .iter()
                .map(|c| (c.id.as_str(), c.status, c.message.as_str()))
                .collect()
        }
        Diff::compare(
            kind,
            Side::of(old_label, old),
            &list(old),
            Side::of(new_label, new),
            &list(new),
        )
    }

    /// What `--fail-on new` fails on: newly failing ids, then ids only in
    /// new that fail.
    pub fn new_failures(&self) -> Vec<&str> {
        self.newly_failing
            .iter()
            .map(|c| c.id.as_str())
            .chain(
                self.only_in_new
                    .iter()
                    .filter(|e| e.status.blocks_go())
                    .map(|e| e.id.as_str()),
            )
            .collect()
    }

    /// Every id whose status differs between the two sides (either side
    /// only included), as `id old → new` (`-` for absent): what a stale
    /// sign-off says changed.
    pub fn status_changes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .newly_failing
            .iter()
            .chain(&self.fixed)
            .chain(&self.changed)
            .map(|c| format!("{} {} → {}", c.id, c.old.as_str(), c.new.as_str()))
            .collect();
        out.extend(
            self.still_failing
                .iter()
                .filter(|c| c.old != c.new)
                .map(|c| format!("{} {} → {}", c.id, c.old.as_str(), c.new.as_str())),
        );
        out.extend(
            self.only_in_old
                .iter()
                .map(|e| format!("{} {} → -", e.id, e.status.as_str())),
        );
        out.extend(
            self.only_in_new
                .iter()
                .map(|e| format!("{} - → {}", e.id, e.status.as_str())),
        );
        out
    }

    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.newly_failing.is_empty()
            && self.fixed.is_empty()
            && self.changed.is_empty()
            && self.only_in_old.is_empty()
            && self.only_in_new.is_empty()
            && self.still_failing.iter().all(|c| c.old == c.new)
    }
}

/// A status as a verb in "staging passes X, production fails X".
pub fn verb(status: Status) -> &'static str {
    match status {
        Status::Pass => "passes",
        Status::Fail => "fails",
        Status::Error => "cannot look at",
        Status::Skip => "skips",
        Status::Waived => "waives",
    }
}

/// One id across two environments: `staging passes X, production fails X`.
pub fn sentence(
    old: &str,
    old_status: Option<Status>,
    new: &str,
    new_status: Option<Status>,
    id: &str,
) -> String {
    let part = |env: &str, status: Option<Status>| match status {
        Some(s) => format!("{env} {} {id}", verb(s)),
        None => format!("{env} does not run {id}"),
    };
    format!("{}, {}", part(old, old_status), part(new, new_status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(changes: &[Change]) -> Vec<&str> {
        changes.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn every_id_falls_in_one_class() {
        use Status::*;
        let old = [
            ("a.newly", Pass, "ok"),
            ("a.fixed", Fail, "was broken"),
            ("a.still", Error, "denied"),
            ("a.worse", Fail, "x"),
            ("a.same", Pass, ""),
            ("a.skipped", Pass, ""),
            ("a.waived", Fail, "w"),
            ("a.gone", Fail, "gone"),
        ];
        let new = [
            ("a.newly", Fail, "broken now"),
            ("a.fixed", Pass, "ok"),
            ("a.still", Error, "denied"),
            ("a.worse", Error, "y"),
            ("a.same", Pass, ""),
            ("a.skipped", Skip, ""),
            ("a.waived", Waived, "w"),
            ("a.added", Fail, "new check fails"),
            ("a.added_ok", Pass, ""),
        ];
        let d = Diff::compare(
            DiffKind::Runs,
            Side::named("o"),
            &old,
            Side::named("n"),
            &new,
        );
        assert_eq!(ids(&d.newly_failing), ["a.newly"]);
        assert_eq!(d.newly_failing[0].message, "broken now");
        assert_eq!(ids(&d.fixed), ["a.fixed", "a.waived"]);
        assert_eq!(d.fixed[0].message, "was broken");
        assert_eq!(ids(&d.still_failing), ["a.still", "a.worse"]);
        assert_eq!(ids(&d.changed), ["a.skipped"]);
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.only_in_old[0].id, "a.gone");
        let only_new: Vec<&str> = d.only_in_new.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(only_new, ["a.added", "a.added_ok"]);
        assert_eq!(d.new_failures(), ["a.newly", "a.added"]);
        assert!(!d.is_empty());
        let changes = d.status_changes();
        assert!(
            changes.contains(&"a.worse fail → error".to_string()),
            "{changes:?}"
        );
        assert!(
            changes.contains(&"a.gone fail → -".to_string()),
            "{changes:?}"
        );
        assert!(
            !changes.iter().any(|c| c.starts_with("a.still ")),
            "{changes:?}"
        );
    }

    #[test]
    fn the_same_run_has_no_difference() {
        let run = [("a.x", Status::Pass, ""), ("a.y", Status::Fail, "")];
        let d = Diff::compare(
            DiffKind::Runs,
            Side::named("o"),
            &run,
            Side::named("n"),
            &run,
        );
        assert!(d.is_empty() && d.new_failures().is_empty());
        assert_eq!((d.unchanged, d.still_failing.len()), (1, 1));
    }

    #[test]
    fn environments_read_as_sentences() {
        assert_eq!(
            sentence(
                "staging",
                Some(Status::Pass),
                "production",
                Some(Status::Fail),
                "rds.multi_az"
            ),
            "staging passes rds.multi_az, production fails rds.multi_az"
        );
        assert_eq!(
            sentence("staging", None, "production", Some(Status::Error), "x.y"),
            "staging does not run x.y, production cannot look at x.y"
        );
    }
}
