//! `cloudflare.custom_hostname_waf`: the clinics' custom hostnames have the
//! WAF the spec decided on (`edge { cloudflare { custom_hostname_waf } }`):
//!
//! - `waf_for_saas`: in the zone's `http_request_firewall_managed`
//!   entrypoint, for every custom hostname, an enabled rule executing the
//!   managed ruleset (not disabled or set to log by its overrides) matches
//!   every request to it, and no earlier enabled `skip` rule skipping the
//!   ruleset matches any ([`judge_hosts`]; expressions judged by
//!   [`super::expression::matches_host`], an expression it cannot evaluate
//!   is `error`, never a guessed pass);
//! - `aws_waf_on_alb`: `wafv2:GetWebACLForResource` on the edge's load
//!   balancer answers a web ACL running each named AWS managed rule group
//!   (`ManagedRuleGroupStatement`, vendor `AWS`), none with `OverrideAction`
//!   Count ([`judge_alb_waf`]); rule-level overrides (`RuleActionOverrides`,
//!   `ExcludedRules`) are listed in the evidence;
//! - `accepted_gap`: `fail`, saying the gap is accepted only by a waiver
//!   (which carries its justification and expiry).

use aws_sdk_wafv2::types::WebAcl;
use serde_json::{Value, json};

use super::{api_error, managed_for, zone, zone_evidence};
use crate::aws;
use crate::check::{CheckDef, CheckResult, Evidence, Finding, Grant, required};
use crate::context::Context;
use crate::probe::cloudflare::{FIREWALL_MANAGED_PHASE, Ruleset};
use crate::spec::{CloudflareSpec, CustomHostnameWaf, Environment};

fn aws_waf_declared(env: &Environment) -> bool {
    matches!(
        env.edge
            .as_ref()
            .and_then(|e| e.cloudflare.as_ref())
            .and_then(|c| c.custom_hostname_waf.as_ref()),
        Some(CustomHostnameWaf::AwsWafOnAlb { .. })
    )
}

pub(super) const CUSTOM_HOSTNAME_WAF: CheckDef = CheckDef {
    id: "cloudflare.custom_hostname_waf",
    title: "the custom hostnames are behind the WAF the spec decided on",
    doc: "per `custom_hostname_waf`: `waf_for_saas` — an enabled managed-ruleset `execute` rule of the zone's `http_request_firewall_managed` entrypoint, not disabled or set to log, matches every custom hostname and no earlier `skip` rule skips it for them (an expression it cannot evaluate is `error`); `aws_waf_on_alb` — the load balancer's web ACL (`GetWebACLForResource`) runs each named AWS managed rule group, none with `OverrideAction` Count; `accepted_gap` — `fail`, accepted only by a waiver",
    iam: &[
        Grant::any(
            "elasticloadbalancing:DescribeLoadBalancers",
            aws_waf_declared,
        ),
        Grant::on(
            "WafReadLoadBalancerWebAcl",
            "wafv2:GetWebACLForResource",
            |env, a| {
                if !aws_waf_declared(env) {
                    return Vec::new();
                }
                env.edge
                    .iter()
                    .flat_map(|e| {
                        [
                            a.arn(
                                "elasticloadbalancing",
                                &format!("loadbalancer/app/{}/*", e.load_balancer),
                            ),
                            a.arn("wafv2", "regional/webacl/*/*"),
                        ]
                    })
                    .collect()
            },
        ),
    ],
};

/// What the decision names, for the messages.
const CHOICES: &str =
    "custom_hostname_waf = \"waf_for_saas\" | \"aws_waf_on_alb\" | \"accepted_gap\"";

pub(super) async fn run(cx: &Context) -> CheckResult {
    let Some(spec) = super::spec(cx) else {
        return Ok(Finding::skip(super::NONE_DECLARED));
    };
    if spec.custom_hostnames.is_empty() {
        return Ok(Finding::skip("no custom hostnames declared"));
    }
    let resource = format!("zone '{}'", spec.zone);
    match &spec.custom_hostname_waf {
        None => Ok(Finding::fail(
            format!(
                "{resource}: a decision on WAF coverage for the custom hostnames expected \
                 ({CHOICES}), observed none"
            ),
            Evidence::of(&resource)
                .resources(&spec.custom_hostnames)
                .expected(json!({ "custom_hostname_waf": ["waf_for_saas", "aws_waf_on_alb", "accepted_gap"] }))
                .observed(json!({ "custom_hostname_waf": null })),
        )),
        Some(CustomHostnameWaf::AcceptedGap) => Ok(accepted_gap(spec)),
        Some(CustomHostnameWaf::WafForSaas) => waf_for_saas(cx, spec).await,
        Some(CustomHostnameWaf::AwsWafOnAlb { rule_groups }) => {
            aws_waf_on_alb(cx, rule_groups).await
        }
    }
}

