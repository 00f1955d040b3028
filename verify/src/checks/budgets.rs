//! `budgets.*`: the declared monthly cost budget exists with its limit, and
//! alerts at exactly each declared percentage of actual spend, each to at
//! least one subscriber.

use std::sync::Arc;

use aws_sdk_budgets::types::{
    Budget, BudgetType, ComparisonOperator, Notification, NotificationType, Subscriber,
    ThresholdType, TimeUnit,
};
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Evidence, Finding, combine};
use crate::context::Context;
use crate::spec::BudgetSpec;

const DESCRIBE_BUDGET: &str = "budgets:DescribeBudget";
const DESCRIBE_NOTIFICATIONS: &str = "budgets:DescribeNotificationsForBudget";
const DESCRIBE_SUBSCRIBERS: &str = "budgets:DescribeSubscribersForNotification";
const NONE_DECLARED: &str = "no budget declared for this environment";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "budgets.monthly",
            "the monthly cost budget exists with the declared limit",
            |g| Box::pin(monthly(g)),
        ),
        Check::new(
            "budgets.thresholds",
            "budget alerts at the declared thresholds, each subscribed",
            |g| Box::pin(thresholds(g)),
        ),
    ]
}

/// `budgets.monthly`: a COST budget, MONTHLY, with the declared limit in USD.
async fn monthly(cx: &Context) -> CheckResult {
    let mut items = Vec::new();
    for spec in &cx.env().budgets {
        let result = budget(cx, &spec.name)
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
    let notifications = notifications(cx, name).await?;
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
                let subscribers = subscribers(cx, name, n).await?;
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

// --- how: shared reads -------------------------------------------------------

pub(crate) async fn budget(cx: &Context, name: &str) -> Result<Arc<Budget>, CheckError> {
    let account = &cx.env().account_id;
    cx.cache()
        .get(&format!("{DESCRIBE_BUDGET}:{account}:{name}"), || async {
            let resource = format!("budget '{name}' in account {account}");
            let out = cx
                .aws()
                .budgets
                .describe_budget()
                .account_id(account)
                .budget_name(name)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_BUDGET, &resource, e))?;
            out.budget.ok_or(CheckError::NotFound {
                operation: DESCRIBE_BUDGET.into(),
                resource,
            })
        })
        .await
}

pub(crate) async fn notifications(
    cx: &Context,
    name: &str,
) -> Result<Arc<Vec<Notification>>, CheckError> {
    let account = &cx.env().account_id;
    cx.cache()
        .get(
            &format!("{DESCRIBE_NOTIFICATIONS}:{account}:{name}"),
            || async {
                let resource = format!("budget '{name}' in account {account}");
                let mut all = Vec::new();
                let mut token = None;
                loop {
                    let out = cx
                        .aws()
                        .budgets
                        .describe_notifications_for_budget()
                        .account_id(account)
                        .budget_name(name)
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(|e| CheckError::from_sdk(DESCRIBE_NOTIFICATIONS, &resource, e))?;
                    all.extend(out.notifications.unwrap_or_default());
                    token = out.next_token.filter(|t| !t.is_empty());
                    if token.is_none() {
                        break;
                    }
                }
                Ok(all)
            },
        )
        .await
}

async fn subscribers(
    cx: &Context,
    name: &str,
    n: &Notification,
) -> Result<Arc<Vec<Subscriber>>, CheckError> {
    let account = &cx.env().account_id;
    let key = format!(
        "{DESCRIBE_SUBSCRIBERS}:{account}:{name}:{}",
        describe_notification(n)
    );
    cx.cache()
        .get(&key, || async {
            let resource = format!("budget '{name}' notification {}", describe_notification(n));
            cx.aws()
                .budgets
                .describe_subscribers_for_notification()
                .account_id(account)
                .budget_name(name)
                .notification(n.clone())
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_SUBSCRIBERS, &resource, e))
        })
        .await
}
