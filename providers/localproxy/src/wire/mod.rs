//! The wire snapshot: weir's own serialized form of one proxy stack, independent of the model's
//! debug serialization, versioned by [`FORMAT`].
//!
//! A stack travels as two kinds of documents: one [`Routes`] (listeners, virtual hosts, routes,
//! the default action, certificates with their keys) and [`ENDPOINT_BUCKETS`] [`EndpointSets`],
//! each holding the endpoints of the target groups whose key hashes into it. An endpoint change
//! therefore rewrites only the bucket of its target group. The routing features of a route
//! (conditions, actions, filters) have their own wire types in [`routing`].
//!
//! Format history: 1 carried plain forwards and bodiless fixed responses only; 2 carries every
//! routing feature of the model.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use weir_model as model;

pub mod routing;

pub use routing::{
    Action, Conditions, Filters, HeaderChanges, HeaderClause, PathRewrite, QueryClause, QueryPair,
    Redirect, Rewrite, Text, Weighted,
};

/// The wire format version this build writes.
///
/// Format 3 adds to format 2 what Gateway API stacks carry: regular-expression paths,
/// per-backend header changes, a failed share in weighted forwards and routes scoped to some
/// listeners. A format 2 document is a format 3 document without them, so this build reads
/// both ([`readable`]): a proxy rolled out before its controller keeps serving. A format 2
/// reader refuses format 3 and keeps its last snapshot instead of misrouting what it cannot
/// read (a regular expression taken for a literal path, say).
pub const FORMAT: u32 = 3;

/// The oldest wire format this build reads.
pub const OLDEST_READABLE: u32 = 2;

/// Whether this build reads documents of wire format `format`.
pub fn readable(format: u32) -> bool {
    (OLDEST_READABLE..=FORMAT).contains(&format)
}

/// How many endpoint buckets a stack's target groups are spread over.
pub const ENDPOINT_BUCKETS: usize = 8;

/// Why wire documents could not become a model.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// A document is not valid JSON of the expected shape.
    #[error("{what} does not decode: {source}")]
    Decode {
        /// Which document.
        what: String,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A document of another wire format version.
    #[error(
        "{what} has wire format {found}, this build reads only {OLDEST_READABLE} to {FORMAT}: run weir-proxy and weir-controller of the same release"
    )]
    Format {
        /// Which document.
        what: String,
        /// The version found.
        found: u32,
    },
    /// A stack name that does not parse.
    #[error("stack {0:?} does not parse")]
    Stack(String),
    /// A route names a target group no endpoint bucket holds.
    #[error("target group {0} has no endpoint set")]
    MissingSet(String),
    /// An HTTP status out of range (or a redirect's status that is not a redirect's).
    #[error("status {0} is not a valid HTTP status for its action")]
    Status(u16),
    /// A source address range that does not parse.
    #[error("source address range: {0}")]
    Cidr(String),
}

/// Listeners, virtual hosts, routes, the default action and certificates of one stack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routes {
    /// [`FORMAT`].
    pub format: u32,
    /// The stack, as `StackId` displays it (`class:weir`).
    pub stack: String,
    /// The IngressClass.
    pub ingress_class: String,
    /// The member Ingresses in group order.
    pub members: Vec<Object>,
    /// Listeners by port.
    pub listeners: Vec<Listener>,
    /// Virtual hosts in precedence order.
    pub virtual_hosts: Vec<VirtualHost>,
    /// What answers when no route matches.
    pub default_action: Action,
    /// Every target group of the stack (its endpoints are in the buckets).
    pub target_groups: Vec<GroupKey>,
    /// Certificates in group order, with their keys.
    pub certificates: Vec<Certificate>,
    /// Provider settings.
    pub settings: BTreeMap<String, String>,
}

/// A Kubernetes object reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// Kind.
    pub kind: String,
    /// Namespace (none for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// One listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// The port.
    pub port: u16,
    /// TLS-terminating when true.
    pub https: bool,
    /// Redirect every request to HTTPS on this port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to_https_port: Option<u16>,
}

