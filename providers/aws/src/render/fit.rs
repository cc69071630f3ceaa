//! ALB quotas, checked before any API call (the emulators enforce none of them; a real ALB
//! fails half-way through a change), and [`fit`]: the one render-and-check path the provider
//! and `weir-controller plan` share.
//!
//! ```text
//! DesiredLoadBalancer ─► render ─► check_quotas ─► fits? ─► Fitted (the whole stack)
//!                                                    │ no
//!                                                    ▼
//!            members admitted one by one in group order; one that breaks a quota is left
//!            out with an Error on it ─► Fitted (the members that fit, re-rendered)
//! ```
//!
//! A group over a quota is not split across load balancers: a split would give some members a
//! new address (DNS names change, and move again when the group shrinks), while leaving the
//! overflowing members out keeps every admitted member where it is and names the ones to fix.

use std::collections::BTreeSet;

use weir_model::{
    Action, CertificateSource, DesiredLoadBalancer, Diagnostic, ObjectRef, Protocol, Reason,
    Severity,
};

use crate::render::rules::{
    AlbView, MAX_CONDITION_VALUE_LENGTH, RulePurpose, inexpressible_path, render, unsupported,
};

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
        let values =
            rule.paths.len() + usize::from(rule.host.is_some()) + rule.conditions.value_count();
        if values > limits.condition_values_per_rule
            && let RulePurpose::Route(source) | RulePurpose::GuardedRoute(source) = &rule.purpose
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
        if let Some(problem) = unsupported(route) {
            let field = match inexpressible_path(&route.path) {
                Some(_) => format!("{}.path", source.field()),
                None => source.field(),
            };
            problems.push(Diagnostic::warning(
                &source.ingress,
                field,
                Reason::UnsupportedByProvider,
                format!("unsupported on aws: {problem}; the ALB leaves this route out (its requests get the next matching rule)"),
            ));
        }
        if host.as_str().len() + 2 > MAX_CONDITION_VALUE_LENGTH {
            problems.push(Diagnostic::error(
                &source.ingress,
                source.host_field(),
                Reason::UnsupportedByProvider,
                format!("host {host} is longer than an ALB host condition allows"),
            ));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// A stack as it will be applied: the members that fit, their rendering, and every problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fitted {
    /// The model restricted to the admitted members (the whole model when it fits).
    pub desired: DesiredLoadBalancer,
    /// Its ALB rendering.
    pub view: AlbView,
    /// Warnings (routes left out) and errors (members left out, or why nothing fits).
    pub diagnostics: Vec<Diagnostic>,
}

impl Fitted {
    /// Whether any member fits: a stack of which nothing fits must not be applied at all (its
    /// load balancer is left as it is).
    pub fn applies(&self) -> bool {
        !self.desired.members.is_empty()
    }

    /// The error diagnostics.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
    }
}

/// Renders `desired` and checks it; when it breaks a quota, admits its members one by one in
/// group order and leaves out (with an Error on it) each member that would break one.
pub fn fit(desired: &DesiredLoadBalancer, limits: &QuotaLimits) -> Fitted {
    let view = render(desired);
    let problems = check_quotas(desired, &view, limits);
    if !has_error(&problems) {
        return Fitted {
            desired: desired.clone(),
            view,
            diagnostics: problems,
        };
    }
    let mut admitted: Vec<ObjectRef> = Vec::new();
    let mut left_out = Vec::new();
    for member in &desired.members {
        let mut candidate = admitted.clone();
        candidate.push(member.clone());
        let model = restrict(desired, &candidate);
        let found = check_quotas(&model, &render(&model), limits);
        match found
            .into_iter()
            .find(|diagnostic| diagnostic.severity == Severity::Error)
        {
            None => admitted.push(member.clone()),
            Some(problem) => left_out.push(Diagnostic::error(
                member,
                problem.field.clone(),
                problem.reason,
                format!(
                    "left out of load balancer {}: with this Ingress {} (Ingresses are admitted in group order; the others apply)",
                    desired.stack, problem.message
                ),
            )),
        }
    }
    if admitted.is_empty() {
        return Fitted {
            desired: restrict(desired, &[]),
            view,
            diagnostics: problems,
        };
    }
    let model = restrict(desired, &admitted);
    let view = render(&model);
    let mut diagnostics = check_quotas(&model, &view, limits);
    diagnostics.extend(left_out);
    diagnostics.sort();
    diagnostics.dedup();
    Fitted {
        desired: model,
        view,
        diagnostics,
    }
}

fn has_error(diagnostics: &[Diagnostic]) -> bool {
    diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
}

/// `desired` with only the routes and certificates of `members`, and the target groups and
/// HTTPS listeners those still need. A host without routes of its own is kept.
fn restrict(desired: &DesiredLoadBalancer, members: &[ObjectRef]) -> DesiredLoadBalancer {
    let mut model = desired.clone();
    model.members.retain(|member| members.contains(member));
    model.virtual_hosts = desired
        .virtual_hosts
        .iter()
        .filter_map(|vhost| {
            let mut vhost = vhost.clone();
            let before = vhost.routes.len();
            vhost
                .routes
                .retain(|route| members.contains(&route.source.ingress));
            (before == 0 || !vhost.routes.is_empty()).then_some(vhost)
        })
        .collect();
    model
        .certificates
        .retain(|certificate| members.contains(&certificate.origin));
    let used: BTreeSet<_> = model
        .routes()
        .map(|(_, route)| &route.action)
        .chain([&model.default_action])
        .flat_map(Action::target_groups)
        .cloned()
        .collect();
    model.target_groups.retain(|key, _| used.contains(key));
    if model.certificates.is_empty() && !desired.certificates.is_empty() {
        model
            .listeners
            .retain(|_, listener| listener.protocol != Protocol::Https);
        for listener in model.listeners.values_mut() {
            listener.redirect_to_https_port = None;
        }
    }
    model
}
