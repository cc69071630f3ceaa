//! Observe: the stack's resources, found by ownership tags, then described. The number of
//! calls depends on the stack's own size (one tag query, one describe per resource kind, one
//! per listener and target group), never on how many load balancers the region holds.
//! [`observe_with`] shares tag listings and describes across stacks ([`ClusterView`]) and skips
//! the per-target-group call for target sets known from this process's last apply.

use std::collections::BTreeMap;

use weir_model::Protocol;

pub mod observed;
pub mod shared;

use crate::api::{
    AwsApi, Call, CallError, CertificateSummary, Client, LoadBalancerInfo, Op, Reply,
    TaggedResource, Tags, TargetGroupInfo,
};
use crate::apply::known_targets::KnownSet;
use crate::desired::names::{
    Owner, RESOURCE_LOAD_BALANCER, TAG_CLUSTER, TAG_FINGERPRINT, TAG_RESOURCE, TAG_STACK,
};
use crate::observe::observed::{
    Observed, ObservedCertificate, ObservedListener, ObservedTargetGroup,
};
pub use crate::observe::shared::ClusterView;

/// Resource types weir owns, as the tagging API names them.
pub const RESOURCE_TYPES: [&str; 3] = [
    "elasticloadbalancing:loadbalancer",
    "elasticloadbalancing:targetgroup",
    "acm:certificate",
];

/// Describe calls take at most this many ARNs.
pub(crate) const DESCRIBE_BATCH: usize = 20;

/// Every tagged resource of `selector` (cluster, and stack when given).
///
/// # Errors
/// A classified [`CallError`].
pub async fn tagged<A: AwsApi>(
    client: &Client<A>,
    selector: Tags,
) -> Result<Vec<TaggedResource>, CallError> {
    let reply = client
        .send(Call::GetResources {
            tags: selector,
            types: RESOURCE_TYPES
                .iter()
                .map(|kind| (*kind).to_owned())
                .collect(),
        })
        .await?;
    match reply {
        Reply::Resources(resources) => Ok(resources),
        other => Err(CallError::unexpected(Op::GetResources, &other)),
    }
}

/// The stacks (their `weir.dev/stack` tag values) that own anything in `cluster`.
///
/// # Errors
/// A classified [`CallError`].
pub async fn stacks<A: AwsApi>(
    client: &Client<A>,
    cluster: &str,
) -> Result<Vec<String>, CallError> {
    let selector = Tags::from([(TAG_CLUSTER.to_owned(), cluster.to_owned())]);
    let mut stacks: Vec<String> = tagged(client, selector)
        .await?
        .into_iter()
        .filter_map(|resource| resource.tags.get(TAG_STACK).cloned())
        .collect();
    stacks.sort();
    stacks.dedup();
    Ok(stacks)
}

/// Everything `owner` holds.
///
/// # Errors
/// A classified [`CallError`].
///
/// `remembered` are resources recently created (see [`crate::Memory`]): the tag index may not
/// list them yet.
pub async fn observe<A: AwsApi>(
    client: &Client<A>,
    owner: &Owner,
    remembered: &[TaggedResource],
) -> Result<Observed, CallError> {
    let alone = ClusterView::new(std::time::Duration::ZERO);
    observe_with(client, owner, remembered, &BTreeMap::new(), &alone).await
}

/// [`observe`], sharing tag listings and batched describes with other stacks through `view`
/// (see [`ClusterView`]), and taking the targets of the target groups in `known` (by ARN) from
/// there instead of describing them (see [`crate::KnownTargets`]); a target group must still be
/// found by its tags and described to be observed.
///
/// # Errors
/// A classified [`CallError`].
pub async fn observe_with<A: AwsApi>(
    client: &Client<A>,
    owner: &Owner,
    remembered: &[TaggedResource],
    known: &BTreeMap<String, KnownSet>,
    view: &ClusterView,
) -> Result<Observed, CallError> {
    let resources = with_remembered(view.resources(client, owner).await?, remembered);
    let mut load_balancer_arns = Vec::new();
    let mut target_group_tags = BTreeMap::new();
    let mut certificates = Vec::new();
    for resource in resources {
        let logical = resource.tags.get(TAG_RESOURCE).cloned().unwrap_or_default();
        if resource.arn.contains(":loadbalancer/") && logical == RESOURCE_LOAD_BALANCER {
            load_balancer_arns.push(resource.arn);
        } else if resource.arn.contains(":targetgroup/") {
            target_group_tags.insert(resource.arn, logical);
        } else if resource.arn.contains(":certificate/") {
            certificates.push(ObservedCertificate {
                fingerprint: resource.tags.get(TAG_FINGERPRINT).cloned(),
                arn: resource.arn,
                resource: logical,
            });
        }
    }
    certificates.sort_by(|left, right| left.arn.cmp(&right.arn));

    let mut load_balancers = view
        .load_balancers(client, owner.stack(), &load_balancer_arns)
        .await?;
    let name = owner.load_balancer_name();
    load_balancers.sort_by(|left: &LoadBalancerInfo, right| {
        (left.name != name, &left.arn).cmp(&(right.name != name, &right.arn))
    });

    let mut listeners = Vec::new();
    if let Some(kept) = load_balancers.first() {
        let reply = client
            .send(Call::DescribeListeners(kept.arn.clone()))
            .await?;
        let Reply::Listeners(found) = reply else {
            return Err(CallError::unexpected(Op::DescribeListeners, &reply));
        };
        for info in found {
            let reply = client.send(Call::DescribeRules(info.arn.clone())).await?;
            let Reply::Rules(rules) = reply else {
                return Err(CallError::unexpected(Op::DescribeRules, &reply));
            };
            let certificates = if info.protocol == Protocol::Https {
                match client
                    .send(Call::DescribeListenerCertificates(info.arn.clone()))
                    .await?
                {
                    Reply::ListenerCertificates(found) => found,
                    other => {
                        return Err(CallError::unexpected(
                            Op::DescribeListenerCertificates,
                            &other,
                        ));
                    }
                }
            } else {
                Vec::new()
            };
            listeners.push(ObservedListener {
                info,
                certificates,
                rules,
            });
        }
    }

    let arns: Vec<String> = target_group_tags.keys().cloned().collect();
    let groups: Vec<TargetGroupInfo> = view.target_groups(client, owner.stack(), &arns).await?;
    let mut target_groups = Vec::new();
    for info in groups {
        if let Some((_, targets)) = known.get(&info.arn) {
            target_groups.push(ObservedTargetGroup {
                resource: target_group_tags
                    .get(&info.arn)
                    .cloned()
                    .unwrap_or_default(),
                info,
                targets: targets.clone(),
            });
            continue;
        }
        let targets = match client
            .send(Call::DescribeTargetHealth(info.arn.clone()))
            .await
        {
            Ok(Reply::Targets(targets)) => targets.into_iter().collect(),
            Ok(other) => return Err(CallError::unexpected(Op::DescribeTargetHealth, &other)),
            Err(error) if error.is_not_found() => continue,
            Err(error) => return Err(error),
        };
        target_groups.push(ObservedTargetGroup {
            resource: target_group_tags
                .get(&info.arn)
                .cloned()
                .unwrap_or_default(),
            info,
            targets,
        });
    }

    Ok(Observed {
        load_balancers,
        listeners,
        target_groups,
        certificates,
    })
}

