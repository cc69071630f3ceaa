//! What the provider remembers of each stack it published: the parts as it wrote (or found)
//! them, with the wire documents they encode, so that the next publish serializes and hashes
//! only the documents that changed and needs no list of the store while the memory is fresh.
//!
//! ```text
//! publish ─► memory fresh? ──no──► list the stack's objects (names, hashes, the index)
//!               │yes
//!               ▼
//!   routes document equal to the remembered one? ─► reuse its chunks' names and hashes
//!   each bucket equal to the remembered one?      ─► reuse its name and hash
//!   everything else: serialize, hash, put where the store's hash differs
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::layout::{Index, Part};
use crate::wire::{EndpointSets, Routes};

/// How long the memory of a stack stands in for listing the store. After it, the next
/// publish lists again, so parts changed or deleted by hand are repaired within this time
/// (at the latest on the controller's periodic resync).
pub const TRUST_FOR: Duration = Duration::from_secs(120);

/// One stack as last published.
#[derive(Clone, Debug)]
pub struct Published {
    /// The hash of every part the store holds, by name (the index excluded).
    pub held: BTreeMap<String, String>,
    /// The index the store holds.
    pub index: Option<Index>,
    /// The routes document the route parts encode, with those parts.
    pub routes: Option<(Routes, Vec<Part>)>,
    /// Each bucket's document with its part, by bucket number.
    pub buckets: BTreeMap<usize, (EndpointSets, Part)>,
    /// When the store was last listed.
    pub listed: Instant,
}

impl Published {
    /// What a fresh list of the store shows: hashes and the index, no documents yet.
    pub fn listed(held: BTreeMap<String, String>, index: Option<Index>) -> Self {
        Self {
            held,
            index,
            routes: None,
            buckets: BTreeMap::new(),
            listed: Instant::now(),
        }
    }

    /// The remembered route parts when `routes` is the document they encode.
    pub fn route_parts_for(&self, routes: &Routes) -> Option<&[Part]> {
        self.routes
            .as_ref()
            .filter(|(remembered, _)| remembered == routes)
            .map(|(_, parts)| parts.as_slice())
    }

    /// The remembered part of bucket `k` when `bucket` is the document it encodes.
    pub fn bucket_part_for(&self, k: usize, bucket: &EndpointSets) -> Option<&Part> {
        self.buckets
            .get(&k)
            .filter(|(remembered, _)| remembered == bucket)
            .map(|(_, part)| part)
    }
}

/// The memory of every stack, by stack id. A publish takes its stack's entry out and puts
/// it back only when it succeeded, so a failed or cancelled publish lists again next time.
#[derive(Debug, Default)]
pub struct Memory {
    stacks: Mutex<HashMap<String, Published>>,
}

impl Memory {
    /// Takes `stack`'s memory if it is younger than [`TRUST_FOR`].
    pub fn take_fresh(&self, stack: &str) -> Option<Published> {
        let mut stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        stacks
            .remove(stack)
            .filter(|published| published.listed.elapsed() < TRUST_FOR)
    }

    /// Remembers `published` for `stack`.
    pub fn put(&self, stack: String, published: Published) {
        let mut stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        stacks.insert(stack, published);
    }

    /// Forgets `stack` (it was deleted).
    pub fn forget(&self, stack: &str) {
        let mut stacks = self.stacks.lock().unwrap_or_else(PoisonError::into_inner);
        stacks.remove(stack);
    }
}
