//! `weir-controller plan`: what weir would build from a set of objects, without building it.

use std::fmt::Write as _;

use serde::Serialize;
use weir_index::Index;
use weir_model::{Action, CertificateSource, DesiredLoadBalancer, Diagnostic, ObjectRef, Severity};
use weir_provider_aws::{AlbView, ListenerDefault, QuotaLimits, fit};
use weir_translate::{
    ClusterSnapshot, ControllerKind, IgnoredIngress, ListenerStatus, RouteStatus, TranslateConfig,
    translate_gateways,
};

/// Everything `plan` reports.
#[derive(Debug, Serialize)]
pub struct Plan {
    /// The provider planned for.
    pub provider: &'static str,
    /// One entry per stack.
    pub stacks: Vec<StackPlan>,
    /// Problems that belong to no stack.
    pub diagnostics: Vec<Diagnostic>,
    /// Ingresses that are not this controller's.
    pub ignored: Vec<IgnoredPlan>,
    /// The status of each HTTPRoute that names a Gateway of this controller.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route_statuses: Vec<RouteStatus>,
    /// The listeners of this controller's Gateways with a condition that does not hold
    /// (e.g. `ResolvedRefs=False` for a certificateRef no ReferenceGrant permits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listener_problems: Vec<ListenerStatus>,
}

/// The plan of one stack.
#[derive(Debug, Serialize)]
pub struct StackPlan {
    /// The stack id.
    pub stack: String,
    /// The desired model; absent when the stack has no members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<DesiredLoadBalancer>,
    /// The ALB view (aws provider only): of the members that fit the ALB quotas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alb: Option<AlbView>,
    /// Members the ALB leaves out because with them the stack would break a quota (aws
    /// provider only; each also has an error diagnostic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// Translation diagnostics, then the provider's own checks.
    pub diagnostics: Vec<Diagnostic>,
}

/// An ignored Ingress.
#[derive(Debug, Serialize)]
pub struct IgnoredPlan {
    /// `namespace/name`.
    pub ingress: String,
    /// Why.
    pub reason: String,
}

impl Plan {
    /// Plans every stack of `snapshot` for `provider` under `config`: the Ingress stacks, then
    /// one stack per Gateway whose GatewayClass names `provider`'s controller.
    pub fn new(
        snapshot: &ClusterSnapshot,
        provider: ControllerKind,
        config: &TranslateConfig,
    ) -> Self {
        let translation = Index::from_snapshot(config.clone(), snapshot.clone()).translate_all();
        let gateways = translate_gateways(snapshot, provider);
        let stacks = translation
            .stacks
            .into_iter()
            .chain(gateways.translation.stacks)
            .map(|stack| {
                let mut diagnostics = stack.diagnostics;
                let mut left_out = Vec::new();
                let alb = match (&stack.desired, provider) {
                    (Some(desired), ControllerKind::AwsAlb) => {
                        // The provider's own render-and-check path, so plan shows what apply does.
                        let fitted = fit(desired, &QuotaLimits::default());
                        left_out = desired
                            .members
                            .iter()
                            .filter(|member| !fitted.desired.members.contains(member))
                            .map(ObjectRef::namespaced_name)
                            .collect();
                        diagnostics.extend(fitted.diagnostics);
                        Some(fitted.view)
                    }
                    _ => None,
                };
                StackPlan {
                    stack: stack.stack.to_string(),
                    model: stack.desired,
                    alb,
                    left_out,
                    diagnostics,
                }
            })
            .collect();
        Self {
            provider: match provider {
                ControllerKind::LocalProxy => "localproxy",
                ControllerKind::AwsAlb => "aws",
            },
            stacks,
            diagnostics: translation.diagnostics,
            ignored: translation.ignored.into_iter().map(ignored_plan).collect(),
            route_statuses: gateways.route_statuses,
            listener_problems: gateways
                .listener_statuses
                .into_iter()
                .filter(|status| status.conditions.iter().any(|condition| !condition.status))
                .collect(),
        }
    }

