//! Kubernetes label selectors (`matchLabels`, `matchExpressions`) over a Namespace's labels,
//! for a listener's `allowedRoutes.namespaces.selector`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `labels` satisfy `selector`: every `matchLabels` pair and every expression
/// (`In`, `NotIn`, `Exists`, `DoesNotExist`). An empty selector selects everything. `Err`
/// names an expression with an unknown operator or values that do not fit it.
pub(crate) fn selects(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    let labels_hold = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    let mut expressions_hold = true;
    for (index, expression) in selector.match_expressions.iter().flatten().enumerate() {
        let values = expression.values.as_deref().unwrap_or_default();
        let value = labels.get(&expression.key);
        let holds = match (expression.operator.as_str(), values.is_empty()) {
            ("In", false) => value.is_some_and(|value| values.contains(value)),
            ("NotIn", false) => value.is_none_or(|value| !values.contains(value)),
            ("Exists", true) => value.is_some(),
            ("DoesNotExist", true) => value.is_none(),
            (operator @ ("In" | "NotIn"), true) => {
                return Err(format!(
                    "matchExpressions[{index}]: {operator} needs values"
                ));
            }
            (operator @ ("Exists" | "DoesNotExist"), false) => {
                return Err(format!(
                    "matchExpressions[{index}]: {operator} takes no values"
                ));
            }
            (operator, _) => {
                return Err(format!(
                    "matchExpressions[{index}]: operator {operator:?} is not In, NotIn, Exists or DoesNotExist"
                ));
            }
        };
        expressions_hold &= holds;
    }
    Ok(labels_hold && expressions_hold)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).into()).collect()),
        }
    }

    #[test]
    fn match_labels_and_expressions_must_all_hold() {
        let backend = labels(&[("gateway-conformance", "backend"), ("tier", "web")]);
        let infra = labels(&[("gateway-conformance", "infra")]);
        let by_label = LabelSelector {
            match_labels: Some(labels(&[("gateway-conformance", "backend")])),
            match_expressions: None,
        };
        assert_eq!(selects(&by_label, &backend), Ok(true));
        assert_eq!(selects(&by_label, &infra), Ok(false));
        assert_eq!(selects(&LabelSelector::default(), &infra), Ok(true));
        let cases = [
            (expression("tier", "In", &["web", "api"]), true, false),
            (expression("tier", "NotIn", &["web"]), false, true),
            (expression("tier", "Exists", &[]), true, false),
            (expression("tier", "DoesNotExist", &[]), false, true),
        ];
        for (requirement, on_backend, on_infra) in cases {
            let selector = LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![requirement.clone()]),
            };
            assert_eq!(
                selects(&selector, &backend),
                Ok(on_backend),
                "{requirement:?}"
            );
            assert_eq!(selects(&selector, &infra), Ok(on_infra), "{requirement:?}");
        }
        for bad in [
            expression("tier", "In", &[]),
            expression("tier", "Exists", &["x"]),
            expression("tier", "Gt", &["1"]),
        ] {
            let selector = LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![bad]),
            };
            assert!(selects(&selector, &backend).is_err());
        }
    }
}
