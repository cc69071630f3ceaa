//! Rendering a model into ALB listeners and prioritised listener rules.
//!
//! An ALB evaluates a listener's rules by priority and takes the first whose conditions all
//! match, else the listener's default action. Kubernetes precedence maps onto that with globs
//! only (no regex conditions: emulators reject them and they are not needed):
//!
//! - Exact `/a` -> path `/a`; Prefix `/a` -> paths `/a` and `/a/*`; Prefix `/` -> `/*`.
//! - Virtual hosts in model order (exact, wildcards with more labels first, host-less).
//! - After a host's routes, a **catch-all** rule for that host sends path misses to the default
//!   action, so a request never falls through to a less specific host. It is left out when the
//!   host has a Prefix `/` route or no later rule could match the host anyway.
//! - The glob `*.foo.com` also matches `a.b.foo.com`, but `*.foo.com` in an Ingress matches one
//!   label only. So just before the rules of `*.foo.com` a **guard** for `*.*.foo.com` routes
//!   deeper names as the host-less rules would: copies of the host-less routes for that host
//!   glob, then a catch-all.

use std::fmt;

use serde::Serialize;
use weir_model::{
    Action, DesiredLoadBalancer, HostMatch, PathKind, PathMatch, Protocol, Route, RouteSource,
};

use crate::api::rule_parts::{
    MatchConditions, check_weighted, fixed_spec, match_conditions, redirect_spec,
};
use crate::render::glob;

/// The ALB shape of one stack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlbView {
    /// One ALB listener per model listener.
    pub listeners: Vec<AlbListener>,
    /// The rules every routing (non-redirecting) listener carries, by ascending priority.
    pub rules: Vec<AlbRule>,
}

impl AlbView {
    /// ALB's own evaluation of a request on the routing listener of `listener_port`: the first
    /// rule on that listener by priority whose host glob (when it has one), one of whose path
    /// globs (when it has any) and whose other conditions, as `conditions_hold` judges them,
    /// match. `None`: the listener's default answers. Tests hold it against the model's matcher
    /// and the proxy's router.
    pub fn first_match(
        &self,
        listener_port: u16,
        host: &str,
        path: &str,
        conditions_hold: impl Fn(&MatchConditions) -> bool,
    ) -> Option<&AlbRule> {
        let host = weir_model::normalize_host(host);
        self.rules.iter().find(|rule| {
            rule.on_listener(listener_port)
                && rule
                    .host
                    .as_deref()
                    .is_none_or(|pattern| glob::host_matches(pattern, &host))
                && (rule.paths.is_empty()
                    || rule
                        .paths
                        .iter()
                        .any(|pattern| glob::path_matches(pattern, path)))
                && conditions_hold(&rule.conditions)
        })
    }
}

/// One ALB listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlbListener {
    /// The port.
    pub port: u16,
    /// HTTP or HTTPS.
    pub protocol: Protocol,
    /// What the listener does when no rule matches.
    pub default: ListenerDefault,
}

impl AlbListener {
    /// Whether this listener carries the stack's rules (a redirecting listener has none).
    pub fn routes(&self) -> bool {
        matches!(self.default, ListenerDefault::Action(_))
    }
}

/// A listener's default action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerDefault {
    /// The stack's default action; the listener carries the rules.
    Action(Action),
    /// Redirect everything to HTTPS on this port (`ssl-redirect`); the listener has no rules.
    RedirectToHttps(u16),
}

/// One listener rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlbRule {
    /// The rule priority (1 is evaluated first).
    pub priority: u32,
    /// The host-header condition value (a glob), if the rule has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The path-pattern condition values (globs); empty means no path condition.
    pub paths: Vec<String>,
    /// The http-header, http-request-method, query-string and source-ip conditions.
    #[serde(skip_serializing_if = "MatchConditions::is_empty")]
    pub conditions: MatchConditions,
    /// The ports of the listeners that carry this rule (its route's
    /// [`weir_model::RouteConditions::listener_ports`]); empty: every routing listener.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listener_ports: Vec<u16>,
    /// The action.
    pub action: Action,
    /// Why the rule exists.
    pub purpose: RulePurpose,
}

impl AlbRule {
    /// Whether the routing listener of `port` carries this rule.
    pub fn on_listener(&self, port: u16) -> bool {
        self.listener_ports.is_empty() || self.listener_ports.contains(&port)
    }
}

/// Why an [`AlbRule`] exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RulePurpose {
    /// An Ingress path.
    Route(RouteSource),
    /// A host-less Ingress path repeated for names below a wildcard (see the module docs).
    GuardedRoute(RouteSource),
    /// Sends the host's path misses to the default action.
    CatchAll,
}

