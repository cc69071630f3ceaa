//! Property: for random Ingress groups and random requests, three routers agree:
//! an independent transcription of the Kubernetes Ingress spec, the model's reference matcher
//! (`DesiredLoadBalancer::route`) and ALB first-match-by-priority over the rendered rules.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use proptest::prelude::*;
use serde_json::json;
use weir_model::{Action, DesiredLoadBalancer, normalize_host};
use weir_provider_aws::{ListenerDefault, glob, render};
use weir_translate::{
    ClassSelection, ClusterSnapshot, KubeObject, Stacking, TranslateConfig, translate,
};

const HOSTS: [&str; 7] = [
    "foo.com",
    "bar.foo.com",
    "a.bar.foo.com",
    "*.foo.com",
    "*.bar.foo.com",
    "*.com",
    "",
];
const REQUEST_HOSTS: [&str; 10] = [
    "foo.com",
    "bar.foo.com",
    "a.bar.foo.com",
    "x.foo.com",
    "x.y.foo.com",
    "com",
    "x.com",
    "Bar.FOO.com:8080",
    "other.org",
    "b.a.bar.foo.com",
];
const SEGMENTS: [&str; 3] = ["a", "b", "ab"];
const PATH_TYPES: [&str; 3] = ["Exact", "Prefix", "ImplementationSpecific"];

#[derive(Clone, Debug)]
struct PathRule {
    host: usize,
    path_type: usize,
    path: String,
}

fn path_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 0..=3),
        any::<bool>(),
    )
        .prop_map(|(segments, trailing)| {
            let mut path = format!("/{}", segments.join("/"));
            if trailing && path != "/" {
                path.push('/');
            }
            path
        })
}

fn rule_strategy() -> impl Strategy<Value = PathRule> {
    (0..HOSTS.len(), 0..PATH_TYPES.len(), path_strategy()).prop_map(|(host, path_type, path)| {
        PathRule {
            host,
            path_type,
            path,
        }
    })
}

/// One Ingress of the group: its group order, its path rules and whether it has a default backend.
type Member = (i64, Vec<PathRule>, bool);

fn service(name: &str) -> KubeObject {
    let service: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"ports": [{"port": 80}]},
    }))
    .unwrap();
    KubeObject::Service(Box::new(service))
}

/// Builds the snapshot; path rule `i` (counting across members) is served by Service `s{i}`.
fn snapshot(members: &[Member]) -> ClusterSnapshot {
    let mut snapshot = ClusterSnapshot::default();
    let mut next = 0;
    for (index, (order, rules, default_backend)) in members.iter().enumerate() {
        let rules: Vec<_> = rules
            .iter()
            .map(|rule| {
                let name = format!("s{next}");
                next += 1;
                snapshot.insert(service(&name));
                json!({"host": HOSTS[rule.host], "http": {"paths": [{
                    "path": rule.path, "pathType": PATH_TYPES[rule.path_type],
                    "backend": {"service": {"name": name, "port": {"number": 80}}}}]}})
            })
            .collect();
        let default_name = format!("default{index}");
        snapshot.insert(service(&default_name));
        let mut spec = json!({"rules": rules});
        if *default_backend {
            spec["defaultBackend"] =
                json!({"service": {"name": default_name, "port": {"number": 80}}});
        }
        let ingress: Ingress = serde_json::from_value(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": format!("m{index}"), "namespace": "ns",
                         "annotations": {"weir.dev/group.name": "g", "weir.dev/group.order": order.to_string()}},
            "spec": spec,
        }))
        .unwrap();
        snapshot.insert(KubeObject::Ingress(Box::new(ingress)));
    }
    snapshot
}

