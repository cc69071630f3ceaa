//! The controller's writes to Gateway API objects: weir's finalizer on and off a Gateway, the
//! Gateway's status, a GatewayClass's status, and weir's entries in an HTTPRoute's
//! `status.parents`. Each is skipped when the object already says what it should; finalizer
//! and route-status writes are conditional on the resourceVersion last seen, so a list
//! computed from an older object never drops another writer's entries.

use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use weir_translate::{ControllerKind, Gateway, HttpRoute, namespace_of};

use crate::finalizers;
use crate::watch::gateway_api_resource;

/// Writes to Gateways and HTTPRoutes through one client, as one controller.
#[derive(Clone)]
pub(crate) struct GatewayWrites {
    client: kube::Client,
    controller: ControllerKind,
}

impl GatewayWrites {
    pub(crate) fn new(client: kube::Client, controller: ControllerKind) -> Self {
        Self { client, controller }
    }

    /// The `controllerName` weir writes into route status (`weir.dev/localproxy` or
    /// `weir.dev/aws-alb`).
    pub(crate) fn controller_name(&self) -> &'static str {
        self.controller.controller_name()
    }

    /// The client the writes go through (for the GatewayClass status watch).
    pub(crate) fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// Writes `status` into the cluster-scoped GatewayClass `name`. A class already gone is
    /// fine.
    ///
    /// # Errors
    /// The patch failed.
    pub(crate) async fn set_class_status(
        &self,
        name: &str,
        status: &Value,
    ) -> Result<(), kube::Error> {
        let api = Api::<DynamicObject>::all_with(
            self.client.clone(),
            &gateway_api_resource("GatewayClass", "gatewayclasses"),
        );
        let patch = json!({ "status": status });
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            other => other.map(drop),
        }
    }

    /// Adds weir's finalizer unless the Gateway already holds it. Returns whether it wrote.
    ///
    /// # Errors
    /// The patch failed (a conflict when the Gateway changed since it was seen).
    pub(crate) async fn add_finalizer(&self, gateway: &Gateway) -> Result<bool, kube::Error> {
        let Some(finalizers) = finalizers::with_ours(&gateway.metadata) else {
            return Ok(false);
        };
        self.patch_finalizers(gateway, finalizers).await?;
        Ok(true)
    }

    /// Removes weir's finalizer if the Gateway holds it. A Gateway already gone is fine.
    ///
    /// # Errors
    /// The patch failed.
    pub(crate) async fn remove_finalizer(&self, gateway: &Gateway) -> Result<bool, kube::Error> {
        let Some(finalizers) = finalizers::without_ours(&gateway.metadata) else {
            return Ok(false);
        };
        match self.patch_finalizers(gateway, finalizers).await {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            other => other.map(|()| true),
        }
    }

    /// Writes `status` (`addresses`, `conditions`, `listeners`) into the Gateway's status
    /// unless it already holds exactly that. Returns whether it wrote.
    ///
    /// # Errors
    /// The patch failed.
    pub(crate) async fn set_gateway_status(
        &self,
        gateway: &Gateway,
        status: &Value,
    ) -> Result<bool, kube::Error> {
        let current = gateway.status.as_ref();
        let unchanged = ["addresses", "conditions", "listeners"]
            .iter()
            .all(|field| {
                let current = current.and_then(|current| current.get(*field));
                let wanted = status.get(*field);
                current == wanted || (current.is_none() && wanted == Some(&json!([])))
            });
        if unchanged {
            return Ok(false);
        }
        let patch = json!({ "status": status });
        let api = self.api(namespace_of(&gateway.metadata), "Gateway", "gateways");
        match api
            .patch_status(
                gateway.metadata.name.as_deref().unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            other => other.map(|_| true),
        }
    }

    /// Replaces the HTTPRoute's `status.parents` with `parents` unless it already holds
    /// exactly those; conditional on the route's resourceVersion, so another controller's
    /// entries written meanwhile are never lost (the conflict retries from the newer route).
    ///
    /// # Errors
    /// The patch failed.
    pub(crate) async fn set_route_parents(
        &self,
        route: &HttpRoute,
        parents: &[Value],
    ) -> Result<bool, kube::Error> {
        let current = current_parents(route);
        if current == parents {
            return Ok(false);
        }
        let patch = json!({
            "metadata": {"resourceVersion": route.metadata.resource_version},
            "status": {"parents": parents},
        });
        let api = self.api(namespace_of(&route.metadata), "HTTPRoute", "httproutes");
        match api
            .patch_status(
                route.metadata.name.as_deref().unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            other => other.map(|_| true),
        }
    }

    async fn patch_finalizers(
        &self,
        gateway: &Gateway,
        finalizers: Vec<String>,
    ) -> Result<(), kube::Error> {
        let patch = finalizers::patch(&gateway.metadata, finalizers);
        self.api(namespace_of(&gateway.metadata), "Gateway", "gateways")
            .patch(
                gateway.metadata.name.as_deref().unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map(drop)
    }

    fn api(&self, namespace: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            namespace,
            &gateway_api_resource(kind, plural),
        )
    }
}

/// The route's `status.parents` as the server holds them.
pub(crate) fn current_parents(route: &HttpRoute) -> &[Value] {
    route
        .status
        .as_ref()
        .and_then(|status| status.get("parents"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
