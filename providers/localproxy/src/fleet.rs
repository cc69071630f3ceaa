//! Which stacks one proxy fleet serves: the fleet of class `X` (the proxies following
//! `weir-snapshot-X`) serves the Ingress stack `class:X` and every Gateway of GatewayClass `X`,
//! merged into one model, as `weir-proxy --manifests` merges a folder's Ingresses and Gateways.
//!
//! ```text
//! ensure(class:X) ─┐                                   ┌─► publish merged model as class:X
//! ensure(gateway:NS/NAME of GatewayClass X) ─► models of fleet X ─► merge ─┘
//! ```
//!
//! The models are remembered per fleet, and one fleet is published by one call at a time (an
//! async lock per fleet), so two stacks of a fleet reconciled at once never interleave their
//! writes. After a restart the memory is empty: until every stack of a fleet has been ensured
//! again (the controller's first pass, seconds), the fleet's snapshot holds only those ensured
//! so far.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;
use weir_model::{DesiredLoadBalancer, StackId};

use crate::layout::LayoutError;
use crate::merge::merge;

/// The annotation on a fleet's index object listing the stacks merged into it
/// (comma-separated `StackId`s), so `owned_stacks` names each.
pub const MEMBERS_ANNOTATION: &str = "weir.dev/stacks";

/// The models of every fleet's stacks, and a lock per fleet.
#[derive(Debug, Default)]
pub(crate) struct Fleets {
    models: Mutex<BTreeMap<String, BTreeMap<StackId, DesiredLoadBalancer>>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Fleets {
    /// The fleet that serves `desired`: its class for a class stack, its GatewayClass for a
    /// Gateway stack.
    ///
    /// # Errors
    /// [`LayoutError::NotAClass`] for per-Ingress and group stacks, which the fleet does not
    /// serve.
    pub(crate) fn fleet_of(desired: &DesiredLoadBalancer) -> Result<String, LayoutError> {
        match &desired.stack {
            StackId::Class(class) => Ok(class.clone()),
            StackId::Gateway { .. } => Ok(desired.ingress_class.clone()),
            other => Err(LayoutError::NotAClass(other.to_string())),
        }
    }

    /// Waits until no other call publishes `fleet`.
    pub(crate) async fn lock(&self, fleet: &str) -> OwnedMutexGuard<()> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(fleet.to_owned())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Remembers `desired` as its stack's model in `fleet` (and out of any other fleet: a
    /// Gateway may change class) and returns the fleet's merged model and members.
    pub(crate) fn set(
        &self,
        fleet: &str,
        desired: &DesiredLoadBalancer,
    ) -> (DesiredLoadBalancer, Vec<StackId>) {
        let mut models = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, members) in models.iter_mut() {
            if name != fleet {
                members.remove(&desired.stack);
            }
        }
        models.retain(|_, members| !members.is_empty());
        let members = models.entry(fleet.to_owned()).or_default();
        members.insert(desired.stack.clone(), desired.clone());
        merged(fleet, members).unwrap_or_else(|| (desired.clone(), Vec::new()))
    }

    /// The fleet whose remembered models include `stack`.
    pub(crate) fn fleet_holding(&self, stack: &StackId) -> Option<String> {
        let models = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        models
            .iter()
            .find(|(_, members)| members.contains_key(stack))
            .map(|(fleet, _)| fleet.clone())
    }

    /// Forgets `stack` in `fleet`; returns the merged model of the stacks left, if any.
    pub(crate) fn remove(
        &self,
        fleet: &str,
        stack: &StackId,
    ) -> Option<(DesiredLoadBalancer, Vec<StackId>)> {
        let mut models = self.models.lock().unwrap_or_else(PoisonError::into_inner);
        let members = models.get_mut(fleet)?;
        members.remove(stack);
        let rest = merged(fleet, members);
        if members.is_empty() {
            models.remove(fleet);
        }
        rest
    }
}

/// The one model of `fleet`'s stacks (the class stack first, then Gateways by namespace and
/// name), named as the class stack, with the member stacks.
fn merged(
    fleet: &str,
    members: &BTreeMap<StackId, DesiredLoadBalancer>,
) -> Option<(DesiredLoadBalancer, Vec<StackId>)> {
    let stacks: Vec<StackId> = members.keys().cloned().collect();
    let mut model = merge(members.values().cloned().collect())?;
    model.stack = StackId::Class(fleet.to_owned());
    if model.ingress_class.is_empty() {
        model.ingress_class = fleet.to_owned();
    }
    Some((model, stacks))
}
