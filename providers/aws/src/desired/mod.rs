//! The desired AWS shape of one stack: the model, rendered (see [`crate::render`]), with names,
//! tags, settings and certificates resolved. Pure: discovery and certificate checks come in as
//! data.

pub mod certs;
pub mod names;

use std::collections::{BTreeMap, BTreeSet};

use weir_model::{
    Action, CertificateSource, DesiredLoadBalancer, Diagnostic, ErrorKind, ObjectRef, Protocol,
    ProviderError, Reason, TargetGroupKey, TlsMaterial,
};

use crate::api::rule_parts::{FixedSpec, RedirectSpec, fixed_spec, redirect_spec};
use crate::api::{CertificateDetail, CertificateSummary, Conditions, HealthCheck, TargetId};
use crate::desired::certs::pick_certificate;
use crate::desired::names::{Owner, certificate_resource};
use crate::render::{AlbView, ListenerDefault};

/// The `certificate-arn` ARNs described in ACM (once per reconcile): `None` for one that does
/// not exist.
pub type CertificateChecks = BTreeMap<String, Option<CertificateDetail>>;

/// The field a `certificate-arn` diagnostic names (either prefix may have set it).
pub const CERTIFICATE_ARN_FIELD: &str = "metadata.annotations[certificate-arn]";

/// Controller-wide defaults for what annotations leave unset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackDefaults {
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// Subnet IDs for stacks without a `subnets` annotation.
    pub subnets: Vec<String>,
    /// Subnets found by their tags, per scheme, for stacks without a `subnets` annotation
    /// when [`StackDefaults::subnets`] is empty.
    pub discovered_subnets: Option<DiscoveredSubnets>,
    /// Security group IDs for stacks without a `security-groups` annotation.
    pub security_groups: Vec<String>,
    /// TLS policy for HTTPS listeners.
    pub ssl_policy: String,
}

/// The subnets [`crate::discovery`] found for each scheme; empty where none qualified (stacks
/// of that scheme then fail with a message naming the tags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoveredSubnets {
    /// For `internet-facing` stacks (`kubernetes.io/role/elb`).
    pub internet_facing: Vec<String>,
    /// For `internal` stacks (`kubernetes.io/role/internal-elb`).
    pub internal: Vec<String>,
    /// Why a scheme has none, per role, for the error a stack of that scheme gets.
    pub problems: Vec<String>,
}

impl DiscoveredSubnets {
    /// The subnets for a stack of `scheme` (`internet-facing` or `internal`).
    pub fn for_scheme(&self, scheme: &str) -> &[String] {
        match scheme {
            "internal" => &self.internal,
            _ => &self.internet_facing,
        }
    }
}

impl Default for StackDefaults {
    fn default() -> Self {
        Self {
            scheme: "internet-facing".to_owned(),
            subnets: Vec::new(),
            discovered_subnets: None,
            security_groups: Vec::new(),
            ssl_policy: "ELBSecurityPolicy-TLS13-1-2-2021-06".to_owned(),
        }
    }
}

/// What a rule or listener does, with target groups by logical key (their ARNs may not exist
/// yet).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionRef {
    /// Forward to the stack's target group of this key.
    Forward(TargetGroupKey),
    /// A fixed response with this status.
    Fixed(u16),
    /// Redirect to HTTPS on this port.
    RedirectHttps(u16),
    /// Forward to several target groups by weight (sorted by key).
    Weighted(Vec<(TargetGroupKey, u32)>),
    /// A fixed response with a content type and body.
    Respond(FixedSpec),
    /// Any other redirect.
    Redirect(RedirectSpec),
}

impl From<&Action> for ActionRef {
    fn from(action: &Action) -> Self {
        // `render` leaves out every route whose action these conversions refuse (see
        // `render::rules::unsupported_action`), and translation gives a default action only a
        // forward or an empty fixed response; a refused one answers 500 rather than forwarding
        // somewhere it was not meant to.
        let refused = Self::Fixed(500);
        match action {
            Action::Forward { target_group } => Self::Forward(target_group.clone()),
            Action::WeightedForward { targets } => {
                let mut targets: Vec<_> = targets
                    .iter()
                    .map(|target| (target.target_group.clone(), target.weight))
                    .collect();
                targets.sort();
                Self::Weighted(targets)
            }
            Action::FixedResponse {
                status,
                content_type,
                body,
            } => match fixed_spec(*status, content_type.as_deref(), body.as_deref()) {
                Ok(None) => Self::Fixed(*status),
                Ok(Some(fixed)) => Self::Respond(fixed),
                Err(_) => refused,
            },
            Action::Redirect(redirect) => match redirect_spec(redirect) {
                Ok(spec) if spec == RedirectSpec::keeping("HTTPS", &spec.port, 301) => {
                    spec.port.parse().map_or(refused, Self::RedirectHttps)
                }
                Ok(spec) => Self::Redirect(spec),
                Err(_) => refused,
            },
        }
    }
}

