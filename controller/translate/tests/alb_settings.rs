//! Stack settings across a group: a bad value is left out where it is read, so a later member's
//! valid value (or the default) applies, and the merged health check never asks ELBv2 for a
//! timeout that is not below the interval.

use std::path::Path;

use weir_model::{DesiredLoadBalancer, Diagnostic};
use weir_translate::{ClassSelection, Stacking, TranslateConfig, translate};

fn ingress(name: &str, order: i64, annotations: &[(&str, &str)]) -> String {
    let mut text = format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: s\n  annotations:\n    weir.dev/group.name: g\n    weir.dev/group.order: \"{order}\"\n"
    );
    for (key, value) in annotations {
        text.push_str(&format!("    {key}: {value:?}\n"));
    }
    text.push_str(&format!(
        "spec:\n  rules:\n    - host: {name}.example.com\n      http:\n        paths:\n          - {{path: /, pathType: Prefix, backend: {{service: {{name: svc, port: {{number: 80}}}}}}}}\n"
    ));
    text
}

/// The stack of `yaml` and its diagnostics about annotations.
fn stack(yaml: &str) -> (DesiredLoadBalancer, Vec<Diagnostic>) {
    let mut snapshot = weir_translate::ClusterSnapshot::default();
    weir_manifests::load_str(yaml, Path::new("test.yaml"), &mut snapshot).unwrap();
    let config = TranslateConfig {
        classes: ClassSelection::Everything,
        stacking: Stacking::PerGroup,
    };
    let mut translation = translate(&snapshot, &config);
    let stack = translation.stacks.remove(0);
    let settings = stack
        .diagnostics
        .into_iter()
        .filter(|diagnostic| diagnostic.field.starts_with("metadata.annotations"))
        .collect();
    (stack.desired.unwrap(), settings)
}

#[test]
fn a_bad_value_of_an_earlier_member_lets_a_later_valid_one_apply() {
    let yaml = ingress("first", 1, &[("weir.dev/scheme", "internet-facin")])
        + &ingress(
            "second",
            2,
            &[("alb.ingress.kubernetes.io/scheme", "internal")],
        );
    let (desired, diagnostics) = stack(&yaml);
    assert_eq!(desired.settings["scheme"], "internal");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].object.name, "first");
    assert_eq!(
        diagnostics[0].field,
        "metadata.annotations[weir.dev/scheme]"
    );
}

#[test]
fn a_merged_timeout_not_below_the_interval_is_left_out_on_the_member_that_set_it() {
    let yaml = ingress(
        "first",
        1,
        &[("weir.dev/healthcheck-timeout-seconds", "20")],
    ) + &ingress(
        "second",
        2,
        &[("weir.dev/healthcheck-interval-seconds", "10")],
    );
    let (desired, diagnostics) = stack(&yaml);
    assert_eq!(desired.settings["healthcheck-interval-seconds"], "10");
    assert!(
        !desired.settings.contains_key("healthcheck-timeout-seconds"),
        "{:?}",
        desired.settings
    );
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].object.name, "first");
    assert_eq!(
        diagnostics[0].field,
        "metadata.annotations[weir.dev/healthcheck-timeout-seconds]"
    );
}

#[test]
fn valid_values_are_normalized() {
    let yaml = ingress(
        "only",
        1,
        &[
            ("weir.dev/subnets", " subnet-0a , subnet-0b ,"),
            ("weir.dev/success-codes", "200, 300-399"),
        ],
    );
    let (desired, diagnostics) = stack(&yaml);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(desired.settings["subnets"], "subnet-0a,subnet-0b");
    assert_eq!(desired.settings["success-codes"], "200,300-399");
}
