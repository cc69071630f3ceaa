//! Plan steps: each one is exactly one AWS call, naming resources that may not exist yet by
//! [`Slot`]s that apply fills in as it creates them.

use std::fmt;

use weir_model::{Protocol, TargetGroupKey, TlsMaterial};

use crate::api::{Conditions, CreateLoadBalancer, HealthCheck, Op, Tags, TargetId};

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

/// An action whose target group may be created by the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedAction {
    /// Forward to a target group.
    Forward(Ref),
    /// A fixed response.
    Fixed(u16),
    /// Redirect to HTTPS on this port.
    RedirectHttps(u16),
}

impl fmt::Display for PlannedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlannedAction::Forward(target) => write!(f, "forward {target}"),
            PlannedAction::Fixed(status) => write!(f, "fixed-response {status}"),
            PlannedAction::RedirectHttps(port) => write!(f, "redirect HTTPS:{port}"),
        }
    }
}

/// Listener settings with references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedListener {
    /// The port.
    pub port: u16,
    /// HTTP or HTTPS.
    pub protocol: Protocol,
    /// The default action.
    pub default_action: PlannedAction,
    /// The TLS policy (HTTPS).
    pub ssl_policy: Option<String>,
    /// The default certificate (HTTPS).
    pub default_certificate: Option<Ref>,
}

impl fmt::Display for PlannedListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} default={}",
            self.protocol, self.port, self.default_action
        )?;
        if let Some(policy) = &self.ssl_policy {
            write!(f, " ssl-policy={policy}")?;
        }
        if let Some(certificate) = &self.default_certificate {
            write!(f, " certificate={certificate}")?;
        }
        Ok(())
    }
}

/// One step of a plan: one AWS call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Import a Secret into ACM (or re-import it into its certificate after a rotation).
    ImportCertificate {
        /// The logical id.
        resource: String,
        /// The certificate to re-import into.
        reimport: Option<String>,
        /// The material (the key never prints).
        material: TlsMaterial,
        /// Tags (first import only).
        tags: Tags,
    },
    /// Record the fingerprint of a re-imported certificate.
    TagCertificate {
        /// The certificate.
        certificate: String,
        /// The tags.
        tags: Tags,
    },
    /// Create the load balancer.
    CreateLoadBalancer(CreateLoadBalancer),
    /// Change its subnets.
    SetSubnets {
        /// The load balancer.
        load_balancer: String,
        /// Subnet IDs.
        subnets: Vec<String>,
    },
    /// Change its security groups.
    SetSecurityGroups {
        /// The load balancer.
        load_balancer: String,
        /// Security group IDs.
        security_groups: Vec<String>,
    },
    /// Create a target group.
    CreateTargetGroup {
        /// Its key.
        key: TargetGroupKey,
        /// Its name.
        name: String,
        /// The VPC.
        vpc: Ref,
        /// The port.
        port: u16,
        /// Health-check settings.
        health: HealthCheck,
        /// Tags.
        tags: Tags,
    },
    /// Change a target group's health-check settings.
    ModifyTargetGroup {
        /// The target group.
        arn: String,
        /// The settings.
        health: HealthCheck,
    },
    /// Register targets (at most 200).
    RegisterTargets {
        /// The target group.
        target_group: Ref,
        /// The targets.
        targets: Vec<TargetId>,
    },
    /// Deregister targets (at most 200).
    DeregisterTargets {
        /// The target group.
        target_group: Ref,
        /// The targets.
        targets: Vec<TargetId>,
    },
    /// Create a listener.
    CreateListener {
        /// The load balancer.
        load_balancer: Ref,
        /// The listener.
        listener: PlannedListener,
        /// Tags.
        tags: Tags,
    },
    /// Change a listener.
    ModifyListener {
        /// The listener.
        arn: String,
        /// Its new settings.
        listener: PlannedListener,
    },
    /// Remove SNI certificates.
    RemoveListenerCertificates {
        /// The listener.
        listener: Ref,
        /// The certificates.
        certificates: Vec<Ref>,
    },
    /// Add SNI certificates.
    AddListenerCertificates {
        /// The listener.
        listener: Ref,
        /// The certificates.
        certificates: Vec<Ref>,
    },
    /// Change a rule's action in place.
    ModifyRule {
        /// The rule.
        arn: String,
        /// Its (unchanged) conditions.
        conditions: Conditions,
        /// The new action.
        action: PlannedAction,
    },
    /// Create a rule.
    CreateRule {
        /// The listener.
        listener: Ref,
        /// The listener's port (names the created rule's slot).
        port: u16,
        /// The priority.
        priority: u32,
        /// The conditions.
        conditions: Conditions,
        /// The action.
        action: PlannedAction,
        /// Tags.
        tags: Tags,
    },
    /// Move rules, all to free priorities.
    SetRulePriorities(Vec<(Ref, u32)>),
    /// Delete a rule.
    DeleteRule(String),
    /// Delete a listener and its rules.
    DeleteListener(String),
    /// Delete a load balancer with its listeners and rules.
    DeleteLoadBalancer(String),
    /// Delete a target group.
    DeleteTargetGroup(String),
    /// Delete an imported certificate.
    DeleteCertificate(String),
}

