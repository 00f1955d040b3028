//! The combined report of a run over several environments (`verify run
//! <spec> <spec>…`): each environment's verdict and summary, what blocks it,
//! or why it could not run. Each environment's own report is written beside
//! it ([`super::per_environment`]).
//!
//! - JSON: `{"schema_version", "tool", "started_at", "duration_ms", "verdict",
//!   "summary": {"environments", "go", "no_go", "could_not_run"}, "environments":
//!   [{"environment", "spec", "verdict": "go"|"no-go"|"could-not-run", "error",
//!   "report"}]}`, where `report` is that environment's whole JSON report
//!   (`null` when it could not run); `docs/schemas/combined-report.schema.json`.
//! - JUnit: one testsuite per environment (`verify.<env>`), testcases named by
//!   check id with classname `<env>.<area>`; one that could not run is a
//!   suite with one errored testcase `setup`.
//! - SARIF: one run per environment ([`super::sarif::render_combined`]).
//! - Markdown and HTML: a table of the environments, then each no-go one's
//!   blocking checks and each failed run's reason.

use std::fmt::Write;
use std::path::Path;

use console::Style;
use quick_junit::{NonSuccessKind, Report as JUnit, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::Report;
use super::ReportFormat;
use super::junit::check_case;
use super::sarif;
use crate::{SCHEMA_VERSION, Tool};

/// One environment of the run: its report, or why it could not run.
#[derive(Debug)]
pub struct EnvironmentRun {
    pub environment: String,
    pub spec: String,
    pub report: Result<Box<Report>, String>,
}

impl EnvironmentRun {
    pub fn verdict(&self) -> &'static str {
        match &self.report {
            Ok(r) if r.is_go() => "go",
            Ok(_) => "no-go",
            Err(_) => "could-not-run",
        }
    }
}

#[derive(Debug)]
pub struct Combined {
    /// What wrote it ([`Combined::with_tool`]).
    pub tool: Tool,
    pub started_at: String,
    pub duration_ms: u64,
    pub runs: Vec<EnvironmentRun>,
}

#[derive(Debug, Serialize, PartialEq, Eq, Default)]
pub struct CombinedSummary {
    pub environments: usize,
    pub go: usize,
    pub no_go: usize,
    pub could_not_run: usize,
}

impl Combined {
    pub fn new(started_at: String, duration_ms: u64, runs: Vec<EnvironmentRun>) -> Combined {
        Combined {
            tool: Tool::default(),
            started_at,
            duration_ms,
            runs,
        }
    }

    /// The report as written by `tool` (the `verify` binary names itself).
    pub fn with_tool(mut self, tool: Tool) -> Combined {
        self.tool = tool;
        self
    }

    pub fn summary(&self) -> CombinedSummary {
        let count = |v: &str| self.runs.iter().filter(|r| r.verdict() == v).count();
        CombinedSummary {
            environments: self.runs.len(),
            go: count("go"),
            no_go: count("no-go"),
            could_not_run: count("could-not-run"),
        }
    }

    /// Go only when every environment is.
    pub fn verdict(&self) -> &'static str {
        if self.runs.iter().all(|r| r.verdict() == "go") {
            "go"
        } else {
            "no-go"
        }
    }

    /// 0 every environment go, 2 any could not run, else 1.
    pub fn exit_code(&self) -> u8 {
        let s = self.summary();
        if s.could_not_run > 0 {
            2
        } else if s.no_go > 0 {
            1
        } else {
            0
        }
    }
}

/// The combined report in `format`, written to `path`; `contexts[i]` says
/// where `combined.runs[i]`'s spec blocks are (SARIF only).
pub fn render(
    combined: &Combined,
    format: ReportFormat,
    path: &Path,
    contexts: &[sarif::Context],
) -> String {
    match format {
        ReportFormat::Json => json(combined),
        ReportFormat::Junit => junit(combined),
        ReportFormat::Markdown => markdown(combined),
        ReportFormat::Html => html(combined, path),
        ReportFormat::Sarif => sarif::render_combined(combined, contexts),
    }
}

pub fn json(combined: &Combined) -> String {
    let environments: Vec<serde_json::Value> = combined
        .runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "environment": r.environment,
                "spec": r.spec,
                "verdict": r.verdict(),
                "error": r.report.as_ref().err(),
                "evidence_digest": r.report.as_ref().ok().map(|r| &r.evidence_digest),
                "report": r.report.as_ref().ok(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "tool": combined.tool,
        "started_at": combined.started_at,
        "duration_ms": combined.duration_ms,
        "verdict": combined.verdict(),
        "summary": combined.summary(),
        "environments": environments,
    }))
    .expect("the combined report serialises")
}

