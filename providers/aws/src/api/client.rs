//! Every call the provider makes passes through [`Client::send`]: counted per operation,
//! rate-limited, retried with jittered exponential backoff when AWS throttles or fails
//! transiently, and (for tests) cut off after a budget of calls, as if the process died.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::time::Instant;
use weir_model::ErrorKind;

use crate::api::aws_api::AwsApi;
use crate::api::call::Call;
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::Reply;

/// How [`Client`] paces and retries calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Least time between two calls (client-side rate limit); zero for none.
    pub min_interval: Duration,
    /// Retries of a throttled or transiently failed call.
    pub max_retries: usize,
    /// First backoff delay (doubles each retry, with jitter).
    pub min_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_millis(50),
            max_retries: 5,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl ClientOptions {
    /// The default options paced to at most `calls` calls per second (0, negative or not a
    /// number: no client-side limit). AWS throttles each account and Region with token
    /// buckets per action (ELBv2 `Describe*`: 40 at once, refilled at 10 per second), and
    /// throttled calls are retried with backoff, so a limit set too high costs retries, not
    /// failures.
    pub fn with_calls_per_second(calls: f64) -> Self {
        let min_interval = if calls.is_finite() && calls > 0.0 {
            Duration::from_secs_f64(1.0 / calls)
        } else {
            Duration::ZERO
        };
        Self {
            min_interval,
            ..Self::default()
        }
    }
}

/// Calls made, by operation (attempts, so retries count): ready to export as a metric.
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<Op, u64>>,
}

impl CallCounter {
    fn record(&self, op: Op) {
        // A poisoned lock only means another thread panicked mid-increment; counts stay usable.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(op).or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<Op, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Counts of one run: total, mutating, and by operation.
pub fn summarize(counts: &BTreeMap<Op, u64>) -> (u64, u64) {
    let total = counts.values().sum();
    let mutating = counts
        .iter()
        .filter(|(op, _)| op.is_mutating())
        .map(|(_, count)| count)
        .sum();
    (total, mutating)
}

/// The instrumented client every AWS call goes through.
#[derive(Debug)]
pub struct Client<A> {
    api: A,
    options: ClientOptions,
    counter: Arc<CallCounter>,
    next_slot: tokio::sync::Mutex<Instant>,
    budget: Option<Arc<AtomicU64>>,
}

impl<A: AwsApi> Client<A> {
    /// Wraps `api`.
    pub fn new(api: A, options: ClientOptions) -> Self {
        Self {
            api,
            options,
            counter: Arc::new(CallCounter::default()),
            next_slot: tokio::sync::Mutex::new(Instant::now()),
            budget: None,
        }
    }

    /// Fails every call after `calls` more calls, as if the process had been killed there
    /// (tests of cancel safety).
    pub fn with_budget(mut self, calls: Arc<AtomicU64>) -> Self {
        self.budget = Some(calls);
        self
    }

    /// The shared call counter.
    pub fn counter(&self) -> Arc<CallCounter> {
        Arc::clone(&self.counter)
    }

    /// Sends `call`, retrying throttled and transient failures with jittered backoff.
    ///
    /// # Errors
    /// The classified failure of the last attempt.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the call; nothing is left half-recorded.
    pub async fn send(&self, call: Call) -> Result<Reply, CallError> {
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.options.min_backoff)
            .with_max_delay(self.options.max_backoff)
            .with_max_times(self.options.max_retries);
        (|| self.attempt(call.clone()))
            .retry(backoff)
            .when(CallError::is_retryable)
            .await
    }

    async fn attempt(&self, call: Call) -> Result<Reply, CallError> {
        let op = call.op();
        if let Some(budget) = &self.budget {
            let left = budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            });
            if left.is_err() {
                return Err(CallError::new(
                    op,
                    ErrorKind::Permanent,
                    Some("CallBudgetExhausted"),
                    "the test's call budget is spent",
                ));
            }
        }
        self.pace().await;
        self.counter.record(op);
        self.api.send(call).await
    }

    async fn pace(&self) {
        if self.options.min_interval.is_zero() {
            return;
        }
        let wait_until = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.options.min_interval;
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }
}
