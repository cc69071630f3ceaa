//! The plan (pure): desired [`StackSpec`] against [`Observed`] -> ordered [`Step`]s.
//!
//! Order: imports, load balancer, target groups, targets (register before deregister),
//! listeners, listener certificates (remove before add), rules, then every deletion (stray
//! listeners, duplicate load balancers, unused target groups, unused imports), so nothing is
//! deleted while something still points at it. An empty spec deletes the load balancer (its
//! listeners and rules go with it), then the target groups and the imports.

use std::collections::{BTreeMap, BTreeSet};

use weir_model::{ErrorKind, ProviderError, TargetGroupKey};

use crate::api::{ActionSpec, CreateLoadBalancer, TargetId};
use crate::names::{
    RESOURCE_LOAD_BALANCER, TAG_FINGERPRINT, listener_resource, rule_resource,
    target_group_resource,
};
use crate::observed::{Observed, ObservedListener};
use crate::rule_plan::{PlannedRule, action_matches, plan_rules};
use crate::spec::{ActionRef, CertRef, ListenerSpec, StackSpec};
use crate::steps::{PlannedAction, PlannedListener, Ref, Slot, Step};

/// Most targets one Register/DeregisterTargets call carries.
pub const TARGET_BATCH: usize = 200;

/// The steps that make `observed` look like `spec`.
///
/// # Errors
/// [`ErrorKind::InvalidSpec`] when the change needs a new load balancer (a scheme change).
pub fn plan(spec: &StackSpec, observed: &Observed) -> Result<Vec<Step>, ProviderError> {
    let Some(lb_spec) = &spec.load_balancer else {
        return Ok(plan_delete(observed));
    };
    let owner = &spec.owner;
    let mut steps = Vec::new();
    let mut deletions = Vec::new();

    // Imports: by logical id; a changed fingerprint re-imports into the same ARN.
    let mut certificates: BTreeMap<&str, Ref> = BTreeMap::new();
    let mut kept_imports = BTreeSet::new();
    for (resource, import) in &spec.imports {
        let existing = observed
            .certificates
            .iter()
            .find(|certificate| &certificate.resource == resource);
        let fingerprint = &import.material.fingerprint;
        let mut tags = owner.tags(resource);
        tags.insert(TAG_FINGERPRINT.to_owned(), fingerprint.clone());
        match existing {
            Some(certificate) => {
                kept_imports.insert(certificate.arn.clone());
                certificates.insert(resource, Ref::Known(certificate.arn.clone()));
                if certificate.fingerprint.as_ref() != Some(fingerprint) {
                    steps.push(Step::ImportCertificate {
                        resource: resource.clone(),
                        reimport: Some(certificate.arn.clone()),
                        material: import.material.clone(),
                        tags: BTreeMap::new(),
                    });
                    // The full set, not only the fingerprint: AWS keeps tags across a
                    // re-import, some emulators drop them.
                    steps.push(Step::TagCertificate {
                        certificate: certificate.arn.clone(),
                        tags,
                    });
                }
            }
            None => {
                certificates.insert(resource, Ref::Created(Slot::Certificate(resource.clone())));
                steps.push(Step::ImportCertificate {
                    resource: resource.clone(),
                    reimport: None,
                    material: import.material.clone(),
                    tags,
                });
            }
        }
    }
    let certificate_ref = |reference: &CertRef| match reference {
        CertRef::Arn(arn) => Ref::Known(arn.clone()),
        CertRef::Import(resource) => certificates
            .get(resource.as_str())
            .cloned()
            .unwrap_or_else(|| Ref::Created(Slot::Certificate(resource.clone()))),
    };

    // The load balancer: the first observed one is kept, the others are duplicates.
    let (load_balancer, vpc) = match observed.load_balancers.first() {
        Some(existing) => {
            if existing.scheme != lb_spec.scheme {
                return Err(ProviderError::new(
                    ErrorKind::InvalidSpec,
                    format!(
                        "load balancer {} is {} but the stack asks for {}: a scheme change needs a new load balancer (delete the stack first)",
                        existing.name, existing.scheme, lb_spec.scheme
                    ),
                ));
            }
            if existing.subnets != lb_spec.subnets {
                steps.push(Step::SetSubnets {
                    load_balancer: existing.arn.clone(),
                    subnets: lb_spec.subnets.clone(),
                });
            }
            if !lb_spec.security_groups.is_empty()
                && existing.security_groups != lb_spec.security_groups
            {
                steps.push(Step::SetSecurityGroups {
                    load_balancer: existing.arn.clone(),
                    security_groups: lb_spec.security_groups.clone(),
                });
            }
            (
                Ref::Known(existing.arn.clone()),
                Ref::Known(existing.vpc_id.clone()),
            )
        }
        None => {
            steps.push(Step::CreateLoadBalancer(CreateLoadBalancer {
                name: lb_spec.name.clone(),
                scheme: lb_spec.scheme.clone(),
                subnets: lb_spec.subnets.clone(),
                security_groups: lb_spec.security_groups.clone(),
                tags: owner.tags(RESOURCE_LOAD_BALANCER),
            }));
            (Ref::Created(Slot::LoadBalancer), Ref::Created(Slot::Vpc))
        }
    };
    for duplicate in observed.load_balancers.iter().skip(1) {
        deletions.push(Step::DeleteLoadBalancer(duplicate.arn.clone()));
    }

    // Target groups and their targets.
    let mut target_groups: BTreeMap<&TargetGroupKey, Ref> = BTreeMap::new();
    let mut kept_groups = BTreeSet::new();
    for (key, group) in &spec.target_groups {
        let resource = target_group_resource(key);
        let existing = observed
            .target_groups
            .iter()
            .filter(|candidate| candidate.resource == resource)
            .min_by_key(|candidate| (candidate.info.name != group.name, &candidate.info.arn));
        let (reference, registered) = match existing {
            Some(existing) => {
                kept_groups.insert(existing.info.arn.clone());
                if !group.health.is_satisfied_by(&existing.info.health) {
                    steps.push(Step::ModifyTargetGroup {
                        arn: existing.info.arn.clone(),
                        health: group.health.clone(),
                    });
                }
                (
                    Ref::Known(existing.info.arn.clone()),
                    existing.targets.clone(),
                )
            }
            None => {
                steps.push(Step::CreateTargetGroup {
                    key: key.clone(),
                    name: group.name.clone(),
                    vpc: vpc.clone(),
                    port: group.port,
                    health: group.health.clone(),
                    tags: owner.tags(&resource),
                });
                (
                    Ref::Created(Slot::TargetGroup(key.clone())),
                    BTreeSet::new(),
                )
            }
        };
        let register: Vec<TargetId> = group.targets.difference(&registered).copied().collect();
        let deregister: Vec<TargetId> = registered.difference(&group.targets).copied().collect();
        for batch in register.chunks(TARGET_BATCH) {
            steps.push(Step::RegisterTargets {
                target_group: reference.clone(),
                targets: batch.to_vec(),
            });
        }
        for batch in deregister.chunks(TARGET_BATCH) {
            steps.push(Step::DeregisterTargets {
                target_group: reference.clone(),
                targets: batch.to_vec(),
            });
        }
        target_groups.insert(key, reference);
    }
    let action = |action: &ActionRef| match action {
        ActionRef::Forward(key) => PlannedAction::Forward(
            target_groups
                .get(key)
                .cloned()
                .unwrap_or_else(|| Ref::Created(Slot::TargetGroup(key.clone()))),
        ),
        ActionRef::Fixed(status) => PlannedAction::Fixed(*status),
        ActionRef::RedirectHttps(port) => PlannedAction::RedirectHttps(*port),
    };

    // Listeners, their certificates and rules.
    let rules: Vec<PlannedRule> = spec
        .rules
        .iter()
        .map(|rule| PlannedRule {
            priority: rule.priority,
            conditions: rule.conditions.clone(),
            action: action(&rule.action),
        })
        .collect();
    let mut rule_steps = Vec::new();
    for (port, listener) in &spec.listeners {
        let certificates: Vec<Ref> = listener.certificates.iter().map(certificate_ref).collect();
        let planned = PlannedListener {
            port: *port,
            protocol: listener.protocol,
            default_action: action(&listener.default),
            ssl_policy: listener.ssl_policy.clone(),
            default_certificate: certificates.first().cloned(),
        };
        let existing = observed
            .listeners
            .iter()
            .find(|found| found.info.port == *port);
        let (reference, held) = match existing {
            Some(existing) => {
                if !listener_matches(&planned, existing) {
                    steps.push(Step::ModifyListener {
                        arn: existing.info.arn.clone(),
                        listener: planned,
                    });
                }
                (Ref::Known(existing.info.arn.clone()), Some(existing))
            }
            None => {
                steps.push(Step::CreateListener {
                    load_balancer: load_balancer.clone(),
                    listener: planned,
                    tags: owner.tags(&listener_resource(*port)),
                });
                (Ref::Created(Slot::Listener(*port)), None)
            }
        };
        steps.extend(plan_sni(&reference, listener, &certificates, held));
        let desired_rules: &[PlannedRule] = if listener.routes { &rules } else { &[] };
        let observed_rules = held.map(|found| found.rules.as_slice()).unwrap_or_default();
        rule_steps.extend(plan_rules(
            &reference,
            *port,
            &owner.tags(&rule_resource(*port)),
            desired_rules,
            observed_rules,
        ));
    }
    steps.extend(rule_steps);
    for stray in &observed.listeners {
        if !spec.listeners.contains_key(&stray.info.port) {
            steps.push(Step::DeleteListener(stray.info.arn.clone()));
        }
    }
    steps.extend(deletions);
    for group in &observed.target_groups {
        if !kept_groups.contains(&group.info.arn) {
            steps.push(Step::DeleteTargetGroup(group.info.arn.clone()));
        }
    }
    for certificate in &observed.certificates {
        if !kept_imports.contains(&certificate.arn) {
            steps.push(Step::DeleteCertificate(certificate.arn.clone()));
        }
    }
    Ok(steps)
}

