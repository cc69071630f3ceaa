//! The controller's Prometheus metrics (prometheus-client, OpenMetrics text on `/metrics`).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `weir_reconciles_total` | counter | `result`: `ok`, a `ProviderError::metric_label()`, or `kube` |
//! | `weir_reconcile_duration_seconds` | histogram, 1 ms .. 60 s | |
//! | `weir_queue_depth` | gauge | |
//! | `weir_objects_watched` | gauge | `kind` |
//! | `weir_leader` | gauge, 0 or 1 | |
//! | `weir_events_total` | counter | `type`: `Normal` or `Warning` |
//! | `weir_provider_api_calls_total` | counter, read from the provider at scrape time | `operation` |
//!
//! Every label value comes from a small fixed set (error classes, kinds, event types, API
//! operations), never from object names, so the series count stays bounded.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Upper bounds of the reconcile duration buckets, in seconds: a no-op reconcile of the local
/// proxy takes about a millisecond, a new ALB stack tens of seconds.
const DURATION_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// One label, `name="value"`.
type Label = [(&'static str, String); 1];

/// Handles to the controller's metrics; cheap to clone, every clone updates the same series.
///
/// Create it once with [`Metrics::new`], which registers every metric, and hand clones to the
/// reconciler, the queue, the watchers and the elector.
#[derive(Clone, Debug)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    reconciles: Family<Label, Counter>,
    reconcile_duration: Histogram,
    queue_depth: Gauge,
    objects_watched: Family<Label, Gauge>,
    leader: Gauge,
    events: Family<Label, Counter>,
}

impl Metrics {
    /// Registers the controller's metrics in `registry` and returns handles to them.
    ///
    /// Call it once per registry: registering twice would encode every series twice.
    pub fn new(registry: &mut Registry) -> Self {
        let inner = Inner {
            reconciles: Family::default(),
            reconcile_duration: Histogram::new(DURATION_BUCKETS),
            queue_depth: Gauge::default(),
            objects_watched: Family::default(),
            leader: Gauge::default(),
            events: Family::default(),
        };
        registry.register(
            "weir_reconciles",
            "Finished stack reconciles, by result (ok or the error class)",
            inner.reconciles.clone(),
        );
        registry.register_with_unit(
            "weir_reconcile_duration",
            "Time one stack reconcile took, whatever its result",
            Unit::Seconds,
            inner.reconcile_duration.clone(),
        );
        registry.register(
            "weir_queue_depth",
            "Stacks waiting in the reconcile queue",
            inner.queue_depth.clone(),
        );
        registry.register(
            "weir_objects_watched",
            "Objects in the watch caches, by kind",
            inner.objects_watched.clone(),
        );
        registry.register(
            "weir_leader",
            "1 while this process holds the leader Lease, else 0",
            inner.leader.clone(),
        );
        registry.register(
            "weir_events",
            "Kubernetes Events published, by type",
            inner.events.clone(),
        );
        Metrics(Arc::new(inner))
    }

    /// Counts one finished reconcile and its duration.
    ///
    /// `result` is `"ok"`, a `ProviderError::metric_label()`, or `"kube"` for a failed
    /// Kubernetes write.
    pub fn reconcile_finished(&self, result: &str, duration: Duration) {
        self.0
            .reconciles
            .get_or_create(&[("result", result.to_owned())])
            .inc();
        self.0.reconcile_duration.observe(duration.as_secs_f64());
    }

    /// Sets how many stacks wait in the queue.
    pub fn set_queue_depth(&self, depth: usize) {
        self.0.queue_depth.set(saturating_i64(depth));
    }

    /// Sets how many objects of `kind` (for example `"Ingress"`) the watch caches hold.
    pub fn set_objects_watched(&self, kind: &str, count: usize) {
        self.0
            .objects_watched
            .get_or_create(&[("kind", kind.to_owned())])
            .set(saturating_i64(count));
    }

    /// Sets whether this process currently leads.
    pub fn set_leader(&self, leader: bool) {
        self.0.leader.set(i64::from(leader));
    }

    /// Counts one published Event of type `kind` (`"Normal"` or `"Warning"`).
    pub fn event_published(&self, kind: &str) {
        self.0
            .events
            .get_or_create(&[("type", kind.to_owned())])
            .inc();
    }
}

/// Registers `weir_provider_api_calls_total{operation}`: a counter per provider API operation,
/// read from `source` at every scrape, so the provider keeps its own counts and needs no
/// dependency on Prometheus.
///
/// `source` returns the running totals since the process started, one `(operation, count)`
/// per operation; the order does not matter (series are sorted by operation).
pub fn register_provider_calls(
    registry: &mut Registry,
    source: Arc<dyn Fn() -> Vec<(String, u64)> + Send + Sync>,
) {
    registry.register_collector(Box::new(ProviderCalls(source)));
}

/// The collector behind [`register_provider_calls`].
struct ProviderCalls(Arc<dyn Fn() -> Vec<(String, u64)> + Send + Sync>);

impl fmt::Debug for ProviderCalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderCalls")
    }
}

impl Collector for ProviderCalls {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let mut calls = (self.0)();
        calls.sort();
        let mut family = encoder.encode_descriptor(
            "weir_provider_api_calls",
            "Provider API calls made, by operation",
            None,
            MetricType::Counter,
        )?;
        for (operation, count) in &calls {
            let labels = [("operation", operation.as_str())];
            let series = family.encode_family(&labels)?;
            ConstCounter::new(*count).encode(series)?;
        }
        Ok(())
    }
}

