//! `deploy/base` renders with kustomize, passes the real server's validation and applies.

mod common;

use std::ffi::OsStr;

use common::{start, step};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use kube::api::{Api, ListParams};

/// A role's rules as sorted `(group, resource, verbs)` triples, one per group and resource.
fn triples(rules: Option<Vec<PolicyRule>>) -> Vec<(String, String, String)> {
    let mut triples = Vec::new();
    for rule in rules.unwrap_or_default() {
        assert!(rule.non_resource_urls.is_none(), "{rule:?}");
        // A rule limited to names reads `resource[name,name]`.
        let names = rule
            .resource_names
            .clone()
            .map(|names| format!("[{}]", names.join(",")))
            .unwrap_or_default();
        for group in rule.api_groups.clone().unwrap_or_default() {
            for resource in rule.resources.clone().unwrap_or_default() {
                let resource = format!("{resource}{names}");
                let mut verbs = rule.verbs.clone();
                verbs.sort();
                triples.push((group.clone(), resource, verbs.join(",")));
            }
        }
    }
    triples.sort();
    triples
}

fn expected(rules: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut rules: Vec<_> = rules
        .iter()
        .map(|(group, resource, verbs)| {
            (group.to_string(), resource.to_string(), verbs.to_string())
        })
        .collect();
    rules.sort();
    rules
}

