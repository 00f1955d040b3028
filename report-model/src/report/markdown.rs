//! `--report markdown=PATH`: for a pull-request comment or a launch checklist.

use std::fmt::Write;

use crate::gates::BlockerKind;
use crate::signoffs::SignoffStatus;

use super::{Report, Status};

pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let mut md = String::new();
    let verdict = if report.is_go() {
        "✅ **GO**"
    } else {
        "❌ **NO-GO**"
    };
    let _ = writeln!(md, "# verify {} — {verdict}\n", report.environment);
    let _ = writeln!(
        md,
        "{} pass · {} fail · {} error · {} skip · {} waived — started {}, took {} ms\n",
        s.pass, s.fail, s.error, s.skip, s.waived, report.started_at, report.duration_ms
    );
    let _ = writeln!(
        md,
        "AWS account `{}` in `{}`, as `{}`\n",
        report.identity.account, report.identity.region, report.identity.arn
    );
    if !report.evidence_digest.is_empty() {
        let _ = writeln!(
            md,
            "Evidence `{}`{}\n",
            report.evidence_digest,
            super::terminal::evidence_covers(report)
        );
    }
    for (group, checks) in report.by_group() {
        let _ = writeln!(md, "## {group}\n\n| | check | result |\n|---|---|---|");
        for c in checks {
            let icon = match c.status {
                Status::Pass => "✅",
                Status::Fail => "❌",
                Status::Error => "⚠️",
                Status::Skip => "⏭️",
                Status::Waived => "🟡",
            };
            let message = cell(&c.message);
            let _ = writeln!(
                md,
                "| {icon} {} | `{}` | {message} |",
                c.status.as_str(),
                c.id
            );
        }
        md.push('\n');
    }
    signoffs(report, &mut md);
    blocking(report, &mut md);
    evidence_of_failures(report, &mut md);
    md
}

/// A table cell: `|` escaped, line breaks as spaces.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// The sign-offs and manual items, or a note that none were given.
fn signoffs(report: &Report, md: &mut String) {
    let Some(s) = &report.signoffs else {
        let _ = writeln!(
            md,
            "## Sign-offs\n\nNot given to this run (`--signoffs FILE`): the verdict is the automated checks' alone.\n"
        );
        return;
    };
    let _ = writeln!(
        md,
        "## Sign-offs\n\nFrom {}, judged on {} (UTC).\n\n| | role | owner | confirms | status | evidence |\n|---|---|---|---|---|---|",
        code(&s.file),
        s.judged_on
    );
    for r in &s.roles {
        let icon = if r.status == SignoffStatus::Given {
            "✅"
        } else {
            "❌"
        };
        let _ = writeln!(
            md,
            "| {icon} {} | {} | {} | {} | {} | {} |",
            r.status.as_str(),
            cell(&r.role),
            cell(r.owner.as_deref().unwrap_or("—")),
            cell(r.confirms.as_deref().unwrap_or("—")),
            cell(&r.reason),
            r.evidence
                .as_deref()
                .map(|e| cell(&code(e)))
                .unwrap_or_else(|| "—".into())
        );
    }
    md.push('\n');
    if !s.manual.is_empty() {
        let _ = writeln!(
            md,
            "### Manual checklist\n\n| | group | item | done by | evidence |\n|---|---|---|---|---|"
        );
        for m in &s.manual {
            let icon = if m.done { "✅ done" } else { "❌ not done" };
            let _ = writeln!(
                md,
                "| {icon} | {} | {} | {} | {} |",
                cell(&m.group),
                cell(&m.item),
                cell(m.done_by.as_deref().unwrap_or("—")),
                m.evidence
                    .as_deref()
                    .map(|e| cell(&code(e)))
                    .unwrap_or_else(|| "—".into())
            );
        }
        md.push('\n');
    }
}

