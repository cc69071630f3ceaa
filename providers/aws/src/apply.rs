//! Apply: runs a plan's steps in order, one call each, filling in the ARNs of what it creates.
//! A delete of something already gone counts as done.

use std::collections::BTreeMap;

use weir_model::ErrorKind;

use crate::api::{ActionSpec, AwsApi, Call, ImportCertificate, ListenerSettings, Op, Reply};
use crate::certs::split_chain;
use crate::client::Client;
use crate::errors::CallError;
use crate::observe::unexpected;
use crate::steps::{PlannedAction, PlannedListener, Ref, Slot, Step};

/// What apply did: how many steps completed, the ARNs of created resources and the created
/// load balancer's DNS name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Steps that completed, from the first.
    pub completed: usize,
    /// ARNs (and the VPC id) by slot.
    pub created: BTreeMap<Slot, String>,
    /// The DNS name of a load balancer created by this apply.
    pub dns_name: Option<String>,
}

/// Runs `steps` in order, recording progress in `applied` (which the caller keeps, failed or
/// not).
///
/// # Errors
/// The first failed call; the steps before it took effect and the next reconcile observes
/// them.
///
/// # Cancel safety
/// Dropping the future stops between (or during) calls; everything created carries its tags
/// from the create call itself, so the next observe finds it.
pub async fn apply<A: AwsApi>(
    client: &Client<A>,
    steps: &[Step],
    applied: &mut Applied,
) -> Result<(), CallError> {
    for step in steps {
        let call = to_call(step, &applied.created)?;
        let op = call.op();
        let reply = match client.send(call).await {
            Ok(reply) => reply,
            Err(error) if is_delete(op) && error.is_not_found() => Reply::Done,
            Err(error) => return Err(error),
        };
        record(step, reply, applied)?;
        applied.completed += 1;
    }
    Ok(())
}

fn is_delete(op: Op) -> bool {
    matches!(
        op,
        Op::DeleteLoadBalancer
            | Op::DeleteListener
            | Op::DeleteRule
            | Op::DeleteTargetGroup
            | Op::DeleteCertificate
    )
}

fn record(step: &Step, reply: Reply, applied: &mut Applied) -> Result<(), CallError> {
    let slot = match step {
        Step::CreateLoadBalancer(_) => {
            let Reply::LoadBalancers(mut created) = reply else {
                return Err(unexpected(step.op(), &reply));
            };
            let Some(load_balancer) = created.pop() else {
                return Err(unexpected(step.op(), &Reply::LoadBalancers(created)));
            };
            applied.created.insert(Slot::Vpc, load_balancer.vpc_id);
            applied.dns_name = Some(load_balancer.dns_name);
            applied
                .created
                .insert(Slot::LoadBalancer, load_balancer.arn);
            return Ok(());
        }
        Step::CreateTargetGroup { key, .. } => Slot::TargetGroup(key.clone()),
        Step::CreateListener { listener, .. } => Slot::Listener(listener.port),
        Step::CreateRule { port, priority, .. } => Slot::Rule(*port, *priority),
        Step::ImportCertificate { resource, .. } => Slot::Certificate(resource.clone()),
        _ => return Ok(()),
    };
    let Reply::Arn(arn) = reply else {
        return Err(unexpected(step.op(), &reply));
    };
    applied.created.insert(slot, arn);
    Ok(())
}

fn resolve(reference: &Ref, created: &BTreeMap<Slot, String>, op: Op) -> Result<String, CallError> {
    match reference {
        Ref::Known(arn) => Ok(arn.clone()),
        Ref::Created(slot) => created.get(slot).cloned().ok_or_else(|| {
            CallError::new(
                op,
                ErrorKind::Permanent,
                None,
                format!("plan refers to {slot} before creating it"),
            )
        }),
    }
}

fn action(
    planned: &PlannedAction,
    created: &BTreeMap<Slot, String>,
    op: Op,
) -> Result<ActionSpec, CallError> {
    Ok(match planned {
        PlannedAction::Forward(target) => ActionSpec::Forward(resolve(target, created, op)?),
        PlannedAction::Fixed(status) => ActionSpec::Fixed(*status),
        PlannedAction::RedirectHttps(port) => ActionSpec::RedirectHttps(*port),
    })
}

