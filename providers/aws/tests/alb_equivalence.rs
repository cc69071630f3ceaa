//! Property: for random Ingress groups (paths with and without `conditions.NAME` annotations)
//! and random requests (host, path, method, headers, query, client address), four routers
//! agree: an independent transcription of the Kubernetes Ingress spec with Gateway API's
//! precedence among equal paths, the model's reference matcher
//! (`DesiredLoadBalancer::route_request`), the proxy's precomputed router, and ALB
//! first-match-by-priority over the rendered rules.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use proptest::prelude::*;
use serde_json::json;
use weir_model::{Action, DesiredLoadBalancer, HeaderList, IpCidr, RouteRequest, normalize_host};
use weir_provider_aws::{ListenerDefault, MatchConditions, glob, render};
use weir_proxy::shared::router::Router;
use weir_translate::{
    ClassSelection, ClusterSnapshot, KubeObject, Stacking, TranslateConfig, translate,
};

const HOSTS: [&str; 7] = [
    "foo.com",
    "bar.foo.com",
    "a.bar.foo.com",
    "*.foo.com",
    "*.bar.foo.com",
    "*.com",
    "",
];
const REQUEST_HOSTS: [&str; 10] = [
    "foo.com",
    "bar.foo.com",
    "a.bar.foo.com",
    "x.foo.com",
    "x.y.foo.com",
    "com",
    "x.com",
    "Bar.FOO.com:8080",
    "other.org",
    "b.a.bar.foo.com",
];
const SEGMENTS: [&str; 3] = ["a", "b", "ab"];
const PATH_TYPES: [&str; 3] = ["Exact", "Prefix", "ImplementationSpecific"];

#[derive(Clone, Debug)]
struct PathRule {
    host: usize,
    path_type: usize,
    path: String,
    conditions: Conds,
}

/// A rule's optional conditions: a method, an `X-A` header glob, a `q` query value, a CIDR.
#[derive(Clone, Debug, Default)]
struct Conds {
    method: Option<&'static str>,
    header: Option<&'static str>,
    query: Option<&'static str>,
    source: Option<&'static str>,
}

impl Conds {
    fn is_empty(&self) -> bool {
        self.method.is_none()
            && self.header.is_none()
            && self.query.is_none()
            && self.source.is_none()
    }

