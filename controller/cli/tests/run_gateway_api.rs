//! `weir-controller run --provider localproxy` with Gateway API: a real kube-apiserver (RBAC
//! on) with the Gateway API v1.6.1 CRDs installed (`tests/fixtures/gateway-api-crds/`), the
//! controller as the shipped ServiceAccount, a `weir-proxy --from-cluster` as its own, and
//! loopback demo backends. A GatewayClass `weir` (controller `weir.dev/localproxy`), a Gateway
//! and an HTTPRoute are served beside the shop's Ingresses by the fleet of class `weir`; the
//! Gateway's and the route's status are written back, another controller's entry in the
//! route's status survives, a route change re-routes, and deleting the Gateway removes its
//! routes, weir's entry in the route's status and the finalizer. A backend in another
//! namespace is served only while a ReferenceGrant there allows it.
//!
//! Needs the `weir-proxy` binary next to `weir-controller` (`cargo build -p weir-proxy`).

mod common;

use std::path::Path;

use common::cluster::{eventually, free_port};
use common::localproxy::{
    Process, served, shop_objects, start_backend, start_controller, start_controller_with,
    start_proxy,
};
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use weir_e2e::ApiServer;

const HOST: &str = "gateway.example.com";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", kind),
        plural,
    )
}

fn gateways(server: &ApiServer) -> Api<DynamicObject> {
    Api::namespaced_with(
        server.admin_client(),
        "shop",
        &resource("Gateway", "gateways"),
    )
}

fn classes(server: &ApiServer) -> Api<DynamicObject> {
    Api::all_with(
        server.admin_client(),
        &resource("GatewayClass", "gatewayclasses"),
    )
}

fn routes(server: &ApiServer) -> Api<DynamicObject> {
    Api::namespaced_with(
        server.admin_client(),
        "shop",
        &resource("HTTPRoute", "httproutes"),
    )
}

/// Installs the vendored CRDs and waits until the server serves them. Kubernetes 1.20 (as built
/// here) reads an empty string in a custom resource as null ("must be of type string: null"),
/// so the six `default: ""` lines (the `group` of certificate and backend references in
/// Gateway and HTTPRoute) are left out, and a ReferenceGrant's `to[].group` is not required (a
/// grant to core Services cannot say `group: ""`): an absent `group` there means the core group
/// to weir either way. Client-side validation is off: kubectl 1.20's schema does not know
/// `x-kubernetes-validations`, which the server drops.
fn install_gateway_api(server: &ApiServer) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gateway-api-crds");
    for file in [
        "gatewayclasses.yaml",
        "gateways.yaml",
        "httproutes.yaml",
        "referencegrants.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect("a vendored CRD");
        let text = match file {
            "referencegrants.yaml" => {
                let group_required = "                  required:\n                  - group\n                  - kind\n                  type: object\n";
                assert_eq!(
                    text.matches(group_required).count(),
                    2,
                    "to[].required in v1 and v1beta1"
                );
                text.replace(
                    group_required,
                    &group_required.replace("                  - group\n", ""),
                )
            }
            _ => text,
        };
        let for_1_20: String = text
            .lines()
            .filter(|line| line.trim() != r#"default: """#)
            .map(|line| format!("{line}\n"))
            .collect();
        let output = server.kubectl_input(["create", "--validate=false", "-f", "-"], &for_1_20);
        assert!(
            output.status.success(),
            "kubectl create {file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = server.kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/gatewayclasses.gateway.networking.k8s.io",
        "crd/gateways.gateway.networking.k8s.io",
        "crd/httproutes.gateway.networking.k8s.io",
        "crd/referencegrants.gateway.networking.k8s.io",
    ]);
    assert!(
        output.status.success(),
        "the CRDs were not established: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The route: `/` to `root`, `/cart` to cart, attached to Gateway `front`.
fn route_yaml(root: &str) -> String {
    format!(
        r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: store, namespace: shop}}
spec:
  parentRefs: [{{name: front}}]
  hostnames: [{HOST}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /cart}}}}]
    backendRefs: [{{name: cart, port: 80}}]
  - backendRefs: [{{name: {root}, port: 80}}]
"#
    )
}

const CLASS_AND_GATEWAY: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: weir}
spec: {controllerName: weir.dev/localproxy}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: elsewhere}
spec: {controllerName: example.com/other-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: front, namespace: shop}
spec:
  gatewayClassName: weir
  listeners:
  - {name: http, port: 80, protocol: HTTP}
"#;

