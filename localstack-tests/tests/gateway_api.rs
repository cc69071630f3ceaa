//! Gateway API conformance scenarios through the ALB rendering on the emulator, for the
//! features ALB has: the fixtures of `controller/translate/tests/fixtures/gateway-api` (see
//! its README) are translated for `weir.dev/aws-alb`, applied to moto, checked converged (the
//! emulator holds exactly the rendered rules, and a resync changes nothing), and the Go tests'
//! requests are answered by ALB first-match over those rules. What ALB cannot express is
//! reported as "unsupported on aws", naming the HTTPRoute and match.

use std::path::Path;

use localstack_tests::{Emulator, assert_converged, take_counts};
use weir_model::{Action, DesiredLoadBalancer, Diagnostic, Provider, Reason};
use weir_provider_aws::{AlbView, ListenerDefault, QuotaLimits, fit};
use weir_translate::{ClusterSnapshot, ControllerKind, translate_gateways};

/// The Gateway `name` of the base manifests plus `file`, translated for ALB, with its
/// translation and ALB diagnostics.
fn stack(file: &str, name: &str) -> (DesiredLoadBalancer, AlbView, Vec<Diagnostic>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../controller/translate/tests/fixtures/gateway-api");
    let mut snapshot = ClusterSnapshot::default();
    let class = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: weir}\nspec: {controllerName: weir.dev/aws-alb}\n";
    weir_manifests::load_str(class, Path::new("class.yaml"), &mut snapshot).unwrap();
    for file in ["base-manifests.yaml", file] {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap()
            .replace("{GATEWAY_CLASS_NAME}", "weir");
        weir_manifests::load_str(&text, Path::new(file), &mut snapshot).unwrap();
    }
    let translation = translate_gateways(&snapshot, ControllerKind::AwsAlb);
    let stack = translation
        .translation
        .stacks
        .into_iter()
        .find(|stack| {
            stack.stack.to_string() == format!("gateway:gateway-conformance-infra/{name}")
        })
        .expect("the Gateway's stack");
    let desired = stack.desired.expect("members");
    let fitted = fit(&desired, &QuotaLimits::default());
    let mut diagnostics = stack.diagnostics;
    diagnostics.extend(fitted.diagnostics);
    (desired, fitted.view, diagnostics)
}

/// ALB semantics over the rendered rules of the first listener: the first by priority whose
/// host glob, one of whose path globs and whose method condition match; else the listener's
/// default.
fn alb_answer(view: &AlbView, method: &str, host: &str, path: &str) -> String {
    let rule = view.first_match(view.listeners[0].port, host, path, |conditions| {
        (conditions.methods.is_empty() || conditions.methods.iter().any(|m| m == method))
            && conditions.headers.is_empty()
            && conditions.query.is_empty()
    });
    let action = match rule {
        Some(rule) => &rule.action,
        None => match &view.listeners[0].default {
            ListenerDefault::Action(action) => action,
            ListenerDefault::RedirectToHttps(_) => return "redirect-to-https".into(),
        },
    };
    match action {
        Action::Forward { target_group } => target_group.service.clone(),
        Action::FixedResponse { status, .. } => status.to_string(),
        other => other.to_string(),
    }
}

/// Applies `desired` to a fresh emulator and checks it converged and resyncs as a no-op.
async fn apply(desired: &DesiredLoadBalancer) {
    let emulator = Emulator::start();
    let provider = emulator.provider("gateway", None).await;
    provider.ensure(desired).await.expect("create");
    assert_converged(&provider, std::slice::from_ref(desired)).await;
    take_counts(&provider);
    provider.ensure(desired).await.expect("resync");
    assert_eq!(
        take_counts(&provider).mutating,
        0,
        "a resync changes nothing"
    );
}

fn v(n: u8) -> String {
    format!("infra-backend-v{n}")
}

