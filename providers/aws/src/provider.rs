//! [`AwsProvider`]: the [`Provider`] of ALBs. `ensure` = spec -> observe -> plan -> apply ->
//! status; `delete` = the same with an empty spec.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use weir_model::{
    CertificateSource, DesiredLoadBalancer, ErrorKind, LoadBalancerAddress, LoadBalancerStatus,
    Provider, ProviderError, Severity, StackId,
};

use crate::api::AwsApi;
use crate::apply::{Applied, apply};
use crate::client::{Client, ClientOptions};
use crate::memory::{DEFAULT_MEMORY, Memory};
use crate::names::Owner;
use crate::observe::{issued_certificates, observe, observe_for_delete, stacks};
use crate::observed::Observed;
use crate::plan::plan;
use crate::quotas::{QuotaLimits, check_quotas};
use crate::rules::render;
use crate::spec::{StackDefaults, StackSpec};
use crate::steps::Step;

/// What a reconcile of one stack would do: the state found and the calls that would follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackPlan {
    /// The stack's tag value.
    pub stack: String,
    /// What AWS holds for it.
    pub observed: Observed,
    /// The mutating calls, in order.
    pub steps: Vec<Step>,
}

/// The result of reconciling one stack.
#[derive(Debug)]
pub struct StackOutcome {
    /// The stack's tag value.
    pub stack: String,
    /// Its status when ensured, `None` when deleted, or why it failed.
    pub result: Result<Option<LoadBalancerStatus>, ProviderError>,
}

/// The AWS provider of one cluster.
#[derive(Debug)]
pub struct AwsProvider<A> {
    client: Client<A>,
    cluster: String,
    defaults: StackDefaults,
    limits: QuotaLimits,
    memory: Memory,
}

impl<A: AwsApi> AwsProvider<A> {
    /// A provider for `cluster` sending calls through `client`.
    pub fn new(client: Client<A>, cluster: &str, defaults: StackDefaults) -> Self {
        Self {
            client,
            cluster: cluster.to_owned(),
            defaults,
            limits: QuotaLimits::default(),
            memory: Memory::new(DEFAULT_MEMORY),
        }
    }

    /// Remembers created resources for `memory` instead of [`DEFAULT_MEMORY`] (see
    /// [`Memory`]).
    pub fn with_memory(mut self, memory: Duration) -> Self {
        self.memory = Memory::new(memory);
        self
    }

    /// A provider with a default [`Client`] around `api`.
    pub fn with_api(api: A, cluster: &str, defaults: StackDefaults) -> Self {
        Self::new(
            Client::new(api, ClientOptions::default()),
            cluster,
            defaults,
        )
    }

    /// The client (for its call counter).
    pub fn client(&self) -> &Client<A> {
        &self.client
    }

    /// The cluster name in the ownership tags.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Every stack of this cluster that owns something in AWS (tag values).
    ///
    /// # Errors
    /// A classified [`ProviderError`].
    pub async fn stacks(&self) -> Result<Vec<String>, ProviderError> {
        Ok(stacks(&self.client, &self.cluster).await?)
    }

    /// Observes and plans `desired` without changing anything.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidSpec`] for quota violations and unappliable specs; classified call
    /// failures.
    pub async fn plan_ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> Result<StackPlan, ProviderError> {
        let owner = Owner::new(&self.cluster, &desired.stack);
        let spec = self.spec(owner.clone(), desired).await?;
        let remembered = self.memory.recall(owner.stack());
        let observed = observe(&self.client, &owner, &remembered).await?;
        let steps = plan(&spec, &observed)?;
        Ok(StackPlan {
            stack: owner.stack().to_owned(),
            observed,
            steps,
        })
    }

    /// Observes and plans the deletion of the stack tagged `stack`.
    ///
    /// # Errors
    /// Classified call failures.
    pub async fn plan_delete(&self, stack: &str) -> Result<StackPlan, ProviderError> {
        let owner = Owner::from_tag(&self.cluster, stack);
        let remembered = self.memory.recall(owner.stack());
        let observed = observe_for_delete(&self.client, &owner, &remembered).await?;
        let steps = plan(&StackSpec::empty(owner), &observed)?;
        Ok(StackPlan {
            stack: stack.to_owned(),
            observed,
            steps,
        })
    }

    /// Deletes everything of the stack tagged `stack`.
    ///
    /// # Errors
    /// Classified call failures; [`ErrorKind::NotReady`] while AWS still holds a target group
    /// the deleted load balancer used.
    pub async fn delete_tagged(&self, stack: &str) -> Result<(), ProviderError> {
        let planned = self.plan_delete(stack).await?;
        self.apply(&planned).await?;
        Ok(())
    }

