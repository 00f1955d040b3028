//! The report of one run, built from the outcomes the gate suite wrote, and
//! its renderings: terminal, JSON (the shape in `harness.md`), JUnit, Markdown.

pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One check's outcome, as the gate suite writes it (one JSON line each).
/// It mirrors `verify::Outcome` on purpose: xtask does not depend on
/// `verify`, so `cargo xtask` never compiles the AWS SDK with a second
/// feature set (`build.md`, double compilation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckOutcome {
    pub id: String,
    pub status: Status,
    pub message: String,
    pub duration_ms: u64,
    pub evidence: Value,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Waived => "waived",
        }
    }
}

impl CheckOutcome {
    pub fn area(&self) -> &str {
        self.id.split('.').next().unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub waived: usize,
}

/// The JSON report (`--report json=…`): `harness.md`'s shape, plus the AWS call counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub environment: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub verdict: String,
    pub summary: Summary,
    pub checks: Vec<CheckOutcome>,
    #[serde(default)]
    pub aws_calls: Value,
}

/// What the gate suite writes at the end of its run (`run.json`).
#[derive(Debug, Deserialize)]
pub struct RunRecord {
    pub environment: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub aws_calls: Value,
}

impl Report {
    pub fn new(record: RunRecord, checks: Vec<CheckOutcome>) -> Report {
        let mut summary = Summary::default();
        for c in &checks {
            match c.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Error => summary.error += 1,
                Status::Skip => summary.skip += 1,
                Status::Waived => summary.waived += 1,
            }
        }
        let go = summary.fail == 0 && summary.error == 0;
        Report {
            environment: record.environment,
            started_at: record.started_at,
            duration_ms: record.duration_ms,
            verdict: if go { "go" } else { "no-go" }.into(),
            summary,
            checks,
            aws_calls: record.aws_calls,
        }
    }

    pub fn is_go(&self) -> bool {
        self.verdict == "go"
    }

    /// Areas in first-seen order, each with its outcomes.
    pub fn by_area(&self) -> Vec<(&str, Vec<&CheckOutcome>)> {
        let mut areas: Vec<(&str, Vec<&CheckOutcome>)> = Vec::new();
        for c in &self.checks {
            match areas.iter_mut().find(|(a, _)| *a == c.area()) {
                Some((_, list)) => list.push(c),
                None => areas.push((c.area(), vec![c])),
            }
        }
        areas
    }
}

/// Reads `outcomes.jsonl`: one outcome per line; a torn last line (still being written) is ignored.
pub fn read_outcomes(path: &Path) -> Result<Vec<CheckOutcome>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

pub fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
pub(crate) fn sample() -> Report {
    let check = |id: &str, status, message: &str| CheckOutcome {
        id: id.into(),
        status,
        message: message.into(),
        duration_ms: 3,
        evidence: serde_json::json!({ "operations": ["rds:DescribeDBInstances"] }),
    };
    Report::new(
        RunRecord {
            environment: "sandbox".into(),
            started_at: "2026-11-23T19:00:00Z".into(),
            duration_ms: 120,
            aws_calls: serde_json::json!({ "operations": { "rds:DescribeDBInstances": 1 }, "requests": 1 }),
        },
        vec![
            check(
                "rds.multi_az",
                Status::Fail,
                "rds instance 'core': MultiAZ expected true, observed false",
            ),
            check("rds.encrypted", Status::Pass, "encrypted <&>"),
            check(
                "budgets.monthly",
                Status::Error,
                "budgets:DescribeBudget failed: AccessDenied",
            ),
            check("ses.identity", Status::Skip, "no ses declared"),
            check(
                "budgets.thresholds",
                Status::Waived,
                "waived until 2026-12-31 (OPS-1): was fail: x | y",
            ),
        ],
    )
}
