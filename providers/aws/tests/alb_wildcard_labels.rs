//! Property: with Gateway API wildcards (`HostMatch::WildcardLabels`, one or more labels) among
//! exact hosts and host-less routes, the model's reference matcher, the proxy's router and ALB
//! first-match over the rendered rules pick the same winner for every request host and path;
//! and the proxy's router agrees with the model when both wildcard kinds share a model.
//!
//! Translation never mixes the two kinds in one stack (Ingress stacks hold one-label
//! wildcards, Gateway stacks the other), and the ALB rendering relies on it: its guard rule for
//! names deeper than a one-label wildcard sends them to the host-less routes, which is right
//! only when no Gateway wildcard follows.

use std::collections::BTreeMap;

use proptest::prelude::*;
use weir_model::{
    Action, DesiredLoadBalancer, HostMatch, ObjectRef, PathKind, PathMatch, Route, RouteDecision,
    RouteSource, StackId, TargetGroupKey, VirtualHost,
};
use weir_provider_aws::{ListenerDefault, render};
use weir_proxy::shared::router::Router;

const REQUEST_HOSTS: [&str; 9] = [
    "b.com",
    "a.b.com",
    "x.a.b.com",
    "y.x.a.b.com",
    "com",
    "c.com",
    "A.B.com:8080",
    "other.org",
    "x.c.com",
];
const PATHS: [&str; 5] = ["/", "/p", "/p/q", "/q", "/pq"];

fn forward(name: String) -> Action {
    Action::Forward {
        target_group: TargetGroupKey {
            namespace: "ns".into(),
            service: name,
            port: 80,
        },
    }
}

/// One virtual host: its kind (0 exact, 1 Ingress wildcard, 2 Gateway wildcard, 3 any), its
/// name and its routes (path index, Exact or Prefix).
type HostSpec = (u8, usize, Vec<(usize, bool)>);

const NAMES: [&str; 4] = ["b.com", "a.b.com", "com", "c.com"];

/// The model, with virtual hosts ordered as translation orders them (exact, wildcards with
/// longer patterns first, any) and routes as it orders them (Exact, then longer prefixes).
fn model(hosts: &[HostSpec], mix_kinds: bool) -> DesiredLoadBalancer {
    let mut virtual_hosts: Vec<VirtualHost> = Vec::new();
    let mut next = 0;
    for (kind, name, routes) in hosts {
        let host = match kind {
            1 if !mix_kinds => HostMatch::WildcardLabels(format!("*.{}", NAMES[*name])),
            0 => HostMatch::Exact(NAMES[*name].into()),
            1 => HostMatch::Wildcard(format!("*.{}", NAMES[*name])),
            2 => HostMatch::WildcardLabels(format!("*.{}", NAMES[*name])),
            _ => HostMatch::Any,
        };
        if virtual_hosts.iter().any(|vhost| vhost.host == host)
            || (matches!(host, HostMatch::Wildcard(_) | HostMatch::WildcardLabels(_))
                && virtual_hosts
                    .iter()
                    .any(|vhost| vhost.host.as_str() == host.as_str()))
        {
            continue;
        }
        let mut routes: Vec<Route> = routes
            .iter()
            .map(|(path, exact)| {
                next += 1;
                Route {
                    path: PathMatch {
                        kind: if *exact {
                            PathKind::Exact
                        } else {
                            PathKind::Prefix
                        },
                        path: PATHS[*path].into(),
                    },
                    conditions: Default::default(),
                    action: forward(format!("s{next}")),
                    filters: Default::default(),
                    source: RouteSource {
                        ingress: ObjectRef::namespaced("HTTPRoute", "ns", "r"),
                        rule: next,
                        path: 0,
                    },
                }
            })
            .collect();
        routes.sort_by_key(|route| (route.path.kind, std::cmp::Reverse(route.path.path.len())));
        routes.dedup_by(|a, b| a.path == b.path);
        virtual_hosts.push(VirtualHost {
            host,
            routes,
            redirect_to_https_port: None,
        });
    }
    virtual_hosts.sort_by_key(|vhost| match &vhost.host {
        HostMatch::Exact(_) => (0, 0),
        HostMatch::Wildcard(pattern) | HostMatch::WildcardLabels(pattern) => {
            (1, usize::MAX - pattern.len())
        }
        HostMatch::Any => (2, 0),
    });
    let mut listeners = BTreeMap::new();
    listeners.insert(
        80,
        weir_model::Listener {
            protocol: weir_model::Protocol::Http,
            redirect_to_https_port: None,
        },
    );
    DesiredLoadBalancer {
        stack: StackId::Gateway {
            namespace: "ns".into(),
            name: "gw".into(),
        },
        ingress_class: "weir".into(),
        members: Vec::new(),
        listeners,
        virtual_hosts,
        default_action: Action::status(404),
        target_groups: BTreeMap::new(),
        certificates: Vec::new(),
        settings: BTreeMap::new(),
    }
}

fn name(action: &Action) -> String {
    match action {
        Action::Forward { target_group } => target_group.service.clone(),
        Action::FixedResponse { status, .. } => status.to_string(),
        other => other.to_string(),
    }
}

fn alb_first_match(desired: &DesiredLoadBalancer, host: &str, path: &str) -> String {
    let view = render(desired);
    match view.first_match(80, host, path, |_| true) {
        Some(rule) => name(&rule.action),
        None => match &view.listeners[0].default {
            ListenerDefault::Action(action) => name(action),
            ListenerDefault::RedirectToHttps(_) => "redirect".into(),
        },
    }
}

fn host_spec() -> impl Strategy<Value = HostSpec> {
    (
        0..4u8,
        0..NAMES.len(),
        prop::collection::vec((0..PATHS.len(), any::<bool>()), 0..4),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn model_router_and_alb_agree_with_gateway_wildcards(hosts in prop::collection::vec(host_spec(), 1..6), mix_kinds in any::<bool>()) {
        let desired = model(&hosts, mix_kinds);
        let router = Router::new(&desired);
        for host in REQUEST_HOSTS {
            for path in PATHS {
                let reference = match desired.route(host, path) {
                    RouteDecision::Route(route) => name(&route.action),
                    RouteDecision::Default(action) => name(action),
                };
                let proxy = name(router.action(router.route(host, path)));
                prop_assert_eq!(&proxy, &reference, "router, {} {}", host, path);
                if !mix_kinds {
                    let alb = alb_first_match(&desired, host, path);
                    prop_assert_eq!(&alb, &reference, "alb, {} {}", host, path);
                }
            }
        }
    }
}
