//! [`LocalProxyProvider`]: `ensure` publishes a stack's snapshot, `delete` removes it,
//! `owned_stacks` lists the published indexes.
//!
//! ```text
//! ensure(model) ─► wire::split ─► routes chunks + endpoint buckets ─► list the stack's objects
//!   ─► put each part whose SHA-256 differs ─► put the index (generation + 1) ─► delete parts
//!      the new index no longer names
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use weir_model::{
    DesiredLoadBalancer, ErrorKind, LoadBalancerAddress, LoadBalancerStatus, Provider,
    ProviderError, StackId,
};

use crate::layout::{
    Index, Layout, MANAGED_BY, MANAGED_BY_LABEL, PART_LABEL, Part, ROUTE_SHARDS, SHA_ANNOTATION,
    SHARD_LIMIT, STACK_ANNOTATION, STACK_LABEL, sha256_hex,
};
use crate::store::{SnapshotStore, StoreError, StoredObject};
use crate::wire;

/// Publishes proxy snapshots into a [`SnapshotStore`] (in the cluster: Secrets in the
/// controller's namespace).
#[derive(Debug)]
pub struct LocalProxyProvider<S> {
    store: S,
    addresses: Vec<LoadBalancerAddress>,
    calls: Calls,
}

#[derive(Debug, Default)]
struct Calls {
    list: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
}

impl<S: SnapshotStore> LocalProxyProvider<S> {
    /// A provider writing into `store` that reports `addresses` as every stack's status
    /// (where the proxies can be reached).
    pub fn new(store: S, addresses: Vec<LoadBalancerAddress>) -> Self {
        Self {
            store,
            addresses,
            calls: Calls::default(),
        }
    }

    /// The store calls made so far, by operation (`list`, `put`, `delete`).
    pub fn calls(&self) -> Vec<(String, u64)> {
        [
            ("list", &self.calls.list),
            ("put", &self.calls.put),
            ("delete", &self.calls.delete),
        ]
        .into_iter()
        .map(|(name, count)| (name.to_owned(), count.load(Ordering::Relaxed)))
        .collect()
    }

    async fn list(&self, selector: &str) -> Result<Vec<StoredObject>, ProviderError> {
        self.calls.list.fetch_add(1, Ordering::Relaxed);
        self.store.list(selector).await.map_err(classify)
    }

    async fn put(&self, object: StoredObject) -> Result<(), ProviderError> {
        self.calls.put.fetch_add(1, Ordering::Relaxed);
        self.store.put(object).await.map_err(classify)
    }

    async fn delete_object(&self, name: &str) -> Result<(), ProviderError> {
        self.calls.delete.fetch_add(1, Ordering::Relaxed);
        self.store.delete(name).await.map_err(classify)
    }

