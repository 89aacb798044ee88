//! The drill's invariants after a restart, checked against what the players saw.
//!
//! The promise (docs/persistence.md, promises 4 and 6) is that the database equals the
//! state after a prefix of the acknowledged operations. Each player sends one request at a
//! time, so its durable collects must be a prefix of its own acknowledged collects,
//! followed (only if all of them are durable) by its unknown-outcome attempt. A player's
//! durable rewards are `iron − (last_updated − created_s)` (income is exactly 1 iron/s: the
//! drill triggers no research), so the check finds the prefix length `k` whose rewards add
//! up to exactly that and agrees with which objects are still in the world:
//! - a durable collect's object is gone (no reward credited for an object still present);
//! - a lost collect of an object that was durable when the cycle began is still there
//!   (an object that was spawned in this cycle may itself be lost, so its absence proves
//!   nothing).
//!
//! Across players the cut must be consistent too: a collect answered before another was
//! sent cannot be lost while the later one is durable. Every object that was durable at the
//! cycle's start and is gone must be claimed by exactly one durable collect. Lost collects
//! must be recent (acknowledged within the loss bound of the signal); after SIGTERM nothing
//! acknowledged may be lost.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use game_domain::space_object::{ObjectId, ObjectKind};

use crate::chaos::ledger::{Ack, PlayerLedger, Unknown, reward_bounds};

/// What is known to be durable when a cycle starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Carried {
    /// Durable rewards of each player so far.
    pub credited: Vec<f64>,
    /// Objects whose collection is durable (they may never come back).
    pub credited_objects: BTreeSet<ObjectId>,
    /// The world after the last restart.
    pub objects: BTreeMap<ObjectId, ObjectKind>,
}

/// What the API shows after the restart.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Every object in the world.
    pub objects: BTreeMap<ObjectId, ObjectKind>,
    /// Each player's `iron − (last_updated − created_s)`.
    pub durable: Vec<f64>,
}

/// The cycle's rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Objects the world always holds.
    pub expected_objects: usize,
    /// When the signal had been delivered.
    pub signal_at: Instant,
    /// Oldest acknowledgement (before the signal) that may be lost.
    pub max_loss_age: Duration,
    /// SIGTERM: nothing acknowledged may be lost.
    pub graceful: bool,
}

/// What happened to a player's unknown-outcome collect.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    NotApplied,
    Applied(u32),
    /// An escape pod (reward 0) with every ack durable: iron cannot tell.
    Undecided,
}

/// A player's collects resolved into durable and lost: the first `surely_durable` acks are
/// durable, those from `durable` on are lost, and the ones between could be either (only
/// zero-reward collects of objects spawned this cycle, whose spawn may be lost too, leave
/// such a doubt).
#[derive(Debug, Clone, PartialEq)]
struct Resolution {
    surely_durable: usize,
    durable: usize,
    unknown: Option<(Unknown, Fate)>,
}

/// What a cycle's check found.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleOutcome {
    /// Acknowledged collects.
    pub acks: usize,
    /// Of which durable.
    pub durable_acks: usize,
    /// Of which lost.
    pub lost_acks: usize,
    /// Of the durable ones, how many might have been lost as well (zero-reward collects of
    /// objects whose spawn may itself be lost).
    pub undecided_acks: usize,
    /// Collects without response (sent before the signal could have taken effect).
    pub unknowns: usize,
    /// Of which applied.
    pub unknowns_applied: usize,
    /// Age at the signal of the oldest lost acknowledgement.
    pub oldest_lost: Option<Duration>,
    /// Broken invariants, one sentence each.
    pub violations: Vec<String>,
    /// What is durable from now on.
    pub next: Carried,
}

