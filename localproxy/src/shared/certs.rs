//! The certificates of a snapshot for TLS termination, chosen by SNI.
//!
//! Selection for a ClientHello's server name, first hit wins:
//! 1. a certificate whose Ingress `tls.hosts` lists the name exactly;
//! 2. one listing the wildcard `*.suffix` where the name is one label plus `.suffix`;
//! 3. the default certificate: the first certificate with no hosts, else the first loadable
//!    certificate of the model (group order). Clients without SNI get it too.
//!
//! Among certificates claiming the same host, the first in model order wins. `Discover`
//! sources (a `tls` entry without `secretName`) serve the default certificate; ACM ARNs cannot
//! be served locally and are skipped. Material that fails to parse is skipped, logged (never
//! the key) and counted. Certificates are parsed once per fingerprint and reused across swaps.
//!
//! The same selection decides misdirected requests ([`CertStore::misdirected`]): a TLS request
//! whose Host selects another certificate entry (an Ingress `tls` entry, a Gateway listener)
//! than its connection's SNI did is answered 421, as RFC 9110 and Gateway API require.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use weir_model::{Certificate, CertificateSource, PrivateKeyPem, TlsMaterial, normalize_host};

use crate::shared::metrics::Metrics;
use crate::shared::x509;

/// The certificates of one snapshot, indexed by host.
#[derive(Debug, Default)]
pub struct CertStore {
    exact: HashMap<String, Chosen>,
    /// Keyed by the suffix with its leading dot (`.foo.com` for `*.foo.com`).
    wildcard: HashMap<String, Chosen>,
    default: Option<Chosen>,
    /// Parsed certificates by chain fingerprint.
    by_fingerprint: HashMap<String, Parsed>,
    /// Positions (in the model's list) of the certificates that loaded.
    loaded: Vec<usize>,
}

/// One parsed certificate: the key rustls serves, the leaf's `notAfter` (Unix seconds), and
/// the key PEM it was parsed from. The fingerprint covers the chain only, so a second Secret
/// with the same chain and another key must not reuse this entry.
#[derive(Clone, Debug)]
struct Parsed {
    key: Arc<CertifiedKey>,
    not_after: Option<i64>,
    key_pem: PrivateKeyPem,
}

/// A certificate chosen for a name, and which entry of the model's certificates (an Ingress
/// `tls` entry, a Gateway listener) it stands for.
#[derive(Clone, Debug)]
struct Chosen {
    entry: usize,
    key: Arc<CertifiedKey>,
}

/// Why a certificate's material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// No certificate in the chain PEM.
    #[error("the certificate chain holds no certificate")]
    EmptyChain,
    /// The chain PEM does not parse.
    #[error("the certificate chain does not parse: {0}")]
    Chain(rustls_pki_types::pem::Error),
    /// The key PEM does not parse or is of an unsupported type.
    #[error("the private key is unreadable or unsupported")]
    Key,
    /// The key is not the leaf certificate's.
    #[error("the private key does not belong to the leaf certificate")]
    KeyMismatch,
}

