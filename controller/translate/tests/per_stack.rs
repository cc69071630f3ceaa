//! Per-Ingress membership and per-stack translation, the calls the controller's index makes:
//! they must agree with the whole-snapshot `translate` and report every object a stack read.

use std::path::Path;

use weir_model::StackId;
use weir_translate::{
    ClusterSnapshot, ControllerKind, Standing, TranslateConfig, membership, translate,
    translate_stack,
};

const OBJECTS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: alb}
spec: {controller: weir.dev/aws-alb}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: other}
spec: {controller: example.com/other}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations: {weir.dev/group.name: shop, weir.dev/group.order: "5"}
spec:
  ingressClassName: alb
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /later, pathType: Prefix, backend: {service: {name: not-yet, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: shop
  annotations: {weir.dev/group.name: shop}
spec:
  ingressClassName: alb
  rules:
  - host: api.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: typo, namespace: shop, annotations: {weir.dev/group.name: "Not Valid"}}
spec:
  ingressClassName: alb
  defaultBackend: {service: {name: web, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: foreign, namespace: shop}
spec:
  ingressClassName: other
  defaultBackend: {service: {name: web, port: {number: 80}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80, targetPort: 8080}]}
"#;

fn snapshot() -> ClusterSnapshot {
    let mut snapshot = ClusterSnapshot::default();
    weir_manifests::load_str(OBJECTS, Path::new("objects.yaml"), &mut snapshot).unwrap();
    snapshot
}

fn config() -> TranslateConfig {
    TranslateConfig::for_controller(ControllerKind::AwsAlb)
}

fn standing(snapshot: &ClusterSnapshot, name: &str) -> Standing {
    let ingress = snapshot.ingress("shop", name).unwrap();
    membership(snapshot, &config(), ingress).standing
}

#[test]
fn membership_names_the_stack_or_says_why_there_is_none() {
    let snapshot = snapshot();
    assert_eq!(
        standing(&snapshot, "web"),
        Standing::Member {
            stack: StackId::Group("shop".into()),
            class: "alb".into(),
            order: 5
        }
    );
    assert_eq!(standing(&snapshot, "typo"), Standing::LeftOut);
    let typo = snapshot.ingress("shop", "typo").unwrap();
    let diagnostics = membership(&snapshot, &config(), typo).diagnostics;
    assert_eq!(
        diagnostics[0].field,
        "metadata.annotations[weir.dev/group.name]"
    );
    assert!(
        matches!(standing(&snapshot, "foreign"), Standing::NotOurs(reason) if reason.contains("example.com/other"))
    );
}

#[test]
fn one_stack_translated_alone_equals_the_whole_snapshot_translation() {
    let snapshot = snapshot();
    let whole = translate(&snapshot, &config());
    let stack = StackId::Group("shop".into());
    let expected = whole.stacks.iter().find(|s| s.stack == stack).unwrap();
    // Every Ingress as a candidate: those of other stacks and classes are skipped.
    let alone = translate_stack(&snapshot, &config(), &stack, snapshot.ingresses());
    assert_eq!(alone.desired, expected.desired);
    assert_eq!(alone.diagnostics, expected.diagnostics);
    assert_eq!(alone.reads, expected.reads);
    let members = alone.desired.unwrap().members;
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["api", "web"], "group order: 0 before 5");
}

#[test]
fn reads_name_every_service_and_secret_looked_up_even_missing_ones() {
    let snapshot = snapshot();
    let stack = StackId::Group("shop".into());
    let translation = translate_stack(&snapshot, &config(), &stack, snapshot.ingresses());
    let services: Vec<(&str, &str)> = translation
        .reads
        .services
        .iter()
        .map(|(ns, name)| (ns.as_str(), name.as_str()))
        .collect();
    assert_eq!(
        services,
        [("shop", "api"), ("shop", "not-yet"), ("shop", "web")]
    );
    let secrets: Vec<&str> = translation
        .reads
        .secrets
        .iter()
        .map(|(_, name)| name.as_str())
        .collect();
    assert_eq!(secrets, ["shop-tls"], "a missing Secret is still a read");
}

#[test]
fn a_stack_without_candidates_is_to_be_deleted() {
    let snapshot = snapshot();
    let gone = StackId::Group("gone".into());
    let translation = translate_stack(&snapshot, &config(), &gone, snapshot.ingresses());
    assert!(translation.desired.is_none());
    assert_eq!(translation.reads, Default::default());
}