/// Checks one cycle. `ledgers[p]` is player `p`'s record; unknowns must already exclude
/// attempts that certainly did not reach a live server.
pub fn check(
    carried: &Carried,
    ledgers: &[PlayerLedger],
    observed: &Observed,
    rules: &Rules,
) -> CycleOutcome {
    let mut violations = Vec::new();
    if observed.objects.len() != rules.expected_objects {
        violations.push(format!(
            "(1) object count: {} objects after restart, expected {}",
            observed.objects.len(),
            rules.expected_objects
        ));
    }
    for id in &carried.credited_objects {
        if observed.objects.contains_key(id) {
            violations.push(format!(
                "(4) object {id}, collected durably in an earlier cycle, is back"
            ));
        }
    }
    let mut seen_objects = BTreeMap::new();
    for ack in ledgers.iter().flat_map(|l| &l.acks) {
        if let Some(first) = seen_objects.insert(ack.object, ack.player) {
            violations.push(format!(
                "collect acknowledged twice for object {} (players {first} and {})",
                ack.object, ack.player
            ));
        }
        let (low, high) = reward_bounds(ack.kind);
        if ack.reward < low || ack.reward > high {
            violations.push(format!(
                "player {}: reward {} for a {:?} is outside [{low}, {high}]",
                ack.player, ack.reward, ack.kind
            ));
        }
    }

    let mut resolutions = Vec::with_capacity(ledgers.len());
    for (player, ledger) in ledgers.iter().enumerate() {
        let durable = observed.durable.get(player).copied().unwrap_or(f64::NAN);
        let before = carried.credited.get(player).copied().unwrap_or(0.0);
        match resolve(ledger, durable - before, carried, observed) {
            Ok(resolution) => resolutions.push(resolution),
            Err(why) => {
                violations.push(format!("player {player}: {why}"));
                // Unresolved: claim nothing, so the object checks below report too.
                resolutions.push(Resolution {
                    surely_durable: 0,
                    durable: 0,
                    unknown: None,
                });
            }
        }
    }

    // Every object durable at the cycle's start that is gone has exactly one durable claim.
    let mut claims: BTreeMap<ObjectId, Vec<String>> = BTreeMap::new();
    for (player, (ledger, resolution)) in ledgers.iter().zip(&resolutions).enumerate() {
        for ack in &ledger.acks[..resolution.durable] {
            claims
                .entry(ack.object)
                .or_default()
                .push(format!("player {player}'s acknowledged collect"));
        }
        if let Some((unknown, Fate::Applied(_) | Fate::Undecided)) = resolution.unknown {
            claims
                .entry(unknown.object)
                .or_default()
                .push(format!("player {player}'s unanswered collect"));
        }
    }
    for (id, kind) in &carried.objects {
        if observed.objects.contains_key(id) || *kind == ObjectKind::PlayerShip {
            continue;
        }
        match claims.get(id).map_or(0, Vec::len) {
            0 => violations.push(format!(
                "(2) object {id} ({kind:?}) is gone but no durable collect took it"
            )),
            1 => {}
            _ => violations.push(format!(
                "(4) object {id} credited more than once: {}",
                claims[id].join(", ")
            )),
        }
    }

    // Consistent cut across players, and the loss bound.
    let lost: Vec<&Ack> = ledgers
        .iter()
        .zip(&resolutions)
        .flat_map(|(ledger, resolution)| &ledger.acks[resolution.durable..])
        .collect();
    // (player, object, what, sent) of every collect that is surely durable.
    let durable_sends: Vec<(usize, ObjectId, String, Instant)> = ledgers
        .iter()
        .zip(&resolutions)
        .flat_map(|(ledger, resolution)| {
            let acks = ledger.acks[..resolution.surely_durable].iter().map(|a| {
                (
                    a.player,
                    a.object,
                    format!("{:?} for {} iron", a.kind, a.reward),
                    a.sent,
                )
            });
            let unknown = resolution.unknown.and_then(|(u, fate)| match fate {
                Fate::Applied(reward) => Some((
                    u.player,
                    u.object,
                    format!("unanswered {:?} for {reward} iron", u.kind),
                    u.sent,
                )),
                _ => None,
            });
            acks.chain(unknown)
        })
        .collect();
    if let Some(latest) = durable_sends.iter().max_by_key(|d| d.3) {
        for ack in &lost {
            if ack.acked < latest.3 {
                violations.push(format!(
                    "(2) not a consistent cut: player {}'s collect of object {} ({:?}, {} iron) \
                     was answered {:?} before player {}'s durable collect of object {} ({}) was \
                     sent, yet it is lost",
                    ack.player,
                    ack.object,
                    ack.kind,
                    ack.reward,
                    latest.3 - ack.acked,
                    latest.0,
                    latest.1,
                    latest.2
                ));
            }
        }
    }
    let oldest_lost = lost
        .iter()
        .map(|ack| rules.signal_at.saturating_duration_since(ack.acked))
        .max();
    if rules.graceful && !lost.is_empty() {
        violations.push(format!(
            "(3) {} acknowledged collects lost across a graceful shutdown (must be 0)",
            lost.len()
        ));
    }
    if let Some(age) = oldest_lost.filter(|age| *age > rules.max_loss_age) {
        violations.push(format!(
            "(3) a lost collect was acknowledged {age:?} before the signal (bound {:?})",
            rules.max_loss_age
        ));
    }

    let mut next = Carried {
        credited: observed.durable.clone(),
        credited_objects: carried.credited_objects.clone(),
        objects: observed.objects.clone(),
    };
    let mut unknowns_applied = 0;
    for (ledger, resolution) in ledgers.iter().zip(&resolutions) {
        next.credited_objects
            .extend(ledger.acks[..resolution.durable].iter().map(|a| a.object));
        if let Some((unknown, fate)) = resolution.unknown {
            let applied = match fate {
                Fate::Applied(_) => true,
                Fate::Undecided => !observed.objects.contains_key(&unknown.object),
                Fate::NotApplied => false,
            };
            if applied {
                unknowns_applied += 1;
                next.credited_objects.insert(unknown.object);
            }
        }
    }
    let acks: usize = ledgers.iter().map(|l| l.acks.len()).sum();
    CycleOutcome {
        acks,
        durable_acks: acks - lost.len(),
        lost_acks: lost.len(),
        undecided_acks: resolutions
            .iter()
            .map(|r| r.durable - r.surely_durable)
            .sum(),
        unknowns: ledgers.iter().filter(|l| l.unknown.is_some()).count(),
        unknowns_applied,
        oldest_lost,
        violations,
        next,
    }
}

