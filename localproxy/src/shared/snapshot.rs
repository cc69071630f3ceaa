//! One immutable, fully resolved configuration: router, endpoint pools, certificates.
//!
//! Built from a [`DesiredLoadBalancer`] off the request path, then swapped in whole; requests
//! hold an `Arc` of the snapshot they started with until they finish. When only endpoints
//! changed ([`Snapshot::with_endpoints`]), the new snapshot shares the router, certificates
//! and redirects of the previous one and builds only the pools whose endpoints changed.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;
use serde::Serialize;
use weir_model::{
    Action, DesiredLoadBalancer, HostMatch, PathKind, PathMatch, Protocol, Route, TargetGroupKey,
};

use crate::shared::actions::{FixedAnswer, Forwarding, RedirectAnswer, RouteExtras};
use crate::shared::certs::CertStore;
use crate::shared::config::ProxyConfig;
use crate::shared::metrics::Metrics;
use crate::shared::router::{ActionId, Router};
use crate::shared::upstream::balancer::{Endpoint, TargetPool};

/// What a routed request gets.
#[derive(Debug)]
pub enum Resolved {
    /// Forward to one of these target groups' endpoints (possibly none: 503).
    Forward(Forwarding),
    /// Answer with this status (an empty body; 404 and 503 get the status text).
    Fixed(StatusCode),
    /// Answer with this status, content type and body.
    Respond(FixedAnswer),
    /// Answer with a redirect.
    Redirect(RedirectAnswer),
}

/// An immutable serving configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Increases by one with every swap; 0 is the empty start-up snapshot.
    pub version: u64,
    /// The host -> path index (shared with the previous snapshot after an endpoint change).
    pub router: Arc<Router>,
    /// What each [`ActionId`] of the router resolves to.
    resolved: Vec<Resolved>,
    /// Each target group's pool of ready endpoints.
    pools: HashMap<TargetGroupKey, Arc<TargetPool>>,
    /// The certificates for the TLS listener.
    pub certificates: Arc<CertStore>,
    /// Which plain-HTTP requests are redirected to HTTPS.
    pub https_redirects: Arc<HttpsRedirects>,
    /// What `/config` shows.
    pub summary: Summary,
}

/// A JSON summary of a snapshot, without secrets.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// The snapshot version.
    pub version: u64,
    /// The stack served.
    pub stack: String,
    /// Virtual hosts in precedence order.
    pub hosts: Vec<String>,
    /// The number of routes.
    pub routes: usize,
    /// Endpoints accepting new requests, by target group.
    pub ready_endpoints: BTreeMap<String, usize>,
    /// Certificates that loaded (skipped ones are left out): hosts and fingerprint.
    pub certificates: Vec<CertificateSummary>,
}

/// One certificate in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateSummary {
    /// The hosts it was requested for (empty: default certificate).
    pub hosts: Vec<String>,
    /// SHA-256 of the chain PEM, when it comes from a Secret.
    pub fingerprint: Option<String>,
}

impl Snapshot {
    /// Resolves `model` into a snapshot, reusing live endpoints and parsed certificates of
    /// `previous` so that load counts, ejections and idle connections survive the swap.
    pub fn build(
        model: &DesiredLoadBalancer,
        version: u64,
        previous: &Snapshot,
        config: &ProxyConfig,
        metrics: &Metrics,
    ) -> Self {
        let router = Arc::new(Router::new(model));
        let certificates = CertStore::build(&model.certificates, &previous.certificates, metrics);
        let summary = Summary {
            version,
            stack: model.stack.to_string(),
            hosts: model
                .virtual_hosts
                .iter()
                .map(|vhost| vhost.host.to_string())
                .collect(),
            routes: router.route_count(),
            ready_endpoints: BTreeMap::new(),
            certificates: model
                .certificates
                .iter()
                .enumerate()
                .filter(|(position, _)| certificates.is_loaded(*position))
                .map(|(_, certificate)| CertificateSummary {
                    hosts: certificate.hosts.clone(),
                    fingerprint: match &certificate.source {
                        weir_model::CertificateSource::Secret { material, .. } => {
                            Some(material.fingerprint.clone())
                        }
                        _ => None,
                    },
                })
                .collect(),
        };
        Self::assemble(
            model,
            previous,
            config,
            Shared {
                router,
                certificates: Arc::new(certificates),
                https_redirects: Arc::new(HttpsRedirects::new(model)),
                summary,
            },
        )
    }

