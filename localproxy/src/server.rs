//! Listeners: accept, optional TLS, then the HTTP/1.1 lane, weir's HTTP/2 driver (ALPN `h2`,
//! or the preface on a plain connection) or hyper's HTTP/1 server (what the lane hands off).
//!
//! Each connection is one task. Limits enforced here: at most `max_connections` open
//! connections per listener (at the cap, idle connections are closed, longest idle first:
//! lane connections between requests, HTTP/2 and hyper connections with no request waiting
//! for its response (HTTP/2 with a GOAWAY); further clients wait in the accept queue), a TLS
//! handshake timeout, the header-read and keep-alive idle timeouts, and the request head size
//! and header count (431). The HTTP/2 driver keeps its own limits (`crate::h2::connection`).

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::server::conn::http1::Builder;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, TryAcquireError};
use tokio_rustls::TlsAcceptor;

use crate::h2;
use crate::hyper_path::guard::FramingGuard;
use crate::lane;
use crate::shared::forwarding::handle;
use crate::shared::state::{Downstream, Proxy, Shared};
use crate::tls::server_config;

/// Serves plain HTTP (HTTP/1.1, and HTTP/2 with prior knowledge) on `listener` until the
/// task is dropped.
///
/// # Errors
/// Only if the local address of the listener cannot be read.
///
/// # Cancel safety
/// Dropping the future stops accepting; connections already accepted run to completion.
pub async fn serve_http(proxy: Proxy, listener: TcpListener) -> io::Result<()> {
    serve(proxy, listener, None).await
}

/// Serves HTTPS on `listener` with certificates chosen by SNI from the current snapshot; every
/// HTTPS listener of one proxy shares one TLS configuration (session cache, ticket keys).
///
/// # Errors
/// If the TLS configuration cannot be built or the listener's address cannot be read.
///
/// # Cancel safety
/// As [`serve_http`].
pub async fn serve_https(proxy: Proxy, listener: TcpListener) -> io::Result<()> {
    let shared = proxy.shared();
    let config = match shared.tls_config.get() {
        Some(config) => Arc::clone(config),
        None => {
            let built = server_config(Arc::clone(&shared.snapshot)).map_err(io::Error::other)?;
            // Another listener may have won the race: use whichever was stored.
            Arc::clone(shared.tls_config.get_or_init(|| built))
        }
    };
    serve(proxy, listener, Some(TlsAcceptor::from(config))).await
}

/// The listening socket for `addr`, which every worker accepts on (each through its own
/// [`std::net::TcpListener::try_clone`]). Bound without `SO_REUSEPORT`, so that binding and
/// listening is one step that fails when another process (another weir-proxy above all)
/// holds the address: two proxies started at once cannot both bind it.
///
/// # Errors
/// `AddrInUse` when the address is held, or whatever else binding reports; the caller names
/// `addr`. Must be called inside a Tokio runtime; the returned listener can move to another
/// runtime with [`TcpListener::from_std`].
pub fn listener(addr: std::net::SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // Connections of an earlier process still in TIME_WAIT do not hold the address.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)?.into_std()
}

/// How many idle keep-alive connections a listener at its connection cap closes at a time.
const SHED_BATCH: usize = 32;

/// How long a listener at its cap waits for a connection to close before shedding again.
const SHED_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

async fn serve(proxy: Proxy, listener: TcpListener, tls: Option<TlsAcceptor>) -> io::Result<()> {
    let local_port = listener.local_addr()?.port();
    let shared = Arc::clone(proxy.shared());
    let builder = Arc::new(http_builder(&shared));
    let permits = Arc::new(Semaphore::new(shared.config.max_connections));
    loop {
        let permit = loop {
            match Arc::clone(&permits).try_acquire_owned() {
                Ok(permit) => break permit,
                // The semaphore is never closed.
                Err(TryAcquireError::Closed) => return Ok(()),
                Err(TryAcquireError::NoPermits) => {
                    // At the cap: idle keep-alive connections make room for new clients, a
                    // batch at a time until one has closed.
                    shared.shed_idle(SHED_BATCH);
                    let acquire = Arc::clone(&permits).acquire_owned();
                    if let Ok(Ok(permit)) = tokio::time::timeout(SHED_EVERY, acquire).await {
                        break permit;
                    }
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.shutting_down() => return Ok(()),
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let builder = Arc::clone(&builder);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _connection = ConnectionGauge::open(&shared);
            let mut downstream = Downstream {
                peer,
                local_port,
                tls: tls.is_some(),
                server_name: None,
            };
            match tls {
                None => serve_http1(&builder, &shared, downstream, stream).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(
                        shared.config.tls_handshake_timeout,
                        acceptor.accept(stream),
                    );
                    let handshake = handshake.await;
                    if let Ok(Ok(stream)) = &handshake {
                        downstream.server_name = stream.get_ref().1.server_name().map(Arc::from);
                    }
                    match handshake {
                        Ok(Ok(stream)) if stream.get_ref().1.alpn_protocol() == Some(b"h2") => {
                            // Boxed, as below: only HTTP/2 connections pay for its state.
                            Box::pin(h2::connection::serve(&shared, downstream, stream, &[])).await;
                        }
                        Ok(Ok(stream)) => {
                            serve_http1(&builder, &shared, downstream, stream).await;
                        }
                        Ok(Err(error)) => {
                            shared.metrics.tls_handshake_failures.inc();
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                        }
                        Err(_elapsed) => {
                            shared.metrics.tls_handshake_failures.inc();
                            tracing::debug!(%peer, "TLS handshake timed out");
                        }
                    }
                }
            }
        });
    }
}