/// Another controller's entry in the route's status, as that controller would write it.
fn foreign_parent() -> Value {
    json!({
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                      "namespace": "shop", "name": "elsewhere"},
        "controllerName": "example.com/other-controller",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                        "message": "served elsewhere", "observedGeneration": 1,
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    })
}

fn condition<'a>(conditions: &'a Value, type_: &str) -> Option<&'a Value> {
    conditions
        .as_array()?
        .iter()
        .find(|condition| condition["type"] == type_)
}

struct Fixture {
    server: ApiServer,
    _backends: Vec<Process>,
    _controller: Process,
}

#[tokio::test]
async fn gateways_and_httproutes_are_served_from_the_cluster_with_their_status_written_back() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server.install_base();
    install_gateway_api(&server);
    let (web_port, web) = start_backend(&server, "web");
    let (cart_port, cart) = start_backend(&server, "cart");
    server.apply_yaml(&shop_objects(web_port, cart_port));

    // The route names Gateway front before it exists: another controller's entry is in its
    // status before weir writes any.
    server.apply_yaml(&route_yaml("web"));
    routes(&server)
        .patch_status(
            "store",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"parents": [foreign_parent()]}})),
        )
        .await
        .expect("writing another controller's route status");

    let controller = start_controller(&server, "c1", free_port());
    let fixture = Fixture {
        server,
        _backends: vec![web, cart],
        _controller: controller,
    };
    let server = &fixture.server;
    let proxy = start_proxy(server, 0).await;
    server.apply_yaml(CLASS_AND_GATEWAY);

    // Served per the HTTPRoute, beside the shop's Ingresses.
    for (path, wanted) in [("/", "web"), ("/cart/items", "cart"), ("/cartx", "web")] {
        eventually(&format!("{HOST}{path} -> {wanted}"), || async {
            let got = served(proxy.http, HOST, path);
            (got == wanted).then_some(()).ok_or(got)
        })
        .await;
    }
    assert_eq!(served(proxy.http, "shop.example.com", "/cart/x"), "cart");

    // The Gateway: the finalizer, its address and Programmed=True, its listener's routes.
    let gateway = eventually("the Gateway's status", || async {
        let gateway = gateways(server)
            .get("front")
            .await
            .map_err(|e| e.to_string())?;
        let status = &gateway.data["status"];
        let programmed = condition(&status["conditions"], "Programmed").cloned();
        match programmed {
            Some(programmed) if programmed["status"] == "True" => Ok(gateway),
            other => Err(format!("{other:?} in {status}")),
        }
    })
    .await;
    let status = &gateway.data["status"];
    assert_eq!(
        status["addresses"],
        json!([{"type": "IPAddress", "value": "192.0.2.10"}])
    );
    assert_eq!(
        condition(&status["conditions"], "Accepted").unwrap()["status"],
        "True"
    );
    assert_eq!(
        condition(&status["conditions"], "Programmed").unwrap()["observedGeneration"],
        1
    );
    let listener = &status["listeners"][0];
    assert_eq!(listener["name"], "http");
    assert_eq!(listener["attachedRoutes"], 1);
    assert_eq!(
        listener["supportedKinds"],
        json!([{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}])
    );
    assert_eq!(
        gateway.metadata.finalizers,
        Some(vec!["weir.dev/cleanup".to_owned()])
    );

    // The class: Accepted at its generation, and again after a spec change (Gateway API core
    // conformance, GatewayClassObservedGenerationBump); another controller's class untouched.
    for generation in [1, 2] {
        if generation == 2 {
            classes(server)
                .patch(
                    "weir",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"description": "bumped"}})),
                )
                .await
                .expect("changing the class");
        }
        eventually(
            &format!("GatewayClass weir Accepted at generation {generation}"),
            || async {
                let class = classes(server)
                    .get("weir")
                    .await
                    .map_err(|e| e.to_string())?;
                let accepted = condition(&class.data["status"]["conditions"], "Accepted").cloned();
                match accepted {
                    Some(accepted)
                        if accepted["status"] == "True"
                            && accepted["observedGeneration"] == generation
                            && class.metadata.generation == Some(generation) =>
                    {
                        Ok(())
                    }
                    other => Err(format!("{other:?} at {:?}", class.metadata.generation)),
                }
            },
        )
        .await;
    }
    let elsewhere = classes(server)
        .get("elsewhere")
        .await
        .expect("the other class");
    let accepted = condition(&elsewhere.data["status"]["conditions"], "Accepted");
    assert!(
        accepted.is_none_or(|accepted| accepted["status"] != "True"),
        "another controller's class: {accepted:?}"
    );

    // The route: our entry Accepted, the other controller's left as it was.
    let parents = eventually("the route's status", || async {
        let route = routes(server)
            .get("store")
            .await
            .map_err(|e| e.to_string())?;
        let parents = route.data["status"]["parents"].clone();
        match parents.as_array().map(Vec::len) {
            Some(2) => Ok(parents),
            _ => Err(parents.to_string()),
        }
    })
    .await;
    assert_eq!(parents[0], foreign_parent());
    let ours = &parents[1];
    assert_eq!(ours["controllerName"], "weir.dev/localproxy");
    assert_eq!(ours["parentRef"]["name"], "front");
    for type_ in ["Accepted", "ResolvedRefs"] {
        assert_eq!(
            condition(&ours["conditions"], type_).unwrap()["status"],
            "True",
            "{type_}"
        );
    }

    // A route change re-routes.
    server.apply_yaml(&route_yaml("cart"));
    eventually(&format!("{HOST}/ -> cart after the change"), || async {
        let got = served(proxy.http, HOST, "/");
        (got == "cart").then_some(()).ok_or(got)
    })
    .await;
    let route = routes(server).get("store").await.expect("the route");
    let ours = &route.data["status"]["parents"][1];
    eventually("observedGeneration follows the route", || async {
        let route = routes(server)
            .get("store")
            .await
            .map_err(|e| e.to_string())?;
        let generation = route.metadata.generation;
        let ours = &route.data["status"]["parents"][1];
        let observed =
            condition(&ours["conditions"], "Accepted").map(|c| c["observedGeneration"].as_i64());
        (observed == Some(generation))
            .then_some(())
            .ok_or(format!("{observed:?} vs {generation:?}"))
    })
    .await;
    assert_eq!(
        route.data["status"]["parents"][0],
        foreign_parent(),
        "{ours}"
    );

    // Deleting the Gateway removes its routes from the fleet and the finalizer.
    gateways(server)
        .delete("front", &DeleteParams::default())
        .await
        .expect("deleting the Gateway");
    eventually("the Gateway is gone", || async {
        match gateways(server).get_opt("front").await {
            Ok(None) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    eventually(&format!("{HOST}/ -> 404"), || async {
        let got = served(proxy.http, HOST, "/");
        (got == "404").then_some(()).ok_or(got)
    })
    .await;
    // The route keeps only the other controller's entry.
    eventually(
        "weir's route entry for the deleted Gateway is gone",
        || async {
            let route = routes(server)
                .get("store")
                .await
                .map_err(|e| e.to_string())?;
            let parents = route.data["status"]["parents"].clone();
            (parents == json!([foreign_parent()]))
                .then_some(())
                .ok_or(parents.to_string())
        },
    )
    .await;
    assert_eq!(served(proxy.http, "shop.example.com", "/"), "web");
}

/// The Gateway API CRDs installed while the controller runs: it serves Ingresses meanwhile,
/// notices the CRDs at its next check (`--gateway-api-recheck-seconds`) and serves the
/// Gateway's routes and writes its status, without a restart.
#[tokio::test]
async fn gateway_api_installed_after_start_is_served_without_a_restart() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server.install_base();
    let (web_port, web) = start_backend(&server, "web");
    let (cart_port, cart) = start_backend(&server, "cart");
    server.apply_yaml(&shop_objects(web_port, cart_port));
    let controller = start_controller_with(
        &server,
        "c1",
        free_port(),
        &["--gateway-api-recheck-seconds", "1"],
    );
    let fixture = Fixture {
        server,
        _backends: vec![web, cart],
        _controller: controller,
    };
    let server = &fixture.server;
    let proxy = start_proxy(server, 0).await;
    eventually("shop.example.com/ -> web before Gateway API", || async {
        let got = served(proxy.http, "shop.example.com", "/");
        (got == "web").then_some(()).ok_or(got)
    })
    .await;

    install_gateway_api(server);
    server.apply_yaml(CLASS_AND_GATEWAY);
    server.apply_yaml(&route_yaml("web"));
    eventually(&format!("{HOST}/cart -> cart"), || async {
        let got = served(proxy.http, HOST, "/cart");
        (got == "cart").then_some(()).ok_or(got)
    })
    .await;
    eventually("the Gateway is Programmed", || async {
        let gateway = gateways(server)
            .get("front")
            .await
            .map_err(|e| e.to_string())?;
        let programmed = condition(&gateway.data["status"]["conditions"], "Programmed").cloned();
        match programmed {
            Some(programmed) if programmed["status"] == "True" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(served(proxy.http, "shop.example.com", "/"), "web");
}

/// A route in `shop` naming a Service in `payments`: refused (`RefNotPermitted`, the proxy
/// answers 500 for that share) until a ReferenceGrant in `payments` allows it, served while it
/// does, refused again once it is deleted. The grant reaches weir through its own watch (v1, as
/// the v1.6.1 CRD serves it) and requeues the route's Gateway.
#[tokio::test]
async fn a_backend_in_another_namespace_is_served_while_a_reference_grant_allows_it() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server.install_base();
    install_gateway_api(&server);
    let (web_port, web) = start_backend(&server, "web");
    let (cart_port, cart) = start_backend(&server, "cart");
    let (pay_port, pay) = start_backend(&server, "pay");
    server.apply_yaml(&shop_objects(web_port, cart_port));
    server.apply_yaml(&format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: payments}}
---
apiVersion: v1
kind: Service
metadata: {{name: pay, namespace: payments}}
spec: {{ports: [{{port: 80, targetPort: 8080}}]}}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {{name: pay-1, namespace: payments, labels: {{kubernetes.io/service-name: pay}}}}
addressType: IPv4
endpoints: [{{addresses: ["127.0.0.1"], conditions: {{ready: true}}}}]
ports: [{{port: {pay_port}}}]
"#
    ));
    let controller = start_controller(&server, "c1", free_port());
    let fixture = Fixture {
        server,
        _backends: vec![web, cart, pay],
        _controller: controller,
    };
    let server = &fixture.server;
    let proxy = start_proxy(server, 0).await;
    server.apply_yaml(CLASS_AND_GATEWAY);
    server.apply_yaml(
        r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: checkout, namespace: shop}
spec:
  parentRefs: [{name: front}]
  hostnames: [pay.example.com]
  rules:
  - backendRefs: [{name: pay, namespace: payments, port: 80}]
"#,
    );
    let grant = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: shop-checkout, namespace: payments}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{kind: Service}]
