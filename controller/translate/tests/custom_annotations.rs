//! `actions.NAME` / `conditions.NAME` annotations in the AWS Load Balancer Controller's format:
//! its documentation's examples, precedence with conditions, and bad values that drop only
//! their own route.

use std::path::Path;

use weir_model::{
    Action, DesiredLoadBalancer, Diagnostic, HeaderList, PathRewrite, Reason, Redirect,
    RouteDecision, RouteRequest, Severity,
};
use weir_translate::{ClassSelection, ClusterSnapshot, Stacking, TranslateConfig, translate};

fn stack(yaml: &str) -> (DesiredLoadBalancer, Vec<Diagnostic>) {
    let mut snapshot = ClusterSnapshot::default();
    weir_manifests::load_str(yaml, Path::new("test.yaml"), &mut snapshot).unwrap();
    let config = TranslateConfig {
        classes: ClassSelection::Everything,
        stacking: Stacking::PerGroup,
    };
    let mut translation = translate(&snapshot, &config);
    assert_eq!(translation.stacks.len(), 1);
    let stack = translation.stacks.remove(0);
    (stack.desired.unwrap(), stack.diagnostics)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/custom/{name}")),
    )
    .unwrap()
}

fn action_of<'a>(desired: &'a DesiredLoadBalancer, request: &RouteRequest<'_>) -> &'a Action {
    desired.route_request(request).action()
}

fn body(action: &Action) -> String {
    match action {
        Action::FixedResponse { status, body, .. } => {
            format!("{status} {}", body.as_deref().unwrap_or(""))
        }
        other => other.to_string(),
    }
}

#[test]
fn lbc_doc_actions_fixed_response_redirect_and_weighted_forward() {
    let (desired, diagnostics) = stack(&fixture("lbc-actions.yaml"));
    let get = |path: &'static str| RouteRequest::get("any.example.com", path);
    assert_eq!(
        action_of(&desired, &get("/503")),
        &Action::FixedResponse {
            status: 503,
            content_type: Some("text/plain".into()),
            body: Some("503 error text".into()),
        }
    );
    assert_eq!(
        action_of(&desired, &get("/eks")),
        &Action::Redirect(Redirect {
            scheme: Some("https".into()),
            host: Some("aws.amazon.com".into()),
            port: Some(443),
            path: Some(PathRewrite::Full("/eks/".into())),
            query: Some("k=v".into()),
            status: 302,
        })
    );
    assert_eq!(
        action_of(&desired, &get("/path2")).to_string(),
        "forward default/service-1:8080*20,default/service-2:80*20"
    );
    // An ARN names a target group weir does not own: that one route is dropped and reported.
    assert!(matches!(
        desired.route("x", "/path1"),
        RouteDecision::Default(_)
    ));
    let warnings: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.field.contains("actions."))
        .collect();
    assert_eq!(warnings.len(), 1, "{diagnostics:#?}");
    assert_eq!(
        warnings[0].field,
        "metadata.annotations[alb.ingress.kubernetes.io/actions.forward-single-tg]"
    );
    assert_eq!(warnings[0].severity, Severity::Warning);
    assert!(warnings[0].message.contains("targetGroupARN"));
    assert_eq!(desired.target_groups.len(), 2);
}

