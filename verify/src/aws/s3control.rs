//! S3 Control: the account's public access block (`s3.<label>.public_access_block`
//! takes each flag from the account or the bucket).

use std::sync::Arc;

use aws_sdk_s3control::error::ProvideErrorMetadata as _;
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;

use super::AwsClients;
use crate::CheckError;

/// IAM's action for it is `s3:GetAccountPublicAccessBlock` ([`crate::iam`]).
pub(crate) const GET_PUBLIC_ACCESS_BLOCK: &str = "s3control:GetPublicAccessBlock";

/// How the account's block is named in messages.
pub(crate) fn resource(account: &str) -> String {
    format!("account {account}'s S3 public access block")
}

/// The account's public access block, or `None` when none is set
/// (`NoSuchPublicAccessBlockConfiguration`), once per run.
pub(crate) async fn account_public_access_block(
    aws: &AwsClients,
    account: &str,
) -> Result<Arc<Option<PublicAccessBlockConfiguration>>, CheckError> {
    aws.cache()
        .get(&format!("{GET_PUBLIC_ACCESS_BLOCK}:{account}"), || async {
            match aws
                .s3control
                .get_public_access_block()
                .account_id(account)
                .send()
                .await
            {
                Ok(out) => {
                    out.public_access_block_configuration
                        .map(Some)
                        .ok_or(CheckError::Missing {
                            operation: GET_PUBLIC_ACCESS_BLOCK.into(),
                            resource: resource(account),
                            field: "PublicAccessBlockConfiguration".into(),
                        })
                }
                Err(e) if super::s3::is_no_such_block(e.code()) => Ok(None),
                Err(e) => Err(CheckError::from_sdk(
                    GET_PUBLIC_ACCESS_BLOCK,
                    &resource(account),
                    e,
                )),
            }
        })
        .await
}
