//! Gateway stacks in the index: each change requeues exactly the Gateway stacks it can affect.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use weir_model::StackId;
use weir_translate::{ControllerKind, GatewayApiObject, Kind, KubeObject, TranslateConfig};

use crate::{FINALIZER, Index, gateway_stack};

fn object<T: serde::de::DeserializeOwned>(value: Value) -> Box<T> {
    Box::new(serde_json::from_value(value).unwrap())
}

fn index() -> Index {
    Index::new(TranslateConfig::for_controller(ControllerKind::LocalProxy))
        .with_gateways(ControllerKind::LocalProxy)
}

fn class(name: &str, controller: &str) -> KubeObject {
    KubeObject::GatewayApi(GatewayApiObject::GatewayClass(object(json!({
        "metadata": {"name": name, "generation": 1},
        "spec": {"controllerName": controller}
    }))))
}

fn gateway(name: &str, class: &str, generation: i64, extra: Value) -> KubeObject {
    let mut value = json!({
        "metadata": {"name": name, "namespace": "shop", "generation": generation},
        "spec": {"gatewayClassName": class, "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "shop.example.com",
             "tls": {"certificateRefs": [{"name": "shop-tls"}]}}
        ]}
    });
    if let (Value::Object(target), Value::Object(extra)) = (&mut value["metadata"], extra) {
        target.extend(extra);
    }
    KubeObject::GatewayApi(GatewayApiObject::Gateway(object(value)))
}

fn route(name: &str, parents: &[&str], service: &str, generation: i64) -> KubeObject {
    let parent_refs: Vec<Value> = parents
        .iter()
        .map(|parent| json!({"name": parent}))
        .collect();
    KubeObject::GatewayApi(GatewayApiObject::HttpRoute(object(json!({
        "metadata": {"name": name, "namespace": "shop", "generation": generation},
        "spec": {
            "parentRefs": parent_refs,
            "hostnames": ["shop.example.com"],
            "rules": [{"backendRefs": [{"name": service, "port": 80}]}]
        }
    }))))
}

fn service(name: &str) -> KubeObject {
    KubeObject::Service(object(json!({
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]}
    })))
}

fn secret(name: &str) -> KubeObject {
    KubeObject::Secret(object(json!({
        "metadata": {"name": name, "namespace": "shop"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""}
    })))
}

fn stack(name: &str) -> StackId {
    gateway_stack("shop", name)
}

fn set(stacks: &[StackId]) -> BTreeSet<StackId> {
    stacks.iter().cloned().collect()
}

#[test]
fn a_gateway_is_a_stack_only_when_its_class_names_this_controller() {
    let mut index = index();
    assert_eq!(index.apply(class("weir", "weir.dev/localproxy")), set(&[]));
    assert_eq!(index.apply(class("other", "example.com/other")), set(&[]));
    assert_eq!(
        index.apply(gateway("front", "weir", 1, json!({}))),
        set(&[stack("front")])
    );
    assert_eq!(
        index.apply(gateway("theirs", "other", 1, json!({}))),
        set(&[])
    );
    assert_eq!(index.stacks(), vec![stack("front")]);
    assert!(index.translate(&stack("front")).desired.is_some());
    assert!(index.translate(&stack("theirs")).desired.is_none());
}

#[test]
fn a_class_change_requeues_exactly_the_gateways_of_that_class() {
    let mut index = index();
    index.apply(class("weir", "weir.dev/localproxy"));
    index.apply(class("spare", "weir.dev/localproxy"));
    index.apply(gateway("front", "weir", 1, json!({})));
    index.apply(gateway("back", "spare", 1, json!({})));
    // The class moves to another controller: its Gateway's stack is to be deleted.
    let moved = class("weir", "example.com/other");
    let KubeObject::GatewayApi(GatewayApiObject::GatewayClass(mut moved)) = moved else {
        unreachable!()
    };
    moved.metadata.generation = Some(2);
    let affected = index.apply(KubeObject::GatewayApi(GatewayApiObject::GatewayClass(
        moved,
    )));
    assert_eq!(affected, set(&[stack("front")]));
    assert_eq!(index.stacks(), vec![stack("back")]);
    assert!(index.translate(&stack("front")).desired.is_none());
    assert_eq!(
        index.delete(Kind::GatewayClass, "", "spare"),
        set(&[stack("back")])
    );
    assert!(index.stacks().is_empty());
}

