//! What the observes of many stacks can share: one cluster-wide tag listing instead of one tag
//! query per stack, and `DescribeLoadBalancers` / `DescribeTargetGroups` batched across stacks
//! (each takes up to 20 ARNs).
//!
//! ```text
//! cluster listing (owned_stacks, or taken on demand when many stacks are observed)
//!     └─► per stack: its resources ──► describe its LB / TGs, plus up to 20 ARNs of stacks
//!                                       not described yet ──► cached until the next listing
//! ```
//!
//! A stack uses the shared view only while it is *clean*: the listing is younger than the time
//! to live and the stack has not been changed (applied, deleted, failed) since the listing was
//! taken. A changed stack is observed on its own, exactly as without the view, until the next
//! listing. The view therefore only serves stacks whose resources this process has not touched
//! since, and a change made by hand in AWS is seen at the latest one time to live later.
//! Resources created recently are still added from [`crate::Memory`] by the caller.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::api::{
    AwsApi, Call, CallError, Client, LoadBalancerInfo, Reply, TaggedResource, TargetGroupInfo,
};
use crate::desired::names::{Owner, RESOURCE_LOAD_BALANCER, TAG_RESOURCE, TAG_STACK};
use crate::observe::{DESCRIBE_BATCH, describe_tolerant, tagged};

/// Clean stacks observed on their own within one time to live after which a cluster-wide
/// listing is cheaper than going on (a listing of 100 resources is one page).
const BUSY_AFTER: usize = 10;

/// The shared view of one cluster's resources.
#[derive(Debug)]
pub struct ClusterView {
    ttl: Duration,
    state: Mutex<State>,
    /// Held while a listing is taken on demand, so concurrent observes take only one.
    listing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    /// When the current listing was taken; `None`: none yet.
    taken: Option<Instant>,
    /// Bumped by every change and every listing: orders them.
    sequence: u64,
    /// The sequence number the current listing started at.
    generation: u64,
    /// The listing's resources by stack tag.
    by_stack: BTreeMap<String, Vec<TaggedResource>>,
    /// The listing's load balancer and target group ARNs, with their stacks.
    load_balancer_arns: BTreeMap<String, String>,
    target_group_arns: BTreeMap<String, String>,
    /// Stacks changed since the listing was taken, with the sequence number of their change.
    changed: BTreeMap<String, u64>,
    /// Described since the listing was taken, by ARN.
    load_balancers: BTreeMap<String, LoadBalancerInfo>,
    target_groups: BTreeMap<String, TargetGroupInfo>,
    /// When clean stacks were last observed on their own (the listing was stale).
    misses: VecDeque<Instant>,
}

impl State {
    fn fresh(&self, ttl: Duration) -> bool {
        self.taken.is_some_and(|taken| taken.elapsed() < ttl)
    }

    fn clean(&self, ttl: Duration, stack: &str) -> bool {
        self.fresh(ttl) && !self.changed.contains_key(stack)
    }
}

/// The two describe calls that take a batch of ARNs.
#[derive(Clone, Copy, Debug)]
enum Described {
    LoadBalancers,
    TargetGroups,
}

impl ClusterView {
    /// A view whose listings serve for `ttl` (zero: never; every stack is observed on its own).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::new(State::default()),
            listing: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sequence number a cluster-wide listing starting now must pass to [`Self::store`].
    pub fn begin_listing(&self) -> u64 {
        let mut state = self.lock();
        state.sequence += 1;
        state.sequence
    }