    async fn publish(&self, desired: &DesiredLoadBalancer) -> Result<(), ProviderError> {
        let layout = Layout::for_stack(&desired.stack)
            .map_err(|error| ProviderError::new(ErrorKind::Unsupported, error.to_string()))?;
        let stack = desired.stack.to_string();
        let (routes, buckets) = wire::split(desired);
        let routes = serde_json::to_vec(&routes).map_err(|error| {
            ProviderError::new(ErrorKind::Permanent, "encoding the routes").with_source(error)
        })?;
        let chunks: Vec<&[u8]> = routes.chunks(SHARD_LIMIT).collect();
        if chunks.len() > ROUTE_SHARDS {
            return Err(ProviderError::new(
                ErrorKind::InvalidSpec,
                format!(
                    "the routes and certificates of {stack} take {} bytes, more than {} objects of {SHARD_LIMIT} bytes",
                    routes.len(),
                    ROUTE_SHARDS
                ),
            ));
        }
        let mut parts: Vec<(String, &'static str, Vec<u8>)> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| (layout.routes_name(i), "routes", chunk.to_vec()))
            .collect();
        let route_count = parts.len();
        for (k, bucket) in buckets.iter().enumerate() {
            if bucket.sets.is_empty() {
                continue;
            }
            let data = serde_json::to_vec(bucket).map_err(|error| {
                ProviderError::new(ErrorKind::Permanent, "encoding endpoints").with_source(error)
            })?;
            if data.len() > SHARD_LIMIT {
                return Err(ProviderError::new(
                    ErrorKind::InvalidSpec,
                    format!(
                        "endpoint bucket {k} of {stack} takes {} bytes, more than {SHARD_LIMIT}",
                        data.len()
                    ),
                ));
            }
            parts.push((layout.endpoints_name(k), "endpoints", data));
        }

        let existing = self.list(&layout.selector()).await?;
        let held: BTreeMap<&str, &StoredObject> = existing
            .iter()
            .map(|object| (object.name.as_str(), object))
            .collect();
        let mut index_parts = Vec::with_capacity(parts.len());
        for (name, role, data) in parts {
            let sha = sha256_hex(&data);
            let current = held
                .get(name.as_str())
                .and_then(|object| object.annotations.get(SHA_ANNOTATION));
            if current != Some(&sha) {
                self.put(object(&layout, &stack, name.clone(), role, data, &sha))
                    .await?;
            }
            index_parts.push(Part { name, sha256: sha });
        }
        let endpoints = index_parts.split_off(route_count);
        let previous = held
            .get(layout.index_name().as_str())
            .and_then(|object| serde_json::from_slice::<Index>(&object.data).ok());
        let generation = previous.as_ref().map_or(0, |index| index.generation);
        let mut index = Index::new(generation, stack.clone(), index_parts, endpoints);
        let unchanged = previous
            .as_ref()
            .is_some_and(|previous| previous.format == index.format && previous.same_parts(&index));
        if !unchanged {
            index.generation = generation + 1;
            let data = serde_json::to_vec(&index).map_err(|error| {
                ProviderError::new(ErrorKind::Permanent, "encoding the index").with_source(error)
            })?;
            let sha = sha256_hex(&data);
            self.put(object(
                &layout,
                &stack,
                layout.index_name(),
                "index",
                data,
                &sha,
            ))
            .await?;
            tracing::debug!(stack = %stack, generation = index.generation, "snapshot published");
        }
        let named: BTreeSet<&str> = index
            .routes
            .iter()
            .chain(&index.endpoints)
            .map(|part| part.name.as_str())
            .collect();
        let index_name = layout.index_name();
        for name in held.keys() {
            if *name != index_name && !named.contains(name) {
                self.delete_object(name).await?;
            }
        }
        Ok(())
    }
}

fn object(
    layout: &Layout,
    stack: &str,
    name: String,
    role: &str,
    data: Vec<u8>,
    sha: &str,
) -> StoredObject {
    StoredObject {
        name,
        labels: BTreeMap::from([
            (STACK_LABEL.to_owned(), layout.stack_label()),
            (PART_LABEL.to_owned(), role.to_owned()),
            (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
        ]),
        annotations: BTreeMap::from([
            (STACK_ANNOTATION.to_owned(), stack.to_owned()),
            (SHA_ANNOTATION.to_owned(), sha.to_owned()),
        ]),
        data,
    }
}

/// Store failures as provider errors: no answer, 429 and 5xx are transient; 409 a conflict;
/// anything else (403 above all) permanent.
fn classify(error: StoreError) -> ProviderError {
    let kind = match error.status {
        Some(429) => ErrorKind::Throttled,
        Some(409) => ErrorKind::Conflict,
        _ if error.is_transient() => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    };
    ProviderError::new(kind, error.to_string()).with_source(error)
}

impl<S: SnapshotStore> Provider for LocalProxyProvider<S> {
    async fn ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> Result<LoadBalancerStatus, ProviderError> {
        self.publish(desired).await?;
        Ok(LoadBalancerStatus {
            addresses: self.addresses.clone(),
            left_out: Vec::new(),
        })
    }

    async fn delete(&self, stack: &StackId) -> Result<(), ProviderError> {
        let Ok(layout) = Layout::for_stack(stack) else {
            return Ok(());
        };
        // The index first: a reader never finds an index whose parts are gone.
        self.delete_object(&layout.index_name()).await?;
        for object in self.list(&layout.selector()).await? {
            self.delete_object(&object.name).await?;
        }
        Ok(())
    }

    async fn owned_stacks(&self) -> Result<Vec<StackId>, ProviderError> {
        let selector = format!("{PART_LABEL}=index,{MANAGED_BY_LABEL}={MANAGED_BY}");
        let mut stacks: Vec<StackId> = self
            .list(&selector)
            .await?
            .iter()
            .filter_map(|object| object.annotations.get(STACK_ANNOTATION)?.parse().ok())
            .collect();
        stacks.sort();
        stacks.dedup();
        Ok(stacks)
    }
}
