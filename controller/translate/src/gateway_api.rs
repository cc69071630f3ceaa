//! The Gateway API v1 objects weir reads (`gateway.networking.k8s.io/v1`), with only the fields
//! it uses. Unknown fields are ignored, as a client of a newer API would; absent fields take
//! the API's defaults where translation reads them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Deserialize;

/// A GatewayClass: which controller serves the Gateways of this class.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GatewayClass {
    /// The object's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The class's spec.
    #[serde(default)]
    pub spec: GatewayClassSpec,
}

/// `GatewayClass.spec`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayClassSpec {
    /// The controller that serves the class, e.g. `weir.dev/localproxy`.
    #[serde(default)]
    pub controller_name: String,
}

/// A Gateway: one load balancer with its listeners.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Gateway {
    /// The object's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The Gateway's spec.
    #[serde(default)]
    pub spec: GatewaySpec,
    /// The status as the API server holds it, kept whole (translation never reads it): the
    /// controller writes its own parts back and leaves the rest (another controller's) alone.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `Gateway.spec`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// The GatewayClass name.
    #[serde(default)]
    pub gateway_class_name: String,
    /// The listeners, each a port, protocol and optional hostname.
    #[serde(default)]
    pub listeners: Vec<GatewayListener>,
}

/// `Gateway.spec.listeners[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayListener {
    /// The listener's name, unique in the Gateway (`sectionName` of a parentRef).
    #[serde(default)]
    pub name: String,
    /// The hostname (exact or `*.` wildcard); absent accepts any.
    #[serde(default)]
    pub hostname: Option<String>,
    /// The port.
    #[serde(default)]
    pub port: i64,
    /// `HTTP`, `HTTPS`, `TLS`, `TCP` or `UDP`.
    #[serde(default)]
    pub protocol: String,
    /// TLS settings (HTTPS).
    #[serde(default)]
    pub tls: Option<ListenerTls>,
    /// Which routes may attach.
    #[serde(default)]
    pub allowed_routes: Option<AllowedRoutes>,
}

/// `listeners[].tls`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerTls {
    /// `Terminate` (default) or `Passthrough`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The certificates, Secrets of type `kubernetes.io/tls`.
    #[serde(default)]
    pub certificate_refs: Vec<ObjectReference>,
}

/// `listeners[].allowedRoutes`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedRoutes {
    /// From which namespaces.
    #[serde(default)]
    pub namespaces: Option<RouteNamespaces>,
    /// Which route kinds (HTTPRoute only, for weir).
    #[serde(default)]
    pub kinds: Vec<RouteGroupKind>,
}

/// `allowedRoutes.namespaces`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteNamespaces {
    /// `Same` (default), `All` or `Selector`.
    #[serde(default)]
    pub from: Option<String>,
    /// For `Selector`: the labels of the namespaces whose routes may attach.
    #[serde(default)]
    pub selector: Option<LabelSelector>,
}

/// `allowedRoutes.kinds[]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RouteGroupKind {
    /// The API group (default `gateway.networking.k8s.io`).
    #[serde(default)]
    pub group: Option<String>,
    /// The kind.
    #[serde(default)]
    pub kind: String,
}

/// A reference to another object (a Secret, a Service).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ObjectReference {
    /// The API group (`""` is the core group).
    #[serde(default)]
    pub group: Option<String>,
    /// The kind (default `Secret` for certificates, `Service` for backends).
    #[serde(default)]
    pub kind: Option<String>,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The namespace (default: the referring object's).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// An HTTPRoute: rules attached to Gateways.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HttpRoute {
    /// The object's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The route's spec.
    #[serde(default)]
    pub spec: HttpRouteSpec,
    /// The status as the API server holds it, kept whole (translation never reads it): the
    /// controller writes its own parts back and leaves the rest (another controller's) alone.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `HTTPRoute.spec`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// The Gateways (and listeners) the route attaches to.
    #[serde(default)]
    pub parent_refs: Vec<ParentReference>,
    /// The hostnames the route serves (intersected with the listeners').
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<HttpRouteRule>,
}

/// `HTTPRoute.spec.parentRefs[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// The API group (default `gateway.networking.k8s.io`).
    #[serde(default)]
    pub group: Option<String>,
    /// The kind (default `Gateway`).
    #[serde(default)]
    pub kind: Option<String>,
    /// The namespace (default: the route's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The Gateway's name.
    #[serde(default)]
    pub name: String,
    /// The listener's name; absent attaches to every listener.
    #[serde(default)]
    pub section_name: Option<String>,
    /// The listener port; absent attaches to every port.
    #[serde(default)]
    pub port: Option<i64>,
}

/// `HTTPRoute.spec.rules[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteRule {
    /// The matches, any of which selects the rule; absent means `PathPrefix /`.
    #[serde(default)]
    pub matches: Vec<HttpRouteMatch>,
    /// Filters applied to every request of the rule.
    #[serde(default)]
    pub filters: Vec<HttpRouteFilter>,
    /// The backends, with weights.
    #[serde(default)]
    pub backend_refs: Vec<HttpBackendRef>,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: Option<HttpRouteTimeouts>,
}

