//! One parsed YAML document into the objects weir reads.

use serde::de::DeserializeOwned;
use serde_json::Value;
use weir_translate::{GatewayApiObject, KubeObject};

/// One object read from a document: a kind translation reads for Ingresses, or a Gateway API
/// kind.
#[derive(Debug)]
pub(crate) enum Parsed {
    Kube(KubeObject),
    GatewayApi(GatewayApiObject),
}

/// The Gateway API version weir reads.
const GATEWAY_API_V1: &str = "gateway.networking.k8s.io/v1";

/// The older Gateway API version ReferenceGrant is still served as (same schema as v1).
const GATEWAY_API_V1BETA1: &str = "gateway.networking.k8s.io/v1beta1";

/// The zone key of a v1beta1 EndpointSlice's `topology` map.
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// The objects in one document: none for an empty document or a kind weir does not read, several
/// for a `v1/List`. `Err((apiVersion/kind, message))` when a kind weir reads does not parse.
pub(crate) fn objects(value: Value) -> Result<Vec<Parsed>, (String, String)> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let label = format!("{api_version}/{kind}");
    let fail = |message: String| (label.clone(), message);
    if !value.is_object() {
        return Err(fail("a document must be a mapping".into()));
    }
    let object = match (api_version.as_str(), kind.as_str()) {
        ("networking.k8s.io/v1", "Ingress") => KubeObject::Ingress(parse(value).map_err(fail)?),
        ("networking.k8s.io/v1", "IngressClass") => {
            KubeObject::IngressClass(parse(value).map_err(fail)?)
        }
        ("v1", "Service") => KubeObject::Service(parse(value).map_err(fail)?),
        ("v1", "Secret") => KubeObject::Secret(parse(value).map_err(fail)?),
        ("discovery.k8s.io/v1", "EndpointSlice") => {
            KubeObject::EndpointSlice(parse(value).map_err(fail)?)
        }
        ("discovery.k8s.io/v1beta1", "EndpointSlice") => {
            KubeObject::EndpointSlice(parse(endpoint_slice_v1beta1_to_v1(value)).map_err(fail)?)
        }
        (GATEWAY_API_V1, "GatewayClass") => {
            return Ok(vec![Parsed::GatewayApi(GatewayApiObject::GatewayClass(
                parse(value).map_err(fail)?,
            ))]);
        }
        (GATEWAY_API_V1, "Gateway") => {
            return Ok(vec![Parsed::GatewayApi(GatewayApiObject::Gateway(
                parse(value).map_err(fail)?,
            ))]);
        }
        (GATEWAY_API_V1, "HTTPRoute") => {
            return Ok(vec![Parsed::GatewayApi(GatewayApiObject::HttpRoute(
                parse(value).map_err(fail)?,
            ))]);
        }
        (GATEWAY_API_V1 | GATEWAY_API_V1BETA1, "ReferenceGrant") => {
            return Ok(vec![Parsed::GatewayApi(GatewayApiObject::ReferenceGrant(
                parse(value).map_err(fail)?,
            ))]);
        }
        ("v1", "Namespace") => {
            return Ok(vec![Parsed::GatewayApi(GatewayApiObject::Namespace(
                parse(value).map_err(fail)?,
            ))]);
        }
        (_, "GatewayClass" | "Gateway" | "HTTPRoute" | "ReferenceGrant")
            if api_version.starts_with("gateway.networking.k8s.io/") =>
        {
            return Err(fail(format!(
                "{label} is not supported; use {GATEWAY_API_V1}"
            )));
        }
        ("v1", "List") => {
            let items = match value.get("items") {
                Some(Value::Array(items)) => items.clone(),
                _ => return Err(fail("items must be a list".into())),
            };
            let mut objects = Vec::new();
            for item in items {
                objects.extend(self::objects(item)?);
            }
            return Ok(objects);
        }
        (_, "Ingress" | "IngressClass" | "EndpointSlice") => {
            return Err(fail(format!(
                "{label} is not supported; use networking.k8s.io/v1 (Ingress, IngressClass) or discovery.k8s.io/v1 (EndpointSlice)"
            )));
        }
        _ => return Ok(Vec::new()),
    };
    Ok(vec![Parsed::Kube(object)])
}

fn parse<T: DeserializeOwned>(value: Value) -> Result<Box<T>, String> {
    serde_json::from_value(value)
        .map(Box::new)
        .map_err(|error| error.to_string())
}

