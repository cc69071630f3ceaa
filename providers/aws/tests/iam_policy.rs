//! `deploy/eks/iam-policy.json` grants exactly the actions the provider calls: every
//! [`Op`] (each client call goes through one) maps to its IAM actions, subnet discovery adds
//! its one, and nothing else is granted.

use std::collections::BTreeSet;

use weir_provider_aws::Op;
use weir_provider_aws::discovery::DISCOVERY_IAM_ACTIONS;

#[test]
fn the_shipped_policy_grants_exactly_the_actions_the_code_calls() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/eks/iam-policy.json"
    );
    let text = std::fs::read_to_string(path).expect("the policy file exists");
    let policy: serde_json::Value = serde_json::from_str(&text).expect("the policy is JSON");
    assert_eq!(policy["Version"], "2012-10-17");
    let mut granted = BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        for action in statement["Action"].as_array().expect("action list") {
            let action = action.as_str().expect("action names are strings");
            assert!(granted.insert(action.to_owned()), "{action} listed twice");
        }
    }
    let called: BTreeSet<String> = Op::ALL
        .iter()
        .flat_map(|op| op.iam_actions())
        .chain(
            DISCOVERY_IAM_ACTIONS
                .iter()
                .map(|action| (*action).to_owned()),
        )
        .collect();
    let missing: Vec<_> = called.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&called).collect();
    assert!(missing.is_empty(), "the policy lacks {missing:?}");
    assert!(extra.is_empty(), "the policy grants unused {extra:?}");
}

#[test]
fn every_operation_is_listed_once() {
    let distinct: BTreeSet<Op> = Op::ALL.into_iter().collect();
    assert_eq!(distinct.len(), Op::ALL.len());
}
