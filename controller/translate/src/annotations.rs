//! weir's annotations: `weir.dev/NAME`, with `alb.ingress.kubernetes.io/NAME` accepted as an
//! alias for users migrating from the AWS Load Balancer Controller.

use k8s_openapi::api::networking::v1::Ingress;

/// The prefix of weir's own annotations.
pub const WEIR_PREFIX: &str = "weir.dev/";
/// The prefix of the AWS Load Balancer Controller's annotations, read as aliases.
pub const ALB_PREFIX: &str = "alb.ingress.kubernetes.io/";

/// Every annotation NAME weir reads, as `weir.dev/NAME` or else `alb.ingress.kubernetes.io/NAME`;
/// a trailing `*` stands for any name (`actions.NAME`, `conditions.NAME`). Every lookup must use
/// a listed name, and `docs/annotations.md` lists exactly these (`tests/annotations_doc.rs`).
pub const NAMES: [&str; 17] = [
    "group.name",
    "group.order",
    "listen-ports",
    "ssl-redirect",
    "certificate-arn",
    "scheme",
    "subnets",
    "security-groups",
    "ssl-policy",
    "healthcheck-path",
    "healthcheck-interval-seconds",
    "healthcheck-timeout-seconds",
    "healthy-threshold-count",
    "unhealthy-threshold-count",
    "success-codes",
    "actions.*",
    "conditions.*",
];

/// The legacy class annotation on an Ingress (before `spec.ingressClassName`).
pub const LEGACY_CLASS: &str = "kubernetes.io/ingress.class";
/// The annotation that marks an IngressClass as the cluster's default.
pub const DEFAULT_CLASS: &str = "ingressclass.kubernetes.io/is-default-class";
/// The annotations of Kubernetes itself that weir reads, by full key.
pub const KUBERNETES_KEYS: [&str; 2] = [LEGACY_CLASS, DEFAULT_CLASS];

/// Whether `name` is one of [`NAMES`] (a `*` entry takes any rest).
fn listed(name: &str) -> bool {
    NAMES.iter().any(|listed| match listed.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix) && name.len() > prefix.len(),
        None => *listed == name,
    })
}

/// An annotation value and the full key it was found under (for diagnostics).
pub(crate) struct Annotation<'a> {
    pub(crate) key: String,
    pub(crate) value: &'a str,
}

impl Annotation<'_> {
    /// The field path of this annotation, for a diagnostic.
    pub(crate) fn field(&self) -> String {
        format!("metadata.annotations[{}]", self.key)
    }
}

/// Looks up `weir.dev/NAME`, else `alb.ingress.kubernetes.io/NAME`.
pub(crate) fn lookup<'a>(ingress: &'a Ingress, name: &str) -> Option<Annotation<'a>> {
    debug_assert!(
        listed(name),
        "annotation {name:?} is read but not in annotations::NAMES (nor in docs/annotations.md)"
    );
    let annotations = ingress.metadata.annotations.as_ref()?;
    [WEIR_PREFIX, ALB_PREFIX].iter().find_map(|prefix| {
        let key = format!("{prefix}{name}");
        annotations.get(&key).map(|value| Annotation {
            value: value.trim(),
            key,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stack_setting_is_listed_and_stars_take_a_name() {
        for name in crate::alb_settings::SETTINGS {
            assert!(listed(name), "{name}");
        }
        assert!(listed("actions.forward-single"));
        assert!(!listed("actions."));
        assert!(!listed("group"));
    }
}
