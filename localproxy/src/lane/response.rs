//! Responses in the lane: read and check the upstream's head, write the client's, and pass
//! the body on with its framing followed to the byte.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::deadline::Deadline;
use super::push_headers;
use super::request::LaneRequest;
use crate::shared::upstream::lane_connection::LaneConnection;
use crate::wire::chunked::ChunkedFraming;
use crate::wire::headers::{
    content_length, is_hop_by_hop, last_coding_is_chunked, list_elements, push_decimal,
};

/// The largest response head accepted from an endpoint (502 beyond).
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The most headers accepted in a response head (502 beyond).
const MAX_RESPONSE_HEADERS: usize = 128;

/// Why no usable response head came.
#[derive(Debug, thiserror::Error)]
pub(super) enum HeadError {
    /// The endpoint closed (or reset) the connection before sending a byte.
    #[error("connection closed before a response")]
    Closed,
    /// The connection broke inside the head.
    #[error("connection broke inside the response head: {0}")]
    Broken(&'static str),
    /// The head is malformed, too large, or frames its body ambiguously.
    #[error("invalid response head: {0}")]
    Invalid(&'static str),
}

/// How a response body ends (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// After this many bytes (0 for `HEAD`, 204 and 304 responses).
    Length(u64),
    /// After the last chunk and trailers.
    Chunked,
    /// When the endpoint closes the connection.
    UntilClose,
    /// Never: a `101` to a WebSocket upgrade, after which the connection is a tunnel.
    Tunnel,
}

impl Response {
    /// A `101` to a WebSocket upgrade: the connection becomes a tunnel.
    pub(super) fn is_tunnel(&self) -> bool {
        self.framing == Framing::Tunnel
    }

