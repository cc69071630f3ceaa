use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// A listener as the emulator holds it: rules by id, applied one assignment at a time.
#[derive(Clone, Debug)]
struct Sim {
    rules: BTreeMap<String, (u32, Conditions, ActionSpec)>,
    created: BTreeMap<Slot, String>,
    next: usize,
}

impl Sim {
    fn new(observed: &[RuleInfo]) -> Self {
        Self {
            rules: observed
                .iter()
                .map(|rule| {
                    (
                        rule.arn.clone(),
                        (rule.priority, rule.conditions.clone(), rule.action.clone()),
                    )
                })
                .collect(),
            created: BTreeMap::new(),
            next: 0,
        }
    }

    fn taken(&self, priority: u32) -> bool {
        self.rules.values().any(|(taken, _, _)| *taken == priority)
    }

    fn action(action: &ActionSpec<Ref>) -> ActionSpec {
        action
            .clone()
            .try_map(&mut |target| Ok::<_, ()>(target.to_string()))
            .expect("infallible")
    }

    fn apply(&mut self, step: &Step) {
        match step {
            Call::CreateRule {
                priority,
                conditions,
                action,
                port,
                ..
            } => {
                assert!(
                    !self.taken(*priority),
                    "create at taken priority {priority}"
                );
                assert!(*priority >= 1 && *priority <= 50_000);
                self.next += 1;
                let arn = format!("new-{}", self.next);
                self.created
                    .insert(Slot::Rule(*port, *priority), arn.clone());
                self.rules
                    .insert(arn, (*priority, conditions.clone(), Self::action(action)));
            }
            Call::SetRulePriorities(moves) => {
                for (_, target) in moves {
                    assert!(
                        !self.taken(*target),
                        "round targets taken priority {target}"
                    );
                }
                for (rule, target) in moves {
                    let arn = match rule {
                        Ref::Known(arn) => arn.clone(),
                        Ref::Created(slot) => self.created[slot].clone(),
                    };
                    assert!(!self.taken(*target), "move to taken priority {target}");
                    self.rules.get_mut(&arn).expect("moved rule exists").0 = *target;
                }
            }
            Call::ModifyRule {
                rule: arn, action, ..
            } => {
                self.rules.get_mut(arn).expect("modified rule exists").2 = Self::action(action);
            }
            Call::DeleteRule(arn) => {
                self.rules.remove(arn).expect("deleted rule exists");
            }
            other => panic!("unexpected step {other}"),
        }
    }

    fn ordered(&self) -> Vec<(Conditions, ActionSpec)> {
        let mut rules: Vec<_> = self.rules.values().cloned().collect();
        rules.sort_by_key(|(priority, _, _)| *priority);
        rules
            .into_iter()
            .map(|(_, conditions, action)| (conditions, action))
            .collect()
    }

    fn has(&self, conditions: &Conditions) -> bool {
        self.rules.values().any(|(_, held, _)| held == conditions)
    }
}

fn conditions(host: &str, path: &str) -> Conditions {
    Conditions {
        host: Some(host.to_owned()),
        paths: vec![path.to_owned()],
        ..Conditions::default()
    }
}

fn desired(rules: &[(&str, u16)]) -> Vec<PlannedRule> {
    (1..)
        .zip(rules)
        .map(|(priority, (path, status))| PlannedRule {
            priority,
            conditions: conditions("a.example.com", path),
            action: ActionSpec::Fixed(*status),
        })
        .collect()
}

fn observed(rules: &[(&str, u16, u32)]) -> Vec<RuleInfo> {
    rules
        .iter()
        .map(|(path, status, priority)| RuleInfo {
            arn: format!("arn:{path}@{priority}"),
            priority: *priority,
            conditions: conditions("a.example.com", path),
            action: ActionSpec::Fixed(*status),
        })
        .collect()
}

fn ops(steps: &[Step]) -> Vec<String> {
    steps.iter().map(|step| step.op().to_string()).collect()
}

/// Plans, simulates strictly, and checks the result and the no-missing-route invariant.
fn run(desired: &[PlannedRule], observed: &[RuleInfo]) -> Vec<Step> {
    let listener = Ref::Known("arn:listener".into());
    let steps = plan_rules(&listener, 80, &Tags::new(), desired, observed);
    let mut sim = Sim::new(observed);
    let kept: Vec<&Conditions> = desired
        .iter()
        .map(|rule| &rule.conditions)
        .filter(|held| sim.has(held))
        .collect();
    for step in &steps {
        sim.apply(step);
        for held in &kept {
            assert!(sim.has(held), "route {held} missing after {step}");
        }
    }
    let expected: Vec<(Conditions, ActionSpec)> = desired
        .iter()
        .map(|rule| (rule.conditions.clone(), Sim::action(&rule.action)))
        .collect();
    assert_eq!(sim.ordered(), expected);
    let again: Vec<RuleInfo> = sim
        .rules
        .iter()
        .map(|(arn, (priority, conditions, action))| RuleInfo {
            arn: arn.clone(),
            priority: *priority,
            conditions: conditions.clone(),
            action: action.clone(),
        })
        .collect();
    assert!(
        plan_rules(&listener, 80, &Tags::new(), desired, &again).is_empty(),
        "a second plan is empty"
    );
    steps
}

