//! The objects a translation reads, indexed for the lookups it makes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use weir_model::ObjectRef;

use crate::gateway_api::{Gateway, GatewayClass, HttpRoute, ReferenceGrant};

/// The label that ties an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One Kubernetes object of a kind translation reads (boxed: the kinds differ a lot in size).
#[derive(Clone, Debug)]
pub enum KubeObject {
    /// `networking.k8s.io/v1` Ingress.
    Ingress(Box<Ingress>),
    /// `networking.k8s.io/v1` IngressClass.
    IngressClass(Box<IngressClass>),
    /// `v1` Service.
    Service(Box<Service>),
    /// `discovery.k8s.io/v1` EndpointSlice (v1beta1 converted by the reader).
    EndpointSlice(Box<EndpointSlice>),
    /// `v1` Secret.
    Secret(Box<Secret>),
    /// A Gateway API object (`gateway.networking.k8s.io/v1`).
    GatewayApi(GatewayApiObject),
}

impl KubeObject {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Ingress(_) => Kind::Ingress,
            Self::IngressClass(_) => Kind::IngressClass,
            Self::Service(_) => Kind::Service,
            Self::EndpointSlice(_) => Kind::EndpointSlice,
            Self::Secret(_) => Kind::Secret,
            Self::GatewayApi(object) => object.kind(),
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::Ingress(object) => &object.metadata,
            Self::IngressClass(object) => &object.metadata,
            Self::Service(object) => &object.metadata,
            Self::EndpointSlice(object) => &object.metadata,
            Self::Secret(object) => &object.metadata,
            Self::GatewayApi(object) => object.metadata(),
        }
    }

    /// The object's metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Self::Ingress(object) => &mut object.metadata,
            Self::IngressClass(object) => &mut object.metadata,
            Self::Service(object) => &mut object.metadata,
            Self::EndpointSlice(object) => &mut object.metadata,
            Self::Secret(object) => &mut object.metadata,
            Self::GatewayApi(object) => object.metadata_mut(),
        }
    }
}

/// One Gateway API object (`gateway.networking.k8s.io/v1`): read from files by `plan` and the
/// proxy's file mode, and watched by `run` (as [`KubeObject::GatewayApi`]) when the cluster
/// serves the Gateway API.
#[derive(Clone, Debug)]
pub enum GatewayApiObject {
    /// A GatewayClass (cluster-scoped).
    GatewayClass(Box<GatewayClass>),
    /// A Gateway.
    Gateway(Box<Gateway>),
    /// An HTTPRoute.
    HttpRoute(Box<HttpRoute>),
    /// A ReferenceGrant (`v1` or `v1beta1`): permits cross-namespace backendRefs and
    /// certificateRefs into its namespace.
    ReferenceGrant(Box<ReferenceGrant>),
    /// A core `v1` Namespace, of which only the labels are kept: listeners'
    /// `allowedRoutes.namespaces.selector` select routes by them. Filed here because only the
    /// Gateway API front end reads Namespaces.
    Namespace(Box<Namespace>),
}

impl GatewayApiObject {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Self::GatewayClass(_) => Kind::GatewayClass,
            Self::Gateway(_) => Kind::Gateway,
            Self::HttpRoute(_) => Kind::HttpRoute,
            Self::ReferenceGrant(_) => Kind::ReferenceGrant,
            Self::Namespace(_) => Kind::Namespace,
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::GatewayClass(object) => &object.metadata,
            Self::Gateway(object) => &object.metadata,
            Self::HttpRoute(object) => &object.metadata,
            Self::ReferenceGrant(object) => &object.metadata,
            Self::Namespace(object) => &object.metadata,
        }
    }

    /// The object's metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Self::GatewayClass(object) => &mut object.metadata,
            Self::Gateway(object) => &mut object.metadata,
            Self::HttpRoute(object) => &mut object.metadata,
            Self::ReferenceGrant(object) => &mut object.metadata,
            Self::Namespace(object) => &mut object.metadata,
        }
    }
}

