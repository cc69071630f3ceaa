//! Scripted API server tests: every call the elector makes is answered here, in order, on
//! tokio's paused clock (it jumps to the next timer whenever every task is idle, so the
//! timings asserted below are exact).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;
use tower_test::mock::{self, Handle, SendResponse};

use super::{Elector, LeaseSettings};

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/weir-system/leases";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/weir-system/leases/weir";

/// The mock API server's side of the client.
struct ApiServer(Handle<Request<Body>, Response<Body>>);

/// One request the elector made, waiting for its answer.
struct Call {
    method: Method,
    path: String,
    body: Value,
    at: Instant,
    send: SendResponse<Response<Body>>,
}

impl ApiServer {
    async fn next(&mut self) -> Call {
        self.next_opt()
            .await
            .expect("the elector made no further call")
    }

    async fn expect(&mut self, method: Method, path: &str) -> Call {
        let call = self.next().await;
        assert_eq!(
            (&call.method, call.path.as_str()),
            (&method, path),
            "unexpected call, body {}",
            call.body
        );
        call
    }

    async fn get(&mut self) -> Call {
        self.expect(Method::GET, LEASE).await
    }

    async fn put(&mut self) -> Call {
        self.expect(Method::PUT, LEASE).await
    }

    async fn post(&mut self) -> Call {
        self.expect(Method::POST, LEASES).await
    }

    /// Asserts the client is gone: the elector's task ended without another call.
    async fn assert_closed(&mut self) {
        if let Some((request, _)) = self.0.next_request().await {
            panic!("unexpected call {} {}", request.method(), request.uri());
        }
    }
}

impl Call {
    fn respond(self, status: StatusCode, body: &Value) {
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(body).expect("JSON")))
            .expect("response");
        self.send.send_response(response);
    }

    fn ok(self, lease: &Value) {
        self.respond(StatusCode::OK, lease);
    }

    /// Answers a write as the API server would store it: the body with a new resourceVersion.
    fn store(self, resource_version: &str) -> Value {
        let mut stored = self.body.clone();
        stored["metadata"]["resourceVersion"] = resource_version.into();
        self.ok(&stored);
        stored
    }

    fn fail(self, code: u16, reason: &str) {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("scripted {reason}"), "reason": reason, "code": code,
        });
        self.respond(StatusCode::from_u16(code).expect("status code"), &status);
    }

    fn since(&self, t0: Instant) -> Duration {
        self.at - t0
    }
}

/// A Lease held by `holder`, last renewed long ago by the wall clock (the elector must not care).
fn lease(holder: &str, resource_version: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": { "name": "weir", "namespace": "weir-system", "resourceVersion": resource_version },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 10,
            "acquireTime": "2000-01-01T00:00:00.000000Z",
            "renewTime": "2000-01-01T00:00:00.000000Z",
            "leaseTransitions": 3,
        },
    })
}

fn start() -> (Elector, ApiServer, watch::Receiver<bool>) {
    start_with(LeaseSettings::new("weir-system", "weir", "me"))
}

fn start_with(settings: LeaseSettings) -> (Elector, ApiServer, watch::Receiver<bool>) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let elector = Elector::spawn(client, settings);
    let leading = elector.leadership();
    (elector, ApiServer(handle), leading)
}

/// Runs a scenario; a call the elector fails to make ends it here instead of hanging.
async fn scenario(body: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(600), body)
        .await
        .expect("scenario timed out: the elector stopped making calls");
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// No Lease yet: GET 404, then a create naming us. Returns the start time and stored record.
async fn become_leader(
    api: &mut ApiServer,
    leading: &mut watch::Receiver<bool>,
) -> (Instant, Value) {
    let get = api.get().await;
    let t0 = get.at;
    get.fail(404, "NotFound");
    let create = api.post().await;
    assert_eq!(create.since(t0), Duration::ZERO);
    assert_eq!(create.body["spec"]["holderIdentity"], "me");
    assert_eq!(create.body["spec"]["leaseDurationSeconds"], 10);
    assert_eq!(create.body["spec"]["leaseTransitions"], 0);
    assert!(create.body["metadata"].get("resourceVersion").is_none());
    assert!(!*leading.borrow(), "leader before the create succeeded");
    let stored = create.store("1");
    leading.wait_for(|l| *l).await.expect("elector alive");
    (t0, stored)
}

