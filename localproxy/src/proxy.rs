//! The request path: validate, route, forward, answer.
//!
//! ```text
//! request ─► host + path checks (400) ─► https redirect? ─► router ─► fixed response
//!                                                              └──► upstream::send ─► response
//! every failure ─► ProxyError::status() ─► error response
//! ```

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::header::{self, HeaderValue};
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use weir_model::{DesiredLoadBalancer, RouteRequest};

use crate::actions::{MapHeaders, modify_headers};
use crate::body::{ProxyBody, TimeoutBody};
use crate::config::ProxyConfig;
use crate::error::ProxyError;
use crate::headers::{Forwarded, remove_hop_by_hop, set_forwarded};
use crate::metrics::Metrics;
use crate::path::normalize_path;
use crate::snapshot::{Resolved, Snapshot};
use crate::upstream;

/// State shared by every listener and connection of one proxy.
#[derive(Debug)]
pub struct Shared {
    /// The snapshot new requests use.
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    /// Limits and timeouts.
    pub config: ProxyConfig,
    /// Metrics.
    pub metrics: Metrics,
    serving: AtomicBool,
    swap: Mutex<()>,
    /// Turns true once: listeners stop accepting, connections finish their request and close.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// A receiver that turns `true` once shutdown has begun; for loops that check it often.
    pub fn shutdown_receiver(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Resolves once shutdown has begun.
    pub async fn shutting_down(&self) {
        let mut receiver = self.shutdown.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail while we borrow it.
        let _ = receiver.wait_for(|down| *down).await;
    }
}

/// A handle on one proxy: swap configurations in, serve listeners (see [`crate::server`]).
#[derive(Clone, Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
}

impl Proxy {
    /// A proxy with the empty snapshot (every request gets 503 until the first
    /// [`Proxy::apply`]).
    pub fn new(config: ProxyConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                snapshot: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
                config,
                metrics: Metrics::new(),
                serving: AtomicBool::new(false),
                swap: Mutex::new(()),
                shutdown: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Builds a snapshot of `model` and swaps it in; returns its version. Requests already
    /// running finish on the snapshot they started with.
    pub fn apply(&self, model: &DesiredLoadBalancer) -> u64 {
        let _one_swap_at_a_time = self
            .shared
            .swap
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = self.shared.snapshot.load_full();
        let version = previous.version + 1;
        let next = Snapshot::build(
            model,
            version,
            &previous,
            &self.shared.config,
            &self.shared.metrics,
        );
        self.shared.snapshot.store(Arc::new(next));
        self.shared
            .metrics
            .config_version
            .set(i64::try_from(version).unwrap_or(i64::MAX));
        self.shared.metrics.reloads.inc();
        version
    }

    /// The snapshot new requests use.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.snapshot.load_full()
    }

    /// The shared state, for listeners.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The proxy's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Marks the proxy ready (listeners bound, a configuration applied) or not.
    pub fn set_serving(&self, serving: bool) {
        self.shared.serving.store(serving, Ordering::Release);
    }