    /// The `conditions.NAME` annotation value.
    fn annotation(&self) -> String {
        let mut list = Vec::new();
        if let Some(method) = self.method {
            list.push(json!({"field": "http-request-method", "httpRequestMethodConfig": {"values": [method]}}));
        }
        if let Some(value) = self.header {
            list.push(json!({"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "X-A", "values": [value]}}));
        }
        if let Some(value) = self.query {
            list.push(json!({"field": "query-string", "queryStringConfig": {"values": [{"key": "q", "value": value}]}}));
        }
        if let Some(cidr) = self.source {
            list.push(json!({"field": "source-ip", "sourceIpConfig": {"values": [cidr]}}));
        }
        serde_json::Value::Array(list).to_string()
    }

    /// The spec: each condition as the AWS Load Balancer Controller documents it (header and
    /// query values are case-insensitive, `*` any run); written out for these values only.
    fn hold(&self, request: &Request) -> bool {
        let glob_ok = |pattern: &str, value: &str| match pattern.strip_suffix('*') {
            Some(prefix) => value
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()),
            None => value.eq_ignore_ascii_case(pattern),
        };
        self.method.is_none_or(|method| method == request.method)
            && self.header.is_none_or(|pattern| {
                request.headers.iter().any(|(name, value)| {
                    name.eq_ignore_ascii_case("x-a") && glob_ok(pattern, value)
                })
            })
            && self.query.is_none_or(|pattern| {
                request.query.split('&').any(|pair| {
                    pair.split_once('=')
                        .is_some_and(|(key, value)| glob_ok("q", key) && glob_ok(pattern, value))
                })
            })
            && self.source.is_none_or(|cidr| match cidr {
                "10.0.0.0/8" => request.source.starts_with("10."),
                _ => request.source.starts_with("192.0.2."),
            })
    }

    /// Gateway API's order among equal paths: method, more headers, more query, more sources.
    fn rank(
        &self,
    ) -> (
        bool,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<usize>,
    ) {
        (
            self.method.is_none(),
            std::cmp::Reverse(usize::from(self.header.is_some())),
            std::cmp::Reverse(usize::from(self.query.is_some())),
            std::cmp::Reverse(usize::from(self.source.is_some())),
        )
    }
}

fn conds_strategy() -> impl Strategy<Value = Conds> {
    prop_oneof![
        1 => Just(Conds::default()),
        1 => (
            prop::option::of(prop::sample::select(vec!["GET", "POST"])),
            prop::option::of(prop::sample::select(vec!["v1", "V2*"])),
            prop::option::of(prop::sample::select(vec!["1", "2"])),
            prop::option::of(prop::sample::select(vec!["10.0.0.0/8", "192.0.2.0/24"])),
        )
            .prop_map(|(method, header, query, source)| Conds { method, header, query, source }),
    ]
}

/// A request beyond host and path.
#[derive(Clone, Debug)]
struct Request {
    method: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    query: &'static str,
    source: &'static str,
}

fn extras_strategy() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT"]),
        prop::collection::vec(
            (
                prop::sample::select(vec!["x-a", "X-A", "x-b"]),
                prop::sample::select(vec!["v1", "V1", "v2", "v2.1", "x"]),
            ),
            0..3,
        ),
        prop::sample::select(vec!["", "q=1", "Q=2&r=1", "q=3", "r=1"]),
        prop::sample::select(vec!["10.1.2.3", "192.0.2.9", "203.0.113.1"]),
    )
        .prop_map(|(method, headers, query, source)| Request {
            method,
            headers,
            query,
            source,
        })
}

fn path_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 0..=3),
        any::<bool>(),
    )
        .prop_map(|(segments, trailing)| {
            let mut path = format!("/{}", segments.join("/"));
            if trailing && path != "/" {
                path.push('/');
            }
            path
        })
}

fn rule_strategy() -> impl Strategy<Value = PathRule> {
    (
        0..HOSTS.len(),
        0..PATH_TYPES.len(),
        path_strategy(),
        conds_strategy(),
    )
        .prop_map(|(host, path_type, path, conditions)| PathRule {
            host,
            path_type,
            path,
            conditions,
        })
}

/// One Ingress of the group: its group order, its path rules and whether it has a default backend.
type Member = (i64, Vec<PathRule>, bool);

fn service(name: &str) -> KubeObject {
    let service: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"ports": [{"port": 80}]},
    }))
    .unwrap();
    KubeObject::Service(Box::new(service))
}

/// Builds the snapshot; path rule `i` (counting across members) is served by Service `s{i}`.
fn snapshot(members: &[Member]) -> ClusterSnapshot {
    let mut snapshot = ClusterSnapshot::default();
    let mut next = 0;
    for (index, (order, rules, default_backend)) in members.iter().enumerate() {
        let mut annotations = serde_json::Map::new();
        annotations.insert("weir.dev/group.name".into(), json!("g"));
        annotations.insert("weir.dev/group.order".into(), json!(order.to_string()));
        let rules: Vec<_> = rules
            .iter()
            .map(|rule| {
                let name = format!("s{next}");
                next += 1;
                snapshot.insert(service(&name));
                if !rule.conditions.is_empty() {
                    annotations.insert(
                        format!("alb.ingress.kubernetes.io/conditions.{name}"),
                        json!(rule.conditions.annotation()),
                    );
                }
                json!({"host": HOSTS[rule.host], "http": {"paths": [{
                    "path": rule.path, "pathType": PATH_TYPES[rule.path_type],
                    "backend": {"service": {"name": name, "port": {"number": 80}}}}]}})
            })
            .collect();
        let default_name = format!("default{index}");
        snapshot.insert(service(&default_name));
        let mut spec = json!({"rules": rules});
        if *default_backend {
            spec["defaultBackend"] =
                json!({"service": {"name": default_name, "port": {"number": 80}}});
        }
        let ingress: Ingress = serde_json::from_value(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": format!("m{index}"), "namespace": "ns", "annotations": annotations},
            "spec": spec,
        }))
        .unwrap();
        snapshot.insert(KubeObject::Ingress(Box::new(ingress)));
    }
    snapshot
}

