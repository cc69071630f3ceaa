//! Translate 1,000 Ingresses x 5 rules, with their Services and EndpointSlices (3 pods each),
//! as one merged proxy stack and as 1,000 ALB stacks. Target: under 100 ms for the whole set.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use weir_translate::{ClusterSnapshot, ControllerKind, KubeObject, TranslateConfig, translate};

const INGRESSES: usize = 1_000;
const RULES_PER_INGRESS: usize = 5;

fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Box<T> {
    Box::new(serde_json::from_value(value).expect("valid object"))
}

fn snapshot(class: &str) -> ClusterSnapshot {
    let mut snapshot = ClusterSnapshot::default();
    let controller = match class {
        "weir" => "weir.dev/localproxy",
        _ => "weir.dev/aws-alb",
    };
    snapshot.insert(KubeObject::IngressClass(object(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": class}, "spec": {"controller": controller},
    }))));
    for i in 0..INGRESSES {
        let namespace = format!("team-{}", i % 50);
        let service = format!("svc-{i}");
        let rules: Vec<_> = (0..RULES_PER_INGRESS)
            .map(|r| {
                json!({"host": format!("app-{i}-{r}.example.com"), "http": {"paths": [
                    {"path": format!("/api/v{r}"), "pathType": "Prefix",
                     "backend": {"service": {"name": service, "port": {"name": "http"}}}},
                ]}})
            })
            .collect();
        snapshot.insert(KubeObject::Ingress(object(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": format!("ing-{i}"), "namespace": namespace},
            "spec": {"ingressClassName": class, "rules": rules},
        }))));
        snapshot.insert(KubeObject::Service(object(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": service, "namespace": namespace},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web"}]},
        }))));
        let endpoints: Vec<_> = (0..3)
            .map(|p| json!({"addresses": [format!("10.{}.{}.{p}", i / 250, i % 250)], "conditions": {"ready": true}}))
            .collect();
        snapshot.insert(KubeObject::EndpointSlice(object(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{service}-x"), "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": endpoints,
        }))));
    }
    snapshot
}

fn bench(c: &mut Criterion) {
    let proxy = snapshot("weir");
    let proxy_config = TranslateConfig::for_controller(ControllerKind::LocalProxy);
    assert_eq!(
        translate(&proxy, &proxy_config).stacks[0]
            .desired
            .as_ref()
            .map(|d| d.routes().count()),
        Some(INGRESSES * RULES_PER_INGRESS)
    );
    c.bench_function("translate 1000 ingresses x 5 rules, one proxy stack", |b| {
        b.iter(|| translate(black_box(&proxy), &proxy_config))
    });

    let alb = snapshot("weir-alb");
    let alb_config = TranslateConfig::for_controller(ControllerKind::AwsAlb);
    assert_eq!(translate(&alb, &alb_config).stacks.len(), INGRESSES);
    c.bench_function("translate 1000 ingresses x 5 rules, 1000 ALB stacks", |b| {
        b.iter(|| translate(black_box(&alb), &alb_config))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
