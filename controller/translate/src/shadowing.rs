//! The one ordering step both front ends (Ingress and HTTPRoute) share: a host's routes sorted
//! by precedence, with every route that an earlier one of the same path and conditions makes
//! unreachable dropped and reported.

use std::collections::BTreeMap;

use weir_model::{Diagnostic, HostMatch, PathMatch, Reason, Route, RouteConditions};

/// Sorts a host's routes by their precedence key and drops those an earlier route with the same
/// path and conditions makes unreachable, with a `RuleShadowed` Warning naming the winner. A
/// route shadowed by another match of its own rule is dropped silently (nothing to tell).
pub(crate) fn ordered_routes<K: Ord>(
    host: &HostMatch,
    mut routes: Vec<(K, Route)>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Route> {
    routes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept: Vec<Route> = Vec::with_capacity(routes.len());
    // Where each (path, conditions) pair was first routed: a later equal one never matches.
    let mut first: BTreeMap<(PathMatch, RouteConditions), usize> = BTreeMap::new();
    for (_, route) in routes {
        let identity = (route.path.clone(), route.conditions.clone());
        if let Some(winner) = first.get(&identity).map(|index| &kept[*index]) {
            if winner.source != route.source {
                diagnostics.push(Diagnostic::warning(
                    &route.source.ingress,
                    route.source.field(),
                    Reason::RuleShadowed,
                    format!(
                        "host {host} {:?} {} is already routed by {} {}, which wins",
                        route.path.kind,
                        route.path.path,
                        winner.source.ingress,
                        winner.source.field()
                    ),
                ));
            }
            continue;
        }
        first.insert(identity, kept.len());
        kept.push(route);
    }
    kept
}