/// One virtual host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualHost {
    /// Which hosts it serves.
    pub host: Host,
    /// Routes in precedence order.
    pub routes: Vec<Route>,
    /// Redirect this host's plain-HTTP requests to HTTPS on this port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to_https_port: Option<u16>,
}

/// A host pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Host {
    /// Exactly this host.
    Exact(String),
    /// `*.suffix`, the full pattern: one label (Ingress).
    Wildcard(String),
    /// `*.suffix`, the full pattern: one or more labels (Gateway API).
    WildcardLabels(String),
    /// Host-less rules.
    Any,
}

/// One route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Exact path match when true, element-wise prefix otherwise (unless `regex`).
    pub exact: bool,
    /// The path is a regular expression the whole request path must match (Gateway API
    /// `RegularExpression`); absent means false, so snapshots without such routes are unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regex: bool,
    /// The path (or the pattern).
    pub path: String,
    /// What else a request must satisfy.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// What a matching request gets.
    pub action: Action,
    /// What is changed on the way.
    #[serde(default, skip_serializing_if = "Filters::is_empty")]
    pub filters: Filters,
    /// The Ingress path it came from.
    pub source: RouteSource,
}

/// Where a route came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSource {
    /// The Ingress.
    pub ingress: Object,
    /// Index into `spec.rules`.
    pub rule: usize,
    /// Index into the rule's paths.
    pub path: usize,
}

/// A target group key: `namespace/service:port`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupKey {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub service: String,
    /// The Service port number.
    pub port: u16,
}

/// A certificate for the HTTPS listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Hosts it serves (empty: the default certificate).
    pub hosts: Vec<String>,
    /// The Ingress that asked for it.
    pub origin: Object,
    /// Where it comes from.
    pub source: CertificateSource,
}

/// Where a certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateSource {
    /// A `kubernetes.io/tls` Secret's material.
    Secret {
        /// The Secret.
        secret: Object,
        /// The chain, leaf first, PEM.
        chain_pem: String,
        /// The private key.
        key: KeyPem,
    },
    /// An ACM ARN (not served by the proxy; carried for completeness).
    AcmArn(String),
    /// The proxy's default certificate answers.
    Discover,
}

/// A PEM private key on the wire; never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyPem(pub String);

impl fmt::Debug for KeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyPem(<redacted>)")
    }
}

/// The endpoint sets of the target groups of one bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSets {
    /// [`FORMAT`].
    pub format: u32,
    /// Endpoints by target group.
    pub sets: Vec<EndpointSet>,
}

/// The endpoints of one target group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSet {
    /// The target group.
    pub group: GroupKey,
    /// Its endpoints.
    pub targets: Vec<Endpoint>,
}

/// One endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Pod IP.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// Ready.
    pub ready: bool,
    /// Serving.
    pub serving: bool,
    /// Terminating.
    pub terminating: bool,
    /// Zone, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

/// The bucket a target group's endpoints live in: stable across builds and processes.
pub fn bucket_of(group: &GroupKey) -> usize {
    let digest = Sha256::digest(format!(
        "{}/{}:{}",
        group.namespace, group.service, group.port
    ));
    usize::from(digest[0]) % ENDPOINT_BUCKETS
}

