//! What a translation is asked to select and how it groups.

/// Which weir controller is translating; it decides which IngressClasses are ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControllerKind {
    /// The in-cluster proxy fleet: IngressClass controller `weir.dev/localproxy`.
    LocalProxy,
    /// AWS Application Load Balancers: IngressClass controller `weir.dev/aws-alb`.
    AwsAlb,
}

impl ControllerKind {
    /// The `spec.controller` value of an IngressClass this controller serves.
    pub fn controller_name(self) -> &'static str {
        match self {
            Self::LocalProxy => "weir.dev/localproxy",
            Self::AwsAlb => "weir.dev/aws-alb",
        }
    }
}

/// Which Ingresses a translation serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassSelection {
    /// Kubernetes semantics: an Ingress is ours when its class (`spec.ingressClassName`, the
    /// legacy `kubernetes.io/ingress.class` annotation, or the default IngressClass) is an
    /// IngressClass whose `spec.controller` is this controller's.
    Controller(ControllerKind),
    /// Only Ingresses whose class name is exactly this (no IngressClass object needed).
    Named(String),
    /// Every Ingress, whatever its class: the proxy's file mode. With [`Stacking::PerClass`]
    /// they all form the one stack `class:*`.
    Everything,
}

/// How selected Ingresses form stacks (load balancers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stacking {
    /// One stack per Ingress, or per `group.name` annotation: one ALB each.
    PerGroup,
    /// All selected Ingresses of a class merged into one stack: one proxy fleet per class.
    PerClass,
}

/// The inputs of a translation besides the objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranslateConfig {
    /// Which Ingresses to serve.
    pub classes: ClassSelection,
    /// How to group them.
    pub stacking: Stacking,
}

impl TranslateConfig {
    /// The configuration a controller of `kind` runs with.
    pub fn for_controller(kind: ControllerKind) -> Self {
        let stacking = match kind {
            ControllerKind::LocalProxy => Stacking::PerClass,
            ControllerKind::AwsAlb => Stacking::PerGroup,
        };
        Self {
            classes: ClassSelection::Controller(kind),
            stacking,
        }
    }
}
