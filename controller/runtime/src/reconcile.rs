//! One reconcile of one stack, level-triggered: it never asks why it was woken.
//!
//! ```text
//! index.translate(stack) ─► Events for new diagnostics
//!        │
//!        ├─ members:  finalizer on each ─► provider.ensure(desired) ─► status on each ─► "Synced"
//!        ├─ no members: provider.delete(stack)
//!        └─ then: Ingresses that left the stack let go of the finalizer
//! ```
//!
//! A Gateway stack takes its own path (`gateway.rs`): the Gateway holds the finalizer, and its
//! status and its HTTPRoutes' status are written back.
//!
//! Every write to Kubernetes is made only while this process holds the Lease, and only when it
//! changes something. A provider error becomes one Warning Event per member (repeated only when
//! the error changes) and a requeue after [`ProviderError::requeue_after`].

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::networking::v1::Ingress;
use tokio::sync::watch;
use weir_index::Index;
use weir_model::{Diagnostic, LoadBalancerStatus, Provider, ProviderError, Severity, StackId};
use weir_translate::StackTranslation;

use crate::events::EventSink;
use crate::gateway_writes::GatewayWrites;
use crate::ingress_writes::{IngressWrites, status_matches};
use crate::locking::lock;
use crate::metrics::Metrics;
use crate::status_source::{SourcedStatus, StatusSource};

/// How long to wait before retrying after a Kubernetes write failed (usually a conflict: the
/// newer object is already on its way through the watch).
const KUBE_RETRY: Duration = Duration::from_secs(2);

/// The reason of the Warning Event on each member when the status source has no address.
pub(crate) const NO_ADDRESS_REASON: &str = "NoStatusAddress";

/// Why a reconcile did not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReconcileError {
    /// The provider failed, classified.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A write to the Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// This process does not hold the Lease (any more): it must not write.
    #[error("not the leader")]
    NotLeader,
}

impl ReconcileError {
    /// A low-cardinality label for metrics.
    pub(crate) fn metric_label(&self) -> &'static str {
        match self {
            Self::Provider(error) => error.metric_label(),
            Self::Kube(_) => "kube",
            Self::NotLeader => "not_leader",
        }
    }
}

/// What the reconciler keeps across reconciles of one stack, so Events say only what is new.
#[derive(Debug, Default)]
struct StackMemory {
    /// The diagnostics already published.
    diagnostics: BTreeSet<Diagnostic>,
    /// The provider error already published.
    error: Option<String>,
    /// A fingerprint of the model last applied successfully.
    applied: Option<u64>,
    /// The status last written to the members.
    status: Option<LoadBalancerStatus>,
    /// Why the status source has no address, as last published.
    no_address: Option<String>,
}

/// Everything a reconcile needs, shared by the workers.
pub(crate) struct Reconciler<P> {
    pub(crate) index: Arc<Mutex<Index>>,
    pub(crate) provider: Arc<P>,
    pub(crate) writes: IngressWrites,
    pub(crate) events: EventSink,
    pub(crate) metrics: Metrics,
    pub(crate) leadership: watch::Receiver<bool>,
    /// The drift-repair period: a stack in sync is reconciled again after about this long.
    pub(crate) resync: Duration,
    /// Where the status addresses come from, when not from the provider.
    pub(crate) status_source: Option<StatusSource>,
    /// Writes to Gateway API objects; set once the Gateway API is watched (at start-up, or when
    /// its CRDs appear later), unset where it is not.
    pub(crate) gateway_writes: OnceLock<GatewayWrites>,
    memory: Mutex<HashMap<StackId, StackMemory>>,
    /// The stacks of this leader term's first pass not yet reconciled; `None` outside a pass.
    sweep: Mutex<Option<BTreeSet<StackId>>>,
}

/// A consistent piece of the index for one reconcile.
struct Work {
    translation: StackTranslation,
    /// The member Ingresses as last seen.
    members: Vec<Ingress>,
    /// Ingresses that left the stack and still hold the finalizer, as last seen.
    leavers: Vec<Ingress>,
}

impl<P: Provider> Reconciler<P> {
    pub(crate) fn new(
        index: Arc<Mutex<Index>>,
        provider: Arc<P>,
        writes: IngressWrites,
        events: EventSink,
        metrics: Metrics,
        leadership: watch::Receiver<bool>,
        resync: Duration,
    ) -> Self {
        Self {
            index,
            provider,
            writes,
            events,
            metrics,
            leadership,
            resync,
            status_source: None,
            gateway_writes: OnceLock::new(),
            memory: Mutex::default(),
            sweep: Mutex::default(),
        }
    }

