//! The index's rules, with plain objects: each change must requeue exactly the stacks it can
//! affect, and Ingresses holding the finalizer must be released from exactly the stack they left.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use weir_model::StackId;
use weir_translate::{ControllerKind, Kind, KubeObject, TranslateConfig};

use crate::{FINALIZER, Index, Leaver};

fn object<T: serde::de::DeserializeOwned>(value: Value) -> Box<T> {
    Box::new(serde_json::from_value(value).unwrap())
}

fn class(name: &str, controller: &str) -> KubeObject {
    KubeObject::IngressClass(object(json!({
        "metadata": {"name": name}, "spec": {"controller": controller}
    })))
}

fn ingress(name: &str, group: Option<&str>, service: &str, extra: Value) -> KubeObject {
    let mut value = json!({
        "metadata": {"name": name, "namespace": "shop", "annotations": {}},
        "spec": {
            "ingressClassName": "alb",
            "rules": [{"host": format!("{name}.example.com"), "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": service, "port": {"number": 80}}}}
            ]}}]
        }
    });
    if let Some(group) = group {
        value["metadata"]["annotations"]["weir.dev/group.name"] = json!(group);
    }
    merge(&mut value, extra);
    KubeObject::Ingress(object(value))
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

fn service(name: &str) -> KubeObject {
    KubeObject::Service(object(json!({
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]}
    })))
}

fn slice(name: &str, service: &str, ip: &str) -> KubeObject {
    KubeObject::EndpointSlice(object(json!({
        "metadata": {"name": name, "namespace": "shop",
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"port": 8080}]
    })))
}

fn group(name: &str) -> StackId {
    StackId::Group(name.into())
}

fn lone(name: &str) -> StackId {
    StackId::Ingress {
        namespace: "shop".into(),
        name: name.into(),
    }
}

fn set(stacks: &[StackId]) -> BTreeSet<StackId> {
    stacks.iter().cloned().collect()
}

fn index() -> Index {
    let mut index = Index::new(TranslateConfig::for_controller(ControllerKind::AwsAlb));
    index.apply(class("alb", "weir.dev/aws-alb"));
    index
}

#[test]
fn an_ingress_affects_its_stack_and_a_group_move_affects_both() {
    let mut index = index();
    assert_eq!(
        index.apply(ingress("web", Some("a"), "web", json!({}))),
        set(&[group("a")])
    );
    assert_eq!(
        index.apply(ingress("web", Some("b"), "web", json!({}))),
        set(&[group("a"), group("b")])
    );
    assert_eq!(index.stacks(), [group("b")]);
    assert_eq!(
        index.delete(Kind::Ingress, "shop", "web"),
        set(&[group("b")])
    );
    assert!(index.stacks().is_empty());
}

#[test]
fn services_slices_and_secrets_requeue_only_the_stacks_that_read_them() {
    let mut index = index();
    index.apply(ingress("web", None, "web", json!({})));
    index.apply(ingress(
        "api",
        None,
        "api",
        json!({
            "spec": {"tls": [{"hosts": ["api.example.com"], "secretName": "api-tls"}]}
        }),
    ));
    // Nothing is known to read anything before the stacks are translated.
    assert!(index.apply(service("web")).is_empty());
    index.translate(&lone("web"));
    index.translate(&lone("api"));

    assert_eq!(index.apply(service("web")), set(&[lone("web")]));
    assert_eq!(
        index.apply(slice("web-1", "web", "10.0.0.1")),
        set(&[lone("web")])
    );
    assert_eq!(
        index.apply(slice("web-1", "web", "10.0.0.2")),
        set(&[lone("web")])
    );
    assert_eq!(
        index.delete(Kind::EndpointSlice, "shop", "web-1"),
        set(&[lone("web")])
    );
    assert!(
        index
            .apply(slice("other-1", "other", "10.0.0.3"))
            .is_empty()
    );
    // A Service that does not exist yet was still read: creating it requeues its reader.
    assert_eq!(index.apply(service("api")), set(&[lone("api")]));
    assert_eq!(
        index.apply(KubeObject::Secret(object(json!({
            "metadata": {"name": "api-tls", "namespace": "shop"}, "type": "kubernetes.io/tls"
        })))),
        set(&[lone("api")])
    );
    assert!(index.delete(Kind::Secret, "shop", "unrelated").is_empty());
}