/// A certificate a listener serves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertRef {
    /// An existing ACM certificate.
    Arn(String),
    /// The stack's import of a Secret, by logical id.
    Import(String),
}

/// The desired load balancer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancerSpec {
    /// The deterministic name.
    pub name: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// Subnet IDs, sorted.
    pub subnets: Vec<String>,
    /// Security group IDs, sorted (empty: leave as AWS chose).
    pub security_groups: Vec<String>,
}

/// One desired listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSpec {
    /// HTTP or HTTPS.
    pub protocol: Protocol,
    /// The default action.
    pub default: ActionRef,
    /// Whether it carries the stack's rules.
    pub routes: bool,
    /// The TLS policy (HTTPS).
    pub ssl_policy: Option<String>,
    /// Certificates, the default first (HTTPS).
    pub certificates: Vec<CertRef>,
    /// An HTTPS listener without any usable certificate: not created, and an existing one
    /// keeps its certificates (its rules still follow the stack).
    pub waits_for_certificate: bool,
}

/// One desired rule of the routing listeners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// Its priority from [`crate::render`].
    pub priority: u32,
    /// Its conditions.
    pub conditions: Conditions,
    /// The ports of the routing listeners that carry it; empty: every one.
    pub listener_ports: Vec<u16>,
    /// Its action.
    pub action: ActionRef,
}

impl RuleSpec {
    /// Whether the routing listener of `port` carries this rule.
    pub fn on_listener(&self, port: u16) -> bool {
        self.listener_ports.is_empty() || self.listener_ports.contains(&port)
    }
}

/// One desired target group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroupSpec {
    /// The deterministic name.
    pub name: String,
    /// The Service port (targets carry their own ports).
    pub port: u16,
    /// Ready endpoints.
    pub targets: BTreeSet<TargetId>,
    /// Health-check settings from the stack's annotations.
    pub health: HealthCheck,
}

/// A Secret to import into ACM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSpec {
    /// The Secret's material (the key never prints).
    pub material: TlsMaterial,
}

/// The whole desired shape of a stack. [`StackSpec::empty`] is a deleted stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackSpec {
    /// Who owns it.
    pub owner: Owner,
    /// The load balancer; `None` deletes everything.
    pub load_balancer: Option<LoadBalancerSpec>,
    /// Listeners by port.
    pub listeners: BTreeMap<u16, ListenerSpec>,
    /// Rules by ascending priority.
    pub rules: Vec<RuleSpec>,
    /// Target groups by key.
    pub target_groups: BTreeMap<TargetGroupKey, TargetGroupSpec>,
    /// Imports by logical id.
    pub imports: BTreeMap<String, ImportSpec>,
    /// What was left out while resolving (unusable certificates), as errors on the Ingresses
    /// to fix; the rest of the stack applies.
    pub diagnostics: Vec<Diagnostic>,
}

impl StackSpec {
    /// The spec of a stack that should not exist.
    pub fn empty(owner: Owner) -> Self {
        Self {
            owner,
            load_balancer: None,
            listeners: BTreeMap::new(),
            rules: Vec::new(),
            target_groups: BTreeMap::new(),
            imports: BTreeMap::new(),
            diagnostics: Vec::new(),
        }
    }

