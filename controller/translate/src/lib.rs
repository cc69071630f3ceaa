//! Pure translation: Kubernetes Ingresses (and the IngressClasses, Services, EndpointSlices and
//! Secrets they reference) in, provider-neutral [`DesiredLoadBalancer`]s and [`Diagnostic`]s out.
//!
//! ```text
//! ClusterSnapshot ─► select by class ─► group into stacks ─► per stack: hosts, paths,
//!                    (IgnoredIngress)    (group.name/order)   backends, TLS, listeners
//!                                                                   │
//!                        StackTranslation { DesiredLoadBalancer, Vec<Diagnostic> } ◄┘
//! ```
//!
//! This crate does no I/O: no kube client, no tokio, no cloud SDK. Both the controller (from its
//! watch caches) and the proxy's file mode (from YAML) feed it the same [`ClusterSnapshot`], so
//! both providers route every request the same way. One bad rule, backend or certificate never
//! removes the good parts of its stack: it is dropped or degraded and reported.
#![warn(missing_docs)]

mod alb_settings;
mod annotations;
mod backends;
mod class;
mod config;
mod grouping;
mod hosts;
mod listeners;
mod paths;
mod snapshot;
mod stack;
mod tls;

use weir_model::{Diagnostic, ObjectRef};

pub use weir_model::{DesiredLoadBalancer, StackId};

pub use annotations::{ALB_PREFIX, WEIR_PREFIX};
pub use config::{ClassSelection, ControllerKind, Stacking, TranslateConfig};
pub use snapshot::{ClusterSnapshot, KubeObject, object_ref};

/// The result of translating a whole snapshot.
#[derive(Clone, Debug, Default)]
pub struct Translation {
    /// One entry per stack, ordered by stack id.
    pub stacks: Vec<StackTranslation>,
    /// Ingresses that are not weir's (another class), with the reason.
    pub ignored: Vec<IgnoredIngress>,
    /// Problems that belong to no stack (e.g. an Ingress with an invalid group name, which is
    /// left out of every stack until fixed).
    pub diagnostics: Vec<Diagnostic>,
}

/// The translation of one stack.
#[derive(Clone, Debug)]
pub struct StackTranslation {
    /// The stack.
    pub stack: StackId,
    /// The desired load balancer; `None` when the stack has no members left (delete it).
    pub desired: Option<DesiredLoadBalancer>,
    /// Everything found wrong in the stack's members.
    pub diagnostics: Vec<Diagnostic>,
}

/// An Ingress that was not selected, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredIngress {
    /// The Ingress.
    pub ingress: ObjectRef,
    /// Why it is not weir's to serve.
    pub reason: String,
}

/// Translates every Ingress of `snapshot` that `config` selects into stacks.
pub fn translate(snapshot: &ClusterSnapshot, config: &TranslateConfig) -> Translation {
    let selection = class::select(snapshot, config);
    let grouping = grouping::group(selection.selected, config);
    let diagnostics = grouping.diagnostics;
    let stacks = grouping
        .stacks
        .into_iter()
        .map(|(stack, members)| stack::translate_stack(stack, &members, snapshot, config.stacking))
        .collect();
    Translation {
        stacks,
        ignored: selection.ignored,
        diagnostics,
    }
}
