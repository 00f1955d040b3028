//! `--report html=PATH`: one self-contained page for the go/no-go meeting.
//! Inline CSS, no script, nothing fetched: it opens from a file, a CI
//! artifact or a mail attachment alike. Every string from the run is
//! escaped ([`escape`]).
//!
//! From the top: the verdict, the run (environment, identity, when, how
//! long), what blocks go by gate group, the automated results by gate group
//! (each row's evidence in a `<details>`), drill timelines (inline SVG) when
//! a check carries one, the sign-offs and manual items, and the waivers in
//! force with their justification and expiry.

use std::fmt::Write;

use crate::gates::BlockerKind;
use crate::signoffs::SignoffStatus;
use crate::timeline::{Timeline, render};
use serde_json::Value;

use super::{CheckOutcome, Report, Status};

/// The page.
pub fn render(report: &Report) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let (verdict, class) = if report.is_go() {
        ("GO", "go")
    } else {
        ("NO-GO", "no-go")
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{verdict} — verify {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&report.environment)
    );
    let _ = write!(
        h,
        "<header id=\"verdict\" class=\"verdict {class}\" data-verdict=\"{}\">\n\
         <div class=\"word\">{verdict}</div>\n<div class=\"env\">{}</div>\n",
        escape(&report.verdict),
        escape(&report.environment)
    );
    let automated = if report.automated_go() {
        "automated checks: go"
    } else {
        "automated checks: no-go"
    };
    let signoffs = match &report.signoffs {
        None => "sign-offs: not given to this run".to_string(),
        Some(s) if s.complete => "sign-offs: complete".to_string(),
        Some(s) => format!(
            "sign-offs: incomplete ({} role(s) missing, {} item(s) not done)",
            s.missing_roles().len(),
            s.manual.iter().filter(|m| !m.done).count()
        ),
    };
    let _ = writeln!(
        h,
        "<div class=\"parts\">{} · {}</div>\n</header>",
        escape(automated),
        escape(&signoffs)
    );

    run_facts(report, &mut h);
    blocking(report, &mut h);
    checks(report, &mut h);
    timelines(report, &mut h);
    signoff_section(report, &mut h);
    waivers(report, &mut h);
    let _ = writeln!(
        h,
        "<footer>Written by <code>verify run</code>. The JSON report has every field.</footer>\n</body>\n</html>"
    );
    h
}

/// Text as HTML text or an attribute value (either quote).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link when `url` is http(s), else the text alone: never a `javascript:` href.
fn link(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        format!("<a href=\"{0}\">{0}</a>", escape(url))
    } else {
        escape(url)
    }
}

fn status_class(status: Status) -> &'static str {
    status.as_str()
}

