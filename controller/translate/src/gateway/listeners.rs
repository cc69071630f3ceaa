//! A Gateway's listeners: which ones weir can serve, their hostnames, their certificates, and
//! which routes they admit (`allowedRoutes`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use weir_model::{Certificate, Diagnostic, HostMatch, Listener, ObjectRef, Protocol, Reason};

use super::grants::{Referent, Referrer, permitted};
use super::hostnames::parse_hostname;
use super::selector::selects;
use super::status::RouteCondition;
use crate::ControllerKind;
use crate::gateway_api::{AllowedRoutes, Gateway, GatewayListener};
use crate::reads::RecordingSnapshot;
use crate::snapshot::namespace_of;
use crate::tls::secret_source;

/// One listener of a Gateway, as routes see it when they attach.
#[derive(Clone, Debug)]
pub(crate) struct ServedListener {
    /// Its name (`sectionName`).
    pub(crate) name: String,
    /// Its port.
    pub(crate) port: u16,
    /// Its hostname; [`HostMatch::Any`] when it has none.
    pub(crate) hostname: HostMatch,
    /// The namespaces whose routes may attach (`allowedRoutes.namespaces`).
    pub(crate) namespaces: AllowedNamespaces,
    /// Whether HTTPRoutes may attach (`allowedRoutes.kinds`, by default those of the protocol).
    pub(crate) allows_http_routes: bool,
    /// Whether weir serves it. A listener it leaves out (a protocol or port it cannot serve)
    /// is kept so that a route naming it gets Gateway API's reason (`NotAllowedByListeners`
    /// for a TLS listener that takes TLSRoutes only, else `NoMatchingParent`).
    pub(crate) served: bool,
}

/// `allowedRoutes.namespaces.from`, with its selector.
#[derive(Clone, Debug)]
pub(crate) enum AllowedNamespaces {
    /// The Gateway's namespace only (the default).
    Same,
    /// Every namespace.
    All,
    /// The namespaces whose labels the selector selects.
    Selector(LabelSelector),
    /// No namespace (`from: None`, or a selector weir cannot evaluate, reported).
    Nothing,
}

impl ServedListener {
    /// Whether an HTTPRoute of `route_namespace` may attach to this listener of a Gateway in
    /// `gateway_namespace`. A selector needs the route's Namespace in the snapshot (its labels
    /// are what it selects); an absent Namespace is not selected.
    pub(crate) fn admits(
        &self,
        route_namespace: &str,
        gateway_namespace: &str,
        snapshot: &RecordingSnapshot<'_>,
    ) -> bool {
        self.allows_http_routes
            && match &self.namespaces {
                AllowedNamespaces::Same => route_namespace == gateway_namespace,
                AllowedNamespaces::All => true,
                AllowedNamespaces::Selector(selector) => snapshot
                    .namespace_labels(route_namespace)
                    .is_some_and(|labels| selects(selector, labels) == Ok(true)),
                AllowedNamespaces::Nothing => false,
            }
    }
}

/// What translation needs of a Gateway's listeners.
#[derive(Debug, Default)]
pub(crate) struct GatewayListeners {
    /// Every listener with a valid port and hostname, served or not.
    pub(crate) served: Vec<ServedListener>,
    /// The model's listeners by port.
    pub(crate) ports: BTreeMap<u16, Listener>,
    /// The certificates of the HTTPS listeners.
    pub(crate) certificates: Vec<Certificate>,
    /// Each listener's `ResolvedRefs` condition, by listener name.
    pub(crate) resolved_refs: BTreeMap<String, RouteCondition>,
}

