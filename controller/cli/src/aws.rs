//! `weir-controller apply|plan --provider aws`: reconcile or plan every stack of a folder of
//! manifests against AWS (or an emulator at `AWS_ENDPOINT_URL`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use aws_config::SdkConfig;
use weir_index::Index;
use weir_model::{DesiredLoadBalancer, Diagnostic, LoadBalancerAddress, ProviderError};
use weir_provider_aws::{
    AwsProvider, Client, ClientOptions, Op, SdkApi, StackDefaults, StackOutcome, StackPlan,
    discover_subnets, summarize,
};
use weir_translate::{ClusterSnapshot, ControllerKind, TranslateConfig, translate_gateways};

/// Where and as whom to act.
#[derive(Clone, Debug)]
pub struct AwsTarget {
    /// The cluster name in the ownership tags.
    pub cluster: String,
    /// Defaults for what annotations leave unset.
    pub defaults: StackDefaults,
    /// How the AWS client paces and retries calls.
    pub client: ClientOptions,
    /// The VPC whose tagged subnets are discovered when `defaults` names none.
    pub vpc_id: Option<String>,
}

/// Whether an AWS endpoint or credentials are configured (an emulator URL, keys, a profile,
/// web identity or a container credentials endpoint); without any, `plan` stays offline.
pub fn live_endpoint_configured(env: impl Fn(&str) -> Option<String>, home: Option<&Path>) -> bool {
    const VARIABLES: [&str; 5] = [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];
    VARIABLES
        .iter()
        .any(|name| env(name).is_some_and(|value| !value.is_empty()))
        || home.is_some_and(|home| home.join(".aws/credentials").exists())
}

/// The stacks translate builds from `snapshot`: the Ingress stacks under `config`, then one per
/// Gateway of a `weir.dev/aws-alb` GatewayClass (stacks without members are left out: the
/// provider deletes whatever of the cluster they do not name), and every diagnostic.
pub fn desired_stacks(
    snapshot: &ClusterSnapshot,
    config: &TranslateConfig,
) -> (Vec<DesiredLoadBalancer>, Vec<Diagnostic>) {
    let (mut desired, mut diagnostics) = Index::from_snapshot(config.clone(), snapshot.clone())
        .translate_all()
        .into_desired();
    let (gateways, gateway_diagnostics) = translate_gateways(snapshot, ControllerKind::AwsAlb)
        .translation
        .into_desired();
    desired.extend(gateways);
    diagnostics.extend(gateway_diagnostics);
    (desired, diagnostics)
}

async fn provider(target: &AwsTarget) -> Result<AwsProvider<SdkApi>, ProviderError> {
    let config = SdkApi::default_config().await;
    let defaults = with_discovered_subnets(
        &config,
        target.defaults.clone(),
        target.vpc_id.as_deref(),
        &target.cluster,
    )
    .await?;
    let client = Client::new(SdkApi::new(&config), target.client.clone());
    Ok(AwsProvider::new(client, &target.cluster, defaults))
}

/// `defaults` with the subnets of `vpc_id` found by their tags, when `defaults` names no
/// subnets and a VPC is given; `defaults` unchanged otherwise. What was found is logged.
///
/// # Errors
/// EC2 could not be asked (see [`weir_provider_aws::DiscoveryError`]).
pub async fn with_discovered_subnets(
    config: &SdkConfig,
    mut defaults: StackDefaults,
    vpc_id: Option<&str>,
    cluster: &str,
) -> Result<StackDefaults, ProviderError> {
    let Some(vpc_id) = vpc_id.filter(|_| defaults.subnets.is_empty()) else {
        return Ok(defaults);
    };
    let discovered = discover_subnets(config, vpc_id, cluster).await?;
    tracing::info!(
        vpc_id,
        internet_facing = ?discovered.internet_facing,
        internal = ?discovered.internal,
        "subnets discovered by their kubernetes.io/role tags"
    );
    for problem in &discovered.problems {
        tracing::warn!("subnet discovery: {problem}");
    }
    defaults.discovered_subnets = Some(discovered);
    Ok(defaults)
}

/// What `apply --once` did.
#[derive(Debug)]
pub struct ApplyReport {
    /// One outcome per stack.
    pub outcomes: Vec<StackOutcome>,
    /// Calls made, by operation.
    pub calls: BTreeMap<Op, u64>,
}

