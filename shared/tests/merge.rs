//! Convergence (Principles 2–4): replicas of one dossier that append events
//! independently — valid or not, from the holder or from anyone, at random
//! times, including malformed entries and reused ids — and then merge in
//! any order end with the same heads, the same log (nothing lost) and the
//! same derived state; the fold is deterministic.
//!
//! `PROPTEST_CASES=1000 cargo test -p lienthong-shared --test merge` runs
//! more cases than the default 64.

mod support;

use std::collections::BTreeMap;

use automerge::{Automerge, ScalarValue};
use chrono::{DateTime, TimeDelta, Utc};
use lienthong_shared::OfficeId;
use lienthong_shared::dossier::fold::{self, DossierState};
use lienthong_shared::dossier::{Action, ActionKind, Event, EventId, StoredEvent};
use lienthong_shared::rule_set::RuleSets;
use proptest::prelude::*;

use support::*;

/// Offices events come from or point to: the origin, the offices on the
/// usual route, and outsiders.
const POOL: [&str; 6] = [COMMUNE, DISTRICT, LAND, POLICE, SIBLING, CONSTRUCTION];

/// Who appends an event, resolved against the replica's current state.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// `POOL[i]`.
    Pool(usize),
    Holder,
    /// The office a transfer is addressed to (else the holder).
    Recipient,
    /// The office the result goes to (else the origin).
    ReturnOffice,
    /// The office of an open consultation (else the holder).
    Consulted,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => (0..POOL.len()).prop_map(Who::Pool),
        3 => Just(Who::Holder),
        1 => Just(Who::Recipient),
        1 => Just(Who::ReturnOffice),
        1 => Just(Who::Consulted),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    /// An event of any known kind, often not allowed.
    Any {
        kind: usize,
        by: Who,
        payload: u16,
        minutes: i64,
    },
    /// One of the actions `by` may take now: mostly applied (its payload
    /// may still make it a conflict).
    Allowed {
        by: Who,
        pick: usize,
        payload: u16,
        minutes: i64,
    },
    /// A raw entry this version cannot read or apply.
    Malformed { variant: usize, minutes: i64 },
    /// An event reusing the id of one this replica appended before.
    ReusedId {
        pick: usize,
        payload: u16,
        minutes: i64,
    },
}

/// Minutes from the previous event: mostly forward, sometimes back.
fn minutes() -> impl Strategy<Value = i64> {
    prop_oneof![9 => 0i64..2_400, 1 => -600i64..0]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..ActionKind::KNOWN.len(), who(), any::<u16>(), minutes())
            .prop_map(|(kind, by, payload, minutes)| Op::Any { kind, by, payload, minutes }),
        6 => (who(), any::<usize>(), any::<u16>(), minutes())
            .prop_map(|(by, pick, payload, minutes)| Op::Allowed { by, pick, payload, minutes }),
        1 => (0..5usize, minutes()).prop_map(|(variant, minutes)| Op::Malformed { variant, minutes }),
        1 => (any::<usize>(), any::<u16>(), minutes())
            .prop_map(|(pick, payload, minutes)| Op::ReusedId { pick, payload, minutes }),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    same_day: bool,
    extend: bool,
    /// Events common to every replica, before they fork.
    prefix: Vec<Op>,
    /// Each replica's own events (2 or 3 replicas).
    replicas: Vec<Vec<Op>>,
    /// Merges `(into, from)`: every ordered pair once, in random order.
    merges: Vec<(usize, usize)>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (2..=3usize).prop_flat_map(|n| {
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
            .collect();
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(op(), 0..8),
            prop::collection::vec(prop::collection::vec(op(), 0..14), n),
            Just(pairs).prop_shuffle(),
        )
            .prop_map(|(same_day, extend, prefix, replicas, merges)| Scenario {
                same_day,
                extend,
                prefix,
                replicas,
                merges,
            })
    })
}

/// One replica of the dossier and what it appended.
struct Replica {
    case: Case,
    number: usize,
    clock: DateTime<Utc>,
    /// Ids this replica wrote, in order (None for entries without one).
    appended: Vec<Option<String>>,
    next: usize,
}

