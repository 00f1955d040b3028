//! A comparison ([`crate::diff`]) rendered: terminal, Markdown, one
//! self-contained HTML page (the gate report's style, no script), JSON.
//!
//! Two runs read as "newly failing", "fixed", "still failing"; two
//! environments as sentences: "staging passes X, production fails X".

use std::fmt::Write;

use console::Style;

use crate::Status;
use crate::diff::{DiffKind, DiffReport, sentence};

use super::html::{CSS, escape};

/// One row of a section: an id, its status on each side (`None`: absent), a message.
struct Row<'a> {
    id: &'a str,
    old: Option<Status>,
    new: Option<Status>,
    message: &'a str,
}

/// A class of ids, titled for the kind of comparison.
struct Section<'a> {
    /// As the JSON names the class.
    key: &'static str,
    title: String,
    rows: Vec<Row<'a>>,
}

fn sections(report: &DiffReport) -> Vec<Section<'_>> {
    let d = &report.diff;
    let (old, new) = (d.old.label.as_str(), d.new.label.as_str());
    let titles: [String; 6] = match d.kind {
        DiffKind::Runs => [
            "Newly failing".into(),
            "Fixed".into(),
            "Still failing".into(),
            "Other status changes".into(),
            format!("Only in {old}"),
            format!("Only in {new}"),
        ],
        DiffKind::Environments => [
            format!("Failing in {new}, not in {old}"),
            format!("Failing in {old}, not in {new}"),
            "Failing in both".into(),
            "Other differences".into(),
            format!("Only in {old}"),
            format!("Only in {new}"),
        ],
    };
    fn changes(list: &[crate::diff::Change]) -> Vec<Row<'_>> {
        list.iter()
            .map(|c| Row {
                id: &c.id,
                old: Some(c.old),
                new: Some(c.new),
                message: &c.message,
            })
            .collect()
    }
    let [t0, t1, t2, t3, t4, t5] = titles;
    vec![
        Section {
            key: "newly_failing",
            title: t0,
            rows: changes(&d.newly_failing),
        },
        Section {
            key: "fixed",
            title: t1,
            rows: changes(&d.fixed),
        },
        Section {
            key: "still_failing",
            title: t2,
            rows: changes(&d.still_failing),
        },
        Section {
            key: "changed",
            title: t3,
            rows: changes(&d.changed),
        },
        Section {
            key: "only_in_old",
            title: t4,
            rows: d
                .only_in_old
                .iter()
                .map(|e| Row {
                    id: &e.id,
                    old: Some(e.status),
                    new: None,
                    message: &e.message,
                })
                .collect(),
        },
        Section {
            key: "only_in_new",
            title: t5,
            rows: d
                .only_in_new
                .iter()
                .map(|e| Row {
                    id: &e.id,
                    old: None,
                    new: Some(e.status),
                    message: &e.message,
                })
                .collect(),
        },
    ]
}

fn status(s: Option<Status>) -> &'static str {
    s.map(Status::as_str).unwrap_or("-")
}

/// What a row says: `old → new` for runs, a sentence for environments.
fn what(report: &DiffReport, row: &Row) -> String {
    let d = &report.diff;
    match d.kind {
        DiffKind::Runs => format!("{} → {}", status(row.old), status(row.new)),
        DiffKind::Environments => sentence(&d.old.label, row.old, &d.new.label, row.new, row.id),
    }
}

/// The last line: what `--fail-on new` would fail on.
fn conclusion(report: &DiffReport) -> String {
    if report.new_failures.is_empty() {
        match report.diff.kind {
            DiffKind::Runs => "no new failures".into(),
            DiffKind::Environments => format!(
                "nothing fails in {} that does not fail in {}",
                report.diff.new.label, report.diff.old.label
            ),
        }
    } else {
        format!(
            "{} new failure(s): {}",
            report.new_failures.len(),
            report.new_failures.join(", ")
        )
    }
}

fn side_line(side: &crate::diff::Side) -> String {
    let mut parts = Vec::new();
    if !side.environment.is_empty() && side.environment != side.label {
        parts.push(side.environment.clone());
    }
    if !side.started_at.is_empty() {
        parts.push(format!("started {}", side.started_at));
    }
    if !side.verdict.is_empty() {
        parts.push(side.verdict.clone());
    }
    if !side.evidence_digest.is_empty() {
        parts.push(format!("evidence {}", side.evidence_digest));
    }
    format!("{}: {}", side.label, parts.join(", "))
}

