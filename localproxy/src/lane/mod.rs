//! The HTTP/1.1 lane: forwards plain HTTP/1.1 requests between a client connection and pooled
//! upstream connections with one task, one parse of each head and no per-request allocation
//! on the common path.
//!
//! ```text
//! client bytes ─► complete head (httparse) ─► a plain request routed to endpoints? ──no──┐
//!                     ▲                             │ yes                                  ▼
//!                     │                       upstream head + body ─► response relay   hand-off:
//!                     └────────── keep-alive ◄──────────────────────────┘              hyper serves
//!                                                                                       the rest
//! ```
//!
//! A request is *plain* when it is HTTP/1.1 in origin form with one valid `Host`, a body framed
//! by at most one `Content-Length` (no `Transfer-Encoding`), no `Expect`, no `Upgrade` other than
//! a WebSocket one, a `Connection` header that says at most `keep-alive`, `close` or (with
//! WebSocket) `upgrade`, a path already in normal form, and a route to a target group with
//! endpoints. Everything else (HTTP/1.0, chunked uploads, the HTTP/2 preface, 100-continue,
//! other upgrades such as h2c, redirects, fixed responses, 404, 503, and anything malformed or
//! oversized) is handed off: the connection, with the bytes read so far,
//! goes to the general path for the rest of its life, so every rule and error answer
//! stays defined in one place ([`crate::shared::forwarding`]). Upstream responses are passed on with their
//! framing checked (`Content-Length`, chunked, or until close); a response that breaks it
//! aborts both connections.

mod request;
mod response;
mod tunnel;
mod upstream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::shared::error::{ProxyError, error_text};
use crate::shared::state::{Downstream, Shared, record_request};
use crate::shared::upstream::deadline::Deadline;
use crate::wire::headers::push_header;
use request::{Prepared, prepare};
use upstream::{Delivered, forward};

/// A connection the lane gives up on: hyper serves it from `buffered` (bytes already read
/// from `stream`, starting with the head of the request the lane did not take) onwards.
#[derive(Debug)]
pub struct Handoff<S> {
    /// The client connection.
    pub stream: S,
    /// Bytes read but not served.
    pub buffered: Vec<u8>,
}