fn stdout(output: &std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn base_renders_validates_and_applies() {
    let server = start().await;
    let base = weir_e2e::repo_root().join("deploy/base");
    let rendered = stdout(
        &server.kubectl([OsStr::new("kustomize"), base.as_os_str()]),
        "kubectl kustomize deploy/base",
    );
    for wanted in [
        "kind: Namespace",
        "name: weir-system",
        "kind: ServiceAccount",
        "name: weir-controller",
        "name: weir-proxy",
        "kind: ClusterRole",
        "kind: ClusterRoleBinding",
        "kind: Role",
        "kind: RoleBinding",
        "kind: IngressClass",
        "controller: weir.dev/localproxy",
        "controller: weir.dev/aws-alb",
    ] {
        assert!(
            rendered.contains(wanted),
            "the rendered base lacks {wanted:?}:\n{rendered}"
        );
    }

    // Server-side dry run: admission and validation by the real server, nothing stored. A dry
    // run creates no namespace, so the namespaced objects need weir-system to exist: apply the
    // rendered Namespace for real first.
    let namespace = rendered
        .split("\n---\n")
        .find(|document| document.contains("kind: Namespace\n"))
        .expect("a Namespace document");
    let created = server.apply_yaml(namespace);
    assert_eq!(created.trim(), "namespace/weir-system created");
    let dry = stdout(
        &server.kubectl_input(["apply", "--dry-run=server", "-f", "-"], &rendered),
        "kubectl apply --dry-run=server",
    );
    assert!(dry.contains("(server dry run)"), "{dry}");
    let missing = server.kubectl(["get", "clusterrole", "weir-controller"]);
    assert!(
        !missing.status.success(),
        "a dry run stored the ClusterRole"
    );

    let applied = server.apply_yaml(&rendered);
    for object in [
        "namespace/weir-system unchanged",
        "serviceaccount/weir-controller created",
        "serviceaccount/weir-proxy created",
        "clusterrole.rbac.authorization.k8s.io/weir-controller created",
        "clusterrolebinding.rbac.authorization.k8s.io/weir-controller created",
        "role.rbac.authorization.k8s.io/weir-controller-leader-election created",
        "rolebinding.rbac.authorization.k8s.io/weir-controller-leader-election created",
        "role.rbac.authorization.k8s.io/weir-controller-snapshots created",
        "rolebinding.rbac.authorization.k8s.io/weir-controller-snapshots created",
        "role.rbac.authorization.k8s.io/weir-proxy created",
        "rolebinding.rbac.authorization.k8s.io/weir-proxy created",
        "ingressclass.networking.k8s.io/weir created",
        "ingressclass.networking.k8s.io/weir-alb created",
    ] {
        assert!(
            applied.contains(object),
            "apply did not report {object:?}:\n{applied}"
        );
    }
    // Applying again changes nothing, and `apply -k` (the README's command) agrees.
    let again = stdout(
        &server.kubectl([OsStr::new("apply"), OsStr::new("-k"), base.as_os_str()]),
        "kubectl apply -k deploy/base",
    );
    assert!(
        again.lines().all(|line| line.ends_with(" unchanged")),
        "a second apply changed something:\n{again}"
    );
    // Least privilege, exactly: any rule added to the shipped roles fails here until it is
    // listed (and, for a new kind of access, probed in rbac.rs).
    let admin = server.admin_client();
    let cluster_role = step(
        "clusterrole",
        Api::<ClusterRole>::all(admin.clone()).get("weir-controller"),
    )
    .await
    .expect("the ClusterRole");
    assert_eq!(
        triples(cluster_role.rules),
        expected(&[
            ("networking.k8s.io", "ingresses", "get,list,watch"),
            ("networking.k8s.io", "ingressclasses", "get,list,watch"),
            ("", "services", "get,list,watch"),
            ("", "secrets", "get,list,watch"),
            ("discovery.k8s.io", "endpointslices", "get,list,watch"),
            ("networking.k8s.io", "ingresses", "patch,update"),
            ("networking.k8s.io", "ingresses/status", "patch,update"),
            (
                "gateway.networking.k8s.io",
                "gatewayclasses",
                "get,list,watch"
            ),
            ("gateway.networking.k8s.io", "gateways", "get,list,watch"),
            ("gateway.networking.k8s.io", "httproutes", "get,list,watch"),
            (
                "gateway.networking.k8s.io",
                "referencegrants",
                "get,list,watch"
            ),
            ("", "namespaces", "list,watch"),
            ("gateway.networking.k8s.io", "gateways", "patch,update"),
            (
                "gateway.networking.k8s.io",
                "gatewayclasses/status",
                "patch,update"
            ),
            (
                "gateway.networking.k8s.io",
                "gateways/status",
                "patch,update"
            ),
            (
                "gateway.networking.k8s.io",
                "httproutes/status",
                "patch,update"
            ),
            ("events.k8s.io", "events", "create,patch"),
            ("", "events", "create,patch"),
        ])
    );
    let role = step(
        "role",
        Api::<Role>::namespaced(admin.clone(), "weir-system")
            .get("weir-controller-leader-election"),
    )
    .await
    .expect("the Role");
    assert_eq!(
        triples(role.rules),
        expected(&[("coordination.k8s.io", "leases", "create,get,patch,update")])
    );
    let snapshots = step(
        "role",
        Api::<Role>::namespaced(admin.clone(), "weir-system").get("weir-controller-snapshots"),
    )
    .await
    .expect("the snapshots Role");
    assert_eq!(
        triples(snapshots.rules),
        expected(&[("", "secrets", "create,delete,patch,update")])
    );
    let proxy = step(
        "role",
        Api::<Role>::namespaced(admin.clone(), "weir-system").get("weir-proxy"),
    )
    .await
    .expect("the proxy Role");
    let names = (0..8)
        .map(|i| format!("weir-snapshot-weir-routes-{i}"))
        .chain((0..8).map(|k| format!("weir-snapshot-weir-endpoints-{k}")));
    let names: Vec<String> = std::iter::once("weir-snapshot-weir".to_owned())
        .chain(names)
        .collect();
    assert_eq!(
        triples(proxy.rules),
        vec![(
            String::new(),
            format!("secrets[{}]", names.join(",")),
            "get,list,watch".to_owned()
        )]
    );
    // weir-controller's three bindings, and weir-proxy's one Role in weir-system.
    let bindings = step(
        "bindings",
        Api::<ClusterRoleBinding>::all(admin.clone())
            .list(&ListParams::default().labels("app.kubernetes.io/part-of=weir")),
    )
    .await
    .expect("ClusterRoleBindings");
    let role_bindings = step(
        "rolebindings",
        Api::<RoleBinding>::all(admin)
            .list(&ListParams::default().labels("app.kubernetes.io/part-of=weir")),
    )
    .await
    .expect("RoleBindings");
    let subjects: Vec<String> = bindings
        .items
        .into_iter()
        .flat_map(|binding| binding.subjects.unwrap_or_default())
        .chain(
            role_bindings
                .items
                .into_iter()
                .flat_map(|binding| binding.subjects.unwrap_or_default()),
        )
        .map(|subject| {
            format!(
                "{}:{}/{}",
                subject.kind,
                subject.namespace.unwrap_or_default(),
                subject.name
            )
        })
        .collect();
    assert_eq!(
        subjects,
        [
            "ServiceAccount:weir-system/weir-controller",
            "ServiceAccount:weir-system/weir-controller",
            "ServiceAccount:weir-system/weir-controller",
            "ServiceAccount:weir-system/weir-proxy",
        ]
    );

    let roles = stdout(
        &server.kubectl(["get", "role", "-n", "weir-system", "-o", "name"]),
        "kubectl get role",
    );
    assert_eq!(
        roles.trim(),
        "role.rbac.authorization.k8s.io/weir-controller-leader-election\n\
         role.rbac.authorization.k8s.io/weir-controller-snapshots\n\
         role.rbac.authorization.k8s.io/weir-proxy"
    );
}

/// The rendered YAML with `policy/v1` PodDisruptionBudgets served as `policy/v1beta1`: the test
/// server (1.20) predates policy/v1, which has the same fields for what weir ships.
fn for_kubernetes_1_20(rendered: &str) -> String {
    rendered.replace("apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n")
}

#[tokio::test]
async fn the_eks_overlay_renders_and_passes_the_servers_validation() {
    let server = start().await;
    let overlay = weir_e2e::repo_root().join("deploy/overlays/eks");
    let rendered = stdout(
        &server.kubectl([OsStr::new("kustomize"), overlay.as_os_str()]),
        "kubectl kustomize deploy/overlays/eks",
    );
    for wanted in [
        "eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/weir-controller",
        "- --provider=aws",
        "- --cluster-name=my-cluster",
        "- --subnets=subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
        "- --vpc-id=vpc-0123456789abcdef0",
        "kind: PodDisruptionBudget",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "type: RuntimeDefault",
    ] {
        assert!(
            rendered.contains(wanted),
            "the rendered overlay lacks {wanted:?}:\n{rendered}"
        );
    }
    assert!(
        !rendered.contains("weir-eks-settings"),
        "the settings object is kustomize input only, never applied"
    );
    let namespace = rendered
        .split("\n---\n")
        .find(|document| document.contains("kind: Namespace\n"))
        .expect("a Namespace document");
    server.apply_yaml(namespace);
    let dry = stdout(
        &server.kubectl_input(
            ["apply", "--dry-run=server", "-f", "-"],
            &for_kubernetes_1_20(&rendered),
        ),
        "kubectl apply --dry-run=server (eks overlay)",
    );
    for object in [
        "deployment.apps/weir-controller created (server dry run)",
        "poddisruptionbudget.policy/weir-controller created (server dry run)",
        "serviceaccount/weir-controller created (server dry run)",
    ] {
        assert!(dry.contains(object), "{object:?} missing:\n{dry}");
    }
}

/// Every folder under `deploy/overlays/`, by name.
fn overlays() -> Vec<String> {
    let root = weir_e2e::repo_root().join("deploy/overlays");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|error| panic!("reading {}: {error}", root.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("kustomization.yaml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn every_overlay_renders_and_every_object_passes_the_servers_validation() {
    let server = start().await;
    let names = overlays();
    assert_eq!(names, ["eks", "kind"], "a new overlay is checked here too");
    for name in names {
        let overlay = weir_e2e::repo_root().join("deploy/overlays").join(&name);
        let rendered = stdout(
            &server.kubectl([OsStr::new("kustomize"), overlay.as_os_str()]),
            &format!("kubectl kustomize deploy/overlays/{name}"),
        );
        if let Some(namespace) = rendered
            .split("\n---\n")
            .find(|document| document.contains("kind: Namespace\n"))
        {
            server.apply_yaml(namespace);
        }
        let dry = stdout(
            &server.kubectl_input(
                ["apply", "--dry-run=server", "-f", "-"],
                &for_kubernetes_1_20(&rendered),
            ),
            &format!("kubectl apply --dry-run=server (overlay {name})"),
        );
        // One answer per object, each from the server's dry run (the Namespace may exist).
        let documents = rendered.split("\n---\n").count();
        let answers: Vec<&str> = dry.lines().filter(|line| !line.is_empty()).collect();
        assert_eq!(answers.len(), documents, "overlay {name}:\n{dry}");
        assert!(
            answers
                .iter()
                .all(|line| line.ends_with("(server dry run)")),
            "overlay {name}:\n{dry}"
        );
    }
}
