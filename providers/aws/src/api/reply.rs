//! One answer from AWS: [`Reply`], and the described resources it carries.

use weir_model::Protocol;

use crate::api::call::{ActionSpec, Conditions, HealthCheck, Tags, TargetId};

/// A load balancer as described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancerInfo {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its DNS name.
    pub dns_name: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its subnets, sorted.
    pub subnets: Vec<String>,
    /// Its security groups, sorted.
    pub security_groups: Vec<String>,
}

/// A listener as described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerInfo {
    /// Its ARN.
    pub arn: String,
    /// Its port.
    pub port: u16,
    /// HTTP or HTTPS (anything else is reported as HTTP and replaced by the default-action
    /// comparison failing).
    pub protocol: Protocol,
    /// The default action.
    pub default_action: ActionSpec,
    /// The TLS policy (HTTPS listeners).
    pub ssl_policy: Option<String>,
}

/// A listener rule as described (the listener's default rule excluded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// Its ARN.
    pub arn: String,
    /// Its priority.
    pub priority: u32,
    /// Its conditions.
    pub conditions: Conditions,
    /// Its action.
    pub action: ActionSpec,
}

/// A target group as described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroupInfo {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its port.
    pub port: u16,
    /// Its health-check settings.
    pub health: HealthCheck,
}

/// An ACM certificate as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateSummary {
    /// Its ARN.
    pub arn: String,
    /// The primary domain and every subject alternative name (lowercase).
    pub names: Vec<String>,
    /// Expiry as seconds since the epoch, when known.
    pub not_after: Option<i64>,
}

/// A resource found by its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedResource {
    /// Its ARN.
    pub arn: String,
    /// Its tags.
    pub tags: Tags,
}

/// An ACM certificate as described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateDetail {
    /// Its ARN.
    pub arn: String,
    /// Its ACM status, such as `ISSUED`, `EXPIRED` or `PENDING_VALIDATION`.
    pub status: String,
}

impl CertificateDetail {
    /// Whether a listener can serve it (only issued certificates can).
    pub fn is_usable(&self) -> bool {
        self.status == "ISSUED"
    }
}

/// One answer from AWS.
#[derive(Clone, Debug)]
pub enum Reply {
    /// The call returns nothing weir needs.
    Done,
    /// Tagged resources.
    Resources(Vec<TaggedResource>),
    /// Load balancers (a created one alone).
    LoadBalancers(Vec<LoadBalancerInfo>),
    /// Listeners.
    Listeners(Vec<ListenerInfo>),
    /// Listener certificates: (ARN, is default).
    ListenerCertificates(Vec<(String, bool)>),
    /// Rules.
    Rules(Vec<RuleInfo>),
    /// Target groups.
    TargetGroups(Vec<TargetGroupInfo>),
    /// Registered targets.
    Targets(Vec<TargetId>),
    /// Certificates.
    Certificates(Vec<CertificateSummary>),
    /// One certificate's status.
    Certificate(CertificateDetail),
    /// The ARN of a created resource.
    Arn(String),
}
