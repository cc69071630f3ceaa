//! Load balancer calls.

use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerTypeEnum};

use crate::api::call::CreateLoadBalancer;
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::Reply;
use crate::api::sdk::adapter::SdkApi;
use crate::api::sdk::convert::{elb_tags, load_balancer};

impl SdkApi {
    pub(super) async fn describe_load_balancers(
        &self,
        op: Op,
        arns: Vec<String>,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn create_load_balancer(
        &self,
        op: Op,
        input: CreateLoadBalancer,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn delete_load_balancer(
        &self,
        op: Op,
        arn: String,
    ) -> Result<Reply, CallError> {
        self.elb
            .delete_load_balancer()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn set_subnets(
        &self,
        op: Op,
        load_balancer: String,
        subnets: Vec<String>,
    ) -> Result<Reply, CallError> {
        self.elb
            .set_subnets()
            .load_balancer_arn(load_balancer)
            .set_subnets(Some(subnets))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn set_security_groups(
        &self,
        op: Op,
        load_balancer: String,
        security_groups: Vec<String>,
    ) -> Result<Reply, CallError> {
        self.elb
            .set_security_groups()
            .load_balancer_arn(load_balancer)
            .set_security_groups(Some(security_groups))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }
}
