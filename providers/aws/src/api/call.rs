//! One request to AWS: [`Call`]. A plan step is a `Call<Ref>` (ARNs of resources an earlier
//! step creates are named by reference); apply resolves it into the `Call<String>` the API
//! sends ([`Call::resolve`]). One type, so a step and its call cannot drift apart.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;
use weir_model::{Protocol, TargetGroupKey, TlsMaterial};

use crate::api::op::Op;
use crate::api::rule_parts::{FixedSpec, MatchConditions, RedirectSpec};

/// Resource tags, by key.
pub type Tags = BTreeMap<String, String>;

/// A listener or rule action as weir uses them; `R` names a target group (an ARN, or a plan
/// reference).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSpec<R = String> {
    /// Forward to one target group.
    Forward(R),
    /// Answer with this status code and an empty `text/plain` body.
    Fixed(u16),
    /// Redirect to HTTPS on this port with a 301.
    RedirectHttps(u16),
    /// Forward to several target groups by weight (sorted by target group).
    Weighted(Vec<(R, u32)>),
    /// Answer with a status, content type and body.
    Respond(FixedSpec),
    /// Any other redirect.
    Redirect(RedirectSpec),
    /// Something weir does not write (found on an observed resource); always replaced.
    Other(String),
}

impl<R> ActionSpec<R> {
    /// The same action with its target group mapped by `f`.
    ///
    /// # Errors
    /// What `f` returns.
    pub fn try_map<S, E>(self, f: &mut impl FnMut(R) -> Result<S, E>) -> Result<ActionSpec<S>, E> {
        Ok(match self {
            Self::Forward(target) => ActionSpec::Forward(f(target)?),
            Self::Fixed(status) => ActionSpec::Fixed(status),
            Self::RedirectHttps(port) => ActionSpec::RedirectHttps(port),
            Self::Weighted(targets) => ActionSpec::Weighted(
                targets
                    .into_iter()
                    .map(|(target, weight)| Ok((f(target)?, weight)))
                    .collect::<Result<_, E>>()?,
            ),
            Self::Respond(fixed) => ActionSpec::Respond(fixed),
            Self::Redirect(redirect) => ActionSpec::Redirect(redirect),
            Self::Other(what) => ActionSpec::Other(what),
        })
    }
}

impl<R: fmt::Display> fmt::Display for ActionSpec<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forward(target) => write!(f, "forward {target}"),
            Self::Fixed(status) => write!(f, "fixed-response {status}"),
            Self::RedirectHttps(port) => write!(f, "redirect HTTPS:{port}"),
            Self::Weighted(targets) => {
                f.write_str("forward")?;
                for (index, (target, weight)) in targets.iter().enumerate() {
                    let separator = if index == 0 { " " } else { "," };
                    write!(f, "{separator}{target}*{weight}")?;
                }
                Ok(())
            }
            Self::Respond(fixed) => write!(
                f,
                "fixed-response {} {} ({} bytes)",
                fixed.status,
                fixed.content_type,
                fixed.body.len()
            ),
            Self::Redirect(redirect) => write!(f, "{redirect}"),
            Self::Other(what) => write!(f, "other {what}"),
        }
    }
}

/// The conditions of a listener rule: an optional host-header glob, path-pattern globs and
/// the other conditions.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Conditions {
    /// The host-header value.
    pub host: Option<String>,
    /// The path-pattern values, sorted.
    pub paths: Vec<String>,
    /// http-header, http-request-method, query-string and source-ip values, canonical.
    #[serde(skip_serializing_if = "MatchConditions::is_empty")]
    pub matches: MatchConditions,
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
        )?;
        write!(f, "{}", self.matches)
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

/// Input of `CreateListener` and `ModifyListener`; `R` names target groups and certificates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListenerSettings<R = String> {
    /// The port.
    pub port: u16,
    /// HTTP or HTTPS.
    pub protocol: Protocol,
    /// The default action.
    pub default_action: ActionSpec<R>,
    /// The TLS policy (HTTPS only).
    pub ssl_policy: Option<String>,
    /// The default certificate (HTTPS only).
    pub default_certificate: Option<R>,
}

