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
//! manifest loader, and (for cluster mode, `source::cluster`) on the localproxy provider's wire
//! snapshot reader and kube-rs; never on the controller or any cloud SDK. Configuration is swapped,
//! never mutated: a [`Snapshot`](shared::snapshot::Snapshot) is immutable and a request keeps
//! the endpoint pool of the snapshot it was routed on.
//!
//! The modules stand in floors: each imports only from floors below it, and the rooms of one
//! floor do not import each other.
//!
//! ```text
//! 4  main
//! 3  server      listeners: accept, TLS handshake, then the lane, h2 or hyper
//! 2  lane        the HTTP/1.1 lane          · h2          weir's HTTP/2: codec (frames, HPACK)
//!    tls         termination (rustls)         and the connection driver
//!    source      manifests, cluster         · hyper_path  hyper's server (handed-off HTTP/1.1),
//!    admin       /healthz, /readyz, ...       the framing guard
//! 1  shared      state, snapshot (router, actions, certs), metrics, error mapping, upstream
//!                (pool, balancer, exchange, bodies)
//! 0  wire        header, host and path rules, chunked framing · demo  the echo backend
//! ```
#![warn(missing_docs)]

pub mod admin;
pub mod demo;
pub mod h2;
pub mod hyper_path;
pub mod lane;
pub mod server;
pub mod shared;
pub mod source;
pub mod tls;
pub mod wire;

pub use shared::config::ProxyConfig;
pub use shared::state::Proxy;
