//! The process dies after N API calls (a call budget that fails every later call, so nothing
//! after the Nth call happens): the next run converges with no duplicates and no leaks.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use localstack_tests::{Emulator, Fixture, Ingress, assert_converged, owned, self_signed};
use weir_model::DesiredLoadBalancer;

const BUDGETS: [u64; 9] = [1, 2, 4, 6, 9, 13, 18, 24, 31];

fn before() -> Fixture {
    let mut fixture = Fixture::with_rules(0);
    fixture.ingresses = vec![Ingress::new(
        "shop",
        "shop.example.com",
        &[
            ("/a", "svc0"),
            ("/b", "svc1"),
            ("/c", "svc2"),
            ("/d", "svc0"),
        ],
    )];
    fixture.ingresses[0].tls_secret = Some("shop-tls".into());
    fixture
        .secrets
        .insert("shop-tls".into(), self_signed("shop.example.com"));
    fixture
}

/// Every kind of change at once: a rule inserted first, one removed, one re-targeted, the
/// Secret rotated, endpoints churned, a second Ingress in its own stack.
fn after(before: &Fixture) -> Fixture {
    let mut fixture = before.clone();
    let paths = &mut fixture.ingresses[0].paths;
    paths.insert(0, ("/a/first".into(), "Prefix".into(), "svc3".into()));
    paths.remove(2);
    paths[2].2 = "svc4".into();
    fixture
        .secrets
        .insert("shop-tls".into(), self_signed("shop.example.com"));
    fixture.services.get_mut("svc0").expect("svc0")[0] = "10.0.9.9".into();
    fixture
        .ingresses
        .push(Ingress::new("blog", "blog.example.com", &[("/", "svc1")]));
    fixture
}

async fn converge_after_kill(
    emulator: &Emulator,
    cluster: &str,
    start: &[DesiredLoadBalancer],
    target: &[DesiredLoadBalancer],
    budget: u64,
) {
    let provider = emulator.provider(cluster, None).await;
    provider.reconcile_all(start).await.expect("start state");
    assert_converged(&provider, start).await;

    let limited = emulator
        .provider(cluster, Some(Arc::new(AtomicU64::new(budget))))
        .await;
    let _ = limited.reconcile_all(target).await;

    let outcomes = provider.reconcile_all(target).await.expect("next run");
    for outcome in &outcomes {
        assert!(outcome.result.is_ok(), "budget {budget}: {outcome:?}");
    }
    assert_converged(&provider, target).await;
    let everything = owned(&provider).await;
    for stack in target {
        let imports = usize::from(!stack.certificates.is_empty());
        assert_eq!(
            everything
                .certificates
                .get(&stack.stack.to_string())
                .copied()
                .unwrap_or(0),
            imports,
            "budget {budget}: {everything:?}"
        );
    }
    provider.reconcile_all(&[]).await.expect("clean up");
    assert!(owned(&provider).await.is_empty(), "budget {budget}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_creating() {
    let emulator = Emulator::start();
    let target = before().desired();
    for budget in BUDGETS {
        converge_after_kill(&emulator, &format!("create-{budget}"), &[], &target, budget).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_updating() {
    let emulator = Emulator::start();
    let start = before();
    let target = after(&start).desired();
    let start = start.desired();
    for budget in BUDGETS {
        converge_after_kill(
            &emulator,
            &format!("update-{budget}"),
            &start,
            &target,
            budget,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_deleting() {
    let emulator = Emulator::start();
    let start = after(&before()).desired();
    for budget in [1, 2, 3, 5, 8] {
        converge_after_kill(&emulator, &format!("delete-{budget}"), &start, &[], budget).await;
    }
}
