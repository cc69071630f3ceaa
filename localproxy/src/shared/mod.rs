//! The shared layer under both request paths: everything the lane and the hyper path use
//! alike, and nothing that knows either of them.
//!
//! ```text
//! forwarding handle: route, forward, answer one request ─► state, snapshot, actions, upstream
//! state      Proxy, Shared, Downstream, record_request  ─► snapshot, metrics, config
//! snapshot   one immutable configuration                ─► actions, router, certs, upstream
//! actions    what a matched route does                  ─► upstream
//! certs      certificates chosen by SNI                 ─► x509, metrics
//! upstream   pools, balancer, exchange, bodies          ─► metrics, error, config
//! metrics    the Prometheus registry                    ─► error
//! router, x509, error (ProxyError, its status and text), config: nothing of this crate
//! ```
//!
//! It imports nothing of this crate outside `shared`.

pub mod actions;
pub mod certs;
pub mod config;
pub mod error;
pub mod forwarding;
pub mod metrics;
pub mod router;
pub mod snapshot;
pub mod state;
pub mod upstream;
pub mod x509;
