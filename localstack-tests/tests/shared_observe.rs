//! What the long-running controller turns on to observe many stacks cheaply, against the
//! emulator: a cluster-wide tag listing with describes batched across stacks
//! (`with_shared_observe`), and the targets its last apply left (`with_target_memory`).

use std::time::Duration;

use localstack_tests::{Emulator, Fixture, Ingress, assert_converged, owned, take_counts};
use weir_model::Provider;
use weir_provider_aws::Op;

/// Three lone Ingresses, one Service each.
fn three_stacks() -> Fixture {
    let mut fixture = Fixture::default();
    for name in ["a", "b", "c"] {
        let service = format!("svc-{name}");
        fixture.ingresses.push(Ingress::new(
            name,
            &format!("{name}.example.com"),
            &[("/", service.as_str())],
        ));
        fixture
            .services
            .insert(service, vec!["10.0.1.10".into(), "10.0.2.10".into()]);
    }
    fixture
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_pass_shares_one_listing_and_describes_across_stacks() {
    let emulator = Emulator::start();
    let provider = emulator
        .provider("shared-observe", None)
        .await
        .with_shared_observe(Duration::from_secs(60));
    let mut fixture = three_stacks();
    let desired = fixture.desired();
    assert_eq!(desired.len(), 3);
    for stack in &desired {
        provider.ensure(stack).await.expect("create");
    }
    take_counts(&provider);

    // A pass after the cluster-wide listing (as a leader's first pass and every resync period
    // take it): no tag query per stack, one describe of each kind for the three stacks.
    assert_eq!(provider.owned_stacks().await.expect("listing").len(), 3);
    take_counts(&provider);
    for stack in &desired {
        provider.ensure(stack).await.expect("resync");
    }
    let pass = take_counts(&provider);
    println!("resync pass: {pass}");
    assert_eq!(pass.mutating, 0, "{pass}");
    assert_eq!(pass.by_op.get(&Op::GetResources), None, "{pass}");
    assert_eq!(pass.by_op[&Op::DescribeLoadBalancers], 1, "{pass}");
    assert_eq!(pass.by_op[&Op::DescribeTargetGroups], 1, "{pass}");
    // Targets are still described on every drift-repair reconcile.
    assert_eq!(pass.by_op[&Op::DescribeTargetHealth], 3, "{pass}");
    // Per stack alone it is 6: a tag query, 2 batched describes, listeners, rules, targets.
    assert_eq!(pass.total, 1 + 1 + 3 + 3 + 3, "{pass}");

    // A stack weir changes is observed on its own again until the next listing.
    fixture.services.get_mut("svc-a").expect("svc-a")[1] = "10.0.3.99".into();
    let changed = fixture.desired();
    provider.ensure(&changed[0]).await.expect("endpoint change");
    let change = take_counts(&provider);
    assert_eq!(change.mutating, 2, "{change}");
    provider.ensure(&changed[0]).await.expect("resync a");
    let after = take_counts(&provider);
    assert_eq!(after.mutating, 0, "{after}");
    assert_eq!(after.by_op[&Op::GetResources], 1, "{after}");
    assert_converged(&provider, &changed).await;

    for stack in &desired {
        provider.delete(&stack.stack).await.expect("delete");
    }
    assert!(owned(&provider).await.is_empty(), "nothing tagged is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_targets_spare_describe_target_health_until_they_expire() {
    let emulator = Emulator::start();
    let provider = emulator
        .provider("known-targets", None)
        .await
        .with_target_memory(Duration::from_secs(3));
    let mut fixture = Fixture::with_rules(20);
    let desired = fixture.desired();
    provider.ensure(&desired[0]).await.expect("create");
    take_counts(&provider);

    // Right after the apply, the five target groups' targets are known: 10 calls become 5.
    provider.ensure(&desired[0]).await.expect("resync");
    let resync = take_counts(&provider);
    assert_eq!(resync.mutating, 0, "{resync}");
    assert_eq!(
        resync.by_op.get(&Op::DescribeTargetHealth),
        None,
        "{resync}"
    );
    assert_eq!(resync.total, 5, "{resync}");

    // An endpoint change is planned from the known targets: the same two calls.
    fixture.services.get_mut("svc2").expect("svc2")[1] = "10.0.3.99".into();
    let changed = fixture.desired();
    provider.ensure(&changed[0]).await.expect("endpoint change");
    let endpoint = take_counts(&provider);
    assert_eq!(endpoint.mutating, 2, "{endpoint}");
    assert_eq!(endpoint.by_op[&Op::RegisterTargets], 1, "{endpoint}");
    assert_eq!(endpoint.by_op[&Op::DeregisterTargets], 1, "{endpoint}");
    assert_converged(&provider, &changed).await;
    take_counts(&provider);

    // Once they expire, they are described again (and still need nothing).
    tokio::time::sleep(Duration::from_secs(3)).await;
    provider
        .ensure(&changed[0])
        .await
        .expect("resync after expiry");
    let expired = take_counts(&provider);
    assert_eq!(expired.mutating, 0, "{expired}");
    assert_eq!(expired.by_op[&Op::DescribeTargetHealth], 5, "{expired}");

    provider.delete(&desired[0].stack).await.expect("delete");
    assert!(owned(&provider).await.is_empty(), "nothing tagged is left");
}
