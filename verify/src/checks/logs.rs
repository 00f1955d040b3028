//! `logs.*`: log groups keep their events as long as declared, and no longer.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::types::LogGroup;
use serde_json::json;

use crate::aws;
use crate::check::{Check, CheckDef, CheckResult, Fields, Finding, Grant};
use crate::context::Context;
use crate::spec::{LogGroupRule, LogsSpec};

const NONE_DECLARED: &str = "no logs block declared for this environment";

// --- what: the checks, declared ----------------------------------------------

const RETENTION: CheckDef = CheckDef {
    id: "logs.retention",
    title: "the declared log groups keep their events within the declared range",
    doc: "every declared log group (or every group of a declared family, `/ecs/restartix-*`) exists and its `retentionInDays` is within the declared range; \"never expire\" (no retention) fails unless `allow_never_expire`",
    // DescribeLogGroups is authorised on the account's log groups as a
    // whole (`log-group:*`), not per name or prefix.
    iam: &[Grant::on(
        "LogsReadLogGroups",
        "logs:DescribeLogGroups",
        |env, a| {
            if env.logs.is_some() {
                vec![a.arn("logs", "log-group:*")]
            } else {
                Vec::new()
            }
        },
    )],
};

pub fn checks() -> Vec<Check> {
    vec![Check::new(&RETENTION, |g| Box::pin(retention(g)))]
}

// --- how: the judges ----------------------------------------------------------

/// `logs.retention`: one `DescribeLogGroups` (all pages) per declared name or family prefix.
async fn retention(cx: &Context) -> CheckResult {
    let Some(spec) = &cx.env().logs else {
        return Ok(Finding::skip(NONE_DECLARED));
    };
    let mut found = Vec::new();
    for rule in &spec.groups {
        let prefix = rule.family_prefix().unwrap_or(&rule.name);
        let groups = aws::logs::groups_with_prefix(cx.aws(), prefix).await?;
        found.extend(groups.iter().cloned());
    }
    Ok(judge_retention(spec, &found))
}

/// The rule that judges `group`: the one naming it exactly, else the
/// family with the longest prefix covering it.
fn rule_for<'a>(spec: &'a LogsSpec, group: &str) -> Option<&'a LogGroupRule> {
    spec.groups
        .iter()
        .find(|r| r.family_prefix().is_none() && r.name == group)
        .or_else(|| {
            spec.groups
                .iter()
                .filter(|r| r.family_prefix().is_some_and(|p| group.starts_with(p)))
                .max_by_key(|r| r.name.len())
        })
}

/// The range a rule allows, as messages show it.
fn range(rule: &LogGroupRule) -> String {
    let days = match rule.max_retention_days {
        Some(max) if max == rule.min_retention_days => format!("{max} days"),
        Some(max) => format!("{}–{max} days", rule.min_retention_days),
        None => format!("≥ {} days", rule.min_retention_days),
    };
    if rule.allow_never_expire {
        format!("{days} or never expire")
    } else {
        days
    }
}

