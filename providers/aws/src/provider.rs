//! [`AwsProvider`]: the [`Provider`] of ALBs. `ensure` = spec -> observe -> plan -> apply ->
//! status; `delete` = the same with an empty spec.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use weir_model::{
    CertificateSource, DesiredLoadBalancer, Diagnostic, ErrorKind, LoadBalancerAddress,
    LoadBalancerStatus, Provider, ProviderError, StackId,
};

use crate::api::Tags;
use crate::api::{AwsApi, Call, CallError, Client, ClientOptions, Reply};
use crate::apply::known_targets::KnownSet;
use crate::apply::{Applied, DEFAULT_MEMORY, KnownTargets, Memory, apply};
use crate::desired::names::Owner;
use crate::desired::names::{TAG_CLUSTER, TAG_STACK};
use crate::desired::{CertificateChecks, StackDefaults, StackSpec};
use crate::observe::observed::Observed;
use crate::observe::{ClusterView, issued_certificates, observe_for_delete, observe_with, tagged};
use crate::plan::plan;
use crate::plan::step::Step;
use crate::render::{QuotaLimits, fit};

/// What a reconcile of one stack would do: the state found and the calls that would follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackPlan {
    /// The stack's tag value.
    pub stack: String,
    /// What AWS holds for it.
    pub observed: Observed,
    /// The mutating calls, in order.
    pub steps: Vec<Step>,
    /// What the plan leaves out (members over a quota, unusable certificates), as errors on
    /// the Ingresses to fix; the steps apply the rest.
    pub left_out: Vec<Diagnostic>,
}

/// The result of reconciling one stack.
#[derive(Debug)]
pub struct StackOutcome {
    /// The stack's tag value.
    pub stack: String,
    /// Its status when ensured (also when parts were left out), `None` when deleted, or why
    /// it failed.
    pub result: Result<Option<LoadBalancerStatus>, ProviderError>,
    /// What was left out of an ensured stack, as errors on the Ingresses to fix (the rest was
    /// applied).
    pub left_out: Vec<Diagnostic>,
}

/// The `certificate-arn` certificates described during one reconcile: each is described once,
/// whichever stacks use it.
#[derive(Debug, Default)]
struct CertificateCache(Mutex<CertificateChecks>);

