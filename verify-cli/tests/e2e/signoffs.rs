//! `--signoffs`: go needs every sign-off given; an invalid file is refused
//! before any check.

use super::*;

/// The sandbox's sign-offs, all given (`examples/sandbox/signoffs.hcl`).
pub(crate) fn sandbox_signoffs() -> std::path::PathBuf {
    workspace()
        .join("examples")
        .join("sandbox")
        .join("signoffs.hcl")
}

#[test]
fn complete_signoffs_are_go_with_a_self_contained_html_page() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-signoffs-go");
    let json = dir.join("signoffs-go.json");
    let html = dir.join("signoffs-go.html");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--signoffs",
            sandbox_signoffs().to_str().unwrap(),
            "--report",
            &report_arg("html", &html),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 0);
    let report = read_report(&json);
    let signoffs = report
        .signoffs
        .as_ref()
        .expect("the JSON report has the signoffs section");
    assert!(
        report.verdict == "go" && signoffs.complete && signoffs.roles.len() == 5,
        "verdict {}, sign-offs {signoffs:?}",
        report.verdict
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert_html_is_self_contained(&page);
    for needle in [
        "data-verdict=\"go\"",
        "data-role=\"Commercial\"",
        "data-id=\"rds.multi_az\"",
    ] {
        assert!(page.contains(needle), "the HTML report lacks {needle}");
    }
    let stdout = stdout(&out);
    assert!(
        stdout.contains("Sign-offs") && !stdout.contains("not given to this run"),
        "the terminal report lacks the sign-offs:\n{stdout}"
    );
}

/// The HTML report's shape without an HTML parser here (report-model's
/// tests parse it with html5ever): one document, closed, nothing fetched.
#[track_caller]
fn assert_html_is_self_contained(page: &str) {
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"),
        "the HTML report is not one whole document"
    );
    assert!(
        !page.contains("<script") && !page.contains(" src=") && !page.contains("<link"),
        "the HTML report fetches or runs something"
    );
}

#[test]
fn a_signoff_left_unsigned_is_no_go_naming_the_missing_role() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-signoffs-missing");
    let complete = std::fs::read_to_string(sandbox_signoffs()).unwrap();
    let file = dir.join("signoffs-missing.hcl");
    std::fs::write(&file, unsigned(&complete, "commercial").unwrap()).unwrap();
    let json = dir.join("signoffs-missing.json");
    let out = verify_sandbox_run(
        &dir,
        &[
            "--signoffs",
            file.to_str().unwrap(),
            "--report",
            &report_arg("json", &json),
        ],
    );
    assert_exit(&out, 1);
    let stdout = stdout(&out);
    assert!(
        stdout.contains("✗ MISSING Commercial") && stdout.contains("verdict: NO-GO"),
        "stdout does not name the missing sign-off:\n{stdout}"
    );
    let report = read_report(&json);
    let missing = report
        .signoffs
        .as_ref()
        .map(|s| s.missing_roles().join(","))
        .unwrap_or_default();
    assert!(
        report.verdict == "no-go" && missing == "Commercial" && report.automated_go(),
        "verdict {}, automated {}, missing {missing:?}",
        report.verdict,
        report.automated_verdict
    );
}

/// `text` with the sign-off `signoff "<label>"` declared but not given: its
/// `signed_by`, `date` and `evidence` lines removed.
fn unsigned(text: &str, label: &str) -> Result<String, String> {
    let block = text
        .find(&format!("signoff \"{label}\""))
        .ok_or_else(|| format!("no block signoff \"{label}\""))?;
    let (head, tail) = text.split_at(block);
    let end = tail
        .find("\n}\n")
        .ok_or_else(|| format!("signoff \"{label}\" is not closed"))?;
    let kept: Vec<&str> = tail[..end]
        .lines()
        .filter(|l| {
            let key = l.trim_start();
            !["signed_by", "date", "evidence"]
                .iter()
                .any(|k| key.starts_with(k))
        })
        .collect();
    Ok(format!("{head}{}{}", kept.join("\n"), &tail[end..]))
}

const BAD_SIGNOFFS: &str = "signoff \"engineering\" {\n  role = \"Engineering\"\n  owner = \"Head of Engineering\"\n  confirms = \"x\"\n  signed_by = \"Ana\"\n  date = \"2026-02-30\"\n  evidence = \"https://wiki.example\"\n}\n";

/// Refused while reading the inputs: no sandbox needed.
#[test]
fn an_invalid_signoffs_file_exits_2_at_its_position_before_any_check() {
    let dir = scratch("e2e-bad-signoffs");
    let file = dir.join("bad-signoffs.hcl");
    std::fs::write(&file, BAD_SIGNOFFS).unwrap();
    let started = std::time::Instant::now();
    let out = verify_sandbox_run(&dir, &["--signoffs", file.to_str().unwrap()]);
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("bad-signoffs.hcl:6:10:") && stderr.contains("expected YYYY-MM-DD"),
        "stderr lacks the sign-off's position and what was expected:\n{stderr}"
    );
    // Refused before any check runs.
    assert!(
        !stdout(&out).contains("verdict:"),
        "checks ran although the sign-offs file is invalid:\n{}",
        text(&out)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}: was something run first?",
        started.elapsed()
    );
}

/// The "one missing" file, checked without the sandbox.
#[test]
fn the_one_missing_signoffs_file_misses_only_commercial() {
    let complete = std::fs::read_to_string(sandbox_signoffs()).unwrap();
    let text = unsigned(&complete, "commercial").unwrap();
    let file = envspec::signoffs::parse(&text, Path::new("missing.hcl"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let today = envspec::signoffs::Date::parse("2026-11-23").unwrap();
    let judged = file.judge(today);
    let missing: Vec<&str> = judged
        .roles
        .iter()
        .filter(|(_, state)| !matches!(state, envspec::signoffs::RoleState::Given(_)))
        .map(|(role, _)| role.as_str())
        .collect();
    assert_eq!(missing, ["Commercial"]);
    assert!(unsigned(&complete, "nobody").is_err());
}

/// The invalid file is refused, by the parser alone, at the position the
/// end-to-end test expects.
#[test]
fn the_invalid_signoffs_file_is_refused_where_the_end_to_end_test_says() {
    let err = envspec::signoffs::parse(BAD_SIGNOFFS, Path::new("/tmp/bad-signoffs.hcl"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad-signoffs.hcl:6:10:"), "{err}");
    assert!(err.contains("expected YYYY-MM-DD"), "{err}");
}
