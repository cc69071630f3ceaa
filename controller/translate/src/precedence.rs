//! Route precedence within a host, which both front ends (Ingress and HTTPRoute) share: the
//! sort key, and the ordering step that drops and reports every route an earlier one of the
//! same path and conditions makes unreachable.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use weir_model::{Diagnostic, HostMatch, PathKind, PathMatch, Reason, Route, RouteConditions};

/// A route's place within its host: Exact before Prefix, longer paths first, then the more
/// specific conditions ([`Specificity`]), then `position` (the front end's object order: group
/// order for Ingresses, creation order for HTTPRoutes), then rule and path (or match) order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RouteKey {
    kind: PathKind,
    length: Reverse<usize>,
    path: String,
    specificity: Specificity,
    position: usize,
    rule: usize,
    path_index: usize,
}

impl RouteKey {
    /// The key of `route`, whose object is `position`th in the front end's order.
    pub(crate) fn new(route: &Route, position: usize) -> Self {
        Self {
            kind: route.path.kind,
            length: Reverse(route.path.path.len()),
            path: route.path.path.clone(),
            specificity: Specificity::of(&route.conditions),
            position,
            rule: route.source.rule,
            path_index: route.source.path,
        }
    }
}

/// Gateway API's order among routes of equal path: a method condition first, then more header
/// clauses, then more query clauses (weir adds: then more source-ip ranges, which only Ingress
/// conditions can hold).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    method: Reverse<bool>,
    headers: Reverse<usize>,
    query: Reverse<usize>,
    source_ips: Reverse<usize>,
}

impl Specificity {
    fn of(conditions: &RouteConditions) -> Self {
        Self {
            method: Reverse(!conditions.methods.is_empty()),
            headers: Reverse(conditions.headers.len()),
            query: Reverse(conditions.query.len()),
            source_ips: Reverse(conditions.source_ips.len()),
        }
    }
}

/// Sorts a host's routes by their [`RouteKey`] and drops those an earlier route with the same
/// path and conditions makes unreachable, with a `RuleShadowed` Warning naming the winner. A
/// route shadowed by another match of its own rule is dropped silently (nothing to tell).
pub(crate) fn ordered_routes(
    host: &HostMatch,
    mut routes: Vec<(RouteKey, Route)>,
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
