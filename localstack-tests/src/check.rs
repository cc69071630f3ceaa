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

/// Asserts that `desired` is fully applied: a new plan has no steps, each stack has one load
/// balancer and one target group per key, and the routing listeners hold exactly the rendered
/// rules in order.
///
/// # Panics
/// When anything differs.
pub async fn assert_converged<A: AwsApi>(
    provider: &AwsProvider<A>,
    desired: &[weir_model::DesiredLoadBalancer],
) {
    let everything = owned(provider).await;
    for stack in desired {
        let plan = provider.plan_ensure(stack).await.expect("plan");
        assert!(
            plan.steps.is_empty(),
            "stack {} not converged: {:#?}",
            plan.stack,
            plan.steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        let name = stack.stack.to_string();
        assert_eq!(
            everything.load_balancers.get(&name),
            Some(&1),
            "{everything:?}"
        );
        assert_eq!(
            everything.target_groups.get(&name).copied().unwrap_or(0),
            stack.target_groups.len(),
            "{everything:?}"
        );
        let view = weir_provider_aws::fit(stack, &weir_provider_aws::QuotaLimits::default()).view;
        for listener in &plan.observed.listeners {
            let routes = view
                .listeners
                .iter()
                .any(|rendered| rendered.port == listener.info.port && rendered.routes());
            let mut held = listener.rules.clone();
            held.sort_by_key(|rule| rule.priority);
            let held: Vec<(Option<String>, Vec<String>)> = held
                .into_iter()
                .map(|rule| (rule.conditions.host, rule.conditions.paths))
                .collect();
            let expected: Vec<(Option<String>, Vec<String>)> = if routes {
                view.rules
                    .iter()
                    .filter(|rule| rule.on_listener(listener.info.port))
                    .map(|rule| {
                        let mut paths = rule.paths.clone();
                        paths.sort();
                        (rule.host.clone(), paths)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            assert_eq!(held, expected, "rules of listener {}", listener.info.port);
        }
    }
    let names: Vec<String> = desired
        .iter()
        .map(|stack| stack.stack.to_string())
        .collect();
    for stack in everything
        .load_balancers
        .keys()
        .chain(everything.target_groups.keys())
        .chain(everything.certificates.keys())
    {
        assert!(
            names.contains(stack),
            "stack {stack} should be gone: {everything:?}"
        );
    }
}