/// `accepted_gap`: always `fail`; a waiver (justification, expiry) is what accepts it.
fn accepted_gap(spec: &CloudflareSpec) -> Finding {
    Finding::fail(
        format!(
            "zone '{}': custom hostnames {} have no WAF in front of them (custom_hostname_waf = \
             \"accepted_gap\"); a WAF expected, observed the gap declared: it is accepted only by \
             a waiver of cloudflare.custom_hostname_waf (justification, expiry)",
            spec.zone,
            spec.custom_hostnames.join(", ")
        ),
        Evidence::of(format!("zone '{}'", spec.zone))
            .resources(&spec.custom_hostnames)
            .expected(json!({ "waf": "waf_for_saas or aws_waf_on_alb, or a waiver" }))
            .observed(json!({ "custom_hostname_waf": "accepted_gap" })),
    )
}

async fn waf_for_saas(cx: &Context, spec: &CloudflareSpec) -> CheckResult {
    let (client, zone) = zone(cx, spec).await?;
    let managed = managed_for(spec, &zone)?;
    let entrypoint = client
        .firewall_managed_entrypoint(&zone.id)
        .await
        .map_err(api_error)?;
    let evidence = zone_evidence(spec, &zone.id)
        .resources(&spec.custom_hostnames)
        .expected(json!({
            "custom_hostname_waf": "waf_for_saas",
            "entrypoint_phase": FIREWALL_MANAGED_PHASE,
            "executes": managed,
            "covers": spec.custom_hostnames,
            "skipped_for": [],
        }));
    let Some(ruleset) = entrypoint else {
        return Ok(Finding::fail(
            format!(
                "zone '{}': custom hostnames covered by the managed ruleset expected, observed no \
                 {FIREWALL_MANAGED_PHASE} entrypoint",
                spec.zone
            ),
            evidence.observed(json!({ "entrypoint_ruleset": null, "hosts": [] })),
        ));
    };
    let judged = judge_hosts(&ruleset, managed, &spec.custom_hostnames);
    let evidence = evidence.observed(json!({
        "entrypoint_ruleset": ruleset.id,
        "hosts": judged.iter().map(|(h, j)| j.json(h)).collect::<Vec<_>>(),
    }));
    let unknown: Vec<String> = judged
        .iter()
        .filter_map(|(h, j)| match j {
            HostJudged::Unknown(why) => Some(format!("{h}: {why}")),
            _ => None,
        })
        .collect();
    let failed: Vec<String> = judged
        .iter()
        .filter_map(|(h, j)| match j {
            HostJudged::NotCovered(why) => Some(format!("{h}: {}", why.join("; "))),
            _ => None,
        })
        .collect();
    let zone_name = &spec.zone;
    Ok(if !failed.is_empty() {
        Finding::fail(
            format!(
                "zone '{zone_name}': each custom hostname covered by an enabled rule executing \
                 the managed ruleset ({managed}), not skipped, expected; observed {}",
                failed.join("; ")
            ),
            evidence,
        )
    } else if !unknown.is_empty() {
        Finding::error(
            format!(
                "zone '{zone_name}': cannot tell whether the managed ruleset covers the custom \
                 hostnames: {}",
                unknown.join("; ")
            ),
            evidence,
        )
    } else {
        let covered: Vec<String> = judged
            .iter()
            .map(|(h, j)| match j {
                HostJudged::Covered(rule) => format!("{h} by {rule}"),
                _ => h.clone(),
            })
            .collect();
        Finding::pass(
            format!(
                "zone '{zone_name}': managed ruleset ({managed}) covers {}",
                covered.join(", ")
            ),
            evidence,
        )
    })
}

