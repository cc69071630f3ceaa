//! Property: any model of routes with random conditions, actions and filters goes through
//! `split` -> JSON -> `join` unchanged.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use weir_model::{
    Action, DesiredLoadBalancer, EndpointConditions, HeaderCondition, HeaderModifier, HostMatch,
    IpCidr, ObjectRef, PathKind, PathMatch, PathRewrite, QueryCondition, QueryPair, Redirect,
    Route, RouteConditions, RouteFilters, RouteSource, StackId, StringMatch, Target, TargetGroup,
    TargetGroupKey, UrlRewrite, VirtualHost, WeightedTarget,
};

use super::{EndpointSets, Routes, join, split};

const SERVICES: [&str; 3] = ["a", "b", "c"];

fn key(service: &str) -> TargetGroupKey {
    TargetGroupKey {
        namespace: "ns".into(),
        service: service.into(),
        port: 80,
    }
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9*?/ .-]{0,8}"
}

fn string_match() -> impl Strategy<Value = StringMatch> {
    prop_oneof![
        text().prop_map(StringMatch::Exact),
        text().prop_map(StringMatch::Glob),
        text().prop_map(StringMatch::Regex),
    ]
}

fn cidr() -> impl Strategy<Value = IpCidr> {
    (any::<u32>(), 0u8..=32).prop_map(|(addr, prefix_len)| {
        let host_bits = 32 - u32::from(prefix_len);
        let network = addr.checked_shr(host_bits).unwrap_or(0);
        let network = network.checked_shl(host_bits).unwrap_or(0);
        IpCidr {
            addr: IpAddr::V4(Ipv4Addr::from(network)),
            prefix_len,
        }
    })
}

fn conditions() -> impl Strategy<Value = RouteConditions> {
    (
        prop::collection::vec(prop::sample::select(vec!["GET", "POST", "HEAD"]), 0..3),
        prop::collection::vec(
            ("[a-z-]{1,6}", prop::collection::vec(string_match(), 1..3)),
            0..3,
        ),
        prop::collection::vec(
            prop::collection::vec((prop::option::of(string_match()), string_match()), 1..3),
            0..3,
        ),
        prop::collection::vec(cidr(), 0..3),
        prop::collection::vec(prop::sample::select(vec![80u16, 443, 8443]), 0..3),
    )
        .prop_map(
            |(methods, headers, query, source_ips, listener_ports)| RouteConditions {
                methods: methods.into_iter().map(str::to_owned).collect(),
                headers: headers
                    .into_iter()
                    .map(|(name, values)| HeaderCondition { name, values })
                    .collect(),
                query: query
                    .into_iter()
                    .map(|any_of| QueryCondition {
                        any_of: any_of
                            .into_iter()
                            .map(|(key, value)| QueryPair { key, value })
                            .collect(),
                    })
                    .collect(),
                source_ips,
                listener_ports,
            },
        )
}

fn path_rewrite() -> impl Strategy<Value = PathRewrite> {
    prop_oneof![
        text().prop_map(PathRewrite::Full),
        text().prop_map(PathRewrite::Prefix),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let service = prop::sample::select(SERVICES.to_vec());
    prop_oneof![
        service.clone().prop_map(|service| Action::Forward {
            target_group: key(service)
        }),
        prop::collection::vec((service, 0u32..100), 2..4).prop_map(|targets| {
            Action::WeightedForward {
                targets: targets
                    .into_iter()
                    .map(|(service, weight)| WeightedTarget {
                        target_group: key(service),
                        weight,
                    })
                    .collect(),
            }
        }),
        (
            prop::option::of(prop::sample::select(vec!["http", "https"])),
            prop::option::of(text()),
            prop::option::of(any::<u16>()),
            prop::option::of(path_rewrite()),
            prop::option::of(text()),
            prop::sample::select(vec![301u16, 302, 303, 307, 308]),
        )
            .prop_map(|(scheme, host, port, path, query, status)| {
                Action::Redirect(Redirect {
                    scheme: scheme.map(str::to_owned),
                    host,
                    port,
                    path,
                    query,
                    status,
                })
            }),
        (
            100u16..=599,
            prop::option::of(text()),
            prop::option::of(".{0,20}")
        )
            .prop_map(|(status, content_type, body)| Action::FixedResponse {
                status,
                content_type,
                body,
            }),
    ]
}

fn header_modifier() -> impl Strategy<Value = HeaderModifier> {
    let pairs = || prop::collection::vec(("[a-z-]{1,6}", text()), 0..2);
    (pairs(), pairs(), prop::collection::vec("[a-z-]{1,6}", 0..2))
        .prop_map(|(set, add, remove)| HeaderModifier { set, add, remove })
}

fn filters() -> impl Strategy<Value = RouteFilters> {
    (
        header_modifier(),
        header_modifier(),
        prop::option::of((prop::option::of(text()), prop::option::of(path_rewrite()))),
        prop::option::of(any::<u64>()),
    )
        .prop_map(
            |(request_headers, response_headers, rewrite, timeout_ms)| RouteFilters {
                request_headers,
                response_headers,
                rewrite: rewrite.map(|(host, path)| UrlRewrite { host, path }),
                timeout_ms,
            },
        )
}

fn route() -> impl Strategy<Value = Route> {
    (
        any::<bool>(),
        "/[a-z/]{0,6}",
        conditions(),
        action(),
        filters(),
        0usize..4,
    )
        .prop_map(|(exact, path, conditions, action, filters, rule)| Route {
            path: PathMatch {
                kind: if exact {
                    PathKind::Exact
                } else {
                    PathKind::Prefix
                },
                path,
            },
            conditions,
            action,
            filters,
            source: RouteSource {
                ingress: ObjectRef::namespaced("Ingress", "ns", "web"),
                rule,
                path: 0,
            },
        })
}

fn desired() -> impl Strategy<Value = DesiredLoadBalancer> {
    (prop::collection::vec(route(), 0..6), action()).prop_map(|(routes, default_action)| {
        DesiredLoadBalancer {
            stack: StackId::Class("weir".into()),
            ingress_class: "weir".into(),
            members: vec![ObjectRef::namespaced("Ingress", "ns", "web")],
            listeners: BTreeMap::new(),
            virtual_hosts: vec![VirtualHost {
                host: HostMatch::Exact("h.example".into()),
                routes,
                redirect_to_https_port: None,
            }],
            default_action,
            target_groups: SERVICES
                .iter()
                .map(|service| {
                    let target = Target {
                        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                        port: 8080,
                        conditions: EndpointConditions {
                            ready: true,
                            serving: true,
                            terminating: false,
                        },
                        zone: None,
                    };
                    (
                        key(service),
                        TargetGroup {
                            targets: vec![target],
                        },
                    )
                })
                .collect(),
            certificates: Vec::new(),
            settings: BTreeMap::new(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn model_to_wire_to_model_is_the_identity(desired in desired()) {
        let (routes, buckets) = split(&desired);
        // Through the bytes the Secrets hold, as the reader gets them.
        let routes: Routes = serde_json::from_slice(&serde_json::to_vec(&routes).unwrap()).unwrap();
        let buckets: Vec<EndpointSets> = buckets
            .iter()
            .map(|bucket| serde_json::from_slice(&serde_json::to_vec(bucket).unwrap()).unwrap())
            .collect();
        prop_assert_eq!(join(routes, buckets).unwrap(), desired);
    }
}
