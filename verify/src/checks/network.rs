//! `network.multi_az`: the VPC's private subnets span at least the declared
//! number of AZs, and each has an active default route to an available NAT
//! gateway in its own AZ (several AZs behind one NAT gateway are one AZ of
//! egress: lose that AZ and every private subnet loses the internet).
//!
//! A subnet is private when its route table (explicit association, else the
//! VPC's main table) has no default route to an internet gateway.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{RouteTable, Subnet};
use serde_json::json;

use crate::aws::{self, ec2::DESCRIBE_NAT_GATEWAYS, ec2::DESCRIBE_SUBNETS};
use crate::check::{Check, CheckDef, CheckError, CheckResult, Evidence, Finding, Grant, required};
use crate::context::Context;

// --- what: the checks, declared ----------------------------------------------

fn declared(env: &crate::Environment) -> bool {
    env.network.is_some()
}

const MULTI_AZ: CheckDef = CheckDef {
    id: "network.multi_az",
    title: "private subnets with NAT routes in every declared AZ",
    doc: "the declared private subnets span ≥ declared AZ count (default 3), each routed to an available NAT gateway in its own AZ, or to a Regional NAT gateway",
    iam: &[
        Grant::any("ec2:DescribeVpcs", declared),
        Grant::any("ec2:DescribeSubnets", declared),
        Grant::any("ec2:DescribeRouteTables", declared),
        Grant::any("ec2:DescribeNatGateways", declared),
    ],
};

pub fn checks() -> Vec<Check> {
    vec![Check::new(&MULTI_AZ, |g| Box::pin(multi_az(g)))]
}

async fn multi_az(cx: &Context) -> CheckResult {
    let Some(spec) = &cx.env().network else {
        return Ok(Finding::skip("no network declared for this environment"));
    };
    let vpc_id = aws::ec2::vpc_id(cx.aws(), &spec.vpc).await?;
    let resource = format!("vpc '{}' ({vpc_id})", spec.vpc);
    let subnets: Vec<Subnet> = aws::ec2::subnets_of_vpc(cx.aws(), &vpc_id, &resource).await?;
    let tables: Vec<RouteTable> =
        aws::ec2::route_tables_of_vpc(cx.aws(), &vpc_id, &resource).await?;
    let nats = aws::ec2::nat_gateways(cx.aws(), &vpc_id).await?;
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
