//! The SDK adapter: [`AwsApi`] over the official ELBv2, ACM and Resource Groups Tagging
//! clients. The only module that touches SDK types; errors go to [`CallError::from_sdk`].

use std::net::IpAddr;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_acm as acm;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_resourcegroupstagging as tagging;
use aws_smithy_types::Blob;
use elb::types::{
    LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum, RulePriorityPair,
    TargetHealthStateEnum, TargetTypeEnum,
};

use crate::api::{
    AwsApi, Call, CertificateSummary, Reply, TaggedResource, TargetGroupInfo, TargetId,
};
use crate::errors::CallError;

mod convert;

use convert::{
    acm_tags, certificate_list, created_arn, elb_tags, listener, listener_input, load_balancer,
    matcher, observed_health, priority_i32, rule, rule_conditions, sdk_action, target_list,
};

/// [`AwsApi`] through the AWS SDK for Rust.
#[derive(Clone, Debug)]
pub struct SdkApi {
    elb: elb::Client,
    acm: acm::Client,
    tagging: tagging::Client,
}

impl SdkApi {
    /// Clients from a loaded SDK configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            elb: elb::Client::new(config),
            acm: acm::Client::new(config),
            tagging: tagging::Client::new(config),
        }
    }

    /// Clients from the default chain: credentials (IRSA web identity, EKS Pod Identity,
    /// environment, profile), region, and `AWS_ENDPOINT_URL` for emulators. The SDK's own
    /// retries are off: [`crate::Client`] retries, so every attempt is counted. A call attempt
    /// times out after 30 s (a Transient failure).
    pub async fn from_env() -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(timeouts)
            .load()
            .await;
        Self::new(&config)
    }

    /// Clients built from explicit SDK clients (tests with mocked clients).
    pub fn from_clients(elb: elb::Client, acm: acm::Client, tagging: tagging::Client) -> Self {
        Self { elb, acm, tagging }
    }
}