fn listener(
    planned: &PlannedListener,
    created: &BTreeMap<Slot, String>,
    op: Op,
) -> Result<ListenerSettings, CallError> {
    Ok(ListenerSettings {
        port: planned.port,
        protocol: planned.protocol,
        default_action: action(&planned.default_action, created, op)?,
        ssl_policy: planned.ssl_policy.clone(),
        default_certificate: planned
            .default_certificate
            .as_ref()
            .map(|certificate| resolve(certificate, created, op))
            .transpose()?,
    })
}

fn to_call(step: &Step, created: &BTreeMap<Slot, String>) -> Result<Call, CallError> {
    let op = step.op();
    let arn = |reference: &Ref| resolve(reference, created, op);
    let arns = |references: &[Ref]| references.iter().map(arn).collect::<Result<Vec<_>, _>>();
    Ok(match step {
        Step::ImportCertificate {
            reimport,
            material,
            tags,
            ..
        } => {
            let (certificate, chain) = split_chain(&material.chain_pem);
            Call::ImportCertificate(ImportCertificate {
                arn: reimport.clone(),
                certificate,
                chain,
                key: material.key.clone(),
                tags: tags.clone(),
            })
        }
        Step::TagCertificate { certificate, tags } => Call::AddTagsToCertificate {
            certificate: certificate.clone(),
            tags: tags.clone(),
        },
        Step::CreateLoadBalancer(input) => Call::CreateLoadBalancer(input.clone()),
        Step::SetSubnets {
            load_balancer,
            subnets,
        } => Call::SetSubnets {
            load_balancer: load_balancer.clone(),
            subnets: subnets.clone(),
        },
        Step::SetSecurityGroups {
            load_balancer,
            security_groups,
        } => Call::SetSecurityGroups {
            load_balancer: load_balancer.clone(),
            security_groups: security_groups.clone(),
        },
        Step::CreateTargetGroup {
            name,
            vpc,
            port,
            health,
            tags,
            ..
        } => Call::CreateTargetGroup {
            name: name.clone(),
            vpc_id: arn(vpc)?,
            port: *port,
            health: health.clone(),
            tags: tags.clone(),
        },
        Step::ModifyTargetGroup {
            arn: target_group,
            health,
        } => Call::ModifyTargetGroup {
            target_group: target_group.clone(),
            health: health.clone(),
        },
        Step::RegisterTargets {
            target_group,
            targets,
        } => Call::RegisterTargets {
            target_group: arn(target_group)?,
            targets: targets.clone(),
        },
        Step::DeregisterTargets {
            target_group,
            targets,
        } => Call::DeregisterTargets {
            target_group: arn(target_group)?,
            targets: targets.clone(),
        },
        Step::CreateListener {
            load_balancer,
            listener: planned,
            tags,
        } => Call::CreateListener {
            load_balancer: arn(load_balancer)?,
            settings: listener(planned, created, op)?,
            tags: tags.clone(),
        },
        Step::ModifyListener {
            arn: listener_arn,
            listener: planned,
        } => Call::ModifyListener {
            listener: listener_arn.clone(),
            settings: listener(planned, created, op)?,
        },
        Step::RemoveListenerCertificates {
            listener: target,
            certificates,
        } => Call::RemoveListenerCertificates {
            listener: arn(target)?,
            certificates: arns(certificates)?,
        },
        Step::AddListenerCertificates {
            listener: target,
            certificates,
        } => Call::AddListenerCertificates {
            listener: arn(target)?,
            certificates: arns(certificates)?,
        },
        Step::ModifyRule {
            arn: rule,
            conditions,
            action: planned,
        } => Call::ModifyRule {
            rule: rule.clone(),
            conditions: conditions.clone(),
            action: action(planned, created, op)?,
        },
        Step::CreateRule {
            listener: target,
            priority,
            conditions,
            action: planned,
            tags,
            ..
        } => Call::CreateRule {
            listener: arn(target)?,
            priority: *priority,
            conditions: conditions.clone(),
            action: action(planned, created, op)?,
            tags: tags.clone(),
        },
        Step::SetRulePriorities(moves) => Call::SetRulePriorities(
            moves
                .iter()
                .map(|(rule, priority)| Ok((arn(rule)?, *priority)))
                .collect::<Result<_, CallError>>()?,
        ),
        Step::DeleteRule(rule) => Call::DeleteRule(rule.clone()),
        Step::DeleteListener(target) => Call::DeleteListener(target.clone()),
        Step::DeleteLoadBalancer(target) => Call::DeleteLoadBalancer(target.clone()),
        Step::DeleteTargetGroup(target) => Call::DeleteTargetGroup(target.clone()),
        Step::DeleteCertificate(target) => Call::DeleteCertificate(target.clone()),
    })
}
