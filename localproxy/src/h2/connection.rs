//! One HTTP/2 connection, served by one future: it reads frames, runs every stream's request
//! future itself (a [`FuturesUnordered`], no task per stream), polls the response bodies of
//! streams that have send window, and writes every frame one turn produced with one write.
//!
//! ```text
//! socket ─read─► frames (receive.rs) ─► streams: HEADERS ─► request head ─► handle() future
//!                                                DATA ─► request body inbox
//! futures ─► response head: HEADERS ─► body ─(windows)─► DATA ─┐
//! settings/ping acks, window updates, resets, GOAWAY ──────────┴─► one output buffer ─write─► socket
//! ```
//!
//! Limits: at most [`MAX_CONCURRENT_STREAMS`] streams (more are refused), header lists up to
//! `max_header_bytes` and `max_headers` fields (431), header blocks bounded while they arrive, an output buffer of at
//! most [`OUTPUT_CAP`] (the connection stops reading until the client takes it), and budgets
//! for resets, stream errors, unanswered control frames and empty frames (GOAWAY
//! ENHANCE_YOUR_CALM past them).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use http::header::HeaderName;
use http::{Request, Response};
use http_body::Body;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::futures::Notified;
use tokio::time::{Instant, Sleep};

use crate::h2::body::{Cancelled, RequestBody, StreamShared};
use crate::h2::frame::{self, ErrorCode, Setting};
use crate::h2::hpack::{Decoder, Encoder};
use crate::h2::request::HeadReader;
use crate::h2::stream::{Outlet, Response as StreamResponse, Sent, Stream};
use crate::shared::forwarding::handle;
use crate::shared::state::{Downstream, Shared};
use crate::shared::upstream::body::ProxyBody;

/// Streams one connection may have open at once; more are refused (REFUSED_STREAM).
pub const MAX_CONCURRENT_STREAMS: usize = 256;

/// The stream window we advertise (SETTINGS_INITIAL_WINDOW_SIZE): large enough that an
/// upload on a fast path is not bound by round trips.
pub const STREAM_WINDOW: u32 = 1 << 20;

/// The connection window we open right after the preface.
pub const CONNECTION_WINDOW: u32 = 4 << 20;

/// The output buffer size past which the connection stops reading and polling bodies until
/// the client takes what is written: a client that never reads cannot grow our memory.
pub const OUTPUT_CAP: usize = 256 * 1024;

/// The window every HTTP/2 endpoint starts with (RFC 9113 section 6.9.2).
const DEFAULT_WINDOW: i64 = 65_535;

/// The largest DATA frame we send, whatever the client allows.
const LARGEST_DATA: usize = 64 * 1024;

/// The largest a flow-control window may grow (RFC 9113 section 6.9.1).
pub(super) const MAX_WINDOW: i64 = (1 << 31) - 1;

/// Acks (PING, SETTINGS) queued and not yet taken by the client, past which it is flooding.
pub(super) const UNANSWERED_CONTROL_LIMIT: usize = 1024;

/// Streams the client reset before their answer, and stream errors we answered, beyond the
/// answers we sent (each answer earns one back): past this, GOAWAY ENHANCE_YOUR_CALM.
pub(super) const ABUSE_LIMIT: u32 = 200;

/// Empty DATA frames (without END_STREAM) in a row, and CONTINUATION frames of one block,
/// past which the client is flooding.
pub(super) const EMPTY_FRAME_LIMIT: u32 = 100;

/// Streams recently closed, remembered to tell a frame on a closed stream from one on a
/// stream that was never opened.
const RECENTLY_CLOSED: usize = 64;

/// Closed streams' states kept for new streams.
const SPARE_STREAMS: usize = 32;

/// How long a closing connection keeps reading (and dropping) what the client still sends,
/// so that its GOAWAY is not destroyed by a reset.
const LINGER: Duration = Duration::from_secs(1);