/// Everything of the stack goes: load balancers (with listeners and rules), target groups,
/// imports.
fn plan_delete(observed: &Observed) -> Vec<Step> {
    let mut steps: Vec<Step> = observed
        .load_balancers
        .iter()
        .map(|found| Step::DeleteLoadBalancer(found.arn.clone()))
        .collect();
    steps.extend(
        observed
            .target_groups
            .iter()
            .map(|found| Step::DeleteTargetGroup(found.info.arn.clone())),
    );
    steps.extend(
        observed
            .certificates
            .iter()
            .map(|found| Step::DeleteCertificate(found.arn.clone())),
    );
    steps
}

fn listener_matches(planned: &PlannedListener, existing: &ObservedListener) -> bool {
    let info = &existing.info;
    let default_certificate = existing
        .certificates
        .iter()
        .find(|(_, is_default)| *is_default)
        .map(|(arn, _)| arn);
    let certificate_matches = match (&planned.default_certificate, default_certificate) {
        (None, _) => true,
        (Some(Ref::Known(arn)), Some(found)) => arn == found,
        _ => false,
    };
    info.protocol == planned.protocol
        && action_matches(&planned.default_action, &info.default_action)
        && (planned.ssl_policy.is_none() || planned.ssl_policy == info.ssl_policy)
        && certificate_matches
        && !matches!(info.default_action, ActionSpec::Other(_))
}

