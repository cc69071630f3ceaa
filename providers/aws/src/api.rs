//! The narrow AWS API weir uses: one [`Call`] per request, one [`Reply`] per answer, and the
//! [`AwsApi`] trait that sends them. The SDK adapter ([`crate::SdkApi`]) implements it; the
//! rest of the provider never sees an SDK type.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;

use serde::Serialize;
use weir_model::{PrivateKeyPem, Protocol};

use crate::errors::CallError;

/// Every AWS operation the provider calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Op {
    /// `tag:GetResources` (resource discovery by ownership tags).
    GetResources,
    /// `elasticloadbalancing:DescribeLoadBalancers`.
    DescribeLoadBalancers,
    /// `elasticloadbalancing:CreateLoadBalancer`.
    CreateLoadBalancer,
    /// `elasticloadbalancing:DeleteLoadBalancer`.
    DeleteLoadBalancer,
    /// `elasticloadbalancing:SetSubnets`.
    SetSubnets,
    /// `elasticloadbalancing:SetSecurityGroups`.
    SetSecurityGroups,
    /// `elasticloadbalancing:DescribeListeners`.
    DescribeListeners,
    /// `elasticloadbalancing:CreateListener`.
    CreateListener,
    /// `elasticloadbalancing:ModifyListener`.
    ModifyListener,
    /// `elasticloadbalancing:DeleteListener`.
    DeleteListener,
    /// `elasticloadbalancing:DescribeListenerCertificates`.
    DescribeListenerCertificates,
    /// `elasticloadbalancing:AddListenerCertificates`.
    AddListenerCertificates,
    /// `elasticloadbalancing:RemoveListenerCertificates`.
    RemoveListenerCertificates,
    /// `elasticloadbalancing:DescribeRules`.
    DescribeRules,
    /// `elasticloadbalancing:CreateRule`.
    CreateRule,
    /// `elasticloadbalancing:ModifyRule`.
    ModifyRule,
    /// `elasticloadbalancing:DeleteRule`.
    DeleteRule,
    /// `elasticloadbalancing:SetRulePriorities`.
    SetRulePriorities,
    /// `elasticloadbalancing:DescribeTargetGroups`.
    DescribeTargetGroups,
    /// `elasticloadbalancing:CreateTargetGroup`.
    CreateTargetGroup,
    /// `elasticloadbalancing:ModifyTargetGroup` (health-check settings).
    ModifyTargetGroup,
    /// `elasticloadbalancing:DeleteTargetGroup`.
    DeleteTargetGroup,
    /// `elasticloadbalancing:DescribeTargetHealth`.
    DescribeTargetHealth,
    /// `elasticloadbalancing:RegisterTargets`.
    RegisterTargets,
    /// `elasticloadbalancing:DeregisterTargets`.
    DeregisterTargets,
    /// `acm:ListCertificates` (discovery by host).
    ListCertificates,
    /// `acm:ImportCertificate` (Secrets imported into ACM).
    ImportCertificate,
    /// `acm:AddTagsToCertificate` (the fingerprint tag after a re-import).
    AddTagsToCertificate,
    /// `acm:DeleteCertificate` (imports no longer used).
    DeleteCertificate,
}

impl Op {
    /// Every operation, in declaration order.
    pub const ALL: [Op; 29] = [
        Op::GetResources,
        Op::DescribeLoadBalancers,
        Op::CreateLoadBalancer,
        Op::DeleteLoadBalancer,
        Op::SetSubnets,
        Op::SetSecurityGroups,
        Op::DescribeListeners,
        Op::CreateListener,
        Op::ModifyListener,
        Op::DeleteListener,
        Op::DescribeListenerCertificates,
        Op::AddListenerCertificates,
        Op::RemoveListenerCertificates,
        Op::DescribeRules,
        Op::CreateRule,
        Op::ModifyRule,
        Op::DeleteRule,
        Op::SetRulePriorities,
        Op::DescribeTargetGroups,
        Op::CreateTargetGroup,
        Op::ModifyTargetGroup,
        Op::DeleteTargetGroup,
        Op::DescribeTargetHealth,
        Op::RegisterTargets,
        Op::DeregisterTargets,
        Op::ListCertificates,
        Op::ImportCertificate,
        Op::AddTagsToCertificate,
        Op::DeleteCertificate,
    ];