/// Serves HTTP/1.1 requests on `stream` until the client closes, a limit or shutdown ends the
/// connection (`None`), or a request is not plain (`Some`, see the module documentation).
pub async fn serve<S>(shared: &Arc<Shared>, downstream: Downstream, stream: S) -> Option<Handoff<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = &shared.config;
    let mut client = Client {
        stream,
        input: Input::new(config.max_header_bytes.max(8192)),
        upstream_head: Vec::with_capacity(1024),
        response_head: Vec::with_capacity(1024),
        deadline: Deadline::new(tokio::time::Instant::now() + config.header_read_timeout),
        upstream_deadline: Deadline::new(tokio::time::Instant::now() + config.upstream_timeout),
    };
    let mut shutdown = shared.shutdown_receiver();
    // One registration for the connection's life, not one per wait.
    let mut shutdown = std::pin::pin!(async move {
        let _ = shutdown.wait_for(|down| *down).await;
    });
    let mut first = true;
    loop {
        if shared.is_shutting_down() {
            return None;
        }
        // After a response, the connection may idle for the keep-alive time; the header-read
        // time runs from the first byte of the next request (or from the connection's start).
        let mut idle = !first && client.input.pending().is_empty();
        first = false;
        let wait = match idle {
            true => config.keepalive_timeout,
            false => config.header_read_timeout,
        };
        client.deadline.set(tokio::time::Instant::now() + wait);
        // Only polled (so registered) while the connection idles between requests.
        let mut shed = std::pin::pin!(shared.idle_connections.notified());
        // A head can only have become complete when a line ended: re-parsing only then keeps
        // a client that sends its head a byte at a time from costing quadratic time.
        let mut line_ended = true;
        let prepared = loop {
            if line_ended {
                match prepare(
                    shared,
                    downstream.clone(),
                    client.input.pending(),
                    &mut client.upstream_head,
                ) {
                    Prepared::NeedMore => {}
                    prepared => break prepared,
                }
            }
            if client.input.is_full() {
                if !client.input.pending().contains(&b'\n') {
                    // The request line alone fills the buffer: its target is too long.
                    let error = ProxyError::UriTooLong;
                    let _ = write_error(&mut client.stream, error, true).await;
                    record_request(shared, downstream.clone(), Duration::ZERO, 414, None);
                    client.linger().await;
                    return None;
                }
                break Prepared::Handoff;
            }
            let read = tokio::select! {
                biased;
                read = client.input.fill(&mut client.stream) => read,
                () = client.deadline.passed() => {
                    if !client.input.pending().is_empty() {
                        let _ =
                            write_error(&mut client.stream, ProxyError::HeadTimeout, true).await;
                    }
                    return None;
                }
                () = &mut shutdown, if client.input.pending().is_empty() => return None,
                // A listener is at its connection cap: idle connections make room first.
                () = &mut shed, if idle => return None,
            };
            match read {
                Ok(0) | Err(_) => return None,
                Ok(read) => {
                    if idle {
                        idle = false;
                        client
                            .deadline
                            .set(tokio::time::Instant::now() + config.header_read_timeout);
                    }
                    line_ended = client.input.newest(read).contains(&b'\n');
                }
            }
        };
        let request = match prepared {
            Prepared::Forward(request) => request,
            Prepared::Handoff | Prepared::NeedMore => {
                shared.metrics.lane_handoffs.inc();
                let buffered = client.input.pending().to_vec();
                return Some(Handoff {
                    stream: client.stream,
                    buffered,
                });
            }
        };
        let started = Instant::now();
        let initial_body = client.input.consume(request.head_len, request.body_len);
        client.upstream_head.extend_from_slice(initial_body);
        let body_left = request.body_len - initial_body.len() as u64;
        let delivered = forward(shared, &request, body_left, started, &mut client).await;
        let (status, elapsed, keep_open, body_read) = match delivered {
            Delivered::Response {
                status,
                elapsed,
                reusable,
                body_read,
            } => (status, elapsed, reusable, body_read),
            Delivered::Aborted { status, elapsed } => (status, elapsed, false, true),
            Delivered::Failed { error, body_read } => {
                let elapsed = started.elapsed();
                let keep_open = body_read
                    && !error.closes_connection()
                    && !request.close
                    && !shared.is_shutting_down();
                let written = write_error(&mut client.stream, error, !keep_open).await;
                (
                    error.status().as_u16(),
                    elapsed,
                    keep_open && written.is_ok(),
                    body_read,
                )
            }
        };
        let access = request.access.as_ref();
        record_request(
            shared,
            downstream.clone(),
            elapsed,
            status,
            access.map(|(method, target)| (method.as_str(), target.as_str())),
        );
        if !keep_open {
            if body_read {
                let _ = client.stream.shutdown().await;
            } else {
                client.linger().await;
            }
            return None;
        }
    }
}

/// How long a connection closed with its request body unread keeps reading (and dropping)
/// what the client still sends.
const LINGER: Duration = Duration::from_secs(2);

/// One client connection in the lane: the stream, what was read from it, and the scratch
/// space for the heads written for it.
struct Client<S> {
    stream: S,
    input: Input,
    /// The head (and first body bytes) of the request being sent upstream.
    upstream_head: Vec<u8>,
    /// The head (and first body bytes) of the response being sent to the client.
    response_head: Vec<u8>,
    /// Bounds waits on the client: the header-read and body timeouts.
    deadline: Deadline,
    /// Bounds waits on the endpoint: the upstream timeout.
    upstream_deadline: Deadline,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Closes a connection whose request body was not read to its end: half-closes, then reads
    /// and drops what the client still sends for up to [`LINGER`]. Closing with unread bytes
    /// would make the kernel answer with a reset, which can destroy the response before the
    /// client reads it.
    async fn linger(&mut self) {
        let _ = self.stream.shutdown().await;
        let Self {
            stream,
            input,
            deadline,
            ..
        } = self;
        let drain = async { while let Ok(1..) = stream.read(&mut input.buffer).await {} };
        let _ = deadline.limit(LINGER, drain).await;
    }
}