#[test]
fn lbc_doc_conditions_header_method_query_and_source_ip() {
    let (desired, diagnostics) = stack(&fixture("lbc-conditions.yaml"));
    let base = RouteRequest::get("www.example.com", "/path3");
    let with = |path, headers: &'static [(&'static str, &'static str)]| RouteRequest {
        path,
        headers: Box::leak(Box::new(HeaderList(headers))),
        ..base
    };
    // http-header: ALB values are case-insensitive patterns.
    assert_eq!(
        body(action_of(
            &desired,
            &with("/path3", &[("headername", "headervalue2")])
        )),
        "200 Http header HeaderName is HeaderValue1 OR HeaderValue2"
    );
    assert_eq!(body(action_of(&desired, &base)), "404 ");
    // http-request-method ("Values" capitalized, as the guide writes it).
    let path4 = RouteRequest {
        path: "/path4",
        ..base
    };
    assert_eq!(
        body(action_of(
            &desired,
            &RouteRequest {
                method: "HEAD",
                ..path4
            }
        )),
        "200 Http request method is GET OR HEAD"
    );
    assert_eq!(
        body(action_of(
            &desired,
            &RouteRequest {
                method: "POST",
                ..path4
            }
        )),
        "404 "
    );
    // query-string: alternatives within one condition.
    let path5 = RouteRequest {
        path: "/path5",
        ..base
    };
    assert!(
        body(action_of(
            &desired,
            &RouteRequest {
                query: Some("paramA=valueA2"),
                ..path5
            }
        ))
        .starts_with("200")
    );
    assert!(
        body(action_of(
            &desired,
            &RouteRequest {
                query: Some("paramA=valueA3"),
                ..path5
            }
        ))
        .starts_with("404")
    );
    // source-ip.
    let path6 = RouteRequest {
        path: "/path6",
        ..base
    };
    let inside = Some("172.16.3.4".parse().unwrap());
    let outside = Some("172.17.3.4".parse().unwrap());
    assert!(
        body(action_of(
            &desired,
            &RouteRequest {
                source_ip: inside,
                ..path6
            }
        ))
        .starts_with("200")
    );
    assert!(
        body(action_of(
            &desired,
            &RouteRequest {
                source_ip: outside,
                ..path6
            }
        ))
        .starts_with("404")
    );
    // Several conditions: all must hold.
    let path7 = with("/path7", &[("HeaderName", "HeaderValue")]);
    assert!(
        body(action_of(
            &desired,
            &RouteRequest {
                query: Some("paramB=valueB&paramA=valueA"),
                ..path7
            }
        ))
        .starts_with("200")
    );
    assert!(
        body(action_of(
            &desired,
            &RouteRequest {
                query: Some("paramA=valueA"),
                ..path7
            }
        ))
        .starts_with("404")
    );
    // host-header and path-pattern conditions widen a rule; weir reports and drops them.
    let dropped: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.field.contains("conditions."))
        .map(|d| d.field.as_str())
        .collect();
    assert_eq!(
        dropped,
        [
            "metadata.annotations[alb.ingress.kubernetes.io/conditions.rule-path1]",
            "metadata.annotations[alb.ingress.kubernetes.io/conditions.rule-path2]",
        ]
    );
    assert_eq!(desired.routes().count(), 5);
}

fn ingress(name: &str, annotations: &[(&str, &str)], paths: &[(&str, &str)]) -> String {
    let mut text = format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: s\n  annotations:\n    weir.dev/group.name: g\n"
    );
    for (key, value) in annotations {
        text.push_str(&format!("    {key}: {value:?}\n"));
    }
    text.push_str("spec:\n  rules:\n    - host: a.example.com\n      http:\n        paths:\n");
    for (path, service) in paths {
        let port = if service.starts_with("svc") {
            "{number: 80}"
        } else {
            "{name: use-annotation}"
        };
        text.push_str(&format!(
            "          - {{path: {path}, pathType: Prefix, backend: {{service: {{name: {service}, port: {port}}}}}}}\n"
        ));
    }
    text
}

fn services() -> String {
    ["svc-a", "svc-b", "svc-c"]
        .iter()
        .map(|name| {
            format!("---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: s}}\nspec: {{ports: [{{port: 80}}]}}\n")
        })
        .collect()
}

fn service_of(action: &Action) -> String {
    match action {
        Action::Forward { target_group } => target_group.service.clone(),
        other => other.to_string(),
    }
}

#[test]
fn bad_json_drops_that_route_only_and_names_the_annotation() {
    let yaml = ingress(
        "first",
        &[
            ("weir.dev/conditions.svc-a", "[{\"field\": \"http-header\""),
            ("weir.dev/actions.act", "{\"type\": \"teleport\"}"),
        ],
        &[
            ("/a", "svc-a"),
            ("/b", "svc-b"),
            ("/c", "act"),
            ("/d", "missing"),
        ],
    ) + &ingress("second", &[], &[("/a", "svc-c")])
        + &services();
    let (desired, diagnostics) = stack(&yaml);
    let at = |path| service_of(desired.route("a.example.com", path).action());
    assert_eq!(
        at("/a"),
        "svc-c",
        "the bad route is gone, the group's next route answers"
    );
    assert_eq!(at("/b"), "svc-b");
    assert_eq!(at("/c"), "fixed-response 404");
    let mut fields: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.reason == Reason::InvalidField)
        .map(|d| (d.object.name.as_str(), d.field.as_str()))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("first", "metadata.annotations"),
            ("first", "metadata.annotations[weir.dev/actions.act]"),
            ("first", "metadata.annotations[weir.dev/conditions.svc-a]"),
        ],
        "{diagnostics:#?}"
    );
    assert!(
        diagnostics.iter().all(|d| d.severity == Severity::Warning),
        "{diagnostics:#?}"
    );
}