impl fmt::Display for AlbRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>5}  host={:<24} path={:<24}{} -> {}",
            self.priority,
            self.host.as_deref().unwrap_or("*"),
            if self.paths.is_empty() {
                "*".to_owned()
            } else {
                self.paths.join(",")
            },
            self.conditions,
            self.action
        )?;
        if !self.listener_ports.is_empty() {
            let ports: Vec<String> = self.listener_ports.iter().map(u16::to_string).collect();
            write!(f, "  [listener {}]", ports.join(","))?;
        }
        match &self.purpose {
            RulePurpose::Route(source) => {
                write!(f, "  ({} {})", source.ingress, source.field())
            }
            RulePurpose::GuardedRoute(source) => {
                write!(f, "  (guard copy of {} {})", source.ingress, source.field())
            }
            RulePurpose::CatchAll => f.write_str("  (catch-all)"),
        }
    }
}

/// Characters an ALB path-pattern value may hold besides letters and digits (`*` and `?` are
/// wildcards there, so a literal one cannot be expressed).
const PATH_PUNCTUATION: &str = "_-.$/~\"'@:+&()!,;=";
/// Longest host-header or path-pattern value.
pub(crate) const MAX_CONDITION_VALUE_LENGTH: usize = 128;

/// Why an ALB path condition cannot express `path` literally, if it cannot. Such routes are left
/// out of the rendered rules (and reported), so one of them never blocks the rest of a stack.
pub fn inexpressible_path(path: &PathMatch) -> Option<String> {
    let value = &path.path;
    if let Some(bad) = value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !PATH_PUNCTUATION.contains(*c))
    {
        return Some(format!(
            "path {value:?} holds {bad:?}, which an ALB path condition cannot match literally"
        ));
    }
    if value.len() + 2 > MAX_CONDITION_VALUE_LENGTH {
        return Some(format!(
            "path {value:?} is longer than an ALB path condition allows ({MAX_CONDITION_VALUE_LENGTH} characters with its /* suffix)"
        ));
    }
    None
}

/// Why the ALB rendering leaves `route` out, if it does: a path an ALB condition cannot match
/// literally, or a condition, action or filter the rendering does not express. The route's
/// requests then get the next matching rule, and `fit` reports it as a warning.
pub fn unsupported(route: &Route) -> Option<String> {
    if let Some(problem) = inexpressible_path(&route.path) {
        return Some(problem);
    }
    if let Err(problem) = match_conditions(&route.conditions) {
        return Some(format!("condition with {problem}"));
    }
    if !route.filters.is_empty() {
        return Some("header modifiers, URL rewrites and timeouts".to_owned());
    }
    unsupported_action(&route.action)
}

/// Why an ALB action cannot do what `action` does, if it cannot.
pub fn unsupported_action(action: &Action) -> Option<String> {
    match action {
        Action::Forward { .. } => None,
        Action::WeightedForward { targets } => check_weighted(targets).err(),
        Action::FixedResponse {
            status,
            content_type,
            body,
        } => fixed_spec(*status, content_type.as_deref(), body.as_deref()).err(),
        Action::Redirect(redirect) => redirect_spec(redirect).err(),
    }
}

/// The path-pattern values of a Kubernetes path.
pub fn path_patterns(path: &PathMatch) -> Vec<String> {
    match (path.kind, path.path.as_str()) {
        (PathKind::Exact, path) => vec![path.to_owned()],
        (PathKind::Prefix, "/") => vec!["/*".to_owned()],
        (PathKind::Prefix, path) => vec![path.to_owned(), format!("{path}/*")],
    }
}

/// Renders the stack's listeners and rules.
pub fn render(desired: &DesiredLoadBalancer) -> AlbView {
    let listeners = desired
        .listeners
        .iter()
        .map(|(port, listener)| AlbListener {
            port: *port,
            protocol: listener.protocol,
            default: match listener.redirect_to_https_port {
                Some(https_port) => ListenerDefault::RedirectToHttps(https_port),
                None => ListenerDefault::Action(desired.default_action.clone()),
            },
        })
        .collect();
    AlbView {
        listeners,
        rules: render_rules(desired),
    }
}

/// One block of consecutive rules sharing a host glob, before priorities are assigned.
struct Block {
    host: Option<String>,
    /// A host the block's glob stands for, to ask whether later rules could match it.
    representative: Option<String>,
    routes: Vec<BlockRoute>,
    covers_all_paths: bool,
}

/// One rule of a [`Block`]: path patterns, other conditions, the listeners that carry it,
/// action and purpose.
struct BlockRoute {
    paths: Vec<String>,
    conditions: MatchConditions,
    listener_ports: Vec<u16>,
    action: Action,
    purpose: RulePurpose,
}

