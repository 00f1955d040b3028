//! S3: a bucket's region, versioning, default encryption and public access block.
//!
//! Bucket names are global: every call carries the spec's account as
//! `ExpectedBucketOwner`, so a bucket of the same name in another account is
//! refused (403) rather than judged. Each read is made once per run.

use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::types::{PublicAccessBlockConfiguration, ServerSideEncryptionRule};

use super::AwsClients;
use crate::CheckError;

pub(crate) const GET_BUCKET_LOCATION: &str = "s3:GetBucketLocation";
pub(crate) const GET_BUCKET_VERSIONING: &str = "s3:GetBucketVersioning";
pub(crate) const GET_BUCKET_ENCRYPTION: &str = "s3:GetBucketEncryption";
pub(crate) const GET_PUBLIC_ACCESS_BLOCK: &str = "s3:GetPublicAccessBlock";

/// How a bucket is named in messages.
pub(crate) fn resource(bucket: &str) -> String {
    format!("s3 bucket '{bucket}'")
}

/// The region the bucket is in (`GetBucketLocation`: no constraint is
/// us-east-1, the legacy `EU` is eu-west-1), once per run.
pub(crate) async fn region(
    aws: &AwsClients,
    bucket: &str,
    owner: &str,
) -> Result<Arc<String>, CheckError> {
    aws.cache()
        .get(&format!("{GET_BUCKET_LOCATION}:{bucket}"), || async {
            let out = aws
                .s3
                .get_bucket_location()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_BUCKET_LOCATION, &resource(bucket), e))?;
            Ok(region_of(out.location_constraint().map(|c| c.as_str())))
        })
        .await
}

/// A `LocationConstraint` as a region name.
pub(crate) fn region_of(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(region) => region.into(),
    }
}

/// The bucket's versioning configuration, once per run.
pub(crate) async fn versioning(
    aws: &AwsClients,
    bucket: &str,
    owner: &str,
) -> Result<Arc<GetBucketVersioningOutput>, CheckError> {
    aws.cache()
        .get(&format!("{GET_BUCKET_VERSIONING}:{bucket}"), || async {
            aws.s3
                .get_bucket_versioning()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_BUCKET_VERSIONING, &resource(bucket), e))
        })
        .await
}

/// The bucket's default-encryption rules, once per run. Every bucket has
/// one since January 2023 (SSE-S3 at least): none is an error.
pub(crate) async fn encryption_rules(
    aws: &AwsClients,
    bucket: &str,
    owner: &str,
) -> Result<Arc<Vec<ServerSideEncryptionRule>>, CheckError> {
    aws.cache()
        .get(&format!("{GET_BUCKET_ENCRYPTION}:{bucket}"), || async {
            let out = aws
                .s3
                .get_bucket_encryption()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_BUCKET_ENCRYPTION, &resource(bucket), e))?;
            out.server_side_encryption_configuration
                .map(|c| c.rules)
                .ok_or(CheckError::Missing {
                    operation: GET_BUCKET_ENCRYPTION.into(),
                    resource: resource(bucket),
                    field: "ServerSideEncryptionConfiguration".into(),
                })
        })
        .await
}

/// The KMS key the bucket's default encryption names (`KMSMasterKeyID`, as
/// S3 stores it: a key ARN, key id or alias ARN), or `None` when its default
/// is not a KMS one or names no key (the AWS managed `aws/s3` key).
pub(crate) async fn default_kms_key(
    aws: &AwsClients,
    bucket: &str,
    owner: &str,
) -> Result<Option<String>, CheckError> {
    let rules = encryption_rules(aws, bucket, owner).await?;
    Ok(rules
        .iter()
        .filter_map(|r| r.apply_server_side_encryption_by_default())
        .find_map(|d| d.kms_master_key_id().map(str::to_string)))
}

/// The bucket's own public access block, or `None` when it has none
/// (`NoSuchPublicAccessBlockConfiguration`: not set at bucket level), once per run.
pub(crate) async fn public_access_block(
    aws: &AwsClients,
    bucket: &str,
    owner: &str,
) -> Result<Arc<Option<PublicAccessBlockConfiguration>>, CheckError> {
    aws.cache()
        .get(&format!("{GET_PUBLIC_ACCESS_BLOCK}:{bucket}"), || async {
            match aws
                .s3
                .get_public_access_block()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .send()
                .await
            {
                Ok(out) => {
                    out.public_access_block_configuration
                        .map(Some)
                        .ok_or(CheckError::Missing {
                            operation: GET_PUBLIC_ACCESS_BLOCK.into(),
                            resource: resource(bucket),
                            field: "PublicAccessBlockConfiguration".into(),
                        })
                }
                Err(e) if is_no_such_block(e.code()) => Ok(None),
                Err(e) => Err(CheckError::from_sdk(
                    GET_PUBLIC_ACCESS_BLOCK,
                    &resource(bucket),
                    e,
                )),
            }
        })
        .await
}

/// S3's and S3 Control's answer when no block is configured at that level.
pub(crate) fn is_no_such_block(code: Option<&str>) -> bool {
    code == Some("NoSuchPublicAccessBlockConfiguration")
}
