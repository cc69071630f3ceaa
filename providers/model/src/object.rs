//! Names of Kubernetes objects and of the stacks built from them.

use std::fmt;

use serde::{Serialize, Serializer};

/// A reference to one Kubernetes object, used to attribute rules and diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// The object's kind, such as `Ingress` or `Service`.
    pub kind: String,
    /// The namespace; `None` for cluster-scoped kinds such as `IngressClass`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
}

impl ObjectRef {
    /// A namespaced object.
    pub fn namespaced(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// A cluster-scoped object.
    pub fn cluster(kind: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: None,
            name: name.to_owned(),
        }
    }
}

impl ObjectRef {
    /// `namespace/name`, or just `name` for a cluster-scoped object.
    pub fn namespaced_name(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{namespace}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.namespaced_name())
    }
}

/// The identity of one load balancer: a lone Ingress, or a named IngressGroup of several.
///
/// Displayed (and serialized) as `namespace/name` for a lone Ingress, `group:name` for a group
/// and `class:name` for a merged class; a namespace can never contain `:`, so the forms never
/// collide.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StackId {
    /// An Ingress without a group annotation is its own stack.
    Ingress {
        /// The Ingress's namespace.
        namespace: String,
        /// The Ingress's name.
        name: String,
    },
    /// Ingresses sharing a `weir.dev/group.name` annotation form one stack.
    Group(String),
    /// Every selected Ingress of a class merged into one stack: how the local proxy fleet
    /// serves a class (one address for all hosts, like ingress-nginx). `*` names the stack of
    /// "every Ingress, whatever its class" (the proxy's file mode).
    Class(String),
    /// A Gateway API Gateway and the HTTPRoutes attached to it: one load balancer per Gateway.
    Gateway {
        /// The Gateway's namespace.
        namespace: String,
        /// The Gateway's name.
        name: String,
    },
}

impl fmt::Display for StackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ingress { namespace, name } => write!(f, "{namespace}/{name}"),
            Self::Group(name) => write!(f, "group:{name}"),
            Self::Class(name) => write!(f, "class:{name}"),
            Self::Gateway { namespace, name } => write!(f, "gateway:{namespace}/{name}"),
        }
    }
}

impl std::str::FromStr for StackId {
    type Err = String;

    /// Parses the [`Display`](fmt::Display) form back: `group:NAME`, `class:NAME`,
    /// `gateway:NAMESPACE/NAME` or `NAMESPACE/NAME`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let non_empty = |name: &str| (!name.is_empty()).then(|| name.to_owned());
        let namespaced = |text: &str| {
            text.split_once('/')
                .filter(|(namespace, name)| {
                    !namespace.is_empty() && !name.is_empty() && !name.contains('/')
                })
                .map(|(namespace, name)| (namespace.to_owned(), name.to_owned()))
        };
        let parsed = if let Some(name) = text.strip_prefix("group:") {
            non_empty(name).map(Self::Group)
        } else if let Some(name) = text.strip_prefix("class:") {
            non_empty(name).map(Self::Class)
        } else if let Some(rest) = text.strip_prefix("gateway:") {
            namespaced(rest).map(|(namespace, name)| Self::Gateway { namespace, name })
        } else {
            namespaced(text).map(|(namespace, name)| Self::Ingress { namespace, name })
        };
        parsed.ok_or_else(|| {
            format!(
                "{text:?} is not a stack id (NAMESPACE/NAME, group:NAME, class:NAME or gateway:NAMESPACE/NAME)"
            )
        })
    }
}

impl Serialize for StackId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_ids_of_groups_and_ingresses_never_collide() {
        let ingress = StackId::Ingress {
            namespace: "group".into(),
            name: "shop".into(),
        };
        let group = StackId::Group("shop".into());
        assert_eq!(ingress.to_string(), "group/shop");
        assert_eq!(group.to_string(), "group:shop");
        assert_ne!(ingress.to_string(), group.to_string());
    }

    #[test]
    fn stack_ids_parse_back_from_their_display_form() {
        for stack in [
            StackId::Ingress {
                namespace: "shop".into(),
                name: "web".into(),
            },
            StackId::Group("shop".into()),
            StackId::Class("*".into()),
            StackId::Gateway {
                namespace: "infra".into(),
                name: "edge".into(),
            },
        ] {
            assert_eq!(stack.to_string().parse::<StackId>(), Ok(stack));
        }
        for bad in [
            "",
            "web",
            "group:",
            "/web",
            "shop/",
            "a/b/c",
            "gateway:edge",
        ] {
            assert!(bad.parse::<StackId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn object_refs_display_kind_namespace_and_name() {
        assert_eq!(
            ObjectRef::namespaced("Ingress", "default", "web").to_string(),
            "Ingress default/web"
        );
        assert_eq!(
            ObjectRef::cluster("IngressClass", "weir").to_string(),
            "IngressClass weir"
        );
    }
}
