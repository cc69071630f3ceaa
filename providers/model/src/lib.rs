//! The provider-neutral contract of weir: what a load balancer should look like, and how a
//! provider is asked to make it so.
//!
//! ```text
//! Ingress group ──translate──► DesiredLoadBalancer ──Provider::ensure──► LoadBalancerStatus
//!                     └──────► Vec<Diagnostic> (Events on the offending objects)
//! ```
//!
//! This crate owns the types both providers (AWS ALB and the local proxy) consume and the
//! reference request-matching semantics ([`DesiredLoadBalancer::route_request`]) every provider must
//! reproduce. It must not depend on kube, tokio or any cloud SDK: it is plain data, serializable
//! deterministically (ordered maps and vectors only) so that models can be logged, diffed and
//! snapshot-tested.
#![warn(missing_docs)]

mod action;
mod conditions;
mod diagnostic;
mod load_balancer;
mod matching;
mod object;
mod provider;
mod target;
mod tls;

pub use action::{
    Action, BackendFilters, HeaderModifier, PathRewrite, Redirect, RouteFilters, UrlRewrite,
    WeightedTarget,
};
pub use conditions::{
    CompiledConditions, HeaderCondition, HeaderList, IpCidr, NoHeaders, QueryCondition, QueryPair,
    RequestHeaders, RouteConditions, RouteRequest, StringMatch, anchored_regex, glob_matches,
    query_pairs,
};
pub use diagnostic::{Diagnostic, Reason, Severity};
pub use load_balancer::{
    DesiredLoadBalancer, HostMatch, Listener, PathKind, PathMatch, Protocol, Route, RouteSource,
    VirtualHost,
};
pub use matching::{RouteDecision, normalize_host};
pub use object::{ObjectRef, StackId};
pub use provider::{ErrorKind, LoadBalancerAddress, LoadBalancerStatus, Provider, ProviderError};
pub use target::{EndpointConditions, Target, TargetGroup, TargetGroupKey};
pub use tls::{Certificate, CertificateSource, PrivateKeyPem, TlsMaterial};
