//! AWS Budgets: a budget, its notifications and their subscribers, each
//! read once per run (`budgets.*`). All three are authorised by
//! `budgets:ViewBudget`.

use std::sync::Arc;

use aws_sdk_budgets::types::{Budget, Notification, Subscriber};

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_BUDGET: &str = "budgets:DescribeBudget";
pub(crate) const DESCRIBE_NOTIFICATIONS: &str = "budgets:DescribeNotificationsForBudget";
pub(crate) const DESCRIBE_SUBSCRIBERS: &str = "budgets:DescribeSubscribersForNotification";

pub(crate) async fn budget(
    aws: &AwsClients,
    account: &str,
    name: &str,
) -> Result<Arc<Budget>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_BUDGET}:{account}:{name}"), || async {
            let resource = format!("budget '{name}' in account {account}");
            let out = aws
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
    aws: &AwsClients,
    account: &str,
    name: &str,
) -> Result<Arc<Vec<Notification>>, CheckError> {
    aws.cache()
        .get(
            &format!("{DESCRIBE_NOTIFICATIONS}:{account}:{name}"),
            || async {
                let resource = format!("budget '{name}' in account {account}");
                let mut all = Vec::new();
                let mut token = None;
                loop {
                    let out = aws
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

pub(crate) async fn subscribers(
    aws: &AwsClients,
    account: &str,
    name: &str,
    n: &Notification,
    described: &str,
) -> Result<Arc<Vec<Subscriber>>, CheckError> {
    let key = format!("{DESCRIBE_SUBSCRIBERS}:{account}:{name}:{}", described);
    aws.cache()
        .get(&key, || async {
            let resource = format!("budget '{name}' notification {}", described);
            aws.budgets
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
