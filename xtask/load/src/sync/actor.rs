//! A player's actions: every ~`action_every` a navigate with a random course, or (a
//! `collect_share` of the time) a collect of a random object the player knows of.

use std::time::{Duration, Instant};

use hyper::Method;
use rand::Rng;
use rand::rngs::StdRng;

use crate::sync::tally::Outcome;
use crate::sync::world::LocalWorld;
use spacewars_harness::api::{Answer, Api, decode};

/// Route label of navigations.
pub const NAVIGATE: &str = "POST /api/navigate";
/// Route label of collects.
pub const COLLECT: &str = "POST /api/collect";

/// Spread of intervals around their mean: ±20 %, like the players mode.
pub fn jitter(rng: &mut StdRng, mean: Duration) -> Duration {
    mean.mul_f64(rng.random_range(0.8..1.2))
}

/// One player's action schedule and choices.
pub struct Actor {
    /// Mean time between actions.
    pub every: Duration,
    /// Share of actions that are collects (when an object is known).
    pub collect_share: f64,
    /// When the next action is due.
    pub next: Instant,
}

impl Actor {
    /// An actor whose first action falls at a random point of the first interval.
    pub fn new(rng: &mut StdRng, start: Instant, every: Duration, collect_share: f64) -> Actor {
        Actor {
            every,
            collect_share,
            next: start + every.mul_f64(rng.random_range(0.0..1.0)),
        }
    }

    /// Sends one action on `api`, recorded in `outcome` when `record` (sent inside the
    /// measured window), and schedules the next. Returns when a navigation was
    /// acknowledged (2xx), for [`crate::sync::echo`].
    pub async fn act(
        &mut self,
        api: &mut Api,
        world: &LocalWorld,
        rng: &mut StdRng,
        outcome: &mut Outcome,
        record: bool,
    ) -> Option<Instant> {
        self.next += jitter(rng, self.every);
        let target = if rng.random_bool(self.collect_share.clamp(0.0, 1.0)) {
            world.random_collectable(rng)
        } else {
            None
        };
        let (route, body) = match target {
            Some(id) => (COLLECT, format!("{{\"objectId\":{id}}}")),
            None => {
                let speed: f64 = rng.random_range(5.0..25.0);
                let angle: f64 = rng.random_range(0.0..360.0);
                (NAVIGATE, format!("{{\"speed\":{speed},\"angle\":{angle}}}"))
            }
        };
        let path = route.trim_start_matches("POST ");
        let sent = Instant::now();
        let result = api.raw(Method::POST, path, Some(body.as_bytes())).await;
        let acked = match &result {
            Ok(reply) if route == NAVIGATE && reply.status.is_success() => Some(Instant::now()),
            _ => None,
        };
        if !record {
            return acked;
        }
        match result {
            Ok(reply) => {
                outcome
                    .actions
                    .answered(route, reply.status.as_u16(), sent.elapsed());
                if let Answer::Refused(status, code) = decode::<serde_json::Value>(&reply) {
                    let code = if code.is_empty() {
                        status.as_str().to_owned()
                    } else {
                        code
                    };
                    outcome.refused(&code);
                }
            }
            Err(error) => outcome.actions.failed(route, &error),
        }
        acked
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn actions_are_spread_and_jittered_around_their_mean() {
        let mut rng = StdRng::seed_from_u64(3);
        let start = Instant::now();
        let every = Duration::from_secs(10);
        for _ in 0..100 {
            let actor = Actor::new(&mut rng, start, every, 0.2);
            assert!(actor.next >= start && actor.next < start + every);
            let gap = jitter(&mut rng, every);
            assert!(gap >= Duration::from_secs(8) && gap < Duration::from_secs(12));
        }
    }
}
