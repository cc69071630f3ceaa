//! The state of one proxy: the [`Proxy`] handle, the [`Shared`] state every listener and
//! connection reads, the client side of a connection, and the accounting of an answered
//! request, the same for both request paths.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use weir_model::DesiredLoadBalancer;

use crate::shared::config::ProxyConfig;
use crate::shared::metrics::Metrics;
use crate::shared::snapshot::Snapshot;

/// State shared by every listener and connection of one proxy.
#[derive(Debug)]
pub struct Shared {
    /// The snapshot new requests use.
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    /// Limits and timeouts.
    pub config: ProxyConfig,
    /// Metrics.
    pub metrics: Metrics,
    /// The TLS server configuration, built by the first HTTPS listener and shared by the
    /// others, so that every worker resumes the sessions (cache and ticket keys) of all.
    pub tls_config: OnceLock<Arc<rustls::ServerConfig>>,
    /// Wakes idle connections (the lane's between requests, hyper's with no request waiting for
    /// its response), longest idle first, to close: a listener at its connection cap sheds them
    /// so that new clients get in.
    pub idle_connections: tokio::sync::Notify,
    serving: AtomicBool,
    swap: Mutex<()>,
    /// Turns true once: listeners stop accepting, connections finish their request and close.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// A receiver that turns `true` once shutdown has begun; for loops that check it often.
    pub fn shutdown_receiver(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Closes up to `count` idle connections, longest idle first.
    pub fn shed_idle(&self, count: usize) {
        for _ in 0..count {
            self.idle_connections.notify_one();
        }
    }

    /// Resolves once shutdown has begun.
    pub async fn shutting_down(&self) {
        let mut receiver = self.shutdown.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail while we borrow it.
        let _ = receiver.wait_for(|down| *down).await;
    }
}

/// A handle on one proxy: swap configurations in, serve listeners (see the `server` module).
#[derive(Clone, Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
}

impl Proxy {
    /// A proxy with the empty snapshot (every request gets 503 until the first
    /// [`Proxy::apply`]).
    pub fn new(config: ProxyConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                snapshot: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
                config,
                metrics: Metrics::new(),
                tls_config: OnceLock::new(),
                idle_connections: tokio::sync::Notify::new(),
                serving: AtomicBool::new(false),
                swap: Mutex::new(()),
                shutdown: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Builds a snapshot of `model` and swaps it in; returns its version. Requests already
    /// running finish on the snapshot they started with.
    pub fn apply(&self, model: &DesiredLoadBalancer) -> u64 {
        let _one_swap_at_a_time = self
            .shared
            .swap
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = self.shared.snapshot.load_full();
        let version = previous.version + 1;
        let next = Snapshot::build(
            model,
            version,
            &previous,
            &self.shared.config,
            &self.shared.metrics,
        );
        self.shared.snapshot.store(Arc::new(next));
        self.shared
            .metrics
            .config_version
            .set(i64::try_from(version).unwrap_or(i64::MAX));
        self.shared.metrics.reloads.inc();
        version
    }

    /// Swaps in `model` whose routes, certificates and redirects are those of the snapshot
    /// being served (only endpoints changed: the caller knows it from the published parts),
    /// keeping the router and building only the changed pools; returns its version.
    pub fn apply_endpoints(&self, model: &DesiredLoadBalancer) -> u64 {
        let _one_swap_at_a_time = self
            .shared
            .swap
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = self.shared.snapshot.load_full();
        let version = previous.version + 1;
        let next = Snapshot::with_endpoints(model, version, &previous, &self.shared.config);
        self.shared.snapshot.store(Arc::new(next));
        self.shared
            .metrics
            .config_version
            .set(i64::try_from(version).unwrap_or(i64::MAX));
        self.shared.metrics.reloads.inc();
        self.shared.metrics.endpoint_reloads.inc();
        version
    }

    /// The snapshot new requests use.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.snapshot.load_full()
    }

    /// The shared state, for listeners.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The proxy's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Marks the proxy ready (listeners bound, a configuration applied) or not.
    pub fn set_serving(&self, serving: bool) {
        self.shared.serving.store(serving, Ordering::Release);
    }

    /// Begins a graceful shutdown: `/readyz` turns 503, listeners stop accepting, and every
    /// connection closes after the request it is serving (HTTP/2: after its open streams).
    pub fn shutdown(&self) {
        self.set_serving(false);
        self.shared.shutdown.send_replace(true);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_serving(&self) -> bool {
        self.shared.serving.load(Ordering::Acquire) && self.shared.snapshot.load().version > 0
    }
}

/// The client side of one connection.
#[derive(Clone, Debug)]
pub struct Downstream {
    /// The client's address.
    pub peer: SocketAddr,
    /// The local port the client connected to.
    pub local_port: u16,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The server name of the TLS ClientHello (SNI), if it sent one: a request for a host
    /// whose certificate entry differs is misdirected (421).
    pub server_name: Option<Arc<str>>,
}

impl Downstream {
    /// The port of the model listener this connection arrived on: the proxy serves its
    /// stacks' HTTP listeners (port 80) on `--http-addr` and their HTTPS ones (443) on
    /// `--https-addr`, whatever ports those addresses have.
    pub fn listener_port(&self) -> u16 {
        if self.tls { 443 } else { 80 }
    }

    /// Whether a request for `host` on this connection must be answered 421 Misdirected
    /// Request: on TLS with SNI, when `certificates` choose another entry for the host than
    /// for the server name.
    pub fn misdirected(&self, certificates: &crate::shared::certs::CertStore, host: &str) -> bool {
        self.server_name
            .as_deref()
            .is_some_and(|server_name| certificates.misdirected(server_name, host))
    }
}

/// Accounts for one answered request: the status and duration (request head to response
/// head) metrics, and with `--access-log` one line naming the client, `request` (method and
/// target) and status.
pub fn record_request(
    shared: &Shared,
    downstream: Downstream,
    elapsed: Duration,
    status: u16,
    request: Option<(&str, &str)>,
) {
    shared.metrics.count_status(status);
    shared
        .metrics
        .request_duration
        .observe(elapsed.as_secs_f64());
    if let Some((method, uri)) = request {
        tracing::info!(target: "access", client = %downstream.peer, method, uri, status, micros = elapsed.as_micros() as u64);
    }
}
