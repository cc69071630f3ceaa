//! TLS termination: the rustls server configuration whose certificate resolver answers every
//! ClientHello from the current snapshot's [`CertStore`](crate::shared::certs::CertStore).
//! Beside the request paths: it imports `shared`, and only the listeners import it.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::shared::snapshot::Snapshot;

/// Answers ClientHellos from whichever snapshot is current.
#[derive(Debug)]
pub struct SnapshotResolver {
    snapshot: Arc<ArcSwap<Snapshot>>,
}

impl ResolvesServerCert for SnapshotResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.snapshot
            .load()
            .certificates
            .resolve(hello.server_name())
    }
}

/// A rustls server configuration: ring provider, TLS 1.2 and 1.3 only, ALPN `h2` then
/// `http/1.1`, certificates from the current snapshot.
///
/// # Errors
/// Only if the ring provider rejects its own default protocol versions, which it does not.
pub fn server_config(snapshot: Arc<ArcSwap<Snapshot>>) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SnapshotResolver { snapshot }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
