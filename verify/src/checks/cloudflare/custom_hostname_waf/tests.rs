//! The two live decisions judged on what the APIs answer, both ways, and
//! error where the answer cannot be judged.

use aws_sdk_wafv2::types::{
    CountAction, ManagedRuleGroupStatement, NoneAction, OverrideAction, Rule, RuleAction,
    RuleActionOverride, Statement, VisibilityConfig, WebAcl,
};
use serde_json::{Value, json};

use super::*;
use crate::check::Status;
use crate::probe::cloudflare::CLOUDFLARE_MANAGED_RULESET_ID as CMR;

const HOSTS: [&str; 2] = ["app.physio-bucharest.test", "portal.kinetic-cluj.test"];

fn hosts() -> Vec<String> {
    HOSTS.iter().map(|h| h.to_string()).collect()
}

fn ruleset(rules: Value) -> Ruleset {
    serde_json::from_value(json!({ "id": "entry", "rules": rules })).unwrap()
}

fn execute(id: &str, expression: &str) -> Value {
    json!({ "id": id, "action": "execute", "action_parameters": { "id": CMR }, "expression": expression })
}

fn skip(id: &str, expression: &str) -> Value {
    json!({ "id": id, "action": "skip", "action_parameters": { "ruleset": "current" }, "expression": expression })
}

/// The judgement of the first host, and whether every host is covered.
fn judge(rules: Value) -> Vec<HostJudged> {
    judge_hosts(&ruleset(rules), CMR, &hosts())
        .into_iter()
        .map(|(_, j)| j)
        .collect()
}

