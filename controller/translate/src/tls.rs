//! TLS: `spec.tls` entries and the `certificate-arn` annotation into certificate references.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::networking::v1::Ingress;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use weir_model::{
    Certificate, CertificateSource, Diagnostic, ObjectRef, PrivateKeyPem, Reason, TlsMaterial,
};

use crate::annotations;
use crate::hosts::parse_host;
use crate::reads::RecordingSnapshot;

/// The certificates one Ingress asks for. Problems are reported and the affected hosts keep
/// serving plain HTTP.
pub(crate) fn certificates(
    ingress: &Ingress,
    object: &ObjectRef,
    namespace: &str,
    snapshot: &RecordingSnapshot<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Certificate> {
    let mut certificates = acm_certificates(ingress, object, diagnostics);
    let entries = ingress
        .spec
        .as_ref()
        .and_then(|spec| spec.tls.as_deref())
        .unwrap_or_default();
    for (index, entry) in entries.iter().enumerate() {
        let field = format!("spec.tls[{index}]");
        let hosts = tls_hosts(
            entry.hosts.as_deref().unwrap_or_default(),
            object,
            &field,
            diagnostics,
        );
        let source = match entry.secret_name.as_deref().filter(|name| !name.is_empty()) {
            None => CertificateSource::Discover,
            Some(name) => match secret_source(snapshot, namespace, name) {
                Ok(source) => source,
                Err((reason, message)) => {
                    diagnostics.push(Diagnostic::warning(
                        object,
                        format!("{field}.secretName"),
                        reason,
                        format!("{message}; its hosts serve plain HTTP only"),
                    ));
                    continue;
                }
            },
        };
        certificates.push(Certificate {
            hosts,
            source,
            origin: object.clone(),
        });
    }
    certificates
}

/// Certificates named by ARN in the `certificate-arn` annotation (comma-separated).
fn acm_certificates(
    ingress: &Ingress,
    object: &ObjectRef,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Certificate> {
    let Some(annotation) = annotations::lookup(ingress, "certificate-arn") else {
        return Vec::new();
    };
    let mut certificates = Vec::new();
    for arn in annotation
        .value
        .split(',')
        .map(str::trim)
        .filter(|arn| !arn.is_empty())
    {
        if arn.starts_with("arn:") && arn.contains(":certificate/") {
            certificates.push(Certificate {
                hosts: Vec::new(),
                source: CertificateSource::AcmArn(arn.to_owned()),
                origin: object.clone(),
            });
        } else {
            diagnostics.push(Diagnostic::warning(
                object,
                annotation.field(),
                Reason::InvalidField,
                format!("{arn:?} is not an ACM certificate ARN; ignored"),
            ));
        }
    }
    certificates
}

fn tls_hosts(
    hosts: &[String],
    object: &ObjectRef,
    field: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut parsed = Vec::new();
    for (index, host) in hosts.iter().enumerate() {
        match parse_host(Some(host)) {
            Ok(host) if host != weir_model::HostMatch::Any => parsed.push(host.as_str().to_owned()),
            Ok(_) => {}
            Err(reason) => diagnostics.push(Diagnostic::warning(
                object,
                format!("{field}.hosts[{index}]"),
                Reason::InvalidHost,
                reason,
            )),
        }
    }
    parsed
}

/// Reads and validates a TLS Secret: `tls.crt` must hold one or more PEM certificates and
/// `tls.key` one PEM private key, the first certificate's.
pub(crate) fn secret_source(
    snapshot: &RecordingSnapshot<'_>,
    namespace: &str,
    name: &str,
) -> Result<CertificateSource, (Reason, String)> {
    let Some(secret) = snapshot.secret(namespace, name) else {
        return Err((
            Reason::TlsSecretNotFound,
            format!("Secret {namespace}/{name} not found"),
        ));
    };
    let invalid = |message: String| {
        (
            Reason::TlsSecretInvalid,
            format!("Secret {namespace}/{name}: {message}"),
        )
    };
    let chain = secret_value(secret, "tls.crt")
        .ok_or_else(|| invalid("data[tls.crt] is missing".into()))?;
    let key = secret_value(secret, "tls.key")
        .ok_or_else(|| invalid("data[tls.key] is missing".into()))?;
    let chain =
        String::from_utf8(chain).map_err(|_| invalid("data[tls.crt] is not PEM text".into()))?;
    let key =
        String::from_utf8(key).map_err(|_| invalid("data[tls.key] is not PEM text".into()))?;
    let certificates = CertificateDer::pem_slice_iter(chain.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(format!("data[tls.crt] is not valid PEM: {error}")))?;
    if certificates.is_empty() {
        return Err(invalid("data[tls.crt] holds no CERTIFICATE block".into()));
    }
    let key_der = PrivateKeyDer::from_pem_slice(key.as_bytes())
        .map_err(|_| invalid("data[tls.key] holds no valid PEM private key".into()))?;
    key_belongs_to_leaf(certificates, &key_der).map_err(|message| invalid(message.into()))?;
    Ok(CertificateSource::Secret {
        secret: ObjectRef::namespaced("Secret", namespace, name),
        material: TlsMaterial::new(chain, PrivateKeyPem::new(key)),
    })
}

/// Checks that `key` is the private key of the first certificate of `chain`: a pair that does
/// not match would fail every handshake for its hosts. Key types the TLS stack cannot load are
/// left for the proxy to report; only a definite mismatch (or a leaf that does not parse) is
/// refused here.
fn key_belongs_to_leaf(
    chain: Vec<CertificateDer<'static>>,
    key: &PrivateKeyDer<'_>,
) -> Result<(), &'static str> {
    let Ok(signing_key) = rustls::crypto::ring::sign::any_supported_type(key) else {
        return Ok(());
    };
    match rustls::sign::CertifiedKey::new(chain, signing_key).keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(()),
        Err(rustls::Error::InconsistentKeys(_)) => {
            Err("data[tls.key] is not the private key of the first certificate in data[tls.crt]")
        }
        Err(_) => Err("the first certificate in data[tls.crt] does not parse"),
    }
}

/// A Secret value from `data`, or from `stringData` (which the API server merges into `data`
/// on write, but which manifests on disk may still carry).
fn secret_value(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    let from_string_data = secret
        .string_data
        .as_ref()
        .and_then(|data| data.get(key))
        .map(|value| value.as_bytes().to_vec());
    from_string_data.or_else(|| {
        secret
            .data
            .as_ref()
            .and_then(|data| data.get(key))
            .map(|value| value.0.clone())
    })
}