/// "Now" for every comparison: after every event a scenario can write.
fn judged_at() -> DateTime<Utc> {
    at_local("2026-06-01 09:00")
}

impl Replica {
    fn new_id(&mut self) -> String {
        self.next += 1;
        format!("r{}-{}", self.number, self.next)
    }

    fn state(&self) -> DossierState {
        self.case.state_at_utc(self.clock)
    }

    fn resolve(&self, by: Who, state: &DossierState) -> OfficeId {
        let origin = office(COMMUNE);
        let holder = state.holder.clone().unwrap_or_else(|| origin.clone());
        match by {
            Who::Pool(i) => office(POOL[i % POOL.len()]),
            Who::Holder => holder,
            Who::Recipient => state.transfer.as_ref().map_or(holder, |t| t.to.clone()),
            Who::ReturnOffice => state
                .result
                .as_ref()
                .map_or(origin, |r| r.return_office.clone()),
            Who::Consulted => state
                .open_consultations()
                .next()
                .map_or(holder, |c| c.to.clone()),
        }
    }

    fn advance(&mut self, minutes: i64) -> DateTime<Utc> {
        self.clock += TimeDelta::minutes(minutes);
        self.clock
    }

    fn write(&mut self, id: String, kind: ActionKind, by: OfficeId, payload: u16) {
        let state = self.state();
        let action = action(kind, payload, self.clock, &state);
        let event = Event {
            id: EventId(id.clone()),
            at: self.clock,
            office: by,
            officer: format!("officer {}", self.number),
            action,
        };
        self.case.append(&event);
        self.appended.push(Some(id));
    }

    fn run(&mut self, op: &Op) {
        match *op {
            Op::Any {
                kind,
                by,
                payload,
                minutes,
            } => {
                self.advance(minutes);
                let by = self.resolve(by, &self.state());
                let id = self.new_id();
                self.write(id, ActionKind::KNOWN[kind], by, payload);
            }
            Op::Allowed {
                by,
                pick,
                payload,
                minutes,
            } => {
                self.advance(minutes);
                let by = self.resolve(by, &self.state());
                let dossier = self.case.dossier();
                let allowed = fold::allowed_actions(&dossier, &by, &self.case.ctx(self.clock));
                // Mostly move the dossier along rather than end it, so the
                // logs reach every status.
                let onward: Vec<ActionKind> = allowed
                    .iter()
                    .copied()
                    .filter(|kind| {
                        !matches!(
                            kind,
                            ActionKind::WithdrawalRequested
                                | ActionKind::Stopped
                                | ActionKind::Refused
                                | ActionKind::Note
                        )
                    })
                    .collect();
                let kind = if !onward.is_empty() && pick % 6 != 0 {
                    onward[(pick / 6) % onward.len()]
                } else if !allowed.is_empty() {
                    allowed[pick % allowed.len()]
                } else {
                    ActionKind::Note
                };
                let id = self.new_id();
                self.write(id, kind, by, payload);
            }
            Op::Malformed { variant, minutes } => {
                let at = ScalarValue::Timestamp(self.advance(minutes).timestamp_millis());
                let id = self.new_id();
                let text = |s: &str| ScalarValue::Str(s.into());
                match variant {
                    0 => self.case.push_raw(&[
                        ("id", text(&id)),
                        ("kind", text("forwarded")),
                        ("office", text(DISTRICT)),
                        ("officer", text("x")),
                        ("to", text(LAND)),
                        ("task", text("t")),
                        ("days", ScalarValue::Uint(1)),
                    ]),
                    1 => self.case.push_raw(&[
                        ("id", text(&id)),
                        ("kind", text("accepted")),
                        ("at", text("yesterday")),
                        ("office", text(LAND)),
                        ("officer", text("x")),
                    ]),
                    2 => self.case.push_raw(&[
                        ("id", text(&id)),
                        ("kind", text("escalated")),
                        ("at", at),
                        ("office", text(DISTRICT)),
                        ("officer", text("x")),
                    ]),
                    3 => self.case.push_raw(&[
                        ("id", text(&id)),
                        ("kind", text("approved")),
                        ("at", at),
                        ("office", text("no colon")),
                        ("officer", text("x")),
                        ("note", text("")),
                    ]),
                    _ => {
                        self.case.push_raw_scalar(ScalarValue::Int(42));
                        self.appended.push(None);
                        return;
                    }
                }
                self.appended.push(Some(id));
            }
            Op::ReusedId {
                pick,
                payload,
                minutes,
            } => {
                self.advance(minutes);
                let own: Vec<String> = self.appended.iter().flatten().cloned().collect();
                let id = if own.is_empty() {
                    self.new_id()
                } else {
                    own[pick % own.len()].clone()
                };
                let state = self.state();
                let by = self.resolve(Who::Holder, &state);
                let kind = ActionKind::KNOWN[pick % ActionKind::KNOWN.len()];
                self.write(id, kind, by, payload);
            }
        }
    }
}