"#;
    let resolved_refs = |wanted: &'static str| async move {
        eventually(&format!("the route's ResolvedRefs is {wanted}"), || async {
            let route = routes(server)
                .get("checkout")
                .await
                .map_err(|e| e.to_string())?;
            let parents = &route.data["status"]["parents"];
            let resolved = parents
                .as_array()
                .and_then(|parents| parents.first())
                .and_then(|ours| condition(&ours["conditions"], "ResolvedRefs"))
                .cloned();
            match resolved {
                Some(resolved) if resolved["status"] == wanted => Ok(resolved),
                other => Err(format!("{other:?}")),
            }
        })
        .await
    };
    let answers = |wanted: &'static str| async move {
        eventually(&format!("pay.example.com/ -> {wanted}"), || async {
            let got = served(proxy.http, "pay.example.com", "/");
            (got == wanted).then_some(()).ok_or(got)
        })
        .await;
    };

    answers("500").await;
    let refused = resolved_refs("False").await;
    assert_eq!(refused["reason"], "RefNotPermitted", "{refused}");

    server.apply_yaml(grant);
    answers("pay").await;
    resolved_refs("True").await;

    let output = server.kubectl([
        "delete",
        "referencegrant",
        "-n",
        "payments",
        "shop-checkout",
    ]);
    assert!(
        output.status.success(),
        "kubectl delete: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    answers("500").await;
    resolved_refs("False").await;
}

