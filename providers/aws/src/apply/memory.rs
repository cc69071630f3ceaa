//! Resources this process created recently, remembered for a while.
//!
//! The tag index behind `GetResources` is eventually consistent on AWS: a load balancer created
//! a moment ago may not be listed yet, and a resync right then would try to create it again.
//! So what apply creates is remembered (with its tags) for a time longer than the index lags,
//! and observe adds it to what the tag query found. Deleted resources are forgotten at once.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::api::{Call, TaggedResource, Tags};
use crate::apply::run::Applied;
use crate::plan::step::{Slot, Step};

/// How long created resources are remembered by default.
pub const DEFAULT_MEMORY: Duration = Duration::from_secs(300);

/// Recently created resources per stack.
#[derive(Debug)]
pub struct Memory {
    ttl: Duration,
    stacks: Mutex<BTreeMap<String, StackMemory>>,
}

/// One stack's remembered resources: ARN -> (when learned, tags).
#[derive(Debug, Default)]
struct StackMemory(BTreeMap<String, (Instant, Tags)>);

impl Memory {
    /// Remembers resources for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            stacks: Mutex::new(BTreeMap::new()),
        }
    }

    /// The remembered, unexpired resources of `stack`.
    pub fn recall(&self, stack: &str) -> Vec<TaggedResource> {
        let mut stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(StackMemory(resources)) = stacks.get_mut(stack) else {
            return Vec::new();
        };
        resources.retain(|_, (at, _)| at.elapsed() < self.ttl);
        resources
            .iter()
            .map(|(arn, (_, tags))| TaggedResource {
                arn: arn.clone(),
                tags: tags.clone(),
            })
            .collect()
    }

    /// Stacks with unexpired remembered resources.
    pub fn stacks(&self) -> Vec<String> {
        let stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        stacks
            .iter()
            .filter(|(_, StackMemory(resources))| {
                resources.values().any(|(at, _)| at.elapsed() < self.ttl)
            })
            .map(|(stack, _)| stack.clone())
            .collect()
    }

    /// Forgets everything remembered of `stack` (after AWS said something remembered is gone).
    pub fn forget(&self, stack: &str) {
        self.stacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(stack);
    }

    /// Learns from the completed steps of an apply: what they created, re-tagged or deleted.
    pub fn learn(&self, stack: &str, steps: &[Step], applied: &Applied) {
        let mut stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        let StackMemory(resources) = stacks.entry(stack.to_owned()).or_default();
        let now = Instant::now();
        for step in steps.iter().take(applied.completed) {
            let created = |slot: &Slot| applied.created.get(slot).cloned();
            match step {
                Call::CreateLoadBalancer(input) => {
                    if let Some(arn) = created(&Slot::LoadBalancer) {
                        resources.insert(arn, (now, input.tags.clone()));
                    }
                }
                Call::CreateTargetGroup { key, tags, .. } => {
                    if let Some(arn) = created(&Slot::TargetGroup(key.clone())) {
                        resources.insert(arn, (now, tags.clone()));
                    }
                }
                Call::ImportCertificate {
                    resource,
                    reimport: None,
                    tags,
                    ..
                } => {
                    if let Some(arn) = created(&Slot::Certificate(resource.clone())) {
                        resources.insert(arn, (now, tags.clone()));
                    }
                }
                Call::AddTagsToCertificate { certificate, tags } => {
                    if let Some((at, held)) = resources.get_mut(certificate) {
                        *at = now;
                        held.extend(tags.clone());
                    }
                }
                Call::DeleteLoadBalancer(arn)
                | Call::DeleteTargetGroup(arn)
                | Call::DeleteCertificate(arn) => {
                    resources.remove(arn);
                }
                _ => {}
            }
        }
        if resources.is_empty() {
            stacks.remove(stack);
        }
    }
}

#[cfg(test)]
mod tests {
    use weir_model::StackId;

    use super::*;
    use crate::api::CreateLoadBalancer;
    use crate::desired::names::Owner;

    fn create() -> Step {
        let owner = Owner::new("c", &StackId::Group("g".into()));
        Call::CreateLoadBalancer(CreateLoadBalancer {
            name: owner.load_balancer_name(),
            scheme: "internal".into(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            tags: owner.tags("load-balancer"),
        })
    }

    #[test]
    fn created_resources_are_recalled_until_deleted_or_expired() {
        let memory = Memory::new(Duration::from_secs(60));
        let mut applied = Applied {
            completed: 1,
            ..Applied::default()
        };
        applied.created.insert(Slot::LoadBalancer, "arn:lb".into());
        memory.learn("group:g", &[create()], &applied);
        let recalled = memory.recall("group:g");
        assert_eq!(recalled.len(), 1);
        assert_eq!(recalled[0].arn, "arn:lb");
        assert_eq!(recalled[0].tags["weir.dev/resource"], "load-balancer");
        assert_eq!(memory.stacks(), ["group:g"]);

        let deleted = Applied {
            completed: 1,
            ..Applied::default()
        };
        memory.learn(
            "group:g",
            &[Call::DeleteLoadBalancer("arn:lb".into())],
            &deleted,
        );
        assert!(memory.recall("group:g").is_empty());
        assert!(memory.stacks().is_empty());

        let forgetful = Memory::new(Duration::ZERO);
        forgetful.learn("group:g", &[create()], &applied);
        assert!(forgetful.recall("group:g").is_empty());
    }

    #[test]
    fn steps_that_did_not_complete_teach_nothing() {
        let memory = Memory::new(Duration::from_secs(60));
        let mut applied = Applied::default();
        applied.created.insert(Slot::LoadBalancer, "arn:lb".into());
        memory.learn("group:g", &[create()], &applied);
        assert!(memory.recall("group:g").is_empty());
    }
}