/// Kubernetes 1.19/1.20 serve EndpointSlice only as `discovery.k8s.io/v1beta1`: the fields weir
/// reads are the same except `topology` (a map) instead of `zone`.
fn endpoint_slice_v1beta1_to_v1(mut value: Value) -> Value {
    value["apiVersion"] = Value::from("discovery.k8s.io/v1");
    if let Some(Value::Array(endpoints)) = value.get_mut("endpoints") {
        for endpoint in endpoints.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(topology) = endpoint.remove("topology") {
                if let Some(zone) = topology.get(ZONE_LABEL).cloned() {
                    endpoint.insert("zone".into(), zone);
                }
                endpoint.insert("deprecatedTopology".into(), topology);
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1beta1_endpoint_slices_keep_their_zone() {
        let value = serde_json::json!({
            "apiVersion": "discovery.k8s.io/v1beta1",
            "kind": "EndpointSlice",
            "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.1"], "topology": {ZONE_LABEL: "eu-west-1a"}}],
        });
        let objects = objects(value).unwrap();
        let [Parsed::Kube(KubeObject::EndpointSlice(slice))] = objects.as_slice() else {
            panic!("expected one EndpointSlice");
        };
        assert_eq!(slice.endpoints[0].zone.as_deref(), Some("eu-west-1a"));
    }

    #[test]
    fn other_kinds_are_skipped_but_old_ingress_versions_are_refused() {
        let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}});
        assert!(objects(deployment).unwrap().is_empty());
        let old = serde_json::json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "x"}});
        let (kind, message) = objects(old).err().unwrap();
        assert_eq!(kind, "extensions/v1beta1/Ingress");
        assert!(message.contains("networking.k8s.io/v1"), "{message}");
    }

    #[test]
    fn gateway_api_v1_kinds_are_read_and_older_versions_refused() {
        let route = serde_json::json!({"apiVersion": GATEWAY_API_V1, "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"parentRefs": [{"name": "gw", "sectionName": "http"}], "hostnames": ["a.com"],
                "rules": [{"matches": [{"path": {"type": "Exact", "value": "/x"}}],
                    "backendRefs": [{"name": "web", "port": 80, "weight": 3}]}]}});
        let parsed = objects(route).unwrap();
        let [Parsed::GatewayApi(GatewayApiObject::HttpRoute(route))] = parsed.as_slice() else {
            panic!("expected one HTTPRoute: {parsed:?}");
        };
        assert_eq!(
            route.spec.parent_refs[0].section_name.as_deref(),
            Some("http")
        );
        assert_eq!(route.spec.rules[0].backend_refs[0].weight, Some(3));
        let old = serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "HTTPRoute", "metadata": {"name": "x"}});
        let (kind, message) = objects(old).err().unwrap();
        assert_eq!(kind, "gateway.networking.k8s.io/v1beta1/HTTPRoute");
        assert!(message.contains(GATEWAY_API_V1), "{message}");
    }

    #[test]
    fn reference_grants_of_v1_and_v1beta1_and_namespaces_are_read() {
        for version in [GATEWAY_API_V1, GATEWAY_API_V1BETA1] {
            let grant = serde_json::json!({"apiVersion": version, "kind": "ReferenceGrant",
                "metadata": {"name": "g", "namespace": "backends"},
                "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "apps"}],
                    "to": [{"group": "", "kind": "Service"}]}});
            let parsed = objects(grant).unwrap();
            let [Parsed::GatewayApi(GatewayApiObject::ReferenceGrant(grant))] = parsed.as_slice()
            else {
                panic!("expected one ReferenceGrant: {parsed:?}");
            };
            assert_eq!(grant.spec.from[0].namespace, "apps");
            assert_eq!(grant.spec.to[0].name, None);
        }
        let namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "apps", "labels": {"team": "a"}}});
        let parsed = objects(namespace).unwrap();
        assert!(matches!(
            parsed.as_slice(),
            [Parsed::GatewayApi(GatewayApiObject::Namespace(_))]
        ));
        let old = serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1alpha2", "kind": "ReferenceGrant", "metadata": {"name": "x"}});
        assert!(objects(old).is_err());
    }

    #[test]
    fn lists_are_expanded() {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}},
        ]});
        assert_eq!(objects(list).unwrap().len(), 2);
    }
}
