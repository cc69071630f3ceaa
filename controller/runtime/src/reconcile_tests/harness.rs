//! The harness of the reconcile tests: a reconciler over a scripted API server (a
//! `tower_test` mock service answering from a list of expected requests) and a fake provider,
//! both writing one shared log, plus the objects the scenarios are built from.

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
    DesiredLoadBalancer, Diagnostic, ErrorKind, LoadBalancerAddress, LoadBalancerStatus, ObjectRef,
    Provider, ProviderError, Reason, StackId,
};
use weir_translate::{ControllerKind, KubeObject, TranslateConfig};

use crate::events::EventSink;
use crate::gateway_writes::GatewayWrites;
use crate::ingress_writes::IngressWrites;
use crate::locking::lock;
use crate::metrics::Metrics;
use crate::reconcile::Reconciler;

/// How long one test may take before a request it waits for counts as missing.
pub(super) const TEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The namespace of every object.
pub(super) const NS: &str = "shop";
/// The Ingress collection of [`NS`].
pub(super) const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses";
/// The events.k8s.io/v1 Event collection of [`NS`].
pub(super) const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";
/// The load balancer address the fake provider reports.
pub(super) const HOSTNAME: &str = "weir-0c6d8d76edfcb5df-1.us-east-1.elb.amazonaws.com";
/// The reporting instance of every Event (the Lease identity).
pub(super) const INSTANCE: &str = "weir-test-0";
/// The field of the part the fake provider leaves out ([`Outcome::LeftOut`]).
pub(super) const CERTIFICATE_FIELD: &str = "metadata.annotations[weir.dev/certificate-arn]";

// ---------------------------------------------------------------------------------------------
// The harness: a reconciler over a scripted API server and a fake provider, sharing one log.

/// The requests and provider calls of one test, in the order they happened.
type Log = Arc<Mutex<Vec<String>>>;

/// One test's reconciler, with the scripted API server behind its client.
pub(super) struct Test {
    pub(super) reconciler: Reconciler<FakeProvider>,
    log: Log,
    bodies: Arc<Mutex<Vec<Value>>>,
    server: JoinHandle<()>,
}