impl Step {
    /// The AWS operation the step calls.
    pub fn op(&self) -> Op {
        match self {
            Step::ImportCertificate { .. } => Op::ImportCertificate,
            Step::TagCertificate { .. } => Op::AddTagsToCertificate,
            Step::CreateLoadBalancer(_) => Op::CreateLoadBalancer,
            Step::SetSubnets { .. } => Op::SetSubnets,
            Step::SetSecurityGroups { .. } => Op::SetSecurityGroups,
            Step::CreateTargetGroup { .. } => Op::CreateTargetGroup,
            Step::ModifyTargetGroup { .. } => Op::ModifyTargetGroup,
            Step::RegisterTargets { .. } => Op::RegisterTargets,
            Step::DeregisterTargets { .. } => Op::DeregisterTargets,
            Step::CreateListener { .. } => Op::CreateListener,
            Step::ModifyListener { .. } => Op::ModifyListener,
            Step::RemoveListenerCertificates { .. } => Op::RemoveListenerCertificates,
            Step::AddListenerCertificates { .. } => Op::AddListenerCertificates,
            Step::ModifyRule { .. } => Op::ModifyRule,
            Step::CreateRule { .. } => Op::CreateRule,
            Step::SetRulePriorities(_) => Op::SetRulePriorities,
            Step::DeleteRule(_) => Op::DeleteRule,
            Step::DeleteListener(_) => Op::DeleteListener,
            Step::DeleteLoadBalancer(_) => Op::DeleteLoadBalancer,
            Step::DeleteTargetGroup(_) => Op::DeleteTargetGroup,
            Step::DeleteCertificate(_) => Op::DeleteCertificate,
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.op())?;
        match self {
            Step::ImportCertificate {
                resource,
                reimport,
                material,
                ..
            } => {
                write!(
                    f,
                    "{resource} sha256={}",
                    &material.fingerprint[..12.min(material.fingerprint.len())]
                )?;
                if let Some(arn) = reimport {
                    write!(f, " into {arn}")?;
                }
                Ok(())
            }
            Step::TagCertificate { certificate, tags } => {
                write!(
                    f,
                    "{certificate} {}",
                    join(
                        &tags
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                    )
                )
            }
            Step::CreateLoadBalancer(input) => write!(
                f,
                "{} scheme={} subnets=[{}] security-groups=[{}]",
                input.name,
                input.scheme,
                input.subnets.join(","),
                input.security_groups.join(",")
            ),
            Step::SetSubnets {
                load_balancer,
                subnets,
            } => write!(f, "{load_balancer} [{}]", subnets.join(",")),
            Step::SetSecurityGroups {
                load_balancer,
                security_groups,
            } => write!(f, "{load_balancer} [{}]", security_groups.join(",")),
            Step::CreateTargetGroup {
                key,
                name,
                vpc,
                port,
                health,
                ..
            } => write!(f, "{name} ({key}) type=ip port={port} vpc={vpc} {health}"),
            Step::ModifyTargetGroup { arn, health } => write!(f, "{arn} {health}"),
            Step::RegisterTargets {
                target_group,
                targets,
            }
            | Step::DeregisterTargets {
                target_group,
                targets,
            } => write!(f, "{target_group} [{}]", join(targets)),
            Step::CreateListener {
                load_balancer,
                listener,
                ..
            } => write!(f, "{load_balancer} {listener}"),
            Step::ModifyListener { arn, listener } => write!(f, "{arn} {listener}"),
            Step::RemoveListenerCertificates {
                listener,
                certificates,
            }
            | Step::AddListenerCertificates {
                listener,
                certificates,
            } => write!(f, "{listener} [{}]", join(certificates)),
            Step::ModifyRule {
                arn,
                conditions,
                action,
            } => write!(f, "{arn} {conditions} -> {action}"),
            Step::CreateRule {
                listener,
                priority,
                conditions,
                action,
                ..
            } => write!(f, "{listener} #{priority} {conditions} -> {action}"),
            Step::SetRulePriorities(moves) => write!(
                f,
                "[{}]",
                moves
                    .iter()
                    .map(|(rule, priority)| format!("{rule} -> #{priority}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Step::DeleteRule(arn)
            | Step::DeleteListener(arn)
            | Step::DeleteLoadBalancer(arn)
            | Step::DeleteTargetGroup(arn)
            | Step::DeleteCertificate(arn) => f.write_str(arn),
        }
    }
}
