//! `budgets.*`: the declared monthly cost budget exists with its limit, and
//! alerts at exactly each declared percentage of actual spend, each to at
//! least one subscriber.

use aws_sdk_budgets::types::{
    Budget, ComparisonOperator, Notification, NotificationType, SubscriptionType, ThresholdType,
};
use serde_json::json;

use crate::aws;
use crate::check::{
    Check, CheckDef, CheckError, CheckResult, Evidence, Fields, Finding, Grant, combine,
};
use crate::context::Context;
use crate::spec::BudgetSpec;

const NONE_DECLARED: &str = "no budget declared for this environment";

// --- what: the checks, declared ----------------------------------------------

/// `DescribeBudget`, `DescribeNotificationsForBudget` and
/// `DescribeSubscribersForNotification` are all authorised by `budgets:ViewBudget`.
const VIEW_BUDGET: Grant = Grant::on(
    "BudgetsViewDeclaredBudgets",
    "budgets:ViewBudget",
    |env, a| env.budgets.iter().map(|b| a.budget(&b.name)).collect(),
);

const MONTHLY: CheckDef = CheckDef {
    id: "budgets.monthly",
    title: "the monthly cost budget exists with the declared limit",
    doc: "a COST budget, MONTHLY, with the declared limit",
    iam: &[VIEW_BUDGET],
};

const THRESHOLDS: CheckDef = CheckDef {
    id: "budgets.thresholds",
    title: "budget alerts at the declared thresholds, each subscribed",
    doc: "ACTUAL, GREATER_THAN, PERCENTAGE (or no type: thresholds are percentages) notifications at exactly each declared threshold (default 50, 80, 100), each with ≥ 1 subscriber that can be notified (an SNS topic counts only if its policy lets `budgets.amazonaws.com` publish)",
    iam: &[
        VIEW_BUDGET,
        Grant::on(
            "SnsReadBudgetSubscriberTopics",
            "sns:GetTopicAttributes",
            // The topics are the live subscribers', not the spec's: the account's topics.
            |env, a| {
                env.budgets
                    .first()
                    .map(|_| a.arn("sns", "*"))
                    .into_iter()
                    .collect()
            },
        )
        .only_when("a budget notification has an SNS subscriber"),
    ],
};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(&MONTHLY, |g| Box::pin(monthly(g))),
        Check::new(&THRESHOLDS, |g| Box::pin(thresholds(g))),
    ]
}

/// `budgets.monthly`: a COST budget, MONTHLY, with the declared limit in USD.
async fn monthly(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for spec in &cx.env().budgets {
        let result = aws::budgets::budget(cx.aws(), &cx.env().account_id, &spec.name)
            .await
            .map(|b| judge_monthly(spec, &b));
        items.push((spec.name.clone(), result));
    }
    combine(items, NONE_DECLARED)
}

fn judge_monthly(spec: &BudgetSpec, budget: &Budget) -> Finding {
    let name = &spec.name;
    let kind = budget.budget_type().as_str();
    let unit = budget.time_unit().as_str();
    let limit = budget.budget_limit();
    let amount = limit.map(|l| l.amount()).unwrap_or("none");
    let currency = limit.map(|l| l.unit()).unwrap_or("none");
    let evidence = Evidence::of(format!("budget '{name}'"))
        .expected(json!({
            "BudgetType": "COST",
            "TimeUnit": "MONTHLY",
            "BudgetLimit": { "Amount": spec.limit_usd, "Unit": "USD" },
        }))
        .observed(json!({
            "BudgetType": kind,
            "TimeUnit": unit,
            "BudgetLimit": { "Amount": amount, "Unit": currency },
        }));
    // The message says "limit" in dollars, as the sandbox tests assert; the
    // evidence keeps BudgetLimit as Budgets reports it (they read
    // `/observed/<budget>/BudgetLimit/Amount`).
    let mut f = Fields::of(format!("budget '{name}'"));
    f.expect("BudgetType", "COST", kind);
    f.expect("TimeUnit", "MONTHLY", unit);
    let amount_matches = amount
        .parse::<f64>()
        .is_ok_and(|a| (a - spec.limit_usd).abs() < 0.005);
    f.judge(
        "limit",
        format!("{} USD", spec.limit_usd),
        format!("{amount} {currency}"),
        amount_matches && currency == "USD",
    );
    Finding {
        evidence,
        ..f.finish(format!("budget '{name}': COST, MONTHLY, {amount} USD"))
    }
}