    /// Length of the head in the connection's buffer.
    pub(super) fn head_len(&self) -> usize {
        self.head_len
    }
}

/// A response head that went into the client head buffer.
#[derive(Debug)]
pub(super) struct Response {
    /// The status code.
    pub status: u16,
    /// Length of the head in the connection's buffer.
    head_len: usize,
    framing: Framing,
    /// The endpoint keeps the connection open after this response.
    upstream_keep_alive: bool,
    /// The client connection closes after this response.
    pub closes_client: bool,
}

/// Reads the final response head for `request` (1xx interim responses are dropped) and writes
/// the head for the client into `client_head`, with `Connection: close` when `closes_client`
/// or when the body ends with the connection.
pub(super) async fn read_response(
    connection: &mut LaneConnection,
    request: &LaneRequest,
    closes_client: bool,
    client_head: &mut Vec<u8>,
) -> Result<Response, HeadError> {
    // Whether any byte came: only a connection closed before the first one may be stale.
    let mut received = false;
    loop {
        while connection.filled > 0 {
            match parse_head(connection, request, closes_client, client_head)? {
                Parsed::Final(response) => return Ok(response),
                Parsed::Interim => {}
                Parsed::Partial => break,
            }
        }
        if connection.filled == connection.buffer.len() {
            if connection.buffer.len() >= MAX_RESPONSE_HEAD {
                return Err(HeadError::Invalid("response head too large"));
            }
            connection.buffer.resize(connection.buffer.len() * 2, 0);
        }
        let read = connection
            .stream
            .read(&mut connection.buffer[connection.filled..])
            .await;
        match read {
            Ok(0) | Err(_) if !received => return Err(HeadError::Closed),
            Ok(0) => return Err(HeadError::Broken("end of stream")),
            Err(_) => return Err(HeadError::Broken("read error")),
            Ok(read) => {
                received = true;
                connection.filled += read;
            }
        }
    }
}

/// What the buffered bytes hold.
enum Parsed {
    /// Not a complete head yet.
    Partial,
    /// An interim (1xx) response, now dropped from the buffer.
    Interim,
    /// The final response head.
    Final(Response),
}

/// Parses the head at the start of the buffered bytes.
fn parse_head(
    connection: &mut LaneConnection,
    request: &LaneRequest,
    closes_client: bool,
    client_head: &mut Vec<u8>,
) -> Result<Parsed, HeadError> {
    // Most responses fit the small array; only larger heads pay for the full one.
    let mut small = [httparse::EMPTY_HEADER; 32];
    let mut full;
    let bytes = &connection.buffer[..connection.filled];
    let mut response = httparse::Response::new(&mut small);
    let mut parsed = response.parse(bytes);
    if parsed == Err(httparse::Error::TooManyHeaders) {
        full = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        response = httparse::Response::new(&mut full);
        parsed = response.parse(bytes);
    }
    let head_len = match parsed {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(_) => return Err(HeadError::Invalid("unparseable head")),
    };
    let status = response.code.unwrap_or(0);
    if status < 100 {
        return Err(HeadError::Invalid("status code below 100"));
    }
    if status == 101 && !(request.websocket && upgrades_to_websocket(&response)) {
        return Err(HeadError::Invalid(
            "switching protocols without a WebSocket upgrade",
        ));
    }
    if (100..200).contains(&status) && status != 101 {
        connection
            .buffer
            .copy_within(head_len..connection.filled, 0);
        connection.filled -= head_len;
        return Ok(Parsed::Interim);
    }
    let mut chunked = None;
    let mut length: Option<u64> = None;
    // A connection that was asked to upgrade is not offered to the next request.
    let mut keep_alive = response.version == Some(1) && !request.websocket;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = Some(last_coding_is_chunked(header.value));
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let value =
                content_length(header.value).ok_or(HeadError::Invalid("invalid Content-Length"))?;
            if length.is_some_and(|previous| previous != value) {
                return Err(HeadError::Invalid("conflicting Content-Length"));
            }
            length = Some(value);
        } else if header.name.eq_ignore_ascii_case("connection")
            && list_elements(header.value).any(|token| token.eq_ignore_ascii_case(b"close"))
        {
            keep_alive = false;
        }
    }
    let framing = if status == 101 {
        Framing::Tunnel
    } else if request.is_head || status == 204 || status == 304 {
        Framing::Length(0)
    } else {
        match (chunked, length) {
            (Some(_), Some(_)) => {
                return Err(HeadError::Invalid(
                    "both Content-Length and Transfer-Encoding",
                ));
            }
            (Some(true), None) => Framing::Chunked,
            (Some(false), None) => {
                return Err(HeadError::Invalid(
                    "a transfer coding other than chunked last",
                ));
            }
            (None, Some(length)) => Framing::Length(length),
            (None, None) => Framing::UntilClose,
        }
    };
    let closes_client = closes_client || matches!(framing, Framing::UntilClose | Framing::Tunnel);
    write_client_head(&response, status, framing, closes_client, client_head);
    Ok(Parsed::Final(Response {
        status,
        head_len,
        framing,
        upstream_keep_alive: keep_alive,
        closes_client,
    }))
}

/// Whether a `101` response switches to WebSocket (its one `Upgrade` header says so).
fn upgrades_to_websocket(response: &httparse::Response<'_, '_>) -> bool {
    let mut protocols = response
        .headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case("upgrade"));
    let first = protocols.next();
    protocols.next().is_none()
        && first.is_some_and(|header| header.value.trim_ascii().eq_ignore_ascii_case(b"websocket"))
}

