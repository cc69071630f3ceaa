//! ALB quotas, checked before any API call: the emulators enforce none of them, a real ALB
//! fails half-way through a change.

use std::collections::BTreeSet;

use weir_model::{CertificateSource, DesiredLoadBalancer, Diagnostic, ObjectRef, Reason};

use crate::rules::{AlbView, MAX_CONDITION_VALUE_LENGTH, RulePurpose, inexpressible_path};

/// The AWS default quotas of one Application Load Balancer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Rules per load balancer, summed over listeners, default rules excluded.
    pub rules_per_load_balancer: usize,
    /// Condition values per rule.
    pub condition_values_per_rule: usize,
    /// Certificates per listener, the default one included.
    pub certificates_per_listener: usize,
    /// Target groups per load balancer.
    pub target_groups_per_load_balancer: usize,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        Self {
            rules_per_load_balancer: 100,
            condition_values_per_rule: 5,
            certificates_per_listener: 25,
            target_groups_per_load_balancer: 100,
        }
    }
}

/// Every quota or ALB expressiveness limit the stack breaks, as errors: a stack with any of them
/// must not be applied.
pub fn check_quotas(
    desired: &DesiredLoadBalancer,
    view: &AlbView,
    limits: &QuotaLimits,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let stack_object = desired
        .members
        .first()
        .cloned()
        .unwrap_or_else(|| ObjectRef::cluster("Stack", &desired.stack.to_string()));
    let stack = &desired.stack;

    let routing_listeners = view
        .listeners
        .iter()
        .filter(|listener| listener.routes())
        .count();
    let rules = view.rules.len() * routing_listeners;
    if rules > limits.rules_per_load_balancer {
        problems.push(Diagnostic::error(
            &stack_object,
            "spec.rules",
            Reason::QuotaExceeded,
            format!(
                "stack {stack} needs {rules} listener rules ({} rules x {routing_listeners} listeners), more than the {} an ALB allows",
                view.rules.len(),
                limits.rules_per_load_balancer
            ),
        ));
    }
    for rule in &view.rules {
        let values = rule.paths.len() + usize::from(rule.host.is_some());
        if values > limits.condition_values_per_rule
            && let RulePurpose::Route(source) = &rule.purpose
        {
            problems.push(Diagnostic::error(
                &source.ingress,
                format!("spec.rules[{}]", source.rule),
                Reason::QuotaExceeded,
                format!(
                    "rule needs {values} condition values, more than {}",
                    limits.condition_values_per_rule
                ),
            ));
        }
    }
    let target_groups = desired.target_groups.len();
    if target_groups > limits.target_groups_per_load_balancer {
        problems.push(Diagnostic::error(
            &stack_object,
            "spec.rules",
            Reason::QuotaExceeded,
            format!(
                "stack {stack} uses {target_groups} target groups, more than the {} an ALB allows",
                limits.target_groups_per_load_balancer
            ),
        ));
    }
    let certificates = certificate_count(desired);
    if certificates > limits.certificates_per_listener {
        problems.push(Diagnostic::error(
            &stack_object,
            "spec.tls",
            Reason::QuotaExceeded,
            format!("stack {stack} needs {certificates} certificates on its HTTPS listener, more than the {} an ALB allows", limits.certificates_per_listener),
        ));
    }
    problems.extend(inexpressible(desired));
    for vhost in desired
        .virtual_hosts
        .iter()
        .filter(|vhost| vhost.redirect_to_https_port.is_some())
    {
        problems.push(Diagnostic::error(
            &stack_object,
            "metadata.annotations",
            Reason::UnsupportedByProvider,
            format!("host {} asks for its own HTTPS redirect; an ALB redirects per listener (ssl-redirect applies to the whole group)", vhost.host),
        ));
    }
    problems
}

/// Distinct certificates: one per Secret fingerprint or ARN, one per host left to discovery.
fn certificate_count(desired: &DesiredLoadBalancer) -> usize {
    let mut distinct = BTreeSet::new();
    for certificate in &desired.certificates {
        match &certificate.source {
            CertificateSource::Secret { material, .. } => {
                distinct.insert(material.fingerprint.clone());
            }
            CertificateSource::AcmArn(arn) => {
                distinct.insert(arn.clone());
            }
            CertificateSource::Discover => distinct.extend(
                certificate
                    .hosts
                    .iter()
                    .map(|host| format!("discover:{host}")),
            ),
        }
    }
    distinct.len()
}

/// Hosts and paths an ALB condition cannot express: a path is a warning (its route is left out
/// of the rendered rules), an over-long host an error.
fn inexpressible(desired: &DesiredLoadBalancer) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (host, route) in desired.routes() {
        let source = &route.source;
        let field = format!(
            "spec.rules[{}].http.paths[{}].path",
            source.rule, source.path
        );
        if let Some(problem) = inexpressible_path(&route.path) {
            problems.push(Diagnostic::warning(
                &source.ingress,
                field,
                Reason::UnsupportedByProvider,
                format!("{problem}; the ALB leaves this route out (its requests get the next matching rule)"),
            ));
        }
        if host.as_str().len() + 2 > MAX_CONDITION_VALUE_LENGTH {
            problems.push(Diagnostic::error(
                &source.ingress,
                format!("spec.rules[{}].host", source.rule),
                Reason::UnsupportedByProvider,
                format!("host {host} is longer than an ALB host condition allows"),
            ));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}
