//! Gateway stacks: one per Gateway whose GatewayClass names this controller. A GatewayClass
//! change affects the stacks of its Gateways, a Gateway change its own stack, an HTTPRoute
//! change the stacks of the Gateways its parentRefs name (before and after the change); the
//! Services and Secrets a Gateway stack read are in the same reverse maps as an Ingress
//! stack's. A Gateway holding [`FINALIZER`] that is no stack of ours any more (being deleted,
//! another class) keeps its stack listed until it has been deleted and the Gateway let go.

use std::collections::BTreeSet;

use weir_model::StackId;
use weir_translate::{
    ControllerKind, GatewayApiObject, GatewayStackTranslation, gateway_is_ours, namespace_of,
    translate_gateway_stack,
};

use crate::{FINALIZER, Index, ObjectKey, StackEntry, gateway_stack};

/// The Gateway API group, the default of a parentRef's `group`.
const GROUP: &str = "gateway.networking.k8s.io";

impl Index {
    /// Makes the Gateways of `controller`'s GatewayClasses stacks (`run` does, when the cluster
    /// serves the Gateway API; `plan` translates Gateways on its own).
    #[must_use]
    pub fn with_gateways(mut self, controller: ControllerKind) -> Self {
        self.serve_gateways(controller);
        self
    }

    /// As [`Index::with_gateways`], on an index in use (`run`, when the Gateway API CRDs
    /// appear after start-up). Returns the stacks of the Gateways it already holds.
    pub fn serve_gateways(&mut self, controller: ControllerKind) -> BTreeSet<StackId> {
        self.gateway_controller = Some(controller);
        let keys = self.snapshot.keys(weir_translate::Kind::Gateway);
        let mut affected = BTreeSet::new();
        for key in keys {
            self.refresh_gateway(&key, &mut affected);
        }
        affected
    }

    /// Translates the Gateway stack `stack` with its listeners' and routes' status, and
    /// remembers what it read. `None` when it is no stack of ours now (the Gateway is gone,
    /// being deleted or of another class): the stack is to be deleted.
    pub fn translate_gateway(&mut self, stack: &StackId) -> Option<GatewayStackTranslation> {
        let StackId::Gateway { namespace, name } = stack else {
            return None;
        };
        let controller = self.gateway_controller?;
        if !self.stacks.contains_key(stack) {
            return None;
        }
        let translation = translate_gateway_stack(&self.snapshot, controller, namespace, name)?;
        self.record_reads(stack, &translation.translation);
        Some(translation)
    }

    /// The Gateway `namespace/name`, as last applied.
    pub fn gateway(&self, namespace: &str, name: &str) -> Option<&weir_translate::Gateway> {
        self.snapshot.gateway(namespace, name)
    }

    /// The HTTPRoute `namespace/name`, as last applied.
    pub fn http_route(&self, namespace: &str, name: &str) -> Option<&weir_translate::HttpRoute> {
        self.snapshot.http_route(namespace, name)
    }

    /// Whether a Gateway API object changed in what translation reads: its spec (seen through
    /// `metadata.generation`, which status writes leave alone), labels, annotations or deletion.
    /// Objects without a generation (from files) always count as changed.
    pub(crate) fn gateway_api_inputs_differ(&self, new: &GatewayApiObject) -> bool {
        let meta = new.metadata();
        let namespace = namespace_of(meta);
        let name = meta.name.as_deref().unwrap_or_default();
        let old = match new {
            GatewayApiObject::GatewayClass(_) => self
                .snapshot
                .gateway_class(name)
                .map(|class| &class.metadata),
            GatewayApiObject::Gateway(_) => self
                .snapshot
                .gateway(namespace, name)
                .map(|gateway| &gateway.metadata),
            GatewayApiObject::HttpRoute(_) => self
                .snapshot
                .http_route(namespace, name)
                .map(|route| &route.metadata),
            GatewayApiObject::ReferenceGrant(_) => self
                .snapshot
                .reference_grants(namespace)
                .find(|grant| grant.metadata.name.as_deref() == Some(name))
                .map(|grant| &grant.metadata),
            // Only a Namespace's labels are read (and kept).
            GatewayApiObject::Namespace(_) => {
                return self.snapshot.namespace_labels(name)
                    != Some(meta.labels.as_ref().unwrap_or(&Default::default()));
            }
        };
        old.is_none_or(|old| {
            old.generation.is_none()
                || old.generation != meta.generation
                || old.labels != meta.labels
                || old.annotations != meta.annotations
                || old.deletion_timestamp != meta.deletion_timestamp
        })
    }

    /// Adds the stacks of ours among the Gateways the HTTPRoute `namespace/name` names now.
    pub(crate) fn route_gateway_stacks(
        &self,
        namespace: &str,
        name: &str,
        affected: &mut BTreeSet<StackId>,
    ) {
        let Some(route) = self.snapshot.http_route(namespace, name) else {
            return;
        };
        for parent in &route.spec.parent_refs {
            let names_gateway = parent.group.as_deref().is_none_or(|group| group == GROUP)
                && parent.kind.as_deref().is_none_or(|kind| kind == "Gateway");
            if !names_gateway {
                continue;
            }
            let stack = gateway_stack(
                parent.namespace.as_deref().unwrap_or(namespace),
                &parent.name,
            );
            if self.stacks.contains_key(&stack) {
                affected.insert(stack);
            }
        }
    }

    /// Re-evaluates every Gateway of the GatewayClass `class` (it changed or went away).
    pub(crate) fn refresh_gateways_of_class(
        &mut self,
        class: &str,
        affected: &mut BTreeSet<StackId>,
    ) {
        let keys: Vec<ObjectKey> = self
            .snapshot
            .gateways()
            .filter(|gateway| gateway.spec.gateway_class_name == class)
            .map(|gateway| {
                (
                    namespace_of(&gateway.metadata).to_owned(),
                    gateway.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        for key in keys {
            self.refresh_gateway(&key, affected);
        }
    }

    /// Recomputes whether the Gateway `key` is a stack of ours and whether it must let go of
    /// the finalizer; adds its stack to `affected` when it is or was a stack or a leaver.
    pub(crate) fn refresh_gateway(&mut self, key: &ObjectKey, affected: &mut BTreeSet<StackId>) {
        let stack = gateway_stack(&key.0, &key.1);
        let was_stack = self.stacks.contains_key(&stack);
        let was_leaver = self.gateway_leavers.contains(key);
        let gateway = self.snapshot.gateway(&key.0, &key.1);
        let is_stack = match (self.gateway_controller, gateway) {
            (Some(controller), Some(gateway)) => {
                gateway.metadata.deletion_timestamp.is_none()
                    && gateway_is_ours(&self.snapshot, gateway, controller)
            }
            _ => false,
        };
        let holds_finalizer = gateway.is_some_and(|gateway| {
            gateway
                .metadata
                .finalizers
                .iter()
                .flatten()
                .any(|finalizer| finalizer == FINALIZER)
        });
        if holds_finalizer && !is_stack {
            self.gateway_leavers.insert(key.clone());
        } else {
            self.gateway_leavers.remove(key);
        }
        if is_stack && !was_stack {
            self.stacks.insert(
                stack.clone(),
                StackEntry {
                    members: BTreeSet::from([key.clone()]),
                    ..StackEntry::default()
                },
            );
        } else if was_stack && !is_stack {
            self.forget_reads(&stack);
            self.stacks.remove(&stack);
        }
        if was_stack || was_leaver || is_stack || holds_finalizer {
            affected.insert(stack);
        }
    }
}

#[cfg(test)]
#[path = "gateway_tests.rs"]
mod tests;
