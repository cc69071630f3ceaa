//! ALB quotas and inexpressible conditions are reported as errors before any API call.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::{Value, json};
use weir_model::{DesiredLoadBalancer, Diagnostic, Reason, Severity};
use weir_provider_aws::{QuotaLimits, check_quotas, render};
use weir_translate::{
    ClassSelection, ClusterSnapshot, KubeObject, Stacking, TranslateConfig, translate,
};

/// One Ingress with `paths` Prefix paths on one host, each to its own Service, plus extras.
fn model(paths: &[&str], annotations: Value, tls: Value) -> DesiredLoadBalancer {
    let mut snapshot = ClusterSnapshot::default();
    let entries: Vec<Value> = paths
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let service: Service = serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": format!("s{index}"), "namespace": "q"},
                "spec": {"ports": [{"port": 80}]},
            }))
            .unwrap();
            snapshot.insert(KubeObject::Service(Box::new(service)));
            json!({"path": path, "pathType": "Prefix", "backend": {"service": {"name": format!("s{index}"), "port": {"number": 80}}}})
        })
        .collect();
    let ingress: Ingress = serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "big", "namespace": "q", "annotations": annotations},
        "spec": {"tls": tls, "rules": [{"host": "big.example.com", "http": {"paths": entries}}]},
    }))
    .unwrap();
    snapshot.insert(KubeObject::Ingress(Box::new(ingress)));
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

fn problems(desired: &DesiredLoadBalancer) -> Vec<Diagnostic> {
    check_quotas(desired, &render(desired), &QuotaLimits::default())
}

fn numbered_paths(count: usize) -> Vec<String> {
    (0..count).map(|index| format!("/p{index}")).collect()
}

fn refs(paths: &[String]) -> Vec<&str> {
    paths.iter().map(String::as_str).collect()
}

const ARN: &str =
    "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000";

#[test]
fn rules_count_once_per_routing_listener() {
    let paths = numbered_paths(60);
    let http_only = model(&refs(&paths), json!({}), json!([]));
    assert!(
        problems(&http_only).is_empty(),
        "{:#?}",
        problems(&http_only)
    );

    let both = model(
        &refs(&paths),
        json!({"weir.dev/certificate-arn": ARN}),
        json!([]),
    );
    let found = problems(&both);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].reason, found[0].severity),
        (Reason::QuotaExceeded, Severity::Error)
    );
    assert!(
        found[0].message.contains("120 listener rules"),
        "{}",
        found[0].message
    );

    let redirected = model(
        &refs(&paths),
        json!({"weir.dev/certificate-arn": ARN, "weir.dev/ssl-redirect": "443"}),
        json!([]),
    );
    assert!(
        problems(&redirected).is_empty(),
        "an HTTP listener that redirects carries no rules"
    );
}

#[test]
fn too_many_target_groups() {
    let paths = numbered_paths(101);
    let limits = QuotaLimits {
        rules_per_load_balancer: 1_000,
        ..QuotaLimits::default()
    };
    let desired = model(&refs(&paths), json!({}), json!([]));
    let found = check_quotas(&desired, &render(&desired), &limits);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("101 target groups"),
        "{}",
        found[0].message
    );
}

#[test]
fn too_many_certificates() {
    let arns: Vec<String> = (0..26).map(|index| format!("arn:aws:acm:eu-west-1:123456789012:certificate/{index:08}-0000-0000-0000-000000000000")).collect();
    let desired = model(
        &["/"],
        json!({"weir.dev/certificate-arn": arns.join(",")}),
        json!([]),
    );
    let found = problems(&desired);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("26 certificates"),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].field, "spec.tls");
}

