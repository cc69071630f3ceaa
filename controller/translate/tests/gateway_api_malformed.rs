//! Bad Gateway API input: each problem is a Diagnostic naming the object and field, and only
//! the listener, route, rule or match at fault is left out; route status says why.

use std::path::Path;

use weir_model::{Action, DesiredLoadBalancer, Diagnostic, RouteDecision};
use weir_translate::{ClusterSnapshot, ControllerKind, GatewayTranslation, translate_gateways};

const BASE: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: weir}
spec: {controllerName: weir.dev/localproxy}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: weir
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: tcp, port: 5000, protocol: TCP}
  - {name: alt, port: 8080, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: theirs, namespace: infra}
spec:
  gatewayClassName: other
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: infra}
spec:
  ports: [{port: 8080}]
"#;

fn translate(routes: &str) -> GatewayTranslation {
    let mut snapshot = ClusterSnapshot::default();
    weir_manifests::load_str(BASE, Path::new("base.yaml"), &mut snapshot).unwrap();
    weir_manifests::load_str(routes, Path::new("routes.yaml"), &mut snapshot).unwrap();
    translate_gateways(&snapshot, ControllerKind::LocalProxy)
}

fn only_stack(translation: &GatewayTranslation) -> (&DesiredLoadBalancer, &[Diagnostic]) {
    assert_eq!(
        translation.translation.stacks.len(),
        1,
        "only the Gateway of our class"
    );
    let stack = &translation.translation.stacks[0];
    assert_eq!(stack.stack.to_string(), "gateway:infra/gw");
    (stack.desired.as_ref().unwrap(), &stack.diagnostics)
}

fn has(diagnostics: &[Diagnostic], object: &str, field: &str) -> bool {
    diagnostics
        .iter()
        .any(|d| d.object.name == object && d.field == field)
}

fn route(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: {name}, namespace: infra}}\nspec:\n{spec}\n---\n"
    )
}

#[test]
fn listeners_weir_proxy_cannot_serve_are_named_and_left_out() {
    let translation = translate(&route(
        "good",
        "  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]",
    ));
    let (model, diagnostics) = only_stack(&translation);
    assert!(
        has(diagnostics, "gw", "spec.listeners[1].protocol"),
        "{diagnostics:#?}"
    );
    assert!(
        has(diagnostics, "gw", "spec.listeners[2].port"),
        "{diagnostics:#?}"
    );
    assert_eq!(model.listeners.keys().copied().collect::<Vec<_>>(), [80]);
    assert!(matches!(model.route("x", "/"), RouteDecision::Route(_)));
}

#[test]
fn a_bad_rule_or_match_leaves_only_itself_out() {
    let translation = translate(&route(
        "mixed",
        r#"  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: Exact, value: /bad-filter}}]
    filters: [{type: ExtensionRef}]
    backendRefs: [{name: web, port: 8080}]
  - matches:
    - path: {type: Glob, value: "/re*"}
    - path: {type: Exact, value: /kept}
    - headers: [{name: x, type: RegularExpression, value: "("}]
    backendRefs: [{name: web, port: 8080}]"#,
    ));
    let (model, diagnostics) = only_stack(&translation);
    assert!(
        has(diagnostics, "mixed", "spec.rules[0].filters[0]"),
        "{diagnostics:#?}"
    );
    assert!(
        has(diagnostics, "mixed", "spec.rules[1].matches[0].path.type"),
        "{diagnostics:#?}"
    );
    assert!(
        has(diagnostics, "mixed", "spec.rules[1].matches[2].headers[0]"),
        "{diagnostics:#?}"
    );
    assert!(matches!(model.route("x", "/kept"), RouteDecision::Route(_)));
    assert!(matches!(
        model.route("x", "/bad-filter"),
        RouteDecision::Default(_)
    ));
}

