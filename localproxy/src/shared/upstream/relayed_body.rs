//! A response body read straight from an [`UpstreamConnection`] by the task that polls it (an
//! HTTP/2 stream's, or a handed-off HTTP/1 connection's): no connection task or channel
//! between them. Chunked framing is decoded (hyper frames the body again for its client), and
//! the connection goes back to its endpoint's pool as soon as the body's last byte is read.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{Instant, Sleep, sleep_until};

use crate::shared::upstream::balancer::InFlight;
use crate::shared::upstream::connection::UpstreamConnection;
use crate::shared::upstream::response_head::{BodyProgress, Framing, ResponseHead};
use crate::shared::upstream::timeout_body::BodyError;

/// See the module documentation.
#[derive(Debug)]
pub struct UpstreamBody {
    /// `None` once the body ended or broke (the connection went back to the pool or closed).
    connection: Option<Box<UpstreamConnection>>,
    /// Held while the connection is in use.
    in_flight: Option<InFlight>,
    progress: BodyProgress,
    /// Content read and not yet passed on.
    pending: Option<Bytes>,
    /// Whether the connection can carry another request once the body ended.
    reusable: bool,
    /// The longest pause allowed between reads (the upstream timeout).
    pause: Duration,
    /// When the current pause runs out, once a read found nothing.
    due: Option<Instant>,
    /// Armed at most once per pause; re-armed only when it fires before `due`.
    timer: Option<Pin<Box<Sleep>>>,
}

impl UpstreamBody {
    /// The body of `head`, whose first bytes (`buffered`, a copy of what `connection` read
    /// after the head) came with it; every later read may pause at most `pause`. `reusable`:
    /// the request went out whole, so the connection may serve another request after this
    /// body.
    ///
    /// # Errors
    /// When the bytes that came with the head already break the body's framing (the client can
    /// still get a 502).
    pub fn new(
        mut connection: Box<UpstreamConnection>,
        in_flight: InFlight,
        head: &ResponseHead,
        buffered: Bytes,
        pause: Duration,
        reusable: bool,
    ) -> io::Result<Self> {
        let mut progress = BodyProgress::new(head.framing);
        let (pending, stray) = decode(&mut progress, &buffered, Some(&buffered))?;
        connection.filled = 0;
        let mut body = Self {
            connection: Some(connection),
            in_flight: Some(in_flight),
            progress,
            pending,
            reusable: reusable
                && head.upstream_keep_alive
                && head.framing != Framing::UntilClose
                && !stray,
            pause,
            due: None,
            timer: None,
        };
        if body.progress.ended() {
            body.finish();
        }
        Ok(body)
    }

    /// The body ended: the connection goes back to the pool if it can serve another request.
    fn finish(&mut self) {
        let connection = self.connection.take();
        if let (Some(connection), Some(in_flight)) = (connection, self.in_flight.take())
            && self.reusable
        {
            in_flight.endpoint().pool.put(connection);
        }
    }

    /// The body broke: the connection is closed.
    fn fail(&mut self, error: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.connection = None;
        self.in_flight = None;
        Poll::Ready(Some(Err(error)))
    }
}

/// The content in `bytes` and whether bytes followed the body's end (the connection then holds
/// something that is no response of ours). When `bytes` are `owned`, content in one piece is
/// a view of them, not a copy.
fn decode(
    progress: &mut BodyProgress,
    bytes: &[u8],
    owned: Option<&Bytes>,
) -> io::Result<(Option<Bytes>, bool)> {
    let mut at = 0;
    let mut first: Option<(usize, &[u8])> = None;
    let mut joined: Option<BytesMut> = None;
    while at < bytes.len() && !progress.ended() {
        let decoded = progress.decode(&bytes[at..])?;
        let start = at + decoded.content.start;
        let content = &bytes[start..at + decoded.content.end];
        at += decoded.used;
        if content.is_empty() {
            continue;
        }
        match (&mut joined, first) {
            (Some(joined), _) => joined.extend_from_slice(content),
            (None, None) => first = Some((start, content)),
            (None, Some((_, earlier))) => {
                let mut both = BytesMut::with_capacity(earlier.len() + content.len());
                both.extend_from_slice(earlier);
                both.extend_from_slice(content);
                joined = Some(both);
            }
        }
    }
    let content = match joined {
        Some(joined) => Some(joined.freeze()),
        None => first.map(|(start, content)| match owned {
            Some(owned) => owned.slice(start..start + content.len()),
            None => Bytes::copy_from_slice(content),
        }),
    };
    Ok((content, at < bytes.len()))
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            if let Some(content) = this.pending.take() {
                return Poll::Ready(Some(Ok(Frame::data(content))));
            }
            let Some(connection) = this.connection.as_mut() else {
                return Poll::Ready(None);
            };
            let mut buffer = ReadBuf::new(&mut connection.buffer);
            match Pin::new(&mut connection.stream).poll_read(cx, &mut buffer) {
                Poll::Ready(Ok(())) => {
                    let read = buffer.filled().len();
                    if read == 0 {
                        if this.progress.framing() == Framing::UntilClose {
                            this.reusable = false;
                            this.finish();
                            return Poll::Ready(None);
                        }
                        return this.fail(BodyError::Upstream(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "response body cut short",
                        )));
                    }
                    this.due = None;
                    match decode(&mut this.progress, &connection.buffer[..read], None) {
                        Ok((content, stray)) => {
                            this.pending = content;
                            this.reusable &= !stray;
                        }
                        Err(error) => return this.fail(BodyError::Upstream(error)),
                    }
                    if this.progress.ended() {
                        this.finish();
                    }
                }
                Poll::Ready(Err(error)) => return this.fail(BodyError::Upstream(error)),
                Poll::Pending => {
                    let pause = this.pause;
                    let due = *this.due.get_or_insert_with(|| Instant::now() + pause);
                    let timer = this.timer.get_or_insert_with(|| Box::pin(sleep_until(due)));
                    loop {
                        ready!(timer.as_mut().poll(cx));
                        if Instant::now() >= due {
                            return this.fail(BodyError::Upstream(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "response body stalled",
                            )));
                        }
                        timer.as_mut().reset(due);
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_none() && self.connection.is_none()
    }
}
