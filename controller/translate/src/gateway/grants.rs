//! ReferenceGrant: whether an object of one namespace may refer to an object of another.
//! Gateway API permits a cross-namespace reference only when a ReferenceGrant in the target's
//! namespace names the referrer (group, kind, namespace) in `from` and the target (group,
//! kind, and its name or no name) in `to`.

use crate::reads::RecordingSnapshot;

/// The object that refers: its API group (`""` for core), kind and namespace.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Referrer<'r> {
    pub(crate) group: &'r str,
    pub(crate) kind: &'r str,
    pub(crate) namespace: &'r str,
}

/// The object referred to: its API group (`""` for core), kind, namespace and name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Referent<'r> {
    pub(crate) group: &'r str,
    pub(crate) kind: &'r str,
    pub(crate) namespace: &'r str,
    pub(crate) name: &'r str,
}

/// Whether `from` may refer to `to`: always within one namespace, else only through a
/// ReferenceGrant of `to`'s namespace (recorded as read, so a new grant requeues the stack).
pub(crate) fn permitted(
    snapshot: &RecordingSnapshot<'_>,
    from: Referrer<'_>,
    to: Referent<'_>,
) -> bool {
    if from.namespace == to.namespace {
        return true;
    }
    snapshot.reference_grants(to.namespace).any(|grant| {
        let from_listed = grant.spec.from.iter().any(|entry| {
            entry.group == from.group
                && entry.kind == from.kind
                && entry.namespace == from.namespace
        });
        let to_listed = grant.spec.to.iter().any(|entry| {
            entry.group == to.group
                && entry.kind == to.kind
                && entry
                    .name
                    .as_deref()
                    .is_none_or(|name| name.is_empty() || name == to.name)
        });
        from_listed && to_listed
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClusterSnapshot;
    use crate::gateway_api::{
        ReferenceGrant, ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo,
    };
    use crate::snapshot::GatewayApiObject;

    fn grant(
        namespace: &str,
        from: (&str, &str, &str),
        to: (&str, &str, Option<&str>),
    ) -> GatewayApiObject {
        let mut grant = ReferenceGrant::default();
        grant.metadata.namespace = Some(namespace.into());
        grant.metadata.name = Some(format!("g{}", from.1));
        grant.spec = ReferenceGrantSpec {
            from: vec![ReferenceGrantFrom {
                group: from.0.into(),
                kind: from.1.into(),
                namespace: from.2.into(),
            }],
            to: vec![ReferenceGrantTo {
                group: to.0.into(),
                kind: to.1.into(),
                name: to.2.map(Into::into),
            }],
        };
        GatewayApiObject::ReferenceGrant(Box::new(grant))
    }

    const ROUTE: Referrer<'static> = Referrer {
        group: "gateway.networking.k8s.io",
        kind: "HTTPRoute",
        namespace: "apps",
    };

    fn service(name: &str) -> Referent<'_> {
        Referent {
            group: "",
            kind: "Service",
            namespace: "backends",
            name,
        }
    }

    #[test]
    fn a_grant_permits_only_what_both_its_sides_name() {
        let mut snapshot = ClusterSnapshot::default();
        let empty = RecordingSnapshot::new(&snapshot);
        assert!(permitted(
            &empty,
            ROUTE,
            Referent {
                namespace: "apps",
                ..service("web")
            }
        ));
        assert!(!permitted(&empty, ROUTE, service("web")));
        snapshot.insert_gateway_api(grant(
            "backends",
            ("gateway.networking.k8s.io", "HTTPRoute", "apps"),
            ("", "Service", Some("web")),
        ));
        snapshot.insert_gateway_api(grant(
            "backends",
            ("gateway.networking.k8s.io", "Gateway", "apps"),
            ("", "Secret", None),
        ));
        let recording = RecordingSnapshot::new(&snapshot);
        assert!(permitted(&recording, ROUTE, service("web")));
        assert!(!permitted(&recording, ROUTE, service("other")), "to.name");
        assert!(!permitted(
            &recording,
            Referrer {
                namespace: "else",
                ..ROUTE
            },
            service("web")
        ));
        assert!(!permitted(
            &recording,
            Referrer {
                kind: "GRPCRoute",
                ..ROUTE
            },
            service("web")
        ));
        let secret = Referent {
            kind: "Secret",
            ..service("any")
        };
        assert!(
            !permitted(&recording, ROUTE, secret),
            "the Secret grant is for Gateways"
        );
        assert!(
            permitted(
                &recording,
                Referrer {
                    kind: "Gateway",
                    ..ROUTE
                },
                secret
            ),
            "no name: every Secret"
        );
        assert!(
            recording
                .into_reads()
                .reference_grant_namespaces
                .contains("backends")
        );
    }
}
