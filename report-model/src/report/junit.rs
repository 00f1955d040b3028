//! `--report junit=PATH`: one testcase per check, named by its id, classname
//! = area; with `--signoffs`, one per sign-off (classname `signoff`, named by
//! role) and per manual item (classname `manual`, named by label), failing
//! when missing, expired or not done.
//!
//! A `fail` is a `<failure>`, an `error` an `<error>`: its `message`
//! attribute the check's message, its `type` the status, and its text the
//! message followed by the evidence a reader needs to act (resources,
//! expected, observed; for an error the error and operation), since many
//! pipeline views show only the element's text. Every testcase has `time`
//! and the whole evidence as pretty JSON in `system-out`; `<testsuites>` and
//! `<testsuite>` carry the run's duration as `time` (seconds).

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JUnit, TestCase, TestCaseStatus, TestSuite};

use crate::signoffs::SignoffStatus;

use super::{CheckOutcome, Report, Status};

pub fn render(report: &Report) -> String {
    let mut junit = JUnit::new(format!("verify {}", report.environment));
    junit.set_time(Duration::from_millis(report.duration_ms));
    let mut suite = TestSuite::new(format!("verify.{}", report.environment));
    suite.set_time(Duration::from_millis(report.duration_ms));
    for check in &report.checks {
        suite.add_test_case(check_case(check, check.area().to_string()));
    }
    if let Some(signoffs) = &report.signoffs {
        for r in &signoffs.roles {
            let json = serde_json::to_string_pretty(r).unwrap_or_default();
            let status = match r.status {
                SignoffStatus::Given => TestCaseStatus::success(),
                SignoffStatus::Missing | SignoffStatus::Expired | SignoffStatus::Stale => failure(
                    NonSuccessKind::Failure,
                    r.status.as_str(),
                    &r.reason,
                    &format!("{}\n\n{json}", r.reason),
                ),
            };
            let mut case = TestCase::new(r.role.clone(), status);
            case.set_classname("signoff");
            case.set_system_out(json);
            suite.add_test_case(case);
        }
        for m in &signoffs.manual {
            let json = serde_json::to_string_pretty(m).unwrap_or_default();
            let status = if m.done {
                TestCaseStatus::success()
            } else {
                let message = format!("not done: {}", m.item);
                failure(
                    NonSuccessKind::Failure,
                    "not done",
                    &message,
                    &format!("{message}\n\n{json}"),
                )
            };
            let mut case = TestCase::new(m.label.clone(), status);
            case.set_classname("manual");
            case.set_system_out(json);
            suite.add_test_case(case);
        }
    }
    junit.add_test_suite(suite);
    junit.to_string().expect("junit serialises")
}

/// One check's testcase (shared with the combined report).
pub(crate) fn check_case(check: &CheckOutcome, classname: String) -> TestCase {
    let status = match check.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail => failure(
            NonSuccessKind::Failure,
            "fail",
            &check.message,
            &failure_text(check),
        ),
        Status::Error => failure(
            NonSuccessKind::Error,
            "error",
            &check.message,
            &failure_text(check),
        ),
        Status::Skip | Status::Waived => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("{}: {}", check.status.as_str(), check.message));
            s
        }
    };
    let mut case = TestCase::new(check.id.clone(), status);
    case.set_classname(classname);
    case.set_time(Duration::from_millis(check.duration_ms));
    case.set_system_out(serde_json::to_string_pretty(&check.evidence).unwrap_or_default());
    case
}

/// The text of a `<failure>`/`<error>`: the message, then one line per
/// piece of evidence (values as compact JSON).
fn failure_text(check: &CheckOutcome) -> String {
    let e = &check.evidence;
    let mut text = check.message.clone();
    text.push('\n');
    if !e.resources.is_empty() {
        text.push_str(&format!("\nresources: {}", e.resources.join(", ")));
    }
    text.push_str(&format!("\nexpected: {}", e.expected));
    text.push_str(&format!("\nobserved: {}", e.observed));
    for key in ["error", "operation"] {
        if let Some(value) = e.details.get(key) {
            let shown = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            text.push_str(&format!("\n{key}: {shown}"));
        }
    }
    if !e.operations.is_empty() {
        text.push_str(&format!("\noperations: {}", e.operations.join(", ")));
    }
    text
}

fn failure(kind: NonSuccessKind, ty: &str, message: &str, text: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_message(message.to_string());
    status.set_type(ty.to_string());
    status.set_description(text.to_string());
    status
}

