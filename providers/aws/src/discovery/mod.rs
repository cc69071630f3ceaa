//! Subnet discovery: the subnets a stack's ALB goes into when neither its `subnets` annotation
//! nor the controller's `--subnets` names them, found by the tags EKS and the AWS Load Balancer
//! Controller use.
//!
//! ```text
//! --vpc-id ─► EC2 DescribeSubnets (vpc-id, tag-key kubernetes.io/role/elb | internal-elb)
//!          ─► choose (pure): role tag "" or "1"; this cluster's tag or no cluster tag at all;
//!             8+ free addresses; one per availability zone (this cluster's tag first, then
//!             the lowest ID); at least two zones
//!          ─► DiscoveredSubnets { internet_facing, internal }
//! ```
//!
//! It runs once at start-up, outside the per-stack pipeline (which talks to ELBv2 and ACM only
//! through [`crate::AwsApi`]): one signed EC2 Query call per role, so the controller needs
//! `ec2:DescribeSubnets` but not the EC2 SDK, whose build would outweigh the rest of weir.

mod choose;
mod ec2;

pub use choose::{SubnetRole, choose_subnets};
pub use ec2::{DiscoveryError, SubnetInfo, describe_subnets};

use aws_config::SdkConfig;

use crate::desired::DiscoveredSubnets;

/// The IAM actions discovery needs (beside those of every [`crate::Op`]).
pub const DISCOVERY_IAM_ACTIONS: [&str; 1] = ["ec2:DescribeSubnets"];

/// Discovers the subnets of `vpc_id` for both schemes, for the cluster named `cluster`.
///
/// # Errors
/// [`DiscoveryError`] when EC2 cannot be asked (no region or credentials, the call failed or
/// was refused). A role without qualifying subnets is no error: it is named in
/// [`DiscoveredSubnets::problems`].
pub async fn discover_subnets(
    config: &SdkConfig,
    vpc_id: &str,
    cluster: &str,
) -> Result<DiscoveredSubnets, DiscoveryError> {
    let mut discovered = DiscoveredSubnets::default();
    for role in [SubnetRole::InternetFacing, SubnetRole::Internal] {
        let candidates = describe_subnets(config, vpc_id, role.tag()).await?;
        match choose_subnets(&candidates, cluster, role) {
            Ok(chosen) => match role {
                SubnetRole::InternetFacing => discovered.internet_facing = chosen,
                SubnetRole::Internal => discovered.internal = chosen,
            },
            Err(problem) => discovered.problems.push(format!("{vpc_id}: {problem}")),
        }
    }
    Ok(discovered)
}
