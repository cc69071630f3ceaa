//! `deploy/overlays/kind` on a real kube-apiserver: the proxy DaemonSet as shipped (hostPorts
//! onto unprivileged ports, hardened, on the `ingress-ready=true` Nodes), the controller with
//! `--status-from-nodes`, and the one extra rule that flag needs, enforced against the
//! ServiceAccounts' own tokens.

mod common;

use std::ffi::OsStr;

use common::{allowed, assert_forbidden, start, step};
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

const NS: &str = "weir-system";

fn output_ok(output: &std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The overlay rendered, with `policy/v1` served as `policy/v1beta1` (the 1.20 test server).
fn rendered(server: &weir_e2e::ApiServer) -> String {
    let overlay = weir_e2e::repo_root().join("deploy/overlays/kind");
    output_ok(
        &server.kubectl([OsStr::new("kustomize"), overlay.as_os_str()]),
        "kubectl kustomize deploy/overlays/kind",
    )
    .replace("apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n")
}

#[tokio::test]
async fn the_kind_overlay_applies_as_documented_and_its_node_rule_is_the_only_extra_one() {
    let server = start().await;
    // deploy/base alone: the controller may not read Nodes.
    server.install_base();
    let controller = server.service_account_client(NS, "weir-controller").await;
    assert_forbidden(
        "list Nodes with deploy/base only",
        step(
            "nodes",
            Api::<Node>::all(controller.clone()).list(&ListParams::default()),
        )
        .await,
    );

    let yaml = rendered(&server);
    let applied = server.apply_yaml(&yaml);
    for object in [
        "daemonset.apps/weir-proxy created",
        "deployment.apps/weir-controller created",
        "clusterrole.rbac.authorization.k8s.io/weir-controller-nodes created",
        "clusterrolebinding.rbac.authorization.k8s.io/weir-controller-nodes created",
        "ingressclass.networking.k8s.io/weir configured",
    ] {
        assert!(
            applied.contains(object),
            "apply did not report {object:?}:\n{applied}"
        );
    }
    let admin = server.admin_client();

    // The proxy as shipped: the flags weir-proxy takes, the Node ports onto 8080/8443.
    let daemon_set = step(
        "daemonset",
        Api::<DaemonSet>::namespaced(admin.clone(), NS).get("weir-proxy"),
    )
    .await
    .expect("the DaemonSet");
    let pod = daemon_set
        .spec
        .and_then(|spec| spec.template.spec)
        .expect("a pod spec");
    assert_eq!(pod.service_account_name.as_deref(), Some("weir-proxy"));
    assert_eq!(
        pod.node_selector
            .unwrap_or_default()
            .get("ingress-ready")
            .map(String::as_str),
        Some("true")
    );
    let pod_security = pod.security_context.expect("a pod security context");
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(
        pod_security
            .seccomp_profile
            .map(|profile| profile.type_)
            .as_deref(),
        Some("RuntimeDefault")
    );
    let container = &pod.containers[0];
    assert_eq!(
        container.args.clone().unwrap_or_default(),
        [
            "--from-cluster",
            "--namespace=weir-system",
            "--http-addr=0.0.0.0:8080",
            "--https-addr=0.0.0.0:8443",
            "--admin-addr=0.0.0.0:9901"
        ]
    );
    let ports: Vec<(i32, Option<i32>)> = container
        .ports
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|port| (port.container_port, port.host_port))
        .collect();
    assert_eq!(ports, [(8080, Some(80)), (8443, Some(443)), (9901, None)]);
    let hardening = container
        .security_context
        .clone()
        .expect("a container security context");
    assert_eq!(hardening.read_only_root_filesystem, Some(true));
    assert_eq!(hardening.allow_privilege_escalation, Some(false));
    assert_eq!(
        hardening
            .capabilities
            .and_then(|capabilities| capabilities.drop),
        Some(vec!["ALL".to_owned()])
    );
    for probe in [&container.readiness_probe, &container.liveness_probe] {
        assert!(
            probe
                .as_ref()
                .and_then(|probe| probe.http_get.as_ref())
                .is_some()
        );
    }
    assert!(
        yaml.contains("- --status-from-nodes=ingress-ready=true"),
        "{yaml}"
    );
    assert!(yaml.contains("ingressclass.kubernetes.io/is-default-class: \"true\""));

    // kind's cluster config labels the node the DaemonSet selects and maps 80 and 443.
    let kind_config = std::fs::read_to_string(
        weir_e2e::repo_root().join("deploy/overlays/kind/kind-config.yaml"),
    )
    .expect("kind-config.yaml");
    for wanted in [
        "ingress-ready: \"true\"",
        "containerPort: 80\n        hostPort: 80",
        "containerPort: 443\n        hostPort: 443",
    ] {
        assert!(
            kind_config.contains(wanted),
            "kind-config.yaml lacks {wanted:?}"
        );
    }

    // Exactly one extra rule: list and watch of Nodes.
    let nodes_role = step(
        "clusterrole",
        Api::<ClusterRole>::all(admin.clone()).get("weir-controller-nodes"),
    )
    .await
    .expect("the ClusterRole");
    let rules: Vec<(Vec<String>, Vec<String>, Vec<String>)> = nodes_role
        .rules
        .unwrap_or_default()
        .into_iter()
        .map(|rule| {
            assert!(rule.resource_names.is_none() && rule.non_resource_urls.is_none());
            (
                rule.api_groups.unwrap_or_default(),
                rule.resources.unwrap_or_default(),
                rule.verbs,
            )
        })
        .collect();
    assert_eq!(
        rules,
        [(
            vec![String::new()],
            vec!["nodes".to_owned()],
            vec!["list".to_owned(), "watch".to_owned()]
        )]
    );

    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": "kind-control-plane", "labels": {"ingress-ready": "true"}}
    }))
    .expect("a Node");
    step(
        "create node",
        Api::<Node>::all(admin).create(&PostParams::default(), &node),
    )
    .await
    .expect("the admin creates a Node");

    // The controller's token: the watch --status-from-nodes runs, and nothing more.
    let nodes = Api::<Node>::all(controller.clone());
    let listed = allowed(
        "list Nodes by label",
        step(
            "list",
            nodes.list(&ListParams::default().labels("ingress-ready=true")),
        )
        .await,
    );
    assert_eq!(listed.items.len(), 1);
    let stream = watcher::watcher(
        nodes.clone(),
        watcher::Config::default().labels("ingress-ready=true"),
    );
    let mut stream = std::pin::pin!(stream);
    loop {
        match step("watch", stream.next()).await {
            Some(Ok(watcher::Event::InitDone)) => break,
            Some(Ok(_)) => {}
            other => panic!("watching Nodes as weir-controller: {other:?}"),
        }
    }
    assert_forbidden(
        "get a Node",
        step("get", nodes.get("kind-control-plane")).await,
    );
    assert_forbidden(
        "patch a Node",
        step(
            "patch",
            nodes.patch(
                "kind-control-plane",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"weir": "was-here"}}})),
            ),
        )
        .await,
    );
    assert_forbidden(
        "patch a Node's status",
        step(
            "status",
            nodes.patch_status(
                "kind-control-plane",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"addresses": []}})),
            ),
        )
        .await,
    );

    // The proxy's token reads no Node either.
    let proxy = server.service_account_client(NS, "weir-proxy").await;
    assert_forbidden(
        "the proxy lists Nodes",
        step(
            "nodes",
            Api::<Node>::all(proxy).list(&ListParams::default()),
        )
        .await,
    );
}
