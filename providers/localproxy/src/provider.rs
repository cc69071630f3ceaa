//! [`LocalProxyProvider`]: `ensure` publishes the snapshot of a stack's fleet (its class, with
//! the Gateways of the GatewayClass of that name merged in: see `fleet`), `delete` takes the
//! stack out of it, `owned_stacks` lists the stacks the published indexes name.
//!
//! ```text
//! ensure(model) ─► wire::split ─► routes document + endpoint buckets
//!   ─► what the store holds (remembered, else listed: see `published`)
//!   ─► serialize only documents that differ from the remembered ones; put each part whose
//!      SHA-256 the store does not hold ─► put the index (generation + 1) ─► delete parts the
//!      new index no longer names
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use weir_model::{
    DesiredLoadBalancer, ErrorKind, LoadBalancerAddress, LoadBalancerStatus, Provider,
    ProviderError, StackId,
};

use crate::fleet::{Fleets, MEMBERS_ANNOTATION};
use crate::layout::{
    Index, Layout, MANAGED_BY, MANAGED_BY_LABEL, PART_LABEL, Part, ROUTE_SHARDS, SHA_ANNOTATION,
    SHARD_LIMIT, STACK_ANNOTATION, STACK_LABEL, sha256_hex,
};
use crate::published::{Memory, Published};
use crate::store::{SnapshotStore, StoreError, StoredObject};
use crate::wire;

/// Publishes proxy snapshots into a [`SnapshotStore`] (in the cluster: Secrets in the
/// controller's namespace).
#[derive(Debug)]
pub struct LocalProxyProvider<S> {
    store: S,
    addresses: Vec<LoadBalancerAddress>,
    calls: Calls,
    memory: Memory,
    fleets: Fleets,
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
            memory: Memory::default(),
            fleets: Fleets::default(),
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

    /// Publishes a fleet's merged model; its index names the `members` merged into it.
    async fn publish(
        &self,
        desired: &DesiredLoadBalancer,
        members: &[StackId],
    ) -> Result<(), ProviderError> {
        let layout = Layout::for_stack(&desired.stack)
            .map_err(|error| ProviderError::new(ErrorKind::Unsupported, error.to_string()))?;
        let stack = desired.stack.to_string();
        let (routes, buckets) = wire::split(desired);
        let mut memory = match self.memory.take_fresh(&stack) {
            Some(memory) => memory,
            None => self.list_published(&layout).await?,
        };

        let route_parts = match memory.route_parts_for(&routes) {
            Some(parts) => parts.to_vec(),
            None => {
                let parts = self
                    .put_routes(&layout, &stack, &routes, &memory.held)
                    .await?;
                memory.routes = Some((routes, parts.clone()));
                parts
            }
        };
        let mut endpoint_parts = Vec::new();
        for (k, bucket) in buckets.into_iter().enumerate() {
            if bucket.sets.is_empty() {
                memory.buckets.remove(&k);
                continue;
            }
            let part = match memory.bucket_part_for(k, &bucket) {
                Some(part) => part.clone(),
                None => {
                    let part = self
                        .put_bucket(&layout, &stack, k, &bucket, &memory.held)
                        .await?;
                    memory.buckets.insert(k, (bucket, part.clone()));
                    part
                }
            };
            endpoint_parts.push(part);
        }
        for part in route_parts.iter().chain(&endpoint_parts) {
            memory.held.insert(part.name.clone(), part.sha256.clone());
        }

        let generation = memory.index.as_ref().map_or(0, |index| index.generation);
        let mut index = Index::new(generation, stack.clone(), route_parts, endpoint_parts);
        let unchanged = memory
            .index
            .as_ref()
            .is_some_and(|previous| previous.format == index.format && previous.same_parts(&index));
        if !unchanged {
            index.generation = generation + 1;
            let data = serde_json::to_vec(&index).map_err(|error| {
                ProviderError::new(ErrorKind::Permanent, "encoding the index").with_source(error)
            })?;
            let sha = sha256_hex(&data);
            let mut index_object =
                object(&layout, &stack, layout.index_name(), "index", data, &sha);
            let members: Vec<String> = members.iter().map(StackId::to_string).collect();
            index_object
                .annotations
                .insert(MEMBERS_ANNOTATION.to_owned(), members.join(","));
            self.put(index_object).await?;
            tracing::debug!(stack = %stack, generation = index.generation, "snapshot published");
        }
        let named: BTreeSet<String> = index
            .routes
            .iter()
            .chain(&index.endpoints)
            .map(|part| part.name.clone())
            .collect();
        let unnamed: Vec<String> = memory
            .held
            .keys()
            .filter(|name| !named.contains(*name))
            .cloned()
            .collect();
        for name in unnamed {
            self.delete_object(&name).await?;
            memory.held.remove(&name);
        }
        memory.index = Some(index);
        self.memory.put(stack, memory);
        Ok(())
    }

