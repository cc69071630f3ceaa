//! One open stream as the connection sees it: its flow-control windows both ways, the body
//! length it declared and received, and its response, from waiting for the request future
//! to streaming the body into DATA frames as far as the windows allow.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;

use crate::h2::body::StreamShared;
use crate::h2::frame::write_data;
use crate::shared::upstream::body::ProxyBody;

/// See the module documentation.
#[derive(Debug)]
pub struct Stream {
    /// The stream id.
    pub id: u32,
    /// What the request body and future share with the connection.
    pub shared: Arc<StreamShared>,
    /// The client may still send DATA (it has not ended its side).
    pub receiving: bool,
    /// The request has a body the connection feeds (its consumption returns window).
    pub has_body: bool,
    /// What the client may still send on this stream before we open the window more.
    pub recv_window: i64,
    /// Consumed bytes not yet returned to the client as window.
    pub recv_credit: usize,
    /// The `content-length` the client declared.
    pub declared: Option<u64>,
    /// DATA bytes received so far.
    pub received: u64,
    /// What we may send on this stream (negative after the client shrank its window).
    pub send_window: i64,
    /// Where the response is.
    pub response: Response,
}

/// Where a stream's response is.
#[derive(Debug)]
pub enum Response {
    /// The request future has not answered yet.
    Waiting,
    /// The head went out; the body is streamed, `pending` being content polled from it that
    /// the windows did not let out yet.
    Streaming {
        /// The response body.
        body: ProxyBody,
        /// Content waiting for window.
        pending: Bytes,
    },
}

/// What one round of sending a stream's body did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Waiting: for the body, for window, or for the output buffer to drain.
    Blocked,
    /// The last DATA frame (END_STREAM) was written.
    Done,
    /// The body broke off: the stream is to be reset.
    Failed,
}

/// Where a body's DATA frames go and what limits them.
pub struct Outlet<'a> {
    /// The connection's output buffer.
    pub out: &'a mut Vec<u8>,
    /// The connection's send window.
    pub connection_window: &'a mut i64,
    /// The largest DATA payload the client takes.
    pub max_frame: usize,
    /// Stop once the output buffer holds this much.
    pub out_cap: usize,
}

impl Stream {
    /// A stream just opened by a request head, with windows `recv_window` and `send_window`.
    pub fn new(id: u32, shared: Arc<StreamShared>, recv_window: i64, send_window: i64) -> Self {
        Self {
            id,
            shared,
            receiving: false,
            has_body: false,
            recv_window,
            recv_credit: 0,
            declared: None,
            received: 0,
            send_window,
            response: Response::Waiting,
        }
    }

    /// Writes as much of the response body as the body, the windows and the output buffer
    /// allow.
    pub fn send_body(&mut self, cx: &mut Context<'_>, outlet: &mut Outlet<'_>) -> Sent {
        let Response::Streaming { body, pending } = &mut self.response else {
            return Sent::Blocked;
        };
        loop {
            if pending.is_empty() {
                match Pin::new(&mut *body).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        // Trailers are not forwarded.
                        if let Ok(data) = frame.into_data() {
                            *pending = data;
                        }
                        if pending.is_empty() && !body.is_end_stream() {
                            continue;
                        }
                    }
                    Poll::Ready(None) => {
                        write_data(outlet.out, self.id, true, &[]);
                        return Sent::Done;
                    }
                    Poll::Ready(Some(Err(error))) => {
                        tracing::debug!(%error, stream = self.id, "response body broke off");
                        return Sent::Failed;
                    }
                    Poll::Pending => return Sent::Blocked,
                }
            }
            let window = self.send_window.min(*outlet.connection_window);
            if window <= 0 && !pending.is_empty() {
                return Sent::Blocked;
            }
            let length = pending
                .len()
                .min(usize::try_from(window).unwrap_or(usize::MAX))
                .min(outlet.max_frame);
            let chunk = pending.split_to(length);
            let end = pending.is_empty() && body.is_end_stream();
            write_data(outlet.out, self.id, end, &chunk);
            self.send_window -= length as i64;
            *outlet.connection_window -= length as i64;
            if end {
                return Sent::Done;
            }
            if outlet.out.len() >= outlet.out_cap {
                return Sent::Blocked;
            }
        }
    }
}
