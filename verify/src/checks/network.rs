//! `network.multi_az`: the VPC's private subnets span at least the declared
//! number of AZs, and each has an active default route to an available NAT
//! gateway in its own AZ (several AZs behind one NAT gateway are one AZ of
//! egress: lose that AZ and every private subnet loses the internet).
//!
//! A subnet is private when its route table (explicit association, else the
//! VPC's main table) has no default route to an internet gateway.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{AvailabilityMode, ConnectivityType, NatGateway, RouteTable, Subnet};
use serde_json::json;

use crate::aws::{self, ec2::DESCRIBE_NAT_GATEWAYS, ec2::DESCRIBE_SUBNETS};
use crate::check::{
    Check, CheckDef, CheckError, CheckResult, Evidence, Fields, Finding, Grant, required,
};
use crate::context::Context;
use crate::spec::NetworkSpec;

// --- what: the checks, declared ----------------------------------------------

fn declared(env: &crate::Environment) -> bool {
    env.network.is_some()
}

const MULTI_AZ: CheckDef = CheckDef {
    id: "network.multi_az",
    title: "private subnets with NAT routes in every declared AZ",
    doc: "the declared private subnets span ≥ declared AZ count (default 3), each routed to an available public NAT gateway in its own AZ, or to a Regional NAT gateway (a private NAT gateway gives no internet egress)",
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
    judge(spec, &resource, &subnets, &tables, &nats)
}

