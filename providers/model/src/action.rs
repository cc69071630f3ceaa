//! What a route does with a request ([`Action`]) and what it changes on the way
//! ([`RouteFilters`]).

use std::fmt;

use serde::Serialize;

use crate::TargetGroupKey;

/// What a route (or the default) does with a request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Forward to the endpoints of a target group.
    Forward {
        /// The target group, a key of [`crate::DesiredLoadBalancer::target_groups`].
        target_group: TargetGroupKey,
    },
    /// Forward to one of several target groups, each request picked at random in proportion
    /// to the weights. Holds at least two targets, or one target with a `failed_weight` or
    /// filters, and a positive total weight (translation turns one plain target into
    /// [`Action::Forward`] and a zero total into a fixed 500).
    WeightedForward {
        /// The targets in the order they were declared.
        targets: Vec<WeightedTarget>,
        /// The weight of backends that could not be used (Gateway API: backendRefs that do
        /// not resolve): that share of the requests is answered with 500.
        #[serde(default, skip_serializing_if = "is_zero")]
        failed_weight: u32,
    },
    /// Answer with a redirect.
    Redirect(Redirect),
    /// Answer directly: 404 when nothing matches, 503 for a route whose backend could not be
    /// resolved, or what an action annotation asks for.
    FixedResponse {
        /// The HTTP status code.
        status: u16,
        /// The `Content-Type` of the body, if one was asked for.
        #[serde(skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
        /// The body, if one was asked for (none: an empty body, or the proxy's one-line
        /// status text for 404 and 503).
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
}

impl Action {
    /// A fixed response with this status and no body.
    pub fn status(status: u16) -> Self {
        Self::FixedResponse {
            status,
            content_type: None,
            body: None,
        }
    }

    /// Every target group the action may forward to.
    pub fn target_groups(&self) -> Vec<&TargetGroupKey> {
        match self {
            Self::Forward { target_group } => vec![target_group],
            Self::WeightedForward { targets, .. } => {
                targets.iter().map(|target| &target.target_group).collect()
            }
            Self::Redirect(_) | Self::FixedResponse { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forward { target_group } => write!(f, "forward {target_group}"),
            Self::WeightedForward {
                targets,
                failed_weight,
            } => {
                let mut parts: Vec<String> = targets
                    .iter()
                    .map(|target| format!("{}*{}", target.target_group, target.weight))
                    .collect();
                if *failed_weight > 0 {
                    parts.push(format!("500*{failed_weight}"));
                }
                write!(f, "forward {}", parts.join(","))
            }
            Self::Redirect(redirect) => write!(f, "{redirect}"),
            Self::FixedResponse { status, body, .. } => match body {
                Some(body) => write!(f, "fixed-response {status} ({} bytes)", body.len()),
                None => write!(f, "fixed-response {status}"),
            },
        }
    }
}

fn is_zero(weight: &u32) -> bool {
    *weight == 0
}

/// One target of a weighted forward.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct WeightedTarget {
    /// The target group.
    pub target_group: TargetGroupKey,
    /// Its weight (0 receives nothing).
    pub weight: u32,
    /// Header changes for the requests forwarded to this target only (Gateway API's
    /// per-backendRef filters), applied after the route's.
    #[serde(skip_serializing_if = "BackendFilters::is_empty")]
    pub filters: BackendFilters,
}

/// The header changes of one target of a weighted forward.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct BackendFilters {
    /// Changes to the request's headers before it is forwarded to the target.
    #[serde(skip_serializing_if = "HeaderModifier::is_empty")]
    pub request_headers: HeaderModifier,
    /// Changes to the target's response headers.
    #[serde(skip_serializing_if = "HeaderModifier::is_empty")]
    pub response_headers: HeaderModifier,
}

impl BackendFilters {
    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.request_headers.is_empty() && self.response_headers.is_empty()
    }
}