/// An action of `kind` with a payload derived from `payload`.
fn action(kind: ActionKind, payload: u16, at: DateTime<Utc>, state: &DossierState) -> Action {
    let p = usize::from(payload);
    let to = POOL[p % POOL.len()];
    let minutes = |m: i64| at + TimeDelta::minutes(m);
    match kind {
        ActionKind::Forwarded => forwarded_for(to, (p % 4) as u32),
        ActionKind::Consulted => Action::Consulted {
            to: office(to),
            question: "?".into(),
            deadline: minutes((p % 6_000) as i64),
        },
        ActionKind::ConsultationAnswered => {
            let ids: Vec<&EventId> = state.consultations.iter().map(|c| &c.event).collect();
            let consultation = if ids.is_empty() || p % 5 == 0 {
                EventId("no-such-consultation".into())
            } else {
                ids[p % ids.len()].clone()
            };
            answered(&consultation)
        }
        ActionKind::Apologized => Action::Apologized {
            reason: "?".into(),
            new_due: state.due_at.unwrap_or(at) + TimeDelta::minutes((p % 9_000) as i64 - 1_000),
        },
        ActionKind::ResultIssued => {
            let return_office = if p % 3 == 0 { to } else { COMMUNE };
            result_issued(return_office)
        }
        ActionKind::VerificationScheduled => Action::VerificationScheduled {
            when: minutes(600),
            place: "?".into(),
            who: "?".into(),
        },
        other => sample_action(other, to),
    }
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items
}