    /// How many error-severity diagnostics the plan holds (stacks with errors must not be
    /// applied).
    pub fn error_count(&self) -> usize {
        self.stacks
            .iter()
            .flat_map(|stack| &stack.diagnostics)
            .chain(&self.diagnostics)
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .count()
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The plan as text for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for stack in &self.stacks {
            write_stack(&mut out, stack);
        }
        for status in &self.route_statuses {
            for parent in &status.parents {
                let section = parent
                    .section_name
                    .as_deref()
                    .map(|section| format!(" ({section})"))
                    .unwrap_or_default();
                let _ = writeln!(out, "{} -> {}{section}:", status.route, parent.gateway);
                for condition in &parent.conditions {
                    let _ = writeln!(out, "  {condition}");
                }
            }
        }
        for status in &self.listener_problems {
            let _ = writeln!(out, "{} listener {}:", status.gateway, status.name);
            for condition in &status.conditions {
                let _ = writeln!(out, "  {condition}");
            }
        }
        if !self.diagnostics.is_empty() {
            out.push_str("diagnostics outside any stack:\n");
            write_diagnostics(&mut out, &self.diagnostics);
        }
        for ignored in &self.ignored {
            let _ = writeln!(
                out,
                "ignored Ingress {}: {}",
                ignored.ingress, ignored.reason
            );
        }
        let _ = writeln!(
            out,
            "{} stack(s), {} diagnostic(s), {} error(s), {} ignored Ingress(es)",
            self.stacks.len(),
            self.stacks
                .iter()
                .map(|stack| stack.diagnostics.len())
                .sum::<usize>()
                + self.diagnostics.len(),
            self.error_count(),
            self.ignored.len()
        );
        out
    }
}

fn ignored_plan(ignored: IgnoredIngress) -> IgnoredPlan {
    IgnoredPlan {
        ingress: format!(
            "{}/{}",
            ignored.ingress.namespace.unwrap_or_default(),
            ignored.ingress.name
        ),
        reason: ignored.reason,
    }
}

fn write_stack(out: &mut String, stack: &StackPlan) {
    let _ = writeln!(out, "stack {}", stack.stack);
    if let Some(model) = &stack.model {
        write_model(out, model);
    }
    if let Some(alb) = &stack.alb {
        write_alb(out, alb);
    }
    if !stack.left_out.is_empty() {
        let _ = writeln!(
            out,
            "  left out of the ALB (over a quota, see the errors): {}",
            stack.left_out.join(", ")
        );
    }
    if !stack.diagnostics.is_empty() {
        out.push_str("  diagnostics:\n");
        write_diagnostics(out, &stack.diagnostics);
    }
    out.push('\n');
}

