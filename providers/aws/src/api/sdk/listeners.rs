//! Listener and listener-certificate calls.

use crate::api::call::{ListenerSettings, Tags};
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::Reply;
use crate::api::sdk::adapter::SdkApi;
use crate::api::sdk::convert::{certificate_list, created_arn, elb_tags, listener, listener_input};
use crate::api::sdk::pages::all_pages;

impl SdkApi {
    pub(super) async fn describe_listeners(
        &self,
        op: Op,
        load_balancer: String,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn create_listener(
        &self,
        op: Op,
        load_balancer: String,
        settings: ListenerSettings,
        tags: Tags,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn modify_listener(
        &self,
        op: Op,
        listener: String,
        settings: ListenerSettings,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn delete_listener(&self, op: Op, arn: String) -> Result<Reply, CallError> {
        self.elb
            .delete_listener()
            .listener_arn(arn)
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn describe_listener_certificates(
        &self,
        op: Op,
        listener: String,
    ) -> Result<Reply, CallError> {
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

    pub(super) async fn add_listener_certificates(
        &self,
        op: Op,
        listener: String,
        certificates: Vec<String>,
    ) -> Result<Reply, CallError> {
        self.elb
            .add_listener_certificates()
            .listener_arn(listener)
            .set_certificates(Some(certificate_list(certificates)))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn remove_listener_certificates(
        &self,
        op: Op,
        listener: String,
        certificates: Vec<String>,
    ) -> Result<Reply, CallError> {
        self.elb
            .remove_listener_certificates()
            .listener_arn(listener)
            .set_certificates(Some(certificate_list(certificates)))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }
}
