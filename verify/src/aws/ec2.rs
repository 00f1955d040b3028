//! EC2 reads shared by `rds.not_public` and `edge.alb.origin_locked`:
//! security groups and the managed prefix lists they reference, each read
//! once per run, and the pure judgement of what their rules admit.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, IpPermission, NatGateway, RouteTable, SecurityGroup, Subnet};
use ipnet::IpNet;

use super::AwsClients;
use crate::CheckError;

pub(crate) const DESCRIBE_SGS: &str = "ec2:DescribeSecurityGroups";
/// Why `ec2:GetManagedPrefixListEntries` may not be called on a given run.
pub(crate) const PREFIX_LISTS_REFERENCED: &str =
    "a security-group rule on the port references a managed prefix list";
pub(crate) const DESCRIBE_SUBNETS: &str = "ec2:DescribeSubnets";
pub(crate) const DESCRIBE_VPCS: &str = "ec2:DescribeVpcs";
pub(crate) const DESCRIBE_ROUTE_TABLES: &str = "ec2:DescribeRouteTables";
pub(crate) const DESCRIBE_NAT_GATEWAYS: &str = "ec2:DescribeNatGateways";
pub(crate) const GET_PREFIX_LIST_ENTRIES: &str = "ec2:GetManagedPrefixListEntries";

/// The security groups `ids`, described once per run (one call for the set).
pub(crate) async fn security_groups(
    aws: &AwsClients,
    ids: &[String],
) -> Result<Arc<Vec<SecurityGroup>>, CheckError> {
    if ids.is_empty() {
        return Ok(Arc::new(Vec::new()));
    }
    let mut sorted = ids.to_vec();
    sorted.sort();
    sorted.dedup();
    aws.cache()
        .get(&format!("{DESCRIBE_SGS}:{}", sorted.join(",")), || async {
            let groups: Vec<SecurityGroup> = aws
                .ec2
                .describe_security_groups()
                .set_group_ids(Some(sorted.clone()))
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| {
                    CheckError::from_sdk(
                        DESCRIBE_SGS,
                        &format!("security groups {}", sorted.join(", ")),
                        e,
                    )
                })?;
            let missing: Vec<&String> = sorted
                .iter()
                .filter(|id| !groups.iter().any(|g| g.group_id() == Some(id.as_str())))
                .collect();
            if let Some(id) = missing.first() {
                return Err(CheckError::NotFound {
                    operation: DESCRIBE_SGS.into(),
                    resource: format!("security group {id}"),
                });
            }
            Ok(groups)
        })
        .await
}

/// The CIDRs of a managed prefix list, read once per run (paginated).
pub(crate) async fn prefix_list_entries(
    aws: &AwsClients,
    prefix_list_id: &str,
) -> Result<Arc<Vec<String>>, CheckError> {
    aws.cache()
        .get(
            &format!("{GET_PREFIX_LIST_ENTRIES}:{prefix_list_id}"),
            || async {
                let entries: Vec<_> = aws
                    .ec2
                    .get_managed_prefix_list_entries()
                    .prefix_list_id(prefix_list_id)
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Result<_, _>>()
                    .await
                    .map_err(|e| {
                        CheckError::from_sdk(
                            GET_PREFIX_LIST_ENTRIES,
                            &format!("prefix list {prefix_list_id}"),
                            e,
                        )
                    })?;
                entries
                    .iter()
                    .map(|e| {
                        e.cidr().map(str::to_string).ok_or(CheckError::Missing {
                            operation: GET_PREFIX_LIST_ENTRIES.into(),
                            resource: format!("prefix list {prefix_list_id}"),
                            field: "Cidr".into(),
                        })
                    })
                    .collect()
            },
        )
        .await
}

/// The prefix lists referenced by any rule of `groups`, with their entries.
pub(crate) async fn referenced_prefix_lists(
    aws: &AwsClients,
    groups: &[SecurityGroup],
) -> Result<BTreeMap<String, Vec<String>>, CheckError> {
    let mut lists = BTreeMap::new();
    for id in groups
        .iter()
        .flat_map(|g| g.ip_permissions())
        .flat_map(|p| p.prefix_list_ids())
        .filter_map(|p| p.prefix_list_id())
    {
        if !lists.contains_key(id) {
            let entries = prefix_list_entries(aws, id).await?;
            lists.insert(id.to_string(), (*entries).clone());
        }
    }
    Ok(lists)
}

