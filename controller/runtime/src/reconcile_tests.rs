//! One reconcile against a scripted API server: each test lists the exact requests the
//! reconciler must make (method, path with query, JSON body), in order, interleaved with the
//! provider calls, and fails on a missing request (the script waits for it and times out or
//! finds the client gone), an unexpected one (the server finds no step for it) or a different
//! one.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use kube::client::Body;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use weir_index::{FINALIZER, Index};
use weir_model::{
    DesiredLoadBalancer, ErrorKind, LoadBalancerAddress, LoadBalancerStatus, Provider,
    ProviderError, StackId,
};
use weir_translate::{ControllerKind, KubeObject, TranslateConfig};

use super::{Reconciler, lock};
use crate::events::EventSink;
use crate::ingress_writes::IngressWrites;
use crate::metrics::Metrics;

/// How long one test may take before a request it waits for counts as missing.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);
const NS: &str = "shop";
const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";
const HOSTNAME: &str = "weir-0c6d8d76edfcb5df-1.us-east-1.elb.amazonaws.com";
const INSTANCE: &str = "weir-test-0";

// ---------------------------------------------------------------------------------------------
// The scenarios.

#[tokio::test]
async fn a_new_member_gets_the_finalizer_before_the_provider_then_its_status_and_one_event() {
    within(async {
        let web = ingress("web", "7", json!({}));
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{INGRESSES}/web?"),
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                    with_finalizer(&web, "8"),
                ),
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}}),
                    with_status(&with_finalizer(&web, "8"), "9"),
                ),
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_resync(requeue, &test.reconciler);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                format!("PATCH {INGRESSES}/web?"),
                "ensure shop/web [shop/web]".to_owned(),
                format!("PATCH {INGRESSES}/web/status?"),
                format!("POST {EVENTS}?"),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_reconcile_of_an_unchanged_stack_calls_the_provider_and_writes_nothing() {
    within(async {
        let web = ingress("web", "7", json!({}));
        let after_status = with_status(&with_finalizer(&web, "8"), "9");
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{INGRESSES}/web?"),
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                    with_finalizer(&web, "8"),
                ),
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}}),
                    after_status.clone(),
                ),
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        test.reconciler.reconcile(&lone("web")).await;
        // The watch brings weir's own writes back: the index must not requeue for them.
        let affected = test.apply(KubeObject::Ingress(Box::new(object(after_status))));
        assert!(affected.is_empty(), "{affected:?}");
        let first = test.log();

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_resync(requeue, &test.reconciler);
        let log = test.finish().await.log;
        assert_eq!(log[..first.len()], first[..]);
        assert_eq!(
            log[first.len()..],
            ["ensure shop/web [shop/web]".to_owned()]
        );
    })
    .await;
}

