//! ACM certificates, each described once per run (`edge.alb.certificate`).

use std::sync::Arc;

use aws_sdk_acm::types::CertificateDetail;

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_CERTIFICATE: &str = "acm:DescribeCertificate";

/// An ACM certificate, described once per run. IAM server certificates are
/// not read (yet): they are an error, never a pass.
pub(crate) async fn certificate(
    aws: &AwsClients,
    arn: &str,
) -> Result<Arc<CertificateDetail>, CheckError> {
    let resource = format!("certificate {arn}");
    if !arn.contains(":acm:") {
        return Err(CheckError::Aws {
            operation: DESCRIBE_CERTIFICATE.into(),
            resource,
            code: None,
            message: "only ACM certificates are read; an IAM server certificate's expiry cannot be judged yet".into(),
        });
    }
    aws.cache()
        .get(&format!("{DESCRIBE_CERTIFICATE}:{arn}"), || async {
            aws.acm
                .describe_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_CERTIFICATE, &resource, e))?
                .certificate
                .ok_or(CheckError::Missing {
                    operation: DESCRIBE_CERTIFICATE.into(),
                    resource: resource.clone(),
                    field: "Certificate".into(),
                })
        })
        .await
}
