//! `weir-controller run --provider aws` end to end: a real kube-apiserver (RBAC on, the
//! controller authenticated as the ServiceAccount `deploy/base` ships), a real AWS emulator
//! process (moto server), the controller binary as processes. Every step waits for the result a
//! user would see: AWS state equal to the translation of the cluster's objects, the Ingress
//! status, Events, finalizers.

mod common;

use common::cluster::{Cluster, eventually, grown};

/// The objects of the scenario; `{web_ip}`, `{extra_path}` and `{bad_class}` vary per step.
fn objects(web_ip: &str, extra_path: bool, bad_class: &str) -> String {
    let extra = if extra_path {
        "\n      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}"
    } else {
        ""
    };
    format!(
        r#"
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {{name: weir-alb}}
spec: {{controller: weir.dev/aws-alb}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec: {{ports: [{{port: 80, targetPort: 8080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: api, namespace: shop}}
spec: {{ports: [{{port: 80, targetPort: 9090}}]}}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {{name: web-1, namespace: shop, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
endpoints: [{{addresses: ["{web_ip}"], conditions: {{ready: true}}}}]
ports: [{{port: 8080}}]
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {{name: api-1, namespace: shop, labels: {{kubernetes.io/service-name: api}}}}
addressType: IPv4
endpoints: [{{addresses: ["10.0.2.20"], conditions: {{ready: true}}}}]
ports: [{{port: 9090}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web, namespace: shop}}
spec:
  ingressClassName: weir-alb
  rules:
  - host: shop.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}{extra}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: good
  namespace: shop
  annotations: {{weir.dev/group.name: shared}}
spec:
  ingressClassName: weir-alb
  rules:
  - host: good.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: typo
  namespace: shop
  annotations: {{weir.dev/group.name: "Not Valid"}}
spec:
  ingressClassName: weir-alb
  defaultBackend: {{service: {{name: web, port: {{number: 80}}}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bad
  namespace: shop
  annotations: {{weir.dev/group.name: shared, weir.dev/healthcheck-interval-seconds: "-5"}}
spec:
  ingressClassName: {bad_class}
  rules:
  - host: bad.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: missing, port: {{number: 80}}}}}}}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingresses_become_load_balancers_and_go_away_cleanly() {
    let cluster = Cluster::start().await;
    cluster.server.kubectl(["create", "namespace", "shop"]);
    let controller = cluster.controller("only");

    // Create: the ALBs exist, the Ingresses carry their DNS names and weir's finalizer.
    let first = objects("10.0.1.10", false, "weir-alb");
    cluster.apply(&first);
    cluster.converged(&first, "created").await;
    let address = cluster.address("shop", "web").await;
    assert!(address.ends_with(".elb.amazonaws.com"), "{address}");
    cluster.address("shop", "good").await;
    let web = cluster.ingress("shop", "web").await.expect("web");
    assert_eq!(
        web.metadata.finalizers,
        Some(vec!["weir.dev/cleanup".to_owned()])
    );
    assert!(controller.ready(), "/readyz once the caches are synced");

    // The bad member of the group is named in Events; the good member is served.
    eventually("Warning Events on the bad Ingress", || async {
        let events = cluster.events("shop", "bad");
        let named = |reason: &str| {
            events
                .iter()
                .any(|line| line.starts_with(&format!("Warning {reason} ")))
        };
        if named("ServiceNotFound") && named("InvalidField") {
            Ok(())
        } else {
            Err(format!("{events:?}"))
        }
    })
    .await;
    eventually(
        "a Warning Event on the Ingress left out over its group name",
        || async {
            let events = cluster.events("shop", "typo");
            let expected = "Warning InvalidField metadata.annotations[weir.dev/group.name]";
            if events.iter().any(|line| line.starts_with(expected)) {
                Ok(())
            } else {
                Err(format!("{events:?}"))
            }
        },
    )
    .await;
    assert!(
        cluster
            .events("shop", "good")
            .iter()
            .all(|line| !line.starts_with("Warning")),
        "the good member is never blamed: {:?}",
        cluster.events("shop", "good")
    );
    assert!(
        cluster
            .events("shop", "web")
            .iter()
            .any(|line| line.starts_with("Normal Synced")),
        "{:?}",
        cluster.events("shop", "web")
    );

    // A new path: its rule appears.
    let with_path = objects("10.0.1.10", true, "weir-alb");
    cluster.apply(&with_path);
    cluster.converged(&with_path, "a path added").await;

    // Drift: a rule deleted by hand in AWS comes back with the periodic resync.
    let desired = localstack_tests::translated(&with_path).0;
    let web = desired
        .iter()
        .find(|stack| stack.stack.to_string() == "shop/web")
        .expect("the web stack");
    let plan = cluster.inspector.plan_ensure(web).await.expect("observe");
    let rule = plan
        .observed
        .listeners
        .iter()
        .flat_map(|listener| &listener.rules)
        .find(|rule| {
            rule.conditions
                .paths
                .iter()
                .any(|path| path.starts_with("/api"))
        })
        .expect("the /api rule")
        .arn
        .clone();
    cluster
        .inspector
        .client()
        .send(weir_provider_aws::Call::DeleteRule(rule))
        .await
        .expect("delete a rule by hand");
    assert!(
        !cluster
            .inspector
            .plan_ensure(web)
            .await
            .expect("observe")
            .steps
            .is_empty(),
        "the hand-made drift is visible"
    );
    cluster
        .converged(&with_path, "the deleted rule is back")
        .await;

    // An endpoint change: only targets change.
    let before = controller.calls();
    let moved = objects("10.0.1.11", true, "weir-alb");
    cluster.apply(&moved);
    cluster.converged(&moved, "an endpoint changed").await;
    let mutating: Vec<String> = grown(&before, &controller.calls())
        .into_keys()
        .filter(|operation| !operation.starts_with("Describe") && operation != "GetResources")
        .collect();
    assert!(
        mutating
            .iter()
            .all(|operation| operation == "RegisterTargets" || operation == "DeregisterTargets"),
        "an endpoint change makes only target calls: {mutating:?}"
    );

    // The bad Ingress moves to another controller's class: it leaves the group, its finalizer
    // goes, the group keeps serving the good member.
    let switched = objects("10.0.1.11", true, "nginx");
    cluster.apply(&switched);
    cluster
        .converged(&switched, "the bad Ingress switched class")
        .await;
    eventually("the switched Ingress is let go", || async {
        let bad = cluster
            .ingress("shop", "bad")
            .await
            .expect("bad still exists");
        match bad.metadata.finalizers.as_deref() {
            None | Some([]) => Ok(()),
            Some(other) => Err(format!("finalizers {other:?}")),
        }
    })
    .await;

    // Delete: the load balancer goes, then the finalizer, then the Ingress.
    cluster
        .server
        .kubectl(["delete", "ingress", "-n", "shop", "web", "--wait=false"]);
    eventually("the deleted Ingress is gone", || async {
        match cluster.ingress("shop", "web").await {
            None => Ok(()),
            Some(ingress) => Err(format!(
                "still there, finalizers {:?}",
                ingress.metadata.finalizers
            )),
        }
    })
    .await;
    let owned = localstack_tests::owned(&cluster.inspector).await;
    assert_eq!(
        owned.load_balancers.keys().collect::<Vec<_>>(),
        ["group:shared"],
        "only the group's load balancer is left: {owned:?}"
    );
    assert!(!owned.target_groups.contains_key("shop/web"), "{owned:?}");
    drop(controller);
}