impl CertStore {
    /// Indexes `certificates`, reusing keys already parsed by `previous`, and publishes each
    /// Secret's expiry in `metrics`.
    pub fn build(certificates: &[Certificate], previous: &CertStore, metrics: &Metrics) -> Self {
        let mut store = CertStore::default();
        let mut first_loaded = None;
        metrics.certificate_not_after.clear();
        for (entry, certificate) in certificates.iter().enumerate() {
            let (secret, material) = match &certificate.source {
                CertificateSource::Secret { secret, material } => (secret, material),
                CertificateSource::Discover => continue,
                CertificateSource::AcmArn(arn) => {
                    tracing::warn!(%arn, origin = %certificate.origin, "ACM certificates cannot be served by weir-proxy");
                    continue;
                }
            };
            let cached = store
                .by_fingerprint
                .get(&material.fingerprint)
                .or_else(|| previous.by_fingerprint.get(&material.fingerprint))
                .filter(|parsed| parsed.key_pem == material.key)
                .cloned();
            let parsed = match cached {
                Some(cached) => cached,
                None => match certified_key(material) {
                    Ok(key) => Parsed {
                        not_after: key.cert.first().and_then(|leaf| x509::not_after(leaf)),
                        key: Arc::new(key),
                        key_pem: material.key.clone(),
                    },
                    Err(error) => {
                        metrics.certificate_errors.inc();
                        tracing::warn!(origin = %certificate.origin, fingerprint = %material.fingerprint, %error, "certificate skipped");
                        continue;
                    }
                },
            };
            let (key, not_after) = (Arc::clone(&parsed.key), parsed.not_after);
            if let Some(not_after) = not_after {
                let label = secret.namespace.as_deref().map_or_else(
                    || secret.name.clone(),
                    |namespace| format!("{namespace}/{}", secret.name),
                );
                metrics
                    .certificate_not_after
                    .get_or_create(&vec![("secret", label)])
                    .set(not_after);
            }
            store
                .by_fingerprint
                .entry(material.fingerprint.clone())
                .or_insert(parsed);
            store.loaded.push(entry);
            let chosen = Chosen { entry, key };
            first_loaded.get_or_insert_with(|| chosen.clone());
            if certificate.hosts.is_empty() {
                store.default.get_or_insert_with(|| chosen.clone());
            }
            for host in &certificate.hosts {
                let host = host.to_ascii_lowercase();
                match host.strip_prefix('*') {
                    Some(suffix) => store.wildcard.entry(suffix.to_owned()),
                    None => store.exact.entry(host),
                }
                .or_insert_with(|| chosen.clone());
            }
        }
        if store.default.is_none() {
            store.default = first_loaded;
        }
        store
    }

    /// Whether the certificate at `position` of the model's list loaded (a skipped one serves
    /// no host and is left out of `/config`).
    pub fn is_loaded(&self, position: usize) -> bool {
        self.loaded.binary_search(&position).is_ok()
    }

    /// The certificate for a server name (`None`: no SNI).
    pub fn resolve(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        self.choose(server_name)
            .map(|chosen| Arc::clone(&chosen.key))
    }

    /// Whether a request for `host` on a connection whose ClientHello named `server_name` is
    /// misdirected (RFC 9110 section 15.5.20, 421): the certificate entry the server name chose
    /// (a Gateway listener, an Ingress `tls` entry) is not the one the host would choose. Hosts
    /// one entry lists together share connections; a Gateway's listeners never do, even when
    /// they name the same Secret, as Gateway API requires.
    pub fn misdirected(&self, server_name: &str, host: &str) -> bool {
        let entry = |name: &str| self.choose(Some(name)).map(|chosen| chosen.entry);
        entry(server_name) != entry(host)
    }

    fn choose(&self, server_name: Option<&str>) -> Option<&Chosen> {
        let Some(name) = server_name else {
            return self.default.as_ref();
        };
        let name = normalize_host(name);
        if let Some(chosen) = self.exact.get(name.as_ref()) {
            return Some(chosen);
        }
        let wildcard = name
            .find('.')
            .filter(|&dot| dot > 0)
            .and_then(|dot| self.wildcard.get(&name[dot..]));
        wildcard.or(self.default.as_ref())
    }
}

fn certified_key(material: &TlsMaterial) -> Result<CertifiedKey, CertificateError> {
    let chain = CertificateDer::pem_slice_iter(material.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(CertificateError::Chain)?;
    if chain.is_empty() {
        return Err(CertificateError::EmptyChain);
    }
    let key = PrivateKeyDer::from_pem_slice(material.key.expose().as_bytes())
        .map_err(|_| CertificateError::Key)?;
    let signing_key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|_| CertificateError::Key)?;
    let certified = CertifiedKey::new(chain, signing_key);
    // A key that does not belong to the leaf would fail every handshake for its hosts; skipping
    // it lets a wildcard or the default certificate answer instead. Key types that cannot
    // report their public key are given the benefit of the doubt.
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(_) => Err(CertificateError::KeyMismatch),
    }
}
