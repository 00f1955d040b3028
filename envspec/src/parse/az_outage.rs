//! `drills { az_outage { … } }`: the AZ-outage drill's block
//! ([`AzOutageDrill`]), read as strictly as the rest.

use super::*;

/// The `az_outage` block of the `drills` block `s` reads, if there is one.
pub(super) fn az_outage(
    doc: &Doc,
    s: &mut Section,
    rds: &[RdsSpec],
    canaries: &[CanarySpec],
) -> Result<Option<AzOutageDrill>, SpecError> {
    let Some(block) = s.single_block("az_outage")? else {
        return Ok(None);
    };
    let mut s = Section::of_block(doc, block)?;
    let az = s.required_string("az")?;
    let d = AzOutageDrill::defaults(&az);
    let drill = AzOutageDrill {
        az,
        duration: s.duration("duration")?.unwrap_or(d.duration),
        max_unavailable: s.duration("max_unavailable")?,
        max_recovery: s.duration("max_recovery")?.unwrap_or(d.max_recovery),
        timeout: s.duration("timeout")?.unwrap_or(d.timeout),
        fis_experiment_template: s.string("fis_experiment_template")?,
        rds: s.string("rds")?,
        database_url_env: s.string("database_url_env")?.unwrap_or(d.database_url_env),
        database_url: None,
        sandbox_control_url: None,
        stop_alarms: s.strings("stop_alarms")?.unwrap_or_default(),
        dependents: dependents::dependents(doc, &mut s, canaries)?,
        probe_interval: s.duration("probe_interval")?.unwrap_or(d.probe_interval),
        connect_timeout: s.duration("connect_timeout")?.unwrap_or(d.connect_timeout),
        statement_timeout: s
            .duration("statement_timeout")?
            .unwrap_or(d.statement_timeout),
        ca_file: s.string("ca_file")?.map(|f| spec_relative(doc, f)),
    };
    if !is_az(&drill.az) {
        return Err(s.invalid_value("az", "an availability zone name (\"eu-central-1a\")"));
    }
    if let Some(template) = &drill.fis_experiment_template
        && !is_template_id(template)
    {
        return Err(s.invalid_value(
            "fis_experiment_template",
            "an AWS FIS experiment template id (\"EXT…\")",
        ));
    }
    match &drill.rds {
        Some(label) if !rds.iter().any(|r| &r.label == label) => {
            return Err(s.invalid_value("rds", "the label of an `rds` block of this spec"));
        }
        None if rds.len() != 1 => {
            return Err(s.invalid_value(
                "rds",
                "set: the spec has no single `rds` block whose failover to judge",
            ));
        }
        _ => {}
    }
    if drill.database_url_env.trim().is_empty() {
        return Err(s.invalid_value("database_url_env", "a non-empty variable name"));
    }
    if drill.probe_interval.is_zero() || drill.probe_interval > Duration::from_millis(50) {
        return Err(s.invalid_value("probe_interval", "a duration above zero and at most 50ms"));
    }
    if drill.duration.is_zero() || drill.duration > Duration::from_secs(3600) {
        return Err(s.invalid_value("duration", "a duration above zero and at most 1h"));
    }
    for (key, value) in [
        ("max_recovery", drill.max_recovery),
        ("connect_timeout", drill.connect_timeout),
        ("statement_timeout", drill.statement_timeout),
    ] {
        if value.is_zero() {
            return Err(s.invalid_value(key, "a duration above zero"));
        }
    }
    if drill.max_unavailable.is_some_and(|m| m.is_zero()) {
        return Err(s.invalid_value("max_unavailable", "a duration above zero"));
    }
    if drill.timeout <= drill.max_recovery.max(drill.duration) {
        return Err(s.invalid_value("timeout", "longer than both `duration` and `max_recovery`"));
    }
    s.finish()?;
    Ok(Some(drill))
}

