//! IngressClass selection: which Ingresses are weir's to serve.

use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use weir_model::{Diagnostic, ObjectRef, Reason};

use crate::{ClassSelection, ClusterSnapshot, IgnoredIngress, TranslateConfig, object_ref};

/// The legacy class annotation, deprecated since Kubernetes 1.18 but still common.
const LEGACY_CLASS_ANNOTATION: &str = crate::annotations::LEGACY_CLASS;
/// The annotation that marks the cluster's default IngressClass.
const DEFAULT_CLASS_ANNOTATION: &str = crate::annotations::DEFAULT_CLASS;

/// The class label of Ingresses selected by [`ClassSelection::Everything`]: they all form one
/// stack, whatever class they name.
const EVERY_CLASS: &str = "*";

/// An Ingress chosen for translation, with the class it was chosen under.
pub(crate) struct Selected<'a> {
    pub(crate) ingress: &'a Ingress,
    pub(crate) object: ObjectRef,
    /// The class name (`*` when selected by [`ClassSelection::Everything`]).
    pub(crate) class: String,
    /// What is wrong with how the Ingress names its class (reported only for selected Ingresses:
    /// weir never comments on another controller's objects).
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Decides whether one Ingress is ours; `default_class` is [`default_class`] of the snapshot.
pub(crate) fn select_one<'a>(
    ingress: &'a Ingress,
    snapshot: &ClusterSnapshot,
    config: &TranslateConfig,
    default_class: Option<&str>,
) -> Result<Selected<'a>, IgnoredIngress> {
    let object = object_ref(ingress);
    let mut diagnostics = Vec::new();
    let requested = requested_class(ingress, &object, &mut diagnostics);
    let class = requested.or(default_class);
    match verdict(class, snapshot, &config.classes) {
        Ok(class) => Ok(Selected {
            ingress,
            object,
            class,
            diagnostics,
        }),
        Err(reason) => Err(IgnoredIngress {
            ingress: object,
            reason,
        }),
    }
}

/// The class an Ingress asks for: `spec.ingressClassName`, else the legacy annotation. When
/// both are set and disagree, the field wins and the conflict is reported.
fn requested_class<'a>(
    ingress: &'a Ingress,
    object: &ObjectRef,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    let field = ingress
        .spec
        .as_ref()
        .and_then(|spec| spec.ingress_class_name.as_deref())
        .filter(|name| !name.is_empty());
    let annotation = ingress
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(LEGACY_CLASS_ANNOTATION))
        .map(|value| value.trim())
        .filter(|name| !name.is_empty());
    if let (Some(field), Some(annotation)) = (field, annotation)
        && field != annotation
    {
        diagnostics.push(Diagnostic::warning(
            object,
            format!("metadata.annotations[{LEGACY_CLASS_ANNOTATION}]"),
            Reason::ConflictingIngressClass,
            format!(
                "annotation names class {annotation:?} but spec.ingressClassName is {field:?}; using {field:?}"
            ),
        ));
    }
    field.or(annotation)
}

/// The cluster's default IngressClass, when exactly one is marked default.
pub(crate) fn default_class(snapshot: &ClusterSnapshot) -> Option<&str> {
    let mut defaults = snapshot.ingress_classes().filter(|class| is_default(class));
    let only = defaults.next()?;
    match defaults.next() {
        Some(_) => None,
        None => only.metadata.name.as_deref(),
    }
}

fn is_default(class: &IngressClass) -> bool {
    class
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(DEFAULT_CLASS_ANNOTATION))
        .is_some_and(|value| value.trim() == "true")
}

/// Whether an Ingress of `class` is selected: `Ok(class name)` or `Err(why not)`.
fn verdict(
    class: Option<&str>,
    snapshot: &ClusterSnapshot,
    selection: &ClassSelection,
) -> Result<String, String> {
    match selection {
        ClassSelection::Everything => Ok(EVERY_CLASS.to_owned()),
        ClassSelection::Named(wanted) => match class {
            Some(class) if class == wanted => Ok(class.to_owned()),
            Some(class) => Err(format!("class {class:?} is not {wanted:?}")),
            None => Err(format!(
                "no class and no default IngressClass; serving only {wanted:?}"
            )),
        },
        ClassSelection::Controller(kind) => {
            let Some(class) = class else {
                return Err("no class and no single default IngressClass".to_owned());
            };
            let Some(ingress_class) = snapshot.ingress_class(class) else {
                return Err(format!("IngressClass {class:?} not found"));
            };
            let controller = ingress_class
                .spec
                .as_ref()
                .and_then(|spec| spec.controller.as_deref())
                .unwrap_or_default();
            if controller == kind.controller_name() {
                Ok(class.to_owned())
            } else {
                Err(format!(
                    "IngressClass {class:?} belongs to controller {controller:?}"
                ))
            }
        }
    }
}