/// The Kubernetes spec, transcribed directly: pick the host tier (exact, else the one-label
/// wildcard, else host-less), then Exact paths, then the longest matching Prefix, ties by group
/// order, Ingress name and manifest order. Returns the winning Service, or the default's.
fn spec_oracle(members: &[Member], host: &str, path: &str, request: &Request) -> String {
    let host = normalize_host(host);
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&index| (members[index].0, format!("m{index}")));
    let mut flat = Vec::new();
    let mut next = 0;
    for (index, (_, rules, _)) in members.iter().enumerate() {
        for rule in rules {
            let rank = order.iter().position(|&m| m == index).unwrap();
            flat.push((rank, next, rule.clone()));
            next += 1;
        }
    }
    let host_of = |rule: &PathRule| HOSTS[rule.host];
    let exact: Vec<_> = flat
        .iter()
        .filter(|(_, _, rule)| host_of(rule) == host)
        .collect();
    let wildcard: Vec<_> = flat
        .iter()
        .filter(|(_, _, rule)| {
            host_of(rule).strip_prefix('*').is_some_and(|suffix| {
                host.ends_with(suffix)
                    && !host[..host.len() - suffix.len()].contains('.')
                    && host.len() > suffix.len()
            })
        })
        .collect();
    let host_less: Vec<_> = flat
        .iter()
        .filter(|(_, _, rule)| host_of(rule).is_empty())
        .collect();
    let tier = [exact, wildcard, host_less]
        .into_iter()
        .find(|tier| !tier.is_empty())
        .unwrap_or_default();
    let mut best: Option<(OracleKey, usize)> = None;
    for (rank, id, rule) in tier {
        if !rule.conditions.hold(request) {
            continue;
        }
        let is_exact = PATH_TYPES[rule.path_type] == "Exact";
        let key = if is_exact {
            if path != rule.path {
                continue;
            }
            (
                0,
                std::cmp::Reverse(rule.path.len()),
                rule.conditions.rank(),
                *rank,
                *id,
            )
        } else {
            let prefix = if rule.path.len() > 1 {
                rule.path.trim_end_matches('/')
            } else {
                "/"
            };
            let elements = |p: &str| {
                p.split('/')
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            let (want, have) = (elements(prefix), elements(path));
            if have.len() < want.len() || have[..want.len()] != want[..] {
                continue;
            }
            (
                1,
                std::cmp::Reverse(prefix.len()),
                rule.conditions.rank(),
                *rank,
                *id,
            )
        };
        if best.as_ref().is_none_or(|(best_key, _)| key < *best_key) {
            best = Some((key, *id));
        }
    }
    match best {
        Some((_, id)) => format!("s{id}"),
        None => order
            .iter()
            .find(|&&index| members[index].2)
            .map_or_else(|| "404".to_owned(), |index| format!("default{index}")),
    }
}

/// Oracle precedence: (Exact 0 / Prefix 1, longer first, conditions' rank, group rank,
/// manifest order).
type OracleKey = (
    u8,
    std::cmp::Reverse<usize>,
    (
        bool,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<usize>,
    ),
    usize,
    usize,
);