/// `budgets.thresholds`: ACTUAL / GREATER_THAN / PERCENTAGE notifications at
/// exactly each declared threshold, each with ≥ 1 subscriber.
async fn thresholds(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for spec in &cx.env().budgets {
        items.push((spec.name.clone(), judge_thresholds(cx, spec).await));
    }
    combine(items, NONE_DECLARED)
}

async fn judge_thresholds(cx: &Context, spec: &BudgetSpec) -> CheckResult {
    let name = &spec.name;
    let account = &cx.env().account_id;
    let notifications = aws::budgets::notifications(cx.aws(), account, name).await?;
    let observed: Vec<String> = notifications.iter().map(describe_notification).collect();
    // One problem per declared threshold, in words; the evidence lists the
    // notifications (sandbox tests read `/expected/<budget>/thresholds`).
    let mut f = Fields::of(format!("budget '{name}'"));
    let mut matched = Vec::new();
    for &threshold in &spec.thresholds {
        let Some(n) = notifications.iter().find(|n| alerts_at(n, threshold)) else {
            f.problem(format!(
                "ACTUAL > {threshold}% notification expected, observed [{}]",
                observed.join(", ")
            ));
            continue;
        };
        let subscribers =
            aws::budgets::subscribers(cx.aws(), account, name, n, &describe_notification(n))
                .await?;
        let mut unreachable = Vec::new();
        for subscriber in subscribers.iter() {
            if *subscriber.subscription_type() == SubscriptionType::Sns {
                let topic = subscriber.address();
                let policy = aws::sns::topic_policy(cx.aws(), topic).await?;
                let may = budgets_may_publish(&policy, topic, account).map_err(|why| {
                    CheckError::Aws {
                        operation: aws::sns::GET_TOPIC_ATTRIBUTES.into(),
                        resource: format!("topic {topic}"),
                        code: None,
                        message: format!("its policy could not be read: {why}"),
                    }
                })?;
                if !may {
                    unreachable.push(format!(
                        "SNS topic {topic}: its policy does not let budgets.amazonaws.com publish"
                    ));
                }
            }
        }
        if subscribers.is_empty() {
            f.problem(format!(
                "ACTUAL > {threshold}% notification expected ≥ 1 subscriber, observed 0"
            ));
        } else if unreachable.len() == subscribers.len() {
            f.problem(format!(
                "ACTUAL > {threshold}% notification expected ≥ 1 subscriber that can be notified, observed 0 of {} ({})",
                subscribers.len(),
                unreachable.join("; ")
            ));
        }
        let addresses: Vec<&str> = subscribers.iter().map(|s| s.address()).collect();
        matched.push(json!({
            "threshold": threshold,
            "subscribers": addresses,
            "cannot_be_notified": unreachable,
        }));
    }
    let evidence = Evidence::of(format!("budget '{name}'"))
        .expected(json!({
            "notifications": spec.thresholds.iter().map(|t| format!("ACTUAL GREATER_THAN {t}%")).collect::<Vec<_>>(),
            "thresholds": spec.thresholds,
            "min_subscribers": 1,
        }))
        .observed(json!({ "notifications": observed, "matched": matched }));
    let list: Vec<String> = spec.thresholds.iter().map(|t| format!("{t}%")).collect();
    Ok(Finding {
        evidence,
        ..f.finish(format!(
            "budget '{name}': alerts at {} of actual spend, each subscribed",
            list.join("/")
        ))
    })
}

/// An ACTUAL > `threshold` % notification. `ThresholdType` is optional
/// (CloudFormation and CDK leave it out): absent, the threshold is a
/// percentage; ABSOLUTE_VALUE is not.
fn alerts_at(n: &Notification, threshold: f64) -> bool {
    *n.notification_type() == NotificationType::Actual
        && *n.comparison_operator() == ComparisonOperator::GreaterThan
        && n.threshold_type()
            .is_none_or(|t| *t == ThresholdType::Percentage)
        && (n.threshold() - threshold).abs() < 1e-9
}

