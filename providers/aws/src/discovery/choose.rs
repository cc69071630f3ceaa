//! Which of a VPC's subnets an ALB goes into (pure).

use std::collections::BTreeMap;

use super::ec2::SubnetInfo;

/// The tag prefix that says which clusters use a subnet.
const CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster/";

/// The free addresses an ALB needs in each of its subnets.
const MIN_FREE_ADDRESSES: u64 = 8;

/// An ALB needs subnets in at least this many availability zones.
const MIN_ZONES: usize = 2;

/// Which load balancers a subnet is tagged for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubnetRole {
    /// `kubernetes.io/role/elb`: public subnets, for `internet-facing` load balancers.
    InternetFacing,
    /// `kubernetes.io/role/internal-elb`: private subnets, for `internal` ones.
    Internal,
}

impl SubnetRole {
    /// The role's tag key.
    pub fn tag(self) -> &'static str {
        match self {
            Self::InternetFacing => "kubernetes.io/role/elb",
            Self::Internal => "kubernetes.io/role/internal-elb",
        }
    }
}

/// Chooses, from the subnets of one VPC, one subnet per availability zone for `role`: tagged
/// with the role (value empty or `1`), tagged for `cluster` or for no cluster at all, with at
/// least 8 free addresses; in each zone a subnet tagged for `cluster` first, then the lowest ID.
/// The IDs come back sorted.
///
/// # Errors
/// A sentence naming the tags when fewer than two zones qualify.
pub fn choose_subnets(
    candidates: &[SubnetInfo],
    cluster: &str,
    role: SubnetRole,
) -> Result<Vec<String>, String> {
    let own_tag = format!("{CLUSTER_TAG_PREFIX}{cluster}");
    let mut by_zone: BTreeMap<&str, (bool, &str)> = BTreeMap::new();
    let mut too_full = Vec::new();
    for subnet in candidates {
        let has_role = subnet
            .tags
            .get(role.tag())
            .is_some_and(|value| value.is_empty() || value == "1");
        let ours = subnet.tags.contains_key(&own_tag);
        let another_clusters = !ours
            && subnet
                .tags
                .keys()
                .any(|key| key.starts_with(CLUSTER_TAG_PREFIX));
        if !has_role || another_clusters {
            continue;
        }
        if subnet.available_addresses < MIN_FREE_ADDRESSES {
            too_full.push(subnet.id.as_str());
            continue;
        }
        let candidate = (!ours, subnet.id.as_str());
        by_zone
            .entry(subnet.zone.as_str())
            .and_modify(|best| *best = (*best).min(candidate))
            .or_insert(candidate);
    }
    if by_zone.len() < MIN_ZONES {
        let mut problem = format!(
            "subnets tagged {}=1 (and {own_tag} or no cluster tag) are in {} availability zone(s); an ALB needs {MIN_ZONES}",
            role.tag(),
            by_zone.len()
        );
        if !too_full.is_empty() {
            problem.push_str(&format!(
                "; {} have fewer than {MIN_FREE_ADDRESSES} free addresses",
                too_full.join(", ")
            ));
        }
        return Err(problem);
    }
    let mut chosen: Vec<String> = by_zone.values().map(|(_, id)| (*id).to_owned()).collect();
    chosen.sort();
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(id: &str, zone: &str, free: u64, tags: &[(&str, &str)]) -> SubnetInfo {
        SubnetInfo {
            id: id.into(),
            zone: zone.into(),
            available_addresses: free,
            tags: tags
                .iter()
                .map(|(key, value)| ((*key).into(), (*value).into()))
                .collect(),
        }
    }

    const ELB: (&str, &str) = ("kubernetes.io/role/elb", "1");

    #[test]
    fn one_subnet_per_zone_this_clusters_first_then_the_lowest_id() {
        let candidates = [
            subnet("subnet-0b", "eu-west-1a", 200, &[ELB]),
            subnet("subnet-0a", "eu-west-1a", 200, &[ELB]),
            subnet(
                "subnet-0z",
                "eu-west-1b",
                200,
                &[ELB, ("kubernetes.io/cluster/demo", "shared")],
            ),
            subnet("subnet-0c", "eu-west-1b", 200, &[ELB]),
            subnet(
                "subnet-0d",
                "eu-west-1c",
                200,
                &[("kubernetes.io/role/elb", "")],
            ),
        ];
        assert_eq!(
            choose_subnets(&candidates, "demo", SubnetRole::InternetFacing),
            Ok(vec![
                "subnet-0a".to_owned(),
                "subnet-0d".to_owned(),
                "subnet-0z".to_owned()
            ])
        );
    }

    #[test]
    fn other_clusters_subnets_other_roles_and_full_subnets_are_passed_over() {
        let candidates = [
            subnet(
                "subnet-1",
                "eu-west-1a",
                200,
                &[ELB, ("kubernetes.io/cluster/other", "owned")],
            ),
            subnet(
                "subnet-2",
                "eu-west-1b",
                200,
                &[("kubernetes.io/role/elb", "0")],
            ),
            subnet("subnet-3", "eu-west-1c", 7, &[ELB]),
            subnet("subnet-4", "eu-west-1d", 200, &[ELB]),
            subnet(
                "subnet-5",
                "eu-west-1e",
                200,
                &[("kubernetes.io/role/internal-elb", "1")],
            ),
        ];
        let problem = choose_subnets(&candidates, "demo", SubnetRole::InternetFacing)
            .expect_err("only one zone qualifies");
        assert!(
            problem.contains("kubernetes.io/role/elb=1")
                && problem.contains("in 1 availability zone(s)")
                && problem.contains("subnet-3 have fewer than 8 free addresses"),
            "{problem}"
        );
        assert!(choose_subnets(&candidates, "demo", SubnetRole::Internal).is_err());
    }
}