#[test]
fn a_route_requeues_the_gateways_it_names_before_and_after_a_change() {
    let mut index = index();
    index.apply(class("weir", "weir.dev/localproxy"));
    for name in ["a", "b", "c"] {
        index.apply(gateway(name, "weir", 1, json!({})));
    }
    assert_eq!(
        index.apply(route("web", &["a"], "web", 1)),
        set(&[stack("a")])
    );
    // Moved from a to b: both stacks change; c is untouched.
    assert_eq!(
        index.apply(route("web", &["b"], "web", 2)),
        set(&[stack("a"), stack("b")])
    );
    // A Gateway that is not ours (or does not exist) is no stack.
    assert_eq!(
        index.apply(route("web", &["b", "nowhere"], "web", 3)),
        set(&[stack("b")])
    );
    assert_eq!(
        index.delete(Kind::HttpRoute, "shop", "web"),
        set(&[stack("b")])
    );
}

#[test]
fn status_writes_requeue_nothing() {
    let mut index = index();
    index.apply(class("weir", "weir.dev/localproxy"));
    index.apply(gateway("front", "weir", 1, json!({})));
    index.apply(route("web", &["front"], "web", 1));
    // Same generation: only status (or the resourceVersion) changed.
    assert_eq!(index.apply(route("web", &["front"], "web", 1)), set(&[]));
    assert_eq!(
        index.apply(gateway("front", "weir", 1, json!({}))),
        set(&[])
    );
    assert_eq!(
        index.apply(gateway("front", "weir", 2, json!({}))),
        set(&[stack("front")])
    );
}

#[test]
fn the_services_and_secrets_a_gateway_stack_read_requeue_it() {
    let mut index = index();
    index.apply(class("weir", "weir.dev/localproxy"));
    index.apply(gateway("front", "weir", 1, json!({})));
    index.apply(gateway("other", "weir", 1, json!({})));
    index.apply(route("web", &["front"], "web", 1));
    for stack in index.stacks() {
        index.translate(&stack);
    }
    // Read before it exists: its creation requeues the stack that named it.
    assert_eq!(index.apply(service("web")), set(&[stack("front")]));
    assert_eq!(index.apply(service("unrelated")), set(&[]));
    // Both Gateways' HTTPS listeners name the Secret.
    assert_eq!(
        index.apply(secret("shop-tls")),
        set(&[stack("front"), stack("other")])
    );
    // The route moves its backend: after the next translation only the new Service counts.
    index.apply(route("web", &["front"], "api", 2));
    index.translate(&stack("front"));
    assert_eq!(index.apply(service("web")), set(&[]));
    assert_eq!(index.apply(service("api")), set(&[stack("front")]));
}

#[test]
fn a_deleted_gateway_holding_the_finalizer_stays_listed_until_it_lets_go() {
    let mut index = index();
    index.apply(class("weir", "weir.dev/localproxy"));
    let held = json!({"finalizers": [FINALIZER]});
    index.apply(gateway("front", "weir", 1, held.clone()));
    let deleting = json!({"finalizers": [FINALIZER], "deletionTimestamp": "2026-12-01T00:00:00Z"});
    assert_eq!(
        index.apply(gateway("front", "weir", 1, deleting)),
        set(&[stack("front")])
    );
    assert_eq!(index.stacks(), vec![stack("front")]);
    assert!(index.translate(&stack("front")).desired.is_none());
    assert!(index.gateway("shop", "front").is_some());
    assert_eq!(
        index.delete(Kind::Gateway, "shop", "front"),
        set(&[stack("front")])
    );
    assert!(index.stacks().is_empty());
}