fn write_model(out: &mut String, model: &DesiredLoadBalancer) {
    let members: Vec<String> = model
        .members
        .iter()
        .map(ObjectRef::namespaced_name)
        .collect();
    let _ = writeln!(
        out,
        "  class {}, members: {}",
        model.ingress_class,
        members.join(", ")
    );
    let listeners: Vec<String> = model
        .listeners
        .iter()
        .map(|(port, listener)| match listener.redirect_to_https_port {
            Some(https) => format!("{}:{port} (redirect to HTTPS:{https})", listener.protocol),
            None => format!("{}:{port}", listener.protocol),
        })
        .collect();
    let _ = writeln!(out, "  listeners: {}", listeners.join(", "));
    let _ = writeln!(
        out,
        "  default: {}",
        describe_action(model, &model.default_action)
    );
    out.push_str("  routes (in precedence order):\n");
    for vhost in &model.virtual_hosts {
        match &vhost.host {
            weir_model::HostMatch::WildcardLabels(pattern) => {
                let _ = writeln!(out, "    {pattern} (one or more labels)");
            }
            host => {
                let _ = writeln!(out, "    {host}");
            }
        }
        if vhost.routes.is_empty() {
            out.push_str("      (no paths: every request goes to the default)\n");
        }
        for route in &vhost.routes {
            let _ = writeln!(
                out,
                "      {:<6} {:<28}{} -> {}{}",
                format!("{:?}", route.path.kind),
                route.path.path,
                if route.conditions.is_empty() {
                    String::new()
                } else {
                    format!(" if {}", route.conditions)
                },
                describe_action(model, &route.action),
                describe_filters(&route.filters)
            );
        }
    }
    if !model.certificates.is_empty() {
        out.push_str("  certificates:\n");
        for certificate in &model.certificates {
            let hosts = if certificate.hosts.is_empty() {
                "(default)".to_owned()
            } else {
                certificate.hosts.join(", ")
            };
            let source = match &certificate.source {
                CertificateSource::Secret { secret, material } => {
                    format!("{secret} (sha256 {})", &material.fingerprint[..12])
                }
                CertificateSource::AcmArn(arn) => arn.clone(),
                CertificateSource::Discover => "discovered by host".to_owned(),
            };
            let _ = writeln!(out, "    {hosts} <- {source}");
        }
    }
    if !model.target_groups.is_empty() {
        out.push_str("  target groups:\n");
        for (key, group) in &model.target_groups {
            let targets: Vec<String> = group
                .targets
                .iter()
                .map(|target| {
                    let state = match (
                        target.conditions.accepts_new_requests(),
                        target.conditions.terminating,
                    ) {
                        (true, _) => "ready",
                        (false, true) => "terminating",
                        (false, false) => "not-ready",
                    };
                    format!("{}:{} {state}", target.ip, target.port)
                })
                .collect();
            let listed = if targets.is_empty() {
                "no endpoints".to_owned()
            } else {
                targets.join(", ")
            };
            let _ = writeln!(out, "    {key}: {listed}");
        }
    }
    for (name, value) in &model.settings {
        let _ = writeln!(out, "  setting {name} = {value}");
    }
}

fn describe_filters(filters: &weir_model::RouteFilters) -> String {
    if filters.is_empty() {
        return String::new();
    }
    let mut parts = Vec::new();
    for (label, modifier) in [
        ("request", &filters.request_headers),
        ("response", &filters.response_headers),
    ] {
        for (name, value) in &modifier.set {
            parts.push(format!("{label} set {name}: {value}"));
        }
        for (name, value) in &modifier.add {
            parts.push(format!("{label} add {name}: {value}"));
        }
        for name in &modifier.remove {
            parts.push(format!("{label} remove {name}"));
        }
    }
    if let Some(rewrite) = &filters.rewrite {
        if let Some(host) = &rewrite.host {
            parts.push(format!("rewrite host {host}"));
        }
        if let Some(path) = &rewrite.path {
            parts.push(format!("rewrite path {path}"));
        }
    }
    if let Some(timeout) = filters.timeout_ms {
        parts.push(format!("timeout {timeout}ms"));
    }
    format!(" [{}]", parts.join("; "))
}

fn describe_action(model: &DesiredLoadBalancer, action: &Action) -> String {
    match action {
        Action::Forward { target_group } => {
            let ready = model
                .target_groups
                .get(target_group)
                .map_or(0, |group| group.ready_targets().count());
            format!("{action} ({ready} ready)")
        }
        Action::WeightedForward { targets, .. } => {
            let ready: usize = targets
                .iter()
                .filter_map(|target| model.target_groups.get(&target.target_group))
                .map(|group| group.ready_targets().count())
                .sum();
            format!("{action} ({ready} ready)")
        }
        Action::FixedResponse { .. } | Action::Redirect(_) => action.to_string(),
    }
}

fn write_alb(out: &mut String, alb: &AlbView) {
    out.push_str("  ALB listeners:\n");
    for listener in &alb.listeners {
        let default = match &listener.default {
            ListenerDefault::Action(action) => {
                format!("default {action}, {} rules", alb.rules.len())
            }
            ListenerDefault::RedirectToHttps(port) => format!("redirect to HTTPS:{port}, no rules"),
        };
        let _ = writeln!(
            out,
            "    {}:{}  {default}",
            listener.protocol, listener.port
        );
    }
    out.push_str("  ALB rules (priority, conditions, action):\n");
    for rule in &alb.rules {
        let _ = writeln!(out, "    {rule}");
    }
}

fn write_diagnostics(out: &mut String, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        let _ = writeln!(out, "    {diagnostic}");
    }
}
