//! What a stream about to open asks of the edge's link, the wait until the repository
//! holds it (the whole world for a whole-world stream, the cells around the player's ship
//! for an area stream: an edge following some cells may hold neither), and the link's
//! answer.

use std::time::Duration;

use game_domain::error::{AppError, StorageKind};
use game_domain::repository::Repository;
use game_domain::space_object::ObjectId;
use game_domain::user::UserId;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::following::Following;
use super::link::{Link, WHOLE_HOLD_MS};
use super::repo::{EdgeRefusal, EdgeRepo};

/// How many demands may wait for the link; past it a stream waits and asks again.
pub const DEMAND_QUEUE: usize = 256;

/// How long a stream waits for what it asked for (a few snapshot round trips).
const PREPARE_WAIT: Duration = Duration::from_secs(5);

/// How often it asks again meanwhile (the owner may not have published a new ship yet).
const ASK_AGAIN: Duration = Duration::from_millis(250);

/// A demand on the link.
#[derive(Debug)]
pub enum Demand {
    /// The whole world: a whole-world stream is about to open.
    Whole,
    /// The cells around `ship` that an area of `radius` needs; `done` is answered once
    /// they are followed (dropped when the owner does not know the ship).
    Ship {
        /// The player's ship.
        ship: ObjectId,
        /// The area's radius.
        radius: f64,
        /// Answered when the cells are followed.
        done: oneshot::Sender<()>,
    },
}

impl EdgeRepo {
    /// Readies what a stream of `user_id` needs (see
    /// [`crate::backend::Backend::prepare_stream`]): asks the link, and waits until the
    /// world installed holds it, asking again every [`ASK_AGAIN`], for at most
    /// [`PREPARE_WAIT`].
    pub(super) async fn prepare(&self, user_id: UserId, area: Option<f64>) -> Result<(), AppError> {
        let ship = match area {
            Some(radius) => Some((self.db.read_player(user_id, |_, s| s.id).await?, radius)),
            None => None,
        };
        let mut versions = self.versions.subscribe();
        let deadline = Instant::now() + PREPARE_WAIT;
        let mut followed = false;
        loop {
            if !self.is_live() {
                // No feed (NATS away): nothing to wait for; the balancer picks another edge.
                return Err(AppError::storage(
                    StorageKind::Unavailable,
                    EdgeRefusal::NoFeed,
                ));
            }
            let ready = match ship {
                None => self.is_whole(),
                Some((id, _)) => (followed || self.is_whole()) && self.holds(id),
            };
            if ready {
                return Ok(());
            }
            let wake = deadline.min(Instant::now() + ASK_AGAIN);
            match ship {
                Some((ship, radius)) if !followed && !self.is_whole() => {
                    let (done, answer) = oneshot::channel();
                    // A full queue: the link is busy with the same asks; ask again later.
                    let _ = self.demands.try_send(Demand::Ship { ship, radius, done });
                    followed = matches!(tokio::time::timeout_at(wake, answer).await, Ok(Ok(())));
                    if !followed {
                        tokio::time::sleep_until(wake).await;
                    }
                }
                Some(_) => {
                    let _ = tokio::time::timeout_at(wake, versions.changed()).await;
                }
                None => {
                    let _ = self.demands.try_send(Demand::Whole);
                    let _ = tokio::time::timeout_at(wake, versions.changed()).await;
                }
            }
            if Instant::now() >= deadline {
                return Err(AppError::storage(
                    StorageKind::Unavailable,
                    EdgeRefusal::NotReady,
                ));
            }
        }
    }
}

impl Link {
    /// Answers what a stream about to open asks for (with every ship asked for
    /// meanwhile, in one request to the owner); an error ends the round.
    pub(super) async fn demanded(
        &mut self,
        following: &mut Following,
        demand: Demand,
    ) -> Result<(), String> {
        let now_ms = self.app.game.now_ms();
        let mut asked = Vec::new();
        let mut next = Some(demand);
        while let Some(demand) = next.take() {
            match demand {
                Demand::Whole => self.whole_until_ms = now_ms + WHOLE_HOLD_MS,
                Demand::Ship { ship, radius, done } => asked.push((ship, radius, done)),
            }
            if asked.len() < DEMAND_QUEUE {
                next = self.demands.try_recv().ok();
            }
        }
        let Following::Cells(follower) = following else {
            // The whole world is here: every ship the owner published is.
            for (_, _, done) in asked {
                let _ = done.send(());
            }
            return Ok(());
        };
        if self.wants_whole(now_ms) {
            // Unanswered ships ask again, and find the whole world.
            return Err("a whole-world stream asked for the whole world".into());
        }
        if asked.is_empty() {
            return Ok(());
        }
        let ships: Vec<_> = asked
            .iter()
            .map(|(ship, radius, _)| (*ship, *radius))
            .collect();
        let found = follower
            .locate(&self.wire(), &self.app.streams, &ships, now_ms)
            .await;
        let found = self.stopped(found, now_ms)?;
        for (ship, _, done) in asked {
            if found.contains(&ship) {
                let _ = done.send(());
            }
        }
        Ok(())
    }
}