/// The size a client connection's read buffer starts at: most request heads fit, and ten
/// thousand idle connections hold 40 MiB, not 160 MiB. It doubles up to the largest head
/// allowed when a head does not fit.
const INITIAL_INPUT: usize = 4096;

/// The client side's read buffer: bytes in `start..end` are read and not yet served.
struct Input {
    buffer: Vec<u8>,
    /// The size the buffer may grow to: the largest request head.
    max: usize,
    start: usize,
    end: usize,
}

impl Input {
    fn new(max: usize) -> Self {
        Self {
            buffer: vec![0; INITIAL_INPUT.min(max)],
            max,
            start: 0,
            end: 0,
        }
    }

    fn pending(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }

    /// Whether a head that has not ended yet fills the largest buffer (it is too large).
    fn is_full(&self) -> bool {
        self.end - self.start == self.max
    }

    /// The last `count` bytes read.
    fn newest(&self, count: usize) -> &[u8] {
        &self.buffer[self.end - count..self.end]
    }

    /// Reads more bytes behind the pending ones; `Ok(0)` at the end of the stream.
    async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> std::io::Result<usize> {
        if self.end == self.buffer.len() {
            if self.start == 0 {
                let grown = (self.buffer.len() * 2).min(self.max);
                self.buffer.resize(grown, 0);
            } else {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
        }
        let read = stream.read(&mut self.buffer[self.end..]).await?;
        self.end += read;
        Ok(read)
    }

    /// Marks a head of `head_len` bytes served and returns the bytes of its body (up to
    /// `body_len`) that were read with it.
    fn consume(&mut self, head_len: usize, body_len: u64) -> &[u8] {
        let body_start = self.start + head_len;
        let available = self.end - body_start;
        let take = usize::try_from(body_len).map_or(available, |body| body.min(available));
        self.start = body_start + take;
        &self.buffer[body_start..body_start + take]
    }

    /// Moves the pending bytes to the start of the buffer and marks them served; returns how
    /// many there are (a tunnel passes them on first).
    fn move_pending_to_front(&mut self) -> usize {
        let count = self.end - self.start;
        self.buffer.copy_within(self.start..self.end, 0);
        self.start = 0;
        self.end = 0;
        count
    }

    /// Reads the next part of a request body of which `left` bytes are still to come; bytes
    /// beyond it (a pipelined next request) stay pending. Only called once every pending byte
    /// was consumed, so the whole buffer is free. `Ok(empty)` at the end of the stream.
    async fn read_body<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        left: u64,
    ) -> std::io::Result<&[u8]> {
        debug_assert!(self.pending().is_empty());
        let read = stream.read(&mut self.buffer).await?;
        let body = usize::try_from(left).map_or(read, |left| left.min(read));
        self.start = body;
        self.end = read;
        Ok(&self.buffer[..body])
    }
}

/// Appends a `name: value` line for each of `headers` whose name `keep` accepts.
fn push_headers(out: &mut Vec<u8>, headers: &[httparse::Header<'_>], keep: impl Fn(&str) -> bool) {
    for header in headers.iter().filter(|header| keep(header.name)) {
        push_header(out, header.name, header.value);
    }
}

/// Answers `error` on the client connection the way [`crate::shared::forwarding::error_response`] does,
/// saying `Connection: close` when the connection closes after it (`closing`).
async fn write_error<S: AsyncWrite + Unpin>(
    stream: &mut S,
    error: ProxyError,
    closing: bool,
) -> std::io::Result<()> {
    let status = error.status();
    let text = error_text(status);
    let connection = if closing || error.closes_connection() {
        "connection: close\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n{connection}\r\n{text}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        text.len(),
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}
