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
    /// How long a client may take to send a complete request head; on HTTP/1.1 this is also
    /// how long a keep-alive connection may sit idle between requests (default 15 s).
    pub header_read_timeout: Duration,
    /// The longest pause while reading a request body before the request fails with 408
    /// (default 30 s).
    pub body_timeout: Duration,
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
    /// Emit one `access` log event per request at INFO level (default off).
    pub access_log: bool,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            upstream_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
            upgrade_idle_timeout: Duration::from_secs(3600),
            tls_handshake_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_connections: 10_000,
            connect_attempts: 3,
            eject_after_failures: 3,
            ejection_time: Duration::from_secs(10),
            max_idle_per_endpoint: 256,
            access_log: false,
        }
    }
}
