//! The controller runtime: kube watchers feed the index, affected stacks go to a per-stack
//! queue, reconciles drive the provider, and the leader writes status, Events and finalizers.
//!
//! ```text
//! kube watchers (5 kinds, + 3 Gateway API) ─► weir_index::Index ─► WorkQueue ─► workers ─► Reconciler
//!                                                                                              │
//!   Ingress / Gateway / HTTPRoute finalizer, status, Events ◄── leader only ◄─ Provider::ensure / delete
//! ```
//!
//! This crate owns everything that talks to the Kubernetes API; translation and the index stay
//! pure, and providers know nothing of Kubernetes. [`run`] is the whole controller.

pub mod admin;
mod class_status;
mod controller;
mod events;
mod finalizers;
mod gateway_status;
mod gateway_writes;
mod ingress_writes;
pub mod lease;
mod locking;
pub mod metrics;
mod queue;
mod reconcile;
pub mod status_source;
mod watch;

pub use admin::{Health, serve_admin};
pub use controller::{RunError, RunSettings, run};
pub use lease::{Elector, LeaseSettings};
pub use metrics::{Metrics, register_provider_calls};
pub use queue::WorkQueue;
pub use status_source::{SourcedStatus, StatusSender, StatusSource};
pub use watch::{SliceVersion, gateway_api_served, reference_grant_version, slice_version};