/// An HTTP/1 (or prior-knowledge HTTP/2) connection: the lane serves plain HTTP/1.1 requests;
/// a connection that starts with the HTTP/2 preface goes to the HTTP/2 driver, and from the
/// first other request the lane hands off, hyper serves the rest behind the request-framing
/// guard.
async fn serve_http1<S>(builder: &Builder, shared: &Arc<Shared>, downstream: Downstream, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Some(handoff) = lane::serve(shared, downstream.clone(), stream).await {
        if is_preface(&handoff.buffered) {
            let served =
                h2::connection::serve(shared, downstream, handoff.stream, &handoff.buffered);
            Box::pin(served).await;
            return;
        }
        let stream = guarded(handoff.stream, shared).with_read_bytes(handoff.buffered);
        // Boxed: hyper's connection state is large, and a connection task sized for it would
        // make every lane connection (most of them, idle ones above all) hold that much.
        Box::pin(serve_connection(
            builder,
            Arc::clone(shared),
            downstream,
            stream,
        ))
        .await;
    }
}

/// Whether the bytes a connection started with are (the start of) the HTTP/2 preface:
/// HTTP/2 with prior knowledge.
fn is_preface(buffered: &[u8]) -> bool {
    let preface = &h2::frame::PREFACE[..];
    match buffered.len() < preface.len() {
        true => !buffered.is_empty() && preface.starts_with(buffered),
        false => buffered.starts_with(preface),
    }
}

/// HTTP/1 connections get the request-framing guard.
fn guarded<S>(stream: S, shared: &Shared) -> FramingGuard<S> {
    let config = &shared.config;
    FramingGuard::new(
        stream,
        config.max_header_bytes,
        config.max_headers,
        config.header_read_timeout,
    )
}

fn http_builder(shared: &Shared) -> Builder {
    let config = &shared.config;
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .max_headers(config.max_headers);
    builder
}

async fn serve_connection<S>(
    builder: &Builder,
    shared: Arc<Shared>,
    downstream: Downstream,
    stream: S,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = downstream.peer;
    let activity = Arc::new(Activity::default());
    let service = {
        let shared = Arc::clone(&shared);
        let activity = Arc::clone(&activity);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let downstream = downstream.clone();
            let waiting = activity.start();
            async move {
                // Boxed: hyper's connection future is far smaller with the forwarding state
                // behind a pointer.
                let response = Box::pin(handle(&shared, downstream, request)).await;
                drop(waiting);
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    // The connection is polled first: one handed off by the lane after shutdown began already
    // holds a whole request head, and gets to take it before the graceful shutdown (which
    // would close a connection that has not started reading it).
    let result = loop {
        let changed = activity.changed.notified();
        let mut changed = std::pin::pin!(changed);
        // Registered before the count is read, so that no change is missed.
        changed.as_mut().enable();
        let idle = activity.is_idle();
        // Only polled (so queued, behind connections idle for longer) while idle.
        let shed = shared.idle_connections.notified();
        tokio::select! {
            biased;
            result = connection.as_mut() => break result,
            () = shared.shutting_down() => {
                connection.as_mut().graceful_shutdown();
                break connection.await;
            }
            // A listener at its connection cap: idle connections make room first. The
            // connection closes after its current response, never cutting a request short.
            () = shed, if idle => {
                connection.as_mut().graceful_shutdown();
                break connection.await;
            }
            () = changed => {}
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// The requests of one hyper connection still waiting for their response head: a connection
/// with none is idle and may be shed at the connection cap.
#[derive(Debug, Default)]
struct Activity {
    waiting: AtomicUsize,
    /// Woken when the connection turns busy or idle.
    changed: Notify,
}

impl Activity {
    /// Counts a request until the returned guard drops.
    fn start(self: &Arc<Self>) -> Waiting {
        if self.waiting.fetch_add(1, Ordering::Relaxed) == 0 {
            self.changed.notify_waiters();
        }
        Waiting(Arc::clone(self))
    }

    fn is_idle(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) == 0
    }
}

/// One request of an [`Activity`].
struct Waiting(Arc<Activity>);

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.0.waiting.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.0.changed.notify_waiters();
        }
    }
}

/// Counts a connection in the active-connections gauge while it lives.
struct ConnectionGauge<'a>(&'a Shared);

impl<'a> ConnectionGauge<'a> {
    fn open(shared: &'a Shared) -> Self {
        shared.metrics.active_connections.inc();
        Self(shared)
    }
}

impl Drop for ConnectionGauge<'_> {
    fn drop(&mut self) {
        self.0.metrics.active_connections.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What let two proxies share an address: listening sockets another `SO_REUSEPORT`
    /// socket could join, so that a check before binding left a window. A proxy's listener
    /// admits no one else on its address, however the other socket is set up.
    #[tokio::test]
    async fn a_listening_address_cannot_be_joined_even_with_reuse_port() {
        let held = listener("127.0.0.1:0".parse().expect("address")).expect("bind");
        let addr = held.local_addr().expect("address");
        assert!(listener(addr).is_err());
        let joining = tokio::net::TcpSocket::new_v4().expect("socket");
        joining.set_reuseaddr(true).expect("SO_REUSEADDR");
        joining.set_reuseport(true).expect("SO_REUSEPORT");
        let joined = joining.bind(addr);
        assert!(joined.is_err(), "another socket bound {addr}");
    }
}
