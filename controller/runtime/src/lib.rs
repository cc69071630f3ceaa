//! The controller runtime: kube watchers feed the index, affected stacks go to a per-stack
//! queue, reconciles drive the provider, and the leader writes status, Events and finalizers.

pub mod admin;
pub mod lease;
pub mod metrics;

pub use admin::{Health, serve_admin};
pub use lease::{Elector, LeaseSettings};
pub use metrics::{Metrics, register_provider_calls};