#[cfg(test)]
mod tests {
    #[test]
    fn maps_checks_to_testcases() {
        let xml = super::render(&super::super::sample());
        assert!(
            xml.contains(r#"<testcase name="rds.multi_az" classname="rds""#),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"rds instance &apos;core&apos;: MultiAZ expected true, observed false\""), "{xml}");
        assert!(
            xml.contains("<error message=\"budgets:DescribeBudget failed: AccessDenied\""),
            "{xml}"
        );
        assert!(xml.contains("encrypted"), "{xml}");
        // system-out: the evidence, pretty JSON (XML-escaped).
        assert!(xml.contains("&quot;expected&quot;: {"), "{xml}");
        assert!(xml.contains("&quot;MultiAZ&quot;: false"), "{xml}");
        assert!(xml.contains("tests=\"5\""), "{xml}");
        assert!(!xml.contains("classname=\"signoff\""), "{xml}");
    }

    /// The text of a `<failure>`/`<error>` is the message and the evidence,
    /// not only the `message` attribute; suites and the root carry `time`.
    #[test]
    fn a_failure_carries_its_evidence_as_text_and_every_suite_its_time() {
        let xml = super::render(&super::super::sample());
        let body = |tag: &str| -> String {
            let open = xml.find(&format!("<{tag} ")).expect(&xml);
            let start = open + xml[open..].find('>').unwrap() + 1;
            let end = start + xml[start..].find(&format!("</{tag}>")).expect(&xml);
            xml[start..end].to_string()
        };
        let failure = body("failure");
        assert!(
            failure.starts_with(
                "rds instance &apos;core&apos;: MultiAZ expected true, observed false\n"
            ),
            "{failure}"
        );
        assert!(
            failure.contains("\nresources: rds instance &apos;core&apos;"),
            "{failure}"
        );
        assert!(
            failure.contains("\nexpected: {&quot;core&quot;:{&quot;MultiAZ&quot;:true}}"),
            "{failure}"
        );
        assert!(
            failure.contains("\nobserved: {&quot;core&quot;:{&quot;AvailabilityZone&quot;:&quot;eu-central-1a&quot;,&quot;MultiAZ&quot;:false}}")
                || failure.contains("\nobserved: {&quot;core&quot;:{&quot;MultiAZ&quot;:false,&quot;AvailabilityZone&quot;:&quot;eu-central-1a&quot;}}"),
            "{failure}"
        );
        let error = body("error");
        assert!(
            error.starts_with("budgets:DescribeBudget failed: AccessDenied\n"),
            "{error}"
        );
        assert!(
            error.contains("\nerror: AccessDenied: not authorized to perform budgets:ViewBudget"),
            "{error}"
        );
        assert!(
            error.contains("\noperation: budgets:DescribeBudget"),
            "{error}"
        );
        // 120 ms: the run's duration, on the root and on the suite.
        assert!(
            xml.contains(r#"<testsuites name="verify sandbox" tests="5" skipped="2" failures="1" errors="1" time="0.120">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testsuite name="verify.sandbox" tests="5" skipped="2" errors="1" failures="1" time="0.120">"#),
            "{xml}"
        );
    }

    #[test]
    fn signoffs_and_manual_items_are_testcases() {
        let xml = super::render(&super::super::sample_with_signoffs());
        assert!(xml.contains("tests=\"10\""), "{xml}");
        assert!(
            xml.contains(r#"<testcase name="Engineering" classname="signoff""#),
            "{xml}"
        );
        let commercial = xml
            .split(r#"<testcase name="Commercial" classname="signoff""#)
            .nth(1)
            .expect(&xml);
        assert!(
            commercial.trim_start().starts_with(">\n") || commercial.contains("<failure"),
            "{xml}"
        );
        let until_next = commercial.split("</testcase>").next().unwrap();
        assert!(until_next.contains("<failure message=\"declared"), "{xml}");
        assert!(until_next.contains("type=\"missing\""), "{xml}");
        assert!(xml.contains("type=\"expired\""), "{xml}");
        let manual = xml
            .split(r#"<testcase name="status-page-live" classname="manual""#)
            .nth(1)
            .expect(&xml);
        assert!(
            manual
                .split("</testcase>")
                .next()
                .unwrap()
                .contains("<failure message=\"not done: Status page live\""),
            "{xml}"
        );
        let done = xml
            .split(r#"<testcase name="dpa-countersigned" classname="manual""#)
            .nth(1)
            .expect(&xml);
        assert!(
            !done
                .split("</testcase>")
                .next()
                .unwrap()
                .contains("<failure"),
            "{xml}"
        );
    }
}
