//! weir's data plane: `weir-proxy` serves one [`weir_model::DesiredLoadBalancer`] over
//! HTTP/1.1, HTTP/2 and TLS, and swaps in new ones without failing a request.
//!
//! ```text
//! accept ─► TLS (SNI -> cert from snapshot) ─► HTTP/1.1 | h2 ─► path checks ─► router
//!   (host -> path index) ─► target pool (P2C least in flight, passive ejection)
//!   ─► pooled keep-alive HTTP/1.1 upstream ─► response
//!
//! manifests dir ─(poll)─► load + translate ─► DesiredLoadBalancer ─► Snapshot ─► ArcSwap
//! snapshot Secrets ─(watch)─► weir-provider-localproxy Reader ─► DesiredLoadBalancer ─┘
//! ```
//!
//! This crate owns request handling, the precomputed router (tested equal to the model's
//! reference `route()`), upstream pooling and balancing, TLS termination, limits, metrics and
//! the admin endpoints. It depends on the model and (for file mode) on translate and the
//! manifest loader, and (for cluster mode, `cluster_source`) on the localproxy provider's wire
//! snapshot reader and kube-rs; never on the controller or any cloud SDK. Configuration is swapped,
//! never mutated: a [`snapshot::Snapshot`] is immutable and a request keeps the endpoint pool
//! of the snapshot it was routed on.
#![warn(missing_docs)]

pub mod actions;
pub mod admin;
pub mod balancer;
pub mod body;
pub mod chunked;
pub mod cluster_source;
pub mod config;
pub mod demo;
pub mod error;
pub mod guard;
pub mod headers;
pub mod lane;
pub mod metrics;
pub mod path;
pub mod proxy;
pub mod router;
pub mod server;
pub mod snapshot;
pub mod source;
pub mod tls;
pub mod upstream;
pub mod x509;

pub use config::ProxyConfig;
pub use proxy::Proxy;
