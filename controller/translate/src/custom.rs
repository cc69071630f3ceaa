//! `actions.NAME` and `conditions.NAME` annotations, in the AWS Load Balancer Controller's JSON
//! format: what a path does when its backend says `port.name: use-annotation`, and what else
//! a request must satisfy to take a path whose backend Service (or action) is `NAME`.
//!
//! ```text
//! path backend { service.name: NAME, port.name: use-annotation } ─► actions.NAME ─► Action
//! path backend { service.name: NAME, ... }  ─► conditions.NAME (optional) ─► RouteConditions
//! ```
//!
//! JSON keys are matched case-insensitively, as the Go controller's decoder does
//! (`"Values"` and `"values"` are the same key). Anything malformed or unsupported is an
//! error message for a Warning on that Ingress and annotation; the caller drops that one route.

use k8s_openapi::api::networking::v1::{
    Ingress, IngressBackend, IngressServiceBackend, ServiceBackendPort,
};
use serde_json::{Map, Value};
use weir_model::{
    Action, BackendFilters, HeaderCondition, IpCidr, QueryCondition, QueryPair, Redirect,
    RouteConditions, StringMatch, WeightedTarget,
};

use crate::annotations::{self, Annotation};
use crate::backends::BackendResolver;

/// The `port.name` that hands a path's action to an `actions.NAME` annotation.
pub(crate) const USE_ANNOTATION: &str = "use-annotation";

/// Fixed-response content types an ALB accepts.
const CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];
/// Longest fixed-response body an ALB accepts.
const MAX_BODY: usize = 1024;
/// Largest weight of one forward target.
const MAX_WEIGHT: u64 = 999;

/// Why an annotation could not be used: the annotation's field and the message.
pub(crate) struct CustomError {
    pub(crate) field: String,
    pub(crate) message: String,
}

fn error(annotation: &Annotation<'_>, message: impl Into<String>) -> CustomError {
    CustomError {
        field: annotation.field(),
        message: message.into(),
    }
}

/// Whether a path backend hands its action to an annotation.
pub(crate) fn uses_annotation(backend: &IngressBackend) -> Option<&str> {
    let service = backend.service.as_ref()?;
    let port = service.port.as_ref()?;
    (port.name.as_deref() == Some(USE_ANNOTATION)).then_some(service.name.as_str())
}

/// The action `actions.NAME` describes. Forward targets are resolved through `resolver` in
/// `namespace`; one that cannot be resolved makes the route answer 503 (reported by the
/// resolver, as for any backend).
pub(crate) fn action(
    ingress: &Ingress,
    name: &str,
    namespace: &str,
    object: &weir_model::ObjectRef,
    resolver: &mut BackendResolver<'_>,
) -> Result<Action, CustomError> {
    let Some(annotation) = annotations::lookup(ingress, &format!("actions.{name}")) else {
        return Err(CustomError {
            field: "metadata.annotations".to_owned(),
            message: format!(
                "a backend names action {name:?} (port use-annotation) but there is no actions.{name} annotation"
            ),
        });
    };
    let value: Value = serde_json::from_str(annotation.value)
        .map_err(|problem| error(&annotation, format!("not valid JSON: {problem}")))?;
    let object_value = value
        .as_object()
        .ok_or_else(|| error(&annotation, "must be a JSON object"))?;
    let kind = get(object_value, "type")
        .and_then(Value::as_str)
        .ok_or_else(|| error(&annotation, "needs \"type\""))?;
    match kind {
        "fixed-response" => fixed_response(&annotation, object_value),
        "redirect" => redirect(&annotation, object_value),
        "forward" => forward(&annotation, object_value, namespace, object, resolver),
        other => Err(error(
            &annotation,
            format!("action type {other:?} is not supported (fixed-response, redirect, forward)"),
        )),
    }
}

fn fixed_response(
    annotation: &Annotation<'_>,
    action: &Map<String, Value>,
) -> Result<Action, CustomError> {
    let config = config(annotation, action, "fixedResponseConfig")?;
    let status = get(config, "statusCode")
        .and_then(number_or_string)
        .and_then(|status| u16::try_from(status).ok())
        .filter(|status| matches!(status / 100, 2 | 4 | 5))
        .ok_or_else(|| {
            error(
                annotation,
                "fixedResponseConfig.statusCode must be 2XX, 4XX or 5XX",
            )
        })?;
    let content_type = match get(config, "contentType") {
        None | Some(Value::Null) => None,
        Some(Value::String(kind)) if CONTENT_TYPES.contains(&kind.as_str()) => Some(kind.clone()),
        Some(other) => {
            return Err(error(
                annotation,
                format!("fixedResponseConfig.contentType {other} is not one of {CONTENT_TYPES:?}"),
            ));
        }
    };
    let body = match get(config, "messageBody") {
        None | Some(Value::Null) => None,
        Some(Value::String(body)) if body.len() <= MAX_BODY => Some(body.clone()),
        Some(_) => {
            return Err(error(
                annotation,
                format!(
                    "fixedResponseConfig.messageBody must be a string of at most {MAX_BODY} bytes"
                ),
            ));
        }
    };
    Ok(Action::FixedResponse {
        status,
        content_type,
        body,
    })
}

