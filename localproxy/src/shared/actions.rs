//! Route actions and filters beyond "forward to one target group": weighted forwards,
//! redirects, fixed responses with a body, header modifiers, URL rewrites and per-route
//! timeouts. The general path (`proxy.rs`) applies all of them; the lane forwards only plain
//! forwards (weighted or not) without filters and hands every other action to it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use weir_model::{
    BackendFilters, HeaderModifier, PathMatch, Redirect, RequestHeaders, RouteFilters,
};

use crate::shared::upstream::balancer::{TargetPool, random_below};
use crate::shared::upstream::body::ProxyBody;

/// Where a forwarding route sends requests.
#[derive(Debug)]
pub struct Forwarding {
    /// The target groups' pools with their weights (positive; one entry with weight 1 for a
    /// plain forward).
    pub targets: Vec<(Arc<TargetPool>, u32)>,
    /// By target (same order): its own header changes, if any.
    backend_filters: Vec<Option<Arc<BackendFilters>>>,
    /// The weight of backends that could not be used: that share is answered with 500.
    failed_weight: u32,
    total: u64,
    /// The route's filters and matched path, when it has filters.
    pub extras: Option<Arc<RouteExtras>>,
}

/// The target one request goes to.
#[derive(Debug)]
pub struct Picked {
    /// Its pool.
    pub pool: Arc<TargetPool>,
    /// Its own header changes (Gateway API per-backendRef filters), applied after the route's.
    pub filters: Option<Arc<BackendFilters>>,
}

impl Forwarding {
    /// A forwarding over weighted pools (zero weights are dropped; translation guarantees a
    /// positive total, and an empty list picks an empty pool: 503).
    pub fn new(targets: Vec<(Arc<TargetPool>, u32)>, extras: Option<Arc<RouteExtras>>) -> Self {
        let targets = targets
            .into_iter()
            .map(|(pool, weight)| (pool, weight, BackendFilters::default()))
            .collect();
        Self::with_failures(targets, 0, extras)
    }

    /// A forwarding over weighted pools with their own filters, where a share of
    /// `failed_weight` (backends that could not be used) is answered with 500.
    pub fn with_failures(
        targets: Vec<(Arc<TargetPool>, u32, BackendFilters)>,
        failed_weight: u32,
        extras: Option<Arc<RouteExtras>>,
    ) -> Self {
        let mut pools = Vec::with_capacity(targets.len());
        let mut backend_filters = Vec::with_capacity(targets.len());
        for (pool, weight, filters) in targets.into_iter().filter(|(_, w, _)| *w > 0) {
            pools.push((pool, weight));
            backend_filters.push((!filters.is_empty()).then(|| Arc::new(filters)));
        }
        let total = pools
            .iter()
            .map(|(_, weight)| u64::from(*weight))
            .sum::<u64>()
            + u64::from(failed_weight);
        Self {
            targets: pools,
            backend_filters,
            failed_weight,
            total,
            extras,
        }
    }

    /// Whether the lane may forward these requests: no route filters, no share answered with
    /// 500 and no per-target filters (the general path does those, picking each request once).
    pub fn is_plain(&self) -> bool {
        self.extras.is_none()
            && self.failed_weight == 0
            && self.backend_filters.iter().all(Option::is_none)
    }

    /// The target of one request, at random in proportion to the weights; `None` for the
    /// share of failed backends, which is answered with 500.
    pub fn pick(&self) -> Option<Picked> {
        let index = self.pick_index()?;
        Some(match self.targets.get(index) {
            Some((pool, _)) => Picked {
                pool: Arc::clone(pool),
                filters: self.backend_filters.get(index).cloned().flatten(),
            },
            None => Picked {
                pool: Arc::default(),
                filters: None,
            },
        })
    }

    /// The index of the picked target (past the end: an empty pool), `None` for the failed
    /// share.
    fn pick_index(&self) -> Option<usize> {
        if self.targets.len() == 1 && self.failed_weight == 0 {
            return Some(0);
        }
        let Ok(total) = usize::try_from(self.total) else {
            return Some(usize::MAX);
        };
        if total == 0 {
            return Some(usize::MAX);
        }
        let mut ticket = random_below(total) as u64;
        for (index, (_, weight)) in self.targets.iter().enumerate() {
            if ticket < u64::from(*weight) {
                return Some(index);
            }
            ticket -= u64::from(*weight);
        }
        None
    }
}

