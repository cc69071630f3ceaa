//! File mode: a folder of manifests -> `load_dir` -> `translate` (Ingresses) and
//! `translate_gateways` (the Gateways of a `weir.dev/localproxy` GatewayClass) -> one model
//! (several stacks are merged, see [`super::merge`]), and a polling watcher that swaps in every
//! good change and keeps the last good config on a bad one.
//!
//! This is the only module that knows about manifests and translation.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use weir_model::{Action, DesiredLoadBalancer, StackId};
use weir_translate::{
    ClassSelection, ControllerKind, Stacking, TranslateConfig, translate, translate_gateways,
};

use crate::shared::state::Proxy;

/// Why a folder could not become a configuration.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read or parsed.
    #[error(transparent)]
    Manifests(#[from] weir_manifests::ManifestError),
}

/// A folder of Kubernetes manifests served as one stack.
#[derive(Clone, Debug)]
pub struct ManifestSource {
    dir: PathBuf,
    class: Option<String>,
}

/// What changed on disk, cheaply: every file's path, modification time and size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, Option<SystemTime>, u64)>);

impl ManifestSource {
    /// Serves every Ingress under `dir`, or only those of IngressClass `class`, and every
    /// Gateway whose GatewayClass's controllerName is `weir.dev/localproxy`.
    pub fn new(dir: PathBuf, class: Option<String>) -> Self {
        Self { dir, class }
    }

    /// Reads and translates the folder into the one model to serve.
    ///
    /// Translation diagnostics (a dropped rule, a missing Service, a Gateway listener on a
    /// port other than 80/HTTP or 443/HTTPS) are logged; they degrade the model, they do not
    /// fail the load. The Ingress stack and the Gateways are merged into one model; none yields
    /// a model that answers 404.
    ///
    /// # Errors
    /// [`LoadError`] when a file cannot be read or a document does not parse.
    pub fn load(&self) -> Result<DesiredLoadBalancer, LoadError> {
        let snapshot = weir_manifests::load_dir(&self.dir)?;
        let classes = match &self.class {
            Some(name) => ClassSelection::Named(name.clone()),
            None => ClassSelection::Everything,
        };
        let config = TranslateConfig {
            classes,
            stacking: Stacking::PerClass,
        };
        let translation = translate(&snapshot, &config);
        for diagnostic in &translation.diagnostics {
            tracing::warn!(?diagnostic, "translation diagnostic");
        }
        let gateways = translate_gateways(&snapshot, ControllerKind::LocalProxy);
        for status in &gateways.route_statuses {
            for parent in &status.parents {
                for condition in parent.conditions.iter().filter(|c| !c.status) {
                    tracing::warn!(route = %status.route, gateway = %parent.gateway, %condition, "route status");
                }
            }
        }
        for status in &gateways.listener_statuses {
            for condition in status.conditions.iter().filter(|c| !c.status) {
                tracing::warn!(gateway = %status.gateway, listener = %status.name, %condition, "listener status");
            }
        }
        let mut models = Vec::new();
        for stack in translation
            .stacks
            .into_iter()
            .chain(gateways.translation.stacks)
        {
            for diagnostic in &stack.diagnostics {
                tracing::warn!(stack = %stack.stack, ?diagnostic, "translation diagnostic");
            }
            models.extend(stack.desired);
        }
        Ok(weir_provider_localproxy::merge::merge(models).unwrap_or_else(|| self.empty_model()))
    }

    /// The current fingerprint of the folder (missing files and folders count as empty).
    pub fn fingerprint(&self) -> Fingerprint {
        let mut entries = Vec::new();
        collect(&self.dir, &mut entries);
        entries.sort();
        Fingerprint(entries)
    }

    fn empty_model(&self) -> DesiredLoadBalancer {
        let class = self.class.clone().unwrap_or_else(|| "*".to_owned());
        DesiredLoadBalancer {
            stack: StackId::Class(class.clone()),
            ingress_class: class,
            members: Vec::new(),
            listeners: Default::default(),
            virtual_hosts: Vec::new(),
            default_action: Action::status(404),
            target_groups: Default::default(),
            certificates: Vec::new(),
            settings: Default::default(),
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<(PathBuf, Option<SystemTime>, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            collect(&path, out);
        } else {
            out.push((path, metadata.modified().ok(), metadata.len()));
        }
    }
}

/// Loads `source` into `proxy` now: on success the new snapshot is served, on failure the
/// previous one stays, the error is logged and `reload_failures` counted.
pub fn reload(source: &ManifestSource, proxy: &Proxy) -> Result<u64, LoadError> {
    match source.load() {
        Ok(model) => {
            let version = proxy.apply(&model);
            tracing::info!(
                version,
                routes = proxy.snapshot().summary.routes,
                "configuration loaded"
            );
            Ok(version)
        }
        Err(error) => {
            proxy.metrics().reload_failures.inc();
            tracing::error!(%error, "configuration not loaded; keeping the last good one");
            Err(error)
        }
    }
}

/// Polls the folder every `interval` and reloads when anything under it changed.
///
/// # Cancel safety
/// Dropping the future stops watching; a reload is synchronous and never half-applied.
pub async fn watch(
    source: ManifestSource,
    proxy: Proxy,
    interval: Duration,
    mut seen: Fingerprint,
) {
    loop {
        tokio::time::sleep(interval).await;
        let current = source.fingerprint();
        if current != seen {
            seen = current;
            // Reading and translating a large folder must not stall the admin endpoints that
            // share this runtime.
            let (source, proxy) = (source.clone(), proxy.clone());
            let _ = tokio::task::spawn_blocking(move || reload(&source, &proxy)).await;
        }
    }
}
