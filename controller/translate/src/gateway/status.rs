//! Route status computed by translation: what Gateway API's `HTTPRoute.status.parents[]` says,
//! as plain data the controller can write back and `plan` prints.

use std::fmt;

use serde::Serialize;
use weir_model::ObjectRef;

/// The status of one HTTPRoute towards each Gateway it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteStatus {
    /// The HTTPRoute.
    pub route: ObjectRef,
    /// One entry per parentRef that names a Gateway of ours, in parentRef order.
    pub parents: Vec<RouteParentStatus>,
}

/// `HTTPRoute.status.parents[]`: the route's standing with one parentRef.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteParentStatus {
    /// The Gateway.
    pub gateway: ObjectRef,
    /// The parentRef's `sectionName`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    /// `Accepted` and `ResolvedRefs`, in that order.
    pub conditions: Vec<RouteCondition>,
}

/// One status condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteCondition {
    /// `Accepted` or `ResolvedRefs`.
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// Whether the condition holds.
    pub status: bool,
    /// The Gateway API reason, e.g. `NotAllowedByListeners` or `BackendNotFound`.
    pub reason: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

impl RouteCondition {
    pub(crate) fn new(
        type_: &'static str,
        status: bool,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for RouteCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.status { "True" } else { "False" };
        write!(f, "{}={status} ({})", self.type_, self.reason)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}
