//! The precomputed router: host index, then path index, built once per snapshot.
//!
//! It returns exactly the decision of the model's reference semantics
//! ([`weir_model::DesiredLoadBalancer::route_request`]) for every request, whatever the order of
//! the model's virtual hosts and routes: "first match in model order" becomes "the smallest
//! model index among the candidates", and the candidates of a request are found with a few hash
//! lookups instead of a scan:
//!
//! ```text
//! host ─normalize─► exact[host] ┐
//!                   wildcard[host minus its first label] ├─ min index ─► virtual host
//!                   wildcard_labels[every .suffix of host] │
//!                   any ┘
//! path ─► exact[path] ┐
//!         prefix[path[..i]] for every i where path[i] == '/', and prefix[path] ├─ min ─► route
//!         prefix "/" ┘                                             (none ─► default action)
//! ```
//!
//! A lookup costs one hash probe per host candidate plus one per `/` in the path, independent
//! of the number of rules.
//!
//! Routes with conditions (method, headers, query, client address) share a path key with
//! others: each key holds its candidates in model order, cut after the first one without
//! conditions (nothing after it can win). A lookup takes, per key, the first candidate whose
//! conditions hold, and the smallest of those; conditions are only evaluated for routes that
//! have them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use weir_model::{
    Action, CompiledConditions, DesiredLoadBalancer, HostMatch, PathKind, RouteRequest,
    normalize_host,
};

/// Where a request goes, as an index into the table of actions the router was built with.
///
/// Index `0` is always the default action; route `i` of the model's global route order
/// ([`DesiredLoadBalancer::routes`]) is index `i + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionId(pub usize);

impl ActionId {
    /// The default action of the load balancer.
    pub const DEFAULT: ActionId = ActionId(0);
}

/// A host -> path index over one [`DesiredLoadBalancer`].
#[derive(Debug, Default)]
pub struct Router {
    exact_hosts: HashMap<String, usize>,
    /// Keyed by the wildcard's suffix including its leading dot (`.foo.com` for `*.foo.com`).
    wildcard_hosts: HashMap<String, usize>,
    /// Gateway API wildcards (one or more labels), keyed likewise by `.suffix`.
    wildcard_labels_hosts: HashMap<String, usize>,
    any_host: Option<usize>,
    hosts: Vec<PathIndex>,
    actions: Vec<Action>,
    /// By action id: the route's conditions (regular expressions compiled), `None` when it
    /// has none.
    conditions: Vec<Option<CompiledConditions>>,
}

/// The paths of one virtual host.
#[derive(Debug, Default)]
struct PathIndex {
    /// Exact path -> its routes' action ids in model order (see [`Candidates`]).
    exact: HashMap<String, Candidates>,
    /// Prefix path -> its routes' action ids.
    prefix: HashMap<String, Candidates>,
    /// The action ids of `/` prefix routes (they match every path).
    root_prefix: Candidates,
}

/// Action ids of the routes of one path key, ascending, ending at the first route without
/// conditions (a later one can never win the key). Usually a single id.
#[derive(Debug, Default)]
struct Candidates {
    ids: Vec<usize>,
    closed: bool,
}

impl Candidates {
    fn push(&mut self, id: usize, conditional: bool) {
        if !self.closed {
            self.ids.push(id);
            self.closed = !conditional;
        }
    }
}