#[tokio::test]
async fn a_translation_diagnostic_is_one_warning_event_on_its_ingress_and_is_not_repeated() {
    within(async {
        // The Service `gone` does not exist; the Ingress already holds the finalizer and status.
        let web = with_status(
            &with_finalizer(&ingress_to("web", "gone", "7", json!({})), "8"),
            "9",
        );
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::event(event("web", "Warning", "ServiceNotFound", Value::Null)),
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
            ],
        );
        test.apply(class());
        test.apply(KubeObject::Ingress(Box::new(object(web))));

        test.reconciler.reconcile(&lone("web")).await;
        test.reconciler.reconcile(&lone("web")).await;

        let finished = test.finish().await;
        assert_eq!(
            finished.log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
        let warning = &finished.bodies[0];
        assert_eq!(
            warning["action"], "spec.rules[0].http.paths[0].backend.service.name",
            "{warning}"
        );
        let note = warning["note"].as_str().unwrap_or_default();
        assert!(
            note.starts_with("spec.rules[0].http.paths[0].backend.service.name: ")
                && note.contains("shop/gone"),
            "{note}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_provider_error_is_one_warning_on_each_member_and_a_requeue_and_is_not_repeated() {
    within(async {
        let group = |name: &str| {
            with_status(
                &with_finalizer(
                    &ingress(
                        name,
                        "7",
                        json!({"metadata": {"annotations": {
                            "weir.dev/group.name": "shop"
                        }}}),
                    ),
                    "8",
                ),
                "9",
            )
        };
        let note = "stack group:shop: throttled: Rate exceeded";
        let test = Test::new(
            &[Outcome::Fail(ErrorKind::Throttled, "Rate exceeded")],
            true,
            vec![
                Step::event(event("cart", "Warning", "throttled", json!(note))),
                Step::event(event("web", "Warning", "throttled", json!(note))),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(service("cart"));
        test.apply(KubeObject::Ingress(Box::new(object(group("web")))));
        test.apply(KubeObject::Ingress(Box::new(object(group("cart")))));
        let stack = StackId::Group("shop".into());

        let first = test.reconciler.reconcile(&stack).await;
        let second = test.reconciler.reconcile(&stack).await;

        let expected = ErrorKind::Throttled.requeue_after();
        assert_eq!(first, expected);
        assert_eq!(second, expected);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure group:shop [shop/cart shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("POST {EVENTS}?"),
                "ensure group:shop [shop/cart shop/web]".to_owned(),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_last_member_deletes_the_stack_then_lets_go_of_the_finalizer() {
    within(async {
        let web = ingress(
            "web",
            "12",
            json!({"metadata": {
                "finalizers": ["example.com/other", FINALIZER],
                "deletionTimestamp": "2026-12-01T10:00:00Z",
            }}),
        );
        let mut released = web.clone();
        released["metadata"]["finalizers"] = json!(["example.com/other"]);
        released["metadata"]["resourceVersion"] = json!("13");
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step::patch(
                &format!("{INGRESSES}/web?"),
                json!({"metadata": {"finalizers": ["example.com/other"], "resourceVersion": "12"}}),
                released,
            )],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        assert_eq!(lock(&test.reconciler.index).stacks(), [lone("web")]);

        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "delete shop/web".to_owned(),
                format!("PATCH {INGRESSES}/web?")
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_standby_neither_writes_nor_calls_the_provider() {
    within(async {
        let test = Test::new(&[Outcome::Address(HOSTNAME)], false, Vec::new());
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(ingress(
            "web",
            "7",
            json!({}),
        )))));
        let gone = ingress(
            "old",
            "3",
            json!({"metadata": {
                "finalizers": [FINALIZER], "deletionTimestamp": "2026-12-01T10:00:00Z",
            }}),
        );
        test.apply(KubeObject::Ingress(Box::new(object(gone))));

        assert_eq!(test.reconciler.reconcile(&lone("web")).await, None);
        assert_eq!(test.reconciler.reconcile(&lone("old")).await, None);

        let log = test.finish().await.log;
        assert!(log.is_empty(), "{log:?}");
    })
    .await;
}

#[tokio::test]
async fn a_conflict_on_the_finalizer_patch_stops_before_the_provider_and_retries_soon() {
    within(async {
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step {
                method: Method::PATCH,
                uri: format!("{INGRESSES}/web?"),
                body: Expect::Exact(
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                ),
                reply: Reply::Fail(409, "Conflict"),
                lose_the_lease: false,
            }],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(ingress(
            "web",
            "7",
            json!({}),
        )))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, Some(super::KUBE_RETRY));
        let log = test.finish().await.log;
        assert_eq!(log, [format!("PATCH {INGRESSES}/web?")]);
    })
    .await;
}

#[tokio::test]
async fn a_member_deleted_from_a_group_is_released_after_the_group_is_applied_without_it() {
    within(async {
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::event(event(
                    "cart",
                    "Normal",
                    "Synced",
                    synced_note("group:shop", 2),
                )),
                Step::event(event(
                    "web",
                    "Normal",
                    "Synced",
                    synced_note("group:shop", 2),
                )),
                // The model changed (one member fewer): a new Synced Event, saying so.
                Step::event(event(
                    "web",
                    "Normal",
                    "Synced",
                    synced_note("group:shop", 1),
                )),
                Step::patch(
                    &format!("{INGRESSES}/cart?"),
                    json!({"metadata": {"finalizers": [], "resourceVersion": "10"}}),
                    grouped("cart"),
                ),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(service("cart"));
        test.apply(KubeObject::Ingress(Box::new(object(grouped("web")))));
        test.apply(KubeObject::Ingress(Box::new(object(grouped("cart")))));
        let stack = StackId::Group("shop".into());
        test.reconciler.reconcile(&stack).await;
        let mut deleted = grouped("cart");
        merge(
            &mut deleted,
            json!({"metadata": {
                "resourceVersion": "10", "deletionTimestamp": "2026-12-01T10:00:00Z",
            }}),
        );
        let affected = test.apply(KubeObject::Ingress(Box::new(object(deleted))));
        assert_eq!(affected, BTreeSet::from([stack.clone()]));

        test.reconciler.reconcile(&stack).await;

        let finished = test.finish().await;
        assert_eq!(
            finished.log,
            [
                "ensure group:shop [shop/cart shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("POST {EVENTS}?"),
                "ensure group:shop [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("PATCH {INGRESSES}/cart?"),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_different_provider_error_of_the_same_kind_is_a_new_event_with_its_own_message() {
    within(async {
        let test = Test::new(
            &[
                Outcome::Fail(ErrorKind::Permanent, "AccessDenied: CreateLoadBalancer"),
                Outcome::Fail(ErrorKind::Permanent, "AccessDenied: CreateTargetGroup"),
            ],
            true,
            vec![
                Step::event(event(
                    "web",
                    "Warning",
                    "permanent",
                    json!("stack shop/web: permanent: AccessDenied: CreateLoadBalancer"),
                )),
                Step::event(event(
                    "web",
                    "Warning",
                    "permanent",
                    json!("stack shop/web: permanent: AccessDenied: CreateTargetGroup"),
                )),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(with_status(
            &with_finalizer(&ingress("web", "7", json!({})), "8"),
            "9",
        )))));

        test.reconciler.reconcile(&lone("web")).await;
        test.reconciler.reconcile(&lone("web")).await;
        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_message_again_extends_the_series_of_its_event() {
    within(async {
        let web = with_status(&with_finalizer(&ingress("web", "7", json!({})), "8"), "9");
        let mut again = event("web", "Normal", "Synced", synced_note("shop/web", 1));
        again["series"] = json!({"count": 2});
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
                Step::series("web", again),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        test.reconciler.reconcile(&lone("web")).await;
        // A new endpoint changes the model, not the message.
        let affected = test.apply(slice("web-1", "web", "10.0.0.1"));
        assert_eq!(affected, BTreeSet::from([lone("web")]));

        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(log.len(), 4, "{log:?}");
        assert!(
            log[3].starts_with(&format!("PATCH {EVENTS}/web.")),
            "{log:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_leader_that_loses_the_lease_during_ensure_publishes_no_event_and_writes_no_status() {
    within(async {
        // A new Ingress (the finalizer goes on while leading) with a missing Service: after
        // `ensure` there would be a Warning, a status and a Synced Event to write.
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step::patch(
                &format!("{INGRESSES}/web?"),
                json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                with_finalizer(&ingress_to("web", "gone", "7", json!({})), "8"),
            )],
        );
        test.lose_the_lease_during_ensure();
        test.apply(class());
        test.apply(KubeObject::Ingress(Box::new(object(ingress_to(
            "web",
            "gone",
            "7",
            json!({}),
        )))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, None);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                format!("PATCH {INGRESSES}/web?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_leader_that_loses_the_lease_during_a_failed_ensure_publishes_no_warning() {
    within(async {
        let test = Test::new(
            &[Outcome::Fail(ErrorKind::Throttled, "Rate exceeded")],
            true,
            Vec::new(),
        );
        test.lose_the_lease_during_ensure();
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(with_status(
            &with_finalizer(&ingress("web", "7", json!({})), "8"),
            "9",
        )))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, None);
        let log = test.finish().await.log;
        assert_eq!(log, ["ensure shop/web [shop/web]".to_owned()]);
    })
    .await;
}

#[tokio::test]
async fn a_leader_that_loses_the_lease_during_the_status_write_publishes_no_synced_event() {
    within(async {
        let web = with_finalizer(&ingress("web", "7", json!({})), "8");
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}}),
                    with_status(&web, "9"),
                )
                .then_lose_the_lease(),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, None);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("PATCH {INGRESSES}/web/status?"),
            ]
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The harness: a reconciler over a scripted API server and a fake provider, sharing one log.

/// The requests and provider calls of one test, in the order they happened.
type Log = Arc<Mutex<Vec<String>>>;

struct Test {
    reconciler: Reconciler<FakeProvider>,
    log: Log,
    bodies: Arc<Mutex<Vec<Value>>>,
    server: JoinHandle<()>,
}

impl Test {
    /// A reconciler whose provider answers `outcomes` to its `ensure` calls in turn (the last
    /// one from then on), leading or not, over an API server that expects exactly `script`.
    fn new(outcomes: &[Outcome], leader: bool, script: Vec<Step>) -> Self {
        let log = Log::default();
        let bodies = Arc::default();
        let (leadership_sender, leadership) = watch::channel(leader);
        let leadership_sender = Arc::new(leadership_sender);
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(serve(
            handle,
            script.into(),
            log.clone(),
            Arc::clone(&bodies),
            Arc::clone(&leadership_sender),
        ));
        let client = kube::Client::new(service, "default");
        let metrics = Metrics::new(&mut Registry::default());
        let reconciler = Reconciler::new(
            Arc::new(Mutex::new(Index::new(TranslateConfig::for_controller(
                ControllerKind::AwsAlb,
            )))),
            Arc::new(FakeProvider {
                outcomes: Mutex::new(outcomes.iter().copied().collect()),
                log: log.clone(),
                leadership: leadership_sender,
                demote: AtomicBool::new(false),
            }),
            IngressWrites::new(client.clone()),
            EventSink::new(client, INSTANCE, metrics.clone()),
            metrics,
            leadership,
            Duration::from_secs(600),
        );
        Self {
            reconciler,
            log,
            bodies,
            server,
        }
    }

    /// Makes the provider lose this process the Lease during each `ensure`.
    fn lose_the_lease_during_ensure(&self) {
        self.reconciler
            .provider
            .demote
            .store(true, Ordering::SeqCst);
    }

    fn apply(&self, object: KubeObject) -> BTreeSet<StackId> {
        lock(&self.reconciler.index).apply(object)
    }

    fn log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    /// Drops the reconciler (and with it every client), lets the server check that its script
    /// is complete and that nothing more came, and returns what happened.
    async fn finish(self) -> Finished {
        let Self {
            reconciler,
            log,
            bodies,
            server,
        } = self;
        drop(reconciler);
        if let Err(error) = server.await {
            match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("the API server task failed: {error}"),
            }
        }
        Finished {
            log: lock(&log).clone(),
            bodies: lock(&bodies).clone(),
        }
    }
}

/// What a test's reconciles did.
struct Finished {
    /// The requests (`METHOD URI`) and provider calls, in order.
    log: Vec<String>,
    /// The JSON body of each request, in order (`null` when it had none).
    bodies: Vec<Value>,
}

/// One expected request and its answer.
struct Step {
    method: Method,
    /// The path and query; a trailing `*` matches any rest (a generated name).
    uri: String,
    body: Expect,
    reply: Reply,
    /// This process loses the Lease before the answer arrives.
    lose_the_lease: bool,
}

enum Expect {
    /// The body must be exactly this JSON.
    Exact(Value),
    /// Every field given here must be in the body with this value (objects recursively; arrays
    /// and scalars exactly). For Events, whose name and time are generated.
    Contains(Value),
}

enum Reply {
    /// 200 with this object.
    Json(Value),
    /// 201 with the request's own body (a created object).
    Echo,
    /// A failure `Status` with this code and reason (e.g. 409 `Conflict`).
    Fail(u16, &'static str),
}

impl Step {
    /// A JSON merge patch of `uri` with exactly `body`, answered with `reply`.
    fn patch(uri: &str, body: Value, reply: Value) -> Self {
        Self {
            method: Method::PATCH,
            uri: uri.to_owned(),
            body: Expect::Exact(body),
            reply: Reply::Json(reply),
            lose_the_lease: false,
        }
    }

    /// The same step, with the Lease lost while the server answers.
    fn then_lose_the_lease(mut self) -> Self {
        self.lose_the_lease = true;
        self
    }

    /// A merge patch of an Event of Ingress `name` that extends its series, containing `fields`.
    fn series(name: &str, fields: Value) -> Self {
        Self {
            method: Method::PATCH,
            uri: format!("{EVENTS}/{name}.*"),
            body: Expect::Contains(fields),
            reply: Reply::Echo,
            lose_the_lease: false,
        }
    }

    /// A POST of an Event in the namespace `shop` containing `fields`.
    fn event(fields: Value) -> Self {
        Self {
            method: Method::POST,
            uri: format!("{EVENTS}?"),
            body: Expect::Contains(fields),
            reply: Reply::Echo,
            lose_the_lease: false,
        }
    }
}

/// Answers the requests of `script` in order, asserting each; any request beyond the script, or
/// a script step that never comes (the clients were dropped first), fails the test.
async fn serve(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    mut script: VecDeque<Step>,
    log: Log,
    bodies: Arc<Mutex<Vec<Value>>>,
    leadership: Arc<watch::Sender<bool>>,
) {
    while let Some((request, send)) = handle.next_request().await {
        let (parts, body) = request.into_parts();
        let line = format!("{} {}", parts.method, parts.uri);
        lock(&log).push(line.clone());
        let bytes = body
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        lock(&bodies).push(body.clone());
        let Some(step) = script.pop_front() else {
            panic!("unexpected request {line} {body}");
        };
        let uri = parts.uri.to_string();
        let uri_matches = match step.uri.strip_suffix('*') {
            Some(prefix) => uri.starts_with(prefix),
            None => uri == step.uri,
        };
        assert!(
            parts.method == step.method && uri_matches,
            "request {line} {body}\nexpected {} {}",
            step.method,
            step.uri
        );
        if parts.method == Method::PATCH {
            assert_eq!(
                parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|value| value.as_bytes()),
                Some(&b"application/merge-patch+json"[..]),
                "{line}"
            );
        }
        match &step.body {
            Expect::Exact(expected) => assert_eq!(&body, expected, "body of {line}"),
            Expect::Contains(expected) => assert_contains(&body, expected, &line),
        }
        let (status, reply) = match step.reply {
            Reply::Json(reply) => (StatusCode::OK, reply),
            Reply::Echo if parts.method == Method::POST => (StatusCode::CREATED, body),
            Reply::Echo => (StatusCode::OK, body),
            Reply::Fail(code, reason) => (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "message": format!("scripted {reason}"), "reason": reason, "code": code,
                }),
            ),
        };
        if step.lose_the_lease {
            leadership.send_replace(false);
        }
        let mut response = Response::new(Body::from(serde_json::to_vec(&reply).unwrap()));
        *response.status_mut() = status;
        send.send_response(response);
    }
    if let Some(step) = script.front() {
        panic!("missing request {} {}", step.method, step.uri);
    }
}

/// Asserts that `actual` holds every field of `expected` (objects recursively, the rest
/// exactly); `null` in `expected` only asks for the field to be present.
fn assert_contains(actual: &Value, expected: &Value, context: &str) {
    match (actual, expected) {
        (_, Value::Null) => {}
        (Value::Object(actual_fields), Value::Object(expected_fields)) => {
            for (key, value) in expected_fields {
                let Some(found) = actual_fields.get(key) else {
                    panic!("{context}: no field {key} in {actual}");
                };
                assert_contains(found, value, &format!("{context}: {key}"));
            }
        }
        _ => assert_eq!(actual, expected, "{context}"),
    }
}

/// What the fake provider answers to every `ensure`.
#[derive(Clone, Copy)]
enum Outcome {
    Address(&'static str),
    Fail(ErrorKind, &'static str),
}

/// Records every call in the shared log; `delete` and `owned_stacks` always succeed.
struct FakeProvider {
    /// This process's leadership, as the Lease elector would set it.
    leadership: Arc<watch::Sender<bool>>,
    /// Lose the Lease while `ensure` runs (a slow cloud call outlasting the Lease).
    demote: AtomicBool,
    /// The answers still to give; the last one is repeated.
    outcomes: Mutex<VecDeque<Outcome>>,
    log: Log,
}

impl Provider for FakeProvider {
    async fn ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> Result<LoadBalancerStatus, ProviderError> {
        let members: Vec<String> = desired
            .members
            .iter()
            .map(|member| {
                format!(
                    "{}/{}",
                    member.namespace.as_deref().unwrap_or_default(),
                    member.name
                )
            })
            .collect();
        lock(&self.log).push(format!("ensure {} [{}]", desired.stack, members.join(" ")));
        if self.demote.load(Ordering::SeqCst) {
            self.leadership.send_replace(false);
        }
        let outcome = {
            let mut outcomes = lock(&self.outcomes);
            match outcomes.len() {
                0 => panic!("no outcome scripted"),
                1 => outcomes[0],
                _ => outcomes.pop_front().unwrap_or_else(|| unreachable!()),
            }
        };
        match outcome {
            Outcome::Address(hostname) => Ok(LoadBalancerStatus {
                addresses: vec![LoadBalancerAddress::Hostname(hostname.to_owned())],
                left_out: Vec::new(),
            }),
            Outcome::Fail(kind, message) => Err(ProviderError::new(kind, message)),
        }
    }

    async fn delete(&self, stack: &StackId) -> Result<(), ProviderError> {
        lock(&self.log).push(format!("delete {stack}"));
        Ok(())
    }

    async fn owned_stacks(&self) -> Result<Vec<StackId>, ProviderError> {
        lock(&self.log).push("owned_stacks".to_owned());
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------------------------
// Objects.

/// Runs `test` and fails it when it takes longer than [`TEST_TIMEOUT`] (a request or provider
/// call it waits for never comes).
async fn within(test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_TIMEOUT, test).await.is_err() {
        panic!("timed out after {TEST_TIMEOUT:?}: a scripted request never came");
    }
}

fn assert_resync(requeue: Option<Duration>, reconciler: &Reconciler<FakeProvider>) {
    let resync = reconciler.resync;
    assert!(
        requeue.is_some_and(|after| after >= resync && after <= resync + resync / 10),
        "{requeue:?}"
    );
}

fn object<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn lone(name: &str) -> StackId {
    StackId::Ingress {
        namespace: NS.into(),
        name: name.into(),
    }
}

fn class() -> KubeObject {
    KubeObject::IngressClass(Box::new(object(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "alb"}, "spec": {"controller": "weir.dev/aws-alb"}
    }))))
}

fn service(name: &str) -> KubeObject {
    KubeObject::Service(Box::new(object(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]}
    }))))
}

fn slice(name: &str, service: &str, ip: &str) -> KubeObject {
    KubeObject::EndpointSlice(Box::new(object(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": NS,
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"port": 8080}]
    }))))
}

