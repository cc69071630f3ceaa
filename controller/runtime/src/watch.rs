//! Watchers for the five kinds weir reads, feeding the index and queueing the stacks each change
//! affects, plus GatewayClass, Gateway and HTTPRoute where the server serves
//! `gateway.networking.k8s.io/v1`. Standbys run them too, so a new leader starts with warm
//! caches.
//!
//! The Gateway API kinds are watched as `DynamicObject`s and converted with serde into the
//! translate crate's own types: those hold only the fields weir reads (plus the status, kept
//! whole), so they need no generated CRD bindings, and an object that does not convert is
//! logged and skipped instead of stopping the watch.
//!
//! EndpointSlices are watched as `discovery.k8s.io/v1` where the server has it and as `v1beta1`
//! otherwise (Kubernetes 1.19 and 1.20), converted to the v1 type translation reads. Secrets are
//! watched only of type `kubernetes.io/tls`.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weir_index::{Index, ObjectKey};
use weir_model::Diagnostic;
use weir_translate::{GatewayApiObject, Kind, KubeObject, namespace_of};

use crate::locking::lock;
use crate::metrics::Metrics;
use crate::queue::WorkQueue;

/// Where watch events go.
#[derive(Clone)]
pub(crate) struct Feed {
    pub(crate) index: Arc<Mutex<Index>>,
    pub(crate) queue: Arc<WorkQueue>,
    pub(crate) metrics: Metrics,
    /// The kinds whose initial list has been applied.
    pub(crate) synced: watch::Sender<BTreeSet<Kind>>,
    /// Ingresses that are ours but in no stack (an invalid group name), with the reasons: no
    /// stack's reconcile reports them, so they are reported from here.
    pub(crate) left_out: tokio::sync::mpsc::UnboundedSender<(Ingress, Vec<Diagnostic>)>,
}

/// Which EndpointSlice API the server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceVersion {
    /// `discovery.k8s.io/v1` (Kubernetes 1.21 and later).
    V1,
    /// `discovery.k8s.io/v1beta1` (Kubernetes 1.19 and 1.20).
    V1beta1,
}

/// Asks the server whether it serves `discovery.k8s.io/v1` EndpointSlices.
///
/// # Errors
/// The server could not be asked (anything but "not found").
pub async fn slice_version(client: &kube::Client) -> Result<SliceVersion, kube::Error> {
    match client.list_api_group_resources("discovery.k8s.io/v1").await {
        Ok(list) if list.resources.iter().any(|r| r.name == "endpointslices") => {
            Ok(SliceVersion::V1)
        }
        Ok(_) => Ok(SliceVersion::V1beta1),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(SliceVersion::V1beta1),
        Err(error) => Err(error),
    }
}

/// The Gateway API group and version weir watches.
pub(crate) const GATEWAY_API: &str = "gateway.networking.k8s.io/v1";

/// Asks the server whether it serves the Gateway API v1 kinds weir reads (GatewayClass,
/// Gateway, HTTPRoute): their CRDs are installed.
///
/// # Errors
/// The server could not be asked (anything but "not found").
pub async fn gateway_api_served(client: &kube::Client) -> Result<bool, kube::Error> {
    match client.list_api_group_resources(GATEWAY_API).await {
        Ok(list) => Ok(["gatewayclasses", "gateways", "httproutes"]
            .iter()
            .all(|plural| {
                list.resources
                    .iter()
                    .any(|resource| resource.name == *plural)
            })),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(error),
    }
}

/// The Gateway API versions that serve ReferenceGrants, newest first.
const REFERENCE_GRANT_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// Asks the server which version of the Gateway API serves ReferenceGrants (`v1`, else
/// `v1beta1`); `None` when neither does (the CRD is not installed: cross-namespace references
/// are then never permitted).
///
/// # Errors
/// The server could not be asked (anything but "not found").
pub async fn reference_grant_version(
    client: &kube::Client,
) -> Result<Option<&'static str>, kube::Error> {
    for version in REFERENCE_GRANT_VERSIONS {
        match client
            .list_api_group_resources(&format!("gateway.networking.k8s.io/{version}"))
            .await
        {
            Ok(list) if list.resources.iter().any(|r| r.name == "referencegrants") => {
                return Ok(Some(version));
            }
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Starts the watchers of what Gateway API translation reads beside the three kinds: every
/// Namespace (listeners select routes by their Namespace's labels) and, when served at
/// `grants` (a version), the ReferenceGrants.
pub(crate) fn spawn_gateway_reference_watchers(
    client: &kube::Client,
    grants: Option<&'static str>,
    feed: &Feed,
    tasks: &mut JoinSet<()>,
) {
    tasks.spawn(run(
        watcher(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default(),
        ),
        Kind::Namespace,
        |object| {
            Some(KubeObject::GatewayApi(GatewayApiObject::Namespace(
                Box::new(object),
            )))
        },
        feed.clone(),
    ));
    if let Some(version) = grants {
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("gateway.networking.k8s.io", version, "ReferenceGrant"),
            "referencegrants",
        );
        let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
        tasks.spawn(run(
            watcher(api, watcher::Config::default()),
            Kind::ReferenceGrant,
            |object| gateway_api_object(Kind::ReferenceGrant, object),
            feed.clone(),
        ));
    }
}

/// The API resource of a Gateway API kind (`kind`, `plural`) at [`GATEWAY_API`].
pub(crate) fn gateway_api_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", kind),
        plural,
    )
}