/// Who may reach a port, as far as a judgement is concerned.
#[derive(Debug, Clone, Copy)]
pub struct SourcePolicy<'a> {
    /// A CIDR source is allowed when one of these contains it.
    pub allowed: &'a [IpNet],
    /// What the allowed ranges are, for messages ("Cloudflare's ranges").
    pub allowed_name: &'a str,
    /// Whether a rule naming another security group is allowed (it can only
    /// admit traffic from inside the VPC or a peer: private, but never Cloudflare).
    pub group_references: bool,
}

/// What the rules of `groups` admit on `ports`: every source seen, and the
/// ones `policy` does not allow. A prefix list counts as its entries (from
/// `prefix_lists`); one that was not read is not allowed. A CIDR AWS
/// returned that does not parse is an error.
pub(crate) fn admitted_sources(
    groups: &[SecurityGroup],
    ports: &[i32],
    prefix_lists: &BTreeMap<String, Vec<String>>,
    policy: SourcePolicy<'_>,
) -> Result<Admitted, String> {
    let mut seen = Admitted::default();
    for group in groups {
        let gid = group.group_id().unwrap_or("?");
        for rule in group.ip_permissions() {
            for &port in ports.iter().filter(|p| covers_port(rule, **p)) {
                let judge_cidr =
                    |seen: &mut Admitted, cidr: &str, via: &str| -> Result<(), String> {
                        let net: IpNet = cidr.parse().map_err(|_| {
                            format!("{gid} has a rule with an unreadable CIDR {cidr:?}")
                        })?;
                        seen.admitted.push(format!("{cidr} on {port}{via}"));
                        if !policy.allowed.iter().any(|a| a.contains(&net)) {
                            seen.not_allowed
                                .push(format!("{cidr} on {port}{via} (in {gid})"));
                        }
                        Ok(())
                    };
                for cidr in rule.ip_ranges().iter().filter_map(|r| r.cidr_ip()) {
                    judge_cidr(&mut seen, cidr, "")?;
                }
                for cidr in rule.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()) {
                    judge_cidr(&mut seen, cidr, "")?;
                }
                for list in rule
                    .prefix_list_ids()
                    .iter()
                    .filter_map(|p| p.prefix_list_id())
                {
                    match prefix_lists.get(list) {
                        Some(entries) => {
                            for cidr in entries {
                                judge_cidr(&mut seen, cidr, &format!(" via prefix list {list}"))?;
                            }
                        }
                        None => seen.not_allowed.push(format!(
                            "prefix list {list} on {port} (in {gid}), entries not read"
                        )),
                    }
                }
                for pair in rule.user_id_group_pairs() {
                    let other = pair.group_id().unwrap_or("?");
                    seen.admitted
                        .push(format!("security group {other} on {port}"));
                    if !policy.group_references {
                        seen.not_allowed.push(format!(
                            "security group {other} on {port} (in {gid}), not provably {}",
                            policy.allowed_name
                        ));
                    }
                }
            }
        }
    }
    Ok(seen)
}

/// What [`admitted_sources`] found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Admitted {
    /// Every source admitted on a judged port (`cidr on port`).
    pub admitted: Vec<String>,
    /// The sources the policy does not allow, with the group that admits them.
    pub not_allowed: Vec<String>,
}

/// Whether `rule` admits TCP traffic to `port` (all protocols included).
pub(crate) fn covers_port(rule: &IpPermission, port: i32) -> bool {
    match rule.ip_protocol() {
        Some("-1") | Some("all") => true,
        Some("tcp") | Some("6") => {
            let from = rule.from_port().unwrap_or(0);
            let to = rule.to_port().unwrap_or(65535);
            // AWS reports -1 for "all ports" on some all-protocol rules.
            (from == -1 && to == -1) || (from <= port && port <= to)
        }
        _ => false,
    }
}

/// RFC 1918, shared address space (RFC 6598) and unique-local IPv6 (RFC 4193):
/// sources that cannot be on the internet.
pub(crate) fn private_ranges() -> Vec<IpNet> {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
    ]
    .iter()
    .map(|c| c.parse().expect("static CIDR"))
    .collect()
}

/// Parses published ranges (Cloudflare's `/ips`); an unreadable one is an error.
pub(crate) fn parse_ranges<'a>(
    cidrs: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<IpNet>, String> {
    cidrs
        .into_iter()
        .map(|c| c.parse().map_err(|_| format!("unreadable range {c:?}")))
        .collect()
}

/// `(subnet id, AZ)` of each subnet in `ids`.
pub(crate) async fn subnet_azs(
    aws: &AwsClients,
    ids: &[String],
) -> Result<Vec<(String, String)>, CheckError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let out = aws
        .ec2
        .describe_subnets()
        .set_subnet_ids(Some(ids.clone()))
        .send()
        .await
        .map_err(|e| {
            CheckError::from_sdk(DESCRIBE_SUBNETS, &format!("subnets {}", ids.join(", ")), e)
        })?;
    Ok(out
        .subnets()
        .iter()
        .filter_map(|s| {
            Some((
                s.subnet_id()?.to_string(),
                s.availability_zone()?.to_string(),
            ))
        })
        .collect())
}

