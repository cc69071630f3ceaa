//! The Gateway and HTTPRoute status weir writes, computed purely from a Gateway stack's
//! translation and the provider's outcome:
//!
//! ```text
//! GatewayStackTranslation ─┬─ listeners[] (Accepted, ResolvedRefs) ─┐
//! provider outcome ────────┴─ Programmed, addresses ────────────────┴─► Gateway.status
//! RouteStatus (per Gateway) ─► our parents[] entries; another controller's entries kept ─► HTTPRoute.status
//! ```
//!
//! Each condition carries the object's `observedGeneration` and a message (never empty); its
//! `lastTransitionTime` is kept from the current status while the condition's status is
//! unchanged, so an unchanged status is written as exactly what the server already holds (and
//! the write is skipped).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use weir_model::{LoadBalancerAddress, ObjectRef};
use weir_translate::{GatewayStackTranslation, HttpRoute, RouteCondition, RouteStatus};

use crate::gateway_writes::current_parents;

/// The Gateway API group.
const GROUP: &str = "gateway.networking.k8s.io";

/// Whether the provider serves the Gateway's load balancer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Programmed {
    /// In sync, with an address.
    Yes,
    /// In sync, but no address is known yet.
    NoAddress(String),
    /// The provider refused the model (invalid or unsupported): fixing the Gateway is needed.
    Invalid(String),
    /// The provider failed for now (throttled, not ready, transient): it retries.
    Pending(String),
}

impl Programmed {
    fn condition(&self) -> (bool, &'static str, &str) {
        match self {
            Self::Yes => (true, "Programmed", ""),
            Self::NoAddress(message) => (false, "AddressNotAssigned", message),
            Self::Invalid(message) => (false, "Invalid", message),
            Self::Pending(message) => (false, "Pending", message),
        }
    }
}

/// The Gateway's `status` (`addresses`, `conditions`, `listeners`). `current` is the status
/// the server holds, for the transition times.
pub(crate) fn gateway_status(
    translation: &GatewayStackTranslation,
    generation: Option<i64>,
    addresses: &[LoadBalancerAddress],
    programmed: &Programmed,
    current: Option<&Value>,
    now: &str,
) -> Value {
    let current_conditions = conditions_of(current);
    let accepted_any = translation
        .listeners
        .iter()
        .any(|listener| listener.conditions.first().is_some_and(|c| c.status));
    let accepted = match accepted_any || translation.listeners.is_empty() {
        true => (true, "Accepted", ""),
        false => (
            false,
            "ListenersNotValid",
            "no listener of the Gateway can be served",
        ),
    };
    let (programmed_status, programmed_reason, programmed_message) = programmed.condition();
    let stamp = Stamp { generation, now };
    let conditions = vec![
        stamp.condition("Accepted", accepted, current_conditions),
        stamp.condition(
            "Programmed",
            (programmed_status, programmed_reason, programmed_message),
            current_conditions,
        ),
    ];
    let current_listeners = current
        .and_then(|status| status.get("listeners"))
        .and_then(Value::as_array);
    let listeners: Vec<Value> = translation
        .listeners
        .iter()
        .map(|listener| {
            let previous = current_listeners
                .into_iter()
                .flatten()
                .find(|entry| entry.get("name").and_then(Value::as_str) == Some(&listener.name));
            let previous = conditions_of(previous);
            let listener_accepted = listener.conditions.first().is_some_and(|c| c.status);
            let listener_programmed = match (listener_accepted, programmed_status) {
                (false, _) => (false, "Invalid", "the listener is not accepted"),
                (true, true) => (true, "Programmed", ""),
                (true, false) => (false, "Pending", programmed_message),
            };
            let mut conditions: Vec<Value> = listener
                .conditions
                .iter()
                .map(|condition| stamp.route_condition(condition, previous))
                .collect();
            conditions.push(stamp.condition("Programmed", listener_programmed, previous));
            let kinds: Vec<Value> = listener
                .supported_kinds
                .iter()
                .map(|kind| json!({"group": GROUP, "kind": kind}))
                .collect();
            json!({
                "name": listener.name,
                "supportedKinds": kinds,
                "attachedRoutes": listener.attached_routes,
                "conditions": conditions,
            })
        })
        .collect();
    let addresses: Vec<Value> = addresses
        .iter()
        .map(|address| match address {
            LoadBalancerAddress::Ip(ip) => json!({"type": "IPAddress", "value": ip}),
            LoadBalancerAddress::Hostname(name) => json!({"type": "Hostname", "value": name}),
        })
        .collect();
    json!({
        "addresses": addresses,
        "conditions": conditions,
        "listeners": listeners,
    })
}

