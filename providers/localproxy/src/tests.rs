//! The provider and the reader against the in-memory store: round trip, exact writes,
//! idempotence, endpoint-only changes, broken and in-transit snapshots, delete.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use weir_model::{
    Action, Certificate, CertificateSource, DesiredLoadBalancer, EndpointConditions,
    HeaderCondition, HeaderModifier, HostMatch, Listener, LoadBalancerAddress, ObjectRef, PathKind,
    PathMatch, PathRewrite, PrivateKeyPem, Protocol, Provider, QueryCondition, QueryPair, Redirect,
    Route, RouteConditions, RouteFilters, RouteSource, StackId, StringMatch, Target, TargetGroup,
    TargetGroupKey, TlsMaterial, UrlRewrite, VirtualHost, WeightedTarget,
};

use crate::layout::Layout;
use crate::wire::bucket_of;
use crate::{LocalProxyProvider, MemoryStore, ReadError, Reader, SnapshotStore};

fn key(service: &str) -> TargetGroupKey {
    TargetGroupKey {
        namespace: "shop".into(),
        service: service.into(),
        port: 80,
    }
}

fn group(ports: &[u16]) -> TargetGroup {
    TargetGroup {
        targets: ports
            .iter()
            .map(|port| Target {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: *port,
                conditions: EndpointConditions {
                    ready: true,
                    serving: true,
                    terminating: false,
                },
                zone: None,
            })
            .collect(),
    }
}

fn route(kind: PathKind, path: &str, service: &str) -> Route {
    Route {
        path: PathMatch {
            kind,
            path: path.into(),
        },
        conditions: Default::default(),
        action: Action::Forward {
            target_group: key(service),
        },
        filters: Default::default(),
        source: RouteSource {
            ingress: ObjectRef::namespaced("Ingress", "shop", "web"),
            rule: 0,
            path: 0,
        },
    }
}

fn model() -> DesiredLoadBalancer {
    DesiredLoadBalancer {
        stack: StackId::Class("weir".into()),
        ingress_class: "weir".into(),
        members: vec![ObjectRef::namespaced("Ingress", "shop", "web")],
        listeners: BTreeMap::from([
            (
                80,
                Listener {
                    protocol: Protocol::Http,
                    redirect_to_https_port: None,
                },
            ),
            (
                443,
                Listener {
                    protocol: Protocol::Https,
                    redirect_to_https_port: None,
                },
            ),
        ]),
        virtual_hosts: vec![
            VirtualHost {
                host: HostMatch::Exact("shop.example.com".into()),
                routes: vec![
                    route(PathKind::Exact, "/cart", "cart"),
                    route(PathKind::Prefix, "/", "web"),
                ],
                redirect_to_https_port: Some(443),
            },
            VirtualHost {
                host: HostMatch::Any,
                routes: vec![],
                redirect_to_https_port: None,
            },
        ],
        default_action: Action::status(404),
        target_groups: BTreeMap::from([
            (key("cart"), group(&[9001])),
            (key("web"), group(&[9002, 9003])),
        ]),
        certificates: vec![Certificate {
            hosts: vec!["shop.example.com".into()],
            source: CertificateSource::Secret {
                secret: ObjectRef::namespaced("Secret", "shop", "tls"),
                material: TlsMaterial::new(
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
                    PrivateKeyPem::new(
                        "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n"
                            .into(),
                    ),
                ),
            },
            origin: ObjectRef::namespaced("Ingress", "shop", "web"),
        }],
        settings: BTreeMap::new(),
    }
}

fn provider(store: &MemoryStore) -> LocalProxyProvider<MemoryStore> {
    LocalProxyProvider::new(
        store.clone(),
        vec![LoadBalancerAddress::Ip("10.0.0.9".into())],
    )
}

async fn read(
    store: &MemoryStore,
    reader: &mut Reader<MemoryStore>,
) -> Result<DesiredLoadBalancer, ReadError> {
    let layout = Layout::for_class("weir").unwrap();
    let index = store
        .get(&layout.index_name())
        .await
        .unwrap()
        .expect("an index");
    reader.read(&index).await.map(|read| read.model)
}