/// `network.multi_az` from what EC2 described: every private subnet (one
/// whose default route is not an internet gateway) routes 0.0.0.0/0,
/// actively, to an available public NAT gateway in its own AZ, or to a
/// Regional one (AZ-independent egress); such subnets span ≥ `min_azs` AZs.
/// A private NAT gateway gives no internet egress.
fn judge(
    spec: &NetworkSpec,
    resource: &str,
    subnets: &[Subnet],
    tables: &[RouteTable],
    nats: &[NatGateway],
) -> CheckResult {
    let resource = resource.to_string();
    let available_nats: BTreeSet<&str> = nats
        .iter()
        .filter(|n| n.state().is_some_and(|s| s.as_str() == "available"))
        .filter_map(|n| n.nat_gateway_id())
        .collect();
    let nat = |id: &str| nats.iter().find(|n| n.nat_gateway_id() == Some(id));
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
    for subnet in subnets {
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
            Some(nat_id) if nat(nat_id).is_some_and(|n| n.connectivity_type().is_none()) => {
                return Err(CheckError::Missing {
                    operation: DESCRIBE_NAT_GATEWAYS.into(),
                    resource,
                    field: format!("ConnectivityType of {nat_id}"),
                });
            }
            Some(nat_id)
                if nat(nat_id)
                    .and_then(|n| n.connectivity_type())
                    .is_some_and(|c| *c == ConnectivityType::Private) =>
            {
                without_nat.push(format!(
                    "{id} ({az}) routes to {nat_id}, a private NAT gateway: no internet egress"
                ))
            }
            // A Regional NAT gateway spans the region's AZs: AZ-independent egress.
            Some(nat_id)
                if nat(nat_id)
                    .and_then(|n| n.availability_mode())
                    .is_some_and(|m| *m == AvailabilityMode::Regional) =>
            {
                private_azs_with_nat
                    .entry(az.to_string())
                    .or_default()
                    .push(id.to_string())
            }
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
    // Lists of subnets, in words; the evidence keeps them as lists (sandbox
    // tests read `/observed/private_subnets_without_nat`).
    let listed_azs = private_azs_with_nat
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let mut f = Fields::of(&resource);
    f.judge(
        "every private subnet",
        "to route 0.0.0.0/0 to an available NAT gateway in its own AZ",
        without_nat.join("; "),
        without_nat.is_empty(),
    );
    let enough_azs = azs >= spec.min_azs as usize;
    f.judge(
        "private subnets with NAT",
        format!("in ≥ {} AZs", spec.min_azs),
        azs,
        enough_azs,
    )
    .because(&listed_azs);
    Ok(Finding {
        evidence,
        ..f.finish(format!(
            "{resource}: private subnets with NAT routes in {azs} AZs ({listed_azs})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{NatGatewayState, Route, RouteState, RouteTableAssociation};

    use super::*;
    use crate::Status;

    const AZS: [&str; 3] = ["eu-central-1a", "eu-central-1b", "eu-central-1c"];

    fn subnet(id: &str, az: &str) -> Subnet {
        Subnet::builder()
            .subnet_id(id)
            .availability_zone(az)
            .build()
    }

    /// A route table for `subnet` whose default route goes to `target`
    /// (`igw-…` or `nat-…`), active.
    fn table(subnet: &str, target: &str) -> RouteTable {
        let route = Route::builder()
            .destination_cidr_block("0.0.0.0/0")
            .state(RouteState::Active);
        let route = if target.starts_with("igw-") {
            route.gateway_id(target)
        } else {
            route.nat_gateway_id(target)
        };
        RouteTable::builder()
            .associations(RouteTableAssociation::builder().subnet_id(subnet).build())
            .routes(route.build())
            .build()
    }

    fn nat(id: &str, subnet: &str) -> aws_sdk_ec2::types::builders::NatGatewayBuilder {
        NatGateway::builder()
            .nat_gateway_id(id)
            .subnet_id(subnet)
            .state(NatGatewayState::Available)
            .connectivity_type(ConnectivityType::Public)
    }

    /// Three AZs, each a public subnet with its NAT gateway and a private
    /// subnet routed to it; `change` alters the private subnet of 1c's route
    /// or the NAT gateways before judging.
    fn judged(change: impl FnOnce(&mut Vec<RouteTable>, &mut Vec<NatGateway>)) -> CheckResult {
        let mut subnets = Vec::new();
        let mut tables = Vec::new();
        let mut nats = Vec::new();
        for (i, az) in AZS.iter().enumerate() {
            subnets.push(subnet(&format!("public-{i}"), az));
            subnets.push(subnet(&format!("private-{i}"), az));
            tables.push(table(&format!("public-{i}"), "igw-1"));
            tables.push(table(&format!("private-{i}"), &format!("nat-{i}")));
            nats.push(nat(&format!("nat-{i}"), &format!("public-{i}")).build());
        }
        change(&mut tables, &mut nats);
        let spec = NetworkSpec {
            vpc: "core".into(),
            min_azs: 3,
        };
        judge(&spec, "vpc 'core'", &subnets, &tables, &nats)
    }

    fn outcome(result: CheckResult) -> String {
        match result {
            Ok(f) => format!("{}: {}", f.status.as_str(), f.message),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn each_private_subnet_needs_its_own_azs_public_nat_or_a_regional_one() {
        let cases: Vec<(&str, CheckResult, &str)> = vec![
            ("three AZs, each its own NAT", judged(|_, _| {}), "pass"),
            (
                "1c through 1a's NAT",
                judged(|t, _| t[5] = table("private-2", "nat-0")),
                "fail: vpc 'core': every private subnet expected to route 0.0.0.0/0 to an available NAT gateway in its own AZ, observed private-2 (eu-central-1c) routes to nat-0 in eu-central-1a",
            ),
            (
                "1c's NAT is private",
                judged(|_, n| {
                    n[2] = nat("nat-2", "public-2")
                        .connectivity_type(ConnectivityType::Private)
                        .build()
                }),
                "private-2 (eu-central-1c) routes to nat-2, a private NAT gateway: no internet egress",
            ),
            (
                "1c's NAT's connectivity unsaid",
                judged(|_, n| n[2] = nat("nat-2", "public-2").set_connectivity_type(None).build()),
                "error: ec2:DescribeNatGateways did not report ConnectivityType of nat-2",
            ),
            (
                "every private subnet through one Regional NAT",
                judged(|t, n| {
                    for i in 0..3 {
                        t[2 * i + 1] = table(&format!("private-{i}"), "nat-r");
                    }
                    n.push(
                        nat("nat-r", "public-0")
                            .availability_mode(AvailabilityMode::Regional)
                            .build(),
                    );
                }),
                "pass: vpc 'core': private subnets with NAT routes in 3 AZs",
            ),
            (
                "1c's NAT deleted",
                judged(|_, n| {
                    n[2] = nat("nat-2", "public-2")
                        .state(NatGatewayState::Deleted)
                        .build()
                }),
                "private-2 (eu-central-1c) routes to nat-2, which is not available",
            ),
            (
                "1c has no default route",
                judged(|t, _| {
                    t[5] = RouteTable::builder()
                        .associations(
                            RouteTableAssociation::builder()
                                .subnet_id("private-2")
                                .build(),
                        )
                        .build()
                }),
                "private-2 (eu-central-1c) has no default route to a NAT gateway",
            ),
            (
                "1c's route blackholed",
                judged(|t, _| {
                    t[5] = RouteTable::builder()
                        .associations(
                            RouteTableAssociation::builder()
                                .subnet_id("private-2")
                                .build(),
                        )
                        .routes(
                            Route::builder()
                                .destination_cidr_block("0.0.0.0/0")
                                .nat_gateway_id("nat-2")
                                .state(RouteState::Blackhole)
                                .build(),
                        )
                        .build()
                }),
                "private-2 (eu-central-1c) route to nat-2 is blackhole",
            ),
        ];
        for (case, result, expected) in cases {
            let got = outcome(result);
            if expected.starts_with("pass") {
                assert!(got.starts_with(expected), "{case}: {got}");
            } else {
                assert!(got.contains(expected), "{case}: {got}");
                assert!(!got.starts_with("pass"), "{case}: {got}");
            }
        }
        // A fourth private subnet without a route, the three AZs still
        // covered: only its line, the AZ count not worded onto it.
        let mut subnets: Vec<Subnet> = Vec::new();
        let mut tables = Vec::new();
        let mut nats = Vec::new();
        for (i, az) in AZS.iter().enumerate() {
            subnets.push(subnet(&format!("public-{i}"), az));
            subnets.push(subnet(&format!("private-{i}"), az));
            tables.push(table(&format!("public-{i}"), "igw-1"));
            tables.push(table(&format!("private-{i}"), &format!("nat-{i}")));
            nats.push(nat(&format!("nat-{i}"), &format!("public-{i}")).build());
        }
        subnets.push(subnet("private-3", AZS[0]));
        let spec = NetworkSpec {
            vpc: "core".into(),
            min_azs: 3,
        };
        let f = judge(&spec, "vpc 'core'", &subnets, &tables, &nats).unwrap();
        assert_eq!(
            (f.status, f.message.as_str()),
            (
                Status::Fail,
                "vpc 'core': every private subnet expected to route 0.0.0.0/0 to an available NAT gateway in its own AZ, observed private-3 (eu-central-1a) has no default route to a NAT gateway"
            )
        );
        assert_eq!(
            f.evidence.observed["private_subnets_without_nat"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        // Two AZs only: fewer than declared.
        let two = judged(|t, _| t[5] = table("private-2", "igw-1")).unwrap();
        assert_eq!(two.status, Status::Fail);
        assert!(
            two.message.contains("expected in ≥ 3 AZs, observed 2"),
            "{}",
            two.message
        );
    }
}
