//! Request heads in the lane: is it plain, where does it go, and the head sent upstream.

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::sync::Arc;

use http::Method;
use weir_model::{RequestHeaders, RouteRequest};

use super::push_headers;
use crate::shared::snapshot::Resolved;
use crate::shared::state::{Downstream, Shared};
use crate::shared::upstream::balancer::TargetPool;
use crate::wire::headers::{
    content_length, is_forwarded_for, is_forwarded_header, is_hop_by_hop, list_elements,
    push_decimal, push_forwarded_for,
};
use crate::wire::host::is_valid_host;
use crate::wire::path::normalize_path;

/// Heads with at most this many headers parse into an array on the stack.
const INLINE_HEADERS: usize = 128;

/// What to do with the bytes pending on a client connection.
#[derive(Debug)]
pub(super) enum Prepared {
    /// The head is not complete yet.
    NeedMore,
    /// Not a plain request: hyper serves the connection from here on.
    Handoff,
    /// A plain request; its upstream head is written.
    Forward(LaneRequest),
}

/// A plain request the lane forwards.
#[derive(Debug)]
pub(super) struct LaneRequest {
    /// Length of the client's head in the pending bytes.
    pub head_len: usize,
    /// Length of its body (`Content-Length`, 0 without).
    pub body_len: u64,
    /// The endpoints of the route's target group (at least one).
    pub pool: Arc<TargetPool>,
    /// A `HEAD` request: its response has no body whatever its headers say.
    pub is_head: bool,
    /// A WebSocket upgrade: a `101` answer turns the connection into a tunnel.
    pub websocket: bool,
    /// The method may be sent again (RFC 9110 section 9.2.2).
    pub idempotent: bool,
    /// The client asked to close the connection after this exchange.
    pub close: bool,
    /// Method and target, when the access log is on.
    pub access: Option<(String, String)>,
}

/// Parses the head at the start of `pending`; for a plain request routed to endpoints, writes
/// the head to send upstream into `out` (hop-by-hop headers removed, `X-Forwarded-*` set).
pub(super) fn prepare(
    shared: &Shared,
    downstream: Downstream,
    pending: &[u8],
    out: &mut Vec<u8>,
) -> Prepared {
    if pending.is_empty() {
        return Prepared::NeedMore;
    }
    let max_headers = shared.config.max_headers;
    // Uninitialized slots: no 4 KiB of zeroing per parse.
    let mut inline = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; INLINE_HEADERS];
    let mut spilled;
    let headers = if max_headers <= INLINE_HEADERS {
        &mut inline[..max_headers]
    } else {
        spilled = vec![MaybeUninit::uninit(); max_headers];
        &mut spilled[..]
    };
    let mut request = httparse::Request::new(&mut []);
    let head_len = match request.parse_with_uninit_headers(pending, headers) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Prepared::NeedMore,
        Err(_) => return Prepared::Handoff,
    };
    match plain(shared, downstream, &request, head_len, out) {
        Some(request) => Prepared::Forward(request),
        None => Prepared::Handoff,
    }
}

