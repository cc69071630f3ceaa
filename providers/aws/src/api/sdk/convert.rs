//! Conversions between weir's call types and the SDK's, in both directions.

use aws_sdk_acm as acm;
use aws_sdk_elasticloadbalancingv2 as elb;
use elb::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, HostHeaderConditionConfig,
    Matcher, PathPatternConditionConfig, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, RuleCondition, TargetDescription,
};
use weir_model::{ErrorKind, Protocol};

use crate::api::call::{ActionSpec, Conditions, HealthCheck, ListenerSettings, Tags, TargetId};
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::{ListenerInfo, LoadBalancerInfo, Reply, RuleInfo};
use crate::api::rule_parts::{MatchConditions, RedirectSpec};
use crate::api::sdk::rule_parts;

pub(crate) fn matcher(codes: String) -> Matcher {
    Matcher::builder().http_code(codes).build()
}

pub(crate) fn observed_health(group: &elb::types::TargetGroup) -> HealthCheck {
    let count = |value: Option<i32>| value.and_then(|value| u16::try_from(value).ok());
    HealthCheck {
        path: group.health_check_path().map(str::to_owned),
        interval_seconds: count(group.health_check_interval_seconds()),
        timeout_seconds: count(group.health_check_timeout_seconds()),
        healthy_threshold: count(group.healthy_threshold_count()),
        unhealthy_threshold: count(group.unhealthy_threshold_count()),
        success_codes: group
            .matcher()
            .and_then(|matcher| matcher.http_code())
            .map(str::to_owned),
    }
}

pub(crate) fn created_arn(op: Op, arn: Option<&str>) -> Result<Reply, CallError> {
    arn.map(|arn| Reply::Arn(arn.to_owned()))
        .ok_or_else(|| CallError::new(op, ErrorKind::Transient, None, "the reply named no ARN"))
}

/// Priorities are at most 50000, so they always fit.
pub(crate) fn priority_i32(priority: u32) -> i32 {
    i32::try_from(priority).unwrap_or(i32::MAX)
}

pub(crate) fn elb_tags(tags: &Tags) -> Vec<elb::types::Tag> {
    tags.iter()
        .map(|(key, value)| elb::types::Tag::builder().key(key).value(value).build())
        .collect()
}

pub(crate) fn acm_tags(tags: &Tags, op: Op) -> Result<Vec<acm::types::Tag>, CallError> {
    tags.iter()
        .map(|(key, value)| {
            acm::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| CallError::new(op, ErrorKind::Permanent, None, error.to_string()))
        })
        .collect()
}

pub(crate) fn certificate_list(arns: Vec<String>) -> Vec<Certificate> {
    arns.into_iter()
        .map(|arn| Certificate::builder().certificate_arn(arn).build())
        .collect()
}

pub(crate) fn target_list(targets: &[TargetId]) -> Vec<TargetDescription> {
    targets
        .iter()
        .map(|target| {
            TargetDescription::builder()
                .id(target.ip.to_string())
                .port(i32::from(target.port))
                .build()
        })
        .collect()
}

pub(crate) fn listener_input(
    settings: &ListenerSettings,
    op: Op,
) -> Result<(ProtocolEnum, Action, Option<Vec<Certificate>>), CallError> {
    let protocol = match settings.protocol {
        Protocol::Http => ProtocolEnum::Http,
        Protocol::Https => ProtocolEnum::Https,
    };
    let certificates = settings
        .default_certificate
        .clone()
        .map(|arn| certificate_list(vec![arn]));
    Ok((
        protocol,
        sdk_action(&settings.default_action, op)?,
        certificates,
    ))
}

pub(crate) fn sdk_action(action: &ActionSpec, op: Op) -> Result<Action, CallError> {
    Ok(match action {
        ActionSpec::Forward(arn) => Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(arn)
            .build(),
        ActionSpec::Fixed(status) => Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(status.to_string())
                    .content_type("text/plain")
                    .build(),
            )
            .build(),
        ActionSpec::RedirectHttps(port) => Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port(port.to_string())
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
        ActionSpec::Weighted(_) | ActionSpec::Respond(_) | ActionSpec::Redirect(_) => {
            match rule_parts::action(action) {
                Some(action) => action,
                None => {
                    return Err(CallError::new(
                        op,
                        ErrorKind::Permanent,
                        None,
                        format!("cannot write action {action}"),
                    ));
                }
            }
        }
        ActionSpec::Other(what) => {
            return Err(CallError::new(
                op,
                ErrorKind::Permanent,
                None,
                format!("cannot write action {what}"),
            ));
        }
    })
}

pub(crate) fn rule_conditions(conditions: &Conditions) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    if let Some(host) = &conditions.host {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .values(host.clone())
                        .build(),
                )
                .build(),
        );
    }
    if !conditions.paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(conditions.paths.clone()))
                        .build(),
                )
                .build(),
        );
    }
    out.extend(rule_parts::conditions(&conditions.matches));
    out
}