    /// Begins a graceful shutdown: `/readyz` turns 503, listeners stop accepting, and every
    /// connection closes after the request it is serving (HTTP/2: after its open streams).
    pub fn shutdown(&self) {
        self.set_serving(false);
        self.shared.shutdown.send_replace(true);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_serving(&self) -> bool {
        self.shared.serving.load(Ordering::Acquire) && self.shared.snapshot.load().version > 0
    }
}

/// The client side of one connection.
#[derive(Clone, Copy, Debug)]
pub struct Downstream {
    /// The client's address.
    pub peer: SocketAddr,
    /// The local port the client connected to.
    pub local_port: u16,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Answers one request; never fails (failures become error responses).
pub async fn handle(
    shared: &Shared,
    downstream: Downstream,
    request: Request<Incoming>,
) -> Response<ProxyBody> {
    let started = Instant::now();
    let access = shared
        .config
        .access_log
        .then(|| (request.method().to_string(), request.uri().to_string()));
    let response = match forward(shared, downstream, request).await {
        Ok(response) => response,
        Err(error) => error_response(error),
    };
    let access = access.as_ref();
    record_request(
        shared,
        downstream,
        started.elapsed(),
        response.status().as_u16(),
        access.map(|(method, uri)| (method.as_str(), uri.as_str())),
    );
    response
}

/// Accounts for one answered request: the status and duration (request head to response
/// head) metrics, and with `--access-log` one line naming the client, `request` (method and
/// target) and status.
pub fn record_request(
    shared: &Shared,
    downstream: Downstream,
    elapsed: Duration,
    status: u16,
    request: Option<(&str, &str)>,
) {
    shared.metrics.count_status(status);
    shared
        .metrics
        .request_duration
        .observe(elapsed.as_secs_f64());
    if let Some((method, uri)) = request {
        tracing::info!(target: "access", client = %downstream.peer, method, uri, status, micros = elapsed.as_micros() as u64);
    }
}

async fn forward(
    shared: &Shared,
    downstream: Downstream,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let host = request_host(&request)?.to_owned();
    let path = normalize_path(request.uri().path())
        .map_err(|_| ProxyError::BadRequest("invalid request path"))?;
    let (pool, extras) = {
        // A short-lived guard, released before any await: the request keeps only what it
        // uses from this snapshot, the target pool, for as long as it runs.
        let snapshot = shared.snapshot.load();
        let redirect = match downstream.tls {
            true => None,
            false => snapshot.https_redirects.port_for(&host),
        };
        if let Some(port) = redirect {
            return Ok(redirect_to_https(&host, &path, request.uri().query(), port));
        }
        let headers = MapHeaders(request.headers());
        let route_request = RouteRequest {
            host: &host,
            path: &path,
            method: request.method().as_str(),
            query: request.uri().query(),
            headers: &headers,
            source_ip: Some(downstream.peer.ip()),
        };
        match snapshot.resolve(snapshot.router.route_request(&route_request)) {
            Resolved::Fixed(status) if *status == StatusCode::NOT_FOUND => {
                return Err(ProxyError::NoRoute);
            }
            Resolved::Fixed(status) => return Ok(fixed(*status)),
            Resolved::Respond(answer) => return Ok(answer.response()),
            Resolved::Redirect(answer) => {
                let query = request.uri().query();
                return Ok(answer.response(downstream.tls, &host, &path, query));
            }
            Resolved::Forward(forwarding) => (forwarding.pick(), forwarding.extras.clone()),
        }
    };
    let rewritten = extras.as_ref().and_then(|extras| {
        let rewrite = extras.filters.rewrite.as_ref()?;
        let new_path = rewrite.path.as_ref()?.apply(&extras.matched, &path);
        Some(rebuild_path(&new_path, request.uri().query()))
    });
    let path_and_query = match (rewritten, &path, request.uri().path_and_query()) {
        (Some(rewritten), _, _) => rewritten?,
        (None, Cow::Borrowed(_), Some(original)) => original.clone(),
        (None, _, _) => rebuild_path(&path, request.uri().query())?,
    };
    drop(path);
    let version = request.version();
    let (mut parts, body) = request.into_parts();
    parts.uri = Uri::from(path_and_query);
    parts.version = Version::HTTP_11;
    remove_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::EXPECT);
    if !parts.headers.contains_key(header::HOST) {
        let value =
            HeaderValue::from_str(&host).map_err(|_| ProxyError::BadRequest("invalid host"))?;
        parts.headers.insert(header::HOST, value);
    }
    if let Some(extras) = &extras {
        modify_headers(&mut parts.headers, &extras.filters.request_headers);
        let new_host = extras
            .filters
            .rewrite
            .as_ref()
            .and_then(|rewrite| rewrite.host.as_deref());
        if let Some(value) = new_host.and_then(|name| HeaderValue::from_str(name).ok()) {
            parts.headers.insert(header::HOST, value);
        }
    }
    set_forwarded(
        &mut parts.headers,
        Forwarded {
            client_ip: downstream.peer.ip(),
            tls: downstream.tls,
            host: &host,
            port: downstream.local_port,
        },
    );
    let upstream_request =
        Request::from_parts(parts, TimeoutBody::new(body, shared.config.body_timeout));
    let route_config;
    let config = match extras.as_ref().and_then(|extras| extras.timeout()) {
        Some(timeout) => {
            route_config = ProxyConfig {
                upstream_timeout: timeout,
                ..shared.config.clone()
            };
            &route_config
        }
        None => &shared.config,
    };
    let (response, lease) =
        upstream::send(&pool, upstream_request, config, &shared.metrics).await?;
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        // This path never asks for an upgrade (WebSocket is the lane's): a 101 would leave the
        // client believing the connection switched protocols.
        shared
            .metrics
            .count_upstream_error(ProxyError::UpstreamProtocol);
        return Err(ProxyError::UpstreamProtocol);
    }
    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    if let Some(extras) = &extras {
        modify_headers(&mut parts.headers, &extras.filters.response_headers);
    }
    parts.version = version;
    Ok(Response::from_parts(
        parts,
        ProxyBody::upstream(TimeoutBody::new(body, config.upstream_timeout), lease),
    ))
}