/// `logs.retention` from every log group the prefixes found (duplicates
/// and groups no rule covers are ignored): each declared group present and
/// in range, each family with at least one group, every group of it in range.
fn judge_retention(spec: &LogsSpec, found: &[LogGroup]) -> Finding {
    // Each group once, judged by its own rule.
    let mut judged: BTreeMap<&str, (&LogGroupRule, Option<i32>)> = BTreeMap::new();
    for group in found {
        let Some(name) = group.log_group_name() else {
            continue;
        };
        if let Some(rule) = rule_for(spec, name) {
            judged.insert(name, (rule, group.retention_in_days()));
        }
    }
    let mut f = Fields::of("log group retention");
    let mut resources = Vec::new();
    for rule in &spec.groups {
        let mine: Vec<(&str, Option<i32>)> = judged
            .iter()
            .filter(|(_, (r, _))| std::ptr::eq(*r, rule))
            .map(|(name, (_, days))| (*name, *days))
            .collect();
        if mine.is_empty() {
            let observed = match rule.family_prefix() {
                Some(_) => "no log group matches",
                None => "not found",
            };
            f.judge(&rule.name, range(rule), observed, false);
            resources.push(format!("log group '{}'", rule.name));
        }
        for (name, days) in mine {
            resources.push(format!("log group '{name}'"));
            let (observed, ok) = match days {
                None => ("never expire".to_string(), rule.allow_never_expire),
                Some(d) => (
                    format!("{d} day{}", if d == 1 { "" } else { "s" }),
                    d >= 0
                        && (d as u32) >= rule.min_retention_days
                        && rule.max_retention_days.is_none_or(|max| (d as u32) <= max),
                ),
            };
            f.judge(name, range(rule), observed, ok);
            if days.is_none() && !ok {
                f.because("no retention set: events are kept forever");
            }
        }
    }
    let count = judged.len();
    let mut finding = f.finish(format!(
        "{count} log group{} within the declared retention",
        if count == 1 { "" } else { "s" }
    ));
    finding.evidence.resources.clear();
    finding.evidence = finding.evidence.resources(resources);
    finding.with_detail(
        "declared",
        json!(
            spec.groups
                .iter()
                .map(|r| json!({ "name": r.name, "range": range(r) }))
                .collect::<Vec<_>>()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn rule(name: &str, min: u32, max: Option<u32>, never: bool) -> LogGroupRule {
        LogGroupRule {
            name: name.into(),
            min_retention_days: min,
            max_retention_days: max,
            allow_never_expire: never,
        }
    }

    fn group(name: &str, days: Option<i32>) -> LogGroup {
        LogGroup::builder()
            .log_group_name(name)
            .set_retention_in_days(days)
            .build()
    }

    fn spec() -> LogsSpec {
        LogsSpec {
            groups: vec![
                rule("/ecs/api", 30, Some(400), false),
                rule("/ecs/app-*", 30, Some(400), false),
                rule("/ecs/app-audit", 365, None, true),
            ],
        }
    }

    #[test]
    fn each_group_passes_in_range_and_fails_out_of_it_or_missing() {
        let good = [
            group("/ecs/api", Some(90)),
            group("/ecs/api-other", None), // a prefix match, not the group
            group("/ecs/app-worker", Some(30)),
            group("/ecs/app-audit", None), // its own rule allows never expire
        ];
        let pass = judge_retention(&spec(), &good);
        assert_eq!(pass.status, Status::Pass, "{}", pass.message);
        assert_eq!(pass.evidence.observed["/ecs/api"], "90 days");
        assert_eq!(pass.evidence.expected["/ecs/api"], "30–400 days");
        assert_eq!(pass.evidence.observed["/ecs/app-audit"], "never expire");
        assert!(pass.evidence.observed.get("/ecs/api-other").is_none());
        assert_eq!(pass.message, "3 log groups within the declared retention");

        let never = judge_retention(
            &spec(),
            &[group("/ecs/api", None), group("/ecs/app-worker", Some(30))],
        );
        assert_eq!(never.status, Status::Fail);
        assert!(
            never
                .message
                .contains("/ecs/api expected 30–400 days, observed never expire"),
            "{}",
            never.message
        );
        // The family's own exact group is missing: the audit rule fails, named.
        assert!(
            never
                .message
                .contains("/ecs/app-audit expected ≥ 365 days or never expire, observed not found")
        );

        let short = judge_retention(
            &spec(),
            &[
                group("/ecs/api", Some(1)),
                group("/ecs/app-worker", Some(3653)),
                group("/ecs/app-audit", Some(3653)),
            ],
        );
        assert_eq!(short.status, Status::Fail);
        assert!(
            short
                .message
                .contains("/ecs/api expected 30–400 days, observed 1 day")
        );
        assert!(
            short
                .message
                .contains("/ecs/app-worker expected 30–400 days, observed 3653 days")
        );

        let empty = judge_retention(
            &spec(),
            &[
                group("/ecs/api", Some(30)),
                group("/ecs/app-audit", Some(400)),
            ],
        );
        assert!(
            empty
                .message
                .contains("/ecs/app-* expected 30–400 days, observed no log group matches"),
            "{}",
            empty.message
        );
    }
}
