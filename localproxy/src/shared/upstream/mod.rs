//! The upstream floor of the shared layer: endpoints and their balancing, idle connection
//! pools, sending one request with retries, and the bodies on either side.
//!
//! ```text
//! body (ProxyBody) ─► exchange (send, Lease, Attempts) ─► balancer (Endpoint, TargetPool)
//!   ─► lane_connection ─► pool (ConnectionPool) ─► timeout_body (TimeoutBody)
//! ```
//!
//! Each file imports only files drawn after it and, of the rest of the shared layer,
//! `config`, `error` and `metrics`.

pub mod balancer;
pub mod body;
pub mod exchange;
pub mod lane_connection;
pub mod pool;
pub mod timeout_body;
