//! The plan (pure): desired [`StackSpec`] against [`Observed`] -> ordered [`Step`]s.
//!
//! ```text
//! imports ─► load balancer ─► target groups + targets ─► listeners + SNI ─► rules ─► deletions
//! ```
//!
//! Register before deregister, remove certificates before adding, and every deletion last
//! (stray listeners, duplicate load balancers, unused target groups, unused imports), so
//! nothing is deleted while something still points at it. An empty spec deletes the load
//! balancer (its listeners and rules go with it), then the target groups and the imports.

pub mod rules;
pub mod step;

use std::collections::{BTreeMap, BTreeSet};

use weir_model::{ErrorKind, ProviderError, TargetGroupKey};

use crate::api::{ActionSpec, Call, CreateLoadBalancer, ListenerSettings, TargetId};
use crate::desired::names::{
    Owner, RESOURCE_LOAD_BALANCER, TAG_FINGERPRINT, listener_resource, rule_resource,
    target_group_resource,
};
use crate::desired::{ActionRef, CertRef, ListenerSpec, LoadBalancerSpec, StackSpec};
use crate::observe::observed::{Observed, ObservedListener};
use crate::plan::rules::{PlannedRule, action_matches, plan_rules};
use crate::plan::step::{Ref, Slot, Step};

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
    let mut steps = Vec::new();
    let imports = plan_imports(spec, observed, &mut steps);
    let load_balancer = plan_load_balancer(&spec.owner, lb_spec, observed, &mut steps)?;
    let groups = plan_target_groups(spec, observed, &load_balancer.vpc, &mut steps);
    let refs = Refs {
        certificates: imports.refs,
        target_groups: groups.refs,
    };
    steps.extend(plan_listeners(spec, observed, &load_balancer.arn, &refs));
    steps.extend(plan_deletions(spec, observed, &imports.kept, &groups.kept));
    Ok(steps)
}

/// How the plan names the stack's certificates and target groups: observed ARNs, or the slots
/// of earlier steps.
struct Refs {
    certificates: BTreeMap<String, Ref>,
    target_groups: BTreeMap<TargetGroupKey, Ref>,
}

impl Refs {
    fn certificate(&self, reference: &CertRef) -> Ref {
        match reference {
            CertRef::Arn(arn) => Ref::Known(arn.clone()),
            CertRef::Import(resource) => self
                .certificates
                .get(resource)
                .cloned()
                .unwrap_or_else(|| Ref::Created(Slot::Certificate(resource.clone()))),
        }
    }

    fn action(&self, action: &ActionRef) -> ActionSpec<Ref> {
        match action {
            ActionRef::Forward(key) => ActionSpec::Forward(self.target_group(key)),
            ActionRef::Weighted(targets) => ActionSpec::Weighted(
                targets
                    .iter()
                    .map(|(key, weight)| (self.target_group(key), *weight))
                    .collect(),
            ),
            ActionRef::Fixed(status) => ActionSpec::Fixed(*status),
            ActionRef::RedirectHttps(port) => ActionSpec::RedirectHttps(*port),
            ActionRef::Respond(fixed) => ActionSpec::Respond(fixed.clone()),
            ActionRef::Redirect(redirect) => ActionSpec::Redirect(redirect.clone()),
        }
    }

    fn target_group(&self, key: &TargetGroupKey) -> Ref {
        self.target_groups
            .get(key)
            .cloned()
            .unwrap_or_else(|| Ref::Created(Slot::TargetGroup(key.clone())))
    }
}

/// The imports' references and the observed imports they keep.
struct Imports {
    refs: BTreeMap<String, Ref>,
    kept: BTreeSet<String>,
}

/// Imports by logical id; a changed fingerprint re-imports into the same ARN.
fn plan_imports(spec: &StackSpec, observed: &Observed, steps: &mut Vec<Step>) -> Imports {
    let mut imports = Imports {
        refs: BTreeMap::new(),
        kept: BTreeSet::new(),
    };
    for (resource, import) in &spec.imports {
        let existing = observed
            .certificates
            .iter()
            .find(|certificate| &certificate.resource == resource);
        let fingerprint = &import.material.fingerprint;
        let mut tags = spec.owner.tags(resource);
        tags.insert(TAG_FINGERPRINT.to_owned(), fingerprint.clone());
        let Some(certificate) = existing else {
            imports.refs.insert(
                resource.clone(),
                Ref::Created(Slot::Certificate(resource.clone())),
            );
            steps.push(Call::ImportCertificate {
                resource: resource.clone(),
                reimport: None,
                material: import.material.clone(),
                tags,
            });
            continue;
        };
        imports.kept.insert(certificate.arn.clone());
        imports
            .refs
            .insert(resource.clone(), Ref::Known(certificate.arn.clone()));
        if certificate.fingerprint.as_ref() != Some(fingerprint) {
            steps.push(Call::ImportCertificate {
                resource: resource.clone(),
                reimport: Some(certificate.arn.clone()),
                material: import.material.clone(),
                tags: BTreeMap::new(),
            });
            // The full set, not only the fingerprint: AWS keeps tags across a re-import, some
            // emulators drop them.
            steps.push(Call::AddTagsToCertificate {
                certificate: certificate.arn.clone(),
                tags,
            });
        }
    }
    imports
}

