//! Where snapshots are kept: a narrow trait over "objects in one namespace", so that the
//! provider and the reader are tested without a Kubernetes API server ([`MemoryStore`]) and
//! run against one through [`crate::cluster::KubeStore`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// One stored snapshot object: a name, its labels and annotations, and one blob of data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoredObject {
    /// The object's name in the namespace.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// The payload (may hold private keys: never printed).
    pub data: Vec<u8>,
}

impl std::fmt::Debug for StoredObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredObject")
            .field("name", &self.name)
            .field("labels", &self.labels)
            .field("annotations", &self.annotations)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {name}: {message}")]
pub struct StoreError {
    /// What was attempted (`get`, `list`, `put`, `delete`, `watch`).
    pub operation: &'static str,
    /// The object name or selector.
    pub name: String,
    /// The HTTP status the API answered, when it answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
}

impl StoreError {
    /// Whether retrying may succeed (no answer, 429 or a 5xx).
    pub fn is_transient(&self) -> bool {
        self.status
            .is_none_or(|status| status == 429 || status >= 500)
    }
}

/// Objects in one namespace. Implementations must make `put` create or replace the whole
/// object (labels, annotations and data) in one write.
///
/// # Cancel safety
/// Each call is one API request; dropping the future leaves the object either written or not.
pub trait SnapshotStore: Send + Sync {
    /// The object `name`, or `None` when it does not exist.
    fn get(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<StoredObject>, StoreError>> + Send;
    /// Every object whose labels match `selector` (`key=value[,key=value]`).
    fn list(
        &self,
        selector: &str,
    ) -> impl Future<Output = Result<Vec<StoredObject>, StoreError>> + Send;
    /// Creates or replaces `object`.
    fn put(&self, object: StoredObject) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes `name`; an absent object is not an error.
    fn delete(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<S: SnapshotStore> SnapshotStore for Arc<S> {
    fn get(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<StoredObject>, StoreError>> + Send {
        (**self).get(name)
    }
    fn list(
        &self,
        selector: &str,
    ) -> impl Future<Output = Result<Vec<StoredObject>, StoreError>> + Send {
        (**self).list(selector)
    }
    fn put(&self, object: StoredObject) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put(object)
    }
    fn delete(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete(name)
    }
}

/// An in-memory store that records every write, for tests and examples.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Memory>>,
}

#[derive(Debug, Default)]
struct Memory {
    objects: BTreeMap<String, StoredObject>,
    writes: Vec<String>,
}

impl MemoryStore {
    /// The names written (`put NAME` / `delete NAME`) since the last call, in order.
    pub fn take_writes(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().writes)
    }

    /// Every object held, by name.
    pub fn objects(&self) -> BTreeMap<String, StoredObject> {
        self.lock().objects.clone()
    }

    /// Replaces an object's data behind the writer's back (tests of broken snapshots).
    pub fn tamper(&self, name: &str, data: Vec<u8>) {
        if let Some(object) = self.lock().objects.get_mut(name) {
            object.data = data;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn matches(selector: &str, labels: &BTreeMap<String, String>) -> bool {
    selector
        .split(',')
        .filter(|term| !term.is_empty())
        .all(|term| match term.split_once('=') {
            Some((key, value)) => labels.get(key).is_some_and(|found| found == value),
            None => labels.contains_key(term),
        })
}

impl SnapshotStore for MemoryStore {
    async fn get(&self, name: &str) -> Result<Option<StoredObject>, StoreError> {
        Ok(self.lock().objects.get(name).cloned())
    }

    async fn list(&self, selector: &str) -> Result<Vec<StoredObject>, StoreError> {
        Ok(self
            .lock()
            .objects
            .values()
            .filter(|object| matches(selector, &object.labels))
            .cloned()
            .collect())
    }

    async fn put(&self, object: StoredObject) -> Result<(), StoreError> {
        let mut memory = self.lock();
        memory.writes.push(format!("put {}", object.name));
        memory.objects.insert(object.name.clone(), object);
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        let mut memory = self.lock();
        memory.writes.push(format!("delete {name}"));
        memory.objects.remove(name);
        Ok(())
    }
}