#[test]
fn paths_an_alb_cannot_match_literally_are_left_out_not_blocking() {
    let desired = model(&["/files/*", "/a%20b", "/ok"], json!({}), json!([]));
    let found = problems(&desired);
    let fields: Vec<&str> = found.iter().map(|problem| problem.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.rules[0].http.paths[0].path",
            "spec.rules[0].http.paths[1].path"
        ],
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|problem| problem.reason == Reason::UnsupportedByProvider
                && problem.severity == Severity::Warning)
    );
    let rendered: Vec<Vec<String>> = render(&desired)
        .rules
        .iter()
        .map(|rule| rule.paths.clone())
        .collect();
    assert_eq!(
        rendered,
        [vec!["/ok".to_owned(), "/ok/*".to_owned()]],
        "only the expressible route is rendered"
    );
}

#[test]
fn condition_values_count_toward_five_per_rule() {
    // Host + two path patterns (Prefix /p0) + a header with two values = 5: fits. A third
    // header value makes 6: an error that leaves the Ingress out.
    let header = |values: &str| {
        json!({"weir.dev/conditions.s0": format!(
            r#"[{{"field":"http-header","httpHeaderConfig":{{"httpHeaderName":"X-A","values":[{values}]}}}}]"#
        )})
    };
    let fits = model(&["/p0"], header(r#""1","2""#), json!([]));
    assert!(problems(&fits).is_empty(), "{:#?}", problems(&fits));
    assert_eq!(render(&fits).rules[0].conditions.value_count(), 2);
    let over = model(&["/p0"], header(r#""1","2","3""#), json!([]));
    let found = problems(&over);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].reason, Reason::QuotaExceeded);
    assert_eq!(found[0].severity, Severity::Error);
    assert!(
        found[0].message.contains("6 condition values"),
        "{}",
        found[0].message
    );
}

#[test]
fn what_an_alb_rule_cannot_do_is_a_warning_and_that_route_is_left_out() {
    use weir_model::{
        Action, HeaderCondition, PathRewrite, Redirect, RouteConditions, StringMatch, UrlRewrite,
    };
    let mut desired = model(
        &["/regex", "/prefix-redirect", "/rewrite", "/ok"],
        json!({}),
        json!([]),
    );
    for route in &mut desired.virtual_hosts[0].routes {
        match route.path.path.as_str() {
            "/regex" => {
                route.conditions = RouteConditions {
                    headers: vec![HeaderCondition {
                        name: "x-a".into(),
                        values: vec![StringMatch::Regex("v[0-9]+".into())],
                    }],
                    ..RouteConditions::default()
                }
            }
            "/prefix-redirect" => {
                route.action = Action::Redirect(Redirect {
                    scheme: None,
                    host: None,
                    port: None,
                    path: Some(PathRewrite::Prefix("/new".into())),
                    query: None,
                    status: 302,
                })
            }
            "/rewrite" => {
                route.filters.rewrite = Some(UrlRewrite {
                    host: Some("internal".into()),
                    path: None,
                })
            }
            _ => {}
        }
    }
    let found = problems(&desired);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found
            .iter()
            .all(|problem| problem.severity == Severity::Warning
                && problem.reason == Reason::UnsupportedByProvider
                && problem.message.starts_with("unsupported on aws: "))
    );
    let view = render(&desired);
    let rendered: Vec<&str> = view
        .rules
        .iter()
        .map(|rule| rule.paths[0].as_str())
        .collect();
    assert_eq!(rendered, ["/ok"]);
}

#[test]
fn a_host_too_long_for_an_alb_condition_names_the_field_of_its_source() {
    let long_host = format!("{}.example.com", ["a".repeat(60), "b".repeat(60)].join("."));
    let mut desired = model(&["/"], json!({}), json!([]));
    desired.virtual_hosts[0].host = weir_model::HostMatch::Exact(long_host.clone());
    let fields = |desired: &DesiredLoadBalancer| -> Vec<String> {
        problems(desired)
            .into_iter()
            .filter(|problem| {
                problem
                    .message
                    .contains("longer than an ALB host condition")
            })
            .map(|problem| problem.field)
            .collect()
    };
    assert_eq!(fields(&desired), ["spec.rules[0].host"]);

    for route in &mut desired.virtual_hosts[0].routes {
        route.source.ingress.kind = "HTTPRoute".into();
    }
    assert_eq!(fields(&desired), ["spec.hostnames"]);
}
