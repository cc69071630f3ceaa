//! Certificates for HTTPS listeners.
//!
//! Private keys never appear in logs: [`PrivateKeyPem`] redacts itself in `Debug` and is never
//! serialized; a model serializes only a certificate's fingerprint.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ObjectRef;

/// A certificate and the hosts it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Certificate {
    /// Hosts (lowercase, wildcards allowed) from `spec.tls[].hosts`. Empty means "the default
    /// certificate": served when SNI matches no other certificate.
    pub hosts: Vec<String>,
    /// Where the certificate comes from.
    pub source: CertificateSource,
    /// The Ingress (and its `spec.tls` entry or annotation) that asked for it.
    pub origin: ObjectRef,
}

/// Where a certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateSource {
    /// A `kubernetes.io/tls` Secret, with its validated material.
    Secret {
        /// The Secret.
        secret: ObjectRef,
        /// Its certificate chain and key.
        material: TlsMaterial,
    },
    /// An ACM certificate named by the `certificate-arn` annotation.
    AcmArn(String),
    /// A `spec.tls` entry without `secretName`: the provider finds a certificate for the hosts
    /// itself (ACM discovery on AWS, the default certificate on the local proxy).
    Discover,
}

/// A PEM certificate chain and its private key.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TlsMaterial {
    /// Hex SHA-256 of the certificate chain PEM: changes whenever the Secret is rotated.
    pub fingerprint: String,
    /// The certificate chain, leaf first, PEM.
    #[serde(skip)]
    pub chain_pem: String,
    /// The private key.
    #[serde(skip)]
    pub key: PrivateKeyPem,
}

impl TlsMaterial {
    /// Wraps a chain and key, computing the fingerprint.
    pub fn new(chain_pem: String, key: PrivateKeyPem) -> Self {
        let fingerprint = Sha256::digest(chain_pem.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self {
            fingerprint,
            chain_pem,
            key,
        }
    }
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// A PEM private key that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(String);

impl PrivateKeyPem {
    /// Wraps a PEM private key.
    pub fn new(pem: String) -> Self {
        Self(pem)
    }

    /// The PEM text, for the code that must hand it to a TLS stack or a certificate store.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_never_reach_debug_or_json() {
        let material = TlsMaterial::new(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            PrivateKeyPem::new(
                "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n".into(),
            ),
        );
        let debug = format!("{material:?}");
        let json = serde_json::to_string(&material).unwrap();
        assert!(!debug.contains("SECRETKEY"), "{debug}");
        assert!(!json.contains("SECRETKEY"), "{json}");
        assert_eq!(
            json,
            format!("{{\"fingerprint\":\"{}\"}}", material.fingerprint)
        );
        assert_eq!(material.fingerprint.len(), 64);
    }
}
