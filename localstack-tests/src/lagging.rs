//! An eventually consistent tag index, as AWS's can be: resources created through this API stay
//! invisible to `GetResources` (the emulator's index is always up to date).

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use weir_provider_aws::{AwsApi, Call, CallError, Op, Reply};

/// Wraps an [`AwsApi`] and hides everything created through it from the tag index.
#[derive(Debug)]
pub struct LaggingIndex<A> {
    inner: A,
    hidden: Mutex<BTreeSet<String>>,
}

impl<A> LaggingIndex<A> {
    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        Self {
            inner,
            hidden: Mutex::new(BTreeSet::new()),
        }
    }
}

impl<A: AwsApi> AwsApi for LaggingIndex<A> {
    async fn send(&self, call: Call) -> Result<Reply, CallError> {
        let op = call.op();
        let reply = self.inner.send(call).await?;
        let mut hidden = self.hidden.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match (op, reply) {
            (Op::CreateLoadBalancer, Reply::LoadBalancers(created)) => {
                hidden.extend(created.iter().map(|found| found.arn.clone()));
                Reply::LoadBalancers(created)
            }
            (Op::CreateTargetGroup | Op::ImportCertificate, Reply::Arn(arn)) => {
                hidden.insert(arn.clone());
                Reply::Arn(arn)
            }
            (Op::GetResources, Reply::Resources(found)) => Reply::Resources(
                found
                    .into_iter()
                    .filter(|resource| !hidden.contains(&resource.arn))
                    .collect(),
            ),
            (_, reply) => reply,
        })
    }
}
