//! Target group and target calls.

use std::net::IpAddr;

use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetHealthStateEnum, TargetTypeEnum};

use crate::api::call::{HealthCheck, Tags, TargetId};
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::Reply;
use crate::api::reply::TargetGroupInfo;
use crate::api::sdk::adapter::SdkApi;
use crate::api::sdk::convert::{created_arn, elb_tags, matcher, observed_health, target_list};

impl SdkApi {
    pub(super) async fn describe_target_groups(
        &self,
        op: Op,
        arns: Vec<String>,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn create_target_group(
        &self,
        op: Op,
        name: String,
        vpc_id: String,
        port: u16,
        health: HealthCheck,
        tags: Tags,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn modify_target_group(
        &self,
        op: Op,
        target_group: String,
        health: HealthCheck,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn delete_target_group(
        &self,
        op: Op,
        arn: String,
    ) -> Result<Reply, CallError> {
        self.elb
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn describe_target_health(
        &self,
        op: Op,
        arn: String,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn register_targets(
        &self,
        op: Op,
        target_group: String,
        targets: Vec<TargetId>,
    ) -> Result<Reply, CallError> {
        self.elb
            .register_targets()
            .target_group_arn(target_group)
            .set_targets(Some(target_list(&targets)))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn deregister_targets(
        &self,
        op: Op,
        target_group: String,
        targets: Vec<TargetId>,
    ) -> Result<Reply, CallError> {
        self.elb
            .deregister_targets()
            .target_group_arn(target_group)
            .set_targets(Some(target_list(&targets)))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }
}