impl AwsApi for SdkApi {
    async fn send(&self, call: Call) -> Result<Reply, CallError> {
        let op = call.op();
        match call {
            Call::GetResources { tags, types } => {
                let mut resources = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let mut request = self.tagging.get_resources();
                    for (key, value) in &tags {
                        request = request.tag_filters(
                            tagging::types::TagFilter::builder()
                                .key(key)
                                .values(value)
                                .build(),
                        );
                    }
                    for kind in &types {
                        request = request.resource_type_filters(kind);
                    }
                    let output = request
                        .set_pagination_token(token.take())
                        .send()
                        .await
                        .map_err(|error| CallError::from_sdk(op, error))?;
                    for mapping in output.resource_tag_mapping_list() {
                        let Some(arn) = mapping.resource_arn() else {
                            continue;
                        };
                        resources.push(TaggedResource {
                            arn: arn.to_owned(),
                            tags: mapping
                                .tags()
                                .iter()
                                .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                                .collect(),
                        });
                    }
                    match output.pagination_token() {
                        Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                        _ => break,
                    }
                }
                Ok(Reply::Resources(resources))
            }
            Call::DescribeLoadBalancers(arns) => {
                let output = self
                    .elb
                    .describe_load_balancers()
                    .set_load_balancer_arns(Some(arns))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::LoadBalancers(
                    output.load_balancers().iter().map(load_balancer).collect(),
                ))
            }
            Call::CreateLoadBalancer(input) => {
                let output = self
                    .elb
                    .create_load_balancer()
                    .name(input.name)
                    .r#type(LoadBalancerTypeEnum::Application)
                    .scheme(LoadBalancerSchemeEnum::from(input.scheme.as_str()))
                    .set_subnets(Some(input.subnets))
                    .set_security_groups(
                        (!input.security_groups.is_empty()).then_some(input.security_groups),
                    )
                    .set_tags(Some(elb_tags(&input.tags)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::LoadBalancers(
                    output.load_balancers().iter().map(load_balancer).collect(),
                ))
            }
            Call::DeleteLoadBalancer(arn) => {
                self.elb
                    .delete_load_balancer()
                    .load_balancer_arn(arn)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::SetSubnets {
                load_balancer,
                subnets,
            } => {
                self.elb
                    .set_subnets()
                    .load_balancer_arn(load_balancer)
                    .set_subnets(Some(subnets))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::SetSecurityGroups {
                load_balancer,
                security_groups,
            } => {
                self.elb
                    .set_security_groups()
                    .load_balancer_arn(load_balancer)
                    .set_security_groups(Some(security_groups))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DescribeListeners(load_balancer) => {
                let listeners = all_pages(|marker| {
                    let request = self
                        .elb
                        .describe_listeners()
                        .load_balancer_arn(&load_balancer)
                        .set_marker(marker);
                    async move {
                        let output = request
                            .send()
                            .await
                            .map_err(|error| CallError::from_sdk(op, error))?;
                        let page = output.listeners().iter().filter_map(listener).collect();
                        Ok((page, output.next_marker().map(str::to_owned)))
                    }
                })
                .await?;
                Ok(Reply::Listeners(listeners))
            }
            Call::CreateListener {
                load_balancer,
                settings,
                tags,
            } => {
                let (protocol, action, certificates) = listener_input(&settings, op)?;
                let output = self
                    .elb
                    .create_listener()
                    .load_balancer_arn(load_balancer)
                    .port(i32::from(settings.port))
                    .protocol(protocol)
                    .default_actions(action)
                    .set_ssl_policy(settings.ssl_policy)
                    .set_certificates(certificates)
                    .set_tags(Some(elb_tags(&tags)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                created_arn(
                    op,
                    output.listeners().first().and_then(|l| l.listener_arn()),
                )
            }
            Call::ModifyListener { listener, settings } => {
                let (protocol, action, certificates) = listener_input(&settings, op)?;
                self.elb
                    .modify_listener()
                    .listener_arn(listener)
                    .port(i32::from(settings.port))
                    .protocol(protocol)
                    .default_actions(action)
                    .set_ssl_policy(settings.ssl_policy)
                    .set_certificates(certificates)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DeleteListener(arn) => {
                self.elb
                    .delete_listener()
                    .listener_arn(arn)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DescribeListenerCertificates(listener) => {
                let certificates = all_pages(|marker| {
                    let request = self
                        .elb
                        .describe_listener_certificates()
                        .listener_arn(&listener)
                        .set_marker(marker);
                    async move {
                        let output = request
                            .send()
                            .await
                            .map_err(|error| CallError::from_sdk(op, error))?;
                        let page = output
                            .certificates()
                            .iter()
                            .filter_map(|found| {
                                Some((
                                    found.certificate_arn()?.to_owned(),
                                    found.is_default().unwrap_or(false),
                                ))
                            })
                            .collect();
                        Ok((page, output.next_marker().map(str::to_owned)))
                    }
                })
                .await?;
                Ok(Reply::ListenerCertificates(certificates))
            }
            Call::AddListenerCertificates {
                listener,
                certificates,
            } => {
                self.elb
                    .add_listener_certificates()
                    .listener_arn(listener)
                    .set_certificates(Some(certificate_list(certificates)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::RemoveListenerCertificates {
                listener,
                certificates,
            } => {
                self.elb
                    .remove_listener_certificates()
                    .listener_arn(listener)
                    .set_certificates(Some(certificate_list(certificates)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DescribeRules(listener) => {
                let rules = all_pages(|marker| {
                    let request = self
                        .elb
                        .describe_rules()
                        .listener_arn(&listener)
                        .set_marker(marker);
                    async move {
                        let output = request
                            .send()
                            .await
                            .map_err(|error| CallError::from_sdk(op, error))?;
                        let page = output.rules().iter().filter_map(rule).collect();
                        Ok((page, output.next_marker().map(str::to_owned)))
                    }
                })
                .await?;
                Ok(Reply::Rules(rules))
            }
            Call::CreateRule {
                listener,
                priority,
                conditions,
                action,
                tags,
            } => {
                let output = self
                    .elb
                    .create_rule()
                    .listener_arn(listener)
                    .priority(priority_i32(priority))
                    .set_conditions(Some(rule_conditions(&conditions)))
                    .actions(sdk_action(&action, op)?)
                    .set_tags(Some(elb_tags(&tags)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                created_arn(op, output.rules().first().and_then(|r| r.rule_arn()))
            }
            Call::ModifyRule {
                rule,
                conditions,
                action,
            } => {
                self.elb
                    .modify_rule()
                    .rule_arn(rule)
                    .set_conditions(Some(rule_conditions(&conditions)))
                    .actions(sdk_action(&action, op)?)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DeleteRule(arn) => {
                self.elb
                    .delete_rule()
                    .rule_arn(arn)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::SetRulePriorities(moves) => {
                let pairs = moves
                    .into_iter()
                    .map(|(rule, priority)| {
                        RulePriorityPair::builder()
                            .rule_arn(rule)
                            .priority(priority_i32(priority))
                            .build()
                    })
                    .collect();
                self.elb
                    .set_rule_priorities()
                    .set_rule_priorities(Some(pairs))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DescribeTargetGroups(arns) => {
                let output = self
                    .elb
                    .describe_target_groups()
                    .set_target_group_arns(Some(arns))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::TargetGroups(
                    output
                        .target_groups()
                        .iter()
                        .filter_map(|group| {
                            Some(TargetGroupInfo {
                                arn: group.target_group_arn()?.to_owned(),
                                name: group.target_group_name().unwrap_or_default().to_owned(),
                                port: group
                                    .port()
                                    .and_then(|port| u16::try_from(port).ok())
                                    .unwrap_or_default(),
                                health: observed_health(group),
                            })
                        })
                        .collect(),
                ))
            }
            Call::CreateTargetGroup {
                name,
                vpc_id,
                port,
                health,
                tags,
            } => {
                let output = self
                    .elb
                    .create_target_group()
                    .name(name)
                    .protocol(ProtocolEnum::Http)
                    .port(i32::from(port))
                    .vpc_id(vpc_id)
                    .target_type(TargetTypeEnum::Ip)
                    .set_health_check_path(health.path)
                    .set_health_check_interval_seconds(health.interval_seconds.map(i32::from))
                    .set_health_check_timeout_seconds(health.timeout_seconds.map(i32::from))
                    .set_healthy_threshold_count(health.healthy_threshold.map(i32::from))
                    .set_unhealthy_threshold_count(health.unhealthy_threshold.map(i32::from))
                    .set_matcher(health.success_codes.map(matcher))
                    .set_tags(Some(elb_tags(&tags)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                created_arn(
                    op,
                    output
                        .target_groups()
                        .first()
                        .and_then(|group| group.target_group_arn()),
                )
            }
            Call::ModifyTargetGroup {
                target_group,
                health,
            } => {
                self.elb
                    .modify_target_group()
                    .target_group_arn(target_group)
                    .set_health_check_path(health.path)
                    .set_health_check_interval_seconds(health.interval_seconds.map(i32::from))
                    .set_health_check_timeout_seconds(health.timeout_seconds.map(i32::from))
                    .set_healthy_threshold_count(health.healthy_threshold.map(i32::from))
                    .set_unhealthy_threshold_count(health.unhealthy_threshold.map(i32::from))
                    .set_matcher(health.success_codes.map(matcher))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DeleteTargetGroup(arn) => {
                self.elb
                    .delete_target_group()
                    .target_group_arn(arn)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DescribeTargetHealth(arn) => {
                let output = self
                    .elb
                    .describe_target_health()
                    .target_group_arn(arn)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Targets(
                    output
                        .target_health_descriptions()
                        .iter()
                        .filter(|found| {
                            found.target_health().and_then(|health| health.state())
                                != Some(&TargetHealthStateEnum::Draining)
                        })
                        .filter_map(|found| {
                            let target = found.target()?;
                            Some(TargetId {
                                ip: target.id()?.parse::<IpAddr>().ok()?,
                                port: u16::try_from(target.port()?).ok()?,
                            })
                        })
                        .collect(),
                ))
            }
            Call::RegisterTargets {
                target_group,
                targets,
            } => {
                self.elb
                    .register_targets()
                    .target_group_arn(target_group)
                    .set_targets(Some(target_list(&targets)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DeregisterTargets {
                target_group,
                targets,
            } => {
                self.elb
                    .deregister_targets()
                    .target_group_arn(target_group)
                    .set_targets(Some(target_list(&targets)))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::ListCertificates => {
                let certificates = all_pages(|token| {
                    let request = self
                        .acm
                        .list_certificates()
                        .certificate_statuses(acm::types::CertificateStatus::Issued)
                        .set_next_token(token);
                    async move {
                        let output = request
                            .send()
                            .await
                            .map_err(|error| CallError::from_sdk(op, error))?;
                        let page = output
                            .certificate_summary_list()
                            .iter()
                            .filter_map(|summary| {
                                let mut names: Vec<String> = summary
                                    .domain_name()
                                    .into_iter()
                                    .chain(
                                        summary
                                            .subject_alternative_name_summaries()
                                            .iter()
                                            .map(String::as_str),
                                    )
                                    .map(str::to_ascii_lowercase)
                                    .collect();
                                names.sort();
                                names.dedup();
                                Some(CertificateSummary {
                                    arn: summary.certificate_arn()?.to_owned(),
                                    names,
                                    not_after: summary.not_after().map(|time| time.secs()),
                                })
                            })
                            .collect();
                        Ok((page, output.next_token().map(str::to_owned)))
                    }
                })
                .await?;
                Ok(Reply::Certificates(certificates))
            }
            Call::ImportCertificate(input) => {
                let tags = acm_tags(&input.tags, op)?;
                let output = self
                    .acm
                    .import_certificate()
                    .set_certificate_arn(input.arn)
                    .certificate(Blob::new(input.certificate))
                    .set_certificate_chain(
                        (!input.chain.is_empty()).then(|| Blob::new(input.chain)),
                    )
                    .private_key(Blob::new(input.key.expose()))
                    .set_tags((!tags.is_empty()).then_some(tags))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                created_arn(op, output.certificate_arn())
            }
            Call::AddTagsToCertificate { certificate, tags } => {
                self.acm
                    .add_tags_to_certificate()
                    .certificate_arn(certificate)
                    .set_tags(Some(acm_tags(&tags, op)?))
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
            Call::DeleteCertificate(arn) => {
                self.acm
                    .delete_certificate()
                    .certificate_arn(arn)
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                Ok(Reply::Done)
            }
        }
    }
}

/// Follows a marker- or token-paginated call to its last page; `page(marker)` fetches one page
/// and returns its items with the next marker (absent or empty on the last page).
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, CallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), CallError>>,
{
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        let (batch, next) = page(marker.take()).await?;
        items.extend(batch);
        match next.filter(|next| !next.is_empty()) {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn all_pages_follows_markers_to_the_last_page() {
        let pages = [
            (vec![1, 2], Some("b".to_owned())),
            (vec![3], Some("c".to_owned())),
            (vec![4], Some(String::new())),
            (vec![99], None),
        ];
        let mut seen = Vec::new();
        let items = all_pages(|marker| {
            seen.push(marker.clone());
            let index = seen.len() - 1;
            let page = pages[index].clone();
            async move { Ok(page) }
        })
        .await
        .unwrap();
        assert_eq!(items, [1, 2, 3, 4], "an empty marker ends the listing");
        assert_eq!(seen, [None, Some("b".to_owned()), Some("c".to_owned())]);
    }
}
