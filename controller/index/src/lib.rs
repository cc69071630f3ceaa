//! The pure index: which stacks does a change to one Kubernetes object affect?
//!
//! ```text
//! apply(object) / delete(kind, ns, name)        translate(stack)
//!        │                                            │
//!        ▼                                            ▼
//!  objects (ClusterSnapshot) ── Ingress ─► membership ─► stack members ─► StackTranslation
//!        │                                                    │             (records Reads)
//!        └─ Service / EndpointSlice / Secret ─► reverse maps ◄┘
//!                                                 │
//!                              affected stacks ◄──┘
//! ```
//!
//! Fed by synchronous [`Index::apply`] / [`Index::delete`] calls (from kube watchers in the
//! controller, from a folder of YAML in `plan` and `apply --once`), it keeps the objects, each
//! Ingress's stack membership and, per stack, what its last translation read (Services with
//! their EndpointSlices, Secrets, including names that do not exist yet). Each call returns
//! exactly the stacks whose translation may have changed. It also tracks the Ingresses that
//! hold weir's finalizer but have left their stack (deleted, another class, an invalid group):
//! they may let go once that stack has been reconciled without them.
//!
//! No kube client, no tokio, no I/O: every rule here is tested with plain objects.
#![warn(missing_docs)]

mod gateways;
mod leavers;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::Ingress;
use weir_model::{Diagnostic, ObjectRef, StackId};
use weir_translate::{
    ClusterSnapshot, ControllerKind, IgnoredIngress, Kind, KubeObject, Membership,
    StackTranslation, Standing, TranslateConfig, Translation, membership, namespace_of,
    translate_stack,
};

pub use leavers::Leaver;

/// The finalizer weir puts on every Ingress it serves, so that deleting the Ingress (or moving it
/// away) waits until its load balancer resources are cleaned up.
pub const FINALIZER: &str = "weir.dev/cleanup";

/// A namespaced object's key: (namespace, name).
pub type ObjectKey = (String, String);

/// The objects weir reads and what depends on them.
#[derive(Debug)]
pub struct Index {
    config: TranslateConfig,
    snapshot: ClusterSnapshot,
    ingresses: BTreeMap<ObjectKey, IngressEntry>,
    stacks: BTreeMap<StackId, StackEntry>,
    by_service: BTreeMap<ObjectKey, BTreeSet<StackId>>,
    by_secret: BTreeMap<ObjectKey, BTreeSet<StackId>>,
    /// Stacks by the namespaces whose ReferenceGrants their translation consulted.
    by_grant_namespace: BTreeMap<String, BTreeSet<StackId>>,
    /// Stacks by the Namespaces whose labels their translation matched.
    by_namespace_labels: BTreeMap<String, BTreeSet<StackId>>,
    /// The controller whose GatewayClasses' Gateways become stacks; `None`: Gateway API objects
    /// are kept but form no stacks.
    gateway_controller: Option<ControllerKind>,
    /// Gateways that hold [`FINALIZER`] but are no stack of ours (being deleted, another
    /// class): their stack is deleted, then they let go.
    gateway_leavers: BTreeSet<ObjectKey>,
}

/// What the index knows of one Ingress.
#[derive(Debug)]
struct IngressEntry {
    membership: Membership,
    /// The stack it is a member of now: its standing's stack unless it is being deleted.
    stack: Option<StackId>,
    /// It carries [`FINALIZER`].
    holds_finalizer: bool,
    /// It is being deleted (`metadata.deletionTimestamp` is set).
    deleting: bool,
    /// The stack it left while holding the finalizer (deleted, not ours any more, left out);
    /// `None` when it is a member, never was one, or left before this process saw it.
    left: Option<StackId>,
}

/// One stack's members and what its last translation read.
#[derive(Debug, Default)]
struct StackEntry {
    members: BTreeSet<ObjectKey>,
    services: BTreeSet<ObjectKey>,
    secrets: BTreeSet<ObjectKey>,
    grant_namespaces: BTreeSet<String>,
    label_namespaces: BTreeSet<String>,
}

impl Index {
    /// An empty index for a controller translating with `config`.
    pub fn new(config: TranslateConfig) -> Self {
        Self {
            config,
            snapshot: ClusterSnapshot::default(),
            ingresses: BTreeMap::new(),
            stacks: BTreeMap::new(),
            by_service: BTreeMap::new(),
            by_secret: BTreeMap::new(),
            by_grant_namespace: BTreeMap::new(),
            by_namespace_labels: BTreeMap::new(),
            gateway_controller: None,
            gateway_leavers: BTreeSet::new(),
        }
    }

