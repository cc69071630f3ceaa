//! Idle keep-alive connections to endpoints: what can be pooled, and the per-endpoint pool
//! sharded by thread.

use std::sync::Mutex;

/// A connection that can wait idle in a [`ConnectionPool`].
pub trait Pooled {
    /// Whether the peer closed the connection (or it broke) while it sat idle.
    fn is_closed(&self) -> bool;
}

impl<C: Pooled> Pooled for Box<C> {
    fn is_closed(&self) -> bool {
        C::is_closed(self)
    }
}

/// Idle keep-alive connections to one endpoint, sharded by thread.
///
/// A connection is registered with the runtime of the thread that opened it; taking idle
/// connections from the current thread's shard first keeps a request and its upstream
/// connection on one thread (no cross-thread wake-ups) when the proxy runs one runtime per
/// core.
#[derive(Debug)]
pub struct ConnectionPool<C> {
    shards: Box<[Mutex<Vec<C>>]>,
    max_idle_per_shard: usize,
}

const SHARDS: usize = 16;

impl<C: Pooled> ConnectionPool<C> {
    /// An empty pool keeping at most `max_idle` connections per thread.
    pub fn new(max_idle: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
            max_idle_per_shard: max_idle.max(1),
        }
    }

    /// The most recently pooled open connection of this thread's shard.
    pub fn take(&self) -> Option<C> {
        let mut idle = lock(&self.shards[shard()]);
        while let Some(connection) = idle.pop() {
            if !connection.is_closed() {
                return Some(connection);
            }
        }
        None
    }

    /// Keeps `connection` for reuse unless the shard is full; whether it is still open is
    /// checked when it is taken.
    pub fn put(&self, connection: C) {
        let mut idle = lock(&self.shards[shard()]);
        if idle.len() < self.max_idle_per_shard {
            idle.push(connection);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a Vec of connections inconsistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// This thread's shard index, assigned on first use.
fn shard() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|shard| *shard)
}