fn bucket_name(service: &str) -> String {
    let wire_key = crate::wire::GroupKey {
        namespace: "shop".into(),
        service: service.into(),
        port: 80,
    };
    Layout::for_class("weir")
        .unwrap()
        .endpoints_name(bucket_of(&wire_key))
}

#[tokio::test]
async fn a_published_snapshot_reads_back_as_the_same_model() {
    let store = MemoryStore::default();
    let status = provider(&store).ensure(&model()).await.unwrap();
    assert_eq!(
        status.addresses,
        vec![LoadBalancerAddress::Ip("10.0.0.9".into())]
    );
    let mut reader = Reader::new(store.clone());
    assert_eq!(read(&store, &mut reader).await.unwrap(), model());
    // Index last, after every part.
    let writes = store.take_writes();
    assert_eq!(
        writes.last().map(String::as_str),
        Some("put weir-snapshot-weir")
    );
    assert!(
        writes.contains(&"put weir-snapshot-weir-routes-0".to_owned()),
        "{writes:?}"
    );
    // Every name is one the proxy's Role may read.
    let allowed = Layout::for_class("weir").unwrap().all_names();
    for name in store.objects().keys() {
        assert!(allowed.contains(name), "{name} not in {allowed:?}");
    }
}

#[tokio::test]
async fn the_same_model_twice_writes_nothing_the_second_time() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    provider.ensure(&model()).await.unwrap();
    store.take_writes();
    provider.ensure(&model()).await.unwrap();
    assert_eq!(store.take_writes(), Vec::<String>::new());
}

#[tokio::test]
async fn an_endpoint_change_rewrites_only_its_bucket_and_the_index() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    let mut reader = Reader::new(store.clone());
    provider.ensure(&model()).await.unwrap();
    read(&store, &mut reader).await.unwrap();
    store.take_writes();
    let mut changed = model();
    changed.target_groups.insert(key("web"), group(&[9004]));
    provider.ensure(&changed).await.unwrap();
    assert_eq!(
        store.take_writes(),
        vec![
            format!("put {}", bucket_name("web")),
            "put weir-snapshot-weir".to_owned()
        ]
    );
    assert_eq!(read(&store, &mut reader).await.unwrap(), changed);
}

#[tokio::test]
async fn a_part_overwritten_before_its_index_is_never_served_as_a_mix() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    provider.ensure(&model()).await.unwrap();
    let layout = Layout::for_class("weir").unwrap();
    let old_index = store.get(&layout.index_name()).await.unwrap().unwrap();
    let mut changed = model();
    changed.target_groups.insert(key("web"), group(&[9004]));
    provider.ensure(&changed).await.unwrap();
    // A reader that still holds the old index finds a part of the new version.
    let mut reader = Reader::new(store.clone());
    let error = reader.read(&old_index).await.unwrap_err();
    assert!(matches!(error, ReadError::Inconsistent(_)), "{error}");
    assert!(!error.is_broken());
}

#[tokio::test]
async fn a_broken_part_is_refused_and_named() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    provider.ensure(&model()).await.unwrap();
    let layout = Layout::for_class("weir").unwrap();
    let mut index = store.get(&layout.index_name()).await.unwrap().unwrap();
    index.data = b"{not json".to_vec();
    let error = Reader::new(store.clone()).read(&index).await.unwrap_err();
    assert!(error.is_broken(), "{error}");
    // A different format version is broken too.
    let mut index = store.get(&layout.index_name()).await.unwrap().unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&index.data).unwrap();
    value["format"] = 99.into();
    index.data = serde_json::to_vec(&value).unwrap();
    let error = Reader::new(store.clone()).read(&index).await.unwrap_err();
    assert!(
        error.is_broken() && error.to_string().contains("99"),
        "{error}"
    );
}

#[tokio::test]
async fn private_keys_are_published_but_never_printed() {
    let store = MemoryStore::default();
    provider(&store).ensure(&model()).await.unwrap();
    let routes = store
        .objects()
        .remove("weir-snapshot-weir-routes-0")
        .unwrap();
    assert!(String::from_utf8_lossy(&routes.data).contains("SECRETKEY"));
    assert!(!format!("{routes:?}").contains("SECRETKEY"));
    let (wire, _) = crate::wire::split(&model());
    assert!(!format!("{wire:?}").contains("SECRETKEY"));
}