/// What blocks go, by gate group.
fn blocking(report: &Report, md: &mut String) {
    if report.blocking.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Blocking go\n");
    for g in &report.blocking {
        let _ = writeln!(md, "- **{}**", cell(&g.group));
        for item in &g.items {
            let what = match item.kind {
                BlockerKind::Check => code(&item.id),
                BlockerKind::Signoff => format!("sign-off {}", item.id),
                BlockerKind::Manual => format!("manual {}", code(&item.id)),
            };
            let _ = writeln!(md, "  - {what}: {}", cell(&item.why));
        }
    }
    md.push('\n');
}

/// Longest JSON shown per field; beyond it the JSON report has the rest.
const MAX_JSON: usize = 1200;

/// For each failing check: the resources it looked at, what was expected
/// and what was observed (compact JSON, cut at [`MAX_JSON`] characters).
fn evidence_of_failures(report: &Report, md: &mut String) {
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Evidence of failing checks\n");
    for c in failing {
        let e = &c.evidence;
        let _ = writeln!(md, "### `{}`\n", c.id);
        if !e.resources.is_empty() {
            let resources: Vec<String> = e.resources.iter().map(|r| code(r)).collect();
            let _ = writeln!(md, "- resources: {}", resources.join(", "));
        }
        for (label, value) in [("expected", &e.expected), ("observed", &e.observed)] {
            if !value.is_null() {
                let _ = writeln!(md, "- {label}: {}", code(&cut(&value.to_string())));
            }
        }
        md.push('\n');
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_JSON) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// An inline code span that holds `text` whatever backticks it contains.
fn code(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_by_area_with_escaped_cells() {
        let md = super::render(&super::super::sample());
        assert!(md.starts_with("# verify sandbox — ❌ **NO-GO**"), "{md}");
        assert!(md.contains("## Database (RDS)\n"), "{md}");
        assert!(md.contains("Not given to this run"), "{md}");
        assert!(
            md.contains("## Blocking go\n\n- **Database (RDS)**\n  - `rds.multi_az`: fail: "),
            "{md}"
        );
        assert!(md.contains("| ❌ fail | `rds.multi_az` |"), "{md}");
        assert!(md.contains("x \\| y"), "{md}");
        let evidence = md
            .split("## Evidence of failing checks\n")
            .nth(1)
            .expect(&md);
        assert!(evidence.starts_with("\n### `rds.multi_az`\n"), "{md}");
        assert!(
            evidence.contains("- resources: `rds instance 'core'`\n"),
            "{md}"
        );
        assert!(
            evidence.contains(r#"- expected: `{"core":{"MultiAZ":true}}`"#),
            "{md}"
        );
        assert!(evidence.contains(r#"- observed: `{"core":{"#), "{md}");
        // Only failing checks: the error and the waived one are in the tables only.
        assert!(!evidence.contains("budgets."), "{md}");
    }

    #[test]
    fn signoffs_and_manual_items_are_listed() {
        let md = super::render(&super::super::sample_with_signoffs());
        assert!(
            md.contains("From `signoffs.hcl`, judged on 2026-11-23 (UTC)."),
            "{md}"
        );
        assert!(
            md.contains("| ✅ given | Engineering | Head of Engineering |"),
            "{md}"
        );
        assert!(md.contains("| ❌ missing | Commercial |"), "{md}");
        assert!(md.contains("| ❌ expired | Regulatory |"), "{md}");
        assert!(
            md.contains("| ❌ not done | Operations | Status page live | — | — |"),
            "{md}"
        );
        assert!(
            md.contains("- **Commercial**\n  - sign-off Commercial: declared"),
            "{md}"
        );
        assert!(
            md.contains(
                "- **Operations**\n  - manual `status-page-live`: not done: Status page live"
            ),
            "{md}"
        );
    }

    #[test]
    fn code_spans_hold_backticks_and_long_json_is_cut() {
        assert_eq!(super::code("a"), "`a`");
        assert_eq!(super::code("a`b"), "``a`b``");
        assert_eq!(super::code("`a"), "`` `a ``");
        let long = "x".repeat(super::MAX_JSON + 5);
        assert_eq!(super::cut(&long).chars().count(), super::MAX_JSON + 1);
        assert!(super::cut(&long).ends_with('…'));
    }
}