/// What a route with filters needs when it forwards.
#[derive(Debug)]
pub struct RouteExtras {
    /// The route's path (what a prefix rewrite replaces).
    pub matched: PathMatch,
    /// The filters.
    pub filters: RouteFilters,
}

impl RouteExtras {
    /// The upstream response-head timeout, when the route sets one.
    pub fn timeout(&self) -> Option<Duration> {
        self.filters.timeout_ms.map(Duration::from_millis)
    }
}

/// A fixed response with a body.
#[derive(Debug)]
pub struct FixedAnswer {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl FixedAnswer {
    /// Builds the answer; an unusable content type is left out.
    pub fn new(status: StatusCode, content_type: Option<&str>, body: Option<&str>) -> Self {
        Self {
            status,
            content_type: content_type.and_then(|kind| HeaderValue::from_str(kind).ok()),
            body: Bytes::copy_from_slice(body.unwrap_or_default().as_bytes()),
        }
    }

    /// The response.
    pub fn response(&self) -> Response<ProxyBody> {
        let mut response = Response::new(ProxyBody::text(self.body.clone()));
        *response.status_mut() = self.status;
        if let Some(kind) = &self.content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, kind.clone());
        }
        response
    }
}

/// A redirect and the route path it replaces parts of.
#[derive(Debug)]
pub struct RedirectAnswer {
    /// The redirect.
    pub redirect: Redirect,
    /// The route's path.
    pub matched: PathMatch,
}

impl RedirectAnswer {
    /// The `Location` for a request: `tls` tells its scheme, `host` is its raw `Host`, `path`
    /// its normalized path and `query` its query.
    pub fn location(&self, tls: bool, host: &str, path: &str, query: Option<&str>) -> String {
        let redirect = &self.redirect;
        let request_scheme = if tls { "https" } else { "http" };
        let scheme = redirect.scheme.as_deref().unwrap_or(request_scheme);
        let name = match &redirect.host {
            Some(name) => name.clone(),
            None => weir_model::normalize_host(host).into_owned(),
        };
        let request_port = request_port(host);
        let port = match (redirect.port, &redirect.scheme) {
            (Some(port), _) => Some(port),
            (None, Some(changed)) if changed != request_scheme => None,
            (None, _) => request_port,
        };
        let well_known = if scheme == "https" { 443 } else { 80 };
        let authority = match port {
            Some(port) if port != well_known => format!("{name}:{port}"),
            _ => name,
        };
        let path = match &redirect.path {
            Some(rewrite) => rewrite.apply(&self.matched, path),
            None => path.to_owned(),
        };
        let query = match &redirect.query {
            Some(query) => Some(query.as_str()).filter(|query| !query.is_empty()),
            None => query,
        };
        match query {
            Some(query) => format!("{scheme}://{authority}{path}?{query}"),
            None => format!("{scheme}://{authority}{path}"),
        }
    }

    /// The response.
    pub fn response(
        &self,
        tls: bool,
        host: &str,
        path: &str,
        query: Option<&str>,
    ) -> Response<ProxyBody> {
        let mut response = Response::new(ProxyBody::empty());
        *response.status_mut() =
            StatusCode::from_u16(self.redirect.status).unwrap_or(StatusCode::FOUND);
        if let Ok(location) = HeaderValue::from_str(&self.location(tls, host, path, query)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// The decimal port of a raw `host[:port]`, if it has one.
fn request_port(host: &str) -> Option<u16> {
    let after = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, after)| after),
        None => host,
    };
    let (name, port) = after.rsplit_once(':')?;
    (!name.contains(':')).then(|| port.parse().ok()).flatten()
}

/// Applies a header modifier: remove, then set, then add. Names or values that are not valid
/// HTTP are skipped (translation lets none through).
pub fn modify_headers(headers: &mut HeaderMap, modifier: &HeaderModifier) {
    for name in &modifier.remove {
        headers.remove(name.as_str());
    }
    for (name, value) in &modifier.set {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    for (name, value) in &modifier.add {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
}

/// A request's [`HeaderMap`] as the router reads headers.
pub struct MapHeaders<'a>(pub &'a HeaderMap);

impl RequestHeaders for MapHeaders<'_> {
    fn any_value(&self, name: &str, test: &mut dyn FnMut(&str) -> bool) -> bool {
        self.0
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(test)
    }
}

#[cfg(test)]
mod tests {
    use weir_model::{PathKind, PathRewrite};

    use super::*;