/// What a deletion needs of `owner`'s resources: their ARNs, from the one tag query. Deleting
/// a load balancer takes its listeners and rules along, so nothing else is described.
///
/// # Errors
/// A classified [`CallError`].
pub async fn observe_for_delete<A: AwsApi>(
    client: &Client<A>,
    owner: &Owner,
    remembered: &[TaggedResource],
) -> Result<Observed, CallError> {
    let mut observed = Observed::default();
    for resource in with_remembered(tagged(client, owner.selector()).await?, remembered) {
        let logical = resource.tags.get(TAG_RESOURCE).cloned().unwrap_or_default();
        if resource.arn.contains(":loadbalancer/") && logical == RESOURCE_LOAD_BALANCER {
            observed.load_balancers.push(LoadBalancerInfo {
                arn: resource.arn,
                name: String::new(),
                dns_name: String::new(),
                scheme: String::new(),
                vpc_id: String::new(),
                subnets: Vec::new(),
                security_groups: Vec::new(),
            });
        } else if resource.arn.contains(":targetgroup/") {
            observed.target_groups.push(ObservedTargetGroup {
                resource: logical,
                info: TargetGroupInfo {
                    arn: resource.arn,
                    name: String::new(),
                    port: 0,
                    health: Default::default(),
                },
                targets: Default::default(),
            });
        } else if resource.arn.contains(":certificate/") {
            observed.certificates.push(ObservedCertificate {
                fingerprint: resource.tags.get(TAG_FINGERPRINT).cloned(),
                arn: resource.arn,
                resource: logical,
            });
        }
    }
    Ok(observed)
}

/// The tag query's resources plus remembered ones it does not list yet.
fn with_remembered(
    mut resources: Vec<TaggedResource>,
    remembered: &[TaggedResource],
) -> Vec<TaggedResource> {
    for resource in remembered {
        if !resources.iter().any(|found| found.arn == resource.arn) {
            resources.push(resource.clone());
        }
    }
    resources
}

/// Issued ACM certificates, for discovery by host.
///
/// # Errors
/// A classified [`CallError`].
pub async fn issued_certificates<A: AwsApi>(
    client: &Client<A>,
) -> Result<Vec<CertificateSummary>, CallError> {
    match client.send(Call::ListCertificates).await? {
        Reply::Certificates(found) => Ok(found),
        other => Err(CallError::unexpected(Op::ListCertificates, &other)),
    }
}

/// Describes `arns`; when one of them is gone (the tag index lags behind deletions), describes
/// them one by one and skips the missing.
pub(crate) async fn describe_tolerant<A: AwsApi>(
    client: &Client<A>,
    arns: &[String],
    call: fn(Vec<String>) -> Call,
) -> Result<Reply, CallError> {
    match client.send(call(arns.to_vec())).await {
        Err(error) if error.is_not_found() && arns.len() > 1 => {
            let mut merged: Option<Reply> = None;
            for arn in arns {
                match client.send(call(vec![arn.clone()])).await {
                    Ok(reply) => merged = Some(merge(merged, reply)),
                    Err(error) if error.is_not_found() => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(merged.unwrap_or(Reply::Done))
        }
        Err(error) if error.is_not_found() => Ok(Reply::Done),
        other => other,
    }
}

fn merge(into: Option<Reply>, reply: Reply) -> Reply {
    match (into, reply) {
        (Some(Reply::LoadBalancers(mut all)), Reply::LoadBalancers(more)) => {
            all.extend(more);
            Reply::LoadBalancers(all)
        }
        (Some(Reply::TargetGroups(mut all)), Reply::TargetGroups(more)) => {
            all.extend(more);
            Reply::TargetGroups(all)
        }
        (_, reply) => reply,
    }
}