    /// What the store holds of the stack: every part's hash and the index.
    async fn list_published(&self, layout: &Layout) -> Result<Published, ProviderError> {
        let index_name = layout.index_name();
        let mut held = BTreeMap::new();
        let mut index = None;
        for object in self.list(&layout.selector()).await? {
            if object.name == index_name {
                index = serde_json::from_slice::<Index>(&object.data).ok();
            } else if let Some(sha) = object.annotations.get(SHA_ANNOTATION) {
                held.insert(object.name, sha.clone());
            } else {
                // No hash: never equal to a part, so it is rewritten or deleted.
                held.insert(object.name, String::new());
            }
        }
        Ok(Published::listed(held, index))
    }

    /// Serializes the routes document into chunks, puts those whose hash the store does not
    /// hold, and returns the chunks' parts.
    async fn put_routes(
        &self,
        layout: &Layout,
        stack: &str,
        routes: &wire::Routes,
        held: &BTreeMap<String, String>,
    ) -> Result<Vec<Part>, ProviderError> {
        let data = serde_json::to_vec(routes).map_err(|error| {
            ProviderError::new(ErrorKind::Permanent, "encoding the routes").with_source(error)
        })?;
        let chunks: Vec<&[u8]> = data.chunks(SHARD_LIMIT).collect();
        if chunks.len() > ROUTE_SHARDS {
            return Err(ProviderError::new(
                ErrorKind::InvalidSpec,
                format!(
                    "the routes and certificates of {stack} take {} bytes, more than {} objects of {SHARD_LIMIT} bytes",
                    data.len(),
                    ROUTE_SHARDS
                ),
            ));
        }
        let mut parts = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.into_iter().enumerate() {
            let part = self
                .put_part(layout, stack, layout.routes_name(i), "routes", chunk, held)
                .await?;
            parts.push(part);
        }
        Ok(parts)
    }

    /// Serializes endpoint bucket `k`, puts it unless the store holds its hash, and returns
    /// its part.
    async fn put_bucket(
        &self,
        layout: &Layout,
        stack: &str,
        k: usize,
        bucket: &wire::EndpointSets,
        held: &BTreeMap<String, String>,
    ) -> Result<Part, ProviderError> {
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
        self.put_part(
            layout,
            stack,
            layout.endpoints_name(k),
            "endpoints",
            &data,
            held,
        )
        .await
    }