/// Splits `desired` into its routes document and its endpoint buckets.
pub fn split(desired: &model::DesiredLoadBalancer) -> (Routes, Vec<EndpointSets>) {
    let routes = Routes {
        format: FORMAT,
        stack: desired.stack.to_string(),
        ingress_class: desired.ingress_class.clone(),
        members: desired.members.iter().map(object).collect(),
        listeners: desired
            .listeners
            .iter()
            .map(|(port, listener)| Listener {
                port: *port,
                https: listener.protocol == model::Protocol::Https,
                redirect_to_https_port: listener.redirect_to_https_port,
            })
            .collect(),
        virtual_hosts: desired
            .virtual_hosts
            .iter()
            .map(|vhost| VirtualHost {
                host: match &vhost.host {
                    model::HostMatch::Exact(host) => Host::Exact(host.clone()),
                    model::HostMatch::Wildcard(host) => Host::Wildcard(host.clone()),
                    model::HostMatch::WildcardLabels(host) => Host::WildcardLabels(host.clone()),
                    model::HostMatch::Any => Host::Any,
                },
                routes: vhost
                    .routes
                    .iter()
                    .map(|route| Route {
                        exact: route.path.kind == model::PathKind::Exact,
                        regex: route.path.kind == model::PathKind::RegularExpression,
                        path: route.path.path.clone(),
                        conditions: Conditions::from_model(&route.conditions),
                        action: Action::from_model(&route.action),
                        filters: Filters::from_model(&route.filters),
                        source: RouteSource {
                            ingress: object(&route.source.ingress),
                            rule: route.source.rule,
                            path: route.source.path,
                        },
                    })
                    .collect(),
                redirect_to_https_port: vhost.redirect_to_https_port,
            })
            .collect(),
        default_action: Action::from_model(&desired.default_action),
        target_groups: desired.target_groups.keys().map(group_key).collect(),
        certificates: desired
            .certificates
            .iter()
            .map(|certificate| Certificate {
                hosts: certificate.hosts.clone(),
                origin: object(&certificate.origin),
                source: match &certificate.source {
                    model::CertificateSource::Secret { secret, material } => {
                        CertificateSource::Secret {
                            secret: object(secret),
                            chain_pem: material.chain_pem.clone(),
                            key: KeyPem(material.key.expose().to_owned()),
                        }
                    }
                    model::CertificateSource::AcmArn(arn) => CertificateSource::AcmArn(arn.clone()),
                    model::CertificateSource::Discover => CertificateSource::Discover,
                },
            })
            .collect(),
        settings: desired.settings.clone(),
    };
    let mut buckets = vec![
        EndpointSets {
            format: FORMAT,
            sets: Vec::new()
        };
        ENDPOINT_BUCKETS
    ];
    for (key, group) in &desired.target_groups {
        let key = group_key(key);
        let set = EndpointSet {
            targets: group
                .targets
                .iter()
                .map(|target| Endpoint {
                    ip: target.ip,
                    port: target.port,
                    ready: target.conditions.ready,
                    serving: target.conditions.serving,
                    terminating: target.conditions.terminating,
                    zone: target.zone.clone(),
                })
                .collect(),
            group: key,
        };
        // In bounds: `bucket_of` is a remainder of ENDPOINT_BUCKETS, the length of `buckets`.
        buckets[bucket_of(&set.group)].sets.push(set);
    }
    (routes, buckets)
}

