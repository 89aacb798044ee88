//! One drill player's loop: read the world, collect the nearest object when in range, else
//! steer towards it; record every acknowledged and every unanswered collect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use game_domain::space_object::SpaceObject;

use crate::chaos::ledger::{Ack, PlayerLedger, Unknown};
use spacewars_harness::aim::{
    COLLECT_ATTEMPT_RANGE, chase_target, collectables_within, heading, ship_position,
};
use spacewars_harness::api::{Answer, Api};
use spacewars_harness::player::Player;

/// A new player's top speed (effect of shipSpeed level 1, no afterburner).
const MAX_SPEED: f64 = 25.0;

/// How one player drives load in a cycle.
#[derive(Debug, Clone)]
pub struct Drive {
    /// Index of the player in the drill.
    pub index: usize,
    /// The player.
    pub player: Player,
    /// Where the server listens now.
    pub addr: SocketAddr,
    /// Set when the cycle's signal has been sent.
    pub stop: Arc<AtomicBool>,
    /// Collects on their way right now (all players), for a signal aimed at one.
    pub collects_in_flight: Arc<AtomicUsize>,
    /// Hard stop even if `stop` is never set.
    pub deadline: Instant,
    /// Seed of the pauses.
    pub seed: u64,
    /// Pause between a player's iterations, ms (uniform in this range).
    pub pause_ms: std::ops::RangeInclusive<u64>,
}

/// The players of one cycle, driving load until `stop` is set.
#[derive(Debug)]
pub struct Team {
    /// Set to stop every player.
    pub stop: Arc<AtomicBool>,
    /// Collects on their way right now (all players), for a signal aimed at one.
    pub in_flight: Arc<AtomicUsize>,
    /// The players' tasks, each ending with its ledger.
    pub drivers: Vec<tokio::task::JoinHandle<PlayerLedger>>,
}

/// Starts every one of `players` against `addr` until `deadline` at the latest; player
/// `i`'s pauses are seeded with `seed + i`.
pub fn spawn_team(
    players: &[Player],
    addr: SocketAddr,
    deadline: Instant,
    seed: u64,
    pause_ms: &std::ops::RangeInclusive<u64>,
) -> Team {
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let drivers = players
        .iter()
        .enumerate()
        .map(|(index, player)| {
            tokio::spawn(drive(Drive {
                index,
                player: player.clone(),
                addr,
                stop: stop.clone(),
                collects_in_flight: in_flight.clone(),
                deadline,
                seed: seed.wrapping_add(index as u64),
                pause_ms: pause_ms.clone(),
            }))
        })
        .collect();
    Team {
        stop,
        in_flight,
        drivers,
    }
}

/// Players steer towards one of this many nearest catchable objects, by index.
const CHASE_SPREAD: usize = 3;

/// Upper bound on one player's loop iterations in a cycle.
const MAX_ITERATIONS: usize = 100_000;

/// Collects `targets` one by one, recording each outcome. True if one got no response
/// (the player then stops: one open question per player and cycle keeps the check exact).
async fn collect_all(
    api: &mut Api,
    player: usize,
    targets: &[SpaceObject],
    in_flight: &AtomicUsize,
    ledger: &mut PlayerLedger,
) -> bool {
    for target in targets {
        let sent = Instant::now();
        in_flight.fetch_add(1, Ordering::SeqCst);
        let result = api.collect(target.id).await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        match result {
            Ok(Answer::Ok(reply)) => ledger.acks.push(Ack {
                player,
                object: target.id,
                kind: reply.object_type,
                reward: reply.iron_reward,
                sent,
                acked: Instant::now(),
            }),
            // Not sent: the server is gone; the next world read finds out.
            Err(error) if !error.outcome_unknown() => return false,
            Ok(Answer::Refused(status, code)) if !may_have_applied(status, &code) => {
                ledger.refused += 1;
            }
            // Sent and unanswered, or answered "maybe" (behind a load balancer, a server
            // that died mid-request shows as a 502): the outcome is unknown.
            Ok(Answer::Refused(..)) | Err(_) => {
                ledger.unknown = Some(Unknown {
                    player,
                    object: target.id,
                    kind: target.kind,
                    sent,
                });
                return true;
            }
        }
    }
    false
}

/// True when a refused request may still have been applied: a gateway's 502 or 504 (the
/// server died, or did not answer in time, with the request on its way), or the server's
/// own 503 `timeout` / `outcome_unknown` (docs/http-api.md, Retrying).
fn may_have_applied(status: StatusCode, code: &str) -> bool {
    matches!(status.as_u16(), 502 | 504)
        || (status == StatusCode::SERVICE_UNAVAILABLE
            && matches!(code, "timeout" | "outcome_unknown"))
}

/// Runs the player until `stop`, the deadline, or its first unanswered collect.
pub async fn drive(drive: Drive) -> PlayerLedger {
    let mut api = drive.player.api(drive.addr);
    let mut rng = StdRng::seed_from_u64(drive.seed);
    let mut ledger = PlayerLedger::default();
    let ship_id = drive.player.ship_id;
    for _ in 0..MAX_ITERATIONS {
        if drive.stop.load(Ordering::SeqCst) || Instant::now() >= drive.deadline {
            break;
        }
        ledger.other_requests += 1;
        let world = match api.world().await {
            Ok(Answer::Ok(world)) => world,
            _ => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let in_range = collectables_within(&world, ship_id, COLLECT_ATTEMPT_RANGE);
        if !in_range.is_empty() {
            // A greedy player takes everything in range, nearest first.
            let in_flight = &drive.collects_in_flight;
            if collect_all(&mut api, drive.index, &in_range, in_flight, &mut ledger).await {
                break;
            }
        } else if let Some((from, goal)) = ship_position(&world, ship_id).zip(chase_target(
            &world,
            ship_id,
            drive.index % CHASE_SPREAD,
        )) {
            let to = goal.position_at(world.current_time, world.world_size);
            let angle = heading(world.world_size, from, to);
            ledger.other_requests += 1;
            // A lost or unanswered navigation changes nothing the check looks at.
            let _ = api.navigate(MAX_SPEED, angle).await;
        }
        let pause = rng.random_range(drive.pause_ms.clone());
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    ledger
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_that_may_have_been_applied_are_unknown() {
        let unknown = |status: u16, code: &str| {
            may_have_applied(StatusCode::from_u16(status).expect("status"), code)
        };
        assert!(unknown(502, ""));
        assert!(unknown(504, ""));
        assert!(unknown(503, "timeout"));
        assert!(unknown(503, "outcome_unknown"));
        // HAProxy's own 503 (no server up) and the server's retryable 503s changed nothing.
        assert!(!unknown(503, ""));
        assert!(!unknown(503, "shutting_down"));
        assert!(!unknown(503, "standby"));
        assert!(!unknown(404, "object_not_found"));
        assert!(!unknown(400, "object_too_far"));
    }
}
