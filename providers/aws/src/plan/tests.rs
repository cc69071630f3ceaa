use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use weir_model::{Protocol, StackId};

use super::*;
use crate::api::{
    Conditions, HealthCheck, ListenerInfo, LoadBalancerInfo, RuleInfo, TargetGroupInfo,
};
use crate::desired::{RuleSpec, TargetGroupSpec};
use crate::observe::observed::{ObservedListener, ObservedTargetGroup};

fn key(service: &str) -> TargetGroupKey {
    TargetGroupKey {
        namespace: "shop".into(),
        service: service.into(),
        port: 80,
    }
}

fn target(last: u8) -> TargetId {
    TargetId {
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
        port: 8080,
    }
}

fn owner() -> Owner {
    Owner::new("test", &StackId::Group("shop".into()))
}

fn spec() -> StackSpec {
    let owner = owner();
    let groups = ["web", "api"]
        .into_iter()
        .map(|service| {
            (
                key(service),
                TargetGroupSpec {
                    name: owner.target_group_name(&key(service)),
                    port: 80,
                    targets: [target(1), target(2)].into_iter().collect(),
                    health: HealthCheck {
                        path: Some("/healthz".into()),
                        ..HealthCheck::default()
                    },
                },
            )
        })
        .collect();
    StackSpec {
        load_balancer: Some(LoadBalancerSpec {
            name: owner.load_balancer_name(),
            scheme: "internet-facing".into(),
            subnets: vec!["subnet-1".into(), "subnet-2".into()],
            security_groups: Vec::new(),
        }),
        listeners: BTreeMap::from([(
            80,
            ListenerSpec {
                protocol: Protocol::Http,
                default: ActionRef::Fixed(404),
                routes: true,
                ssl_policy: None,
                certificates: Vec::new(),
                waits_for_certificate: false,
            },
        )]),
        rules: vec![
            RuleSpec {
                priority: 1,
                conditions: Conditions {
                    host: Some("shop.example.com".into()),
                    paths: vec!["/api".into(), "/api/*".into()],
                    ..Conditions::default()
                },
                listener_ports: Vec::new(),
                action: ActionRef::Forward(key("api")),
            },
            RuleSpec {
                priority: 2,
                conditions: Conditions {
                    host: Some("shop.example.com".into()),
                    paths: vec!["/*".into()],
                    ..Conditions::default()
                },
                listener_ports: Vec::new(),
                action: ActionRef::Forward(key("web")),
            },
        ],
        target_groups: groups,
        imports: BTreeMap::new(),
        diagnostics: Vec::new(),
        owner,
    }
}

/// The state a successful apply of `spec()` leaves behind.
fn converged() -> Observed {
    let spec = spec();
    let arn = |key: &TargetGroupKey| format!("arn:tg/{}", key.service);
    Observed {
        load_balancers: vec![LoadBalancerInfo {
            arn: "arn:lb".into(),
            name: spec.owner.load_balancer_name(),
            dns_name: "lb.example".into(),
            scheme: "internet-facing".into(),
            vpc_id: "vpc-1".into(),
            subnets: vec!["subnet-1".into(), "subnet-2".into()],
            security_groups: vec!["sg-default".into()],
        }],
        listeners: vec![ObservedListener {
            info: ListenerInfo {
                arn: "arn:listener/80".into(),
                port: 80,
                protocol: Protocol::Http,
                default_action: ActionSpec::Fixed(404),
                ssl_policy: None,
            },
            certificates: Vec::new(),
            rules: spec
                .rules
                .iter()
                .map(|rule| RuleInfo {
                    arn: format!("arn:rule/{}", rule.priority),
                    priority: rule.priority,
                    conditions: rule.conditions.clone(),
                    action: match &rule.action {
                        ActionRef::Forward(key) => ActionSpec::Forward(arn(key)),
                        _ => unreachable!(),
                    },
                })
                .collect(),
        }],
        target_groups: spec
            .target_groups
            .iter()
            .map(|(key, group)| ObservedTargetGroup {
                resource: target_group_resource(key),
                info: TargetGroupInfo {
                    arn: arn(key),
                    name: group.name.clone(),
                    port: 80,
                    health: HealthCheck {
                        path: Some("/healthz".into()),
                        interval_seconds: Some(15),
                        ..HealthCheck::default()
                    },
                },
                targets: group.targets.clone(),
            })
            .collect(),
        certificates: Vec::new(),
    }
}

fn ops(steps: &[Step]) -> Vec<String> {
    steps.iter().map(|step| step.op().to_string()).collect()
}

#[test]
fn from_scratch_creates_in_dependency_order() {
    let steps = plan(&spec(), &Observed::default()).unwrap();
    assert_eq!(
        ops(&steps),
        [
            "CreateLoadBalancer",
            "CreateTargetGroup",
            "RegisterTargets",
            "CreateTargetGroup",
            "RegisterTargets",
            "CreateListener",
            "CreateRule",
            "CreateRule",
        ]
    );
    let text: Vec<String> = steps.iter().map(ToString::to_string).collect();
    assert!(
        text[1].contains("vpc=<vpc of the new load balancer>"),
        "{}",
        text[1]
    );
    assert!(text[6].contains("<new listener :80> #1"), "{}", text[6]);
    assert!(
        text[6].contains("forward <new target group shop/api:80>"),
        "{}",
        text[6]
    );
}

#[test]
fn a_converged_stack_plans_nothing() {
    assert_eq!(plan(&spec(), &converged()).unwrap(), Vec::new());
}