    /// The snapshot of `model` when only its endpoints differ from what `previous` was built
    /// from (the caller knows: the routes document is unchanged). The router, certificates
    /// and redirects are `previous`'s, shared; only pools whose ready endpoints changed are
    /// built anew.
    pub fn with_endpoints(
        model: &DesiredLoadBalancer,
        version: u64,
        previous: &Snapshot,
        config: &ProxyConfig,
    ) -> Self {
        let summary = Summary {
            version,
            ..previous.summary.clone()
        };
        Self::assemble(
            model,
            previous,
            config,
            Shared {
                router: Arc::clone(&previous.router),
                certificates: Arc::clone(&previous.certificates),
                https_redirects: Arc::clone(&previous.https_redirects),
                summary,
            },
        )
    }

    /// Builds the pools and resolves every action of `model` around `shared`.
    fn assemble(
        model: &DesiredLoadBalancer,
        previous: &Snapshot,
        config: &ProxyConfig,
        shared: Shared,
    ) -> Self {
        let Shared {
            router,
            certificates,
            https_redirects,
            mut summary,
        } = shared;
        let pools = pools(model, previous, config);
        summary.ready_endpoints = pools
            .iter()
            .map(|(key, pool)| (key.to_string(), pool.endpoints.len()))
            .collect();
        let empty = Arc::new(TargetPool::default());
        // The router numbers actions as the model's routes, the default first.
        let resolved = std::iter::once((None, &model.default_action))
            .chain(
                model
                    .routes()
                    .map(|(_, route)| (Some(route), &route.action)),
            )
            .map(|(route, action)| {
                resolve_action(route, action, &|key| pool_of(&pools, &empty, key))
            })
            .collect();
        Snapshot {
            version: summary.version,
            router,
            resolved,
            pools,
            certificates,
            https_redirects,
            summary,
        }
    }

    /// The pool of target group `key`, if the snapshot has it.
    pub fn pool(&self, key: &TargetGroupKey) -> Option<&Arc<TargetPool>> {
        self.pools.get(key)
    }

    /// What an action id of this snapshot's router resolves to.
    /// The empty start-up snapshot (version 0) answers 503 to everything.
    pub fn resolve(&self, id: ActionId) -> &Resolved {
        static NOT_CONFIGURED: Resolved = Resolved::Fixed(StatusCode::SERVICE_UNAVAILABLE);
        self.resolved.get(id.0).unwrap_or(&NOT_CONFIGURED)
    }
}

/// What a snapshot may share with its predecessor: everything but the pools and actions.
struct Shared {
    router: Arc<Router>,
    certificates: Arc<CertStore>,
    https_redirects: Arc<HttpsRedirects>,
    summary: Summary,
}

/// The pools of `model`'s target groups: `previous`'s pool where its ready endpoints are the
/// same (in order), else a new pool that keeps `previous`'s live endpoints (their load,
/// ejection and idle connections) for addresses it already had.
fn pools(
    model: &DesiredLoadBalancer,
    previous: &Snapshot,
    config: &ProxyConfig,
) -> HashMap<TargetGroupKey, Arc<TargetPool>> {
    let mut live: Option<HashMap<SocketAddr, Arc<Endpoint>>> = None;
    let mut pools = HashMap::with_capacity(model.target_groups.len());
    for (key, group) in &model.target_groups {
        let addrs: Vec<SocketAddr> = group
            .ready_targets()
            .map(|target| SocketAddr::new(target.ip, target.port))
            .collect();
        let unchanged = previous.pools.get(key).filter(|pool| {
            pool.endpoints.len() == addrs.len()
                && pool
                    .endpoints
                    .iter()
                    .zip(&addrs)
                    .all(|(endpoint, addr)| endpoint.addr == *addr)
        });
        let pool = match unchanged {
            Some(pool) => Arc::clone(pool),
            None => {
                let live = live.get_or_insert_with(|| live_endpoints(previous));
                let endpoints = addrs
                    .into_iter()
                    .map(|addr| {
                        let endpoint = live.entry(addr).or_insert_with(|| {
                            Arc::new(Endpoint::new(addr, config.max_idle_per_endpoint))
                        });
                        Arc::clone(endpoint)
                    })
                    .collect();
                Arc::new(TargetPool { endpoints })
            }
        };
        pools.insert(key.clone(), pool);
    }
    pools
}

