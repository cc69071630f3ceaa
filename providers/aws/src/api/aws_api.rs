//! [`AwsApi`]: what sends one [`Call`] and returns its [`Reply`]. The SDK adapter implements
//! it; tests implement it with fakes.

use std::future::Future;

use crate::api::call::Call;
use crate::api::errors::CallError;
use crate::api::reply::Reply;

/// Sends [`Call`]s to AWS.
///
/// # Cancel safety
/// Dropping the future abandons the request; the caller re-observes before acting again.
pub trait AwsApi: Send + Sync {
    /// Sends one call and returns its reply.
    ///
    /// # Errors
    /// A classified [`CallError`].
    fn send(&self, call: Call) -> impl Future<Output = Result<Reply, CallError>> + Send;
}