#[test]
fn an_endpoint_change_touches_only_that_target_group() {
    let mut spec = spec();
    let web = spec.target_groups.get_mut(&key("web")).unwrap();
    web.targets = [target(2), target(3)].into_iter().collect();
    let steps = plan(&spec, &converged()).unwrap();
    assert_eq!(
        steps,
        [
            Call::RegisterTargets {
                target_group: Ref::Known("arn:tg/web".into()),
                targets: vec![target(3)],
            },
            Call::DeregisterTargets {
                target_group: Ref::Known("arn:tg/web".into()),
                targets: vec![target(1)],
            },
        ]
    );
}

#[test]
fn targets_go_in_batches_of_200() {
    let mut spec = spec();
    let web = spec.target_groups.get_mut(&key("web")).unwrap();
    web.targets = (0..450u16)
        .map(|index| TargetId {
            ip: IpAddr::V4(Ipv4Addr::new(
                10,
                1,
                (index / 250) as u8,
                (index % 250) as u8,
            )),
            port: 8080,
        })
        .collect::<BTreeSet<_>>();
    let steps = plan(&spec, &converged()).unwrap();
    let sizes: Vec<usize> = steps
        .iter()
        .map(|step| match step {
            Call::RegisterTargets { targets, .. } | Call::DeregisterTargets { targets, .. } => {
                targets.len()
            }
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(sizes, [200, 200, 50, 2]);
}

#[test]
fn a_removed_backend_is_deleted_after_the_rules_stop_using_it() {
    let mut spec = spec();
    spec.rules.remove(0);
    spec.rules[0].priority = 1;
    spec.target_groups.remove(&key("api"));
    let steps = plan(&spec, &converged()).unwrap();
    assert_eq!(
        ops(&steps),
        ["SetRulePriorities", "DeleteRule", "DeleteTargetGroup"]
    );
}

#[test]
fn an_empty_spec_deletes_everything_found() {
    let steps = plan(&StackSpec::empty(owner()), &converged()).unwrap();
    assert_eq!(
        ops(&steps),
        [
            "DeleteLoadBalancer",
            "DeleteTargetGroup",
            "DeleteTargetGroup"
        ]
    );
    assert!(
        plan(&StackSpec::empty(owner()), &Observed::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_duplicate_load_balancer_is_deleted_and_the_first_kept() {
    let mut observed = converged();
    let mut duplicate = observed.load_balancers[0].clone();
    duplicate.arn = "arn:lb-duplicate".into();
    observed.load_balancers.push(duplicate);
    let steps = plan(&spec(), &observed).unwrap();
    assert_eq!(steps, [Call::DeleteLoadBalancer("arn:lb-duplicate".into())]);
}

#[test]
fn a_scheme_change_is_refused() {
    let mut spec = spec();
    if let Some(lb) = spec.load_balancer.as_mut() {
        lb.scheme = "internal".into();
    }
    let error = plan(&spec, &converged()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidSpec);
}

#[test]
fn a_health_check_change_modifies_only_the_target_groups() {
    let mut spec = spec();
    for group in spec.target_groups.values_mut() {
        group.health.path = Some("/ready".into());
    }
    let steps = plan(&spec, &converged()).unwrap();
    assert_eq!(ops(&steps), ["ModifyTargetGroup", "ModifyTargetGroup"]);
    assert!(
        steps[0].to_string().contains("health-check[path=/ready]"),
        "{}",
        steps[0]
    );
}

fn waiting_https(spec: &mut StackSpec) {
    spec.listeners.insert(
        443,
        ListenerSpec {
            protocol: Protocol::Https,
            default: ActionRef::Fixed(404),
            routes: true,
            ssl_policy: Some("ELBSecurityPolicy-TLS13-1-2-2021-06".into()),
            certificates: Vec::new(),
            waits_for_certificate: true,
        },
    );
}

#[test]
fn an_https_listener_without_a_usable_certificate_waits_and_the_rest_applies() {
    let mut spec = spec();
    waiting_https(&mut spec);
    let steps = plan(&spec, &Observed::default()).unwrap();
    assert_eq!(
        ops(&steps),
        [
            "CreateLoadBalancer",
            "CreateTargetGroup",
            "RegisterTargets",
            "CreateTargetGroup",
            "RegisterTargets",
            "CreateListener",
            "CreateRule",
            "CreateRule",
        ],
        "only the HTTP listener and its rules"
    );
    assert!(
        steps.iter().all(|step| !step.to_string().contains(":443")),
        "{steps:#?}"
    );
}

#[test]
fn an_existing_https_listener_that_waits_keeps_its_certificates_and_follows_the_rules() {
    let mut spec = spec();
    waiting_https(&mut spec);
    let mut observed = converged();
    let mut https = observed.listeners[0].clone();
    https.info.arn = "arn:listener/443".into();
    https.info.port = 443;
    https.info.protocol = Protocol::Https;
    https.info.ssl_policy = Some("ELBSecurityPolicy-2016-08".into());
    https.certificates = vec![
        ("arn:cert/old".into(), true),
        ("arn:cert/sni".into(), false),
    ];
    https.rules.pop();
    observed.listeners.push(https);
    let steps = plan(&spec, &observed).unwrap();
    assert_eq!(ops(&steps), ["CreateRule"], "{steps:#?}");
    assert!(
        steps[0].to_string().contains("arn:listener/443"),
        "{}",
        steps[0]
    );
}
