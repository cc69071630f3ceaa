//! Tunables of the data plane: timeouts, limits, retries, ejection.

use std::time::Duration;

/// Limits and timeouts of one proxy; every field has a documented default.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// How long an upstream may take to send response headers before the request fails with
    /// 504, and the longest pause inside a response body before it is aborted (default 30 s).
    pub upstream_timeout: Duration,
    /// How long connecting to one endpoint may take before another is tried (default 2 s).
    pub connect_timeout: Duration,
    /// How long a client may take to send a complete request head, counted from the
    /// connection's start or the first byte of a further request (default 15 s).
    pub header_read_timeout: Duration,
    /// How long an HTTP/1.1 keep-alive connection may sit idle, with no byte of a next request,
    /// after a response (default 60 s).
    pub keepalive_timeout: Duration,
    /// The longest pause while reading a request body before the request fails with 408
    /// (default 30 s).
    pub body_timeout: Duration,
    /// The lowest average rate of a request body, in bytes a second, after its first
    /// `body_timeout`: a body may take `body_timeout` plus one second per this many bytes
    /// received, then fails with 408 (default 1024; 0 turns it off). Cuts off clients that
    /// trickle a body to hold connections.
    pub min_body_rate: u64,
    /// How long a WebSocket tunnel may carry no byte in either direction before it is closed
    /// (default 1 hour).
    pub upgrade_idle_timeout: Duration,
    /// How long a TLS handshake may take (default 10 s).
    pub tls_handshake_timeout: Duration,
    /// The largest request head (request line and headers) in bytes; larger heads get 431
    /// (default 16 KiB, at least 8 KiB).
    pub max_header_bytes: usize,
    /// The most request headers; more get 431 (default 100).
    pub max_headers: usize,
    /// The most concurrent client connections per listener; further clients wait in the
    /// kernel's accept queue (default 10 000).
    pub max_connections: usize,
    /// The most endpoints tried for one request when connecting fails (default 3).
    pub connect_attempts: usize,
    /// Consecutive failures (connect errors, timeouts) that eject an endpoint (default 3).
    pub eject_after_failures: u32,
    /// How long an ejected endpoint gets no new requests unless no other is left (default 10 s).
    pub ejection_time: Duration,
    /// Idle upstream connections kept per endpoint and worker thread (default 256).
    pub max_idle_per_endpoint: usize,
    /// The port clients reach this proxy's HTTPS listener on, when they reach it directly (file
    /// mode: `--https-addr`'s port): HTTPS redirects name it instead of the model's listener
    /// port. `None` (the default, and in cluster mode) keeps the model's port, right behind a
    /// Service or load balancer that maps it to the listener.
    pub https_redirect_port: Option<u16>,
    /// Emit one `access` log event per request at INFO level (default off).
    pub access_log: bool,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            upstream_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(15),
            keepalive_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            min_body_rate: 1024,
            upgrade_idle_timeout: Duration::from_secs(3600),
            tls_handshake_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_connections: 10_000,
            connect_attempts: 3,
            eject_after_failures: 3,
            ejection_time: Duration::from_secs(10),
            max_idle_per_endpoint: 256,
            https_redirect_port: None,
            access_log: false,
        }
    }
}
