//! KMS: the keys' rotation status and history.
//!
//! `DescribeKey` takes a key id, key ARN, alias name or alias ARN;
//! `GetKeyRotationStatus` and `ListKeyRotations` only a key id or key ARN,
//! so they are asked for the ARN `DescribeKey` returned.

use std::sync::Arc;

use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
use aws_sdk_kms::types::{KeyMetadata, RotationsListEntry};

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_KEY: &str = "kms:DescribeKey";
pub(crate) const GET_KEY_ROTATION_STATUS: &str = "kms:GetKeyRotationStatus";
pub(crate) const LIST_KEY_ROTATIONS: &str = "kms:ListKeyRotations";

/// How a key is named in messages.
pub(crate) fn resource(key: &str) -> String {
    format!("kms key '{key}'")
}

/// The key `key` (an id, ARN, alias name or alias ARN) as KMS describes it, once per run.
pub(crate) async fn key(aws: &AwsClients, key: &str) -> Result<Arc<KeyMetadata>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_KEY}:{key}"), || async {
            let out = aws
                .kms
                .describe_key()
                .key_id(key)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_KEY, &resource(key), e))?;
            out.key_metadata.ok_or(CheckError::Missing {
                operation: DESCRIBE_KEY.into(),
                resource: resource(key),
                field: "KeyMetadata".into(),
            })
        })
        .await
}

/// Whether the key `key_arn` rotates automatically, and how often, once per run.
pub(crate) async fn rotation_status(
    aws: &AwsClients,
    key_arn: &str,
) -> Result<Arc<GetKeyRotationStatusOutput>, CheckError> {
    aws.cache()
        .get(&format!("{GET_KEY_ROTATION_STATUS}:{key_arn}"), || async {
            aws.kms
                .get_key_rotation_status()
                .key_id(key_arn)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_KEY_ROTATION_STATUS, &resource(key_arn), e))
        })
        .await
}

/// Every rotation of the key `key_arn` (automatic and on demand), all
/// pages, once per run.
pub(crate) async fn rotations(
    aws: &AwsClients,
    key_arn: &str,
) -> Result<Arc<Vec<RotationsListEntry>>, CheckError> {
    aws.cache()
        .get(&format!("{LIST_KEY_ROTATIONS}:{key_arn}"), || async {
            let mut all = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let out = aws
                    .kms
                    .list_key_rotations()
                    .key_id(key_arn)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| CheckError::from_sdk(LIST_KEY_ROTATIONS, &resource(key_arn), e))?;
                all.extend(out.rotations.unwrap_or_default());
                let next = out.next_marker.filter(|m| !m.is_empty());
                match (out.truncated, next) {
                    (false, _) => return Ok(all),
                    (true, Some(m)) if marker.as_ref() != Some(&m) => marker = Some(m),
                    (true, _) => {
                        return Err(CheckError::Aws {
                            operation: LIST_KEY_ROTATIONS.into(),
                            resource: resource(key_arn),
                            code: None,
                            message: "a truncated page without a new NextMarker; listing stopped"
                                .into(),
                        });
                    }
                }
            }
        })
        .await
}

pub(crate) const GET_KEY_POLICY: &str = "kms:GetKeyPolicy";

/// The key policy (`default`, the only name KMS has) of `key_arn`, once per run.
pub(crate) async fn key_policy(aws: &AwsClients, key_arn: &str) -> Result<Arc<String>, CheckError> {
    aws.cache()
        .get(&format!("{GET_KEY_POLICY}:{key_arn}"), || async {
            let out = aws
                .kms
                .get_key_policy()
                .key_id(key_arn)
                // Optional on AWS since 2023 (it defaults to the only name);
                // older implementations still require it.
                .policy_name("default")
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_KEY_POLICY, &resource(key_arn), e))?;
            out.policy.ok_or(CheckError::Missing {
                operation: GET_KEY_POLICY.into(),
                resource: resource(key_arn),
                field: "Policy".into(),
            })
        })
        .await
}
