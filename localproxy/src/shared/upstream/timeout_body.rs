//! Incoming bodies (requests, upstream responses) with a read timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;

/// Why a streamed body failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The peer paused longer than the body timeout.
    #[error("body read timed out")]
    Timeout,
    /// The peer's connection failed.
    #[error(transparent)]
    Io(#[from] hyper::Error),
}

/// An incoming body whose every pause is bounded by a timeout.
#[derive(Debug)]
pub struct TimeoutBody {
    /// `None` for a body known to be empty.
    inner: Option<Incoming>,
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl TimeoutBody {
    /// Wraps `inner`; a pause longer than `timeout` between frames fails the body.
    pub fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner: Some(inner),
            timeout,
            sleep: None,
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self {
            inner: None,
            timeout: Duration::ZERO,
            sleep: None,
        }
    }
}

impl Body for TimeoutBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                Poll::Ready(frame.map(|frame| frame.map_err(BodyError::Io)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(sleep.as_mut().poll(cx));
                Poll::Ready(Some(Err(BodyError::Timeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
