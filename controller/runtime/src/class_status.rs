//! GatewayClass status: while this process leads, every GatewayClass whose `controllerName` is
//! weir's carries an `Accepted` condition at its current generation (Gateway API core
//! conformance, GatewayClassObservedGenerationBump).
//!
//! It has its own watch because a class with no Gateway is no stack: the per-stack queue never
//! sees it. A write that fails is tried again every [`RETRY_EVERY`] until it lands or the class
//! changes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt as _;
use kube::Api;
use kube::api::DynamicObject;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;

use crate::gateway_status::{gateway_class_status, now};
use crate::gateway_writes::GatewayWrites;
use crate::watch::gateway_api_resource;

/// How long a class whose status could not be written waits before the next try.
const RETRY_EVERY: Duration = Duration::from_secs(10);

/// Keeps the status of weir's GatewayClasses until dropped (the leader term's end).
pub(crate) async fn keep_classes_accepted(writes: GatewayWrites) {
    let api = Api::<DynamicObject>::all_with(
        writes.client(),
        &gateway_api_resource("GatewayClass", "gatewayclasses"),
    );
    let events = watcher::watcher(api, watcher::Config::default()).default_backoff();
    let mut events = std::pin::pin!(events);
    let mut failed: BTreeMap<String, DynamicObject> = BTreeMap::new();
    let mut retries = tokio::time::interval(RETRY_EVERY);
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Apply(class) | Event::InitApply(class))) => {
                    let name = class.metadata.name.clone().unwrap_or_default();
                    failed.remove(&name);
                    if !accept(&writes, &class).await {
                        failed.insert(name, class);
                    }
                }
                Some(Ok(Event::Delete(class))) => {
                    failed.remove(class.metadata.name.as_deref().unwrap_or_default());
                }
                Some(Ok(Event::Init | Event::InitDone)) => {}
                Some(Err(error)) => tracing::warn!(%error, "GatewayClass watch failed; retrying"),
                None => return,
            },
            _ = retries.tick(), if !failed.is_empty() => {
                let waiting = std::mem::take(&mut failed);
                for (name, class) in waiting {
                    if !accept(&writes, &class).await {
                        failed.insert(name, class);
                    }
                }
            }
        }
    }
}

/// Writes the class's status if it is weir's and says otherwise; `false` when the write failed
/// (logged).
async fn accept(writes: &GatewayWrites, class: &DynamicObject) -> bool {
    let spec = class.data.get("spec");
    let controller = spec
        .and_then(|spec| spec.get("controllerName"))
        .and_then(Value::as_str);
    if controller != Some(writes.controller_name()) {
        return true;
    }
    let has_parameters = spec.is_some_and(|spec| !spec["parametersRef"].is_null());
    let current = class.data.get("status");
    let status = gateway_class_status(has_parameters, class.metadata.generation, current, &now());
    let name = class.metadata.name.as_deref().unwrap_or_default();
    if current.and_then(|current| current.get("conditions")) == status.get("conditions") {
        return true;
    }
    match writes.set_class_status(name, &status).await {
        Ok(()) => {
            tracing::info!(class = name, generation = ?class.metadata.generation, has_parameters, "GatewayClass status written");
            true
        }
        Err(error) => {
            tracing::warn!(class = name, %error, "could not write the GatewayClass status; retrying");
            false
        }
    }
}
