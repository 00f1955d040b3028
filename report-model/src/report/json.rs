//! `--report json=PATH`: the shape in `docs/report-format.md`.

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
        assert_eq!(v["automated_verdict"], "no-go");
        assert!(v["signoffs"].is_null());
        assert_eq!(v["blocking"][0]["group"], "Database (RDS)");
        assert_eq!(v["blocking"][0]["items"][0]["kind"], "check");
        assert_eq!(v["blocking"][0]["items"][0]["id"], "rds.multi_az");
    }

    #[test]
    fn signoffs_section_and_verdict() {
        let report = super::super::sample_with_signoffs();
        let v: serde_json::Value = serde_json::from_str(&super::render(&report)).unwrap();
        assert_eq!(v["verdict"], "no-go");
        let s = &v["signoffs"];
        assert_eq!(s["complete"], false);
        assert_eq!(s["judged_on"], "2026-11-23");
        let roles: Vec<(&str, &str)> = s["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["role"].as_str().unwrap(), r["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            roles,
            [
                ("Engineering", "given"),
                ("Commercial", "missing"),
                ("Regulatory", "expired")
            ]
        );
        assert_eq!(s["roles"][0]["signed_by"], "Ana Pop");
        assert_eq!(s["roles"][2]["reason"], "expired on 2026-11-01");
        assert_eq!(s["manual"][1]["label"], "status-page-live");
        assert_eq!(s["manual"][1]["done"], false);
        let blocking: Vec<&str> = v["blocking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["group"].as_str().unwrap())
            .collect();
        assert!(blocking.contains(&"Commercial"), "{blocking:?}");
        // Reads back as the same report (`cargo xtask test` reads it so).
        let back: super::super::Report = serde_json::from_value(v).unwrap();
        assert_eq!(back.signoffs, report.signoffs);
        // A report written before sign-offs existed still reads.
        let mut old: serde_json::Value =
            serde_json::from_str(&super::render(&super::super::sample())).unwrap();
        for key in ["automated_verdict", "signoffs", "blocking"] {
            old.as_object_mut().unwrap().remove(key);
        }
        let old: super::super::Report = serde_json::from_value(old).unwrap();
        assert!(old.signoffs.is_none());
    }
}