    fn answer(redirect: Redirect) -> RedirectAnswer {
        RedirectAnswer {
            redirect,
            matched: PathMatch {
                kind: PathKind::Prefix,
                path: "/old".into(),
            },
        }
    }

    fn keep(status: u16) -> Redirect {
        Redirect {
            scheme: None,
            host: None,
            port: None,
            path: None,
            query: None,
            status,
        }
    }

    #[test]
    fn locations_keep_what_the_redirect_does_not_set() {
        let to_https = answer(Redirect {
            scheme: Some("https".into()),
            ..keep(301)
        });
        assert_eq!(
            to_https.location(false, "a.com:8080", "/old/x", Some("q=1")),
            "https://a.com/old/x?q=1"
        );
        let same = answer(keep(302));
        assert_eq!(
            same.location(false, "A.com:8080", "/p", None),
            "http://a.com:8080/p"
        );
        let everything = answer(Redirect {
            scheme: Some("http".into()),
            host: Some("b.org".into()),
            port: Some(8081),
            path: Some(PathRewrite::Prefix("/new".into())),
            query: Some(String::new()),
            status: 307,
        });
        assert_eq!(
            everything.location(true, "a.com", "/old/x", Some("q=1")),
            "http://b.org:8081/new/x"
        );
        let default_port = answer(Redirect {
            port: Some(443),
            scheme: Some("https".into()),
            ..keep(301)
        });
        assert_eq!(
            default_port.location(false, "[::1]:80", "/", None),
            "https://[::1]/"
        );
    }

    #[test]
    fn header_modifiers_remove_then_set_then_add() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.append("x-gone", HeaderValue::from_static("1"));
        modify_headers(
            &mut headers,
            &HeaderModifier {
                set: vec![("x-a".into(), "set".into())],
                add: vec![("x-a".into(), "added".into()), ("x-b".into(), "b".into())],
                remove: vec!["x-gone".into()],
            },
        );
        let values: Vec<_> = headers.get_all("x-a").iter().collect();
        assert_eq!(values, ["set", "added"]);
        assert_eq!(headers.get("x-b").unwrap(), "b");
        assert!(headers.get("x-gone").is_none());
    }

    #[test]
    fn weighted_picks_follow_the_weights() {
        let heavy = Arc::new(TargetPool::default());
        let light = Arc::new(TargetPool::default());
        let forwarding = Forwarding::new(
            vec![
                (Arc::clone(&heavy), 9),
                (Arc::clone(&light), 1),
                (Arc::new(TargetPool::default()), 0),
            ],
            None,
        );
        let heavy_picks = (0..10_000)
            .filter(|_| {
                forwarding
                    .pick()
                    .is_some_and(|picked| Arc::ptr_eq(&picked.pool, &heavy))
            })
            .count();
        assert!((8_500..9_500).contains(&heavy_picks), "{heavy_picks}");
    }

    #[test]
    fn the_failed_share_picks_no_pool() {
        let pool = Arc::new(TargetPool::default());
        let forwarding = Forwarding::with_failures(
            vec![(Arc::clone(&pool), 3, BackendFilters::default())],
            1,
            None,
        );
        assert!(!forwarding.is_plain());
        let failed = (0..10_000).filter(|_| forwarding.pick().is_none()).count();
        assert!((2_000..3_000).contains(&failed), "{failed}");
        let all_failed = Forwarding::with_failures(Vec::new(), 1, None);
        assert!(all_failed.pick().is_none());
    }

    #[test]
    fn a_picked_target_brings_its_own_filters() {
        let plain = Arc::new(TargetPool::default());
        let filtered = Arc::new(TargetPool::default());
        let filters = BackendFilters {
            request_headers: HeaderModifier {
                set: vec![("x-backend".into(), "filtered".into())],
                ..HeaderModifier::default()
            },
            response_headers: HeaderModifier::default(),
        };
        let forwarding = Forwarding::with_failures(
            vec![
                (Arc::clone(&plain), 1, BackendFilters::default()),
                (Arc::clone(&filtered), 1, filters.clone()),
            ],
            0,
            None,
        );
        assert!(!forwarding.is_plain());
        for _ in 0..100 {
            let picked = forwarding.pick().unwrap();
            let own = picked.filters.as_deref();
            match Arc::ptr_eq(&picked.pool, &filtered) {
                true => assert_eq!(own, Some(&filters)),
                false => assert_eq!(own, None),
            }
        }
    }
}