fn run_facts(report: &Report, h: &mut String) {
    let s = &report.summary;
    let _ = writeln!(
        h,
        "<section id=\"run\">\n<h2>The run</h2>\n<table class=\"facts\">"
    );
    for (label, value) in [
        ("Environment", escape(&report.environment)),
        (
            "AWS account",
            format!(
                "<code>{}</code> in <code>{}</code>",
                escape(&report.identity.account),
                escape(&report.identity.region)
            ),
        ),
        (
            "Identity",
            format!("<code>{}</code>", escape(&report.identity.arn)),
        ),
        ("Started", escape(&report.started_at)),
        ("Duration", format!("{} ms", report.duration_ms)),
        (
            "Evidence",
            format!(
                "<code id=\"evidence-digest\">{}</code>{}",
                escape(&report.evidence_digest),
                escape(&super::terminal::evidence_covers(report))
            ),
        ),
        (
            "Checks",
            format!(
                "{} pass · {} fail · {} error · {} skip · {} waived",
                s.pass, s.fail, s.error, s.skip, s.waived
            ),
        ),
    ] {
        let _ = writeln!(h, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    let _ = writeln!(h, "</table>\n</section>");
}

fn blocking(report: &Report, h: &mut String) {
    if report.blocking.is_empty() {
        return;
    }
    let _ = writeln!(h, "<section id=\"blocking\">\n<h2>Blocking go</h2>");
    for g in &report.blocking {
        let _ = writeln!(h, "<h3>{}</h3>\n<ul class=\"blockers\">", escape(&g.group));
        for item in &g.items {
            let (kind, what) = match item.kind {
                BlockerKind::Check => ("check", format!("<code>{}</code>", escape(&item.id))),
                BlockerKind::Signoff => ("signoff", format!("sign-off {}", escape(&item.id))),
                BlockerKind::Manual => (
                    "manual",
                    format!("manual <code>{}</code>", escape(&item.id)),
                ),
            };
            let _ = writeln!(
                h,
                "<li class=\"blocker {kind}\" data-id=\"{}\">{what}: {}</li>",
                escape(&item.id),
                escape(&item.why)
            );
        }
        let _ = writeln!(h, "</ul>");
    }
    let _ = writeln!(h, "</section>");
}

fn checks(report: &Report, h: &mut String) {
    let _ = writeln!(h, "<section id=\"checks\">\n<h2>Automated checks</h2>");
    for (group, checks) in report.by_group() {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<table class=\"checks\">\n<thead><tr><th>status</th><th>check</th><th>result</th><th>ms</th></tr></thead>\n<tbody>",
            escape(&group)
        );
        for c in checks {
            let _ = writeln!(
                h,
                "<tr class=\"check {0}\" data-id=\"{1}\"><td class=\"status\"><span class=\"badge {0}\">{0}</span></td>\
                 <td class=\"id\"><code>{1}</code></td><td class=\"message\"><div class=\"text\">{2}</div>{3}</td><td class=\"ms\">{4}</td></tr>",
                status_class(c.status),
                escape(&c.id),
                escape(&c.message),
                evidence(c),
                c.duration_ms
            );
        }
        let _ = writeln!(h, "</tbody>\n</table>");
    }
    let _ = writeln!(h, "</section>");
}

/// A check's evidence in a `<details>` (open for a failing check).
fn evidence(c: &CheckOutcome) -> String {
    let e = &c.evidence;
    let empty = e.resources.is_empty()
        && e.expected.is_null()
        && e.observed.is_null()
        && e.operations.is_empty()
        && e.details.is_empty();
    if empty {
        return String::new();
    }
    let open = if c.status == Status::Fail {
        " open"
    } else {
        ""
    };
    let mut out = format!("<details class=\"evidence\"{open}><summary>evidence</summary><dl>");
    if !e.resources.is_empty() {
        let list: Vec<String> = e
            .resources
            .iter()
            .map(|r| format!("<code>{}</code>", escape(r)))
            .collect();
        let _ = write!(out, "<dt>resources</dt><dd>{}</dd>", list.join(", "));
    }
    for (label, value) in [("expected", &e.expected), ("observed", &e.observed)] {
        if !value.is_null() {
            let _ = write!(
                out,
                "<dt>{label}</dt><dd><pre class=\"{label}\">{}</pre></dd>",
                escape(&pretty(value))
            );
        }
    }
    if !e.operations.is_empty() {
        let ops: Vec<String> = e.operations.iter().map(|o| escape(o)).collect();
        let _ = write!(out, "<dt>operations</dt><dd>{}</dd>", ops.join(", "));
    }
    for (key, value) in &e.details {
        if key == "timeline" {
            continue;
        }
        let _ = write!(
            out,
            "<dt>{}</dt><dd><pre>{}</pre></dd>",
            escape(key),
            escape(&pretty(value))
        );
    }
    out.push_str("</dl></details>");
    out
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Checks that carry a drill timeline (`evidence.timeline`), drawn as SVG.
fn timelines(report: &Report, h: &mut String) {
    let drawn: Vec<(&CheckOutcome, Timeline)> = report
        .checks
        .iter()
        .filter_map(|c| {
            let t = c.evidence.details.get("timeline")?;
            Some((c, serde_json::from_value(t.clone()).ok()?))
        })
        .collect();
    if drawn.is_empty() {
        return;
    }
    let _ = writeln!(h, "<section id=\"timelines\">\n<h2>Drill timelines</h2>");
    for (c, timeline) in drawn {
        let _ = writeln!(
            h,
            "<figure class=\"timeline\" data-id=\"{}\">{}<figcaption>{}</figcaption></figure>",
            escape(&c.id),
            render::svg(&timeline, &format!("{} on {}", c.id, report.environment)),
            escape(&c.message)
        );
    }
    let _ = writeln!(h, "</section>");
}

fn signoff_section(report: &Report, h: &mut String) {
    let _ = writeln!(h, "<section id=\"signoffs\">\n<h2>Sign-offs</h2>");
    let Some(s) = &report.signoffs else {
        let _ = writeln!(
            h,
            "<p class=\"note\">Sign-offs were not given to this run (<code>--signoffs FILE</code>): \
             the verdict is the automated checks' alone.</p>\n</section>"
        );
        return;
    };
    let _ = writeln!(
        h,
        "<p>From <code>{}</code>, judged on {} (UTC).</p>\n<table class=\"signoffs\">\n\
         <thead><tr><th>status</th><th>role</th><th>owner</th><th>confirms</th><th>signed</th><th>evidence</th></tr></thead>\n<tbody>",
        escape(&s.file),
        escape(&s.judged_on)
    );
    for r in &s.roles {
        let class = match r.status {
            SignoffStatus::Given => "pass",
            SignoffStatus::Missing | SignoffStatus::Expired | SignoffStatus::Stale => "fail",
        };
        let _ = writeln!(
            h,
            "<tr class=\"signoff {}\" data-role=\"{}\"><td><span class=\"badge {class}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.status.as_str(),
            escape(&r.role),
            r.status.as_str(),
            escape(&r.role),
            escape(r.owner.as_deref().unwrap_or("—")),
            escape(r.confirms.as_deref().unwrap_or("—")),
            escape(&r.reason),
            r.evidence
                .as_deref()
                .map(link)
                .unwrap_or_else(|| "—".into())
        );
    }
    let _ = writeln!(h, "</tbody>\n</table>");
    if !s.manual.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Manual checklist</h3>\n<table class=\"manual\">\n\
             <thead><tr><th>status</th><th>group</th><th>item</th><th>done by</th><th>evidence</th></tr></thead>\n<tbody>"
        );
        for m in &s.manual {
            let (class, word) = if m.done {
                ("pass", "done")
            } else {
                ("fail", "not done")
            };
            let _ = writeln!(
                h,
                "<tr class=\"manual {class}\" data-id=\"{}\"><td><span class=\"badge {class}\">{word}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&m.label),
                escape(&m.group),
                escape(&m.item),
                escape(m.done_by.as_deref().unwrap_or("—")),
                m.evidence
                    .as_deref()
                    .map(link)
                    .unwrap_or_else(|| "—".into())
            );
        }
        let _ = writeln!(h, "</tbody>\n</table>");
    }
    let _ = writeln!(h, "</section>");
}

