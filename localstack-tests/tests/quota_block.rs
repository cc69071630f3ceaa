//! A stack over an ALB quota fails with InvalidSpec before any AWS call (no emulator needed:
//! the API here refuses every call).

use weir_model::{ErrorKind, Provider};
use weir_provider_aws::{
    AwsApi, AwsProvider, Call, CallError, Client, ClientOptions, Reply, StackDefaults,
};

use localstack_tests::Fixture;

struct NoCalls;

impl AwsApi for NoCalls {
    async fn send(&self, call: Call) -> Result<Reply, CallError> {
        panic!("no call may be made, got {:?}", call.op());
    }
}

#[tokio::test]
async fn quota_violations_fail_before_any_call() {
    let defaults = StackDefaults {
        subnets: vec!["subnet-1".into(), "subnet-2".into()],
        ..StackDefaults::default()
    };
    let provider = AwsProvider::new(
        Client::new(NoCalls, ClientOptions::default()),
        "quota",
        defaults,
    );
    let desired = Fixture::with_rules(101).desired();
    let error = provider
        .ensure(&desired[0])
        .await
        .expect_err("over the rule quota");
    assert_eq!(error.kind(), ErrorKind::InvalidSpec);
    assert!(error.to_string().contains("101 listener rules"), "{error}");
    assert!(provider.client().counter().snapshot().is_empty());
}

#[tokio::test]
async fn a_stack_without_subnets_fails_before_any_call() {
    let provider = AwsProvider::new(
        Client::new(NoCalls, ClientOptions::default()),
        "quota",
        StackDefaults::default(),
    );
    let desired = Fixture::with_rules(3).desired();
    let error = provider.ensure(&desired[0]).await.expect_err("no subnets");
    assert_eq!(error.kind(), ErrorKind::InvalidSpec);
}
