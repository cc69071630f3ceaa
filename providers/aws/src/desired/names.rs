//! Ownership tags and deterministic names.
//!
//! Every resource weir creates carries three tags, set in the create call itself so that a
//! resource is never untagged, even when the process dies right after the call:
//! `weir.dev/cluster` (the controller's cluster name), `weir.dev/stack` (the [`StackId`] as
//! text) and `weir.dev/resource` (which logical resource of the stack it is). Names are derived
//! from the same identity, so a retried create finds (on AWS: returns) the same resource.

use sha2::{Digest, Sha256};
use weir_model::{StackId, TargetGroupKey};

use crate::api::Tags;

/// Tag key: the cluster that owns the resource.
pub const TAG_CLUSTER: &str = "weir.dev/cluster";
/// Tag key: the stack the resource belongs to.
pub const TAG_STACK: &str = "weir.dev/stack";
/// Tag key: the logical resource within the stack.
pub const TAG_RESOURCE: &str = "weir.dev/resource";
/// Tag key: the SHA-256 of the certificate chain an imported certificate holds.
pub const TAG_FINGERPRINT: &str = "weir.dev/fingerprint";

/// Logical id of the stack's load balancer.
pub const RESOURCE_LOAD_BALANCER: &str = "load-balancer";

/// Who owns a stack's resources: a cluster name and a stack id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    cluster: String,
    stack: String,
}

impl Owner {
    /// The owner of `stack`'s resources in `cluster`.
    pub fn new(cluster: &str, stack: &StackId) -> Self {
        Self::from_tag(cluster, &stack.to_string())
    }

    /// The owner named by tag values as found on a resource.
    pub fn from_tag(cluster: &str, stack: &str) -> Self {
        Self {
            cluster: cluster.to_owned(),
            stack: stack.to_owned(),
        }
    }

    /// The cluster name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The stack, as its tag value.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// The tags that select every resource of this cluster.
    pub fn cluster_selector(&self) -> Tags {
        Tags::from([(TAG_CLUSTER.to_owned(), self.cluster.clone())])
    }

    /// The tags that select every resource of this stack.
    pub fn selector(&self) -> Tags {
        Tags::from([
            (TAG_CLUSTER.to_owned(), self.cluster.clone()),
            (TAG_STACK.to_owned(), self.stack.clone()),
        ])
    }

    /// The full tag set of logical resource `resource`.
    pub fn tags(&self, resource: &str) -> Tags {
        let mut tags = self.selector();
        tags.insert(TAG_RESOURCE.to_owned(), resource.to_owned());
        tags
    }

    /// The load balancer's name: `weir-` and 16 hex digits of the owner's hash (ALB names hold
    /// at most 32 characters).
    pub fn load_balancer_name(&self) -> String {
        format!("weir-{}", self.hash(&[RESOURCE_LOAD_BALANCER], 16))
    }

    /// A target group's name: `weir-` and 24 hex digits.
    pub fn target_group_name(&self, key: &TargetGroupKey) -> String {
        format!("weir-{}", self.hash(&[&target_group_resource(key)], 24))
    }

    fn hash(&self, parts: &[&str], digits: usize) -> String {
        let mut hasher = Sha256::new();
        for part in [self.cluster.as_str(), self.stack.as_str()]
            .iter()
            .chain(parts)
        {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()[..digits]
            .to_owned()
    }
}

/// Logical id of a target group.
pub fn target_group_resource(key: &TargetGroupKey) -> String {
    format!("target-group/{key}")
}

/// Logical id of a listener.
pub fn listener_resource(port: u16) -> String {
    format!("listener/{port}")
}

/// Logical id of a listener rule.
pub fn rule_resource(port: u16) -> String {
    format!("rule/{port}")
}

/// Logical id of a certificate imported from a Secret.
pub fn certificate_resource(namespace: &str, name: &str) -> String {
    format!("certificate/{namespace}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TargetGroupKey {
        TargetGroupKey {
            namespace: "shop".into(),
            service: "web".into(),
            port: 80,
        }
    }

    #[test]
    fn names_are_deterministic_short_and_distinct() {
        let owner = Owner::new("prod", &StackId::Group("shop".into()));
        let again = Owner::new("prod", &StackId::Group("shop".into()));
        let other = Owner::new("staging", &StackId::Group("shop".into()));
        assert_eq!(owner.load_balancer_name(), again.load_balancer_name());
        assert_ne!(owner.load_balancer_name(), other.load_balancer_name());
        assert_eq!(owner.load_balancer_name().len(), 21);
        assert_eq!(owner.target_group_name(&key()).len(), 29);
        assert!(
            owner
                .target_group_name(&key())
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        );
    }

    #[test]
    fn tags_name_cluster_stack_and_resource() {
        let owner = Owner::new("prod", &StackId::Group("shop".into()));
        let tags = owner.tags(&target_group_resource(&key()));
        assert_eq!(tags[TAG_CLUSTER], "prod");
        assert_eq!(tags[TAG_STACK], "group:shop");
        assert_eq!(tags[TAG_RESOURCE], "target-group/shop/web:80");
    }
}