    /// Reconciles `stack` once; returns when to reconcile it again (`None`: when it changes).
    ///
    /// # Cancel safety
    /// Cancel-safe: every write is idempotent and the provider is cancel-safe, so a dropped
    /// reconcile converges on the next one.
    pub(crate) async fn reconcile(&self, stack: &StackId) -> Option<Duration> {
        let started = Instant::now();
        let result = match stack {
            StackId::Gateway { namespace, name } => {
                self.converge_gateway(stack, namespace, name).await
            }
            _ => {
                let work = self.take_work(stack);
                self.converge(stack, &work).await
            }
        };
        let label = result
            .as_ref()
            .map_or_else(ReconcileError::metric_label, |()| "ok");
        self.metrics.reconcile_finished(label, started.elapsed());
        match result {
            Ok(()) => {
                tracing::debug!(%stack, elapsed_ms = started.elapsed().as_millis() as u64, "stack in sync");
                self.sweep_done(stack).await;
                Some(self.resync + jitter(stack, self.resync))
            }
            Err(ReconcileError::Provider(error)) => {
                tracing::warn!(%stack, kind = error.metric_label(), %error, "provider failed");
                error.requeue_after()
            }
            Err(ReconcileError::Kube(error)) => {
                tracing::warn!(%stack, %error, "a Kubernetes write failed");
                Some(KUBE_RETRY)
            }
            Err(ReconcileError::NotLeader) => None,
        }
    }

    /// Starts a leader term's first pass over `stacks`: once each has been reconciled, the
    /// Ingresses that left a stack while no weir was watching let go of the finalizer. An empty
    /// pass is complete at once: they let go now.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`Reconciler::reconcile`].
    pub(crate) async fn begin_sweep(&self, stacks: BTreeSet<StackId>) {
        if stacks.is_empty() {
            *lock(&self.sweep) = None;
            self.release_unattributed().await;
            return;
        }
        *lock(&self.sweep) = Some(stacks);
    }

    fn take_work(&self, stack: &StackId) -> Work {
        let mut index = lock(&self.index);
        let translation = index.translate(stack);
        let lookup = |namespace: &str, name: &str| index.ingress(namespace, name).cloned();
        let members = translation
            .desired
            .iter()
            .flat_map(|desired| &desired.members)
            .filter_map(|member| {
                lookup(
                    member.namespace.as_deref().unwrap_or_default(),
                    &member.name,
                )
            })
            .collect();
        let leavers = index
            .leavers(stack)
            .iter()
            .filter_map(|leaver| lookup(&leaver.namespace, &leaver.name))
            .collect();
        Work {
            translation,
            members,
            leavers,
        }
    }

    async fn converge(&self, stack: &StackId, work: &Work) -> Result<(), ReconcileError> {
        let Some(desired) = &work.translation.desired else {
            self.leader()?;
            self.provider.delete(stack).await?;
            self.release(self.written(stack), &work.leavers).await?;
            lock(&self.memory).remove(stack);
            return Ok(());
        };
        for member in &work.members {
            self.leader()?;
            self.writes.add_finalizer(member).await?;
        }
        self.leader()?;
        let result = self.provider.ensure(desired).await;
        // Events are writes too: a Lease lost during a (slow) provider call stops them here.
        self.leader()?;
        let left_out = match &result {
            Ok(status) => status.left_out.as_slice(),
            Err(error) => error.diagnostics(),
        };
        self.report_diagnostics(stack, work, left_out).await;
        let status = match result {
            Ok(status) => status,
            Err(error) => {
                self.report_error(stack, work, &error).await;
                return Err(error.into());
            }
        };
        let Some(status) = self.sourced(stack, work, status).await else {
            // The source has not read its objects yet; its first answer requeues every stack.
            self.report_synced(stack, work).await;
            return self.release(self.written(stack), &work.leavers).await;
        };
        for member in &work.members {
            self.leader()?;
            self.writes.set_status(member, &status).await?;
        }
        lock(&self.memory).entry(stack.clone()).or_default().status = Some(status);
        self.leader()?;
        self.report_synced(stack, work).await;
        self.release(self.written(stack), &work.leavers).await
    }