    /// Puts one part unless `held` says the store has it already.
    async fn put_part(
        &self,
        layout: &Layout,
        stack: &str,
        name: String,
        role: &str,
        data: &[u8],
        held: &BTreeMap<String, String>,
    ) -> Result<Part, ProviderError> {
        let sha = sha256_hex(data);
        if held.get(&name) != Some(&sha) {
            self.put(object(
                layout,
                stack,
                name.clone(),
                role,
                data.to_vec(),
                &sha,
            ))
            .await?;
        }
        Ok(Part { name, sha256: sha })
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
    /// Publishes the snapshot of the fleet serving `desired` (its class, or its Gateway's
    /// GatewayClass) with `desired` merged into the fleet's other stacks.
    async fn ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> Result<LoadBalancerStatus, ProviderError> {
        let fleet = Fleets::fleet_of(desired)
            .map_err(|error| ProviderError::new(ErrorKind::Unsupported, error.to_string()))?;
        let _publishing = self.fleets.lock(&fleet).await;
        let (merged, members) = self.fleets.set(&fleet, desired);
        if let Err(error) = self.publish(&merged, &members).await {
            if error.kind() == ErrorKind::InvalidSpec {
                // This stack does not fit: the fleet's other stacks publish without it.
                self.fleets.remove(&fleet, &desired.stack);
            }
            return Err(error);
        }
        Ok(LoadBalancerStatus {
            addresses: self.addresses.clone(),
            left_out: Vec::new(),
        })
    }

    /// Takes `stack` out of its fleet's snapshot: republishes the fleet's other stacks, or
    /// deletes the snapshot when `stack` was its only one.
    async fn delete(&self, stack: &StackId) -> Result<(), ProviderError> {
        let remembered = self.fleets.fleet_holding(stack);
        let fleet = match (&remembered, stack) {
            (Some(fleet), _) => fleet.clone(),
            (None, StackId::Class(class)) => class.clone(),
            (None, _) => match self.published_fleet_of(stack).await? {
                Some(fleet) => fleet,
                None => return Ok(()),
            },
        };
        let Ok(layout) = Layout::for_class(&fleet) else {
            return Ok(());
        };
        let _publishing = self.fleets.lock(&fleet).await;
        if let Some((merged, members)) = self.fleets.remove(&fleet, stack) {
            return self.publish(&merged, &members).await;
        }
        let others = self
            .published_members(&layout)
            .await?
            .is_some_and(|members| members.iter().any(|member| member != stack));
        if others {
            // Not remembered yet (a restart): they publish the fleet without it when they are
            // ensured.
            return Ok(());
        }
        self.memory.forget(&layout.stack().to_string());
        // The index first: a reader never finds an index whose parts are gone.
        self.delete_object(&layout.index_name()).await?;
        for object in self.list(&layout.selector()).await? {
            self.delete_object(&object.name).await?;
        }
        Ok(())
    }

    async fn owned_stacks(&self) -> Result<Vec<StackId>, ProviderError> {
        let mut stacks: Vec<StackId> = self.indexes().await?.iter().flat_map(members_of).collect();
        stacks.sort();
        stacks.dedup();
        Ok(stacks)
    }
}

impl<S: SnapshotStore> LocalProxyProvider<S> {
    /// Every published index object.
    async fn indexes(&self) -> Result<Vec<StoredObject>, ProviderError> {
        let selector = format!("{PART_LABEL}=index,{MANAGED_BY_LABEL}={MANAGED_BY}");
        self.list(&selector).await
    }

    /// The fleet whose published index names `stack` among its members.
    async fn published_fleet_of(&self, stack: &StackId) -> Result<Option<String>, ProviderError> {
        Ok(self
            .indexes()
            .await?
            .iter()
            .find(|object| members_of(object).contains(stack))
            .and_then(
                |object| match object.annotations.get(STACK_ANNOTATION)?.parse() {
                    Ok(StackId::Class(fleet)) => Some(fleet),
                    _ => None,
                },
            ))
    }

    /// The members the published index of `layout` names; `None` when there is none.
    async fn published_members(
        &self,
        layout: &Layout,
    ) -> Result<Option<Vec<StackId>>, ProviderError> {
        let name = layout.index_name();
        Ok(self
            .list(&layout.selector())
            .await?
            .iter()
            .find(|object| object.name == name)
            .map(members_of))
    }
}

/// The stacks an index object says it serves: its members, or (written before fleets merged
/// stacks) its own stack.
fn members_of(object: &StoredObject) -> Vec<StackId> {
    match object.annotations.get(MEMBERS_ANNOTATION) {
        Some(members) => members
            .split(',')
            .filter_map(|member| member.parse().ok())
            .collect(),
        None => object
            .annotations
            .get(STACK_ANNOTATION)
            .and_then(|stack| stack.parse().ok())
            .into_iter()
            .collect(),
    }
}