/// `time` (seconds): the whole run's on `<testsuites>`, each environment's
/// on its `<testsuite>` (0 for one that could not run).
pub fn junit(combined: &Combined) -> String {
    let mut junit = JUnit::new("verify");
    junit.set_time(Duration::from_millis(combined.duration_ms));
    for run in &combined.runs {
        let mut suite = TestSuite::new(format!("verify.{}", run.environment));
        match &run.report {
            Ok(report) => {
                suite.set_time(Duration::from_millis(report.duration_ms));
                for c in &report.checks {
                    suite.add_test_case(check_case(c, format!("{}.{}", run.environment, c.area())));
                }
            }
            Err(e) => {
                suite.set_time(Duration::ZERO);
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_message(e.clone())
                    .set_type("could-not-run")
                    .set_description(format!("could not run: {e}"));
                let mut case = TestCase::new("setup", status);
                case.set_classname(run.environment.clone());
                suite.add_test_case(case);
            }
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().expect("junit serialises")
}

use std::time::Duration;

/// What stands between an environment and go, one line each.
fn blockers(run: &EnvironmentRun) -> Vec<String> {
    match &run.report {
        Ok(report) => report
            .blocking
            .iter()
            .flat_map(|g| g.items.iter().map(|i| format!("{}: {}", i.id, i.why)))
            .collect(),
        Err(e) => vec![format!("could not run: {e}")],
    }
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} checks: {} pass, {} fail, {} error, {} skip, {} waived — {} ms",
        report.checks.len(),
        s.pass,
        s.fail,
        s.error,
        s.skip,
        s.waived,
        report.duration_ms
    )
}

pub fn markdown(combined: &Combined) -> String {
    let s = combined.summary();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# verify: {} — {} environments: {} go, {} no-go, {} could not run\n",
        if combined.verdict() == "go" {
            "GO"
        } else {
            "NO-GO"
        },
        s.environments,
        s.go,
        s.no_go,
        s.could_not_run
    );
    let _ = writeln!(md, "| environment | verdict | account | checks |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for run in &combined.runs {
        let (account, checks) = match &run.report {
            Ok(r) => (
                format!("{} ({})", r.identity.account, r.identity.region),
                summary_line(r),
            ),
            Err(_) => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {account} | {checks} |",
            run.environment,
            run.verdict()
        );
    }
    for run in combined.runs.iter().filter(|r| r.verdict() != "go") {
        let _ = writeln!(md, "\n## `{}`: {}\n", run.environment, run.verdict());
        for b in blockers(run) {
            let _ = writeln!(md, "- {}", b.replace('\n', " "));
        }
    }
    md
}

