//! One drill player's loop: read the world, collect the nearest object when in range, else
//! steer towards it; record every acknowledged and every unanswered collect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::aim::{
    COLLECT_ATTEMPT_RANGE, chase_target, heading, nearest_collectable, ship_position,
};
use crate::api::Answer;
use crate::chaos::ledger::{Ack, PlayerLedger, Unknown};
use crate::player::Player;

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
    /// Hard stop even if `stop` is never set.
    pub deadline: Instant,
    /// Seed of the pauses.
    pub seed: u64,
}

/// Players steer towards one of this many nearest catchable objects, by index.
const CHASE_SPREAD: usize = 3;

/// Upper bound on one player's loop iterations in a cycle.
const MAX_ITERATIONS: usize = 100_000;

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
        let Some((target, distance)) = nearest_collectable(&world, ship_id) else {
            break;
        };
        if distance <= COLLECT_ATTEMPT_RANGE {
            let sent = Instant::now();
            match api.collect(target.id).await {
                Ok(Answer::Ok(reply)) => ledger.acks.push(Ack {
                    player: drive.index,
                    object: target.id,
                    kind: reply.object_type,
                    reward: reply.iron_reward,
                    sent,
                    acked: Instant::now(),
                }),
                Ok(Answer::Refused(..)) => ledger.refused += 1,
                Err(error) if error.outcome_unknown() => {
                    ledger.unknown = Some(Unknown {
                        player: drive.index,
                        object: target.id,
                        kind: target.kind,
                        sent,
                    });
                    // One open question per player and cycle keeps the check exact.
                    break;
                }
                Err(_) => {}
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
        let pause = rng.random_range(10..60);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    ledger
}