impl Router {
    /// Builds the index of a model.
    pub fn new(model: &DesiredLoadBalancer) -> Self {
        let mut router = Router {
            actions: vec![model.default_action.clone()],
            conditions: vec![None],
            ..Router::default()
        };
        for (host_index, vhost) in model.virtual_hosts.iter().enumerate() {
            match &vhost.host {
                HostMatch::Exact(host) => keep_first(&mut router.exact_hosts, host, host_index),
                HostMatch::Wildcard(pattern) => {
                    // The model holds `*.suffix`; `matches` compares against `pattern[1..]`.
                    let suffix = pattern.strip_prefix('*').unwrap_or(pattern);
                    keep_first(&mut router.wildcard_hosts, suffix, host_index);
                }
                HostMatch::WildcardLabels(pattern) => {
                    let suffix = pattern.strip_prefix('*').unwrap_or(pattern);
                    keep_first(&mut router.wildcard_labels_hosts, suffix, host_index);
                }
                HostMatch::Any => {
                    router.any_host.get_or_insert(host_index);
                }
            }
            let mut paths = PathIndex::default();
            for route in &vhost.routes {
                let id = router.actions.len();
                router.actions.push(route.action.clone());
                let conditional = !route.conditions.is_empty();
                router
                    .conditions
                    .push(conditional.then(|| route.conditions.compile()));
                let candidates = match route.path.kind {
                    PathKind::Exact => paths.exact.entry(route.path.path.clone()).or_default(),
                    PathKind::Prefix if route.path.path == "/" => &mut paths.root_prefix,
                    PathKind::Prefix => paths.prefix.entry(route.path.path.clone()).or_default(),
                };
                candidates.push(id, conditional);
            }
            router.hosts.push(paths);
        }
        router
    }

    /// The action for a `GET` with no headers, query or client address, given its raw host
    /// (`Host` header or `:authority`) and path (no query).
    pub fn route(&self, raw_host: &str, path: &str) -> ActionId {
        self.route_request(&RouteRequest::get(raw_host, path))
    }

    /// The action for a request (its host raw, its path normalized).
    pub fn route_request(&self, request: &RouteRequest<'_>) -> ActionId {
        let host = normalize_host(request.host);
        match self.virtual_host(&host) {
            Some(index) => self.hosts[index]
                .route(request.path, &|id| {
                    self.conditions[id]
                        .as_ref()
                        .is_none_or(|conditions| conditions.matches(request))
                })
                .map_or(ActionId::DEFAULT, ActionId),
            None => ActionId::DEFAULT,
        }
    }

    /// The action behind an id returned by [`Router::route`].
    pub fn action(&self, id: ActionId) -> &Action {
        // Ids only come from this router's own tables; the default (0) always exists.
        &self.actions[id.0]
    }

    /// Every action, the default first, in the order [`ActionId`]s index them.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The number of routes (actions other than the default).
    pub fn route_count(&self) -> usize {
        self.actions.len() - 1
    }

    fn virtual_host(&self, host: &str) -> Option<usize> {
        let exact = self.exact_hosts.get(host).copied();
        let wildcard = match host.find('.') {
            Some(dot) if dot > 0 => self.wildcard_hosts.get(&host[dot..]).copied(),
            _ => None,
        };
        let mut wildcard_labels = None;
        if !self.wildcard_labels_hosts.is_empty() {
            // Every suffix after a non-empty first part: `a.b.c` tries `.b.c` and `.c`.
            for (at, byte) in host.bytes().enumerate().skip(1) {
                if byte == b'.' {
                    let found = self.wildcard_labels_hosts.get(&host[at..]).copied();
                    wildcard_labels = min_some(wildcard_labels, found);
                }
            }
        }
        let wildcard = min_some(wildcard, wildcard_labels);
        min_some(min_some(exact, wildcard), self.any_host)
    }
}

impl PathIndex {
    /// The smallest action id among the routes whose path matches and for which `holds` (their
    /// conditions) is true.
    fn route(&self, path: &str, holds: &dyn Fn(usize) -> bool) -> Option<usize> {
        let first = |candidates: Option<&Candidates>| {
            candidates.and_then(|candidates| candidates.ids.iter().copied().find(|&id| holds(id)))
        };
        let mut best = min_some(first(self.exact.get(path)), first(Some(&self.root_prefix)));
        if !self.prefix.is_empty() {
            best = min_some(best, first(self.prefix.get(path)));
            for (at, byte) in path.bytes().enumerate() {
                if byte == b'/' {
                    best = min_some(best, first(self.prefix.get(&path[..at])));
                }
            }
        }
        best
    }
}

