//! The provider contract: make a load balancer look like a [`DesiredLoadBalancer`].

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::{DesiredLoadBalancer, Diagnostic, StackId};

/// A backend that turns desired load balancers into real ones (AWS ALB, the local proxy fleet).
///
/// # Idempotence
/// Calling [`Provider::ensure`] twice with the same model makes the second call a no-op that
/// changes nothing; [`Provider::delete`] of an absent stack succeeds.
///
/// # Cancel safety
/// Both futures may be dropped at any `.await` (controller shutdown, a newer model arriving).
/// The next call must converge from whatever partial state was left behind, without duplicates
/// and without leaking resources.
pub trait Provider: Send + Sync {
    /// Creates or updates the stack's load balancer so it matches `desired`, and reports where
    /// it can be reached.
    ///
    /// # Errors
    /// A classified [`ProviderError`]; the controller requeues after
    /// [`ProviderError::requeue_after`].
    fn ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> impl Future<Output = Result<LoadBalancerStatus, ProviderError>> + Send;

    /// Removes everything the provider created for the stack ("reconcile to empty").
    ///
    /// # Errors
    /// A classified [`ProviderError`], as for [`Provider::ensure`].
    fn delete(&self, stack: &StackId) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Every stack the provider holds resources for (the AWS provider: found by its ownership
    /// tags). The controller deletes those that no Ingress asks for any more, such as the stack
    /// of an Ingress deleted while the controller was down.
    ///
    /// # Errors
    /// A classified [`ProviderError`], as for [`Provider::ensure`].
    fn owned_stacks(&self) -> impl Future<Output = Result<Vec<StackId>, ProviderError>> + Send;
}

/// Where a load balancer can be reached (written to `Ingress.status.loadBalancer`), and what
/// the provider had to leave out of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LoadBalancerStatus {
    /// Addresses of the load balancer.
    pub addresses: Vec<LoadBalancerAddress>,
    /// Parts of the model the provider could not apply (a certificate that does not exist, a
    /// member over a quota), each attributed to its Ingress and field. Everything else is
    /// applied; the controller reports these as Events and serves the rest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<Diagnostic>,
}

/// One address of a load balancer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancerAddress {
    /// A DNS name (an ALB's `DNSName`).
    Hostname(String),
    /// An IP address (the local proxy's Service).
    Ip(String),
}

/// A classified provider failure. The controller acts on [`ProviderError::kind`] and never
/// inspects the message.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ProviderError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
    diagnostics: Vec<Diagnostic>,
}

impl ProviderError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
            diagnostics: Vec::new(),
        }
    }

    /// Attaches the problems this error is about, each on the object (Ingress) and field to
    /// fix: the controller records them as Events there. An [`ErrorKind::InvalidSpec`] with
    /// diagnostics may mean the rest of the stack was applied without the parts they name.
    pub fn with_diagnostics(mut self, diagnostics: Vec<Diagnostic>) -> Self {
        self.diagnostics = diagnostics;
        self
    }

    /// The problems attached with [`ProviderError::with_diagnostics`].
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// When to try again; `None` means not until the input changes.
    pub fn requeue_after(&self) -> Option<Duration> {
        self.kind.requeue_after()
    }

    /// A low-cardinality label for metrics.
    pub fn metric_label(&self) -> &'static str {
        self.kind.metric_label()
    }
}

/// The classes of provider failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A dependency is not ready yet (e.g. the load balancer is still provisioning).
    NotReady,
    /// The provider's API asked us to slow down.
    Throttled,
    /// A network error or server-side 5xx; retrying will likely succeed.
    Transient,
    /// The desired model cannot be applied as it is (a quota, an invalid value).
    InvalidSpec,
    /// The model uses a feature this provider does not offer.
    Unsupported,
    /// A resource exists that weir does not own, or ownership is contested.
    Conflict,
    /// Anything else that retrying will not fix (e.g. missing permissions).
    Permanent,
}

impl ErrorKind {
    /// When to try again; `None` means not until the input changes.
    pub fn requeue_after(self) -> Option<Duration> {
        match self {
            Self::NotReady => Some(Duration::from_secs(10)),
            Self::Throttled => Some(Duration::from_secs(30)),
            Self::Transient => Some(Duration::from_secs(5)),
            Self::Conflict | Self::Permanent => Some(Duration::from_secs(300)),
            Self::InvalidSpec | Self::Unsupported => None,
        }
    }

    /// A low-cardinality label for metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::NotReady => "not_ready",
            Self::Throttled => "throttled",
            Self::Transient => "transient",
            Self::InvalidSpec => "invalid_spec",
            Self::Unsupported => "unsupported",
            Self::Conflict => "conflict",
            Self::Permanent => "permanent",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.metric_label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_spell_out_their_class_and_keep_their_cause() {
        let cause = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
        let error = ProviderError::new(ErrorKind::Transient, "DescribeLoadBalancers failed")
            .with_source(cause);
        assert_eq!(error.to_string(), "transient: DescribeLoadBalancers failed");
        assert_eq!(error.metric_label(), "transient");
        assert_eq!(error.requeue_after(), Some(Duration::from_secs(5)));
        assert!(StdError::source(&error).is_some());
    }

    #[test]
    fn spec_errors_wait_for_new_input() {
        assert_eq!(ErrorKind::InvalidSpec.requeue_after(), None);
        assert_eq!(ErrorKind::Unsupported.requeue_after(), None);
    }
}