/// On the terminal (`colour`: with ANSI styles).
pub fn terminal(report: &DiffReport, colour: bool) -> String {
    let paint = |style: Style, text: &str| {
        if colour {
            style.apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let d = &report.diff;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} {} → {}",
        paint(Style::new().bold(), "verify diff"),
        d.old.label,
        d.new.label
    );
    let _ = writeln!(out, "  {}", side_line(&d.old));
    let _ = writeln!(out, "  {}", side_line(&d.new));
    let width = sections(report)
        .iter()
        .flat_map(|s| s.rows.iter().map(|r| r.id.len()))
        .max()
        .unwrap_or(0);
    for section in sections(report) {
        if section.rows.is_empty() {
            continue;
        }
        let (mark, style) = match section.key {
            "newly_failing" => ("✗", Style::new().red().bold()),
            "fixed" => ("✓", Style::new().green()),
            "still_failing" => ("!", Style::new().red()),
            "only_in_old" => ("-", Style::new().dim()),
            "only_in_new" => ("+", Style::new().yellow()),
            _ => ("~", Style::new().yellow()),
        };
        let _ = writeln!(
            out,
            "\n{} ({})",
            paint(Style::new().bold().underlined(), &section.title),
            section.rows.len()
        );
        for row in &section.rows {
            let line = match d.kind {
                DiffKind::Runs => format!("{:<width$}  {}", row.id, what(report, row)),
                DiffKind::Environments => what(report, row),
            };
            let message = if row.message.is_empty() {
                String::new()
            } else {
                format!("  {}", row.message)
            };
            let _ = writeln!(out, "  {} {line}{message}", paint(style.clone(), mark));
        }
    }
    let _ = writeln!(out, "\n{} unchanged", d.unchanged);
    let style = if report.new_failures.is_empty() {
        Style::new().green().bold()
    } else {
        Style::new().red().bold()
    };
    let _ = writeln!(out, "{}", paint(style, &conclusion(report)));
    out
}

/// A Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// For a pull-request comment.
pub fn markdown(report: &DiffReport) -> String {
    let d = &report.diff;
    let mut md = String::new();
    let icon = if report.new_failures.is_empty() {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(
        md,
        "# verify diff: `{}` → `{}` — {icon} {}\n",
        cell(&d.old.label),
        cell(&d.new.label),
        cell(&conclusion(report))
    );
    let _ = writeln!(
        md,
        "- {}\n- {}\n",
        cell(&side_line(&d.old)),
        cell(&side_line(&d.new))
    );
    for section in sections(report) {
        if section.rows.is_empty() {
            continue;
        }
        let _ = writeln!(md, "## {} ({})\n", cell(&section.title), section.rows.len());
        let _ = writeln!(
            md,
            "| check | {} | {} | what | message |\n|---|---|---|---|---|",
            cell(&d.old.label),
            cell(&d.new.label)
        );
        for row in &section.rows {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} |",
                row.id,
                status(row.old),
                status(row.new),
                cell(&what(report, row)),
                cell(row.message)
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "{} check(s) unchanged.", d.unchanged);
    md
}

/// One self-contained page: inline CSS, no script, nothing fetched.
pub fn html(report: &DiffReport) -> String {
    let d = &report.diff;
    let (word, class) = if report.new_failures.is_empty() {
        ("NO NEW FAILURES", "go")
    } else {
        ("NEW FAILURES", "no-go")
    };
    let mut h = String::with_capacity(8 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{word} — verify diff {} → {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&d.old.label),
        escape(&d.new.label)
    );
    let _ = writeln!(
        h,
        "<header id=\"verdict\" class=\"verdict {class}\" data-new-failures=\"{}\">\n\
         <div class=\"word\">{word}</div>\n<div class=\"env\">{} → {}</div>\n\
         <div class=\"parts\">{}</div>\n</header>",
        report.new_failures.len(),
        escape(&d.old.label),
        escape(&d.new.label),
        escape(&conclusion(report))
    );
    let _ = writeln!(
        h,
        "<section id=\"sides\">\n<h2>Compared</h2>\n<table class=\"facts\">\n\
         <tr><th>{}</th><td>{}</td></tr>\n<tr><th>{}</th><td>{}</td></tr>\n\
         <tr><th>Unchanged</th><td>{}</td></tr>\n</table>\n</section>",
        escape(&d.old.label),
        escape(&side_line(&d.old)),
        escape(&d.new.label),
        escape(&side_line(&d.new)),
        d.unchanged
    );
    for section in sections(report) {
        if section.rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<section id=\"{}\">\n<h2>{} ({})</h2>\n<table class=\"checks\">\n\
             <thead><tr><th>{}</th><th>check</th><th>{}</th><th>message</th></tr></thead>\n<tbody>",
            section.key,
            escape(&section.title),
            section.rows.len(),
            escape(&d.old.label),
            escape(&d.new.label)
        );
        for row in &section.rows {
            let badge = |s: Option<Status>| match s {
                Some(s) => format!("<span class=\"badge {0}\">{0}</span>", s.as_str()),
                None => "—".into(),
            };
            let _ = writeln!(
                h,
                "<tr class=\"{}\" data-id=\"{}\"><td class=\"status\">{}</td><td class=\"id\"><code>{}</code><br>{}</td><td class=\"status\">{}</td><td>{}</td></tr>",
                section.key,
                escape(row.id),
                badge(row.old),
                escape(row.id),
                escape(&what(report, row)),
                badge(row.new),
                escape(row.message)
            );
        }
        let _ = writeln!(h, "</tbody>\n</table>\n</section>");
    }
    let _ = writeln!(
        h,
        "<footer>Written by <code>verify diff</code>. The JSON has every field.</footer>\n</body>\n</html>"
    );
    h
}

