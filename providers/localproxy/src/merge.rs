//! Several stacks served at one address: the file mode's Ingress stack and its Gateways share
//! the proxy's two listeners, and so do a proxy fleet's class stack and the Gateways of its
//! GatewayClass in cluster mode, so their models are merged into one.
//!
//! Virtual hosts keep the model's precedence (exact hosts, then wildcards with longer patterns
//! first, then the host-less routes). Stacks that declare the same host have their routes put
//! together and ordered as translation orders one stack's (Exact paths, longer prefixes, then
//! a method condition, more header, query and source-ip clauses), earlier stacks first on
//! ties. The default action is the first stack's that is not a plain 404.

use std::cmp::Reverse;

use weir_model::{Action, DesiredLoadBalancer, HostMatch, Route, VirtualHost};

/// One model for every stack in `models` (in precedence order); `None` when there is none. A
/// single model is returned as it is.
pub fn merge(models: Vec<DesiredLoadBalancer>) -> Option<DesiredLoadBalancer> {
    let several = models.len() > 1;
    let mut models = models.into_iter();
    let mut merged = models.next()?;
    if !several {
        return Some(merged);
    }
    let not_found = Action::status(404);
    for model in models {
        merged.members.extend(model.members);
        for (port, listener) in model.listeners {
            merged.listeners.entry(port).or_insert(listener);
        }
        for vhost in model.virtual_hosts {
            match merged
                .virtual_hosts
                .iter_mut()
                .find(|existing| existing.host == vhost.host)
            {
                Some(existing) => existing.routes.extend(vhost.routes),
                None => merged.virtual_hosts.push(vhost),
            }
        }
        for (key, group) in model.target_groups {
            merged.target_groups.entry(key).or_insert(group);
        }
        merged.certificates.extend(model.certificates);
        if merged.default_action == not_found {
            merged.default_action = model.default_action;
        }
    }
    for vhost in &mut merged.virtual_hosts {
        vhost.routes.sort_by_key(route_rank);
    }
    merged.virtual_hosts.sort_by_key(host_rank);
    Some(merged)
}

fn host_rank(vhost: &VirtualHost) -> (u8, Reverse<usize>) {
    match &vhost.host {
        HostMatch::Exact(_) => (0, Reverse(0)),
        HostMatch::Wildcard(pattern) | HostMatch::WildcardLabels(pattern) => {
            (1, Reverse(pattern.len()))
        }
        HostMatch::Any => (2, Reverse(0)),
    }
}

type RouteRank = (
    weir_model::PathKind,
    Reverse<usize>,
    Reverse<bool>,
    Reverse<usize>,
    Reverse<usize>,
    Reverse<usize>,
);

/// The rank translation gives a route within its host, without its source's position (the
/// sort is stable, so earlier stacks and earlier routes stay first on ties).
fn route_rank(route: &Route) -> RouteRank {
    (
        route.path.kind,
        Reverse(route.path.path.len()),
        Reverse(!route.conditions.methods.is_empty()),
        Reverse(route.conditions.headers.len()),
        Reverse(route.conditions.query.len()),
        Reverse(route.conditions.source_ips.len()),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use weir_model::{
        HeaderCondition, ObjectRef, PathKind, PathMatch, RouteConditions, RouteDecision,
        RouteSource, StackId, StringMatch, TargetGroupKey,
    };

    use super::*;

    fn forward(name: &str) -> Action {
        Action::Forward {
            target_group: TargetGroupKey {
                namespace: "ns".into(),
                service: name.into(),
                port: 80,
            },
        }
    }

    fn route(path: &str, header: Option<&str>, name: &str) -> Route {
        Route {
            path: PathMatch {
                kind: PathKind::Prefix,
                path: path.into(),
            },
            conditions: RouteConditions {
                headers: header
                    .map(|value| {
                        vec![HeaderCondition {
                            name: "x".into(),
                            values: vec![StringMatch::Exact(value.into())],
                        }]
                    })
                    .unwrap_or_default(),
                ..RouteConditions::default()
            },
            action: forward(name),
            filters: Default::default(),
            source: RouteSource {
                ingress: ObjectRef::namespaced("HTTPRoute", "ns", name),
                rule: 0,
                path: 0,
            },
        }
    }

    fn stack(name: &str, virtual_hosts: Vec<VirtualHost>) -> DesiredLoadBalancer {
        DesiredLoadBalancer {
            stack: StackId::Gateway {
                namespace: "ns".into(),
                name: name.into(),
            },
            ingress_class: "weir".into(),
            members: vec![ObjectRef::namespaced("Gateway", "ns", name)],
            listeners: BTreeMap::new(),
            virtual_hosts,
            default_action: Action::status(404),
            target_groups: BTreeMap::new(),
            certificates: Vec::new(),
            settings: BTreeMap::new(),
        }
    }

    fn vhost(host: HostMatch, routes: Vec<Route>) -> VirtualHost {
        VirtualHost {
            host,
            routes,
            redirect_to_https_port: None,
        }
    }

    #[test]
    fn shared_hosts_merge_their_routes_in_precedence_order() {
        let a = stack(
            "a",
            vec![
                vhost(HostMatch::Any, vec![route("/", None, "a-root")]),
                vhost(
                    HostMatch::Exact("x.com".into()),
                    vec![route("/", None, "a-x")],
                ),
            ],
        );
        let b = stack(
            "b",
            vec![
                vhost(
                    HostMatch::WildcardLabels("*.com".into()),
                    vec![route("/", None, "b-wild")],
                ),
                vhost(
                    HostMatch::Any,
                    vec![
                        route("/", Some("1"), "b-header"),
                        route("/api", None, "b-api"),
                    ],
                ),
            ],
        );
        let merged = merge(vec![a, b]).unwrap();
        let winner = |host: &str, path: &str, headers: &[(&str, &str)]| {
            let headers = weir_model::HeaderList(headers);
            let request = weir_model::RouteRequest {
                headers: &headers,
                ..weir_model::RouteRequest::get(host, path)
            };
            match merged.route_request(&request) {
                RouteDecision::Route(route) => route.source.ingress.name.clone(),
                RouteDecision::Default(_) => "404".into(),
            }
        };
        assert_eq!(winner("x.com", "/", &[]), "a-x");
        assert_eq!(winner("y.com", "/", &[]), "b-wild");
        assert_eq!(winner("other", "/", &[]), "a-root");
        assert_eq!(winner("other", "/", &[("x", "1")]), "b-header");
        assert_eq!(winner("other", "/api/v", &[]), "b-api");
        assert_eq!(merged.members.len(), 2);
    }
}
