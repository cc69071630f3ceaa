//! Routing and forwarding, the same for every request path that speaks `http` types (the
//! HTTP/2 driver and hyper's server for handed-off HTTP/1.1): validate, route, forward,
//! answer.
//!
//! ```text
//! request ─► host + path checks (400) ─► https redirect? ─► router ─► fixed response
//!                                                              └──► forward::send ─► response
//! every failure ─► ProxyError::status() ─► error response
//! ```

use std::borrow::Cow;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri, Version};
use weir_model::RouteRequest;

use crate::shared::actions::{MapHeaders, modify_headers};
use crate::shared::config::ProxyConfig;
use crate::shared::error::{ProxyError, error_text};
use crate::shared::snapshot::Resolved;
use crate::shared::state::{Downstream, Shared, record_request};
use crate::shared::upstream::body::ProxyBody;
use crate::shared::upstream::forward;
use crate::shared::upstream::timeout_body::{BodyError, TimeoutBody};
use crate::wire::headers::{Forwarded, remove_hop_by_hop, set_forwarded};
use crate::wire::host::is_valid_host;
use crate::wire::path::normalize_path;

/// Answers one request; never fails (failures become error responses).
pub async fn handle<B>(
    shared: &Shared,
    downstream: Downstream,
    request: Request<B>,
) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    let started = Instant::now();
    let access = shared
        .config
        .access_log
        .then(|| (request.method().to_string(), request.uri().to_string()));
    // Not boxed here: the HTTP/2 connection boxes each stream's future whole, and hyper's
    // path boxes this one, so that its connection future stays small.
    let response = match forward(shared, downstream.clone(), request).await {
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

async fn forward<B>(
    shared: &Shared,
    downstream: Downstream,
    request: Request<B>,
) -> Result<Response<ProxyBody>, ProxyError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    let host = request_host(&request)?.to_owned();
    let path = normalize_path(request.uri().path())
        .map_err(|_| ProxyError::BadRequest("invalid request path"))?;
    let (picked, extras) = {
        // A short-lived guard, released before any await: the request keeps only what it
        // uses from this snapshot, the target pool, for as long as it runs.
        let snapshot = shared.snapshot.load();
        if downstream.misdirected(&snapshot.certificates, &host) {
            return Err(ProxyError::Misdirected);
        }
        let redirect = match downstream.tls {
            true => None,
            false => snapshot.https_redirects.port_for(&host),
        };
        if let Some(port) = redirect {
            let port = shared.config.https_redirect_port.unwrap_or(port);
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
            listener_port: Some(downstream.listener_port()),
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
            Resolved::Forward(forwarding) => match forwarding.pick() {
                Some(picked) => (picked, forwarding.extras.clone()),
                // The share of backends that could not be used (Gateway API: 500).
                None => return Ok(fixed(StatusCode::INTERNAL_SERVER_ERROR)),
            },
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
    if let Some(own) = &picked.filters {
        modify_headers(&mut parts.headers, &own.request_headers);
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
    let body = TimeoutBody::with_min_rate(
        body,
        shared.config.body_timeout,
        shared.config.min_body_rate,
    );
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
    let upstream = forward::send(&picked.pool, &parts, body, config, &shared.metrics).await?;
    let mut response = Response::new(ProxyBody::Upstream(upstream.body));
    *response.status_mut() = upstream.status;
    *response.headers_mut() = upstream.headers;
    *response.version_mut() = version;
    if let Some(extras) = &extras {
        modify_headers(response.headers_mut(), &extras.filters.response_headers);
    }
    if let Some(own) = &picked.filters {
        modify_headers(response.headers_mut(), &own.response_headers);
    }
    Ok(response)
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