/// How long a connection that failed waits for the client to take its GOAWAY.
const GOAWAY_WRITE: Duration = Duration::from_secs(5);

/// A stream's answer: its id and response (`None`: the client reset it first).
pub(super) type Answer = Option<(u32, Response<ProxyBody>)>;

/// Starts a stream's request future (see [`start_stream`]).
pub(super) type Start<'a, F> =
    fn(&'a Shared, Downstream, Request<RequestBody>, u32, Arc<StreamShared>) -> F;

/// A stream's request future: [`handle`] racing the client's reset. Each is held inline in
/// the connection's [`FuturesUnordered`], one allocation per stream.
async fn start_stream(
    shared: &Shared,
    downstream: Downstream,
    request: Request<RequestBody>,
    id: u32,
    state: Arc<StreamShared>,
) -> Answer {
    tokio::select! {
        biased;
        () = Cancelled::new(state) => None,
        response = handle(shared, downstream, request) => Some((id, response)),
    }
}

/// Serves one HTTP/2 connection whose first `buffered` bytes were already read (by the lane,
/// for prior knowledge) until it ends: the client closes, an error or an idle timeout ends it,
/// or shutdown (or shedding at the connection cap) drains it.
///
/// # Cancel safety
/// Dropping the future drops the connection and every stream's request future.
pub async fn serve<S>(shared: &Shared, downstream: Downstream, stream: S, buffered: &[u8])
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut connection = Connection::new(shared, downstream, stream, buffered, start_stream);
    let ending = std::future::poll_fn(|cx| connection.poll_turn(cx)).await;
    if ending == Ending::Close {
        connection.close().await;
    }
}

/// How the connection loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// Everything is written: close our side, then linger.
    Close,
    /// The client is gone (closed, reset, or stopped answering).
    Gone,
}

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Serving streams.
    Open,
    /// A GOAWAY went out (or came in): open streams finish, no new ones start.
    Draining,
    /// A connection error: the GOAWAY is written, then the connection closes.
    Failed,
}

/// The connection's state; `receive.rs` handles frames, this file the loop and the I/O.
pub(super) struct Connection<'a, S, F> {
    pub(super) shared: &'a Shared,
    pub(super) downstream: Downstream,
    io: S,
    pub(super) input: BytesMut,
    /// `input` holds bytes read before the driver started (by the lane), not yet handled.
    buffered_input: bool,
    pub(super) out: Vec<u8>,
    /// Bytes of `out` already written.
    written: usize,
    /// Written bytes not yet flushed (TLS records still buffered).
    unflushed: bool,
    pub(super) decoder: Decoder,
    pub(super) encoder: Encoder,
    pub(super) heads: HeadReader,
    /// The response header block being built (reused).
    block: Vec<u8>,
    pub(super) streams: Vec<Stream>,
    /// Stream states of closed streams no future or body holds any more, for new streams.
    pub(super) spare: Vec<Arc<StreamShared>>,
    pub(super) futures: FuturesUnordered<F>,
    pub(super) start: Start<'a, F>,
    pub(super) phase: Phase,
    pub(super) preface_read: bool,
    pub(super) settings_seen: bool,
    /// The highest stream id the client opened.
    pub(super) highest: u32,
    pub(super) recently_closed: std::collections::VecDeque<u32>,
    /// A header block still waiting for CONTINUATION: stream id, END_STREAM, the fragments.
    pub(super) continuation: Option<(u32, bool)>,
    pub(super) pending_block: Vec<u8>,
    pub(super) continuation_frames: u32,
    /// The client's settings.
    pub(super) peer_initial_window: i64,
    pub(super) peer_max_frame: usize,
    pub(super) send_window: i64,
    pub(super) recv_window: i64,
    /// Consumed bytes not yet returned to the client as connection window.
    pub(super) recv_credit: usize,
    pub(super) abuse: u32,
    pub(super) unanswered_control: usize,
    pub(super) empty_frames: u32,
    /// Keep-alive: when the client last sent anything, and whether our PING is unanswered.
    /// (`heard`: bytes arrived since the timer last looked; the clock is read only then.)
    last_read: Instant,
    heard: bool,
    ping_sent: Option<Instant>,
    /// When a connection error ended serving: the GOAWAY gets [`GOAWAY_WRITE`] to be written.
    failed_at: Option<Instant>,
    /// When the connection became idle (no stream open), for the keep-alive timeout.
    pub(super) idle_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    timer_at: Instant,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
    shed: Pin<Box<Notified<'a>>>,
    /// `shed` was polled (registered) since it was last replaced.
    shed_armed: bool,
}

