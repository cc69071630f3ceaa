//! The reference request-matching semantics of the model.
//!
//! Every provider must route exactly as [`DesiredLoadBalancer::route`] does; the AWS rule
//! rendering and the proxy's precomputed router are both tested against it.

use std::borrow::Cow;

use crate::{Action, DesiredLoadBalancer, HostMatch, PathKind, PathMatch, Route};

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
    /// Routes a request given its `Host` header (or `:authority`) and its path (no query).
    ///
    /// The first virtual host whose [`HostMatch`] accepts the normalized host is chosen, and
    /// within it the first route whose path matches. A host that matches but has no matching
    /// path goes to the default action, never to a less specific host.
    pub fn route(&self, host: &str, path: &str) -> RouteDecision<'_> {
        let host = normalize_host(host);
        let matched = self
            .virtual_hosts
            .iter()
            .find(|vhost| vhost.host.matches(&host))
            .and_then(|vhost| vhost.routes.iter().find(|route| route.path.matches(path)));
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
            Self::Any => true,
        }
    }
}

impl PathMatch {
    /// Whether a request path (without query string) matches.
    pub fn matches(&self, request_path: &str) -> bool {
        match self.kind {
            PathKind::Exact => request_path == self.path,
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
}
