//! `drills { alarm_route { … } }`: the alarm-route drill's block
//! ([`AlarmRouteDrill`]), read as strictly as the rest.

use super::*;

/// The `alarm_route` block of the `drills` block `s` reads, if there is one.
pub(super) fn alarm_route(
    doc: &Doc,
    s: &mut Section,
    canaries: &[CanarySpec],
) -> Result<Option<AlarmRouteDrill>, SpecError> {
    let Some(block) = s.single_block("alarm_route")? else {
        return Ok(None);
    };
    let mut s = Section::of_block(doc, block)?;
    let drill = AlarmRouteDrill {
        alarm: s.required_string("alarm")?,
        topic: s.string("topic")?,
        within: s
            .duration("within")?
            .unwrap_or(AlarmRouteDrill::DEFAULT_WITHIN),
        forwarder_log_group: s.string("forwarder_log_group")?,
        chatbot_log_group: s.string("chatbot_log_group")?,
        stop_alarms: s.strings("stop_alarms")?.unwrap_or_default(),
        dependents: dependents::dependents(doc, &mut s, canaries)?,
    };
    if drill.alarm.trim().is_empty() {
        return Err(s.invalid_value(
            "alarm",
            "the name of a CloudWatch alarm (a dedicated test alarm)",
        ));
    }
    if drill.topic.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(s.invalid_value("topic", "an SNS topic name or ARN"));
    }
    if drill.within.is_zero() || drill.within > Duration::from_secs(3600) {
        return Err(s.invalid_value("within", "a duration above zero and at most 1h"));
    }
    for (key, group, prefix) in [
        (
            "forwarder_log_group",
            &drill.forwarder_log_group,
            "/aws/lambda/",
        ),
        (
            "chatbot_log_group",
            &drill.chatbot_log_group,
            "/aws/chatbot/",
        ),
    ] {
        if let Some(group) = group
            && (!group.starts_with(prefix) || group.len() == prefix.len())
        {
            return Err(s.invalid_value(key, &format!("a log group named {prefix}<name>")));
        }
    }
    s.finish()?;
    Ok(Some(drill))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(body: &str) -> Result<Environment, SpecError> {
        parse(
            &format!(
                "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\
                 drills {{\n  allowed = true\n  alarm_route {{\n{body}\n  }}\n}}\n"
            ),
            "s.hcl".as_ref(),
        )
    }

    #[test]
    fn the_block_reads_its_alarm_bound_and_observers() {
        let env = spec(
            "    alarm = \"test-alarm\"\n    within = \"30s\"\n    topic = \"alerts\"\n    \
             forwarder_log_group = \"/aws/lambda/slack-forwarder\"\n    \
             chatbot_log_group = \"/aws/chatbot/alerts\"\n    stop_alarms = [\"a\"]",
        )
        .unwrap();
        let d = env.drills.alarm_route.unwrap();
        assert_eq!(d.alarm, "test-alarm");
        assert_eq!(d.within, Duration::from_secs(30));
        assert_eq!(d.topic.as_deref(), Some("alerts"));
        assert_eq!(
            d.forwarder_log_group.as_deref(),
            Some("/aws/lambda/slack-forwarder")
        );
        assert_eq!(d.chatbot_log_group.as_deref(), Some("/aws/chatbot/alerts"));
        assert_eq!(d.stop_alarms, ["a"]);
        let d = spec("    alarm = \"t\"")
            .unwrap()
            .drills
            .alarm_route
            .unwrap();
        assert_eq!(d.within, AlarmRouteDrill::DEFAULT_WITHIN);
        assert_eq!(d.topic, None);
    }

    #[test]
    fn bad_attributes_are_refused_at_their_position() {
        for (body, needle, line) in [
            (
                "    within = \"2m\"",
                "missing required attribute `alarm`",
                6,
            ),
            ("    alarm = \"\"", "`alarm` must be a non-empty string", 7),
            (
                "    alarm = \"t\"\n    within = \"0s\"",
                "`within` must be",
                8,
            ),
            (
                "    alarm = \"t\"\n    within = \"2h\"",
                "`within` must be",
                8,
            ),
            ("    alarm = \"t\"\n    topic = \" \"", "`topic` must be", 8),
            (
                "    alarm = \"t\"\n    forwarder_log_group = \"/ecs/fwd\"",
                "`forwarder_log_group` must be a log group named /aws/lambda/",
                8,
            ),
            (
                "    alarm = \"t\"\n    chatbot_log_group = \"/aws/chatbot/\"",
                "`chatbot_log_group` must be a log group named /aws/chatbot/",
                8,
            ),
            ("    alarm = \"t\"\n    wihtin = \"2m\"", "wihtin", 8),
        ] {
            let err = spec(body).unwrap_err().to_string();
            assert!(err.contains(needle), "{body}: {err}");
            assert!(err.contains(&format!("s.hcl:{line}:")), "{body}: {err}");
        }
    }
}
