//! A request-framing guard in front of the HTTP/1.1 parser: rejects requests that carry both
//! `Content-Length` and `Transfer-Encoding` with 400.
//!
//! hyper resolves that conflict the RFC 9112 way (chunked wins, the connection closes after the
//! response), which already prevents desynchronisation through weir; but the shape only ever
//! comes from smuggling attempts, and an upstream or a front proxy could disagree, so weir
//! refuses it outright. hyper drops the `Content-Length` before a handler sees the request, so
//! the check has to happen on the bytes:
//!
//! ```text
//! socket ─► Head: hold bytes until a complete head (httparse) ─► CL and TE both? ─► "400" head
//!              │                                                   └► release head to hyper
//!              ▼
//!           Body(n) / Chunked: pass bytes through, counting, until the body ends ─► Head
//! ```
//!
//! Anything the guard cannot follow (an unparseable or oversized head, an invalid chunk, the
//! HTTP/2 preface, `CONNECT`, `Upgrade`) switches it to pass-through for the rest of the
//! connection: hyper's own parser then rejects what is malformed. The guard only ever rejects;
//! it never changes how a request it lets through is framed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::wire::chunked::{ChunkedFraming, MalformedChunk};
use crate::wire::headers::{content_length, last_coding_is_chunked};

/// What hyper receives instead of a conflicting head: an invalid method, which it answers with
/// 400 and a closed connection.
const REJECTED_HEAD: &[u8] = b"\x01 / HTTP/1.1\r\n\r\n";

/// Wraps a client stream; see the module documentation.
#[derive(Debug)]
pub struct FramingGuard<S> {
    inner: S,
    state: State,
    /// Bytes of an incomplete head, held back from hyper.
    head: Vec<u8>,
    /// Bytes ready for hyper.
    pending: Vec<u8>,
    pending_at: usize,
    /// Read buffer for heads, allocated (and zeroed) once per connection.
    scratch: Vec<u8>,
    /// Bounds the wait for the connection's first complete head. Later heads are bounded by
    /// hyper's header-read timer, but the first is held here while hyper's protocol detection
    /// (which has no timer) waits for bytes.
    first_head_timeout: Duration,
    first_head_deadline: Option<Pin<Box<Sleep>>>,
    released_a_head: bool,
    max_head: usize,
    max_headers: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    Chunked(ChunkedFraming),
    PassThrough,
    Rejected,
}

impl<S> FramingGuard<S> {
    /// Guards `inner`; heads larger than `max_head` bytes or with more than `max_headers`
    /// headers are passed through for hyper to reject. A first head not complete within
    /// `first_head_timeout` fails the connection (slowloris).
    pub fn new(
        inner: S,
        max_head: usize,
        max_headers: usize,
        first_head_timeout: Duration,
    ) -> Self {
        Self {
            inner,
            state: State::Head,
            head: Vec::new(),
            pending: Vec::new(),
            pending_at: 0,
            scratch: Vec::new(),
            first_head_timeout,
            first_head_deadline: None,
            released_a_head: false,
            max_head,
            max_headers,
        }
    }