/// Starts one watcher per Gateway API kind.
pub(crate) fn spawn_gateway_watchers(client: &kube::Client, feed: &Feed, tasks: &mut JoinSet<()>) {
    let kinds: [(Kind, &str, &str); 3] = [
        (Kind::GatewayClass, "GatewayClass", "gatewayclasses"),
        (Kind::Gateway, "Gateway", "gateways"),
        (Kind::HttpRoute, "HTTPRoute", "httproutes"),
    ];
    for (kind, name, plural) in kinds {
        let api =
            Api::<DynamicObject>::all_with(client.clone(), &gateway_api_resource(name, plural));
        tasks.spawn(run(
            watcher(api, watcher::Config::default()),
            kind,
            move |object| gateway_api_object(kind, object),
            feed.clone(),
        ));
    }
}

/// A Gateway API object as the translate crate's type; one that does not convert is logged
/// and skipped.
fn gateway_api_object(kind: Kind, object: DynamicObject) -> Option<KubeObject> {
    let name = format!(
        "{}/{}",
        object.metadata.namespace.as_deref().unwrap_or_default(),
        object.metadata.name.as_deref().unwrap_or_default()
    );
    let converted = serde_json::to_value(object).and_then(|value| {
        Ok(match kind {
            Kind::GatewayClass => GatewayApiObject::GatewayClass(serde_json::from_value(value)?),
            Kind::Gateway => GatewayApiObject::Gateway(serde_json::from_value(value)?),
            Kind::ReferenceGrant => {
                GatewayApiObject::ReferenceGrant(serde_json::from_value(value)?)
            }
            _ => GatewayApiObject::HttpRoute(serde_json::from_value(value)?),
        })
    });
    match converted {
        Ok(object) => Some(KubeObject::GatewayApi(object)),
        Err(error) => {
            tracing::warn!(kind = kind.as_str(), object = %name, %error, "could not be read; skipped");
            None
        }
    }
}

/// Starts one watcher per kind.
pub(crate) fn spawn_watchers(
    client: &kube::Client,
    slices: SliceVersion,
    feed: &Feed,
    tasks: &mut JoinSet<()>,
) {
    let config = watcher::Config::default();
    let tls_only = watcher::Config::default().fields("type=kubernetes.io/tls");
    tasks.spawn(run(
        watcher(Api::<Ingress>::all(client.clone()), config.clone()),
        Kind::Ingress,
        |object| Some(KubeObject::Ingress(Box::new(object))),
        feed.clone(),
    ));
    tasks.spawn(run(
        watcher(Api::<IngressClass>::all(client.clone()), config.clone()),
        Kind::IngressClass,
        |object| Some(KubeObject::IngressClass(Box::new(object))),
        feed.clone(),
    ));
    tasks.spawn(run(
        watcher(Api::<Service>::all(client.clone()), config.clone()),
        Kind::Service,
        |object| Some(KubeObject::Service(Box::new(object))),
        feed.clone(),
    ));
    tasks.spawn(run(
        watcher(Api::<Secret>::all(client.clone()), tls_only),
        Kind::Secret,
        |object| Some(KubeObject::Secret(Box::new(object))),
        feed.clone(),
    ));
    match slices {
        SliceVersion::V1 => tasks.spawn(run(
            watcher(Api::<EndpointSlice>::all(client.clone()), config),
            Kind::EndpointSlice,
            |object| Some(KubeObject::EndpointSlice(Box::new(object))),
            feed.clone(),
        )),
        SliceVersion::V1beta1 => {
            let resource = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("discovery.k8s.io", "v1beta1", "EndpointSlice"),
                "endpointslices",
            );
            let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
            tasks.spawn(run(
                watcher(api, config),
                Kind::EndpointSlice,
                slice_from_v1beta1,
                feed.clone(),
            ))
        }
    };
}

fn watcher<K>(api: Api<K>, config: watcher::Config) -> impl Stream<Item = watcher::Result<Event<K>>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, config).default_backoff()
}

