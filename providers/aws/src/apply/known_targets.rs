//! The targets of each target group as this process last left them, for a while.
//!
//! `DescribeTargetHealth` takes one target group per call, so re-observing a stack costs one
//! call per target group: 50 for a group of 50 Ingresses, on every reconcile. Right after a
//! successful apply the provider knows each target group's targets exactly (what it observed,
//! plus what it registered, minus what it deregistered), so a reconcile soon after (the next
//! Ingress of a group arriving, an EndpointSlice change) can plan from that instead. Each set
//! keeps the time it was last *described* (or created empty): a set older than the time to
//! live is described again, however often the stack was reconciled meanwhile, so targets
//! changed by hand in AWS are repaired within that time (and by every drift-repair reconcile
//! when the time to live is shorter than the resync period). A failed apply, a deletion or a
//! not-found error forgets the stack's sets. Off (a zero time to live) unless asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::api::{Call, TargetId};
use crate::apply::run::Applied;
use crate::observe::observed::Observed;
use crate::plan::step::{Ref, Slot, Step};

/// A target group's targets and when they were last described.
pub type KnownSet = (Instant, BTreeSet<TargetId>);

/// Known target sets per stack, by target group ARN.
#[derive(Debug)]
pub struct KnownTargets {
    ttl: Duration,
    stacks: Mutex<BTreeMap<String, BTreeMap<String, KnownSet>>>,
}