impl ApplyReport {
    /// How many stacks failed.
    pub fn failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.result.is_err())
            .count()
    }

    /// How many stacks were applied without some of their parts (members over a quota,
    /// unusable certificates).
    pub fn partial(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.result.is_ok() && !outcome.left_out.is_empty())
            .count()
    }

    /// One line per stack, then the call counts.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for outcome in &self.outcomes {
            let _ = match &outcome.result {
                Ok(Some(status)) => {
                    let names: Vec<&str> = status
                        .addresses
                        .iter()
                        .map(|address| match address {
                            LoadBalancerAddress::Hostname(name) | LoadBalancerAddress::Ip(name) => {
                                name.as_str()
                            }
                        })
                        .collect();
                    writeln!(out, "stack {}: {}", outcome.stack, names.join(", "))
                }
                Ok(None) => writeln!(out, "stack {}: deleted", outcome.stack),
                Err(error) => {
                    let _ = writeln!(out, "stack {}: failed: {error}", outcome.stack);
                    write_diagnostics(&mut out, error.diagnostics());
                    Ok(())
                }
            };
            if !outcome.left_out.is_empty() {
                let _ = writeln!(
                    out,
                    "stack {}: applied without what these name:",
                    outcome.stack
                );
                write_diagnostics(&mut out, &outcome.left_out);
            }
        }
        out.push_str(&calls_line(&self.calls));
        out
    }
}

/// Reconciles every stack of the cluster once (`desired` empty: deletes them all).
///
/// # Errors
/// Subnet discovery or listing the cluster's stacks failed.
pub async fn apply_once(
    target: &AwsTarget,
    desired: &[DesiredLoadBalancer],
) -> Result<ApplyReport, ProviderError> {
    let provider = provider(target).await?;
    let outcomes = provider.reconcile_all(desired).await?;
    Ok(ApplyReport {
        outcomes,
        calls: provider.client().counter().snapshot(),
    })
}

/// What a live `plan` found.
#[derive(Debug)]
pub struct LivePlan {
    /// Per stack, its plan or why it cannot be applied.
    pub plans: Vec<(String, Result<StackPlan, ProviderError>)>,
    /// The read calls made to find out.
    pub reads: BTreeMap<Op, u64>,
}

impl LivePlan {
    /// The ordered calls per stack.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (stack, plan) in &self.plans {
            let plan = match plan {
                Ok(plan) => plan,
                Err(error) => {
                    let _ = writeln!(out, "stack {stack}: cannot be applied: {error}");
                    write_diagnostics(&mut out, error.diagnostics());
                    continue;
                }
            };
            if !plan.left_out.is_empty() {
                let _ = writeln!(out, "stack {}: leaves out what these name:", plan.stack);
                write_diagnostics(&mut out, &plan.left_out);
            }
            if plan.steps.is_empty() {
                let _ = writeln!(out, "stack {}: up to date, no calls", plan.stack);
                continue;
            }
            let _ = writeln!(
                out,
                "stack {}: {} calls, in order:",
                plan.stack,
                plan.steps.len()
            );
            for (number, step) in (1..).zip(&plan.steps) {
                let _ = writeln!(out, "  {number:>3}. {step}");
            }
        }
        let _ = write!(out, "observed with ");
        out.push_str(&calls_line(&self.reads));
        out
    }
}

/// Observes and plans every stack of the cluster without changing anything.
///
/// # Errors
/// Subnet discovery or listing the cluster's stacks failed.
pub async fn plan_live(
    target: &AwsTarget,
    desired: &[DesiredLoadBalancer],
) -> Result<LivePlan, ProviderError> {
    let provider = provider(target).await?;
    let plans = provider.plan_all(desired).await?;
    Ok(LivePlan {
        plans,
        reads: provider.client().counter().snapshot(),
    })
}

fn write_diagnostics(out: &mut String, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        let _ = writeln!(out, "    {diagnostic}");
    }
}

fn calls_line(calls: &BTreeMap<Op, u64>) -> String {
    let (total, mutating) = summarize(calls);
    let by_op: Vec<String> = calls
        .iter()
        .map(|(op, count)| format!("{op}={count}"))
        .collect();
    format!(
        "{total} API calls ({mutating} mutating): {}\n",
        by_op.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_planning_needs_an_endpoint_or_credentials() {
        let none = |_: &str| None;
        assert!(!live_endpoint_configured(none, None));
        let endpoint =
            |name: &str| (name == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:4566".to_owned());
        assert!(live_endpoint_configured(endpoint, None));
        let empty = |_: &str| Some(String::new());
        assert!(!live_endpoint_configured(empty, None));
    }
}
