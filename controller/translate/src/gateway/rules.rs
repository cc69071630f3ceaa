//! One HTTPRoute rule into model routes: its matches become paths and conditions, its filters
//! the action (a redirect) or the route's filters, its backendRefs a weighted forward.

use k8s_openapi::api::networking::v1::{IngressBackend, IngressServiceBackend, ServiceBackendPort};
use weir_model::{
    Action, BackendFilters, Diagnostic, HeaderCondition, HeaderModifier, ObjectRef, PathKind,
    PathMatch, PathRewrite, QueryCondition, QueryPair, Reason, Redirect, Route, RouteConditions,
    RouteFilters, RouteSource, StringMatch, UrlRewrite, WeightedTarget, anchored_regex,
};

use super::grants::{Referent, Referrer, permitted};
use crate::backends::BackendResolver;
use crate::custom::weighted;
use crate::gateway_api::{
    HeaderFilter, HttpBackendRef, HttpRouteFilter, HttpRouteMatch, HttpRouteRule, NameValueMatch,
    PathModifier,
};
use crate::paths::{PathError, parse_path};

/// What a rule answers for the share of its backends that cannot be used (Gateway API: 500).
const INVALID_BACKEND_STATUS: u16 = 500;

/// Gateway API's largest backendRef weight.
const MAX_WEIGHT: u32 = 1_000_000;