#[test]
fn a_slice_relabelled_for_another_service_affects_both_readers() {
    let mut index = index();
    index.apply(ingress("web", None, "web", json!({})));
    index.apply(ingress("api", None, "api", json!({})));
    index.translate(&lone("web"));
    index.translate(&lone("api"));
    index.apply(slice("moving", "web", "10.0.0.1"));
    assert_eq!(
        index.apply(slice("moving", "api", "10.0.0.1")),
        set(&[lone("api"), lone("web")])
    );
}

#[test]
fn a_stack_translated_from_the_index_sees_the_latest_endpoints() {
    let mut index = index();
    index.apply(ingress("web", None, "web", json!({})));
    index.apply(service("web"));
    index.apply(slice("web-1", "web", "10.0.0.1"));
    let first = index.translate(&lone("web")).desired.unwrap();
    index.apply(slice("web-1", "web", "10.0.0.9"));
    let second = index.translate(&lone("web")).desired.unwrap();
    let ip = |model: &weir_model::DesiredLoadBalancer| {
        model.target_groups.values().next().unwrap().targets[0]
            .ip
            .to_string()
    };
    assert_eq!(
        (ip(&first).as_str(), ip(&second).as_str()),
        ("10.0.0.1", "10.0.0.9")
    );
}

#[test]
fn class_changes_move_exactly_the_ingresses_of_that_class() {
    let mut index = index();
    index.apply(ingress("web", None, "web", json!({})));
    index.apply(ingress(
        "other",
        None,
        "web",
        json!({"spec": {"ingressClassName": "nginx"}}),
    ));
    assert_eq!(index.stacks(), [lone("web")]);
    // The class now belongs to another controller: its Ingress leaves weir.
    assert_eq!(
        index.apply(class("alb", "example.com/other")),
        set(&[lone("web")])
    );
    assert!(index.stacks().is_empty());
    // A class for the other Ingress appears: only it joins.
    assert_eq!(
        index.apply(class("nginx", "weir.dev/aws-alb")),
        set(&[lone("other")])
    );
    assert_eq!(
        index.delete(Kind::IngressClass, "", "nginx"),
        set(&[lone("other")])
    );
}

#[test]
fn ingresses_holding_the_finalizer_are_released_from_the_stack_they_left() {
    let mut index = index();
    let held = json!({"metadata": {"finalizers": [FINALIZER]}});
    index.apply(ingress("web", Some("a"), "web", held.clone()));
    index.apply(ingress("api", Some("a"), "web", held.clone()));
    assert!(index.leavers(&group("a")).is_empty());

    // Moved to another controller's class: group a must be reconciled without it, then it goes.
    let moved =
        json!({"metadata": {"finalizers": [FINALIZER]}, "spec": {"ingressClassName": "nginx"}});
    assert_eq!(
        index.apply(ingress("web", Some("a"), "web", moved)),
        set(&[group("a")])
    );
    let web = Leaver {
        namespace: "shop".into(),
        name: "web".into(),
        deleting: false,
    };
    assert_eq!(index.leavers(&group("a")), [web]);
    assert_eq!(
        index.members(&group("a")),
        [("shop".to_owned(), "api".to_owned())]
    );

    // Deleted: out of the stack at once, released from it.
    let deleting = json!({"metadata": {"finalizers": [FINALIZER], "deletionTimestamp": "2026-12-01T00:00:00Z"}});
    assert_eq!(
        index.apply(ingress("api", Some("a"), "web", deleting)),
        set(&[group("a")])
    );
    assert!(index.members(&group("a")).is_empty());
    assert_eq!(
        index.stacks(),
        [group("a")],
        "the stack stays until its leavers are gone"
    );
    assert_eq!(index.leavers(&group("a")).len(), 2);
    assert!(
        index
            .leavers(&group("a"))
            .iter()
            .any(|leaver| leaver.name == "api" && leaver.deleting)
    );

    // The finalizer removed: nothing left to release, the stack is gone.
    index.apply(ingress(
        "web",
        Some("a"),
        "web",
        json!({"spec": {"ingressClassName": "nginx"}}),
    ));
    index.delete(Kind::Ingress, "shop", "api");
    assert!(index.leavers(&group("a")).is_empty());
    assert!(index.stacks().is_empty());
}

