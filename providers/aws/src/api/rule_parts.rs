//! The parts of a listener rule beyond host and path, as ALB spells them: http-header,
//! http-request-method, query-string and source-ip condition values ([`MatchConditions`]), and
//! the fixed-response and redirect configurations ([`FixedSpec`], [`RedirectSpec`]).
//!
//! Values are kept in a canonical order (every list sorted), so a desired rule and the same
//! rule described by AWS compare equal whatever order either lists them in.

use std::fmt;

use serde::Serialize;

/// Condition values of a rule besides host-header and path-pattern. Empty lists are absent
/// conditions.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MatchConditions {
    /// http-request-method values (one condition).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// http-header conditions: a header name (lowercase) and its value globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, Vec<String>)>,
    /// query-string conditions, each a list of (optional key, value) globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<Vec<(Option<String>, String)>>,
    /// source-ip CIDRs (one condition).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
}

impl MatchConditions {
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
            && self.headers.is_empty()
            && self.query.is_empty()
            && self.source_ips.is_empty()
    }

    /// How many condition values ALB counts for these (each method, header value, query pair
    /// and CIDR is one).
    pub fn value_count(&self) -> usize {
        self.methods.len()
            + self
                .headers
                .iter()
                .map(|(_, values)| values.len())
                .sum::<usize>()
            + self.query.iter().map(Vec::len).sum::<usize>()
            + self.source_ips.len()
    }

    /// The same conditions with every list sorted.
    pub fn canonical(mut self) -> Self {
        self.methods.sort();
        self.methods.dedup();
        for (name, values) in &mut self.headers {
            name.make_ascii_lowercase();
            values.sort();
            values.dedup();
        }
        self.headers.sort();
        for pairs in &mut self.query {
            pairs.sort();
            pairs.dedup();
        }
        self.query.sort();
        self.source_ips.sort();
        self.source_ips.dedup();
        self
    }
}

impl fmt::Display for MatchConditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.methods.is_empty() {
            write!(f, " method={}", self.methods.join("|"))?;
        }
        for (name, values) in &self.headers {
            write!(f, " header:{name}={}", values.join("|"))?;
        }
        for pairs in &self.query {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(key, value)| format!("{}={value}", key.as_deref().unwrap_or("*")))
                .collect();
            write!(f, " query={}", pairs.join("|"))?;
        }
        if !self.source_ips.is_empty() {
            write!(f, " source-ip={}", self.source_ips.join("|"))?;
        }
        Ok(())
    }
}

/// A fixed response with a content type and body (an empty `text/plain` one is
/// `ActionSpec::Fixed`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FixedSpec {
    /// The status code.
    pub status: u16,
    /// The content type.
    pub content_type: String,
    /// The body (at most 1024 bytes).
    pub body: String,
}

/// A redirect as ALB stores it: every part a literal or its `#{...}` placeholder.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RedirectSpec {
    /// `HTTP`, `HTTPS` or `#{protocol}`.
    pub protocol: String,
    /// A host or `#{host}`.
    pub host: String,
    /// A port or `#{port}`.
    pub port: String,
    /// A path or `/#{path}`.
    pub path: String,
    /// A query or `#{query}`.
    pub query: String,
    /// 301 or 302.
    pub status: u16,
}

impl RedirectSpec {
    /// The shape ALB gives a redirect with only protocol, port and status set (the others at
    /// their placeholders).
    pub fn keeping(protocol: &str, port: &str, status: u16) -> Self {
        Self {
            protocol: protocol.to_owned(),
            host: "#{host}".to_owned(),
            port: port.to_owned(),
            path: "/#{path}".to_owned(),
            query: "#{query}".to_owned(),
            status,
        }
    }
}

impl fmt::Display for RedirectSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "redirect {} {}://{}:{}{}?{}",
            self.status, self.protocol, self.host, self.port, self.path, self.query
        )
    }
}

/// Longest http-header and query-string condition value.
const MAX_VALUE_LENGTH: usize = 128;
/// Content types of an ALB fixed response.
const CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];
/// Longest fixed-response body.
const MAX_BODY: usize = 1024;
/// Most target groups of one forward action.
pub const MAX_FORWARD_TARGETS: usize = 5;
/// Largest weight of a forward target.
const MAX_WEIGHT: u32 = 999;

