//! weir's localproxy provider: publishes each class stack (with the Gateways of the GatewayClass
//! of the same name merged in) as a versioned wire snapshot into objects in the controller's
//! namespace (Secrets: they hold TLS keys), and reads it back on the proxy's side.
//!
//! ```text
//! controller: DesiredLoadBalancer ─► wire::split ─► routes chunks + endpoint buckets
//!   ─► SnapshotStore::put (changed parts only) ─► put index (generation, SHA-256 per part)
//! weir-proxy: watch the index by name ─► Reader::read (get changed parts, check hashes)
//!   ─► wire::join ─► DesiredLoadBalancer ─► hot swap
//! ```
//!
//! The parts have fixed names ([`layout::Layout::all_names`]) so that the proxy's Role can
//! list them in `resourceNames` and read nothing else. The switch between versions is the
//! index write: a reader assembles only parts whose hashes the index names, so it never serves
//! half of a version. This crate depends on the model and kube-rs, never on the controller.
#![warn(missing_docs)]

pub mod cluster;
mod fleet;
pub mod layout;
pub mod merge;
pub mod provider;
pub mod published;
pub mod reader;
pub mod store;
pub mod wire;

pub use cluster::{IndexEvent, KubeStore, watch_index};
pub use fleet::MEMBERS_ANNOTATION;
pub use layout::Layout;
pub use provider::LocalProxyProvider;
pub use reader::{ReadError, ReadSnapshot, Reader};
pub use store::{MemoryStore, SnapshotStore, StoreError, StoredObject};

#[cfg(test)]
mod tests;