#[tokio::test(start_paused = true)]
async fn absent_lease_is_created_and_led_then_renewed_from_the_written_record() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let (t0, _) = become_leader(&mut api, &mut leading).await;
        // Renewals need no GET: each replaces the record the previous write returned.
        for (n, rv) in [(1, "1"), (2, "2"), (3, "3")] {
            let renew = api.put().await;
            assert_eq!(renew.since(t0), secs(2 * n));
            assert_eq!(renew.body["metadata"]["resourceVersion"], rv);
            assert_eq!(renew.body["spec"]["holderIdentity"], "me");
            assert_eq!(renew.body["spec"]["leaseTransitions"], 0);
            renew.store(&(n + 1).to_string());
        }
        assert!(*leading.borrow());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn lease_held_and_renewed_by_another_keeps_us_standby() {
    let (_elector, mut api, leading) = start();
    scenario(async {
        let first = api.get().await;
        let t0 = first.at;
        first.ok(&lease("other", "10"));
        // 30 s of polls, three lease durations: the holder renews between every two of them.
        for n in 1..=15u64 {
            let poll = api.get().await;
            assert_eq!(poll.since(t0), secs(2 * n));
            poll.ok(&lease("other", &(10 + n).to_string()));
        }
        assert!(!*leading.borrow());
        assert!(!leading.has_changed().expect("elector alive"));
    })
    .await;
}

/// Polls a record that never changes until the elector replaces it; returns the replace.
async fn poll_until_takeover(api: &mut ApiServer, t0: Instant, rv: &str) -> Call {
    let mut polls = Vec::new();
    loop {
        let call = api.next().await;
        if call.method != Method::GET {
            assert_eq!(
                polls,
                [0, 2, 4, 6, 8, 10],
                "poll times (s) before the takeover"
            );
            return call;
        }
        assert_eq!(call.path, LEASE);
        polls.push(call.since(t0).as_secs());
        call.ok(&lease("other", rv));
    }
}