impl<'a, S, F> Connection<'a, S, F>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    F: Future<Output = Answer> + Send + 'a,
{
    fn new(
        shared: &'a Shared,
        downstream: Downstream,
        io: S,
        buffered: &[u8],
        start: Start<'a, F>,
    ) -> Self {
        let config = &shared.config;
        let mut input = BytesMut::with_capacity(32 * 1024);
        input.extend_from_slice(buffered);
        let mut out = Vec::with_capacity(16 * 1024);
        frame::write_settings(
            &mut out,
            &[
                Setting::MaxConcurrentStreams(MAX_CONCURRENT_STREAMS as u32),
                Setting::MaxHeaderListSize(
                    u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX),
                ),
                Setting::InitialWindowSize(STREAM_WINDOW),
                Setting::EnablePush(0),
            ],
        );
        frame::write_window_update(&mut out, 0, CONNECTION_WINDOW - DEFAULT_WINDOW as u32);
        let now = Instant::now();
        let timer_at = now + config.header_read_timeout.min(config.keepalive_timeout);
        Self {
            shared,
            downstream,
            io,
            buffered_input: !input.is_empty(),
            input,
            out,
            written: 0,
            unflushed: false,
            decoder: Decoder::new(4096),
            encoder: Encoder::new(),
            heads: HeadReader::default(),
            block: Vec::with_capacity(1024),
            streams: Vec::new(),
            spare: Vec::new(),
            futures: FuturesUnordered::new(),
            start,
            phase: Phase::Open,
            preface_read: false,
            settings_seen: false,
            highest: 0,
            recently_closed: std::collections::VecDeque::with_capacity(RECENTLY_CLOSED),
            continuation: None,
            pending_block: Vec::new(),
            continuation_frames: 0,
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame: 16_384,
            send_window: DEFAULT_WINDOW,
            recv_window: i64::from(CONNECTION_WINDOW),
            recv_credit: 0,
            abuse: 0,
            unanswered_control: 0,
            empty_frames: 0,
            last_read: now,
            heard: false,
            ping_sent: None,
            failed_at: None,
            idle_since: Some(now),
            timer: Box::pin(tokio::time::sleep_until(timer_at)),
            timer_at,
            shutdown: Box::pin(shared.shutting_down()),
            shed: Box::pin(shared.idle_connections.notified()),
            shed_armed: false,
        }
    }

    /// One turn: read and handle frames, run the request futures, send bodies, write.
    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<Ending> {
        if std::mem::take(&mut self.buffered_input) {
            self.receive();
        }
        for _ in 0..16 {
            let mut progress = false;
            if self.phase != Phase::Failed && self.out.len() < OUTPUT_CAP {
                match self.poll_read(cx) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Ending::Gone),
                    Poll::Ready(Ok(_)) => {
                        progress = true;
                        self.receive();
                    }
                    Poll::Pending => {}
                }
            }
            if self.phase != Phase::Failed {
                progress |= self.poll_futures(cx);
                self.return_window();
                progress |= self.send_bodies(cx);
            }
            self.poll_events(cx);
            if self.gave_up() {
                return Poll::Ready(Ending::Gone);
            }
            match self.poll_write(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(Ending::Gone),
                Poll::Pending => return Poll::Pending,
            }
            if self.phase == Phase::Failed
                || (self.phase == Phase::Draining
                    && self.streams.is_empty()
                    && self.futures.is_empty())
            {
                return Poll::Ready(Ending::Close);
            }
            if !progress {
                self.release_buffers_if_idle();
                return Poll::Pending;
            }
        }
        // Other connections get their turn; this one goes on in the next.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// A connection waiting with no stream and nothing buffered gives its read and write
    /// buffers back (they come back with the next bytes): thousands of idle connections then
    /// hold what TLS and the HPACK table need, not 48 KiB of buffers each.
    fn release_buffers_if_idle(&mut self) {
        let idle = self.streams.is_empty()
            && self.futures.is_empty()
            && self.input.is_empty()
            && self.out.is_empty();
        if idle && self.input.capacity() > 0 {
            self.input = BytesMut::new();
            self.out = Vec::new();
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.input.capacity() - self.input.len() < 16 * 1024 {
            self.input.reserve(32 * 1024);
        }
        if self.out.capacity() == 0 {
            self.out.reserve(16 * 1024);
        }
        let read = {
            let future = self.io.read_buf(&mut self.input);
            std::pin::pin!(future).poll(cx)
        };
        if let Poll::Ready(Ok(read)) = read
            && read > 0
        {
            self.heard = true;
        }
        read
    }

    /// Writes the whole output buffer, then flushes.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => self.written += written,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.written > 0 {
            self.out.clear();
            self.written = 0;
            self.unanswered_control = 0;
            self.unflushed = true;
        }
        if self.unflushed {
            // TLS may still hold records the socket did not take.
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes the answers of request futures that finished.
    fn poll_futures(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while let Poll::Ready(Some(answered)) = self.futures.poll_next_unpin(cx) {
            progress = true;
            if let Some((id, response)) = answered {
                self.respond(id, response);
            }
        }
        progress
    }

    /// Writes a response head for stream `id` (gone if the client reset it meanwhile).
    pub(super) fn respond(&mut self, id: u32, response: Response<ProxyBody>) {
        let Some(index) = self.streams.iter().position(|stream| stream.id == id) else {
            return;
        };
        self.abuse = self.abuse.saturating_sub(1);
        let (parts, body) = response.into_parts();
        self.block.clear();
        self.encoder.status(parts.status.as_u16(), &mut self.block);
        for (name, value) in &parts.headers {
            if !is_connection_specific(name) {
                self.encoder
                    .field(name.as_str().as_bytes(), value.as_bytes(), &mut self.block);
            }
        }
        let end = body.is_end_stream();
        frame::write_headers(&mut self.out, id, end, &self.block, self.peer_max_frame);
        if end {
            self.close_stream(index);
        } else {
            self.streams[index].response = StreamResponse::Streaming {
                body,
                pending: bytes::Bytes::new(),
            };
        }
    }

    /// Polls the response bodies of streams that have window, into DATA frames.
    fn send_bodies(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        let mut index = 0;
        while index < self.streams.len() && self.out.len() < OUTPUT_CAP {
            let before = self.out.len();
            let mut outlet = Outlet {
                out: &mut self.out,
                connection_window: &mut self.send_window,
                max_frame: self.peer_max_frame.min(LARGEST_DATA),
                out_cap: OUTPUT_CAP,
            };
            let sent = self.streams[index].send_body(cx, &mut outlet);
            progress |= self.out.len() != before;
            match sent {
                Sent::Blocked => index += 1,
                Sent::Done => self.close_stream(index),
                Sent::Failed => {
                    let id = self.streams[index].id;
                    self.reset_stream(id, ErrorCode::InternalError);
                }
            }
        }
        progress
    }

    /// Our side of stream `index` ended: a client still sending is told to stop (RFC 9113
    /// section 8.1, RST_STREAM NO_ERROR), and the stream is forgotten.
    pub(super) fn close_stream(&mut self, index: usize) {
        let stream = self.streams.swap_remove(index);
        if stream.receiving {
            frame::write_rst_stream(&mut self.out, stream.id, ErrorCode::NoError);
            stream.shared.break_off("the response ended first");
        }
        self.forget(&stream);
        self.recycle(stream.shared);
    }

    /// Keeps a closed stream's state for a new stream if nothing else holds it.
    fn recycle(&mut self, mut shared: Arc<StreamShared>) {
        if self.spare.len() < SPARE_STREAMS
            && let Some(state) = Arc::get_mut(&mut shared)
        {
            state.reset();
            self.spare.push(shared);
        }
    }

    /// Gives back the window of what `stream` still held and remembers it as closed.
    pub(super) fn forget(&mut self, stream: &Stream) {
        if stream.has_body {
            self.recv_credit += stream.shared.take_consumed();
        }
        if self.recently_closed.len() == RECENTLY_CLOSED {
            self.recently_closed.pop_front();
        }
        self.recently_closed.push_back(stream.id);
        if self.streams.is_empty() {
            self.idle_since = Some(Instant::now());
        }
    }

    /// Returns window for request body bytes the request futures consumed.
    fn return_window(&mut self) {
        for stream in self.streams.iter_mut().filter(|stream| stream.has_body) {
            let consumed = stream.shared.take_consumed();
            self.recv_credit += consumed;
            if !stream.receiving {
                continue;
            }
            stream.recv_credit += consumed;
            if stream.recv_credit >= (STREAM_WINDOW / 4) as usize {
                let credit = std::mem::take(&mut stream.recv_credit);
                stream.recv_window += credit as i64;
                frame::write_window_update(&mut self.out, stream.id, credit as u32);
            }
        }
        if self.recv_credit >= (CONNECTION_WINDOW / 4) as usize {
            let credit = std::mem::take(&mut self.recv_credit);
            self.recv_window += credit as i64;
            frame::write_window_update(&mut self.out, 0, credit as u32);
        }
    }

    /// Shutdown, shedding at the connection cap, keep-alive pings and the idle timeout.
    fn poll_events(&mut self, cx: &mut Context<'_>) {
        if self.phase == Phase::Failed {
            let due = self.next_due();
            if due != self.timer_at {
                self.timer_at = due;
                self.timer.as_mut().reset(due);
            }
            let _ = self.timer.as_mut().poll(cx);
            return;
        }
        if self.phase == Phase::Open && self.shutdown.as_mut().poll(cx).is_ready() {
            self.drain();
        }
        let idle = self.futures.is_empty();
        if self.phase == Phase::Open && idle {
            self.shed_armed = true;
            if self.shed.as_mut().poll(cx).is_ready() {
                self.shed_armed = false;
                self.shed.set(self.shared.idle_connections.notified());
                self.drain();
            }
        } else if self.shed_armed {
            // Busy again: leave the queue of idle connections.
            self.shed_armed = false;
            self.shed.set(self.shared.idle_connections.notified());
        }
        if self.streams.is_empty() {
            self.idle_since.get_or_insert_with(Instant::now);
        } else {
            self.idle_since = None;
        }
        let due = self.next_due();
        if due < self.timer_at {
            self.timer_at = due;
            self.timer.as_mut().reset(due);
        }
        while self.timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            if std::mem::take(&mut self.heard) {
                self.last_read = now;
                self.ping_sent = None;
            }
            let config = &self.shared.config;
            if self
                .idle_since
                .is_some_and(|since| now >= since + config.keepalive_timeout)
                && self.phase == Phase::Open
            {
                self.drain();
            }
            if self.ping_sent.is_none() && now >= self.last_read + config.header_read_timeout {
                write_ping(&mut self.out, *b"weir-ka!");
                self.ping_sent = Some(now);
            }
            self.timer_at = self.next_due().max(now + Duration::from_millis(1));
            self.timer.as_mut().reset(self.timer_at);
        }
    }

    /// The earliest moment a timer has something to do.
    fn next_due(&self) -> Instant {
        if let Some(failed) = self.failed_at {
            return failed + GOAWAY_WRITE;
        }
        let config = &self.shared.config;
        let ping = match self.ping_sent {
            Some(sent) => sent + config.header_read_timeout,
            None => self.last_read + config.header_read_timeout,
        };
        match self.idle_since {
            Some(since) if self.phase == Phase::Open => ping.min(since + config.keepalive_timeout),
            _ => ping,
        }
    }

    /// The client stopped taking part: our keep-alive PING went unanswered (nothing read) for
    /// the header-read timeout, or it did not read our GOAWAY within [`GOAWAY_WRITE`] after a
    /// connection error.
    fn gave_up(&self) -> bool {
        let deadline = match (self.failed_at, self.ping_sent) {
            (Some(failed), _) => failed + GOAWAY_WRITE,
            (None, Some(_)) if self.heard => return false,
            (None, Some(sent)) => sent + self.shared.config.header_read_timeout,
            (None, None) => return false,
        };
        Instant::now() >= deadline
    }

    /// Sends GOAWAY NO_ERROR: the open streams finish, new ones are not served.
    pub(super) fn drain(&mut self) {
        if self.phase == Phase::Open {
            frame::write_goaway(&mut self.out, self.highest, ErrorCode::NoError, b"");
            self.phase = Phase::Draining;
        }
    }

    /// A connection error: GOAWAY with `code`, every stream dropped, then the connection closes.
    pub(super) fn fail(&mut self, code: ErrorCode, reason: &'static str) {
        if self.phase == Phase::Failed {
            return;
        }
        tracing::debug!(peer = %self.downstream.peer, ?code, reason, "HTTP/2 connection error");
        frame::write_goaway(&mut self.out, self.highest, code, reason.as_bytes());
        self.phase = Phase::Failed;
        self.failed_at = Some(Instant::now());
        for stream in self.streams.drain(..) {
            stream.shared.cancel();
        }
        self.futures.clear();
    }

    /// A stream error: RST_STREAM with `code`; an open stream is dropped with its future.
    pub(super) fn reset_stream(&mut self, id: u32, code: ErrorCode) {
        frame::write_rst_stream(&mut self.out, id, code);
        self.abuse += 1;
        if let Some(index) = self.streams.iter().position(|stream| stream.id == id) {
            let stream = self.streams.swap_remove(index);
            stream.shared.cancel();
            self.forget(&stream);
        }
        if self.abuse > ABUSE_LIMIT {
            self.fail(ErrorCode::EnhanceYourCalm, "too many reset streams");
        }
    }

    /// Closes our side and reads what the client still sends for a moment, so that the last
    /// frames reach it instead of being destroyed by a reset.
    async fn close(&mut self) {
        let _ = self.io.shutdown().await;
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(LINGER, async {
            while let Ok(read) = self.io.read(&mut sink).await {
                if read == 0 {
                    break;
                }
            }
        })
        .await;
    }
}

/// Appends a PING (not an ack) with `payload`: the keep-alive probe.
fn write_ping(out: &mut Vec<u8>, payload: [u8; 8]) {
    frame::FrameHeader {
        length: 8,
        kind: frame::kind::PING,
        flags: 0,
        stream_id: 0,
    }
    .write(out);
    out.extend_from_slice(&payload);
}

/// Response fields HTTP/2 forbids (RFC 9113 section 8.2.2).
fn is_connection_specific(name: &HeaderName) -> bool {
    use http::header;
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

impl<S, F> std::fmt::Debug for Connection<'_, S, F> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Connection")
            .field("peer", &self.downstream.peer)
            .field("streams", &self.streams.len())
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

/// The stream state a request head opens: its windows from the settings in force.
pub(super) fn new_stream(id: u32, shared: Arc<StreamShared>, peer_initial_window: i64) -> Stream {
    Stream::new(id, shared, i64::from(STREAM_WINDOW), peer_initial_window)
}