/// The checks of the module documentation; `None` hands the request off.
fn plain(
    shared: &Shared,
    downstream: Downstream,
    request: &httparse::Request<'_, '_>,
    head_len: usize,
    out: &mut Vec<u8>,
) -> Option<LaneRequest> {
    if request.version != Some(1) {
        return None;
    }
    let method = request.method?;
    let target = request.path?;
    if method == "CONNECT" || !target.starts_with('/') || !target.bytes().all(is_target_byte) {
        return None;
    }
    let mut host = None;
    let mut body_len = None;
    let mut close = false;
    let mut connection_upgrade = false;
    let mut upgrade = None;
    for header in request.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("host") {
            if host.is_some() {
                return None;
            }
            host = Some(std::str::from_utf8(header.value).ok()?);
        } else if name.eq_ignore_ascii_case("content-length") {
            if body_len.is_some() {
                return None;
            }
            body_len = Some(content_length(header.value)?);
        } else if name.eq_ignore_ascii_case("connection") {
            for token in list_elements(header.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    connection_upgrade = true;
                } else if !token.eq_ignore_ascii_case(b"keep-alive") {
                    return None;
                }
            }
        } else if name.eq_ignore_ascii_case("upgrade") {
            if upgrade.is_some() {
                return None;
            }
            upgrade = Some(header.value);
        } else if ["transfer-encoding", "expect"]
            .iter()
            .any(|refused| name.eq_ignore_ascii_case(refused))
        {
            return None;
        }
    }
    // Only WebSocket is tunnelled (RFC 6455: a GET without a body). Any other upgrade, h2c
    // above all, would open a tunnel past the router to whatever the endpoint speaks; those
    // requests go to hyper, which forwards them without the upgrade.
    let websocket = match (upgrade, connection_upgrade) {
        (None, false) => false,
        (Some(protocol), true)
            if protocol.trim_ascii().eq_ignore_ascii_case(b"websocket")
                && method == "GET"
                && body_len.unwrap_or(0) == 0 =>
        {
            true
        }
        _ => return None,
    };
    let host = host.filter(|host| is_valid_host(host))?;
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if !matches!(normalize_path(path), Ok(Cow::Borrowed(_))) {
        return None;
    }
    let pool = {
        let snapshot = shared.snapshot.load();
        if !downstream.tls && snapshot.https_redirects.port_for(host).is_some() {
            return None;
        }
        // The general path answers 421 (one implementation of each answer).
        if downstream.misdirected(&snapshot.certificates, host) {
            return None;
        }
        let headers = LaneHeaders(request.headers);
        let route_request = RouteRequest {
            host,
            path,
            method,
            query: target.split_once('?').map(|(_, query)| query),
            headers: &headers,
            source_ip: Some(downstream.peer.ip()),
            listener_port: Some(downstream.listener_port()),
        };
        match snapshot.resolve(snapshot.router.route_request(&route_request)) {
            // Filters (header changes, rewrites, timeouts) are the general path's.
            Resolved::Forward(forwarding) if forwarding.extras.is_none() => {
                let pool = forwarding.pick();
                if pool.endpoints.is_empty() {
                    return None;
                }
                pool
            }
            _ => return None,
        }
    };
    write_upstream_head(downstream, request, host, websocket, out);
    Some(LaneRequest {
        head_len,
        body_len: body_len.unwrap_or(0),
        pool,
        is_head: method == "HEAD",
        websocket,
        idempotent: Method::from_bytes(method.as_bytes())
            .is_ok_and(|method| method.is_idempotent()),
        close,
        access: shared
            .config
            .access_log
            .then(|| (method.to_owned(), target.to_owned())),
    })
}

/// The request's parsed headers as the router reads them.
struct LaneHeaders<'h, 'b>(&'h [httparse::Header<'b>]);

impl RequestHeaders for LaneHeaders<'_, '_> {
    fn any_value(&self, name: &str, test: &mut dyn FnMut(&str) -> bool) -> bool {
        self.0
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case(name))
            .filter_map(|header| std::str::from_utf8(header.value).ok())
            .any(|value| test(value.trim_matches([' ', '\t'])))
    }
}

/// Bytes of an origin-form target the lane takes as they are (RFC 3986 `pchar`, `/`, `?`);
/// targets with anything else go to hyper, whose URI rules then apply.
fn is_target_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'%'
        )
}

/// A header value [`http::HeaderValue::to_str`] accepts: visible ASCII, spaces and tabs.
fn is_visible_text(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&byte| byte == b'\t' || (b' '..=b'~').contains(&byte))
}

fn write_upstream_head(
    downstream: Downstream,
    request: &httparse::Request<'_, '_>,
    host: &str,
    websocket: bool,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(request.method.unwrap_or("GET").as_bytes());
    out.push(b' ');
    out.extend_from_slice(request.path.unwrap_or("/").as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    push_headers(out, request.headers, |name| {
        !is_hop_by_hop(name) && !is_forwarded_header(name)
    });
    if websocket {
        // The hop-by-hop pair that asks this hop to upgrade, said again for the next one.
        out.extend_from_slice(b"connection: upgrade\r\nupgrade: websocket\r\n");
    }
    let previous = request
        .headers
        .iter()
        .filter(|header| is_forwarded_for(header.name) && is_visible_text(header.value))
        .filter_map(|header| std::str::from_utf8(header.value).ok());
    out.extend_from_slice(b"x-forwarded-for: ");
    push_forwarded_for(out, previous, downstream.peer.ip());
    out.extend_from_slice(match downstream.tls {
        true => b"\r\nx-forwarded-proto: https\r\nx-forwarded-host: ",
        false => b"\r\nx-forwarded-proto: http\r\nx-forwarded-host: ",
    });
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\nx-forwarded-port: ");
    push_decimal(out, u64::from(downstream.local_port));
    out.extend_from_slice(b"\r\n\r\n");
}