fn redirect(
    annotation: &Annotation<'_>,
    action: &Map<String, Value>,
) -> Result<Action, CustomError> {
    let config = config(annotation, action, "redirectConfig")?;
    let text = |key: &str| -> Result<Option<String>, CustomError> {
        match get(config, key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match number_or_string_text(value) {
                Some(text) if text.contains("#{") => {
                    let keep = [format!("#{{{}}}", key), format!("/#{{{}}}", key)];
                    if keep.contains(&text) {
                        Ok(None)
                    } else {
                        Err(error(
                            annotation,
                            format!(
                                "redirectConfig.{key} {text:?}: only a whole #{{{}}} placeholder is supported",
                                key
                            ),
                        ))
                    }
                }
                Some(text) => Ok(Some(text)),
                None => Err(error(
                    annotation,
                    format!("redirectConfig.{key} must be a string"),
                )),
            },
        }
    };
    let scheme = match text("protocol")?.as_deref() {
        None => None,
        Some("HTTP") => Some("http".to_owned()),
        Some("HTTPS") => Some("https".to_owned()),
        Some(other) => {
            return Err(error(
                annotation,
                format!("redirectConfig.protocol {other:?} is not HTTP or HTTPS"),
            ));
        }
    };
    let port = text("port")?
        .map(|port| {
            port.parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| {
                    error(
                        annotation,
                        format!("redirectConfig.port {port:?} is not 1-65535"),
                    )
                })
        })
        .transpose()?;
    let host = text("host")?.map(|host| host.to_ascii_lowercase());
    if let Some(host) = &host
        && crate::hosts::parse_host(Some(host)).is_err()
    {
        return Err(error(
            annotation,
            format!("redirectConfig.host {host:?} is not a host name"),
        ));
    }
    let path = text("path")?
        .map(|path| {
            if path.starts_with('/')
                && !path.contains(['?', '#'])
                && !path.chars().any(char::is_whitespace)
            {
                Ok(weir_model::PathRewrite::Full(path))
            } else {
                Err(error(
                    annotation,
                    format!(
                        "redirectConfig.path {path:?} must start with / and hold no ?, # or spaces"
                    ),
                ))
            }
        })
        .transpose()?;
    let query = text("query")?;
    if query
        .as_deref()
        .is_some_and(|query| query.contains(['#', ' ']))
    {
        return Err(error(
            annotation,
            "redirectConfig.query must hold no # or spaces",
        ));
    }
    let status = match text("statusCode")?.as_deref() {
        Some("HTTP_301") => 301,
        Some("HTTP_302") => 302,
        _ => {
            return Err(error(
                annotation,
                "redirectConfig.statusCode must be HTTP_301 or HTTP_302",
            ));
        }
    };
    Ok(Action::Redirect(Redirect {
        scheme,
        host,
        port,
        path,
        query,
        status,
    }))
}

