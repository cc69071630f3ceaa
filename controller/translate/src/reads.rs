//! What one stack's translation looked up, so that a change to any of it requeues exactly the
//! stacks that read it (and nothing re-parses annotations to find out).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::ClusterSnapshot;
use crate::gateway_api::ReferenceGrant;

/// The objects one stack's translation looked up, whether they exist or not: a Service created
/// after an Ingress that names it must still requeue the Ingress's stack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    /// Services by (namespace, name). Their EndpointSlices are read through the Service label,
    /// so a slice change affects the stacks that read its Service.
    pub services: BTreeSet<(String, String)>,
    /// TLS Secrets by (namespace, name).
    pub secrets: BTreeSet<(String, String)>,
    /// Namespaces whose ReferenceGrants were consulted (for a cross-namespace reference).
    pub reference_grant_namespaces: BTreeSet<String>,
    /// Namespaces whose labels were matched against a listener's route selector.
    pub namespace_labels: BTreeSet<String>,
}

/// A view of a [`ClusterSnapshot`] that records every lookup a stack's translation makes.
pub(crate) struct RecordingSnapshot<'a> {
    snapshot: &'a ClusterSnapshot,
    reads: RefCell<Reads>,
}

impl<'a> RecordingSnapshot<'a> {
    pub(crate) fn new(snapshot: &'a ClusterSnapshot) -> Self {
        Self {
            snapshot,
            reads: RefCell::default(),
        }
    }

    /// The Service `namespace/name`, recorded as read.
    pub(crate) fn service(&self, namespace: &str, name: &str) -> Option<&'a Service> {
        self.record_service(namespace, name);
        self.snapshot.service(namespace, name)
    }

    /// The EndpointSlices of Service `namespace/service`, recorded as a read of the Service.
    pub(crate) fn endpoint_slices(
        &self,
        namespace: &str,
        service: &str,
    ) -> impl Iterator<Item = &'a EndpointSlice> + use<'a> {
        self.record_service(namespace, service);
        self.snapshot.endpoint_slices(namespace, service)
    }

    /// The Secret `namespace/name`, recorded as read.
    pub(crate) fn secret(&self, namespace: &str, name: &str) -> Option<&'a Secret> {
        self.reads
            .borrow_mut()
            .secrets
            .insert((namespace.to_owned(), name.to_owned()));
        self.snapshot.secret(namespace, name)
    }

    /// The ReferenceGrants of `namespace`, recorded as read.
    pub(crate) fn reference_grants(
        &self,
        namespace: &str,
    ) -> impl Iterator<Item = &'a ReferenceGrant> + use<'a> {
        self.reads
            .borrow_mut()
            .reference_grant_namespaces
            .insert(namespace.to_owned());
        self.snapshot.reference_grants(namespace)
    }

    /// The labels of Namespace `name`, recorded as read.
    pub(crate) fn namespace_labels(&self, name: &str) -> Option<&'a BTreeMap<String, String>> {
        self.reads
            .borrow_mut()
            .namespace_labels
            .insert(name.to_owned());
        self.snapshot.namespace_labels(name)
    }

    /// Everything looked up so far.
    pub(crate) fn into_reads(self) -> Reads {
        self.reads.into_inner()
    }

    fn record_service(&self, namespace: &str, name: &str) {
        self.reads
            .borrow_mut()
            .services
            .insert((namespace.to_owned(), name.to_owned()));
    }
}
