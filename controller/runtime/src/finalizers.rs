//! weir's finalizer in an object's metadata, whatever the kind (Ingress, Gateway): whether it
//! is held, the list with it added or taken out, and the merge patch that writes such a list
//! only over the object last seen.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};
use weir_index::FINALIZER;

/// Whether the object holds weir's finalizer.
pub(crate) fn holds(meta: &ObjectMeta) -> bool {
    meta.finalizers
        .iter()
        .flatten()
        .any(|finalizer| finalizer == FINALIZER)
}

/// The object's finalizers with weir's added; `None` when it already holds it.
pub(crate) fn with_ours(meta: &ObjectMeta) -> Option<Vec<String>> {
    if holds(meta) {
        return None;
    }
    let mut finalizers = meta.finalizers.clone().unwrap_or_default();
    finalizers.push(FINALIZER.to_owned());
    Some(finalizers)
}

/// The object's finalizers without weir's; `None` when it does not hold it.
pub(crate) fn without_ours(meta: &ObjectMeta) -> Option<Vec<String>> {
    holds(meta).then(|| {
        meta.finalizers
            .iter()
            .flatten()
            .filter(|finalizer| *finalizer != FINALIZER)
            .cloned()
            .collect()
    })
}

/// The merge patch that sets `finalizers`. It carries the resourceVersion of `meta`, which
/// makes it conditional: another writer's finalizer is never dropped by a list computed from
/// an older object (the server answers 409 instead).
pub(crate) fn patch(meta: &ObjectMeta, finalizers: Vec<String>) -> Value {
    json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": meta.resource_version,
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(finalizers: &[&str]) -> ObjectMeta {
        ObjectMeta {
            finalizers: Some(finalizers.iter().map(|name| (*name).to_owned()).collect()),
            resource_version: Some("7".into()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn ours_is_added_once_and_taken_out_leaving_the_others() {
        let other = "example.com/keep";
        assert_eq!(
            with_ours(&meta(&[other])),
            Some(vec![other.to_owned(), FINALIZER.to_owned()])
        );
        assert_eq!(with_ours(&meta(&[other, FINALIZER])), None);
        assert_eq!(
            without_ours(&meta(&[FINALIZER, other])),
            Some(vec![other.to_owned()])
        );
        assert_eq!(without_ours(&meta(&[other])), None);
        assert!(!holds(&ObjectMeta::default()));
        assert_eq!(
            patch(&meta(&[]), vec![other.to_owned()]),
            json!({"metadata": {"finalizers": [other], "resourceVersion": "7"}})
        );
    }
}