    /// Keeps a cluster-wide listing begun at `started` ([`Self::begin_listing`]): stacks changed
    /// since it began stay changed, every other stack is clean again.
    pub fn store(&self, started: u64, resources: &[TaggedResource]) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.lock();
        if started < state.generation {
            return; // a newer listing is already kept
        }
        let mut by_stack: BTreeMap<String, Vec<TaggedResource>> = BTreeMap::new();
        let mut load_balancer_arns = BTreeMap::new();
        let mut target_group_arns = BTreeMap::new();
        for resource in resources {
            let Some(stack) = resource.tags.get(TAG_STACK) else {
                continue;
            };
            let logical = resource.tags.get(TAG_RESOURCE).map(String::as_str);
            if resource.arn.contains(":loadbalancer/") && logical == Some(RESOURCE_LOAD_BALANCER) {
                load_balancer_arns.insert(resource.arn.clone(), stack.clone());
            } else if resource.arn.contains(":targetgroup/") {
                target_group_arns.insert(resource.arn.clone(), stack.clone());
            }
            by_stack
                .entry(stack.clone())
                .or_default()
                .push(resource.clone());
        }
        state.taken = Some(Instant::now());
        state.generation = started;
        state.by_stack = by_stack;
        state.load_balancer_arns = load_balancer_arns;
        state.target_group_arns = target_group_arns;
        state.changed.retain(|_, changed| *changed >= started);
        state.load_balancers.clear();
        state.target_groups.clear();
        state.misses.clear();
    }

    /// Marks `stack` changed (applied, deleted or failed): it is observed on its own until the
    /// next listing.
    pub fn changed(&self, stack: &str) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.lock();
        state.sequence += 1;
        let sequence = state.sequence;
        state.changed.insert(stack.to_owned(), sequence);
    }

    /// The tagged resources of `owner`: from the listing when the stack is clean, else from a
    /// tag query of its own (or from a new listing, when many clean stacks are being observed).
    ///
    /// # Errors
    /// A classified [`CallError`].
    pub async fn resources<A: AwsApi>(
        &self,
        client: &Client<A>,
        owner: &Owner,
    ) -> Result<Vec<TaggedResource>, CallError> {
        if let Some(resources) = self.listed(owner.stack()) {
            return Ok(resources);
        }
        if self.busy() {
            let _one = self.listing.lock().await;
            if let Some(resources) = self.listed(owner.stack()) {
                return Ok(resources);
            }
            let started = self.begin_listing();
            let all = tagged(client, owner.cluster_selector()).await?;
            self.store(started, &all);
            if let Some(resources) = self.listed(owner.stack()) {
                return Ok(resources);
            }
        }
        tagged(client, owner.selector()).await
    }

    /// The listed resources of a clean `stack`.
    fn listed(&self, stack: &str) -> Option<Vec<TaggedResource>> {
        let state = self.lock();
        state
            .clean(self.ttl, stack)
            .then(|| state.by_stack.get(stack).cloned().unwrap_or_default())
    }

    /// Counts an observe of a clean stack without a fresh listing; whether there were enough
    /// within one time to live to take a listing instead.
    fn busy(&self) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let mut state = self.lock();
        let now = Instant::now();
        while state
            .misses
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.ttl)
        {
            state.misses.pop_front();
        }
        state.misses.push_back(now);
        state.misses.len() > BUSY_AFTER
    }

    /// Describes the load balancers `arns` of `stack`, batched with others of the listing.
    ///
    /// # Errors
    /// A classified [`CallError`].
    pub async fn load_balancers<A: AwsApi>(
        &self,
        client: &Client<A>,
        stack: &str,
        arns: &[String],
    ) -> Result<Vec<LoadBalancerInfo>, CallError> {
        let replies = self
            .describe(client, stack, arns, Described::LoadBalancers)
            .await?;
        Ok(replies
            .into_iter()
            .flat_map(|reply| match reply {
                Reply::LoadBalancers(found) => found,
                _ => Vec::new(),
            })
            .collect())
    }

    /// Describes the target groups `arns` of `stack`, batched with others of the listing.
    ///
    /// # Errors
    /// A classified [`CallError`].
    pub async fn target_groups<A: AwsApi>(
        &self,
        client: &Client<A>,
        stack: &str,
        arns: &[String],
    ) -> Result<Vec<TargetGroupInfo>, CallError> {
        let replies = self
            .describe(client, stack, arns, Described::TargetGroups)
            .await?;
        Ok(replies
            .into_iter()
            .flat_map(|reply| match reply {
                Reply::TargetGroups(found) => found,
                _ => Vec::new(),
            })
            .collect())
    }

    /// The replies describing `arns`: cached ones (a clean stack), then batches of up to 20,
    /// each filled with listed ARNs of other stacks not described yet.
    async fn describe<A: AwsApi>(
        &self,
        client: &Client<A>,
        stack: &str,
        arns: &[String],
        what: Described,
    ) -> Result<Vec<Reply>, CallError> {
        let call = match what {
            Described::LoadBalancers => Call::DescribeLoadBalancers,
            Described::TargetGroups => Call::DescribeTargetGroups,
        };
        let (mut replies, missing, mut extras, generation) = {
            let state = self.lock();
            let clean = state.clean(self.ttl, stack);
            let (described, listed): (BTreeSet<&String>, &BTreeMap<String, String>) = match what {
                Described::LoadBalancers => (
                    state.load_balancers.keys().collect(),
                    &state.load_balancer_arns,
                ),
                Described::TargetGroups => (
                    state.target_groups.keys().collect(),
                    &state.target_group_arns,
                ),
            };
            let mut replies = Vec::new();
            let mut missing = Vec::new();
            for arn in arns {
                let hit = match what {
                    Described::LoadBalancers => state
                        .load_balancers
                        .get(arn)
                        .map(|info| Reply::LoadBalancers(vec![info.clone()])),
                    Described::TargetGroups => state
                        .target_groups
                        .get(arn)
                        .map(|info| Reply::TargetGroups(vec![info.clone()])),
                };
                match hit {
                    Some(reply) if clean => replies.push(reply),
                    _ => missing.push(arn.clone()),
                }
            }
            let extras: Vec<String> = if state.fresh(self.ttl) {
                listed
                    .iter()
                    .filter(|(arn, owner)| {
                        !described.contains(arn)
                            && !missing.contains(arn)
                            && !state.changed.contains_key(*owner)
                    })
                    .map(|(arn, _)| arn.clone())
                    .collect()
            } else {
                Vec::new()
            };
            (replies, missing, extras, state.generation)
        };
        for chunk in missing.chunks(DESCRIBE_BATCH) {
            let room = DESCRIBE_BATCH - chunk.len();
            let batch: Vec<String> = chunk
                .iter()
                .cloned()
                .chain(extras.drain(..room.min(extras.len())))
                .collect();
            let reply = if batch.len() > chunk.len() {
                match client.send(call(batch)).await {
                    Err(error) if error.is_not_found() => {
                        describe_tolerant(client, chunk, call).await?
                    }
                    other => other?,
                }
            } else {
                describe_tolerant(client, chunk, call).await?
            };
            replies.push(self.keep(generation, reply, chunk));
        }
        Ok(replies)
    }

    /// Caches what `reply` describes (unless a newer listing came meanwhile); returns the part
    /// of it that describes `wanted`.
    fn keep(&self, generation: u64, reply: Reply, wanted: &[String]) -> Reply {
        let mut state = self.lock();
        let current = state.generation == generation && state.fresh(self.ttl);
        match reply {
            Reply::LoadBalancers(found) => {
                let mut mine = Vec::new();
                for info in found {
                    if wanted.contains(&info.arn) {
                        mine.push(info.clone());
                    }
                    if current {
                        state.load_balancers.insert(info.arn.clone(), info);
                    }
                }
                Reply::LoadBalancers(mine)
            }
            Reply::TargetGroups(found) => {
                let mut mine = Vec::new();
                for info in found {
                    if wanted.contains(&info.arn) {
                        mine.push(info.clone());
                    }
                    if current {
                        state.target_groups.insert(info.arn.clone(), info);
                    }
                }
                Reply::TargetGroups(mine)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Tags;

    fn resource(arn: &str, stack: &str) -> TaggedResource {
        TaggedResource {
            arn: arn.into(),
            tags: Tags::from([
                (TAG_STACK.to_owned(), stack.to_owned()),
                (TAG_RESOURCE.to_owned(), RESOURCE_LOAD_BALANCER.to_owned()),
            ]),
        }
    }

    #[test]
    fn a_stack_changed_since_a_listing_began_is_not_served_from_it() {
        let view = ClusterView::new(Duration::from_secs(60));
        assert_eq!(view.listed("a"), None, "no listing yet");
        let started = view.begin_listing();
        view.changed("a"); // applied while the listing was being taken
        view.store(
            started,
            &[resource("arn:lb/a", "a"), resource("arn:lb/b", "b")],
        );
        assert_eq!(view.listed("a"), None);
        assert_eq!(view.listed("b").map(|found| found.len()), Some(1));
        assert_eq!(
            view.listed("new"),
            Some(Vec::new()),
            "listed as owning nothing"
        );

        // A newer listing makes "a" clean again; an older one arriving late is ignored.
        let older = view.begin_listing();
        let newer = view.begin_listing();
        view.store(newer, &[resource("arn:lb/a", "a")]);
        view.store(older, &[]);
        assert_eq!(view.listed("a").map(|found| found.len()), Some(1));
        assert_eq!(view.listed("b"), Some(Vec::new()));
        view.changed("b");
        assert_eq!(view.listed("b"), None);
    }

    #[test]
    fn a_zero_ttl_serves_nothing() {
        let view = ClusterView::new(Duration::ZERO);
        let started = view.begin_listing();
        view.store(started, &[resource("arn:lb/a", "a")]);
        assert_eq!(view.listed("a"), None);
        assert!(!view.busy());
    }
}
