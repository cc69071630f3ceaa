//! One bad Ingress never fails its group, against the emulator: each scenario puts a bad
//! Ingress beside a good one in group `g`; the good one is routed, the bad one is named in a
//! Diagnostic, and whatever the bad one cannot have is left out.

use localstack_tests::{
    Emulator, Fixture, Ingress, assert_converged, self_signed, take_counts, translated,
};
use weir_model::{Diagnostic, Provider, Reason, Severity};
use weir_provider_aws::{AwsApi, AwsProvider, Op, StackPlan};

const MISSING_ARN: &str =
    "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-00000000dead";

/// `good` on good.example.com and `bad` (with `annotations`) on bad.example.com, in group `g`.
fn group(bad_annotations: &[(&str, &str)]) -> Fixture {
    let mut fixture = Fixture::with_rules(0);
    let mut good = Ingress::new("good", "good.example.com", &[("/a", "svc0")]);
    good.group = Some("g".into());
    good.annotations
        .insert("weir.dev/group.order".into(), "1".into());
    let mut bad = Ingress::new("bad", "bad.example.com", &[("/b", "svc1")]);
    bad.group = Some("g".into());
    bad.annotations
        .insert("weir.dev/group.order".into(), "2".into());
    for (key, value) in bad_annotations {
        bad.annotations.insert((*key).into(), (*value).into());
    }
    fixture.ingresses = vec![good, bad];
    fixture
}

