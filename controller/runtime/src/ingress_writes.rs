//! The controller's writes to Ingresses: weir's finalizer on and off, and the load balancer
//! address in `status.loadBalancer`. Each write is conditional on the resourceVersion the
//! controller last saw (a conflict means a newer object is on its way through the watch), and
//! each is skipped when the object already says what it should.

use k8s_openapi::api::networking::v1::{Ingress, IngressLoadBalancerIngress};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use weir_model::{LoadBalancerAddress, LoadBalancerStatus};
use weir_translate::namespace_of;

use crate::finalizers;

/// Writes to Ingresses through one client.
#[derive(Clone)]
pub(crate) struct IngressWrites {
    client: kube::Client,
}

impl IngressWrites {
    pub(crate) fn new(client: kube::Client) -> Self {
        Self { client }
    }

    /// Adds weir's finalizer unless the Ingress already holds it. Returns whether it wrote.
    ///
    /// # Errors
    /// The patch failed (a conflict when the Ingress changed since it was seen).
    pub(crate) async fn add_finalizer(&self, ingress: &Ingress) -> Result<bool, kube::Error> {
        let Some(finalizers) = finalizers::with_ours(&ingress.metadata) else {
            return Ok(false);
        };
        self.patch_finalizers(ingress, finalizers).await?;
        Ok(true)
    }

    /// Removes weir's finalizer if the Ingress holds it. An Ingress already gone is fine.
    ///
    /// # Errors
    /// The patch failed.
    pub(crate) async fn remove_finalizer(&self, ingress: &Ingress) -> Result<bool, kube::Error> {
        let Some(finalizers) = finalizers::without_ours(&ingress.metadata) else {
            return Ok(false);
        };
        match self.patch_finalizers(ingress, finalizers).await {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            other => other.map(|()| true),
        }
    }

    /// Sets `status.loadBalancer.ingress` to `status`'s addresses unless it already holds them.
    /// Returns whether it wrote.
    ///
    /// # Errors
    /// The patch failed.
    pub(crate) async fn set_status(
        &self,
        ingress: &Ingress,
        status: &LoadBalancerStatus,
    ) -> Result<bool, kube::Error> {
        if status_matches(ingress, status) {
            return Ok(false);
        }
        let wanted = status_ingress(status);
        let patch = json!({"status": {"loadBalancer": {"ingress": wanted}}});
        match self
            .api(ingress)
            .patch_status(
                name(ingress),
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
        ingress: &Ingress,
        finalizers: Vec<String>,
    ) -> Result<(), kube::Error> {
        let patch = finalizers::patch(&ingress.metadata, finalizers);
        self.api(ingress)
            .patch(
                name(ingress),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map(drop)
    }

    fn api(&self, ingress: &Ingress) -> Api<Ingress> {
        Api::namespaced(self.client.clone(), namespace_of(&ingress.metadata))
    }
}

/// Whether the Ingress's `status.loadBalancer.ingress` holds exactly `status`'s addresses.
pub(crate) fn status_matches(ingress: &Ingress, status: &LoadBalancerStatus) -> bool {
    let current = ingress
        .status
        .as_ref()
        .and_then(|status| status.load_balancer.as_ref())
        .and_then(|load_balancer| load_balancer.ingress.as_deref())
        .unwrap_or_default();
    current == status_ingress(status).as_slice()
}

/// The `status.loadBalancer.ingress` entries of a provider status.
fn status_ingress(status: &LoadBalancerStatus) -> Vec<IngressLoadBalancerIngress> {
    status
        .addresses
        .iter()
        .map(|address| match address {
            LoadBalancerAddress::Hostname(hostname) => IngressLoadBalancerIngress {
                hostname: Some(hostname.clone()),
                ..IngressLoadBalancerIngress::default()
            },
            LoadBalancerAddress::Ip(ip) => IngressLoadBalancerIngress {
                ip: Some(ip.clone()),
                ..IngressLoadBalancerIngress::default()
            },
        })
        .collect()
}

fn name(ingress: &Ingress) -> &str {
    ingress.metadata.name.as_deref().unwrap_or_default()
}
