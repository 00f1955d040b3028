//! ECS services, described once per run (`pgbouncer.*`, `terraform.declared`).

use std::sync::Arc;

use aws_sdk_ecs::types::Service;

use crate::check::CheckError;
use crate::context::Context;

pub const DESCRIBE_SERVICES: &str = "ecs:DescribeServices";

/// The service `name` in `cluster` (a name or an ARN: both are one read).
pub async fn service(cx: &Context, cluster: &str, name: &str) -> Result<Arc<Service>, CheckError> {
    let cluster = cluster.rsplit(":cluster/").next().unwrap_or(cluster);
    cx.cache()
        .get(&format!("{DESCRIBE_SERVICES}:{cluster}:{name}"), || async {
            let resource = format!("ecs service '{cluster}/{name}'");
            let out = cx
                .aws()
                .ecs
                .describe_services()
                .cluster(cluster)
                .services(name)
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_SERVICES, &resource, e))?;
            out.services
                .unwrap_or_default()
                .into_iter()
                .find(|s| s.service_name() == Some(name))
                .ok_or(CheckError::NotFound {
                    operation: DESCRIBE_SERVICES.into(),
                    resource,
                })
        })
        .await
}
