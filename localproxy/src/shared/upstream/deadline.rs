//! A deadline that moves later on every request and almost never fires: moving it touches no
//! timer.
//!
//! A fresh Tokio timer per wait costs a timer-wheel insertion and removal and, whenever it is
//! the earliest timer, a wake-up of the runtime's driver (an `eventfd` write and one more
//! `epoll_wait`). Keep-alive and upstream timeouts are renewed on every request but expire
//! rarely, so one timer per connection stays armed at an earlier deadline: when it fires
//! before the current deadline it is re-armed, which happens at most once per timeout period
//! instead of once per request.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};

/// See the module documentation.
#[derive(Debug)]
pub struct Deadline {
    timer: Pin<Box<Sleep>>,
    at: Instant,
}

impl Deadline {
    /// A deadline at `at`.
    pub fn new(at: Instant) -> Self {
        Self {
            timer: Box::pin(sleep_until(at)),
            at,
        }
    }

    /// Moves the deadline to `at`; the timer is only touched when `at` is earlier than the
    /// time it is armed for.
    pub fn set(&mut self, at: Instant) {
        if at < self.timer.deadline() {
            self.timer.as_mut().reset(at);
        }
        self.at = at;
    }

    /// Runs `future` with the deadline moved to `limit` from now: `None` when it passed first.
    pub async fn limit<F: Future>(&mut self, limit: Duration, future: F) -> Option<F::Output> {
        self.set(Instant::now() + limit);
        tokio::select! {
            biased;
            output = future => Some(output),
            () = self.passed() => None,
        }
    }

    /// Resolves once the current deadline has passed.
    ///
    /// # Cancel safety
    /// Cancel safe: the timer stays armed.
    pub async fn passed(&mut self) {
        loop {
            self.timer.as_mut().await;
            if Instant::now() >= self.at {
                return;
            }
            self.timer.as_mut().reset(self.at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_moved_deadline_fires_at_the_latest_time_it_was_set_to() {
        let start = Instant::now();
        let mut deadline = Deadline::new(start + Duration::from_secs(1));
        deadline.set(start + Duration::from_secs(3));
        deadline.passed().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_re_arms_the_timer() {
        let start = Instant::now();
        let mut deadline = Deadline::new(start + Duration::from_secs(10));
        deadline.set(start + Duration::from_secs(2));
        deadline.passed().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn limit_bounds_a_future_from_now() {
        let mut deadline = Deadline::new(Instant::now());
        let slow = tokio::time::sleep(Duration::from_secs(5));
        assert_eq!(deadline.limit(Duration::from_secs(1), slow).await, None);
        let quick = tokio::time::sleep(Duration::from_millis(500));
        assert_eq!(
            deadline.limit(Duration::from_secs(1), quick).await,
            Some(())
        );
    }
}