fn keep_first(map: &mut HashMap<String, usize>, key: &str, index: usize) {
    if let Entry::Vacant(slot) = map.entry(key.to_owned()) {
        slot.insert(index);
    }
}

fn min_some(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use weir_model::{
        HeaderCondition, HeaderList, IpCidr, ObjectRef, PathMatch, QueryCondition, QueryPair,
        Route, RouteConditions, RouteDecision, RouteSource, StackId, StringMatch, TargetGroupKey,
        VirtualHost,
    };

    use super::*;

    fn forward(name: &str) -> Action {
        Action::Forward {
            target_group: TargetGroupKey {
                namespace: "default".into(),
                service: name.into(),
                port: 80,
            },
        }
    }

    fn route(kind: PathKind, path: &str, action: Action, index: usize) -> Route {
        Route {
            path: PathMatch {
                kind,
                path: path.into(),
            },
            conditions: Default::default(),
            action,
            filters: Default::default(),
            source: RouteSource {
                ingress: ObjectRef::namespaced("Ingress", "default", "test"),
                rule: 0,
                path: index,
            },
        }
    }

    fn model(virtual_hosts: Vec<VirtualHost>, default_action: Action) -> DesiredLoadBalancer {
        DesiredLoadBalancer {
            stack: StackId::Class("*".into()),
            ingress_class: "weir".into(),
            members: Vec::new(),
            listeners: BTreeMap::new(),
            virtual_hosts,
            default_action,
            target_groups: BTreeMap::new(),
            certificates: Vec::new(),
            settings: BTreeMap::new(),
        }
    }

    /// What the reference semantics decide, as an action id of the router's numbering.
    fn reference(model: &DesiredLoadBalancer, request: &RouteRequest<'_>) -> ActionId {
        match model.route_request(request) {
            RouteDecision::Default(_) => ActionId::DEFAULT,
            RouteDecision::Route(chosen) => {
                let position = model
                    .routes()
                    .position(|(_, candidate)| std::ptr::eq(candidate, chosen))
                    .expect("the reference returns one of the model's routes");
                ActionId(position + 1)
            }
        }
    }

    #[test]
    fn table_of_hosts_and_paths() {
        let model = model(
            vec![
                VirtualHost {
                    host: HostMatch::Exact("foo.bar.com".into()),
                    redirect_to_https_port: None,
                    routes: vec![
                        route(PathKind::Exact, "/foo", forward("exact"), 0),
                        route(PathKind::Prefix, "/foo", forward("prefix-foo"), 1),
                        route(PathKind::Prefix, "/", forward("root"), 2),
                    ],
                },
                VirtualHost {
                    host: HostMatch::Wildcard("*.bar.com".into()),
                    redirect_to_https_port: None,
                    routes: vec![route(PathKind::Prefix, "/aaa", forward("wild"), 0)],
                },
                VirtualHost {
                    host: HostMatch::Any,
                    redirect_to_https_port: None,
                    routes: vec![route(PathKind::Prefix, "/", forward("any"), 0)],
                },
            ],
            Action::status(404),
        );
        let router = Router::new(&model);
        let name = |host: &str, path: &str| match router.action(router.route(host, path)) {
            Action::Forward { target_group } => target_group.service.clone(),
            Action::FixedResponse { status, .. } => status.to_string(),
            other => other.to_string(),
        };
        assert_eq!(name("foo.bar.com", "/foo"), "exact");
        assert_eq!(name("FOO.bar.com:8080", "/foo/"), "prefix-foo");
        assert_eq!(name("foo.bar.com", "/foobar"), "root");
        assert_eq!(name("x.bar.com", "/aaa/b"), "wild");
        // A matched host whose paths all miss goes to the default, not to a later host.
        assert_eq!(name("x.bar.com", "/aaab"), "404");
        assert_eq!(name("a.x.bar.com", "/aaa"), "any");
        assert_eq!(name("bar.com", "/"), "any");
        assert_eq!(router.route_count(), 5);
    }

    #[test]
    fn gateway_api_wildcards_span_labels_and_keep_model_order() {
        let model = model(
            vec![
                VirtualHost {
                    host: HostMatch::WildcardLabels("*.b.com".into()),
                    redirect_to_https_port: None,
                    routes: vec![route(PathKind::Prefix, "/", forward("deep-b"), 0)],
                },
                VirtualHost {
                    host: HostMatch::WildcardLabels("*.com".into()),
                    redirect_to_https_port: None,
                    routes: vec![route(PathKind::Prefix, "/", forward("deep-com"), 0)],
                },
            ],
            Action::status(404),
        );
        let router = Router::new(&model);
        for (host, want) in [
            ("a.b.com", "deep-b"),
            ("x.y.a.b.com", "deep-b"),
            ("b.com", "deep-com"),
            ("x.y.com", "deep-com"),
            ("com", "404"),
            (".com", "404"),
        ] {
            let request = RouteRequest::get(host, "/");
            assert_eq!(
                router.route_request(&request),
                reference(&model, &request),
                "{host}"
            );
            let name = match router.action(router.route(host, "/")) {
                Action::Forward { target_group } => target_group.service.clone(),
                other => other.to_string(),
            };
            assert_eq!(name.replace("fixed-response ", ""), want, "{host}");
        }
    }

    fn arb_host_match() -> impl Strategy<Value = HostMatch> {
        prop_oneof![
            "(a|b|c)(\\.(a|b|c)){0,2}".prop_map(HostMatch::Exact),
            "(a|b|c)(\\.(a|b|c)){0,1}"
                .prop_map(|suffix| HostMatch::Wildcard(format!("*.{suffix}"))),
            "(a|b|c)(\\.(a|b|c)){0,1}"
                .prop_map(|suffix| HostMatch::WildcardLabels(format!("*.{suffix}"))),
            Just(HostMatch::Any),
        ]
    }

    fn arb_rule_path() -> impl Strategy<Value = PathMatch> {
        prop_oneof![
            Just("/".to_owned()),
            "(/(x|y|xy|z)){1,3}",
            "(/(x|y|xy|z)){1,2}/",
        ]
        .prop_flat_map(|path| {
            prop_oneof![Just(PathKind::Exact), Just(PathKind::Prefix)].prop_map(move |kind| {
                let path = match kind {
                    // The model strips a Prefix path's trailing slash (except `/` itself).
                    PathKind::Prefix if path.len() > 1 => path.trim_end_matches('/').to_owned(),
                    _ => path.clone(),
                };
                PathMatch { kind, path }
            })
        })
    }

    fn arb_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            "[a-e]".prop_map(|name| forward(&name)),
            Just(Action::status(503)),
        ]
    }

    fn arb_model() -> impl Strategy<Value = DesiredLoadBalancer> {
        let vhost = (
            arb_host_match(),
            prop::collection::vec((arb_rule_path(), arb_conditions(), arb_action()), 0..6),
        )
            .prop_map(|(host, paths)| VirtualHost {
                host,
                redirect_to_https_port: None,
                routes: paths
                    .into_iter()
                    .enumerate()
                    .map(|(index, (path, conditions, action))| Route {
                        path,
                        conditions,
                        action,
                        filters: Default::default(),
                        source: RouteSource {
                            ingress: ObjectRef::namespaced("Ingress", "default", "gen"),
                            rule: 0,
                            path: index,
                        },
                    })
                    .collect(),
            });
        (prop::collection::vec(vhost, 0..6), arb_action())
            .prop_map(|(vhosts, default)| model(vhosts, default))
    }

    /// Mostly none; else some of a method, a header, a query and a source-ip condition.
    fn arb_conditions() -> impl Strategy<Value = RouteConditions> {
        let method = prop::option::of(prop::sample::select(vec!["GET", "POST"]));
        let header = prop::option::of((
            prop::sample::select(vec!["x-a", "x-b"]),
            prop::sample::select(vec!["1", "2"]),
            0..3u8,
        ));
        let query = prop::option::of(prop::sample::select(vec!["q=1", "q=2", "r=1"]));
        let source = prop::option::of(prop::sample::select(vec!["10.0.0.0/8", "10.1.0.0/16"]));
        prop_oneof![
            2 => Just(RouteConditions::default()),
            3 => (method, header, query, source).prop_map(|(method, header, query, source)| {
                RouteConditions {
                    methods: method.map(|m| vec![m.to_owned()]).unwrap_or_default(),
                    headers: header
                        .map(|(name, value, kind)| {
                            vec![HeaderCondition {
                                name: name.to_owned(),
                                values: vec![match kind {
                                    0 => StringMatch::Glob(format!("{value}*")),
                                    1 => StringMatch::Regex(format!("{value}[0-9]?")),
                                    _ => StringMatch::Exact(value.to_owned()),
                                }],
                            }]
                        })
                        .unwrap_or_default(),
                    query: query
                        .map(|pair| {
                            let (key, value) = pair.split_once('=').unwrap();
                            vec![QueryCondition {
                                any_of: vec![QueryPair {
                                    key: Some(StringMatch::Exact(key.to_owned())),
                                    value: StringMatch::Exact(value.to_owned()),
                                }],
                            }]
                        })
                        .unwrap_or_default(),
                    source_ips: source
                        .map(|cidr| vec![cidr.parse::<IpCidr>().unwrap()])
                        .unwrap_or_default(),
                    listener_ports: Vec::new(),
                }
            }),
        ]
    }

    /// A request's method, headers, query and client address.
    fn arb_request_extras() -> impl Strategy<Value = (String, Vec<(String, String)>, String, String)>
    {
        (
            prop::sample::select(vec!["GET", "POST", "PUT"]).prop_map(str::to_owned),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["x-a", "X-B", "x-c"]).prop_map(str::to_owned),
                    prop::sample::select(vec!["1", "2", "12"]).prop_map(str::to_owned),
                ),
                0..3,
            ),
            prop::sample::select(vec!["", "q=1", "q=2&r=1", "r=1"]).prop_map(str::to_owned),
            prop::sample::select(vec!["10.1.2.3", "10.2.0.1", "192.0.2.1"]).prop_map(str::to_owned),
        )
    }

    fn arb_request_host() -> impl Strategy<Value = String> {
        "(A|a|b|c|d)(\\.(a|b|c|C)){0,3}(\\.)?(:80|:8443)?"
    }

    fn arb_request_path() -> impl Strategy<Value = String> {
        "(/(x|y|xy|z|xyz|)){0,4}/?".prop_map(|path| {
            if path.is_empty() {
                "/".to_owned()
            } else {
                path
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The router decides exactly as the model's reference `route()` does, whatever order
        /// (or disorder) the model's hosts and routes come in.
        #[test]
        fn router_equals_reference_semantics(
            model in arb_model(),
            requests in prop::collection::vec(
                (arb_request_host(), arb_request_path(), arb_request_extras()),
                1..24,
            ),
        ) {
            let router = Router::new(&model);
            for (host, path, (method, headers, query, source)) in &requests {
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let headers = HeaderList(&headers);
                let request = RouteRequest {
                    host,
                    path,
                    method,
                    query: Some(query.as_str()),
                    headers: &headers,
                    source_ip: source.parse().ok(),
                    listener_port: None,
                };
                prop_assert_eq!(
                    router.route_request(&request),
                    reference(&model, &request),
                    "{:?}", request
                );
            }
        }
    }
}
