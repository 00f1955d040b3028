//! AWS WAF: the web ACL on a load balancer.
//!
//! `GetWebACLForResource` answers the whole web ACL (its rules included), or
//! no web ACL when none is associated: that is `None` here, never an error.

use std::sync::Arc;

use aws_sdk_wafv2::types::WebAcl;

use super::AwsClients;
use crate::CheckError;

pub(crate) const GET_WEB_ACL_FOR_RESOURCE: &str = "wafv2:GetWebACLForResource";

/// The web ACL associated with the resource `arn` (a load balancer), named
/// `resource` in messages; `None` when none is.
pub(crate) async fn web_acl_for(
    aws: &AwsClients,
    arn: &str,
    resource: &str,
) -> Result<Arc<Option<WebAcl>>, CheckError> {
    aws.cache()
        .get(&format!("{GET_WEB_ACL_FOR_RESOURCE}:{arn}"), || async {
            let out = aws
                .wafv2
                .get_web_acl_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(GET_WEB_ACL_FOR_RESOURCE, resource, e))?;
            Ok(out.web_acl)
        })
        .await
}