fn saturating_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use prometheus_client::encoding::text::encode;

    use super::*;

    fn scrape(registry: &Registry) -> String {
        let mut text = String::new();
        encode(&mut text, registry).expect("encode");
        text
    }

    fn assert_has(text: &str, line: &str) {
        assert!(
            text.lines().any(|l| l == line),
            "missing line {line:?} in:\n{text}"
        );
    }

    #[test]
    fn reconciles_are_counted_by_result_and_timed() {
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        metrics.reconcile_finished("ok", Duration::from_millis(3));
        metrics.reconcile_finished("ok", Duration::from_millis(40));
        metrics
            .clone()
            .reconcile_finished("throttled", Duration::from_secs(45));
        let text = scrape(&registry);
        assert_has(&text, "# TYPE weir_reconciles counter");
        assert_has(&text, r#"weir_reconciles_total{result="ok"} 2"#);
        assert_has(&text, r#"weir_reconciles_total{result="throttled"} 1"#);
        assert_has(&text, "# TYPE weir_reconcile_duration_seconds histogram");
        assert_has(&text, "# UNIT weir_reconcile_duration_seconds seconds");
        assert_has(&text, "weir_reconcile_duration_seconds_count 3");
        assert_has(&text, "weir_reconcile_duration_seconds_sum 45.043");
        assert_has(
            &text,
            r#"weir_reconcile_duration_seconds_bucket{le="0.001"} 0"#,
        );
        assert_has(
            &text,
            r#"weir_reconcile_duration_seconds_bucket{le="0.005"} 1"#,
        );
        assert_has(
            &text,
            r#"weir_reconcile_duration_seconds_bucket{le="0.05"} 2"#,
        );
        assert_has(
            &text,
            r#"weir_reconcile_duration_seconds_bucket{le="30.0"} 2"#,
        );
        assert_has(
            &text,
            r#"weir_reconcile_duration_seconds_bucket{le="60.0"} 3"#,
        );
        assert_has(
            &text,
            r#"weir_reconcile_duration_seconds_bucket{le="+Inf"} 3"#,
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn gauges_hold_the_last_value_set() {
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        let text = scrape(&registry);
        assert_has(&text, "weir_leader 0");
        assert_has(&text, "weir_queue_depth 0");
        metrics.set_queue_depth(7);
        metrics.set_queue_depth(3);
        metrics.set_objects_watched("Ingress", 12);
        metrics.set_objects_watched("Service", 4);
        metrics.set_objects_watched("Ingress", 11);
        metrics.set_leader(true);
        let text = scrape(&registry);
        assert_has(&text, "# TYPE weir_queue_depth gauge");
        assert_has(&text, "weir_queue_depth 3");
        assert_has(&text, r#"weir_objects_watched{kind="Ingress"} 11"#);
        assert_has(&text, r#"weir_objects_watched{kind="Service"} 4"#);
        assert_has(&text, "weir_leader 1");
        metrics.set_leader(false);
        assert_has(&scrape(&registry), "weir_leader 0");
    }

    #[test]
    fn events_are_counted_by_type() {
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        metrics.event_published("Warning");
        metrics.event_published("Normal");
        metrics.event_published("Warning");
        let text = scrape(&registry);
        assert_has(&text, "# TYPE weir_events counter");
        assert_has(&text, r#"weir_events_total{type="Warning"} 2"#);
        assert_has(&text, r#"weir_events_total{type="Normal"} 1"#);
    }

    #[test]
    fn provider_calls_are_read_at_scrape_time() {
        let mut registry = Registry::default();
        let rules = Arc::new(AtomicU64::new(14));
        let source = {
            let rules = rules.clone();
            Arc::new(move || {
                vec![
                    ("GetResources".to_owned(), 2),
                    ("CreateRule".to_owned(), rules.load(Ordering::Relaxed)),
                ]
            })
        };
        register_provider_calls(&mut registry, source);
        let text = scrape(&registry);
        assert_has(&text, "# TYPE weir_provider_api_calls counter");
        assert_has(
            &text,
            r#"weir_provider_api_calls_total{operation="CreateRule"} 14"#,
        );
        assert_has(
            &text,
            r#"weir_provider_api_calls_total{operation="GetResources"} 2"#,
        );
        let create = text.find(r#"operation="CreateRule""#).expect("CreateRule");
        let get = text
            .find(r#"operation="GetResources""#)
            .expect("GetResources");
        assert!(create < get, "series sorted by operation:\n{text}");
        rules.store(15, Ordering::Relaxed);
        assert_has(
            &scrape(&registry),
            r#"weir_provider_api_calls_total{operation="CreateRule"} 15"#,
        );
    }

    #[test]
    fn provider_calls_and_controller_metrics_share_a_registry() {
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        register_provider_calls(&mut registry, Arc::new(Vec::new));
        metrics.set_leader(true);
        let text = scrape(&registry);
        assert_has(&text, "weir_leader 1");
        assert_has(&text, "# TYPE weir_provider_api_calls counter");
        assert_eq!(text.matches("# EOF").count(), 1);
    }
}