    /// Builds the spec of `desired`, rendered as `view`. `certificates` are the issued ACM
    /// certificates (only consulted when the model asks to discover one); `checks` the
    /// described `certificate-arn` certificates (one missing from it is assumed usable).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidSpec`] without subnets or with an unknown scheme (translation never
    /// passes one); [`ErrorKind::NotReady`] when discovery finds no certificate for a host.
    pub fn build(
        owner: Owner,
        desired: &DesiredLoadBalancer,
        view: &AlbView,
        defaults: &StackDefaults,
        certificates: &[CertificateSummary],
        checks: &CertificateChecks,
        now_epoch: i64,
    ) -> Result<Self, ProviderError> {
        let setting = |name: &str| desired.settings.get(name).map(String::as_str);
        let list = |name: &str, fallback: &[String]| -> Vec<String> {
            let mut values: Vec<String> = match setting(name) {
                Some(value) => value
                    .split(',')
                    .map(str::trim)
                    .filter(|value| !value.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => fallback.to_vec(),
            };
            values.sort();
            values.dedup();
            values
        };
        let scheme = setting("scheme").unwrap_or(&defaults.scheme);
        if !matches!(scheme, "internet-facing" | "internal") {
            return Err(ProviderError::new(
                ErrorKind::InvalidSpec,
                format!(
                    "stack {} asks for scheme {scheme:?}: only internet-facing or internal",
                    desired.stack
                ),
            ));
        }
        let fallback = match &defaults.discovered_subnets {
            Some(discovered) if defaults.subnets.is_empty() => discovered.for_scheme(scheme),
            _ => &defaults.subnets,
        };
        let subnets = list("subnets", fallback);
        if subnets.is_empty() {
            let discovery = match &defaults.discovered_subnets {
                Some(discovered) if !discovered.problems.is_empty() => {
                    format!(" (discovery by tags: {})", discovered.problems.join("; "))
                }
                Some(_) => String::new(),
                None => " or --vpc-id to discover them by their kubernetes.io/role tags".to_owned(),
            };
            return Err(ProviderError::new(
                ErrorKind::InvalidSpec,
                format!(
                    "stack {} ({scheme}) has no subnets: set the weir.dev/subnets annotation or the controller's --subnets{discovery}",
                    desired.stack
                ),
            ));
        }
        let load_balancer = LoadBalancerSpec {
            name: owner.load_balancer_name(),
            scheme: scheme.to_owned(),
            subnets,
            security_groups: list("security-groups", &defaults.security_groups),
        };

        let health = health_check(&desired.settings)?;
        let mut diagnostics = Vec::new();
        let (certificate_refs, imports) =
            resolve_certificates(desired, certificates, checks, now_epoch, &mut diagnostics)?;
        let ssl_policy = setting("ssl-policy")
            .unwrap_or(&defaults.ssl_policy)
            .to_owned();
        let mut listeners = BTreeMap::new();
        for listener in &view.listeners {
            let https = listener.protocol == Protocol::Https;
            let waits_for_certificate = https && certificate_refs.is_empty();
            // Unusable certificates are already reported on the Ingresses that name them;
            // otherwise the stack asked for HTTPS without any certificate at all.
            if waits_for_certificate && diagnostics.is_empty() {
                diagnostics.push(Diagnostic::error(
                    &stack_object(desired),
                    "spec.tls",
                    Reason::CertificateUnusable,
                    format!(
                        "stack {} has an HTTPS listener on port {} but no usable certificate: the listener waits for one, the rest of the stack applies",
                        desired.stack, listener.port
                    ),
                ));
            }
            let default = match &listener.default {
                ListenerDefault::Action(action) => ActionRef::from(action),
                ListenerDefault::RedirectToHttps(port) => ActionRef::RedirectHttps(*port),
            };
            listeners.insert(
                listener.port,
                ListenerSpec {
                    protocol: listener.protocol,
                    default,
                    routes: listener.routes(),
                    ssl_policy: https.then(|| ssl_policy.clone()),
                    certificates: if https {
                        certificate_refs.clone()
                    } else {
                        Vec::new()
                    },
                    waits_for_certificate,
                },
            );
        }

        let rules = view
            .rules
            .iter()
            .map(|rule| {
                let mut paths = rule.paths.clone();
                paths.sort();
                RuleSpec {
                    priority: rule.priority,
                    conditions: Conditions {
                        host: rule.host.clone(),
                        paths,
                        matches: rule.conditions.clone(),
                    },
                    listener_ports: rule.listener_ports.clone(),
                    action: ActionRef::from(&rule.action),
                }
            })
            .collect();

        let target_groups = desired
            .target_groups
            .iter()
            .map(|(key, group)| {
                let targets = group
                    .ready_targets()
                    .map(|target| TargetId {
                        ip: target.ip,
                        port: target.port,
                    })
                    .collect();
                let spec = TargetGroupSpec {
                    name: owner.target_group_name(key),
                    port: key.port,
                    targets,
                    health: health.clone(),
                };
                (key.clone(), spec)
            })
            .collect();

        Ok(Self {
            owner,
            load_balancer: Some(load_balancer),
            listeners,
            rules,
            target_groups,
            imports,
            diagnostics,
        })
    }
}

/// The object a stack-wide problem is reported on: its first member.
fn stack_object(desired: &DesiredLoadBalancer) -> ObjectRef {
    desired
        .members
        .first()
        .cloned()
        .unwrap_or_else(|| ObjectRef::cluster("Stack", &desired.stack.to_string()))
}

/// Health-check settings from the `healthcheck-*` annotations.
fn health_check(settings: &BTreeMap<String, String>) -> Result<HealthCheck, ProviderError> {
    let number = |name: &str, range: std::ops::RangeInclusive<u16>| {
        let Some(value) = settings.get(name) else {
            return Ok(None);
        };
        match value.trim().parse::<u16>() {
            Ok(number) if range.contains(&number) => Ok(Some(number)),
            _ => Err(ProviderError::new(
                ErrorKind::InvalidSpec,
                format!(
                    "{name} {value:?} is not a number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    };
    let path = settings.get("healthcheck-path").cloned();
    if let Some(path) = &path
        && !path.starts_with('/')
    {
        return Err(ProviderError::new(
            ErrorKind::InvalidSpec,
            format!("healthcheck-path {path:?} must start with /"),
        ));
    }
    Ok(HealthCheck {
        path,
        interval_seconds: number("healthcheck-interval-seconds", 5..=300)?,
        timeout_seconds: number("healthcheck-timeout-seconds", 2..=120)?,
        healthy_threshold: number("healthy-threshold-count", 2..=10)?,
        unhealthy_threshold: number("unhealthy-threshold-count", 2..=10)?,
        success_codes: settings.get("success-codes").cloned(),
    })
}

/// The listener certificates (default first, no duplicates) and the Secrets to import. A
/// `certificate-arn` certificate that ACM does not have, or has but not issued, is left out
/// with an error on the Ingress that names it.
fn resolve_certificates(
    desired: &DesiredLoadBalancer,
    acm: &[CertificateSummary],
    checks: &CertificateChecks,
    now_epoch: i64,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(Vec<CertRef>, BTreeMap<String, ImportSpec>), ProviderError> {
    let mut ordered: Vec<(bool, CertRef)> = Vec::new();
    let mut imports = BTreeMap::new();
    for certificate in &desired.certificates {
        let is_default = certificate.hosts.is_empty();
        match &certificate.source {
            CertificateSource::AcmArn(arn) => match checks.get(arn) {
                Some(None) => diagnostics.push(Diagnostic::error(
                    &certificate.origin,
                    CERTIFICATE_ARN_FIELD,
                    Reason::CertificateUnusable,
                    format!("ACM has no certificate {arn}; it is left out of the HTTPS listener"),
                )),
                Some(Some(detail)) if !detail.is_usable() => diagnostics.push(Diagnostic::error(
                    &certificate.origin,
                    CERTIFICATE_ARN_FIELD,
                    Reason::CertificateUnusable,
                    format!(
                        "ACM certificate {arn} is {}, not ISSUED; it is left out of the HTTPS listener",
                        detail.status
                    ),
                )),
                _ => ordered.push((is_default, CertRef::Arn(arn.clone()))),
            },
            CertificateSource::Secret { secret, material } => {
                let resource = certificate_resource(
                    secret.namespace.as_deref().unwrap_or_default(),
                    &secret.name,
                );
                imports.insert(
                    resource.clone(),
                    ImportSpec {
                        material: material.clone(),
                    },
                );
                ordered.push((is_default, CertRef::Import(resource)));
            }
            CertificateSource::Discover => {
                for host in &certificate.hosts {
                    let found = pick_certificate(host, acm, now_epoch).ok_or_else(|| {
                        ProviderError::new(
                            ErrorKind::NotReady,
                            format!("no issued ACM certificate covers host {host}"),
                        )
                    })?;
                    ordered.push((false, CertRef::Arn(found.arn.clone())));
                }
            }
        }
    }
    // The default certificate first (stable sort keeps group order otherwise), then dedup.
    ordered.sort_by_key(|(is_default, _)| !*is_default);
    let mut seen = BTreeSet::new();
    let refs = ordered
        .into_iter()
        .map(|(_, reference)| reference)
        .filter(|reference| seen.insert(reference.clone()))
        .collect();
    Ok((refs, imports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn health_checks_come_from_settings_and_unset_ones_stay_unset() {
        let health = health_check(&settings(&[
            ("healthcheck-path", "/healthz"),
            ("healthcheck-interval-seconds", "10"),
            ("success-codes", "200-399"),
        ]))
        .unwrap();
        assert_eq!(health.path.as_deref(), Some("/healthz"));
        assert_eq!(health.interval_seconds, Some(10));
        assert_eq!(health.timeout_seconds, None);
        assert_eq!(health.success_codes.as_deref(), Some("200-399"));
        assert_eq!(
            health_check(&BTreeMap::new()).unwrap(),
            HealthCheck::default()
        );
    }

    #[test]
    fn invalid_health_checks_are_spec_errors() {
        for (name, value) in [
            ("healthcheck-path", "healthz"),
            ("healthcheck-interval-seconds", "1"),
            ("healthy-threshold-count", "many"),
        ] {
            let error = health_check(&settings(&[(name, value)])).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidSpec, "{name}={value}");
        }
    }
}