#[test]
fn a_moved_member_keeps_its_finalizer_and_is_no_leaver() {
    let mut index = index();
    let held = json!({"metadata": {"finalizers": [FINALIZER]}});
    index.apply(ingress("web", Some("a"), "web", held.clone()));
    index.apply(ingress("web", Some("b"), "web", held));
    assert!(index.leavers(&group("a")).is_empty());
    assert!(index.unattributed_leavers().is_empty());
}

#[test]
fn after_a_restart_leavers_are_known_by_their_spec_or_unattributed() {
    let mut index = index();
    let deleting = json!({"metadata": {"finalizers": [FINALIZER], "deletionTimestamp": "2026-12-01T00:00:00Z"}});
    index.apply(ingress("gone", Some("a"), "web", deleting));
    assert_eq!(index.leavers(&group("a")).len(), 1);
    let foreign =
        json!({"metadata": {"finalizers": [FINALIZER]}, "spec": {"ingressClassName": "nginx"}});
    index.apply(ingress("moved", None, "web", foreign));
    let names: Vec<String> = index
        .unattributed_leavers()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["moved"]);
    // An Ingress of another class that never held our finalizer is nobody's business.
    index.apply(ingress(
        "never",
        None,
        "web",
        json!({"spec": {"ingressClassName": "nginx"}}),
    ));
    assert_eq!(index.unattributed_leavers().len(), 1);
}

#[test]
fn an_invalid_group_name_leaves_the_ingress_out_with_its_diagnostic() {
    let mut index = index();
    index.apply(ingress("web", Some("Not Valid"), "web", json!({})));
    assert!(index.stacks().is_empty());
    let diagnostics = index.left_out_diagnostics("shop", "web");
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0].field,
        "metadata.annotations[weir.dev/group.name]"
    );
}

#[test]
fn an_index_built_from_a_snapshot_translates_like_translate() {
    let mut snapshot = weir_translate::ClusterSnapshot::default();
    for object in [
        class("alb", "weir.dev/aws-alb"),
        ingress("web", Some("a"), "web", json!({})),
        ingress("api", Some("a"), "api", json!({})),
        ingress("solo", None, "web", json!({})),
        service("web"),
    ] {
        snapshot.insert(object);
    }
    let config = TranslateConfig::for_controller(ControllerKind::AwsAlb);
    let whole = weir_translate::translate(&snapshot, &config);
    let mut index = Index::from_snapshot(config, snapshot);
    assert_eq!(index.stacks(), [lone("solo"), group("a")]);
    for expected in &whole.stacks {
        let translated = index.translate(&expected.stack);
        assert_eq!(translated.desired, expected.desired, "{}", expected.stack);
        assert_eq!(
            translated.diagnostics, expected.diagnostics,
            "{}",
            expected.stack
        );
    }
}

#[test]
fn status_and_finalizer_writes_requeue_nothing_but_are_remembered() {
    let mut index = index();
    index.apply(ingress("web", Some("a"), "web", json!({})));
    let held = json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"},
                      "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}});
    assert!(
        index
            .apply(ingress("web", Some("a"), "web", held))
            .is_empty()
    );
    // The finalizer is known: moving away now makes it a leaver.
    let moved =
        json!({"metadata": {"finalizers": [FINALIZER]}, "spec": {"ingressClassName": "nginx"}});
    assert_eq!(
        index.apply(ingress("web", Some("a"), "web", moved)),
        set(&[group("a")])
    );
    assert_eq!(index.leavers(&group("a")).len(), 1);
    // An annotation change is a change.
    let annotated = json!({"metadata": {"annotations": {"weir.dev/scheme": "internal"}}});
    index.apply(ingress("api", Some("a"), "web", json!({})));
    assert_eq!(
        index.apply(ingress("api", Some("a"), "web", annotated)),
        set(&[group("a")])
    );
}
