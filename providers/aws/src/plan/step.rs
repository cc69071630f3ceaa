//! Plan steps: each one is exactly one AWS [`Call`], naming resources that may not exist yet by
//! [`Slot`]s that apply fills in as it creates them.

use std::fmt;

use weir_model::TargetGroupKey;

use crate::api::Call;

/// A resource created earlier in the same plan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// The stack's load balancer.
    LoadBalancer,
    /// The VPC of the created load balancer.
    Vpc,
    /// The listener on this port.
    Listener(u16),
    /// The target group of this key.
    TargetGroup(TargetGroupKey),
    /// The rule of this listener port created at this priority.
    Rule(u16, u32),
    /// The import of this logical certificate id.
    Certificate(String),
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slot::LoadBalancer => f.write_str("<new load balancer>"),
            Slot::Vpc => f.write_str("<vpc of the new load balancer>"),
            Slot::Listener(port) => write!(f, "<new listener :{port}>"),
            Slot::TargetGroup(key) => write!(f, "<new target group {key}>"),
            Slot::Rule(port, priority) => write!(f, "<new rule :{port} #{priority}>"),
            Slot::Certificate(resource) => write!(f, "<new {resource}>"),
        }
    }
}

/// An ARN (or VPC id), known now or filled in by an earlier step.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    /// Known from observation.
    Known(String),
    /// Created by an earlier step of the plan.
    Created(Slot),
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Known(arn) => f.write_str(arn),
            Ref::Created(slot) => slot.fmt(f),
        }
    }
}

/// One step of a plan: exactly one AWS call, naming what an earlier step creates by [`Ref`].
pub type Step = Call<Ref>;
