//! One bad Ingress never fails its group: members over an ALB quota are left out in group order
//! (`fit`), and `certificate-arn` certificates ACM does not have or has not issued are left out
//! of the HTTPS listener (`StackSpec::build`), each with an Error on that Ingress.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::{Value, json};
use weir_model::{DesiredLoadBalancer, ObjectRef, Reason, Severity};
use weir_provider_aws::{
    CertRef, CertificateChecks, CertificateDetail, Owner, QuotaLimits, StackDefaults, StackSpec,
    fit, render,
};
use weir_translate::{
    ClassSelection, ClusterSnapshot, KubeObject, Stacking, TranslateConfig, translate,
};

const GOOD_ARN: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111";
const MISSING_ARN: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/22222222-2222-2222-2222-222222222222";

/// A member of group `g`: `paths` Prefix paths on `NAME.example.com`, one Service for all.
fn member(name: &str, order: i64, paths: usize, annotations: Value) -> Value {
    let entries: Vec<Value> = (0..paths)
        .map(|index| json!({"path": format!("/p{index}"), "pathType": "Prefix", "backend": {"service": {"name": "svc", "port": {"number": 80}}}}))
        .collect();
    let mut all = json!({"weir.dev/group.name": "g", "weir.dev/group.order": order.to_string()});
    for (key, value) in annotations.as_object().into_iter().flatten() {
        all[key] = value.clone();
    }
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": "q", "annotations": all},
        "spec": {"rules": [{"host": format!("{name}.example.com"), "http": {"paths": entries}}]},
    })
}

fn group(members: &[Value]) -> DesiredLoadBalancer {
    let mut snapshot = ClusterSnapshot::default();
    let service: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "svc", "namespace": "q"},
        "spec": {"ports": [{"port": 80}]},
    }))
    .unwrap();
    snapshot.insert(KubeObject::Service(Box::new(service)));
    for member in members {
        let ingress: Ingress = serde_json::from_value(member.clone()).unwrap();
        snapshot.insert(KubeObject::Ingress(Box::new(ingress)));
    }
    let config = TranslateConfig {
        classes: ClassSelection::Everything,
        stacking: Stacking::PerGroup,
    };
    translate(&snapshot, &config)
        .stacks
        .remove(0)
        .desired
        .unwrap()
}

fn ingress(name: &str) -> ObjectRef {
    ObjectRef::namespaced("Ingress", "q", name)
}

#[test]
fn members_over_the_rule_quota_are_left_out_in_group_order_and_the_rest_fits() {
    let desired = group(&[
        member("first", 1, 50, json!({})),
        member("big", 2, 60, json!({})),
        member("small", 3, 10, json!({})),
    ]);
    let fitted = fit(&desired, &QuotaLimits::default());
    assert!(fitted.applies());
    assert_eq!(
        fitted.desired.members,
        [ingress("first"), ingress("small")],
        "the first member is admitted, the one that overflows is not, a later one that fits is"
    );
    assert_eq!(fitted.view.rules.len(), 60, "{:#?}", fitted.view.rules);
    let errors: Vec<_> = fitted.errors().collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].object, ingress("big"));
    assert_eq!(errors[0].reason, Reason::QuotaExceeded);
    assert!(
        errors[0].message.contains("110 listener rules"),
        "{}",
        errors[0].message
    );
    assert!(
        fitted
            .view
            .rules
            .iter()
            .all(|rule| rule.host.as_deref() != Some("big.example.com")),
        "the left-out member has no rules"
    );
    assert_eq!(
        fit(&desired, &QuotaLimits::default()),
        fitted,
        "deterministic"
    );
}

#[test]
fn a_stack_that_fits_is_left_whole() {
    let desired = group(&[member("a", 1, 40, json!({})), member("b", 2, 40, json!({}))]);
    let fitted = fit(&desired, &QuotaLimits::default());
    assert_eq!(fitted.desired, desired);
    assert_eq!(fitted.view, render(&desired));
    assert_eq!(fitted.errors().count(), 0);
}

#[test]
fn when_not_even_the_first_member_fits_nothing_applies() {
    let desired = group(&[member("huge", 1, 101, json!({}))]);
    let fitted = fit(&desired, &QuotaLimits::default());
    assert!(!fitted.applies());
    let errors: Vec<_> = fitted.errors().collect();
    assert!(
        errors
            .iter()
            .any(|error| error.message.contains("101 listener rules")),
        "{errors:#?}"
    );
}

fn spec(desired: &DesiredLoadBalancer, checks: &CertificateChecks) -> StackSpec {
    let defaults = StackDefaults {
        subnets: vec!["subnet-1".into()],
        ..StackDefaults::default()
    };
    let owner = Owner::new("c", &desired.stack);
    StackSpec::build(owner, desired, &render(desired), &defaults, &[], checks, 0).unwrap()
}

fn issued(arn: &str) -> Option<CertificateDetail> {
    Some(CertificateDetail {
        arn: arn.to_owned(),
        status: "ISSUED".to_owned(),
    })
}

#[test]
fn a_missing_certificate_is_left_out_and_the_listener_keeps_the_ones_that_exist() {
    let desired = group(&[
        member("good", 1, 1, json!({"weir.dev/certificate-arn": GOOD_ARN})),
        member(
            "bad",
            2,
            1,
            json!({"alb.ingress.kubernetes.io/certificate-arn": MISSING_ARN}),
        ),
    ]);
    let checks = CertificateChecks::from([
        (GOOD_ARN.to_owned(), issued(GOOD_ARN)),
        (MISSING_ARN.to_owned(), None),
    ]);
    let spec = spec(&desired, &checks);
    let https = &spec.listeners[&443];
    assert_eq!(https.certificates, [CertRef::Arn(GOOD_ARN.to_owned())]);
    assert!(!https.waits_for_certificate);
    assert_eq!(spec.diagnostics.len(), 1, "{:#?}", spec.diagnostics);
    let problem = &spec.diagnostics[0];
    assert_eq!(problem.object, ingress("bad"));
    assert_eq!(problem.field, "metadata.annotations[certificate-arn]");
    assert_eq!(
        (problem.reason, problem.severity),
        (Reason::CertificateUnusable, Severity::Error)
    );
    assert!(problem.message.contains(MISSING_ARN), "{}", problem.message);
}

#[test]
fn without_any_usable_certificate_the_https_listener_waits() {
    let desired = group(&[
        member("good", 1, 1, json!({})),
        member(
            "bad",
            2,
            1,
            json!({"weir.dev/certificate-arn": MISSING_ARN}),
        ),
    ]);
    let pending = CertificateChecks::from([(
        MISSING_ARN.to_owned(),
        Some(CertificateDetail {
            arn: MISSING_ARN.to_owned(),
            status: "PENDING_VALIDATION".to_owned(),
        }),
    )]);
    let spec = spec(&desired, &pending);
    assert!(spec.listeners[&443].waits_for_certificate);
    assert!(!spec.listeners[&80].waits_for_certificate);
    assert_eq!(spec.diagnostics.len(), 1, "{:#?}", spec.diagnostics);
    assert_eq!(
        spec.diagnostics[0].object,
        ingress("bad"),
        "never the good one"
    );
    assert!(
        spec.diagnostics[0].message.contains("PENDING_VALIDATION"),
        "{}",
        spec.diagnostics[0].message
    );
}
