//! A 20-rule stack through its life against the emulator: create, no-op resync, one endpoint
//! change, delete, with the API calls each step makes.

use localstack_tests::{Emulator, Fixture, owned, take_counts};
use weir_model::{LoadBalancerAddress, Provider};
use weir_provider_aws::Op;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_rule_stack_create_resync_endpoint_change_delete() {
    let emulator = Emulator::start();
    let provider = emulator.provider("lifecycle", None).await;
    let mut fixture = Fixture::with_rules(20);
    let desired = fixture.desired();
    assert_eq!(desired.len(), 1);

    let status = provider.ensure(&desired[0]).await.expect("create");
    let create = take_counts(&provider);
    println!("create: {create}");
    assert!(
        matches!(&status.addresses[..], [LoadBalancerAddress::Hostname(name)] if !name.is_empty())
    );
    assert_eq!(create.by_op[&Op::CreateLoadBalancer], 1);
    assert_eq!(create.by_op[&Op::CreateTargetGroup], 5);
    assert_eq!(create.by_op[&Op::RegisterTargets], 5);
    assert_eq!(create.by_op[&Op::CreateListener], 1);
    assert_eq!(create.by_op[&Op::CreateRule], 20);
    assert_eq!(create.mutating, 32);

    let again = provider.ensure(&desired[0]).await.expect("resync");
    let resync = take_counts(&provider);
    println!("no-op resync: {resync}");
    assert_eq!(again, status, "the same DNS name");
    assert_eq!(resync.mutating, 0, "{resync}");
    // Bounded by the stack: 1 tag query, 1 + 1 describes, 1 listener's rules, 5 groups' health.
    assert_eq!(resync.total, 1 + 1 + 1 + 1 + 1 + 5, "{resync}");

    fixture.services.get_mut("svc2").expect("svc2 exists")[1] = "10.0.3.99".to_owned();
    provider
        .ensure(&fixture.desired()[0])
        .await
        .expect("endpoint change");
    let endpoint = take_counts(&provider);
    println!("endpoint change: {endpoint}");
    assert_eq!(endpoint.mutating, 2, "{endpoint}");
    assert_eq!(endpoint.by_op[&Op::RegisterTargets], 1);
    assert_eq!(endpoint.by_op[&Op::DeregisterTargets], 1);
    take_counts(&provider);
    provider
        .ensure(&fixture.desired()[0])
        .await
        .expect("resync after the change");
    assert_eq!(take_counts(&provider).mutating, 0);

    provider.delete(&desired[0].stack).await.expect("delete");
    let delete = take_counts(&provider);
    println!("delete: {delete}");
    assert_eq!(delete.by_op[&Op::DeleteLoadBalancer], 1);
    assert_eq!(delete.by_op[&Op::DeleteTargetGroup], 5);
    assert_eq!(delete.mutating, 6);
    assert_eq!(delete.total, 7, "one tag query, then the deletes: {delete}");
    assert!(owned(&provider).await.is_empty(), "nothing tagged is left");
    provider
        .delete(&desired[0].stack)
        .await
        .expect("delete again");
    assert_eq!(
        take_counts(&provider).mutating,
        0,
        "deleting an absent stack changes nothing"
    );
}
