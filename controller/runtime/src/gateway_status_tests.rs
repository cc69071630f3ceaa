//! The status weir writes to Gateways and HTTPRoutes, from plain translations.

use serde_json::{Value, json};
use weir_model::{LoadBalancerAddress, ObjectRef};
use weir_translate::{
    ClusterSnapshot, ControllerKind, GatewayApiObject, GatewayStackTranslation, HttpRoute,
    KubeObject, translate_gateway_stack,
};

use super::{Programmed, gateway_class_status, gateway_status, route_parents};

const NOW: &str = "2026-12-01T10:00:00Z";
const LATER: &str = "2026-12-01T11:00:00Z";

fn snapshot(route_status: Option<Value>) -> ClusterSnapshot {
    let mut snapshot = ClusterSnapshot::default();
    let objects = [
        json!({"kind": "GatewayClass", "metadata": {"name": "weir"},
               "spec": {"controllerName": "weir.dev/localproxy"}}),
        json!({"kind": "Gateway", "metadata": {"name": "front", "namespace": "shop", "generation": 3},
               "spec": {"gatewayClassName": "weir", "listeners": [
                   {"name": "http", "port": 80, "protocol": "HTTP"},
                   {"name": "tcp", "port": 9000, "protocol": "TCP"}]}}),
        json!({"kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "shop", "generation": 7},
               "spec": {"parentRefs": [{"name": "front"}],
                        "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]},
               "status": route_status}),
    ];
    for value in objects {
        let object = match value["kind"].as_str().unwrap() {
            "GatewayClass" => {
                GatewayApiObject::GatewayClass(serde_json::from_value(value).unwrap())
            }
            "Gateway" => GatewayApiObject::Gateway(serde_json::from_value(value).unwrap()),
            _ => GatewayApiObject::HttpRoute(serde_json::from_value(value).unwrap()),
        };
        snapshot.insert(KubeObject::GatewayApi(object));
    }
    snapshot
}

fn translation(snapshot: &ClusterSnapshot) -> GatewayStackTranslation {
    translate_gateway_stack(snapshot, ControllerKind::LocalProxy, "shop", "front").unwrap()
}

fn condition<'a>(conditions: &'a Value, type_: &str) -> &'a Value {
    conditions
        .as_array()
        .unwrap()
        .iter()
        .find(|condition| condition["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} in {conditions}"))
}

#[test]
fn a_programmed_gateway_has_its_addresses_conditions_and_listeners() {
    let snapshot = snapshot(None);
    let addresses = [
        LoadBalancerAddress::Ip("192.0.2.10".into()),
        LoadBalancerAddress::Hostname("lb.example.com".into()),
    ];
    let status = gateway_status(
        &translation(&snapshot),
        Some(3),
        &addresses,
        &Programmed::Yes,
        None,
        NOW,
    );
    assert_eq!(
        status["addresses"],
        json!([{"type": "IPAddress", "value": "192.0.2.10"},
               {"type": "Hostname", "value": "lb.example.com"}])
    );
    let programmed = condition(&status["conditions"], "Programmed");
    assert_eq!(programmed["status"], "True");
    assert_eq!(programmed["observedGeneration"], 3);
    assert_eq!(programmed["lastTransitionTime"], NOW);
    assert_eq!(
        condition(&status["conditions"], "Accepted")["status"],
        "True"
    );
    let http = &status["listeners"][0];
    assert_eq!(http["name"], "http");
    assert_eq!(http["attachedRoutes"], 1);
    assert_eq!(
        http["supportedKinds"],
        json!([{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}])
    );
    for type_ in ["Accepted", "ResolvedRefs", "Programmed"] {
        assert_eq!(
            condition(&http["conditions"], type_)["status"],
            "True",
            "{type_}"
        );
    }
    // A TCP listener is not served: not accepted, not programmed, nothing attached.
    let tcp = &status["listeners"][1];
    assert_eq!(tcp["attachedRoutes"], 0);
    let accepted = condition(&tcp["conditions"], "Accepted");
    assert_eq!(
        (&accepted["status"], &accepted["reason"]),
        (&json!("False"), &json!("UnsupportedProtocol"))
    );
    assert_eq!(
        condition(&tcp["conditions"], "Programmed")["status"],
        "False"
    );
}

#[test]
fn transition_times_are_kept_while_a_condition_holds_and_change_when_it_flips() {
    let snapshot = snapshot(None);
    let translation = translation(&snapshot);
    let no_address = Programmed::NoAddress("none yet".into());
    let first = gateway_status(&translation, Some(3), &[], &no_address, None, NOW);
    assert_eq!(
        condition(&first["conditions"], "Programmed")["reason"],
        "AddressNotAssigned"
    );
    // Unchanged an hour later: exactly what the server holds, so nothing is written.
    let again = gateway_status(&translation, Some(3), &[], &no_address, Some(&first), LATER);
    assert_eq!(again, first);
    let addresses = [LoadBalancerAddress::Ip("192.0.2.10".into())];
    let flipped = gateway_status(
        &translation,
        Some(3),
        &addresses,
        &Programmed::Yes,
        Some(&first),
        LATER,
    );
    assert_eq!(
        condition(&flipped["conditions"], "Programmed")["lastTransitionTime"],
        LATER
    );
    assert_eq!(
        condition(&flipped["conditions"], "Accepted")["lastTransitionTime"],
        NOW
    );
}