fn check_scenario(scenario: &Scenario) -> Result<(), TestCaseError> {
    let procedure = if scenario.same_day {
        Procedure::SameDay("15:00")
    } else {
        Procedure::Days(5)
    };
    let sets: &'static RuleSets = if scenario.extend {
        extend_rule_sets()
    } else {
        shipped_rule_sets()
    };
    let base_case = dossier(procedure)
        .rule_sets(sets)
        .received("2026-03-02 09:00");
    let mut base = Replica {
        clock: base_case.last_at,
        case: base_case,
        number: 0,
        appended: Vec::new(),
        next: 0,
    };
    for op in &scenario.prefix {
        base.run(op);
    }
    let base_ids = raw_event_ids(&base.case.doc);

    let mut replicas: Vec<Replica> = (0..scenario.replicas.len())
        .map(|i| Replica {
            case: base.case.fork(u8::try_from(i + 2).unwrap()),
            number: i + 1,
            clock: base.clock,
            appended: Vec::new(),
            next: 0,
        })
        .collect();
    for (replica, ops) in replicas.iter_mut().zip(&scenario.replicas) {
        for op in ops {
            replica.run(op);
        }
        // Each replica folds its own log without trouble.
        let state = replica.case.state_at_utc(judged_at());
        prop_assert_eq!(state.applied.len(), replica.case.dossier().events.len());
    }

    for &(into, from) in &scenario.merges {
        let (a, b) = if into < from {
            let (left, right) = replicas.split_at_mut(from);
            (&mut left[into], &mut right[0])
        } else {
            let (left, right) = replicas.split_at_mut(into);
            (&mut right[0], &mut left[from])
        };
        a.case.merge(&mut b.case);
    }

    // Same heads everywhere.
    let heads = replicas[0].case.doc.get_heads();
    for replica in &replicas[1..] {
        prop_assert_eq!(&replica.case.doc.get_heads(), &heads);
    }

    // Nothing lost: every entry of the common prefix and of every replica,
    // conflicting or unreadable ones included.
    let merged = &replicas[0].case;
    let merged_ids = raw_event_ids(&merged.doc);
    let mut expected = base_ids.clone();
    for replica in &replicas {
        expected.extend(replica.appended.iter().cloned());
    }
    prop_assert_eq!(merged_ids.len(), expected.len());
    prop_assert_eq!(sorted(&merged_ids), sorted(&expected));
    // The common prefix stays first, and each replica's events keep their order.
    prop_assert_eq!(&merged_ids[..base_ids.len()], &base_ids[..]);
    for replica in &replicas {
        let prefix = format!("r{}-", replica.number);
        let own: Vec<&String> = merged_ids
            .iter()
            .flatten()
            .filter(|id| id.starts_with(&prefix))
            .collect();
        let wrote: Vec<&String> = replica.appended.iter().flatten().collect();
        prop_assert_eq!(own, wrote);
    }

    // Same derived state everywhere, and the fold is deterministic.
    let now = judged_at();
    let state = merged.state_at_utc(now);
    prop_assert_eq!(&merged.state_at_utc(now), &state);
    for replica in &replicas[1..] {
        prop_assert_eq!(&replica.case.state_at_utc(now), &state);
    }
    // A replica rebuilt from its saved bytes folds the same.
    let reloaded = Automerge::load(&merged.doc.save()).unwrap();
    let dossier = lienthong_shared::dossier::schema::read(&reloaded).unwrap();
    prop_assert_eq!(&fold::fold(&dossier, &merged.ctx(now)), &state);

    // Bookkeeping: one verdict per entry; every unapplied entry is a
    // conflict naming it; unreadable entries are never applied.
    prop_assert_eq!(state.applied.len(), dossier.events.len());
    let unapplied: Vec<usize> = (0..state.applied.len())
        .filter(|&i| !state.applied[i])
        .collect();
    let conflicts: Vec<usize> = state.conflicts.iter().map(|c| c.index).collect();
    prop_assert_eq!(unapplied, conflicts);
    for (stored, applied) in dossier.events.iter().zip(&state.applied) {
        let unreadable = match stored {
            StoredEvent::Malformed { .. } => true,
            StoredEvent::Valid(event) => matches!(event.action, Action::Unknown { .. }),
        };
        prop_assert!(!(unreadable && *applied));
    }
    // Applied ids are unique.
    let mut applied_ids: BTreeMap<&EventId, usize> = BTreeMap::new();
    for (stored, applied) in dossier.events.iter().zip(&state.applied) {
        if let (StoredEvent::Valid(event), true) = (stored, applied) {
            *applied_ids.entry(&event.id).or_default() += 1;
        }
    }
    prop_assert!(applied_ids.values().all(|&n| n == 1));
    Ok(())
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn replicas_converge_to_the_same_log_and_state(scenario in scenario()) {
        check_scenario(&scenario)?;
    }
}

/// A fixed scenario, so a plain `cargo test` exercises the merge even with
/// `PROPTEST_CASES=0`: the holder forwards while the origin (no longer the
/// holder) forwards too and a third node writes garbage.
#[test]
fn a_known_concurrent_scenario_converges() {
    let scenario = Scenario {
        same_day: false,
        extend: false,
        prefix: vec![Op::Allowed {
            by: Who::Holder,
            pick: 0,
            payload: 1, // forwarded to the district
            minutes: 30,
        }],
        replicas: vec![
            vec![Op::Allowed {
                by: Who::Recipient,
                pick: 0,
                payload: 0,
                minutes: 30,
            }],
            vec![Op::Any {
                kind: 3, // forwarded
                by: Who::Pool(0),
                payload: 4,
                minutes: 45,
            }],
            vec![Op::Malformed {
                variant: 2,
                minutes: 10,
            }],
        ],
        merges: vec![(2, 1), (0, 2), (1, 0), (2, 0), (0, 1), (1, 2)],
    };
    check_scenario(&scenario).unwrap();
}