/// The kinds of object translation reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `networking.k8s.io/v1` Ingress.
    Ingress,
    /// `networking.k8s.io/v1` IngressClass (cluster-scoped).
    IngressClass,
    /// `v1` Service.
    Service,
    /// `discovery.k8s.io` EndpointSlice.
    EndpointSlice,
    /// `v1` Secret.
    Secret,
    /// `gateway.networking.k8s.io/v1` GatewayClass (cluster-scoped).
    GatewayClass,
    /// `gateway.networking.k8s.io/v1` Gateway.
    Gateway,
    /// `gateway.networking.k8s.io/v1` HTTPRoute.
    HttpRoute,
    /// `gateway.networking.k8s.io` ReferenceGrant (`v1` or `v1beta1`).
    ReferenceGrant,
    /// `v1` Namespace (cluster-scoped), for its labels.
    Namespace,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 10] = [
        Kind::Ingress,
        Kind::IngressClass,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::Secret,
        Kind::GatewayClass,
        Kind::Gateway,
        Kind::HttpRoute,
        Kind::ReferenceGrant,
        Kind::Namespace,
    ];

    /// The kinds every cluster serves (Ingress and what it reads); the Gateway API kinds exist
    /// only where their CRDs are installed.
    pub const CORE: [Kind; 5] = [
        Kind::Ingress,
        Kind::IngressClass,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::Secret,
    ];

    /// The Gateway API kinds weir reads.
    pub const GATEWAY_API: [Kind; 3] = [Kind::GatewayClass, Kind::Gateway, Kind::HttpRoute];

    /// Whether objects of this kind have no namespace.
    pub fn cluster_scoped(self) -> bool {
        matches!(
            self,
            Self::IngressClass | Self::GatewayClass | Self::Namespace
        )
    }

    /// The kind's name as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingress => "Ingress",
            Self::IngressClass => "IngressClass",
            Self::Service => "Service",
            Self::EndpointSlice => "EndpointSlice",
            Self::Secret => "Secret",
            Self::GatewayClass => "GatewayClass",
            Self::Gateway => "Gateway",
            Self::HttpRoute => "HTTPRoute",
            Self::ReferenceGrant => "ReferenceGrant",
            Self::Namespace => "Namespace",
        }
    }
}

/// A consistent set of objects to translate. Inserting an object with the key of an existing
/// one replaces it; objects without a namespace are taken to be in `default`.
#[derive(Clone, Debug, Default)]
pub struct ClusterSnapshot {
    ingresses: BTreeMap<(String, String), Ingress>,
    ingress_classes: BTreeMap<String, IngressClass>,
    services: BTreeMap<(String, String), Service>,
    /// By (namespace, service name), then slice name.
    endpoint_slices: BTreeMap<(String, String), BTreeMap<String, EndpointSlice>>,
    /// The Service each slice (namespace, slice name) is filed under.
    slice_services: BTreeMap<(String, String), String>,
    secrets: BTreeMap<(String, String), Secret>,
    gateway_classes: BTreeMap<String, GatewayClass>,
    gateways: BTreeMap<(String, String), Gateway>,
    http_routes: BTreeMap<(String, String), HttpRoute>,
    /// By namespace (the namespace references go to), then name.
    reference_grants: BTreeMap<String, BTreeMap<String, ReferenceGrant>>,
    /// The labels of each Namespace, by name.
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl ClusterSnapshot {
    /// Adds (or replaces) one object.
    pub fn insert(&mut self, object: KubeObject) {
        match object {
            KubeObject::Ingress(ingress) => {
                self.ingresses.insert(key(&ingress.metadata), *ingress);
            }
            KubeObject::IngressClass(class) => {
                let name = class.metadata.name.clone().unwrap_or_default();
                self.ingress_classes.insert(name, *class);
            }
            KubeObject::Service(service) => {
                self.services.insert(key(&service.metadata), *service);
            }
            KubeObject::EndpointSlice(slice) => {
                let (namespace, name) = key(&slice.metadata);
                self.remove_slice(&namespace, &name);
                let service = slice
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|labels| labels.get(SERVICE_NAME_LABEL))
                    .cloned()
                    .unwrap_or_default();
                self.slice_services
                    .insert((namespace.clone(), name.clone()), service.clone());
                self.endpoint_slices
                    .entry((namespace, service))
                    .or_default()
                    .insert(name, *slice);
            }
            KubeObject::Secret(secret) => {
                self.secrets.insert(key(&secret.metadata), *secret);
            }
            KubeObject::GatewayApi(object) => self.insert_gateway_api(object),
        }
    }