/// How the managed ruleset stands for one hostname.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum HostJudged {
    /// Executed for every request to it, by this rule.
    Covered(String),
    /// Not (every reason: a skip, a disabled or neutralised rule, no match).
    NotCovered(Vec<String>),
    /// A rule's expression could not be evaluated for it.
    Unknown(String),
}

impl HostJudged {
    fn json(&self, host: &str) -> Value {
        match self {
            HostJudged::Covered(rule) => json!({ "hostname": host, "covered_by": rule }),
            HostJudged::NotCovered(why) => {
                json!({ "hostname": host, "covered_by": null, "problems": why })
            }
            HostJudged::Unknown(why) => {
                json!({ "hostname": host, "covered_by": null, "unknown": why })
            }
        }
    }
}

/// For each host, walking the entrypoint's rules in order: an enabled
/// `skip` of the managed ruleset whose expression may match the host ends
/// it (`NotCovered` when it surely matches every or some request to it;
/// `Unknown` when that cannot be told); an enabled, un-neutralised rule
/// executing `managed` whose expression matches every request to it covers
/// it; one that matches none is passed over; one whose expression cannot be
/// evaluated for it is `Unknown`.
pub(super) fn judge_hosts(
    ruleset: &Ruleset,
    managed: &str,
    hosts: &[String],
) -> Vec<(String, HostJudged)> {
    hosts
        .iter()
        .map(|host| (host.clone(), judge_host(ruleset, managed, host)))
        .collect()
}

fn judge_host(ruleset: &Ruleset, managed: &str, host: &str) -> HostJudged {
    use super::expression::matches_host;
    let mut problems = Vec::new();
    for rule in &ruleset.rules {
        let expression = rule.expression.as_deref().unwrap_or_default();
        if let Some(how) = rule.skips(managed, FIREWALL_MANAGED_PHASE) {
            match matches_host(expression, host) {
                Some(false) => continue,
                Some(true) => {
                    problems.push(format!(
                        "skipped by {} ({how}) when `{expression}`",
                        rule.label()
                    ));
                    return HostJudged::NotCovered(problems);
                }
                None => {
                    return HostJudged::Unknown(format!(
                        "{} ({how}) has an expression not evaluated here: `{expression}`",
                        rule.label()
                    ));
                }
            }
        }
        if rule.executes() != Some(managed) {
            continue;
        }
        if !rule.enabled {
            problems.push(format!("{} is disabled", rule.label()));
            continue;
        }
        if let Some(how) = rule.neutralising_override() {
            problems.push(format!("{} has {how}", rule.label()));
            continue;
        }
        match matches_host(expression, host) {
            Some(true) => return HostJudged::Covered(rule.label()),
            Some(false) => problems.push(format!(
                "{} does not match it (`{expression}`)",
                rule.label()
            )),
            None => {
                return HostJudged::Unknown(format!(
                    "{} executes it when `{expression}`, an expression not evaluated here",
                    rule.label()
                ));
            }
        }
    }
    if problems.is_empty() {
        problems.push(format!(
            "{} rule(s), none enabled and executing it",
            ruleset.rules.len()
        ));
    }
    HostJudged::NotCovered(problems)
}

async fn aws_waf_on_alb(cx: &Context, groups: &[String]) -> CheckResult {
    let Some(edge) = cx.env().edge.as_ref() else {
        return Ok(Finding::skip(super::NONE_DECLARED));
    };
    let name = &edge.load_balancer;
    let resource = format!("load balancer '{name}'");
    let lb = aws::elb::load_balancer(cx.aws(), name).await?;
    let arn = required(
        lb.load_balancer_arn(),
        aws::elb::DESCRIBE_LOAD_BALANCERS,
        &resource,
        "LoadBalancerArn",
    )?;
    let acl = aws::wafv2::web_acl_for(cx.aws(), arn, &resource).await?;
    judge_alb_waf(name, groups, acl.as_ref().as_ref())
}

