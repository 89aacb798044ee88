//! What a stream about to open asks of the edge's link, and the wait until the
//! repository holds it: the whole world for a whole-world stream, the cells around the
//! player's ship for an area stream (an edge following some cells may hold neither).

use std::time::Duration;

use game_domain::error::{AppError, StorageKind};
use game_domain::repository::Repository;
use game_domain::space_object::ObjectId;
use game_domain::user::UserId;
use tokio::sync::oneshot;
use tokio::time::Instant;

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
