//! An upstream connection: a keep-alive HTTP/1.1 connection to one endpoint with its read
//! buffer, which both request paths write requests to and read responses from.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::shared::upstream::deadline::Deadline;
use crate::shared::upstream::pool::Pooled;

/// Bytes a connection's read buffer starts with; it grows for larger response heads.
const INITIAL_BUFFER: usize = 16 * 1024;

/// A keep-alive HTTP/1.1 connection to one endpoint, with its read buffer.
#[derive(Debug)]
pub struct UpstreamConnection {
    pub(crate) stream: TcpStream,
    /// Read area; `buffer[..filled]` holds bytes read and not yet passed on.
    pub(crate) buffer: Vec<u8>,
    pub(crate) filled: usize,
    /// The head of the request being sent (the hyper path's; the lane writes its own).
    pub(crate) request_head: Vec<u8>,
    /// Bounds the waits of the hyper path's requests on this connection; kept with it so that
    /// a request re-arms a timer only when the one armed is later than its deadline (see
    /// [`Deadline`]), not once per write and read.
    deadline: Option<Deadline>,
}

impl UpstreamConnection {
    /// Connects to `addr` within `connect_timeout`; `None` (logged) when that fails. Boxed:
    /// requests, bodies and the pool move it around by pointer.
    pub async fn connect(addr: SocketAddr, connect_timeout: Duration) -> Option<Box<Self>> {
        let stream = match timeout(connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(endpoint = %addr, %error, "upstream connect failed");
                return None;
            }
            Err(_elapsed) => {
                tracing::debug!(endpoint = %addr, "upstream connect timed out");
                return None;
            }
        };
        // Latency matters more than packet count for proxied requests.
        let _ = stream.set_nodelay(true);
        Some(Box::new(Self {
            stream,
            buffer: vec![0; INITIAL_BUFFER],
            filled: 0,
            request_head: Vec::new(),
            deadline: None,
        }))
    }

    /// Runs `work` on this connection with `limit` from now: `None` when the limit passed
    /// first (the connection must then be dropped).
    pub async fn within<T>(
        &mut self,
        limit: Duration,
        work: impl AsyncFnOnce(&mut Self) -> T,
    ) -> Option<T> {
        let at = Instant::now() + limit;
        let mut deadline = self.deadline.take().unwrap_or_else(|| Deadline::new(at));
        let output = deadline.limit(limit, work(self)).await;
        self.deadline = Some(deadline);
        output
    }
}

impl Pooled for UpstreamConnection {
    /// An idle connection has nothing to read: readiness means the endpoint closed it, it
    /// broke, or it sent stray bytes; any of them makes it unusable.
    fn is_closed(&self) -> bool {
        if self.filled != 0 {
            return true;
        }
        let mut context = Context::from_waker(Waker::noop());
        match self.stream.poll_read_ready(&mut context) {
            Poll::Pending => false,
            Poll::Ready(Err(_)) => true,
            // Readiness can be left over from the last response's read; only a read tells.
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                !matches!(self.stream.try_read(&mut probe), Err(error) if error.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }
}
