//! weir's AWS provider: turns a [`weir_model::DesiredLoadBalancer`] into an Application Load
//! Balancer.
//!
//! ```text
//! DesiredLoadBalancer ─► render (pure): listeners + prioritised ALB rules ─► quota check
//!                                                    │                        (Diagnostics)
//!                                                    ▼
//!                              observe ─► plan (diff) ─► apply (ELBv2 / ACM calls)
//! ```
//!
//! The rendering is pure and exact: the first ALB rule (by priority) that matches a request is
//! the route [`weir_model::DesiredLoadBalancer::route`] picks, using only glob host and path
//! conditions (see [`rules`]). The quota check reports, before any API call, what a stack would
//! break on a real ALB (the emulators used in tests enforce none of them).
#![warn(missing_docs)]

pub mod glob;
mod quotas;
pub mod rules;

pub use quotas::{QuotaLimits, check_quotas};
pub use rules::{AlbListener, AlbRule, AlbView, ListenerDefault, RulePurpose, render};