pub fn html(combined: &Combined, path: &Path) -> String {
    use super::html::escape;
    let names: Vec<&str> = combined
        .runs
        .iter()
        .map(|r| r.environment.as_str())
        .collect();
    let files = super::report_files(path, &names);
    let s = combined.summary();
    let verdict = if combined.verdict() == "go" {
        "GO"
    } else {
        "NO-GO"
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>verify: {verdict}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}\
         table{{border-collapse:collapse}}.go{{color:#186a3b}}.no-go,.could-not-run{{color:#b03a2e}}</style></head><body>\n\
         <h1 class=\"{}\">{verdict}</h1>\n<p>{} environments: {} go, {} no-go, {} could not run; started {} UTC, {} ms</p>\n\
         <table><tr><th>environment</th><th>verdict</th><th>account</th><th>checks</th></tr>\n",
        combined.verdict(),
        s.environments,
        s.go,
        s.no_go,
        s.could_not_run,
        escape(&combined.started_at),
        combined.duration_ms
    );
    for run in &combined.runs {
        let name = match (&run.report, files.get(&run.environment)) {
            (Ok(_), Some(file)) => format!(
                "<a href=\"{}\">{}</a>",
                escape(file),
                escape(&run.environment)
            ),
            _ => escape(&run.environment),
        };
        let (account, checks) = match &run.report {
            Ok(r) => (
                format!("{} ({})", r.identity.account, r.identity.region),
                summary_line(r),
            ),
            Err(_) => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            h,
            "<tr><td>{name}</td><td class=\"{0}\">{0}</td><td>{1}</td><td>{2}</td></tr>",
            run.verdict(),
            escape(&account),
            escape(&checks)
        );
    }
    h.push_str("</table>\n");
    for run in combined.runs.iter().filter(|r| r.verdict() != "go") {
        let _ = writeln!(
            h,
            "<h2>{}: {}</h2>\n<ul>",
            escape(&run.environment),
            run.verdict()
        );
        for b in blockers(run) {
            let _ = writeln!(h, "<li>{}</li>", escape(&b));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// On the terminal: one line per environment, then each blocker of a no-go
/// one and the reason of one that could not run, then the verdict
/// (`colour`: with ANSI styles; the caller decides, from `--color` and `NO_COLOR`).
pub fn terminal(combined: &Combined, colour: bool) -> String {
    let paint = |style: Style, text: &str| {
        if colour {
            style.apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let width = combined
        .runs
        .iter()
        .map(|r| r.environment.len())
        .max()
        .unwrap_or(10);
    let mut out = String::new();
    let _ = writeln!(out);
    for run in &combined.runs {
        let (mark, style) = match run.verdict() {
            "go" => ("✓ GO           ", Style::new().green()),
            "no-go" => ("✗ NO-GO        ", Style::new().red().bold()),
            _ => ("! COULD NOT RUN", Style::new().red().bold()),
        };
        let detail = match &run.report {
            Ok(r) => format!(
                "account {} in {}  {}",
                r.identity.account,
                r.identity.region,
                summary_line(r)
            ),
            Err(_) => run.spec.clone(),
        };
        let _ = writeln!(
            out,
            "{} {:<width$}  {detail}",
            paint(style, mark),
            run.environment
        );
        if let Ok(r) = &run.report
            && !r.evidence_digest.is_empty()
        {
            let _ = writeln!(out, "    evidence {}", r.evidence_digest);
        }
        if run.verdict() != "go" {
            for b in blockers(run) {
                let _ = writeln!(out, "    - {b}");
            }
        }
    }
    let s = combined.summary();
    let _ = writeln!(
        out,
        "\n{} environments: {} go, {} no-go, {} could not run — {} ms",
        s.environments, s.go, s.no_go, s.could_not_run, combined.duration_ms
    );
    let verdict = if combined.verdict() == "go" {
        paint(Style::new().green().bold(), "GO")
    } else {
        paint(Style::new().red().bold(), "NO-GO")
    };
    let _ = writeln!(out, "verdict: {verdict}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Combined {
        let mut go = super::super::sample();
        go.environment = "staging".into();
        go.checks.retain(|c| c.status == super::super::Status::Pass);
        let planned: Vec<String> = go.checks.iter().map(|c| c.id.clone()).collect();
        let go = Report::new(super::super::sample_record(), &planned, go.checks.clone()).unwrap();
        let no_go = super::super::sample();
        Combined::new(
            "2026-11-23T19:00:00Z".into(),
            900,
            vec![
                EnvironmentRun {
                    environment: "staging".into(),
                    spec: "staging.hcl".into(),
                    report: Ok(Box::new(go)),
                },
                EnvironmentRun {
                    environment: "sandbox".into(),
                    spec: "sandbox.hcl".into(),
                    report: Ok(Box::new(no_go)),
                },
                EnvironmentRun {
                    environment: "production".into(),
                    spec: "production.hcl".into(),
                    report: Err("wrong AWS account: <x>".into()),
                },
            ],
        )
    }

    #[test]
    fn the_combined_report_names_each_environment_and_the_worst_exit() {
        let c = sample();
        assert_eq!(c.exit_code(), 2);
        assert_eq!(
            c.summary(),
            CombinedSummary {
                environments: 3,
                go: 1,
                no_go: 1,
                could_not_run: 1
            }
        );
        let v: serde_json::Value = serde_json::from_str(&json(&c)).unwrap();
        assert_eq!(v["verdict"], "no-go");
        assert_eq!(v["environments"][0]["verdict"], "go");
        assert_eq!(
            v["environments"][1]["report"]["checks"][0]["id"],
            "rds.multi_az"
        );
        assert_eq!(v["environments"][2]["error"], "wrong AWS account: <x>");
        assert!(v["environments"][2]["report"].is_null());

        let text = terminal(&c, false);
        assert!(text.contains("✓ GO            staging"), "{text}");
        assert!(text.contains("    - rds.multi_az: "), "{text}");
        assert!(text.contains("! COULD NOT RUN production"), "{text}");
        assert!(text.ends_with("verdict: NO-GO\n"), "{text}");

        let xml = junit(&c);
        assert!(xml.contains(r#"<testsuite name="verify.staging""#), "{xml}");
        assert!(xml.contains(r#"classname="sandbox.rds""#), "{xml}");
        assert!(
            xml.contains(r#"<testcase name="setup" classname="production""#),
            "{xml}"
        );
        // Every suite and the root carry `time`: the run's, each environment's.
        assert!(xml.contains(r#"time="0.900">"#), "{xml}");
        assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
        assert!(
            xml.split("<testsuite ").skip(1).all(|s| s
                .split('>')
                .next()
                .unwrap()
                .contains(" time=\"")),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"type="could-not-run">could not run: wrong AWS account: &lt;x&gt;</error>"#
            ),
            "{xml}"
        );

        let page = html(&c, Path::new("out/gate.html"));
        assert!(
            page.contains("<a href=\"gate.staging.html\">staging</a>"),
            "{page}"
        );
        assert!(page.contains("wrong AWS account: &lt;x&gt;"), "{page}");
        assert!(!page.contains("gate.production.html"), "{page}");
        assert!(markdown(&c).contains("| `sandbox` | no-go |"));

        // Every environment go: exit 0; one no-go and none failed: exit 1.
        let mut c = sample();
        c.runs.pop();
        assert_eq!(c.exit_code(), 1);
        c.runs.pop();
        assert_eq!((c.exit_code(), c.verdict()), (0, "go"));
    }
}
