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

/// `text` with `signoff "<label>"` approving the run of `digest`.
fn approving(text: &str, label: &str, digest: &str) -> String {
    let block = text
        .find(&format!("signoff \"{label}\""))
        .unwrap_or_else(|| panic!("no block signoff \"{label}\""));
    let end = block + text[block..].find("\n}\n").expect("the block is closed");
    format!(
        "{}\n  evidence_digest = \"{digest}\"{}",
        &text[..end],
        &text[end..]
    )
}

/// A sign-off names the evidence digest of the run it approved: the same
/// evidence stays go; another commit (the same checks) is other evidence,
/// so the sign-off is stale and the run no-go, named in the terminal and
/// the JSON with what changed since the approved run (`--baseline`).
#[test]
fn a_signoff_for_other_evidence_is_stale_and_turns_go_into_no_go() {
    let _sandbox = reading_sandbox();
    let dir = scratch("e2e-signoffs-stale");
    let only = ["--only", "rds.encrypted", "--only", "rds.multi_az"];
    let run = |name: &str, extra: &[&str]| {
        let json = dir.join(format!("{name}.json"));
        let mut args: Vec<&str> = only.to_vec();
        args.extend_from_slice(extra);
        let arg = report_arg("json", &json);
        args.extend_from_slice(&["--report", &arg]);
        (verify_sandbox_run(&dir, &args), json)
    };
    let signoffs = sandbox_signoffs();
    let signoffs = signoffs.to_str().unwrap();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let (out, approved) = run("approved", &["--signoffs", signoffs, "--commit", commit]);
    assert_exit(&out, 0);
    let digest = read_report(&approved).evidence_digest;
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert!(
        stdout(&out).contains(&format!("evidence {digest} (checks, commit {commit})")),
        "the terminal does not print the digest:\n{}",
        stdout(&out)
    );

    let file = dir.join("signoffs-approving.hcl");
    let text = std::fs::read_to_string(sandbox_signoffs()).unwrap();
    std::fs::write(&file, approving(&text, "engineering", &digest)).unwrap();
    let file = file.to_str().unwrap();

    // The same evidence: still go.
    let (out, same) = run("same", &["--signoffs", file, "--commit", commit]);
    assert_exit(&out, 0);
    let report = read_report(&same);
    assert_eq!(report.evidence_digest, digest);
    assert_eq!(
        report.signoffs.as_ref().unwrap().roles[0]
            .evidence_digest
            .as_deref(),
        Some(digest.as_str())
    );

    // Another commit: the sign-off is stale, the run no-go.
    let approved_arg = approved.to_str().unwrap();
    let other = "fedcba9876543210fedcba9876543210fedcba98";
    let (out, stale) = run(
        "stale",
        &[
            "--signoffs",
            file,
            "--commit",
            other,
            "--baseline",
            approved_arg,
        ],
    );
    assert_exit(&out, 1);
    let stdout = stdout(&out);
    for needle in [
        "✗ STALE   Engineering: stale: `signoff \"engineering\"` (Engineering) signed by Ana Pop",
        &format!("approved evidence {digest}, but this run's is sha256:"),
        &format!("commit {commit} → {other}"),
        "verdict: NO-GO",
    ] {
        assert!(
            stdout.contains(needle),
            "stdout lacks {needle:?}:\n{stdout}"
        );
    }
    let report = read_report(&stale);
    let role = &report.signoffs.as_ref().unwrap().roles[0];
    assert!(
        report.verdict == "no-go"
            && report.automated_go()
            && role.status == report_model::signoffs::SignoffStatus::Stale
            && role.reason.contains(&digest)
            && report
                .blocking
                .iter()
                .flat_map(|g| &g.items)
                .any(|i| i.id == "Engineering"),
        "verdict {}, role {role:?}",
        report.verdict
    );
    assert_ne!(report.evidence_digest, digest);
    // The baseline compared: nothing newly failing.
    let baseline = report
        .baseline
        .as_ref()
        .expect("the report has the baseline");
    assert!(baseline.new_failures.is_empty(), "{baseline:?}");
    assert_schema(&stale, "report.schema.json");
}

/// A digest that is not one is refused at its position before any check.
#[test]
fn a_malformed_evidence_digest_exits_2_at_its_position() {
    let dir = scratch("e2e-signoffs-bad-digest");
    let text = std::fs::read_to_string(sandbox_signoffs()).unwrap();
    let file = dir.join("bad-digest.hcl");
    std::fs::write(&file, approving(&text, "engineering", "sha256:1234")).unwrap();
    let out = verify_sandbox_run(&dir, &["--signoffs", file.to_str().unwrap()]);
    assert_exit(&out, 2);
    let stderr = stderr(&out);
    assert!(
        stderr.contains("bad-digest.hcl:14:21:") && stderr.contains("is not an evidence digest"),
        "stderr lacks the digest's position:\n{stderr}"
    );
}
