//! Gateway API conformance scenarios (kubernetes-sigs/gateway-api `conformance/tests/`, see
//! `tests/fixtures/gateway-api/README.md`) through manifests -> `translate_gateways` -> the
//! model's matcher, with the requests and answers of the Go tests. The proxy runs the same
//! fixtures over real sockets (`localproxy/tests/gateway_api.rs`).

use std::path::Path;

use weir_model::{
    Action, DesiredLoadBalancer, HeaderList, PathRewrite, RouteDecision, RouteRequest,
};
use weir_translate::{
    ClusterSnapshot, ControllerKind, GatewayTranslation, RouteStatus, StackTranslation,
    translate_gateways,
};

const NS: &str = "gateway-conformance-infra";

/// The base manifests and the named test manifests, with the suite's class placeholder set to
/// a GatewayClass of `controller`.
fn load(files: &[&str], controller: &str) -> ClusterSnapshot {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gateway-api");
    let mut snapshot = ClusterSnapshot::default();
    let class = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: weir\nspec:\n  controllerName: {controller}\n"
    );
    weir_manifests::load_str(&class, Path::new("class.yaml"), &mut snapshot).unwrap();
    for file in ["base-manifests.yaml"].iter().chain(files) {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap()
            .replace("{GATEWAY_CLASS_NAME}", "weir");
        weir_manifests::load_str(&text, Path::new(file), &mut snapshot).unwrap();
    }
    snapshot
}

fn translate(files: &[&str]) -> GatewayTranslation {
    translate_gateways(
        &load(files, "weir.dev/localproxy"),
        ControllerKind::LocalProxy,
    )
}

/// The model of Gateway `name`, with no diagnostics but those on the routes `not_accepted`.
fn gateway<'a>(translation: &'a GatewayTranslation, name: &str) -> &'a DesiredLoadBalancer {
    gateway_except(translation, name, &[])
}

fn gateway_except<'a>(
    translation: &'a GatewayTranslation,
    name: &str,
    not_accepted: &[&str],
) -> &'a DesiredLoadBalancer {
    let stack = translation
        .translation
        .stacks
        .iter()
        .find(|stack| stack.stack.to_string() == format!("gateway:{NS}/{name}"))
        .unwrap_or_else(|| panic!("no stack for Gateway {name}"));
    let unexpected: Vec<_> = stack
        .diagnostics
        .iter()
        .filter(|diagnostic| !not_accepted.contains(&diagnostic.object.name.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "{name}: {unexpected:#?}");
    stack.desired.as_ref().unwrap()
}

/// The backend Service (or status) a request gets: `path` may hold a query.
fn answer(
    model: &DesiredLoadBalancer,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    let headers = HeaderList(headers);
    let request = RouteRequest {
        method,
        query,
        headers: &headers,
        ..RouteRequest::get(host, path)
    };
    match model.route_request(&request) {
        RouteDecision::Route(route) => name_of(&route.action),
        RouteDecision::Default(action) => name_of(action),
    }
}

fn name_of(action: &Action) -> String {
    match action {
        Action::Forward { target_group } => target_group.service.clone(),
        Action::FixedResponse { status, .. } => status.to_string(),
        other => other.to_string(),
    }
}

fn v(n: u8) -> String {
    format!("infra-backend-v{n}")
}

fn accepted_and_resolved(statuses: &[RouteStatus]) {
    for status in statuses {
        for parent in &status.parents {
            assert!(
                parent.conditions.iter().all(|condition| condition.status),
                "{}: {:?}",
                status.route,
                parent.conditions
            );
        }
    }
}

