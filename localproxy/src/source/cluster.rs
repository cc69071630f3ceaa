//! Cluster mode: follow the snapshot the controller's localproxy provider publishes in one
//! namespace, and swap in every whole version.
//!
//! ```text
//! watch index Secret (by name) ─► Reader::read (get changed parts, check SHA-256s)
//!   ─► DesiredLoadBalancer ─► Proxy::apply (the same snapshot/ArcSwap path as file mode)
//!                             or Proxy::apply_endpoints when the routes parts are those served
//! ```
//!
//! What this process may read is exactly the parts' fixed names (`Layout::all_names`); it
//! never lists Secrets. The last good snapshot keeps serving while the API server is
//! unreachable or a published snapshot is broken; both count in `reload_failures_total`.

use futures::StreamExt as _;
use weir_model::{Action, DesiredLoadBalancer};
use weir_provider_localproxy::layout::Part;
use weir_provider_localproxy::{IndexEvent, KubeStore, Layout, ReadError, Reader, watch_index};

use crate::shared::state::Proxy;

/// Follows the snapshot of IngressClass `class` in `namespace` until the future is dropped.
///
/// # Cancel safety
/// Dropping the future stops following; a swap is synchronous and never half-applied.
pub async fn follow(client: kube::Client, namespace: String, layout: Layout, proxy: Proxy) {
    let store = KubeStore::new(client.clone(), &namespace);
    let mut reader = Reader::new(store);
    let events = watch_index(client, &namespace, &layout.index_name());
    futures::pin_mut!(events);
    let mut generation = None;
    // The routes parts of the snapshot being served: an index naming the same ones changed
    // endpoints only.
    let mut served_routes: Option<Vec<Part>> = None;
    while let Some(event) = events.next().await {
        match event {
            IndexEvent::Present(index) => match reader.read(&index).await {
                Ok(read) if generation == Some(read.generation) => {}
                Ok(read) => {
                    let endpoints_only = served_routes.as_ref() == Some(&read.routes);
                    let version = match endpoints_only {
                        true => proxy.apply_endpoints(&read.model),
                        false => proxy.apply(&read.model),
                    };
                    generation = Some(read.generation);
                    served_routes = Some(read.routes);
                    tracing::info!(
                        version,
                        generation = read.generation,
                        endpoints_only,
                        routes = proxy.snapshot().summary.routes,
                        "snapshot served"
                    );
                }
                Err(ReadError::Inconsistent(part)) => {
                    // A newer version is being written; its index arrives next.
                    tracing::debug!(%part, "snapshot in transit; waiting for its index");
                }
                Err(error) => {
                    proxy.metrics().reload_failures.inc();
                    tracing::error!(%error, "snapshot not served; keeping the last good one");
                }
            },
            IndexEvent::Absent if generation.is_some() => {
                // The controller deleted the stack: no Ingress of the class is left.
                proxy.apply(&empty(&layout));
                generation = None;
                served_routes = None;
                tracing::info!("snapshot deleted: answering 404");
            }
            IndexEvent::Absent => tracing::info!(
                index = %layout.index_name(),
                "no snapshot published yet; not ready"
            ),
            IndexEvent::Error(error) => {
                proxy.metrics().reload_failures.inc();
                tracing::warn!(%error, "cannot watch the snapshot; keeping the last good one");
            }
        }
    }
}

fn empty(layout: &Layout) -> DesiredLoadBalancer {
    DesiredLoadBalancer {
        stack: layout.stack(),
        ingress_class: String::new(),
        members: Vec::new(),
        listeners: Default::default(),
        virtual_hosts: Vec::new(),
        default_action: Action::status(404),
        target_groups: Default::default(),
        certificates: Vec::new(),
        settings: Default::default(),
    }
}
