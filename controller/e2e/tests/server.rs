//! What the real kube-apiserver v1.20.2 serves, and does not, as weir's controller meets it
//! through kube-rs 5 and k8s-openapi 0.29: Ingress v1 with status and finalizers, EndpointSlice
//! only as `discovery.k8s.io/v1beta1`, Lease v1, events.k8s.io/v1 Events, server-side apply.

mod common;

use common::{ingress_with_service, start, step};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};
use k8s_openapi::api::events::v1::Event as EventV1;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::json;

/// The versions the server offers for API group `name`.
fn group_versions(
    groups: &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList,
    name: &str,
) -> Vec<String> {
    groups
        .groups
        .iter()
        .find(|group| group.name == name)
        .map(|group| group.versions.iter().map(|v| v.version.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn discovery_shows_the_1_20_api_surface() {
    let server = start().await;
    let client = server.admin_client();

    let version = step("version", client.apiserver_version())
        .await
        .expect("/version");
    assert_eq!(version.git_version, weir_e2e::KUBE_VERSION);

    let groups = step("groups", client.list_api_groups())
        .await
        .expect("/apis");
    assert!(group_versions(&groups, "networking.k8s.io").contains(&"v1".to_owned()));
    assert!(group_versions(&groups, "coordination.k8s.io").contains(&"v1".to_owned()));
    assert!(group_versions(&groups, "events.k8s.io").contains(&"v1".to_owned()));
    // The gap weir must bridge: no discovery.k8s.io/v1 before Kubernetes 1.21.
    assert_eq!(group_versions(&groups, "discovery.k8s.io"), ["v1beta1"]);

    let networking = step(
        "networking",
        client.list_api_group_resources("networking.k8s.io/v1"),
    )
    .await
    .expect("networking.k8s.io/v1");
    let names: Vec<&str> = networking
        .resources
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    for wanted in ["ingresses", "ingresses/status", "ingressclasses"] {
        assert!(
            names.contains(&wanted),
            "networking.k8s.io/v1 lacks {wanted}: {names:?}"
        );
    }
    let discovery = step(
        "discovery",
        client.list_api_group_resources("discovery.k8s.io/v1beta1"),
    )
    .await
    .expect("discovery.k8s.io/v1beta1");
    assert!(
        discovery
            .resources
            .iter()
            .any(|r| r.name == "endpointslices")
    );

    // The typed v1 EndpointSlice API answers 404, the reason weir reads v1beta1 on such servers.
    let v1_slices = Api::<EndpointSlice>::all(client.clone());
    match step("v1 slices", v1_slices.list(&ListParams::default())).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 404, "{status:?}"),
        other => panic!("discovery.k8s.io/v1 EndpointSlices: expected 404, got {other:?}"),
    }

    // kubectl (v1.32) works against it, as the README's local-server recipe needs.
    let output = server.kubectl([
        "api-resources",
        "--api-group=networking.k8s.io",
        "-o",
        "name",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = String::from_utf8_lossy(&output.stdout);
    assert!(
        listed
            .lines()
            .any(|line| line == "ingresses.networking.k8s.io"),
        "{listed}"
    );
    let output = server.kubectl(["get", "namespaces", "-o", "name"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("namespace/default"));
}

#[tokio::test]
async fn stores_the_objects_weir_reads_and_writes() {
    let server = start().await;
    let client = server.admin_client();

    // IngressClass and Ingress v1, through the typed k8s-openapi 0.29 structs.
    let classes = Api::<IngressClass>::all(client.clone());
    let class: IngressClass = serde_json::from_value(json!({
        "metadata": { "name": "weir" },
        "spec": { "controller": "weir.dev/localproxy" }
    }))
    .expect("an IngressClass");
    step("class", classes.create(&PostParams::default(), &class))
        .await
        .expect("IngressClass v1");
    let created = ingress_with_service(&client, "default", "web").await;
    assert_eq!(
        created
            .spec
            .clone()
            .and_then(|spec| spec.ingress_class_name)
            .as_deref(),
        Some("weir")
    );
    let ingresses = Api::<Ingress>::namespaced(client.clone(), "default");

    // The status subresource: a status patch lands; a spec change through it does not.
    let status = json!({
        "spec": { "ingressClassName": "other" },
        "status": { "loadBalancer": { "ingress": [{ "hostname": "lb.example.com" }] } }
    });
    let patched = step(
        "status",
        ingresses.patch_status("web", &PatchParams::default(), &Patch::Merge(&status)),
    )
    .await
    .expect("patch ingresses/status");
    let hostname = patched
        .status
        .and_then(|status| status.load_balancer)
        .and_then(|lb| lb.ingress)
        .and_then(|mut list| list.pop())
        .and_then(|entry| entry.hostname);
    assert_eq!(hostname.as_deref(), Some("lb.example.com"));
    assert_eq!(
        patched
            .spec
            .and_then(|spec| spec.ingress_class_name)
            .as_deref(),
        Some("weir")
    );

    // Server-side apply (beta, on by default in 1.20) records weir as a field manager.
    let applied = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": { "name": "web", "annotations": { "weir.dev/applied": "yes" } }
    });
    let applied = step(
        "apply",
        ingresses.patch(
            "web",
            &PatchParams::apply("weir-e2e"),
            &Patch::Apply(&applied),
        ),
    )
    .await
    .expect("server-side apply");
    let managers: Vec<_> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|entry| {
            (
                entry.manager.unwrap_or_default(),
                entry.operation.unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("weir-e2e".to_owned(), "Apply".to_owned())),
        "{managers:?}"
    );

    // Finalizers hold a deleted Ingress until they are removed.
    let finalizer = json!({ "metadata": { "finalizers": ["weir.dev/cleanup"] } });
    step(
        "finalizer",
        ingresses.patch("web", &PatchParams::default(), &Patch::Merge(&finalizer)),
    )
    .await
    .expect("add finalizer");
    step("delete", ingresses.delete("web", &DeleteParams::default()))
        .await
        .expect("delete");
    let held = step("get", ingresses.get("web"))
        .await
        .expect("still there");
    assert!(held.metadata.deletion_timestamp.is_some());
    let cleared = json!({ "metadata": { "finalizers": null } });
    step(
        "clear",
        ingresses.patch("web", &PatchParams::default(), &Patch::Merge(&cleared)),
    )
    .await
    .expect("remove finalizer");
    assert!(
        step("gone", ingresses.get_opt("web"))
            .await
            .expect("get_opt")
            .is_none()
    );

    // EndpointSlice v1beta1 through DynamicObject, its endpoints and ports read as the v1 structs.
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("discovery.k8s.io", "v1beta1", "EndpointSlice"),
        "endpointslices",
    );
    let slices = Api::<DynamicObject>::namespaced_with(client.clone(), "default", &resource);
    let slice = DynamicObject::new("web-1", &resource)
        .within("default")
        .data(json!({
            "addressType": "IPv4",
            "endpoints": [
                { "addresses": ["10.1.0.1"], "conditions": { "ready": true },
                  "topology": { "topology.kubernetes.io/zone": "zone-a" } },
                { "addresses": ["10.1.0.2"], "conditions": { "ready": false } }
            ],
            "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }]
        }));
    let mut slice = slice;
    slice.metadata.labels =
        Some([("kubernetes.io/service-name".to_owned(), "web".to_owned())].into());
    step("slice", slices.create(&PostParams::default(), &slice))
        .await
        .expect("create v1beta1 slice");
    let listed = step(
        "slices",
        slices.list(&ListParams::default().labels("kubernetes.io/service-name=web")),
    )
    .await
    .expect("list v1beta1 slices");
    assert_eq!(listed.items.len(), 1);
    let stored = &listed.items[0].data;
    let endpoints: Vec<Endpoint> =
        serde_json::from_value(stored["endpoints"].clone()).expect("v1 Endpoints");
    let ports: Vec<EndpointPort> =
        serde_json::from_value(stored["ports"].clone()).expect("v1 EndpointPorts");
    let ready: Vec<_> = endpoints
        .iter()
        .filter(|endpoint| endpoint.conditions.as_ref().and_then(|c| c.ready) == Some(true))
        .map(|endpoint| endpoint.addresses.clone())
        .collect();
    assert_eq!(ready, [vec!["10.1.0.1".to_owned()]]);
    assert_eq!(ports[0].port, Some(8080));

    // Lease v1: create, then renew with the resourceVersion it was read at.
    let leases = Api::<Lease>::namespaced(client.clone(), "default");
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("weir-controller".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("pod-a".to_owned()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(Timestamp::now())),
            ..LeaseSpec::default()
        }),
    };
    let mut lease = step("lease", leases.create(&PostParams::default(), &lease))
        .await
        .expect("create Lease");
    if let Some(spec) = lease.spec.as_mut() {
        spec.renew_time = Some(MicroTime(Timestamp::now()));
    }
    let renewed = step(
        "renew",
        leases.replace("weir-controller", &PostParams::default(), &lease),
    )
    .await
    .expect("update Lease");
    assert_ne!(
        renewed.metadata.resource_version,
        lease.metadata.resource_version
    );

    // events.k8s.io/v1 Events, written the way the controller will write them.
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "weir-controller".into(),
            instance: None,
        },
    );
    let reference = created.object_ref(&());
    let event = Event {
        type_: EventType::Warning,
        reason: "ServiceNotFound".into(),
        note: Some("Service default/missing not found; the route answers 503".into()),
        action: "Translate".into(),
        secondary: None,
    };
    step("event", recorder.publish(&event, &reference))
        .await
        .expect("publish an events.k8s.io/v1 Event");
    step("event again", recorder.publish(&event, &reference))
        .await
        .expect("publish it again (a series)");
    let events = step(
        "events",
        Api::<EventV1>::namespaced(client, "default").list(&ListParams::default()),
    )
    .await
    .expect("list Events");
    let ours: Vec<_> = events
        .items
        .iter()
        .filter(|event| event.reason.as_deref() == Some("ServiceNotFound"))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(
        ours[0].reporting_controller.as_deref(),
        Some("weir-controller")
    );
}
