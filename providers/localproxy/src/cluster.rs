//! The Kubernetes side: [`KubeStore`] keeps snapshot objects as Secrets of type
//! `weir.dev/snapshot` in one namespace (server-side apply, field manager `weir-controller`),
//! and [`watch_index`] follows one index Secret by name (a field selector, so a Role with
//! `resourceNames` suffices).

use std::collections::BTreeMap;

use futures::{Stream, StreamExt as _};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};

use crate::layout::{DATA_KEY, SECRET_TYPE};
use crate::store::{SnapshotStore, StoreError, StoredObject};

/// The field manager of the controller's writes.
const FIELD_MANAGER: &str = "weir-controller";

/// Snapshot objects as Secrets in one namespace.
#[derive(Clone)]
pub struct KubeStore {
    api: Api<Secret>,
}

impl std::fmt::Debug for KubeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeStore").finish_non_exhaustive()
    }
}

impl KubeStore {
    /// Secrets of `namespace`, through `client`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
        }
    }
}

fn store_error(operation: &'static str, name: &str, error: kube::Error) -> StoreError {
    let status = match &error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    };
    StoreError {
        operation,
        name: name.to_owned(),
        status,
        message: error.to_string(),
    }
}

/// A Secret as a stored object; `None` when it is not a snapshot Secret.
pub fn from_secret(secret: Secret) -> Option<StoredObject> {
    if secret.type_.as_deref() != Some(SECRET_TYPE) {
        return None;
    }
    let data = secret
        .data
        .and_then(|mut data| data.remove(DATA_KEY))
        .map(|bytes| bytes.0)
        .unwrap_or_default();
    Some(StoredObject {
        name: secret.metadata.name.unwrap_or_default(),
        labels: secret.metadata.labels.unwrap_or_default(),
        annotations: secret.metadata.annotations.unwrap_or_default(),
        data,
    })
}

fn to_secret(object: StoredObject) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(object.name),
            labels: Some(object.labels),
            annotations: Some(object.annotations),
            ..ObjectMeta::default()
        },
        type_: Some(SECRET_TYPE.to_owned()),
        data: Some(BTreeMap::from([(
            DATA_KEY.to_owned(),
            ByteString(object.data),
        )])),
        ..Secret::default()
    }
}

impl SnapshotStore for KubeStore {
    async fn get(&self, name: &str) -> Result<Option<StoredObject>, StoreError> {
        self.api
            .get_opt(name)
            .await
            .map(|secret| secret.and_then(from_secret))
            .map_err(|error| store_error("get", name, error))
    }

    async fn list(&self, selector: &str) -> Result<Vec<StoredObject>, StoreError> {
        let list = self
            .api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|error| store_error("list", selector, error))?;
        Ok(list.items.into_iter().filter_map(from_secret).collect())
    }

    async fn put(&self, object: StoredObject) -> Result<(), StoreError> {
        let name = object.name.clone();
        let mut secret = to_secret(object);
        // Server-side apply needs the type meta in the body.
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": secret.metadata,
            "type": secret.type_.take(),
            "data": secret.data.take(),
        });
        self.api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await
            .map(drop)
            .map_err(|error| store_error("put", &name, error))
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self.api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(store_error("delete", name, error)),
        }
    }
}

/// What the index watch reports.
#[derive(Debug)]
pub enum IndexEvent {
    /// The index as it is now.
    Present(StoredObject),
    /// There is no index (never published, or deleted).
    Absent,
    /// The API could not be watched; the watch retries with backoff by itself.
    Error(StoreError),
}

/// Follows the Secret `name` of `namespace`: list and watch with the field selector
/// `metadata.name=NAME` (what a Role with `resourceNames` allows), reconnecting with backoff.
pub fn watch_index(
    client: kube::Client,
    namespace: &str,
    name: &str,
) -> impl Stream<Item = IndexEvent> + Send + 'static {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let name = name.to_owned();
    let mut seen_in_init = false;
    watcher::watcher(api, config)
        .default_backoff()
        .filter_map(move |event| {
            let out = match event {
                Ok(Event::Init) => {
                    seen_in_init = false;
                    None
                }
                Ok(Event::InitApply(secret)) => {
                    seen_in_init = true;
                    Some(present(secret))
                }
                Ok(Event::InitDone) => (!seen_in_init).then_some(IndexEvent::Absent),
                Ok(Event::Apply(secret)) => Some(present(secret)),
                Ok(Event::Delete(_)) => Some(IndexEvent::Absent),
                Err(error) => Some(IndexEvent::Error(StoreError {
                    operation: "watch",
                    name: name.clone(),
                    status: match &error {
                        watcher::Error::InitialListFailed(kube::Error::Api(status))
                        | watcher::Error::WatchStartFailed(kube::Error::Api(status)) => {
                            Some(status.code)
                        }
                        _ => None,
                    },
                    message: error.to_string(),
                })),
            };
            std::future::ready(out)
        })
}

fn present(secret: Secret) -> IndexEvent {
    match from_secret(secret) {
        Some(object) => IndexEvent::Present(object),
        None => IndexEvent::Absent,
    }
}
