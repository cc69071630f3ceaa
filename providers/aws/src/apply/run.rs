//! Apply: runs a plan's steps in order, one call each, filling in the ARNs of what it creates.
//! A delete of something already gone counts as done.

use std::collections::BTreeMap;

use weir_model::ErrorKind;

use crate::api::{AwsApi, Call, CallError, Client, Op, Reply};
use crate::plan::step::{Ref, Slot, Step};

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
        let op = step.op();
        let call = step
            .clone()
            .resolve(|reference| resolve(&reference, &applied.created, op))?;
        let reply = match client.send(call).await {
            Ok(reply) => reply,
            Err(error) if step.is_delete() && error.is_not_found() => Reply::Done,
            Err(error) => return Err(error),
        };
        record(step, reply, applied)?;
        applied.completed += 1;
    }
    Ok(())
}

/// Remembers what a completed step created, under the slot later steps name it by.
fn record(step: &Step, reply: Reply, applied: &mut Applied) -> Result<(), CallError> {
    let slot = match step {
        Call::CreateLoadBalancer(_) => {
            let Reply::LoadBalancers(mut created) = reply else {
                return Err(CallError::unexpected(step.op(), &reply));
            };
            let Some(load_balancer) = created.pop() else {
                return Err(CallError::unexpected(step.op(), &created));
            };
            applied.created.insert(Slot::Vpc, load_balancer.vpc_id);
            applied.dns_name = Some(load_balancer.dns_name);
            applied
                .created
                .insert(Slot::LoadBalancer, load_balancer.arn);
            return Ok(());
        }
        Call::CreateTargetGroup { key, .. } => Slot::TargetGroup(key.clone()),
        Call::CreateListener { settings, .. } => Slot::Listener(settings.port),
        Call::CreateRule { port, priority, .. } => Slot::Rule(*port, *priority),
        Call::ImportCertificate { resource, .. } => Slot::Certificate(resource.clone()),
        _ => return Ok(()),
    };
    let Reply::Arn(arn) = reply else {
        return Err(CallError::unexpected(step.op(), &reply));
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