/// The listeners of `gateway`; a listener weir cannot serve is reported and left out of the
/// model.
pub(crate) fn listeners(
    gateway: &Gateway,
    controller: ControllerKind,
    object: &ObjectRef,
    snapshot: &RecordingSnapshot<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> GatewayListeners {
    let namespace = namespace_of(&gateway.metadata);
    let mut result = GatewayListeners::default();
    for (index, listener) in gateway.spec.listeners.iter().enumerate() {
        let field = format!("spec.listeners[{index}]");
        let Some((port, hostname)) = check(listener, object, &field, diagnostics) else {
            continue;
        };
        let protocol = protocol(listener, object, &field, diagnostics);
        let mut problems = Vec::new();
        let allows_http_routes = allows_http_routes(
            listener.allowed_routes.as_ref(),
            protocol.is_some(),
            object,
            &field,
            diagnostics,
            &mut problems,
        );
        let namespaces = allowed_namespaces(
            listener.allowed_routes.as_ref(),
            object,
            &field,
            diagnostics,
        );
        let mut served = false;
        if let Some(protocol) = protocol
            && servable(
                port,
                protocol,
                controller,
                &result.ports,
                object,
                &field,
                diagnostics,
            )
        {
            served = true;
            if protocol == Protocol::Https {
                result.certificates.extend(listener_certificates(
                    listener,
                    &hostname,
                    namespace,
                    object,
                    &field,
                    snapshot,
                    diagnostics,
                    &mut problems,
                ));
            }
            result.ports.entry(port).or_insert(Listener {
                protocol,
                redirect_to_https_port: None,
            });
        }
        let resolved = match problems.first() {
            None => RouteCondition::new("ResolvedRefs", true, "ResolvedRefs", ""),
            Some((reason, message)) => {
                RouteCondition::new("ResolvedRefs", false, reason, message.clone())
            }
        };
        result.resolved_refs.insert(listener.name.clone(), resolved);
        result.served.push(ServedListener {
            name: listener.name.clone(),
            port,
            hostname,
            namespaces,
            allows_http_routes,
            served,
        });
    }
    result
}

/// Why a listener's references do not all resolve: a Gateway API reason and a message.
type ListenerProblem = (&'static str, String);

/// Whether weir serves a listener with a supported protocol on `port` (reported if not):
/// weir-proxy only HTTP on 80 and HTTPS on 443; one protocol per port.
fn servable(
    port: u16,
    protocol: Protocol,
    controller: ControllerKind,
    ports: &BTreeMap<u16, Listener>,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    if controller == ControllerKind::LocalProxy && !proxy_serves(port, protocol) {
        diagnostics.push(Diagnostic::warning(
            object,
            format!("{field}.port"),
            Reason::UnsupportedByProvider,
            format!("weir-proxy serves HTTP listeners on port 80 (at --http-addr) and HTTPS listeners on port 443 (at --https-addr); this {protocol} listener on port {port} is left out, with the routes attached only to it"),
        ));
        return false;
    }
    if let Some(existing) = ports.get(&port)
        && existing.protocol != protocol
    {
        diagnostics.push(Diagnostic::warning(
            object,
            format!("{field}.protocol"),
            Reason::InvalidField,
            format!(
                "port {port} already has a {} listener; this {protocol} listener is left out",
                existing.protocol
            ),
        ));
        return false;
    }
    true
}

/// `allowedRoutes.namespaces` of a listener; an invalid selector admits nothing (reported).
fn allowed_namespaces(
    allowed: Option<&AllowedRoutes>,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> AllowedNamespaces {
    let namespaces = allowed.and_then(|allowed| allowed.namespaces.as_ref());
    let from = namespaces
        .and_then(|namespaces| namespaces.from.as_deref())
        .unwrap_or("Same");
    let field = format!("{field}.allowedRoutes.namespaces");
    let mut refuse = |field: String, message: String| {
        diagnostics.push(Diagnostic::warning(
            object,
            field,
            Reason::InvalidField,
            format!("{message}; the listener admits no routes"),
        ));
        AllowedNamespaces::Nothing
    };
    match from {
        "Same" => AllowedNamespaces::Same,
        "All" => AllowedNamespaces::All,
        "None" => AllowedNamespaces::Nothing,
        "Selector" => match namespaces.and_then(|namespaces| namespaces.selector.as_ref()) {
            None => refuse(
                format!("{field}.selector"),
                "from: Selector needs a selector".into(),
            ),
            Some(selector) => match selects(selector, &BTreeMap::new()) {
                Ok(_) => AllowedNamespaces::Selector(selector.clone()),
                Err(message) => refuse(format!("{field}.selector"), message),
            },
        },
        other => refuse(
            format!("{field}.from"),
            format!("{other:?} is not Same, All, Selector or None"),
        ),
    }
}

/// Whether `allowedRoutes.kinds` admits HTTPRoutes. Without kinds, a listener takes the kinds
/// of its protocol: HTTPRoute for HTTP and HTTPS, none weir serves for the others. Kinds weir
/// does not serve are reported (`InvalidRouteKinds` when none is left).
fn allows_http_routes(
    allowed: Option<&AllowedRoutes>,
    http_protocol: bool,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
    problems: &mut Vec<ListenerProblem>,
) -> bool {
    let kinds = allowed
        .map(|allowed| &allowed.kinds[..])
        .unwrap_or_default();
    if kinds.is_empty() {
        return http_protocol;
    }
    let mut any_http_route = false;
    for (index, kind) in kinds.iter().enumerate() {
        let http_route = kind.kind == "HTTPRoute"
            && kind
                .group
                .as_deref()
                .is_none_or(|group| group == super::GROUP);
        if http_route {
            any_http_route = true;
        } else if http_protocol {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{field}.allowedRoutes.kinds[{index}]"),
                Reason::UnsupportedByProvider,
                format!(
                    "route kind {:?} is not served by weir (HTTPRoute only)",
                    kind.kind
                ),
            ));
        }
    }
    if http_protocol && !any_http_route {
        problems.push((
            "InvalidRouteKinds",
            "allowedRoutes.kinds names no kind weir serves (HTTPRoute)".into(),
        ));
    }
    http_protocol && any_http_route
}

/// Whether weir-proxy serves a listener: its plain address stands for port 80, its TLS
/// address for port 443.
fn proxy_serves(port: u16, protocol: Protocol) -> bool {
    matches!(
        (port, protocol),
        (80, Protocol::Http) | (443, Protocol::Https)
    )
}

/// The port and hostname of a listener; `None` (reported) when either is invalid.
fn check(
    listener: &GatewayListener,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(u16, HostMatch)> {
    let Some(port) = u16::try_from(listener.port).ok().filter(|port| *port > 0) else {
        diagnostics.push(Diagnostic::warning(
            object,
            format!("{field}.port"),
            Reason::InvalidField,
            format!(
                "port {} is not 1-65535; the listener is left out",
                listener.port
            ),
        ));
        return None;
    };
    let hostname = match parse_hostname(listener.hostname.as_deref()) {
        Ok(hostname) => hostname,
        Err(message) => {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{field}.hostname"),
                Reason::InvalidHost,
                format!("{message}; the listener is left out"),
            ));
            return None;
        }
    };
    Some((port, hostname))
}

