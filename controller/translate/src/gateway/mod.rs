//! The Gateway API front end: GatewayClass, Gateway and HTTPRoute (`gateway.networking.k8s.io/v1`)
//! into the same [`DesiredLoadBalancer`] model as Ingresses, one stack per Gateway.
//!
//! ```text
//! GatewayClass (controllerName ours) ─► Gateway ─► listeners (HTTP/HTTPS, hostname, certificates)
//!                                         ▲
//! HTTPRoute ─ parentRefs (sectionName, port) ┘ ─► hostnames ∩ listener hostnames ─► virtual hosts
//!          └─ rules: matches ─► routes; filters; backendRefs ─► weighted forward
//!                                              └─► RouteStatus (Accepted, ResolvedRefs)
//! ```
//!
//! Pure, like the Ingress front end: a bad listener, route, rule or match is reported and left
//! out; the rest of the Gateway is served.

mod grants;
mod hostnames;
mod listener_status;
mod listeners;
mod rules;
mod selector;
mod status;

use std::cmp::Reverse;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use weir_model::{
    Action, DesiredLoadBalancer, Diagnostic, HostMatch, ObjectRef, Reason, Route, StackId,
    VirtualHost,
};

pub use listener_status::ListenerStatus;
pub use status::{RouteCondition, RouteParentStatus, RouteStatus};

use crate::backends::BackendResolver;
use crate::gateway_api::{Gateway, HttpRoute};
use crate::precedence::RouteKey;
use crate::reads::RecordingSnapshot;
use crate::snapshot::namespace_of;
use crate::{ClusterSnapshot, ControllerKind, StackTranslation, Translation};
use hostnames::{intersect, parse_hostname};
use listeners::ServedListener;

/// The Gateway API group.
pub(crate) const GROUP: &str = "gateway.networking.k8s.io";

/// What answers a request no route of a Gateway matches.
const NOT_FOUND_STATUS: u16 = 404;

/// The translation of every Gateway of ours and the status of every route that names one.
#[derive(Clone, Debug, Default)]
pub struct GatewayTranslation {
    /// One stack per Gateway of ours (`gateway:NAMESPACE/NAME`).
    pub translation: Translation,
    /// Per HTTPRoute naming a Gateway of ours: its Accepted and ResolvedRefs conditions.
    pub route_statuses: Vec<RouteStatus>,
    /// Per listener of every Gateway of ours, in spec order: its status.
    pub listener_statuses: Vec<ListenerStatus>,
}

/// Translates every Gateway whose GatewayClass's `controllerName` is `controller`'s, with the
/// HTTPRoutes attached to it, into one stack per Gateway.
pub fn translate_gateways(
    snapshot: &ClusterSnapshot,
    controller: ControllerKind,
) -> GatewayTranslation {
    let mut result = GatewayTranslation::default();
    let routes = ordered_routes(snapshot);
    let mut statuses: BTreeMap<(String, String), RouteStatus> = BTreeMap::new();
    for gateway in snapshot.gateways() {
        if !gateway_is_ours(snapshot, gateway, controller) {
            continue;
        }
        let stack = translate_gateway(gateway, controller, &routes, snapshot);
        for status in stack.route_statuses {
            let key = (
                status.route.namespace.clone().unwrap_or_default(),
                status.route.name.clone(),
            );
            match statuses.entry(key) {
                Entry::Vacant(vacant) => {
                    vacant.insert(status);
                }
                Entry::Occupied(mut occupied) => occupied.get_mut().parents.extend(status.parents),
            }
        }
        result.listener_statuses.extend(stack.listeners);
        result.translation.stacks.push(stack.translation);
    }
    result.route_statuses = statuses.into_values().collect();
    result
}

