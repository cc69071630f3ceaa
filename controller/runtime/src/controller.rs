//! `run`: the whole controller in one long-lived future.
//!
//! ```text
//! watchers ──► index ──► queue ──► workers (leader only, bounded) ──► Reconciler
//!    │                              ▲
//!    └ synced ─► /readyz            └ leader term: every stack + the provider's orphans,
//!                                     and weir's GatewayClasses' status (class_status)
//! Elector (Lease) ─► leadership: a lost Lease aborts the workers at once
//! ```
//!
//! The Gateway API kinds are watched only where the server serves them (their CRDs are
//! installed): checked at start-up, and then every `gateway_api_recheck` until they are;
//! `/readyz` waits only for the kinds watched.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use k8s_openapi::api::networking::v1::Ingress;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weir_index::Index;
use weir_model::{Diagnostic, Provider, StackId};
use weir_translate::{ControllerKind, Kind, TranslateConfig};

use crate::admin::{Health, serve_admin};
use crate::class_status::keep_classes_accepted;
use crate::events::EventSink;
use crate::gateway_writes::GatewayWrites;
use crate::ingress_writes::IngressWrites;
use crate::lease::{Elector, LeaseSettings};
use crate::locking::lock;
use crate::metrics::Metrics;
use crate::queue::WorkQueue;
use crate::reconcile::Reconciler;
use crate::status_source::StatusSource;
use crate::watch::{
    Feed, gateway_api_served, reference_grant_version, slice_version,
    spawn_gateway_reference_watchers, spawn_gateway_watchers, spawn_watchers,
};

/// How long a stack whose reconcile panicked waits before the next try.
const PANIC_RETRY: Duration = Duration::from_secs(30);

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Which Ingresses are ours and how they form stacks.
    pub translate: TranslateConfig,
    /// The Lease that elects the one instance allowed to write.
    pub lease: LeaseSettings,
    /// How many stacks are reconciled at once.
    pub concurrency: usize,
    /// The drift-repair period: a stack in sync is reconciled again after about this long, and
    /// the provider's stacks no Ingress asks for are looked for this often.
    pub resync: Duration,
    /// Where the status addresses come from when the provider does not know them (the local
    /// proxies' Service or Nodes): they replace the provider's, and every stack is reconciled
    /// again when they change. `None`: the provider's addresses.
    pub status_source: Option<StatusSource>,
    /// Whose GatewayClasses' Gateways are ours, where the server serves the Gateway API.
    pub gateway_controller: ControllerKind,
    /// How often a server that does not serve the Gateway API is asked again: once its CRDs
    /// are installed, their kinds are watched without a restart.
    pub gateway_api_recheck: Duration,
}