impl KnownTargets {
    /// Keeps sets for `ttl` after they were described (zero: keeps nothing).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            stacks: Mutex::new(BTreeMap::new()),
        }
    }

    /// The unexpired sets of `stack`, by target group ARN.
    pub fn recall(&self, stack: &str) -> BTreeMap<String, KnownSet> {
        if self.ttl.is_zero() {
            return BTreeMap::new();
        }
        let stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        stacks
            .get(stack)
            .into_iter()
            .flatten()
            .filter(|(_, (at, _))| at.elapsed() < self.ttl)
            .map(|(arn, set)| (arn.clone(), set.clone()))
            .collect()
    }

    /// Learns from an apply of `steps` that completed every step: the targets of every target
    /// group of `observed` (those taken from `recalled` keep their time), changed by what the
    /// steps created, registered, deregistered and deleted.
    pub fn learn(
        &self,
        stack: &str,
        observed: &Observed,
        recalled: &BTreeMap<String, KnownSet>,
        steps: &[Step],
        applied: &Applied,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        if applied.completed < steps.len() {
            self.forget(stack);
            return;
        }
        let now = Instant::now();
        let mut sets: BTreeMap<String, KnownSet> = observed
            .target_groups
            .iter()
            .map(|group| {
                let at = recalled.get(&group.info.arn).map_or(now, |(at, _)| *at);
                (group.info.arn.clone(), (at, group.targets.clone()))
            })
            .collect();
        let arn = |reference: &Ref| match reference {
            Ref::Known(arn) => Some(arn.clone()),
            Ref::Created(slot) => applied.created.get(slot).cloned(),
        };
        for step in steps {
            match step {
                Call::CreateTargetGroup { key, .. } => {
                    if let Some(arn) = applied.created.get(&Slot::TargetGroup(key.clone())) {
                        sets.insert(arn.clone(), (now, BTreeSet::new()));
                    }
                }
                Call::RegisterTargets {
                    target_group,
                    targets,
                } => {
                    if let Some((_, set)) = arn(target_group).and_then(|arn| sets.get_mut(&arn)) {
                        set.extend(targets.iter().copied());
                    }
                }
                Call::DeregisterTargets {
                    target_group,
                    targets,
                } => {
                    if let Some((_, set)) = arn(target_group).and_then(|arn| sets.get_mut(&arn)) {
                        for target in targets {
                            set.remove(target);
                        }
                    }
                }
                Call::DeleteTargetGroup(arn) => {
                    sets.remove(arn);
                }
                _ => {}
            }
        }
        let mut stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        if sets.is_empty() {
            stacks.remove(stack);
        } else {
            stacks.insert(stack.to_owned(), sets);
        }
    }

    /// Forgets every set of `stack`.
    pub fn forget(&self, stack: &str) {
        self.stacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(stack);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use weir_model::TargetGroupKey;

    use super::*;
    use crate::api::{HealthCheck, TargetGroupInfo};
    use crate::observe::observed::ObservedTargetGroup;

    fn target(last: u8) -> TargetId {
        TargetId {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            port: 8080,
        }
    }

    fn observed(arn: &str, targets: &[u8]) -> Observed {
        Observed {
            target_groups: vec![ObservedTargetGroup {
                resource: "target-group/x".into(),
                info: TargetGroupInfo {
                    arn: arn.into(),
                    name: "x".into(),
                    port: 80,
                    health: HealthCheck::default(),
                },
                targets: targets.iter().map(|last| target(*last)).collect(),
            }],
            ..Observed::default()
        }
    }

    fn key() -> TargetGroupKey {
        TargetGroupKey {
            namespace: "ns".into(),
            service: "web".into(),
            port: 80,
        }
    }

    #[test]
    fn an_apply_teaches_the_resulting_targets_and_keeps_the_describe_time() {
        let known = KnownTargets::new(Duration::from_secs(60));
        let steps: Vec<Step> = vec![
            Call::RegisterTargets {
                target_group: Ref::Known("arn:tg".into()),
                targets: vec![target(3)],
            },
            Call::DeregisterTargets {
                target_group: Ref::Known("arn:tg".into()),
                targets: vec![target(1)],
            },
            Call::CreateTargetGroup {
                key: key(),
                name: "new".into(),
                vpc: Ref::Known("vpc".into()),
                port: 80,
                health: HealthCheck::default(),
                tags: Default::default(),
            },
            Call::RegisterTargets {
                target_group: Ref::Created(Slot::TargetGroup(key())),
                targets: vec![target(9)],
            },
        ];
        let mut applied = Applied {
            completed: steps.len(),
            ..Applied::default()
        };
        applied
            .created
            .insert(Slot::TargetGroup(key()), "arn:new".into());
        known.learn(
            "s",
            &observed("arn:tg", &[1, 2]),
            &BTreeMap::new(),
            &steps,
            &applied,
        );
        let recalled = known.recall("s");
        assert_eq!(recalled["arn:tg"].1, [target(2), target(3)].into());
        assert_eq!(recalled["arn:new"].1, [target(9)].into());

        // A later apply from the recalled sets keeps their describe time.
        let first = recalled["arn:tg"].0;
        known.learn(
            "s",
            &observed("arn:tg", &[2, 3]),
            &recalled,
            &[],
            &Applied::default(),
        );
        let again = known.recall("s");
        assert_eq!(again["arn:tg"].0, first);
        assert!(
            !again.contains_key("arn:new"),
            "a group no longer observed is dropped"
        );
    }

    #[test]
    fn an_unfinished_apply_or_a_zero_ttl_teaches_nothing() {
        let known = KnownTargets::new(Duration::from_secs(60));
        known.learn(
            "s",
            &observed("arn:tg", &[1]),
            &BTreeMap::new(),
            &[],
            &Applied::default(),
        );
        assert_eq!(known.recall("s").len(), 1);
        let steps: Vec<Step> = vec![Call::DeleteTargetGroup("arn:tg".into())];
        known.learn(
            "s",
            &observed("arn:tg", &[1]),
            &BTreeMap::new(),
            &steps,
            &Applied::default(),
        );
        assert!(known.recall("s").is_empty(), "a failed apply forgets");

        let off = KnownTargets::new(Duration::ZERO);
        off.learn(
            "s",
            &observed("arn:tg", &[1]),
            &BTreeMap::new(),
            &[],
            &Applied::default(),
        );
        assert!(off.recall("s").is_empty());
    }
}
