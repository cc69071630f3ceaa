//! The one narrow API layer under every stage: a [`Call`] per request, a [`Reply`] per answer,
//! the [`AwsApi`] trait that sends them, the instrumented [`Client`] every call goes through,
//! the one place SDK errors are classified ([`errors`]) and the SDK adapter ([`SdkApi`]).
//!
//! ```text
//! op ◄── errors ◄── call, reply ◄── AwsApi ◄── client ◄── stages
//!                                      ▲
//!                                     sdk (the only module that sees SDK types)
//! ```

pub mod aws_api;
pub mod call;
pub mod client;
pub mod errors;
pub mod op;
pub mod reply;
pub mod rule_parts;
pub mod sdk;

pub use aws_api::AwsApi;
pub use call::{
    ActionSpec, Call, Conditions, CreateLoadBalancer, HealthCheck, ListenerSettings, Tags, TargetId,
};
pub use client::{CallCounter, Client, ClientOptions, summarize};
pub use errors::CallError;
pub use op::Op;
pub use reply::{
    CertificateDetail, CertificateSummary, ListenerInfo, LoadBalancerInfo, Reply, RuleInfo,
    TaggedResource, TargetGroupInfo,
};
pub use rule_parts::{FixedSpec, MatchConditions, RedirectSpec};
pub use sdk::{SdkApi, split_chain};