#[test]
fn unresolvable_backends_answer_500_and_set_resolved_refs_false() {
    let translation = translate(&[
        route("missing", "  parentRefs: [{name: gw}]\n  hostnames: [a.com]\n  rules: [{backendRefs: [{name: nope, port: 8080}]}]"),
        route("elsewhere", "  parentRefs: [{name: gw}]\n  hostnames: [b.com]\n  rules: [{backendRefs: [{name: web, namespace: other, port: 8080}]}]"),
        route("kind", "  parentRefs: [{name: gw}]\n  hostnames: [c.com]\n  rules: [{backendRefs: [{name: web, kind: Bucket, group: example.com, port: 8080}]}]"),
        route("half", "  parentRefs: [{name: gw}]\n  hostnames: [d.com]\n  rules: [{backendRefs: [{name: web, port: 8080}, {name: nope, port: 8080}]}]"),
    ].concat());
    let (model, diagnostics) = only_stack(&translation);
    for (name, host, reason) in [
        ("missing", "a.com", "BackendNotFound"),
        ("elsewhere", "b.com", "RefNotPermitted"),
        ("kind", "c.com", "InvalidKind"),
    ] {
        assert_eq!(
            model.route(host, "/").action(),
            &Action::status(500),
            "{name}"
        );
        assert!(
            has(diagnostics, name, "spec.rules[0].backendRefs[0]"),
            "{name}: {diagnostics:#?}"
        );
        let status = translation
            .route_statuses
            .iter()
            .find(|s| s.route.name == name)
            .unwrap();
        let resolved = &status.parents[0].conditions[1];
        assert_eq!(
            (resolved.type_, resolved.status, resolved.reason),
            ("ResolvedRefs", false, reason)
        );
        let accepted = &status.parents[0].conditions[0];
        assert!(accepted.status, "{name} is still accepted");
    }
    // One of two equal backendRefs is missing: half the requests get 500 (HTTPBackendRef).
    let Action::WeightedForward {
        targets,
        failed_weight,
    } = model.route("d.com", "/").action()
    else {
        panic!("{:?}", model.route("d.com", "/").action());
    };
    assert_eq!(
        (targets.len(), targets[0].weight, *failed_weight),
        (1, 1, 1)
    );
    assert_eq!(
        model.route("d.com", "/").action().to_string(),
        "forward infra/web:8080*1,500*1"
    );
}

#[test]
fn a_bad_hostname_is_named_only_in_the_stacks_of_the_gateways_the_route_names() {
    let translation = translate(&[
        route("elsewhere", "  parentRefs: [{name: theirs}]\n  hostnames: [\"bad_host\"]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]"),
        route("here", "  parentRefs: [{name: gw}]\n  hostnames: [\"bad_host\", a.com]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]"),
    ].concat());
    let (model, diagnostics) = only_stack(&translation);
    assert!(
        has(diagnostics, "here", "spec.hostnames[0]"),
        "{diagnostics:#?}"
    );
    assert!(
        !diagnostics.iter().any(|d| d.object.name == "elsewhere"),
        "{diagnostics:#?}"
    );
    assert!(matches!(model.route("a.com", "/"), RouteDecision::Route(_)));
}

#[test]
fn a_route_without_rules_gets_the_api_default_rule_which_answers_500() {
    let translation = translate(&route(
        "bare",
        "  parentRefs: [{name: gw}]\n  hostnames: [bare.com]",
    ));
    let (model, _) = only_stack(&translation);
    assert_eq!(
        model.route("bare.com", "/any/path").action(),
        &Action::status(500)
    );
}

#[test]
fn routes_not_accepted_say_why() {
    let other_namespace = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: stranger, namespace: apps}\nspec:\n  parentRefs: [{name: gw, namespace: infra}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]\n---\n";
    let translation = translate(&[
        route("no-section", "  parentRefs: [{name: gw, sectionName: nope}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]"),
        other_namespace.to_owned(),
        route("theirs", "  parentRefs: [{name: theirs}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]"),
    ].concat());
    let (model, diagnostics) = only_stack(&translation);
    let reason = |name: &str| {
        let status = translation
            .route_statuses
            .iter()
            .find(|s| s.route.name == name)
            .unwrap();
        status.parents[0].conditions[0].reason
    };
    assert_eq!(reason("no-section"), "NoMatchingParent");
    assert_eq!(reason("stranger"), "NotAllowedByListeners");
    assert!(
        translation
            .route_statuses
            .iter()
            .all(|s| s.route.name != "theirs"),
        "routes of other controllers' Gateways get no status from weir"
    );
    assert!(has(diagnostics, "no-section", "spec.parentRefs[0]"));
    assert!(model.virtual_hosts.is_empty());
}

