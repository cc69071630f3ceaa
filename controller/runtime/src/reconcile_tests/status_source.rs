//! Reconciles whose status addresses come from a [`StatusSource`] (the local proxies' Service
//! or Nodes) instead of the provider.

use serde_json::json;
use weir_model::LoadBalancerAddress;
use weir_translate::KubeObject;

use super::harness::*;
use crate::status_source::{SourcedStatus, StatusSource};

const PROXY_IP: &str = "172.18.0.2";
const NO_SERVICE: &str = "Service weir-system/weir-proxy (--status-service) does not exist";

#[tokio::test]
async fn the_sources_addresses_replace_the_providers_and_none_is_one_warning_per_member() {
    within(async {
        let web = with_finalizer(&ingress("web", "7", json!({})), "8");
        let mut served = web.clone();
        merge(
            &mut served,
            json!({"metadata": {"resourceVersion": "9"},
                   "status": {"loadBalancer": {"ingress": [{"ip": PROXY_IP}]}}}),
        );
        let mut emptied = served.clone();
        merge(
            &mut emptied,
            json!({"metadata": {"resourceVersion": "10"},
                   "status": {"loadBalancer": {"ingress": []}}}),
        );
        let mut test = Test::new(
            &[Outcome::Address(HOSTNAME)],
            true,
            vec![
                // Unknown: no status write, but the stack is in sync.
                Step::event(event("web", "Normal", "Synced", synced_note("shop/web", 1))),
                // The Nodes' address, not the provider's host name.
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": [{"ip": PROXY_IP}]}}}),
                    served.clone(),
                ),
                // Missing: one Warning naming the cause, and the address is taken back.
                Step::event(event(
                    "web",
                    "Warning",
                    "NoStatusAddress",
                    json!(NO_SERVICE),
                )),
                Step::patch(
                    &format!("{INGRESSES}/web/status?"),
                    json!({"status": {"loadBalancer": {"ingress": []}}}),
                    emptied.clone(),
                ),
            ],
        );
        let (sender, source) = StatusSource::channel();
        test.reconciler.status_source = Some(source);
        test.apply(class());
        test.apply(service("web"));
        test.apply(KubeObject::Ingress(Box::new(object(web))));

        test.reconciler.reconcile(&lone("web")).await;
        sender.send(SourcedStatus::Addresses(vec![LoadBalancerAddress::Ip(
            PROXY_IP.into(),
        )]));
        test.reconciler.reconcile(&lone("web")).await;
        test.apply(KubeObject::Ingress(Box::new(object(served))));
        sender.send(SourcedStatus::Missing(NO_SERVICE.into()));
        test.reconciler.reconcile(&lone("web")).await;
        test.apply(KubeObject::Ingress(Box::new(object(emptied))));
        // The same cause again: nothing new to say or write.
        let requeue = test.reconciler.reconcile(&lone("web")).await;

        assert_resync(requeue, &test.reconciler);
        let finished = test.finish().await;
        assert_eq!(
            finished.log,
            [
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                "ensure shop/web [shop/web]".to_owned(),
                format!("PATCH {INGRESSES}/web/status?"),
                "ensure shop/web [shop/web]".to_owned(),
                format!("POST {EVENTS}?"),
                format!("PATCH {INGRESSES}/web/status?"),
                "ensure shop/web [shop/web]".to_owned(),
            ]
        );
        assert!(
            !finished
                .bodies
                .iter()
                .any(|body| body.to_string().contains(HOSTNAME)),
            "the provider's address was written"
        );
    })
    .await;
}