    /// Removes one object (cluster-scoped kinds ignore `namespace`); absent objects are fine.
    pub fn remove(&mut self, kind: Kind, namespace: &str, name: &str) {
        let key = (namespace.to_owned(), name.to_owned());
        match kind {
            Kind::Ingress => {
                self.ingresses.remove(&key);
            }
            Kind::IngressClass => {
                self.ingress_classes.remove(name);
            }
            Kind::Service => {
                self.services.remove(&key);
            }
            Kind::EndpointSlice => self.remove_slice(namespace, name),
            Kind::Secret => {
                self.secrets.remove(&key);
            }
            Kind::GatewayClass => {
                self.gateway_classes.remove(name);
            }
            Kind::Gateway => {
                self.gateways.remove(&key);
            }
            Kind::HttpRoute => {
                self.http_routes.remove(&key);
            }
            Kind::ReferenceGrant => self.remove_reference_grant(namespace, name),
            Kind::Namespace => self.remove_namespace(name),
        }
    }

    /// The Service an EndpointSlice `namespace/name` is labelled for (empty when unlabelled),
    /// if the slice is present.
    pub fn slice_service(&self, namespace: &str, name: &str) -> Option<&str> {
        self.slice_services
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(String::as_str)
    }

    /// How many objects of `kind` the snapshot holds.
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Ingress => self.ingresses.len(),
            Kind::IngressClass => self.ingress_classes.len(),
            Kind::Service => self.services.len(),
            Kind::EndpointSlice => self.slice_services.len(),
            Kind::Secret => self.secrets.len(),
            Kind::GatewayClass => self.gateway_classes.len(),
            Kind::Gateway => self.gateways.len(),
            Kind::HttpRoute => self.http_routes.len(),
            Kind::ReferenceGrant => self.reference_grants.values().map(BTreeMap::len).sum(),
            Kind::Namespace => self.namespace_labels.len(),
        }
    }

    /// The keys (namespace, name) of every object of `kind`; cluster-scoped kinds have an empty
    /// namespace.
    pub fn keys(&self, kind: Kind) -> Vec<(String, String)> {
        match kind {
            Kind::Ingress => self.ingresses.keys().cloned().collect(),
            Kind::IngressClass => self
                .ingress_classes
                .keys()
                .map(|name| (String::new(), name.clone()))
                .collect(),
            Kind::Service => self.services.keys().cloned().collect(),
            Kind::EndpointSlice => self.slice_services.keys().cloned().collect(),
            Kind::Secret => self.secrets.keys().cloned().collect(),
            Kind::GatewayClass => self
                .gateway_classes
                .keys()
                .map(|name| (String::new(), name.clone()))
                .collect(),
            Kind::Gateway => self.gateways.keys().cloned().collect(),
            Kind::HttpRoute => self.http_routes.keys().cloned().collect(),
            Kind::ReferenceGrant => self
                .reference_grants
                .iter()
                .flat_map(|(namespace, grants)| {
                    grants.keys().map(|name| (namespace.clone(), name.clone()))
                })
                .collect(),
            Kind::Namespace => self
                .namespace_labels
                .keys()
                .map(|name| (String::new(), name.clone()))
                .collect(),
        }
    }

    /// The Ingress `namespace/name`.
    pub fn ingress(&self, namespace: &str, name: &str) -> Option<&Ingress> {
        self.ingresses.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Every Ingress, ordered by namespace and name.
    pub fn ingresses(&self) -> impl Iterator<Item = &Ingress> {
        self.ingresses.values()
    }

    /// Every IngressClass, ordered by name.
    pub fn ingress_classes(&self) -> impl Iterator<Item = &IngressClass> {
        self.ingress_classes.values()
    }

    /// The IngressClass called `name`.
    pub fn ingress_class(&self, name: &str) -> Option<&IngressClass> {
        self.ingress_classes.get(name)
    }

    /// The Service `namespace/name`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// The EndpointSlices labelled for Service `namespace/service`, ordered by slice name.
    pub fn endpoint_slices<'s>(
        &'s self,
        namespace: &str,
        service: &str,
    ) -> impl Iterator<Item = &'s EndpointSlice> + use<'s> {
        self.endpoint_slices
            .get(&(namespace.to_owned(), service.to_owned()))
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// The Secret `namespace/name`.
    pub fn secret(&self, namespace: &str, name: &str) -> Option<&Secret> {
        self.secrets.get(&(namespace.to_owned(), name.to_owned()))
    }
}

