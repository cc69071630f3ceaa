//! Prometheus metrics of the data plane.
//!
//! Hot-path counters are resolved once at start-up (one atomic add per request, no label
//! lookup).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::shared::error::ProxyError;

type Labels = Vec<(&'static str, &'static str)>;

/// The proxy's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    by_class: [Counter; 5],
    upstream_errors: Family<Labels, Counter>,
    /// Latency from request head to response head, in seconds.
    pub request_duration: Histogram,
    /// Open client connections, all listeners.
    pub active_connections: Gauge,
    /// The version of the snapshot being served.
    pub config_version: Gauge,
    /// Configuration loads that failed (the last good configuration stayed in place).
    pub reload_failures: Counter,
    /// Configuration loads that succeeded and were swapped in.
    pub reloads: Counter,
    /// Of those, swaps of endpoints only (the router and certificates kept).
    pub endpoint_reloads: Counter,
    /// TLS certificates that could not be loaded from their Secret material.
    pub certificate_errors: Counter,
    /// TLS handshakes that failed or timed out.
    pub tls_handshake_failures: Counter,
    /// Client connections the HTTP/1.1 lane handed to the general (hyper) path.
    pub lane_handoffs: Counter,
    /// `notAfter` of each served certificate's leaf (Unix seconds), by Secret.
    pub certificate_not_after: Family<Vec<(&'static str, String)>, Gauge>,
}

impl Metrics {
    /// Registers every metric under the `weir_proxy_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("weir_proxy");
        let requests = Family::<Labels, Counter>::default();
        let by_class = ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .map(|class| requests.get_or_create(&vec![("class", class)]).clone());
        registry.register("requests", "Requests answered, by status class", requests);
        let upstream_errors = Family::<Labels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Upstream failures, by kind",
            upstream_errors.clone(),
        );
        let request_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "request_duration_seconds",
            "Time from request head to response head",
            request_duration.clone(),
        );
        let active_connections = Gauge::default();
        registry.register(
            "active_connections",
            "Open client connections",
            active_connections.clone(),
        );
        let config_version = Gauge::default();
        registry.register(
            "config_version",
            "Version of the configuration snapshot being served",
            config_version.clone(),
        );
        let reload_failures = Counter::default();
        registry.register(
            "reload_failures",
            "Configuration loads that failed; the last good configuration stayed",
            reload_failures.clone(),
        );
        let reloads = Counter::default();
        registry.register("reloads", "Configurations swapped in", reloads.clone());
        let endpoint_reloads = Counter::default();
        registry.register(
            "endpoint_reloads",
            "Configurations swapped in that changed endpoints only (the router and certificates were kept)",
            endpoint_reloads.clone(),
        );
        let certificate_errors = Counter::default();
        registry.register(
            "certificate_errors",
            "Certificates whose Secret material could not be loaded",
            certificate_errors.clone(),
        );
        let tls_handshake_failures = Counter::default();
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            tls_handshake_failures.clone(),
        );
        let lane_handoffs = Counter::default();
        registry.register(
            "lane_handoffs",
            "Client connections the HTTP/1.1 lane handed to the general path (HTTP/1.0, chunked uploads, upgrades, redirects, errors)",
            lane_handoffs.clone(),
        );
        let certificate_not_after = Family::<Vec<(&'static str, String)>, Gauge>::default();
        registry.register(
            "certificate_not_after_seconds",
            "Expiry (notAfter, Unix seconds) of each served certificate, by Secret",
            certificate_not_after.clone(),
        );
        Self {
            registry,
            certificate_not_after,
            by_class,
            upstream_errors,
            request_duration,
            active_connections,
            config_version,
            reload_failures,
            reloads,
            endpoint_reloads,
            certificate_errors,
            tls_handshake_failures,
            lane_handoffs,
        }
    }

    /// Counts one answered request by its status.
    pub fn count_status(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].inc();
    }

    /// Counts one upstream failure.
    pub fn count_upstream_error(&self, error: ProxyError) {
        self.upstream_errors
            .get_or_create(&vec![("kind", error.metric_label())])
            .inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
