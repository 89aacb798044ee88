//! A player's writes through HAProxy to the owner at a modest pace: a new course every
//! few seconds, and now and then a collect of the nearest object its stream shows. The
//! drill can hold all writes (a quiet moment, to compare whole areas) and tells a stable
//! comparison from one a write may have raced with.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use spacewars_harness::aim::{COLLECT_ATTEMPT_RANGE, nearest_collectable};
use spacewars_harness::api::Answer;
use spacewars_harness::player::Player;

use crate::chaos::edges::follower::Stream;

/// How long after a write's acknowledgement its event may take to reach the stream
/// before a comparison counts (the batch interval, the hop through NATS, a busy machine).
pub const SETTLE: Duration = Duration::from_millis(500);

/// Every how many actions one is a collect attempt.
const COLLECT_EVERY: u32 = 4;

/// One player's writes, as the drill sees them.
#[derive(Debug)]
pub struct Writes {
    /// Bumped when a write starts and when it is answered: odd while one is in flight.
    generation: AtomicU64,
    /// When the last write was answered, ms since `epoch`.
    answered_ms: AtomicU64,
    epoch: Instant,
    /// Writes answered 200.
    pub acked: AtomicU64,
    /// Writes refused or unanswered (the owner away during a takeover, a target gone).
    pub failed: AtomicU64,
}

impl Writes {
    /// No write yet.
    pub fn new(epoch: Instant) -> Writes {
        Writes {
            generation: AtomicU64::new(0),
            answered_ms: AtomicU64::new(0),
            epoch,
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// The write generation now (take it before and after reading the owner's world).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// True when a comparison against a world read between generations `before` and
    /// `after`, started at `read_at`, is fair: no write was in flight or started during
    /// the read, and the last one was answered at least [`SETTLE`] before it.
    pub fn stable(&self, before: u64, after: u64, read_at: Instant) -> bool {
        let answered = self.epoch + Duration::from_millis(self.answered_ms.load(Ordering::SeqCst));
        before == after && before % 2 == 0 && answered + SETTLE <= read_at
    }
}

/// Holds every player's writes while set.
#[derive(Debug, Default)]
pub struct Quiet(AtomicBool);

impl Quiet {
    /// Sets or clears the hold.
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst);
    }
}

/// Acts for `player` through `haproxy` for ever (abort the task to stop), a pause drawn
/// from `pause_ms` between actions.
pub async fn steer(
    haproxy: SocketAddr,
    player: Player,
    stream: Arc<Stream>,
    writes: Arc<Writes>,
    quiet: Arc<Quiet>,
    pause_ms: std::ops::RangeInclusive<u64>,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut api = player.api(haproxy);
    let mut actions = 0u32;
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(pause_ms.clone()))).await;
        // Announce the write before looking at the hold: a drill that set the hold and
        // then sees an even generation knows no write will start (both are SeqCst).
        writes.generation.fetch_add(1, Ordering::SeqCst);
        if !quiet.0.load(Ordering::SeqCst) {
            actions += 1;
            let ok = if actions % COLLECT_EVERY == 0 {
                let now_ms = unix_ms();
                let target = stream
                    .view()
                    .as_world(now_ms)
                    .and_then(|w| nearest_collectable(&w, player.ship_id))
                    .filter(|(_, distance)| *distance <= COLLECT_ATTEMPT_RANGE);
                match target {
                    Some((object, _)) => matches!(api.collect(object.id).await, Ok(Answer::Ok(_))),
                    None => continue_course(&mut api, &mut rng).await,
                }
            } else {
                continue_course(&mut api, &mut rng).await
            };
            let counter = if ok { &writes.acked } else { &writes.failed };
            counter.fetch_add(1, Ordering::SeqCst);
            let answered = writes.epoch.elapsed().as_millis() as u64;
            writes.answered_ms.store(answered, Ordering::SeqCst);
        }
        writes.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// A random new course; true when acknowledged.
async fn continue_course(api: &mut spacewars_harness::api::Api, rng: &mut StdRng) -> bool {
    let speed = f64::from(rng.random_range(1..=20u32));
    let angle = f64::from(rng.random_range(0..360u32));
    matches!(api.navigate(speed, angle).await, Ok(Answer::Ok(_)))
}

/// Now, Unix ms (the servers run on this machine's clock).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_is_fair_only_between_writes_and_after_the_settle_time() {
        let epoch = Instant::now();
        let writes = Writes::new(epoch);
        writes.answered_ms.store(1_000, Ordering::SeqCst);
        let at = |ms: u64| epoch + Duration::from_millis(ms);
        assert!(writes.stable(4, 4, at(1_500)));
        assert!(!writes.stable(4, 4, at(1_499)), "inside the settle time");
        assert!(!writes.stable(3, 3, at(9_000)), "a write in flight");
        assert!(!writes.stable(4, 6, at(9_000)), "a write during the read");
    }
}
