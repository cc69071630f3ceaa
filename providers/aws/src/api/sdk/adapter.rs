//! [`SdkApi`]: the official ELBv2, ACM and Resource Groups Tagging clients, built once.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_acm as acm;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_resourcegroupstagging as tagging;

/// [`AwsApi`] through the AWS SDK for Rust.
#[derive(Clone, Debug)]
pub struct SdkApi {
    pub(super) elb: elb::Client,
    pub(super) acm: acm::Client,
    pub(super) tagging: tagging::Client,
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
        Self::new(&Self::default_config().await)
    }

    /// The SDK configuration [`SdkApi::from_env`] builds its clients from, for the calls made
    /// beside them (subnet discovery).
    pub async fn default_config() -> SdkConfig {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build();
        aws_config::defaults(BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(timeouts)
            .load()
            .await
    }

    /// Clients built from explicit SDK clients (tests with mocked clients).
    pub fn from_clients(elb: elb::Client, acm: acm::Client, tagging: tagging::Client) -> Self {
        Self { elb, acm, tagging }
    }
}