/// Applies one kind's watch events to the index until the stream ends.
async fn run<K, S>(stream: S, kind: Kind, convert: impl Fn(K) -> Option<KubeObject>, feed: Feed)
where
    K: Resource,
    S: Stream<Item = watcher::Result<Event<K>>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut relisted: Option<BTreeSet<ObjectKey>> = None;
    while let Some(event) = stream.next().await {
        let affected = match event {
            Ok(Event::Init) => {
                relisted = Some(BTreeSet::new());
                continue;
            }
            Ok(Event::InitApply(object)) => {
                if let Some(seen) = relisted.as_mut() {
                    seen.insert(object_key(kind, object.meta()));
                }
                apply(&feed, convert(object))
            }
            Ok(Event::InitDone) => {
                let seen = relisted.take().unwrap_or_default();
                let affected = forget_unseen(&feed, kind, &seen);
                feed.synced.send_modify(|synced| {
                    if synced.insert(kind) {
                        tracing::info!(kind = kind.as_str(), objects = seen.len(), "cache synced");
                    }
                });
                affected
            }
            Ok(Event::Apply(object)) => apply(&feed, convert(object)),
            Ok(Event::Delete(object)) => {
                let (namespace, name) = object_key(kind, object.meta());
                lock(&feed.index).delete(kind, &namespace, &name)
            }
            Err(error) => {
                tracing::warn!(kind = kind.as_str(), %error, "watch failed; retrying");
                continue;
            }
        };
        let count = lock(&feed.index).count(kind);
        feed.metrics.set_objects_watched(kind.as_str(), count);
        for stack in affected {
            feed.queue.add(stack);
        }
    }
}

fn apply(feed: &Feed, object: Option<KubeObject>) -> BTreeSet<weir_model::StackId> {
    let Some(object) = object.map(slim) else {
        return BTreeSet::new();
    };
    let ingress =
        (object.kind() == Kind::Ingress).then(|| object_key(Kind::Ingress, object.metadata()));
    let mut index = lock(&feed.index);
    let affected = index.apply(object);
    if let Some((namespace, name)) = ingress {
        let diagnostics = index.left_out_diagnostics(&namespace, &name);
        if let (false, Some(ingress)) = (diagnostics.is_empty(), index.ingress(&namespace, &name)) {
            // The receiver lives as long as the controller; a send after it is gone is moot.
            let _ = feed.left_out.send((ingress.clone(), diagnostics.to_vec()));
        }
    }
    affected
}

/// kubectl's copy of the last applied manifest, kept in an annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The object without what the API server sends with it but weir never reads: the field
/// managers' records and kubectl's copy of the last applied manifest (together often larger
/// than the object itself), so the watch caches hold only what translation uses.
fn slim(mut object: KubeObject) -> KubeObject {
    let meta = object.metadata_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
    object
}

/// After a (re)list, deletes the objects of `kind` the list no longer holds.
fn forget_unseen(
    feed: &Feed,
    kind: Kind,
    seen: &BTreeSet<ObjectKey>,
) -> BTreeSet<weir_model::StackId> {
    let mut index = lock(&feed.index);
    let gone: Vec<ObjectKey> = index
        .snapshot()
        .keys(kind)
        .into_iter()
        .filter(|key| !seen.contains(key))
        .collect();
    let mut affected = BTreeSet::new();
    for (namespace, name) in gone {
        affected.extend(index.delete(kind, &namespace, &name));
    }
    affected
}

/// The index's key of an object: cluster-scoped kinds have an empty namespace.
fn object_key(
    kind: Kind,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> ObjectKey {
    let namespace = match kind.cluster_scoped() {
        true => String::new(),
        false => namespace_of(meta).to_owned(),
    };
    (namespace, meta.name.clone().unwrap_or_default())
}

/// A v1beta1 EndpointSlice as the v1 type; one that does not convert is logged and skipped.
fn slice_from_v1beta1(object: DynamicObject) -> Option<KubeObject> {
    let name = object.metadata.name.clone().unwrap_or_default();
    let value = match serde_json::to_value(object) {
        Ok(value) => value,
        Err(error) => {
            tracing::warn!(%name, %error, "an EndpointSlice could not be read");
            return None;
        }
    };
    match weir_manifests::endpoint_slice_from_v1beta1(value) {
        Ok(slice) => Some(KubeObject::EndpointSlice(Box::new(slice))),
        Err(error) => {
            tracing::warn!(%name, %error, "an EndpointSlice could not be read");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_objects_drop_managed_fields_and_the_last_applied_copy_only() {
        let ingress: k8s_openapi::api::networking::v1::Ingress =
            serde_json::from_value(serde_json::json!({
                "metadata": {
                    "name": "web",
                    "annotations": {
                        LAST_APPLIED: "{\"apiVersion\":\"networking.k8s.io/v1\"}",
                        "weir.dev/group.name": "shop"
                    },
                    "managedFields": [{"manager": "kubectl", "operation": "Apply"}]
                }
            }))
            .unwrap();
        let slimmed = slim(KubeObject::Ingress(Box::new(ingress)));
        let meta = slimmed.metadata();
        assert!(meta.managed_fields.is_none());
        let annotations = meta.annotations.as_ref().unwrap();
        assert!(!annotations.contains_key(LAST_APPLIED));
        assert_eq!(annotations["weir.dev/group.name"], "shop");
    }
}