/// Every check a waiver covered (`evidence.waiver`, written by the gate
/// suite): the pattern, who accepted what and why, until when, and whether
/// it had expired (then it no longer applied).
fn waivers(report: &Report, h: &mut String) {
    let waived: Vec<&CheckOutcome> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Waived || c.evidence.details.contains_key("waiver"))
        .collect();
    if waived.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<section id=\"waivers\">\n<h2>Waivers</h2>\n<table class=\"waivers\">\n\
         <thead><tr><th>check</th><th>status</th><th>waiver</th><th>justification</th><th>expires</th></tr></thead>\n<tbody>"
    );
    for c in waived {
        let w = c.evidence.details.get("waiver");
        let field = |k: &str| {
            w.and_then(|w| w.get(k))
                .and_then(Value::as_str)
                .map(escape)
                .unwrap_or_else(|| "—".into())
        };
        let expired = w.and_then(|w| w.get("expired")).and_then(Value::as_bool) == Some(true);
        let expires = if expired {
            format!(
                "<span class=\"badge fail\">expired</span> on {}: no longer applies",
                field("expires")
            )
        } else {
            field("expires")
        };
        // A waived outcome written without the structured waiver still says it in its message.
        let justification = if w.is_some() {
            field("justification")
        } else {
            escape(&c.message)
        };
        let _ = writeln!(
            h,
            "<tr class=\"waiver\" data-id=\"{}\"><td><code>{}</code></td><td><span class=\"badge {2}\">{2}</span></td><td><code>{3}</code></td><td>{justification}</td><td>{expires}</td></tr>",
            escape(&c.id),
            escape(&c.id),
            status_class(c.status),
            field("pattern"),
        );
    }
    let _ = writeln!(h, "</tbody>\n</table>\n</section>");
}