/// The AWS provider of one cluster.
#[derive(Debug)]
pub struct AwsProvider<A> {
    client: Client<A>,
    cluster: String,
    defaults: StackDefaults,
    limits: QuotaLimits,
    memory: Memory,
    known_targets: KnownTargets,
    view: ClusterView,
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
            known_targets: KnownTargets::new(Duration::ZERO),
            view: ClusterView::new(Duration::ZERO),
        }
    }

    /// Shares observation across stacks for `ttl` after each cluster-wide tag listing (taken by
    /// [`Provider::owned_stacks`], or on demand when many stacks are observed): a stack this
    /// process has not changed since is observed from the listing instead of its own tag
    /// query, and load balancers and target groups are described 20 at a time across stacks
    /// (see [`ClusterView`]); off by default. A change made by hand in AWS may be seen one
    /// `ttl` late.
    pub fn with_shared_observe(mut self, ttl: Duration) -> Self {
        self.view = ClusterView::new(ttl);
        self
    }

    /// Plans a stack reconciled again within `ttl` of describing its target groups from the
    /// targets its last successful apply left there, instead of one `DescribeTargetHealth` per
    /// target group (see [`KnownTargets`]); off by default. Keep `ttl` shorter than the
    /// drift-repair period, so that every drift-repair reconcile describes the targets.
    pub fn with_target_memory(mut self, ttl: Duration) -> Self {
        self.known_targets = KnownTargets::new(ttl);
        self
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
        let started = self.view.begin_listing();
        let selector = Tags::from([(TAG_CLUSTER.to_owned(), self.cluster.clone())]);
        let resources = tagged(&self.client, selector).await?;
        self.view.store(started, &resources);
        let mut stacks: Vec<String> = resources
            .into_iter()
            .filter_map(|resource| resource.tags.get(TAG_STACK).cloned())
            .collect();
        stacks.sort();
        stacks.dedup();
        Ok(stacks)
    }

    /// Observes and plans `desired` without changing anything.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidSpec`] when no member fits the ALB quotas, or for an unappliable
    /// spec; classified call failures.
    pub async fn plan_ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> Result<StackPlan, ProviderError> {
        let (planned, _) = self
            .plan_with(desired, &CertificateCache::default())
            .await?;
        Ok(planned)
    }

    /// The plan, with the known target sets it was made from.
    async fn plan_with(
        &self,
        desired: &DesiredLoadBalancer,
        cache: &CertificateCache,
    ) -> Result<(StackPlan, BTreeMap<String, KnownSet>), ProviderError> {
        let owner = Owner::new(&self.cluster, &desired.stack);
        let fitted = fit(desired, &self.limits);
        let mut left_out: Vec<Diagnostic> = fitted.errors().cloned().collect();
        if !fitted.applies() {
            return Err(spec_error(left_out));
        }
        let spec = self
            .spec(owner.clone(), &fitted.desired, &fitted.view, cache)
            .await?;
        left_out.extend(spec.diagnostics.iter().cloned());
        let remembered = self.memory.recall(owner.stack());
        let known = self.known_targets.recall(owner.stack());
        let observed = observe_with(&self.client, &owner, &remembered, &known, &self.view).await?;
        let steps = plan(&spec, &observed)?;
        let planned = StackPlan {
            stack: owner.stack().to_owned(),
            observed,
            steps,
            left_out,
        };
        Ok((planned, known))
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
            left_out: Vec::new(),
        })
    }

    /// Deletes everything of the stack tagged `stack`.
    ///
    /// # Errors
    /// Classified call failures; [`ErrorKind::NotReady`] while AWS still holds a target group
    /// the deleted load balancer used.
    pub async fn delete_tagged(&self, stack: &str) -> Result<(), ProviderError> {
        self.known_targets.forget(stack);
        let result = self.delete_planned(stack).await;
        self.view.changed(stack);
        result
    }

    async fn delete_planned(&self, stack: &str) -> Result<(), ProviderError> {
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
        let cache = CertificateCache::default();
        let mut outcomes = Vec::new();
        for stack in desired {
            let (result, left_out) = match self.ensure_with(stack, &cache).await {
                Ok((status, left_out)) => (Ok(Some(status)), left_out),
                Err(error) => (Err(error), Vec::new()),
            };
            outcomes.push(StackOutcome {
                stack: stack.stack.to_string(),
                result,
                left_out,
            });
        }
        for stack in self.stacks_without(desired).await? {
            let result = self.delete_tagged(&stack).await.map(|()| None);
            outcomes.push(StackOutcome {
                stack,
                result,
                left_out: Vec::new(),
            });
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
        let cache = CertificateCache::default();
        let mut plans = Vec::new();
        for stack in desired {
            let planned = self
                .plan_with(stack, &cache)
                .await
                .map(|(planned, _)| planned);
            plans.push((stack.stack.to_string(), planned));
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

    /// Ensures one stack; returns its status and what was left out of it.
    async fn ensure_with(
        &self,
        desired: &DesiredLoadBalancer,
        cache: &CertificateCache,
    ) -> Result<(LoadBalancerStatus, Vec<Diagnostic>), ProviderError> {
        let stack = desired.stack.to_string();
        let (planned, known) = match self.plan_with(desired, cache).await {
            Ok(planned) => planned,
            Err(error) => {
                self.known_targets.forget(&stack);
                self.view.changed(&stack);
                return Err(error);
            }
        };
        let applied = match self.apply(&planned).await {
            Ok(applied) => applied,
            Err(error) => {
                self.known_targets.forget(&planned.stack);
                self.view.changed(&planned.stack);
                return Err(error);
            }
        };
        if !planned.steps.is_empty() {
            self.view.changed(&planned.stack);
        }
        self.known_targets.learn(
            &planned.stack,
            &planned.observed,
            &known,
            &planned.steps,
            &applied,
        );
        let dns_name = planned
            .observed
            .load_balancers
            .first()
            .map(|found| found.dns_name.clone())
            .or(applied.dns_name);
        let status = LoadBalancerStatus {
            addresses: dns_name
                .into_iter()
                .map(LoadBalancerAddress::Hostname)
                .collect(),
            left_out: Vec::new(),
        };
        Ok((status, planned.left_out))
    }

    async fn spec(
        &self,
        owner: Owner,
        desired: &DesiredLoadBalancer,
        view: &crate::render::AlbView,
        cache: &CertificateCache,
    ) -> Result<StackSpec, ProviderError> {
        let discovers = desired
            .certificates
            .iter()
            .any(|certificate| certificate.source == CertificateSource::Discover);
        let issued = if discovers {
            issued_certificates(&self.client).await?
        } else {
            Vec::new()
        };
        let checks = self.check_certificates(desired, cache).await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            });
        StackSpec::build(owner, desired, view, &self.defaults, &issued, &checks, now)
    }

    /// Describes every `certificate-arn` certificate of `desired` not yet in `cache`: one
    /// that ACM does not know (or whose ARN it refuses) is recorded as missing.
    async fn check_certificates(
        &self,
        desired: &DesiredLoadBalancer,
        cache: &CertificateCache,
    ) -> Result<CertificateChecks, ProviderError> {
        let arns: Vec<&String> = desired
            .certificates
            .iter()
            .filter_map(|certificate| match &certificate.source {
                CertificateSource::AcmArn(arn) => Some(arn),
                _ => None,
            })
            .collect();
        for arn in arns {
            let known = lock(cache).contains_key(arn);
            if known {
                continue;
            }
            let detail = match self
                .client
                .send(Call::DescribeCertificate(arn.clone()))
                .await
            {
                Ok(Reply::Certificate(detail)) => Some(detail),
                Ok(other) => {
                    return Err(
                        CallError::unexpected(crate::api::Op::DescribeCertificate, &other).into(),
                    );
                }
                Err(error) if error.is_not_found() || error.kind() == ErrorKind::InvalidSpec => {
                    None
                }
                Err(error) => return Err(error.into()),
            };
            lock(cache).insert(arn.clone(), detail);
        }
        Ok(lock(cache).clone())
    }
}

/// The cache's map; a poisoned lock only means another task panicked mid-insert, the map
/// stays usable.
fn lock(cache: &CertificateCache) -> std::sync::MutexGuard<'_, CertificateChecks> {
    cache
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An InvalidSpec error carrying `diagnostics`, its message their text.
fn spec_error(diagnostics: Vec<Diagnostic>) -> ProviderError {
    let message = diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    ProviderError::new(ErrorKind::InvalidSpec, message).with_diagnostics(diagnostics)
}

impl<A: AwsApi> Provider for AwsProvider<A> {
    /// Applies what fits and is usable; when something was left out (a member over a quota,
    /// an unusable certificate), the rest is applied and the result is an
    /// [`ErrorKind::InvalidSpec`] whose diagnostics name each Ingress and field to fix.
    async fn ensure(
        &self,
        desired: &DesiredLoadBalancer,
    ) -> Result<LoadBalancerStatus, ProviderError> {
        let (mut status, left_out) = self
            .ensure_with(desired, &CertificateCache::default())
            .await?;
        status.left_out = left_out;
        Ok(status)
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