/// The JSON document (`docs/schemas/diff.schema.json`).
pub fn json(report: &DiffReport) -> String {
    serde_json::to_string_pretty(report).expect("the diff serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Diff, Side};
    use Status::*;

    fn runs() -> DiffReport {
        let old = [
            ("rds.multi_az", Pass, ""),
            ("ses.identity", Fail, "no <identity>"),
            ("a.gone", Pass, ""),
        ];
        let new = [
            ("rds.multi_az", Fail, "MultiAZ | false"),
            ("ses.identity", Pass, "ok"),
            ("a.new", Error, "denied"),
        ];
        DiffReport::new(
            Diff::compare(
                DiffKind::Runs,
                Side::named("old.json"),
                &old,
                Side::named("new.json"),
                &new,
            ),
            crate::Tool::default(),
        )
    }

    #[test]
    fn the_terminal_names_each_class() {
        let text = terminal(&runs(), false);
        assert!(
            text.contains("Newly failing (1)\n  ✗ rds.multi_az  pass → fail  MultiAZ | false"),
            "{text}"
        );
        assert!(
            text.contains("Fixed (1)\n  ✓ ses.identity  fail → pass  no <identity>"),
            "{text}"
        );
        assert!(text.contains("Only in old.json (1)\n  - a.gone"), "{text}");
        assert!(text.contains("Only in new.json (1)\n  + a.new"), "{text}");
        assert!(
            text.ends_with("2 new failure(s): rds.multi_az, a.new\n"),
            "{text}"
        );
    }

    #[test]
    fn environments_read_as_sentences_in_every_format() {
        let a = [("rds.multi_az", Pass, "")];
        let b = [("rds.multi_az", Fail, "MultiAZ false")];
        let report = DiffReport::new(
            Diff::compare(
                DiffKind::Environments,
                Side::named("staging"),
                &a,
                Side::named("production"),
                &b,
            ),
            crate::Tool::default(),
        );
        let line = "staging passes rds.multi_az, production fails rds.multi_az";
        assert!(terminal(&report, false).contains(&format!(
            "Failing in production, not in staging (1)\n  ✗ {line}"
        )));
        assert!(markdown(&report).contains(line));
        assert!(html(&report).contains(line));
    }

    #[test]
    fn markdown_and_html_escape_and_json_reads_back() {
        let report = runs();
        let md = markdown(&report);
        assert!(
            md.contains("| `rds.multi_az` | pass | fail | pass → fail | MultiAZ \\| false |"),
            "{md}"
        );
        let page = html(&report);
        assert!(
            page.contains("no &lt;identity&gt;") && !page.contains("<script"),
            "{page}"
        );
        assert!(page.contains("data-new-failures=\"2\""));
        let back: DiffReport = serde_json::from_str(&json(&report)).unwrap();
        assert_eq!(back, report);
        let v: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        assert_eq!(v["kind"], "runs");
        assert_eq!(v["newly_failing"][0]["id"], "rds.multi_az");
        assert_eq!(
            v["new_failures"],
            serde_json::json!(["rds.multi_az", "a.new"])
        );
    }
}
