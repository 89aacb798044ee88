//! One player's collects resolved into durable and lost (rule (2) and (4) of
//! [`super`]): the prefix of its acknowledged collects, and maybe its unanswered one, that
//! its durable rewards and the objects still present agree on.

use game_domain::space_object::{ObjectId, ObjectKind};

use super::{Carried, Observed};
use crate::chaos::ledger::{PlayerLedger, Unknown, reward_bounds};

/// What happened to a player's unknown-outcome collect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fate {
    /// Not applied.
    NotApplied,
    /// Applied, with this reward.
    Applied(u32),
    /// An escape pod (reward 0) with every ack durable: iron cannot tell.
    Undecided,
}

/// A player's collects resolved into durable and lost: the first `surely_durable` acks are
/// durable, those from `durable` on are lost, and the ones between could be either (only
/// zero-reward collects of objects spawned this cycle, whose spawn may be lost too, leave
/// such a doubt).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// Acks surely durable.
    pub surely_durable: usize,
    /// Acks durable (the rest are lost).
    pub durable: usize,
    /// The unanswered collect and what became of it.
    pub unknown: Option<(Unknown, Fate)>,
}

/// Finds the longest prefix of the player's acks (then maybe its unknown attempt) that
/// explains `rewards` (its durable rewards gained this cycle) and the objects' presence.
pub fn resolve(
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