/// `(cidr, az)` of every subnet in the VPC.
pub(crate) async fn vpc_subnet_cidrs(
    aws: &AwsClients,
    vpc_id: &str,
) -> Result<Vec<(String, String)>, CheckError> {
    let subnets: Vec<aws_sdk_ec2::types::Subnet> = aws
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc_id)
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_SUBNETS, &format!("vpc {vpc_id}"), e))?;
    Ok(subnets
        .iter()
        .filter_map(|s| {
            Some((
                s.cidr_block()?.to_string(),
                s.availability_zone()?.to_string(),
            ))
        })
        .collect())
}

/// The NAT gateways of the VPC `vpc_id` (every page), described once per run
/// (`network.multi_az`, `terraform.declared`).
pub(crate) async fn nat_gateways(
    aws: &AwsClients,
    vpc_id: &str,
) -> Result<std::sync::Arc<Vec<NatGateway>>, CheckError> {
    aws.cache()
        .get(&format!("{DESCRIBE_NAT_GATEWAYS}:{vpc_id}"), || async {
            aws.ec2
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
    aws: &AwsClients,
    ids: &[String],
) -> Result<Vec<NatGateway>, CheckError> {
    aws.ec2
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
pub(crate) async fn vpc_id(aws: &AwsClients, name_or_id: &str) -> Result<String, CheckError> {
    let value = aws
        .cache()
        .get(&format!("{DESCRIBE_VPCS}:{name_or_id}"), || async {
            let resource = format!("vpc '{name_or_id}'");
            let mut request = aws.ec2.describe_vpcs();
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

fn in_vpc(vpc_id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc_id).build()
}

/// Every subnet of the VPC `vpc_id` (all pages).
pub(crate) async fn subnets_of_vpc(
    aws: &AwsClients,
    vpc_id: &str,
    resource: &str,
) -> Result<Vec<Subnet>, CheckError> {
    aws.ec2
        .describe_subnets()
        .filters(in_vpc(vpc_id))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_SUBNETS, resource, e))
}

/// Every route table of the VPC `vpc_id` (all pages).
pub(crate) async fn route_tables_of_vpc(
    aws: &AwsClients,
    vpc_id: &str,
    resource: &str,
) -> Result<Vec<RouteTable>, CheckError> {
    aws.ec2
        .describe_route_tables()
        .filters(in_vpc(vpc_id))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| CheckError::from_sdk(DESCRIBE_ROUTE_TABLES, resource, e))
}

#[cfg(test)]
mod tests {
    /// A rule open to a range outside the allowed ones is named, with its port and group.
    #[test]
    fn a_source_outside_the_policy_is_named() {
        use aws_sdk_ec2::types::{IpPermission, IpRange, SecurityGroup};
        let sg = SecurityGroup::builder()
            .group_id("sg-1")
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/1").build())
                    .build(),
            )
            .build();
        let private = ["10.0.0.0/8".parse().unwrap()];
        let policy = super::SourcePolicy {
            allowed: &private,
            allowed_name: "private ranges",
            group_references: true,
        };
        let seen = super::admitted_sources(&[sg], &[443], &Default::default(), policy).unwrap();
        assert_eq!(seen.not_allowed, vec!["0.0.0.0/1 on 443 (in sg-1)"]);
    }

    use super::*;
    use aws_sdk_ec2::types::{IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};

    fn group(rules: Vec<IpPermission>) -> SecurityGroup {
        SecurityGroup::builder()
            .group_id("sg-a")
            .set_ip_permissions(Some(rules))
            .build()
    }

    fn tcp(from: i32, to: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(from)
            .to_port(to)
    }

    fn v4(cidr: &str) -> IpRange {
        IpRange::builder().cidr_ip(cidr).build()
    }

    fn cloudflare() -> Vec<IpNet> {
        parse_ranges(["173.245.48.0/20", "104.16.0.0/13", "2400:cb00::/32"]).unwrap()
    }

    fn cf_policy(ranges: &[IpNet]) -> SourcePolicy<'_> {
        SourcePolicy {
            allowed: ranges,
            allowed_name: "Cloudflare",
            group_references: false,
        }
    }

    /// (case, rules, ports, prefix lists, expected not-allowed count)
    #[test]
    fn sources_are_judged_by_containment_on_every_port() {
        let cf = cloudflare();
        let lists: BTreeMap<String, Vec<String>> = [
            ("pl-cf".to_string(), vec!["104.16.0.0/14".to_string()]),
            ("pl-world".to_string(), vec!["0.0.0.0/0".to_string()]),
        ]
        .into();
        let cases: Vec<(&str, Vec<IpPermission>, Vec<i32>, usize)> = vec![
            (
                "exact Cloudflare range",
                vec![tcp(443, 443).ip_ranges(v4("173.245.48.0/20")).build()],
                vec![443],
                0,
            ),
            (
                "a subnet of a Cloudflare range",
                vec![tcp(443, 443).ip_ranges(v4("104.17.0.0/16")).build()],
                vec![443],
                0,
            ),
            (
                "the world split in halves",
                vec![
                    tcp(443, 443)
                        .ip_ranges(v4("0.0.0.0/1"))
                        .ip_ranges(v4("128.0.0.0/1"))
                        .build(),
                ],
                vec![443],
                2,
            ),
            (
                "a supernet of a Cloudflare range",
                vec![tcp(443, 443).ip_ranges(v4("104.0.0.0/8")).build()],
                vec![443],
                1,
            ),
            (
                "open on 80, a listener port",
                vec![tcp(80, 80).ip_ranges(v4("0.0.0.0/0")).build()],
                vec![443, 80],
                1,
            ),
            (
                "open on 8443, not a listener port",
                vec![tcp(8443, 8443).ip_ranges(v4("0.0.0.0/0")).build()],
                vec![443, 80],
                0,
            ),
            (
                "a port range covering 443",
                vec![tcp(0, 1000).ip_ranges(v4("1.2.3.4/32")).build()],
                vec![443],
                1,
            ),
            (
                "all protocols",
                vec![
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(v4("1.2.3.4/32"))
                        .build(),
                ],
                vec![443],
                1,
            ),
            (
                "udp only",
                vec![
                    IpPermission::builder()
                        .ip_protocol("udp")
                        .from_port(443)
                        .to_port(443)
                        .ip_ranges(v4("1.2.3.4/32"))
                        .build(),
                ],
                vec![443],
                0,
            ),
            (
                "ipv6 world",
                vec![
                    tcp(443, 443)
                        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                        .build(),
                ],
                vec![443],
                1,
            ),
            (
                "ipv6 Cloudflare",
                vec![
                    tcp(443, 443)
                        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("2400:cb00:1::/48").build())
                        .build(),
                ],
                vec![443],
                0,
            ),
            (
                "prefix list inside Cloudflare",
                vec![
                    tcp(443, 443)
                        .prefix_list_ids(PrefixListId::builder().prefix_list_id("pl-cf").build())
                        .build(),
                ],
                vec![443],
                0,
            ),
            (
                "prefix list of the world",
                vec![
                    tcp(443, 443)
                        .prefix_list_ids(PrefixListId::builder().prefix_list_id("pl-world").build())
                        .build(),
                ],
                vec![443],
                1,
            ),
            (
                "prefix list not read",
                vec![
                    tcp(443, 443)
                        .prefix_list_ids(
                            PrefixListId::builder().prefix_list_id("pl-unknown").build(),
                        )
                        .build(),
                ],
                vec![443],
                1,
            ),
            (
                "another security group",
                vec![
                    tcp(443, 443)
                        .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-b").build())
                        .build(),
                ],
                vec![443],
                1,
            ),
        ];
        for (case, rules, ports, expected) in cases {
            let seen = admitted_sources(&[group(rules)], &ports, &lists, cf_policy(&cf)).unwrap();
            assert_eq!(seen.not_allowed.len(), expected, "{case}: {seen:?}");
        }
    }

    #[test]
    fn a_group_reference_is_private_for_the_database() {
        let private = private_ranges();
        let policy = SourcePolicy {
            allowed: &private,
            allowed_name: "private",
            group_references: true,
        };
        let rules = vec![
            tcp(5432, 5432)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-app").build())
                .ip_ranges(v4("10.0.0.0/16"))
                .build(),
        ];
        let seen = admitted_sources(&[group(rules)], &[5432], &BTreeMap::new(), policy).unwrap();
        assert!(seen.not_allowed.is_empty(), "{seen:?}");
        assert_eq!(seen.admitted.len(), 2);
    }

    #[test]
    fn an_unreadable_cidr_is_an_error_not_a_pass() {
        let cf = cloudflare();
        let rules = vec![tcp(443, 443).ip_ranges(v4("not-a-cidr")).build()];
        assert!(
            admitted_sources(&[group(rules)], &[443], &BTreeMap::new(), cf_policy(&cf)).is_err()
        );
    }
}
