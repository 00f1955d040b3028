//! Waivers applied to outcomes: the file is read by [`envspec::waivers`]
//! (re-exported here), so `cargo xtask` refuses a bad one before it builds.

use std::time::SystemTime;

pub use envspec::waivers::{Waiver, load, parse};

use crate::check::{Outcome, Status};

/// Turns covered `fail`/`error` outcomes of the environment `environment`
/// into `waived`; an expired waiver leaves the outcome as it was and says
/// so in its message. A waiver scoped to other environments is not read.
pub fn apply(outcomes: &mut [Outcome], waivers: &[Waiver], environment: &str, now: SystemTime) {
    for outcome in outcomes.iter_mut().filter(|o| o.status.blocks_go()) {
        let Some(waiver) = waivers
            .iter()
            .find(|w| w.applies_to(environment) && w.covers(&outcome.id))
        else {
            continue;
        };
        if waiver.expired(now) {
            outcome.message = format!(
                "{} (waiver \"{}\" expired on {})",
                outcome.message, waiver.pattern, waiver.expires
            );
        } else {
            outcome.message = format!(
                "waived until {} ({}): was {}: {}",
                waiver.expires,
                waiver.justification,
                outcome.status.as_str(),
                outcome.message
            );
            outcome.status = Status::Waived;
        }
        outcome.evidence.details.insert(
            "waiver".into(),
            serde_json::json!({ "pattern": waiver.pattern, "justification": waiver.justification, "expires": waiver.expires.to_string(), "expired": waiver.expired(now), "environments": waiver.environments }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    fn outcome(id: &str, status: Status) -> Outcome {
        Outcome {
            id: id.into(),
            status,
            message: "m".into(),
            duration_ms: 0,
            evidence: crate::Evidence::of("r"),
        }
    }

    #[test]
    fn a_live_waiver_waives_and_an_expired_one_does_not() {
        let waivers = parse(
            "waiver \"rds.*\" {\n  justification = \"OPS-1\"\n  expires = \"2026-12-31\"\n}\nwaiver \"budgets.monthly\" {\n  justification = \"OPS-2\"\n  expires = \"2020-01-01\"\n}\n",
            Path::new("w.hcl"),
        )
        .unwrap();
        let now = humantime::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        let mut outcomes = vec![
            outcome("rds.multi_az", Status::Fail),
            outcome("budgets.monthly", Status::Error),
            outcome("rds.backups", Status::Pass),
        ];
        apply(&mut outcomes, &waivers, "sandbox", now);
        assert_eq!(outcomes[0].status, Status::Waived);
        assert_eq!(
            outcomes[0].evidence.details["waiver"]["justification"],
            "OPS-1"
        );
        assert_eq!(outcomes[0].evidence.resources, ["r"]);
        assert_eq!(outcomes[1].evidence.details["waiver"]["expired"], true);
        assert!(!outcomes[2].evidence.details.contains_key("waiver"));
        assert!(
            outcomes[0]
                .message
                .contains("waived until 2026-12-31 (OPS-1)")
        );
        assert_eq!(outcomes[1].status, Status::Error);
        assert!(outcomes[1].message.contains("expired on 2020-01-01"));
        assert_eq!(outcomes[2].status, Status::Pass);
        assert!(!waivers[0].expired(now + Duration::from_secs(86_400 * 38)));
    }

    #[test]
    fn a_waiver_scoped_to_another_environment_waives_nothing_here() {
        let waivers = parse(
            "waiver \"rds.*\" {\n  justification = \"OPS-1\"\n  expires = \"2026-12-31\"\n  environments = [\"staging\"]\n}\n",
            Path::new("w.hcl"),
        )
        .unwrap();
        let now = humantime::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        let mut production = vec![outcome("rds.multi_az", Status::Fail)];
        apply(&mut production, &waivers, "production", now);
        assert_eq!(production[0].status, Status::Fail);
        assert!(!production[0].evidence.details.contains_key("waiver"));
        let mut staging = vec![outcome("rds.multi_az", Status::Fail)];
        apply(&mut staging, &waivers, "staging", now);
        assert_eq!(staging[0].status, Status::Waived);
        assert_eq!(
            staging[0].evidence.details["waiver"]["environments"],
            serde_json::json!(["staging"])
        );
    }
}
