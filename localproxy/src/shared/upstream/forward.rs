//! Sending one request of the hyper path (HTTP/2 streams, handed-off HTTP/1) over a pooled
//! HTTP/1.1 [`UpstreamConnection`], from the task that serves the request: the head written
//! in one piece, the body streamed with backpressure (each write waits for the endpoint), the
//! response head read with the same reader as the lane's, and the body left on the connection
//! for [`UpstreamBody`] to stream.
//!
//! Connecting fails over to other endpoints; a request that did not go out whole is sent
//! again; a bodyless idempotent request (RFC 9110 section 9.2.2) that a reused connection
//! dropped before any response is sent once more (the endpoint closed an idle connection as we
//! wrote to it).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, request};
use http_body::Body;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use crate::shared::config::ProxyConfig;
use crate::shared::error::ProxyError;
use crate::shared::metrics::Metrics;
use crate::shared::upstream::balancer::TargetPool;
use crate::shared::upstream::connection::UpstreamConnection;
use crate::shared::upstream::exchange::{Attempts, Checkout, charge};
use crate::shared::upstream::relayed_body::UpstreamBody;
use crate::shared::upstream::response_head::{
    Asked, Framing, HeadError, HeadSink, end_to_end, read_response,
};
use crate::shared::upstream::timeout_body::{BodyError, TimeoutBody};
use crate::wire::headers::{push_decimal, push_header};

/// The response head a hyper-path request got: status and end-to-end headers.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// The endpoint's status.
    pub status: StatusCode,
    /// The endpoint's headers, hop-by-hop ones removed.
    pub headers: HeaderMap,
    /// The body, streamed from the connection.
    pub body: UpstreamBody,
}

/// How the request body is framed towards the endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestFraming {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// Chunked: the length is not known up front.
    Chunked,
}

/// Sends `parts` (hop-by-hop headers already removed, `Host` and `X-Forwarded-*` set) with
/// `body` to an endpoint of `pool`, and returns the response head with its body.
///
/// # Errors
/// [`ProxyError::NoReadyEndpoint`] for an empty pool, [`ProxyError::UpstreamConnect`] when no
/// endpoint could be reached, [`ProxyError::UpstreamTimeout`] when a write to the endpoint or
/// the response head took longer than the upstream timeout, [`ProxyError::BodyTimeout`] or
/// [`ProxyError::BadRequest`] when the client stalled or broke its body, and
/// [`ProxyError::UpstreamProtocol`] when the endpoint broke the exchange.
///
/// # Cancel safety
/// Dropping the future drops the request; the connection in use is closed, never pooled.
pub async fn send<B>(
    pool: &TargetPool,
    parts: &request::Parts,
    body: TimeoutBody<B>,
    config: &ProxyConfig,
    metrics: &Metrics,
) -> Result<UpstreamResponse, ProxyError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    if pool.endpoints.is_empty() {
        return Err(ProxyError::NoReadyEndpoint);
    }
    let framing = if body.is_end_stream() {
        RequestFraming::Empty
    } else {
        match body.size_hint().exact() {
            Some(length) => RequestFraming::Length(length),
            None => RequestFraming::Chunked,
        }
    };
    let asked = Asked {
        is_head: parts.method == Method::HEAD,
        websocket: false,
    };
    let mut body = Some(body);
    let mut stale_retry_left = framing == RequestFraming::Empty && parts.method.is_idempotent();
    let mut attempts = Attempts::new(pool, config);
    loop {
        let Checkout {
            index,
            in_flight,
            mut connection,
            reused,
        } = attempts.checkout(metrics).await?;
        let endpoint = &pool.endpoints[index];
        connection.request_head.clear();
        write_request_head(parts, framing, &mut connection.request_head);
        let written = connection.within(config.upstream_timeout, async |connection| {
            let UpstreamConnection {
                stream,
                request_head,
                ..
            } = connection;
            stream.write_all(request_head).await
        });
        match written.await {
            Some(Ok(())) => {}
            // The request did not go out whole, so no endpoint can have acted on it.
            Some(Err(_)) if reused || attempts.connect_failed(index, metrics) => continue,
            Some(Err(_)) => return Err(ProxyError::UpstreamConnect),
            None => {
                charge(endpoint, ProxyError::UpstreamTimeout, config, metrics);
                return Err(ProxyError::UpstreamTimeout);
            }
        }
        // The endpoint stopped taking the body: it may have answered early (413 and the like);
        // that answer is what the client gets, and the connection is not reused.
        let mut answered_early = false;
        if let Some(body) = body.take().filter(|_| framing != RequestFraming::Empty) {
            match send_body(&mut connection, body, framing, config).await {
                Ok(()) => {}
                Err(BodyFailure::Client(error)) => return Err(error),
                Err(BodyFailure::EndpointStopped) => answered_early = true,
                Err(BodyFailure::EndpointTimeout) => {
                    charge(endpoint, ProxyError::UpstreamTimeout, config, metrics);
                    return Err(ProxyError::UpstreamTimeout);
                }
            }
        }
        let mut sink = MapHead::default();
        let read = connection.within(config.upstream_timeout, async |connection| {
            read_response(connection, asked, false, &mut sink).await
        });
        let response = match read.await {
            Some(Ok(response)) => response,
            Some(Err(HeadError::Closed)) if reused && stale_retry_left => {
                stale_retry_left = false;
                continue;
            }
            Some(Err(error)) => {
                tracing::debug!(endpoint = %endpoint.addr, %error, "upstream exchange failed");
                charge(endpoint, ProxyError::UpstreamProtocol, config, metrics);
                return Err(ProxyError::UpstreamProtocol);
            }
            None => {
                charge(endpoint, ProxyError::UpstreamTimeout, config, metrics);
                return Err(ProxyError::UpstreamTimeout);
            }
        };
        let body = UpstreamBody::new(
            connection,
            in_flight,
            &response,
            sink.buffered.slice(response.head_len..),
            config.upstream_timeout,
            !answered_early,
        );
        let body = match body {
            Ok(body) => body,
            Err(error) => {
                tracing::debug!(endpoint = %endpoint.addr, %error, "upstream response unusable");
                charge(endpoint, ProxyError::UpstreamProtocol, config, metrics);
                return Err(ProxyError::UpstreamProtocol);
            }
        };
        endpoint.record_success();
        return Ok(UpstreamResponse {
            status: sink.status,
            headers: sink.headers,
            body,
        });
    }
}