/// The ALB spelling of a route's conditions, or why ALB cannot match them as the model does.
///
/// # Errors
/// A message for an "unsupported on aws" warning: a regular expression, a case-sensitive exact
/// value with letters (ALB compares header and query values case-insensitively) or with `*`
/// or `?` (wildcards on ALB), or a value over 128 characters.
pub fn match_conditions(
    conditions: &weir_model::RouteConditions,
) -> Result<MatchConditions, String> {
    let glob = |value: &weir_model::StringMatch| -> Result<String, String> {
        let text = match value {
            weir_model::StringMatch::Glob(text) => text.clone(),
            weir_model::StringMatch::Exact(text)
                if !text
                    .bytes()
                    .any(|b| b.is_ascii_alphabetic() || b == b'*' || b == b'?') =>
            {
                text.clone()
            }
            weir_model::StringMatch::Exact(text) => {
                return Err(format!(
                    "exact value {text:?} (ALB compares values case-insensitively, with * and ? as wildcards)"
                ));
            }
            weir_model::StringMatch::Regex(text) => {
                return Err(format!("regular expression {text:?}"));
            }
        };
        if text.len() > MAX_VALUE_LENGTH || text.is_empty() {
            return Err(format!(
                "value {text:?} is empty or over {MAX_VALUE_LENGTH} characters"
            ));
        }
        Ok(text)
    };
    let mut out = MatchConditions {
        methods: conditions.methods.clone(),
        source_ips: conditions
            .source_ips
            .iter()
            .map(ToString::to_string)
            .collect(),
        ..MatchConditions::default()
    };
    for clause in &conditions.headers {
        let values = clause.values.iter().map(glob).collect::<Result<_, _>>()?;
        out.headers.push((clause.name.clone(), values));
    }
    for clause in &conditions.query {
        let pairs = clause
            .any_of
            .iter()
            .map(|pair| Ok((pair.key.as_ref().map(glob).transpose()?, glob(&pair.value)?)))
            .collect::<Result<_, String>>()?;
        out.query.push(pairs);
    }
    Ok(out.canonical())
}

/// The ALB fixed response of a model one: `None` for an empty `text/plain` one
/// (`ActionSpec::Fixed`).
///
/// # Errors
/// A status outside 2XX/4XX/5XX, another content type, or a body over 1024 bytes.
pub fn fixed_spec(
    status: u16,
    content_type: Option<&str>,
    body: Option<&str>,
) -> Result<Option<FixedSpec>, String> {
    if !matches!(status / 100, 2 | 4 | 5) {
        return Err(format!(
            "fixed-response status {status} (ALB: 2XX, 4XX, 5XX)"
        ));
    }
    let content_type = content_type.unwrap_or("text/plain");
    if !CONTENT_TYPES.contains(&content_type) {
        return Err(format!("fixed-response content type {content_type:?}"));
    }
    let body = body.unwrap_or_default();
    if body.len() > MAX_BODY {
        return Err(format!("fixed-response body over {MAX_BODY} bytes"));
    }
    if content_type == "text/plain" && body.is_empty() {
        return Ok(None);
    }
    Ok(Some(FixedSpec {
        status,
        content_type: content_type.to_owned(),
        body: body.to_owned(),
    }))
}

/// The ALB redirect of a model one. An unset port with a set protocol is that protocol's
/// well-known port (the model's "the new scheme's default"; exact whenever the protocol
/// changes).
///
/// # Errors
/// A status other than 301/302, a prefix path rewrite, or an empty query.
pub fn redirect_spec(redirect: &weir_model::Redirect) -> Result<RedirectSpec, String> {
    let status = match redirect.status {
        301 | 302 => redirect.status,
        other => return Err(format!("redirect status {other} (ALB: 301, 302)")),
    };
    let protocol = match redirect.scheme.as_deref() {
        None => "#{protocol}".to_owned(),
        Some("http") => "HTTP".to_owned(),
        Some("https") => "HTTPS".to_owned(),
        Some(other) => return Err(format!("redirect scheme {other:?}")),
    };
    let port = match (redirect.port, redirect.scheme.as_deref()) {
        (Some(port), _) => port.to_string(),
        (None, Some("https")) => "443".to_owned(),
        (None, Some(_)) => "80".to_owned(),
        (None, None) => "#{port}".to_owned(),
    };
    let path = match &redirect.path {
        None => "/#{path}".to_owned(),
        Some(weir_model::PathRewrite::Full(path)) if !path.contains("#{") => path.clone(),
        Some(other) => return Err(format!("redirect path {other}")),
    };
    let query = match redirect.query.as_deref() {
        None => "#{query}".to_owned(),
        Some("") => return Err("a redirect that removes the query".to_owned()),
        Some(query) if !query.contains("#{") => query.to_owned(),
        Some(query) => return Err(format!("redirect query {query:?}")),
    };
    let host = match &redirect.host {
        None => "#{host}".to_owned(),
        Some(host) if !host.contains("#{") => host.clone(),
        Some(host) => return Err(format!("redirect host {host:?}")),
    };
    Ok(RedirectSpec {
        protocol,
        host,
        port,
        path,
        query,
        status,
    })
}

/// Checks a weighted forward: at most five target groups, weights up to 999.
///
/// # Errors
/// Which limit it breaks.
pub fn check_weighted(targets: &[weir_model::WeightedTarget]) -> Result<(), String> {
    if targets.len() > MAX_FORWARD_TARGETS {
        return Err(format!(
            "a forward to {} target groups (ALB: at most {MAX_FORWARD_TARGETS})",
            targets.len()
        ));
    }
    if let Some(heavy) = targets.iter().find(|target| target.weight > MAX_WEIGHT) {
        return Err(format!(
            "weight {} (ALB: at most {MAX_WEIGHT})",
            heavy.weight
        ));
    }
    Ok(())
}
