//! Diagnostics: what translation (or a provider's own checks) found wrong with the input.
//!
//! A diagnostic never fails a whole stack: the offending rule, backend or certificate is dropped
//! or degraded and the rest keeps working. The controller turns each into an Event on
//! [`Diagnostic::object`] and a log line.

use std::fmt;

use serde::Serialize;

use crate::ObjectRef;

/// One problem found in the input, attributed to an object and a field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Diagnostic {
    /// The object the problem is in (an Event is recorded on it).
    pub object: ObjectRef,
    /// The field path inside the object, e.g. `spec.rules[0].http.paths[1].backend.service.name`.
    pub field: String,
    /// Whether the problem blocks a provider from applying the stack.
    pub severity: Severity,
    /// A stable machine-readable reason, used as the Event reason and a metric label.
    pub reason: Reason,
    /// A human-readable explanation naming the offending value.
    pub message: String,
}

impl Diagnostic {
    /// A warning: the input was degraded (a rule answers 503, a host serves plain HTTP, ...).
    pub fn warning(
        object: &ObjectRef,
        field: impl Into<String>,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            object: object.clone(),
            field: field.into(),
            severity: Severity::Warning,
            reason,
            message: message.into(),
        }
    }

    /// An error: the provider must not apply the stack as it is (an ALB quota would be broken).
    pub fn error(
        object: &ObjectRef,
        field: impl Into<String>,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            ..Self::warning(object, field, reason, message)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} {}: {}: {}",
            self.severity, self.object, self.field, self.reason, self.message
        )
    }
}

/// How serious a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// The stack is applied without the offending part.
    Warning,
    /// The stack must not be applied until this is fixed.
    Error,
}

/// Why a [`Diagnostic`] was raised. The names are the Kubernetes Event reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Reason {
    /// A field holds a value weir cannot use (bad annotation value, missing required field).
    InvalidField,
    /// A rule's host is not a valid DNS name or single-label wildcard.
    InvalidHost,
    /// A rule's path or pathType is not valid.
    InvalidPath,
    /// The backend's Service does not exist.
    ServiceNotFound,
    /// The backend's Service has no such port.
    ServicePortNotFound,
    /// The backend kind or Service type is not supported (e.g. `backend.resource`).
    UnsupportedBackend,
    /// A `spec.tls` Secret does not exist.
    TlsSecretNotFound,
    /// A `spec.tls` Secret is not a usable certificate and key.
    TlsSecretInvalid,
    /// A second default backend in one stack; the first (by group order) wins.
    DuplicateDefaultBackend,
    /// A rule with the same host, path type and path as an earlier one can never match.
    RuleShadowed,
    /// The Ingress asks for an IngressClass in two conflicting ways.
    ConflictingIngressClass,
    /// The stack would break a quota of the target provider.
    QuotaExceeded,
    /// The stack uses something the target provider cannot express.
    UnsupportedByProvider,
    /// A certificate the Ingress names does not exist in the provider or cannot be served
    /// (e.g. an ACM certificate that is not issued).
    CertificateUnusable,
    /// A reference to an object of another namespace that no ReferenceGrant there permits.
    RefNotPermitted,
}

impl Reason {
    /// The reason as a CamelCase string (Event reason, metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidField => "InvalidField",
            Self::InvalidHost => "InvalidHost",
            Self::InvalidPath => "InvalidPath",
            Self::ServiceNotFound => "ServiceNotFound",
            Self::ServicePortNotFound => "ServicePortNotFound",
            Self::UnsupportedBackend => "UnsupportedBackend",
            Self::TlsSecretNotFound => "TlsSecretNotFound",
            Self::TlsSecretInvalid => "TlsSecretInvalid",
            Self::DuplicateDefaultBackend => "DuplicateDefaultBackend",
            Self::RuleShadowed => "RuleShadowed",
            Self::ConflictingIngressClass => "ConflictingIngressClass",
            Self::QuotaExceeded => "QuotaExceeded",
            Self::UnsupportedByProvider => "UnsupportedByProvider",
            Self::CertificateUnusable => "CertificateUnusable",
            Self::RefNotPermitted => "RefNotPermitted",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