    /// The status to write: the provider's, or with the status source's addresses; `None`
    /// while the source does not know them yet. No address is one Warning Event per member,
    /// repeated only when the reason changes.
    async fn sourced(
        &self,
        stack: &StackId,
        work: &Work,
        mut status: LoadBalancerStatus,
    ) -> Option<LoadBalancerStatus> {
        let Some(source) = &self.status_source else {
            return Some(status);
        };
        let problem = match source.current() {
            SourcedStatus::Unknown => return None,
            SourcedStatus::Addresses(addresses) => {
                status.addresses = addresses;
                None
            }
            SourcedStatus::Missing(problem) => {
                status.addresses.clear();
                Some(problem)
            }
        };
        let new = {
            let mut memory = lock(&self.memory);
            let memory = memory.entry(stack.clone()).or_default();
            let new = problem.is_some() && memory.no_address != problem;
            memory.no_address.clone_from(&problem);
            new
        };
        if let (true, Some(problem)) = (new, &problem) {
            tracing::warn!(%stack, members = work.members.len(), "no status address: {problem}");
            for member in &work.members {
                self.events
                    .publish(member, true, NO_ADDRESS_REASON, "Reconcile", problem)
                    .await;
            }
        }
        Some(status)
    }

    /// The status last written to `stack`'s members.
    fn written(&self, stack: &StackId) -> Option<LoadBalancerStatus> {
        lock(&self.memory)
            .get(stack)
            .and_then(|memory| memory.status.clone())
    }

    /// Lets Ingresses go that left a stack: it no longer holds anything of theirs. One that
    /// lives on (moved to another controller's class) also loses the address weir `written`,
    /// unless its status already says something else (another controller's).
    async fn release(
        &self,
        written: Option<LoadBalancerStatus>,
        leavers: &[Ingress],
    ) -> Result<(), ReconcileError> {
        for leaver in leavers {
            self.leader()?;
            let deleting = leaver.metadata.deletion_timestamp.is_some();
            if let (false, Some(written)) = (deleting, &written)
                && status_matches(leaver, written)
            {
                self.writes
                    .set_status(leaver, &LoadBalancerStatus::default())
                    .await?;
            }
            if self.writes.remove_finalizer(leaver).await? {
                tracing::info!(
                    ingress = %key(leaver),
                    "released: its load balancer resources are cleaned up"
                );
            }
        }
        Ok(())
    }

    /// The diagnostics of `current` not yet published for `stack` (Ingress or Gateway stack).
    fn unpublished(&self, stack: &StackId, current: &BTreeSet<Diagnostic>) -> Vec<Diagnostic> {
        let memory = lock(&self.memory);
        let published = memory.get(stack).map(|memory| &memory.diagnostics);
        current
            .iter()
            .filter(|diagnostic| published.is_none_or(|published| !published.contains(*diagnostic)))
            .cloned()
            .collect()
    }

    /// Records `current` as the diagnostics published for `stack`.
    fn remember_published(&self, stack: &StackId, current: BTreeSet<Diagnostic>) {
        lock(&self.memory)
            .entry(stack.clone())
            .or_default()
            .diagnostics = current;
    }

    /// Whether the provider error `message` differs from the one last reported for `stack`;
    /// records it, and forgets the stack's last sync so that recovery reports one.
    fn error_changed(&self, stack: &StackId, message: &str) -> bool {
        let mut memory = lock(&self.memory);
        let memory = memory.entry(stack.clone()).or_default();
        if memory.error.as_deref() == Some(message) {
            return false;
        }
        memory.error = Some(message.to_owned());
        memory.applied = None;
        true
    }

    /// Whether the stack applied as `fingerprint` differs from the one last reported in sync;
    /// records it and clears the stack's reported error.
    fn sync_changed(&self, stack: &StackId, fingerprint: u64) -> bool {
        let mut memory = lock(&self.memory);
        let memory = memory.entry(stack.clone()).or_default();
        memory.error = None;
        if memory.applied == Some(fingerprint) {
            return false;
        }
        memory.applied = Some(fingerprint);
        true
    }