fn hosts_on(plan: &StackPlan, port: u16) -> Vec<String> {
    let listener = plan
        .observed
        .listeners
        .iter()
        .find(|listener| listener.info.port == port)
        .unwrap_or_else(|| panic!("a listener on {port}: {:#?}", plan.observed.listeners));
    let mut hosts: Vec<String> = listener
        .rules
        .iter()
        .filter_map(|rule| rule.conditions.host.clone())
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn names_bad(diagnostics: &[Diagnostic], field: &str) -> bool {
    diagnostics
        .iter()
        .any(|diagnostic| diagnostic.object.name == "bad" && diagnostic.field == field)
}

async fn plan<A: AwsApi>(
    provider: &AwsProvider<A>,
    desired: &weir_model::DesiredLoadBalancer,
) -> StackPlan {
    provider.plan_ensure(desired).await.expect("plan")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelled_scheme_is_named_and_never_sent() {
    let emulator = Emulator::start();
    let provider = emulator.provider("bad-scheme", None).await;
    let fixture = group(&[("weir.dev/scheme", "internet-facin")]);
    let (desired, diagnostics) = translated(&fixture.yaml());
    assert!(
        names_bad(&diagnostics, "metadata.annotations[weir.dev/scheme]"),
        "{diagnostics:#?}"
    );
    let outcomes = provider.reconcile_all(&desired).await.expect("reconcile");
    assert!(
        outcomes
            .iter()
            .all(|outcome| outcome.result.is_ok() && outcome.left_out.is_empty()),
        "{outcomes:?}"
    );
    assert_converged(&provider, &desired).await;
    let plan = plan(&provider, &desired[0]).await;
    assert_eq!(plan.observed.load_balancers[0].scheme, "internet-facing");
    assert_eq!(
        hosts_on(&plan, 80),
        ["bad.example.com", "good.example.com"],
        "both routed; only the bad value was left out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_health_check_values_are_named_and_the_defaults_apply() {
    let emulator = Emulator::start();
    let provider = emulator.provider("bad-health", None).await;
    let fixture = group(&[
        ("weir.dev/healthcheck-path", "health"),
        ("weir.dev/healthcheck-interval-seconds", "-5"),
        (
            "alb.ingress.kubernetes.io/healthcheck-timeout-seconds",
            "9999",
        ),
    ]);
    let (desired, diagnostics) = translated(&fixture.yaml());
    for field in [
        "metadata.annotations[weir.dev/healthcheck-path]",
        "metadata.annotations[weir.dev/healthcheck-interval-seconds]",
        "metadata.annotations[alb.ingress.kubernetes.io/healthcheck-timeout-seconds]",
    ] {
        assert!(names_bad(&diagnostics, field), "{field}: {diagnostics:#?}");
    }
    let outcomes = provider.reconcile_all(&desired).await.expect("reconcile");
    assert!(
        outcomes.iter().all(|outcome| outcome.result.is_ok()),
        "{outcomes:?}"
    );
    assert_converged(&provider, &desired).await;
    let plan = plan(&provider, &desired[0]).await;
    assert_eq!(hosts_on(&plan, 80), ["bad.example.com", "good.example.com"]);
    for group in &plan.observed.target_groups {
        let health = &group.info.health;
        assert_ne!(health.path.as_deref(), Some("health"), "{health:?}");
        assert_ne!(health.timeout_seconds, Some(9999), "{health:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_certificate_is_a_spec_error_on_its_ingress_and_the_rest_applies() {
    let emulator = Emulator::start();
    let acm = aws_sdk_acm::Client::new(&emulator.sdk_config().await);
    let (chain, key) = self_signed("good.example.com");
    let existing = acm
        .import_certificate()
        .certificate(aws_sdk_acm::primitives::Blob::new(chain))
        .private_key(aws_sdk_acm::primitives::Blob::new(key))
        .send()
        .await
        .expect("import")
        .certificate_arn()
        .expect("ARN")
        .to_owned();
    let provider = emulator.provider("bad-certificate", None).await;
    let mut fixture = group(&[("alb.ingress.kubernetes.io/certificate-arn", MISSING_ARN)]);
    fixture.ingresses[0]
        .annotations
        .insert("weir.dev/certificate-arn".into(), existing.clone());
    let (desired, _) = translated(&fixture.yaml());

    let outcomes = provider.reconcile_all(&desired).await.expect("reconcile");
    let counts = take_counts(&provider);
    let outcome = &outcomes[0];
    assert!(outcome.result.is_ok(), "{outcome:?}");
    assert!(
        names_bad(&outcome.left_out, "metadata.annotations[certificate-arn]"),
        "{outcome:?}"
    );
    assert!(
        outcome
            .left_out
            .iter()
            .all(|problem| problem.object.name == "bad"
                && problem.reason == Reason::CertificateUnusable
                && problem.severity == Severity::Error
                && problem.message.contains(MISSING_ARN)),
        "{outcome:?}"
    );
    assert_eq!(
        counts.by_op.get(&Op::DescribeCertificate),
        Some(&2),
        "each certificate-arn described once: {counts}"
    );
    let plan = plan(&provider, &desired[0]).await;
    assert!(plan.steps.is_empty(), "converged: {:#?}", plan.steps);
    let https = plan
        .observed
        .listeners
        .iter()
        .find(|listener| listener.info.port == 443)
        .expect("HTTPS listener");
    assert_eq!(
        https.certificates,
        [(existing, true)],
        "the certificate that exists"
    );
    assert_eq!(hosts_on(&plan, 80), ["bad.example.com", "good.example.com"]);
    assert_eq!(
        hosts_on(&plan, 443),
        ["bad.example.com", "good.example.com"]
    );

    // The controller's view: the rest applied, with what was left out named on its Ingress.
    take_counts(&provider);
    let status = provider
        .ensure(&desired[0])
        .await
        .expect("the rest applies");
    assert!(
        !status.addresses.is_empty(),
        "the good Ingress gets an address"
    );
    assert!(
        names_bad(&status.left_out, "metadata.annotations[certificate-arn]"),
        "{status:?}"
    );
    assert_eq!(
        take_counts(&provider).mutating,
        0,
        "a resync changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_usable_certificate_the_https_listener_waits_and_http_routes() {
    let emulator = Emulator::start();
    let provider = emulator.provider("waiting-https", None).await;
    let fixture = group(&[("weir.dev/certificate-arn", MISSING_ARN)]);
    let (desired, _) = translated(&fixture.yaml());
    assert!(desired[0].listeners.contains_key(&443));

    let status = provider
        .ensure(&desired[0])
        .await
        .expect("the HTTP side applies; the missing certificate is left out");
    assert!(
        names_bad(&status.left_out, "metadata.annotations[certificate-arn]"),
        "{status:?}"
    );
    assert!(
        status
            .left_out
            .iter()
            .all(|diagnostic| diagnostic.object.name == "bad"),
        "the good Ingress is never blamed: {status:?}"
    );
    let plan = plan(&provider, &desired[0]).await;
    assert!(plan.steps.is_empty(), "{:#?}", plan.steps);
    assert_eq!(
        plan.observed
            .listeners
            .iter()
            .map(|listener| listener.info.port)
            .collect::<Vec<_>>(),
        [80],
        "the HTTPS listener waits"
    );
    assert_eq!(hosts_on(&plan, 80), ["bad.example.com", "good.example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_over_the_rule_quota_is_left_out_and_the_others_apply() {
    let emulator = Emulator::start();
    let provider = emulator.provider("over-quota", None).await;
    let mut fixture = group(&[]);
    fixture.ingresses[1].paths = (0..101)
        .map(|index| (format!("/r{index:03}"), "Exact".into(), "svc1".into()))
        .collect();
    let (desired, _) = translated(&fixture.yaml());

    let outcomes = provider.reconcile_all(&desired).await.expect("reconcile");
    let outcome = &outcomes[0];
    assert!(outcome.result.is_ok(), "{outcome:?}");
    assert_eq!(outcome.left_out.len(), 1, "{outcome:?}");
    let problem = &outcome.left_out[0];
    assert_eq!(problem.object.name, "bad");
    assert_eq!(problem.reason, Reason::QuotaExceeded);
    let plan = plan(&provider, &desired[0]).await;
    assert!(plan.steps.is_empty(), "{:#?}", plan.steps);
    assert_eq!(hosts_on(&plan, 80), ["good.example.com"]);
    assert_eq!(
        plan.observed.target_groups.len(),
        1,
        "only the good member's target group"
    );
}
