//! One reconcile of one Gateway stack, level-triggered like an Ingress stack's:
//!
//! ```text
//! index.translate_gateway(stack)
//!   ├─ a Gateway of ours: finalizer on it ─► provider.ensure ─► Events for new diagnostics
//!   │                     ─► Gateway status (addresses, Accepted, Programmed, listeners)
//!   │                     ─► each attached HTTPRoute: our parents[] entries for this Gateway
//!   │                     ─► routes that no longer name it: our entries for it taken out
//!   └─ none (gone, being deleted, another class): provider.delete ─► routes' entries for it
//!                                                 taken out ─► the Gateway lets go
//! ```
//!
//! Every write happens only while this process holds the Lease and only when it changes
//! something.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use weir_model::{
    Diagnostic, ErrorKind, LoadBalancerAddress, ObjectRef, Provider, ProviderError, StackId,
};
use weir_translate::{Gateway, GatewayStackTranslation, HttpRoute, RouteStatus, namespace_of};

use super::{ReconcileError, Reconciler, fingerprint};
use crate::finalizers;
use crate::gateway_status::{Programmed, gateway_status, now, route_parents, without_gateway};
use crate::locking::lock;
use crate::status_source::SourcedStatus;

/// A consistent piece of the index for one Gateway stack's reconcile.
struct GatewayWork {
    /// `None`: the stack is to be deleted.
    translation: Option<GatewayStackTranslation>,
    /// The Gateway as last seen, if it still exists.
    gateway: Option<Gateway>,
    /// Each route naming the Gateway, with its status towards it, as last seen.
    routes: Vec<(RouteStatus, HttpRoute)>,
    /// Routes that name it no more but still hold weir's status entry for it.
    stale: Vec<HttpRoute>,
}

impl<P: Provider> Reconciler<P> {
    /// Converges the Gateway stack `stack` (see the module docs).
    pub(super) async fn converge_gateway(
        &self,
        stack: &StackId,
        namespace: &str,
        name: &str,
    ) -> Result<(), ReconcileError> {
        let Some(writes) = self.gateway_writes.get() else {
            // The Gateway API is not watched here: nothing asks for this stack.
            self.leader()?;
            self.provider.delete(stack).await?;
            return Ok(());
        };
        let work = self.take_gateway_work(stack, namespace, name);
        let (Some(translation), Some(gateway)) = (&work.translation, &work.gateway) else {
            self.leader()?;
            self.provider.delete(stack).await?;
            self.clear_stale(writes, &work, namespace, name).await?;
            if let Some(gateway) = &work.gateway
                && finalizers::holds(&gateway.metadata)
            {
                self.leader()?;
                if writes.remove_finalizer(gateway).await? {
                    tracing::info!(gateway = %format!("{namespace}/{name}"), "released: its load balancer resources are cleaned up");
                }
            }
            lock(&self.memory).remove(stack);
            return Ok(());
        };
        let Some(desired) = &translation.translation.desired else {
            return Ok(());
        };
        self.leader()?;
        writes.add_finalizer(gateway).await?;
        self.leader()?;
        let result = self.provider.ensure(desired).await;
        self.leader()?;
        let left_out = match &result {
            Ok(status) => status.left_out.as_slice(),
            Err(error) => error.diagnostics(),
        };
        self.report_gateway_diagnostics(stack, &work, translation, left_out)
            .await;
        let (addresses, programmed) = match &result {
            Ok(status) => {
                let addresses = self.gateway_addresses(&status.addresses);
                let programmed = match addresses.is_empty() {
                    true => Programmed::NoAddress(
                        "no address is known for the load balancer yet".into(),
                    ),
                    false => Programmed::Yes,
                };
                (addresses, programmed)
            }
            Err(error) => {
                let written = lock(&self.memory)
                    .get(stack)
                    .and_then(|memory| memory.status.clone())
                    .map(|status| status.addresses)
                    .unwrap_or_default();
                let programmed = match error.kind() {
                    ErrorKind::InvalidSpec | ErrorKind::Unsupported | ErrorKind::Permanent => {
                        Programmed::Invalid(error.to_string())
                    }
                    _ => Programmed::Pending(error.to_string()),
                };
                (written, programmed)
            }
        };
        let now = now();
        let status = gateway_status(
            translation,
            gateway.metadata.generation,
            &addresses,
            &programmed,
            gateway.status.as_ref(),
            &now,
        );
        self.leader()?;
        writes.set_gateway_status(gateway, &status).await?;
        let gateway_ref = ObjectRef::namespaced("Gateway", namespace, name);
        for (route_status, route) in &work.routes {
            let parents = route_parents(
                route_status,
                route,
                &gateway_ref,
                writes.controller_name(),
                &now,
            );
            self.leader()?;
            writes.set_route_parents(route, &parents).await?;
        }
        self.clear_stale(writes, &work, namespace, name).await?;
        match result {
            Ok(provider_status) => {
                let mut provider_status = provider_status;
                provider_status.addresses = addresses;
                lock(&self.memory).entry(stack.clone()).or_default().status = Some(provider_status);
                self.report_gateway_synced(stack, translation, gateway)
                    .await;
                Ok(())
            }
            Err(error) => {
                self.report_gateway_error(stack, gateway, &error).await;
                Err(error.into())
            }
        }
    }

