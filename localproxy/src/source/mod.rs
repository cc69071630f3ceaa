//! Configuration sources: where the models a proxy serves come from, each feeding
//! [`Proxy::apply`](crate::shared::state::Proxy::apply). Beside the request paths: they import
//! `shared` (the proxy handle) only.

pub mod cluster;
pub mod manifests;
