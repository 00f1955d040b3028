//! `budgets.*`: the declared monthly cost budget exists with its limit, and
//! alerts at exactly each declared percentage of actual spend, each to at
//! least one subscriber.

use aws_sdk_budgets::types::{
    Budget, BudgetType, ComparisonOperator, Notification, NotificationType, ThresholdType, TimeUnit,
};
use serde_json::json;

use crate::aws;
use crate::check::{Check, CheckDef, CheckResult, Evidence, Finding, Grant, combine};
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
    iam: &[VIEW_BUDGET],
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
    let mut problems = Vec::new();
    if *budget.budget_type() != BudgetType::Cost {
        problems.push(format!("BudgetType expected COST, observed {kind}"));
    }
    if *budget.time_unit() != TimeUnit::Monthly {
        problems.push(format!("TimeUnit expected MONTHLY, observed {unit}"));
    }
    let amount_matches = amount
        .parse::<f64>()
        .is_ok_and(|a| (a - spec.limit_usd).abs() < 0.005);
    if !amount_matches || currency != "USD" {
        problems.push(format!(
            "limit expected {} USD, observed {amount} {currency}",
            spec.limit_usd
        ));
    }
    if problems.is_empty() {
        Finding::pass(
            format!("budget '{name}': COST, MONTHLY, {amount} USD"),
            evidence,
        )
    } else {
        Finding::fail(
            format!("budget '{name}': {}", problems.join("; ")),
            evidence,
        )
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
    let notifications = aws::budgets::notifications(cx.aws(), &cx.env().account_id, name).await?;
    let observed: Vec<String> = notifications.iter().map(describe_notification).collect();
    let mut problems = Vec::new();
    let mut matched = Vec::new();
    for &threshold in &spec.thresholds {
        let found = notifications.iter().find(|n| {
            *n.notification_type() == NotificationType::Actual
                && *n.comparison_operator() == ComparisonOperator::GreaterThan
                && n.threshold_type() == Some(&ThresholdType::Percentage)
                && (n.threshold() - threshold).abs() < 1e-9
        });
        match found {
            None => problems.push(format!(
                "ACTUAL > {threshold}% notification expected, observed [{}]",
                observed.join(", ")
            )),
            Some(n) => {
                let subscribers = aws::budgets::subscribers(
                    cx.aws(),
                    &cx.env().account_id,
                    name,
                    n,
                    &describe_notification(n),
                )
                .await?;
                if subscribers.is_empty() {
                    problems.push(format!(
                        "ACTUAL > {threshold}% notification expected ≥ 1 subscriber, observed 0"
                    ));
                }
                let addresses: Vec<&str> = subscribers.iter().map(|s| s.address()).collect();
                matched.push(json!({ "threshold": threshold, "subscribers": addresses }));
            }
        }
    }
    let evidence = Evidence::of(format!("budget '{name}'"))
        .expected(json!({
            "notifications": spec.thresholds.iter().map(|t| format!("ACTUAL GREATER_THAN {t}%")).collect::<Vec<_>>(),
            "thresholds": spec.thresholds,
            "min_subscribers": 1,
        }))
        .observed(json!({ "notifications": observed, "matched": matched }));
    Ok(if problems.is_empty() {
        let list: Vec<String> = spec.thresholds.iter().map(|t| format!("{t}%")).collect();
        Finding::pass(
            format!(
                "budget '{name}': alerts at {} of actual spend, each subscribed",
                list.join("/")
            ),
            evidence,
        )
    } else {
        Finding::fail(
            format!("budget '{name}': {}", problems.join("; ")),
            evidence,
        )
    })
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