fn action_name(action: &Action) -> String {
    match action {
        Action::Forward { target_group } => target_group.service.clone(),
        Action::FixedResponse { status, .. } => status.to_string(),
        other => other.to_string(),
    }
}

/// ALB's other conditions (its documentation): methods exact; header and query values
/// case-insensitive globs, any value of a clause; source-ip by CIDR.
fn alb_conditions_hold(conditions: &MatchConditions, request: &Request) -> bool {
    let source: std::net::IpAddr = request.source.parse().unwrap();
    (conditions.methods.is_empty() || conditions.methods.iter().any(|m| m == request.method))
        && conditions.headers.iter().all(|(name, values)| {
            request.headers.iter().any(|(header, value)| {
                header.eq_ignore_ascii_case(name)
                    && values
                        .iter()
                        .any(|glob_value| glob::host_matches(glob_value, value))
            })
        })
        && conditions.query.iter().all(|pairs| {
            request
                .query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .any(|(key, value)| {
                    pairs.iter().any(|(want_key, want_value)| {
                        want_key
                            .as_deref()
                            .is_none_or(|want| glob::host_matches(want, key))
                            && glob::host_matches(want_value, value)
                    })
                })
        })
        && (conditions.source_ips.is_empty()
            || conditions
                .source_ips
                .iter()
                .any(|cidr| cidr.parse::<IpCidr>().unwrap().contains(source)))
}

/// ALB semantics: the first rule by priority whose host glob, one of whose path globs and every
/// other condition match.
fn alb_first_match(
    desired: &DesiredLoadBalancer,
    host: &str,
    path: &str,
    request: &Request,
) -> String {
    let view = render(desired);
    match view.first_match(80, host, path, |conditions| {
        alb_conditions_hold(conditions, request)
    }) {
        Some(rule) => action_name(&rule.action),
        None => match &view.listeners[0].default {
            ListenerDefault::Action(action) => action_name(action),
            ListenerDefault::RedirectToHttps(_) => "redirect".to_owned(),
        },
    }
}

fn members_strategy() -> impl Strategy<Value = Vec<Member>> {
    prop::collection::vec(
        (
            -2i64..=2,
            prop::collection::vec(rule_strategy(), 0..6),
            prop::bool::weighted(0.3),
        ),
        1..4,
    )
}

fn request_strategy() -> impl Strategy<Value = (usize, String, Request)> {
    (0..REQUEST_HOSTS.len(), path_strategy(), extras_strategy())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn spec_model_and_alb_pick_the_same_winner(members in members_strategy(), requests in prop::collection::vec(request_strategy(), 1..24)) {
        let snapshot = snapshot(&members);
        let config = TranslateConfig { classes: ClassSelection::Everything, stacking: Stacking::PerGroup };
        let translation = translate(&snapshot, &config);
        prop_assert_eq!(translation.stacks.len(), 1);
        let desired = translation.stacks[0].desired.as_ref().unwrap();
        let router = Router::new(desired);
        for (host_index, path, extras) in requests {
            let host = REQUEST_HOSTS[host_index];
            let headers = HeaderList(&extras.headers);
            let request = RouteRequest {
                host,
                path: &path,
                method: extras.method,
                query: Some(extras.query),
                headers: &headers,
                source_ip: extras.source.parse().ok(),
                listener_port: Some(80),
            };
            let spec = spec_oracle(&members, host, &path, &extras);
            let model = action_name(desired.route_request(&request).action());
            let proxy = action_name(router.action(router.route_request(&request)));
            let alb = alb_first_match(desired, host, &path, &extras);
            prop_assert_eq!(&spec, &model, "spec vs model for {} {} {:?}", host, path, extras);
            prop_assert_eq!(&model, &proxy, "model vs proxy for {} {} {:?}", host, path, extras);
            prop_assert_eq!(&model, &alb, "model vs ALB for {} {} {:?}\nrules:\n{:#?}", host, path, extras, render(desired).rules);
        }
    }
}