/// Why the controller could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The API server could not say which EndpointSlice version it serves.
    #[error("asking the API server for discovery.k8s.io/v1: {0}")]
    Discovery(#[source] kube::Error),
    /// The API server could not say whether it serves the Gateway API.
    #[error("asking the API server for gateway.networking.k8s.io/v1: {0}")]
    GatewayDiscovery(#[source] kube::Error),
}

/// Runs the controller until `shutdown` completes, then stops writing and gives the Lease up.
/// `registry` receives the controller's metrics and is served with `/healthz` and `/readyz` on
/// `admin`.
///
/// # Errors
/// [`RunError`] when the controller cannot start; once running it retries every failure.
///
/// # Cancel safety
/// Dropping the future stops the controller without releasing the Lease (a standby takes over
/// when it expires); complete `shutdown` for a clean hand-over.
pub async fn run<P: Provider + 'static>(
    client: kube::Client,
    provider: Arc<P>,
    settings: RunSettings,
    mut registry: Registry,
    admin: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let metrics = Metrics::new(&mut registry);
    let health = Health::new();
    let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_task = tokio::spawn(serve_admin(
        admin,
        Arc::new(registry),
        health.clone(),
        async {
            let _ = admin_stopped.await;
        },
    ));

    let slices = slice_version(&client).await.map_err(RunError::Discovery)?;
    tracing::info!(?slices, "EndpointSlice API chosen");
    let mut gateway_api = gateway_api_served(&client)
        .await
        .map_err(RunError::GatewayDiscovery)?;
    let mut watched: BTreeSet<Kind> = Kind::CORE.into_iter().collect();
    let index = Arc::new(Mutex::new(Index::new(settings.translate.clone())));
    let queue = Arc::new(WorkQueue::new());
    let (synced, mut synced_changes) = watch::channel(BTreeSet::new());
    let (left_out, left_out_reports) = tokio::sync::mpsc::unbounded_channel();
    let feed = Feed {
        index: index.clone(),
        queue: queue.clone(),
        metrics: metrics.clone(),
        synced,
        left_out,
    };
    let mut watchers = JoinSet::new();
    spawn_watchers(&client, slices, &feed, &mut watchers);

    let elector = Elector::spawn(client.clone(), settings.lease.clone());
    let mut leadership = elector.leadership();
    let events = EventSink::new(client.clone(), &settings.lease.identity, metrics.clone());
    watchers.spawn(report_left_out(
        left_out_reports,
        events.clone(),
        leadership.clone(),
    ));
    let mut reconciler = Reconciler::new(
        index.clone(),
        provider,
        IngressWrites::new(client.clone()),
        events,
        metrics.clone(),
        leadership.clone(),
        settings.resync,
    );
    reconciler.status_source = settings.status_source.clone();
    let reconciler = Arc::new(reconciler);
    let gateway_api_watch = GatewayApiWatch {
        client: &client,
        feed: &feed,
        reconciler: &reconciler,
        controller: settings.gateway_controller,
    };
    if gateway_api {
        gateway_api_watch
            .start(&mut watched, &mut watchers)
            .await
            .map_err(RunError::GatewayDiscovery)?;
    } else {
        tracing::info!(
            recheck_seconds = settings.gateway_api_recheck.as_secs(),
            "Gateway API is not installed (no gateway.networking.k8s.io/v1): serving Ingresses only, asking again periodically"
        );
    }
    let mut recheck = tokio::time::interval_at(
        tokio::time::Instant::now() + settings.gateway_api_recheck,
        settings.gateway_api_recheck,
    );
    let mut status_source = settings.status_source.clone();

    let mut term: Option<JoinSet<()>> = None;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let leader = *leadership.borrow();
        let ready = watched.is_subset(&synced_changes.borrow());
        health.set_ready(ready);
        metrics.set_leader(leader);
        match (&mut term, leader && ready) {
            (None, true) => term = Some(start_term(&reconciler, &queue, &settings)),
            (Some(workers), false) => {
                workers.abort_all();
                queue.clear();
                term = None;
                match leader {
                    false => {
                        tracing::warn!("not the leader any more: stopped reconciling and writing")
                    }
                    true => tracing::info!(
                        "newly watched kinds are not synced yet: reconciling again once they are"
                    ),
                }
            }
            _ => {}
        }
        tokio::select! {
            _ = leadership.changed() => {}
            _ = synced_changes.changed() => {}
            _ = ticks.tick() => metrics.set_queue_depth(queue.depth()),
            changed = status_changed(&mut status_source) => {
                // The first pass of a new term reconciles every stack anyway.
                if changed && term.is_some() {
                    let stacks = lock(&index).stacks();
                    tracing::info!(stacks = stacks.len(), "status addresses changed: reconciling every stack");
                    for stack in stacks {
                        queue.add(stack);
                    }
                }
            }
            _ = recheck.tick(), if !gateway_api => {
                match gateway_api_served(&client).await {
                    Ok(true) => match gateway_api_watch.start(&mut watched, &mut watchers).await {
                        Ok(()) => gateway_api = true,
                        Err(error) => tracing::warn!(%error, "the Gateway API CRDs appeared, but asking for ReferenceGrants failed; retrying"),
                    },
                    Ok(false) => {}
                    Err(error) => tracing::debug!(%error, "asking whether the Gateway API is served failed; retrying"),
                }
            }
            () = &mut shutdown => break,
        }
    }

    tracing::info!("shutting down");
    if let Some(mut workers) = term {
        workers.abort_all();
    }
    queue.close();
    elector.release().await;
    watchers.abort_all();
    let _ = admin_stop.send(());
    let _ = admin_task.await;
    Ok(())
}

/// What starting to watch the Gateway API needs (at start-up, or when its CRDs appear).
struct GatewayApiWatch<'a, P> {
    client: &'a kube::Client,
    feed: &'a Feed,
    reconciler: &'a Arc<Reconciler<P>>,
    controller: ControllerKind,
}

impl<P: Provider> GatewayApiWatch<'_, P> {
    /// Watches GatewayClasses, Gateways, HTTPRoutes, Namespaces and (where served)
    /// ReferenceGrants, makes the index serve Gateways and the reconciler write their status.
    /// The kinds join `watched`, so `/readyz` and the leader term wait for their caches.
    async fn start(
        &self,
        watched: &mut BTreeSet<Kind>,
        watchers: &mut JoinSet<()>,
    ) -> Result<(), kube::Error> {
        let reference_grants = reference_grant_version(self.client).await?;
        tracing::info!(
            reference_grants = reference_grants.unwrap_or("not installed"),
            "Gateway API v1 is served: watching GatewayClasses, Gateways, HTTPRoutes, Namespaces and ReferenceGrants"
        );
        watched.extend(Kind::GATEWAY_API);
        watched.insert(Kind::Namespace);
        if reference_grants.is_some() {
            watched.insert(Kind::ReferenceGrant);
        }
        let affected = lock(&self.feed.index).serve_gateways(self.controller);
        for stack in affected {
            self.feed.queue.add(stack);
        }
        let _ = self
            .reconciler
            .gateway_writes
            .set(GatewayWrites::new(self.client.clone(), self.controller));
        spawn_gateway_watchers(self.client, self.feed, watchers);
        spawn_gateway_reference_watchers(self.client, reference_grants, self.feed, watchers);
        Ok(())
    }
}

