//! The rule diff of one listener: never a window with a missing route, never a priority
//! collision.
//!
//! 1. Observed rules are matched to desired ones by conditions; a matched rule whose action
//!    differs is changed in place (`ModifyRule`).
//! 2. When every matched rule already sits at its priority and every new rule's priority is
//!    free, new rules are created there and unmatched ones deleted: no rule moves.
//! 3. Otherwise the layout switches priority band (`1..` <-> `BAND+1..`): new rules are created
//!    after every existing rule (so they shadow nothing), then one `SetRulePriorities` moves
//!    every rule to its place in the other band, in desired order, unmatched rules last; then
//!    the unmatched rules are deleted. No call ever targets an occupied priority (emulators
//!    reject swaps that AWS accepts atomically), so the moves are scheduled in rounds whose
//!    targets are all free; a clean state needs one round.

use std::collections::BTreeSet;

use crate::api::{ActionSpec, Call, Conditions, RuleInfo, Tags};
use crate::plan::step::{Ref, Slot, Step};

/// Offset of the second priority band.
pub const BAND: u32 = 10_000;

/// One desired rule with resolved references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRule {
    /// Priority from the rendering (1-based, dense).
    pub priority: u32,
    /// Conditions.
    pub conditions: Conditions,
    /// Action.
    pub action: ActionSpec<Ref>,
}

/// Whether an observed action already is the planned one.
pub fn action_matches(planned: &ActionSpec<Ref>, observed: &ActionSpec) -> bool {
    match (planned, observed) {
        (ActionSpec::Forward(Ref::Known(arn)), ActionSpec::Forward(observed)) => arn == observed,
        (ActionSpec::Fixed(status), ActionSpec::Fixed(observed)) => status == observed,
        (ActionSpec::RedirectHttps(port), ActionSpec::RedirectHttps(observed)) => port == observed,
        (ActionSpec::Weighted(planned), ActionSpec::Weighted(observed)) => {
            let mut planned: Vec<(&str, u32)> = planned
                .iter()
                .map(|(target, weight)| match target {
                    Ref::Known(arn) => Some((arn.as_str(), *weight)),
                    Ref::Created(_) => None,
                })
                .collect::<Option<_>>()
                .unwrap_or_default();
            let mut observed: Vec<(&str, u32)> = observed
                .iter()
                .map(|(arn, weight)| (arn.as_str(), *weight))
                .collect();
            planned.sort();
            observed.sort();
            !planned.is_empty() && planned == observed
        }
        (ActionSpec::Respond(fixed), ActionSpec::Respond(observed)) => fixed == observed,
        (ActionSpec::Redirect(redirect), ActionSpec::Redirect(observed)) => redirect == observed,
        _ => false,
    }
}

