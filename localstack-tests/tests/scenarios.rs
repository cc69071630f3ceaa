//! Rule changes, Secret import and rotation, groups merged and split, against the emulator.

use localstack_tests::{
    Emulator, Fixture, Ingress, assert_converged, owned, self_signed, take_counts,
};
use weir_model::Provider;
use weir_provider_aws::Op;

fn shop() -> Fixture {
    let mut fixture = Fixture::with_rules(0);
    fixture.ingresses = vec![Ingress::new(
        "shop",
        "shop.example.com",
        &[("/a", "svc0"), ("/b", "svc1"), ("/c", "svc2")],
    )];
    fixture
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_added_changed_reordered_and_removed() {
    let emulator = Emulator::start();
    let provider = emulator.provider("rules", None).await;
    let mut fixture = shop();
    provider
        .reconcile_all(&fixture.desired())
        .await
        .expect("create");
    assert_converged(&provider, &fixture.desired()).await;
    take_counts(&provider);

    // Add a rule that sorts first (longer prefix): created, then one move of the others.
    fixture.ingresses[0]
        .paths
        .insert(0, ("/a/deeper".into(), "Prefix".into(), "svc3".into()));
    let outcomes = provider
        .reconcile_all(&fixture.desired())
        .await
        .expect("add");
    assert!(
        outcomes.iter().all(|outcome| outcome.result.is_ok()),
        "{outcomes:?}"
    );
    let counts = take_counts(&provider);
    assert_converged(&provider, &fixture.desired()).await;
    assert_eq!(counts.by_op.get(&Op::CreateRule), Some(&1), "{counts}");
    assert_eq!(counts.by_op.get(&Op::DeleteRule), None, "{counts}");
    take_counts(&provider);

    // Change a backend: the rule is modified in place.
    fixture.ingresses[0].paths[2].2 = "svc4".into();
    provider
        .reconcile_all(&fixture.desired())
        .await
        .expect("change");
    let counts = take_counts(&provider);
    assert_converged(&provider, &fixture.desired()).await;
    assert_eq!(counts.by_op.get(&Op::ModifyRule), Some(&1), "{counts}");
    assert_eq!(counts.by_op.get(&Op::CreateRule), None, "{counts}");
    take_counts(&provider);

    // Reorder: /c becomes Exact, which sorts before every Prefix path.
    fixture.ingresses[0].paths[3].1 = "Exact".into();
    provider
        .reconcile_all(&fixture.desired())
        .await
        .expect("reorder");
    assert_converged(&provider, &fixture.desired()).await;
    let counts = take_counts(&provider);
    assert!(
        counts.by_op.contains_key(&Op::SetRulePriorities),
        "{counts}"
    );

    // Remove two rules: deleted after the survivors moved.
    fixture.ingresses[0].paths.truncate(2);
    provider
        .reconcile_all(&fixture.desired())
        .await
        .expect("remove");
    assert_converged(&provider, &fixture.desired()).await;
    let counts = take_counts(&provider);
    assert_eq!(counts.by_op.get(&Op::DeleteRule), Some(&2), "{counts}");
    assert!(
        counts.by_op.contains_key(&Op::DeleteTargetGroup),
        "unused target groups go: {counts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_imported_rotated_in_place_and_deleted_when_unused() {
    let emulator = Emulator::start();
    let provider = emulator.provider("tls", None).await;
    let mut fixture = shop();
    fixture.ingresses[0].tls_secret = Some("shop-tls".into());
    fixture
        .secrets
        .insert("shop-tls".into(), self_signed("shop.example.com"));
    let desired = fixture.desired();
    assert!(
        desired[0].listeners.contains_key(&443),
        "HTTPS listener from spec.tls"
    );
    provider.ensure(&desired[0]).await.expect("create with TLS");
    assert_converged(&provider, &desired).await;
    let stack = desired[0].stack.to_string();
    assert_eq!(owned(&provider).await.certificates.get(&stack), Some(&1));
    let plan = provider.plan_ensure(&desired[0]).await.expect("plan");
    let https = plan
        .observed
        .listeners
        .iter()
        .find(|listener| listener.info.port == 443)
        .expect("HTTPS listener");
    let imported = &plan.observed.certificates[0].arn;
    assert_eq!(https.certificates, [(imported.clone(), true)]);
    take_counts(&provider);

    // Rotation: re-imported into the same certificate; the listener is untouched.
    fixture
        .secrets
        .insert("shop-tls".into(), self_signed("shop.example.com"));
    let rotated = fixture.desired();
    provider.ensure(&rotated[0]).await.expect("rotate");
    let counts = take_counts(&provider);
    assert_eq!(
        counts.by_op.get(&Op::ImportCertificate),
        Some(&1),
        "{counts}"
    );
    assert_eq!(
        counts.by_op.get(&Op::AddTagsToCertificate),
        Some(&1),
        "{counts}"
    );
    assert_eq!(counts.mutating, 2, "{counts}");
    assert_converged(&provider, &rotated).await;
    let plan = provider.plan_ensure(&rotated[0]).await.expect("plan");
    assert_eq!(&plan.observed.certificates[0].arn, imported, "same ARN");

    // TLS removed: the HTTPS listener and the import go.
    fixture.ingresses[0].tls_secret = None;
    fixture.secrets.clear();
    let plain = fixture.desired();
    provider.ensure(&plain[0]).await.expect("drop TLS");
    assert_converged(&provider, &plain).await;
    assert_eq!(owned(&provider).await.certificates.get(&stack), None);

    provider.reconcile_all(&[]).await.expect("delete all");
    assert!(owned(&provider).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ingresses_merge_into_a_group_and_split_again() {
    let emulator = Emulator::start();
    let provider = emulator.provider("groups", None).await;
    let mut fixture = Fixture::with_rules(0);
    fixture.ingresses = vec![
        Ingress::new("one", "one.example.com", &[("/", "svc0")]),
        Ingress::new("two", "two.example.com", &[("/", "svc1"), ("/api", "svc2")]),
    ];
    let apart = fixture.desired();
    assert_eq!(apart.len(), 2);
    provider.reconcile_all(&apart).await.expect("two stacks");
    assert_converged(&provider, &apart).await;

    for ingress in &mut fixture.ingresses {
        ingress.group = Some("shared".into());
    }
    let merged = fixture.desired();
    assert_eq!(merged.len(), 1);
    let outcomes = provider.reconcile_all(&merged).await.expect("merge");
    assert!(
        outcomes.iter().all(|outcome| outcome.result.is_ok()),
        "{outcomes:?}"
    );
    assert_converged(&provider, &merged).await;
    assert_eq!(owned(&provider).await.load_balancers.len(), 1);

    for ingress in &mut fixture.ingresses {
        ingress.group = None;
    }
    provider.reconcile_all(&apart).await.expect("split");
    assert_converged(&provider, &apart).await;
    assert_eq!(owned(&provider).await.load_balancers.len(), 2);

    provider.reconcile_all(&[]).await.expect("delete all");
    assert!(
        owned(&provider).await.is_empty(),
        "zero weir-tagged resources left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_stack_twice_and_an_unknown_stack_is_fine() {
    let emulator = Emulator::start();
    let provider = emulator.provider("absent", None).await;
    let desired = shop().desired();
    provider
        .delete(&desired[0].stack)
        .await
        .expect("delete absent");
    assert_eq!(take_counts(&provider).mutating, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acm_discovery_picks_the_most_specific_certificate_and_never_touches_it() {
    let emulator = Emulator::start();
    let acm = aws_sdk_acm::Client::new(&emulator.sdk_config().await);
    let mut arns = Vec::new();
    for host in ["*.example.com", "shop.example.com", "other.example.org"] {
        let (chain, key) = self_signed(host);
        let imported = acm
            .import_certificate()
            .certificate(aws_sdk_acm::primitives::Blob::new(chain))
            .private_key(aws_sdk_acm::primitives::Blob::new(key))
            .send()
            .await
            .expect("a certificate someone else imported");
        arns.push(imported.certificate_arn().expect("ARN").to_owned());
    }
    let provider = emulator.provider("discovery", None).await;
    let mut fixture = shop();
    fixture.ingresses[0].discover_tls = true;
    let desired = fixture.desired();
    provider.ensure(&desired[0]).await.expect("create");
    assert_converged(&provider, &desired).await;
    let plan = provider.plan_ensure(&desired[0]).await.expect("plan");
    let https = plan
        .observed
        .listeners
        .iter()
        .find(|listener| listener.info.port == 443)
        .expect("HTTPS listener");
    assert_eq!(
        https.certificates,
        [(arns[1].clone(), true)],
        "exact beats wildcard"
    );
    assert!(plan.observed.certificates.is_empty(), "nothing imported");

    provider.reconcile_all(&[]).await.expect("delete");
    assert!(owned(&provider).await.is_empty());
    let listed = acm.list_certificates().send().await.expect("list");
    assert_eq!(
        listed.certificate_summary_list().len(),
        3,
        "certificates weir does not own stay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_annotations_are_set_and_changed_in_place() {
    let emulator = Emulator::start();
    let provider = emulator.provider("health", None).await;
    let mut fixture = shop();
    let annotations = &mut fixture.ingresses[0].annotations;
    annotations.insert("weir.dev/healthcheck-path".into(), "/healthz".into());
    annotations.insert(
        "alb.ingress.kubernetes.io/success-codes".into(),
        "200-299".into(),
    );
    let desired = fixture.desired();
    provider.ensure(&desired[0]).await.expect("create");
    assert_converged(&provider, &desired).await;
    let plan = provider.plan_ensure(&desired[0]).await.expect("plan");
    for group in &plan.observed.target_groups {
        assert_eq!(group.info.health.path.as_deref(), Some("/healthz"));
        assert_eq!(group.info.health.success_codes.as_deref(), Some("200-299"));
    }
    take_counts(&provider);

    fixture.ingresses[0]
        .annotations
        .insert("weir.dev/healthcheck-path".into(), "/ready".into());
    let changed = fixture.desired();
    provider.ensure(&changed[0]).await.expect("change");
    let counts = take_counts(&provider);
    assert_eq!(
        counts.by_op.get(&Op::ModifyTargetGroup),
        Some(&3),
        "{counts}"
    );
    assert_eq!(counts.mutating, 3, "{counts}");
    assert_converged(&provider, &changed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untagged_load_balancer_is_never_touched() {
    let emulator = Emulator::start();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&emulator.sdk_config().await);
    let foreign = elb
        .create_load_balancer()
        .name("someone-elses")
        .set_subnets(Some(emulator.subnets().to_vec()))
        .send()
        .await
        .expect("a load balancer weir does not own");
    let foreign_arn = foreign.load_balancers()[0]
        .load_balancer_arn()
        .expect("ARN")
        .to_owned();
    let provider = emulator.provider("foreign", None).await;
    let desired = shop().desired();
    provider.reconcile_all(&desired).await.expect("create");
    assert_converged(&provider, &desired).await;
    provider.reconcile_all(&[]).await.expect("delete");
    assert!(owned(&provider).await.is_empty());
    let still = elb
        .describe_load_balancers()
        .load_balancer_arns(&foreign_arn)
        .send()
        .await
        .expect("the foreign load balancer is still there");
    assert_eq!(still.load_balancers().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_redirect_listeners_redirect_and_carry_no_rules() {
    let emulator = Emulator::start();
    let provider = emulator.provider("redirect", None).await;
    let mut fixture = shop();
    fixture.ingresses[0].tls_secret = Some("shop-tls".into());
    fixture
        .secrets
        .insert("shop-tls".into(), self_signed("shop.example.com"));
    fixture.ingresses[0]
        .annotations
        .insert("weir.dev/ssl-redirect".into(), "443".into());
    let desired = fixture.desired();
    provider.ensure(&desired[0]).await.expect("create");
    assert_converged(&provider, &desired).await;
    let plan = provider.plan_ensure(&desired[0]).await.expect("plan");
    let http = plan
        .observed
        .listeners
        .iter()
        .find(|listener| listener.info.port == 80)
        .expect("HTTP listener");
    assert_eq!(
        http.info.default_action,
        weir_provider_aws::ActionSpec::RedirectHttps(443)
    );
    assert!(http.rules.is_empty());
    let https = plan
        .observed
        .listeners
        .iter()
        .find(|listener| listener.info.port == 443)
        .expect("HTTPS listener");
    assert_eq!(https.rules.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_certificates_are_added_and_removed_beside_the_default() {
    let emulator = Emulator::start();
    let provider = emulator.provider("sni", None).await;
    let mut fixture = Fixture::with_rules(0);
    fixture.ingresses = vec![
        Ingress::new("a", "a.example.com", &[("/", "svc0")]),
        Ingress::new("b", "b.example.com", &[("/", "svc1")]),
    ];
    for (ingress, secret) in fixture.ingresses.iter_mut().zip(["a-tls", "b-tls"]) {
        ingress.group = Some("pair".into());
        ingress.tls_secret = Some(secret.into());
    }
    fixture
        .secrets
        .insert("a-tls".into(), self_signed("a.example.com"));
    fixture
        .secrets
        .insert("b-tls".into(), self_signed("b.example.com"));
    let both = fixture.desired();
    provider.ensure(&both[0]).await.expect("create");
    assert_converged(&provider, &both).await;
    let plan = provider.plan_ensure(&both[0]).await.expect("plan");
    let https = plan
        .observed
        .listeners
        .iter()
        .find(|listener| listener.info.port == 443)
        .expect("HTTPS listener");
    let defaults: Vec<bool> = https
        .certificates
        .iter()
        .map(|(_, is_default)| *is_default)
        .collect();
    assert_eq!(
        defaults.iter().filter(|is_default| **is_default).count(),
        1,
        "{https:?}"
    );
    assert_eq!(
        https.certificates.len(),
        2,
        "default plus one SNI certificate: {https:?}"
    );
    take_counts(&provider);

    fixture.ingresses[1].tls_secret = None;
    fixture.secrets.remove("b-tls");
    let one = fixture.desired();
    provider.ensure(&one[0]).await.expect("drop one");
    let counts = take_counts(&provider);
    assert_eq!(
        counts.by_op.get(&Op::RemoveListenerCertificates),
        Some(&1),
        "{counts}"
    );
    assert_eq!(
        counts.by_op.get(&Op::DeleteCertificate),
        Some(&1),
        "{counts}"
    );
    assert_converged(&provider, &one).await;
    assert_eq!(
        owned(&provider)
            .await
            .certificates
            .get(&one[0].stack.to_string()),
        Some(&1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_tag_index_causes_no_duplicates() {
    let emulator = Emulator::start();
    let api = localstack_tests::LaggingIndex::new(emulator.sdk_api().await);
    let lagging = weir_provider_aws::AwsProvider::new(
        weir_provider_aws::Client::new(api, Emulator::client_options()),
        "lagging",
        emulator.defaults(),
    );
    let mut fixture = shop();
    fixture.ingresses[0].tls_secret = Some("shop-tls".into());
    fixture
        .secrets
        .insert("shop-tls".into(), self_signed("shop.example.com"));
    let desired = fixture.desired();
    let first = lagging.ensure(&desired[0]).await.expect("create");
    take_counts(&lagging);
    let second = lagging
        .ensure(&desired[0])
        .await
        .expect("resync before the index caught up");
    let counts = take_counts(&lagging);
    assert_eq!(first, second);
    assert_eq!(counts.mutating, 0, "{counts}");

    let honest = emulator.provider("lagging", None).await;
    assert_converged(&honest, &desired).await;
    lagging.reconcile_all(&[]).await.expect("delete");
    assert!(owned(&honest).await.is_empty());
}
