//! Incoming request bodies with a read timeout and a minimum rate ([`BodyAllowance`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The time a request body may take as a whole: the body timeout, plus one second for every
/// `min_rate` bytes received. A client that trickles its body (a byte a second, never pausing
/// long enough for the pause timeout) runs out of allowance and is cut off; a large upload at
/// any reasonable rate never does.
#[derive(Clone, Copy, Debug)]
pub struct BodyAllowance {
    pause: Duration,
    started: Instant,
    min_rate: u64,
    received: u64,
}

impl BodyAllowance {
    /// Starts the clock now: pauses of at most `pause`, at least `min_rate` bytes a second on
    /// average beyond the first `pause` (0: no minimum rate).
    pub fn new(pause: Duration, min_rate: u64) -> Self {
        Self {
            pause,
            started: Instant::now(),
            min_rate,
            received: 0,
        }
    }

    /// Counts `bytes` more of the body received.
    pub fn received(&mut self, bytes: usize) {
        self.received = self.received.saturating_add(bytes as u64);
    }

    /// When the next read must have brought bytes: the pause limit from now, or the end of the
    /// rate allowance, whichever comes first.
    pub fn next_deadline(&self) -> Instant {
        let pause = Instant::now() + self.pause;
        if self.min_rate == 0 {
            return pause;
        }
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        pause.min(self.started + self.pause + earned)
    }
}

/// Why a streamed body failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The peer paused longer than the body timeout.
    #[error("body read timed out")]
    Timeout,
    /// The client's connection failed.
    #[error(transparent)]
    Io(#[from] hyper::Error),
    /// The client broke its body off: it reset the HTTP/2 stream, closed the connection, or
    /// sent another length than its `content-length`.
    #[error("the request body broke off: {0}")]
    ClientBroke(&'static str),
    /// The endpoint broke its response body (closed early, stalled, broke chunked framing).
    #[error("upstream response body: {0}")]
    Upstream(std::io::Error),
}

/// An incoming request body (hyper's, or an HTTP/2 stream's) whose every pause is bounded by
/// a timeout and whose whole by a [`BodyAllowance`].
#[derive(Debug)]
pub struct TimeoutBody<B> {
    inner: B,
    allowance: BodyAllowance,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> TimeoutBody<B> {
    /// Wraps a request body `inner`: pauses of at most `timeout`, and on average at least
    /// `min_rate` bytes a second beyond the first `timeout` (see [`BodyAllowance`]).
    pub fn with_min_rate(inner: B, timeout: Duration, min_rate: u64) -> Self {
        Self {
            inner,
            allowance: BodyAllowance::new(timeout, min_rate),
            sleep: None,
        }
    }
}

impl<B> Body for TimeoutBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                if let Some(data) = frame
                    .as_ref()
                    .and_then(|frame| frame.as_ref().ok())
                    .and_then(Frame::data_ref)
                {
                    this.allowance.received(data.len());
                }
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                let deadline = this.allowance.next_deadline();
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                ready!(sleep.as_mut().poll(cx));
                Poll::Ready(Some(Err(BodyError::Timeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
