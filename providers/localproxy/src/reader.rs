//! The proxy's side: turn an index object into a whole model, fetching only the parts whose
//! hash changed since the last read, and refusing any mix of versions.

use std::collections::HashMap;

use weir_model::DesiredLoadBalancer;

use crate::layout::{Index, Part, sha256_hex};
use crate::store::{SnapshotStore, StoreError, StoredObject};
use crate::wire::{self, EndpointSets, Routes, WireError};

/// Why an index could not be read into a model.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A part is missing or holds other content than the index names: a newer version is
    /// being written (its index follows), or a publish was interrupted.
    #[error("part {0} does not match the index (a newer version is being published)")]
    Inconsistent(String),
    /// The index or a part does not decode, or is of another format.
    #[error(transparent)]
    Broken(#[from] WireError),
}

impl ReadError {
    /// Whether the snapshot is broken (rather than in transit or unreachable).
    pub fn is_broken(&self) -> bool {
        matches!(self, Self::Broken(_))
    }
}

/// A successfully read snapshot.
#[derive(Debug)]
pub struct ReadSnapshot {
    /// The index generation.
    pub generation: u64,
    /// The model to serve.
    pub model: DesiredLoadBalancer,
    /// The parts the routes document was assembled from: when they equal those of the last
    /// snapshot served, only endpoints changed.
    pub routes: Vec<Part>,
}

/// Reads indexes through a store, caching parts by name and hash.
#[derive(Debug)]
pub struct Reader<S> {
    store: S,
    cache: HashMap<String, (String, Vec<u8>)>,
}

impl<S: SnapshotStore> Reader<S> {
    /// A reader with an empty cache.
    pub fn new(store: S) -> Self {
        Self {
            store,
            cache: HashMap::new(),
        }
    }

    /// Reads the snapshot `index` names.
    ///
    /// # Errors
    /// [`ReadError`]; the caller keeps serving what it has.
    pub async fn read(&mut self, index: &StoredObject) -> Result<ReadSnapshot, ReadError> {
        let decoded: Index =
            serde_json::from_slice(&index.data).map_err(|source| WireError::Decode {
                what: format!("index {}", index.name),
                source,
            })?;
        if !wire::readable(decoded.format) {
            return Err(WireError::Format {
                what: format!("index {}", index.name),
                found: decoded.format,
            }
            .into());
        }
        let mut routes = Vec::new();
        for part in &decoded.routes {
            routes.extend_from_slice(&self.part(part).await?);
        }
        let routes: Routes =
            serde_json::from_slice(&routes).map_err(|source| WireError::Decode {
                what: "routes".into(),
                source,
            })?;
        let mut buckets = Vec::with_capacity(decoded.endpoints.len());
        for part in &decoded.endpoints {
            let data = self.part(part).await?;
            let bucket: EndpointSets =
                serde_json::from_slice(&data).map_err(|source| WireError::Decode {
                    what: part.name.clone(),
                    source,
                })?;
            buckets.push(bucket);
        }
        let model = wire::join(routes, buckets)?;
        let keep: Vec<&str> = decoded
            .routes
            .iter()
            .chain(&decoded.endpoints)
            .map(|part| part.name.as_str())
            .collect();
        self.cache.retain(|name, _| keep.contains(&name.as_str()));
        Ok(ReadSnapshot {
            generation: decoded.generation,
            model,
            routes: decoded.routes,
        })
    }

    async fn part(&mut self, part: &Part) -> Result<Vec<u8>, ReadError> {
        if let Some((sha, data)) = self.cache.get(&part.name)
            && *sha == part.sha256
        {
            return Ok(data.clone());
        }
        let object = self
            .store
            .get(&part.name)
            .await?
            .ok_or_else(|| ReadError::Inconsistent(part.name.clone()))?;
        let sha = sha256_hex(&object.data);
        if sha != part.sha256 {
            return Err(ReadError::Inconsistent(part.name.clone()));
        }
        self.cache
            .insert(part.name.clone(), (sha, object.data.clone()));
        Ok(object.data)
    }
}
