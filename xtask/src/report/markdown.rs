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
    md
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
    }
}