    /// The API's name for the operation, such as `CreateRule`.
    pub fn name(self) -> &'static str {
        match self {
            Op::GetResources => "GetResources",
            Op::DescribeLoadBalancers => "DescribeLoadBalancers",
            Op::CreateLoadBalancer => "CreateLoadBalancer",
            Op::DeleteLoadBalancer => "DeleteLoadBalancer",
            Op::SetSubnets => "SetSubnets",
            Op::SetSecurityGroups => "SetSecurityGroups",
            Op::DescribeListeners => "DescribeListeners",
            Op::CreateListener => "CreateListener",
            Op::ModifyListener => "ModifyListener",
            Op::DeleteListener => "DeleteListener",
            Op::DescribeListenerCertificates => "DescribeListenerCertificates",
            Op::AddListenerCertificates => "AddListenerCertificates",
            Op::RemoveListenerCertificates => "RemoveListenerCertificates",
            Op::DescribeRules => "DescribeRules",
            Op::CreateRule => "CreateRule",
            Op::ModifyRule => "ModifyRule",
            Op::DeleteRule => "DeleteRule",
            Op::SetRulePriorities => "SetRulePriorities",
            Op::DescribeTargetGroups => "DescribeTargetGroups",
            Op::CreateTargetGroup => "CreateTargetGroup",
            Op::ModifyTargetGroup => "ModifyTargetGroup",
            Op::DeleteTargetGroup => "DeleteTargetGroup",
            Op::DescribeTargetHealth => "DescribeTargetHealth",
            Op::RegisterTargets => "RegisterTargets",
            Op::DeregisterTargets => "DeregisterTargets",
            Op::ListCertificates => "ListCertificates",
            Op::ImportCertificate => "ImportCertificate",
            Op::AddTagsToCertificate => "AddTagsToCertificate",
            Op::DeleteCertificate => "DeleteCertificate",
        }
    }

    /// Whether the operation changes anything (everything but reads).
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Op::GetResources
                | Op::DescribeLoadBalancers
                | Op::DescribeListeners
                | Op::DescribeListenerCertificates
                | Op::DescribeRules
                | Op::DescribeTargetGroups
                | Op::DescribeTargetHealth
                | Op::ListCertificates
        )
    }

    /// The IAM actions the operation needs. Creating with tags needs the tagging action too.
    pub fn iam_actions(self) -> Vec<String> {
        let service = match self {
            Op::GetResources => "tag",
            Op::ListCertificates
            | Op::ImportCertificate
            | Op::AddTagsToCertificate
            | Op::DeleteCertificate => "acm",
            _ => "elasticloadbalancing",
        };
        let mut actions = vec![format!("{service}:{}", self.name())];
        match self {
            Op::CreateLoadBalancer
            | Op::CreateTargetGroup
            | Op::CreateListener
            | Op::CreateRule => {
                actions.push("elasticloadbalancing:AddTags".to_owned());
            }
            Op::ImportCertificate => actions.push("acm:AddTagsToCertificate".to_owned()),
            _ => {}
        }
        actions
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Resource tags, by key.
pub type Tags = BTreeMap<String, String>;

/// A listener or rule action as weir uses them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSpec {
    /// Forward to one target group (by ARN).
    Forward(String),
    /// Answer with this status code and an empty `text/plain` body.
    Fixed(u16),
    /// Redirect to HTTPS on this port with a 301.
    RedirectHttps(u16),
    /// Something weir does not write (found on an observed resource); always replaced.
    Other(String),
}

impl fmt::Display for ActionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forward(arn) => write!(f, "forward {arn}"),
            Self::Fixed(status) => write!(f, "fixed-response {status}"),
            Self::RedirectHttps(port) => write!(f, "redirect HTTPS:{port}"),
            Self::Other(what) => write!(f, "other {what}"),
        }
    }
}

/// The conditions of a listener rule: an optional host-header glob and path-pattern globs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Conditions {
    /// The host-header value.
    pub host: Option<String>,
    /// The path-pattern values, sorted.
    pub paths: Vec<String>,
}

impl fmt::Display for Conditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "host={} path={}",
            self.host.as_deref().unwrap_or("*"),
            if self.paths.is_empty() {
                "*".to_owned()
            } else {
                self.paths.join(",")
            }
        )
    }
}

/// One target of a target group of type `ip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TargetId {
    /// The pod IP.
    pub ip: IpAddr,
    /// The port.
    pub port: u16,
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

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

/// Health-check settings of a target group. `None` leaves (and, when desired, does not compare)
/// what AWS chose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// The path probed.
    pub path: Option<String>,
    /// Seconds between probes.
    pub interval_seconds: Option<u16>,
    /// Seconds before a probe fails.
    pub timeout_seconds: Option<u16>,
    /// Successes before a target is healthy.
    pub healthy_threshold: Option<u16>,
    /// Failures before a target is unhealthy.
    pub unhealthy_threshold: Option<u16>,
    /// HTTP codes that count as success, such as `200` or `200-399`.
    pub success_codes: Option<String>,
}

