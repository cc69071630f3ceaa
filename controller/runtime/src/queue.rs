//! The per-stack work queue. A stack is queued at most once; at most one reconcile of a stack
//! runs at a time; a stack that changes while it is being reconciled runs again right after;
//! a stack can be requeued after a delay (provider back-off, the drift-repair period).
//!
//! ```text
//! add(stack) ──► ready ──next()──► running ──done(stack, requeue)──► (delayed) ──due──► ready
//!                  ▲                  │ add() while running
//!                  └──── dirty ◄──────┘
//! ```

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use weir_model::StackId;

/// Stacks waiting to be reconciled.
#[derive(Debug, Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    wake: Notify,
}

#[derive(Debug, Default)]
struct State {
    ready: VecDeque<StackId>,
    queued: HashSet<StackId>,
    running: HashSet<StackId>,
    /// Added while running: runs again as soon as the running reconcile is done.
    dirty: HashSet<StackId>,
    /// Not before the given instant.
    delayed: BTreeMap<StackId, Instant>,
    closed: bool,
}

impl WorkQueue {
    /// An empty, open queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `stack` to run as soon as a worker is free (and its running reconcile, if any, is
    /// done). A pending delayed run of the same stack is brought forward.
    pub fn add(&self, stack: StackId) {
        let mut state = self.lock();
        state.delayed.remove(&stack);
        state.make_ready(stack);
        drop(state);
        self.wake.notify_one();
    }

    /// Queues `stack` to run after `delay`, unless it is already due earlier.
    pub fn add_after(&self, stack: StackId, delay: Duration) {
        let due = Instant::now() + delay;
        let mut state = self.lock();
        if state.queued.contains(&stack) || state.dirty.contains(&stack) {
            return;
        }
        let entry = state.delayed.entry(stack).or_insert(due);
        *entry = (*entry).min(due);
        drop(state);
        // A sleeping worker may be waiting for a later instant.
        self.wake.notify_one();
    }

    /// The next stack to reconcile, marked running; `None` once the queue is closed.
    ///
    /// # Cancel safety
    /// Cancel-safe: a stack is taken only when this returns it.
    pub async fn next(&self) -> Option<StackId> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait_until = {
                let mut state = self.lock();
                if state.closed {
                    return None;
                }
                state.promote_due(Instant::now());
                if let Some(stack) = state.ready.pop_front() {
                    state.queued.remove(&stack);
                    state.running.insert(stack.clone());
                    // Another item may be ready for another worker.
                    if !state.ready.is_empty() {
                        self.wake.notify_one();
                    }
                    return Some(stack);
                }
                state.delayed.values().min().copied()
            };
            match wait_until {
                Some(due) => {
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(due) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Marks the reconcile of `stack` finished: it runs again at once if it changed meanwhile,
    /// else after `requeue` (or not until it changes).
    pub fn done(&self, stack: &StackId, requeue: Option<Duration>) {
        let mut state = self.lock();
        state.running.remove(stack);
        if state.dirty.remove(stack) {
            state.make_ready(stack.clone());
            drop(state);
            self.wake.notify_one();
            return;
        }
        drop(state);
        if let Some(delay) = requeue {
            self.add_after(stack.clone(), delay);
        }
    }

    /// Forgets which stacks are running (their reconciles were cancelled, e.g. on losing the
    /// Lease) and drops everything queued: a new leader term starts with a full pass.
    pub fn clear(&self) {
        let mut state = self.lock();
        let closed = state.closed;
        *state = State {
            closed,
            ..State::default()
        };
    }

    /// Wakes every worker with `None` from [`WorkQueue::next`].
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    /// Stacks waiting to run now (not counting delayed ones).
    pub fn depth(&self) -> usize {
        self.lock().ready.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves consistent sets (every method updates them
        // before anything that can panic), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn make_ready(&mut self, stack: StackId) {
        if self.running.contains(&stack) {
            self.dirty.insert(stack);
        } else if self.queued.insert(stack.clone()) {
            self.ready.push_back(stack);
        }
    }

    fn promote_due(&mut self, now: Instant) {
        let due: Vec<StackId> = self
            .delayed
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(stack, _)| stack.clone())
            .collect();
        for stack in due {
            self.delayed.remove(&stack);
            self.make_ready(stack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(name: &str) -> StackId {
        StackId::Group(name.into())
    }

    async fn next(queue: &WorkQueue) -> StackId {
        tokio::time::timeout(Duration::from_secs(3600), queue.next())
            .await
            .expect("a stack within the hour")
            .expect("queue open")
    }

    #[tokio::test(start_paused = true)]
    async fn a_stack_is_queued_once_and_runs_once_at_a_time() {
        let queue = WorkQueue::new();
        queue.add(stack("a"));
        queue.add(stack("a"));
        queue.add(stack("b"));
        assert_eq!(queue.depth(), 2);
        assert_eq!(next(&queue).await, stack("a"));
        // a changes while it runs: it is not handed to a second worker...
        queue.add(stack("a"));
        assert_eq!(next(&queue).await, stack("b"));
        assert!(
            tokio::time::timeout(Duration::from_secs(60), queue.next())
                .await
                .is_err()
        );
        // ...but runs again as soon as the first run is done.
        queue.done(&stack("a"), None);
        assert_eq!(next(&queue).await, stack("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn requeues_wait_their_delay_and_an_add_brings_them_forward() {
        let queue = WorkQueue::new();
        queue.add(stack("a"));
        assert_eq!(next(&queue).await, stack("a"));
        let start = Instant::now();
        queue.done(&stack("a"), Some(Duration::from_secs(30)));
        assert_eq!(next(&queue).await, stack("a"));
        assert_eq!(start.elapsed(), Duration::from_secs(30));

        queue.done(&stack("a"), Some(Duration::from_secs(300)));
        let start = Instant::now();
        let waiter = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            queue.add(stack("a"));
        };
        let (taken, ()) = tokio::join!(next(&queue), waiter);
        assert_eq!(taken, stack("a"));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn the_earliest_requeue_wins() {
        let queue = WorkQueue::new();
        queue.add_after(stack("a"), Duration::from_secs(100));
        queue.add_after(stack("a"), Duration::from_secs(10));
        queue.add_after(stack("a"), Duration::from_secs(50));
        let start = Instant::now();
        assert_eq!(next(&queue).await, stack("a"));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn closing_wakes_every_worker_and_clear_forgets_running_stacks() {
        let queue = std::sync::Arc::new(WorkQueue::new());
        queue.add(stack("a"));
        assert_eq!(next(&queue).await, stack("a"));
        queue.clear();
        // Cancelled while running, a is free to run again in the next term.
        queue.add(stack("a"));
        assert_eq!(next(&queue).await, stack("a"));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.next().await })
            })
            .collect();
        tokio::task::yield_now().await;
        queue.close();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), None);
        }
    }
}