#[test]
fn a_provider_refusal_is_programmed_false_invalid() {
    let snapshot = snapshot(None);
    let invalid = Programmed::Invalid("too many rules".into());
    let status = gateway_status(&translation(&snapshot), Some(3), &[], &invalid, None, NOW);
    let programmed = condition(&status["conditions"], "Programmed");
    assert_eq!(
        (&programmed["status"], &programmed["reason"]),
        (&json!("False"), &json!("Invalid"))
    );
    assert_eq!(programmed["message"], "too many rules");
    assert_eq!(
        condition(&status["listeners"][0]["conditions"], "Programmed")["reason"],
        "Pending"
    );
}

fn route(snapshot: &ClusterSnapshot) -> HttpRoute {
    snapshot.http_route("shop", "web").unwrap().clone()
}

#[test]
fn route_parents_touch_only_our_entries_for_this_gateway() {
    let foreign = json!({
        "parentRef": {"name": "front", "namespace": "shop"},
        "controllerName": "example.com/other",
        "conditions": [{"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners",
                        "message": "", "observedGeneration": 7,
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    });
    let ours_elsewhere = json!({
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "back", "namespace": "shop"},
        "controllerName": "weir.dev/localproxy",
        "conditions": []
    });
    let stale_ours = json!({
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "front", "namespace": "shop"},
        "controllerName": "weir.dev/localproxy",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
                        "observedGeneration": 6, "lastTransitionTime": "2026-06-01T00:00:00Z"}]
    });
    let snapshot = snapshot(Some(
        json!({"parents": [foreign, stale_ours, ours_elsewhere]}),
    ));
    let translation = translation(&snapshot);
    let route = route(&snapshot);
    let gateway = ObjectRef::namespaced("Gateway", "shop", "front");
    let parents = route_parents(
        &translation.route_statuses[0],
        &route,
        &gateway,
        "weir.dev/localproxy",
        NOW,
    );
    assert_eq!(parents.len(), 3, "{parents:#?}");
    assert_eq!(parents[0], foreign);
    assert_eq!(parents[2], ours_elsewhere);
    let ours = &parents[1];
    assert_eq!(ours["controllerName"], "weir.dev/localproxy");
    assert_eq!(ours["parentRef"]["name"], "front");
    let accepted = condition(&ours["conditions"], "Accepted");
    assert_eq!(accepted["status"], "True");
    assert_eq!(accepted["observedGeneration"], 7);
    // Accepted held before: its transition time is kept; ResolvedRefs is new.
    assert_eq!(accepted["lastTransitionTime"], "2026-06-01T00:00:00Z");
    assert_eq!(
        condition(&ours["conditions"], "ResolvedRefs")["lastTransitionTime"],
        NOW
    );
}

#[test]
fn a_route_without_status_gets_our_entry() {
    let snapshot = snapshot(None);
    let translation = translation(&snapshot);
    let gateway = ObjectRef::namespaced("Gateway", "shop", "front");
    let parents = route_parents(
        &translation.route_statuses[0],
        &route(&snapshot),
        &gateway,
        "weir.dev/aws-alb",
        NOW,
    );
    assert_eq!(parents.len(), 1);
    assert_eq!(parents[0]["controllerName"], "weir.dev/aws-alb");
    assert_eq!(
        parents[0]["parentRef"],
        json!({"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "shop", "name": "front"})
    );
}

#[test]
fn a_route_that_left_a_gateway_loses_only_our_entry_for_it() {
    let ours = |gateway: &str| {
        json!({"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                             "namespace": "shop", "name": gateway},
               "controllerName": "weir.dev/localproxy", "conditions": []})
    };
    let foreign = json!({"parentRef": {"name": "front"}, "controllerName": "example.com/other",
                         "conditions": []});
    let snapshot = snapshot(Some(
        json!({"parents": [ours("front"), foreign, ours("back")]}),
    ));
    let route = route(&snapshot);
    let front = ObjectRef::namespaced("Gateway", "shop", "front");
    let kept = super::without_gateway(&route, &front, "weir.dev/localproxy").unwrap();
    assert_eq!(kept, vec![foreign.clone(), ours("back")]);
    // Nothing of ours for that Gateway: nothing to write.
    let elsewhere = ObjectRef::namespaced("Gateway", "shop", "elsewhere");
    assert!(super::without_gateway(&route, &elsewhere, "weir.dev/localproxy").is_none());
    assert!(super::without_gateway(&route, &front, "weir.dev/aws-alb").is_none());
}

/// GatewayClassObservedGenerationBump (Gateway API core conformance): the class's Accepted
/// condition names the generation it was computed from, and keeps its transition time while it
/// stays True.
#[test]
fn a_class_is_accepted_at_its_generation_and_keeps_its_transition_time() {
    let first = gateway_class_status(false, Some(1), None, NOW);
    let accepted = condition(&first["conditions"], "Accepted");
    assert_eq!(accepted["status"], "True");
    assert_eq!(accepted["reason"], "Accepted");
    assert_eq!(accepted["observedGeneration"], 1);
    assert_eq!(accepted["lastTransitionTime"], NOW);

    let bumped = gateway_class_status(false, Some(2), Some(&first), LATER);
    let accepted = condition(&bumped["conditions"], "Accepted");
    assert_eq!(accepted["observedGeneration"], 2);
    assert_eq!(accepted["lastTransitionTime"], NOW);
}

/// weir has no parameters kind: a class pointing at one is refused in its status, and the
/// condition's transition time moves when it flips.
#[test]
fn a_class_with_parameters_is_not_accepted() {
    let accepted = gateway_class_status(false, Some(1), None, NOW);
    let refused = gateway_class_status(true, Some(2), Some(&accepted), LATER);
    let condition = condition(&refused["conditions"], "Accepted");
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "InvalidParameters");
    assert_eq!(condition["lastTransitionTime"], LATER);
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .contains("parametersRef")
    );
}
