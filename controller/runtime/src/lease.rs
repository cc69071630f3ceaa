//! Leader election on a `coordination.k8s.io/v1` Lease, fenced by `resourceVersion`.
//!
//! Every process campaigns all the time; exactly one holds the Lease and writes (status,
//! Events, finalizers, provider calls), the others keep their caches warm and wait. Every write
//! to the Lease is a create or a replace carrying the `resourceVersion` this process last read,
//! so of two processes that race for it the API server lets exactly one win: the other gets
//! `409 Conflict` and stays a standby.
//!
//! ```text
//!  every `retry` (a standby also wakes exactly when the holder's record would expire):
//!
//!  GET ──404──► CREATE (holder = me) ──ok──► leader
//!   │                             └──409──► standby (another process created it first)
//!   ├── holder is me, empty, or expired ──► REPLACE with the read resourceVersion ──ok──► leader
//!   │                                                                      └──409──► standby
//!   └── held by another, not expired ──► standby
//!
//!  a leader renews with the record its last write returned (no GET); after any failure it reads
//!  again first.
//! ```
//!
//! Time is judged as client-go judges it, never by comparing clocks: a standby considers the
//! record expired once `leaseDurationSeconds` have passed on its **own** monotonic clock since it
//! first saw the current record (holder, renewTime, resourceVersion) — so a process that starts
//! up always waits one full duration before taking over a Lease held by another, however old the
//! record's `renewTime`. The leader stops believing it leads at `sent + duration - margin`, where
//! `sent` is when it sent its last successful renew (the write happened after that, so every
//! standby's clock for that record started later) and `margin` is a fifth of the duration; that
//! holds even if the API server stops answering. Clean shutdown ([`Elector::release`]) clears the
//! holder so a standby takes over on its next poll.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout_at};
use tracing::{debug, error, info, warn};

/// Where the Lease lives, who we are, and the election's timing.
///
/// Build it with [`LeaseSettings::new`] (10 s duration, 2 s retry, as the issue asks) and adjust
/// the public fields if needed. `retry` must be well below `duration`: [`Elector::spawn`] lowers
/// it to half of [`LeaseSettings::renew_deadline`] if it is not, so that a healthy leader always
/// renews in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSettings {
    /// Namespace of the Lease (the issue's `--namespace`, default the pod's own).
    pub namespace: String,
    /// Name of the Lease; every replica of one controller uses the same name.
    pub name: String,
    /// This process's holder identity. Must be unique per process (for example the pod name):
    /// two processes with one identity would both believe they lead.
    pub identity: String,
    /// How long a holder's record stays valid after it last changed (`leaseDurationSeconds`,
    /// rounded up to whole seconds when written).
    pub duration: Duration,
    /// How often the leader renews and a standby polls.
    pub retry: Duration,
}

impl LeaseSettings {
    /// The default lease duration: 10 s.
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
    /// The default renew / poll period: 2 s.
    pub const DEFAULT_RETRY: Duration = Duration::from_secs(2);

