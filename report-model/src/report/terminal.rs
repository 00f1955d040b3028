//! The report on the terminal: grouped by gate group, failures first within
//! a group, then the sign-offs, what blocks go, and the verdict. Colour is
//! the caller's choice (`verify --color`, which honours `NO_COLOR`).

use std::fmt::Write;

use crate::signoffs::SignoffStatus;
use console::Style;

use super::{Report, Status};

/// The terminal report as text (`colour`: with ANSI styles).
pub fn render(report: &Report, spec_file: &str, colour: bool) -> String {
    let paint = |style: Style, text: &str| {
        if colour {
            style.apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(10);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} {}  ({spec_file})",
        paint(Style::new().bold(), "verify"),
        paint(Style::new().bold(), &report.environment)
    );
    let _ = writeln!(
        out,
        "account {} in {} as {}",
        report.identity.account, report.identity.region, report.identity.arn
    );
    for (group, checks) in report.by_group() {
        let _ = writeln!(out, "\n{}", paint(Style::new().bold().underlined(), &group));
        let mut checks = checks;
        checks.sort_by_key(|c| match c.status {
            Status::Fail | Status::Error => 0,
            Status::Waived => 1,
            Status::Pass => 2,
            Status::Skip => 3,
        });
        for c in checks {
            let (mark, style) = match c.status {
                Status::Pass => ("✓ pass  ", Style::new().green()),
                Status::Fail => ("✗ FAIL  ", Style::new().red().bold()),
                Status::Error => ("! ERROR ", Style::new().red().bold()),
                Status::Skip => ("- skip  ", Style::new().dim()),
                Status::Waived => ("~ waived", Style::new().yellow()),
            };
            let _ = writeln!(
                out,
                "  {} {:<width$}  {}",
                paint(style, mark),
                c.id,
                c.message
            );
        }
    }
    let s = &report.summary;
    let calls = report
        .aws_calls
        .get("operations")
        .and_then(|o| o.as_object())
        .map(|o| o.values().filter_map(|v| v.as_u64()).sum::<u64>());
    let _ = writeln!(
        out,
        "\n{} checks: {} pass, {} fail, {} error, {} skip, {} waived — {} ms{}",
        report.checks.len(),
        s.pass,
        s.fail,
        s.error,
        s.skip,
        s.waived,
        report.duration_ms,
        calls
            .map(|n| format!(", {n} AWS calls"))
            .unwrap_or_default()
    );
    if !report.evidence_digest.is_empty() {
        let _ = writeln!(
            out,
            "evidence {}{}",
            report.evidence_digest,
            evidence_covers(report)
        );
    }
    match &report.signoffs {
        None => {
            let _ = writeln!(
                out,
                "\n{}",
                paint(
                    Style::new().yellow(),
                    "sign-offs: not given to this run (--signoffs FILE); the verdict is the automated checks' alone"
                )
            );
        }
        Some(signoffs) => {
            let _ = writeln!(
                out,
                "\n{} ({}, judged on {} UTC)",
                paint(Style::new().bold().underlined(), "Sign-offs"),
                signoffs.file,
                signoffs.judged_on
            );
            for r in &signoffs.roles {
                let (mark, style) = match r.status {
                    SignoffStatus::Given => ("✓ given  ", Style::new().green()),
                    SignoffStatus::Missing => ("✗ MISSING", Style::new().red().bold()),
                    SignoffStatus::Expired => ("✗ EXPIRED", Style::new().red().bold()),
                    SignoffStatus::Stale => ("✗ STALE  ", Style::new().red().bold()),
                };
                let _ = writeln!(out, "  {} {}: {}", paint(style, mark), r.role, r.reason);
            }
            for m in &signoffs.manual {
                let (mark, style, who) = if m.done {
                    (
                        "✓ done   ",
                        Style::new().green(),
                        format!(" (by {})", m.done_by.as_deref().unwrap_or("?")),
                    )
                } else {
                    ("✗ NOT DONE", Style::new().red().bold(), String::new())
                };
                let _ = writeln!(
                    out,
                    "  {} [{}] {}{who}",
                    paint(style, mark),
                    m.group,
                    m.item
                );
            }
        }
    }
    if !report.blocking.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint(Style::new().bold().underlined(), "Blocking go")
        );
        for g in &report.blocking {
            let _ = writeln!(out, "  {}", g.group);
            for item in &g.items {
                let what = match item.kind {
                    crate::gates::BlockerKind::Check => item.id.clone(),
                    crate::gates::BlockerKind::Signoff => format!("sign-off {}", item.id),
                    crate::gates::BlockerKind::Manual => format!("manual {}", item.id),
                };
                let _ = writeln!(out, "    - {what}: {}", item.why);
            }
        }
    }
    let verdict = if report.is_go() {
        paint(Style::new().green().bold(), "GO")
    } else {
        paint(Style::new().red().bold(), "NO-GO")
    };
    let _ = writeln!(out, "verdict: {verdict}");
    out
}

/// What the digest covered besides the checks: ` (checks, plan, commit abc1234)`.
pub(crate) fn evidence_covers(report: &Report) -> String {
    let inputs = &report.evidence_inputs;
    let mut parts = vec!["checks".to_string()];
    if inputs.plan.is_some() {
        parts.push("plan".into());
    }
    if let Some(commit) = &inputs.commit {
        parts.push(format!("commit {commit}"));
    }
    format!(" ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_checks_and_says_when_signoffs_were_not_given() {
        let text = super::render(&super::super::sample(), "sandbox.hcl", false);
        assert!(text.contains("\nDatabase (RDS)\n"), "{text}");
        assert!(text.contains("\nAlerting and budgets\n"), "{text}");
        assert!(text.contains("sign-offs: not given to this run"), "{text}");
        assert!(text.contains("    - rds.multi_az: fail: "), "{text}");
        assert!(text.ends_with("verdict: NO-GO\n"), "{text}");
        assert!(text.contains("\nevidence sha256:"), "{text}");
        assert!(text.contains(" (checks)\n"), "{text}");
        // Groups in gate order: RDS before budgets before SES.
        let at = |s: &str| text.find(s).unwrap();
        assert!(at("Database (RDS)") < at("Alerting and budgets"));
        assert!(at("Alerting and budgets") < at("Email (SES)"));
    }

    #[test]
    fn names_missing_and_expired_signoffs() {
        let text = super::render(&super::super::sample_with_signoffs(), "sandbox.hcl", false);
        assert!(!text.contains("not given to this run"), "{text}");
        assert!(
            text.contains("✓ given   Engineering: signed by Ana Pop"),
            "{text}"
        );
        assert!(
            text.contains(
                "✗ MISSING Commercial: declared (`signoff \"commercial\"`) but not signed"
            ),
            "{text}"
        );
        assert!(
            text.contains("✗ EXPIRED Regulatory: expired on 2026-11-01"),
            "{text}"
        );
        assert!(
            text.contains("✗ NOT DONE [Operations] Status page live"),
            "{text}"
        );
        assert!(
            text.contains("  Commercial\n    - sign-off Commercial: declared"),
            "{text}"
        );
    }
}
