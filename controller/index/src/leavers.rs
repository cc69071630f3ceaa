//! Ingresses that hold weir's finalizer but are no longer members of a stack: deleted, moved to
//! another controller's class, or left out over an invalid group name. Each may let go of the
//! finalizer once the stack it left has been reconciled without it.

use k8s_openapi::api::networking::v1::Ingress;
use weir_model::StackId;
use weir_translate::Membership;

use crate::{FINALIZER, Index, IngressEntry};

/// An Ingress to let go: it holds [`FINALIZER`] but belongs to no stack.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leaver {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// It is being deleted (rather than moved away from weir).
    pub deleting: bool,
}

impl Index {
    /// The Ingresses that left `stack` and still hold the finalizer: once `stack` has been
    /// reconciled without them, they may let go.
    pub fn leavers(&self, stack: &StackId) -> Vec<Leaver> {
        self.leavers_where(|entry| entry.left.as_ref() == Some(stack))
    }

    /// The Ingresses that hold the finalizer, belong to no stack and left one this process never
    /// saw them in (they left while the controller was down). They may let go once every stack
    /// has been reconciled and the provider's stacks that no Ingress asks for are deleted.
    pub fn unattributed_leavers(&self) -> Vec<Leaver> {
        self.leavers_where(|entry| entry.left.is_none())
    }

    fn leavers_where(&self, wanted: impl Fn(&IngressEntry) -> bool) -> Vec<Leaver> {
        self.ingresses
            .iter()
            .filter(|(_, entry)| entry.holds_finalizer && entry.stack.is_none() && wanted(entry))
            .map(|((namespace, name), entry)| Leaver {
                namespace: namespace.clone(),
                name: name.clone(),
                deleting: entry.deleting,
            })
            .collect()
    }
}

/// The index's view of an Ingress from its membership and object, given what was known of it.
pub(crate) fn entry(
    membership: Membership,
    ingress: &Ingress,
    previous: Option<&IngressEntry>,
) -> IngressEntry {
    let meta = &ingress.metadata;
    let holds_finalizer = meta
        .finalizers
        .iter()
        .flatten()
        .any(|finalizer| finalizer == FINALIZER);
    let deleting = meta.deletion_timestamp.is_some();
    let standing = membership.standing.stack().cloned();
    let stack = if deleting { None } else { standing.clone() };
    let left = if stack.is_some() || !holds_finalizer {
        None
    } else {
        // The stack that may still hold its routes: the one it was seen in, else (first seen
        // while being deleted) the one its spec names.
        previous
            .and_then(|previous| previous.stack.clone().or_else(|| previous.left.clone()))
            .or(if deleting { standing } else { None })
    };
    IngressEntry {
        membership,
        stack,
        holds_finalizer,
        deleting,
        left,
    }
}
