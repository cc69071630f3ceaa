//! The RBAC of `deploy/base`, enforced by a real kube-apiserver against the ServiceAccounts' own
//! tokens (TokenRequest, no impersonation): every call the controller needs is allowed, and
//! everything else answers 403.

mod common;

use std::path::Path;

use common::{allowed, assert_forbidden, ingress_with_service, namespace, start, step};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    Event as CoreEvent, Namespace, ObjectReference, Pod, Secret, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use serde_json::json;
use weir_e2e::ApiServer;

const NS: &str = "weir-system";

/// A server with `deploy/base` applied and an Ingress `shop/web` (with its Service).
async fn installed() -> ApiServer {
    let server = start().await;
    server.install_base();
    let admin = server.admin_client();
    namespace(&admin, "shop").await;
    ingress_with_service(&admin, "shop", "web").await;
    server
}

fn lease(name: &str, holder: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(Timestamp::now())),
            ..LeaseSpec::default()
        }),
    }
}

fn endpoint_slices_v1beta1() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("discovery.k8s.io", "v1beta1", "EndpointSlice"),
        "endpointslices",
    )
}

/// `kubectl auth can-i VERB RESOURCE [-n NS | -A]` as the identity of `kubeconfig`.
fn can_i(kubeconfig: &Path, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let scope = match namespace {
        Some(namespace) => vec!["-n", namespace],
        None => vec!["--all-namespaces"],
    };
    let mut args = vec!["auth", "can-i", verb, resource];
    args.extend(scope);
    let output = weir_e2e::kubectl(kubeconfig, args, None);
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        answer == "yes" || answer == "no",
        "kubectl auth can-i {verb} {resource}: {answer:?} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    answer == "yes"
}

