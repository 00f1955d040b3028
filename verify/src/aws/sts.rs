//! STS: whose credentials the run holds (`GetCallerIdentity`, which IAM
//! always allows), asked once before any check.

use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;

use super::AwsClients;
use crate::CheckError;

pub(crate) const GET_CALLER_IDENTITY: &str = "sts:GetCallerIdentity";

/// The account and principal of the run's credentials.
pub(crate) async fn caller_identity(
    aws: &AwsClients,
) -> Result<GetCallerIdentityOutput, CheckError> {
    aws.sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CheckError::from_sdk(GET_CALLER_IDENTITY, "the caller", e))
}