/// The listener's protocol if weir serves it (HTTP or HTTPS); `None`, reported, otherwise.
fn protocol(
    listener: &GatewayListener,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Protocol> {
    match listener.protocol.as_str() {
        "HTTP" => Some(Protocol::Http),
        "HTTPS" => Some(Protocol::Https),
        other => {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{field}.protocol"),
                Reason::UnsupportedByProvider,
                format!(
                    "protocol {other:?} is not supported (HTTP or HTTPS); the listener is left out"
                ),
            ));
            None
        }
    }
}

/// The certificates of an HTTPS listener, for its hostname (none: the default certificate).
/// A reference that cannot be used is reported and named in `problems`.
#[allow(clippy::too_many_arguments)]
fn listener_certificates(
    listener: &GatewayListener,
    hostname: &HostMatch,
    namespace: &str,
    object: &ObjectRef,
    field: &str,
    snapshot: &RecordingSnapshot<'_>,
    diagnostics: &mut Vec<Diagnostic>,
    problems: &mut Vec<ListenerProblem>,
) -> Vec<Certificate> {
    let Some(tls) = &listener.tls else {
        diagnostics.push(Diagnostic::warning(
            object,
            format!("{field}.tls"),
            Reason::InvalidField,
            "an HTTPS listener needs tls.certificateRefs; it serves the default certificate",
        ));
        return Vec::new();
    };
    if tls.mode.as_deref().is_some_and(|mode| mode != "Terminate") {
        diagnostics.push(Diagnostic::warning(
            object,
            format!("{field}.tls.mode"),
            Reason::UnsupportedByProvider,
            "only tls.mode Terminate is supported; the listener terminates TLS",
        ));
    }
    let hosts = match hostname {
        HostMatch::Any => Vec::new(),
        other => vec![other.as_str().to_owned()],
    };
    let mut certificates = Vec::new();
    for (index, reference) in tls.certificate_refs.iter().enumerate() {
        let ref_field = format!("{field}.tls.certificateRefs[{index}]");
        let core_secret = reference.group.as_deref().is_none_or(str::is_empty)
            && reference
                .kind
                .as_deref()
                .is_none_or(|kind| kind == "Secret");
        if !core_secret {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{ref_field}.kind"),
                Reason::InvalidField,
                "certificateRefs must name core Secrets; this one is ignored",
            ));
            problems.push((
                "InvalidCertificateRef",
                format!("certificateRefs[{index}] is not a core Secret"),
            ));
            continue;
        }
        let secret_namespace = reference.namespace.as_deref().unwrap_or(namespace);
        let from = Referrer {
            group: super::GROUP,
            kind: "Gateway",
            namespace,
        };
        let to = Referent {
            group: "",
            kind: "Secret",
            namespace: secret_namespace,
            name: &reference.name,
        };
        if !permitted(snapshot, from, to) {
            let message = format!(
                "Secret {secret_namespace}/{} is in another namespace and no ReferenceGrant there permits Gateways of {namespace} to use it",
                reference.name
            );
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{ref_field}.namespace"),
                Reason::RefNotPermitted,
                format!("{message}; it is ignored"),
            ));
            problems.push(("RefNotPermitted", message));
            continue;
        }
        match secret_source(snapshot, secret_namespace, &reference.name) {
            Ok(source) => certificates.push(Certificate {
                hosts: hosts.clone(),
                source,
                origin: object.clone(),
            }),
            Err((reason, message)) => {
                diagnostics.push(Diagnostic::warning(
                    object,
                    format!("{ref_field}.name"),
                    reason,
                    format!("{message}; the listener serves without it"),
                ));
                problems.push(("InvalidCertificateRef", message));
            }
        }
    }
    certificates
}