/// Whether the topic policy `policy` lets AWS Budgets publish to `topic`
/// (Budgets' notifications to a topic without it fail silently). An Allow
/// counts when its principal names `budgets.amazonaws.com` (or is `*`;
/// SNS's default `{"AWS": "*"}` owner-only policy is not enough), its
/// action covers `sns:Publish` and its resource covers the topic; a
/// condition counts only when it is one Budgets meets (`aws:SourceAccount`
/// or `aws:SourceOwner` = the account, `aws:SourceArn` = a budget of the
/// account): any other, unknown here, is not an allow. A Deny that could
/// apply (conditions not evaluated) wins. `Err`: not a policy.
fn budgets_may_publish(policy: &str, topic: &str, account: &str) -> Result<bool, String> {
    use serde_json::Value;
    let policy: Value = serde_json::from_str(policy).map_err(|e| e.to_string())?;
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => return Err("no Statement".into()),
    };
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let budgets_principal = |p: &Value| match p {
        Value::String(s) => s == "*",
        // `{"AWS": "*"}` (SNS's default policy, with an owner condition) is
        // not enough: Budgets needs its service principal named.
        Value::Object(_) => list(&p["Service"])
            .iter()
            .any(|s| s == "budgets.amazonaws.com"),
        _ => false,
    };
    let publish = |actions: Vec<String>| {
        actions.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == "*" || a == "sns:*" || a == "sns:publish"
        })
    };
    let covers_topic = |resources: Vec<String>| resources.iter().any(|r| glob(r, topic));
    let budget_arns = format!("arn:aws:budgets::{account}:");
    let met_by_budgets = |condition: &Value| -> bool {
        let Some(operators) = condition.as_object() else {
            return condition.is_null();
        };
        operators.iter().all(|(operator, keys)| {
            keys.as_object().is_some_and(|keys| {
                keys.iter().all(|(key, values)| {
                    let values = list(values);
                    match (operator.as_str(), key.to_ascii_lowercase().as_str()) {
                        ("StringEquals", "aws:sourceaccount" | "aws:sourceowner") => {
                            values.iter().any(|v| v == account)
                        }
                        ("ArnLike" | "ArnEquals" | "StringLike", "aws:sourcearn") => values
                            .iter()
                            .any(|v| v.starts_with(&budget_arns) || v == "*"),
                        _ => false,
                    }
                })
            })
        })
    };
    let mut allowed = false;
    for st in statements {
        let effect = st["Effect"].as_str().unwrap_or("");
        let principal = if st.get("NotPrincipal").is_some() {
            // Everyone but those named: Budgets unless it is named.
            !budgets_principal(&st["NotPrincipal"])
        } else {
            budgets_principal(&st["Principal"])
        };
        let action = if st.get("NotAction").is_some() {
            !publish(list(&st["NotAction"]))
        } else {
            publish(list(&st["Action"]))
        };
        let resource = if st.get("NotResource").is_some() {
            !covers_topic(list(&st["NotResource"]))
        } else {
            covers_topic(list(&st["Resource"]))
        };
        if !(principal && action && resource) {
            continue;
        }
        match effect {
            "Deny" => return Ok(false),
            "Allow" if st.get("NotPrincipal").is_none() && st.get("NotAction").is_none() => {
                allowed |= met_by_budgets(st.get("Condition").unwrap_or(&Value::Null));
            }
            _ => {}
        }
    }
    Ok(allowed)
}

