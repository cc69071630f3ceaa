//! weir's AWS provider: turns a [`weir_model::DesiredLoadBalancer`] into an Application Load
//! Balancer.
//!
//! ```text
//! DesiredLoadBalancer ─► render (pure): listeners + prioritised ALB rules ─► quota check
//!                                                    │                        (Diagnostics)
//!                                                    ▼
//!          spec (pure) ─► observe (by tags) ─► plan (pure diff) ─► apply ─► status (DNS name)
//! ```
//!
//! The rendering is pure and exact: the first ALB rule (by priority) that matches a request is
//! the route [`weir_model::DesiredLoadBalancer::route`] picks, using only glob host and path
//! conditions (see [`rules`]). The quota check reports, before any API call, what a stack would
//! break on a real ALB (the emulators used in tests enforce none of them).
//!
//! Everything that talks to AWS goes through [`AwsApi`], one [`Call`] at a time; the SDK lives
//! only in the `sdk` module and its errors are classified only in [`errors`]. The plan is a
//! pure function of the desired [`StackSpec`] and the [`Observed`] state, unit-tested without
//! any SDK. This crate must not depend on kube or on the controller.
#![warn(missing_docs)]

mod api;
mod apply;
mod certs;
mod client;
pub mod errors;
pub mod glob;
mod memory;
mod names;
mod observe;
mod observed;
mod plan;
mod provider;
mod quotas;
mod rule_plan;
pub mod rules;
mod sdk;
mod spec;
mod steps;

pub use api::{
    ActionSpec, AwsApi, Call, CertificateSummary, Conditions, CreateLoadBalancer, HealthCheck,
    ImportCertificate, ListenerInfo, ListenerSettings, LoadBalancerInfo, Op, Reply, RuleInfo,
    TaggedResource, Tags, TargetGroupInfo, TargetId,
};
pub use apply::{Applied, apply};
pub use certs::{pick_certificate, split_chain};
pub use client::{CallCounter, Client, ClientOptions, summarize};
pub use errors::CallError;
pub use memory::{DEFAULT_MEMORY, Memory};
pub use names::{
    Owner, TAG_CLUSTER, TAG_FINGERPRINT, TAG_RESOURCE, TAG_STACK, certificate_resource,
    target_group_resource,
};
pub use observe::{RESOURCE_TYPES, issued_certificates, observe, stacks, tagged};
pub use observed::{Observed, ObservedCertificate, ObservedListener, ObservedTargetGroup};
pub use plan::{TARGET_BATCH, plan};
pub use provider::{AwsProvider, StackOutcome, StackPlan};
pub use quotas::{QuotaLimits, check_quotas};
pub use rule_plan::BAND;
pub use rules::{AlbListener, AlbRule, AlbView, ListenerDefault, RulePurpose, render};
pub use sdk::SdkApi;
pub use spec::{
    ActionRef, CertRef, ImportSpec, ListenerSpec, LoadBalancerSpec, RuleSpec, StackDefaults,
    StackSpec, TargetGroupSpec,
};
pub use steps::{PlannedAction, PlannedListener, Ref, Slot, Step};
