//! Stacks: which Ingresses share a load balancer, and in what order.

use weir_model::{Diagnostic, Reason, StackId};

use crate::Stacking;
use crate::annotations;
use crate::class::Selected;

/// The smallest and largest accepted `group.order`.
const ORDER_RANGE: std::ops::RangeInclusive<i64> = -1000..=1000;

/// One member of a stack, with its position key.
pub(crate) struct Member<'a> {
    pub(crate) selected: Selected<'a>,
    pub(crate) order: i64,
}

/// Where a selected Ingress goes.
pub(crate) enum Placement<'a> {
    /// Into this stack (its group-order problems are in the member's diagnostics).
    Stack(StackId, Member<'a>),
    /// Into no stack until fixed, for the reasons given.
    LeftOut(Vec<Diagnostic>),
}

/// Assigns a selected Ingress to its stack. An Ingress with an invalid `group.name` joins no
/// stack: moving it to a stack of its own would tear down and rebuild its load balancer over a
/// typo.
pub(crate) fn place(mut selected: Selected<'_>, stacking: Stacking) -> Placement<'_> {
    let mut found = Vec::new();
    let stack = match stacking {
        Stacking::PerClass => StackId::Class(selected.class.clone()),
        Stacking::PerGroup => match group_name(&selected, &mut found) {
            Ok(Some(name)) => StackId::Group(name),
            Ok(None) => StackId::Ingress {
                namespace: selected.object.namespace.clone().unwrap_or_default(),
                name: selected.object.name.clone(),
            },
            Err(()) => {
                selected.diagnostics.append(&mut found);
                return Placement::LeftOut(selected.diagnostics);
            }
        },
    };
    let order = group_order(&selected, &mut found);
    selected.diagnostics.append(&mut found);
    Placement::Stack(stack, Member { selected, order })
}

/// Sorts a stack's members into group order: `group.order`, then namespace/name.
pub(crate) fn sort_members(members: &mut [Member<'_>]) {
    members.sort_by(|a, b| (a.order, &a.selected.object).cmp(&(b.order, &b.selected.object)));
}

/// The `group.name` annotation: `Ok(None)` when absent, `Err` (reported) when invalid.
fn group_name(
    selected: &Selected<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<String>, ()> {
    let Some(annotation) = annotations::lookup(selected.ingress, "group.name") else {
        return Ok(None);
    };
    let name = annotation.value;
    let valid = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        return Ok(Some(name.to_owned()));
    }
    diagnostics.push(Diagnostic::error(
        &selected.object,
        annotation.field(),
        Reason::InvalidField,
        format!(
            "group name {name:?} is invalid (1-63 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit); the Ingress is left out until it is fixed"
        ),
    ));
    Err(())
}

/// The `group.order` annotation, 0 when absent or invalid (reported).
fn group_order(selected: &Selected<'_>, diagnostics: &mut Vec<Diagnostic>) -> i64 {
    let Some(annotation) = annotations::lookup(selected.ingress, "group.order") else {
        return 0;
    };
    match annotation.value.parse::<i64>() {
        Ok(order) if ORDER_RANGE.contains(&order) => order,
        _ => {
            diagnostics.push(Diagnostic::warning(
                &selected.object,
                annotation.field(),
                Reason::InvalidField,
                format!(
                    "group order {:?} is not an integer from -1000 to 1000; using 0",
                    annotation.value
                ),
            ));
            0
        }
    }
}