fn forward(
    annotation: &Annotation<'_>,
    action: &Map<String, Value>,
    namespace: &str,
    object: &weir_model::ObjectRef,
    resolver: &mut BackendResolver<'_>,
) -> Result<Action, CustomError> {
    if get(action, "targetGroupARN").is_some() || get(action, "targetGroupName").is_some() {
        return Err(error(
            annotation,
            "forward by targetGroupARN/targetGroupName is not supported (weir owns its target groups); use forwardConfig.targetGroups with serviceName and servicePort",
        ));
    }
    let config = config(annotation, action, "forwardConfig")?;
    if let Some(stickiness) = get(config, "targetGroupStickinessConfig")
        && stickiness
            .as_object()
            .and_then(|stickiness| get(stickiness, "enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    {
        return Err(error(
            annotation,
            "forwardConfig.targetGroupStickinessConfig is not supported",
        ));
    }
    let groups = get(config, "targetGroups")
        .and_then(Value::as_array)
        .filter(|groups| !groups.is_empty())
        .ok_or_else(|| {
            error(
                annotation,
                "forwardConfig.targetGroups must be a non-empty list",
            )
        })?;
    let mut targets = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        let at = format!("forwardConfig.targetGroups[{index}]");
        let group = group
            .as_object()
            .ok_or_else(|| error(annotation, format!("{at} must be an object")))?;
        if get(group, "targetGroupARN").is_some() || get(group, "targetGroupName").is_some() {
            return Err(error(
                annotation,
                format!(
                    "{at}: targetGroupARN/targetGroupName is not supported; use serviceName and servicePort"
                ),
            ));
        }
        let service = get(group, "serviceName")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| error(annotation, format!("{at}.serviceName is required")))?;
        let port = match get(group, "servicePort") {
            Some(Value::Number(number)) => number
                .as_i64()
                .and_then(|number| i32::try_from(number).ok())
                .map(|number| ServiceBackendPort {
                    number: Some(number),
                    name: None,
                }),
            Some(Value::String(text)) => Some(match text.parse::<i32>() {
                Ok(number) => ServiceBackendPort {
                    number: Some(number),
                    name: None,
                },
                Err(_) => ServiceBackendPort {
                    number: None,
                    name: Some(text.clone()),
                },
            }),
            _ => None,
        }
        .ok_or_else(|| {
            error(
                annotation,
                format!("{at}.servicePort must be a port number or name"),
            )
        })?;
        let weight = match get(group, "weight") {
            None | Some(Value::Null) => 1,
            Some(weight) => weight
                .as_u64()
                .filter(|weight| *weight <= MAX_WEIGHT)
                .ok_or_else(|| error(annotation, format!("{at}.weight must be 0-{MAX_WEIGHT}")))?,
        };
        let backend = IngressBackend {
            resource: None,
            service: Some(IngressServiceBackend {
                name: service.to_owned(),
                port: Some(port),
            }),
        };
        match resolver.resolve(
            &backend,
            namespace,
            object,
            &format!("{}.{at}", annotation.field()),
        ) {
            Action::Forward { target_group } => targets.push(WeightedTarget {
                target_group,
                // At most MAX_WEIGHT, checked above.
                weight: u32::try_from(weight).unwrap_or(u32::MAX),
                filters: BackendFilters::default(),
            }),
            // Unresolvable: reported by the resolver; the route answers as any such backend.
            unresolved => return Ok(unresolved),
        }
    }
    Ok(weighted(targets))
}

/// The canonical action for weighted targets: one target (or one with weight) is a plain
/// forward, a zero total a fixed 500 (nothing may receive the requests).
pub(crate) fn weighted(mut targets: Vec<WeightedTarget>) -> Action {
    if targets.iter().all(|target| target.weight == 0) {
        return Action::status(500);
    }
    let positive: Vec<&WeightedTarget> =
        targets.iter().filter(|target| target.weight > 0).collect();
    if let [only] = positive.as_slice() {
        return Action::Forward {
            target_group: only.target_group.clone(),
        };
    }
    targets.retain(|target| target.weight > 0);
    Action::WeightedForward {
        targets,
        failed_weight: 0,
    }
}