/// A redirect. Unset parts keep the request's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Redirect {
    /// `http` or `https`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The host name (no port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The port. Unset: the well-known port of the scheme when the scheme changes (so none is
    /// written), else the request's port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathRewrite>,
    /// The query string to use instead of the request's (empty: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "redirect {} {}://{}{}",
            self.status,
            self.scheme.as_deref().unwrap_or("#{scheme}"),
            self.host.as_deref().unwrap_or("#{host}"),
            self.port.map(|port| format!(":{port}")).unwrap_or_default(),
        )?;
        match &self.path {
            Some(path) => write!(f, "{path}")?,
            None => f.write_str("#{path}")?,
        }
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

/// A new path for a redirect or a forwarded request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathRewrite {
    /// Replace the whole path.
    Full(String),
    /// Replace the part the route's Prefix path matched (`/api` of `/api/x` with `/v2` gives
    /// `/v2/x`; with `/` gives `/x`). On an Exact or RegularExpression route it replaces the
    /// whole path.
    Prefix(String),
}

impl PathRewrite {
    /// The path a request `path` matched by a route whose path is `matched` becomes.
    pub fn apply(&self, matched: &crate::PathMatch, path: &str) -> String {
        match self {
            Self::Full(full) => full.clone(),
            Self::Prefix(replacement) => {
                let rest = match matched.kind {
                    crate::PathKind::Exact | crate::PathKind::RegularExpression => "",
                    // The root prefix matched the leading `/` itself.
                    crate::PathKind::Prefix if matched.path == "/" => &path[path.len().min(1)..],
                    crate::PathKind::Prefix => path.get(matched.path.len()..).unwrap_or_default(),
                };
                if rest.is_empty() {
                    return replacement.clone();
                }
                let base = replacement.trim_end_matches('/');
                format!("{base}/{}", rest.trim_start_matches('/'))
            }
        }
    }
}

impl fmt::Display for PathRewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(path) => f.write_str(path),
            Self::Prefix(path) => write!(f, "{path}[prefix]"),
        }
    }
}

/// What a route changes on the way through.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RouteFilters {
    /// Changes to the request's headers before it is forwarded.
    #[serde(skip_serializing_if = "HeaderModifier::is_empty")]
    pub request_headers: HeaderModifier,
    /// Changes to the response's headers before it is returned.
    #[serde(skip_serializing_if = "HeaderModifier::is_empty")]
    pub response_headers: HeaderModifier,
    /// A new host and/or path for the forwarded request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<UrlRewrite>,
    /// How long the backend may take to answer, in milliseconds (instead of the provider's
    /// default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl RouteFilters {
    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.request_headers.is_empty()
            && self.response_headers.is_empty()
            && self.rewrite.is_none()
            && self.timeout_ms.is_none()
    }
}

/// Header changes, applied in the order remove, set, add (Gateway API's).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HeaderModifier {
    /// Replace every value of the header with this one (names lowercase).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<(String, String)>,
    /// Append a value (names lowercase).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<(String, String)>,
    /// Remove the header (names lowercase).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

impl HeaderModifier {
    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// A new host and/or path for a forwarded request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UrlRewrite {
    /// The `Host` header the backend gets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The path the backend gets (the query is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathRewrite>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PathKind, PathMatch};

    #[test]
    fn prefix_rewrites_replace_whole_elements() {
        let api = PathMatch {
            kind: PathKind::Prefix,
            path: "/api".into(),
        };
        let root = PathMatch {
            kind: PathKind::Prefix,
            path: "/".into(),
        };
        let exact = PathMatch {
            kind: PathKind::Exact,
            path: "/old".into(),
        };
        let to = |p: &str| PathRewrite::Prefix(p.into());
        for (rewrite, matched, path, want) in [
            (to("/v2"), &api, "/api/x", "/v2/x"),
            (to("/v2"), &api, "/api", "/v2"),
            (to("/v2"), &api, "/api/", "/v2/"),
            (to("/"), &api, "/api/x/y", "/x/y"),
            (to("/"), &api, "/api", "/"),
            (to("/p"), &root, "/x", "/p/x"),
            (to("/p"), &root, "/", "/p"),
            (to("/new"), &exact, "/old", "/new"),
            (PathRewrite::Full("/f".into()), &api, "/api/x", "/f"),
        ] {
            assert_eq!(rewrite.apply(matched, path), want, "{rewrite:?} {path}");
        }
    }
}