/// Every endpoint `previous` routes to, by address.
fn live_endpoints(previous: &Snapshot) -> HashMap<SocketAddr, Arc<Endpoint>> {
    let mut live = HashMap::new();
    for endpoint in previous.pools.values().flat_map(|pool| &pool.endpoints) {
        live.entry(endpoint.addr)
            .or_insert_with(|| Arc::clone(endpoint));
    }
    live
}

fn pool_of(
    pools: &HashMap<TargetGroupKey, Arc<TargetPool>>,
    empty: &Arc<TargetPool>,
    key: &TargetGroupKey,
) -> Arc<TargetPool> {
    pools.get(key).map_or_else(|| Arc::clone(empty), Arc::clone)
}

/// What one action of the model (of `route`, or the default) becomes.
fn resolve_action(
    route: Option<&Route>,
    action: &Action,
    pool_of: &dyn Fn(&weir_model::TargetGroupKey) -> Arc<TargetPool>,
) -> Resolved {
    let matched = || {
        route.map_or_else(
            || PathMatch {
                kind: PathKind::Prefix,
                path: "/".to_owned(),
            },
            |route| route.path.clone(),
        )
    };
    let extras = route
        .filter(|route| !route.filters.is_empty())
        .map(|route| {
            Arc::new(RouteExtras {
                matched: route.path.clone(),
                filters: route.filters.clone(),
            })
        });
    match action {
        Action::Forward { target_group } => {
            Resolved::Forward(Forwarding::new(vec![(pool_of(target_group), 1)], extras))
        }
        Action::WeightedForward {
            targets,
            failed_weight,
        } => Resolved::Forward(Forwarding::with_failures(
            targets
                .iter()
                .map(|target| {
                    (
                        pool_of(&target.target_group),
                        target.weight,
                        target.filters.clone(),
                    )
                })
                .collect(),
            *failed_weight,
            extras,
        )),
        Action::FixedResponse {
            status,
            content_type,
            body,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match (content_type, body) {
                (None, None) => Resolved::Fixed(status),
                (content_type, body) => Resolved::Respond(FixedAnswer::new(
                    status,
                    content_type.as_deref(),
                    body.as_deref(),
                )),
            }
        }
        Action::Redirect(redirect) => Resolved::Redirect(RedirectAnswer {
            redirect: redirect.clone(),
            matched: matched(),
        }),
    }
}

/// Which plain-HTTP requests are answered with a redirect to HTTPS: all of them when the HTTP
/// listener says so, else those whose host's virtual host asks for it (`ssl-redirect` on the
/// Ingress that declares the host).
#[derive(Debug, Default)]
pub struct HttpsRedirects {
    listener: Option<u16>,
    /// Every virtual host in model order with its redirect; empty when none redirects, so the
    /// common case costs nothing per request.
    hosts: Vec<(HostMatch, Option<u16>)>,
}

impl HttpsRedirects {
    fn new(model: &DesiredLoadBalancer) -> Self {
        let listener = model
            .listeners
            .values()
            .filter(|listener| listener.protocol == Protocol::Http)
            .find_map(|listener| listener.redirect_to_https_port);
        let any_host_redirects = model
            .virtual_hosts
            .iter()
            .any(|vhost| vhost.redirect_to_https_port.is_some());
        let hosts = match any_host_redirects {
            true => model
                .virtual_hosts
                .iter()
                .map(|vhost| (vhost.host.clone(), vhost.redirect_to_https_port))
                .collect(),
            false => Vec::new(),
        };
        Self { listener, hosts }
    }

    /// The HTTPS port a plain-HTTP request for `host` is redirected to, if it is. The virtual
    /// host is chosen as routing chooses it: the first whose pattern matches.
    pub fn port_for(&self, host: &str) -> Option<u16> {
        if self.listener.is_some() || self.hosts.is_empty() {
            return self.listener;
        }
        let host = weir_model::normalize_host(host);
        self.hosts
            .iter()
            .find(|(pattern, _)| pattern.matches(&host))
            .and_then(|(_, port)| *port)
    }
}
