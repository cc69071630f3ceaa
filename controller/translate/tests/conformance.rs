//! The Ingress conformance cases (kubernetes-sigs/ingress-controller-conformance `features/`)
//! and the Kubernetes docs' path table, through manifests -> translate -> the model's matcher.
//! The cases with expected answers form a corpus (`tests/corpus`) that weir-proxy's file mode
//! and the in-cluster path run too, over real sockets.

mod corpus;

use std::net::IpAddr;
use std::path::Path;

use weir_model::{Action, DesiredLoadBalancer};
use weir_translate::{ClassSelection, ControllerKind, Stacking, TranslateConfig, translate};

fn fixture(name: &str) -> weir_translate::ClusterSnapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conformance")
        .join(name);
    weir_manifests::load_dir(&dir).unwrap()
}

/// How the proxy's file mode translates: every Ingress, one merged stack.
fn file_mode() -> TranslateConfig {
    TranslateConfig {
        classes: ClassSelection::Everything,
        stacking: Stacking::PerClass,
    }
}

/// Translates a YAML text (named `file` in errors) in file mode.
fn translate_yaml(yaml: &str, file: &str) -> weir_translate::Translation {
    let mut snapshot = weir_translate::ClusterSnapshot::default();
    weir_manifests::load_str(yaml, Path::new(file), &mut snapshot).unwrap();
    translate(&snapshot, &file_mode())
}

/// The one stack of a fixture, translated as the proxy's file mode does.
fn model(name: &str) -> DesiredLoadBalancer {
    let translation = translate(&fixture(name), &file_mode());
    assert_eq!(translation.stacks.len(), 1, "{name}");
    let stack = &translation.stacks[0];
    assert!(
        stack.diagnostics.is_empty(),
        "{name}: {:#?}",
        stack.diagnostics
    );
    stack.desired.clone().unwrap()
}

/// The Service serving a request, or the fixed status.
fn served_by(model: &DesiredLoadBalancer, host: &str, path: &str) -> String {
    match model.route(host, path).action() {
        Action::Forward { target_group } => target_group.service.clone(),
        Action::FixedResponse { status, .. } => status.to_string(),
        other => other.to_string(),
    }
}

/// The answers the model gives an expectation: for one request the Service serving it (or the
/// fixed status); for a spread, one answer per ready endpoint of the Service it forwards to,
/// named as its echo backend would name itself (`SERVICE/FIXTURE-ADDRESS`), as though each of
/// them answered once.
fn answers(
    model: Option<&DesiredLoadBalancer>,
    backends: &[corpus::Backend],
    expect: &corpus::Expect,
) -> Vec<String> {
    let Some(model) = model else {
        return vec!["404".to_owned()];
    };
    let backend_name = |service: &str, ip: IpAddr| {
        backends
            .iter()
            .find(|backend| backend.service == service && IpAddr::V4(backend.ip) == ip)
            .map_or_else(|| format!("{service}/{ip}"), |backend| backend.name.clone())
    };
    match (expect.want, model.route(expect.host, expect.path).action()) {
        (corpus::Want::Spread { .. }, Action::Forward { target_group }) => model.target_groups
            [target_group]
            .ready_targets()
            .map(|target| backend_name(&target_group.service, target.ip))
            .collect(),
        _ => vec![served_by(model, expect.host, expect.path)],
    }
}

/// Every case of the shared corpus (`tests/corpus`), served as the socket tiers serve it (class
/// `weir`, loopback endpoints), answers as `expected.txt` says through the model's matcher.
#[test]
fn the_conformance_corpus_answers_as_expected() {
    let config = TranslateConfig {
        classes: ClassSelection::Named(corpus::CLASS.to_owned()),
        stacking: Stacking::PerClass,
    };
    for case in corpus::cases() {
        let backends = case.backends();
        let yaml = case
            .served(&|_| 8080, "discovery.k8s.io/v1")
            .join("\n---\n");
        let mut snapshot = weir_translate::ClusterSnapshot::default();
        weir_manifests::load_str(&yaml, Path::new(case.name), &mut snapshot).unwrap();
        let translation = translate(&snapshot, &config);
        assert!(translation.stacks.len() <= 1, "{}", case.name);
        let desired = translation
            .stacks
            .first()
            .and_then(|stack| stack.desired.as_ref());
        for expect in &case.expected {
            if let Err(wrong) = expect.judge(&answers(desired, &backends, expect)) {
                panic!("{}: {wrong}", case.name);
            }
        }
    }
}

#[test]
fn host_rules_feature_serves_tls_for_the_exact_host() {
    let model = model("host-rules");
    assert_eq!(model.certificates.len(), 1);
    assert_eq!(model.certificates[0].hosts, ["foo.bar.com"]);
    assert!(model.listeners.contains_key(&443));
}

#[test]
fn load_balancing_feature_sees_all_ten_pods() {
    let model = model("load-balancing");
    let Action::Forward { target_group } = &model.default_action else {
        panic!("default backend must forward");
    };
    let group = &model.target_groups[target_group];
    assert_eq!(group.ready_targets().count(), 10);
    assert!(group.targets.iter().all(|target| target.port == 8080));
}

#[test]
fn ingress_class_feature_ignores_an_unknown_class() {
    let snapshot = fixture("ingress-class");
    let translation = translate(
        &snapshot,
        &TranslateConfig::for_controller(ControllerKind::LocalProxy),
    );
    assert!(translation.stacks.is_empty());
    assert_eq!(translation.ignored.len(), 1);
    assert!(
        translation.ignored[0]
            .reason
            .contains("some-invalid-class-name"),
        "{:?}",
        translation.ignored
    );
}

/// During slice rebalancing an address can be listed twice; it counts once, as available as
/// any slice says it is.
#[test]
fn an_endpoint_in_two_slices_counts_once_with_its_best_conditions() {
    let yaml = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}
---
{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 80}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-old, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [{addresses: [10.0.0.1], conditions: {ready: false}}, {addresses: [10.0.0.2], conditions: {ready: false}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-new, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}}]
"#;
    let translation = translate_yaml(yaml, "slices.yaml");
    let model = translation.stacks[0].desired.as_ref().unwrap();
    let group = model.target_groups.values().next().unwrap();
    let states: Vec<(String, bool)> = group
        .targets
        .iter()
        .map(|target| (target.ip.to_string(), target.conditions.ready))
        .collect();
    assert_eq!(
        states,
        [
            ("10.0.0.1".to_owned(), true),
            ("10.0.0.2".to_owned(), false)
        ]
    );
}

/// The proxy's file mode serves every Ingress of the folder as one stack, whatever its class.
#[test]
fn every_class_mode_merges_all_classes_into_one_stack() {
    let yaml = r#"
{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: a}, spec: {ingressClassName: one, rules: [{host: a.example}]}}
---
{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: b}, spec: {rules: [{host: b.example}]}}
"#;
    let translation = translate_yaml(yaml, "classes.yaml");
    assert_eq!(translation.stacks.len(), 1);
    assert_eq!(translation.stacks[0].stack.to_string(), "class:*");
    assert_eq!(
        translation.stacks[0]
            .desired
            .as_ref()
            .unwrap()
            .virtual_hosts
            .len(),
        2
    );
}
