//! Test support for weir against a real Kubernetes API server.
//!
//! ```text
//! ApiServer::start ─► etcd + kube-apiserver v1.20.2, private to one test, on free loopback ports
//!        │              (binaries: scripts/kube-apiserver.sh builds and caches them)
//!        ├─► admin_client() / kubectl(..) / apply_yaml(..)      as system:masters
//!        └─► service_account_kubeconfig(ns, name)               a TokenRequest token: RBAC decides
//! drop ─► both processes killed, their directory removed (also when the test panics or is killed)
//! ```
//!
//! The tests in `tests/` check what the 1.20 server serves and the least-privilege RBAC in
//! `deploy/base`. This crate depends on kube-rs only; no weir crate depends on it.
#![warn(missing_docs)]

mod apiserver;
mod process;

pub use apiserver::{
    ApiServer, Error, KUBE_VERSION, SERVICE_ACCOUNT_ISSUER, client_from_kubeconfig, kubectl,
};

/// The repository's root directory (for `deploy/` and other checked-in files).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
