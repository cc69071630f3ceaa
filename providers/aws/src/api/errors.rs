//! The one place where AWS failures are classified into [`ErrorKind`]s. Everything else asks a
//! [`CallError`] for its kind or [`CallError::is_not_found`] and never looks at strings.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use weir_model::{ErrorKind, ProviderError};

use crate::api::op::Op;

/// A failed AWS call, classified.
#[derive(Debug, thiserror::Error)]
pub struct CallError {
    op: Op,
    kind: ErrorKind,
    code: Option<String>,
    message: String,
}

impl CallError {
    /// A failure of `op` classified by hand (used by fakes, budgets and unexpected replies).
    pub fn new(op: Op, kind: ErrorKind, code: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            op,
            kind,
            code: code.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A reply of the wrong shape for `op`: a bug in the adapter, not something retrying fixes.
    pub fn unexpected(op: Op, reply: &dyn fmt::Debug) -> Self {
        Self::new(
            op,
            ErrorKind::Permanent,
            None,
            format!("unexpected reply {reply:?}"),
        )
    }

    /// Classifies an SDK failure of `op`.
    pub fn from_sdk<E>(op: Op, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match &error {
            SdkError::ServiceError(context) => {
                let status = context.raw().status().as_u16();
                let code = context.err().code().map(str::to_owned);
                let message = context.err().message().unwrap_or_default().to_owned();
                let kind = classify(code.as_deref(), status);
                Self {
                    op,
                    kind,
                    code,
                    message,
                }
            }
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => {
                Self::new(op, ErrorKind::Transient, None, describe(&error))
            }
            _ => Self::new(op, ErrorKind::Permanent, None, describe(&error)),
        }
    }

    /// The operation that failed.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The failure's class.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The AWS error code, when AWS answered.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether the resource the call named does not exist (a delete of it has nothing to do).
    pub fn is_not_found(&self) -> bool {
        self.code.as_deref().is_some_and(|code| {
            code.ends_with("NotFound")
                || code.ends_with("NotFoundException")
                || code == "ResourceNotFoundException"
        })
    }

    /// Whether retrying the same call soon may succeed. A missing resource is not: the caller
    /// either treats it as done (a delete) or re-observes on the next reconcile.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Transient) && !self.is_not_found()
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.op)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl From<CallError> for ProviderError {
    fn from(error: CallError) -> Self {
        ProviderError::new(error.kind, error.to_string())
    }
}

/// The class of an AWS error code (or, without a known code, of the HTTP status).
pub fn classify(code: Option<&str>, status: u16) -> ErrorKind {
    let Some(code) = code else {
        return by_status(status);
    };
    match code {
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "SlowDown" => ErrorKind::Throttled,
        "ServiceUnavailable" | "InternalFailure" | "InternalError" | "RequestTimeout" => {
            ErrorKind::Transient
        }
        "ResourceInUse" | "ResourceInUseException" => ErrorKind::NotReady,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "SignatureDoesNotMatch" => ErrorKind::Permanent,
        "DuplicateLoadBalancerName"
        | "DuplicateTargetGroupName"
        | "DuplicateListener"
        | "PriorityInUse"
        | "ConflictException"
        | "OperationNotPermitted" => ErrorKind::Conflict,
        "ValidationError" | "ValidationException" => ErrorKind::InvalidSpec,
        // What the spec names does not exist: a fix of the input is needed, not a retry.
        "CertificateNotFound"
        | "SSLPolicyNotFound"
        | "SubnetNotFound"
        | "SecurityGroupNotFound"
        | "InvalidSubnet"
        | "InvalidSecurityGroup"
        | "InvalidScheme"
        | "AvailabilityZoneNotSupported" => ErrorKind::InvalidSpec,
        code if code.starts_with("Invalid") || code.starts_with("TooMany") => {
            ErrorKind::InvalidSpec
        }
        code if code.ends_with("NotFound") || code.ends_with("NotFoundException") => {
            ErrorKind::Transient
        }
        code if code.starts_with("Unsupported") => ErrorKind::Unsupported,
        _ => by_status(status),
    }
}

fn by_status(status: u16) -> ErrorKind {
    match status {
        429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

/// The error and its causes on one line, without the SDK's debug dump.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        let table = [
            (Some("Throttling"), 400, ErrorKind::Throttled),
            (Some("ThrottlingException"), 400, ErrorKind::Throttled),
            (Some("RequestLimitExceeded"), 503, ErrorKind::Throttled),
            (Some("ValidationError"), 400, ErrorKind::InvalidSpec),
            (
                Some("InvalidConfigurationRequest"),
                400,
                ErrorKind::InvalidSpec,
            ),
            (Some("TooManyRules"), 400, ErrorKind::InvalidSpec),
            (Some("ResourceInUse"), 400, ErrorKind::NotReady),
            (Some("AccessDenied"), 403, ErrorKind::Permanent),
            (Some("PriorityInUse"), 400, ErrorKind::Conflict),
            (Some("OperationNotPermitted"), 400, ErrorKind::Conflict),
            (Some("LoadBalancerNotFound"), 400, ErrorKind::Transient),
            (Some("CertificateNotFound"), 400, ErrorKind::InvalidSpec),
            (Some("SSLPolicyNotFound"), 400, ErrorKind::InvalidSpec),
            (Some("SubnetNotFound"), 400, ErrorKind::InvalidSpec),
            (Some("UnsupportedProtocol"), 400, ErrorKind::Unsupported),
            (Some("SomethingNew"), 500, ErrorKind::Transient),
            (Some("SomethingNew"), 400, ErrorKind::Permanent),
            (None, 502, ErrorKind::Transient),
            (None, 429, ErrorKind::Throttled),
            (None, 404, ErrorKind::Permanent),
        ];
        for (code, status, kind) in table {
            assert_eq!(classify(code, status), kind, "{code:?} {status}");
        }
    }

    #[test]
    fn not_found_codes_are_recognised() {
        let error = CallError::new(
            Op::DeleteRule,
            ErrorKind::Transient,
            Some("RuleNotFound"),
            "",
        );
        assert!(error.is_not_found());
        let error = CallError::new(
            Op::DeleteCertificate,
            ErrorKind::Transient,
            Some("ResourceNotFoundException"),
            "",
        );
        assert!(error.is_not_found());
        let error = CallError::new(Op::DeleteRule, ErrorKind::Throttled, Some("Throttling"), "");
        assert!(!error.is_not_found());
        assert!(error.is_retryable());
    }

    #[test]
    fn messages_name_the_operation_and_code() {
        let error = CallError::new(
            Op::CreateRule,
            ErrorKind::InvalidSpec,
            Some("ValidationError"),
            "bad value",
        );
        let provider: ProviderError = error.into();
        assert_eq!(provider.kind(), ErrorKind::InvalidSpec);
        assert_eq!(
            provider.to_string(),
            "invalid_spec: CreateRule failed (ValidationError): bad value"
        );
    }
}
