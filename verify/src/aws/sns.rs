//! SNS reads shared by several areas: `alarms.routed` and `ses.feedback`
//! both judge a topic's subscriptions. One paginated, per-run-cached
//! `ListSubscriptionsByTopic` per topic serves them all. `budgets.thresholds`
//! reads a subscriber topic's access policy.

use std::sync::Arc;

use aws_sdk_sns::types::Subscription;

use super::AwsClients;
use crate::CheckError;

pub(crate) const LIST_SUBSCRIPTIONS: &str = "sns:ListSubscriptionsByTopic";
pub(crate) const GET_TOPIC_ATTRIBUTES: &str = "sns:GetTopicAttributes";

/// The ARN of `topic` (a name in the environment's region and account, or
/// already an ARN).
pub(crate) fn topic_arn(env: &crate::Environment, topic: &str) -> String {
    if topic.starts_with("arn:") {
        topic.to_string()
    } else {
        format!("arn:aws:sns:{}:{}:{topic}", env.region, env.account_id)
    }
}

/// Every subscription of `topic_arn`, all pages (SNS pages at 100), read
/// once per run whichever checks ask.
pub(crate) async fn topic_subscriptions(
    aws: &AwsClients,
    topic_arn: &str,
) -> Result<Arc<Vec<Subscription>>, CheckError> {
    aws.cache()
        .get(&format!("{LIST_SUBSCRIPTIONS}:{topic_arn}"), || async {
            let resource = format!("topic {topic_arn}");
            let mut all = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = aws
                    .sns
                    .list_subscriptions_by_topic()
                    .topic_arn(topic_arn)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| CheckError::from_sdk(LIST_SUBSCRIPTIONS, &resource, e))?;
                all.extend(out.subscriptions.unwrap_or_default());
                let next = out.next_token.filter(|t| !t.is_empty());
                if next.is_some() && next == token {
                    return Err(CheckError::Aws {
                        operation: LIST_SUBSCRIPTIONS.into(),
                        resource,
                        code: None,
                        message: "the same NextToken was returned twice; listing stopped".into(),
                    });
                }
                match next {
                    Some(t) => token = Some(t),
                    None => return Ok(all),
                }
            }
        })
        .await
}

/// A subscription the endpoint has confirmed: SNS shows `PendingConfirmation`
/// (or `Deleted`) in place of the ARN until then.
pub(crate) fn confirmed(s: &Subscription) -> bool {
    s.subscription_arn()
        .is_some_and(|arn| arn.starts_with("arn:"))
}

/// The access policy (JSON) of the topic `topic_arn`, read once per run.
/// Every topic has one (SNS writes a default owner-only policy); a topic in
/// another region than the run's is not read: an error, never a guess.
pub(crate) async fn topic_policy(
    aws: &AwsClients,
    topic_arn: &str,
) -> Result<Arc<String>, CheckError> {
    let resource = format!("topic {topic_arn}");
    let region = topic_arn.split(':').nth(3).unwrap_or_default();
    let ours = aws.sns.config().region().map(|r| r.to_string());
    if ours.as_deref() != Some(region) {
        return Err(CheckError::Aws {
            operation: GET_TOPIC_ATTRIBUTES.into(),
            resource,
            code: None,
            message: format!(
                "the topic is in region {region:?}, the run reads {}: its policy is not read",
                ours.unwrap_or_default()
            ),
        });
    }
    // The same read as every other attribute of the topic: once per run.
    let attributes = topic_attributes(aws, topic_arn).await?;
    attributes
        .get("Policy")
        .map(|p| Arc::new(p.clone()))
        .ok_or(CheckError::Missing {
            operation: GET_TOPIC_ATTRIBUTES.into(),
            resource,
            field: "Policy".into(),
        })
}

/// Every attribute of the topic `topic_arn` (`KmsMasterKeyId` among them,
/// for `kms.rotation`), read once per run.
pub(crate) async fn topic_attributes(
    aws: &AwsClients,
    topic_arn: &str,
) -> Result<Arc<std::collections::HashMap<String, String>>, CheckError> {
    aws.cache()
        .get(&format!("{GET_TOPIC_ATTRIBUTES}:{topic_arn}"), || async {
            aws.sns
                .get_topic_attributes()
                .topic_arn(topic_arn)
                .send()
                .await
                .map(|out| out.attributes.unwrap_or_default())
                .map_err(|e| {
                    CheckError::from_sdk(GET_TOPIC_ATTRIBUTES, &format!("topic {topic_arn}"), e)
                })
        })
        .await
}
