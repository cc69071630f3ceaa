//! Leader change with the localproxy provider: two `weir-controller run --provider localproxy`
//! processes and two `weir-proxy --from-cluster` under keep-alive load on a real
//! kube-apiserver. The leader is killed with SIGKILL; the standby takes the Lease, its first
//! pass publishes nothing (every part has the hash it would write: no Secret's resourceVersion
//! moves), it then serves the next change, and no request fails throughout.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cluster::{PATIENCE, eventually, free_port, get};
use common::localproxy::{
    Process, keep_alive_load, metric, served, shop_objects, start_backend, start_controller,
    start_proxy,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use weir_e2e::ApiServer;

fn holder(server: &ApiServer) -> String {
    let output = server.kubectl([
        "get",
        "lease",
        "-n",
        "weir-system",
        "weir-controller-localproxy",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The resourceVersion of every snapshot Secret, by name.
async fn versions(secrets: &Api<Secret>) -> BTreeMap<String, String> {
    secrets
        .list(&ListParams::default().labels("weir.dev/snapshot-of"))
        .await
        .expect("listing the snapshot Secrets")
        .items
        .into_iter()
        .map(|secret| {
            (
                secret.metadata.name.unwrap_or_default(),
                secret.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect()
}

/// The names whose resourceVersion differs between `before` and `after` (or that exist in
/// only one of them).
fn moved(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let names: BTreeSet<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|name| before.get(*name) != after.get(*name))
        .collect();
    names.into_iter().cloned().collect()
}

struct Controller {
    process: Process,
    admin: u16,
}

#[tokio::test]
async fn a_killed_leader_is_replaced_without_a_failed_request_or_a_rewritten_part() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server.install_base();
    let (web, _web) = start_backend(&server, "web");
    let (cart, _cart) = start_backend(&server, "cart");
    let (spare, _spare) = start_backend(&server, "spare");
    server.apply_yaml(&shop_objects(web, cart));
    let mut controllers: BTreeMap<String, Controller> = ["a", "b"]
        .into_iter()
        .map(|identity| {
            let admin = free_port();
            let process = start_controller(&server, identity, admin);
            (identity.to_owned(), Controller { process, admin })
        })
        .collect();
    let leader = eventually("a leader", || async {
        match holder(&server) {
            holder if controllers.contains_key(&holder) => Ok(holder),
            other => Err(format!("holder {other:?}")),
        }
    })
    .await;
    let standby = if leader == "a" { "b" } else { "a" }.to_owned();
    let proxies = vec![start_proxy(&server, 0).await, start_proxy(&server, 1).await];
    for proxy in &proxies {
        eventually("the shop is served", || async {
            let got = served(proxy.http, "shop.example.com", "/");
            (got == "web").then_some(()).ok_or(got)
        })
        .await;
    }
    let standby_admin = controllers[&standby].admin;
    eventually("the standby's caches are synced", || async {
        match get(standby_admin, "admin", "/readyz") {
            Some((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = proxies
        .iter()
        .flat_map(|proxy| (0..3).map(|_| keep_alive_load(proxy.http, Arc::clone(&stop))))
        .collect();
    let secrets = Api::<Secret>::namespaced(server.admin_client(), "weir-system");
    let before = versions(&secrets).await;
    assert!(
        before.contains_key("weir-snapshot-weir"),
        "a published index: {before:?}"
    );

    // SIGKILL, as a node failure would.
    if let Some(mut killed) = controllers.remove(&leader) {
        let _ = killed.process.child.kill();
        let _ = killed.process.child.wait();
    }
    let killed_at = Instant::now();
    let takeover = eventually("the standby takes the Lease", || async {
        match holder(&server) {
            holder if holder == standby => Ok(killed_at.elapsed()),
            other => Err(format!("holder {other:?}")),
        }
    })
    .await;
    // Its first pass reconciles the stack: it lists the snapshot and writes nothing.
    let first_pass = eventually("the new leader's first pass", || async {
        let ok = metric(standby_admin, "weir_reconciles_total{result=\"ok\"}").unwrap_or(0.0);
        let lists = metric(
            standby_admin,
            "weir_provider_api_calls_total{operation=\"list\"}",
        )
        .unwrap_or(0.0);
        (ok >= 1.0 && lists >= 1.0)
            .then(|| killed_at.elapsed())
            .ok_or(format!("{ok} reconciles, {lists} lists"))
    })
    .await;
    let puts = metric(
        standby_admin,
        "weir_provider_api_calls_total{operation=\"put\"}",
    );
    assert_eq!(puts.unwrap_or(0.0), 0.0, "the first pass rewrote a part");
    let after_takeover = versions(&secrets).await;
    assert_eq!(
        moved(&before, &after_takeover),
        Vec::<String>::new(),
        "no snapshot Secret is written by the new leader's first pass"
    );

    // The new leader serves the next change: an endpoint move rewrites its bucket and the
    // index, and nothing else.
    let slices: Api<DynamicObject> = Api::namespaced_with(
        server.admin_client(),
        "shop",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("discovery.k8s.io", "v1beta1", "EndpointSlice"),
            "endpointslices",
        ),
    );
    slices
        .patch(
            "web-1",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "ports": [{ "port": spare }] })),
        )
        .await
        .expect("patching the EndpointSlice");
    for proxy in &proxies {
        eventually("the new leader's endpoint change is served", || async {
            let got = served(proxy.http, "shop.example.com", "/");
            (got == "spare").then_some(()).ok_or(got)
        })
        .await;
    }
    let after_change = versions(&secrets).await;
    let rewritten = moved(&after_takeover, &after_change);
    assert_eq!(rewritten.len(), 2, "{rewritten:?}");
    assert!(
        rewritten.contains(&"weir-snapshot-weir".to_owned())
            && rewritten
                .iter()
                .any(|name| name.starts_with("weir-snapshot-weir-endpoints-")),
        "{rewritten:?}"
    );

    // A little more load after the change, then count.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut failures) = (0u64, Vec::new());
    for thread in load {
        let (count, failed) = thread.join().expect("a load thread");
        ok += count;
        failures.extend(failed);
    }
    eprintln!(
        "leader {leader} killed: {standby} took the Lease after {:.1} s, first pass done after {:.1} s; \
         {ok} keep-alive requests answered 200, {} failed",
        takeover.as_secs_f64(),
        first_pass.as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    assert!(ok > 0);
    assert!(takeover < PATIENCE);
}