    /// Takes weir's status entries for this Gateway out of the routes that no longer name it
    /// (or whose Gateway is gone); another controller's entries stay.
    async fn clear_stale(
        &self,
        writes: &crate::gateway_writes::GatewayWrites,
        work: &GatewayWork,
        namespace: &str,
        name: &str,
    ) -> Result<(), ReconcileError> {
        let gateway_ref = ObjectRef::namespaced("Gateway", namespace, name);
        for route in &work.stale {
            if let Some(parents) = without_gateway(route, &gateway_ref, writes.controller_name()) {
                self.leader()?;
                writes.set_route_parents(route, &parents).await?;
            }
        }
        Ok(())
    }

    fn take_gateway_work(&self, stack: &StackId, namespace: &str, name: &str) -> GatewayWork {
        let mut index = lock(&self.index);
        let translation = index.translate_gateway(stack);
        let gateway = index.gateway(namespace, name).cloned();
        let routes: Vec<(RouteStatus, HttpRoute)> = translation
            .iter()
            .flat_map(|translation| &translation.route_statuses)
            .filter_map(|status| {
                let route = index.http_route(
                    status.route.namespace.as_deref().unwrap_or_default(),
                    &status.route.name,
                )?;
                Some((status.clone(), route.clone()))
            })
            .collect();
        let attached: Vec<&ObjectRef> = routes.iter().map(|(status, _)| &status.route).collect();
        let gateway_ref = ObjectRef::namespaced("Gateway", namespace, name);
        let controller = self
            .gateway_writes
            .get()
            .map_or("", |writes| writes.controller_name());
        let stale = index
            .snapshot()
            .http_routes()
            .filter(|route| {
                let route_ref = ObjectRef::namespaced(
                    "HTTPRoute",
                    namespace_of(&route.metadata),
                    route.metadata.name.as_deref().unwrap_or_default(),
                );
                !attached.contains(&&route_ref)
                    && without_gateway(route, &gateway_ref, controller).is_some()
            })
            .cloned()
            .collect();
        GatewayWork {
            translation,
            gateway,
            routes,
            stale,
        }
    }

    /// The addresses to write: the status source's when there is one and it knows them, else
    /// the provider's.
    fn gateway_addresses(&self, provider: &[LoadBalancerAddress]) -> Vec<LoadBalancerAddress> {
        match self.status_source.as_ref().map(|source| source.current()) {
            Some(SourcedStatus::Addresses(addresses)) => addresses,
            Some(SourcedStatus::Missing(_)) => Vec::new(),
            Some(SourcedStatus::Unknown) | None => provider.to_vec(),
        }
    }

    /// A Warning Event for each diagnostic not published before, on the Gateway or HTTPRoute
    /// it concerns.
    async fn report_gateway_diagnostics(
        &self,
        stack: &StackId,
        work: &GatewayWork,
        translation: &GatewayStackTranslation,
        left_out: &[Diagnostic],
    ) {
        let current: std::collections::BTreeSet<Diagnostic> = translation
            .translation
            .diagnostics
            .iter()
            .chain(left_out)
            .cloned()
            .collect();
        let new = self.unpublished(stack, &current);
        for diagnostic in &new {
            let meta = match diagnostic.object.kind.as_str() {
                "Gateway" => work.gateway.as_ref().map(|gateway| &gateway.metadata),
                "HTTPRoute" => work
                    .routes
                    .iter()
                    .map(|(_, route)| &route.metadata)
                    .find(|meta| names(meta, &diagnostic.object)),
                _ => None,
            };
            let Some(meta) = meta.filter(|meta| names(meta, &diagnostic.object)) else {
                continue;
            };
            tracing::warn!(
                %stack,
                object = %diagnostic.object,
                field = %diagnostic.field,
                reason = diagnostic.reason.as_str(),
                "{}",
                diagnostic.message
            );
            let reference = reference(&diagnostic.object.kind, meta);
            self.events
                .publish_diagnostic_on(&reference, diagnostic)
                .await;
        }
        self.remember_published(stack, current);
    }

    /// A Warning Event on the Gateway when the provider fails differently from last time.
    async fn report_gateway_error(
        &self,
        stack: &StackId,
        gateway: &Gateway,
        error: &ProviderError,
    ) {
        let message = error.to_string();
        if !self.error_changed(stack, &message) {
            return;
        }
        let note = format!("stack {stack}: {message}");
        self.events
            .publish_on(
                &reference("Gateway", &gateway.metadata),
                true,
                error.metric_label(),
                "Reconcile",
                &note,
            )
            .await;
    }

    /// A Normal Event on the Gateway when its stack changed and is now in sync.
    async fn report_gateway_synced(
        &self,
        stack: &StackId,
        translation: &GatewayStackTranslation,
        gateway: &Gateway,
    ) {
        if !self.sync_changed(stack, fingerprint(&translation.translation)) {
            return;
        }
        let routes = translation.route_statuses.len();
        tracing::info!(%stack, routes, "stack changed and is in sync");
        let note = format!("stack {stack} is in sync with {routes} HTTPRoute(s)");
        self.events
            .publish_on(
                &reference("Gateway", &gateway.metadata),
                false,
                "Synced",
                "Reconcile",
                &note,
            )
            .await;
    }
}

/// Whether `meta` is the object `object` names.
fn names(meta: &ObjectMeta, object: &ObjectRef) -> bool {
    meta.name.as_deref() == Some(object.name.as_str())
        && Some(namespace_of(meta)) == object.namespace.as_deref()
}

/// The Event reference of a Gateway API object.
fn reference(kind: &str, meta: &ObjectMeta) -> ObjectReference {
    ObjectReference {
        api_version: Some(crate::watch::GATEWAY_API.to_owned()),
        kind: Some(kind.to_owned()),
        name: meta.name.clone(),
        namespace: Some(namespace_of(meta).to_owned()),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..ObjectReference::default()
    }
}
