//! One reconcile against a scripted API server: each test lists the exact requests the
//! reconciler must make (method, path with query, JSON body), in order, interleaved with the
//! provider calls, and fails on a missing request (the script waits for it and times out or
//! finds the client gone), an unexpected one (the server finds no step for it) or a different
//! one.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use weir_index::FINALIZER;
use weir_model::{ErrorKind, StackId};
use weir_translate::KubeObject;

use crate::locking::lock;

#[path = "reconcile_tests/harness.rs"]
mod harness;

use harness::*;

#[path = "reconcile_tests/status_source.rs"]
mod status_source;

#[path = "reconcile_tests/gateway.rs"]
mod gateway;

// ---------------------------------------------------------------------------------------------
// The scenarios.

#[tokio::test]
async fn a_new_member_gets_the_finalizer_before_the_provider_then_its_status_and_one_event() {
    within(async {
        let web = ingress("web", "7", json!({}));
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{INGRESSES}/web?"),
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                    with_finalizer(&web, "8"),
                ),
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}}),
                    with_status(&with_finalizer(&web, "8"), "9"),
                ),
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_resync(requeue, &test.reconciler);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                format!("PATCH {INGRESSES}/web?"),
                "ensure shop/web [shop/web]".to_owned(),
                format!("PATCH {INGRESSES}/web/status?"),
                format!("POST {EVENTS}?"),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_reconcile_of_an_unchanged_stack_calls_the_provider_and_writes_nothing() {
    within(async {
        let web = ingress("web", "7", json!({}));
        let after_status = with_status(&with_finalizer(&web, "8"), "9");
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{INGRESSES}/web?"),
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                    with_finalizer(&web, "8"),
                ),
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}}),
                    after_status.clone(),
                ),
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        test.reconciler.reconcile(&lone("web")).await;
        // The watch brings weir's own writes back: the index must not requeue for them.
        let affected = test.apply(KubeObject::Ingress(Box::new(object(after_status))));
        assert!(affected.is_empty(), "{affected:?}");
        let first = test.log();

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_resync(requeue, &test.reconciler);
        let log = test.finish().await.log;
        assert_eq!(log[..first.len()], first[..]);
        assert_eq!(
            log[first.len()..],
            ["ensure shop/web [shop/web]".to_owned()]
        );
    })
    .await;
}