/// Writes the HTTP/1.1 request head for `parts`: origin-form target, the headers as they are
/// but for the body's framing, which `framing` says, and cookies, which go on one line.
fn write_request_head(parts: &request::Parts, framing: RequestFraming, out: &mut Vec<u8>) {
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |target| target.as_str());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut had_length = false;
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH {
            had_length = true;
        } else if name != header::COOKIE {
            push_header(out, name.as_str(), value.as_bytes());
        }
    }
    // HTTP/2 clients may send each cookie as its own field; HTTP/1.1 has one `Cookie` line
    // (RFC 9113 section 8.2.3).
    let mut cookies = parts.headers.get_all(header::COOKIE).iter();
    if let Some(first) = cookies.next() {
        out.extend_from_slice(b"cookie: ");
        out.extend_from_slice(first.as_bytes());
        for cookie in cookies {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(cookie.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        RequestFraming::Length(length) => {
            out.extend_from_slice(b"content-length: ");
            push_decimal(out, length);
            out.extend_from_slice(b"\r\n");
        }
        RequestFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        // Methods that mean to send content say that there is none (RFC 9110 section 8.6).
        RequestFraming::Empty
            if had_length || [Method::POST, Method::PUT, Method::PATCH].contains(&parts.method) =>
        {
            out.extend_from_slice(b"content-length: 0\r\n");
        }
        RequestFraming::Empty => {}
    }
    out.extend_from_slice(b"\r\n");
}

/// Why a request body did not go out whole.
enum BodyFailure {
    /// The client stalled or broke its body.
    Client(ProxyError),
    /// A write to the endpoint failed: it closed, perhaps after answering.
    EndpointStopped,
    /// A write to the endpoint took longer than the upstream timeout.
    EndpointTimeout,
}

/// Streams `body` to the endpoint, each part written before the next is read (backpressure on
/// the client) and each write bounded by the upstream timeout. Trailers are not forwarded.
async fn send_body<B>(
    connection: &mut UpstreamConnection,
    mut body: TimeoutBody<B>,
    framing: RequestFraming,
    config: &ProxyConfig,
) -> Result<(), BodyFailure>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    let mut chunk = Vec::new();
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(BodyError::Timeout)) => {
                return Err(BodyFailure::Client(ProxyError::BodyTimeout));
            }
            Some(Err(_)) => {
                return Err(BodyFailure::Client(ProxyError::BadRequest(
                    "the request body broke off",
                )));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if framing == RequestFraming::Chunked {
            chunk.clear();
            push_hex(&mut chunk, data.len());
            chunk.extend_from_slice(b"\r\n");
            chunk.extend_from_slice(&data);
            chunk.extend_from_slice(b"\r\n");
            write(connection, &chunk, config).await?;
        } else {
            write(connection, &data, config).await?;
        }
    }
    if framing == RequestFraming::Chunked {
        write(connection, b"0\r\n\r\n", config).await?;
    }
    Ok(())
}

async fn write(
    connection: &mut UpstreamConnection,
    bytes: &[u8],
    config: &ProxyConfig,
) -> Result<(), BodyFailure> {
    let written = connection.within(config.upstream_timeout, async |connection| {
        connection.stream.write_all(bytes).await
    });
    match written.await {
        Some(Ok(())) => Ok(()),
        Some(Err(_)) => Err(BodyFailure::EndpointStopped),
        None => Err(BodyFailure::EndpointTimeout),
    }
}

fn push_hex(out: &mut Vec<u8>, value: usize) {
    let digits = format!("{value:x}");
    out.extend_from_slice(digits.as_bytes());
}

/// Builds the hyper response's status and header map from the endpoint's head. The bytes read
/// with the head are copied once: the header values and the first body bytes are views of
/// that one copy.
#[derive(Debug, Default)]
struct MapHead {
    status: StatusCode,
    headers: HeaderMap,
    /// Every byte read with the head, the head first.
    buffered: Bytes,
}

impl HeadSink for MapHead {
    fn write(
        &mut self,
        response: &httparse::Response<'_, '_>,
        buffered: &[u8],
        status: u16,
        _framing: Framing,
        _closes_client: bool,
    ) {
        self.status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        self.headers = HeaderMap::with_capacity(response.headers.len());
        self.buffered = Bytes::copy_from_slice(buffered);
        let base = buffered.as_ptr() as usize;
        for header in end_to_end(response) {
            let start = header.value.as_ptr() as usize - base;
            let value = self.buffered.slice(start..start + header.value.len());
            // httparse admits only token names and field-value bytes, which both accept.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_maybe_shared(value),
            ) {
                self.headers.append(name, value);
            }
        }
    }
}
