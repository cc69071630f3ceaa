//! The reference request-matching semantics of the model.
//!
//! Every provider must route exactly as [`DesiredLoadBalancer::route_request`] does; the AWS rule
//! rendering and the proxy's precomputed router are both tested against it.

use std::borrow::Cow;

use crate::{Action, DesiredLoadBalancer, HostMatch, PathKind, PathMatch, Route, RouteRequest};

/// The outcome of matching one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteDecision<'a> {
    /// A route matched.
    Route(&'a Route),
    /// No route matched: the load balancer's default action answers.
    Default(&'a Action),
}

impl<'a> RouteDecision<'a> {
    /// The action to take.
    pub fn action(&self) -> &'a Action {
        match self {
            Self::Route(route) => &route.action,
            Self::Default(action) => action,
        }
    }
}

impl DesiredLoadBalancer {
    /// Routes a `GET` with no headers, query or client address given its `Host` header (or
    /// `:authority`) and its path (no query): [`DesiredLoadBalancer::route_request`] for
    /// [`RouteRequest::get`].
    pub fn route(&self, host: &str, path: &str) -> RouteDecision<'_> {
        self.route_request(&RouteRequest::get(host, path))
    }

    /// Routes a request.
    ///
    /// The first virtual host whose [`HostMatch`] accepts the normalized host is chosen, and
    /// within it the first route whose path matches and whose
    /// [`conditions`](crate::RouteConditions) all hold. A host that matches but has no
    /// matching route goes to the default action, never to a less specific host. The order of
    /// the routes is the model's (translation sorts them, see [`crate::VirtualHost::routes`]).
    pub fn route_request(&self, request: &RouteRequest<'_>) -> RouteDecision<'_> {
        let host = normalize_host(request.host);
        let matched = self
            .virtual_hosts
            .iter()
            .find(|vhost| vhost.host.matches(&host))
            .and_then(|vhost| {
                vhost.routes.iter().find(|route| {
                    route.path.matches(request.path) && route.conditions.matches(request)
                })
            });
        match matched {
            Some(route) => RouteDecision::Route(route),
            None => RouteDecision::Default(&self.default_action),
        }
    }
}

/// Lowercases a request host and strips its `:port` and a trailing `.` (`Foo.COM.:8080` ->
/// `foo.com`). Bracketed IPv6 literals keep their brackets.
pub fn normalize_host(raw: &str) -> Cow<'_, str> {
    let without_port = match raw.strip_prefix('[') {
        Some(rest) => match rest.find(']') {
            Some(end) => &raw[..end + 2],
            None => raw,
        },
        None => match raw.rsplit_once(':') {
            Some((host, port))
                if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                host
            }
            _ => raw,
        },
    };
    let trimmed = without_port.strip_suffix('.').unwrap_or(without_port);
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

impl HostMatch {
    /// Whether this pattern accepts a host already passed through [`normalize_host`].
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(exact) => exact == host,
            Self::Wildcard(pattern) => {
                let suffix = &pattern[1..];
                host.len() > suffix.len()
                    && host.ends_with(suffix)
                    && !host[..host.len() - suffix.len()].contains('.')
            }
            Self::WildcardLabels(pattern) => {
                let suffix = &pattern[1..];
                host.len() > suffix.len() && host.ends_with(suffix)
            }
            Self::Any => true,
        }
    }
}