/// The Kubernetes spec, transcribed directly: pick the host tier (exact, else the one-label
/// wildcard, else host-less), then Exact paths, then the longest matching Prefix, ties by group
/// order, Ingress name and manifest order. Returns the winning Service, or the default's.
fn spec_oracle(members: &[Member], host: &str, path: &str) -> String {
    let host = normalize_host(host);
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&index| (members[index].0, format!("m{index}")));
    let mut flat = Vec::new();
    let mut next = 0;
    for (index, (_, rules, _)) in members.iter().enumerate() {
        for rule in rules {
            let rank = order.iter().position(|&m| m == index).unwrap();
            flat.push((rank, next, rule.clone()));
            next += 1;
        }
    }
    let host_of = |rule: &PathRule| HOSTS[rule.host];
    let exact: Vec<_> = flat
        .iter()
        .filter(|(_, _, rule)| host_of(rule) == host)
        .collect();
    let wildcard: Vec<_> = flat
        .iter()
        .filter(|(_, _, rule)| {
            host_of(rule).strip_prefix('*').is_some_and(|suffix| {
                host.ends_with(suffix)
                    && !host[..host.len() - suffix.len()].contains('.')
                    && host.len() > suffix.len()
            })
        })
        .collect();
    let host_less: Vec<_> = flat
        .iter()
        .filter(|(_, _, rule)| host_of(rule).is_empty())
        .collect();
    let tier = [exact, wildcard, host_less]
        .into_iter()
        .find(|tier| !tier.is_empty())
        .unwrap_or_default();
    let mut best: Option<(OracleKey, usize)> = None;
    for (rank, id, rule) in tier {
        let is_exact = PATH_TYPES[rule.path_type] == "Exact";
        let key = if is_exact {
            if path != rule.path {
                continue;
            }
            (0, std::cmp::Reverse(rule.path.len()), *rank, *id)
        } else {
            let prefix = if rule.path.len() > 1 {
                rule.path.trim_end_matches('/')
            } else {
                "/"
            };
            let elements = |p: &str| {
                p.split('/')
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            let (want, have) = (elements(prefix), elements(path));
            if have.len() < want.len() || have[..want.len()] != want[..] {
                continue;
            }
            (1, std::cmp::Reverse(prefix.len()), *rank, *id)
        };
        if best.as_ref().is_none_or(|(best_key, _)| key < *best_key) {
            best = Some((key, *id));
        }
    }
    match best {
        Some((_, id)) => format!("s{id}"),
        None => order
            .iter()
            .find(|&&index| members[index].2)
            .map_or_else(|| "404".to_owned(), |index| format!("default{index}")),
    }
}

/// Oracle precedence: (Exact 0 / Prefix 1, longer first, group rank, manifest order).
type OracleKey = (u8, std::cmp::Reverse<usize>, usize, usize);

fn action_name(action: &Action) -> String {
    match action {
        Action::Forward { target_group } => target_group.service.clone(),
        Action::FixedResponse { status, .. } => status.to_string(),
        other => other.to_string(),
    }
}

/// ALB semantics: the first rule by priority whose host glob and one of whose path globs match.
fn alb_first_match(desired: &DesiredLoadBalancer, host: &str, path: &str) -> String {
    let view = render(desired);
    let host = normalize_host(host);
    let rule = view.rules.iter().find(|rule| {
        rule.host
            .as_deref()
            .is_none_or(|glob_value| glob::host_matches(glob_value, &host))
            && (rule.paths.is_empty()
                || rule
                    .paths
                    .iter()
                    .any(|pattern| glob::path_matches(pattern, path)))
    });
    match rule {
        Some(rule) => action_name(&rule.action),
        None => match &view.listeners[0].default {
            ListenerDefault::Action(action) => action_name(action),
            ListenerDefault::RedirectToHttps(_) => "redirect".to_owned(),
        },
    }
}

fn members_strategy() -> impl Strategy<Value = Vec<Member>> {
    prop::collection::vec(
        (
            -2i64..=2,
            prop::collection::vec(rule_strategy(), 0..6),
            prop::bool::weighted(0.3),
        ),
        1..4,
    )
}

fn request_strategy() -> impl Strategy<Value = (usize, String)> {
    (0..REQUEST_HOSTS.len(), path_strategy())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn spec_model_and_alb_pick_the_same_winner(members in members_strategy(), requests in prop::collection::vec(request_strategy(), 1..24)) {
        let snapshot = snapshot(&members);
        let config = TranslateConfig { classes: ClassSelection::Everything, stacking: Stacking::PerGroup };
        let translation = translate(&snapshot, &config);
        prop_assert_eq!(translation.stacks.len(), 1);
        let desired = translation.stacks[0].desired.as_ref().unwrap();
        for (host_index, path) in requests {
            let host = REQUEST_HOSTS[host_index];
            let spec = spec_oracle(&members, host, &path);
            let model = action_name(desired.route(host, &path).action());
            let alb = alb_first_match(desired, host, &path);
            prop_assert_eq!(&spec, &model, "spec vs model for {} {}", host, path);
            prop_assert_eq!(&model, &alb, "model vs ALB for {} {}\nrules:\n{:#?}", host, path, render(desired).rules);
        }
    }
}