#[tokio::test]
async fn controller_reads_and_watches_cluster_wide() {
    let server = installed().await;
    let sa = server.service_account_client(NS, "weir-controller").await;
    let admin = server.admin_client();

    let ingresses = allowed(
        "list ingresses",
        step(
            "list",
            Api::<Ingress>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    assert_eq!(ingresses.items.len(), 1);
    allowed(
        "get ingress",
        step(
            "get",
            Api::<Ingress>::namespaced(sa.clone(), "shop").get("web"),
        )
        .await,
    );
    let classes = allowed(
        "list ingressclasses",
        step(
            "classes",
            Api::<IngressClass>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    assert_eq!(classes.items.len(), 2, "the base's two IngressClasses");
    allowed(
        "list services",
        step(
            "services",
            Api::<Service>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    allowed(
        "list secrets",
        step(
            "secrets",
            Api::<Secret>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    let slices = Api::<DynamicObject>::all_with(sa.clone(), &endpoint_slices_v1beta1());
    allowed(
        "list endpointslices",
        step("slices", slices.list(&ListParams::default())).await,
    );
    // Gateway listeners select routes by their Namespace's labels: list and watch, no get.
    allowed(
        "list namespaces",
        step(
            "namespaces",
            Api::<Namespace>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    assert_forbidden(
        "get a namespace",
        step("namespace", Api::<Namespace>::all(sa.clone()).get("shop")).await,
    );
    assert_forbidden(
        "patch a namespace",
        step(
            "namespace",
            Api::<Namespace>::all(sa.clone()).patch(
                "shop",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"taken": "yes"}}})),
            ),
        )
        .await,
    );

    // The watcher the controller runs (list, then watch; no streaming lists on 1.20) sees an
    // Ingress created later in a namespace that did not exist when it started.
    let stream = watcher(Api::<Ingress>::all(sa.clone()), watcher::Config::default());
    let mut stream = std::pin::pin!(stream);
    loop {
        match step("watch init", stream.next()).await {
            Some(Ok(watcher::Event::InitDone)) => break,
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("watching ingresses as weir-controller: {error}"),
            None => panic!("the watch ended"),
        }
    }
    namespace(&admin, "late").await;
    ingress_with_service(&admin, "late", "api").await;
    loop {
        match step("watch event", stream.next()).await {
            Some(Ok(watcher::Event::Apply(ingress)))
                if ingress.metadata.name.as_deref() == Some("api") =>
            {
                assert_eq!(ingress.metadata.namespace.as_deref(), Some("late"));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("watching ingresses as weir-controller: {error}"),
            None => panic!("the watch ended"),
        }
    }
}

#[tokio::test]
async fn controller_writes_finalizers_status_events_and_its_lease() {
    let server = installed().await;
    let sa = server.service_account_client(NS, "weir-controller").await;
    let ingresses = Api::<Ingress>::namespaced(sa.clone(), "shop");

    let finalizer = json!({ "metadata": { "finalizers": ["weir.dev/cleanup"] } });
    let patched = allowed(
        "patch ingress finalizers",
        step(
            "finalizer",
            ingresses.patch("web", &PatchParams::default(), &Patch::Merge(&finalizer)),
        )
        .await,
    );
    assert_eq!(
        patched.metadata.finalizers,
        Some(vec!["weir.dev/cleanup".to_owned()])
    );
    let status = json!({ "status": { "loadBalancer": { "ingress": [{ "ip": "192.0.2.10" }] } } });
    let patched = allowed(
        "patch ingresses/status",
        step(
            "status",
            ingresses.patch_status("web", &PatchParams::default(), &Patch::Merge(&status)),
        )
        .await,
    );
    assert!(
        patched
            .status
            .is_some_and(|status| status.load_balancer.is_some())
    );
    // Update (PUT) of the object and of its status, as a finalizer helper may do.
    let mut current = allowed("get", step("get", ingresses.get("web")).await);
    current.metadata.finalizers = None;
    let current = allowed(
        "update ingress",
        step(
            "update",
            ingresses.replace("web", &PostParams::default(), &current),
        )
        .await,
    );
    allowed(
        "update ingresses/status",
        step(
            "update status",
            ingresses.replace_status("web", &PostParams::default(), &current),
        )
        .await,
    );

    // events.k8s.io/v1 through kube-rs's Recorder (create, then patch of the series) ...
    let reference = current.object_ref(&());
    let recorder = Recorder::new(
        sa.clone(),
        Reporter {
            controller: "weir-controller".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Synced".into(),
        note: Some("stack class:weir is up to date".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    allowed(
        "create events.k8s.io Event",
        step("event", recorder.publish(&event, &reference)).await,
    );
    allowed(
        "patch events.k8s.io Event",
        step("event again", recorder.publish(&event, &reference)).await,
    );
    // ... and a core v1 Event.
    let core_event = CoreEvent {
        metadata: ObjectMeta {
            generate_name: Some("web.".to_owned()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            kind: Some("Ingress".into()),
            namespace: Some("shop".into()),
            name: Some("web".into()),
            ..ObjectReference::default()
        },
        reason: Some("Synced".into()),
        message: Some("stack class:weir is up to date".into()),
        type_: Some("Normal".into()),
        ..CoreEvent::default()
    };
    allowed(
        "create core Event",
        step(
            "core event",
            Api::<CoreEvent>::namespaced(sa.clone(), "shop")
                .create(&PostParams::default(), &core_event),
        )
        .await,
    );

    // Its leader-election Lease in weir-system: create, get, update (renew), patch.
    let leases = Api::<Lease>::namespaced(sa.clone(), NS);
    allowed(
        "create Lease",
        step(
            "lease",
            leases.create(&PostParams::default(), &lease("weir-controller", "pod-a")),
        )
        .await,
    );
    let mut held = allowed(
        "get Lease",
        step("get lease", leases.get("weir-controller")).await,
    );
    if let Some(spec) = held.spec.as_mut() {
        spec.renew_time = Some(MicroTime(Timestamp::now()));
    }
    allowed(
        "update Lease",
        step(
            "renew",
            leases.replace("weir-controller", &PostParams::default(), &held),
        )
        .await,
    );
    let takeover = json!({ "spec": { "holderIdentity": "pod-b" } });
    let taken = allowed(
        "patch Lease",
        step(
            "takeover",
            leases.patch(
                "weir-controller",
                &PatchParams::default(),
                &Patch::Merge(&takeover),
            ),
        )
        .await,
    );
    assert_eq!(
        taken.spec.and_then(|spec| spec.holder_identity).as_deref(),
        Some("pod-b")
    );
}

#[tokio::test]
async fn controller_is_denied_everything_else() {
    let server = installed().await;
    let kubeconfig = server.service_account_kubeconfig(NS, "weir-controller");
    let sa = weir_e2e::client_from_kubeconfig(&kubeconfig)
        .await
        .expect("a client");
    let post = PostParams::default();

    let secret: Secret = serde_json::from_value(json!({
        "metadata": { "name": "stolen", "namespace": "shop" },
        "stringData": { "key": "value" }
    }))
    .expect("a Secret");
    assert_forbidden(
        "create Secret",
        step(
            "secret",
            Api::<Secret>::namespaced(sa.clone(), "shop").create(&post, &secret),
        )
        .await,
    );
    assert_forbidden(
        "delete a Secret outside weir-system",
        step(
            "secret",
            Api::<Secret>::namespaced(sa.clone(), "shop").delete("web", &DeleteParams::default()),
        )
        .await,
    );
    let ingresses = Api::<Ingress>::namespaced(sa.clone(), "shop");
    assert_forbidden(
        "delete Ingress",
        step("delete", ingresses.delete("web", &DeleteParams::default())).await,
    );
    let mut ingress = server_ingress(&server).await;
    ingress.metadata.resource_version = None;
    ingress.metadata.name = Some("new".to_owned());
    assert_forbidden(
        "create Ingress",
        step("create", ingresses.create(&post, &ingress)).await,
    );
    assert_forbidden(
        "list pods",
        step(
            "pods",
            Api::<Pod>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    assert_forbidden(
        "list pods in weir-system",
        step(
            "pods",
            Api::<Pod>::namespaced(sa.clone(), NS).list(&ListParams::default()),
        )
        .await,
    );
    assert_forbidden(
        "create Lease outside weir-system",
        step(
            "lease",
            Api::<Lease>::namespaced(sa.clone(), "default")
                .create(&post, &lease("weir-controller", "pod-a")),
        )
        .await,
    );
    assert_forbidden(
        "list Leases in weir-system",
        step(
            "leases",
            Api::<Lease>::namespaced(sa.clone(), NS).list(&ListParams::default()),
        )
        .await,
    );
    let services = Api::<Service>::namespaced(sa.clone(), "shop");
    let service = allowed("get Service", step("service", services.get("web")).await);
    assert_forbidden(
        "update Service",
        step("update", services.replace("web", &post, &service)).await,
    );
    let label = json!({ "metadata": { "labels": { "weir": "was-here" } } });
    assert_forbidden(
        "patch Service",
        step(
            "patch",
            services.patch("web", &PatchParams::default(), &Patch::Merge(&label)),
        )
        .await,
    );
    assert_forbidden(
        "delete IngressClass",
        step(
            "class",
            Api::<IngressClass>::all(sa.clone()).delete("weir", &DeleteParams::default()),
        )
        .await,
    );

    // The same answers from the authorizer's own view, for the identity of the token.
    for (verb, resource, namespace, expected) in [
        ("watch", "ingresses.networking.k8s.io", None, true),
        (
            "patch",
            "ingresses.networking.k8s.io/status",
            Some("shop"),
            true,
        ),
        ("create", "events.events.k8s.io", Some("shop"), true),
        ("update", "leases.coordination.k8s.io", Some(NS), true),
        ("delete", "ingresses.networking.k8s.io", None, false),
        ("delete", "leases.coordination.k8s.io", Some(NS), false),
        (
            "create",
            "leases.coordination.k8s.io",
            Some("default"),
            false,
        ),
        ("create", "secrets", None, false),
        ("create", "secrets", Some("shop"), false),
        ("delete", "secrets", Some("default"), false),
        ("delete", "secrets", Some(NS), true),
        ("update", "services", None, false),
        ("list", "pods", None, false),
        ("create", "ingresses.networking.k8s.io", None, false),
        ("update", "ingressclasses.networking.k8s.io", None, false),
        ("list", "configmaps", None, false),
    ] {
        assert_eq!(
            can_i(&kubeconfig, verb, resource, namespace),
            expected,
            "kubectl auth can-i {verb} {resource} (namespace {namespace:?})"
        );
    }
}

#[tokio::test]
async fn proxy_reads_only_its_snapshot_secrets() {
    let server = installed().await;
    let admin = server.admin_client();
    let post = PostParams::default();
    // What the controller publishes (it may create, patch and delete Secrets in weir-system),
    // and Secrets the proxy must never read: one beside it, one in the application namespace.
    let controller = server.service_account_client(NS, "weir-controller").await;
    let snapshots = Api::<Secret>::namespaced(controller.clone(), NS);
    let snapshot = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "weir-snapshot-weir" },
        "type": "weir.dev/snapshot",
        "data": { "snapshot": "e30=" }
    });
    allowed(
        "controller applies a snapshot Secret",
        step(
            "apply",
            snapshots.patch(
                "weir-snapshot-weir",
                &PatchParams::apply("weir-controller").force(),
                &Patch::Apply(&snapshot),
            ),
        )
        .await,
    );
    allowed(
        "controller applies a snapshot part",
        step(
            "apply",
            snapshots.patch(
                "weir-snapshot-weir-endpoints-3",
                &PatchParams::apply("weir-controller").force(),
                &Patch::Apply(&json!({
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": { "name": "weir-snapshot-weir-endpoints-3" },
                    "type": "weir.dev/snapshot",
                })),
            ),
        )
        .await,
    );
    allowed(
        "controller deletes a snapshot part",
        step(
            "delete",
            snapshots.delete("weir-snapshot-weir-endpoints-3", &DeleteParams::default()),
        )
        .await,
    );
    assert_forbidden(
        "controller applies a Secret outside weir-system",
        step(
            "apply",
            Api::<Secret>::namespaced(controller.clone(), "shop").patch(
                "weir-snapshot-weir",
                &PatchParams::apply("weir-controller").force(),
                &Patch::Apply(&snapshot),
            ),
        )
        .await,
    );
    let other: Secret = serde_json::from_value(json!({
        "metadata": { "name": "other" },
        "stringData": { "password": "hunter2" }
    }))
    .expect("a Secret");
    for namespace in [NS, "shop"] {
        step(
            "create",
            Api::<Secret>::namespaced(admin.clone(), namespace).create(&post, &other),
        )
        .await
        .expect("the admin creates a Secret");
    }

    let kubeconfig = server.service_account_kubeconfig(NS, "weir-proxy");
    let sa = weir_e2e::client_from_kubeconfig(&kubeconfig)
        .await
        .expect("a client");
    let mine = Api::<Secret>::namespaced(sa.clone(), NS);
    allowed(
        "proxy gets its index",
        step("get", mine.get("weir-snapshot-weir")).await,
    );
    let by_name = ListParams::default().fields("metadata.name=weir-snapshot-weir");
    let listed = allowed(
        "proxy lists its index by name",
        step("list", mine.list(&by_name)).await,
    );
    assert_eq!(listed.items.len(), 1);
    // The watch the proxy runs: list then watch by field selector, allowed by resourceNames.
    let config = watcher::Config::default().fields("metadata.name=weir-snapshot-weir");
    let mut watch = watcher::watcher(mine.clone(), config).boxed();
    let mut found = 0;
    loop {
        match step("watch", watch.next()).await {
            Some(Ok(watcher::Event::InitApply(_))) => found += 1,
            Some(Ok(watcher::Event::InitDone)) => break,
            Some(Ok(_)) => {}
            other => panic!("the proxy's watch of its index: {other:?}"),
        }
    }
    assert_eq!(found, 1);
    allowed(
        "proxy gets an absent part of its own (404, not 403)",
        step("get", mine.get_opt("weir-snapshot-weir-routes-0")).await,
    );

    assert_forbidden(
        "proxy gets another Secret in weir-system",
        step("get", mine.get("other")).await,
    );
    assert_forbidden(
        "proxy gets a Secret in an application namespace",
        step(
            "get",
            Api::<Secret>::namespaced(sa.clone(), "shop").get("other"),
        )
        .await,
    );
    assert_forbidden(
        "proxy gets a snapshot-named Secret outside weir-system",
        step(
            "get",
            Api::<Secret>::namespaced(sa.clone(), "shop").get("weir-snapshot-weir"),
        )
        .await,
    );
    assert_forbidden(
        "proxy lists another Secret by name",
        step(
            "list",
            mine.list(&ListParams::default().fields("metadata.name=other")),
        )
        .await,
    );
    assert_forbidden(
        "list secrets in weir-system",
        step("secrets", mine.list(&ListParams::default())).await,
    );
    assert_forbidden(
        "list secrets",
        step(
            "secrets",
            Api::<Secret>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    assert_forbidden(
        "proxy writes its own index",
        step(
            "apply",
            mine.patch(
                "weir-snapshot-weir",
                &PatchParams::apply("weir-proxy").force(),
                &Patch::Apply(&snapshot),
            ),
        )
        .await,
    );
    assert_forbidden(
        "list ingresses",
        step(
            "ingresses",
            Api::<Ingress>::all(sa.clone()).list(&ListParams::default()),
        )
        .await,
    );
    assert!(!can_i(&kubeconfig, "list", "secrets", Some(NS)));
    assert!(!can_i(&kubeconfig, "get", "secrets", Some("shop")));
    assert!(!can_i(&kubeconfig, "delete", "secrets", Some(NS)));
    assert!(!can_i(
        &kubeconfig,
        "list",
        "endpointslices.discovery.k8s.io",
        None
    ));
}

/// Ingress `shop/web` as the admin sees it.
async fn server_ingress(server: &ApiServer) -> Ingress {
    step(
        "admin get",
        Api::<Ingress>::namespaced(server.admin_client(), "shop").get("web"),
    )
    .await
    .expect("the admin reads shop/web")
}