/// The translation of one Gateway's stack and the status of what it serves, as
/// [`translate_gateway_stack`] computes it.
#[derive(Clone, Debug)]
pub struct GatewayStackTranslation {
    /// The stack (`gateway:NAMESPACE/NAME`), with what it read.
    pub translation: StackTranslation,
    /// Per HTTPRoute naming this Gateway: its conditions towards this Gateway only.
    pub route_statuses: Vec<RouteStatus>,
    /// One entry per listener of the Gateway, in spec order.
    pub listeners: Vec<ListenerStatus>,
}

/// Translates the one Gateway `namespace/name` with the HTTPRoutes attached to it: what the
/// controller's index calls for a Gateway stack, so a change translates only the stacks it
/// affects. `None` when the Gateway is absent or its GatewayClass is not `controller`'s.
/// [`translate_gateways`] is this, for every Gateway of ours.
pub fn translate_gateway_stack(
    snapshot: &ClusterSnapshot,
    controller: ControllerKind,
    namespace: &str,
    name: &str,
) -> Option<GatewayStackTranslation> {
    let gateway = snapshot.gateway(namespace, name)?;
    if !gateway_is_ours(snapshot, gateway, controller) {
        return None;
    }
    Some(translate_gateway(
        gateway,
        controller,
        &ordered_routes(snapshot),
        snapshot,
    ))
}

/// Whether `gateway`'s GatewayClass exists and names `controller`.
pub fn gateway_is_ours(
    snapshot: &ClusterSnapshot,
    gateway: &Gateway,
    controller: ControllerKind,
) -> bool {
    snapshot
        .gateway_class(&gateway.spec.gateway_class_name)
        .is_some_and(|class| class.spec.controller_name == controller.controller_name())
}

/// HTTPRoutes in Gateway API's order: oldest first, then by namespace/name.
fn ordered_routes(snapshot: &ClusterSnapshot) -> Vec<&HttpRoute> {
    let mut routes: Vec<&HttpRoute> = snapshot.http_routes().collect();
    routes.sort_by_key(|route| {
        (
            route
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|time| time.0),
            namespace_of(&route.metadata).to_owned(),
            route.metadata.name.clone(),
        )
    });
    routes
}

