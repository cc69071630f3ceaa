//! weir's AWS provider: turns a [`weir_model::DesiredLoadBalancer`] into an Application Load
//! Balancer.
//!
//! ```text
//! DesiredLoadBalancer
//!   ─► render   (pure)  listeners + prioritised ALB rules; fit to the ALB quotas, leaving out
//!                       the members that do not fit (Diagnostics)
//!   ─► desired  (pure)  StackSpec: names, tags, settings, certificates resolved
//!   ─► observe          the stack's resources, found by tags, described
//!   ─► plan     (pure)  ordered Steps: each one `Call`, naming what earlier steps create
//!   ─► apply            the calls in order; status (DNS name)
//!        all over api:  Call / Reply, AwsApi, Client (rate limit, retries, counts), errors, sdk
//! ```
//!
//! The rendering is pure and exact: the first ALB rule (by priority) that matches a request is
//! the route [`weir_model::DesiredLoadBalancer::route`] picks, using only glob host and path
//! conditions (see [`render::rules`]). [`fit`] reports, before any API call, what a stack
//! would break on a real ALB (the emulators used in tests enforce none of it) and is the one
//! render-and-check path of both the provider and `weir-controller plan`.
//!
//! Everything that talks to AWS goes through [`AwsApi`], one [`Call`] at a time; the SDK lives
//! only in [`api::sdk`] and its errors are classified only in [`api::errors`]. The plan is a
//! pure function of the desired [`StackSpec`] and the [`Observed`] state, unit-tested without
//! any SDK. This crate must not depend on kube or on the controller. The one call outside that
//! path is [`discovery`]'s start-up `DescribeSubnets`, for controllers not told their subnets.
#![warn(missing_docs)]

pub mod api;
pub mod apply;
pub mod desired;
pub mod discovery;
pub mod observe;
pub mod plan;
mod provider;
pub mod render;

pub use api::errors;
pub use api::{
    ActionSpec, AwsApi, Call, CallCounter, CallError, CertificateDetail, CertificateSummary,
    Client, ClientOptions, Conditions, CreateLoadBalancer, FixedSpec, HealthCheck, ListenerInfo,
    ListenerSettings, LoadBalancerInfo, MatchConditions, Op, RedirectSpec, Reply, RuleInfo, SdkApi,
    TaggedResource, Tags, TargetGroupInfo, TargetId, split_chain, summarize,
};
pub use apply::{Applied, DEFAULT_MEMORY, KnownTargets, Memory, apply};
pub use desired::certs::pick_certificate;
pub use desired::names::{
    Owner, TAG_CLUSTER, TAG_FINGERPRINT, TAG_RESOURCE, TAG_STACK, certificate_resource,
    target_group_resource,
};
pub use desired::{
    ActionRef, CertRef, CertificateChecks, DiscoveredSubnets, ImportSpec, ListenerSpec,
    LoadBalancerSpec, RuleSpec, StackDefaults, StackSpec, TargetGroupSpec,
};
pub use discovery::{DiscoveryError, discover_subnets};
pub use observe::observed::{Observed, ObservedCertificate, ObservedListener, ObservedTargetGroup};
pub use observe::{
    ClusterView, RESOURCE_TYPES, issued_certificates, observe, observe_with, stacks, tagged,
};
pub use plan::rules::BAND;
pub use plan::step::{Ref, Slot, Step};
pub use plan::{TARGET_BATCH, plan};
pub use provider::{AwsProvider, StackOutcome, StackPlan};
pub use render::fit::check_quotas;
pub use render::glob;
pub use render::{
    AlbListener, AlbRule, AlbView, Fitted, ListenerDefault, QuotaLimits, RulePurpose, fit, render,
    unsupported, unsupported_action,
};
