//! `--report json=PATH`: the shape in `harness.md`.

use super::Report;

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("report serialises")
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_the_documented_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&super::render(&super::super::sample())).unwrap();
        for key in [
            "environment",
            "started_at",
            "duration_ms",
            "verdict",
            "summary",
            "checks",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["verdict"], "no-go");
        assert_eq!(
            v["summary"],
            serde_json::json!({"pass": 1, "fail": 1, "error": 1, "skip": 1, "waived": 1})
        );
        assert_eq!(v["checks"][0]["id"], "rds.multi_az");
        assert_eq!(v["checks"][0]["status"], "fail");
        let evidence = &v["checks"][0]["evidence"];
        assert_eq!(
            evidence["resources"],
            serde_json::json!(["rds instance 'core'"])
        );
        assert_eq!(evidence["expected"]["core"]["MultiAZ"], true);
        assert_eq!(evidence["observed"]["core"]["MultiAZ"], false);
        assert_eq!(
            evidence["operations"],
            serde_json::json!(["rds:DescribeDBInstances"])
        );
        assert_eq!(v["identity"]["account"], "123456789012");
        assert_eq!(v["identity"]["region"], "eu-central-1");
    }
}