impl HealthCheck {
    /// Whether `observed` already has every setting this one asks for.
    pub fn is_satisfied_by(&self, observed: &HealthCheck) -> bool {
        fn same<T: PartialEq>(wanted: &Option<T>, found: &Option<T>) -> bool {
            wanted.is_none() || wanted == found
        }
        same(&self.path, &observed.path)
            && same(&self.interval_seconds, &observed.interval_seconds)
            && same(&self.timeout_seconds, &observed.timeout_seconds)
            && same(&self.healthy_threshold, &observed.healthy_threshold)
            && same(&self.unhealthy_threshold, &observed.unhealthy_threshold)
            && same(&self.success_codes, &observed.success_codes)
    }
}

impl fmt::Display for HealthCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(path) = &self.path {
            parts.push(format!("path={path}"));
        }
        if let Some(seconds) = self.interval_seconds {
            parts.push(format!("interval={seconds}s"));
        }
        if let Some(seconds) = self.timeout_seconds {
            parts.push(format!("timeout={seconds}s"));
        }
        if let Some(count) = self.healthy_threshold {
            parts.push(format!("healthy={count}"));
        }
        if let Some(count) = self.unhealthy_threshold {
            parts.push(format!("unhealthy={count}"));
        }
        if let Some(codes) = &self.success_codes {
            parts.push(format!("codes={codes}"));
        }
        write!(f, "health-check[{}]", parts.join(" "))
    }
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

/// Input of `CreateLoadBalancer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreateLoadBalancer {
    /// The deterministic name.
    pub name: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// Subnet IDs.
    pub subnets: Vec<String>,
    /// Security group IDs (empty: the VPC default).
    pub security_groups: Vec<String>,
    /// Ownership tags.
    pub tags: Tags,
}

/// Input of `CreateListener` and `ModifyListener`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListenerSettings {
    /// The port.
    pub port: u16,
    /// HTTP or HTTPS.
    pub protocol: Protocol,
    /// The default action.
    pub default_action: ActionSpec,
    /// The TLS policy (HTTPS only).
    pub ssl_policy: Option<String>,
    /// The default certificate (HTTPS only).
    pub default_certificate: Option<String>,
}

/// Input of `ImportCertificate`. The key never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportCertificate {
    /// Re-import into this certificate instead of creating one.
    pub arn: Option<String>,
    /// The leaf certificate, PEM.
    pub certificate: String,
    /// The rest of the chain, PEM (may be empty).
    pub chain: String,
    /// The private key.
    pub key: PrivateKeyPem,
    /// Tags (only on a first import: ACM refuses tags on a re-import).
    pub tags: Tags,
}

impl fmt::Debug for ImportCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportCertificate")
            .field("arn", &self.arn)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

/// One request to AWS.
#[derive(Clone, Debug)]
pub enum Call {
    /// Resources carrying every one of these tags, of these resource types.
    GetResources {
        /// Tag filters (key, value).
        tags: Tags,
        /// Resource type filters such as `elasticloadbalancing:loadbalancer`.
        types: Vec<String>,
    },
    /// Describe these load balancers.
    DescribeLoadBalancers(Vec<String>),
    /// Create a load balancer.
    CreateLoadBalancer(CreateLoadBalancer),
    /// Delete a load balancer (its listeners and rules go with it).
    DeleteLoadBalancer(String),
    /// Replace a load balancer's subnets.
    SetSubnets {
        /// The load balancer.
        load_balancer: String,
        /// Subnet IDs.
        subnets: Vec<String>,
    },
    /// Replace a load balancer's security groups.
    SetSecurityGroups {
        /// The load balancer.
        load_balancer: String,
        /// Security group IDs.
        security_groups: Vec<String>,
    },
    /// The listeners of a load balancer.
    DescribeListeners(String),
    /// Create a listener.
    CreateListener {
        /// The load balancer.
        load_balancer: String,
        /// The listener.
        settings: ListenerSettings,
        /// Ownership tags.
        tags: Tags,
    },
    /// Change a listener.
    ModifyListener {
        /// The listener.
        listener: String,
        /// Its new settings.
        settings: ListenerSettings,
    },
    /// Delete a listener (its rules go with it).
    DeleteListener(String),
    /// A listener's certificates (the default one flagged).
    DescribeListenerCertificates(String),
    /// Add SNI certificates to a listener.
    AddListenerCertificates {
        /// The listener.
        listener: String,
        /// Certificate ARNs.
        certificates: Vec<String>,
    },
    /// Remove SNI certificates from a listener.
    RemoveListenerCertificates {
        /// The listener.
        listener: String,
        /// Certificate ARNs.
        certificates: Vec<String>,
    },
    /// A listener's rules.
    DescribeRules(String),
    /// Create a rule.
    CreateRule {
        /// The listener.
        listener: String,
        /// The priority.
        priority: u32,
        /// The conditions.
        conditions: Conditions,
        /// The action.
        action: ActionSpec,
        /// Ownership tags.
        tags: Tags,
    },
    /// Change a rule's action in place.
    ModifyRule {
        /// The rule.
        rule: String,
        /// Its conditions (unchanged, restated).
        conditions: Conditions,
        /// The new action.
        action: ActionSpec,
    },
    /// Delete a rule.
    DeleteRule(String),
    /// Move rules to new priorities in one request.
    SetRulePriorities(Vec<(String, u32)>),
    /// Describe these target groups.
    DescribeTargetGroups(Vec<String>),
    /// Create a target group of type `ip`.
    CreateTargetGroup {
        /// The deterministic name.
        name: String,
        /// The VPC.
        vpc_id: String,
        /// The port.
        port: u16,
        /// Health-check settings.
        health: HealthCheck,
        /// Ownership tags.
        tags: Tags,
    },
    /// Change a target group's health-check settings.
    ModifyTargetGroup {
        /// The target group.
        target_group: String,
        /// The settings to set.
        health: HealthCheck,
    },
    /// Delete a target group.
    DeleteTargetGroup(String),
    /// The targets of a target group (draining ones excluded).
    DescribeTargetHealth(String),
    /// Register targets.
    RegisterTargets {
        /// The target group.
        target_group: String,
        /// At most 200 targets.
        targets: Vec<TargetId>,
    },
    /// Deregister targets.
    DeregisterTargets {
        /// The target group.
        target_group: String,
        /// At most 200 targets.
        targets: Vec<TargetId>,
    },
    /// Issued ACM certificates.
    ListCertificates,
    /// Import (or re-import) a certificate.
    ImportCertificate(ImportCertificate),
    /// Set tags on a certificate.
    AddTagsToCertificate {
        /// The certificate.
        certificate: String,
        /// The tags.
        tags: Tags,
    },
    /// Delete a certificate.
    DeleteCertificate(String),
}