impl<R> ListenerSettings<R> {
    fn try_map<S, E>(
        self,
        f: &mut impl FnMut(R) -> Result<S, E>,
    ) -> Result<ListenerSettings<S>, E> {
        Ok(ListenerSettings {
            port: self.port,
            protocol: self.protocol,
            default_action: self.default_action.try_map(f)?,
            ssl_policy: self.ssl_policy,
            default_certificate: self.default_certificate.map(&mut *f).transpose()?,
        })
    }
}

impl<R: fmt::Display> fmt::Display for ListenerSettings<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} default={}",
            self.protocol, self.port, self.default_action
        )?;
        if let Some(policy) = &self.ssl_policy {
            write!(f, " ssl-policy={policy}")?;
        }
        if let Some(certificate) = &self.default_certificate {
            write!(f, " certificate={certificate}")?;
        }
        Ok(())
    }
}

/// One request to AWS. `R` is how it names resources that may not exist yet: a plain ARN when
/// sent, a plan reference in a plan step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call<R = String> {
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
        load_balancer: R,
        /// The listener.
        settings: ListenerSettings<R>,
        /// Ownership tags.
        tags: Tags,
    },
    /// Change a listener.
    ModifyListener {
        /// The listener.
        listener: String,
        /// Its new settings.
        settings: ListenerSettings<R>,
    },
    /// Delete a listener (its rules go with it).
    DeleteListener(String),
    /// A listener's certificates (the default one flagged).
    DescribeListenerCertificates(String),
    /// Add SNI certificates to a listener.
    AddListenerCertificates {
        /// The listener.
        listener: R,
        /// Certificates.
        certificates: Vec<R>,
    },
    /// Remove SNI certificates from a listener.
    RemoveListenerCertificates {
        /// The listener.
        listener: R,
        /// Certificates.
        certificates: Vec<R>,
    },
    /// A listener's rules.
    DescribeRules(String),
    /// Create a rule.
    CreateRule {
        /// The listener.
        listener: R,
        /// The listener's port (names the created rule in a plan; not sent).
        port: u16,
        /// The priority.
        priority: u32,
        /// The conditions.
        conditions: Conditions,
        /// The action.
        action: ActionSpec<R>,
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
        action: ActionSpec<R>,
    },
    /// Delete a rule.
    DeleteRule(String),
    /// Move rules to new priorities in one request.
    SetRulePriorities(Vec<(R, u32)>),
    /// Describe these target groups.
    DescribeTargetGroups(Vec<String>),
    /// Create a target group of type `ip`.
    CreateTargetGroup {
        /// Its logical key (names the created group in a plan; not sent).
        key: TargetGroupKey,
        /// The deterministic name.
        name: String,
        /// The VPC.
        vpc: R,
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
        target_group: R,
        /// At most 200 targets.
        targets: Vec<TargetId>,
    },
    /// Deregister targets.
    DeregisterTargets {
        /// The target group.
        target_group: R,
        /// At most 200 targets.
        targets: Vec<TargetId>,
    },
    /// Issued ACM certificates.
    ListCertificates,
    /// One ACM certificate's status.
    DescribeCertificate(String),
    /// Import a Secret into ACM (or re-import it into its certificate after a rotation).
    ImportCertificate {
        /// The logical id (names the created certificate in a plan; not sent).
        resource: String,
        /// Re-import into this certificate instead of creating one.
        reimport: Option<String>,
        /// The material (the key never prints).
        material: TlsMaterial,
        /// Tags (only on a first import: ACM refuses tags on a re-import).
        tags: Tags,
    },
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