#[tokio::test(start_paused = true)]
async fn lease_not_renewed_for_its_duration_is_taken_over_with_the_observed_version() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let t0 = Instant::now();
        let takeover = poll_until_takeover(&mut api, t0, "7").await;
        // Judged by our clock since we first saw the record, not by its (ancient) renewTime.
        assert_eq!(
            (takeover.method.clone(), takeover.path.as_str()),
            (Method::PUT, LEASE)
        );
        assert_eq!(takeover.since(t0), secs(10));
        assert_eq!(takeover.body["metadata"]["resourceVersion"], "7");
        assert_eq!(takeover.body["spec"]["holderIdentity"], "me");
        assert_eq!(takeover.body["spec"]["leaseTransitions"], 4);
        assert_ne!(
            takeover.body["spec"]["acquireTime"],
            "2000-01-01T00:00:00.000000Z"
        );
        assert!(!*leading.borrow(), "leader before the replace succeeded");
        takeover.store("8");
        leading.wait_for(|l| *l).await.expect("elector alive");
        let renew = api.put().await;
        assert_eq!(renew.since(t0), secs(12));
        assert_eq!(renew.body["metadata"]["resourceVersion"], "8");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn expiry_is_acted_on_when_it_happens_not_at_the_next_poll() {
    // Polls every 3 s (0, 3, 6, 9, 12 ...): the record expires at 10 s, between two polls.
    let (_elector, mut api, _leading) = start_with(LeaseSettings {
        retry: secs(3),
        ..LeaseSettings::new("weir-system", "weir", "me")
    });
    scenario(async {
        let t0 = Instant::now();
        let mut polls = Vec::new();
        let takeover = loop {
            let call = api.next().await;
            if call.method == Method::PUT {
                break call;
            }
            polls.push(call.since(t0).as_secs());
            call.ok(&lease("other", "7"));
        };
        assert_eq!(polls, [0, 3, 6, 9, 10]);
        assert_eq!(takeover.since(t0), secs(10));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn takeover_that_conflicts_stays_standby_and_reads_again() {
    let (_elector, mut api, leading) = start();
    scenario(async {
        let t0 = Instant::now();
        let takeover = poll_until_takeover(&mut api, t0, "7").await;
        takeover.fail(409, "Conflict");
        // Someone else won: we read the record again instead of retrying the stale write.
        let read = api.get().await;
        assert_eq!(read.since(t0), secs(12));
        read.ok(&lease("third", "9"));
        for n in 1..=3u64 {
            let poll = api.get().await;
            assert_eq!(poll.since(t0), secs(12 + 2 * n));
            poll.ok(&lease("third", &(9 + n).to_string()));
        }
        assert!(!*leading.borrow());
        assert!(!leading.has_changed().expect("elector alive"));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn renew_conflict_ends_leadership_at_once() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let (t0, _) = become_leader(&mut api, &mut leading).await;
        let renew = api.put().await;
        assert_eq!(renew.since(t0), secs(2));
        renew.fail(409, "Conflict");
        leading.wait_for(|l| !*l).await.expect("elector alive");
        assert_eq!(
            Instant::now() - t0,
            secs(2),
            "leadership must end with the 409"
        );
        let read = api.get().await;
        assert_eq!(read.since(t0), secs(4));
        read.ok(&lease("other", "5"));
        let poll = api.get().await;
        assert!(!*leading.borrow());
        poll.ok(&lease("other", "6"));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn another_holder_seen_after_a_failed_renew_ends_leadership_at_once() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let (t0, _) = become_leader(&mut api, &mut leading).await;
        api.put().await.fail(500, "InternalError");
        // A failed write may have been applied: the next attempt reads first.
        let read = api.get().await;
        assert_eq!(read.since(t0), secs(4));
        assert!(*leading.borrow(), "one failed renew is within the deadline");
        read.ok(&lease("other", "5"));
        leading.wait_for(|l| !*l).await.expect("elector alive");
        assert_eq!(Instant::now() - t0, secs(4));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn failing_renewals_end_leadership_at_the_local_deadline() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let (t0, _) = become_leader(&mut api, &mut leading).await;
        let probe = leading.clone();
        let mut calls = Vec::new();
        let lost_at = loop {
            tokio::select! {
                biased;
                lost = leading.wait_for(|l| !*l) => {
                    lost.expect("elector alive");
                    break Instant::now();
                }
                call = api.next() => {
                    assert!(*probe.borrow(), "a call after leadership ended");
                    calls.push((call.method.clone(), call.since(t0).as_secs()));
                    call.fail(500, "InternalError");
                }
            }
        };
        // Last successful renew sent at t0: 10 s duration - 2 s margin.
        assert_eq!(lost_at - t0, secs(8));
        assert_eq!(
            calls,
            [(Method::PUT, 2), (Method::GET, 4), (Method::GET, 6)],
            "renew, then read-before-write retries"
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn unreachable_api_server_ends_leadership_at_the_local_deadline() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let (t0, _) = become_leader(&mut api, &mut leading).await;
        let mut unanswered = Vec::new();
        let lost_at = loop {
            tokio::select! {
                call = api.next() => unanswered.push(call),
                lost = leading.wait_for(|l| !*l) => {
                    lost.expect("elector alive");
                    break Instant::now();
                }
            }
        };
        assert_eq!(lost_at - t0, secs(8));
        let times: Vec<_> = unanswered.iter().map(|c| c.since(t0).as_millis()).collect();
        // The renew at 2 s times out after 5 s; the read sent at 7 s is cut off by the deadline.
        assert_eq!(times, [2_000, 7_000]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn record_naming_us_is_renewed_at_once() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let read = api.get().await;
        let t0 = read.at;
        read.ok(&lease("me", "4"));
        let renew = api.put().await;
        assert_eq!(renew.since(t0), Duration::ZERO);
        assert_eq!(renew.body["metadata"]["resourceVersion"], "4");
        assert_eq!(
            renew.body["spec"]["leaseTransitions"], 3,
            "not a transition"
        );
        renew.store("5");
        leading.wait_for(|l| *l).await.expect("elector alive");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn release_stops_leading_then_clears_the_holder() {
    let (elector, mut api, mut leading) = start();
    scenario(async {
        become_leader(&mut api, &mut leading).await;
        let release = tokio::spawn(elector.release());
        let clear = api.put().await;
        assert!(
            !*leading.borrow(),
            "still leading while giving the Lease up"
        );
        assert_eq!(clear.body["metadata"]["resourceVersion"], "1");
        assert!(
            clear.body["spec"].get("holderIdentity").is_none(),
            "{}",
            clear.body
        );
        assert_eq!(clear.body["spec"]["leaseDurationSeconds"], 1);
        clear.store("2");
        release.await.expect("release task");
        api.assert_closed().await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn release_after_a_failed_renew_reads_before_clearing() {
    let (elector, mut api, mut leading) = start();
    scenario(async {
        become_leader(&mut api, &mut leading).await;
        api.put().await.fail(500, "InternalError");
        let release = tokio::spawn(elector.release());
        let read = api.get().await;
        read.ok(&lease("me", "3"));
        let clear = api.put().await;
        assert_eq!(clear.body["metadata"]["resourceVersion"], "3");
        assert!(clear.body["spec"].get("holderIdentity").is_none());
        clear.store("4");
        release.await.expect("release task");
        api.assert_closed().await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn release_during_a_takeover_write_reads_and_clears_what_may_have_landed() {
    let (elector, mut api, leading) = start();
    scenario(async {
        let takeover = poll_until_takeover(&mut api, Instant::now(), "7").await;
        let release = tokio::spawn(elector.release());
        // The takeover is never answered to the elector, but the API server applied it.
        let read = api.get().await;
        assert!(!*leading.borrow());
        read.ok(&lease("me", "8"));
        let clear = api.put().await;
        assert_eq!(clear.body["metadata"]["resourceVersion"], "8");
        assert!(clear.body["spec"].get("holderIdentity").is_none());
        clear.store("9");
        release.await.expect("release task");
        drop(takeover);
        api.assert_closed().await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn standby_release_makes_no_call() {
    let (elector, mut api, _leading) = start();
    scenario(async {
        api.get().await.ok(&lease("other", "3"));
        elector.release().await;
        api.assert_closed().await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn vacant_lease_is_taken_at_once() {
    let (_elector, mut api, mut leading) = start();
    scenario(async {
        let mut vacant = lease("", "6");
        vacant["spec"]["leaseDurationSeconds"] = 1.into();
        api.get().await.ok(&vacant);
        let take = api.put().await;
        assert_eq!(Instant::now() - take.at, Duration::ZERO);
        assert_eq!(take.body["metadata"]["resourceVersion"], "6");
        assert_eq!(take.body["spec"]["holderIdentity"], "me");
        assert_eq!(take.body["spec"]["leaseDurationSeconds"], 10);
        take.store("7");
        leading.wait_for(|l| *l).await.expect("elector alive");
    })
    .await;
}

#[test]
fn settings_default_to_ten_and_two_seconds_and_keep_retry_below_the_deadline() {
    let settings = LeaseSettings::new("ns", "name", "id");
    assert_eq!((settings.duration, settings.retry), (secs(10), secs(2)));
    assert_eq!(settings.safety_margin(), secs(2));
    assert_eq!(settings.renew_deadline(), secs(8));
    assert_eq!(settings.duration_seconds(), 10);
    assert_eq!(settings.clone().effective(), settings);
    let slow = LeaseSettings {
        retry: secs(9),
        ..settings.clone()
    };
    assert_eq!(slow.effective().retry, secs(4));
    let odd = LeaseSettings {
        duration: Duration::from_millis(10_500),
        ..settings
    };
    assert_eq!(
        odd.duration_seconds(),
        11,
        "rounded up: standbys never expire us early"
    );
}

/// An in-memory API server holding one Lease, with the API server's resourceVersion rules:
/// a create of an existing Lease and a replace with a stale resourceVersion get 409.
#[derive(Default)]
struct Store {
    lease: Option<Value>,
    version: u64,
}

impl Store {
    fn serve(&mut self, call: Call) {
        match (&call.method, call.path.as_str()) {
            (&Method::GET, LEASE) => match &self.lease {
                Some(lease) => call.ok(&lease.clone()),
                None => call.fail(404, "NotFound"),
            },
            (&Method::POST, LEASES) if self.lease.is_some() => call.fail(409, "AlreadyExists"),
            (&Method::PUT, LEASE)
                if self
                    .lease
                    .as_ref()
                    .map(|l| &l["metadata"]["resourceVersion"])
                    != Some(&call.body["metadata"]["resourceVersion"]) =>
            {
                call.fail(409, "Conflict")
            }
            (&Method::POST, LEASES) | (&Method::PUT, LEASE) => {
                self.version += 1;
                self.lease = Some(call.store(&self.version.to_string()));
            }
            _ => panic!("unexpected call {} {}", call.method, call.path),
        }
    }
}

/// One process: its elector, a switch that cuts it off from the API server (requests hang),
/// and the times its leadership changed.
struct Process {
    elector: Elector,
    cut_off: Arc<AtomicBool>,
    changes: Arc<Mutex<Vec<(bool, Instant)>>>,
}

impl Process {
    fn start(identity: &str, store: &Arc<Mutex<Store>>) -> Process {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let elector = Elector::spawn(client, LeaseSettings::new("weir-system", "weir", identity));
        let cut_off = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let (store, off) = (store.clone(), cut_off.clone());
        tokio::spawn(async move {
            let mut api = ApiServer(handle);
            let mut hanging = Vec::new();
            while let Some(call) = api.next_opt().await {
                if off.load(Ordering::SeqCst) {
                    hanging.push(call);
                } else {
                    store.lock().expect("store").serve(call);
                }
            }
        });
        let (mut leading, log) = (elector.leadership(), changes.clone());
        tokio::spawn(async move {
            while leading.changed().await.is_ok() {
                let now = *leading.borrow_and_update();
                log.lock().expect("log").push((now, Instant::now()));
            }
        });
        Process {
            elector,
            cut_off,
            changes,
        }
    }

    fn changes(&self) -> Vec<(bool, Instant)> {
        self.changes.lock().expect("log").clone()
    }

    async fn wait_leading(&self) -> Instant {
        let mut leading = self.elector.leadership();
        leading.wait_for(|l| *l).await.expect("elector alive");
        Instant::now()
    }
}

impl ApiServer {
    async fn next_opt(&mut self) -> Option<Call> {
        let (request, send) = self.0.next_request().await?;
        let at = Instant::now();
        let (parts, body) = request.into_parts();
        let bytes = body.collect().await.expect("request body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("request body is JSON")
        };
        Some(Call {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            body,
            at,
            send,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn standby_takes_over_within_retry_plus_duration_of_a_kill() {
    let store = Arc::new(Mutex::new(Store::default()));
    scenario(async {
        let a = Process::start("a", &store);
        a.wait_leading().await;
        // The worst case: the standby polls (at 1.999 s, 3.999 s, ...) just before each renewal
        // (at 2 s, 4 s, ...), and the leader dies just after one (at 6.001 s). The standby
        // first sees that renewal at 7.999 s and takes over one duration later.
        tokio::time::sleep(Duration::from_millis(1_999)).await;
        let b = Process::start("b", &store);
        tokio::time::sleep(Duration::from_millis(4_002)).await;
        let renewed = store.lock().expect("store").version;
        a.elector.task.abort();
        let killed = Instant::now();
        let took_over = b.wait_leading().await - killed;
        assert_eq!(
            took_over,
            Duration::from_millis(11_998),
            "takeover after the kill"
        );
        let store = store.lock().expect("store");
        let lease = store.lease.as_ref().expect("lease");
        assert_eq!(lease["spec"]["holderIdentity"], "b");
        assert_eq!(lease["spec"]["leaseTransitions"], 1);
        assert_eq!(
            store.version,
            renewed + 1,
            "one takeover write, no renewals by the dead"
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn cut_off_leader_stops_leading_before_the_standby_starts() {
    let store = Arc::new(Mutex::new(Store::default()));
    scenario(async {
        let a = Process::start("a", &store);
        a.wait_leading().await;
        let b = Process::start("b", &store);
        tokio::time::sleep(secs(5)).await;
        a.cut_off.store(true, Ordering::SeqCst);
        let b_leads = b.wait_leading().await;
        let a_changes = a.changes();
        assert_eq!(a_changes.len(), 2, "{a_changes:?}");
        let (still, a_stopped) = a_changes[1];
        assert!(!still);
        assert!(
            b_leads - a_stopped >= LeaseSettings::new("", "", "").safety_margin(),
            "the old leader stopped {:?} before the new one started",
            b_leads - a_stopped
        );
        // Reconnected, the old leader reads the new holder and stays a standby.
        a.cut_off.store(false, Ordering::SeqCst);
        tokio::time::sleep(secs(30)).await;
        assert_eq!(a.changes().len(), 2, "{:?}", a.changes());
        assert_eq!(b.changes().len(), 1, "{:?}", b.changes());
        let lease = store.lock().expect("store").lease.clone().expect("lease");
        assert_eq!(lease["spec"]["holderIdentity"], "b");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn released_lease_is_taken_by_the_standby_on_its_next_poll() {
    let store = Arc::new(Mutex::new(Store::default()));
    scenario(async {
        let a = Process::start("a", &store);
        a.wait_leading().await;
        let b = Process::start("b", &store);
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        let released = Instant::now();
        a.elector.release().await;
        let took_over = b.wait_leading().await - released;
        assert!(
            took_over <= secs(2),
            "took over {took_over:?} after the release"
        );
    })
    .await;
}
