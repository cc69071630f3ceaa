//! weir's annotations: `weir.dev/NAME`, with `alb.ingress.kubernetes.io/NAME` accepted as an
//! alias for users migrating from the AWS Load Balancer Controller.

use k8s_openapi::api::networking::v1::Ingress;

/// The prefix of weir's own annotations.
pub const WEIR_PREFIX: &str = "weir.dev/";
/// The prefix of the AWS Load Balancer Controller's annotations, read as aliases.
pub const ALB_PREFIX: &str = "alb.ingress.kubernetes.io/";

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
    let annotations = ingress.metadata.annotations.as_ref()?;
    [WEIR_PREFIX, ALB_PREFIX].iter().find_map(|prefix| {
        let key = format!("{prefix}{name}");
        annotations.get(&key).map(|value| Annotation {
            value: value.trim(),
            key,
        })
    })
}