/// `rules[].matches[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// The path (default `PathPrefix /`).
    #[serde(default)]
    pub path: Option<HttpPathMatch>,
    /// Header matches, all of which must hold.
    #[serde(default)]
    pub headers: Vec<NameValueMatch>,
    /// Query parameter matches, all of which must hold.
    #[serde(default)]
    pub query_params: Vec<NameValueMatch>,
    /// The method.
    #[serde(default)]
    pub method: Option<String>,
}

/// `matches[].path`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// The path (default `/`).
    #[serde(default)]
    pub value: Option<String>,
}

/// A header or query parameter match.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NameValueMatch {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// The header or parameter name.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// `rules[].filters[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteFilter {
    /// The filter type, e.g. `RequestHeaderModifier`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// For `RequestHeaderModifier`.
    #[serde(default)]
    pub request_header_modifier: Option<HeaderFilter>,
    /// For `ResponseHeaderModifier`.
    #[serde(default)]
    pub response_header_modifier: Option<HeaderFilter>,
    /// For `RequestRedirect`.
    #[serde(default)]
    pub request_redirect: Option<RequestRedirect>,
    /// For `URLRewrite`.
    #[serde(default)]
    pub url_rewrite: Option<UrlRewriteFilter>,
}

/// A header modifier filter.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HeaderFilter {
    /// Headers set (replacing any value).
    #[serde(default)]
    pub set: Vec<HeaderValue>,
    /// Headers added (keeping existing values).
    #[serde(default)]
    pub add: Vec<HeaderValue>,
    /// Header names removed.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// One header name and value.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HeaderValue {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// The `RequestRedirect` filter.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRedirect {
    /// `http` or `https`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// The new host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// The new path.
    #[serde(default)]
    pub path: Option<PathModifier>,
    /// The new port.
    #[serde(default)]
    pub port: Option<i64>,
    /// 301 (default) or 302 (weir also takes 303, 307 and 308).
    #[serde(default)]
    pub status_code: Option<i64>,
}

/// The `URLRewrite` filter.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UrlRewriteFilter {
    /// The new host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// The new path.
    #[serde(default)]
    pub path: Option<PathModifier>,
}

/// A path modifier of a redirect or rewrite.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathModifier {
    /// `ReplaceFullPath` or `ReplacePrefixMatch`.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// For `ReplaceFullPath`.
    #[serde(default)]
    pub replace_full_path: Option<String>,
    /// For `ReplacePrefixMatch`.
    #[serde(default)]
    pub replace_prefix_match: Option<String>,
}

/// `rules[].backendRefs[]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HttpBackendRef {
    /// The API group (`""`, the core group, for a Service).
    #[serde(default)]
    pub group: Option<String>,
    /// The kind (default `Service`).
    #[serde(default)]
    pub kind: Option<String>,
    /// The Service's name.
    #[serde(default)]
    pub name: String,
    /// The namespace (default: the route's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The Service port (required for Services).
    #[serde(default)]
    pub port: Option<i64>,
    /// The weight (default 1).
    #[serde(default)]
    pub weight: Option<i64>,
    /// Filters for the requests forwarded to this backend only (weir: RequestHeaderModifier
    /// and ResponseHeaderModifier).
    #[serde(default)]
    pub filters: Vec<HttpRouteFilter>,
}

/// `rules[].timeouts`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteTimeouts {
    /// The whole request (Gateway API duration, e.g. `10s`, `500ms`).
    #[serde(default)]
    pub request: Option<String>,
    /// One backend request.
    #[serde(default)]
    pub backend_request: Option<String>,
}

/// A ReferenceGrant (`gateway.networking.k8s.io/v1` or `v1beta1`): lets objects of other
/// namespaces refer to objects of its own namespace (a route to a Service, a Gateway to a
/// Secret). Without one, Gateway API refuses every cross-namespace reference.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReferenceGrant {
    /// The object's metadata; its namespace is the one references go to.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The grant's spec.
    #[serde(default)]
    pub spec: ReferenceGrantSpec,
}

/// `ReferenceGrant.spec`: a reference is permitted when it comes from one of `from` and goes to
/// one of `to`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReferenceGrantSpec {
    /// The referring objects: group, kind and namespace.
    #[serde(default)]
    pub from: Vec<ReferenceGrantFrom>,
    /// The objects of the grant's namespace they may refer to.
    #[serde(default)]
    pub to: Vec<ReferenceGrantTo>,
}

/// `ReferenceGrant.spec.from[]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReferenceGrantFrom {
    /// The referring object's API group (`""` is the core group).
    #[serde(default)]
    pub group: String,
    /// The referring object's kind, e.g. `HTTPRoute` or `Gateway`.
    #[serde(default)]
    pub kind: String,
    /// The referring object's namespace.
    #[serde(default)]
    pub namespace: String,
}

/// `ReferenceGrant.spec.to[]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReferenceGrantTo {
    /// The referred object's API group (`""` is the core group).
    #[serde(default)]
    pub group: String,
    /// The referred object's kind, e.g. `Service` or `Secret`.
    #[serde(default)]
    pub kind: String,
    /// The referred object's name; absent grants every object of that kind.
    #[serde(default)]
    pub name: Option<String>,
}
