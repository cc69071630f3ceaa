//! Listener rule calls.

use aws_sdk_elasticloadbalancingv2::types::RulePriorityPair;

use crate::api::call::{ActionSpec, Conditions, Tags};
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::Reply;
use crate::api::sdk::adapter::SdkApi;
use crate::api::sdk::convert::{
    created_arn, elb_tags, priority_i32, rule, rule_conditions, sdk_action,
};
use crate::api::sdk::pages::all_pages;

impl SdkApi {
    pub(super) async fn describe_rules(
        &self,
        op: Op,
        listener: String,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn create_rule(
        &self,
        op: Op,
        listener: String,
        priority: u32,
        conditions: Conditions,
        action: ActionSpec,
        tags: Tags,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn modify_rule(
        &self,
        op: Op,
        rule: String,
        conditions: Conditions,
        action: ActionSpec,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn delete_rule(&self, op: Op, arn: String) -> Result<Reply, CallError> {
        self.elb
            .delete_rule()
            .rule_arn(arn)
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn set_rule_priorities(
        &self,
        op: Op,
        moves: Vec<(String, u32)>,
    ) -> Result<Reply, CallError> {
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
}