/// The shipped role lets the controller read the three kinds and ReferenceGrants and write
/// Gateway finalizers and GatewayClass, Gateway and HTTPRoute status, and nothing else of
/// Gateway API: asked of the authorizer with the ServiceAccount's own token
/// (SelfSubjectAccessReview), the CRDs installed.
#[tokio::test]
async fn the_controller_role_reads_gateway_api_and_writes_only_finalizers_and_status() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server.install_base();
    install_gateway_api(&server);
    let sa = server
        .service_account_client("weir-system", "weir-controller")
        .await;
    let reviews = Api::<SelfSubjectAccessReview>::all(sa);
    for (verb, resource, subresource, namespace, expected) in [
        ("watch", "gateways", "", "", true),
        ("list", "httproutes", "", "", true),
        ("get", "gatewayclasses", "", "", true),
        ("patch", "gateways", "", "shop", true),
        ("patch", "gateways", "status", "shop", true),
        ("update", "httproutes", "status", "shop", true),
        ("patch", "httproutes", "status", "shop", true),
        ("patch", "httproutes", "", "shop", false),
        ("create", "gateways", "", "shop", false),
        ("delete", "gateways", "", "shop", false),
        ("delete", "httproutes", "", "shop", false),
        ("update", "gatewayclasses", "", "", false),
        ("patch", "gatewayclasses", "status", "", true),
        ("update", "gatewayclasses", "status", "", true),
        ("list", "referencegrants", "", "", true),
        ("watch", "referencegrants", "", "", true),
        ("patch", "referencegrants", "", "shop", false),
        ("create", "referencegrants", "", "shop", false),
    ] {
        let review: SelfSubjectAccessReview = serde_json::from_value(json!({
            "spec": {"resourceAttributes": {
                "group": "gateway.networking.k8s.io", "verb": verb, "resource": resource,
                "subresource": subresource, "namespace": namespace,
            }}
        }))
        .expect("a review");
        let answer = reviews
            .create(&Default::default(), &review)
            .await
            .expect("the review is answered");
        let allowed = answer.status.is_some_and(|status| status.allowed);
        assert_eq!(
            allowed, expected,
            "{verb} {resource}/{subresource} in {namespace:?}"
        );
    }
}

