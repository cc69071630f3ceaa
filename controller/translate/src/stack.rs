//! One stack: its members' rules merged into ordered virtual hosts.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};
use weir_model::{
    Action, DesiredLoadBalancer, Diagnostic, HostMatch, ObjectRef, Reason, Route, RouteConditions,
    RouteFilters, RouteSource, StackId, VirtualHost,
};

use crate::backends::BackendResolver;
use crate::custom;
use crate::grouping::Member;
use crate::hosts::parse_host;
use crate::paths::{PathError, parse_path};
use crate::precedence::{self, RouteKey};
use crate::reads::{Reads, RecordingSnapshot};
use crate::snapshot::namespace_of;
use crate::{ClusterSnapshot, StackTranslation, Stacking, alb_settings, listeners, tls};

/// What answers when no route matches and the stack has no default backend.
const NOT_FOUND_STATUS: u16 = 404;

/// Translates one stack's members (already in group order).
pub(crate) fn translate_stack(
    stack: StackId,
    members: &[Member<'_>],
    snapshot: &ClusterSnapshot,
    stacking: Stacking,
) -> StackTranslation {
    let Some(first) = members.first() else {
        return StackTranslation {
            stack,
            desired: None,
            diagnostics: Vec::new(),
            reads: Reads::default(),
        };
    };
    let recording = RecordingSnapshot::new(snapshot);
    let mut resolver = BackendResolver::new(&recording);
    let mut diagnostics = Vec::new();
    // Per host: the position of the first member that declares it, and its routes.
    let mut hosts: BTreeMap<HostKey, (usize, Vec<(RouteKey, Route)>)> = BTreeMap::new();
    let mut default_action = None;
    let mut certificates = Vec::new();

    for (position, member) in members.iter().enumerate() {
        let ingress = member.selected.ingress;
        let object = &member.selected.object;
        diagnostics.extend(member.selected.diagnostics.iter().cloned());
        let namespace = namespace_of(&ingress.metadata);
        let Some(spec) = &ingress.spec else { continue };

        if let Some(backend) = &spec.default_backend {
            if custom::uses_annotation(backend).is_some() {
                diagnostics.push(Diagnostic::warning(
                    object,
                    "spec.defaultBackend.service.port.name",
                    Reason::UnsupportedBackend,
                    "use-annotation actions are supported on paths only; this default backend is ignored",
                ));
            } else if default_action.is_none() {
                default_action =
                    Some(resolver.resolve(backend, namespace, object, "spec.defaultBackend"));
            } else {
                diagnostics.push(Diagnostic::warning(
                    object,
                    "spec.defaultBackend",
                    Reason::DuplicateDefaultBackend,
                    format!("stack {stack} already has a default backend from an earlier member; this one is ignored"),
                ));
            }
        }

        for (rule_index, rule) in spec.rules.iter().flatten().enumerate() {
            let host = match parse_host(rule.host.as_deref()) {
                Ok(host) => host,
                Err(message) => {
                    diagnostics.push(Diagnostic::warning(
                        object,
                        format!("spec.rules[{rule_index}].host"),
                        Reason::InvalidHost,
                        format!("{message}; the rule is dropped"),
                    ));
                    continue;
                }
            };
            let (_, routes) = hosts
                .entry(HostKey::new(host))
                .or_insert_with(|| (position, Vec::new()));
            let paths = rule
                .http
                .as_ref()
                .map(|http| http.paths.as_slice())
                .unwrap_or_default();
            for (path_index, path) in paths.iter().enumerate() {
                let field = format!("spec.rules[{rule_index}].http.paths[{path_index}]");
                let path_match = match parse_path(&path.path_type, path.path.as_deref()) {
                    Ok(path_match) => path_match,
                    Err(error) => {
                        let (field, message) = match error {
                            PathError::PathType(message) => (format!("{field}.pathType"), message),
                            PathError::Path(message) => (format!("{field}.path"), message),
                        };
                        diagnostics.push(Diagnostic::warning(
                            object,
                            field,
                            Reason::InvalidPath,
                            format!("{message}; the path is dropped"),
                        ));
                        continue;
                    }
                };
                let custom = custom_route(
                    &path.backend,
                    ingress,
                    namespace,
                    object,
                    &field,
                    &mut resolver,
                );
                let (conditions, action) = match custom {
                    Ok(Some(custom)) => custom,
                    Ok(None) => (
                        RouteConditions::default(),
                        resolver.resolve(
                            &path.backend,
                            namespace,
                            object,
                            &format!("{field}.backend"),
                        ),
                    ),
                    Err(problem) => {
                        diagnostics.push(Diagnostic::warning(
                            object,
                            problem.field,
                            Reason::InvalidField,
                            format!("{} (used by {field}); the path is dropped", problem.message),
                        ));
                        continue;
                    }
                };
                let source = RouteSource {
                    ingress: object.clone(),
                    rule: rule_index,
                    path: path_index,
                };
                let route = Route {
                    path: path_match,
                    conditions,
                    action,
                    filters: RouteFilters::default(),
                    source,
                };
                routes.push((RouteKey::new(&route, position), route));
            }
        }
        certificates.extend(tls::certificates(
            ingress,
            object,
            namespace,
            &recording,
            &mut diagnostics,
        ));
    }

    let ports = listeners::ports(members, !certificates.is_empty(), &mut diagnostics);
    let redirects = listeners::member_redirects(members, &ports, &mut diagnostics);
    let (listener_redirect, host_redirects) = match stacking {
        Stacking::PerGroup => (
            listeners::group_redirect(members, &redirects, &mut diagnostics),
            vec![None; members.len()],
        ),
        Stacking::PerClass => (None, redirects),
    };
    let virtual_hosts = hosts
        .into_iter()
        .map(|(key, (declared_by, routes))| VirtualHost {
            routes: precedence::ordered_routes(&key.host, routes, &mut diagnostics),
            host: key.host,
            redirect_to_https_port: host_redirects[declared_by],
        })
        .collect();
    let listeners = listeners::listeners(&ports, listener_redirect);
    let settings = alb_settings::settings(members, &mut diagnostics);
    diagnostics.append(&mut resolver.diagnostics);
    diagnostics.sort();
    diagnostics.dedup();
    let target_groups = resolver.target_groups;
    let reads = recording.into_reads();

    let desired = DesiredLoadBalancer {
        ingress_class: first.selected.class.clone(),
        members: members
            .iter()
            .map(|member| member.selected.object.clone())
            .collect(),
        listeners,
        virtual_hosts,
        default_action: default_action.unwrap_or(Action::status(NOT_FOUND_STATUS)),
        target_groups,
        certificates,
        settings,
        stack: stack.clone(),
    };
    StackTranslation {
        stack,
        desired: Some(desired),
        diagnostics,
        reads,
    }
}

/// Virtual host precedence: exact hosts, then wildcards with more labels first, then no host.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct HostKey {
    tier: (u8, Reverse<usize>),
    host: HostMatch,
}