/// IAM's wildcard match (`*` any run, `?` one character), case-sensitive as
/// ARNs are. Not globset: it gives `[` and `{` meaning, which IAM's
/// resource patterns do not have.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn describe_notification(n: &Notification) -> String {
    format!(
        "{} {} {}{}",
        n.notification_type().as_str(),
        n.comparison_operator().as_str(),
        n.threshold(),
        if n.threshold_type() == Some(&ThresholdType::AbsoluteValue) {
            " USD"
        } else {
            "%"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_budgets::types::{BudgetType, Spend, TimeUnit};

    fn spec() -> BudgetSpec {
        BudgetSpec {
            label: "monthly".into(),
            name: "monthly".into(),
            limit_usd: 3000.0,
            thresholds: vec![50.0, 80.0, 100.0],
        }
    }

    fn budget(kind: BudgetType, unit: TimeUnit, amount: &str, currency: &str) -> Budget {
        Budget::builder()
            .budget_name("monthly")
            .budget_type(kind)
            .time_unit(unit)
            .budget_limit(
                Spend::builder()
                    .amount(amount)
                    .unit(currency)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn the_monthly_budget_is_judged_on_type_unit_limit_and_currency() {
        use BudgetType::{Cost, Usage};
        use TimeUnit::{Monthly, Quarterly};
        for (case, b, expected) in [
            ("as declared", budget(Cost, Monthly, "3000", "USD"), "pass"),
            (
                "as declared, decimals",
                budget(Cost, Monthly, "3000.0", "USD"),
                "pass",
            ),
            (
                "usage",
                budget(Usage, Monthly, "3000", "USD"),
                "BudgetType expected COST, observed USAGE",
            ),
            (
                "quarterly",
                budget(Cost, Quarterly, "3000", "USD"),
                "TimeUnit expected MONTHLY, observed QUARTERLY",
            ),
            (
                "another limit",
                budget(Cost, Monthly, "5000", "USD"),
                "limit expected 3000 USD, observed 5000 USD",
            ),
            (
                "another currency",
                budget(Cost, Monthly, "3000", "EUR"),
                "limit expected 3000 USD, observed 3000 EUR",
            ),
            (
                "a garbled amount",
                budget(Cost, Monthly, "lots", "USD"),
                "observed lots USD",
            ),
        ] {
            let f = judge_monthly(&spec(), &b);
            if expected == "pass" {
                assert_eq!(f.status, crate::Status::Pass, "{case}: {}", f.message);
            } else {
                assert_eq!(f.status, crate::Status::Fail, "{case}");
                assert!(f.message.contains(expected), "{case}: {}", f.message);
            }
        }
        // No limit at all: a fail naming it, never a pass.
        let unlimited = Budget::builder()
            .budget_name("monthly")
            .budget_type(BudgetType::Cost)
            .time_unit(TimeUnit::Monthly)
            .build()
            .unwrap();
        let f = judge_monthly(&spec(), &unlimited);
        assert!(f.message.contains("observed none none"), "{}", f.message);
    }

    fn notification(
        kind: NotificationType,
        threshold_type: Option<ThresholdType>,
        t: f64,
    ) -> Notification {
        Notification::builder()
            .notification_type(kind)
            .comparison_operator(ComparisonOperator::GreaterThan)
            .set_threshold_type(threshold_type)
            .threshold(t)
            .build()
            .unwrap()
    }

    #[test]
    fn a_notification_alerts_at_a_percentage_of_actual_spend() {
        use NotificationType::{Actual, Forecasted};
        use ThresholdType::{AbsoluteValue, Percentage};
        assert!(alerts_at(
            &notification(Actual, Some(Percentage), 80.0),
            80.0
        ));
        // CloudFormation and CDK leave ThresholdType out: a percentage.
        assert!(alerts_at(&notification(Actual, None, 80.0), 80.0));
        assert!(!alerts_at(
            &notification(Actual, Some(AbsoluteValue), 80.0),
            80.0
        ));
        assert!(!alerts_at(
            &notification(Forecasted, Some(Percentage), 80.0),
            80.0
        ));
        assert!(!alerts_at(
            &notification(Actual, Some(Percentage), 90.0),
            80.0
        ));
    }

    const TOPIC: &str = "arn:aws:sns:eu-central-1:123456789012:budget-alerts";
    const ACCOUNT: &str = "123456789012";

    fn policy(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    #[test]
    fn only_a_topic_policy_letting_budgets_publish_counts() {
        let allow = |principal: &str, action: &str, resource: &str, condition: &str| {
            format!(
                r#"{{"Effect":"Allow","Principal":{principal},"Action":{action},"Resource":{resource}{condition}}}"#
            )
        };
        let budgets = r#"{"Service":"budgets.amazonaws.com"}"#;
        let cases: Vec<(&str, String, Result<bool, ()>)> = vec![
            (
                "the documented policy",
                policy(&allow(
                    budgets,
                    r#""SNS:Publish""#,
                    &format!("\"{TOPIC}\""),
                    "",
                )),
                Ok(true),
            ),
            (
                "services as a list",
                policy(&allow(
                    r#"{"Service":["events.amazonaws.com","budgets.amazonaws.com"]}"#,
                    r#"["sns:Publish"]"#,
                    &format!("\"{TOPIC}\""),
                    "",
                )),
                Ok(true),
            ),
            (
                "a wildcard resource",
                policy(&allow(
                    budgets,
                    r#""sns:*""#,
                    r#""arn:aws:sns:eu-central-1:123456789012:budget-*""#,
                    "",
                )),
                Ok(true),
            ),
            (
                "with the recommended condition",
                policy(&allow(
                    budgets,
                    r#""SNS:Publish""#,
                    &format!("\"{TOPIC}\""),
                    r#","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}"#,
                )),
                Ok(true),
            ),
            (
                "a condition on another account",
                policy(&allow(
                    budgets,
                    r#""SNS:Publish""#,
                    &format!("\"{TOPIC}\""),
                    r#","Condition":{"StringEquals":{"aws:SourceAccount":"999999999999"}}"#,
                )),
                Ok(false),
            ),
            (
                "a condition it cannot judge",
                policy(&allow(
                    budgets,
                    r#""SNS:Publish""#,
                    &format!("\"{TOPIC}\""),
                    r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
                )),
                Ok(false),
            ),
            (
                "SNS's default owner-only policy",
                policy(&allow(
                    r#"{"AWS":"*"}"#,
                    r#"["SNS:Publish"]"#,
                    &format!("\"{TOPIC}\""),
                    r#","Condition":{"StringEquals":{"AWS:SourceOwner":"123456789012"}}"#,
                )),
                Ok(false),
            ),
            (
                "another service",
                policy(&allow(
                    r#"{"Service":"events.amazonaws.com"}"#,
                    r#""sns:Publish""#,
                    &format!("\"{TOPIC}\""),
                    "",
                )),
                Ok(false),
            ),
            (
                "another action",
                policy(&allow(
                    budgets,
                    r#""sns:Subscribe""#,
                    &format!("\"{TOPIC}\""),
                    "",
                )),
                Ok(false),
            ),
            (
                "another topic",
                policy(&allow(
                    budgets,
                    r#""sns:Publish""#,
                    r#""arn:aws:sns:eu-central-1:123456789012:other""#,
                    "",
                )),
                Ok(false),
            ),
            (
                "allowed, then denied to everyone",
                policy(&format!(
                    "{},{}",
                    allow(budgets, r#""sns:Publish""#, &format!("\"{TOPIC}\""), ""),
                    r#"{"Effect":"Deny","Principal":"*","Action":"sns:Publish","Resource":"*"}"#
                )),
                Ok(false),
            ),
            (
                "a single statement object",
                format!(
                    r#"{{"Statement":{}}}"#,
                    allow(budgets, r#""sns:Publish""#, r#""*""#, "")
                ),
                Ok(true),
            ),
            ("not a policy", "{".to_string(), Err(())),
            ("no statement", "{}".to_string(), Err(())),
        ];
        for (case, policy, expected) in cases {
            let got = budgets_may_publish(&policy, TOPIC, ACCOUNT).map_err(|_| ());
            assert_eq!(got, expected, "{case}: {policy}");
        }
    }

    #[test]
    fn arn_wildcards() {
        assert!(glob("*", TOPIC));
        assert!(glob("arn:aws:sns:*:123456789012:budget-?lerts", TOPIC));
        assert!(!glob("arn:aws:sns:*:123456789012:budget", TOPIC));
        assert!(!glob(
            "arn:aws:sns:eu-central-1:123456789012:Budget-alerts",
            TOPIC
        ));
    }
}
