//! The admin HTTP server: liveness, readiness and Prometheus metrics on one port.
//!
//! | path | answer |
//! |---|---|
//! | `/healthz` | `200 ok` while the process runs |
//! | `/readyz` | `200 ok` once [`Health::set_ready`] said so (caches synced), else `503` |
//! | `/metrics` | the registry as OpenMetrics text |
//! | anything else | `404` |
//!
//! Only `GET` and `HEAD` are served (`405` otherwise). HTTP/1.1 only: probes and scrapers need
//! nothing more. Standbys serve it too: they are live and, once their caches are synced,
//! ready to take over.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// The content type of `/metrics`.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// How long shutdown waits for open connections to finish their current request.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// A client must send its request head within this time (a stuck probe cannot pin a task).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after an accept error caused by resource exhaustion, so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether the controller is ready to serve (its caches are synced); shared by clones.
///
/// Liveness needs no flag: `/healthz` answers as long as the process can answer at all.
#[derive(Clone, Debug, Default)]
pub struct Health(Arc<AtomicBool>);

impl Health {
    /// A new flag, not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets readiness; `/readyz` answers `200` while it is `true`, `503` while `false`.
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    /// Whether the controller is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `listener` until `shutdown` completes.
///
/// On shutdown it stops accepting, lets every open connection finish the request it is
/// serving (closing idle keep-alive connections at once), and returns when they are done or
/// after 5 s, whichever comes first.
///
/// # Cancel safety
///
/// Dropping the future closes the listener and aborts every open connection at once, without
/// the drain; complete `shutdown` instead to let answers in progress finish.
///
/// # Errors
///
/// Returns the listener's error if accepting fails for a reason that will not pass (the
/// socket is unusable). Errors that do pass (a client that reset before being accepted, too
/// many open files) are logged and accepting goes on. Errors on one connection end that
/// connection only.
pub async fn serve_admin(
    listener: TcpListener,
    registry: Arc<Registry>,
    health: Health,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let result = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let stop = stop_rx.clone();
                    let (registry, health) = (registry.clone(), health.clone());
                    connections.spawn(async move {
                        if let Err(err) = serve_connection(stream, registry, health, stop).await {
                            debug!(%peer, error = %err, "admin connection ended with an error");
                        }
                    });
                }
                Err(err) if is_transient(&err) => {
                    warn!(error = %err, "admin server could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                Err(err) => break Err(err),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    drop(listener);
    stop_tx.send_replace(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        warn!(
            open = connections.len(),
            "admin connections still open after the drain timeout; closing them"
        );
        connections.abort_all();
    }
    result
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    registry: Arc<Registry>,
    health: Health,
    mut stop: watch::Receiver<bool>,
) -> hyper::Result<()> {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = answer(&request, &registry, &health);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    // Also ends when the server's future was dropped (the sender with it): shut down then too.
    let stopping = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    tokio::select! {
        result = connection.as_mut() => result,
        () = stopping => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}

/// The whole routing table: one response per request, computed without I/O.
fn answer(
    request: &Request<Incoming>,
    registry: &Registry,
    health: &Health,
) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if !matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok"),
        "/readyz" if health.is_ready() => text(StatusCode::OK, "ok"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        _ => metrics(registry),
    }
}

fn metrics(registry: &Registry) -> Response<Full<Bytes>> {
    let mut body = String::new();
    if let Err(err) = encode(&mut body, registry) {
        warn!(error = %err, "could not encode the metrics");
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not encode the metrics\n",
        );
    }
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Accept errors that pass: the peer gave up before we accepted, or we are short of file
/// descriptors or memory for a moment.
fn is_transient(err: &io::Error) -> bool {
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    const ENOBUFS: i32 = 105;
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
    ) || matches!(err.raw_os_error(), Some(ENOMEM | ENFILE | EMFILE | ENOBUFS))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;
    use tokio::time::timeout;

    use super::*;
    use crate::metrics::Metrics;

    const LIMIT: Duration = Duration::from_secs(10);

    struct Server {
        addr: SocketAddr,
        health: Health,
        stop: oneshot::Sender<()>,
        task: JoinHandle<io::Result<()>>,
    }

    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut registry = Registry::default();
        Metrics::new(&mut registry).set_leader(true);
        let health = Health::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_admin(
            listener,
            Arc::new(registry),
            health.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            health,
            stop,
            task,
        }
    }