#[tokio::test]
async fn owned_stacks_lists_what_was_published_and_delete_removes_all_of_it() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    assert_eq!(provider.owned_stacks().await.unwrap(), vec![]);
    provider.ensure(&model()).await.unwrap();
    let mut other = model();
    other.stack = StackId::Class("internal".into());
    provider.ensure(&other).await.unwrap();
    assert_eq!(
        provider.owned_stacks().await.unwrap(),
        vec![
            StackId::Class("internal".into()),
            StackId::Class("weir".into())
        ]
    );
    store.take_writes();
    provider
        .delete(&StackId::Class("weir".into()))
        .await
        .unwrap();
    assert_eq!(
        store.take_writes().first().map(String::as_str),
        Some("delete weir-snapshot-weir")
    );
    assert!(
        store
            .objects()
            .keys()
            .all(|name| name.starts_with("weir-snapshot-internal"))
    );
    assert_eq!(
        provider.owned_stacks().await.unwrap(),
        vec![StackId::Class("internal".into())]
    );
    // Deleting again is a no-op success.
    provider
        .delete(&StackId::Class("weir".into()))
        .await
        .unwrap();
}

#[tokio::test]
async fn parts_no_longer_needed_are_deleted_after_the_index_moves_on() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    provider.ensure(&model()).await.unwrap();
    let mut fewer = model();
    fewer.target_groups.remove(&key("cart"));
    fewer.virtual_hosts[0].routes.remove(0);
    store.take_writes();
    provider.ensure(&fewer).await.unwrap();
    let writes = store.take_writes();
    if bucket_name("cart") != bucket_name("web") {
        let index_at = writes
            .iter()
            .position(|w| w == "put weir-snapshot-weir")
            .unwrap();
        let delete_at = writes
            .iter()
            .position(|w| *w == format!("delete {}", bucket_name("cart")))
            .unwrap();
        assert!(index_at < delete_at, "{writes:?}");
    }
    let mut reader = Reader::new(store.clone());
    assert_eq!(read(&store, &mut reader).await.unwrap(), fewer);
}

#[tokio::test]
async fn other_stacks_than_classes_are_unsupported() {
    let store = MemoryStore::default();
    let mut lone = model();
    lone.stack = StackId::Group("g".into());
    let error = provider(&store).ensure(&lone).await.unwrap_err();
    assert_eq!(error.kind(), weir_model::ErrorKind::Unsupported);
    assert!(Layout::for_class("Bad_Class").is_err());
}

#[tokio::test]
async fn a_large_stack_is_sharded_under_the_object_limit() {
    let store = MemoryStore::default();
    let mut big = model();
    // ~2,000 routes with long paths: over one shard.
    let routes: Vec<Route> = (0..4000)
        .map(|i| {
            route(
                PathKind::Prefix,
                &format!("/{i}/{}", "x".repeat(200)),
                "web",
            )
        })
        .collect();
    big.virtual_hosts[0].routes = routes;
    provider(&store).ensure(&big).await.unwrap();
    let objects = store.objects();
    assert!(
        objects.contains_key("weir-snapshot-weir-routes-1"),
        "{:?}",
        objects.keys()
    );
    assert!(
        objects
            .values()
            .all(|o| o.data.len() <= crate::layout::SHARD_LIMIT)
    );
    let mut reader = Reader::new(store.clone());
    assert_eq!(read(&store, &mut reader).await.unwrap(), big);
}

#[test]
fn the_shipped_proxy_role_names_exactly_the_objects_of_class_weir() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/base/proxy-rbac.yaml"
    );
    let yaml = std::fs::read_to_string(path).unwrap();
    let listed: Vec<&str> = yaml
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- weir-snapshot-"))
        .collect();
    let names = Layout::for_class("weir").unwrap().all_names();
    let names: Vec<&str> = names
        .iter()
        .map(|name| name.strip_prefix("weir-snapshot-").unwrap())
        .collect();
    assert_eq!(listed, names);
}

