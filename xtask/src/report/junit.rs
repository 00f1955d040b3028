//! `--report junit=PATH`: one testcase per check, named by its id, classname = area.

use quick_junit::{NonSuccessKind, Report as JUnit, TestCase, TestCaseStatus, TestSuite};

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
    }
}