    #[derive(Debug)]
    struct Answer {
        status: u16,
        head: String,
        body: String,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.head.lines().skip(1).find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then(|| value.trim())
            })
        }
    }

    fn parse(raw: &[u8]) -> Answer {
        let raw = String::from_utf8(raw.to_vec()).expect("UTF-8 answer");
        let (head, body) = raw.split_once("\r\n\r\n").expect("a complete head");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        Answer {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    }

    /// One request on its own connection, read until the server closes it.
    async fn request(addr: SocketAddr, method: &str, path: &str) -> Answer {
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let head =
                format!("{method} {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
            stream.write_all(head.as_bytes()).await.expect("write");
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await.expect("read");
            parse(&raw)
        };
        timeout(LIMIT, exchange).await.expect("answer in time")
    }

    #[tokio::test]
    async fn healthz_answers_ok() {
        let server = start().await;
        let answer = request(server.addr, "GET", "/healthz").await;
        assert_eq!((answer.status, answer.body.as_str()), (200, "ok"));
    }

    #[tokio::test]
    async fn readyz_follows_the_health_flag() {
        let server = start().await;
        let answer = request(server.addr, "GET", "/readyz").await;
        assert_eq!(answer.status, 503, "{answer:?}");
        server.health.set_ready(true);
        assert!(server.health.is_ready());
        let answer = request(server.addr, "GET", "/readyz").await;
        assert_eq!((answer.status, answer.body.as_str()), (200, "ok"));
        server.health.set_ready(false);
        assert_eq!(request(server.addr, "GET", "/readyz").await.status, 503);
        // Readiness never affects liveness.
        assert_eq!(request(server.addr, "GET", "/healthz").await.status, 200);
    }

    #[tokio::test]
    async fn metrics_are_openmetrics_text() {
        let server = start().await;
        let answer = request(server.addr, "GET", "/metrics").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some(OPENMETRICS));
        assert!(
            answer.body.lines().any(|l| l == "weir_leader 1"),
            "{}",
            answer.body
        );
        assert!(answer.body.ends_with("# EOF\n"), "{}", answer.body);
    }

    #[tokio::test]
    async fn other_paths_are_not_found() {
        let server = start().await;
        for (method, path) in [
            ("GET", "/"),
            ("GET", "/healthz/"),
            ("GET", "/metricsx"),
            ("POST", "/nope"),
        ] {
            let answer = request(server.addr, method, path).await;
            assert_eq!(answer.status, 404, "{method} {path}");
        }
    }

    #[tokio::test]
    async fn only_get_and_head_are_allowed() {
        let server = start().await;
        for (method, path) in [
            ("POST", "/metrics"),
            ("PUT", "/healthz"),
            ("DELETE", "/readyz"),
        ] {
            let answer = request(server.addr, method, path).await;
            assert_eq!(answer.status, 405, "{method} {path}");
            assert_eq!(answer.header("allow"), Some("GET, HEAD"));
        }
    }

    #[tokio::test]
    async fn head_answers_without_a_body() {
        let server = start().await;
        let answer = request(server.addr, "HEAD", "/healthz").await;
        assert_eq!((answer.status, answer.body.as_str()), (200, ""));
        let answer = request(server.addr, "HEAD", "/metrics").await;
        assert_eq!((answer.status, answer.body.as_str()), (200, ""));
        assert_eq!(answer.header("content-type"), Some(OPENMETRICS));
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_and_returns() {
        let server = start().await;
        // A keep-alive connection that has been answered once and is now idle.
        let mut idle = TcpStream::connect(server.addr).await.expect("connect");
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")
            .await
            .expect("write");
        let mut raw = Vec::new();
        let mut chunk = [0u8; 1024];
        while !raw.ends_with(b"\r\n\r\nok") {
            let n = timeout(LIMIT, idle.read(&mut chunk))
                .await
                .expect("answer in time")
                .expect("read");
            assert_ne!(
                n,
                0,
                "closed before answering: {:?}",
                String::from_utf8_lossy(&raw)
            );
            raw.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(parse(&raw).status, 200);

        server.stop.send(()).expect("server running");
        let returned = timeout(Duration::from_secs(2), server.task)
            .await
            .expect("returned well before the drain timeout")
            .expect("server task");
        assert!(returned.is_ok(), "{returned:?}");
        let n = timeout(LIMIT, idle.read(&mut chunk))
            .await
            .expect("closed in time")
            .expect("read");
        assert_eq!(n, 0, "idle connection closed");
        assert!(
            TcpStream::connect(server.addr).await.is_err(),
            "no longer accepting"
        );
    }
}