/// The conditions `conditions.NAME` adds to the paths whose backend is `NAME` (none without
/// the annotation).
pub(crate) fn conditions(ingress: &Ingress, name: &str) -> Result<RouteConditions, CustomError> {
    // Most Ingresses have no conditions at all: answer them without building keys.
    let any = ingress
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| annotations.keys().any(|key| key.contains("/conditions.")));
    if !any {
        return Ok(RouteConditions::default());
    }
    let Some(annotation) = annotations::lookup(ingress, &format!("conditions.{name}")) else {
        return Ok(RouteConditions::default());
    };
    let value: Value = serde_json::from_str(annotation.value)
        .map_err(|problem| error(&annotation, format!("not valid JSON: {problem}")))?;
    let list = value
        .as_array()
        .ok_or_else(|| error(&annotation, "must be a JSON list of conditions"))?;
    let mut conditions = RouteConditions::default();
    let mut seen_method = false;
    let mut seen_source = false;
    for (index, condition) in list.iter().enumerate() {
        let at = format!("[{index}]");
        let condition = condition
            .as_object()
            .ok_or_else(|| error(&annotation, format!("{at} must be an object")))?;
        let field = get(condition, "field")
            .and_then(Value::as_str)
            .ok_or_else(|| error(&annotation, format!("{at} needs \"field\"")))?;
        match field {
            "http-header" => {
                let config = config(&annotation, condition, "httpHeaderConfig")?;
                let name = get(config, "httpHeaderName")
                    .and_then(Value::as_str)
                    .filter(|name| is_token(name))
                    .ok_or_else(|| {
                        error(
                            &annotation,
                            format!("{at}.httpHeaderConfig.httpHeaderName must be a header name"),
                        )
                    })?;
                let values = strings(&annotation, config, &format!("{at}.httpHeaderConfig"))?;
                conditions.headers.push(HeaderCondition {
                    name: name.to_ascii_lowercase(),
                    values: values.into_iter().map(StringMatch::Glob).collect(),
                });
            }
            "http-request-method" => {
                if std::mem::replace(&mut seen_method, true) {
                    return Err(error(
                        &annotation,
                        "at most one http-request-method condition",
                    ));
                }
                let config = config(&annotation, condition, "httpRequestMethodConfig")?;
                let values = strings(
                    &annotation,
                    config,
                    &format!("{at}.httpRequestMethodConfig"),
                )?;
                if let Some(bad) = values.iter().find(|method| {
                    !method
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
                }) {
                    return Err(error(
                        &annotation,
                        format!("method {bad:?} must be upper-case letters, - and _"),
                    ));
                }
                conditions.methods = values;
            }
            "query-string" => {
                let config = config(&annotation, condition, "queryStringConfig")?;
                let pairs = get(config, "values")
                    .and_then(Value::as_array)
                    .filter(|values| !values.is_empty())
                    .ok_or_else(|| {
                        error(
                            &annotation,
                            format!("{at}.queryStringConfig.values must be a non-empty list"),
                        )
                    })?;
                let mut any_of = Vec::new();
                for pair in pairs {
                    let pair = pair.as_object();
                    let key = pair
                        .and_then(|pair| get(pair, "key"))
                        .and_then(Value::as_str);
                    let value = pair
                        .and_then(|pair| get(pair, "value"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            error(
                                &annotation,
                                format!("{at}.queryStringConfig.values need a \"value\""),
                            )
                        })?;
                    any_of.push(QueryPair {
                        key: key.map(|key| StringMatch::Glob(key.to_owned())),
                        value: StringMatch::Glob(value.to_owned()),
                    });
                }
                conditions.query.push(QueryCondition { any_of });
            }
            "source-ip" => {
                if std::mem::replace(&mut seen_source, true) {
                    return Err(error(&annotation, "at most one source-ip condition"));
                }
                let config = config(&annotation, condition, "sourceIpConfig")?;
                let values = strings(&annotation, config, &format!("{at}.sourceIpConfig"))?;
                conditions.source_ips = values
                    .iter()
                    .map(|value| value.trim().parse::<IpCidr>())
                    .collect::<Result<_, _>>()
                    .map_err(|problem| error(&annotation, problem))?;
            }
            "host-header" | "path-pattern" => {
                return Err(error(
                    &annotation,
                    format!(
                        "{field} conditions (more hosts or paths for the rule) are not supported; add them as Ingress rules"
                    ),
                ));
            }
            other => {
                return Err(error(
                    &annotation,
                    format!("condition field {other:?} is not supported"),
                ));
            }
        }
    }
    Ok(conditions)
}

/// A `values` list of non-empty strings.
fn strings(
    annotation: &Annotation<'_>,
    config: &Map<String, Value>,
    at: &str,
) -> Result<Vec<String>, CustomError> {
    let values = get(config, "values")
        .and_then(Value::as_array)
        .filter(|values| !values.is_empty())
        .ok_or_else(|| error(annotation, format!("{at}.values must be a non-empty list")))?;
    values
        .iter()
        .map(|value| {
            value
                .as_str()
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    error(
                        annotation,
                        format!("{at}.values must hold non-empty strings"),
                    )
                })
        })
        .collect()
}

fn config<'v>(
    annotation: &Annotation<'_>,
    object: &'v Map<String, Value>,
    key: &str,
) -> Result<&'v Map<String, Value>, CustomError> {
    get(object, key)
        .and_then(Value::as_object)
        .ok_or_else(|| error(annotation, format!("needs {key:?}")))
}

/// A key of a JSON object, compared case-insensitively.
fn get<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

fn number_or_string(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn number_or_string_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(number) => Some(number.to_string()),
        Value::String(text) => Some(text.trim().to_owned()),
        _ => None,
    }
}

/// An HTTP token (RFC 9110 section 5.6.2), as header names are.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}
