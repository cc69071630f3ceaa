//! The desired state of one load balancer.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::{
    Action, Certificate, ObjectRef, RouteConditions, RouteFilters, StackId, TargetGroup,
    TargetGroupKey,
};

/// Everything a provider needs to build one load balancer for one stack.
///
/// Routing semantics are those of [`DesiredLoadBalancer::route_request`]: the first virtual host (in
/// order) whose [`HostMatch`] accepts the request's host is chosen; within it the first
/// [`Route`] whose path and conditions match wins; otherwise [`DesiredLoadBalancer::default_action`] answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredLoadBalancer {
    /// The stack this load balancer serves.
    pub stack: StackId,
    /// The IngressClass the member Ingresses belong to.
    pub ingress_class: String,
    /// The member Ingresses in group order.
    pub members: Vec<ObjectRef>,
    /// Listeners by port.
    pub listeners: BTreeMap<u16, Listener>,
    /// Virtual hosts in precedence order: exact hosts, then wildcard hosts (more labels first),
    /// then the host-less rules.
    pub virtual_hosts: Vec<VirtualHost>,
    /// What answers a request no route matches: the group's `defaultBackend`, else a fixed 404.
    pub default_action: Action,
    /// Target groups by their logical key, each shared by every route that forwards to it.
    pub target_groups: BTreeMap<TargetGroupKey, TargetGroup>,
    /// Certificates for the HTTPS listeners, in group order.
    pub certificates: Vec<Certificate>,
    /// Provider settings from annotations (already resolved from `weir.dev/` and the
    /// `alb.ingress.kubernetes.io/` aliases), by setting name such as `scheme`.
    pub settings: BTreeMap<String, String>,
}

impl DesiredLoadBalancer {
    /// Every route in global precedence order, with the host it belongs to.
    pub fn routes(&self) -> impl Iterator<Item = (&HostMatch, &Route)> {
        self.virtual_hosts
            .iter()
            .flat_map(|vhost| vhost.routes.iter().map(move |route| (&vhost.host, route)))
    }
}

/// One listener of the load balancer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// Plain HTTP or TLS-terminating HTTPS.
    pub protocol: Protocol,
    /// When set, this (HTTP) listener redirects every request to HTTPS on this port instead of
    /// routing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_to_https_port: Option<u16>,
}

/// A listener protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Protocol {
    /// Plain HTTP/1.1 (and h2c where the provider supports it).
    Http,
    /// HTTP over TLS; certificates come from [`DesiredLoadBalancer::certificates`].
    Https,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
        })
    }
}

/// The routes of one host, in precedence order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VirtualHost {
    /// Which request hosts this virtual host serves.
    pub host: HostMatch,
    /// Routes in precedence order; the first whose path and conditions match wins. Translation
    /// orders them as Gateway API does: Exact paths, then Prefix paths, longer first; for
    /// equal paths, routes with a method condition first, then more header clauses, then more
    /// query clauses, then more source-ip ranges; then group order (Ingress) or creation order
    /// (routes), namespace/name and manifest order. A host with no routes sends every request
    /// to the default action.
    pub routes: Vec<Route>,
    /// When set, plain-HTTP requests for this host are redirected to HTTPS on this port: the
    /// per-host form of [`Listener::redirect_to_https_port`], for stacks that merge Ingresses
    /// which each decide for their own hosts (the local proxy's per-class stacks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_to_https_port: Option<u16>,
}

/// Which request hosts a [`VirtualHost`] serves. Hosts are compared lowercased, without port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostMatch {
    /// Exactly this host name (lowercase).
    Exact(String),
    /// `*.suffix` as an Ingress reads it: any host that is exactly one non-empty label
    /// followed by `.suffix`. Holds the full pattern, lowercase, e.g. `*.example.com`.
    Wildcard(String),
    /// `*.suffix` as Gateway API reads it: any host that is one or more labels (any non-empty
    /// text) followed by `.suffix`, so `*.example.com` serves `a.example.com` and
    /// `a.b.example.com`, never `example.com`. Holds the full pattern, lowercase.
    WildcardLabels(String),
    /// Rules without a host: any host that no exact or wildcard virtual host serves.
    Any,
}

impl HostMatch {
    /// The pattern as written in an Ingress or HTTPRoute (`*` for [`HostMatch::Any`]); the two
    /// wildcard kinds are spelled alike.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Exact(host) | Self::Wildcard(host) | Self::WildcardLabels(host) => host,
            Self::Any => "*",
        }
    }
}

impl fmt::Display for HostMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for HostMatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One path of one host and what it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The path condition.
    pub path: PathMatch,
    /// What else the request must satisfy (method, headers, query, client address).
    #[serde(skip_serializing_if = "RouteConditions::is_empty")]
    pub conditions: RouteConditions,
    /// What a matching request gets.
    pub action: Action,
    /// What is changed on the way (headers, URL, timeout); only for forwarded requests, except
    /// response headers, which apply to every answer of the route.
    #[serde(skip_serializing_if = "RouteFilters::is_empty")]
    pub filters: RouteFilters,
    /// The Ingress path this route came from.
    pub source: RouteSource,
}

/// Where a [`Route`] came from, for diagnostics and stable identities.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RouteSource {
    /// The Ingress (or HTTPRoute).
    pub ingress: ObjectRef,
    /// Index into `spec.rules`.
    pub rule: usize,
    /// Index into `spec.rules[rule].http.paths` (an HTTPRoute's `spec.rules[rule].matches`).
    pub path: usize,
}

impl RouteSource {
    /// The field of the source object this route was written at:
    /// `spec.rules[R].http.paths[P]` for an Ingress, `spec.rules[R].matches[M]` for an
    /// HTTPRoute.
    pub fn field(&self) -> String {
        match self.ingress.kind.as_str() {
            "HTTPRoute" => format!("spec.rules[{}].matches[{}]", self.rule, self.path),
            _ => format!("spec.rules[{}].http.paths[{}]", self.rule, self.path),
        }
    }

    /// The field that named this route's host: `spec.rules[R].host` for an Ingress,
    /// `spec.hostnames` for an HTTPRoute (whose hosts are the route's hostnames intersected
    /// with its listener's).
    pub fn host_field(&self) -> String {
        match self.ingress.kind.as_str() {
            "HTTPRoute" => "spec.hostnames".to_owned(),
            _ => format!("spec.rules[{}].host", self.rule),
        }
    }
}

/// A path condition with Kubernetes semantics.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PathMatch {
    /// Exact or element-wise prefix.
    pub kind: PathKind,
    /// The path. For [`PathKind::Prefix`] a trailing `/` is removed (except for `/` itself).
    pub path: String,
}

/// How a [`PathMatch`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PathKind {
    /// The request path equals the path, case-sensitively (`/foo` does not match `/foo/`).
    Exact,
    /// The request path starts with the path's `/`-separated elements (`/foo` matches `/foo`,
    /// `/foo/` and `/foo/bar`, not `/foobar`). `ImplementationSpecific` paths use this too.
    Prefix,
}
