//! Route actions and filters beyond "forward to one target group": weighted forwards,
//! redirects, fixed responses with a body, header modifiers, URL rewrites and per-route
//! timeouts. The general path (`proxy.rs`) applies all of them; the lane forwards only plain
//! forwards (weighted or not) without filters and hands every other action to it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use weir_model::{HeaderModifier, PathMatch, Redirect, RequestHeaders, RouteFilters};

use crate::shared::upstream::balancer::{TargetPool, random_below};
use crate::shared::upstream::body::ProxyBody;

/// Where a forwarding route sends requests.
#[derive(Debug)]
pub struct Forwarding {
    /// The target groups' pools with their weights (positive; one entry with weight 1 for a
    /// plain forward).
    pub targets: Vec<(Arc<TargetPool>, u32)>,
    /// The weight of backends that could not be used: that share is answered with 500.
    failed_weight: u32,
    total: u64,
    /// The route's filters and matched path, when it has filters.
    pub extras: Option<Arc<RouteExtras>>,
}

impl Forwarding {
    /// A forwarding over weighted pools (zero weights are dropped; translation guarantees a
    /// positive total, and an empty list picks an empty pool: 503).
    pub fn new(targets: Vec<(Arc<TargetPool>, u32)>, extras: Option<Arc<RouteExtras>>) -> Self {
        Self::with_failed_weight(targets, 0, extras)
    }

    /// [`Forwarding::new`] where a share of `failed_weight` (backends that could not be used)
    /// is answered with 500.
    pub fn with_failed_weight(
        targets: Vec<(Arc<TargetPool>, u32)>,
        failed_weight: u32,
        extras: Option<Arc<RouteExtras>>,
    ) -> Self {
        let targets: Vec<_> = targets.into_iter().filter(|(_, w)| *w > 0).collect();
        let total = targets
            .iter()
            .map(|(_, weight)| u64::from(*weight))
            .sum::<u64>()
            + u64::from(failed_weight);
        Self {
            targets,
            failed_weight,
            total,
            extras,
        }
    }

    /// Whether some requests are answered with 500 (the share of failed backends). The lane
    /// leaves such routes to the general path, so that each request is picked once.
    pub fn has_failed_share(&self) -> bool {
        self.failed_weight > 0
    }

    /// The pool of one request, at random in proportion to the weights; `None` for the share
    /// of failed backends, which is answered with 500.
    pub fn pick(&self) -> Option<Arc<TargetPool>> {
        if self.targets.len() == 1 && self.failed_weight == 0 {
            return Some(Arc::clone(&self.targets[0].0));
        }
        let Ok(total) = usize::try_from(self.total) else {
            return Some(Arc::default());
        };
        if total == 0 {
            return Some(Arc::default());
        }
        let mut ticket = random_below(total) as u64;
        for (pool, weight) in &self.targets {
            if ticket < u64::from(*weight) {
                return Some(Arc::clone(pool));
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
                    .is_some_and(|pool| Arc::ptr_eq(&pool, &heavy))
            })
            .count();
        assert!((8_500..9_500).contains(&heavy_picks), "{heavy_picks}");
    }

    #[test]
    fn the_failed_share_picks_no_pool() {
        let pool = Arc::new(TargetPool::default());
        let forwarding = Forwarding::with_failed_weight(vec![(Arc::clone(&pool), 3)], 1, None);
        assert!(forwarding.has_failed_share());
        let failed = (0..10_000).filter(|_| forwarding.pick().is_none()).count();
        assert!((2_000..3_000).contains(&failed), "{failed}");
        let all_failed = Forwarding::with_failed_weight(Vec::new(), 1, None);
        assert!(all_failed.pick().is_none());
    }
}