/// Waits for the status source to change; never completes without one (or once its sender is
/// gone, which leaves the last value in force).
async fn status_changed(source: &mut Option<StatusSource>) -> bool {
    let Some(current) = source else {
        return std::future::pending().await;
    };
    if current.changed().await {
        return true;
    }
    *source = None;
    false
}

/// Publishes a Warning Event for each new reason an Ingress is left out of every stack (an
/// invalid `group.name`), while this process leads.
async fn report_left_out(
    mut reports: tokio::sync::mpsc::UnboundedReceiver<(Ingress, Vec<Diagnostic>)>,
    events: EventSink,
    leadership: watch::Receiver<bool>,
) {
    let mut published: HashMap<(String, String), BTreeSet<Diagnostic>> = HashMap::new();
    while let Some((ingress, diagnostics)) = reports.recv().await {
        if !*leadership.borrow() {
            continue;
        }
        let key = (
            weir_translate::namespace_of(&ingress.metadata).to_owned(),
            ingress.metadata.name.clone().unwrap_or_default(),
        );
        let seen = published.entry(key).or_default();
        for diagnostic in diagnostics {
            if seen.insert(diagnostic.clone()) {
                tracing::warn!(object = %diagnostic.object, field = %diagnostic.field, reason = diagnostic.reason.as_str(), "{}", diagnostic.message);
                events.publish_diagnostic(&ingress, &diagnostic).await;
            }
        }
    }
}

/// Starts a leader term: workers, and a first pass over every stack the index knows plus those
/// the provider holds that no Ingress asks for; repeated every resync period for the latter.
fn start_term<P: Provider + 'static>(
    reconciler: &Arc<Reconciler<P>>,
    queue: &Arc<WorkQueue>,
    settings: &RunSettings,
) -> JoinSet<()> {
    tracing::info!(
        concurrency = settings.concurrency,
        "leading: reconciling every stack"
    );
    queue.clear();
    let mut workers = JoinSet::new();
    for _ in 0..settings.concurrency.max(1) {
        let (queue, reconciler) = (queue.clone(), reconciler.clone());
        workers.spawn(async move {
            while let Some(stack) = queue.next().await {
                // A bug in one reconcile must not stop the worker or leave the stack marked
                // running forever: it is logged, counted and retried later.
                let requeue = AssertUnwindSafe(reconciler.reconcile(&stack))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| {
                        tracing::error!(%stack, "reconcile panicked; retrying later");
                        reconciler
                            .metrics
                            .reconcile_finished("panic", Duration::ZERO);
                        Some(PANIC_RETRY)
                    });
                queue.done(&stack, requeue);
            }
        });
    }
    if let Some(writes) = reconciler.gateway_writes.get().cloned() {
        workers.spawn(keep_classes_accepted(writes));
    }
    let (queue, reconciler, resync) = (queue.clone(), reconciler.clone(), settings.resync);
    workers.spawn(async move {
        let mut first = true;
        loop {
            let known: BTreeSet<StackId> = lock(&reconciler.index).stacks().into_iter().collect();
            let mut stacks = known.clone();
            match reconciler.provider.owned_stacks().await {
                Ok(owned) => {
                    let orphans: Vec<StackId> = owned
                        .into_iter()
                        .filter(|stack| !known.contains(stack))
                        .collect();
                    if !orphans.is_empty() {
                        tracing::info!(
                            orphans = orphans.len(),
                            "provider holds stacks no Ingress asks for: deleting them"
                        );
                    }
                    stacks.extend(orphans.iter().cloned());
                    if first {
                        reconciler.begin_sweep(stacks.clone()).await;
                        for stack in stacks {
                            queue.add(stack);
                        }
                        first = false;
                    } else {
                        for stack in orphans {
                            queue.add(stack);
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not list the provider's stacks; retrying");
                    if first {
                        for stack in known {
                            queue.add(stack);
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(5).min(resync)).await;
                    continue;
                }
            }
            tokio::time::sleep(resync).await;
        }
    });
    workers
}
