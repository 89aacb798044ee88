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
//!
//! [`check`] runs these as named steps, in this order: [`object_count`],
//! [`no_durable_collect_returns`], [`acks_are_plausible`], [`resolve_players`],
//! [`gone_objects_claimed_once`], [`consistent_cut`], [`losses_bounded`], and
//! [`carry_forward`] what is durable into the next cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use game_domain::space_object::{ObjectId, ObjectKind};

use crate::chaos::ledger::{Ack, PlayerLedger, reward_bounds};
use resolve::{Fate, Resolution, resolve};

pub mod resolve;
#[cfg(test)]
mod tests;

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
    object_count(observed, rules, &mut violations);
    no_durable_collect_returns(carried, observed, &mut violations);
    acks_are_plausible(ledgers, &mut violations);
    let resolutions = resolve_players(carried, ledgers, observed, &mut violations);
    gone_objects_claimed_once(carried, ledgers, &resolutions, observed, &mut violations);
    let lost: Vec<&Ack> = ledgers
        .iter()
        .zip(&resolutions)
        .flat_map(|(ledger, resolution)| &ledger.acks[resolution.durable..])
        .collect();
    consistent_cut(ledgers, &resolutions, &lost, &mut violations);
    let oldest_lost = losses_bounded(&lost, rules, &mut violations);
    let (next, unknowns_applied) = carry_forward(carried, ledgers, &resolutions, observed);
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

/// (1) The world holds as many objects as it always does.
pub fn object_count(observed: &Observed, rules: &Rules, violations: &mut Vec<String>) {
    if observed.objects.len() != rules.expected_objects {
        violations.push(format!(
            "(1) object count: {} objects after restart, expected {}",
            observed.objects.len(),
            rules.expected_objects
        ));
    }
}

/// (4) No object whose collection was durable in an earlier cycle is back.
pub fn no_durable_collect_returns(
    carried: &Carried,
    observed: &Observed,
    violations: &mut Vec<String>,
) {
    for id in &carried.credited_objects {
        if observed.objects.contains_key(id) {
            violations.push(format!(
                "(4) object {id}, collected durably in an earlier cycle, is back"
            ));
        }
    }
}

/// No object's collect was acknowledged twice, and every reward is within its kind's
/// bounds.
pub fn acks_are_plausible(ledgers: &[PlayerLedger], violations: &mut Vec<String>) {
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
}

/// (2) (4) Each player's durable rewards explained by a prefix of its collects
/// ([`resolve()`]); a player that cannot be explained claims nothing.
pub fn resolve_players(
    carried: &Carried,
    ledgers: &[PlayerLedger],
    observed: &Observed,
    violations: &mut Vec<String>,
) -> Vec<Resolution> {
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
    resolutions
}

/// (2) (4) Every object durable at the cycle's start that is gone has exactly one durable
/// claim.
pub fn gone_objects_claimed_once(
    carried: &Carried,
    ledgers: &[PlayerLedger],
    resolutions: &[Resolution],
    observed: &Observed,
    violations: &mut Vec<String>,
) {
    let mut claims: BTreeMap<ObjectId, Vec<String>> = BTreeMap::new();
    for (player, (ledger, resolution)) in ledgers.iter().zip(resolutions).enumerate() {
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
}

/// (2) A consistent cut across players: no collect answered before the latest surely
/// durable one was sent is lost.
pub fn consistent_cut(
    ledgers: &[PlayerLedger],
    resolutions: &[Resolution],
    lost: &[&Ack],
    violations: &mut Vec<String>,
) {
    // (player, object, what, sent) of every collect that is surely durable.
    let durable_sends: Vec<(usize, ObjectId, String, Instant)> = ledgers
        .iter()
        .zip(resolutions)
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
    let Some(latest) = durable_sends.iter().max_by_key(|d| d.3) else {
        return;
    };
    for ack in lost {
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

/// (3) Lost collects are recent (within the loss bound of the signal), and none after
/// SIGTERM; returns the age of the oldest.
pub fn losses_bounded(
    lost: &[&Ack],
    rules: &Rules,
    violations: &mut Vec<String>,
) -> Option<Duration> {
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
    oldest_lost
}

/// What is durable from now on, and how many unanswered collects were applied.
pub fn carry_forward(
    carried: &Carried,
    ledgers: &[PlayerLedger],
    resolutions: &[Resolution],
    observed: &Observed,
) -> (Carried, usize) {
    let mut next = Carried {
        credited: observed.durable.clone(),
        credited_objects: carried.credited_objects.clone(),
        objects: observed.objects.clone(),
    };
    let mut unknowns_applied = 0;
    for (ledger, resolution) in ledgers.iter().zip(resolutions) {
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
    (next, unknowns_applied)
}
