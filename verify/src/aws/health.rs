//! AWS Health: the account's scheduled changes (`maintenance.health`), and
//! the resources one of them affects. Served from us-east-1 for the whole
//! account ([`super::FIXED_REGIONS`]); only to accounts with a Business,
//! Enterprise On-Ramp or Enterprise support plan.

use std::sync::Arc;

use aws_sdk_health::types::{
    AffectedEntity, EntityFilter, Event, EventFilter, EventStatusCode, EventTypeCategory,
};

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_EVENTS: &str = "health:DescribeEvents";
pub(crate) const DESCRIBE_AFFECTED_ENTITIES: &str = "health:DescribeAffectedEntities";

/// The error code AWS Health answers an account without the support plan
/// its API needs.
pub(crate) const SUBSCRIPTION_REQUIRED: &str = "SubscriptionRequiredException";

/// A bound on pages, so a runaway listing cannot hold the check forever.
const MAX_PAGES: usize = 200;

/// `err`, or when AWS Health refused the account for its support plan, an
/// error that says so (never a pass: nothing was read).
fn explained(err: CheckError) -> CheckError {
    match err {
        CheckError::Aws {
            operation,
            resource,
            code,
            message,
        } if code.as_deref() == Some(SUBSCRIPTION_REQUIRED) => CheckError::Aws {
            operation,
            resource,
            code,
            message: format!(
                "{message} — the AWS Health API needs a Business, Enterprise On-Ramp or \
                 Enterprise support plan, which this account does not have: its scheduled \
                 events (ECS task retirements among them) cannot be read. Read them in the \
                 AWS Health Dashboard and waive maintenance.health, or upgrade the support plan"
            ),
        },
        other => other,
    }
}

/// The account's scheduled changes that are upcoming or under way
/// (`eventTypeCategories = scheduledChange`, `eventStatusCodes = upcoming,
/// open`), every region, all pages, once per run.
pub(crate) async fn scheduled_changes(aws: &AwsClients) -> Result<Arc<Vec<Event>>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_EVENTS}:scheduledChange"), || async {
            let resource = "the account's AWS Health scheduled changes";
            let filter = EventFilter::builder()
                .event_type_categories(EventTypeCategory::ScheduledChange)
                .event_status_codes(EventStatusCode::Upcoming)
                .event_status_codes(EventStatusCode::Open)
                .build();
            let mut found = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let out = aws
                    .health
                    .describe_events()
                    .filter(filter.clone())
                    .max_results(100)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| explained(CheckError::from_sdk(DESCRIBE_EVENTS, resource, e)))?;
                found.extend(out.events.unwrap_or_default());
                token = out.next_token.filter(|t| !t.is_empty());
                if token.is_none() {
                    return Ok(found);
                }
            }
            Err(CheckError::Aws {
                operation: DESCRIBE_EVENTS.into(),
                resource: resource.into(),
                code: None,
                message: format!("still paging after {MAX_PAGES} pages"),
            })
        })
        .await
}

/// The resources the event `arn` affects (an ECS task, an EC2 instance,
/// an RDS instance), all pages.
pub(crate) async fn affected_entities(
    aws: &AwsClients,
    arn: &str,
) -> Result<Vec<AffectedEntity>, CheckError> {
    let resource = format!("AWS Health event {arn}");
    let filter = EntityFilter::builder()
        .event_arns(arn)
        .build()
        .map_err(|e| CheckError::Aws {
            operation: DESCRIBE_AFFECTED_ENTITIES.into(),
            resource: resource.clone(),
            code: None,
            message: e.to_string(),
        })?;
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = aws
            .health
            .describe_affected_entities()
            .filter(filter.clone())
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                explained(CheckError::from_sdk(
                    DESCRIBE_AFFECTED_ENTITIES,
                    &resource,
                    e,
                ))
            })?;
        found.extend(out.entities.unwrap_or_default());
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(found);
        }
    }
    Err(CheckError::Aws {
        operation: DESCRIBE_AFFECTED_ENTITIES.into(),
        resource,
        code: None,
        message: format!("still paging after {MAX_PAGES} pages"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_support_plan_is_an_error_that_says_so() {
        let refused = explained(CheckError::Aws {
            operation: DESCRIBE_EVENTS.into(),
            resource: "r".into(),
            code: Some(SUBSCRIPTION_REQUIRED.into()),
            message: "SubscriptionRequiredException: no".into(),
        });
        assert!(
            refused
                .to_string()
                .contains("Business, Enterprise On-Ramp or Enterprise support plan"),
            "{refused}"
        );
        let other = CheckError::Aws {
            operation: DESCRIBE_EVENTS.into(),
            resource: "r".into(),
            code: Some("AccessDeniedException".into()),
            message: "no".into(),
        };
        assert_eq!(explained(other.clone()), other);
    }
}
