//! Rules beyond host and path against the emulator: http-header, http-request-method,
//! query-string and source-ip conditions, weighted forwards, fixed responses with a body and
//! redirects are created as rendered, described back equal (a second run changes nothing), and
//! what ALB cannot express is left out with a warning while the rest applies.

use localstack_tests::{Emulator, assert_converged, take_counts, translated};
use weir_model::{Provider, Reason, Severity};
use weir_provider_aws::{ActionSpec, Op};

const YAML: &str = r#"
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: weir-alb}
spec: {controller: weir.dev/aws-alb}
---
apiVersion: v1
kind: Service
metadata: {name: blue, namespace: test}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: green, namespace: test}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: routes
  namespace: test
  annotations:
    alb.ingress.kubernetes.io/conditions.green: >
      [{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Version","values":["v2*"]}},
       {"field":"http-request-method","httpRequestMethodConfig":{"values":["GET"]}},
       {"field":"query-string","queryStringConfig":{"values":[{"key":"canary","value":"1"}]}},
       {"field":"source-ip","sourceIpConfig":{"values":["10.0.0.0/8"]}}]
    alb.ingress.kubernetes.io/actions.split: >
      {"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"blue","servicePort":80,"weight":90},{"serviceName":"green","servicePort":80,"weight":10}]}}
    alb.ingress.kubernetes.io/actions.teapot: >
      {"type":"fixed-response","fixedResponseConfig":{"contentType":"application/json","statusCode":"418","messageBody":"{\"tea\":true}"}}
    alb.ingress.kubernetes.io/actions.moved: >
      {"type":"redirect","redirectConfig":{"host":"new.example.com","path":"/landing","protocol":"HTTPS","statusCode":"HTTP_302"}}
spec:
  ingressClassName: weir-alb
  rules:
    # Host-less: the conditional rule then holds exactly ALB's five values (path, header,
    # method, query, source-ip).
    - http:
        paths:
          - {path: /api, pathType: Exact, backend: {service: {name: green, port: {number: 80}}}}
          - {path: /api, pathType: Exact, backend: {service: {name: blue, port: {number: 80}}}}
          - {path: /split, pathType: Exact, backend: {service: {name: split, port: {name: use-annotation}}}}
          - {path: /teapot, pathType: Exact, backend: {service: {name: teapot, port: {name: use-annotation}}}}
          - {path: /moved, pathType: Exact, backend: {service: {name: moved, port: {name: use-annotation}}}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_and_actions_are_created_and_read_back_unchanged() {
    let (desired, diagnostics) = translated(YAML);
    assert!(
        diagnostics.iter().all(|d| d.severity != Severity::Error),
        "{diagnostics:#?}"
    );
    let emulator = Emulator::start();
    let provider = emulator.provider("conditions", None).await;
    provider.ensure(&desired[0]).await.expect("create");
    assert_converged(&provider, &desired).await;
    take_counts(&provider);
    provider.ensure(&desired[0]).await.expect("resync");
    let counts = take_counts(&provider);
    assert_eq!(counts.mutating, 0, "a resync changes nothing: {counts}");

    let plan = provider.plan_ensure(&desired[0]).await.expect("plan");
    let http = &plan.observed.listeners[0];
    let mut rules = http.rules.clone();
    rules.sort_by_key(|rule| rule.priority);
    // Exact paths longest first; of the two /api rules the conditional one first.
    let api: Vec<_> = rules
        .iter()
        .filter(|rule| rule.conditions.paths == ["/api"])
        .collect();
    assert_eq!(api.len(), 2, "{rules:#?}");
    let conditional = api[0];
    assert_eq!(conditional.conditions.matches.methods, ["GET"]);
    assert_eq!(
        conditional.conditions.matches.headers,
        [("x-version".to_owned(), vec!["v2*".to_owned()])]
    );
    assert_eq!(
        conditional.conditions.matches.query,
        [vec![(Some("canary".to_owned()), "1".to_owned())]]
    );
    assert_eq!(conditional.conditions.matches.source_ips, ["10.0.0.0/8"]);
    assert!(api[1].conditions.matches.is_empty(), "{rules:#?}");
    let actions: Vec<&ActionSpec> = rules.iter().map(|rule| &rule.action).collect();
    assert!(
        actions
            .iter()
            .any(|action| matches!(action, ActionSpec::Weighted(targets) if targets.len() == 2)),
        "{actions:#?}"
    );
    assert!(
        actions.iter().any(|action| matches!(
            action,
            ActionSpec::Respond(fixed) if fixed.status == 418 && fixed.body == r#"{"tea":true}"#
        )),
        "{actions:#?}"
    );
    assert!(
        actions.iter().any(|action| matches!(
            action,
            ActionSpec::Redirect(redirect)
                if redirect.host == "new.example.com" && redirect.port == "443" && redirect.status == 302
        )),
        "{actions:#?}"
    );

    // A weight changes: that one rule is modified in place.
    let changed = YAML.replace("\"weight\":10", "\"weight\":30");
    let (desired, _) = translated(&changed);
    provider.ensure(&desired[0]).await.expect("change");
    let counts = take_counts(&provider);
    assert_eq!(counts.by_op.get(&Op::ModifyRule), Some(&1), "{counts}");
    assert_converged(&provider, &desired).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_alb_cannot_express_is_left_out_with_a_warning() {
    // A redirect whose status becomes 307 (ALB: 301 and 302 only).
    let yaml = YAML.replace(
        "spec:\n  ingressClassName",
        "    weir.dev/actions.temp: '{\"type\":\"redirect\",\"redirectConfig\":{\"path\":\"/t\",\"statusCode\":\"HTTP_302\"}}'\nspec:\n  ingressClassName",
    ) + "          - {path: /temp, pathType: Exact, backend: {service: {name: temp, port: {name: use-annotation}}}}\n";
    let (mut desired, _) = translated(&yaml);
    // A status no Ingress annotation produces (Gateway API's RequestRedirect does).
    for route in &mut desired[0].virtual_hosts[0].routes {
        if route.path.path == "/temp"
            && let weir_model::Action::Redirect(redirect) = &mut route.action
        {
            redirect.status = 307;
        }
    }
    let fitted = weir_provider_aws::fit(&desired[0], &weir_provider_aws::QuotaLimits::default());
    let warning = fitted
        .diagnostics
        .iter()
        .find(|d| d.reason == Reason::UnsupportedByProvider)
        .expect("a warning");
    assert_eq!(warning.severity, Severity::Warning);
    assert!(warning.message.contains("unsupported on aws"), "{warning}");
    assert!(warning.message.contains("307"), "{warning}");
    assert!(fitted.applies());
    assert_eq!(fitted.view.rules.len(), 5, "{:#?}", fitted.view.rules);

    let emulator = Emulator::start();
    let provider = emulator.provider("unsupported", None).await;
    provider
        .ensure(&desired[0])
        .await
        .expect("the rest applies");
    assert_converged(&provider, &desired).await;
}
