//! SDK conversions for the rule parts beyond host, path and a single forward: the
//! http-header, http-request-method, query-string and source-ip conditions, weighted forwards,
//! fixed responses with a body, and redirects (both directions).

use aws_sdk_elasticloadbalancingv2 as elb;
use elb::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig,
    HttpHeaderConditionConfig, HttpRequestMethodConditionConfig, QueryStringConditionConfig,
    QueryStringKeyValuePair, RedirectActionConfig, RedirectActionStatusCodeEnum, RuleCondition,
    SourceIpConditionConfig, TargetGroupTuple,
};

use crate::api::call::ActionSpec;
use crate::api::rule_parts::{FixedSpec, MatchConditions, RedirectSpec};

/// The SDK conditions of `matches`, one per header and query clause.
pub(crate) fn conditions(matches: &MatchConditions) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    if !matches.methods.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("http-request-method")
                .http_request_method_config(
                    HttpRequestMethodConditionConfig::builder()
                        .set_values(Some(matches.methods.clone()))
                        .build(),
                )
                .build(),
        );
    }
    for (name, values) in &matches.headers {
        out.push(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .http_header_name(name)
                        .set_values(Some(values.clone()))
                        .build(),
                )
                .build(),
        );
    }
    for pairs in &matches.query {
        let values = pairs
            .iter()
            .map(|(key, value)| {
                QueryStringKeyValuePair::builder()
                    .set_key(key.clone())
                    .value(value)
                    .build()
            })
            .collect();
        out.push(
            RuleCondition::builder()
                .field("query-string")
                .query_string_config(
                    QueryStringConditionConfig::builder()
                        .set_values(Some(values))
                        .build(),
                )
                .build(),
        );
    }
    if !matches.source_ips.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("source-ip")
                .source_ip_config(
                    SourceIpConditionConfig::builder()
                        .set_values(Some(matches.source_ips.clone()))
                        .build(),
                )
                .build(),
        );
    }
    out
}

/// Adds an observed condition of one of these kinds to `matches`; `false` for other fields.
/// The caller makes the result canonical.
pub(crate) fn observe_condition(condition: &RuleCondition, matches: &mut MatchConditions) -> bool {
    match condition.field() {
        Some("http-request-method") => {
            if let Some(config) = condition.http_request_method_config() {
                matches.methods.extend(config.values().iter().cloned());
            }
            true
        }
        Some("http-header") => {
            if let Some(config) = condition.http_header_config() {
                matches.headers.push((
                    config.http_header_name().unwrap_or_default().to_owned(),
                    config.values().to_vec(),
                ));
            }
            true
        }
        Some("query-string") => {
            if let Some(config) = condition.query_string_config() {
                matches.query.push(
                    config
                        .values()
                        .iter()
                        .map(|pair| {
                            (
                                pair.key().map(str::to_owned),
                                pair.value().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                );
            }
            true
        }
        Some("source-ip") => {
            if let Some(config) = condition.source_ip_config() {
                matches.source_ips.extend(config.values().iter().cloned());
            }
            true
        }
        _ => false,
    }
}

/// The SDK action of a weighted forward, a fixed response with a body, or a redirect; `None`
/// for the other actions.
pub(crate) fn action(spec: &ActionSpec) -> Option<Action> {
    Some(match spec {
        ActionSpec::Weighted(targets) => Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .set_target_groups(Some(
                        targets
                            .iter()
                            .map(|(arn, weight)| {
                                TargetGroupTuple::builder()
                                    .target_group_arn(arn)
                                    // At most 999 (checked when rendered).
                                    .weight(i32::try_from(*weight).unwrap_or(i32::MAX))
                                    .build()
                            })
                            .collect(),
                    ))
                    .build(),
            )
            .build(),
        ActionSpec::Respond(fixed) => Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(fixed.status.to_string())
                    .content_type(&fixed.content_type)
                    .message_body(&fixed.body)
                    .build(),
            )
            .build(),
        ActionSpec::Redirect(redirect) => Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol(&redirect.protocol)
                    .host(&redirect.host)
                    .port(&redirect.port)
                    .path(&redirect.path)
                    .query(&redirect.query)
                    .status_code(if redirect.status == 301 {
                        RedirectActionStatusCodeEnum::Http301
                    } else {
                        RedirectActionStatusCodeEnum::Http302
                    })
                    .build(),
            )
            .build(),
        _ => return None,
    })
}

/// An observed forward to several target groups.
pub(crate) fn observed_weighted(config: &ForwardActionConfig) -> Option<ActionSpec> {
    let targets = config
        .target_groups()
        .iter()
        .map(|tuple| {
            Some((
                tuple.target_group_arn()?.to_owned(),
                u32::try_from(tuple.weight().unwrap_or(1)).ok()?,
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ActionSpec::Weighted(targets))
}

/// An observed fixed response with a body or a content type other than `text/plain`.
pub(crate) fn observed_respond(config: &FixedResponseActionConfig) -> Option<ActionSpec> {
    Some(ActionSpec::Respond(FixedSpec {
        status: config.status_code()?.parse().ok()?,
        content_type: config.content_type().unwrap_or("text/plain").to_owned(),
        body: config.message_body().unwrap_or_default().to_owned(),
    }))
}

/// An observed redirect, with AWS's defaults for the parts it left unset.
pub(crate) fn observed_redirect(config: &RedirectActionConfig) -> Option<RedirectSpec> {
    let status = match config.status_code()? {
        RedirectActionStatusCodeEnum::Http301 => 301,
        RedirectActionStatusCodeEnum::Http302 => 302,
        _ => return None,
    };
    Some(RedirectSpec {
        protocol: config.protocol().unwrap_or("#{protocol}").to_owned(),
        host: config.host().unwrap_or("#{host}").to_owned(),
        port: config.port().unwrap_or("#{port}").to_owned(),
        path: config.path().unwrap_or("/#{path}").to_owned(),
        query: config.query().unwrap_or("#{query}").to_owned(),
        status,
    })
}
