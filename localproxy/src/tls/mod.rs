//! TLS termination: the rustls server configuration whose certificate resolver answers every
//! ClientHello from the current snapshot's [`CertStore`](crate::shared::certs::CertStore).
//! Beside the request paths: it imports `shared`, and only the listeners import it.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
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

/// TLS 1.2 sessions (by session ID) kept for resumption: about 200 bytes each, so the cache
/// stays under a few MiB. TLS 1.3 resumes by ticket and needs no server-side state.
const SESSION_CACHE_ENTRIES: usize = 16_384;

/// A rustls server configuration: aws-lc-rs provider (faster handshakes and record
/// encryption than ring on the benchmark machine; numbers in the README), TLS 1.2 and 1.3
/// only, ALPN `h2` then `http/1.1`, certificates from the current snapshot, and session
/// resumption on: TLS 1.3 tickets (and TLS 1.2 tickets for clients that ask) sealed with keys
/// that rotate every six hours, plus a TLS 1.2 session-ID cache. A resumed handshake skips the
/// certificate signature, the dearest step of a full one. Build it once per proxy and share it
/// between listeners, so that a session resumes on whichever worker the client reaches.
///
/// # Errors
/// Only if the provider rejects its own default protocol versions or cannot make ticket
/// keys (no system randomness), which it does not.
pub fn server_config(snapshot: Arc<ArcSwap<Snapshot>>) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SnapshotResolver { snapshot }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()?;
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES);
    Ok(Arc::new(config))
}