fn translate_gateway(
    gateway: &Gateway,
    controller: ControllerKind,
    routes: &[&HttpRoute],
    snapshot: &ClusterSnapshot,
) -> GatewayStackTranslation {
    let namespace = namespace_of(&gateway.metadata).to_owned();
    let name = gateway.metadata.name.clone().unwrap_or_default();
    let object = ObjectRef::namespaced("Gateway", &namespace, &name);
    let stack = StackId::Gateway {
        namespace: namespace.clone(),
        name: name.clone(),
    };
    let recording = RecordingSnapshot::new(snapshot);
    let mut resolver = BackendResolver::new(&recording);
    let mut diagnostics = Vec::new();
    let listeners::GatewayListeners {
        served,
        ports: listeners,
        certificates,
        resolved_refs,
    } = listeners::listeners(gateway, controller, &object, &recording, &mut diagnostics);
    let mut members = vec![object.clone()];
    let mut hosts: BTreeMap<HostKey, Vec<(RouteKey, Route)>> = BTreeMap::new();
    let mut statuses = Vec::new();
    // Listener name -> the routes attached to it.
    let mut attached_routes: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();

    for (position, route) in routes.iter().enumerate() {
        let route_namespace = namespace_of(&route.metadata);
        let route_object = ObjectRef::namespaced(
            "HTTPRoute",
            route_namespace,
            route.metadata.name.as_deref().unwrap_or_default(),
        );
        let mut parents = Vec::new();
        // Each host the route is attached with, and the ports of the listeners that took it.
        let mut route_hosts: Vec<(HostMatch, BTreeSet<u16>)> = Vec::new();
        // Reported only in the stacks of Gateways the route names (below).
        let mut hostname_problems = Vec::new();
        let route_hostnames = route_hostnames(route, &route_object, &mut hostname_problems);
        for (index, parent) in route.spec.parent_refs.iter().enumerate() {
            let names_gateway = parent.group.as_deref().is_none_or(|group| group == GROUP)
                && parent.kind.as_deref().is_none_or(|kind| kind == "Gateway")
                && parent.namespace.as_deref().unwrap_or(route_namespace) == namespace
                && parent.name == name;
            if !names_gateway {
                continue;
            }
            let attached = attach(
                parent,
                route_namespace,
                &namespace,
                &served,
                &route_hostnames,
                &recording,
            );
            let accepted = match &attached {
                Ok((hosts, listener_names)) => {
                    for listener_name in listener_names {
                        attached_routes
                            .entry(listener_name.clone())
                            .or_default()
                            .insert((route_namespace.to_owned(), route_object.name.clone()));
                    }
                    for (host, ports) in hosts {
                        match route_hosts.iter_mut().find(|(known, _)| known == host) {
                            Some((_, known_ports)) => known_ports.extend(ports),
                            None => route_hosts.push((host.clone(), ports.clone())),
                        }
                    }
                    status::RouteCondition::new("Accepted", true, "Accepted", "")
                }
                Err((reason, message)) => {
                    diagnostics.push(Diagnostic::warning(
                        &route_object,
                        format!("spec.parentRefs[{index}]"),
                        Reason::InvalidField,
                        format!("not accepted by {object} ({reason}): {message}"),
                    ));
                    status::RouteCondition::new("Accepted", false, reason, message.clone())
                }
            };
            parents.push(RouteParentStatus {
                gateway: object.clone(),
                section_name: parent.section_name.clone(),
                conditions: vec![accepted],
            });
        }
        if parents.is_empty() {
            continue;
        }
        diagnostics.append(&mut hostname_problems);
        let mut ref_problems = Vec::new();
        if !route_hosts.is_empty() {
            members.push(route_object.clone());
            // The API's default for absent rules: one rule matching every path, no backends.
            let default_rules = [crate::gateway_api::HttpRouteRule::default()];
            let route_rules = match route.spec.rules.is_empty() {
                true => &default_rules[..],
                false => &route.spec.rules[..],
            };
            for (rule_index, rule) in route_rules.iter().enumerate() {
                let rule_routes = rules::rule_routes(
                    rule,
                    rule_index,
                    route_namespace,
                    &route_object,
                    &mut resolver,
                    &mut diagnostics,
                    &mut ref_problems,
                );
                for (host, ports) in &route_hosts {
                    let entry = hosts.entry(HostKey::new(host.clone())).or_default();
                    // A route on every listener of the Gateway needs no listener scope.
                    let scope: Vec<u16> = match ports.len() < listeners.len() {
                        true => ports.iter().copied().collect(),
                        false => Vec::new(),
                    };
                    for model_route in &rule_routes {
                        let mut model_route = model_route.clone();
                        model_route.conditions.listener_ports = scope.clone();
                        let key = RouteKey::new(&model_route, position);
                        entry.push((key, model_route));
                    }
                }
            }
        }
        let resolved = match ref_problems.first() {
            None => status::RouteCondition::new("ResolvedRefs", true, "ResolvedRefs", ""),
            Some((reason, message)) => {
                status::RouteCondition::new("ResolvedRefs", false, reason, message.clone())
            }
        };
        for parent in &mut parents {
            parent.conditions.push(resolved.clone());
        }
        statuses.push(RouteStatus {
            route: route_object.clone(),
            parents,
        });
    }

    let virtual_hosts = hosts
        .into_iter()
        .map(|(key, routes)| VirtualHost {
            routes: crate::precedence::ordered_routes(&key.host, routes, &mut diagnostics),
            host: key.host,
            redirect_to_https_port: None,
        })
        .collect();
    diagnostics.append(&mut resolver.diagnostics);
    diagnostics.sort();
    diagnostics.dedup();
    let listener_statuses = listener_status::listener_statuses(
        gateway,
        &object,
        &served,
        &resolved_refs,
        &attached_routes,
        &diagnostics,
    );
    let desired = DesiredLoadBalancer {
        stack: stack.clone(),
        ingress_class: gateway.spec.gateway_class_name.clone(),
        members,
        listeners,
        virtual_hosts,
        default_action: Action::status(NOT_FOUND_STATUS),
        target_groups: resolver.target_groups,
        certificates,
        settings: BTreeMap::new(),
    };
    GatewayStackTranslation {
        translation: StackTranslation {
            stack,
            desired: Some(desired),
            diagnostics,
            reads: recording.into_reads(),
        },
        route_statuses: statuses,
        listeners: listener_statuses,
    }
}