    /// The guard with `bytes` already read from `inner` (by the HTTP/1.1 lane, which hands a
    /// connection over at the start of a request head) put back in front of what `inner`
    /// yields next; they are checked like any other bytes.
    pub fn with_read_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.head = bytes;
        self.check_heads();
        self
    }

    /// Inspects held head bytes: releases complete heads (and the body bytes after them).
    fn check_heads(&mut self) {
        while self.state == State::Head && !self.head.is_empty() {
            let parsed = match parse_head(&self.head, self.max_headers) {
                Ok(Some(parsed)) => parsed,
                Ok(None) if self.head.len() <= self.max_head => return,
                Ok(None) | Err(()) => {
                    self.state = State::PassThrough;
                    self.pending.extend_from_slice(&self.head);
                    self.head.clear();
                    return;
                }
            };
            let (length, next) = parsed;
            if next == State::Rejected {
                self.state = State::Rejected;
                self.head.clear();
                self.pending.extend_from_slice(REJECTED_HEAD);
                return;
            }
            self.state = next;
            self.released_a_head = true;
            self.first_head_deadline = None;
            self.pending.extend_from_slice(&self.head[..length]);
            // Keep the buffer (and its capacity) for the next head.
            let mut rest = std::mem::take(&mut self.head);
            rest.drain(..length);
            let body = self.advance_body(&rest);
            self.pending.extend_from_slice(&rest[..body]);
            rest.drain(..body);
            self.head = rest;
        }
        if self.state == State::PassThrough && !self.head.is_empty() {
            let held = std::mem::take(&mut self.head);
            self.pending.extend_from_slice(&held);
        }
    }

    /// Accounts for body bytes; returns how many of `bytes` belong to the current body (the
    /// rest starts the next head).
    fn advance_body(&mut self, bytes: &[u8]) -> usize {
        let mut at = 0;
        while at < bytes.len() {
            match &mut self.state {
                State::Head => return at,
                State::PassThrough | State::Rejected => return bytes.len(),
                State::Body(remaining) => {
                    let take = usize::try_from(*remaining)
                        .map_or(bytes.len() - at, |left| left.min(bytes.len() - at));
                    *remaining -= take as u64;
                    at += take;
                    if *remaining == 0 {
                        self.state = State::Head;
                    }
                }
                State::Chunked(framing) => match framing.advance(&bytes[at..]) {
                    Ok(Some(used)) => {
                        at += used;
                        self.state = State::Head;
                    }
                    Ok(None) => at = bytes.len(),
                    Err(MalformedChunk) => self.state = State::PassThrough,
                },
            }
        }
        at
    }
}