/// `run --provider aws` on moto: a Gateway of a `weir.dev/aws-alb` GatewayClass becomes one
/// ALB (stack `gateway:shop/front`) whose DNS name is the Gateway's address, its route gets
/// weir's parent entry with the aws controller name, and deleting the Gateway deletes the ALB
/// and releases the finalizer.
#[tokio::test]
async fn on_aws_a_gateway_is_one_alb_with_its_dns_name_in_the_gateway_status() {
    let cluster = common::cluster::Cluster::start().await;
    let server = &cluster.server;
    install_gateway_api(server);
    let _controller = cluster.controller("aws-1");
    server.apply_yaml(
        r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["10.0.1.10"], conditions: {ready: true}}]
ports: [{port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: weir-alb}
spec: {controllerName: weir.dev/aws-alb}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: front, namespace: shop}
spec:
  gatewayClassName: weir-alb
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: store, namespace: shop}
spec:
  parentRefs: [{name: front}]
  hostnames: [gateway.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
"#,
    );
    let stack = "gateway:shop/front";
    eventually("one ALB for the Gateway", || async {
        let owned = localstack_tests::owned(&cluster.inspector).await;
        match owned.load_balancers.get(stack) {
            Some(1) => Ok(()),
            _ => Err(format!("{:?}", owned.load_balancers)),
        }
    })
    .await;
    let status = eventually("the Gateway's status", || async {
        let gateway = gateways(server)
            .get("front")
            .await
            .map_err(|e| e.to_string())?;
        let status = gateway.data["status"].clone();
        let programmed =
            condition(&status["conditions"], "Programmed").map(|c| c["status"].clone());
        match (programmed, status["addresses"][0]["type"].as_str()) {
            (Some(programmed), Some("Hostname")) if programmed == "True" => Ok(status),
            other => Err(format!("{other:?} in {status}")),
        }
    })
    .await;
    let hostname = status["addresses"][0]["value"].as_str().unwrap_or_default();
    assert!(hostname.contains("elb"), "{status}");
    let parents = eventually("the route's status", || async {
        let route = routes(server)
            .get("store")
            .await
            .map_err(|e| e.to_string())?;
        let parents = route.data["status"]["parents"].clone();
        match parents.as_array().map(Vec::len) {
            Some(1) => Ok(parents),
            _ => Err(parents.to_string()),
        }
    })
    .await;
    assert_eq!(parents[0]["controllerName"], "weir.dev/aws-alb");
    assert_eq!(
        condition(&parents[0]["conditions"], "Accepted").unwrap()["status"],
        "True"
    );

    gateways(server)
        .delete("front", &DeleteParams::default())
        .await
        .expect("deleting the Gateway");
    eventually("the ALB and the Gateway are gone", || async {
        let owned = localstack_tests::owned(&cluster.inspector).await;
        let gone = gateways(server)
            .get_opt("front")
            .await
            .map_err(|e| e.to_string())?
            .is_none();
        match (owned.load_balancers.contains_key(stack), gone) {
            (false, true) => Ok(()),
            other => Err(format!("{other:?}: {:?}", owned.load_balancers)),
        }
    })
    .await;
}
