//! `--report markdown=PATH`: for a pull-request comment or a launch checklist.

use std::fmt::Write;

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
    for (area, checks) in report.by_area() {
        let _ = writeln!(md, "## {area}\n\n| | check | result |\n|---|---|---|");
        for c in checks {
            let icon = match c.status {
                Status::Pass => "✅",
                Status::Fail => "❌",
                Status::Error => "⚠️",
                Status::Skip => "⏭️",
                Status::Waived => "🟡",
            };
            let message = c.message.replace('|', "\\|").replace('\n', " ");
            let _ = writeln!(
                md,
                "| {icon} {} | `{}` | {message} |",
                c.status.as_str(),
                c.id
            );
        }
        md.push('\n');
    }
    evidence_of_failures(report, &mut md);
    md
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
        assert!(md.contains("## rds\n"), "{md}");
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
    fn code_spans_hold_backticks_and_long_json_is_cut() {
        assert_eq!(super::code("a"), "`a`");
        assert_eq!(super::code("a`b"), "``a`b``");
        assert_eq!(super::code("`a"), "`` `a ``");
        let long = "x".repeat(super::MAX_JSON + 5);
        assert_eq!(super::cut(&long).chars().count(), super::MAX_JSON + 1);
        assert!(super::cut(&long).ends_with('…'));
    }
}