impl PathMatch {
    /// Whether a request path (without query string) matches.
    pub fn matches(&self, request_path: &str) -> bool {
        match self.kind {
            PathKind::Exact => request_path == self.path,
            PathKind::RegularExpression => crate::anchored_regex(&self.path)
                .is_ok_and(|pattern| pattern.is_match(request_path)),
            PathKind::Prefix => {
                self.path == "/"
                    || request_path
                        .strip_prefix(self.path.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(path: &str) -> PathMatch {
        PathMatch {
            kind: PathKind::Prefix,
            path: path.into(),
        }
    }

    fn exact(path: &str) -> PathMatch {
        PathMatch {
            kind: PathKind::Exact,
            path: path.into(),
        }
    }

    #[test]
    fn hosts_are_lowercased_and_lose_port_and_trailing_dot() {
        for (raw, want) in [
            ("Foo.Example.COM", "foo.example.com"),
            ("foo.example.com:8080", "foo.example.com"),
            ("foo.example.com.", "foo.example.com"),
            ("[::1]:8443", "[::1]"),
            ("[::1]", "[::1]"),
            ("10.0.0.1:80", "10.0.0.1"),
            ("foo:bar", "foo:bar"),
        ] {
            assert_eq!(normalize_host(raw), want, "{raw}");
        }
    }

    #[test]
    fn wildcards_match_exactly_one_label() {
        let wildcard = HostMatch::Wildcard("*.foo.com".into());
        assert!(wildcard.matches("bar.foo.com"));
        assert!(!wildcard.matches("foo.com"));
        assert!(!wildcard.matches(".foo.com"));
        assert!(!wildcard.matches("baz.bar.foo.com"));
        assert!(!wildcard.matches("barfoo.com"));
    }

    #[test]
    fn gateway_api_wildcards_match_one_or_more_labels() {
        let wildcard = HostMatch::WildcardLabels("*.foo.com".into());
        assert!(wildcard.matches("bar.foo.com"));
        assert!(wildcard.matches("baz.bar.foo.com"));
        assert!(!wildcard.matches("foo.com"));
        assert!(!wildcard.matches(".foo.com"));
        assert!(!wildcard.matches("barfoo.com"));
    }

    /// The Kubernetes docs table "Examples" of path matching.
    #[test]
    fn kubernetes_docs_path_matching_table() {
        let cases: &[(PathMatch, &str, bool)] = &[
            (prefix("/"), "/anything", true),
            (exact("/foo"), "/foo", true),
            (exact("/foo"), "/bar", false),
            (exact("/foo"), "/foo/", false),
            (exact("/foo/"), "/foo", false),
            (prefix("/foo"), "/foo", true),
            (prefix("/foo"), "/foo/", true),
            (prefix("/aaa/bb"), "/aaa/bbb", false),
            (prefix("/aaa/bbb"), "/aaa/bbb", true),
            (prefix("/aaa/bbb"), "/aaa/bbb/", true),
            (prefix("/aaa/bbb"), "/aaa/bbbxyz", false),
            (prefix("/aaa/bbb"), "/aaa/bbb/ccc", true),
            (prefix("/aaa"), "/aaa/ccc", true),
            (prefix("/aaa"), "/ccc", false),
        ];
        for (rule, request, want) in cases {
            assert_eq!(rule.matches(request), *want, "{rule:?} vs {request}");
        }
    }

    #[test]
    fn regular_expression_paths_match_the_whole_path_case_sensitively() {
        let pattern = PathMatch {
            kind: PathKind::RegularExpression,
            path: "/v[0-9]+/(users|teams)".into(),
        };
        assert!(pattern.matches("/v2/users"));
        assert!(pattern.matches("/v10/teams"));
        assert!(!pattern.matches("/v2/users/1"), "anchored at the end");
        assert!(!pattern.matches("/api/v2/users"), "anchored at the start");
        assert!(!pattern.matches("/V2/users"), "case-sensitive");
        let invalid = PathMatch {
            kind: PathKind::RegularExpression,
            path: "/(".into(),
        };
        assert!(!invalid.matches("/("), "an invalid pattern matches nothing");
    }

    fn route_with(path: PathMatch, conditions: crate::RouteConditions, name: &str) -> Route {
        Route {
            path,
            conditions,
            action: Action::status(200),
            filters: crate::RouteFilters::default(),
            source: crate::RouteSource {
                ingress: crate::ObjectRef::namespaced("Ingress", "ns", name),
                rule: 0,
                path: 0,
            },
        }
    }

    /// The first route (in model order) whose path and conditions hold wins; a route whose
    /// conditions fail falls through to the next route of the same host, never to another host.
    #[test]
    fn conditions_are_part_of_first_match() {
        use crate::{
            HeaderCondition, HeaderList, QueryCondition, QueryPair, RouteConditions, StringMatch,
            VirtualHost,
        };
        let header = |value: &str| RouteConditions {
            headers: vec![HeaderCondition {
                name: "x-version".into(),
                values: vec![StringMatch::Exact(value.into())],
            }],
            ..RouteConditions::default()
        };
        let method = RouteConditions {
            methods: vec!["POST".into()],
            ..RouteConditions::default()
        };
        let query = RouteConditions {
            query: vec![QueryCondition {
                any_of: vec![QueryPair {
                    key: Some(StringMatch::Exact("beta".into())),
                    value: StringMatch::Exact("1".into()),
                }],
            }],
            ..RouteConditions::default()
        };
        let source = RouteConditions {
            source_ips: vec!["10.0.0.0/8".parse().unwrap()],
            ..RouteConditions::default()
        };
        let model = DesiredLoadBalancer {
            stack: crate::StackId::Class("c".into()),
            ingress_class: "c".into(),
            members: Vec::new(),
            listeners: Default::default(),
            virtual_hosts: vec![
                VirtualHost {
                    host: HostMatch::Exact("a.com".into()),
                    routes: vec![
                        route_with(exact("/x"), method, "post-x"),
                        route_with(prefix("/"), header("v2"), "v2"),
                        route_with(prefix("/"), query, "beta"),
                        route_with(prefix("/"), source, "internal"),
                    ],
                    redirect_to_https_port: None,
                },
                VirtualHost {
                    host: HostMatch::Any,
                    routes: vec![route_with(prefix("/"), Default::default(), "any")],
                    redirect_to_https_port: None,
                },
            ],
            default_action: Action::status(404),
            target_groups: Default::default(),
            certificates: Vec::new(),
            settings: Default::default(),
        };
        let winner = |request: RouteRequest<'_>| match model.route_request(&request) {
            RouteDecision::Route(route) => route.source.ingress.name.clone(),
            RouteDecision::Default(_) => "default".to_owned(),
        };
        let v2 = [("X-Version", "v2")];
        let v1 = [("x-version", "v1")];
        let base = RouteRequest::get("a.com", "/x");
        assert_eq!(winner(base), "default");
        assert_eq!(
            winner(RouteRequest {
                method: "POST",
                ..base
            }),
            "post-x"
        );
        assert_eq!(
            winner(RouteRequest {
                headers: &HeaderList(&v2),
                ..base
            }),
            "v2"
        );
        assert_eq!(
            winner(RouteRequest {
                headers: &HeaderList(&v1),
                ..base
            }),
            "default"
        );
        assert_eq!(
            winner(RouteRequest {
                query: Some("beta=1"),
                ..base
            }),
            "beta"
        );
        assert_eq!(
            winner(RouteRequest {
                query: Some("beta=2"),
                ..base
            }),
            "default"
        );
        let inside = Some("10.1.1.1".parse().unwrap());
        let outside = Some("11.1.1.1".parse().unwrap());
        assert_eq!(
            winner(RouteRequest {
                source_ip: inside,
                ..base
            }),
            "internal"
        );
        assert_eq!(
            winner(RouteRequest {
                source_ip: outside,
                ..base
            }),
            "default"
        );
        assert_eq!(
            winner(RouteRequest {
                method: "POST",
                headers: &HeaderList(&v2),
                ..base
            }),
            "post-x"
        );
        assert_eq!(winner(RouteRequest::get("b.com", "/x")), "any");
    }
}