/// The load balancer and its VPC, as the later steps name them.
struct LoadBalancerRefs {
    arn: Ref,
    vpc: Ref,
}

/// The first observed load balancer is kept (its subnets and security groups set in place);
/// without one, it is created. Duplicates are deleted with the other deletions.
fn plan_load_balancer(
    owner: &Owner,
    lb_spec: &LoadBalancerSpec,
    observed: &Observed,
    steps: &mut Vec<Step>,
) -> Result<LoadBalancerRefs, ProviderError> {
    let Some(existing) = observed.load_balancers.first() else {
        steps.push(Call::CreateLoadBalancer(CreateLoadBalancer {
            name: lb_spec.name.clone(),
            scheme: lb_spec.scheme.clone(),
            subnets: lb_spec.subnets.clone(),
            security_groups: lb_spec.security_groups.clone(),
            tags: owner.tags(RESOURCE_LOAD_BALANCER),
        }));
        return Ok(LoadBalancerRefs {
            arn: Ref::Created(Slot::LoadBalancer),
            vpc: Ref::Created(Slot::Vpc),
        });
    };
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
        steps.push(Call::SetSubnets {
            load_balancer: existing.arn.clone(),
            subnets: lb_spec.subnets.clone(),
        });
    }
    if !lb_spec.security_groups.is_empty() && existing.security_groups != lb_spec.security_groups {
        steps.push(Call::SetSecurityGroups {
            load_balancer: existing.arn.clone(),
            security_groups: lb_spec.security_groups.clone(),
        });
    }
    Ok(LoadBalancerRefs {
        arn: Ref::Known(existing.arn.clone()),
        vpc: Ref::Known(existing.vpc_id.clone()),
    })
}

/// The target groups' references and the observed groups they keep.
struct TargetGroups {
    refs: BTreeMap<TargetGroupKey, Ref>,
    kept: BTreeSet<String>,
}

/// Target groups (created, or their health checks changed in place) and their targets.
fn plan_target_groups(
    spec: &StackSpec,
    observed: &Observed,
    vpc: &Ref,
    steps: &mut Vec<Step>,
) -> TargetGroups {
    let mut groups = TargetGroups {
        refs: BTreeMap::new(),
        kept: BTreeSet::new(),
    };
    for (key, group) in &spec.target_groups {
        let resource = target_group_resource(key);
        let existing = observed
            .target_groups
            .iter()
            .filter(|candidate| candidate.resource == resource)
            .min_by_key(|candidate| (candidate.info.name != group.name, &candidate.info.arn));
        let (reference, registered) = match existing {
            Some(existing) => {
                groups.kept.insert(existing.info.arn.clone());
                if !group.health.is_satisfied_by(&existing.info.health) {
                    steps.push(Call::ModifyTargetGroup {
                        target_group: existing.info.arn.clone(),
                        health: group.health.clone(),
                    });
                }
                (
                    Ref::Known(existing.info.arn.clone()),
                    existing.targets.clone(),
                )
            }
            None => {
                steps.push(Call::CreateTargetGroup {
                    key: key.clone(),
                    name: group.name.clone(),
                    vpc: vpc.clone(),
                    port: group.port,
                    health: group.health.clone(),
                    tags: spec.owner.tags(&resource),
                });
                (
                    Ref::Created(Slot::TargetGroup(key.clone())),
                    BTreeSet::new(),
                )
            }
        };
        steps.extend(plan_targets(&reference, &group.targets, &registered));
        groups.refs.insert(key.clone(), reference);
    }
    groups
}

/// Register the missing targets, then deregister the extra ones, in batches.
fn plan_targets(
    target_group: &Ref,
    desired: &BTreeSet<TargetId>,
    registered: &BTreeSet<TargetId>,
) -> Vec<Step> {
    let register: Vec<TargetId> = desired.difference(registered).copied().collect();
    let deregister: Vec<TargetId> = registered.difference(desired).copied().collect();
    let registers = register
        .chunks(TARGET_BATCH)
        .map(|batch| Call::RegisterTargets {
            target_group: target_group.clone(),
            targets: batch.to_vec(),
        });
    let deregisters = deregister
        .chunks(TARGET_BATCH)
        .map(|batch| Call::DeregisterTargets {
            target_group: target_group.clone(),
            targets: batch.to_vec(),
        });
    registers.chain(deregisters).collect()
}

