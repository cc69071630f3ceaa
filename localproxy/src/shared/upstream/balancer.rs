//! Endpoints and power-of-two-choices load balancing with passive ejection.
//!
//! An [`Endpoint`] outlives snapshots: a swap that keeps an address reuses its `Arc`, so its
//! in-flight count, failure history and idle connections carry over.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::shared::upstream::connection::UpstreamConnection;
use crate::shared::upstream::pool::ConnectionPool;

/// One upstream address with its live state.
#[derive(Debug)]
pub struct Endpoint {
    /// The address requests are sent to.
    pub addr: SocketAddr,
    in_flight: AtomicUsize,
    consecutive_failures: AtomicU32,
    /// Milliseconds since [`Clock`]'s origin until which the endpoint is ejected.
    ejected_until: AtomicU64,
    /// Idle keep-alive HTTP/1.1 connections, used by both request paths.
    pub pool: ConnectionPool<Box<UpstreamConnection>>,
}

impl Endpoint {
    /// A fresh endpoint with no history.
    pub fn new(addr: SocketAddr, max_idle: usize) -> Self {
        Self {
            addr,
            in_flight: AtomicUsize::new(0),
            consecutive_failures: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            pool: ConnectionPool::new(max_idle),
        }
    }

    /// Requests currently being served by this endpoint.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether passive health checking currently holds new requests back.
    pub fn is_ejected(&self, now_ms: u64) -> bool {
        self.ejected_until.load(Ordering::Relaxed) > now_ms
    }

    /// Records a successful exchange: the failure streak ends.
    pub fn record_success(&self) {
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    /// Records a failure; the `threshold`-th consecutive one ejects the endpoint for `time`.
    pub fn record_failure(&self, threshold: u32, time: Duration) {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= threshold {
            let until = Clock::now_ms().saturating_add(duration_ms(time));
            self.ejected_until.store(until, Ordering::Relaxed);
            self.consecutive_failures.store(0, Ordering::Relaxed);
            tracing::warn!(endpoint = %self.addr, failures, "endpoint ejected");
        }
    }

    /// Marks one request as in flight until the returned guard drops.
    pub fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }
}

/// Holds one unit of an endpoint's in-flight count.
#[derive(Debug)]
pub struct InFlight(Arc<Endpoint>);

impl InFlight {
    /// The endpoint this request runs on.
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The endpoints of one target group that accept new requests.
#[derive(Debug, Default)]
pub struct TargetPool {
    /// Endpoints that are ready and not terminating, in model order.
    pub endpoints: Vec<Arc<Endpoint>>,
}

impl TargetPool {
    /// Picks an endpoint not in `tried`: the less loaded of two random non-ejected ones; when
    /// every untried endpoint is ejected, any untried one (better a suspect endpoint than a
    /// certain 503). `None` once all were tried.
    pub fn pick(&self, tried: &[usize]) -> Option<usize> {
        let count = self.endpoints.len();
        let now = Clock::now_ms();
        let usable =
            |index: usize| !tried.contains(&index) && !self.endpoints[index].is_ejected(now);
        match count {
            0 => return None,
            1 => return (!tried.contains(&0)).then_some(0),
            _ => {}
        }
        let first = random_below(count);
        let second = (first + 1 + random_below(count - 1)) % count;
        match (usable(first), usable(second)) {
            (true, true) => {
                let load = |index: usize| self.endpoints[index].in_flight();
                return Some(if load(second) < load(first) {
                    second
                } else {
                    first
                });
            }
            (true, false) => return Some(first),
            (false, true) => return Some(second),
            (false, false) => {}
        }
        let start = random_below(count);
        let rotation = (0..count).map(|offset| (start + offset) % count);
        rotation
            .clone()
            .find(|&index| usable(index))
            .or_else(|| rotation.into_iter().find(|index| !tried.contains(index)))
    }
}

/// A monotonic millisecond clock shared by every endpoint.
struct Clock;

impl Clock {
    fn now_ms() -> u64 {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        duration_ms(ORIGIN.get_or_init(Instant::now).elapsed())
    }
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A uniform-enough number in `0..bound` (`bound > 0`) from a per-thread xorshift generator.
pub(crate) fn random_below(bound: usize) -> usize {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        // The modulo bias is negligible for endpoint counts far below 2^64.
        (x % bound as u64) as usize
    })
}

fn seed() -> u64 {
    let local = 0u8;
    let address = std::ptr::from_ref(&local) as u64;
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    (address ^ time.rotate_left(32)) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(count: usize) -> TargetPool {
        TargetPool {
            endpoints: (0..count)
                .map(|port| {
                    Arc::new(Endpoint::new(
                        SocketAddr::from(([127, 0, 0, 1], port as u16 + 1)),
                        4,
                    ))
                })
                .collect(),
        }
    }

    #[test]
    fn two_choices_prefer_the_less_loaded_endpoint() {
        let pool = pool(2);
        let _busy: Vec<_> = (0..5).map(|_| pool.endpoints[0].start_request()).collect();
        for _ in 0..100 {
            assert_eq!(pool.pick(&[]), Some(1));
        }
    }

    #[test]
    fn picks_spread_over_idle_endpoints() {
        let pool = pool(4);
        let mut seen = [0usize; 4];
        for _ in 0..4000 {
            seen[pool.pick(&[]).expect("endpoints exist")] += 1;
        }
        assert!(seen.iter().all(|&hits| hits > 600), "{seen:?}");
    }

    #[test]
    fn tried_endpoints_are_skipped_until_none_is_left() {
        let pool = pool(3);
        assert_eq!(pool.pick(&[0, 2]), Some(1));
        assert_eq!(pool.pick(&[0, 1, 2]), None);
        assert_eq!(TargetPool::default().pick(&[]), None);
    }

    #[test]
    fn ejected_endpoints_get_traffic_only_when_nothing_else_is_left() {
        let pool = pool(2);
        for _ in 0..3 {
            pool.endpoints[0].record_failure(3, Duration::from_secs(60));
        }
        assert!(pool.endpoints[0].is_ejected(Clock::now_ms()));
        for _ in 0..100 {
            assert_eq!(pool.pick(&[]), Some(1));
        }
        assert_eq!(pool.pick(&[1]), Some(0));
    }

    #[test]
    fn a_success_resets_the_failure_streak() {
        let pool = pool(1);
        let endpoint = &pool.endpoints[0];
        endpoint.record_failure(3, Duration::from_secs(60));
        endpoint.record_failure(3, Duration::from_secs(60));
        endpoint.record_success();
        endpoint.record_failure(3, Duration::from_secs(60));
        assert!(!endpoint.is_ejected(Clock::now_ms()));
    }
}
