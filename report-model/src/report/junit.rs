//! `--report junit=PATH`: one testcase per check, named by its id, classname
//! = area; with `--signoffs`, one per sign-off (classname `signoff`, named by
//! role) and per manual item (classname `manual`, named by label), failing
//! when missing, expired or not done.

use quick_junit::{NonSuccessKind, Report as JUnit, TestCase, TestCaseStatus, TestSuite};

use crate::signoffs::SignoffStatus;

use super::{Report, Status};

pub fn render(report: &Report) -> String {
    let mut junit = JUnit::new(format!("verify {}", report.environment));
    let mut suite = TestSuite::new(format!("verify.{}", report.environment));
    for check in &report.checks {
        let status = match check.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => failure(NonSuccessKind::Failure, "fail", &check.message),
            Status::Error => failure(NonSuccessKind::Error, "error", &check.message),
            Status::Skip | Status::Waived => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("{}: {}", check.status.as_str(), check.message));
                s
            }
        };
        let mut case = TestCase::new(check.id.clone(), status);
        case.set_classname(check.area().to_string());
        case.set_time(std::time::Duration::from_millis(check.duration_ms));
        case.set_system_out(serde_json::to_string_pretty(&check.evidence).unwrap_or_default());
        suite.add_test_case(case);
    }
    if let Some(signoffs) = &report.signoffs {
        for r in &signoffs.roles {
            let status = match r.status {
                SignoffStatus::Given => TestCaseStatus::success(),
                SignoffStatus::Missing | SignoffStatus::Expired => {
                    failure(NonSuccessKind::Failure, r.status.as_str(), &r.reason)
                }
            };
            let mut case = TestCase::new(r.role.clone(), status);
            case.set_classname("signoff");
            case.set_system_out(serde_json::to_string_pretty(r).unwrap_or_default());
            suite.add_test_case(case);
        }
        for m in &signoffs.manual {
            let status = if m.done {
                TestCaseStatus::success()
            } else {
                failure(
                    NonSuccessKind::Failure,
                    "not done",
                    &format!("not done: {}", m.item),
                )
            };
            let mut case = TestCase::new(m.label.clone(), status);
            case.set_classname("manual");
            case.set_system_out(serde_json::to_string_pretty(m).unwrap_or_default());
            suite.add_test_case(case);
        }
    }
    junit.add_test_suite(suite);
    junit.to_string().expect("junit serialises")
}

fn failure(kind: NonSuccessKind, ty: &str, message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_message(message.to_string());
    status.set_type(ty.to_string());
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