/// Finds the longest prefix of the player's acks (then maybe its unknown attempt) that
/// explains `rewards` (its durable rewards gained this cycle) and the objects' presence.
fn resolve(
    ledger: &PlayerLedger,
    rewards: f64,
    carried: &Carried,
    observed: &Observed,
) -> Result<Resolution, String> {
    let acks = &ledger.acks;
    let present = |id: ObjectId| observed.objects.contains_key(&id);
    let was_durable = |id: ObjectId| carried.objects.contains_key(&id);
    let mut iron_fits = Vec::new();
    let mut feasible: Vec<(usize, Option<(Unknown, Fate)>)> = Vec::new();
    for k in (0..=acks.len()).rev() {
        let prefix: f64 = acks[..k].iter().map(|a| f64::from(a.reward)).sum();
        let rest = rewards - prefix;
        let fate = match (k == acks.len(), ledger.unknown) {
            (true, Some(unknown)) => match unknown_fate(unknown.kind, rest) {
                Some(fate) => Some((unknown, fate)),
                None => continue,
            },
            _ if rest == 0.0 => None,
            _ => continue,
        };
        iron_fits.push(k);
        let durable_gone = acks[..k].iter().all(|a| !present(a.object));
        let lost_stay = acks[k..]
            .iter()
            .all(|a| !was_durable(a.object) || present(a.object));
        let unknown_gone = !matches!(fate, Some((u, Fate::Applied(_))) if present(u.object));
        if durable_gone && lost_stay && unknown_gone {
            feasible.push((k, fate));
        }
    }
    if let (Some(&(durable, unknown)), Some(&(surely_durable, _))) =
        (feasible.first(), feasible.last())
    {
        return Ok(Resolution {
            surely_durable,
            durable,
            unknown,
        });
    }
    let rewards_list: Vec<String> = acks
        .iter()
        .map(|a| {
            let state = if present(a.object) { "present" } else { "gone" };
            format!("{}:{}({state})", a.object, a.reward)
        })
        .collect();
    if iron_fits.is_empty() {
        Err(format!(
            "(2) durable rewards {rewards} match no prefix of its acknowledged collects \
             [{}]{}",
            rewards_list.join(" "),
            ledger
                .unknown
                .map(|u| format!(" plus unanswered {:?} {}", u.kind, u.object))
                .unwrap_or_default()
        ))
    } else {
        Err(format!(
            "(4) durable rewards {rewards} fit prefix lengths {iron_fits:?} of [{}], but the \
             objects present contradict each (reward credited for an object still present, \
             or an object gone without its reward)",
            rewards_list.join(" ")
        ))
    }
}

/// How an unknown collect of `kind` explains `rest` extra iron, if it can.
fn unknown_fate(kind: ObjectKind, rest: f64) -> Option<Fate> {
    let (low, high) = reward_bounds(kind);
    if high == 0 {
        return (rest == 0.0).then_some(Fate::Undecided);
    }
    if rest == 0.0 {
        return Some(Fate::NotApplied);
    }
    let in_bounds = rest.fract() == 0.0 && rest >= f64::from(low) && rest <= f64::from(high);
    // Bounds checked, so the value fits a u32 exactly.
    in_bounds.then_some(Fate::Applied(rest as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        fn observed(
            &self,
            present: &[ObjectId],
            extra: &[ObjectId],
            durable: [f64; 2],
        ) -> Observed {
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
}