/// `eu-central-1a`: region, then one letter.
fn is_az(name: &str) -> bool {
    let Some((region, zone)) = name.rsplit_once('-') else {
        return false;
    };
    let digits = zone.trim_end_matches(|c: char| c.is_ascii_lowercase());
    let letters = &zone[digits.len()..];
    region.contains('-')
        && region.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && letters.len() == 1
}

/// `EXT` and letters or digits (FIS's `ExperimentTemplateId`).
fn is_template_id(id: &str) -> bool {
    id.len() > 3 && id.starts_with("EXT") && id.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox_with(block: &str) -> Result<Environment, SpecError> {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra-tests/environments/sandbox.hcl");
        let mut source = std::fs::read_to_string(&path).unwrap();
        // The spec's own az_outage block gives way to the case's.
        if let Some(start) = source.find("  az_outage {") {
            let end = start + source[start..].find("\n  }\n").expect("its end") + "\n  }\n".len();
            source.replace_range(start..end, "");
        }
        let at = source.find("drills {").expect("a drills block");
        let source = format!(
            "{}drills {{\n  az_outage {{\n{block}\n  }}\n{}",
            &source[..at],
            &source[at + "drills {".len()..]
        );
        parse(&source, &path)
    }

    #[test]
    fn an_az_outage_block_is_read_with_its_defaults() {
        let env = sandbox_with("    az = \"eu-central-1a\"\n    duration = \"10s\"").unwrap();
        let drill = env.drills.az_outage.expect("az_outage");
        assert_eq!(drill.az, "eu-central-1a");
        assert_eq!(drill.duration, Duration::from_secs(10));
        assert_eq!(drill.max_recovery, Duration::from_secs(300));
        assert_eq!(drill.fis_experiment_template, None);
        let env = sandbox_with(
            "    az = \"eu-central-1b\"\n    fis_experiment_template = \"EXT6vdBHvjX9TjG3\"\n    stop_alarms = [\"a\"]",
        )
        .unwrap();
        let drill = env.drills.az_outage.unwrap();
        assert_eq!(
            drill.fis_experiment_template.as_deref(),
            Some("EXT6vdBHvjX9TjG3")
        );
        assert_eq!(drill.stop_alarms, ["a"]);
    }

    #[test]
    fn a_bad_az_outage_block_is_refused_at_its_place() {
        for (block, needle) in [
            ("    duration = \"10s\"", "`az`"),
            (
                "    az = \"eu-central-1\"",
                "`az` must be an availability zone",
            ),
            ("    az = \"1a\"", "`az` must be an availability zone"),
            (
                "    az = \"eu-central-1a\"\n    fis_experiment_template = \"arn:aws:fis:x\"",
                "`fis_experiment_template` must be an AWS FIS experiment template id",
            ),
            (
                "    az = \"eu-central-1a\"\n    duration = \"0s\"",
                "`duration` must be a duration above zero",
            ),
            (
                "    az = \"eu-central-1a\"\n    max_recovery = \"30m\"",
                "`timeout` must be longer",
            ),
            (
                "    az = \"eu-central-1a\"\n    rds = \"nope\"",
                "`rds` must be the label",
            ),
            (
                "    az = \"eu-central-1a\"\n    probe_interval = \"1s\"",
                "`probe_interval` must be",
            ),
            ("    az = \"eu-central-1a\"\n    blast = 1", "blast"),
        ] {
            let err = sandbox_with(block).unwrap_err().to_string();
            assert!(err.contains(needle), "{block}: {err}");
            assert!(err.contains("sandbox.hcl:"), "file:line:column: {err}");
        }
    }

    #[test]
    fn az_and_template_shapes() {
        assert!(is_az("eu-central-1a"));
        assert!(is_az("us-gov-west-1b"));
        assert!(!is_az("eu-central-1"));
        assert!(!is_az("eu-central-1ab"));
        assert!(!is_az("use1-az1"));
        assert!(is_template_id("EXTabc123"));
        assert!(!is_template_id("EXT"));
        assert!(!is_template_id("EXT-1"));
    }
}