/// SNI certificates: every certificate but the default one; removals first.
fn plan_sni(
    listener: &Ref,
    spec: &ListenerSpec,
    certificates: &[Ref],
    existing: Option<&ObservedListener>,
) -> Vec<Step> {
    let desired: BTreeSet<&Ref> = if spec.certificates.is_empty() {
        BTreeSet::new()
    } else {
        certificates.iter().skip(1).collect()
    };
    let held: BTreeSet<Ref> = existing
        .map(|found| {
            found
                .certificates
                .iter()
                .filter(|(_, is_default)| !is_default)
                .map(|(arn, _)| Ref::Known(arn.clone()))
                .collect()
        })
        .unwrap_or_default();
    let remove: Vec<Ref> = held
        .iter()
        .filter(|reference| !desired.contains(reference))
        .cloned()
        .collect();
    let add: Vec<Ref> = desired
        .into_iter()
        .filter(|reference| !held.contains(*reference))
        .cloned()
        .collect();
    let mut steps = Vec::new();
    if !remove.is_empty() {
        steps.push(Step::RemoveListenerCertificates {
            listener: listener.clone(),
            certificates: remove,
        });
    }
    if !add.is_empty() {
        steps.push(Step::AddListenerCertificates {
            listener: listener.clone(),
            certificates: add,
        });
    }
    steps
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
