//! The expired-session sweep the engine runs for every embedder: without it a database
//! keeps every session ever made (a login makes one; expiry only stops it from working).

use std::sync::Arc;
use std::time::Duration;

use game_domain::clock::Clock;
use game_persistence::{Database, LeaseStatus};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// The default interval between sweeps: ten minutes.
pub const DEFAULT_SESSION_SWEEP: Duration = Duration::from_secs(600);

/// Deletes expired and revoked sessions every `period` (the first time after one period)
/// by `clock`'s time, until the lease is lost; failures are logged and retried at the next
/// tick. Sessions are the only rows the sweep touches, and the cache reads a session's
/// expiry itself, so deleting them under a running cache changes no answer.
pub(super) fn spawn_session_sweep(
    db: Database,
    clock: Arc<dyn Clock>,
    period: Duration,
    lease: LeaseStatus,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                // Another process owns the database now: its sweep is its own business.
                () = lease.lost() => return,
            }
            match db.delete_dead_sessions(clock.now_ms()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted expired and revoked sessions"),
                Err(error) => tracing::warn!(%error, "session sweep failed"),
            }
        }
    })
}