/// The steps that turn `observed` rules of the listener `listener` (on `port`) into `desired`.
pub fn plan_rules(
    listener: &Ref,
    port: u16,
    tags: &Tags,
    desired: &[PlannedRule],
    observed: &[RuleInfo],
) -> Vec<Step> {
    let mut steps = Vec::new();
    let matched = match_rules(desired, observed);
    let mut doomed: Vec<&RuleInfo> = observed
        .iter()
        .enumerate()
        .filter(|(index, _)| !matched.contains(&Some(*index)))
        .map(|(_, rule)| rule)
        .collect();
    doomed.sort_by_key(|rule| rule.priority);

    for (rule, observed_index) in desired.iter().zip(&matched) {
        if let Some(index) = observed_index {
            let current = &observed[*index];
            if !action_matches(&rule.action, &current.action) {
                steps.push(Call::ModifyRule {
                    rule: current.arn.clone(),
                    conditions: rule.conditions.clone(),
                    action: rule.action.clone(),
                });
            }
        }
    }

    let occupied: BTreeSet<u32> = observed.iter().map(|rule| rule.priority).collect();
    let in_place = [0, BAND].into_iter().find(|base| {
        desired
            .iter()
            .zip(&matched)
            .all(|(rule, index)| match index {
                Some(index) => observed[*index].priority == base + rule.priority,
                None => !occupied.contains(&(base + rule.priority)),
            })
    });
    let create = |rule: &PlannedRule, priority: u32| Call::CreateRule {
        listener: listener.clone(),
        port,
        priority,
        conditions: rule.conditions.clone(),
        action: rule.action.clone(),
        tags: tags.clone(),
    };

    if let Some(base) = in_place {
        for (rule, index) in desired.iter().zip(&matched) {
            if index.is_none() {
                steps.push(create(rule, base + rule.priority));
            }
        }
    } else {
        let base = match occupied.first() {
            Some(lowest) if *lowest <= BAND => BAND,
            _ => 0,
        };
        let highest = occupied.last().copied().unwrap_or(0);
        let count = u32::try_from(desired.len()).unwrap_or(u32::MAX);
        let doomed_end = base + count + u32::try_from(doomed.len()).unwrap_or(u32::MAX);
        let mut fresh = highest.max(doomed_end) + 1;
        let mut moves: Vec<(Ref, u32, u32)> = Vec::new();
        let mut now_occupied = occupied.clone();
        for (rule, index) in desired.iter().zip(&matched) {
            let target = base + rule.priority;
            match index {
                Some(index) => {
                    let current = &observed[*index];
                    moves.push((Ref::Known(current.arn.clone()), current.priority, target));
                }
                None if target > highest => {
                    steps.push(create(rule, target));
                    now_occupied.insert(target);
                }
                None => {
                    let temporary = fresh;
                    fresh += 1;
                    steps.push(create(rule, temporary));
                    now_occupied.insert(temporary);
                    moves.push((Ref::Created(Slot::Rule(port, temporary)), temporary, target));
                }
            }
        }
        for (offset, rule) in (1..).zip(&doomed) {
            moves.push((
                Ref::Known(rule.arn.clone()),
                rule.priority,
                base + count + offset,
            ));
        }
        for round in schedule(moves, now_occupied, fresh) {
            steps.push(Call::SetRulePriorities(round));
        }
    }

    for rule in doomed {
        steps.push(Call::DeleteRule(rule.arn.clone()));
    }
    steps
}

/// For each desired rule, the observed rule it keeps: same conditions, preferring one that also
/// has the same action.
fn match_rules(desired: &[PlannedRule], observed: &[RuleInfo]) -> Vec<Option<usize>> {
    let mut used = vec![false; observed.len()];
    let mut matched = Vec::with_capacity(desired.len());
    for rule in desired {
        let candidates = || {
            observed.iter().enumerate().filter(|(index, candidate)| {
                !used[*index] && candidate.conditions == rule.conditions
            })
        };
        let pick = candidates()
            .find(|(_, candidate)| action_matches(&rule.action, &candidate.action))
            .or_else(|| candidates().next())
            .map(|(index, _)| index);
        if let Some(index) = pick {
            used[index] = true;
        }
        matched.push(pick);
    }
    matched
}

/// Rounds of moves in which every target is free when the round starts; a cycle is broken by
/// parking one rule on a fresh priority.
fn schedule(
    moves: Vec<(Ref, u32, u32)>,
    mut occupied: BTreeSet<u32>,
    mut fresh: u32,
) -> Vec<Vec<(Ref, u32)>> {
    let mut pending: Vec<(Ref, u32, u32)> = moves
        .into_iter()
        .filter(|(_, current, target)| current != target)
        .collect();
    let mut rounds = Vec::new();
    while !pending.is_empty() {
        let (ready, blocked): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|(_, _, target)| !occupied.contains(target));
        pending = blocked;
        if ready.is_empty() {
            let (rule, current, target) = pending.remove(0);
            occupied.remove(&current);
            occupied.insert(fresh);
            rounds.push(vec![(rule.clone(), fresh)]);
            pending.push((rule, fresh, target));
            fresh += 1;
            continue;
        }
        for (_, current, target) in &ready {
            occupied.remove(current);
            occupied.insert(*target);
        }
        rounds.push(
            ready
                .into_iter()
                .map(|(rule, _, target)| (rule, target))
                .collect(),
        );
    }
    rounds
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
