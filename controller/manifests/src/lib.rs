//! Reads a folder of Kubernetes manifests into a [`ClusterSnapshot`]: the cluster-less input of
//! `weir-controller plan` and of `weir-proxy --manifests`.
//!
//! ```text
//! DIR/**/*.yaml|*.yml ─► YAML documents ─► (apiVersion, kind) ─► KubeObject ─► ClusterSnapshot
//!                                                              └► GatewayApiObject ─┘
//! ```
//!
//! Gateway API objects (GatewayClass, Gateway, HTTPRoute of `gateway.networking.k8s.io/v1`,
//! ReferenceGrant of `v1` or `v1beta1`) and Namespaces (for listeners' route selectors) are
//! read into the same snapshot for `weir_translate::translate_gateways`.
//!
//! Files are read in path order and documents in file order; a later object with the same
//! namespace/name replaces an earlier one. Kinds weir does not read (Deployments, ConfigMaps,
//! ...) are skipped; a document that is not YAML, or an object of a kind weir reads that does not
//! fit its schema, fails the whole load with an error naming the file and document, so a broken
//! folder is never half-read.
#![warn(missing_docs)]

mod convert;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use weir_translate::ClusterSnapshot;

/// Why a folder of manifests could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A document is not valid YAML.
    #[error("{}: document {document}: invalid YAML: {source}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The 1-based document number within the file.
        document: usize,
        /// The parser's error.
        source: serde_yaml_ng::Error,
    },
    /// A document of a kind weir reads does not fit that kind's schema.
    #[error("{}: document {document}: invalid {kind}: {message}", path.display())]
    Object {
        /// The file.
        path: PathBuf,
        /// The 1-based document number within the file.
        document: usize,
        /// `apiVersion/kind` of the document.
        kind: String,
        /// What is wrong.
        message: String,
    },
}

/// Converts a `discovery.k8s.io/v1beta1` EndpointSlice (as JSON, with or without its
/// `apiVersion`/`kind`) into the v1 type weir reads. Kubernetes 1.19 and 1.20 serve only
/// v1beta1; the controller watches it there.
///
/// # Errors
/// The JSON is not an EndpointSlice.
pub fn endpoint_slice_from_v1beta1(
    mut value: serde_json::Value,
) -> Result<k8s_openapi::api::discovery::v1::EndpointSlice, String> {
    value["apiVersion"] = "discovery.k8s.io/v1beta1".into();
    value["kind"] = "EndpointSlice".into();
    match convert::objects(value)
        .map_err(|(_, message)| message)?
        .pop()
    {
        Some(convert::Parsed::Kube(weir_translate::KubeObject::EndpointSlice(slice))) => Ok(*slice),
        _ => Err("not an EndpointSlice".to_owned()),
    }
}

/// Reads every `*.yaml` and `*.yml` file under `dir`, recursively.
///
/// # Errors
/// [`ManifestError`] for the first unreadable file or unparseable document.
pub fn load_dir(dir: &Path) -> Result<ClusterSnapshot, ManifestError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let mut snapshot = ClusterSnapshot::default();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Read {
            path: file.clone(),
            source,
        })?;
        load_str(&text, &file, &mut snapshot)?;
    }
    Ok(snapshot)
}

/// Reads the documents of one YAML text into `snapshot`; `path` names it in errors.
///
/// # Errors
/// [`ManifestError::Yaml`] or [`ManifestError::Object`] for the first bad document.
pub fn load_str(
    text: &str,
    path: &Path,
    snapshot: &mut ClusterSnapshot,
) -> Result<(), ManifestError> {
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let document_number = index + 1;
        let value =
            serde_json::Value::deserialize(document).map_err(|source| ManifestError::Yaml {
                path: path.to_owned(),
                document: document_number,
                source,
            })?;
        let objects = convert::objects(value).map_err(|(kind, message)| ManifestError::Object {
            path: path.to_owned(),
            document: document_number,
            kind,
            message,
        })?;
        for object in objects {
            match object {
                convert::Parsed::Kube(object) => snapshot.insert(object),
                convert::Parsed::GatewayApi(object) => snapshot.insert_gateway_api(object),
            }
        }
    }
    Ok(())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let read_error = |source| ManifestError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if matches!(
            path.extension().and_then(|ext| ext.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
    Ok(())
}