    /// A Warning Event for each diagnostic (of translation, or of what the provider left out)
    /// not published before, on the Ingress it concerns.
    async fn report_diagnostics(&self, stack: &StackId, work: &Work, left_out: &[Diagnostic]) {
        let current: BTreeSet<Diagnostic> = work
            .translation
            .diagnostics
            .iter()
            .chain(left_out)
            .cloned()
            .collect();
        let new = self.unpublished(stack, &current);
        for diagnostic in &new {
            let Some(ingress) = work
                .members
                .iter()
                .find(|member| concerns(diagnostic, member))
            else {
                continue;
            };
            let severity = match diagnostic.severity {
                Severity::Warning => "warning",
                Severity::Error => "error",
            };
            tracing::warn!(
                %stack,
                object = %diagnostic.object,
                field = %diagnostic.field,
                reason = diagnostic.reason.as_str(),
                severity,
                "{}",
                diagnostic.message
            );
            self.events.publish_diagnostic(ingress, diagnostic).await;
        }
        self.remember_published(stack, current);
    }

    /// A Warning Event on every member when the provider fails differently from last time.
    async fn report_error(&self, stack: &StackId, work: &Work, error: &ProviderError) {
        let message = error.to_string();
        if !self.error_changed(stack, &message) {
            return;
        }
        let note = format!("stack {stack}: {message}");
        for member in &work.members {
            self.events
                .publish(member, true, error.metric_label(), "Reconcile", &note)
                .await;
        }
    }

    /// A Normal Event on every member when the stack changed and is now in sync.
    async fn report_synced(&self, stack: &StackId, work: &Work) {
        if !self.sync_changed(stack, fingerprint(&work.translation)) {
            return;
        }
        tracing::info!(%stack, members = work.members.len(), "stack changed and is in sync");
        let note = format!(
            "stack {stack} is in sync with {} Ingress(es)",
            work.members.len()
        );
        for member in &work.members {
            self.events
                .publish(member, false, "Synced", "Reconcile", &note)
                .await;
        }
    }

    /// Marks `stack` done in the current first pass; when the pass is complete, lets go of the
    /// Ingresses that left their stack while no weir was watching.
    async fn sweep_done(&self, stack: &StackId) {
        let complete = {
            let mut sweep = lock(&self.sweep);
            match sweep.as_mut() {
                Some(pending) => {
                    pending.remove(stack);
                    let complete = pending.is_empty();
                    if complete {
                        *sweep = None;
                    }
                    complete
                }
                None => false,
            }
        };
        if complete {
            self.release_unattributed().await;
        }
    }

    /// Lets go of the Ingresses that left their stack while no weir was watching.
    async fn release_unattributed(&self) {
        let leavers: Vec<Ingress> = {
            let index = lock(&self.index);
            index
                .unattributed_leavers()
                .iter()
                .filter_map(|leaver| index.ingress(&leaver.namespace, &leaver.name).cloned())
                .collect()
        };
        tracing::info!(leavers = leavers.len(), "first pass complete");
        if let Err(error) = self.release(None, &leavers).await {
            tracing::warn!(%error, "could not release Ingresses that left while weir was down");
        }
    }

    fn leader(&self) -> Result<(), ReconcileError> {
        if *self.leadership.borrow() {
            Ok(())
        } else {
            Err(ReconcileError::NotLeader)
        }
    }
}

/// Whether `diagnostic` is about `ingress`.
fn concerns(diagnostic: &Diagnostic, ingress: &Ingress) -> bool {
    diagnostic.object.kind == "Ingress"
        && diagnostic.object.name == ingress.metadata.name.as_deref().unwrap_or_default()
        && diagnostic.object.namespace.as_deref()
            == Some(weir_translate::namespace_of(&ingress.metadata))
}

/// A fingerprint of a translation's routes: equal routes, listeners, certificates and settings,
/// equal fingerprints, whatever the endpoints.
fn fingerprint(translation: &StackTranslation) -> u64 {
    // Endpoints come and go with every rollout: they are not news worth an Event.
    let routes_only = translation.desired.clone().map(|mut desired| {
        for target_group in desired.target_groups.values_mut() {
            target_group.targets.clear();
        }
        desired
    });
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(&routes_only)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// Up to a tenth of `period`, fixed per stack, so periodic resyncs of many stacks spread out.
fn jitter(stack: &StackId, period: Duration) -> Duration {
    let mut hasher = DefaultHasher::new();
    stack.hash(&mut hasher);
    let tenth = period.as_millis() / 10;
    let offset = u128::from(hasher.finish()) % tenth.max(1);
    Duration::from_millis(u64::try_from(offset).unwrap_or(0))
}

fn key(ingress: &Ingress) -> String {
    format!(
        "{}/{}",
        weir_translate::namespace_of(&ingress.metadata),
        ingress.metadata.name.as_deref().unwrap_or_default()
    )
}

mod gateway;

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