#[test]
fn waf_for_saas_is_judged_per_hostname() {
    let covered = |rule: &str| HostJudged::Covered(format!("rule {rule}"));
    // Covered: `true`, the hosts by name, by suffix, or everything but the API.
    for expression in [
        "true",
        r#"http.host in {"app.physio-bucharest.test" "portal.kinetic-cluj.test"}"#,
        r#"ends_with(http.host, ".test")"#,
        r#"not http.host in {"api.restartix.test"}"#,
    ] {
        assert_eq!(
            judge(json!([execute("x", expression)])),
            vec![covered("x"), covered("x")],
            "{expression}"
        );
    }
    // A skip for the custom hostnames, before the execute: not covered.
    let skipped = judge(json!([
        skip(
            "s",
            r#"http.host in {"app.physio-bucharest.test" "portal.kinetic-cluj.test"}"#
        ),
        execute("x", "true")
    ]));
    assert!(
        matches!(&skipped[0], HostJudged::NotCovered(why) if why[0].starts_with("skipped by rule s (skip ruleset = current)")),
        "{skipped:?}"
    );
    // A skip for another host only: still covered.
    assert_eq!(
        judge(json!([
            skip("s", r#"http.host eq "api.restartix.test""#),
            execute("x", "true")
        ])),
        vec![covered("x"), covered("x")]
    );
    // The execute matches only the API host: the custom hostnames are not covered.
    let only_api = judge(json!([execute(
        "x",
        r#"http.host eq "api.restartix.test""#
    )]));
    assert!(
        matches!(&only_api[0], HostJudged::NotCovered(why) if why == &vec!["rule x does not match it (`http.host eq \"api.restartix.test\"`)".to_string()]),
        "{only_api:?}"
    );
    // One host covered, the other not.
    let one = judge(json!([execute(
        "x",
        r#"http.host eq "app.physio-bucharest.test""#
    )]));
    assert_eq!(one[0], covered("x"));
    assert!(matches!(one[1], HostJudged::NotCovered(_)));
    // Disabled, or set to log: passed over, and said.
    let log = judge(
        json!([{ "id": "x", "action": "execute", "action_parameters": { "id": CMR, "overrides": { "action": "log" } }, "expression": "true" }]),
    );
    assert!(
        matches!(&log[0], HostJudged::NotCovered(why) if why[0] == "rule x has overrides.action = log"),
        "{log:?}"
    );
    let disabled = judge(
        json!([{ "id": "x", "action": "execute", "action_parameters": { "id": CMR }, "expression": "true", "enabled": false }, execute("y", "true")]),
    );
    assert_eq!(disabled[0], covered("y"));
    // Expressions not evaluated here: error, never a guessed pass.
    for rules in [
        json!([execute("x", r#"cf.hostname.metadata["waf"] eq "on""#)]),
        json!([
            skip("s", r#"http.request.uri.path eq "/upload""#),
            execute("x", "true")
        ]),
        json!([execute("x", r#"http.host matches "physio""#)]),
    ] {
        let judged = judge(rules.clone());
        assert!(
            matches!(judged[0], HostJudged::Unknown(_)),
            "{rules}: {judged:?}"
        );
    }
    // No rule at all.
    assert!(
        matches!(&judge(json!([]))[0], HostJudged::NotCovered(why) if why[0] == "0 rule(s), none enabled and executing it")
    );
}

fn group_rule(name: &str, count: bool, rule_overrides: &[&str]) -> Rule {
    let mut statement = ManagedRuleGroupStatement::builder()
        .vendor_name("AWS")
        .name(name);
    for rule in rule_overrides {
        statement = statement.rule_action_overrides(
            RuleActionOverride::builder()
                .name(*rule)
                .action_to_use(
                    RuleAction::builder()
                        .count(CountAction::builder().build())
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    let action = if count {
        OverrideAction::builder()
            .count(CountAction::builder().build())
            .build()
    } else {
        OverrideAction::builder()
            .none(NoneAction::builder().build())
            .build()
    };
    Rule::builder()
        .name(name)
        .priority(0)
        .statement(
            Statement::builder()
                .managed_rule_group_statement(statement.build().unwrap())
                .build(),
        )
        .override_action(action)
        .visibility_config(
            VisibilityConfig::builder()
                .sampled_requests_enabled(true)
                .cloud_watch_metrics_enabled(true)
                .metric_name(name)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn acl(rules: Vec<Rule>) -> WebAcl {
    WebAcl::builder()
        .name("core-api")
        .id("1")
        .arn("arn:aws:wafv2:eu-central-1:123456789012:regional/webacl/core-api/1")
        .set_rules(Some(rules))
        .default_action(
            aws_sdk_wafv2::types::DefaultAction::builder()
                .allow(aws_sdk_wafv2::types::AllowAction::builder().build())
                .build(),
        )
        .visibility_config(
            VisibilityConfig::builder()
                .sampled_requests_enabled(true)
                .cloud_watch_metrics_enabled(true)
                .metric_name("core-api")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

const COMMON: &str = "AWSManagedRulesCommonRuleSet";
const BAD_INPUTS: &str = "AWSManagedRulesKnownBadInputsRuleSet";

#[test]
fn aws_waf_on_alb_is_judged_by_group_and_override() {
    let groups = vec![COMMON.to_string(), BAD_INPUTS.to_string()];
    let good = acl(vec![
        group_rule(COMMON, false, &["SizeRestrictions_BODY"]),
        group_rule(BAD_INPUTS, false, &[]),
    ]);
    let pass = judge_alb_waf("core-api", &groups, Some(&good)).unwrap();
    assert_eq!(pass.status, Status::Pass, "{}", pass.message);
    assert!(
        pass.message.contains(
            "(1 rule(s) overridden to Count: AWSManagedRulesCommonRuleSet/SizeRestrictions_BODY)"
        ),
        "{}",
        pass.message
    );
    assert_eq!(
        pass.evidence.observed["managed_rule_groups"][0]["rule_action_overrides"],
        json!([{ "rule": "SizeRestrictions_BODY", "action": "Count" }])
    );

    let counted = acl(vec![
        group_rule(COMMON, true, &[]),
        group_rule(BAD_INPUTS, false, &[]),
    ]);
    let fail = judge_alb_waf("core-api", &groups, Some(&counted)).unwrap();
    assert_eq!(fail.status, Status::Fail);
    assert_eq!(
        fail.message,
        "load balancer 'core-api': web ACL 'core-api': AWSManagedRulesCommonRuleSet OverrideAction expected None, observed Count (rule 'AWSManagedRulesCommonRuleSet' only counts)"
    );

    let missing = acl(vec![group_rule(COMMON, false, &[])]);
    let fail = judge_alb_waf("core-api", &groups, Some(&missing)).unwrap();
    assert_eq!(fail.status, Status::Fail);
    assert!(
        fail.message
            .ends_with("AWSManagedRulesKnownBadInputsRuleSet expected, observed absent"),
        "{}",
        fail.message
    );

    let detached = judge_alb_waf("core-api", &groups, None).unwrap();
    assert_eq!(detached.status, Status::Fail);
    assert_eq!(
        detached.message,
        "load balancer 'core-api': a web ACL expected, observed none associated"
    );

    // OverrideAction left out: error, not a default.
    let mut silent = group_rule(COMMON, false, &[]);
    silent.override_action = None;
    let error = judge_alb_waf("core-api", &groups[..1], Some(&acl(vec![silent]))).unwrap_err();
    assert!(error.to_string().contains("OverrideAction"), "{error}");
}
