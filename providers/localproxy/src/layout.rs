//! Where one stack's snapshot lives: fixed object names (so RBAC can name them), labels, the
//! index document that switches versions, and the size limits.
//!
//! ```text
//! weir-snapshot-CLASS               index: generation + SHA-256 of every part  (written last)
//! weir-snapshot-CLASS-routes-0..7   the routes document, split into <= 768 KiB chunks
//! weir-snapshot-CLASS-endpoints-0..7  one endpoint bucket each (only non-empty ones exist)
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use weir_model::StackId;

use crate::wire::{ENDPOINT_BUCKETS, FORMAT};

/// How many chunks the routes document may take.
pub const ROUTE_SHARDS: usize = 8;

/// The largest payload of one object: well under the API's 1 MiB object limit, leaving room
/// for metadata.
pub const SHARD_LIMIT: usize = 768 * 1024;

/// The Secret type of every snapshot object.
pub const SECRET_TYPE: &str = "weir.dev/snapshot";
/// The data key holding an object's payload.
pub const DATA_KEY: &str = "snapshot";
/// Label: which stack an object belongs to (a hash of the stack id: label values are short).
pub const STACK_LABEL: &str = "weir.dev/snapshot-of";
/// Label: `index`, `routes` or `endpoints`.
pub const PART_LABEL: &str = "weir.dev/snapshot-part";
/// Label: who manages the object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The managed-by value.
pub const MANAGED_BY: &str = "weir-controller";
/// Annotation: the stack id, as `StackId` displays it.
pub const STACK_ANNOTATION: &str = "weir.dev/stack";
/// Annotation: the SHA-256 of the payload.
pub const SHA_ANNOTATION: &str = "weir.dev/sha256";

/// A stack the localproxy provider cannot publish.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// Only whole-class stacks are served by the proxy fleet.
    #[error("stack {0} is not a class stack: the localproxy provider serves one stack per class")]
    NotAClass(String),
    /// The class name would not make valid object names.
    #[error("IngressClass name {0:?} is not a lowercase DNS name of at most 200 characters")]
    BadClass(String),
}

/// The object names and labels of one class's snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    class: String,
}

impl Layout {
    /// The layout of `stack`, which must be a class stack.
    ///
    /// # Errors
    /// [`LayoutError`] for other stacks and for class names that make no object name.
    pub fn for_stack(stack: &StackId) -> Result<Self, LayoutError> {
        match stack {
            StackId::Class(class) => Self::for_class(class),
            other => Err(LayoutError::NotAClass(other.to_string())),
        }
    }

    /// The layout of IngressClass `class`.
    ///
    /// # Errors
    /// [`LayoutError::BadClass`] when the name makes no valid object name.
    pub fn for_class(class: &str) -> Result<Self, LayoutError> {
        // The byte indexing below cannot panic: `&&` evaluates it only for a non-empty name.
        let valid = !class.is_empty()
            && class.len() <= 200
            && class
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && class.as_bytes()[0].is_ascii_alphanumeric()
            && class.as_bytes()[class.len() - 1].is_ascii_alphanumeric();
        match valid {
            true => Ok(Self {
                class: class.to_owned(),
            }),
            false => Err(LayoutError::BadClass(class.to_owned())),
        }
    }

    /// The stack this layout belongs to.
    pub fn stack(&self) -> StackId {
        StackId::Class(self.class.clone())
    }

    /// The index object's name.
    pub fn index_name(&self) -> String {
        format!("weir-snapshot-{}", self.class)
    }

    /// The name of routes chunk `i`.
    pub fn routes_name(&self, i: usize) -> String {
        format!("weir-snapshot-{}-routes-{i}", self.class)
    }

    /// The name of endpoint bucket `k`.
    pub fn endpoints_name(&self, k: usize) -> String {
        format!("weir-snapshot-{}-endpoints-{k}", self.class)
    }

    /// Every name this stack may use: what a proxy's Role lists in `resourceNames`.
    pub fn all_names(&self) -> Vec<String> {
        let mut names = vec![self.index_name()];
        names.extend((0..ROUTE_SHARDS).map(|i| self.routes_name(i)));
        names.extend((0..ENDPOINT_BUCKETS).map(|k| self.endpoints_name(k)));
        names
    }

    /// The value of [`STACK_LABEL`] on this stack's objects.
    pub fn stack_label(&self) -> String {
        let digest = Sha256::digest(self.stack().to_string());
        hex(&digest[..10])
    }

    /// The label selector of every object of this stack.
    pub fn selector(&self) -> String {
        format!("{STACK_LABEL}={}", self.stack_label())
    }
}

/// The index: which parts make up the current generation, and their hashes. Written after
/// every part it names, so a reader that finds every part with its hash has one whole version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The wire format version.
    pub format: u32,
    /// Increases by one with every published change.
    pub generation: u64,
    /// The stack, as `StackId` displays it.
    pub stack: String,
    /// Routes chunks in order.
    pub routes: Vec<Part>,
    /// Endpoint buckets (non-empty ones).
    pub endpoints: Vec<Part>,
}

impl Index {
    /// An index of `format` [`FORMAT`].
    pub fn new(generation: u64, stack: String, routes: Vec<Part>, endpoints: Vec<Part>) -> Self {
        Self {
            format: FORMAT,
            generation,
            stack,
            routes,
            endpoints,
        }
    }

    /// Whether two indexes name the same parts with the same content.
    pub fn same_parts(&self, other: &Index) -> bool {
        self.stack == other.stack
            && self.routes == other.routes
            && self.endpoints == other.endpoints
    }
}

/// One part an index names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The object's name.
    pub name: String,
    /// Hex SHA-256 of its payload.
    pub sha256: String,
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