/// The route's hostnames; invalid ones are reported and left out.
fn route_hostnames(
    route: &HttpRoute,
    object: &ObjectRef,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<HostMatch> {
    let mut hosts = Vec::new();
    for (index, hostname) in route.spec.hostnames.iter().enumerate() {
        match parse_hostname(Some(hostname)) {
            Ok(HostMatch::Any) => {}
            Ok(host) => hosts.push(host),
            Err(message) => diagnostics.push(Diagnostic::warning(
                object,
                format!("spec.hostnames[{index}]"),
                Reason::InvalidHost,
                format!("{message}; the hostname is left out"),
            )),
        }
    }
    hosts
}

/// What a parentRef attaches: each of the route's hosts with the ports of the listeners that
/// admit it, and those listeners' names.
type Attachment = (Vec<(HostMatch, BTreeSet<u16>)>, BTreeSet<String>);

/// The hosts a parentRef attaches the route with, or the Gateway API reason it is not
/// accepted: `NoMatchingParent` (no such listener), `NotAllowedByListeners`, or
/// `NoMatchingListenerHostname`.
fn attach(
    parent: &crate::gateway_api::ParentReference,
    route_namespace: &str,
    gateway_namespace: &str,
    served: &[ServedListener],
    route_hostnames: &[HostMatch],
    snapshot: &RecordingSnapshot<'_>,
) -> Result<Attachment, (&'static str, String)> {
    let selected: Vec<&ServedListener> = served
        .iter()
        .filter(|listener| {
            parent
                .section_name
                .as_deref()
                .is_none_or(|section| section == listener.name)
                && parent
                    .port
                    .is_none_or(|port| port == i64::from(listener.port))
        })
        .collect();
    if selected.is_empty() {
        return Err((
            "NoMatchingParent",
            "no listener of the Gateway has this sectionName and port".into(),
        ));
    }
    let allowed: Vec<&&ServedListener> = selected
        .iter()
        .filter(|listener| listener.admits(route_namespace, gateway_namespace, snapshot))
        .collect();
    if allowed.is_empty() {
        return Err((
            "NotAllowedByListeners",
            "the listeners' allowedRoutes (namespaces, kinds) do not admit this route".into(),
        ));
    }
    let allowed: Vec<&&ServedListener> = allowed
        .into_iter()
        .filter(|listener| listener.served)
        .collect();
    if allowed.is_empty() {
        return Err((
            "NoMatchingParent",
            "the listeners it names are not served by weir (see the Gateway's diagnostics)".into(),
        ));
    }
    let mut hosts: Vec<(HostMatch, BTreeSet<u16>)> = Vec::new();
    let mut names = BTreeSet::new();
    for listener in allowed {
        let listener_hosts = intersect(route_hostnames, &listener.hostname);
        if !listener_hosts.is_empty() {
            names.insert(listener.name.clone());
        }
        for host in listener_hosts {
            match hosts.iter_mut().find(|(known, _)| *known == host) {
                Some((_, ports)) => {
                    ports.insert(listener.port);
                }
                None => hosts.push((host, BTreeSet::from([listener.port]))),
            }
        }
    }
    if hosts.is_empty() {
        return Err((
            "NoMatchingListenerHostname",
            "none of the route's hostnames matches a listener's hostname".into(),
        ));
    }
    Ok((hosts, names))
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
                (1, Reverse(pattern.len()))
            }
            HostMatch::Any => (2, Reverse(0)),
        };
        Self { tier, host }
    }
}