#[test]
fn conditions_rank_before_group_order_and_equal_ones_are_shadowed() {
    let header = r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Version","values":["v2"]}}]"#;
    let two = r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Version","values":["v2"]}},{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Beta","values":["*"]}}]"#;
    // The plain route comes first in group order; the conditional ones still win when they
    // hold, the one with more header clauses first.
    let yaml = ingress("a-plain", &[], &[("/api", "svc-a")])
        + &ingress(
            "b-header",
            &[("weir.dev/conditions.svc-b", header)],
            &[("/api", "svc-b")],
        )
        + &ingress(
            "c-two",
            &[("weir.dev/conditions.svc-c", two)],
            &[("/api", "svc-c")],
        )
        + &ingress(
            "d-same",
            &[("weir.dev/conditions.svc-b", header)],
            &[("/api", "svc-b")],
        )
        + &services();
    let (desired, diagnostics) = stack(&yaml);
    let v2 = HeaderList(&[("x-version", "V2")]);
    let beta = HeaderList(&[("x-version", "v2"), ("x-beta", "1")]);
    let request = RouteRequest::get("a.example.com", "/api/x");
    let winner = |headers| service_of(action_of(&desired, &RouteRequest { headers, ..request }));
    assert_eq!(winner(&v2), "svc-b");
    assert_eq!(winner(&beta), "svc-c");
    assert_eq!(service_of(action_of(&desired, &request)), "svc-a");
    let order: Vec<_> = desired
        .routes()
        .map(|(_, route)| route.source.ingress.name.as_str())
        .collect();
    assert_eq!(order, ["c-two", "b-header", "a-plain"]);
    let shadowed: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.reason == Reason::RuleShadowed)
        .map(|d| d.object.name.as_str())
        .collect();
    assert_eq!(shadowed, ["d-same"]);
}

#[test]
fn weights_of_zero_and_single_targets_are_canonical() {
    let forward = |weights: &str| {
        format!(r#"{{"type":"forward","forwardConfig":{{"targetGroups":[{weights}]}}}}"#)
    };
    let yaml = ingress(
        "w",
        &[
            (
                "weir.dev/actions.zero",
                &forward(
                    r#"{"serviceName":"svc-a","servicePort":80,"weight":0},{"serviceName":"svc-b","servicePort":"80","weight":0}"#,
                ),
            ),
            (
                "weir.dev/actions.one",
                &forward(
                    r#"{"serviceName":"svc-a","servicePort":80,"weight":0},{"serviceName":"svc-b","servicePort":80,"weight":5}"#,
                ),
            ),
            (
                "weir.dev/actions.gone",
                &forward(
                    r#"{"serviceName":"nope","servicePort":80,"weight":5},{"serviceName":"svc-b","servicePort":80,"weight":5}"#,
                ),
            ),
            (
                "weir.dev/actions.heavy",
                &forward(r#"{"serviceName":"svc-a","servicePort":80,"weight":1000}"#),
            ),
        ],
        &[
            ("/zero", "zero"),
            ("/one", "one"),
            ("/gone", "gone"),
            ("/heavy", "heavy"),
        ],
    ) + &services();
    let (desired, diagnostics) = stack(&yaml);
    let at = |path| service_of(desired.route("a.example.com", path).action());
    assert_eq!(at("/zero"), "fixed-response 500");
    assert_eq!(at("/one"), "svc-b");
    assert_eq!(at("/gone"), "fixed-response 503");
    assert_eq!(at("/heavy"), "fixed-response 404");
    assert!(
        diagnostics
            .iter()
            .any(|d| d.reason == Reason::ServiceNotFound)
    );
    assert!(
        diagnostics
            .iter()
            .any(|d| d.field == "metadata.annotations[weir.dev/actions.heavy]")
    );
}
