//! A Gateway's listeners: which ones weir can serve, their hostnames and their certificates.

use std::collections::BTreeMap;

use weir_model::{Certificate, Diagnostic, HostMatch, Listener, ObjectRef, Protocol, Reason};

use super::hostnames::parse_hostname;
use crate::ControllerKind;
use crate::gateway_api::{Gateway, GatewayListener};
use crate::reads::RecordingSnapshot;
use crate::snapshot::namespace_of;
use crate::tls::secret_source;

/// One listener weir serves.
#[derive(Clone, Debug)]
pub(crate) struct ServedListener {
    /// Its name (`sectionName`).
    pub(crate) name: String,
    /// Its port.
    pub(crate) port: u16,
    /// Its hostname; [`HostMatch::Any`] when it has none.
    pub(crate) hostname: HostMatch,
    /// Whether routes of every namespace may attach (`from: All`), else only the Gateway's.
    pub(crate) all_namespaces: bool,
    /// Whether HTTPRoutes may attach (`allowedRoutes.kinds` empty or naming HTTPRoute).
    pub(crate) allows_http_routes: bool,
}

/// The served listeners of `gateway` and the model's listeners by port, with the
/// certificates of its HTTPS listeners. A listener weir cannot serve is reported and left out.
pub(crate) fn listeners(
    gateway: &Gateway,
    controller: ControllerKind,
    object: &ObjectRef,
    snapshot: &RecordingSnapshot<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (
    Vec<ServedListener>,
    BTreeMap<u16, Listener>,
    Vec<Certificate>,
) {
    let namespace = namespace_of(&gateway.metadata);
    let mut served = Vec::new();
    let mut ports: BTreeMap<u16, Listener> = BTreeMap::new();
    let mut certificates = Vec::new();
    for (index, listener) in gateway.spec.listeners.iter().enumerate() {
        let field = format!("spec.listeners[{index}]");
        let Some((port, protocol, hostname)) = check(listener, object, &field, diagnostics) else {
            continue;
        };
        if controller == ControllerKind::LocalProxy && !proxy_serves(port, protocol) {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{field}.port"),
                Reason::UnsupportedByProvider,
                format!("weir-proxy serves HTTP listeners on port 80 (at --http-addr) and HTTPS listeners on port 443 (at --https-addr); this {protocol} listener on port {port} is left out, with the routes attached only to it"),
            ));
            continue;
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
            continue;
        }
        if protocol == Protocol::Https {
            certificates.extend(listener_certificates(
                listener,
                &hostname,
                namespace,
                object,
                &field,
                snapshot,
                diagnostics,
            ));
        }
        ports.entry(port).or_insert(Listener {
            protocol,
            redirect_to_https_port: None,
        });
        let allowed = listener.allowed_routes.as_ref();
        let from = allowed
            .and_then(|allowed| allowed.namespaces.as_ref())
            .and_then(|namespaces| namespaces.from.as_deref())
            .unwrap_or("Same");
        let all_namespaces = match from {
            "Same" => false,
            "All" => true,
            other => {
                diagnostics.push(Diagnostic::warning(
                    object,
                    format!("{field}.allowedRoutes.namespaces.from"),
                    Reason::UnsupportedByProvider,
                    format!("{other:?} is not supported (Same or All); only routes of the Gateway's namespace attach"),
                ));
                false
            }
        };
        let allows_http_routes = allowed.is_none_or(|allowed| {
            allowed.kinds.is_empty()
                || allowed.kinds.iter().any(|kind| {
                    kind.kind == "HTTPRoute"
                        && kind
                            .group
                            .as_deref()
                            .is_none_or(|group| group == super::GROUP)
                })
        });
        served.push(ServedListener {
            name: listener.name.clone(),
            port,
            hostname,
            all_namespaces,
            allows_http_routes,
        });
    }
    (served, ports, certificates)
}

/// Whether weir-proxy serves a listener: its plain address stands for port 80, its TLS
/// address for port 443.
fn proxy_serves(port: u16, protocol: Protocol) -> bool {
    matches!(
        (port, protocol),
        (80, Protocol::Http) | (443, Protocol::Https)
    )
}

/// The port, protocol and hostname of a listener weir can serve; `None` (reported) otherwise.
fn check(
    listener: &GatewayListener,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(u16, Protocol, HostMatch)> {
    let protocol = match listener.protocol.as_str() {
        "HTTP" => Protocol::Http,
        "HTTPS" => Protocol::Https,
        other => {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{field}.protocol"),
                Reason::UnsupportedByProvider,
                format!(
                    "protocol {other:?} is not supported (HTTP or HTTPS); the listener is left out"
                ),
            ));
            return None;
        }
    };
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
    Some((port, protocol, hostname))
}

/// The certificates of an HTTPS listener, for its hostname (none: the default certificate).
fn listener_certificates(
    listener: &GatewayListener,
    hostname: &HostMatch,
    namespace: &str,
    object: &ObjectRef,
    field: &str,
    snapshot: &RecordingSnapshot<'_>,
    diagnostics: &mut Vec<Diagnostic>,
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
            continue;
        }
        let secret_namespace = reference.namespace.as_deref().unwrap_or(namespace);
        if secret_namespace != namespace {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{ref_field}.namespace"),
                Reason::InvalidField,
                "Secrets of other namespaces need a ReferenceGrant, which weir does not read yet; this one is ignored",
            ));
            continue;
        }
        match secret_source(snapshot, secret_namespace, &reference.name) {
            Ok(source) => certificates.push(Certificate {
                hosts: hosts.clone(),
                source,
                origin: object.clone(),
            }),
            Err((reason, message)) => diagnostics.push(Diagnostic::warning(
                object,
                format!("{ref_field}.name"),
                reason,
                format!("{message}; the listener serves without it"),
            )),
        }
    }
    certificates
}