pub(crate) fn load_balancer(found: &elb::types::LoadBalancer) -> LoadBalancerInfo {
    let mut subnets: Vec<String> = found
        .availability_zones()
        .iter()
        .filter_map(|zone| zone.subnet_id().map(str::to_owned))
        .collect();
    subnets.sort();
    let mut security_groups = found.security_groups().to_vec();
    security_groups.sort();
    LoadBalancerInfo {
        arn: found.load_balancer_arn().unwrap_or_default().to_owned(),
        name: found.load_balancer_name().unwrap_or_default().to_owned(),
        dns_name: found.dns_name().unwrap_or_default().to_owned(),
        scheme: found
            .scheme()
            .map(|scheme| scheme.as_str().to_owned())
            .unwrap_or_default(),
        vpc_id: found.vpc_id().unwrap_or_default().to_owned(),
        subnets,
        security_groups,
    }
}

pub(crate) fn listener(found: &elb::types::Listener) -> Option<ListenerInfo> {
    Some(ListenerInfo {
        arn: found.listener_arn()?.to_owned(),
        port: u16::try_from(found.port()?).ok()?,
        protocol: match found.protocol() {
            Some(ProtocolEnum::Https) => Protocol::Https,
            _ => Protocol::Http,
        },
        default_action: action_spec(found.default_actions()),
        ssl_policy: found.ssl_policy().map(str::to_owned),
    })
}

pub(crate) fn rule(found: &elb::types::Rule) -> Option<RuleInfo> {
    if found.is_default() == Some(true) {
        return None;
    }
    let mut host = None;
    let mut paths = Vec::new();
    let mut matches = MatchConditions::default();
    for condition in found.conditions() {
        match condition.field() {
            Some("host-header") => {
                let values = condition
                    .host_header_config()
                    .map(HostHeaderConditionConfig::values)
                    .filter(|values| !values.is_empty())
                    .unwrap_or(condition.values());
                host = Some(values.join(","));
            }
            Some("path-pattern") => {
                let values = condition
                    .path_pattern_config()
                    .map(PathPatternConditionConfig::values)
                    .filter(|values| !values.is_empty())
                    .unwrap_or(condition.values());
                paths.extend(values.iter().cloned());
            }
            _ if rule_parts::observe_condition(condition, &mut matches) => {}
            other => paths.push(format!("<{}>", other.unwrap_or("?"))),
        }
    }
    paths.sort();
    Some(RuleInfo {
        arn: found.rule_arn()?.to_owned(),
        priority: found.priority()?.parse().ok()?,
        conditions: Conditions {
            host,
            paths,
            matches: matches.canonical(),
        },
        action: action_spec(found.actions()),
    })
}

fn action_spec(actions: &[Action]) -> ActionSpec {
    let [action] = actions else {
        return ActionSpec::Other(format!("{} actions", actions.len()));
    };
    match action.r#type() {
        Some(ActionTypeEnum::Forward) => {
            let single = action
                .forward_config()
                .map(|config| config.target_groups())
                .filter(|groups| groups.len() == 1)
                .and_then(|groups| groups[0].target_group_arn());
            match action.target_group_arn().or(single) {
                Some(arn) => ActionSpec::Forward(arn.to_owned()),
                None => action
                    .forward_config()
                    .and_then(rule_parts::observed_weighted)
                    .unwrap_or_else(|| ActionSpec::Other("forward".to_owned())),
            }
        }
        Some(ActionTypeEnum::FixedResponse) => {
            let config = action.fixed_response_config();
            let plain = config.is_some_and(|config| {
                config.content_type().unwrap_or("text/plain") == "text/plain"
                    && config.message_body().unwrap_or_default().is_empty()
            });
            let status = config
                .and_then(|config| config.status_code())
                .and_then(|status| status.parse().ok());
            match (plain, status) {
                (true, Some(status)) => ActionSpec::Fixed(status),
                _ => config
                    .and_then(rule_parts::observed_respond)
                    .unwrap_or_else(|| ActionSpec::Other("fixed-response".to_owned())),
            }
        }
        Some(ActionTypeEnum::Redirect) => {
            match action
                .redirect_config()
                .and_then(rule_parts::observed_redirect)
            {
                Some(spec) if spec == RedirectSpec::keeping("HTTPS", &spec.port, 301) => spec
                    .port
                    .parse()
                    .map_or(ActionSpec::Redirect(spec), ActionSpec::RedirectHttps),
                Some(spec) => ActionSpec::Redirect(spec),
                None => ActionSpec::Other("redirect".to_owned()),
            }
        }
        other => ActionSpec::Other(format!("{other:?}")),
    }
}
