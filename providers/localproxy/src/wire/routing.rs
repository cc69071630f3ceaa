//! The routing features of a route on the wire: its [`Action`], its [`Conditions`] beyond host
//! and path, and its [`Filters`]; each type with its conversion from the model and back.
//!
//! This module is the one place where the wire meets the model's routing types: a new model
//! field is added here, once in the type and once in each direction.

use serde::{Deserialize, Serialize};
use weir_model as model;

use super::{GroupKey, WireError, group_key, model_key};

/// What a route (or the default) does with a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Forward to a target group.
    Forward(GroupKey),
    /// Forward to one of several target groups in proportion to the weights.
    Weighted(Vec<Weighted>),
    /// Answer with a redirect.
    Redirect(Redirect),
    /// Answer directly.
    Fixed {
        /// The HTTP status.
        status: u16,
        /// The body's `Content-Type`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
        /// The body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
}

/// One target of a weighted forward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weighted {
    /// The target group.
    pub group: GroupKey,
    /// Its weight.
    pub weight: u32,
}

/// A redirect; unset parts keep the request's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The new path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathRewrite>,
    /// The query string to use instead of the request's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
}

/// A new path: the whole path, or the part the route's Prefix matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathRewrite {
    /// Replace the whole path.
    Full(String),
    /// Replace the matched prefix.
    Prefix(String),
}

/// What a route asks of a request besides host and path; every clause must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// Accepted methods (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Header clauses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderClause>,
    /// Query clauses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<QueryClause>,
    /// Accepted client address ranges in CIDR notation (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    /// The listener ports the route is served on (empty: every listener). Added within format
    /// 2: a reader without it serves such a route on every listener, as weir did before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listener_ports: Vec<u16>,
}

impl Conditions {
    /// Whether every request satisfies them (then they take no room on the wire).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Header `name` has a value matching one of `any_of`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderClause {
    /// The header name, lowercase.
    pub name: String,
    /// Alternatives.
    pub any_of: Vec<Text>,
}

/// Some query parameter matches one of `any_of`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryClause {
    /// Alternatives.
    pub any_of: Vec<QueryPair>,
}

/// One query parameter pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPair {
    /// The name (none: any name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Text>,
    /// The value.
    pub value: Text,
}

/// How a header value or query key or value is compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Text {
    /// Equal, case-sensitively.
    Exact(String),
    /// An ALB pattern (`*`, `?`, case-insensitive).
    Glob(String),
    /// A whole-value regular expression.
    Regex(String),
}

/// What a route changes on the way through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Changes to the forwarded request's headers.
    #[serde(default, skip_serializing_if = "HeaderChanges::is_empty")]
    pub request_headers: HeaderChanges,
    /// Changes to the response's headers.
    #[serde(default, skip_serializing_if = "HeaderChanges::is_empty")]
    pub response_headers: HeaderChanges,
    /// A new host and/or path for the forwarded request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Rewrite>,
    /// The backend's answer timeout, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl Filters {
    /// Whether nothing is changed (then they take no room on the wire).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Header changes, applied in the order remove, set, add.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderChanges {
    /// Replace every value of a header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<(String, String)>,
    /// Append a value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<(String, String)>,
    /// Remove a header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

impl HeaderChanges {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A new host and/or path for a forwarded request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// The `Host` the backend gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The path the backend gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathRewrite>,
}

impl Action {
    /// The wire form of a model action.
    pub fn from_model(action: &model::Action) -> Self {
        match action {
            model::Action::Forward { target_group } => Self::Forward(group_key(target_group)),
            model::Action::WeightedForward { targets } => Self::Weighted(
                targets
                    .iter()
                    .map(|target| Weighted {
                        group: group_key(&target.target_group),
                        weight: target.weight,
                    })
                    .collect(),
            ),
            model::Action::Redirect(redirect) => Self::Redirect(Redirect {
                scheme: redirect.scheme.clone(),
                host: redirect.host.clone(),
                port: redirect.port,
                path: redirect.path.as_ref().map(PathRewrite::from_model),
                query: redirect.query.clone(),
                status: redirect.status,
            }),
            model::Action::FixedResponse {
                status,
                content_type,
                body,
            } => Self::Fixed {
                status: *status,
                content_type: content_type.clone(),
                body: body.clone(),
            },
        }
    }

    /// The model action.
    ///
    /// # Errors
    /// [`WireError::Status`] for a status out of range (a redirect's must be a redirect's).
    pub fn into_model(self) -> Result<model::Action, WireError> {
        Ok(match self {
            Self::Forward(key) => model::Action::Forward {
                target_group: model_key(&key),
            },
            Self::Weighted(targets) => model::Action::WeightedForward {
                targets: targets
                    .into_iter()
                    .map(|target| model::WeightedTarget {
                        target_group: model_key(&target.group),
                        weight: target.weight,
                    })
                    .collect(),
            },
            Self::Redirect(redirect) if REDIRECT_STATUSES.contains(&redirect.status) => {
                model::Action::Redirect(model::Redirect {
                    scheme: redirect.scheme,
                    host: redirect.host,
                    port: redirect.port,
                    path: redirect.path.map(PathRewrite::into_model),
                    query: redirect.query,
                    status: redirect.status,
                })
            }
            Self::Redirect(redirect) => return Err(WireError::Status(redirect.status)),
            Self::Fixed {
                status,
                content_type,
                body,
            } if (100..=599).contains(&status) => model::Action::FixedResponse {
                status,
                content_type,
                body,
            },
            Self::Fixed { status, .. } => return Err(WireError::Status(status)),
        })
    }
}