/// `aws_waf_on_alb` on what `GetWebACLForResource` answered for the load
/// balancer `lb`: a web ACL, with a rule running each of `groups` as an
/// AWS managed rule group, its `OverrideAction` not Count and no
/// scope-down statement (which would leave some requests uninspected: not
/// judged here, so `error`). An `OverrideAction` left out is `error`.
pub(super) fn judge_alb_waf(lb: &str, groups: &[String], acl: Option<&WebAcl>) -> CheckResult {
    let resource = format!("load balancer '{lb}'");
    let evidence = Evidence::of(&resource).expected(json!({
        "custom_hostname_waf": "aws_waf_on_alb",
        "web_acl": "associated",
        "managed_rule_groups": groups,
        "override_action": "None (not Count)",
    }));
    let Some(acl) = acl else {
        return Ok(Finding::fail(
            format!("{resource}: a web ACL expected, observed none associated"),
            evidence.observed(json!({ "web_acl": null })),
        ));
    };
    let acl_name = acl.name();
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    let mut counted_rules = Vec::new();
    for group in groups {
        let found = acl.rules().iter().find_map(|rule| {
            let statement = rule.statement()?.managed_rule_group_statement()?;
            (statement.vendor_name() == "AWS" && statement.name() == group)
                .then_some((rule, statement))
        });
        let Some((rule, statement)) = found else {
            problems.push(format!("{group} expected, observed absent"));
            seen.push(json!({ "group": group, "present": false }));
            continue;
        };
        let operation = aws::wafv2::GET_WEB_ACL_FOR_RESOURCE;
        let action = required(
            rule.override_action(),
            operation,
            &format!("web ACL '{acl_name}' rule '{}'", rule.name()),
            "OverrideAction",
        )?;
        let counts = action.count().is_some();
        if counts {
            problems.push(format!(
                "{group} OverrideAction expected None, observed Count (rule '{}' only counts)",
                rule.name()
            ));
        } else if action.none().is_none() {
            unknown.push(format!(
                "{group}: rule '{}' has an OverrideAction that is neither None nor Count",
                rule.name()
            ));
        }
        if statement.scope_down_statement().is_some() {
            unknown.push(format!(
                "{group}: rule '{}' has a scope-down statement (which requests it inspects is \
                 not judged here)",
                rule.name()
            ));
        }
        // Rule-level overrides: listed, not judged.
        let overrides: Vec<Value> = statement
            .rule_action_overrides()
            .iter()
            .map(|o| {
                let to = o.action_to_use().map_or("unknown", |a| {
                    if a.count().is_some() {
                        "Count"
                    } else if a.block().is_some() {
                        "Block"
                    } else if a.allow().is_some() {
                        "Allow"
                    } else if a.captcha().is_some() {
                        "Captcha"
                    } else if a.challenge().is_some() {
                        "Challenge"
                    } else {
                        "unknown"
                    }
                });
                if to == "Count" {
                    counted_rules.push(format!("{group}/{}", o.name()));
                }
                json!({ "rule": o.name(), "action": to })
            })
            .collect();
        for excluded in statement.excluded_rules() {
            counted_rules.push(format!("{group}/{} (excluded)", excluded.name()));
        }
        seen.push(json!({
            "group": group,
            "present": true,
            "rule": rule.name(),
            "priority": rule.priority(),
            "override_action": if counts { "Count" } else if action.none().is_some() { "None" } else { "other" },
            "rule_action_overrides": overrides,
            "excluded_rules": statement.excluded_rules().iter().map(|e| e.name()).collect::<Vec<_>>(),
            "scope_down": statement.scope_down_statement().is_some(),
        }));
    }
    let evidence = evidence.detail("web_acl_arn", acl.arn()).observed(json!({
        "web_acl": acl_name,
        "managed_rule_groups": seen,
        "rules_counted_only": counted_rules,
    }));
    if !problems.is_empty() {
        return Ok(Finding::fail(
            format!("{resource}: web ACL '{acl_name}': {}", problems.join("; ")),
            evidence,
        ));
    }
    if !unknown.is_empty() {
        return Ok(Finding::error(
            format!("{resource}: web ACL '{acl_name}': {}", unknown.join("; ")),
            evidence,
        ));
    }
    let counted = if counted_rules.is_empty() {
        String::new()
    } else {
        format!(
            " ({} rule(s) overridden to Count: {})",
            counted_rules.len(),
            counted_rules.join(", ")
        )
    };
    Ok(Finding::pass(
        format!(
            "{resource}: web ACL '{acl_name}' runs {}, blocking{counted}",
            groups.join(", ")
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests;