pub(crate) const CSS: &str = "
:root { --go: #1b7f3b; --nogo: #b00020; --ink: #1d1d1f; --muted: #666; --line: #ddd; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 0 24px 48px; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--ink); background: #fff; }
header.verdict { margin: 24px 0 8px; padding: 28px 32px; border-radius: 10px; color: #fff; }
header.go { background: var(--go); }
header.no-go { background: var(--nogo); }
header .word { font-size: 72px; font-weight: 800; letter-spacing: 2px; line-height: 1; }
header .env { font-size: 24px; margin-top: 8px; font-weight: 600; }
header .parts { margin-top: 6px; opacity: .9; }
h2 { margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); font-size: 22px; }
h3 { margin: 20px 0 6px; font-size: 17px; }
table { width: 100%; border-collapse: collapse; margin: 4px 0 12px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
thead th { font-size: 12px; text-transform: uppercase; color: var(--muted); font-weight: 600; }
table.facts th { width: 160px; color: var(--muted); font-weight: 600; }
td.status, td.ms { white-space: nowrap; width: 1%; }
table.checks { table-layout: fixed; }
table.checks th:nth-child(1) { width: 96px; }
table.checks th:nth-child(2) { width: 280px; }
table.checks th:nth-child(4) { width: 64px; }
table.checks td.id code { overflow-wrap: anywhere; }
td.ms { text-align: right; color: var(--muted); }
table.signoffs td:nth-child(2) { font-weight: 600; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
pre { margin: 2px 0; padding: 6px 8px; background: #f6f6f6; border-radius: 4px; white-space: pre-wrap; word-break: break-word; }
.badge { display: inline-block; min-width: 62px; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700; text-align: center; text-transform: uppercase; color: #fff; background: #888; }
.badge.pass, .badge.given, .badge.done { background: var(--go); }
.badge.fail, .badge.error { background: var(--nogo); }
.badge.waived { background: #b7791f; }
.badge.skip { background: #999; }
tr.fail td, tr.error td { background: #fff5f5; }
tr.waived td { background: #fffaf0; }
tr.signoff.missing td, tr.signoff.expired td, tr.signoff.stale td { background: #fff5f5; }
details.evidence { margin-top: 4px; }
details.evidence summary { cursor: pointer; color: var(--muted); font-size: 13px; }
details.evidence dl { margin: 4px 0 0; display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
details.evidence dt { color: var(--muted); font-size: 13px; }
details.evidence dd { margin: 0; }
ul.blockers { margin: 0 0 8px; padding-left: 20px; }
ul.blockers li { margin: 2px 0; }
#blocking { border-left: 4px solid var(--nogo); padding-left: 16px; }
#blocking h2 { border-bottom-color: var(--nogo); color: var(--nogo); }
figure.timeline { margin: 12px 0; overflow-x: auto; }
figure.timeline figcaption { color: var(--muted); font-size: 13px; }
p.note { padding: 10px 14px; background: #fffaf0; border-left: 4px solid #b7791f; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print { header.verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; } details.evidence { display: none; } }
";

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Html, Selector};

    fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
        let selector = Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e:?}"));
        doc.select(&selector).collect()
    }

    fn text(e: &scraper::ElementRef) -> String {
        e.text().collect::<String>()
    }

    #[test]
    fn the_page_parses_with_the_verdict_and_one_row_per_check() {
        let report = super::super::sample();
        let page = render(&report);
        let doc = Html::parse_document(&page);
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        let verdict = select(&doc, "header#verdict");
        assert_eq!(verdict.len(), 1);
        assert_eq!(verdict[0].value().attr("data-verdict"), Some("no-go"));
        assert_eq!(text(&select(&doc, "header#verdict .word")[0]), "NO-GO");
        assert!(text(&select(&doc, "title")[0]).starts_with("NO-GO — verify sandbox"));
        // One row per check id, in the table of its gate group.
        let rows = select(&doc, "#checks tr.check");
        let ids: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.value().attr("data-id"))
            .collect();
        let mut expected: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        expected.sort();
        assert_eq!(sorted, expected);
        let groups: Vec<String> = select(&doc, "#checks h3").iter().map(text).collect();
        assert_eq!(
            groups,
            ["Database (RDS)", "Alerting and budgets", "Email (SES)"]
        );
        // The status is the row's class and badge.
        let multi_az = select(&doc, "#checks tr.check[data-id='rds.multi_az']");
        assert_eq!(multi_az.len(), 1);
        assert!(multi_az[0].value().classes().any(|c| c == "fail"));
        // Evidence collapsible, open for the failing check, expected/observed as JSON.
        let details = select(&doc, "tr[data-id='rds.multi_az'] details.evidence[open]");
        assert_eq!(details.len(), 1);
        let expected_json = text(&select(&doc, "tr[data-id='rds.multi_az'] pre.expected")[0]);
        let value: serde_json::Value = serde_json::from_str(&expected_json).unwrap();
        assert_eq!(value["core"]["MultiAZ"], true);
        // Sign-offs were not given: the page says so.
        let note = text(&select(&doc, "#signoffs p.note")[0]);
        assert!(note.contains("not given to this run"), "{note}");
        // The waived check's waiver is listed (its message: no structured waiver in the sample).
        let waivers = select(&doc, "#waivers tr.waiver");
        assert_eq!(waivers.len(), 1);
        assert!(text(&waivers[0]).contains("OPS-1"), "{}", text(&waivers[0]));
        // With the waiver the gate suite records: pattern, justification, expiry;
        // an expired one is marked as no longer applying.
        let mut report = report.clone();
        let waiver = |expired: bool| {
            serde_json::json!({"pattern": "budgets.*", "justification": "OPS-7 <accepted> by CFO",
                               "expires": "2026-12-31", "expired": expired})
        };
        report.checks[4]
            .evidence
            .details
            .insert("waiver".into(), waiver(false));
        report.checks[2]
            .evidence
            .details
            .insert("waiver".into(), waiver(true));
        let doc = Html::parse_document(&render(&report));
        let live = text(&select(&doc, "#waivers tr.waiver[data-id='budgets.thresholds']")[0]);
        assert!(
            live.contains("budgets.*") && live.contains("OPS-7 <accepted> by CFO"),
            "{live}"
        );
        assert!(
            live.contains("2026-12-31") && !live.contains("expired"),
            "{live}"
        );
        let expired = text(&select(&doc, "#waivers tr.waiver[data-id='budgets.monthly']")[0]);
        assert!(
            expired.contains("expired on 2026-12-31: no longer applies"),
            "{expired}"
        );
        // The run facts.
        let facts = text(&select(&doc, "#run")[0]);
        for needle in [
            "123456789012",
            "eu-central-1",
            "arn:aws:iam::123456789012:user/moto",
            "2026-11-23T19:00:00Z",
            "120 ms",
        ] {
            assert!(facts.contains(needle), "{facts}");
        }
        // Nothing fetched, no script.
        assert!(select(&doc, "script, link, img, iframe").is_empty());
        assert!(!page.contains("src="));
    }

    #[test]
    fn every_string_is_escaped_and_round_trips() {
        let mut report = super::super::sample();
        let nasty = "<script>alert('x')</script> & \"quoted\" </td></tr>";
        report.checks[1].message = nasty.into();
        report.checks[1].id = "rds.<b>&\"id'".into();
        report.environment = "env <&> \"x\"".into();
        report.checks[0]
            .evidence
            .details
            .insert("note".into(), serde_json::json!(nasty));
        let page = render(&report);
        let doc = Html::parse_document(&page);
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        assert!(select(&doc, "script, b").is_empty(), "{page}");
        let row = select(&doc, "#checks tr.check[data-id='rds.<b>&\"id\\'']");
        assert_eq!(row.len(), 1, "{page}");
        assert_eq!(
            text(&select(&doc, "tr[data-id='rds.<b>&\"id\\''] .message .text")[0]),
            nasty
        );
        assert_eq!(
            text(&select(&doc, "tr[data-id='rds.<b>&\"id\\''] td.id")[0]),
            "rds.<b>&\"id'"
        );
        assert_eq!(text(&select(&doc, "header .env")[0]), "env <&> \"x\"");
        let note = text(&select(&doc, "tr[data-id='rds.multi_az'] details")[0]);
        assert!(
            note.contains(&serde_json::to_string(nasty).unwrap()),
            "{note}"
        );
        // The sample's message with `<&>` reads back as written.
        let rows = select(&doc, "#checks tr.check .message .text");
        assert!(rows.iter().any(|r| text(r) == nasty));
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn signoffs_manual_items_and_what_blocks_go_are_listed() {
        let report = super::super::sample_with_signoffs();
        let doc = Html::parse_document(&render(&report));
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        let missing = select(&doc, "#signoffs tr.signoff.missing");
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].value().attr("data-role"), Some("Commercial"));
        assert!(text(&missing[0]).contains("declared (`signoff \"commercial\"`) but not signed"));
        let expired = select(&doc, "#signoffs tr.signoff.expired");
        assert!(text(&expired[0]).contains("expired on 2026-11-01"));
        let given = select(&doc, "#signoffs tr.signoff.given");
        assert!(text(&given[0]).contains("checks <green> & \"drills\" run"));
        let links = select(&doc, "#signoffs tr.signoff.given a");
        assert_eq!(
            links[0].value().attr("href"),
            Some("https://wiki.example/eng?a=1&b=2")
        );
        let not_done = select(&doc, "#signoffs tr.manual.fail");
        assert_eq!(not_done.len(), 1);
        assert_eq!(
            not_done[0].value().attr("data-id"),
            Some("status-page-live")
        );
        assert_eq!(select(&doc, "#signoffs tr.manual.pass").len(), 1);
        let groups: Vec<String> = select(&doc, "#blocking h3").iter().map(text).collect();
        assert_eq!(
            groups,
            [
                "Database (RDS)",
                "Alerting and budgets",
                "Commercial",
                "Regulatory",
                "Operations"
            ]
        );
        let blocker = select(&doc, "#blocking li.signoff[data-id='Commercial']");
        assert_eq!(blocker.len(), 1);
        assert!(
            text(&select(&doc, "header .parts")[0])
                .contains("sign-offs: incomplete (2 role(s) missing, 1 item(s) not done)")
        );
    }

    #[test]
    fn a_go_page_and_a_drill_timeline() {
        use crate::timeline::{Mark, MarkKind, ProbeTrace};
        let mut writer = ProbeTrace::new("writer <1>");
        writer.sample(0, true, None);
        writer.sample(500, false, Some("refused & reset"));
        writer.sample(1500, true, None);
        let timeline = Timeline {
            started_at: "2026-11-23T19:00:00Z".into(),
            duration_ms: 2000,
            marks: vec![Mark {
                at_ms: 400,
                kind: MarkKind::Fault,
                label: "reboot --force-failover".into(),
            }],
            probes: vec![writer],
        };
        let outcome = CheckOutcome {
            id: "drill.rds_failover".into(),
            status: Status::Pass,
            message: "unavailable 1.0s <= 120s".into(),
            duration_ms: 2000,
            evidence: crate::Evidence::default()
                .detail("timeline", serde_json::to_value(&timeline).unwrap()),
        };
        let planned = vec![outcome.id.clone()];
        let report = Report::new(super::super::sample_record(), &planned, vec![outcome]).unwrap();
        let doc = Html::parse_document(&render(&report));
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        assert_eq!(text(&select(&doc, "header .word")[0]), "GO");
        assert!(select(&doc, "#blocking").is_empty());
        let figure = select(&doc, "#timelines figure[data-id='drill.rds_failover']");
        assert_eq!(figure.len(), 1);
        assert_eq!(select(&doc, "#timelines svg").len(), 1);
        assert!(text(&figure[0]).contains("writer <1>"));
        assert_eq!(text(&select(&doc, "#checks h3")[0]), "Drills");
    }

    /// A screenshot in headless Chromium, where it is installed (never
    /// installed for this test): the page renders to a non-trivial PNG.
    #[test]
    fn renders_in_headless_chromium_where_available() {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(std::path::Path::new)
            .find(|p| p.exists());
        let Some(chromium) = chromium else {
            println!("note: no /usr/bin/chromium: the screenshot test is skipped");
            return;
        };
        let dir = std::env::temp_dir().join("verify-html-report-test");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let page = dir.join("report.html");
        let png = dir.join("report.png");
        std::fs::write(&page, render(&super::super::sample_with_signoffs())).unwrap();
        let profile = dir.join("profile");
        let out = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1280,2000")
            .arg(format!("file://{}", page.display()))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running chromium");
        let bytes = std::fs::read(&png).unwrap_or_else(|e| {
            panic!(
                "no screenshot ({e}); chromium {:?}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        // A blank 1280×2000 page compresses to a few KB; this one has content.
        assert!(bytes.len() > 20_000, "{} bytes only", bytes.len());
        println!("screenshot: {}", png.display());
    }
}