/// The statuses a redirect may answer with.
const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

impl PathRewrite {
    fn from_model(rewrite: &model::PathRewrite) -> Self {
        match rewrite {
            model::PathRewrite::Full(path) => Self::Full(path.clone()),
            model::PathRewrite::Prefix(path) => Self::Prefix(path.clone()),
        }
    }

    fn into_model(self) -> model::PathRewrite {
        match self {
            Self::Full(path) => model::PathRewrite::Full(path),
            Self::Prefix(path) => model::PathRewrite::Prefix(path),
        }
    }
}

impl Conditions {
    /// The wire form of a route's conditions.
    pub fn from_model(conditions: &model::RouteConditions) -> Self {
        Self {
            methods: conditions.methods.clone(),
            headers: conditions
                .headers
                .iter()
                .map(|clause| HeaderClause {
                    name: clause.name.clone(),
                    any_of: clause.values.iter().map(Text::from_model).collect(),
                })
                .collect(),
            query: conditions
                .query
                .iter()
                .map(|clause| QueryClause {
                    any_of: clause
                        .any_of
                        .iter()
                        .map(|pair| QueryPair {
                            key: pair.key.as_ref().map(Text::from_model),
                            value: Text::from_model(&pair.value),
                        })
                        .collect(),
                })
                .collect(),
            source_ips: conditions
                .source_ips
                .iter()
                .map(ToString::to_string)
                .collect(),
            listener_ports: conditions.listener_ports.clone(),
        }
    }

    /// The model conditions.
    ///
    /// # Errors
    /// [`WireError::Cidr`] for an address range that does not parse.
    pub fn into_model(self) -> Result<model::RouteConditions, WireError> {
        let source_ips = self
            .source_ips
            .into_iter()
            .map(|cidr| cidr.parse().map_err(WireError::Cidr))
            .collect::<Result<_, _>>()?;
        Ok(model::RouteConditions {
            methods: self.methods,
            headers: self
                .headers
                .into_iter()
                .map(|clause| model::HeaderCondition {
                    name: clause.name,
                    values: clause.any_of.into_iter().map(Text::into_model).collect(),
                })
                .collect(),
            query: self
                .query
                .into_iter()
                .map(|clause| model::QueryCondition {
                    any_of: clause
                        .any_of
                        .into_iter()
                        .map(|pair| model::QueryPair {
                            key: pair.key.map(Text::into_model),
                            value: pair.value.into_model(),
                        })
                        .collect(),
                })
                .collect(),
            source_ips,
            listener_ports: self.listener_ports,
        })
    }
}

impl Text {
    fn from_model(text: &model::StringMatch) -> Self {
        match text {
            model::StringMatch::Exact(text) => Self::Exact(text.clone()),
            model::StringMatch::Glob(text) => Self::Glob(text.clone()),
            model::StringMatch::Regex(text) => Self::Regex(text.clone()),
        }
    }

    fn into_model(self) -> model::StringMatch {
        match self {
            Self::Exact(text) => model::StringMatch::Exact(text),
            Self::Glob(text) => model::StringMatch::Glob(text),
            Self::Regex(text) => model::StringMatch::Regex(text),
        }
    }
}

impl Filters {
    /// The wire form of a route's filters.
    pub fn from_model(filters: &model::RouteFilters) -> Self {
        Self {
            request_headers: HeaderChanges::from_model(&filters.request_headers),
            response_headers: HeaderChanges::from_model(&filters.response_headers),
            rewrite: filters.rewrite.as_ref().map(|rewrite| Rewrite {
                host: rewrite.host.clone(),
                path: rewrite.path.as_ref().map(PathRewrite::from_model),
            }),
            timeout_ms: filters.timeout_ms,
        }
    }

    /// The model filters.
    pub fn into_model(self) -> model::RouteFilters {
        model::RouteFilters {
            request_headers: self.request_headers.into_model(),
            response_headers: self.response_headers.into_model(),
            rewrite: self.rewrite.map(|rewrite| model::UrlRewrite {
                host: rewrite.host,
                path: rewrite.path.map(PathRewrite::into_model),
            }),
            timeout_ms: self.timeout_ms,
        }
    }
}

impl HeaderChanges {
    fn from_model(changes: &model::HeaderModifier) -> Self {
        Self {
            set: changes.set.clone(),
            add: changes.add.clone(),
            remove: changes.remove.clone(),
        }
    }

    fn into_model(self) -> model::HeaderModifier {
        model::HeaderModifier {
            set: self.set,
            add: self.add,
            remove: self.remove,
        }
    }
}