    /// An index holding every object of `snapshot` (a folder of manifests, for `plan` and
    /// `apply --once`).
    pub fn from_snapshot(config: TranslateConfig, snapshot: ClusterSnapshot) -> Self {
        let mut index = Self::new(config);
        index.snapshot = snapshot;
        index.refresh_all_memberships();
        index
    }

    /// Adds or replaces one object and returns the stacks whose translation it may change.
    pub fn apply(&mut self, object: KubeObject) -> BTreeSet<StackId> {
        let kind = object.kind();
        let meta = object.metadata();
        let namespace = namespace_of(meta).to_owned();
        let name = meta.name.clone().unwrap_or_default();
        let mut affected = BTreeSet::new();
        if kind == Kind::EndpointSlice {
            // A slice relabelled for another Service affects the stacks of both.
            self.slice_readers(&namespace, &name, &mut affected);
        }
        let relevant = match (&object, self.snapshot.ingress(&namespace, &name)) {
            (KubeObject::Ingress(new), Some(old)) => translation_inputs_differ(old, new),
            (KubeObject::GatewayApi(new), _) => self.gateway_api_inputs_differ(new),
            _ => true,
        };
        if relevant && kind == Kind::HttpRoute {
            // The Gateways it named before the change.
            self.route_gateway_stacks(&namespace, &name, &mut affected);
        }
        self.snapshot.insert(object);
        if relevant {
            self.after_change(kind, &namespace, &name, &mut affected);
        } else if kind == Kind::Gateway {
            self.refresh_gateway(&(namespace, name), &mut BTreeSet::new());
        } else if kind == Kind::Ingress {
            // Only status, finalizers or bookkeeping changed (often weir's own writes): the
            // finalizer bookkeeping is refreshed, nothing is requeued.
            self.refresh_membership(&(namespace, name), &mut BTreeSet::new());
        }
        affected
    }

    /// Removes one object (absent objects are fine) and returns the stacks whose translation it
    /// may change. Cluster-scoped kinds ignore `namespace`.
    pub fn delete(&mut self, kind: Kind, namespace: &str, name: &str) -> BTreeSet<StackId> {
        let mut affected = BTreeSet::new();
        if kind == Kind::EndpointSlice {
            self.slice_readers(namespace, name, &mut affected);
        }
        if kind == Kind::HttpRoute {
            self.route_gateway_stacks(namespace, name, &mut affected);
        }
        self.snapshot.remove(kind, namespace, name);
        self.after_change(kind, namespace, name, &mut affected);
        affected
    }

    /// Translates one stack from its current members and remembers what it read, so that later
    /// changes to those objects requeue it.
    pub fn translate(&mut self, stack: &StackId) -> StackTranslation {
        if let StackId::Gateway { .. } = stack {
            return match self.translate_gateway(stack) {
                Some(gateway) => gateway.translation,
                None => StackTranslation {
                    stack: stack.clone(),
                    desired: None,
                    diagnostics: Vec::new(),
                    reads: weir_translate::Reads::default(),
                },
            };
        }
        let members = self
            .stacks
            .get(stack)
            .map(|entry| &entry.members)
            .into_iter()
            .flatten()
            .filter_map(|(namespace, name)| self.snapshot.ingress(namespace, name));
        let translation = translate_stack(&self.snapshot, &self.config, stack, members);
        self.record_reads(stack, &translation);
        translation
    }

    /// Translates every stack, as `plan` and `apply --once` do: the same answer as
    /// [`weir_translate::translate`] over the same objects, through the index's own path.
    pub fn translate_all(&mut self) -> Translation {
        let stacks = self.stacks();
        let translated = stacks.iter().map(|stack| self.translate(stack)).collect();
        let mut translation = Translation {
            stacks: translated,
            ..Translation::default()
        };
        for ((namespace, name), entry) in &self.ingresses {
            match &entry.membership.standing {
                Standing::NotOurs(reason) => translation.ignored.push(IgnoredIngress {
                    ingress: ObjectRef::namespaced("Ingress", namespace, name),
                    reason: reason.clone(),
                }),
                Standing::LeftOut => translation
                    .diagnostics
                    .extend(entry.membership.diagnostics.iter().cloned()),
                Standing::Member { .. } => {}
            }
        }
        translation
    }

