//! Throttling and 5xx retries through the real SDK client with `aws-smithy-mocks` answering:
//! the instrumented client retries throttled and transient failures with backoff, counts every
//! attempt, and gives up with the right class.

use std::time::Duration;

use aws_sdk_acm as acm;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_resourcegroupstagging as tagging;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use elb::operation::delete_rule::{DeleteRuleError, DeleteRuleOutput};
use elb::operation::describe_load_balancers::{
    DescribeLoadBalancersError, DescribeLoadBalancersOutput,
};
use weir_model::ErrorKind;
use weir_provider_aws::{Call, Client, ClientOptions, Op, Reply, SdkApi};

fn error(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message("from the mock")
        .build()
}

fn client(rules: &[&aws_smithy_mocks::Rule]) -> Client<SdkApi> {
    let elb = mock_client!(elb, RuleMode::Sequential, rules, |config| {
        config.retry_config(elb::config::retry::RetryConfig::disabled())
    });
    let acm = acm::Client::from_conf(
        acm::Config::builder()
            .behavior_version(acm::config::BehaviorVersion::latest())
            .region(acm::config::Region::new("us-east-1"))
            .build(),
    );
    let tagging = tagging::Client::from_conf(
        tagging::Config::builder()
            .behavior_version(tagging::config::BehaviorVersion::latest())
            .region(tagging::config::Region::new("us-east-1"))
            .build(),
    );
    let options = ClientOptions {
        min_interval: Duration::ZERO,
        max_retries: 3,
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    };
    Client::new(SdkApi::from_clients(elb, acm, tagging), options)
}

fn describe() -> Call {
    Call::DescribeLoadBalancers(vec!["arn:aws:elasticloadbalancing:lb".into()])
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_and_counted() {
    let throttled = mock!(elb::Client::describe_load_balancers)
        .sequence()
        .error(|| DescribeLoadBalancersError::generic(error("Throttling")))
        .times(2)
        .output(|| DescribeLoadBalancersOutput::builder().build())
        .build();
    let client = client(&[&throttled]);
    let reply = client
        .send(describe())
        .await
        .expect("third attempt succeeds");
    assert!(matches!(reply, Reply::LoadBalancers(found) if found.is_empty()));
    assert_eq!(client.counter().snapshot()[&Op::DescribeLoadBalancers], 3);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let flaky = mock!(elb::Client::describe_load_balancers)
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(|| DescribeLoadBalancersOutput::builder().build())
        .build();
    let client = client(&[&flaky]);
    client
        .send(describe())
        .await
        .expect("retried past the 503s");
    assert_eq!(client.counter().snapshot()[&Op::DescribeLoadBalancers], 3);
}

#[tokio::test]
async fn persistent_throttling_gives_up_as_throttled() {
    let throttled = mock!(elb::Client::describe_load_balancers)
        .sequence()
        .error(|| DescribeLoadBalancersError::generic(error("Throttling")))
        .repeatedly()
        .build();
    let client = client(&[&throttled]);
    let failure = client.send(describe()).await.expect_err("never succeeds");
    assert_eq!(failure.kind(), ErrorKind::Throttled);
    assert_eq!(client.counter().snapshot()[&Op::DescribeLoadBalancers], 4);
}

#[tokio::test]
async fn validation_errors_are_not_retried() {
    let invalid = mock!(elb::Client::describe_load_balancers)
        .then_error(|| DescribeLoadBalancersError::generic(error("ValidationError")));
    let client = client(&[&invalid]);
    let failure = client.send(describe()).await.expect_err("invalid");
    assert_eq!(failure.kind(), ErrorKind::InvalidSpec);
    assert_eq!(failure.code(), Some("ValidationError"));
    assert_eq!(client.counter().snapshot()[&Op::DescribeLoadBalancers], 1);
}

#[tokio::test]
async fn a_missing_rule_is_recognised_as_not_found() {
    let gone = mock!(elb::Client::delete_rule)
        .then_error(|| DeleteRuleError::generic(error("RuleNotFound")));
    let ok = mock!(elb::Client::delete_rule).then_output(|| DeleteRuleOutput::builder().build());
    let client = client(&[&gone, &ok]);
    let failure = client
        .send(Call::DeleteRule("arn:rule".into()))
        .await
        .expect_err("not found");
    assert!(failure.is_not_found());
    assert_eq!(client.counter().snapshot()[&Op::DeleteRule], 1);
}
