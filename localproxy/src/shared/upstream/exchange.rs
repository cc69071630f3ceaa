//! One request's way to an endpoint, the same for both request paths: which endpoints it
//! tries, a pooled or new connection to one of them, and failures charged to passive health.
//!
//! A request is retried only when it provably never reached an upstream: the connection could
//! not be made, or it did not go out whole. A bodyless idempotent request that a reused
//! connection dropped before any response is retried once (the upstream closed an idle
//! keep-alive connection as we wrote to it); the request paths decide that.

use crate::shared::config::ProxyConfig;
use crate::shared::error::ProxyError;
use crate::shared::metrics::Metrics;
use crate::shared::upstream::balancer::{Endpoint, InFlight, TargetPool};
use crate::shared::upstream::connection::UpstreamConnection;

/// Counts `error` in the metrics and charges it to `endpoint`'s passive health (consecutive
/// failures eject it).
pub fn charge(endpoint: &Endpoint, error: ProxyError, config: &ProxyConfig, metrics: &Metrics) {
    metrics.count_upstream_error(error);
    endpoint.record_failure(config.eject_after_failures, config.ejection_time);
}

/// The endpoints one request tries: the ones whose connection failed, and how many rounds (one
/// endpoint taken each) it used. Rounds that found a dead pooled connection are not counted as
/// attempts but are bounded too.
#[derive(Debug)]
pub struct Attempts<'a> {
    pool: &'a TargetPool,
    config: &'a ProxyConfig,
    failed: Vec<usize>,
    rounds: usize,
}

impl<'a> Attempts<'a> {
    /// No endpoint of `pool` tried yet.
    pub fn new(pool: &'a TargetPool, config: &'a ProxyConfig) -> Self {
        Self {
            pool,
            config,
            failed: Vec::new(),
            rounds: 0,
        }
    }

    /// The index of the next endpoint to use: power of two choices among those not failed,
    /// `None` when none is left or the rounds ran out.
    pub fn next_endpoint(&mut self) -> Option<usize> {
        self.rounds += 1;
        if self.rounds > 32 + self.config.connect_attempts {
            return None;
        }
        self.pool.pick(&self.failed)
    }

    /// Connecting to endpoint `index` failed (counted and charged to it); `false` once
    /// `connect_attempts` endpoints failed.
    pub fn connect_failed(&mut self, index: usize, metrics: &Metrics) -> bool {
        charge(
            &self.pool.endpoints[index],
            ProxyError::UpstreamConnect,
            self.config,
            metrics,
        );
        self.failed.push(index);
        self.failed.len() < self.config.connect_attempts
    }

    /// A connection to the next endpoint: an idle pooled one (`reused`) or a new one; endpoints
    /// that refuse the connection are charged and the next is tried.
    ///
    /// # Errors
    /// [`ProxyError::UpstreamConnect`] when `connect_attempts` endpoints failed or none is left.
    pub async fn checkout(&mut self, metrics: &Metrics) -> Result<Checkout, ProxyError> {
        loop {
            let Some(index) = self.next_endpoint() else {
                return Err(ProxyError::UpstreamConnect);
            };
            let endpoint = &self.pool.endpoints[index];
            let in_flight = endpoint.start_request();
            if let Some(connection) = endpoint.pool.take() {
                return Ok(Checkout {
                    index,
                    in_flight,
                    connection,
                    reused: true,
                });
            }
            match UpstreamConnection::connect(endpoint.addr, self.config.connect_timeout).await {
                Some(connection) => {
                    return Ok(Checkout {
                        index,
                        in_flight,
                        connection,
                        reused: false,
                    });
                }
                None if self.connect_failed(index, metrics) => {}
                None => return Err(ProxyError::UpstreamConnect),
            }
        }
    }
}

/// A connection [`Attempts::checkout`] got for one try of a request.
#[derive(Debug)]
pub struct Checkout {
    /// The endpoint's index in the target pool.
    pub index: usize,
    /// The request's unit of the endpoint's in-flight count.
    pub in_flight: InFlight,
    /// The connection.
    pub connection: Box<UpstreamConnection>,
    /// Whether it came from the idle pool (it may have been closed by the endpoint meanwhile).
    pub reused: bool,
}
