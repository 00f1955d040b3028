//! SESv2 identities and configuration sets, read once per run (`ses.*`,
//! `terraform.declared`).

use std::sync::Arc;

use aws_sdk_sesv2::operation::get_account::GetAccountOutput;
use aws_sdk_sesv2::operation::get_configuration_set::GetConfigurationSetOutput;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::EventDestination;

use super::AwsClients;
use crate::CheckError;

pub(crate) const GET_ACCOUNT: &str = "ses:GetAccount";
pub(crate) const GET_IDENTITY: &str = "ses:GetEmailIdentity";
pub(crate) const GET_CONFIGURATION_SET: &str = "ses:GetConfigurationSet";
pub(crate) const GET_DESTINATIONS: &str = "ses:GetConfigurationSetEventDestinations";

pub(crate) async fn email_identity(
    aws: &AwsClients,
    identity: &str,
) -> Result<Arc<GetEmailIdentityOutput>, CheckError> {
    aws.cache()
        .get(&format!("{GET_IDENTITY}:{identity}"), || async {
            aws.ses
                .get_email_identity()
                .email_identity(identity)
                .send()
                .await
                .map_err(|e| {
                    CheckError::from_sdk(GET_IDENTITY, &format!("SES identity '{identity}'"), e)
                })
        })
        .await
}

pub(crate) async fn configuration_set(
    aws: &AwsClients,
    name: &str,
) -> Result<Arc<GetConfigurationSetOutput>, CheckError> {
    aws.cache()
        .get(&format!("{GET_CONFIGURATION_SET}:{name}"), || async {
            aws.ses
                .get_configuration_set()
                .configuration_set_name(name)
                .send()
                .await
                .map_err(|e| {
                    CheckError::from_sdk(
                        GET_CONFIGURATION_SET,
                        &format!("SES configuration set '{name}'"),
                        e,
                    )
                })
        })
        .await
}

pub(crate) async fn event_destinations(
    aws: &AwsClients,
    set: &str,
) -> Result<Arc<Vec<EventDestination>>, CheckError> {
    aws.cache()
        .get(&format!("{GET_DESTINATIONS}:{set}"), || async {
            aws.ses
                .get_configuration_set_event_destinations()
                .configuration_set_name(set)
                .send()
                .await
                .map(|out| out.event_destinations.unwrap_or_default())
                .map_err(|e| {
                    CheckError::from_sdk(
                        GET_DESTINATIONS,
                        &format!("SES configuration set '{set}'"),
                        e,
                    )
                })
        })
        .await
}

/// The account's SES settings (sending enabled, production access, the
/// suppression list), read once per run.
pub(crate) async fn account(aws: &AwsClients) -> Result<Arc<GetAccountOutput>, CheckError> {
    aws.cache()
        .get(GET_ACCOUNT, || async {
            aws.ses
                .get_account()
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_ACCOUNT, "SES account", e))
        })
        .await
}
