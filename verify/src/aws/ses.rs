//! SESv2 identities and configuration sets, read once per run (`ses.*`,
//! `terraform.declared`).

use std::sync::Arc;

use aws_sdk_sesv2::operation::get_configuration_set::GetConfigurationSetOutput;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::EventDestination;

use crate::check::CheckError;
use crate::context::Context;

pub const GET_IDENTITY: &str = "ses:GetEmailIdentity";
pub const GET_CONFIGURATION_SET: &str = "ses:GetConfigurationSet";
pub const GET_DESTINATIONS: &str = "ses:GetConfigurationSetEventDestinations";

pub async fn email_identity(
    cx: &Context,
    identity: &str,
) -> Result<Arc<GetEmailIdentityOutput>, CheckError> {
    cx.cache()
        .get(&format!("{GET_IDENTITY}:{identity}"), || async {
            cx.aws()
                .ses
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

pub async fn configuration_set(
    cx: &Context,
    name: &str,
) -> Result<Arc<GetConfigurationSetOutput>, CheckError> {
    cx.cache()
        .get(&format!("{GET_CONFIGURATION_SET}:{name}"), || async {
            cx.aws()
                .ses
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

pub async fn event_destinations(
    cx: &Context,
    set: &str,
) -> Result<Arc<Vec<EventDestination>>, CheckError> {
    cx.cache()
        .get(&format!("{GET_DESTINATIONS}:{set}"), || async {
            cx.aws()
                .ses
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