impl HostKey {
    fn new(host: HostMatch) -> Self {
        let tier = match &host {
            HostMatch::Exact(_) => (0, Reverse(0)),
            HostMatch::Wildcard(pattern) | HostMatch::WildcardLabels(pattern) => {
                (1, Reverse(pattern.split('.').count()))
            }
            HostMatch::Any => (2, Reverse(0)),
        };
        Self { tier, host }
    }
}

/// The conditions and action of a path whose backend uses `conditions.NAME` or
/// `actions.NAME` annotations; `None` when it uses neither (a plain Service backend).
fn custom_route(
    backend: &IngressBackend,
    ingress: &Ingress,
    namespace: &str,
    object: &ObjectRef,
    field: &str,
    resolver: &mut BackendResolver<'_>,
) -> Result<Option<(RouteConditions, Action)>, custom::CustomError> {
    let Some(name) = backend
        .service
        .as_ref()
        .map(|service| service.name.as_str())
    else {
        return Ok(None);
    };
    let conditions = custom::conditions(ingress, name)?;
    let action = match custom::uses_annotation(backend) {
        Some(name) => custom::action(ingress, name, namespace, object, resolver)?,
        None if conditions.is_empty() => return Ok(None),
        None => resolver.resolve(backend, namespace, object, &format!("{field}.backend")),
    };
    Ok(Some((conditions, action)))
}
