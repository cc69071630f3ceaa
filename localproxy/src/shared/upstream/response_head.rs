//! Reading an endpoint's response head from an [`UpstreamConnection`], for both request paths:
//! interim responses dropped, the head checked (status, framing, size), and the client's head
//! written by a [`HeadSink`] (raw HTTP/1.1 bytes for the lane, a header map for hyper), with
//! hop-by-hop headers left out. [`BodyProgress`] then follows the body's framing to its end.

use std::io;

use tokio::io::AsyncReadExt;

use crate::shared::upstream::connection::UpstreamConnection;
use crate::wire::chunked::{ChunkedFraming, Decoded};
use crate::wire::headers::{content_length, is_hop_by_hop, last_coding_is_chunked, list_elements};

/// The largest response head accepted from an endpoint (502 beyond).
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The most headers accepted in a response head (502 beyond).
const MAX_RESPONSE_HEADERS: usize = 128;

/// Why no usable response head came.
#[derive(Debug, thiserror::Error)]
pub enum HeadError {
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
pub enum Framing {
    /// After this many bytes (0 for `HEAD`, 204 and 304 responses).
    Length(u64),
    /// After the last chunk and trailers.
    Chunked,
    /// When the endpoint closes the connection.
    UntilClose,
    /// Never: a `101` to a WebSocket upgrade, after which the connection is a tunnel.
    Tunnel,
}

/// What the request asked for that shapes the response it may get.
#[derive(Clone, Copy, Debug)]
pub struct Asked {
    /// A `HEAD` request: its response has no body whatever its headers say.
    pub is_head: bool,
    /// A WebSocket upgrade: only then is a `101` acceptable (it turns into a tunnel).
    pub websocket: bool,
}

/// A final response head, parsed at the start of the connection's buffer.
#[derive(Debug)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// Length of the head in the connection's buffer.
    pub head_len: usize,
    /// How its body ends.
    pub framing: Framing,
    /// The endpoint keeps the connection open after this response.
    pub upstream_keep_alive: bool,
    /// The client connection closes after this response.
    pub closes_client: bool,
}

impl ResponseHead {
    /// A `101` to a WebSocket upgrade: the connection becomes a tunnel.
    pub fn is_tunnel(&self) -> bool {
        self.framing == Framing::Tunnel
    }
}

/// Writes the head the client gets from the endpoint's parsed head.
pub trait HeadSink {
    /// Takes the final response: `status`, the endpoint's headers (only those [`end_to_end`]
    /// accepts may pass), the framing the body keeps, and whether the client connection closes
    /// after it. `buffered` is every byte read so far, the head first; the headers borrow it.
    fn write(
        &mut self,
        response: &httparse::Response<'_, '_>,
        buffered: &[u8],
        status: u16,
        framing: Framing,
        closes_client: bool,
    );
}

/// The end-to-end headers of `response`: every header but the hop-by-hop ones and those its
/// `Connection` header names.
pub fn end_to_end<'h, 'b>(
    response: &'h httparse::Response<'_, 'b>,
) -> impl Iterator<Item = &'h httparse::Header<'b>> {
    let named = |name: &str| {
        response
            .headers
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case("connection"))
            .flat_map(|header| list_elements(header.value))
            .any(|token| token.eq_ignore_ascii_case(name.as_bytes()))
    };
    // Most responses have no `Connection` header: only then is the list looked at.
    let has_connection = response
        .headers
        .iter()
        .any(|header| header.name.eq_ignore_ascii_case("connection"));
    response.headers.iter().filter(move |header| {
        !(is_hop_by_hop(header.name) || (has_connection && named(header.name)))
    })
}

/// Reads the final response head for a request that `asked` (1xx interim responses are
/// dropped) and hands it to `sink`; `closes_client` says the client connection closes after
/// this response whatever the endpoint says.
///
/// # Errors
/// [`HeadError::Closed`] when the endpoint closed before a byte (a stale pooled connection),
/// otherwise [`HeadError::Broken`] or [`HeadError::Invalid`].
pub async fn read_response(
    connection: &mut UpstreamConnection,
    asked: Asked,
    closes_client: bool,
    sink: &mut impl HeadSink,
) -> Result<ResponseHead, HeadError> {
    // Whether any byte came: only a connection closed before the first one may be stale.
    let mut received = false;
    loop {
        while connection.filled > 0 {
            match parse_head(connection, asked, closes_client, sink)? {
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
    Final(ResponseHead),
}

/// Parses the head at the start of the buffered bytes.
fn parse_head(
    connection: &mut UpstreamConnection,
    asked: Asked,
    closes_client: bool,
    sink: &mut impl HeadSink,
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
    if status == 101 && !(asked.websocket && upgrades_to_websocket(&response)) {
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
    let mut keep_alive = response.version == Some(1) && !asked.websocket;
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
    } else if asked.is_head || status == 204 || status == 304 {
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
    sink.write(&response, bytes, status, framing, closes_client);
    Ok(Parsed::Final(ResponseHead {
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

/// Where a response body stands: how many of the bytes read belong to it, and whether it ended.
#[derive(Debug)]
pub struct BodyProgress {
    framing: Framing,
    left: u64,
    chunks: ChunkedFraming,
    ended: bool,
}

impl BodyProgress {
    /// At the start of a body framed by `framing`.
    pub fn new(framing: Framing) -> Self {
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

    /// The framing followed.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Whether the body's last byte was taken.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// How many of `bytes` belong to the body (chunked framing passed on unchanged).
    ///
    /// # Errors
    /// `InvalidData` when the bytes break chunked framing.
    pub fn take(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        match self.framing {
            Framing::Length(_) => Ok(self.take_length(bytes.len())),
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

    /// Decodes the start of `bytes`: how many were used, and which of them are content (chunk
    /// sizes, extensions and trailers removed). Called until every byte is used or the body
    /// ended.
    ///
    /// # Errors
    /// `InvalidData` when the bytes break chunked framing.
    pub fn decode(&mut self, bytes: &[u8]) -> io::Result<Decoded> {
        if self.ended {
            return Ok(Decoded::empty(0));
        }
        match self.framing {
            Framing::Length(_) => {
                let used = self.take_length(bytes.len());
                Ok(Decoded::content(0..used))
            }
            Framing::Chunked => {
                let decoded = self
                    .chunks
                    .decode(bytes)
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
                self.ended = decoded.ended;
                Ok(decoded)
            }
            Framing::UntilClose | Framing::Tunnel => Ok(Decoded::content(0..bytes.len())),
        }
    }

    fn take_length(&mut self, available: usize) -> usize {
        let used = usize::try_from(self.left).map_or(available, |left| left.min(available));
        self.left -= used as u64;
        self.ended = self.left == 0;
        used
    }
}