/// An Ingress of class `alb` routing `NAME.example.com/` to the Service `NAME`.
fn ingress(name: &str, resource_version: &str, extra: Value) -> Value {
    ingress_to(name, name, resource_version, extra)
}

fn ingress_to(name: &str, service: &str, resource_version: &str, extra: Value) -> Value {
    let mut value = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {
            "name": name, "namespace": NS, "uid": format!("uid-{name}"),
            "resourceVersion": resource_version,
        },
        "spec": {
            "ingressClassName": "alb",
            "rules": [{"host": format!("{name}.example.com"), "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": service, "port": {"number": 80}}}}
            ]}}]
        }
    });
    merge(&mut value, extra);
    value
}

/// A member of the group `shop` that already holds the finalizer and the status.
fn grouped(name: &str) -> Value {
    let ingress = ingress(
        name,
        "7",
        json!({"metadata": {"annotations": {"weir.dev/group.name": "shop"}}}),
    );
    with_status(&with_finalizer(&ingress, "8"), "9")
}

fn with_finalizer(ingress: &Value, resource_version: &str) -> Value {
    let mut ingress = ingress.clone();
    merge(
        &mut ingress,
        json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": resource_version}}),
    );
    ingress
}

fn with_status(ingress: &Value, resource_version: &str) -> Value {
    let mut ingress = ingress.clone();
    merge(
        &mut ingress,
        json!({
            "metadata": {"resourceVersion": resource_version},
            "status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}
        }),
    );
    ingress
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

/// The fields of an events.k8s.io/v1 Event weir must send about Ingress `name`.
fn event(name: &str, type_: &str, reason: &str, note: Value) -> Value {
    json!({
        "metadata": {"namespace": NS},
        "type": type_,
        "reason": reason,
        "note": note,
        "regarding": {
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "namespace": NS, "name": name, "uid": format!("uid-{name}"),
        },
        "reportingController": "weir-controller",
        "reportingInstance": INSTANCE,
        "eventTime": null,
    })
}

fn synced_note(stack: &str, members: usize) -> Value {
    json!(format!(
        "stack {stack} is in sync with {members} Ingress(es)"
    ))
}