/// A route with every routing feature of the model, and a default action with a body.
fn model_with_every_routing_feature() -> DesiredLoadBalancer {
    let mut desired = model();
    let mut conditional = route(PathKind::Prefix, "/api", "cart");
    conditional.conditions = RouteConditions {
        methods: vec!["GET".into(), "HEAD".into()],
        headers: vec![HeaderCondition {
            name: "x-version".into(),
            values: vec![
                StringMatch::Exact("v2".into()),
                StringMatch::Glob("beta-*".into()),
            ],
        }],
        query: vec![QueryCondition {
            any_of: vec![QueryPair {
                key: Some(StringMatch::Regex("deb(ug)?".into())),
                value: StringMatch::Exact("1".into()),
            }],
        }],
        source_ips: vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ],
        listener_ports: vec![443],
    };
    conditional.action = Action::WeightedForward {
        targets: vec![
            WeightedTarget {
                target_group: key("cart"),
                weight: 80,
            },
            WeightedTarget {
                target_group: key("web"),
                weight: 20,
            },
        ],
    };
    conditional.filters = RouteFilters {
        request_headers: HeaderModifier {
            set: vec![("x-env".into(), "prod".into())],
            add: vec![("x-trace".into(), "on".into())],
            remove: vec!["cookie".into()],
        },
        response_headers: HeaderModifier {
            set: vec![("cache-control".into(), "no-store".into())],
            ..HeaderModifier::default()
        },
        rewrite: Some(UrlRewrite {
            host: Some("api.internal".into()),
            path: Some(PathRewrite::Prefix("/v2".into())),
        }),
        timeout_ms: Some(1500),
    };
    let mut redirect = route(PathKind::Exact, "/old", "web");
    redirect.action = Action::Redirect(Redirect {
        scheme: Some("https".into()),
        host: Some("new.example.com".into()),
        port: Some(8443),
        path: Some(PathRewrite::Full("/new".into())),
        query: Some("from=old".into()),
        status: 308,
    });
    let mut gone = route(PathKind::Prefix, "/gone", "web");
    gone.action = Action::FixedResponse {
        status: 410,
        content_type: Some("text/plain".into()),
        body: Some("gone for good\n".into()),
    };
    desired.virtual_hosts[0].routes = vec![
        redirect,
        conditional,
        gone,
        route(PathKind::Prefix, "/", "web"),
    ];
    desired.default_action = Action::FixedResponse {
        status: 404,
        content_type: Some("application/json".into()),
        body: Some("{\"error\":\"no route\"}".into()),
    };
    desired
}

#[tokio::test]
async fn every_routing_feature_is_published_and_reads_back_as_the_same_model() {
    let store = MemoryStore::default();
    let desired = model_with_every_routing_feature();
    let status = provider(&store).ensure(&desired).await.unwrap();
    assert_eq!(status.left_out, Vec::new(), "nothing is left out any more");
    let mut reader = Reader::new(store.clone());
    assert_eq!(read(&store, &mut reader).await.unwrap(), desired);
}