    /// Every stack that has members or Ingresses still to let go, ordered by id.
    pub fn stacks(&self) -> Vec<StackId> {
        let mut stacks: BTreeSet<StackId> = self.stacks.keys().cloned().collect();
        stacks.extend(
            self.ingresses
                .values()
                .filter_map(|entry| entry.left.clone()),
        );
        stacks.extend(
            self.gateway_leavers
                .iter()
                .map(|(namespace, name)| gateway_stack(namespace, name)),
        );
        stacks.into_iter().collect()
    }

    /// The member Ingresses of `stack`, ordered by namespace and name (for a Gateway stack: the
    /// Gateway, while it is one of ours).
    pub fn members(&self, stack: &StackId) -> Vec<ObjectKey> {
        self.stacks
            .get(stack)
            .map(|entry| entry.members.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The Ingress `namespace/name`, as last applied.
    pub fn ingress(&self, namespace: &str, name: &str) -> Option<&Ingress> {
        self.snapshot.ingress(namespace, name)
    }

    /// Where the Ingress `namespace/name` stands, if the index holds it.
    pub fn membership(&self, namespace: &str, name: &str) -> Option<&Membership> {
        self.ingresses
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|entry| &entry.membership)
    }

    /// Problems of Ingresses that are ours but in no stack (an invalid `group.name`): no stack's
    /// translation reports them.
    pub fn left_out_diagnostics(&self, namespace: &str, name: &str) -> &[Diagnostic] {
        match self.membership(namespace, name) {
            Some(membership) if membership.standing == Standing::LeftOut => &membership.diagnostics,
            _ => &[],
        }
    }

    /// How many objects of `kind` the index holds.
    pub fn count(&self, kind: Kind) -> usize {
        self.snapshot.count(kind)
    }

    /// The objects, as translation sees them.
    pub fn snapshot(&self) -> &ClusterSnapshot {
        &self.snapshot
    }

    /// Re-evaluates an Ingress after its object changed (or went away).
    fn after_change(
        &mut self,
        kind: Kind,
        namespace: &str,
        name: &str,
        affected: &mut BTreeSet<StackId>,
    ) {
        let key = (namespace.to_owned(), name.to_owned());
        match kind {
            Kind::Ingress => self.refresh_membership(&key, affected),
            Kind::IngressClass => affected.extend(self.refresh_all_memberships()),
            Kind::Service => readers(&self.by_service, &key, affected),
            Kind::EndpointSlice => self.slice_readers(namespace, name, affected),
            Kind::Secret => readers(&self.by_secret, &key, affected),
            Kind::GatewayClass => self.refresh_gateways_of_class(name, affected),
            Kind::Gateway => self.refresh_gateway(&key, affected),
            Kind::HttpRoute => self.route_gateway_stacks(namespace, name, affected),
            Kind::ReferenceGrant => readers(&self.by_grant_namespace, namespace, affected),
            Kind::Namespace => readers(&self.by_namespace_labels, name, affected),
        }
    }

    /// The stacks that read the Service an EndpointSlice is labelled for.
    fn slice_readers(&self, namespace: &str, name: &str, affected: &mut BTreeSet<StackId>) {
        if let Some(service) = self.snapshot.slice_service(namespace, name) {
            readers(
                &self.by_service,
                &(namespace.to_owned(), service.to_owned()),
                affected,
            );
        }
    }

    /// Recomputes every Ingress's membership (an IngressClass changed: the default class or a
    /// class's controller may be different now). Returns the stacks that gained or lost members.
    fn refresh_all_memberships(&mut self) -> BTreeSet<StackId> {
        let keys: Vec<ObjectKey> = self
            .snapshot
            .ingresses()
            .map(|ingress| {
                (
                    namespace_of(&ingress.metadata).to_owned(),
                    ingress.metadata.name.clone().unwrap_or_default(),
                )
            })
            .chain(self.ingresses.keys().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut affected = BTreeSet::new();
        for key in keys {
            self.refresh_membership(&key, &mut affected);
        }
        affected
    }

    /// Recomputes one Ingress's membership and finalizer bookkeeping; adds the stacks it left
    /// or joined to `affected`.
    fn refresh_membership(&mut self, key: &ObjectKey, affected: &mut BTreeSet<StackId>) {
        let previous = self.ingresses.remove(key);
        let Some(ingress) = self.snapshot.ingress(&key.0, &key.1) else {
            if let Some(previous) = previous {
                affected.extend(previous.stack.clone());
                self.leave_stack(key, previous.stack.as_ref());
            }
            return;
        };
        let entry = leavers::entry(
            membership(&self.snapshot, &self.config, ingress),
            ingress,
            previous.as_ref(),
        );
        let previous_stack = previous.and_then(|previous| previous.stack);
        if previous_stack != entry.stack {
            affected.extend(previous_stack.clone());
            affected.extend(entry.stack.clone());
            self.leave_stack(key, previous_stack.as_ref());
            if let Some(stack) = &entry.stack {
                self.stacks
                    .entry(stack.clone())
                    .or_default()
                    .members
                    .insert(key.clone());
            }
        } else {
            // Same stack, but the Ingress itself changed (rules, annotations, finalizers).
            affected.extend(entry.stack.clone());
        }
        affected.extend(entry.left.clone());
        self.ingresses.insert(key.clone(), entry);
    }

    /// Removes `key` from `stack`'s members; a stack left without members forgets its reads.
    fn leave_stack(&mut self, key: &ObjectKey, stack: Option<&StackId>) {
        let Some(stack) = stack else { return };
        let Some(entry) = self.stacks.get_mut(stack) else {
            return;
        };
        entry.members.remove(key);
        if entry.members.is_empty() {
            let stack = stack.clone();
            self.forget_reads(&stack);
            self.stacks.remove(&stack);
        }
    }

    fn record_reads(&mut self, stack: &StackId, translation: &StackTranslation) {
        self.forget_reads(stack);
        let Some(entry) = self.stacks.get_mut(stack) else {
            return;
        };
        entry.services = translation.reads.services.clone();
        entry.secrets = translation.reads.secrets.clone();
        entry.grant_namespaces = translation.reads.reference_grant_namespaces.clone();
        entry.label_namespaces = translation.reads.namespace_labels.clone();
        link(&mut self.by_service, &entry.services, stack);
        link(&mut self.by_secret, &entry.secrets, stack);
        link(&mut self.by_grant_namespace, &entry.grant_namespaces, stack);
        link(
            &mut self.by_namespace_labels,
            &entry.label_namespaces,
            stack,
        );
    }

    fn forget_reads(&mut self, stack: &StackId) {
        let Some(entry) = self.stacks.get_mut(stack) else {
            return;
        };
        for key in std::mem::take(&mut entry.services) {
            unlink(&mut self.by_service, &key, stack);
        }
        for key in std::mem::take(&mut entry.secrets) {
            unlink(&mut self.by_secret, &key, stack);
        }
        for namespace in std::mem::take(&mut entry.grant_namespaces) {
            unlink(&mut self.by_grant_namespace, &namespace, stack);
        }
        for namespace in std::mem::take(&mut entry.label_namespaces) {
            unlink(&mut self.by_namespace_labels, &namespace, stack);
        }
    }
}

/// Whether an Ingress changed in what translation or the leaver bookkeeping reads: its spec,
/// labels, annotations or deletion. Status, finalizers, resourceVersion and managed fields do not
/// count, so the controller's own status and finalizer writes requeue nothing.
fn translation_inputs_differ(old: &Ingress, new: &Ingress) -> bool {
    old.spec != new.spec
        || old.metadata.annotations != new.metadata.annotations
        || old.metadata.labels != new.metadata.labels
        || old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
}

/// The stack of the Gateway `namespace/name`.
pub fn gateway_stack(namespace: &str, name: &str) -> StackId {
    StackId::Gateway {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

/// Adds the stacks that read `key` to `affected`.
/// Adds the stacks that read `key` to `affected`.
fn readers<K: Ord + ?Sized, Q: Ord + std::borrow::Borrow<K>>(
    map: &BTreeMap<Q, BTreeSet<StackId>>,
    key: &K,
    affected: &mut BTreeSet<StackId>,
) {
    affected.extend(map.get(key).into_iter().flatten().cloned());
}

/// Files `stack` under each of `keys`.
fn link<K: Ord + Clone>(
    map: &mut BTreeMap<K, BTreeSet<StackId>>,
    keys: &BTreeSet<K>,
    stack: &StackId,
) {
    for key in keys {
        map.entry(key.clone()).or_default().insert(stack.clone());
    }
}

fn unlink<K: Ord>(map: &mut BTreeMap<K, BTreeSet<StackId>>, key: &K, stack: &StackId) {
    if let Some(stacks) = map.get_mut(key) {
        stacks.remove(stack);
        if stacks.is_empty() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests;
