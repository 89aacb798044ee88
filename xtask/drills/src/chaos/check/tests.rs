//! The invariant checks on hand-made cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use game_domain::space_object::{ObjectId, ObjectKind};

use super::*;
use crate::chaos::ledger::{Ack, PlayerLedger, Unknown};

const ASTEROID: ObjectKind = ObjectKind::Asteroid;

struct Scene {
    t0: Instant,
    carried: Carried,
}

impl Scene {
    /// Objects 1..=4 are asteroids durable at the cycle's start; 100 is a ship.
    fn new() -> Scene {
        let mut objects: BTreeMap<_, _> = (1..=4).map(|id| (id, ASTEROID)).collect();
        objects.insert(100, ObjectKind::PlayerShip);
        Scene {
            t0: Instant::now(),
            carried: Carried {
                credited: vec![0.0, 0.0],
                credited_objects: BTreeSet::new(),
                objects,
            },
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn ack(&self, player: usize, object: ObjectId, reward: u32, sent_ms: u64) -> Ack {
        Ack {
            player,
            object,
            kind: ASTEROID,
            reward,
            sent: self.at(sent_ms),
            acked: self.at(sent_ms + 2),
        }
    }

    fn rules(&self, signal_ms: u64, graceful: bool) -> Rules {
        Rules {
            expected_objects: 5,
            signal_at: self.at(signal_ms),
            max_loss_age: Duration::from_millis(2_000),
            graceful,
        }
    }

    /// The world after restart: `present` of 1..=4, the ship, and spawned `extra`.
    fn observed(&self, present: &[ObjectId], extra: &[ObjectId], durable: [f64; 2]) -> Observed {
        let mut objects: BTreeMap<_, _> = present.iter().map(|id| (*id, ASTEROID)).collect();
        objects.insert(100, ObjectKind::PlayerShip);
        objects.extend(extra.iter().map(|id| (*id, ASTEROID)));
        Observed {
            objects,
            durable: durable.to_vec(),
        }
    }
}

fn ledger(acks: Vec<Ack>, unknown: Option<Unknown>) -> PlayerLedger {
    PlayerLedger {
        acks,
        unknown,
        ..PlayerLedger::default()
    }
}

#[test]
fn a_prefix_per_player_is_accepted_and_carried_forward() {
    let s = Scene::new();
    // Player 0 collected 1 then 2; player 1 collected 3. The cut kept 1 and 3 only.
    let ledgers = [
        ledger(vec![s.ack(0, 1, 100, 0), s.ack(0, 2, 60, 3_000)], None),
        ledger(vec![s.ack(1, 3, 200, 10)], None),
    ];
    let observed = s.observed(&[2, 4], &[10, 11], [100.0, 200.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(3_500, false));
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert_eq!((outcome.durable_acks, outcome.lost_acks), (2, 1));
    assert_eq!(outcome.oldest_lost, Some(Duration::from_millis(498)));
    assert_eq!(outcome.next.credited, vec![100.0, 200.0]);
    assert!(outcome.next.credited_objects.contains(&1));
    assert!(!outcome.next.credited_objects.contains(&2));
}

#[test]
fn an_object_spawned_and_collected_in_the_lost_tail_may_vanish() {
    let s = Scene::new();
    // Player 0 collected 1 (spawning 50), then 50; neither is durable: 1 is back and 50
    // never reached the database.
    let ledgers = [
        ledger(vec![s.ack(0, 1, 100, 0), s.ack(0, 50, 70, 100)], None),
        ledger(vec![], None),
    ];
    let observed = s.observed(&[1, 2, 3, 4], &[], [0.0, 0.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(500, false));
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert_eq!(outcome.lost_acks, 2);
}

#[test]
fn an_object_gone_without_its_reward_breaks_the_cut() {
    let s = Scene::new();
    let ledgers = [
        ledger(vec![s.ack(0, 1, 100, 0)], None),
        ledger(vec![], None),
    ];
    // Object 1 is gone, but player 0 has not got its 100 iron.
    let observed = s.observed(&[2, 3, 4], &[10], [0.0, 0.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(500, false));
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.starts_with("player 0: (4)")),
        "{:?}",
        outcome.violations
    );
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.contains("(2) object 1"))
    );
}

#[test]
fn a_reward_without_an_ack_is_caught() {
    let s = Scene::new();
    let ledgers = [
        ledger(vec![s.ack(0, 1, 100, 0)], None),
        ledger(vec![], None),
    ];
    let observed = s.observed(&[2, 3, 4], &[10], [150.0, 0.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(500, false));
    assert!(outcome.violations[0].contains("(2) durable rewards 150"));
}

#[test]
fn an_unknown_collect_may_have_happened_within_its_bounds() {
    let s = Scene::new();
    let unknown = Unknown {
        player: 1,
        object: 4,
        kind: ASTEROID,
        sent: s.at(400),
    };
    let ledgers = [ledger(vec![], None), ledger(vec![], Some(unknown))];
    let applied = s.observed(&[1, 2, 3], &[10], [0.0, 137.0]);
    let outcome = check(&s.carried, &ledgers, &applied, &s.rules(500, false));
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert_eq!(outcome.unknowns_applied, 1);

    let not_applied = s.observed(&[1, 2, 3, 4], &[], [0.0, 0.0]);
    let outcome = check(&s.carried, &ledgers, &not_applied, &s.rules(500, false));
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert_eq!(outcome.unknowns_applied, 0);

    let too_much = s.observed(&[1, 2, 3], &[10], [0.0, 300.0]);
    let outcome = check(&s.carried, &ledgers, &too_much, &s.rules(500, false));
    assert!(!outcome.violations.is_empty());
}

#[test]
fn losses_must_be_recent_and_consistent_and_none_after_sigterm() {
    let s = Scene::new();
    // Player 0's collect answered at 2 ms is lost, player 1's sent at 5 s is durable.
    let ledgers = [
        ledger(vec![s.ack(0, 1, 100, 0)], None),
        ledger(vec![s.ack(1, 2, 80, 5_000)], None),
    ];
    let observed = s.observed(&[1, 3, 4], &[10], [0.0, 80.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(5_100, false));
    let text = outcome.violations.join("\n");
    assert!(text.contains("not a consistent cut"), "{text}");
    assert!(
        text.contains("(3) a lost collect was acknowledged"),
        "{text}"
    );

    let ledgers = [
        ledger(vec![s.ack(0, 1, 100, 0)], None),
        ledger(vec![], None),
    ];
    let observed = s.observed(&[1, 2, 3, 4], &[], [0.0, 0.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(100, true));
    assert!(outcome.violations[0].contains("graceful shutdown"));
}

#[test]
fn a_zero_reward_collect_of_a_new_object_may_be_durable_or_lost() {
    let s = Scene::new();
    // Player 0 collected asteroid 1 (spawning 50), then escape pod 50 (0 iron). Player 1's
    // collect of 2, answered in between, is lost. Whether the cut kept the pod collect
    // cannot be told (its spawn may be lost too), so it must not count against the cut.
    let pod = Ack {
        kind: ObjectKind::EscapePod,
        ..s.ack(0, 50, 0, 100)
    };
    let ledgers = [
        ledger(vec![s.ack(0, 1, 100, 0), pod], None),
        ledger(vec![s.ack(1, 2, 80, 50)], None),
    ];
    let observed = s.observed(&[2, 3, 4], &[10], [100.0, 0.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(500, false));
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert_eq!(
        (
            outcome.durable_acks,
            outcome.lost_acks,
            outcome.undecided_acks
        ),
        (2, 1, 1)
    );
}

#[test]
fn object_count_and_resurrection_are_checked() {
    let mut s = Scene::new();
    s.carried.credited_objects.insert(4);
    let ledgers = [ledger(vec![], None), ledger(vec![], None)];
    let observed = s.observed(&[1, 2, 3, 4], &[10], [0.0, 0.0]);
    let outcome = check(&s.carried, &ledgers, &observed, &s.rules(100, false));
    let text = outcome.violations.join("\n");
    assert!(text.contains("(1) object count: 6"), "{text}");
    assert!(text.contains("object 4, collected durably"), "{text}");
}