#[tokio::test]
async fn an_index_of_another_wire_format_is_refused_with_its_version_named() {
    let store = MemoryStore::default();
    provider(&store).ensure(&model()).await.unwrap();
    let mut reader = Reader::new(store.clone());
    let layout = Layout::for_class("weir").unwrap();
    for format in [1, crate::wire::FORMAT + 1] {
        let mut index = store.get(&layout.index_name()).await.unwrap().unwrap();
        let mut decoded: serde_json::Value = serde_json::from_slice(&index.data).unwrap();
        decoded["format"] = format.into();
        index.data = serde_json::to_vec(&decoded).unwrap();
        let error = reader.read(&index).await.unwrap_err();
        assert!(error.is_broken(), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("wire format {format}"))
                && message.contains(&format!("reads only {}", crate::wire::FORMAT)),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_routes_document_of_another_wire_format_is_refused() {
    let store = MemoryStore::default();
    provider(&store).ensure(&model()).await.unwrap();
    let layout = Layout::for_class("weir").unwrap();
    let (mut routes, buckets) = crate::wire::split(&model());
    routes.format = 1;
    let error = crate::wire::join(routes, buckets).unwrap_err();
    assert!(
        error.to_string().contains("routes has wire format 1"),
        "{error}"
    );
    // The published snapshot itself still reads.
    let mut reader = Reader::new(store.clone());
    let index = store.get(&layout.index_name()).await.unwrap().unwrap();
    assert_eq!(reader.read(&index).await.unwrap().model, model());
}

#[test]
fn bad_values_on_the_wire_are_refused_not_served() {
    let desired = model_with_every_routing_feature();
    let (routes, buckets) = crate::wire::split(&desired);
    let mut bad_cidr = routes.clone();
    bad_cidr.virtual_hosts[0].routes[1].conditions.source_ips[0] = "10.0.0.1/8".into();
    let mut bad_redirect = routes.clone();
    let crate::wire::Action::Redirect(redirect) =
        &mut bad_redirect.virtual_hosts[0].routes[0].action
    else {
        panic!("route 0 redirects")
    };
    redirect.status = 200;
    let mut bad_status = routes;
    bad_status.default_action = crate::wire::Action::Fixed {
        status: 1000,
        content_type: None,
        body: None,
    };
    for (routes, want) in [
        (bad_cidr, "host bits"),
        (bad_redirect, "status 200"),
        (bad_status, "status 1000"),
    ] {
        let error = crate::wire::join(routes, buckets.clone()).unwrap_err();
        assert!(error.to_string().contains(want), "{error}");
    }
}

fn lists(provider: &LocalProxyProvider<MemoryStore>) -> u64 {
    provider
        .calls()
        .into_iter()
        .find(|(operation, _)| operation == "list")
        .map_or(0, |(_, count)| count)
}

#[tokio::test(start_paused = true)]
async fn publishes_after_the_first_list_nothing_while_the_memory_is_fresh() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    let mut reader = Reader::new(store.clone());
    provider.ensure(&model()).await.unwrap();
    assert_eq!(lists(&provider), 1);
    store.take_writes();
    let mut changed = model();
    changed.target_groups.insert(key("web"), group(&[9004]));
    provider.ensure(&changed).await.unwrap();
    provider.ensure(&changed).await.unwrap();
    assert_eq!(lists(&provider), 1, "the memory stands in for the list");
    assert_eq!(
        store.take_writes(),
        vec![
            format!("put {}", bucket_name("web")),
            "put weir-snapshot-weir".to_owned()
        ]
    );
    assert_eq!(read(&store, &mut reader).await.unwrap(), changed);
    // A route change re-encodes the routes only; the buckets keep their parts.
    let mut routed = changed.clone();
    routed.virtual_hosts[0]
        .routes
        .insert(0, route(PathKind::Exact, "/new", "cart"));
    provider.ensure(&routed).await.unwrap();
    assert_eq!(
        store.take_writes(),
        vec![
            "put weir-snapshot-weir-routes-0".to_owned(),
            "put weir-snapshot-weir".to_owned()
        ]
    );
    assert_eq!(read(&store, &mut reader).await.unwrap(), routed);
}

#[tokio::test(start_paused = true)]
async fn a_part_deleted_by_hand_is_repaired_once_the_memory_expires() {
    let store = MemoryStore::default();
    let provider = provider(&store);
    provider.ensure(&model()).await.unwrap();
    store.delete(&bucket_name("web")).await.unwrap();
    store.take_writes();
    provider.ensure(&model()).await.unwrap();
    assert_eq!(store.take_writes(), Vec::<String>::new(), "trusted memory");
    tokio::time::advance(crate::published::TRUST_FOR).await;
    provider.ensure(&model()).await.unwrap();
    assert_eq!(lists(&provider), 2);
    assert_eq!(
        store.take_writes(),
        vec![format!("put {}", bucket_name("web"))]
    );
    let mut reader = Reader::new(store.clone());
    assert_eq!(read(&store, &mut reader).await.unwrap(), model());
}

#[tokio::test]
async fn a_new_provider_over_a_published_store_writes_nothing() {
    let store = MemoryStore::default();
    provider(&store).ensure(&model()).await.unwrap();
    store.take_writes();
    // A new leader: no memory, so it lists, and finds every part with its hash.
    let next = provider(&store);
    next.ensure(&model()).await.unwrap();
    assert_eq!(lists(&next), 1);
    assert_eq!(store.take_writes(), Vec::<String>::new());
}