/// Every listener (created or modified) with its SNI certificates, then every listener's rules.
/// An HTTPS listener that waits for a usable certificate is neither created nor changed; an
/// existing one keeps its certificates and still gets its rules.
fn plan_listeners(
    spec: &StackSpec,
    observed: &Observed,
    load_balancer: &Ref,
    refs: &Refs,
) -> Vec<Step> {
    let rules_on = |port: u16| -> Vec<PlannedRule> {
        spec.rules
            .iter()
            .filter(|rule| rule.on_listener(port))
            .map(|rule| PlannedRule {
                priority: rule.priority,
                conditions: rule.conditions.clone(),
                action: refs.action(&rule.action),
            })
            .collect()
    };
    let mut steps = Vec::new();
    let mut rule_steps = Vec::new();
    for (port, listener) in &spec.listeners {
        let existing = observed
            .listeners
            .iter()
            .find(|found| found.info.port == *port);
        let reference = match (existing, listener.waits_for_certificate) {
            (None, true) => continue,
            (Some(existing), true) => Ref::Known(existing.info.arn.clone()),
            (existing, false) => plan_listener(
                spec,
                *port,
                listener,
                existing,
                load_balancer,
                refs,
                &mut steps,
            ),
        };
        let desired_rules = if listener.routes {
            rules_on(*port)
        } else {
            Vec::new()
        };
        let observed_rules = existing
            .map(|found| found.rules.as_slice())
            .unwrap_or_default();
        rule_steps.extend(plan_rules(
            &reference,
            *port,
            &spec.owner.tags(&rule_resource(*port)),
            &desired_rules,
            observed_rules,
        ));
    }
    steps.extend(rule_steps);
    steps
}

/// One listener: created, or modified when its settings differ; then its SNI certificates.
fn plan_listener(
    spec: &StackSpec,
    port: u16,
    listener: &ListenerSpec,
    existing: Option<&ObservedListener>,
    load_balancer: &Ref,
    refs: &Refs,
    steps: &mut Vec<Step>,
) -> Ref {
    let certificates: Vec<Ref> = listener
        .certificates
        .iter()
        .map(|certificate| refs.certificate(certificate))
        .collect();
    let settings = ListenerSettings {
        port,
        protocol: listener.protocol,
        default_action: refs.action(&listener.default),
        ssl_policy: listener.ssl_policy.clone(),
        default_certificate: certificates.first().cloned(),
    };
    let reference = match existing {
        Some(existing) => {
            if !listener_matches(&settings, existing) {
                steps.push(Call::ModifyListener {
                    listener: existing.info.arn.clone(),
                    settings,
                });
            }
            Ref::Known(existing.info.arn.clone())
        }
        None => {
            steps.push(Call::CreateListener {
                load_balancer: load_balancer.clone(),
                settings,
                tags: spec.owner.tags(&listener_resource(port)),
            });
            Ref::Created(Slot::Listener(port))
        }
    };
    steps.extend(plan_sni(&reference, &certificates, existing));
    reference
}

/// Stray listeners, duplicate load balancers, unused target groups, unused imports.
fn plan_deletions(
    spec: &StackSpec,
    observed: &Observed,
    kept_imports: &BTreeSet<String>,
    kept_groups: &BTreeSet<String>,
) -> Vec<Step> {
    let stray_listeners = observed
        .listeners
        .iter()
        .filter(|found| !spec.listeners.contains_key(&found.info.port))
        .map(|found| Call::DeleteListener(found.info.arn.clone()));
    let duplicates = observed
        .load_balancers
        .iter()
        .skip(1)
        .map(|duplicate| Call::DeleteLoadBalancer(duplicate.arn.clone()));
    let groups = observed
        .target_groups
        .iter()
        .filter(|group| !kept_groups.contains(&group.info.arn))
        .map(|group| Call::DeleteTargetGroup(group.info.arn.clone()));
    let imports = observed
        .certificates
        .iter()
        .filter(|certificate| !kept_imports.contains(&certificate.arn))
        .map(|certificate| Call::DeleteCertificate(certificate.arn.clone()));
    stray_listeners
        .chain(duplicates)
        .chain(groups)
        .chain(imports)
        .collect()
}

/// Everything of the stack goes: load balancers (with listeners and rules), target groups,
/// imports.
fn plan_delete(observed: &Observed) -> Vec<Step> {
    let load_balancers = observed
        .load_balancers
        .iter()
        .map(|found| Call::DeleteLoadBalancer(found.arn.clone()));
    let groups = observed
        .target_groups
        .iter()
        .map(|found| Call::DeleteTargetGroup(found.info.arn.clone()));
    let imports = observed
        .certificates
        .iter()
        .map(|found| Call::DeleteCertificate(found.arn.clone()));
    load_balancers.chain(groups).chain(imports).collect()
}

fn listener_matches(planned: &ListenerSettings<Ref>, existing: &ObservedListener) -> bool {
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
    certificates: &[Ref],
    existing: Option<&ObservedListener>,
) -> Vec<Step> {
    let desired: BTreeSet<&Ref> = certificates.iter().skip(1).collect();
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
        steps.push(Call::RemoveListenerCertificates {
            listener: listener.clone(),
            certificates: remove,
        });
    }
    if !add.is_empty() {
        steps.push(Call::AddListenerCertificates {
            listener: listener.clone(),
            certificates: add,
        });
    }
    steps
}

#[cfg(test)]
mod tests;
