//! Leader election end to end: two `weir-controller run` processes against a real kube-apiserver
//! and moto; the leader is killed with SIGKILL in the middle of creating load balancers, the
//! standby takes the Lease within 15 s and converges with no duplicate and no leaked resource.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{Cluster, Controller, eventually};

const STACKS: usize = 8;

fn objects() -> String {
    let mut yaml = String::from(
        "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: weir-alb}\nspec: {controller: weir.dev/aws-alb}\n",
    );
    for n in 0..STACKS {
        yaml.push_str(&format!(
            r#"---
apiVersion: v1
kind: Service
metadata: {{name: svc{n}, namespace: shop}}
spec: {{ports: [{{port: 80, targetPort: 8080}}]}}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {{name: svc{n}-1, namespace: shop, labels: {{kubernetes.io/service-name: svc{n}}}}}
addressType: IPv4
endpoints: [{{addresses: ["10.0.1.{ip}"], conditions: {{ready: true}}}}]
ports: [{{port: 8080}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: app{n}, namespace: shop}}
spec:
  ingressClassName: weir-alb
  rules:
  - host: app{n}.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: svc{n}, port: {{number: 80}}}}}}}}
      - {{path: /a, pathType: Prefix, backend: {{service: {{name: svc{n}, port: {{number: 80}}}}}}}}
      - {{path: /b, pathType: Exact, backend: {{service: {{name: svc{n}, port: {{number: 80}}}}}}}}
"#,
            ip = 10 + n
        ));
    }
    yaml
}

fn holder(cluster: &Cluster) -> String {
    let output = cluster.server.kubectl([
        "get",
        "lease",
        "-n",
        "weir-system",
        "weir-controller-aws",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_a_killed_leader_and_converges_without_duplicates() {
    let cluster = Cluster::start().await;
    cluster.server.kubectl(["create", "namespace", "shop"]);
    let a = cluster.controller("a");
    let b = cluster.controller("b");
    let first = eventually("a leader", || async {
        match holder(&cluster) {
            holder if holder == "a" || holder == "b" => Ok(holder),
            other => Err(format!("holder {other:?}")),
        }
    })
    .await;
    let (mut leader, standby, next) = if first == "a" {
        (a, b, "b")
    } else {
        (b, a, "a")
    };
    eventually("the standby's caches are warm", || async {
        if standby.ready() {
            Ok(())
        } else {
            Err("standby not ready".into())
        }
    })
    .await;

    let yaml = objects();
    cluster.apply(&yaml);
    kill_mid_creation(&mut leader).await;
    let killed = Instant::now();
    let taken_over = eventually("the standby takes the Lease", || async {
        match holder(&cluster) {
            holder if holder == next => Ok(killed.elapsed()),
            other => Err(format!("holder {other:?}")),
        }
    })
    .await;
    eprintln!("takeover after kill -9: {:.1} s", taken_over.as_secs_f64());
    assert!(
        taken_over <= Duration::from_secs(15),
        "takeover took {taken_over:?}"
    );
    converged(&cluster, &yaml).await;
}

/// Kills the leader once it has created some, but not all, load balancers.
async fn kill_mid_creation(leader: &mut Controller) {
    let created = eventually("the leader is creating load balancers", || async {
        let created = leader
            .calls()
            .get("CreateLoadBalancer")
            .copied()
            .unwrap_or(0);
        if created >= 2 {
            Ok(created)
        } else {
            Err(format!("{created} created"))
        }
    })
    .await;
    leader.kill();
    assert!(
        created < STACKS as u64,
        "killed mid-creation: {created} of {STACKS} load balancers were created"
    );
}

async fn converged(cluster: &Cluster, yaml: &str) {
    cluster.converged(yaml, "the new leader converged").await;
    for n in 0..STACKS {
        cluster.address("shop", &format!("app{n}")).await;
    }
    let owned = localstack_tests::owned(&cluster.inspector).await;
    assert_eq!(
        owned.load_balancers.len(),
        STACKS,
        "no duplicates: {owned:?}"
    );
    assert!(
        owned.load_balancers.values().all(|count| *count == 1),
        "{owned:?}"
    );
    assert_eq!(
        owned.target_groups.values().sum::<usize>(),
        STACKS,
        "no leaked target groups: {owned:?}"
    );
}