/// The head the client gets: the endpoint's status and end-to-end headers, the framing the
/// lane passes on, and `Connection: close` when the client connection ends after it.
fn write_client_head(
    response: &httparse::Response<'_, '_>,
    status: u16,
    framing: Framing,
    closes_client: bool,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(response.reason.unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let listed: Vec<&[u8]> = response
        .headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case("connection"))
        .flat_map(|header| list_elements(header.value))
        .collect();
    push_headers(out, response.headers, |name| {
        !is_hop_by_hop(name)
            && !listed
                .iter()
                .any(|token| token.eq_ignore_ascii_case(name.as_bytes()))
    });
    match framing {
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Tunnel => out.extend_from_slice(b"connection: upgrade\r\nupgrade: websocket\r\n"),
        Framing::Length(_) | Framing::UntilClose => {}
    }
    if closes_client && framing != Framing::Tunnel {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the client head (`client_head`, extended with the body bytes read with the head) and
/// passes the body on until its framing says it ended; each read from the endpoint may take
/// the `wait` limit (the upstream timeout). `Ok(true)` when the connection can carry another request.
///
/// # Errors
/// [`RelayError::Unsent`] when the bytes that came with the head already break the body's
/// framing; [`RelayError::Broken`] when the endpoint breaks the body later (closes early,
/// pauses too long, breaks chunked framing) or the client stops reading.
pub(super) async fn relay<S: AsyncWrite + Unpin>(
    connection: &mut LaneConnection,
    response: &Response,
    client: &mut S,
    client_head: &mut Vec<u8>,
    wait: (&mut Deadline, Duration),
) -> Result<bool, RelayError> {
    let mut body = Body::new(response.framing);
    let initial = &connection.buffer[response.head_len..connection.filled];
    let used = body.take(initial).map_err(RelayError::Unsent)?;
    client_head.extend_from_slice(&initial[..used]);
    let stray = used < initial.len();
    connection.filled = 0;
    let reusable = pass_body(connection, &mut body, client, client_head, wait)
        .await
        .map_err(RelayError::Broken)?;
    Ok(reusable && !stray && response.upstream_keep_alive)
}

/// Why a response did not reach the client whole.
#[derive(Debug, thiserror::Error)]
pub(super) enum RelayError {
    /// Nothing was written: the client can still get an error response.
    #[error("response body framing broken before the head went out: {0}")]
    Unsent(io::Error),
    /// Part of the response was written: the client connection must close.
    #[error("response broke off: {0}")]
    Broken(io::Error),
}

/// Writes `client_head` and the rest of the body; `Ok(true)` when nothing followed the body on
/// the connection and its end was not the connection's end.
async fn pass_body<S: AsyncWrite + Unpin>(
    connection: &mut LaneConnection,
    body: &mut Body,
    client: &mut S,
    client_head: &[u8],
    (deadline, upstream_timeout): (&mut Deadline, Duration),
) -> io::Result<bool> {
    let mut stray = false;
    client.write_all(client_head).await?;
    while !body.ended() {
        let read = deadline
            .limit(
                upstream_timeout,
                connection.stream.read(&mut connection.buffer),
            )
            .await
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "response body stalled"))??;
        if read == 0 {
            if body.framing == Framing::UntilClose {
                break;
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "response body cut short",
            ));
        }
        let part = &connection.buffer[..read];
        let used = body.take(part)?;
        stray |= used < read;
        client.write_all(&part[..used]).await?;
        // Before the next wait on the endpoint: a TLS stream may still hold records it could
        // not write when the socket was full (a no-op on plain TCP).
        client.flush().await?;
    }
    client.flush().await?;
    Ok(!stray && body.framing != Framing::UntilClose)
}

/// Where a response body stands.
struct Body {
    framing: Framing,
    left: u64,
    chunks: ChunkedFraming,
    ended: bool,
}

impl Body {
    fn new(framing: Framing) -> Self {
        let left = match framing {
            Framing::Length(length) => length,
            Framing::Chunked | Framing::UntilClose | Framing::Tunnel => 0,
        };
        Self {
            framing,
            left,
            chunks: ChunkedFraming::new(),
            ended: framing == Framing::Length(0),
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }

    /// How many of `bytes` belong to the body.
    fn take(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        match self.framing {
            Framing::Length(_) => {
                let used =
                    usize::try_from(self.left).map_or(bytes.len(), |left| left.min(bytes.len()));
                self.left -= used as u64;
                self.ended = self.left == 0;
                Ok(used)
            }
            Framing::Chunked => match self.chunks.advance(bytes) {
                Ok(Some(used)) => {
                    self.ended = true;
                    Ok(used)
                }
                Ok(None) => Ok(bytes.len()),
                Err(error) => Err(io::Error::new(io::ErrorKind::InvalidData, error)),
            },
            Framing::UntilClose | Framing::Tunnel => Ok(bytes.len()),
        }
    }
}