impl Test {
    /// A reconciler whose provider answers `outcomes` to its `ensure` calls in turn (the last
    /// one from then on), leading or not, over an API server that expects exactly `script`.
    pub(super) fn new(outcomes: &[Outcome], leader: bool, script: Vec<Step>) -> Self {
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
            Arc::new(Mutex::new(
                Index::new(TranslateConfig::for_controller(ControllerKind::AwsAlb))
                    .with_gateways(ControllerKind::AwsAlb),
            )),
            Arc::new(FakeProvider {
                outcomes: Mutex::new(outcomes.iter().copied().collect()),
                log: log.clone(),
                leadership: leadership_sender,
                demote: AtomicBool::new(false),
            }),
            IngressWrites::new(client.clone()),
            EventSink::new(client.clone(), INSTANCE, metrics.clone()),
            metrics,
            leadership,
            Duration::from_secs(600),
        );
        let _ = reconciler
            .gateway_writes
            .set(GatewayWrites::new(client, ControllerKind::AwsAlb));
        Self {
            reconciler,
            log,
            bodies,
            server,
        }
    }

    /// Makes the provider lose this process the Lease during each `ensure`.
    pub(super) fn lose_the_lease_during_ensure(&self) {
        self.reconciler
            .provider
            .demote
            .store(true, Ordering::SeqCst);
    }

    /// Feeds the index one object, as a watcher would; returns the stacks it affects.
    pub(super) fn apply(&self, object: KubeObject) -> BTreeSet<StackId> {
        lock(&self.reconciler.index).apply(object)
    }

    /// The log so far.
    pub(super) fn log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    /// The JSON bodies of the requests so far (`null` for none).
    pub(super) fn bodies(&self) -> Vec<Value> {
        lock(&self.bodies).clone()
    }

    /// Drops the reconciler (and with it every client), lets the server check that its script
    /// is complete and that nothing more came, and returns what happened.
    pub(super) async fn finish(self) -> Finished {
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
pub(super) struct Finished {
    /// The requests (`METHOD URI`) and provider calls, in order.
    pub(super) log: Vec<String>,
    /// The JSON body of each request, in order (`null` when it had none).
    pub(super) bodies: Vec<Value>,
}

/// One expected request and its answer.
pub(super) struct Step {
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
    pub(super) fn patch(uri: &str, body: Value, reply: Value) -> Self {
        Self {
            method: Method::PATCH,
            uri: uri.to_owned(),
            body: Expect::Exact(body),
            reply: Reply::Json(reply),
            lose_the_lease: false,
        }
    }

    /// A JSON merge patch of `uri` whose body holds every field of `fields` (see
    /// [`Step::event`]), answered with `reply`: for bodies with generated times.
    pub(super) fn patch_containing(uri: &str, fields: Value, reply: Value) -> Self {
        Self {
            method: Method::PATCH,
            uri: uri.to_owned(),
            body: Expect::Contains(fields),
            reply: Reply::Json(reply),
            lose_the_lease: false,
        }
    }

    /// The same step, answered with a failure `Status` of `code` and `reason` instead.
    pub(super) fn answered_with(mut self, code: u16, reason: &'static str) -> Self {
        self.reply = Reply::Fail(code, reason);
        self
    }

    /// The same step, with the Lease lost while the server answers.
    pub(super) fn then_lose_the_lease(mut self) -> Self {
        self.lose_the_lease = true;
        self
    }

    /// A merge patch of an Event of Ingress `name` that extends its series, containing `fields`.
    pub(super) fn series(name: &str, fields: Value) -> Self {
        Self {
            method: Method::PATCH,
            uri: format!("{EVENTS}/{name}.*"),
            body: Expect::Contains(fields),
            reply: Reply::Echo,
            lose_the_lease: false,
        }
    }

    /// A POST of an Event in the namespace `shop` containing `fields`.
    pub(super) fn event(fields: Value) -> Self {
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

/// What the fake provider answers to one `ensure`.
#[derive(Clone, Copy)]
pub(super) enum Outcome {
    /// Applied: reachable at this hostname.
    Address(&'static str),
    /// The address, with the certificate of Ingress `shop/NAME` left out.
    LeftOut(&'static str, &'static str),
    /// Failed with this kind and message.
    Fail(ErrorKind, &'static str),
}

/// Records every call in the shared log; `delete` and `owned_stacks` always succeed.
pub(super) struct FakeProvider {
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
            Outcome::LeftOut(hostname, name) => Ok(LoadBalancerStatus {
                addresses: vec![LoadBalancerAddress::Hostname(hostname.to_owned())],
                left_out: vec![Diagnostic::error(
                    &ObjectRef::namespaced("Ingress", NS, name),
                    CERTIFICATE_FIELD,
                    Reason::CertificateUnusable,
                    "certificate arn:aws:acm:us-east-1:1:certificate/x is not issued",
                )],
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
pub(super) async fn within(test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_TIMEOUT, test).await.is_err() {
        panic!(
            "timed out after {TEST_TIMEOUT:?}: a scripted request never came, or a client outlived the reconciler"
        );
    }
}

/// Asserts that `requeue` is the resync period plus its jitter (a stack in sync).
pub(super) fn assert_resync(requeue: Option<Duration>, reconciler: &Reconciler<FakeProvider>) {
    let resync = reconciler.resync;
    assert!(
        requeue.is_some_and(|after| after >= resync && after <= resync + resync / 10),
        "{requeue:?}"
    );
}

/// `value` as a Kubernetes object.
pub(super) fn object<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// The stack of the lone Ingress `shop/NAME`.
pub(super) fn lone(name: &str) -> StackId {
    StackId::Ingress {
        namespace: NS.into(),
        name: name.into(),
    }
}

/// The IngressClass `alb` of weir's aws provider.
pub(super) fn class() -> KubeObject {
    KubeObject::IngressClass(Box::new(object(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "alb"}, "spec": {"controller": "weir.dev/aws-alb"}
    }))))
}

/// The Service `shop/NAME` on port 80.
pub(super) fn service(name: &str) -> KubeObject {
    KubeObject::Service(Box::new(object(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]}
    }))))
}

/// An EndpointSlice of Service `shop/SERVICE` with one ready endpoint.
pub(super) fn slice(name: &str, service: &str, ip: &str) -> KubeObject {
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
pub(super) fn ingress(name: &str, resource_version: &str, extra: Value) -> Value {
    ingress_to(name, name, resource_version, extra)
}

/// An Ingress of class `alb` routing `NAME.example.com/` to the Service `SERVICE`.
pub(super) fn ingress_to(name: &str, service: &str, resource_version: &str, extra: Value) -> Value {
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
pub(super) fn grouped(name: &str) -> Value {
    let ingress = ingress(
        name,
        "7",
        json!({"metadata": {"annotations": {"weir.dev/group.name": "shop"}}}),
    );
    with_status(&with_finalizer(&ingress, "8"), "9")
}

/// `ingress` as the API returns it after weir added its finalizer.
pub(super) fn with_finalizer(ingress: &Value, resource_version: &str) -> Value {
    let mut ingress = ingress.clone();
    merge(
        &mut ingress,
        json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": resource_version}}),
    );
    ingress
}

/// `ingress` as the API returns it after weir wrote [`HOSTNAME`] to its status.
pub(super) fn with_status(ingress: &Value, resource_version: &str) -> Value {
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

/// Merges `patch` into `target` (objects recursively, the rest replaced).
pub(super) fn merge(target: &mut Value, patch: Value) {
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
pub(super) fn event(name: &str, type_: &str, reason: &str, note: Value) -> Value {
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

/// The note of the Synced Event of `stack` with `members` members.
pub(super) fn synced_note(stack: &str, members: usize) -> Value {
    json!(format!(
        "stack {stack} is in sync with {members} Ingress(es)"
    ))
}