/// The host a request is for: the URI authority (HTTP/2, absolute-form) or the one `Host`
/// header. Several `Host` headers, a `Host` that disagrees with the authority, a missing host
/// on HTTP/1.1 or characters outside a host name's alphabet are 400.
fn request_host<B>(request: &Request<B>) -> Result<&str, ProxyError> {
    let mut headers = request.headers().get_all(header::HOST).iter();
    let header = headers.next();
    if headers.next().is_some() {
        return Err(ProxyError::BadRequest("several Host headers"));
    }
    let header = header
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ProxyError::BadRequest("invalid Host header"))
        })
        .transpose()?;
    let host = match (request.uri().authority(), header) {
        (Some(authority), Some(header)) if !authority.as_str().eq_ignore_ascii_case(header) => {
            return Err(ProxyError::BadRequest(
                "Host disagrees with the request target",
            ));
        }
        (Some(authority), _) => authority.as_str(),
        (None, Some(header)) => header,
        (None, None) if request.version() == Version::HTTP_10 => "",
        (None, None) => return Err(ProxyError::BadRequest("missing Host header")),
    };
    if !is_valid_host(host) {
        return Err(ProxyError::BadRequest("invalid host"));
    }
    Ok(host)
}

/// Whether `host` is `name[:port]` in a host name's alphabet (or a bracketed IPv6 literal)
/// with a decimal port when it has one.
pub fn is_valid_host(host: &str) -> bool {
    let alphabet = host.bytes().all(|byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b':' | b'[' | b']')
    });
    alphabet && port_is_numeric(host)
}

/// `host[:port]` must carry a decimal port when it has one: `foo.com:abc` is refused rather
/// than routed as some other host.
fn port_is_numeric(host: &str) -> bool {
    let after_name = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((_, rest)) => rest,
            None => return false,
        },
        None => host,
    };
    match after_name.rsplit_once(':') {
        Some((name, port)) => !name.contains(':') && port.parse::<u16>().is_ok(),
        None => !after_name.contains(['[', ']']),
    }
}

fn rebuild_path(path: &str, query: Option<&str>) -> Result<PathAndQuery, ProxyError> {
    let text = match query {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    PathAndQuery::try_from(text).map_err(|_| ProxyError::BadRequest("invalid request target"))
}

fn redirect_to_https(
    host: &str,
    path: &str,
    query: Option<&str>,
    port: u16,
) -> Response<ProxyBody> {
    let name = weir_model::normalize_host(host);
    let authority = if port == 443 {
        name.into_owned()
    } else {
        format!("{name}:{port}")
    };
    let location = match query {
        Some(query) => format!("https://{authority}{path}?{query}"),
        None => format!("https://{authority}{path}"),
    };
    let mut response = fixed(StatusCode::PERMANENT_REDIRECT);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn fixed(status: StatusCode) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::empty());
    *response.status_mut() = status;
    response
}

/// The response for a failure: its status, a one-line text body, and `Connection: close` for
/// malformed requests.
pub fn error_response(error: ProxyError) -> Response<ProxyBody> {
    let status = error.status();
    let text = error_text(status);
    let mut response = Response::new(ProxyBody::text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if error.closes_connection() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The one-line body of an error response: `"404 Not Found\n"`.
pub fn error_text(status: StatusCode) -> String {
    format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}
