//! Backends: an Ingress backend resolved through its Service and EndpointSlices into a target
//! group of pod endpoints.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::ServicePort;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::IngressBackend;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use weir_model::{
    Action, Diagnostic, EndpointConditions, ObjectRef, Reason, Target, TargetGroup, TargetGroupKey,
};

use crate::reads::RecordingSnapshot;

/// A Service port as an Ingress backend names it.
enum PortRef {
    Number(u16),
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::Name(name) => write!(f, "{name:?}"),
        }
    }
}

/// What a route whose backend cannot be resolved answers.
const UNRESOLVED_STATUS: u16 = 503;

/// Resolves backends of one stack, sharing target groups between routes.
pub(crate) struct BackendResolver<'a> {
    snapshot: &'a RecordingSnapshot<'a>,
    pub(crate) target_groups: BTreeMap<TargetGroupKey, TargetGroup>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> BackendResolver<'a> {
    pub(crate) fn new(snapshot: &'a RecordingSnapshot<'a>) -> Self {
        Self {
            snapshot,
            target_groups: BTreeMap::new(),
            diagnostics: Vec::new(),
        }
    }

    /// The objects lookups go through (and are recorded by).
    pub(crate) fn snapshot(&self) -> &'a RecordingSnapshot<'a> {
        self.snapshot
    }

    /// The action for `backend` of Ingress `ingress` in `namespace`, declared at `field`.
    /// Anything unresolvable answers 503 and is reported.
    pub(crate) fn resolve(
        &mut self,
        backend: &IngressBackend,
        namespace: &str,
        ingress: &ObjectRef,
        field: &str,
    ) -> Action {
        match self.try_resolve(backend, namespace, field) {
            Ok(action) => action,
            Err((field, reason, message)) => {
                self.diagnostics.push(Diagnostic::warning(
                    ingress,
                    field,
                    reason,
                    format!("{message}; the route answers {UNRESOLVED_STATUS}"),
                ));
                Action::status(UNRESOLVED_STATUS)
            }
        }
    }

    fn try_resolve(
        &mut self,
        backend: &IngressBackend,
        namespace: &str,
        field: &str,
    ) -> Result<Action, (String, Reason, String)> {
        if backend.resource.is_some() {
            return Err((
                format!("{field}.resource"),
                Reason::UnsupportedBackend,
                "resource backends are not supported; use a Service backend".into(),
            ));
        }
        let Some(service_backend) = &backend.service else {
            return Err((
                format!("{field}.service"),
                Reason::InvalidField,
                "backend names no service".into(),
            ));
        };
        let port_field = format!("{field}.service.port");
        let port = match service_backend
            .port
            .as_ref()
            .map(|port| (port.number, port.name.as_deref()))
        {
            Some((Some(number), None)) => match u16::try_from(number) {
                Ok(number) if number > 0 => PortRef::Number(number),
                _ => {
                    return Err((
                        format!("{port_field}.number"),
                        Reason::InvalidField,
                        format!("port {number} is not 1-65535"),
                    ));
                }
            },
            Some((None, Some(name))) if !name.is_empty() => PortRef::Name(name.to_owned()),
            _ => {
                return Err((
                    port_field,
                    Reason::InvalidField,
                    "exactly one of port.number and port.name is required".into(),
                ));
            }
        };
        let name = &service_backend.name;
        let Some(service) = self.snapshot.service(namespace, name) else {
            return Err((
                format!("{field}.service.name"),
                Reason::ServiceNotFound,
                format!("Service {namespace}/{name} not found"),
            ));
        };
        let spec = service.spec.as_ref();
        if spec.and_then(|spec| spec.type_.as_deref()) == Some("ExternalName") {
            return Err((
                format!("{field}.service.name"),
                Reason::UnsupportedBackend,
                format!(
                    "Service {namespace}/{name} is of type ExternalName, which has no endpoints"
                ),
            ));
        }
        let ports = spec
            .and_then(|spec| spec.ports.as_deref())
            .unwrap_or_default();
        let Some(service_port) = ports.iter().find(|candidate| match &port {
            PortRef::Number(number) => candidate.port == i32::from(*number),
            PortRef::Name(name) => candidate.name.as_deref() == Some(name.as_str()),
        }) else {
            return Err((
                port_field,
                Reason::ServicePortNotFound,
                format!("Service {namespace}/{name} has no port {port}"),
            ));
        };
        let Ok(port) = u16::try_from(service_port.port) else {
            return Err((
                port_field,
                Reason::InvalidField,
                format!(
                    "Service {namespace}/{name} port {} is not 1-65535",
                    service_port.port
                ),
            ));
        };
        let key = TargetGroupKey {
            namespace: namespace.to_owned(),
            service: name.clone(),
            port,
        };
        if !self.target_groups.contains_key(&key) {
            let group = self.target_group(namespace, name, service_port);
            self.target_groups.insert(key.clone(), group);
        }
        Ok(Action::Forward { target_group: key })
    }

    fn target_group(
        &mut self,
        namespace: &str,
        service: &str,
        service_port: &ServicePort,
    ) -> TargetGroup {
        let mut targets: Vec<Target> = Vec::new();
        for slice in self.snapshot.endpoint_slices(namespace, service) {
            self.collect_targets(slice, service_port, &mut targets);
        }
        // An address listed by two slices (as happens while slices are rebalanced) counts once,
        // with its most available conditions.
        targets.sort_by_key(|target| {
            (
                target.ip,
                target.port,
                !target.conditions.accepts_new_requests(),
                !target.conditions.serving,
            )
        });
        targets.dedup_by(|later, earlier| later.ip == earlier.ip && later.port == earlier.port);
        TargetGroup { targets }
    }

    /// Adds the endpoints of one slice for one Service port. The slice's port of the same name
    /// as the Service port gives the pods' port; a slice that lists no ports falls back to a
    /// numeric `targetPort`.
    fn collect_targets(
        &mut self,
        slice: &EndpointSlice,
        service_port: &ServicePort,
        targets: &mut Vec<Target>,
    ) {
        if !matches!(slice.address_type.as_str(), "IPv4" | "IPv6") {
            return;
        }
        let wanted_name = service_port.name.as_deref().unwrap_or_default();
        let slice_port = match slice.ports.as_deref() {
            Some(ports) if !ports.is_empty() => ports
                .iter()
                .find(|port| port.name.as_deref().unwrap_or_default() == wanted_name)
                .and_then(|port| port.port),
            _ => match &service_port.target_port {
                Some(IntOrString::Int(port)) => Some(*port),
                Some(IntOrString::String(_)) => None,
                None => Some(service_port.port),
            },
        };
        let Some(port) = slice_port
            .and_then(|port| u16::try_from(port).ok())
            .filter(|port| *port > 0)
        else {
            return;
        };
        let slice_ref = ObjectRef::namespaced(
            "EndpointSlice",
            slice.metadata.namespace.as_deref().unwrap_or("default"),
            slice.metadata.name.as_deref().unwrap_or_default(),
        );
        for (index, endpoint) in slice.endpoints.iter().enumerate() {
            let conditions = endpoint.conditions.as_ref();
            let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
            let conditions = EndpointConditions {
                ready,
                serving: conditions.and_then(|c| c.serving).unwrap_or(ready),
                terminating: conditions.and_then(|c| c.terminating).unwrap_or(false),
            };
            for address in &endpoint.addresses {
                match address.parse::<IpAddr>() {
                    Ok(ip) => targets.push(Target {
                        ip,
                        port,
                        conditions,
                        zone: endpoint.zone.clone(),
                    }),
                    Err(_) => self.diagnostics.push(Diagnostic::warning(
                        &slice_ref,
                        format!("endpoints[{index}].addresses"),
                        Reason::InvalidField,
                        format!("address {address:?} is not an IP address; skipped"),
                    )),
                }
            }
        }
    }
}
