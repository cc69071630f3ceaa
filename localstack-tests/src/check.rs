//! Assertions about what the emulator holds for a cluster.

use std::collections::BTreeMap;

use weir_provider_aws::{AwsApi, AwsProvider, Op, TAG_CLUSTER, TAG_STACK, Tags, summarize, tagged};

/// What one cluster owns, by kind: load balancers, target groups, certificates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owned {
    /// Load balancers per stack.
    pub load_balancers: BTreeMap<String, usize>,
    /// Target groups per stack.
    pub target_groups: BTreeMap<String, usize>,
    /// Imported certificates per stack.
    pub certificates: BTreeMap<String, usize>,
}

impl Owned {
    /// Whether the cluster owns nothing at all.
    pub fn is_empty(&self) -> bool {
        self.load_balancers.is_empty()
            && self.target_groups.is_empty()
            && self.certificates.is_empty()
    }
}

/// Everything tagged with the provider's cluster name.
///
/// # Panics
/// When the tagging API fails.
pub async fn owned<A: AwsApi>(provider: &AwsProvider<A>) -> Owned {
    let selector = Tags::from([(TAG_CLUSTER.to_owned(), provider.cluster().to_owned())]);
    let resources = tagged(provider.client(), selector)
        .await
        .expect("GetResources works");
    let mut owned = Owned::default();
    for resource in resources {
        let stack = resource.tags.get(TAG_STACK).cloned().unwrap_or_default();
        let bucket = if resource.arn.contains(":loadbalancer/") {
            &mut owned.load_balancers
        } else if resource.arn.contains(":targetgroup/") {
            &mut owned.target_groups
        } else {
            &mut owned.certificates
        };
        *bucket.entry(stack).or_default() += 1;
    }
    owned
}

/// Calls since the last reset, by operation name, with the totals; then resets.
pub fn take_counts<A: AwsApi>(provider: &AwsProvider<A>) -> Counts {
    let counter = provider.client().counter();
    let by_op = counter.snapshot();
    counter.reset();
    let (total, mutating) = summarize(&by_op);
    Counts {
        total,
        mutating,
        by_op,
    }
}

/// API calls of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Every call.
    pub total: u64,
    /// Calls that change something.
    pub mutating: u64,
    /// Calls by operation.
    pub by_op: BTreeMap<Op, u64>,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} calls ({} mutating):", self.total, self.mutating)?;
        for (op, count) in &self.by_op {
            write!(f, " {op}={count}")?;
        }
        Ok(())
    }
}