fn unsupported_on_aws(diagnostics: &[Diagnostic], route: &str, field: &str) -> bool {
    diagnostics.iter().any(|d| {
        d.reason == Reason::UnsupportedByProvider
            && d.object.name == route
            && d.field == field
            && d.message.contains("unsupported on aws")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostname_intersection_and_listener_hostnames() {
    let (desired, view, diagnostics) = stack(
        "httproute-hostname-intersection.yaml",
        "httproute-hostname-intersection",
    );
    assert!(
        diagnostics
            .iter()
            .all(|d| d.object.name == "no-intersecting-hosts"),
        "{diagnostics:#?}"
    );
    apply(&desired).await;
    for (host, path, want) in [
        ("very.specific.com", "/s1", v(1)),
        ("very.specific.com:1234", "/s1", v(1)),
        ("non.matching.com", "/s1", "404".into()),
        ("foo.wildcard.io", "/s1", "404".into()),
        ("foo.wildcard.io", "/s2", v(2)),
        ("foo.bar.wildcard.io", "/s2", v(2)),
        ("wildcard.io", "/s2", "404".into()),
        ("very.specific.com", "/s3", v(3)),
        ("foo.specific.com", "/s3", "404".into()),
        ("foo.anotherwildcard.io", "/s4", v(1)),
        ("foo.bar.anotherwildcard.io", "/s4", v(1)),
        ("anotherwildcard.io", "/s4", "404".into()),
        ("very.specific.com", "/s4", "404".into()),
        ("specific.but.wrong.com", "/s5", "404".into()),
    ] {
        assert_eq!(alb_answer(&view, "GET", host, path), want, "{host}{path}");
    }

    let (desired, view, diagnostics) = stack(
        "httproute-listener-hostname-matching.yaml",
        "httproute-listener-hostname-matching",
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    apply(&desired).await;
    for (host, want) in [
        ("bar.com", v(1)),
        ("foo.bar.com", v(2)),
        ("baz.bar.com", v(3)),
        ("multiple.prefixes.bar.com", v(3)),
        ("multiple.prefixes.foo.com", v(3)),
        ("foo.com", "404".into()),
        ("no.matching.host", "404".into()),
    ] {
        assert_eq!(alb_answer(&view, "GET", host, "/"), want, "{host}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_methods_and_weights() {
    let (desired, view, diagnostics) =
        stack("httproute-simple-same-namespace.yaml", "same-namespace");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    apply(&desired).await;
    assert_eq!(alb_answer(&view, "GET", "gw", "/"), v(1));

    // ALB compares header values case-insensitively: Gateway's exact header matches are left
    // out and named; the path-only matches are served.
    let (desired, view, diagnostics) = stack("httproute-matching.yaml", "same-namespace");
    assert!(
        unsupported_on_aws(&diagnostics, "matching", "spec.rules[0].matches[1]"),
        "{diagnostics:#?}"
    );
    apply(&desired).await;
    for (path, want) in [
        ("/", 1),
        ("/example", 1),
        ("/v2", 2),
        ("/v2/example", 2),
        ("/v2example", 1),
    ] {
        assert_eq!(alb_answer(&view, "GET", "gw", path), v(want), "{path}");
    }

    let (desired, view, diagnostics) = stack("httproute-method-matching.yaml", "same-namespace");
    assert!(
        unsupported_on_aws(&diagnostics, "method-matching", "spec.rules[3].matches[0]"),
        "{diagnostics:#?}"
    );
    apply(&desired).await;
    for (method, path, want) in [
        ("POST", "/", v(1)),
        ("GET", "/", v(2)),
        ("HEAD", "/", "404".into()),
        ("GET", "/path1", v(1)),
        ("PATCH", "/path3", v(1)),
        ("PATCH", "/path5", v(1)),
    ] {
        assert_eq!(
            alb_answer(&view, method, "gw", path),
            want,
            "{method} {path}"
        );
    }

    let (desired, view, diagnostics) = stack("httproute-weight.yaml", "same-namespace");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    apply(&desired).await;
    let Action::WeightedForward { targets } = &view.rules[0].action else {
        panic!("{:?}", view.rules[0].action);
    };
    let weights: Vec<u32> = targets.iter().map(|target| target.weight).collect();
    assert_eq!(weights, [70, 30]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_filters_alb_lacks() {
    let (desired, view, diagnostics) =
        stack("httproute-redirect-host-and-status.yaml", "same-namespace");
    apply(&desired).await;
    let redirects: Vec<String> = view
        .rules
        .iter()
        .filter_map(|rule| match &rule.action {
            Action::Redirect(redirect) => Some(format!("{} {}", rule.paths.join(","), redirect)),
            _ => None,
        })
        .collect();
    assert!(
        redirects.iter().any(|r| r.contains("/hostname-redirect")
            && r.contains("302")
            && r.contains("example.org")),
        "{redirects:?} {diagnostics:#?}"
    );
    for file in [
        "httproute-request-header-modifier.yaml",
        "httproute-rewrite-path.yaml",
    ] {
        let (_, view, diagnostics) = stack(file, "same-namespace");
        assert!(
            diagnostics
                .iter()
                .any(|d| d.message.contains("unsupported on aws")),
            "{file}: {diagnostics:#?}"
        );
        assert!(view.rules.iter().all(|rule| rule.host.is_none()), "{file}");
    }
}