/// The rendered parts of an expressible route.
fn block_route(route: &Route, purpose: RulePurpose) -> BlockRoute {
    BlockRoute {
        paths: path_patterns(&route.path),
        // Only routes `unsupported` lets through are rendered, so the conditions convert.
        conditions: match_conditions(&route.conditions).unwrap_or_default(),
        listener_ports: route.conditions.listener_ports.clone(),
        action: route.action.clone(),
        purpose,
    }
}

fn render_rules(desired: &DesiredLoadBalancer) -> Vec<AlbRule> {
    let host_less: Vec<&Route> = desired
        .virtual_hosts
        .iter()
        .filter(|vhost| vhost.host == HostMatch::Any)
        .flat_map(|vhost| &vhost.routes)
        .filter(|route| unsupported(route).is_none())
        .collect();
    let mut blocks = Vec::new();
    for vhost in &desired.virtual_hosts {
        let expressible = vhost
            .routes
            .iter()
            .filter(|route| unsupported(route).is_none());
        let routes =
            expressible.map(|route| block_route(route, RulePurpose::Route(route.source.clone())));
        let block = match &vhost.host {
            HostMatch::Exact(host) => {
                Block::new(Some(host.clone()), Some(host.clone()), routes.collect())
            }
            HostMatch::Wildcard(pattern) => {
                let suffix = &pattern[1..];
                let guard_routes = host_less
                    .iter()
                    .map(|route| {
                        block_route(route, RulePurpose::GuardedRoute(route.source.clone()))
                    })
                    .collect();
                blocks.push(Block::new(
                    Some(format!("*.*{suffix}")),
                    Some(format!("a.a{suffix}")),
                    guard_routes,
                ));
                Block::new(
                    Some(pattern.clone()),
                    Some(format!("a{suffix}")),
                    routes.collect(),
                )
            }
            // ALB's `*` spans dots, which is exactly Gateway API's wildcard: no guard needed.
            HostMatch::WildcardLabels(pattern) => Block::new(
                Some(pattern.clone()),
                Some(format!("a{}", &pattern[1..])),
                routes.collect(),
            ),
            HostMatch::Any => Block::new(None, None, routes.collect()),
        };
        blocks.push(block);
    }
    let catch_alls = catch_alls_needed(&blocks);
    let mut rules = Vec::new();
    for (block, catch_all) in blocks.into_iter().zip(catch_alls) {
        for route in block.routes {
            rules.push((block.host.clone(), route));
        }
        if catch_all {
            rules.push((
                block.host.clone(),
                BlockRoute {
                    paths: Vec::new(),
                    conditions: MatchConditions::default(),
                    listener_ports: Vec::new(),
                    action: desired.default_action.clone(),
                    purpose: RulePurpose::CatchAll,
                },
            ));
        }
    }
    (1..)
        .zip(rules)
        .map(|(priority, (host, route))| AlbRule {
            priority,
            host,
            paths: route.paths,
            conditions: route.conditions,
            listener_ports: route.listener_ports,
            action: route.action,
            purpose: route.purpose,
        })
        .collect()
}

impl Block {
    fn new(host: Option<String>, representative: Option<String>, routes: Vec<BlockRoute>) -> Self {
        // Only a route without other conditions, on every listener, takes every request of
        // its paths.
        let covers_all_paths = routes.iter().any(|route| {
            route.conditions.is_empty()
                && route.listener_ports.is_empty()
                && route.paths.iter().any(|path| path == "/*")
        });
        Self {
            host,
            representative,
            routes,
            covers_all_paths,
        }
    }
}

/// For each block, whether it needs a trailing catch-all: only when its routes leave some path
/// unmatched and a later rule could match one of its hosts. Decided from the last block back,
/// since a catch-all is itself a later rule for the blocks before it.
fn catch_alls_needed(blocks: &[Block]) -> Vec<bool> {
    let mut later_hosts: Vec<Option<&str>> = Vec::new();
    let mut needed = vec![false; blocks.len()];
    for (index, block) in blocks.iter().enumerate().rev() {
        let Some(representative) = &block.representative else {
            later_hosts.extend(block.routes.iter().map(|_| None));
            continue;
        };
        let shadowed_later = later_hosts.iter().any(|host| match host {
            None => true,
            Some(glob) => glob::host_matches(glob, representative),
        });
        needed[index] = !block.covers_all_paths && shadowed_later;
        if needed[index] || !block.routes.is_empty() {
            later_hosts.push(block.host.as_deref());
        }
    }
    needed
}
