//! Cost of a 10,000-rule table: router lookup, index build, a full snapshot swap, and a swap
//! of one target group's endpoints (`Proxy::apply_endpoints`: the router kept).
//!
//! `cargo run --release -p weir-proxy --example rules_10k` (used by `bench/run.sh`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use weir_model::{
    Action, DesiredLoadBalancer, EndpointConditions, HostMatch, ObjectRef, PathKind, PathMatch,
    Route, RouteSource, StackId, Target, TargetGroup, TargetGroupKey, VirtualHost,
};
use weir_proxy::shared::router::Router;
use weir_proxy::{Proxy, ProxyConfig};

const HOSTS: usize = 1_000;
const PATHS_PER_HOST: usize = 10;

fn key(index: usize) -> TargetGroupKey {
    TargetGroupKey {
        namespace: "bench".into(),
        service: format!("svc-{index}"),
        port: 80,
    }
}

fn model() -> DesiredLoadBalancer {
    let ingress = ObjectRef::namespaced("Ingress", "bench", "rules");
    let virtual_hosts = (0..HOSTS)
        .map(|host| VirtualHost {
            host: HostMatch::Exact(format!("host-{host}.example.com")),
            redirect_to_https_port: None,
            routes: (0..PATHS_PER_HOST)
                .map(|path| Route {
                    path: PathMatch {
                        kind: if path % 2 == 0 {
                            PathKind::Exact
                        } else {
                            PathKind::Prefix
                        },
                        path: format!("/api/v{path}/items"),
                    },
                    conditions: Default::default(),
                    action: Action::Forward {
                        target_group: key((host * PATHS_PER_HOST + path) % 100),
                    },
                    filters: Default::default(),
                    source: RouteSource {
                        ingress: ingress.clone(),
                        rule: host,
                        path,
                    },
                })
                .collect(),
        })
        .collect();
    let target_groups = (0..100)
        .map(|group| {
            let targets = (0..3u8)
                .map(|target| Target {
                    ip: IpAddr::V4(Ipv4Addr::new(10, 0, group as u8, target)),
                    port: 8080,
                    conditions: EndpointConditions {
                        ready: true,
                        serving: true,
                        terminating: false,
                    },
                    zone: None,
                })
                .collect();
            (key(group), TargetGroup { targets })
        })
        .collect();
    DesiredLoadBalancer {
        stack: StackId::Class("bench".into()),
        ingress_class: "bench".into(),
        members: vec![ingress],
        listeners: BTreeMap::new(),
        virtual_hosts,
        default_action: Action::status(404),
        target_groups,
        certificates: Vec::new(),
        settings: BTreeMap::new(),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let model = model();
    let requests: Vec<(String, String)> = (0..4096)
        .map(|index| {
            let host = (index * 7919) % HOSTS;
            let path = (index * 31) % PATHS_PER_HOST;
            (
                format!("host-{host}.example.com"),
                format!("/api/v{path}/items/42"),
            )
        })
        .collect();

    let builds = (0..10)
        .map(|_| {
            let started = Instant::now();
            black_box(Router::new(&model));
            started.elapsed()
        })
        .collect();
    let router = Router::new(&model);

    let lookups = 2_000_000;
    let started = Instant::now();
    for index in 0..lookups {
        let (host, path) = &requests[index % requests.len()];
        black_box(router.route(black_box(host), black_box(path)));
    }
    let per_lookup = started.elapsed() / lookups as u32;

    let reference_lookups = 20_000;
    let started = Instant::now();
    for index in 0..reference_lookups {
        let (host, path) = &requests[index % requests.len()];
        black_box(model.route(black_box(host), black_box(path)));
    }
    let per_reference = started.elapsed() / reference_lookups as u32;

    let proxy = Proxy::new(ProxyConfig::default());
    let swaps = (0..20)
        .map(|_| {
            let started = Instant::now();
            proxy.apply(&model);
            started.elapsed()
        })
        .collect();

    // One target group's endpoints move back and forth, as a rolling update does.
    let mut moved = model.clone();
    if let Some(group) = moved.target_groups.get_mut(&key(7)) {
        group.targets[0].port = 9090;
    }
    let endpoint_swaps = |apply: &dyn Fn(&DesiredLoadBalancer) -> u64| {
        (0..20)
            .map(|swap| {
                let next = if swap % 2 == 0 { &moved } else { &model };
                let started = Instant::now();
                apply(next);
                started.elapsed()
            })
            .collect::<Vec<_>>()
    };
    let full_for_endpoints = endpoint_swaps(&|next| proxy.apply(next));
    let endpoints_only = endpoint_swaps(&|next| proxy.apply_endpoints(next));

    println!(
        "rules: {} ({} hosts x {} paths), 100 target groups x 3 endpoints",
        HOSTS * PATHS_PER_HOST,
        HOSTS,
        PATHS_PER_HOST
    );
    println!("router lookup: {per_lookup:?} per request (mean over {lookups} lookups)");
    println!("reference linear route(): {per_reference:?} per request (what a scan would cost)");
    println!("router index build: {:?} (median of 10)", median(builds));
    println!(
        "full snapshot build + swap (Proxy::apply): {:?} (median of 20)",
        median(swaps)
    );
    println!(
        "one target group's endpoints changed: full snapshot build + swap {:?}, endpoint-only swap (Proxy::apply_endpoints) {:?} (medians of 20)",
        median(full_for_endpoints),
        median(endpoints_only)
    );
}
