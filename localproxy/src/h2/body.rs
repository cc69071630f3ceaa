//! What one stream's connection and its request future share: the request body's DATA the
//! connection received ([`RequestBody`] hands it on), how much of it was consumed (the
//! connection returns that much window to the client), and whether the client reset the
//! stream (the request future is then dropped, see [`Cancelled`]).
//!
//! Both sides run in the connection's one task, so the lock is never contended; it is there
//! because the connection future must be `Send`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::shared::upstream::timeout_body::BodyError;

/// One stream's shared state; see the module documentation.
#[derive(Debug, Default)]
pub struct StreamShared {
    inbox: Mutex<Inbox>,
}

#[derive(Debug, Default)]
struct Inbox {
    /// DATA received and not yet handed on.
    chunks: VecDeque<Bytes>,
    /// How the body ended, once it did.
    end: Option<End>,
    /// Bytes handed on since the connection last took the count.
    consumed: usize,
    /// The body was dropped: what still arrives is discarded.
    body_dropped: bool,
    /// The client reset the stream: the request future gives up.
    cancelled: bool,
    /// The body's reader, waiting for DATA.
    body_waker: Option<Waker>,
    /// The request future, waiting for anything.
    task_waker: Option<Waker>,
}

#[derive(Clone, Copy, Debug)]
enum End {
    Complete,
    Broken(&'static str),
}

impl StreamShared {
    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent data.
        self.inbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands `data` to the body. Returns `false` when the body is gone (the caller returns
    /// the window at once).
    pub fn push(&self, data: Bytes) -> bool {
        let mut inbox = self.inbox();
        if inbox.body_dropped {
            return false;
        }
        inbox.chunks.push_back(data);
        if let Some(waker) = inbox.body_waker.take() {
            waker.wake();
        }
        true
    }

    /// The client sent its last DATA.
    pub fn end(&self) {
        self.finish(End::Complete);
    }

    /// The body broke off (`reason` says why); its reader gets an error.
    pub fn break_off(&self, reason: &'static str) {
        self.finish(End::Broken(reason));
    }

    fn finish(&self, end: End) {
        let mut inbox = self.inbox();
        if inbox.end.is_none() {
            inbox.end = Some(end);
        }
        if let Some(waker) = inbox.body_waker.take() {
            waker.wake();
        }
    }

    /// The client reset the stream: the body breaks off and the request future ends.
    pub fn cancel(&self) {
        let mut inbox = self.inbox();
        inbox.cancelled = true;
        if inbox.end.is_none() {
            inbox.end = Some(End::Broken("the client reset the stream"));
        }
        let wakers = [inbox.body_waker.take(), inbox.task_waker.take()];
        drop(inbox);
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }

    /// Makes a state no one else holds any more as good as new, for the next stream.
    pub fn reset(&mut self) {
        *self
            .inbox
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Inbox::default();
    }

    /// Bytes consumed since the last call, and those still queued when the body is gone
    /// (discarded now): the window to give back.
    pub fn take_consumed(&self) -> usize {
        let mut inbox = self.inbox();
        if inbox.body_dropped {
            let queued: usize = inbox.chunks.drain(..).map(|chunk| chunk.len()).sum();
            inbox.consumed += queued;
        }
        std::mem::take(&mut inbox.consumed)
    }
}

/// An HTTP/2 request body: the DATA of one stream, as the connection receives it, with the
/// `content-length` the client declared (already checked against the DATA by the
/// connection: a body that ends at another length breaks off instead).
#[derive(Debug)]
pub struct RequestBody {
    /// `None`: the request has no body (END_STREAM on its HEADERS).
    shared: Option<Arc<StreamShared>>,
    declared: Option<u64>,
}

impl RequestBody {
    /// A body that is empty (the HEADERS ended the stream).
    pub fn empty() -> Self {
        Self {
            shared: None,
            declared: None,
        }
    }

    /// The body streamed through `shared`, of `declared` bytes if the client said so.
    pub fn streamed(shared: Arc<StreamShared>, declared: Option<u64>) -> Self {
        Self {
            shared: Some(shared),
            declared,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(shared) = &self.shared else {
            return Poll::Ready(None);
        };
        let mut inbox = shared.inbox();
        if let Some(chunk) = inbox.chunks.pop_front() {
            inbox.consumed += chunk.len();
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match inbox.end {
            Some(End::Complete) => Poll::Ready(None),
            Some(End::Broken(reason)) => Poll::Ready(Some(Err(BodyError::ClientBroke(reason)))),
            None => {
                if !inbox
                    .body_waker
                    .as_ref()
                    .is_some_and(|waker| waker.will_wake(cx.waker()))
                {
                    inbox.body_waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.shared.as_ref().is_none_or(|shared| {
            let inbox = shared.inbox();
            inbox.chunks.is_empty() && matches!(inbox.end, Some(End::Complete))
        })
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.shared, self.declared) {
            (None, _) => SizeHint::with_exact(0),
            (Some(_), Some(declared)) => SizeHint::with_exact(declared),
            (Some(_), None) => SizeHint::default(),
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            let mut inbox = shared.inbox();
            inbox.body_dropped = true;
            inbox.body_waker = None;
        }
    }
}

/// Resolves once the client reset the stream: a stream's request future races it and is
/// dropped (with the forwarding state, an upstream connection in use above all) when it wins.
pub struct Cancelled(Arc<StreamShared>);

impl Cancelled {
    /// Waits for `shared` to be cancelled.
    pub fn new(shared: Arc<StreamShared>) -> Self {
        Self(shared)
    }
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inbox = self.0.inbox();
        if inbox.cancelled {
            return Poll::Ready(());
        }
        if !inbox
            .task_waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            inbox.task_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}
