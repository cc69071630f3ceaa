//! The upstream floor of the shared layer, under both request paths: endpoints and their
//! balancing, idle connection pools, the HTTP/1.1 connection both paths send requests on, the
//! response-head reader they share, the hyper path's request writer and streamed body, and the
//! bodies on either side.
//!
//! ```text
//! body (ProxyBody) ─► forward (send) ─► relayed_body (UpstreamBody) ─► response_head
//!   ─► exchange (Attempts, Checkout, charge) ─► balancer (Endpoint, TargetPool)
//!   ─► connection (UpstreamConnection) ─► pool (ConnectionPool) ─► timeout_body, deadline
//! ```
//!
//! Each file imports only files drawn after it and, of the rest of the shared layer,
//! `config`, `error` and `metrics`.

pub mod balancer;
pub mod body;
pub mod connection;
pub mod deadline;
pub mod exchange;
pub mod forward;
pub mod pool;
pub mod relayed_body;
pub mod response_head;
pub mod timeout_body;
