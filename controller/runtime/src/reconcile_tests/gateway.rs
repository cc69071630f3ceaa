//! A Gateway stack's reconcile against the scripted API server: the finalizer on the Gateway
//! before the provider, then the Gateway's status, the route's status (another controller's
//! entry kept) and one Synced Event; an unchanged stack writes nothing the second time; a
//! deleted Gateway's stack is deleted before the finalizer goes.

use serde_json::{Value, json};
use weir_index::FINALIZER;
use weir_model::StackId;
use weir_translate::{GatewayApiObject, KubeObject};

use super::harness::*;

const GATEWAYS: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/shop/gateways";
const ROUTES: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes";

fn gateway_stack() -> StackId {
    StackId::Gateway {
        namespace: NS.into(),
        name: "front".into(),
    }
}

fn gateway(resource_version: &str, extra: Value) -> Value {
    let mut value = json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "front", "namespace": NS, "uid": "gw-uid", "generation": 2,
                     "resourceVersion": resource_version},
        "spec": {"gatewayClassName": "weir-alb",
                 "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}
    });
    merge(&mut value, extra);
    value
}

fn route(resource_version: &str, status: Value) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "store", "namespace": NS, "uid": "route-uid", "generation": 4,
                     "resourceVersion": resource_version},
        "spec": {"parentRefs": [{"name": "front"}], "hostnames": ["shop.example.com"],
                 "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]},
        "status": status
    })
}

fn foreign() -> Value {
    json!({"parentRef": {"name": "front", "namespace": NS}, "controllerName": "example.com/other",
           "conditions": []})
}

fn gateway_api(value: Value) -> KubeObject {
    let object = match value["kind"].as_str() {
        Some("Gateway") => GatewayApiObject::Gateway(object(value)),
        Some("HTTPRoute") => GatewayApiObject::HttpRoute(object(value)),
        _ => GatewayApiObject::GatewayClass(object(value)),
    };
    KubeObject::GatewayApi(object)
}

fn setup(test: &Test) {
    test.apply(gateway_api(json!({
        "kind": "GatewayClass", "metadata": {"name": "weir-alb", "generation": 1},
        "spec": {"controllerName": "weir.dev/aws-alb"}
    })));
    test.apply(service("web"));
    test.apply(gateway_api(gateway("5", json!({}))));
    test.apply(gateway_api(route("3", json!({"parents": [foreign()]}))));
}

#[tokio::test]
async fn a_gateway_gets_the_finalizer_then_its_status_and_its_routes_status_once() {
    within(async {
        let held = gateway("6", json!({"metadata": {"finalizers": [FINALIZER]}}));
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{GATEWAYS}/front?"),
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "5"}}),
                    held.clone(),
                ),
                Step::patch_containing(
                    &format!("{GATEWAYS}/front/status?"),
                    json!({"status": {
                        "addresses": [{"type": "Hostname", "value": HOSTNAME}],
                        "conditions": null, "listeners": null,
                    }}),
                    held.clone(),
                ),
                Step::patch_containing(
                    &format!("{ROUTES}/store/status?"),
                    json!({"metadata": {"resourceVersion": "3"}, "status": {"parents": null}}),
                    route("4", json!({})),
                ),
                Step::event(json!({"reason": "Synced", "type": "Normal",
                                   "regarding": {"kind": "Gateway", "name": "front"}})),
            ],
        );
        setup(&test);
        let requeue = test.reconciler.reconcile(&gateway_stack()).await;
        assert_resync(requeue, &test.reconciler);
        let first = test.log();
        assert_eq!(first.len(), 5, "{first:?}");
        assert!(
            first[1].starts_with("ensure gateway:shop/front"),
            "{first:?}"
        );

        let finished = test.finish().await;
        let gateway_status = &finished.bodies[1]["status"];
        let programmed = gateway_status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|condition| condition["type"] == "Programmed")
            .unwrap();
        assert_eq!(programmed["status"], "True");
        assert_eq!(programmed["observedGeneration"], 2);
        assert_eq!(gateway_status["listeners"][0]["attachedRoutes"], 1);
        let parents = finished.bodies[2]["status"]["parents"].as_array().unwrap();
        assert_eq!(parents.len(), 2, "{parents:?}");
        assert_eq!(parents[0], foreign());
        assert_eq!(parents[1]["controllerName"], "weir.dev/aws-alb");
        assert_eq!(parents[1]["conditions"][0]["observedGeneration"], 4);
    })
    .await;
}

#[tokio::test]
async fn an_unchanged_gateway_stack_writes_nothing_the_second_time() {
    within(async {
        let held = gateway("6", json!({"metadata": {"finalizers": [FINALIZER]}}));
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{GATEWAYS}/front?"),
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "5"}}),
                    held.clone(),
                ),
                Step::patch_containing(&format!("{GATEWAYS}/front/status?"), json!({}), held),
                Step::patch_containing(&format!("{ROUTES}/store/status?"), json!({}), json!({})),
                Step::event(json!({"reason": "Synced"})),
            ],
        );
        setup(&test);
        test.reconciler.reconcile(&gateway_stack()).await;
        let first = test.log();
        // What the server now holds comes back through the watch (same generations).
        assert_eq!(first.len(), 5, "{first:?}");
        let bodies = test.bodies();
        let written = gateway(
            "7",
            json!({"metadata": {"finalizers": [FINALIZER]}, "status": bodies[1]["status"]}),
        );
        assert!(test.apply(gateway_api(written)).is_empty());
        let route_written = route("8", bodies[2]["status"].clone());
        assert!(test.apply(gateway_api(route_written)).is_empty());

        test.reconciler.reconcile(&gateway_stack()).await;

        let log = test.finish().await.log;
        assert_eq!(log.len(), first.len() + 1, "{log:?}");
        assert!(
            log[first.len()].starts_with("ensure gateway:shop/front"),
            "{log:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_gateway_is_deleted_from_the_provider_before_it_lets_go() {
    within(async {
        let deleting = gateway(
            "9",
            json!({"metadata": {"finalizers": [FINALIZER],
                                "deletionTimestamp": "2026-12-01T00:00:00Z"}}),
        );
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step::patch(
                &format!("{GATEWAYS}/front?"),
                json!({"metadata": {"finalizers": [], "resourceVersion": "9"}}),
                gateway("10", json!({})),
            )],
        );
        setup(&test);
        assert_eq!(
            test.apply(gateway_api(deleting)),
            [gateway_stack()].into_iter().collect()
        );
        test.reconciler.reconcile(&gateway_stack()).await;
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "delete gateway:shop/front".to_owned(),
                format!("PATCH {GATEWAYS}/front?"),
            ]
        );
    })
    .await;
}