/// Puts a routes document and its endpoint buckets back together.
///
/// # Errors
/// [`WireError`] when a document is of another format, a route's target group has no set, or
/// a value is out of range.
pub fn join(
    routes: Routes,
    buckets: Vec<EndpointSets>,
) -> Result<model::DesiredLoadBalancer, WireError> {
    if !readable(routes.format) {
        return Err(WireError::Format {
            what: "routes".into(),
            found: routes.format,
        });
    }
    let mut sets: BTreeMap<GroupKey, Vec<Endpoint>> = BTreeMap::new();
    for bucket in buckets {
        if !readable(bucket.format) {
            return Err(WireError::Format {
                what: "endpoints".into(),
                found: bucket.format,
            });
        }
        for set in bucket.sets {
            sets.insert(set.group, set.targets);
        }
    }
    let stack: model::StackId = routes
        .stack
        .parse()
        .map_err(|_| WireError::Stack(routes.stack.clone()))?;
    let mut target_groups = BTreeMap::new();
    for key in &routes.target_groups {
        let targets = sets
            .remove(key)
            .ok_or_else(|| WireError::MissingSet(format!("{key:?}")))?;
        target_groups.insert(
            model_key(key),
            model::TargetGroup {
                targets: targets
                    .into_iter()
                    .map(|endpoint| model::Target {
                        ip: endpoint.ip,
                        port: endpoint.port,
                        conditions: model::EndpointConditions {
                            ready: endpoint.ready,
                            serving: endpoint.serving,
                            terminating: endpoint.terminating,
                        },
                        zone: endpoint.zone,
                    })
                    .collect(),
            },
        );
    }
    let mut virtual_hosts = Vec::with_capacity(routes.virtual_hosts.len());
    for vhost in routes.virtual_hosts {
        let mut out = Vec::with_capacity(vhost.routes.len());
        for route in vhost.routes {
            out.push(model::Route {
                path: model::PathMatch {
                    kind: match (route.regex, route.exact) {
                        (true, _) => model::PathKind::RegularExpression,
                        (false, true) => model::PathKind::Exact,
                        (false, false) => model::PathKind::Prefix,
                    },
                    path: route.path,
                },
                conditions: route.conditions.into_model()?,
                action: route.action.into_model()?,
                filters: route.filters.into_model(),
                source: model::RouteSource {
                    ingress: model_object(route.source.ingress),
                    rule: route.source.rule,
                    path: route.source.path,
                },
            });
        }
        virtual_hosts.push(model::VirtualHost {
            host: match vhost.host {
                Host::Exact(host) => model::HostMatch::Exact(host),
                Host::Wildcard(host) => model::HostMatch::Wildcard(host),
                Host::WildcardLabels(host) => model::HostMatch::WildcardLabels(host),
                Host::Any => model::HostMatch::Any,
            },
            routes: out,
            redirect_to_https_port: vhost.redirect_to_https_port,
        });
    }
    Ok(model::DesiredLoadBalancer {
        stack,
        ingress_class: routes.ingress_class,
        members: routes.members.into_iter().map(model_object).collect(),
        listeners: routes
            .listeners
            .into_iter()
            .map(|listener| {
                (
                    listener.port,
                    model::Listener {
                        protocol: match listener.https {
                            true => model::Protocol::Https,
                            false => model::Protocol::Http,
                        },
                        redirect_to_https_port: listener.redirect_to_https_port,
                    },
                )
            })
            .collect(),
        virtual_hosts,
        default_action: routes.default_action.into_model()?,
        target_groups,
        certificates: routes
            .certificates
            .into_iter()
            .map(|certificate| model::Certificate {
                hosts: certificate.hosts,
                origin: model_object(certificate.origin),
                source: match certificate.source {
                    CertificateSource::Secret {
                        secret,
                        chain_pem,
                        key,
                    } => model::CertificateSource::Secret {
                        secret: model_object(secret),
                        material: model::TlsMaterial::new(
                            chain_pem,
                            model::PrivateKeyPem::new(key.0),
                        ),
                    },
                    CertificateSource::AcmArn(arn) => model::CertificateSource::AcmArn(arn),
                    CertificateSource::Discover => model::CertificateSource::Discover,
                },
            })
            .collect(),
        settings: routes.settings,
    })
}

fn object(object: &model::ObjectRef) -> Object {
    Object {
        kind: object.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
    }
}

fn model_object(object: Object) -> model::ObjectRef {
    model::ObjectRef {
        kind: object.kind,
        namespace: object.namespace,
        name: object.name,
    }
}

fn group_key(key: &model::TargetGroupKey) -> GroupKey {
    GroupKey {
        namespace: key.namespace.clone(),
        service: key.service.clone(),
        port: key.port,
    }
}

fn model_key(key: &GroupKey) -> model::TargetGroupKey {
    model::TargetGroupKey {
        namespace: key.namespace.clone(),
        service: key.service.clone(),
        port: key.port,
    }
}

#[cfg(test)]
mod round_trip_tests;
