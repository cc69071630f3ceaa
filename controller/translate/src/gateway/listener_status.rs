//! What Gateway API's `Gateway.status.listeners[]` says of each listener, computed purely from
//! the translation: whether weir serves it (Accepted), whether its references resolve
//! (ResolvedRefs), which route kinds it takes and how many routes are attached. Programmed
//! depends on the provider, so the controller adds it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use weir_model::{Diagnostic, ObjectRef};

use super::listeners::ServedListener;
use super::status::RouteCondition;
use crate::gateway_api::Gateway;

/// The status of one listener of a Gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// The Gateway.
    pub gateway: ObjectRef,
    /// The listener's name.
    pub name: String,
    /// The route kinds it accepts (`HTTPRoute`, or none when `allowedRoutes.kinds` names only
    /// kinds weir does not serve).
    pub supported_kinds: Vec<&'static str>,
    /// How many HTTPRoutes are attached to it.
    pub attached_routes: usize,
    /// `Accepted` and `ResolvedRefs`, in that order.
    pub conditions: Vec<RouteCondition>,
}

/// One status per listener of `gateway` (`object`), in spec order. `served` are the listeners
/// with a valid port and hostname (each says whether weir serves it), `resolved_refs` the
/// `ResolvedRefs` condition of each of them by name, `attached` the routes attached to each by
/// listener name, `diagnostics` the stack's (those whose field is under `spec.listeners[i]` say
/// what is wrong with listener `i`).
pub(crate) fn listener_statuses(
    gateway: &Gateway,
    object: &ObjectRef,
    served: &[ServedListener],
    resolved_refs: &BTreeMap<String, RouteCondition>,
    attached: &BTreeMap<String, BTreeSet<(String, String)>>,
    diagnostics: &[Diagnostic],
) -> Vec<ListenerStatus> {
    gateway
        .spec
        .listeners
        .iter()
        .enumerate()
        .map(|(index, listener)| {
            let prefix = format!("spec.listeners[{index}]");
            let problems: Vec<&Diagnostic> = diagnostics
                .iter()
                .filter(|diagnostic| {
                    diagnostic.object.kind == "Gateway"
                        && diagnostic
                            .field
                            .strip_prefix(&prefix)
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                })
                .collect();
            let checked = served.iter().find(|served| served.name == listener.name);
            let accepted = match checked.filter(|checked| checked.served) {
                Some(_) => RouteCondition::new("Accepted", true, "Accepted", ""),
                None => {
                    let problem = problems.first();
                    let reason = match problem.map(|problem| problem.field.as_str()) {
                        _ if !matches!(listener.protocol.as_str(), "HTTP" | "HTTPS") => {
                            "UnsupportedProtocol"
                        }
                        Some(field) if field.ends_with(".hostname") => "Invalid",
                        _ => "PortUnavailable",
                    };
                    let message = problem.map(|problem| problem.message.clone());
                    RouteCondition::new("Accepted", false, reason, message.unwrap_or_default())
                }
            };
            let takes_routes = checked.is_none_or(|checked| checked.allows_http_routes);
            let resolved = resolved_refs
                .get(&listener.name)
                .cloned()
                .unwrap_or_else(|| RouteCondition::new("ResolvedRefs", true, "ResolvedRefs", ""));
            ListenerStatus {
                gateway: object.clone(),
                name: listener.name.clone(),
                supported_kinds: match takes_routes {
                    true => vec!["HTTPRoute"],
                    false => Vec::new(),
                },
                attached_routes: attached.get(&listener.name).map_or(0, BTreeSet::len),
                conditions: vec![accepted, resolved],
            }
        })
        .collect()
}