/// The route's `status.parents` with this Gateway's entries (ours) set from `status` and every
/// other entry (another controller's, or ours for another Gateway) kept as the server holds it.
/// Our entries take the place of the first one they replace, else go last.
pub(crate) fn route_parents(
    status: &RouteStatus,
    route: &HttpRoute,
    gateway: &ObjectRef,
    controller_name: &str,
    now: &str,
) -> Vec<Value> {
    let current = current_parents(route);
    let ours_for_gateway = |entry: &Value| ours_for(entry, route, gateway, controller_name);
    let stamp = Stamp {
        generation: route.metadata.generation,
        now,
    };
    let ours: Vec<Value> = status
        .parents
        .iter()
        .filter(|parent| parent.gateway == *gateway)
        .map(|parent| {
            let previous = current.iter().find(|entry| {
                ours_for_gateway(entry)
                    && entry["parentRef"]
                        .get("sectionName")
                        .and_then(Value::as_str)
                        == parent.section_name.as_deref()
            });
            let previous = conditions_of(previous);
            let mut parent_ref = json!({
                "group": GROUP,
                "kind": "Gateway",
                "namespace": gateway.namespace,
                "name": gateway.name,
            });
            if let Some(section) = &parent.section_name {
                parent_ref["sectionName"] = json!(section);
            }
            let conditions: Vec<Value> = parent
                .conditions
                .iter()
                .map(|condition| stamp.route_condition(condition, previous))
                .collect();
            json!({
                "parentRef": parent_ref,
                "controllerName": controller_name,
                "conditions": conditions,
            })
        })
        .collect();
    let mut parents = Vec::new();
    let mut ours = Some(ours);
    for entry in current {
        if ours_for_gateway(entry) {
            parents.extend(ours.take().into_iter().flatten());
        } else {
            parents.push(entry.clone());
        }
    }
    parents.extend(ours.into_iter().flatten());
    parents
}

/// The route's `status.parents` without weir's entries for `gateway`, when it has any: the
/// route no longer attaches to the Gateway (or the Gateway is gone). `None`: nothing to remove.
pub(crate) fn without_gateway(
    route: &HttpRoute,
    gateway: &ObjectRef,
    controller_name: &str,
) -> Option<Vec<Value>> {
    let current = current_parents(route);
    let kept: Vec<Value> = current
        .iter()
        .filter(|entry| !ours_for(entry, route, gateway, controller_name))
        .cloned()
        .collect();
    (kept.len() < current.len()).then_some(kept)
}

/// Whether a `status.parents[]` entry is weir's (`controller_name`) for `gateway`.
fn ours_for(entry: &Value, route: &HttpRoute, gateway: &ObjectRef, controller_name: &str) -> bool {
    let parent = &entry["parentRef"];
    let route_namespace = weir_translate::namespace_of(&route.metadata);
    entry.get("controllerName").and_then(Value::as_str) == Some(controller_name)
        && parent.get("name").and_then(Value::as_str) == Some(gateway.name.as_str())
        && parent
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or(route_namespace)
            == gateway.namespace.as_deref().unwrap_or_default()
}

/// What every condition written in one pass shares.
struct Stamp<'a> {
    generation: Option<i64>,
    now: &'a str,
}

impl Stamp<'_> {
    fn route_condition(&self, condition: &RouteCondition, previous: &[Value]) -> Value {
        self.condition(
            condition.type_,
            (condition.status, condition.reason, &condition.message),
            previous,
        )
    }

    /// One condition; its transition time is the previous one's when the status is the same.
    fn condition(
        &self,
        type_: &str,
        (status, reason, message): (bool, &str, &str),
        previous: &[Value],
    ) -> Value {
        let message = match message {
            "" => default_message(type_, status),
            given => given.to_owned(),
        };
        let status = if status { "True" } else { "False" };
        let since = previous
            .iter()
            .find(|condition| {
                condition.get("type").and_then(Value::as_str) == Some(type_)
                    && condition.get("status").and_then(Value::as_str) == Some(status)
            })
            .and_then(|condition| condition.get("lastTransitionTime"))
            .cloned()
            .unwrap_or_else(|| json!(self.now));
        json!({
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "observedGeneration": self.generation.unwrap_or(0),
            "lastTransitionTime": since,
        })
    }
}

/// The message of a condition translation gave none: the API allows an empty one, but
/// Kubernetes 1.20 (as built here) refuses `""` where a string is required, and a reader is
/// better told in words.
fn default_message(type_: &str, status: bool) -> String {
    match (type_, status) {
        ("Accepted", true) => "accepted by weir".into(),
        ("ResolvedRefs", true) => "every reference resolves".into(),
        ("Programmed", true) => "the load balancer serves it".into(),
        (type_, true) => format!("{type_} holds"),
        (type_, false) => format!("{type_} does not hold"),
    }
}

/// Now, as a condition's `lastTransitionTime` is written (RFC 3339, seconds).
pub(crate) fn now() -> String {
    serde_json::to_value(Time(Timestamp::now()))
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A GatewayClass's `status` (`conditions`: `Accepted`) for the controller that serves it.
/// weir reads no class parameters, so a class with a `parametersRef` is not accepted
/// (`InvalidParameters`, as the API prescribes for an unsupported kind); every other class of
/// ours is. `current` is the status the server holds, for the transition time.
pub(crate) fn gateway_class_status(
    has_parameters: bool,
    generation: Option<i64>,
    current: Option<&Value>,
    now: &str,
) -> Value {
    let stamp = Stamp { generation, now };
    let accepted = match has_parameters {
        false => (true, "Accepted", ""),
        true => (
            false,
            "InvalidParameters",
            "weir reads no GatewayClass parameters: remove spec.parametersRef",
        ),
    };
    json!({
        "conditions": [stamp.condition("Accepted", accepted, conditions_of(current))],
    })
}

/// The `conditions` of a status (or status entry).
fn conditions_of(status: Option<&Value>) -> &[Value] {
    status
        .and_then(|status| status.get("conditions"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
#[path = "gateway_status_tests.rs"]
mod tests;