#[test]
fn a_listener_with_an_unusable_namespace_selector_admits_no_routes() {
    let gateway = |name: &str, namespaces: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: {name}, namespace: infra}}\nspec:\n  gatewayClassName: weir\n  listeners:\n  - {{name: http, port: 80, protocol: HTTP, allowedRoutes: {{namespaces: {namespaces}}}}}\n---\n"
        )
    };
    let text = [
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: weir}\nspec: {controllerName: weir.dev/localproxy}\n---\n".to_owned(),
        gateway("no-selector", "{from: Selector}"),
        gateway("bad-operator", "{from: Selector, selector: {matchExpressions: [{key: a, operator: Gt, values: ['1']}]}}"),
        gateway("unknown-from", "{from: Everywhere}"),
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: infra}\nspec:\n  parentRefs: [{name: no-selector}, {name: bad-operator}, {name: unknown-from}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: infra, labels: {a: '2'}}\n".to_owned(),
    ]
    .concat();
    let mut snapshot = ClusterSnapshot::default();
    weir_manifests::load_str(&text, Path::new("gateways.yaml"), &mut snapshot).unwrap();
    let translation = translate_gateways(&snapshot, ControllerKind::LocalProxy);
    for (name, field) in [
        (
            "no-selector",
            "spec.listeners[0].allowedRoutes.namespaces.selector",
        ),
        (
            "bad-operator",
            "spec.listeners[0].allowedRoutes.namespaces.selector",
        ),
        (
            "unknown-from",
            "spec.listeners[0].allowedRoutes.namespaces.from",
        ),
    ] {
        let stack = translation
            .translation
            .stacks
            .iter()
            .find(|stack| stack.stack.to_string() == format!("gateway:infra/{name}"))
            .unwrap();
        assert!(
            stack
                .diagnostics
                .iter()
                .any(|d| d.object.name == name && d.field == field),
            "{name}: {:#?}",
            stack.diagnostics
        );
        assert!(
            stack.desired.as_ref().unwrap().virtual_hosts.is_empty(),
            "{name}"
        );
    }
    let status = &translation.route_statuses[0];
    assert_eq!(status.parents.len(), 3);
    for parent in &status.parents {
        assert_eq!(
            parent.conditions[0].reason, "NotAllowedByListeners",
            "{parent:?}"
        );
    }
}

#[test]
fn regular_expression_paths_match_whole_paths_between_exact_and_prefix_paths() {
    let translation = translate(&route(
        "regex",
        "  parentRefs: [{name: gw}]\n  hostnames: [r.com]\n  rules:\n  - matches: [{path: {type: Exact, value: /v1/users}}]\n    filters: [{type: RequestRedirect, requestRedirect: {hostname: exact.example}}]\n  - matches: [{path: {type: RegularExpression, value: '/v[0-9]+/users'}}]\n    backendRefs: [{name: web, port: 8080}]\n  - matches: [{path: {type: PathPrefix, value: /v1}}, {path: {type: RegularExpression, value: '/(unclosed'}}]\n    filters: [{type: RequestRedirect, requestRedirect: {hostname: prefix.example}}]",
    ));
    let (model, diagnostics) = only_stack(&translation);
    let answer = |path: &str| model.route("r.com", path).action().to_string();
    assert!(
        answer("/v1/users").contains("exact.example"),
        "{}",
        answer("/v1/users")
    );
    assert!(
        answer("/v2/users").starts_with("forward"),
        "{}",
        answer("/v2/users")
    );
    assert!(
        answer("/v1/users/7").contains("prefix.example"),
        "not a whole-path match"
    );
    assert!(answer("/v1/teams").contains("prefix.example"));
    assert_eq!(answer("/V2/users"), "fixed-response 404", "case-sensitive");
    assert!(
        has(diagnostics, "regex", "spec.rules[2].matches[1].path.value"),
        "{diagnostics:#?}"
    );
    let on_route = diagnostics.iter().filter(|d| d.object.name == "regex");
    assert_eq!(on_route.count(), 1, "{diagnostics:#?}");
}

#[test]
fn a_backend_filter_weir_cannot_apply_makes_that_backend_unusable() {
    let translation = translate(&route(
        "mirror",
        "  parentRefs: [{name: gw}]\n  hostnames: [m.com]\n  rules:\n  - backendRefs:\n    - {name: web, port: 8080}\n    - name: web\n      port: 8080\n      filters: [{type: RequestMirror, requestMirror: {backendRef: {name: web, port: 8080}}}]",
    ));
    let (model, diagnostics) = only_stack(&translation);
    assert!(
        has(diagnostics, "mirror", "spec.rules[0].backendRefs[1]"),
        "{diagnostics:#?}"
    );
    assert_eq!(
        model.route("m.com", "/").action().to_string(),
        "forward infra/web:8080*1,500*1"
    );
    let status = &translation.route_statuses[0].parents[0].conditions[1];
    assert_eq!((status.status, status.reason), (false, "UnsupportedValue"));
}