#[tokio::test]
async fn a_translation_diagnostic_is_one_warning_event_on_its_ingress_and_is_not_repeated() {
    within(async {
        // The Service `gone` does not exist; the Ingress already holds the finalizer and status.
        let web = with_status(
            &with_finalizer(&ingress_to("web", "gone", "7", json!({})), "8"),
            "9",
        );
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::event(event("web", "Warning", "ServiceNotFound", Value::Null)),
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
            ],
        );
        test.apply(class());
        test.apply(KubeObject::Ingress(Box::new(object(web))));

        test.reconciler.reconcile(&lone("web")).await;
        test.reconciler.reconcile(&lone("web")).await;

        let finished = test.finish().await;
        assert_eq!(
            finished.log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
        let warning = &finished.bodies[0];
        assert_eq!(
            warning["action"], "spec.rules[0].http.paths[0].backend.service.name",
            "{warning}"
        );
        let note = warning["note"].as_str().unwrap_or_default();
        assert!(
            note.starts_with("spec.rules[0].http.paths[0].backend.service.name: ")
                && note.contains("shop/gone"),
            "{note}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_provider_error_is_one_warning_on_each_member_and_a_requeue_and_is_not_repeated() {
    within(async {
        let group = |name: &str| {
            with_status(
                &with_finalizer(
                    &ingress(
                        name,
                        "7",
                        json!({"metadata": {"annotations": {
                            "weir.dev/group.name": "shop"
                        }}}),
                    ),
                    "8",
                ),
                "9",
            )
        };
        let note = "stack group:shop: throttled: Rate exceeded";
        let test = Test::new(
            &[Outcome::Fail(ErrorKind::Throttled, "Rate exceeded")],
            true,
            vec![
                Step::event(event("cart", "Warning", "throttled", json!(note))),
                Step::event(event("web", "Warning", "throttled", json!(note))),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(service("cart"));
        test.apply(KubeObject::Ingress(Box::new(object(group("web")))));
        test.apply(KubeObject::Ingress(Box::new(object(group("cart")))));
        let stack = StackId::Group("shop".into());

        let first = test.reconciler.reconcile(&stack).await;
        let second = test.reconciler.reconcile(&stack).await;

        let expected = ErrorKind::Throttled.requeue_after();
        assert_eq!(first, expected);
        assert_eq!(second, expected);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure group:shop [shop/cart shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("POST {EVENTS}?"),
                "ensure group:shop [shop/cart shop/web]".to_owned(),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_last_member_deletes_the_stack_then_lets_go_of_the_finalizer() {
    within(async {
        let web = ingress(
            "web",
            "12",
            json!({"metadata": {
                "finalizers": ["example.com/other", FINALIZER],
                "deletionTimestamp": "2026-12-01T10:00:00Z",
            }}),
        );
        let mut released = web.clone();
        released["metadata"]["finalizers"] = json!(["example.com/other"]);
        released["metadata"]["resourceVersion"] = json!("13");
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step::patch(
                &format!("{INGRESSES}/web?"),
                json!({"metadata": {"finalizers": ["example.com/other"], "resourceVersion": "12"}}),
                released,
            )],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        assert_eq!(lock(&test.reconciler.index).stacks(), [lone("web")]);

        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "delete shop/web".to_owned(),
                format!("PATCH {INGRESSES}/web?")
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_standby_neither_writes_nor_calls_the_provider() {
    within(async {
        let test = Test::new(&[Outcome::Address(HOSTNAME)], false, Vec::new());
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(ingress(
            "web",
            "7",
            json!({}),
        )))));
        let gone = ingress(
            "old",
            "3",
            json!({"metadata": {
                "finalizers": [FINALIZER], "deletionTimestamp": "2026-12-01T10:00:00Z",
            }}),
        );
        test.apply(KubeObject::Ingress(Box::new(object(gone))));

        assert_eq!(test.reconciler.reconcile(&lone("web")).await, None);
        assert_eq!(test.reconciler.reconcile(&lone("old")).await, None);

        let log = test.finish().await.log;
        assert!(log.is_empty(), "{log:?}");
    })
    .await;
}

#[tokio::test]
async fn a_conflict_on_the_finalizer_patch_stops_before_the_provider_and_retries_soon() {
    within(async {
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{INGRESSES}/web?"),
                    json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                    Value::Null,
                )
                .answered_with(409, "Conflict"),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(ingress(
            "web",
            "7",
            json!({}),
        )))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, Some(super::KUBE_RETRY));
        let log = test.finish().await.log;
        assert_eq!(log, [format!("PATCH {INGRESSES}/web?")]);
    })
    .await;
}

#[tokio::test]
async fn a_member_deleted_from_a_group_is_released_after_the_group_is_applied_without_it() {
    within(async {
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::event(event(
                    "cart",
                    "Normal",
                    "Synced",
                    synced_note("group:shop", 2),
                )),
                Step::event(event(
                    "web",
                    "Normal",
                    "Synced",
                    synced_note("group:shop", 2),
                )),
                // The model changed (one member fewer): a new Synced Event, saying so.
                Step::event(event(
                    "web",
                    "Normal",
                    "Synced",
                    synced_note("group:shop", 1),
                )),
                Step::patch(
                    &format!("{INGRESSES}/cart?"),
                    json!({"metadata": {"finalizers": [], "resourceVersion": "10"}}),
                    grouped("cart"),
                ),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(service("cart"));
        test.apply(KubeObject::Ingress(Box::new(object(grouped("web")))));
        test.apply(KubeObject::Ingress(Box::new(object(grouped("cart")))));
        let stack = StackId::Group("shop".into());
        test.reconciler.reconcile(&stack).await;
        let mut deleted = grouped("cart");
        merge(
            &mut deleted,
            json!({"metadata": {
                "resourceVersion": "10", "deletionTimestamp": "2026-12-01T10:00:00Z",
            }}),
        );
        let affected = test.apply(KubeObject::Ingress(Box::new(object(deleted))));
        assert_eq!(affected, BTreeSet::from([stack.clone()]));

        test.reconciler.reconcile(&stack).await;

        let finished = test.finish().await;
        assert_eq!(
            finished.log,
            [
                "ensure group:shop [shop/cart shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("POST {EVENTS}?"),
                "ensure group:shop [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("PATCH {INGRESSES}/cart?"),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_different_provider_error_of_the_same_kind_is_a_new_event_with_its_own_message() {
    within(async {
        let test = Test::new(
            &[
                Outcome::Fail(ErrorKind::Permanent, "AccessDenied: CreateLoadBalancer"),
                Outcome::Fail(ErrorKind::Permanent, "AccessDenied: CreateTargetGroup"),
            ],
            true,
            vec![
                Step::event(event(
                    "web",
                    "Warning",
                    "permanent",
                    json!("stack shop/web: permanent: AccessDenied: CreateLoadBalancer"),
                )),
                Step::event(event(
                    "web",
                    "Warning",
                    "permanent",
                    json!("stack shop/web: permanent: AccessDenied: CreateTargetGroup"),
                )),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(with_status(
            &with_finalizer(&ingress("web", "7", json!({})), "8"),
            "9",
        )))));

        test.reconciler.reconcile(&lone("web")).await;
        test.reconciler.reconcile(&lone("web")).await;
        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_message_again_extends_the_series_of_its_event() {
    within(async {
        let web = with_status(&with_finalizer(&ingress("web", "7", json!({})), "8"), "9");
        let mut again = event("web", "Normal", "Synced", synced_note("shop/web", 1));
        again["series"] = json!({"count": 2});
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
                Step::series("web", again),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        test.reconciler.reconcile(&lone("web")).await;
        // A new setting changes the model, not the message.
        let internal = json!({"metadata": {"annotations": {"weir.dev/scheme": "internal"}}});
        let changed = with_status(&with_finalizer(&ingress("web", "10", internal), "11"), "12");
        let affected = test.apply(KubeObject::Ingress(Box::new(object(changed))));
        assert_eq!(affected, BTreeSet::from([lone("web")]));

        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(log.len(), 4, "{log:?}");
        assert!(
            log[3].starts_with(&format!("PATCH {EVENTS}/web.")),
            "{log:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_leader_that_loses_the_lease_during_ensure_publishes_no_event_and_writes_no_status() {
    within(async {
        // A new Ingress (the finalizer goes on while leading) with a missing Service: after
        // `ensure` there would be a Warning, a status and a Synced Event to write.
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step::patch(
                &format!("{INGRESSES}/web?"),
                json!({"metadata": {"finalizers": [FINALIZER], "resourceVersion": "7"}}),
                with_finalizer(&ingress_to("web", "gone", "7", json!({})), "8"),
            )],
        );
        test.lose_the_lease_during_ensure();
        test.apply(class());
        test.apply(KubeObject::Ingress(Box::new(object(ingress_to(
            "web",
            "gone",
            "7",
            json!({}),
        )))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, None);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                format!("PATCH {INGRESSES}/web?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_leader_that_loses_the_lease_during_a_failed_ensure_publishes_no_warning() {
    within(async {
        let test = Test::new(
            &[Outcome::Fail(ErrorKind::Throttled, "Rate exceeded")],
            true,
            Vec::new(),
        );
        test.lose_the_lease_during_ensure();
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(with_status(
            &with_finalizer(&ingress("web", "7", json!({})), "8"),
            "9",
        )))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, None);
        let log = test.finish().await.log;
        assert_eq!(log, ["ensure shop/web [shop/web]".to_owned()]);
    })
    .await;
}

#[tokio::test]
async fn a_leader_that_loses_the_lease_during_the_status_write_publishes_no_synced_event() {
    within(async {
        let web = with_finalizer(&ingress("web", "7", json!({})), "8");
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}}),
                    with_status(&web, "9"),
                )
                .then_lose_the_lease(),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_eq!(requeue, None);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("PATCH {INGRESSES}/web/status?"),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn what_the_provider_left_out_is_one_warning_and_the_rest_gets_its_status() {
    within(async {
        let web = with_finalizer(&ingress("web", "7", json!({})), "8");
        let mut warning = event("web", "Warning", "CertificateUnusable", Value::Null);
        warning["action"] = json!(CERTIFICATE_FIELD);
        let test = Test::new(
            &[Outcome::LeftOut(HOSTNAME, "web")],
            true,
            vec![
                Step::event(warning),
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": HOSTNAME}]}}}),
                    with_status(&web, "9"),
                ),
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web.clone()))));
        test.reconciler.reconcile(&lone("web")).await;
        test.apply(KubeObject::Ingress(Box::new(object(with_status(
            &web, "9",
        )))));

        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_resync(requeue, &test.reconciler);
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("PATCH {INGRESSES}/web/status?"),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn an_ingress_moved_to_another_controllers_class_is_cleaned_up_then_released() {
    within(async {
        let web = with_status(&with_finalizer(&ingress("web", "7", json!({})), "8"), "9");
        let mut moved = web.clone();
        merge(
            &mut moved,
            json!({"metadata": {"resourceVersion": "10"}, "spec": {"ingressClassName": "nginx"}}),
        );
        let mut released = moved.clone();
        merge(
            &mut released,
            json!({"metadata": {"resourceVersion": "11", "finalizers": []}}),
        );
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step::patch(
                &format!("{INGRESSES}/web?"),
                json!({"metadata": {"finalizers": [], "resourceVersion": "10"}}),
                released,
            )],
        );
        test.apply(class());
        test.apply(KubeObject::IngressClass(Box::new(object(json!({
            "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}
        })))));
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        let affected = test.apply(KubeObject::Ingress(Box::new(object(moved))));
        assert_eq!(affected, BTreeSet::from([lone("web")]));

        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "delete shop/web".to_owned(),
                format!("PATCH {INGRESSES}/web?")
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn the_first_pass_releases_what_left_while_no_weir_was_watching_once_it_is_complete() {
    within(async {
        // `old` holds the finalizer but was moved to another class while weir was down: it is
        // let go only after every stack of the pass (here `web` and `api`) has been reconciled.
        let old = with_finalizer(
            &ingress("old", "3", json!({"spec": {"ingressClassName": "nginx"}})),
            "4",
        );
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
                Step::event(event("api", "Normal", "Synced", synced_note("shop/api", 1))),
                Step::patch(
                    &format!("{INGRESSES}/old?"),
                    json!({"metadata": {"finalizers": [], "resourceVersion": "4"}}),
                    old.clone(),
                ),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(service("api"));
        for name in ["web", "api"] {
            let ingress = with_status(&with_finalizer(&ingress(name, "7", json!({})), "8"), "9");
            test.apply(KubeObject::Ingress(Box::new(object(ingress))));
        }
        test.apply(KubeObject::Ingress(Box::new(object(old))));
        test.reconciler
            .begin_sweep(BTreeSet::from([lone("web"), lone("api")]))
            .await;

        test.reconciler.reconcile(&lone("web")).await;
        let before = test.log();
        test.reconciler.reconcile(&lone("api")).await;

        assert_eq!(before.last(), Some(&format!("POST {EVENTS}?")));
        let log = test.finish().await.log;
        assert_eq!(
            log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                "ensure shop/api [shop/api]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("PATCH {INGRESSES}/old?"),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn after_a_recovery_the_stack_says_synced_again_and_the_same_error_is_reported_again() {
    within(async {
        let synced = || event("web", "Normal", "Synced", synced_note("shop/web", 1));
        let throttled = || {
            let note = json!("stack shop/web: throttled: Rate exceeded");
            event("web", "Warning", "throttled", note)
        };
        // The same message again: kube's Recorder counts it into the first Event's series.
        let again = |mut event: Value| {
            event["series"] = json!({"count": 2});
            event
        };
        let test = Test::new(
            &[
                Outcome::Address(HOSTNAME),
                Outcome::Fail(ErrorKind::Throttled, "Rate exceeded"),
                Outcome::Address(HOSTNAME),
                Outcome::Fail(ErrorKind::Throttled, "Rate exceeded"),
            ],
            true,
            vec![
                Step::event(synced()),
                Step::event(throttled()),
                Step::series("web", again(synced())),
                Step::series("web", again(throttled())),
            ],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(with_status(
            &with_finalizer(&ingress("web", "7", json!({})), "8"),
            "9",
        )))));

        let mut requeues = Vec::new();
        for _ in 0..4 {
            requeues.push(test.reconciler.reconcile(&lone("web")).await);
        }

        assert_resync(requeues[0], &test.reconciler);
        assert_eq!(requeues[1], ErrorKind::Throttled.requeue_after());
        assert_resync(requeues[2], &test.reconciler);
        assert_eq!(requeues[3], ErrorKind::Throttled.requeue_after());
        let log = test.finish().await.log;
        let ensure = "ensure shop/web [shop/web]";
        let kinds: Vec<&str> = log
            .iter()
            .map(|line| match line.as_str() {
                line if line == ensure => "ensure",
                line if line == format!("POST {EVENTS}?") => "post",
                line if line.starts_with(&format!("PATCH {EVENTS}/web.")) => "series",
                _ => line,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "ensure", "post", "ensure", "post", "ensure", "series", "ensure", "series"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn an_empty_first_pass_releases_what_left_while_no_weir_was_watching_at_once() {
    within(async {
        // Nothing of weir's is left anywhere (no stack in the index, none in the provider), but
        // `old` still holds the finalizer from before it moved away: nothing else will release it.
        let old = with_finalizer(
            &ingress("old", "3", json!({"spec": {"ingressClassName": "nginx"}})),
            "4",
        );
        let test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![Step::patch(
                &format!("{INGRESSES}/old?"),
                json!({"metadata": {"finalizers": [], "resourceVersion": "4"}}),
                old.clone(),
            )],
        );
        test.apply(class());
        test.apply(KubeObject::Ingress(Box::new(object(old))));
        assert!(lock(&test.reconciler.index).stacks().is_empty());

        test.reconciler.begin_sweep(BTreeSet::new()).await;

        let log = test.finish().await.log;
        assert_eq!(log, [format!("PATCH {INGRESSES}/old?")]);
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_change_alone_publishes_no_synced_event() {
    within(async {
        let web = with_status(&with_finalizer(&ingress("web", "7", json!({})), "8"), "9");
        let test = Test::new(
            &[Outcome::Address(HOSTNAME), Outcome::Address(HOSTNAME)],
            true,
            vec![Step::event(event(
                "web",
                "Normal",
                "Synced",
                synced_note("shop/web", 1),
            ))],
        );
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));
        test.reconciler.reconcile(&lone("web")).await;
        let affected = test.apply(slice("web-1", "web", "10.0.0.1"));
        assert_eq!(affected, BTreeSet::from([lone("web")]));

        test.reconciler.reconcile(&lone("web")).await;

        let log = test.finish().await.log;
        assert_eq!(log.len(), 3, "ensure, Synced, ensure: {log:?}");
    })
    .await;
}