impl ClusterSnapshot {
    /// Adds (or replaces) one Gateway API object.
    pub fn insert_gateway_api(&mut self, object: GatewayApiObject) {
        match object {
            GatewayApiObject::GatewayClass(class) => {
                let name = class.metadata.name.clone().unwrap_or_default();
                self.gateway_classes.insert(name, *class);
            }
            GatewayApiObject::Gateway(gateway) => {
                self.gateways.insert(key(&gateway.metadata), *gateway);
            }
            GatewayApiObject::HttpRoute(route) => {
                self.http_routes.insert(key(&route.metadata), *route);
            }
            GatewayApiObject::ReferenceGrant(grant) => {
                let (namespace, name) = key(&grant.metadata);
                self.reference_grants
                    .entry(namespace)
                    .or_default()
                    .insert(name, *grant);
            }
            GatewayApiObject::Namespace(namespace) => {
                let name = namespace.metadata.name.clone().unwrap_or_default();
                let labels = namespace.metadata.labels.unwrap_or_default();
                self.namespace_labels.insert(name, labels);
            }
        }
    }

    /// Removes a ReferenceGrant; an absent one is fine.
    pub fn remove_reference_grant(&mut self, namespace: &str, name: &str) {
        if let Some(grants) = self.reference_grants.get_mut(namespace) {
            grants.remove(name);
            if grants.is_empty() {
                self.reference_grants.remove(namespace);
            }
        }
    }

    /// Removes a Namespace; an absent one is fine.
    pub fn remove_namespace(&mut self, name: &str) {
        self.namespace_labels.remove(name);
    }

    /// The ReferenceGrants of `namespace` (which permit references into it), ordered by name.
    pub fn reference_grants<'s>(
        &'s self,
        namespace: &str,
    ) -> impl Iterator<Item = &'s ReferenceGrant> + use<'s> {
        self.reference_grants
            .get(namespace)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// The labels of Namespace `name`, if the snapshot holds it.
    pub fn namespace_labels(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.namespace_labels.get(name)
    }

    /// The GatewayClass called `name`.
    pub fn gateway_class(&self, name: &str) -> Option<&GatewayClass> {
        self.gateway_classes.get(name)
    }

    /// The Gateway `namespace/name`.
    pub fn gateway(&self, namespace: &str, name: &str) -> Option<&Gateway> {
        self.gateways.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// The HTTPRoute `namespace/name`.
    pub fn http_route(&self, namespace: &str, name: &str) -> Option<&HttpRoute> {
        self.http_routes
            .get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Every Gateway, ordered by namespace and name.
    pub fn gateways(&self) -> impl Iterator<Item = &Gateway> {
        self.gateways.values()
    }

    /// Every HTTPRoute, ordered by namespace and name.
    pub fn http_routes(&self) -> impl Iterator<Item = &HttpRoute> {
        self.http_routes.values()
    }
}

impl ClusterSnapshot {
    fn remove_slice(&mut self, namespace: &str, name: &str) {
        let Some(service) = self
            .slice_services
            .remove(&(namespace.to_owned(), name.to_owned()))
        else {
            return;
        };
        let by_service = (namespace.to_owned(), service);
        if let Some(slices) = self.endpoint_slices.get_mut(&by_service) {
            slices.remove(name);
            if slices.is_empty() {
                self.endpoint_slices.remove(&by_service);
            }
        }
    }
}

/// The namespace of an object, `default` when unset.
pub fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

fn key(meta: &ObjectMeta) -> (String, String) {
    (
        namespace_of(meta).to_owned(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// The [`ObjectRef`] of an Ingress.
pub fn object_ref(ingress: &Ingress) -> ObjectRef {
    ObjectRef::namespaced(
        "Ingress",
        namespace_of(&ingress.metadata),
        ingress.metadata.name.as_deref().unwrap_or_default(),
    )
}