#[test]
fn unchanged_rules_need_no_call() {
    let steps = run(
        &desired(&[("/a", 200), ("/b", 201)]),
        &observed(&[("/a", 200, 1), ("/b", 201, 2)]),
    );
    assert!(steps.is_empty());
    let steps = run(
        &desired(&[("/a", 200), ("/b", 201)]),
        &observed(&[("/a", 200, BAND + 1), ("/b", 201, BAND + 2)]),
    );
    assert!(steps.is_empty());
}

#[test]
fn a_changed_action_is_modified_in_place() {
    let steps = run(
        &desired(&[("/a", 200), ("/b", 503)]),
        &observed(&[("/a", 200, 1), ("/b", 201, 2)]),
    );
    assert_eq!(ops(&steps), ["ModifyRule"]);
}

#[test]
fn appending_creates_in_place_and_removing_the_last_deletes_only() {
    let steps = run(
        &desired(&[("/a", 200), ("/b", 201), ("/c", 202)]),
        &observed(&[("/a", 200, 1), ("/b", 201, 2)]),
    );
    assert_eq!(ops(&steps), ["CreateRule"]);
    let steps = run(
        &desired(&[("/a", 200)]),
        &observed(&[("/a", 200, 1), ("/b", 201, 2)]),
    );
    assert_eq!(ops(&steps), ["DeleteRule"]);
}

#[test]
fn inserting_first_switches_band_in_one_move() {
    let steps = run(
        &desired(&[("/new", 200), ("/a", 200), ("/b", 201)]),
        &observed(&[("/a", 200, 1), ("/b", 201, 2)]),
    );
    assert_eq!(ops(&steps), ["CreateRule", "SetRulePriorities"]);
    let Call::CreateRule { priority, .. } = &steps[0] else {
        unreachable!()
    };
    assert_eq!(*priority, BAND + 1, "created after every existing rule");
}

#[test]
fn removing_a_middle_rule_moves_then_deletes() {
    let steps = run(
        &desired(&[("/a", 200), ("/c", 202)]),
        &observed(&[("/a", 200, 1), ("/b", 201, 2), ("/c", 202, 3)]),
    );
    assert_eq!(ops(&steps), ["SetRulePriorities", "DeleteRule"]);
}

#[test]
fn swapping_two_rules_never_targets_a_taken_priority() {
    let steps = run(
        &desired(&[("/b", 201), ("/a", 200)]),
        &observed(&[("/a", 200, 1), ("/b", 201, 2)]),
    );
    assert_eq!(ops(&steps), ["SetRulePriorities"]);
    let steps = run(
        &desired(&[("/b", 201), ("/a", 200)]),
        &observed(&[("/a", 200, BAND + 1), ("/b", 201, BAND + 2)]),
    );
    assert_eq!(ops(&steps), ["SetRulePriorities"]);
}

#[test]
fn moving_down_a_band_creates_new_rules_last_then_moves_them() {
    let steps = run(
        &desired(&[("/new", 200), ("/a", 200)]),
        &observed(&[("/a", 200, BAND + 1)]),
    );
    assert_eq!(ops(&steps), ["CreateRule", "SetRulePriorities"]);
    let Call::CreateRule { priority, .. } = &steps[0] else {
        unreachable!()
    };
    assert!(*priority > BAND + 1, "created after the existing rule");
}

#[test]
fn leftovers_of_an_interrupted_run_converge() {
    // Both bands half filled, duplicates of one rule, a stray rule.
    let steps = run(
        &desired(&[("/a", 200), ("/b", 201), ("/c", 202)]),
        &observed(&[
            ("/a", 200, 1),
            ("/b", 201, 2),
            ("/c", 202, BAND + 3),
            ("/a", 200, BAND + 1),
            ("/stray", 404, 3),
        ]),
    );
    assert!(ops(&steps).contains(&"DeleteRule".to_owned()));
}

fn arbitrary_case() -> impl Strategy<Value = (Vec<usize>, Vec<(usize, u32)>, Vec<u16>)> {
    let desired =
        proptest::sample::subsequence((0..8).collect::<Vec<usize>>(), 0..=8).prop_shuffle();
    let observed = proptest::collection::vec((0..10usize, 1..30u32), 0..10).prop_map(|rules| {
        let mut seen = BTreeSet::new();
        rules
            .into_iter()
            .map(|(path, slot)| (path, if slot > 15 { BAND + slot } else { slot }))
            .filter(|(_, priority)| seen.insert(*priority))
            .collect()
    });
    let statuses = proptest::collection::vec(200..203u16, 10);
    (desired, observed, statuses)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_state_converges_without_collisions_or_gaps(
        (wanted, held, statuses) in arbitrary_case()
    ) {
        let paths: Vec<String> = (0..10).map(|index| format!("/p{index}")).collect();
        let desired: Vec<PlannedRule> = (1..)
            .zip(&wanted)
            .map(|(priority, index)| PlannedRule {
                priority,
                conditions: conditions("a.example.com", &paths[*index]),
                action: ActionSpec::Fixed(statuses[*index]),
            })
            .collect();
        let observed: Vec<RuleInfo> = held
            .iter()
            .enumerate()
            .map(|(number, (index, priority))| RuleInfo {
                arn: format!("arn:{number}"),
                priority: *priority,
                conditions: conditions("a.example.com", &paths[*index]),
                action: ActionSpec::Fixed(200),
            })
            .collect();
        run(&desired, &observed);
    }
}