#[test]
fn a_gateway_translation_carries_listener_and_route_status() {
    let mut index = index();
    index.apply(class("weir", "weir.dev/localproxy"));
    index.apply(gateway("front", "weir", 1, json!({})));
    index.apply(route("web", &["front"], "web", 1));
    let translation = index.translate_gateway(&stack("front")).unwrap();
    let attached: Vec<(String, usize)> = translation
        .listeners
        .iter()
        .map(|listener| (listener.name.clone(), listener.attached_routes))
        .collect();
    assert_eq!(attached, vec![("http".into(), 1), ("https".into(), 1)]);
    // The certificate Secret is missing: the HTTPS listener's refs do not resolve.
    let https = &translation.listeners[1].conditions;
    assert_eq!((https[1].type_, https[1].status), ("ResolvedRefs", false));
    assert_eq!(https[1].reason, "InvalidCertificateRef");
    assert_eq!(translation.route_statuses.len(), 1);
    assert!(translation.route_statuses[0].parents[0].conditions[0].status);
}

#[test]
fn without_gateway_support_gateway_objects_form_no_stacks() {
    let mut index = Index::new(TranslateConfig::for_controller(ControllerKind::LocalProxy));
    index.apply(class("weir", "weir.dev/localproxy"));
    assert_eq!(
        index.apply(gateway("front", "weir", 1, json!({}))),
        set(&[])
    );
    assert!(index.stacks().is_empty());
    assert_eq!(index.count(Kind::Gateway), 1);
}

fn grant(namespace: &str, generation: i64) -> KubeObject {
    KubeObject::GatewayApi(GatewayApiObject::ReferenceGrant(object(json!({
        "metadata": {"name": "from-shop", "namespace": namespace, "generation": generation},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "shop"}],
            "to": [{"group": "", "kind": "Service"}]
        }
    }))))
}

fn namespace(name: &str, labels: Value) -> KubeObject {
    KubeObject::GatewayApi(GatewayApiObject::Namespace(object(json!({
        "metadata": {"name": name, "labels": labels}
    }))))
}

#[test]
fn reference_grants_and_namespace_labels_requeue_the_stacks_that_consulted_them() {
    let mut index = index();
    index.apply(class("weir", "weir.dev/localproxy"));
    index.apply(gateway("front", "weir", 1, json!({})));
    // A route in `shop` whose backend lives in `payments`: the grants of `payments` decide.
    let KubeObject::GatewayApi(GatewayApiObject::HttpRoute(mut cross)) =
        route("pay", &["front"], "checkout", 1)
    else {
        unreachable!()
    };
    cross.spec.rules[0].backend_refs[0].namespace = Some("payments".into());
    index.apply(KubeObject::GatewayApi(GatewayApiObject::HttpRoute(cross)));
    index.translate(&stack("front"));
    assert_eq!(index.apply(grant("payments", 1)), set(&[stack("front")]));
    assert_eq!(index.apply(grant("elsewhere", 1)), set(&[]));
    // Its status written back (same generation) is nothing to translate again.
    assert_eq!(index.apply(grant("payments", 1)), set(&[]));
    assert_eq!(
        index.delete(Kind::ReferenceGrant, "payments", "from-shop"),
        set(&[stack("front")])
    );

    // A listener that selects route namespaces by label reads the route's Namespace.
    let selecting = KubeObject::GatewayApi(GatewayApiObject::Gateway(object(json!({
        "metadata": {"name": "shared", "namespace": "shop", "generation": 1},
        "spec": {"gatewayClassName": "weir", "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {
                "from": "Selector", "selector": {"matchLabels": {"shared-gateway": "yes"}}}}}
        ]}
    }))));
    index.apply(selecting);
    index.apply(route("web", &["shared"], "web", 1));
    index.translate(&stack("shared"));
    assert_eq!(
        index.apply(namespace("shop", json!({"shared-gateway": "yes"}))),
        set(&[stack("shared")])
    );
    assert_eq!(
        index.apply(namespace("shop", json!({"shared-gateway": "yes"}))),
        set(&[]),
        "the same labels again"
    );
    assert_eq!(
        index.apply(namespace("other", json!({"shared-gateway": "yes"}))),
        set(&[])
    );
    assert_eq!(
        index.delete(Kind::Namespace, "", "shop"),
        set(&[stack("shared")])
    );
}