impl Call {
    /// The operation this call invokes.
    pub fn op(&self) -> Op {
        match self {
            Call::GetResources { .. } => Op::GetResources,
            Call::DescribeLoadBalancers(_) => Op::DescribeLoadBalancers,
            Call::CreateLoadBalancer(_) => Op::CreateLoadBalancer,
            Call::DeleteLoadBalancer(_) => Op::DeleteLoadBalancer,
            Call::SetSubnets { .. } => Op::SetSubnets,
            Call::SetSecurityGroups { .. } => Op::SetSecurityGroups,
            Call::DescribeListeners(_) => Op::DescribeListeners,
            Call::CreateListener { .. } => Op::CreateListener,
            Call::ModifyListener { .. } => Op::ModifyListener,
            Call::DeleteListener(_) => Op::DeleteListener,
            Call::DescribeListenerCertificates(_) => Op::DescribeListenerCertificates,
            Call::AddListenerCertificates { .. } => Op::AddListenerCertificates,
            Call::RemoveListenerCertificates { .. } => Op::RemoveListenerCertificates,
            Call::DescribeRules(_) => Op::DescribeRules,
            Call::CreateRule { .. } => Op::CreateRule,
            Call::ModifyRule { .. } => Op::ModifyRule,
            Call::DeleteRule(_) => Op::DeleteRule,
            Call::SetRulePriorities(_) => Op::SetRulePriorities,
            Call::DescribeTargetGroups(_) => Op::DescribeTargetGroups,
            Call::CreateTargetGroup { .. } => Op::CreateTargetGroup,
            Call::ModifyTargetGroup { .. } => Op::ModifyTargetGroup,
            Call::DeleteTargetGroup(_) => Op::DeleteTargetGroup,
            Call::DescribeTargetHealth(_) => Op::DescribeTargetHealth,
            Call::RegisterTargets { .. } => Op::RegisterTargets,
            Call::DeregisterTargets { .. } => Op::DeregisterTargets,
            Call::ListCertificates => Op::ListCertificates,
            Call::ImportCertificate(_) => Op::ImportCertificate,
            Call::AddTagsToCertificate { .. } => Op::AddTagsToCertificate,
            Call::DeleteCertificate(_) => Op::DeleteCertificate,
        }
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
    /// The ARN of a created resource.
    Arn(String),
}

/// Sends [`Call`]s to AWS.
///
/// # Cancel safety
/// Dropping the future abandons the request; the caller re-observes before acting again.
pub trait AwsApi: Send + Sync {
    /// Sends one call and returns its reply.
    ///
    /// # Errors
    /// A classified [`CallError`].
    fn send(&self, call: Call) -> impl Future<Output = Result<Reply, CallError>> + Send;
}