#[test]
fn simple_same_namespace() {
    let translation = translate(&["httproute-simple-same-namespace.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    assert_eq!(translation.route_statuses.len(), 1);
    let model = gateway(&translation, "same-namespace");
    assert_eq!(answer(model, "GET", "gw", "/", &[]), v(1));
}

#[test]
fn matching() {
    let translation = translate(&["httproute-matching.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "same-namespace");
    for (path, headers, want) in [
        ("/", &[][..], 1),
        ("/example", &[], 1),
        ("/", &[("Version", "one")], 1),
        ("/v2", &[], 2),
        ("/v2/example", &[], 2),
        ("/", &[("Version", "two")], 2),
        ("/v2/", &[], 2),
        ("/v2example", &[], 1),
        ("/foo/v2/example", &[], 1),
    ] {
        assert_eq!(
            answer(model, "GET", "gw", path, headers),
            v(want),
            "{path} {headers:?}"
        );
    }
}

#[test]
fn header_matching() {
    let translation = translate(&["httproute-header-matching.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "same-namespace");
    for (headers, want) in [
        (&[("Version", "one")][..], v(1)),
        (&[("Version", "two")], v(2)),
        (&[("Version", "two"), ("Color", "orange")], v(1)),
        (&[("Version", "two"), ("Color", "blue")], v(2)),
        (&[("Color", "orange")], "404".into()),
        (&[("Some-Other-Header", "one")], "404".into()),
        (&[("Color", "blue")], v(1)),
        (&[("Color", "green")], v(1)),
        (&[("Color", "red")], v(2)),
        (&[("Color", "yellow")], v(2)),
        (&[("Color", "purple")], "404".into()),
    ] {
        assert_eq!(
            answer(model, "GET", "gw", "/", headers),
            want,
            "{headers:?}"
        );
    }
}

#[test]
fn query_param_matching() {
    let translation = translate(&["httproute-query-param-matching.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "same-namespace");
    for (path, headers, want) in [
        ("/?animal=whale", &[][..], v(1)),
        ("/?animal=dolphin", &[], v(2)),
        ("/?animal=dolphin&color=blue", &[], v(3)),
        ("/?ANIMAL=Whale", &[], v(3)),
        ("/?animal=whale&otherparam=irrelevant", &[], v(1)),
        ("/?animal=dolphin&color=yellow", &[], v(2)),
        ("/?color=blue", &[], "404".into()),
        ("/?animal=dog", &[], "404".into()),
        ("/?animal=whaledolphin", &[], "404".into()),
        ("/", &[], "404".into()),
        ("/path1?animal=whale", &[], v(1)),
        ("/?animal=whale", &[("version", "one")], v(2)),
        ("/path2?animal=whale", &[("version", "two")], v(3)),
        ("/path3?animal=shark", &[], v(1)),
        ("/path4?animal=kraken", &[("version", "three")], v(1)),
        ("/?animal=shark", &[], "404".into()),
        ("/path4?animal=kraken", &[], "404".into()),
        ("/path5?animal=hydra", &[], v(1)),
        ("/?animal=hydra", &[("version", "four")], v(3)),
    ] {
        assert_eq!(
            answer(model, "GET", "gw", path, headers),
            want,
            "{path} {headers:?}"
        );
    }
}

#[test]
fn method_matching() {
    let translation = translate(&["httproute-method-matching.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "same-namespace");
    for (method, path, headers, want) in [
        ("POST", "/", &[][..], v(1)),
        ("GET", "/", &[], v(2)),
        ("HEAD", "/", &[], "404".into()),
        ("GET", "/path1", &[], v(1)),
        ("PUT", "/", &[("version", "one")], v(2)),
        ("POST", "/path2", &[("version", "two")], v(3)),
        ("PATCH", "/path3", &[], v(1)),
        ("DELETE", "/path4", &[("version", "three")], v(1)),
        ("PUT", "/", &[], "404".into()),
        ("DELETE", "/path4", &[], "404".into()),
        ("PATCH", "/path5", &[], v(1)),
        ("PATCH", "/", &[("version", "four")], v(2)),
    ] {
        assert_eq!(
            answer(model, method, "gw", path, headers),
            want,
            "{method} {path} {headers:?}"
        );
    }
}

#[test]
fn hostname_intersection() {
    let translation = translate(&["httproute-hostname-intersection.yaml"]);
    let model = gateway_except(
        &translation,
        "httproute-hostname-intersection",
        &["no-intersecting-hosts"],
    );
    for (host, path, want) in [
        ("very.specific.com", "/s1", v(1)),
        ("very.specific.com:1234", "/s1", v(1)),
        ("non.matching.com", "/s1", "404".into()),
        ("foo.nonmatchingwildcard.io", "/s1", "404".into()),
        ("foo.wildcard.io", "/s1", "404".into()),
        ("very.specific.com", "/non-matching-prefix", "404".into()),
        ("foo.wildcard.io", "/s2", v(2)),
        ("bar.wildcard.io", "/s2", v(2)),
        ("foo.bar.wildcard.io", "/s2", v(2)),
        ("non.matching.com", "/s2", "404".into()),
        ("wildcard.io", "/s2", "404".into()),
        ("very.specific.com", "/s2", "404".into()),
        ("very.specific.com", "/s3", v(3)),
        ("foo.specific.com", "/s3", "404".into()),
        ("foo.wildcard.io", "/s3", "404".into()),
        ("foo.anotherwildcard.io", "/s4", v(1)),
        ("bar.anotherwildcard.io", "/s4", v(1)),
        ("foo.bar.anotherwildcard.io", "/s4", v(1)),
        ("anotherwildcard.io", "/s4", "404".into()),
        ("foo.wildcard.io", "/s4", "404".into()),
        ("very.specific.com", "/s4", "404".into()),
        ("specific.but.wrong.com", "/s5", "404".into()),
        ("wildcard.io", "/s5", "404".into()),
    ] {
        assert_eq!(answer(model, "GET", host, path, &[]), want, "{host}{path}");
    }
    let all = gateway(&translation, "httproute-hostname-intersection-all");
    for host in ["first.com", "sub.first.com", "second.com", "sub.second.com"] {
        assert_eq!(answer(all, "GET", host, "/", &[]), v(2), "{host}");
    }
    let no_intersection = translation
        .route_statuses
        .iter()
        .find(|status| status.route.name == "no-intersecting-hosts")
        .unwrap();
    let accepted = &no_intersection.parents[0].conditions[0];
    assert_eq!(
        (accepted.type_, accepted.status, accepted.reason),
        ("Accepted", false, "NoMatchingListenerHostname")
    );
}

#[test]
fn listener_hostname_matching() {
    let translation = translate(&["httproute-listener-hostname-matching.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "httproute-listener-hostname-matching");
    for (host, want) in [
        ("bar.com", v(1)),
        ("foo.bar.com", v(2)),
        ("baz.bar.com", v(3)),
        ("boo.bar.com", v(3)),
        ("multiple.prefixes.bar.com", v(3)),
        ("multiple.prefixes.foo.com", v(3)),
        ("foo.com", "404".into()),
        ("no.matching.host", "404".into()),
    ] {
        assert_eq!(answer(model, "GET", host, "/", &[]), want, "{host}");
    }
}

#[test]
fn weights_are_kept() {
    let translation = translate(&["httproute-weight.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "same-namespace");
    let RouteDecision::Route(route) = model.route("gw", "/") else {
        panic!("no route");
    };
    let Action::WeightedForward { targets, .. } = &route.action else {
        panic!("{:?}", route.action);
    };
    let weights: Vec<(String, u32)> = targets
        .iter()
        .map(|target| (target.target_group.service.clone(), target.weight))
        .collect();
    assert_eq!(
        weights,
        [(v(1), 70), (v(2), 30), (v(3), 0)][..2].to_vec(),
        "{weights:?}"
    );
}

/// The route that serves `host` + `path` in the Gateway `same-namespace` of `file`.
fn route_of(file: &str, host: &str, path: &str) -> weir_model::Route {
    let translation = translate(&[file]);
    accepted_and_resolved(&translation.route_statuses);
    match gateway(&translation, "same-namespace").route(host, path) {
        RouteDecision::Route(route) => route.clone(),
        RouteDecision::Default(_) => panic!("no route for {host}{path} in {file}"),
    }
}

#[test]
fn filters_become_model_filters() {
    let prefix = route_of("httproute-rewrite-path.yaml", "gw", "/prefix/one/two");
    let rewrite = prefix.filters.rewrite.unwrap();
    assert_eq!(rewrite.path, Some(PathRewrite::Prefix("/one".into())));
    let full = route_of("httproute-rewrite-path.yaml", "gw", "/full/one/two");
    assert_eq!(
        full.filters.rewrite.unwrap().path,
        Some(PathRewrite::Full("/one".into()))
    );
    let host = route_of("httproute-rewrite-host.yaml", "rewrite.example", "/one");
    assert_eq!(
        host.filters.rewrite.unwrap().host.as_deref(),
        Some("one.example.org")
    );
    let set = route_of("httproute-request-header-modifier.yaml", "gw", "/set");
    assert_eq!(
        set.filters.request_headers.set,
        [(
            "x-header-set".to_owned(),
            "set-overwrites-values".to_owned()
        )]
    );
    let remove = route_of("httproute-response-header-modifier.yaml", "gw", "/remove");
    assert_eq!(remove.filters.response_headers.remove, ["x-header-remove"]);
}

#[test]
fn redirects() {
    let translation = translate(&[
        "httproute-redirect-host-and-status.yaml",
        "httproute-redirect-path.yaml",
        "httproute-redirect-port.yaml",
        "httproute-redirect-scheme.yaml",
        "httproute-redirect-port-and-scheme.yaml",
    ]);
    let model = gateway(&translation, "same-namespace");
    let RouteDecision::Route(route) = model.route("gw", "/hostname-redirect") else {
        panic!("no route");
    };
    let Action::Redirect(redirect) = &route.action else {
        panic!("{:?}", route.action);
    };
    assert_eq!(redirect.host.as_deref(), Some("example.org"));
    assert_eq!(redirect.status, 302);
}

/// A route attached to one listener of a Gateway is served on that listener only: the
/// redirect on plain HTTP, the application on HTTPS, for the same host and path.
#[test]
fn routes_attached_to_one_listener_are_served_on_it_only() {
    let translation = translate(&["../gateway-api-weir/gateway-redirect-to-https-listener.yaml"]);
    // The suite's certificate is made at run time: only its absence is reported.
    let model = gateway_except(&translation, "redirect-to-https", &["redirect-to-https"]);
    let on = |port: u16| match model
        .route_request(&RouteRequest::get("example.org", "/").on_listener(port))
    {
        RouteDecision::Route(route) => name_of(&route.action),
        RouteDecision::Default(action) => name_of(action),
    };
    assert_eq!(on(443), "infra-backend-v1");
    assert!(on(80).contains("https"), "{}", on(80));
    assert!(on(80).contains("301"), "{}", on(80));
    accepted_and_resolved(&translation.route_statuses);
    let mut listeners: Vec<Vec<u16>> = model.virtual_hosts[0]
        .routes
        .iter()
        .map(|route| route.conditions.listener_ports.clone())
        .collect();
    listeners.sort();
    assert_eq!(listeners, [vec![80], vec![443]]);
}

/// The controller's index translates one Gateway at a time: over every conformance fixture,
/// each Gateway's own translation is the one `translate_gateways` gives it, and its route
/// statuses are that Gateway's share of the whole.
#[test]
fn one_gateway_at_a_time_translates_as_all_at_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gateway-api");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && name != "base-manifests.yaml")
        .collect();
    files.sort();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let snapshot = load(&files, "weir.dev/localproxy");
    let whole = translate_gateways(&snapshot, ControllerKind::LocalProxy);
    assert!(whole.translation.stacks.len() > 1);
    let mut parents = 0;
    for stack in &whole.translation.stacks {
        let weir_model::StackId::Gateway { namespace, name } = &stack.stack else {
            panic!("{}", stack.stack)
        };
        let one = weir_translate::translate_gateway_stack(
            &snapshot,
            ControllerKind::LocalProxy,
            namespace,
            name,
        )
        .unwrap();
        let json = |value: &Option<DesiredLoadBalancer>| serde_json::to_string(value).unwrap();
        assert_eq!(
            json(&one.translation.desired),
            json(&stack.desired),
            "{name}"
        );
        assert_eq!(one.translation.diagnostics, stack.diagnostics, "{name}");
        assert_eq!(one.translation.reads, stack.reads, "{name}");
        for status in &one.route_statuses {
            let all = whole
                .route_statuses
                .iter()
                .find(|whole| whole.route == status.route)
                .unwrap();
            for parent in &status.parents {
                assert!(all.parents.contains(parent), "{name}: {parent:?}");
                parents += 1;
            }
        }
    }
    let all_parents: usize = whole.route_statuses.iter().map(|s| s.parents.len()).sum();
    assert_eq!(parents, all_parents);
}

/// The conditions (type, status, reason) route `name` has towards its first parent.
fn route_conditions(
    translation: &GatewayTranslation,
    name: &str,
) -> Vec<(&'static str, bool, &'static str)> {
    let status = translation
        .route_statuses
        .iter()
        .find(|status| status.route.name == name)
        .unwrap_or_else(|| panic!("no status for route {name}"));
    status.parents[0]
        .conditions
        .iter()
        .map(|condition| (condition.type_, condition.status, condition.reason))
        .collect()
}

/// The backend Service a forward goes to, as `namespace/name`, or the status.
fn qualified_answer(model: &DesiredLoadBalancer, path: &str) -> String {
    match model.route_request(&RouteRequest::get("gw", path)) {
        RouteDecision::Route(route) => match &route.action {
            Action::Forward { target_group } => {
                format!("{}/{}", target_group.namespace, target_group.service)
            }
            other => name_of(other),
        },
        RouteDecision::Default(action) => name_of(action),
    }
}

/// The stack of Gateway `name` of the infra namespace.
fn stack_of<'a>(translation: &'a GatewayTranslation, name: &str) -> &'a StackTranslation {
    translation
        .translation
        .stacks
        .iter()
        .find(|stack| stack.stack.to_string() == format!("gateway:{NS}/{name}"))
        .unwrap_or_else(|| panic!("no stack for Gateway {name}"))
}

const WEB: &str = "gateway-conformance-web-backend";
const APP: &str = "gateway-conformance-app-backend";

#[test]
fn reference_grant_permits_a_backend_in_another_namespace_until_it_is_deleted() {
    let mut snapshot = load(&["httproute-reference-grant.yaml"], "weir.dev/localproxy");
    let translation = translate_gateways(&snapshot, ControllerKind::LocalProxy);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "same-namespace");
    assert_eq!(qualified_answer(model, "/"), format!("{WEB}/web-backend"));
    let stack = stack_of(&translation, "same-namespace");
    assert!(stack.reads.reference_grant_namespaces.contains(WEB));

    snapshot.remove_reference_grant(WEB, "reference-grant");
    let translation = translate_gateways(&snapshot, ControllerKind::LocalProxy);
    let model = gateway_except(&translation, "same-namespace", &["reference-grant"]);
    assert_eq!(qualified_answer(model, "/"), "500");
    assert_eq!(
        route_conditions(&translation, "reference-grant"),
        [
            ("Accepted", true, "Accepted"),
            ("ResolvedRefs", false, "RefNotPermitted")
        ]
    );
}

#[test]
fn reference_grants_that_miss_on_any_side_permit_nothing() {
    let translation = translate(&["httproute-invalid-reference-grant.yaml"]);
    let model = gateway_except(&translation, "same-namespace", &["reference-grant"]);
    assert_eq!(qualified_answer(model, "/"), "500");
    assert_eq!(
        route_conditions(&translation, "reference-grant")[1],
        ("ResolvedRefs", false, "RefNotPermitted")
    );
    let stack = stack_of(&translation, "same-namespace");
    assert!(
        stack.diagnostics.iter().any(|diagnostic| diagnostic.field
            == "spec.rules[0].backendRefs[0]"
            && diagnostic.reason == weir_model::Reason::RefNotPermitted),
        "{:#?}",
        stack.diagnostics
    );
}

#[test]
fn a_grant_for_one_service_leaves_its_sibling_unpermitted() {
    let translation = translate(&["httproute-partially-invalid-via-invalid-reference-grant.yaml"]);
    let model = gateway_except(&translation, "same-namespace", &["invalid-reference-grant"]);
    assert_eq!(qualified_answer(model, "/v2"), "500");
    assert_eq!(
        qualified_answer(model, "/"),
        format!("{APP}/app-backend-v1")
    );
    assert_eq!(
        route_conditions(&translation, "invalid-reference-grant"),
        [
            ("Accepted", true, "Accepted"),
            ("ResolvedRefs", false, "RefNotPermitted")
        ]
    );
}

#[test]
fn invalid_backend_refs_answer_500_with_the_reason_of_each() {
    for (file, route, reason) in [
        (
            "httproute-invalid-cross-namespace-backend-ref.yaml",
            "invalid-cross-namespace-backend-ref",
            "RefNotPermitted",
        ),
        (
            "httproute-invalid-nonexistent-backendref.yaml",
            "invalid-nonexistent-backend-ref",
            "BackendNotFound",
        ),
        (
            "httproute-invalid-backendref-unknown-kind.yaml",
            "invalid-backend-ref-unknown-kind",
            "InvalidKind",
        ),
    ] {
        let translation = translate(&[file]);
        let model = gateway_except(&translation, "same-namespace", &[route]);
        assert_eq!(qualified_answer(model, "/"), "500", "{file}");
        assert_eq!(qualified_answer(model, "/v2"), "500", "{file}");
        assert_eq!(
            route_conditions(&translation, route),
            [
                ("Accepted", true, "Accepted"),
                ("ResolvedRefs", false, reason)
            ],
            "{file}"
        );
    }
}

#[test]
fn a_route_of_a_selected_namespace_attaches_across_namespaces() {
    let translation = translate(&["httproute-cross-namespace.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "backend-namespaces");
    assert_eq!(qualified_answer(model, "/"), format!("{WEB}/web-backend"));
    let stack = stack_of(&translation, "backend-namespaces");
    assert!(stack.reads.namespace_labels.contains(WEB));
}

#[test]
fn a_route_of_an_unselected_namespace_is_not_allowed_by_listeners() {
    let mut snapshot = load(&["httproute-cross-namespace.yaml"], "weir.dev/localproxy");
    // Without its Namespace (and so its labels), the route's namespace is not selected.
    snapshot.remove_namespace(WEB);
    let translation = translate_gateways(&snapshot, ControllerKind::LocalProxy);
    assert_eq!(
        route_conditions(&translation, "cross-namespace")[0],
        ("Accepted", false, "NotAllowedByListeners")
    );
    let model = gateway_except(&translation, "backend-namespaces", &["cross-namespace"]);
    assert!(model.virtual_hosts.is_empty());
}

#[test]
fn a_listener_for_other_route_kinds_does_not_allow_http_routes() {
    let translation = translate(&["httproute-disallowed-kind.yaml"]);
    assert_eq!(
        route_conditions(&translation, "disallowed-kind"),
        [
            ("Accepted", false, "NotAllowedByListeners"),
            ("ResolvedRefs", true, "ResolvedRefs")
        ]
    );
}

/// The ResolvedRefs condition (status, reason) of Gateway `gateway`'s listener `listener`.
fn listener_resolved(
    translation: &GatewayTranslation,
    gateway: &str,
    listener: &str,
) -> (bool, &'static str) {
    let status = translation
        .listener_statuses
        .iter()
        .find(|status| status.gateway.name == gateway && status.name == listener)
        .unwrap_or_else(|| panic!("no status for {gateway}/{listener}"));
    let condition = status
        .conditions
        .iter()
        .find(|condition| condition.type_ == "ResolvedRefs")
        .expect("a ResolvedRefs condition");
    (condition.status, condition.reason)
}

#[test]
fn certificate_refs_to_other_namespaces_need_a_reference_grant() {
    for (file, resolved) in [
        (
            "gateway-secret-missing-reference-grant",
            (false, "RefNotPermitted"),
        ),
        (
            "gateway-secret-invalid-reference-grant",
            (false, "RefNotPermitted"),
        ),
        (
            "gateway-secret-reference-grant-all-in-namespace",
            (true, "ResolvedRefs"),
        ),
        (
            "gateway-secret-reference-grant-specific",
            (true, "ResolvedRefs"),
        ),
    ] {
        let translation = translate(&[
            &format!("{file}.yaml"),
            "../gateway-api-weir/certificate.yaml",
        ]);
        assert_eq!(
            listener_resolved(&translation, file, "https"),
            resolved,
            "{file}"
        );
        let stack = stack_of(&translation, file);
        let certificates = &stack.desired.as_ref().unwrap().certificates;
        assert_eq!(certificates.len(), usize::from(resolved.0), "{file}");
        let refused = stack
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.reason == weir_model::Reason::RefNotPermitted);
        assert_eq!(refused, !resolved.0, "{file}: {:#?}", stack.diagnostics);
    }
}

#[test]
fn backend_filters_stay_with_their_backend() {
    let translation = translate(&["httproute-request-header-modifier-backend-weights.yaml"]);
    accepted_and_resolved(&translation.route_statuses);
    let model = gateway(&translation, "same-namespace");
    let route = route_of_model(model, "/");
    let Action::WeightedForward { targets, .. } = &route.action else {
        panic!("{:?}", route.action);
    };
    let set: Vec<(String, Vec<(String, String)>)> = targets
        .iter()
        .map(|target| {
            (
                target.target_group.service.clone(),
                target.filters.request_headers.set.clone(),
            )
        })
        .collect();
    assert_eq!(
        set,
        [
            (v(1), vec![("backend".to_owned(), v(1))]),
            (v(2), vec![("backend".to_owned(), v(2))]),
        ]
    );

    // One backend with filters is still a weighted forward: a plain forward has no room.
    let translation = translate(&["httproute-request-header-modifier-backend.yaml"]);
    let model = gateway(&translation, "same-namespace");
    let route = route_of_model(model, "/set");
    let Action::WeightedForward { targets, .. } = &route.action else {
        panic!("{:?}", route.action);
    };
    assert_eq!(targets.len(), 1);
    assert!(route.filters.is_empty(), "the rule itself has no filters");
}

fn route_of_model<'a>(model: &'a DesiredLoadBalancer, path: &str) -> &'a weir_model::Route {
    match model.route("gw", path) {
        RouteDecision::Route(route) => route,
        RouteDecision::Default(action) => panic!("{path}: default {action}"),
    }
}
