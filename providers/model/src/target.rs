//! Target groups: the pod endpoints behind one Service port.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

/// The stable logical key of a target group: `namespace/service:port`, with the Service port
/// by number (a port named in the Ingress is resolved first).
///
/// Every route of a stack that reaches the same Service port shares one target group, whether
/// the Ingress names the port by number or by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetGroupKey {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub service: String,
    /// The Service port number.
    pub port: u16,
}

impl fmt::Display for TargetGroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.namespace, self.service, self.port)
    }
}

impl Serialize for TargetGroupKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The endpoints behind one Service port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetGroup {
    /// Endpoints sorted by address and port; each address appears once.
    pub targets: Vec<Target>,
}

impl TargetGroup {
    /// The targets that may receive new requests (ready and not terminating).
    pub fn ready_targets(&self) -> impl Iterator<Item = &Target> {
        self.targets
            .iter()
            .filter(|target| target.conditions.accepts_new_requests())
    }
}

/// One pod endpoint.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Target {
    /// The pod IP.
    pub ip: IpAddr,
    /// The container port (the Service's `targetPort` as resolved by the EndpointSlice).
    pub port: u16,
    /// The endpoint's conditions from its EndpointSlice.
    pub conditions: EndpointConditions,
    /// The zone the endpoint runs in, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

/// EndpointSlice conditions of one endpoint, with the API's defaults applied
/// (`ready` absent = true, `serving` absent = `ready`, `terminating` absent = false).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EndpointConditions {
    /// The endpoint is ready for traffic.
    pub ready: bool,
    /// The endpoint can serve traffic (may be true while terminating).
    pub serving: bool,
    /// The endpoint is shutting down.
    pub terminating: bool,
}

impl EndpointConditions {
    /// Whether new requests may be sent here: ready and not terminating.
    pub fn accepts_new_requests(self) -> bool {
        self.ready && !self.terminating
    }
}