impl<R> Call<R> {
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
            Call::DescribeCertificate(_) => Op::DescribeCertificate,
            Call::ImportCertificate { .. } => Op::ImportCertificate,
            Call::AddTagsToCertificate { .. } => Op::AddTagsToCertificate,
            Call::DeleteCertificate(_) => Op::DeleteCertificate,
        }
    }

    /// The same call with every reference resolved by `f` (a plan step into the call apply
    /// sends).
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn resolve<S, E>(self, mut f: impl FnMut(R) -> Result<S, E>) -> Result<Call<S>, E> {
        let f = &mut f;
        Ok(match self {
            Call::CreateListener {
                load_balancer,
                settings,
                tags,
            } => Call::CreateListener {
                load_balancer: f(load_balancer)?,
                settings: settings.try_map(f)?,
                tags,
            },
            Call::ModifyListener { listener, settings } => Call::ModifyListener {
                listener,
                settings: settings.try_map(f)?,
            },
            Call::AddListenerCertificates {
                listener,
                certificates,
            } => Call::AddListenerCertificates {
                listener: f(listener)?,
                certificates: certificates
                    .into_iter()
                    .map(&mut *f)
                    .collect::<Result<_, _>>()?,
            },
            Call::RemoveListenerCertificates {
                listener,
                certificates,
            } => Call::RemoveListenerCertificates {
                listener: f(listener)?,
                certificates: certificates
                    .into_iter()
                    .map(&mut *f)
                    .collect::<Result<_, _>>()?,
            },
            Call::CreateRule {
                listener,
                port,
                priority,
                conditions,
                action,
                tags,
            } => Call::CreateRule {
                listener: f(listener)?,
                port,
                priority,
                conditions,
                action: action.try_map(f)?,
                tags,
            },
            Call::ModifyRule {
                rule,
                conditions,
                action,
            } => Call::ModifyRule {
                rule,
                conditions,
                action: action.try_map(f)?,
            },
            Call::SetRulePriorities(moves) => Call::SetRulePriorities(
                moves
                    .into_iter()
                    .map(|(rule, priority)| Ok((f(rule)?, priority)))
                    .collect::<Result<_, E>>()?,
            ),
            Call::CreateTargetGroup {
                key,
                name,
                vpc,
                port,
                health,
                tags,
            } => Call::CreateTargetGroup {
                key,
                name,
                vpc: f(vpc)?,
                port,
                health,
                tags,
            },
            Call::RegisterTargets {
                target_group,
                targets,
            } => Call::RegisterTargets {
                target_group: f(target_group)?,
                targets,
            },
            Call::DeregisterTargets {
                target_group,
                targets,
            } => Call::DeregisterTargets {
                target_group: f(target_group)?,
                targets,
            },
            Call::GetResources { tags, types } => Call::GetResources { tags, types },
            Call::DescribeLoadBalancers(arns) => Call::DescribeLoadBalancers(arns),
            Call::CreateLoadBalancer(input) => Call::CreateLoadBalancer(input),
            Call::DeleteLoadBalancer(arn) => Call::DeleteLoadBalancer(arn),
            Call::SetSubnets {
                load_balancer,
                subnets,
            } => Call::SetSubnets {
                load_balancer,
                subnets,
            },
            Call::SetSecurityGroups {
                load_balancer,
                security_groups,
            } => Call::SetSecurityGroups {
                load_balancer,
                security_groups,
            },
            Call::DescribeListeners(arn) => Call::DescribeListeners(arn),
            Call::DeleteListener(arn) => Call::DeleteListener(arn),
            Call::DescribeListenerCertificates(arn) => Call::DescribeListenerCertificates(arn),
            Call::DescribeRules(arn) => Call::DescribeRules(arn),
            Call::DeleteRule(arn) => Call::DeleteRule(arn),
            Call::DescribeTargetGroups(arns) => Call::DescribeTargetGroups(arns),
            Call::ModifyTargetGroup {
                target_group,
                health,
            } => Call::ModifyTargetGroup {
                target_group,
                health,
            },
            Call::DeleteTargetGroup(arn) => Call::DeleteTargetGroup(arn),
            Call::DescribeTargetHealth(arn) => Call::DescribeTargetHealth(arn),
            Call::ListCertificates => Call::ListCertificates,
            Call::DescribeCertificate(arn) => Call::DescribeCertificate(arn),
            Call::ImportCertificate {
                resource,
                reimport,
                material,
                tags,
            } => Call::ImportCertificate {
                resource,
                reimport,
                material,
                tags,
            },
            Call::AddTagsToCertificate { certificate, tags } => {
                Call::AddTagsToCertificate { certificate, tags }
            }
            Call::DeleteCertificate(arn) => Call::DeleteCertificate(arn),
        })
    }

    /// Whether the call deletes something (a delete of something already gone counts as done).
    pub fn is_delete(&self) -> bool {
        matches!(
            self.op(),
            Op::DeleteLoadBalancer
                | Op::DeleteListener
                | Op::DeleteRule
                | Op::DeleteTargetGroup
                | Op::DeleteCertificate
        )
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per call, as `plan` prints it; never the private key of an import.
impl<R: fmt::Display> fmt::Display for Call<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.op())?;
        match self {
            Call::ImportCertificate {
                resource,
                reimport,
                material,
                ..
            } => {
                write!(
                    f,
                    "{resource} sha256={}",
                    &material.fingerprint[..12.min(material.fingerprint.len())]
                )?;
                if let Some(arn) = reimport {
                    write!(f, " into {arn}")?;
                }
                Ok(())
            }
            Call::AddTagsToCertificate { certificate, tags } => {
                let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{certificate} {}", join(&tags))
            }
            Call::CreateLoadBalancer(input) => write!(
                f,
                "{} scheme={} subnets=[{}] security-groups=[{}]",
                input.name,
                input.scheme,
                input.subnets.join(","),
                input.security_groups.join(",")
            ),
            Call::SetSubnets {
                load_balancer,
                subnets: ids,
            }
            | Call::SetSecurityGroups {
                load_balancer,
                security_groups: ids,
            } => write!(f, "{load_balancer} [{}]", ids.join(",")),
            Call::CreateTargetGroup {
                key,
                name,
                vpc,
                port,
                health,
                ..
            } => write!(f, "{name} ({key}) type=ip port={port} vpc={vpc} {health}"),
            Call::ModifyTargetGroup {
                target_group,
                health,
            } => write!(f, "{target_group} {health}"),
            Call::RegisterTargets {
                target_group,
                targets,
            }
            | Call::DeregisterTargets {
                target_group,
                targets,
            } => write!(f, "{target_group} [{}]", join(targets)),
            Call::CreateListener {
                load_balancer,
                settings,
                ..
            } => write!(f, "{load_balancer} {settings}"),
            Call::ModifyListener { listener, settings } => write!(f, "{listener} {settings}"),
            Call::RemoveListenerCertificates {
                listener,
                certificates,
            }
            | Call::AddListenerCertificates {
                listener,
                certificates,
            } => write!(f, "{listener} [{}]", join(certificates)),
            Call::ModifyRule {
                rule,
                conditions,
                action,
            } => write!(f, "{rule} {conditions} -> {action}"),
            Call::CreateRule {
                listener,
                priority,
                conditions,
                action,
                ..
            } => write!(f, "{listener} #{priority} {conditions} -> {action}"),
            Call::SetRulePriorities(moves) => {
                let moves: Vec<String> = moves
                    .iter()
                    .map(|(rule, priority)| format!("{rule} -> #{priority}"))
                    .collect();
                write!(f, "[{}]", moves.join(", "))
            }
            Call::GetResources { tags, types } => {
                let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{} types=[{}]", join(&tags), types.join(","))
            }
            Call::DescribeLoadBalancers(arns) | Call::DescribeTargetGroups(arns) => {
                write!(f, "[{}]", arns.join(", "))
            }
            Call::ListCertificates => Ok(()),
            Call::DeleteRule(arn)
            | Call::DeleteListener(arn)
            | Call::DeleteLoadBalancer(arn)
            | Call::DeleteTargetGroup(arn)
            | Call::DeleteCertificate(arn)
            | Call::DescribeListeners(arn)
            | Call::DescribeListenerCertificates(arn)
            | Call::DescribeRules(arn)
            | Call::DescribeTargetHealth(arn)
            | Call::DescribeCertificate(arn) => f.write_str(arn),
        }
    }
}