/// Why a rule's backendRefs do not all resolve: a Gateway API `ResolvedRefs` reason and message.
pub(crate) type RefProblem = (&'static str, String);

/// The model routes of rule `rule_index` of `object` (one per match), in match order; a match
/// or filter weir cannot use is reported and left out (a bad filter leaves out the whole rule,
/// which would otherwise do something else than asked).
pub(crate) fn rule_routes(
    rule: &HttpRouteRule,
    rule_index: usize,
    namespace: &str,
    object: &ObjectRef,
    resolver: &mut BackendResolver<'_>,
    diagnostics: &mut Vec<Diagnostic>,
    ref_problems: &mut Vec<RefProblem>,
) -> Vec<Route> {
    let field = format!("spec.rules[{rule_index}]");
    let Some((filters, redirect)) = filters(&rule.filters, object, &field, diagnostics) else {
        return Vec::new();
    };
    let action = match redirect {
        Some(redirect) => Action::Redirect(redirect),
        None => backends(
            rule,
            namespace,
            object,
            &field,
            resolver,
            diagnostics,
            ref_problems,
        ),
    };
    let mut filters = filters;
    filters.timeout_ms = timeout(rule, object, &field, diagnostics);
    let default_match = [HttpRouteMatch::default()];
    let matches = if rule.matches.is_empty() {
        &default_match[..]
    } else {
        &rule.matches
    };
    let mut routes = Vec::new();
    for (match_index, route_match) in matches.iter().enumerate() {
        let match_field = format!("{field}.matches[{match_index}]");
        let Some((path, conditions)) = match_parts(route_match, object, &match_field, diagnostics)
        else {
            continue;
        };
        routes.push(Route {
            path,
            conditions,
            action: action.clone(),
            filters: filters.clone(),
            source: RouteSource {
                ingress: object.clone(),
                rule: rule_index,
                path: match_index,
            },
        });
    }
    routes
}

/// The path and conditions of one match; `None` (reported) when weir cannot express it.
fn match_parts(
    route_match: &HttpRouteMatch,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(PathMatch, RouteConditions)> {
    let mut problem = |field: String, reason: Reason, message: String| {
        diagnostics.push(Diagnostic::warning(
            object,
            field,
            reason,
            format!("{message}; the match is left out"),
        ));
    };
    let path_type = route_match
        .path
        .as_ref()
        .and_then(|path| path.type_.as_deref())
        .unwrap_or("PathPrefix");
    let value = route_match
        .path
        .as_ref()
        .and_then(|path| path.value.as_deref())
        .unwrap_or("/");
    let path = match path_type {
        "RegularExpression" => match regex_path(value) {
            Ok(path) => path,
            Err(message) => {
                problem(format!("{field}.path.value"), Reason::InvalidPath, message);
                return None;
            }
        },
        "Exact" | "PathPrefix" => {
            let kind = if path_type == "Exact" {
                "Exact"
            } else {
                "Prefix"
            };
            match parse_path(kind, Some(value)) {
                Ok(path) => path,
                Err(PathError::Path(message) | PathError::PathType(message)) => {
                    problem(format!("{field}.path.value"), Reason::InvalidPath, message);
                    return None;
                }
            }
        }
        other => {
            problem(
                format!("{field}.path.type"),
                Reason::UnsupportedByProvider,
                format!(
                    "path type {other:?} is not supported (Exact, PathPrefix or RegularExpression)"
                ),
            );
            return None;
        }
    };
    let mut conditions = RouteConditions::default();
    if let Some(method) = &route_match.method {
        conditions.methods.push(method.clone());
    }
    for (index, header) in route_match.headers.iter().enumerate() {
        let name = header.name.to_ascii_lowercase();
        // Gateway API: of several matches of one header name only the first counts.
        if conditions.headers.iter().any(|clause| clause.name == name) {
            continue;
        }
        let value = match string_match(header) {
            Ok(value) => value,
            Err(message) => {
                problem(
                    format!("{field}.headers[{index}]"),
                    Reason::InvalidField,
                    message,
                );
                return None;
            }
        };
        conditions.headers.push(HeaderCondition {
            name,
            values: vec![value],
        });
    }
    let mut query_names: Vec<&str> = Vec::new();
    for (index, param) in route_match.query_params.iter().enumerate() {
        if query_names.contains(&param.name.as_str()) {
            continue;
        }
        query_names.push(&param.name);
        let value = match string_match(param) {
            Ok(value) => value,
            Err(message) => {
                problem(
                    format!("{field}.queryParams[{index}]"),
                    Reason::InvalidField,
                    message,
                );
                return None;
            }
        };
        conditions.query.push(QueryCondition {
            any_of: vec![QueryPair {
                key: Some(StringMatch::Exact(param.name.clone())),
                value,
            }],
        });
    }
    Some((path, conditions))
}

/// Longest regular-expression path accepted (Gateway API's limit on a path value).
const MAX_REGEX_PATH_LENGTH: usize = 1024;

/// A `RegularExpression` path: the pattern must compile (anchored, size-limited).
fn regex_path(pattern: &str) -> Result<PathMatch, String> {
    if pattern.is_empty() || pattern.len() > MAX_REGEX_PATH_LENGTH {
        return Err(format!(
            "a regular-expression path must be 1-{MAX_REGEX_PATH_LENGTH} characters"
        ));
    }
    anchored_regex(pattern)
        .map(|_| PathMatch {
            kind: PathKind::RegularExpression,
            path: pattern.to_owned(),
        })
        .map_err(|error| format!("{pattern:?} is not a valid regular expression: {error}"))
}

fn string_match(entry: &NameValueMatch) -> Result<StringMatch, String> {
    if entry.name.is_empty() {
        return Err("name is required".into());
    }
    match entry.type_.as_deref().unwrap_or("Exact") {
        "Exact" => Ok(StringMatch::Exact(entry.value.clone())),
        "RegularExpression" => anchored_regex(&entry.value)
            .map(|_| StringMatch::Regex(entry.value.clone()))
            .map_err(|error| {
                format!(
                    "{:?} is not a valid regular expression: {error}",
                    entry.value
                )
            }),
        other => Err(format!("type {other:?} is not Exact or RegularExpression")),
    }
}

/// The route filters and redirect of a rule's `filters`; `None` (reported) when one cannot be
/// honoured.
fn filters(
    list: &[HttpRouteFilter],
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(RouteFilters, Option<Redirect>)> {
    let mut filters = RouteFilters::default();
    let mut redirect = None;
    for (index, filter) in list.iter().enumerate() {
        let filter_field = format!("{field}.filters[{index}]");
        let result = match filter.type_.as_str() {
            "RequestHeaderModifier" => filter
                .request_header_modifier
                .as_ref()
                .map(|modifier| filters.request_headers = header_modifier(modifier))
                .ok_or("requestHeaderModifier is required"),
            "ResponseHeaderModifier" => filter
                .response_header_modifier
                .as_ref()
                .map(|modifier| filters.response_headers = header_modifier(modifier))
                .ok_or("responseHeaderModifier is required"),
            "RequestRedirect" => match &filter.request_redirect {
                Some(asked) => redirect_of(asked).map(|made| redirect = Some(made)),
                None => Err("requestRedirect is required"),
            },
            "URLRewrite" => match &filter.url_rewrite {
                Some(asked) => path_modifier(asked.path.as_ref()).map(|path| {
                    filters.rewrite = Some(UrlRewrite {
                        host: asked.hostname.clone(),
                        path,
                    });
                }),
                None => Err("urlRewrite is required"),
            },
            _ => Err(
                "filter type is not supported (RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite)",
            ),
        };
        if let Err(message) = result {
            diagnostics.push(Diagnostic::warning(
                object,
                filter_field,
                Reason::UnsupportedByProvider,
                format!("{message}; the rule is left out"),
            ));
            return None;
        }
    }
    if redirect.is_some() && filters.rewrite.is_some() {
        diagnostics.push(Diagnostic::warning(
            object,
            format!("{field}.filters"),
            Reason::InvalidField,
            "RequestRedirect and URLRewrite cannot both be used; the rule is left out",
        ));
        return None;
    }
    Some((filters, redirect))
}

fn header_modifier(filter: &HeaderFilter) -> HeaderModifier {
    let pairs = |list: &[crate::gateway_api::HeaderValue]| {
        list.iter()
            .map(|header| (header.name.to_ascii_lowercase(), header.value.clone()))
            .collect()
    };
    HeaderModifier {
        set: pairs(&filter.set),
        add: pairs(&filter.add),
        remove: filter
            .remove
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .collect(),
    }
}

fn redirect_of(asked: &crate::gateway_api::RequestRedirect) -> Result<Redirect, &'static str> {
    let status = match asked.status_code.unwrap_or(302) {
        status @ (301 | 302 | 303 | 307 | 308) => status as u16,
        _ => return Err("statusCode must be 301, 302, 303, 307 or 308"),
    };
    let scheme = match asked.scheme.as_deref() {
        None => None,
        Some(scheme @ ("http" | "https")) => Some(scheme.to_owned()),
        Some(_) => return Err("scheme must be http or https"),
    };
    let port = match asked.port {
        None => None,
        Some(port) => Some(
            u16::try_from(port)
                .ok()
                .filter(|port| *port > 0)
                .ok_or("port must be 1-65535")?,
        ),
    };
    Ok(Redirect {
        scheme,
        host: asked.hostname.clone(),
        port,
        path: path_modifier(asked.path.as_ref())?,
        query: None,
        status,
    })
}

fn path_modifier(modifier: Option<&PathModifier>) -> Result<Option<PathRewrite>, &'static str> {
    let Some(modifier) = modifier else {
        return Ok(None);
    };
    match modifier.type_.as_str() {
        "ReplaceFullPath" => modifier
            .replace_full_path
            .clone()
            .map(|path| Some(PathRewrite::Full(path)))
            .ok_or("replaceFullPath is required"),
        "ReplacePrefixMatch" => modifier
            .replace_prefix_match
            .clone()
            .map(|path| Some(PathRewrite::Prefix(path)))
            .ok_or("replacePrefixMatch is required"),
        _ => Err("path type must be ReplaceFullPath or ReplacePrefixMatch"),
    }
}

/// The forward of a rule's backendRefs. An unusable one is reported and named in
/// `ref_problems` (the route's ResolvedRefs condition), and its weight's share of the requests
/// is answered with 500 (`HTTPBackendRef`'s rule); none usable answers 500.
fn backends(
    rule: &HttpRouteRule,
    namespace: &str,
    object: &ObjectRef,
    field: &str,
    resolver: &mut BackendResolver<'_>,
    diagnostics: &mut Vec<Diagnostic>,
    ref_problems: &mut Vec<RefProblem>,
) -> Action {
    let mut targets = Vec::new();
    let mut failed_weight: u32 = 0;
    for (index, backend) in rule.backend_refs.iter().enumerate() {
        let backend_field = format!("{field}.backendRefs[{index}]");
        match backend_target(backend, namespace, object, &backend_field, resolver) {
            Ok(target) => targets.push(target),
            Err((reason, message)) => {
                failed_weight = failed_weight.saturating_add(declared_weight(backend).unwrap_or(0));
                let diagnostic_reason = match reason {
                    "BackendNotFound" => Reason::ServiceNotFound,
                    "InvalidKind" => Reason::UnsupportedBackend,
                    "RefNotPermitted" => Reason::RefNotPermitted,
                    _ => Reason::InvalidField,
                };
                diagnostics.push(Diagnostic::warning(
                    object,
                    backend_field,
                    diagnostic_reason,
                    format!("{message}; its share of the requests is answered with {INVALID_BACKEND_STATUS}"),
                ));
                ref_problems.push((reason, message));
            }
        }
    }
    if targets.is_empty() {
        return Action::status(INVALID_BACKEND_STATUS);
    }
    let filtered = targets.iter().any(|target| !target.filters.is_empty());
    if failed_weight == 0 && !filtered {
        return weighted(targets);
    }
    targets.retain(|target| target.weight > 0);
    if targets.is_empty() {
        return Action::status(INVALID_BACKEND_STATUS);
    }
    Action::WeightedForward {
        targets,
        failed_weight,
    }
}

/// A backendRef's own filters; `UnsupportedValue` for a type weir does not apply per backend
/// (the backend is then unusable, rather than forwarded to without the filter).
fn backend_filters(list: &[HttpRouteFilter]) -> Result<BackendFilters, RefProblem> {
    let mut filters = BackendFilters::default();
    for (index, filter) in list.iter().enumerate() {
        let modifier = match filter.type_.as_str() {
            "RequestHeaderModifier" => filter.request_header_modifier.as_ref(),
            "ResponseHeaderModifier" => filter.response_header_modifier.as_ref(),
            other => {
                return Err((
                    "UnsupportedValue",
                    format!(
                        "filters[{index}]: type {other:?} is not supported on a backendRef (RequestHeaderModifier, ResponseHeaderModifier)"
                    ),
                ));
            }
        };
        let Some(modifier) = modifier else {
            return Err((
                "UnsupportedValue",
                format!(
                    "filters[{index}]: the {} settings are missing",
                    filter.type_
                ),
            ));
        };
        match filter.type_.as_str() {
            "RequestHeaderModifier" => filters.request_headers = header_modifier(modifier),
            _ => filters.response_headers = header_modifier(modifier),
        }
    }
    Ok(filters)
}

/// A backendRef's weight (default 1), if it is one Gateway API allows (0-1,000,000).
fn declared_weight(backend: &HttpBackendRef) -> Option<u32> {
    u32::try_from(backend.weight.unwrap_or(1))
        .ok()
        .filter(|weight| *weight <= MAX_WEIGHT)
}

fn backend_target(
    backend: &HttpBackendRef,
    namespace: &str,
    object: &ObjectRef,
    field: &str,
    resolver: &mut BackendResolver<'_>,
) -> Result<WeightedTarget, RefProblem> {
    let is_service = backend.group.as_deref().is_none_or(str::is_empty)
        && backend.kind.as_deref().is_none_or(|kind| kind == "Service");
    if !is_service {
        return Err(("InvalidKind", "backendRefs must name core Services".into()));
    }
    let target_namespace = backend.namespace.as_deref().unwrap_or(namespace);
    let from = Referrer {
        group: super::GROUP,
        kind: "HTTPRoute",
        namespace,
    };
    let to = Referent {
        group: "",
        kind: "Service",
        namespace: target_namespace,
        name: &backend.name,
    };
    if !permitted(resolver.snapshot(), from, to) {
        return Err((
            "RefNotPermitted",
            format!(
                "Service {target_namespace}/{} is in another namespace and no ReferenceGrant there permits HTTPRoutes of {namespace} to refer to it",
                backend.name
            ),
        ));
    }
    let Some(port) = backend
        .port
        .and_then(|port| i32::try_from(port).ok())
        .filter(|port| (1..=65535).contains(port))
    else {
        return Err((
            "UnsupportedValue",
            "port (1-65535) is required for a Service".into(),
        ));
    };
    let filters = backend_filters(&backend.filters)?;
    let weight = declared_weight(backend)
        .ok_or(("UnsupportedValue", format!("weight must be 0-{MAX_WEIGHT}")))?;
    let service = resolver.snapshot().service(target_namespace, &backend.name);
    let Some(service) = service else {
        return Err((
            "BackendNotFound",
            format!("Service {target_namespace}/{} not found", backend.name),
        ));
    };
    let has_port = service
        .spec
        .as_ref()
        .and_then(|spec| spec.ports.as_ref())
        .is_some_and(|ports| ports.iter().any(|candidate| candidate.port == port));
    if !has_port {
        return Err((
            "BackendNotFound",
            format!(
                "Service {target_namespace}/{} has no port {port}",
                backend.name
            ),
        ));
    }
    let ingress_backend = IngressBackend {
        resource: None,
        service: Some(IngressServiceBackend {
            name: backend.name.clone(),
            port: Some(ServiceBackendPort {
                name: None,
                number: Some(port),
            }),
        }),
    };
    match resolver.resolve(&ingress_backend, target_namespace, object, field) {
        Action::Forward { target_group } => Ok(WeightedTarget {
            target_group,
            weight,
            filters,
        }),
        _ => Err((
            "BackendNotFound",
            format!(
                "Service {target_namespace}/{} cannot be forwarded to",
                backend.name
            ),
        )),
    }
}

/// The rule's request timeout in milliseconds (`timeouts.request`, else `backendRequest`).
fn timeout(
    rule: &HttpRouteRule,
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<u64> {
    let timeouts = rule.timeouts.as_ref()?;
    let (name, value) = match (&timeouts.request, &timeouts.backend_request) {
        (Some(value), _) => ("request", value),
        (None, Some(value)) => ("backendRequest", value),
        (None, None) => return None,
    };
    match duration_ms(value) {
        Some(0) => None,
        Some(ms) => Some(ms),
        None => {
            diagnostics.push(Diagnostic::warning(
                object,
                format!("{field}.timeouts.{name}"),
                Reason::InvalidField,
                format!("{value:?} is not a Gateway API duration (e.g. 10s, 500ms, 1m30s); the default timeout applies"),
            ));
            None
        }
    }
}

/// A Gateway API duration (`1h`, `30m`, `10s`, `500ms`, combined as `1m30s`) in milliseconds.
pub(crate) fn duration_ms(text: &str) -> Option<u64> {
    let mut rest = text;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 5 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, ms) = [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
            .into_iter()
            .find(|(unit, _)| rest.starts_with(unit))?;
        rest = &rest[unit.len()..];
        total += number * ms;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_api_durations_parse_to_milliseconds() {
        assert_eq!(duration_ms("10s"), Some(10_000));
        assert_eq!(duration_ms("500ms"), Some(500));
        assert_eq!(duration_ms("1m30s"), Some(90_000));
        assert_eq!(duration_ms("1h"), Some(3_600_000));
        assert_eq!(duration_ms("0s"), Some(0));
        for bad in ["", "10", "s", "1.5s", "-1s", "10x"] {
            assert_eq!(duration_ms(bad), None, "{bad}");
        }
    }
}
