//! The SDK adapter: [`AwsApi`] over the official ELBv2, ACM and Resource Groups Tagging
//! clients. The only module that touches SDK types; errors go to [`CallError::from_sdk`].
//!
//! One file per resource kind ([`load_balancers`], [`listeners`], [`rules`],
//! [`target_groups`], [`certificates`], [`tagging`]), one function per call; `send` only
//! dispatches.

mod adapter;
mod certificates;
mod convert;
mod listeners;
mod load_balancers;
mod pages;
mod rule_parts;
mod rules;
mod tagging;
mod target_groups;

pub use adapter::SdkApi;
pub use certificates::split_chain;

use crate::api::aws_api::AwsApi;
use crate::api::call::Call;
use crate::api::errors::CallError;
use crate::api::reply::Reply;

impl AwsApi for SdkApi {
    async fn send(&self, call: Call) -> Result<Reply, CallError> {
        let op = call.op();
        match call {
            Call::GetResources { tags, types } => self.get_resources(op, tags, types).await,
            Call::DescribeLoadBalancers(arns) => self.describe_load_balancers(op, arns).await,
            Call::CreateLoadBalancer(input) => self.create_load_balancer(op, input).await,
            Call::DeleteLoadBalancer(arn) => self.delete_load_balancer(op, arn).await,
            Call::SetSubnets {
                load_balancer,
                subnets,
            } => self.set_subnets(op, load_balancer, subnets).await,
            Call::SetSecurityGroups {
                load_balancer,
                security_groups,
            } => {
                self.set_security_groups(op, load_balancer, security_groups)
                    .await
            }
            Call::DescribeListeners(load_balancer) => {
                self.describe_listeners(op, load_balancer).await
            }
            Call::CreateListener {
                load_balancer,
                settings,
                tags,
            } => {
                self.create_listener(op, load_balancer, settings, tags)
                    .await
            }
            Call::ModifyListener { listener, settings } => {
                self.modify_listener(op, listener, settings).await
            }
            Call::DeleteListener(arn) => self.delete_listener(op, arn).await,
            Call::DescribeListenerCertificates(listener) => {
                self.describe_listener_certificates(op, listener).await
            }
            Call::AddListenerCertificates {
                listener,
                certificates,
            } => {
                self.add_listener_certificates(op, listener, certificates)
                    .await
            }
            Call::RemoveListenerCertificates {
                listener,
                certificates,
            } => {
                self.remove_listener_certificates(op, listener, certificates)
                    .await
            }
            Call::DescribeRules(listener) => self.describe_rules(op, listener).await,
            Call::CreateRule {
                listener,
                priority,
                conditions,
                action,
                tags,
                ..
            } => {
                self.create_rule(op, listener, priority, conditions, action, tags)
                    .await
            }
            Call::ModifyRule {
                rule,
                conditions,
                action,
            } => self.modify_rule(op, rule, conditions, action).await,
            Call::DeleteRule(arn) => self.delete_rule(op, arn).await,
            Call::SetRulePriorities(moves) => self.set_rule_priorities(op, moves).await,
            Call::DescribeTargetGroups(arns) => self.describe_target_groups(op, arns).await,
            Call::CreateTargetGroup {
                name,
                vpc,
                port,
                health,
                tags,
                ..
            } => {
                self.create_target_group(op, name, vpc, port, health, tags)
                    .await
            }
            Call::ModifyTargetGroup {
                target_group,
                health,
            } => self.modify_target_group(op, target_group, health).await,
            Call::DeleteTargetGroup(arn) => self.delete_target_group(op, arn).await,
            Call::DescribeTargetHealth(arn) => self.describe_target_health(op, arn).await,
            Call::RegisterTargets {
                target_group,
                targets,
            } => self.register_targets(op, target_group, targets).await,
            Call::DeregisterTargets {
                target_group,
                targets,
            } => self.deregister_targets(op, target_group, targets).await,
            Call::ListCertificates => self.list_certificates(op).await,
            Call::DescribeCertificate(arn) => self.describe_certificate(op, arn).await,
            Call::ImportCertificate {
                reimport,
                material,
                tags,
                ..
            } => self.import_certificate(op, reimport, material, tags).await,
            Call::AddTagsToCertificate { certificate, tags } => {
                self.add_tags_to_certificate(op, certificate, tags).await
            }
            Call::DeleteCertificate(arn) => self.delete_certificate(op, arn).await,
        }
    }
}