/// Parses a head: `Some((length, next state))` when complete, `None` when more bytes are
/// needed, `Err` when it is malformed or has more than `max_headers` headers.
fn parse_head(bytes: &[u8], max_headers: usize) -> Result<Option<(usize, State)>, ()> {
    // Most heads fit a small array on the stack; only larger ones pay for a vector.
    let mut small = [httparse::EMPTY_HEADER; 32];
    let mut large;
    let headers: &mut [httparse::Header<'_>] = if max_headers <= small.len() {
        &mut small[..max_headers]
    } else {
        let mut request = httparse::Request::new(&mut small);
        match request.parse(bytes) {
            Ok(httparse::Status::Complete(length)) => return Ok(Some((length, framing(&request)))),
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {}
            Err(_) => return Err(()),
        }
        large = vec![httparse::EMPTY_HEADER; max_headers];
        &mut large
    };
    let mut request = httparse::Request::new(headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => Ok(Some((length, framing(&request)))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(()),
    }
}

/// The state after a complete request head.
fn framing(request: &httparse::Request<'_, '_>) -> State {
    if matches!(request.method, Some("PRI" | "CONNECT")) {
        return State::PassThrough;
    }
    let mut transfer_encoding: Option<&[u8]> = None;
    let mut content_length_seen: Option<Option<u64>> = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = Some(header.value);
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let value = content_length(header.value);
            content_length_seen = match content_length_seen {
                None => Some(value),
                Some(previous) if previous == value => Some(value),
                Some(_) => Some(None),
            };
        } else if header.name.eq_ignore_ascii_case("upgrade") {
            return State::PassThrough;
        }
    }
    match (transfer_encoding, content_length_seen) {
        (Some(_), Some(_)) => State::Rejected,
        (Some(codings), None) if last_coding_is_chunked(codings) => {
            State::Chunked(ChunkedFraming::new())
        }
        (Some(_), None) => State::PassThrough,
        (None, Some(Some(0))) | (None, None) => State::Head,
        (None, Some(Some(length))) => State::Body(length),
        (None, Some(None)) => State::PassThrough,
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FramingGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.pending_at < this.pending.len() {
                let count = out.remaining().min(this.pending.len() - this.pending_at);
                out.put_slice(&this.pending[this.pending_at..this.pending_at + count]);
                this.pending_at += count;
                if this.pending_at == this.pending.len() {
                    this.pending.clear();
                    this.pending_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            match this.state {
                State::PassThrough => return Pin::new(&mut this.inner).poll_read(cx, out),
                State::Rejected => return Poll::Ready(Ok(())),
                State::Body(_) | State::Chunked(_) => {
                    let before = out.filled().len();
                    ready!(Pin::new(&mut this.inner).poll_read(cx, out))?;
                    let read = out.filled().len() - before;
                    if read == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    let body = this.advance_body(&out.filled()[before..]);
                    if body < read {
                        this.head.extend_from_slice(&out.filled()[before + body..]);
                        out.set_filled(before + body);
                        this.check_heads();
                        if body == 0 {
                            continue;
                        }
                    }
                    return Poll::Ready(Ok(()));
                }
                State::Head => {
                    if this.scratch.is_empty() {
                        this.scratch = vec![0; 8192];
                    }
                    let mut read = ReadBuf::new(&mut this.scratch);
                    if Pin::new(&mut this.inner)
                        .poll_read(cx, &mut read)?
                        .is_pending()
                    {
                        if !this.released_a_head {
                            let timeout = this.first_head_timeout;
                            let deadline = this
                                .first_head_deadline
                                .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                            if deadline.as_mut().poll(cx).is_ready() {
                                return Poll::Ready(Err(io::Error::new(
                                    io::ErrorKind::TimedOut,
                                    "request head timed out",
                                )));
                            }
                        }
                        return Poll::Pending;
                    }
                    let count = read.filled().len();
                    if count == 0 {
                        if this.head.is_empty() {
                            return Poll::Ready(Ok(()));
                        }
                        // End of stream inside a head: hand hyper what came, it reports the error.
                        this.state = State::PassThrough;
                        let held = std::mem::take(&mut this.head);
                        this.pending.extend_from_slice(&held);
                        continue;
                    }
                    this.head.extend_from_slice(&this.scratch[..count]);
                    this.check_heads();
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FramingGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn bytes_read_before_the_guard_come_first_and_are_checked() {
        let (mut client, server) = tokio::io::duplex(1024);
        {
            use tokio::io::AsyncWriteExt;
            client
                .write_all(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
                .await
                .expect("write");
        }
        drop(client);
        let first = b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        let mut guard = FramingGuard::new(server, 16 * 1024, 100, Duration::from_secs(5))
            .with_read_bytes(first);
        let mut out = Vec::new();
        guard.read_to_end(&mut out).await.expect("read");
        assert_eq!(
            out,
            b"GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n"
        );

        let (_client, server) = tokio::io::duplex(1024);
        let smuggled = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut guard = FramingGuard::new(server, 16 * 1024, 100, Duration::from_secs(5))
            .with_read_bytes(smuggled);
        let mut out = vec![0u8; 64];
        let read = guard.read(&mut out).await.expect("read");
        assert_eq!(&out[..read], REJECTED_HEAD);
    }

    /// What hyper would read through the guard, fed in pieces of `step` bytes.
    async fn through(input: &[u8], piece: usize) -> Vec<u8> {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let input = input.to_vec();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for part in input.chunks(piece) {
                client.write_all(part).await.expect("write");
                tokio::task::yield_now().await;
            }
        });
        let mut guard = FramingGuard::new(server, 16 * 1024, 100, Duration::from_secs(5));
        let mut out = Vec::new();
        let _ = guard.read_to_end(&mut out).await;
        writer.await.expect("writer");
        out
    }

    #[tokio::test]
    async fn well_framed_pipelines_pass_unchanged_in_any_pieces() {
        let input = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
GET /b HTTP/1.1\r\nHost: a\r\n\r\n\
POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n\
GET /d HTTP/1.1\r\nHost: a\r\n\r\n";
        for piece in [1, 2, 7, 64, input.len()] {
            assert_eq!(
                through(input, piece).await,
                input.to_vec(),
                "pieces of {piece}"
            );
        }
    }

    #[tokio::test]
    async fn content_length_with_transfer_encoding_is_rejected_even_after_other_requests() {
        let first = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        for smuggled in [
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\ncontent-length: 4\r\n\r\n0\r\n\r\n",
        ] {
            for piece in [1, 5, 1000] {
                let mut input = first.clone();
                input.extend_from_slice(smuggled);
                let mut want = first.clone();
                want.extend_from_slice(REJECTED_HEAD);
                assert_eq!(through(&input, piece).await, want);
            }
        }
    }

    #[tokio::test]
    async fn a_conflict_hidden_in_a_body_is_not_a_head() {
        let body = "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let input = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(through(input.as_bytes(), 3).await, input.as_bytes());
    }

    #[tokio::test]
    async fn heads_with_more_headers_than_the_stack_array_are_still_checked() {
        let many: String = (0..50).map(|index| format!("X-{index}: v\r\n")).collect();
        let good = format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n");
        assert_eq!(through(good.as_bytes(), 9).await, good.as_bytes());
        let bad = format!(
            "POST / HTTP/1.1\r\n{many}Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        );
        assert_eq!(through(bad.as_bytes(), 9).await, REJECTED_HEAD);
    }

    #[tokio::test]
    async fn a_first_head_that_never_completes_times_out() {
        let (mut client, server) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1\r\nX: ")
            .await
            .expect("write");
        let mut guard = FramingGuard::new(server, 16 * 1024, 100, Duration::from_millis(50));
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(2), guard.read_to_end(&mut out)).await;
        let error = read.expect("the guard gave up").expect_err("timed out");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn what_the_guard_cannot_follow_passes_through() {
        for input in [
            &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"[..],
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\nrest",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nContent-Length: 1\r\n",
            b"GET / HTTP/1.1\r\nHo st: a\r\n\r\n",
        ] {
            assert_eq!(through(input, 4).await, input.to_vec());
        }
    }

    /// One well-framed request whose body may contain anything, head-like text included.
    fn arb_request() -> impl Strategy<Value = Vec<u8>> {
        let body = prop::collection::vec(
            prop_oneof![
                Just(b"\r\n\r\n".to_vec()),
                Just(
                    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"
                        .to_vec()
                ),
                prop::collection::vec(any::<u8>(), 0..40),
            ],
            0..4,
        )
        .prop_map(|parts| parts.concat());
        (
            0..3u8,
            body,
            prop::collection::vec(1..20usize, 0..4),
            any::<bool>(),
        )
            .prop_map(|(kind, body, chunks, trailer)| match kind {
                0 => b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
                1 => {
                    let mut request = format!(
                        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    request.extend_from_slice(&body);
                    request
                }
                _ => {
                    let mut request =
                        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                            .to_vec();
                    let mut rest = body.as_slice();
                    for size in chunks {
                        let size = size.min(rest.len());
                        if size == 0 {
                            break;
                        }
                        request.extend_from_slice(format!("{size:x};ext=1\r\n").as_bytes());
                        request.extend_from_slice(&rest[..size]);
                        request.extend_from_slice(b"\r\n");
                        rest = &rest[size..];
                    }
                    request.extend_from_slice(b"0\r\n");
                    if trailer {
                        request.extend_from_slice(b"X-Trailer: 1\r\n");
                    }
                    request.extend_from_slice(b"\r\n");
                    request
                }
            })
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Well-framed pipelines pass unchanged, whatever their bodies hold and however the
        /// bytes are split; a conflicting head anywhere in the pipeline ends it with the
        /// rejection, everything before it intact.
        #[test]
        fn pipelines_pass_and_conflicts_are_caught(
            requests in prop::collection::vec(arb_request(), 1..5),
            piece in 1..64usize,
            conflict_at in prop::option::of(0..5usize),
        ) {
            let runtime = runtime();
            let input = requests.concat();
            prop_assert_eq!(runtime.block_on(through(&input, piece)), input.clone());
            if let Some(at) = conflict_at {
                let at = at.min(requests.len());
                let before = requests[..at].concat();
                let mut smuggling = before.clone();
                smuggling.extend_from_slice(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
                smuggling.extend_from_slice(&requests[at..].concat());
                let mut want = before;
                want.extend_from_slice(REJECTED_HEAD);
                prop_assert_eq!(runtime.block_on(through(&smuggling, piece)), want);
            }
        }
    }
}
