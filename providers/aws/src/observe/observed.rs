//! What exists in AWS for one stack, as found by [`crate::observe`].

use std::collections::BTreeSet;

use crate::api::{ListenerInfo, LoadBalancerInfo, RuleInfo, TargetGroupInfo, TargetId};

/// Everything of one stack that AWS holds, found by ownership tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The stack's load balancers: normally none or one; more are duplicates to delete. The
    /// one to keep comes first.
    pub load_balancers: Vec<LoadBalancerInfo>,
    /// The listeners of the kept load balancer.
    pub listeners: Vec<ObservedListener>,
    /// The stack's target groups.
    pub target_groups: Vec<ObservedTargetGroup>,
    /// The stack's imported certificates.
    pub certificates: Vec<ObservedCertificate>,
}

/// A listener with its certificates and rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedListener {
    /// The listener.
    pub info: ListenerInfo,
    /// Its certificates: (ARN, is default).
    pub certificates: Vec<(String, bool)>,
    /// Its rules, the default rule excluded.
    pub rules: Vec<RuleInfo>,
}

/// A target group with its registered targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedTargetGroup {
    /// Its `weir.dev/resource` tag.
    pub resource: String,
    /// The target group.
    pub info: TargetGroupInfo,
    /// Registered targets (draining ones excluded).
    pub targets: BTreeSet<TargetId>,
}

/// A certificate weir imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedCertificate {
    /// Its ARN.
    pub arn: String,
    /// Its `weir.dev/resource` tag.
    pub resource: String,
    /// Its `weir.dev/fingerprint` tag.
    pub fingerprint: Option<String>,
}