    /// Settings for the Lease `namespace/name` held as `identity`, with the default timing
    /// (10 s duration, 2 s retry).
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            duration: Self::DEFAULT_DURATION,
            retry: Self::DEFAULT_RETRY,
        }
    }

    /// How much earlier than its standbys' expiry a leader gives up: a fifth of the duration
    /// (2 s by default). It absorbs clock-rate drift and writes the leader had already started
    /// when its leadership ended.
    pub fn safety_margin(&self) -> Duration {
        self.duration / 5
    }

    /// How long after sending its last successful renew a leader still considers itself leader:
    /// `duration - safety_margin()` (8 s by default).
    pub fn renew_deadline(&self) -> Duration {
        self.duration.saturating_sub(self.safety_margin())
    }

    /// The upper bound on one API call of the election: half the duration (5 s by default). A
    /// leader's call is further bounded by its renew deadline.
    fn request_timeout(&self) -> Duration {
        self.duration / 2
    }

    /// `leaseDurationSeconds` as written: the duration rounded up to whole seconds, at least 1,
    /// so a standby never expires us earlier than we expire ourselves.
    fn duration_seconds(&self) -> i32 {
        let secs = self.duration.as_secs() + u64::from(self.duration.subsec_nanos() > 0);
        i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
    }

    /// The settings [`Elector::spawn`] runs with: a duration of at least 1 s (the API counts
    /// whole seconds), and `retry` lowered so that a leader renews at least twice per renew
    /// deadline, and never zero.
    fn effective(mut self) -> Self {
        if self.duration < Duration::from_secs(1) {
            warn!(lease = %self.lease_ref(), duration = ?self.duration, "lease duration below 1 s; using 1 s");
            self.duration = Duration::from_secs(1);
        }
        let ceiling = self.renew_deadline() / 2;
        if self.retry > ceiling || self.retry.is_zero() {
            let lowered = ceiling.max(Duration::from_millis(10));
            warn!(
                lease = %self.lease_ref(),
                retry = ?self.retry,
                duration = ?self.duration,
                using = ?lowered,
                "lease retry period must be positive and at most half the renew deadline"
            );
            self.retry = lowered;
        }
        self
    }

    fn lease_ref(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A running campaign for one Lease: the background task and a view of its leadership.
///
/// Dropping an `Elector` without [`Elector::release`] also ends the campaign and gives the
/// Lease up, in the background; `release` does the same and waits for it.
#[derive(Debug)]
pub struct Elector {
    leadership: watch::Receiver<bool>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Elector {
    /// Starts campaigning for the Lease in a background task (so it needs a tokio runtime).
    ///
    /// The first attempt is made at once; after that the task renews or polls every
    /// `settings.retry`. Failures of the API are logged and retried, never returned: a process
    /// that cannot reach the API server simply does not lead.
    pub fn spawn(client: kube::Client, settings: LeaseSettings) -> Elector {
        let settings = settings.effective();
        info!(
            lease = %settings.lease_ref(),
            identity = %settings.identity,
            duration = ?settings.duration,
            retry = ?settings.retry,
            "campaigning for leadership"
        );
        let (leader_tx, leadership) = watch::channel(false);
        let (stop, stop_rx) = oneshot::channel();
        let campaign = Campaign {
            api: Api::namespaced(client, &settings.namespace),
            lease_ref: settings.lease_ref(),
            settings,
            leader: leader_tx,
            lead_until: None,
            observed: None,
            own: None,
            writing: false,
        };
        let task = tokio::spawn(campaign.run(stop_rx));
        Elector {
            leadership,
            stop,
            task,
        }
    }

    /// `true` while this process holds the Lease; it flips to `false` the moment it stops
    /// holding it (a conflicting write, another holder, the renew deadline passing, or
    /// release). Gate every write on it, and cancel writes in flight when it turns `false`.
    ///
    /// After the campaign has ended the value stays `false` and `changed()` returns an error.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leadership.clone()
    }

    /// Stops campaigning; if this process leads, it first stops leading (the value of
    /// [`Elector::leadership`] becomes `false`) and then gives the Lease up by clearing its
    /// holder, so a standby takes over on its next poll instead of waiting for expiry.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future does not stop the release: the background task finishes
    /// it on its own (bounded by one API call timeout, half the lease duration).
    ///
    /// # Errors
    ///
    /// None are returned: a failed release is logged, and the standbys then take over when the
    /// record expires, as after a crash.
    pub async fn release(self) {
        // The task may already have ended (it only ends after a stop), so a failed send is fine.
        let _ = self.stop.send(());
        if let Err(err) = self.task.await {
            error!(error = %err, "lease campaign task failed");
        }
    }
}

/// A failed API call of the campaign.
#[derive(Debug, thiserror::Error)]
enum CallError {
    /// The API server answered with an error, or the request could not be sent.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// No answer before the call's deadline.
    #[error("no answer from the API server in time")]
    Timeout,
}

impl CallError {
    /// `409 Conflict`: the record changed since we read it, or was created meanwhile.
    fn is_conflict(&self) -> bool {
        matches!(self, CallError::Kube(kube::Error::Api(status))
            if status.is_conflict() || status.is_already_exists())
    }
}

/// The record as this process last saw it, and when it first saw it that way.
#[derive(Debug)]
struct Observed {
    resource_version: Option<String>,
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    /// Our local time when this version of the record was first seen.
    seen_at: Instant,
    /// The holder's `leaseDurationSeconds` (ours when absent).
    duration: Duration,
}

impl Observed {
    fn expires_at(&self) -> Instant {
        self.seen_at + self.duration
    }
}

/// The campaign's state, owned by the background task.
struct Campaign {
    api: Api<Lease>,
    settings: LeaseSettings,
    lease_ref: String,
    leader: watch::Sender<bool>,
    /// While leading: when we stop believing it, unless a renew succeeds first.
    lead_until: Option<Instant>,
    observed: Option<Observed>,
    /// The record our last successful write returned, to renew from without a GET. Cleared
    /// after any failure, because a failed write may still have been applied.
    own: Option<Lease>,
    /// A create or replace naming us was sent and has not answered yet (or was dropped).
    writing: bool,
}

impl Campaign {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut next = Instant::now();
        loop {
            self.enforce_deadline();
            let wake = self.lead_until.map_or(next, |until| until.min(next));
            if Instant::now() < wake {
                tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    () = sleep_until(wake) => continue,
                }
            }
            tokio::select! {
                biased;
                _ = &mut stop => break,
                at = self.step() => next = at,
            }
        }
        self.release().await;
    }

    /// One attempt to acquire or renew; returns when the next one is due. Cancel-safe: dropped
    /// at any `.await` it leaves a consistent state (at worst `own` is cleared, so the next
    /// attempt reads first, and `writing` tells release that a write may have landed).
    async fn step(&mut self) -> Instant {
        let started = Instant::now();
        if let Err(err) = self.attempt(started).await {
            self.own = None;
            warn!(
                lease = %self.lease_ref,
                identity = %self.settings.identity,
                leader = self.is_leader(),
                error = %err,
                "lease call failed; retrying"
            );
        }
        let mut next = started + self.settings.retry;
        if !self.is_leader()
            && let Some(observed) = &self.observed
            && observed.holder.as_deref() != Some(self.settings.identity.as_str())
            && observed.expires_at() > Instant::now()
        {
            // Wake exactly when the holder's record would expire, not up to `retry` later.
            next = next.min(observed.expires_at());
        }
        next
    }

    async fn attempt(&mut self, started: Instant) -> Result<(), CallError> {
        let current = match self.own.take() {
            Some(lease) => lease,
            None => {
                let read = self.call(self.api.get_opt(&self.settings.name)).await?;
                match read {
                    Some(lease) => {
                        self.observe(&lease);
                        lease
                    }
                    None => return self.create(started).await,
                }
            }
        };
        let holder = holder_of(&current).map(str::to_owned);
        let ours = holder.as_deref() == Some(self.settings.identity.as_str());
        if !ours && holder.is_some() && !self.expired() {
            if self.is_leader() {
                self.lose(holder.as_deref(), "the Lease has another holder");
            }
            return Ok(());
        }
        let claim = self.claim(current, ours);
        self.writing = true;
        let written = self
            .call(
                self.api
                    .replace(&self.settings.name, &PostParams::default(), &claim),
            )
            .await;
        self.writing = false;
        match written {
            Ok(lease) => {
                self.won(lease, started, holder.as_deref());
                Ok(())
            }
            Err(err) if err.is_conflict() => {
                if self.is_leader() {
                    self.lose(
                        holder.as_deref(),
                        "renew conflicted: the Lease was written by another",
                    );
                } else {
                    debug!(lease = %self.lease_ref, "takeover conflicted; staying standby");
                }
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    async fn create(&mut self, started: Instant) -> Result<(), CallError> {
        let now = MicroTime(Timestamp::now());
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.settings.name.clone()),
                namespace: Some(self.settings.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.settings.identity.clone()),
                lease_duration_seconds: Some(self.settings.duration_seconds()),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        self.writing = true;
        let created = self
            .call(self.api.create(&PostParams::default(), &lease))
            .await;
        self.writing = false;
        match created {
            Ok(lease) => {
                self.won(lease, started, None);
                Ok(())
            }
            Err(err) if err.is_conflict() => {
                debug!(lease = %self.lease_ref, "the Lease was created by another process first");
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// `current` rewritten to name us the holder, renewed now. Keeps its metadata, and with it
    /// the `resourceVersion` that fences the write.
    fn claim(&self, mut current: Lease, ours: bool) -> Lease {
        let now = MicroTime(Timestamp::now());
        let spec = current.spec.get_or_insert_with(LeaseSpec::default);
        if !ours {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.holder_identity = Some(self.settings.identity.clone());
        spec.lease_duration_seconds = Some(self.settings.duration_seconds());
        spec.renew_time = Some(now);
        current
    }

    /// Our create or replace succeeded: we lead until `started + renew_deadline`.
    fn won(&mut self, lease: Lease, started: Instant, previous: Option<&str>) {
        self.observe(&lease);
        self.own = Some(lease);
        let until = started + self.settings.renew_deadline();
        if until <= Instant::now() {
            // Cannot happen while calls are bounded by half the duration; never lead on it.
            self.lose(None, "the write succeeded too late to lead on");
            return;
        }
        self.lead_until = Some(until);
        if !self.is_leader() {
            self.leader.send_replace(true);
            info!(
                lease = %self.lease_ref,
                holder = %self.settings.identity,
                previous = previous.unwrap_or(""),
                "became leader"
            );
        }
    }

    fn lose(&mut self, holder: Option<&str>, reason: &str) {
        self.lead_until = None;
        self.own = None;
        if self.is_leader() {
            self.leader.send_replace(false);
            warn!(
                lease = %self.lease_ref,
                identity = %self.settings.identity,
                holder = holder.unwrap_or(""),
                reason,
                "lost leadership"
            );
        }
    }

    fn enforce_deadline(&mut self) {
        if self.lead_until.is_some_and(|until| Instant::now() >= until) {
            let holder = self.settings.identity.clone();
            self.lose(Some(&holder), "could not renew before the renew deadline");
        }
    }

    fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// Records `lease` as seen now, unless it is the version we already saw.
    fn observe(&mut self, lease: &Lease) {
        let resource_version = lease.metadata.resource_version.clone();
        let holder = holder_of(lease).map(str::to_owned);
        let spec = lease.spec.as_ref();
        let renew_time = spec.and_then(|s| s.renew_time.clone());
        if let Some(seen) = &self.observed
            && seen.resource_version == resource_version
            && seen.holder == holder
            && seen.renew_time == renew_time
        {
            return;
        }
        let duration = spec
            .and_then(|s| s.lease_duration_seconds)
            .and_then(|secs| u64::try_from(secs).ok())
            .filter(|secs| *secs > 0)
            .map_or(self.settings.duration, Duration::from_secs);
        self.observed = Some(Observed {
            resource_version,
            holder,
            renew_time,
            seen_at: Instant::now(),
            duration,
        });
    }

    fn expired(&self) -> bool {
        self.observed
            .as_ref()
            .is_some_and(|seen| Instant::now() >= seen.expires_at())
    }

    /// Bounds one API call: by the request timeout, and while leading by the renew deadline (so
    /// an unreachable API server cannot keep us "leading" past it).
    async fn call<T>(
        &self,
        request: impl Future<Output = kube::Result<T>>,
    ) -> Result<T, CallError> {
        let mut deadline = Instant::now() + self.settings.request_timeout();
        if let Some(until) = self.lead_until {
            deadline = deadline.min(until);
        }
        match timeout_at(deadline, request).await {
            Ok(result) => Ok(result?),
            Err(_elapsed) => Err(CallError::Timeout),
        }
    }

    /// Ends the campaign: stops leading at once, then clears the holder if the record is ours.
    async fn release(mut self) {
        let was_leader = self.is_leader();
        self.lead_until = None;
        if was_leader {
            self.leader.send_replace(false);
        }
        let own = self.own.take();
        // A write cut short by the stop may have made us the holder without our knowing.
        let might_hold = was_leader
            || own.is_some()
            || self.writing
            || self.observed.as_ref().is_some_and(|seen| {
                seen.holder.as_deref() == Some(self.settings.identity.as_str())
            });
        if !might_hold {
            debug!(lease = %self.lease_ref, "campaign stopped; not holding the Lease");
            return;
        }
        let current = match own {
            Some(lease) => lease,
            None => match self.call(self.api.get_opt(&self.settings.name)).await {
                Ok(Some(lease)) => lease,
                Ok(None) => return,
                Err(err) => {
                    warn!(lease = %self.lease_ref, error = %err, "could not read the Lease to release it");
                    return;
                }
            },
        };
        if holder_of(&current) != Some(self.settings.identity.as_str()) {
            return;
        }
        let mut released = current;
        let spec = released.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self
            .call(
                self.api
                    .replace(&self.settings.name, &PostParams::default(), &released),
            )
            .await
        {
            Ok(_) => info!(
                lease = %self.lease_ref,
                holder = %self.settings.identity,
                "released leadership"
            ),
            Err(err) => warn!(
                lease = %self.lease_ref,
                holder = %self.settings.identity,
                error = %err,
                "could not release the Lease; standbys take over when it expires"
            ),
        }
    }
}

/// The record's holder; an empty string counts as none (client-go writes `""` on release).
fn holder_of(lease: &Lease) -> Option<&str> {
    lease
        .spec
        .as_ref()
        .and_then(|spec| spec.holder_identity.as_deref())
        .filter(|holder| !holder.is_empty())
}

#[cfg(test)]
mod tests;