    /// Reconciles every stack of the cluster once: ensures each of `desired`, then deletes every
    /// stack of the cluster that `desired` does not name. One stack's failure does not stop
    /// the others.
    ///
    /// # Errors
    /// Listing the cluster's stacks failed (the ensures already ran).
    pub async fn reconcile_all(
        &self,
        desired: &[DesiredLoadBalancer],
    ) -> Result<Vec<StackOutcome>, ProviderError> {
        let mut outcomes = Vec::new();
        for stack in desired {
            outcomes.push(StackOutcome {
                stack: stack.stack.to_string(),
                result: self.ensure(stack).await.map(Some),
            });
        }
        for stack in self.stacks_without(desired).await? {
            let result = self.delete_tagged(&stack).await.map(|()| None);
            outcomes.push(StackOutcome { stack, result });
        }
        Ok(outcomes)
    }

    /// Plans what [`AwsProvider::reconcile_all`] would do, calling only read operations: per
    /// stack, its plan or why it cannot be applied.
    ///
    /// # Errors
    /// Listing the cluster's stacks failed.
    pub async fn plan_all(
        &self,
        desired: &[DesiredLoadBalancer],
    ) -> Result<Vec<(String, Result<StackPlan, ProviderError>)>, ProviderError> {
        let mut plans = Vec::new();
        for stack in desired {
            plans.push((stack.stack.to_string(), self.plan_ensure(stack).await));
        }
        for stack in self.stacks_without(desired).await? {
            let plan = self.plan_delete(&stack).await;
            plans.push((stack, plan));
        }
        Ok(plans)
    }

    /// Runs a plan's steps and remembers what they created, even when a step fails.
    async fn apply(&self, planned: &StackPlan) -> Result<Applied, ProviderError> {
        let mut applied = Applied::default();
        let result = apply(&self.client, &planned.steps, &mut applied).await;
        self.memory.learn(&planned.stack, &planned.steps, &applied);
        if let Err(error) = &result
            && error.is_not_found()
        {
            // Something remembered was deleted behind our back: trust the tag index again.
            self.memory.forget(&planned.stack);
        }
        result?;
        Ok(applied)
    }

    async fn stacks_without(
        &self,
        desired: &[DesiredLoadBalancer],
    ) -> Result<Vec<String>, ProviderError> {
        let wanted: Vec<String> = desired
            .iter()
            .map(|stack| stack.stack.to_string())
            .collect();
        let mut stacks = self.stacks().await?;
        stacks.extend(self.memory.stacks());
        stacks.sort();
        stacks.dedup();
        Ok(stacks
            .into_iter()
            .filter(|stack| !wanted.contains(stack))
            .collect())
    }

    async fn spec(
        &self,
        owner: Owner,
        desired: &DesiredLoadBalancer,
    ) -> Result<StackSpec, ProviderError> {
        let view = render(desired);
        let problems: Vec<String> = check_quotas(desired, &view, &self.limits)
            .into_iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .map(|diagnostic| diagnostic.to_string())
            .collect();
        if !problems.is_empty() {
            return Err(ProviderError::new(
                ErrorKind::InvalidSpec,
                problems.join("; "),
            ));
        }
        let discovers = desired
            .certificates
            .iter()
            .any(|certificate| certificate.source == CertificateSource::Discover);
        let issued = if discovers {
            issued_certificates(&self.client).await?
        } else {
            Vec::new()
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            });
        StackSpec::build(owner, desired, &view, &self.defaults, &issued, now)
    }
}

impl<A: AwsApi> Provider for AwsProvider<A> {
    async fn ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> Result<LoadBalancerStatus, ProviderError> {
        let planned = self.plan_ensure(desired).await?;
        let applied = self.apply(&planned).await?;
        let dns_name = planned
            .observed
            .load_balancers
            .first()
            .map(|found| found.dns_name.clone())
            .or(applied.dns_name);
        Ok(LoadBalancerStatus {
            addresses: dns_name
                .into_iter()
                .map(LoadBalancerAddress::Hostname)
                .collect(),
        })
    }

    async fn delete(&self, stack: &StackId) -> Result<(), ProviderError> {
        self.delete_tagged(&stack.to_string()).await
    }

    /// The stacks tagged for this cluster (tag values that are no stack id are skipped: weir
    /// never wrote them).
    async fn owned_stacks(&self) -> Result<Vec<StackId>, ProviderError> {
        let mut stacks: Vec<String> = self.stacks().await?;
        stacks.extend(self.memory.stacks());
        stacks.sort();
        stacks.dedup();
        Ok(stacks.iter().filter_map(|tag| tag.parse().ok()).collect())
    }
}
