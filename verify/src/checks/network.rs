//! `network.multi_az`: the VPC's private subnets span at least the declared
//! number of AZs, and each has an active default route to an available NAT
//! gateway in its own AZ (several AZs behind one NAT gateway are one AZ of
//! egress: lose that AZ and every private subnet loses the internet).
//!
//! A subnet is private when its route table (explicit association, else the
//! VPC's main table) has no default route to an internet gateway.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, NatGateway, RouteTable, Subnet};
use serde_json::json;

use crate::check::{Check, CheckError, CheckResult, Evidence, Finding, required};
use crate::context::Context;

const DESCRIBE_VPCS: &str = "ec2:DescribeVpcs";
const DESCRIBE_SUBNETS: &str = "ec2:DescribeSubnets";
const DESCRIBE_ROUTE_TABLES: &str = "ec2:DescribeRouteTables";
const DESCRIBE_NAT_GATEWAYS: &str = "ec2:DescribeNatGateways";

pub fn checks() -> Vec<Check> {
    vec![Check::new(
        "network.multi_az",
        "private subnets with NAT routes in every declared AZ",
        |g| Box::pin(multi_az(g)),
    )]
}

async fn multi_az(cx: &Context) -> CheckResult {
    let Some(spec) = &cx.env().network else {
        return Ok(Finding::skip("no network declared for this environment"));
    };
    let vpc_id = vpc_id(cx, &spec.vpc).await?;
    let ec2 = &cx.aws().ec2;
    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    let resource = format!("vpc '{}' ({vpc_id})", spec.vpc);
    let subnets: Vec<Subnet> = ec2
        .describe_subnets()
        .filters(by_vpc())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_SUBNETS, &resource, e))?;
    let tables: Vec<RouteTable> = ec2
        .describe_route_tables()
        .filters(by_vpc())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_ROUTE_TABLES, &resource, e))?;
    let nats = nat_gateways(cx, &vpc_id).await?;
    let available_nats: BTreeSet<&str> = nats
        .iter()
        .filter(|n| n.state().is_some_and(|s| s.as_str() == "available"))
        .filter_map(|n| n.nat_gateway_id())
        .collect();
    let az_of_subnet: BTreeMap<&str, &str> = subnets
        .iter()
        .filter_map(|s| Some((s.subnet_id()?, s.availability_zone()?)))
        .collect();
    // A NAT gateway lives in its subnet's AZ; its egress dies with that AZ.
    let nat_az: BTreeMap<&str, &str> = nats
        .iter()
        .filter_map(|n| Some((n.nat_gateway_id()?, *az_of_subnet.get(n.subnet_id()?)?)))
        .collect();

    let main_table = tables
        .iter()
        .find(|t| t.associations().iter().any(|a| a.main() == Some(true)));
    let table_of = |subnet_id: &str| {
        tables
            .iter()
            .find(|t| {
                t.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet_id))
            })
            .or(main_table)
    };
    let mut private_azs_with_nat: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut without_nat = Vec::new();
    let mut public = Vec::new();
    for subnet in &subnets {
        let id = required(subnet.subnet_id(), DESCRIBE_SUBNETS, &resource, "SubnetId")?;
        let az = required(
            subnet.availability_zone(),
            DESCRIBE_SUBNETS,
            &resource,
            &format!("AvailabilityZone of {id}"),
        )?;
        let routes = table_of(id).map(|t| t.routes()).unwrap_or_default();
        let default_route = routes
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"));
        if default_route
            .and_then(|r| r.gateway_id())
            .is_some_and(|g| g.starts_with("igw-"))
        {
            public.push(id.to_string());
            continue;
        }
        let route_state = default_route.and_then(|r| r.state()).map(|s| s.as_str());
        match default_route.and_then(|r| r.nat_gateway_id()) {
            Some(nat) if !available_nats.contains(nat) => without_nat.push(format!(
                "{id} ({az}) routes to {nat}, which is not available"
            )),
            // A route whose state AWS did not report is not known to be active.
            Some(nat) if route_state != Some("active") => without_nat.push(format!(
                "{id} ({az}) route to {nat} is {}",
                route_state.unwrap_or("of unknown state (DescribeRouteTables gave none)")
            )),
            Some(nat) => match nat_az.get(nat) {
                Some(nat_zone) if *nat_zone == az => private_azs_with_nat
                    .entry(az.to_string())
                    .or_default()
                    .push(id.to_string()),
                Some(nat_zone) => without_nat.push(format!(
                    "{id} ({az}) routes to {nat} in {nat_zone}, not a NAT gateway in its own AZ"
                )),
                None => {
                    return Err(CheckError::Missing {
                        operation: DESCRIBE_NAT_GATEWAYS.into(),
                        resource,
                        field: format!("the subnet (and so the AZ) of {nat}"),
                    });
                }
            },
            None => without_nat.push(format!("{id} ({az}) has no default route to a NAT gateway")),
        }
    }
    let azs = private_azs_with_nat.len();
    let evidence = Evidence::of(&resource)
        .expected(json!({
            "min_azs": spec.min_azs,
            "private_subnets_without_nat": [],
            "default_route": "0.0.0.0/0 to an available NAT gateway in the subnet's own AZ, active",
        }))
        .observed(json!({
            "azs": azs,
            "private_subnets_by_az": private_azs_with_nat,
            "private_subnets_without_nat": without_nat,
            "public_subnets": public,
            "nat_gateways_available": available_nats,
        }));
    let mut problems = Vec::new();
    if !without_nat.is_empty() {
        problems.push(format!(
            "every private subnet expected to route 0.0.0.0/0 to an available NAT gateway in its own AZ, observed {}",
            without_nat.join("; ")
        ));
    }
    if azs < spec.min_azs as usize {
        problems.push(format!(
            "private subnets with NAT expected in ≥ {} AZs, observed {azs} ({})",
            spec.min_azs,
            private_azs_with_nat
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(if problems.is_empty() {
        Finding::pass(
            format!(
                "{resource}: private subnets with NAT routes in {azs} AZs ({})",
                private_azs_with_nat
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence,
        )
    } else {
        Finding::fail(format!("{resource}: {}", problems.join("; ")), evidence)
    })
}

/// The NAT gateways of the VPC `vpc_id` (every page), described once per run
/// (`network.multi_az`, `terraform.declared`).
pub(crate) async fn nat_gateways(
    cx: &Context,
    vpc_id: &str,
) -> Result<std::sync::Arc<Vec<NatGateway>>, CheckError> {
    cx.cache()
        .get(&format!("{DESCRIBE_NAT_GATEWAYS}:{vpc_id}"), || async {
            cx.aws()
                .ec2
                .describe_nat_gateways()
                .filter(Filter::builder().name("vpc-id").values(vpc_id).build())
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| {
                    CheckError::from_sdk(DESCRIBE_NAT_GATEWAYS, &format!("vpc {vpc_id}"), e)
                })
        })
        .await
}

/// NAT gateways by id, in one describe (those `nat_gateways` of the declared VPC did not list).
pub(crate) async fn nat_gateways_by_id(
    cx: &Context,
    ids: &[String],
) -> Result<Vec<NatGateway>, CheckError> {
    cx.aws()
        .ec2
        .describe_nat_gateways()
        .set_nat_gateway_ids(Some(ids.to_vec()))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_NAT_GATEWAYS, &ids.join(", "), e))
}

