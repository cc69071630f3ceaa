//! Pure translation: Kubernetes Ingresses (and the IngressClasses, Services, EndpointSlices and
//! Secrets they reference) in, provider-neutral [`DesiredLoadBalancer`]s and [`Diagnostic`]s out.
//!
//! ```text
//! per Ingress:  membership() ─► Standing: Member { stack } | LeftOut | NotOurs
//!               (class selection, group.name / group.order)
//! per stack:    translate_stack(members) ─► hosts, paths, backends, TLS, listeners
//!                                                                   │
//!       StackTranslation { DesiredLoadBalancer, Vec<Diagnostic>, Reads } ◄┘
//! ```
//!
//! Gateway API objects (GatewayClass, Gateway, HTTPRoute) go through [`translate_gateways`]
//! into the same model, one stack per Gateway, with each route's status; the controller's
//! index translates one Gateway at a time with [`translate_gateway_stack`], which also says
//! each listener's status.
//!
//! The controller's index calls [`membership`] when an Ingress (or IngressClass) changes and
//! [`translate_stack`] for one affected stack at a time; the [`Reads`] it returns say which
//! Services, EndpointSlices and Secrets that stack depends on. [`translate`] does both over a
//! whole snapshot.
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
mod custom;
mod gateway;
mod gateway_api;
mod grouping;
mod hosts;
mod listeners;
mod paths;
mod precedence;
mod reads;
mod snapshot;
mod stack;
mod tls;

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::Ingress;
use weir_model::{Diagnostic, ObjectRef};

use crate::grouping::{Member, Placement};

pub use weir_model::{DesiredLoadBalancer, StackId};

pub use annotations::{ALB_PREFIX, KUBERNETES_KEYS, NAMES as ANNOTATION_NAMES, WEIR_PREFIX};
pub use config::{ClassSelection, ControllerKind, Stacking, TranslateConfig};
pub use gateway::{
    GatewayStackTranslation, GatewayTranslation, ListenerStatus, RouteCondition, RouteParentStatus,
    RouteStatus, gateway_is_ours, translate_gateway_stack, translate_gateways,
};
pub use gateway_api::{Gateway, GatewayClass, HttpRoute, ReferenceGrant};
pub use reads::Reads;
pub use snapshot::{ClusterSnapshot, GatewayApiObject, Kind, KubeObject, namespace_of, object_ref};

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

impl Translation {
    /// The stacks that have members, and every diagnostic (stackless ones first): what a
    /// provider is handed and what a user is told. Stacks without members are left out; the
    /// provider deletes whatever of its own they do not name.
    pub fn into_desired(self) -> (Vec<DesiredLoadBalancer>, Vec<Diagnostic>) {
        let mut diagnostics = self.diagnostics;
        let mut desired = Vec::new();
        for stack in self.stacks {
            diagnostics.extend(stack.diagnostics);
            desired.extend(stack.desired);
        }
        (desired, diagnostics)
    }
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
    /// The Services (with their EndpointSlices) and Secrets the translation looked up.
    pub reads: Reads,
}

/// An Ingress that was not selected, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredIngress {
    /// The Ingress.
    pub ingress: ObjectRef,
    /// Why it is not weir's to serve.
    pub reason: String,
}

/// How one Ingress stands with this controller, and what is wrong with how it says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// Where it goes.
    pub standing: Standing,
    /// Problems with its class or group annotations. For a member they are also part of its
    /// stack's [`StackTranslation::diagnostics`]; for an Ingress left out they are reported
    /// nowhere else.
    pub diagnostics: Vec<Diagnostic>,
}

/// Where one Ingress goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// It is ours and joins `stack`.
    Member {
        /// The stack it joins.
        stack: StackId,
        /// The class it was selected under.
        class: String,
        /// Its `group.order` (0 when unset or invalid).
        order: i64,
    },
    /// It is ours but joins no stack until fixed (an invalid `group.name`).
    LeftOut,
    /// It is not ours, for this reason (another class, no class).
    NotOurs(String),
}

impl Standing {
    /// The stack it joins, if any.
    pub fn stack(&self) -> Option<&StackId> {
        match self {
            Self::Member { stack, .. } => Some(stack),
            Self::LeftOut | Self::NotOurs(_) => None,
        }
    }
}

/// Decides where `ingress` goes, given the IngressClasses of `snapshot`.
pub fn membership(
    snapshot: &ClusterSnapshot,
    config: &TranslateConfig,
    ingress: &Ingress,
) -> Membership {
    let default_class = class::default_class(snapshot);
    let selected = match class::select_one(ingress, snapshot, config, default_class) {
        Ok(selected) => selected,
        Err(ignored) => {
            return Membership {
                standing: Standing::NotOurs(ignored.reason),
                diagnostics: Vec::new(),
            };
        }
    };
    match grouping::place(selected, config.stacking) {
        Placement::Stack(stack, member) => Membership {
            standing: Standing::Member {
                stack,
                class: member.selected.class,
                order: member.order,
            },
            diagnostics: member.selected.diagnostics,
        },
        Placement::LeftOut(diagnostics) => Membership {
            standing: Standing::LeftOut,
            diagnostics,
        },
    }
}

/// Translates one stack from candidate member Ingresses (in any order). Candidates that do not
/// belong to `stack` are skipped, so a caller may pass a superset. No candidates belonging:
/// `desired` is `None` (delete the stack).
pub fn translate_stack<'a>(
    snapshot: &ClusterSnapshot,
    config: &TranslateConfig,
    stack: &StackId,
    candidates: impl IntoIterator<Item = &'a Ingress>,
) -> StackTranslation {
    let default_class = class::default_class(snapshot);
    let mut members: Vec<Member<'a>> = candidates
        .into_iter()
        .filter_map(|ingress| class::select_one(ingress, snapshot, config, default_class).ok())
        .filter_map(
            |selected| match grouping::place(selected, config.stacking) {
                Placement::Stack(placed, member) if placed == *stack => Some(member),
                Placement::Stack(..) | Placement::LeftOut(_) => None,
            },
        )
        .collect();
    grouping::sort_members(&mut members);
    stack::translate_stack(stack.clone(), &members, snapshot, config.stacking)
}

/// Translates every Ingress of `snapshot` that `config` selects into stacks.
pub fn translate(snapshot: &ClusterSnapshot, config: &TranslateConfig) -> Translation {
    let default_class = class::default_class(snapshot);
    let mut stacks: BTreeMap<StackId, Vec<Member<'_>>> = BTreeMap::new();
    let mut translation = Translation::default();
    for ingress in snapshot.ingresses() {
        let selected = match class::select_one(ingress, snapshot, config, default_class) {
            Ok(selected) => selected,
            Err(ignored) => {
                translation.ignored.push(ignored);
                continue;
            }
        };
        match grouping::place(selected, config.stacking) {
            Placement::Stack(stack, member) => stacks.entry(stack).or_default().push(member),
            Placement::LeftOut(mut diagnostics) => {
                translation.diagnostics.append(&mut diagnostics);
            }
        }
    }
    translation.stacks = stacks
        .into_iter()
        .map(|(stack, mut members)| {
            grouping::sort_members(&mut members);
            stack::translate_stack(stack, &members, snapshot, config.stacking)
        })
        .collect();
    translation
}