/// A VPC by id (`vpc-…`) or by its `Name` tag, described once per run.
pub async fn vpc_id(cx: &Context, name_or_id: &str) -> Result<String, CheckError> {
    let value = cx
        .cache()
        .get(&format!("{DESCRIBE_VPCS}:{name_or_id}"), || async {
            let resource = format!("vpc '{name_or_id}'");
            let mut request = cx.aws().ec2.describe_vpcs();
            request = if name_or_id.starts_with("vpc-") {
                request.vpc_ids(name_or_id)
            } else {
                request.filters(
                    Filter::builder()
                        .name("tag:Name")
                        .values(name_or_id)
                        .build(),
                )
            };
            let out = request
                .send()
                .await
                .map_err(|e| CheckError::from_sdk(DESCRIBE_VPCS, &resource, e))?;
            match out.vpcs() {
                [vpc] => vpc
                    .vpc_id()
                    .map(str::to_string)
                    .ok_or(CheckError::NotFound {
                        operation: DESCRIBE_VPCS.into(),
                        resource,
                    }),
                [] => Err(CheckError::NotFound {
                    operation: DESCRIBE_VPCS.into(),
                    resource,
                }),
                many => Err(CheckError::Aws {
                    operation: DESCRIBE_VPCS.into(),
                    resource,
                    code: None,
                    message: format!("{} VPCs match; name the VPC by id", many.len()),
                }),
            }
        })
        .await?;
    Ok((*value).clone())
}
