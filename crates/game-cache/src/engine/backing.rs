//! The repositories an [`Engine`](super::Engine) can run the game on: the write-behind
//! [`CachedRepo`] (production) and the plain [`DbRepo`] (every unit of work a database
//! transaction).

use std::sync::Arc;

use async_trait::async_trait;
use game_domain::clock::Clock;
use game_domain::geometry::WorldSize;
use game_domain::repository::Repository;
use game_persistence::{Database, DbRepo};

use super::error::{EngineError, ShutdownError};
use super::spill::{SpillTarget, stop_cache};
use crate::{CacheConfig, CachedRepo};

/// A repository the engine starts once the lease is held and stops at shutdown.
#[async_trait]
pub trait Backing: Repository + Sized + 'static {
    /// Its own configuration.
    type Config: Send + 'static;

    /// Starts it on `db` (the lease is held, the database seeded).
    async fn start(
        db: &Database,
        config: Self::Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, EngineError>;

    /// Drains the units of work in flight and writes what is still pending (spilling it
    /// to `spill` if the database keeps failing).
    async fn stop(&self, spill: &SpillTarget) -> Result<(), ShutdownError>;

    /// Changes made in memory and not yet written to the database.
    fn pending_changes(&self) -> usize;
}

#[async_trait]
impl Backing for CachedRepo {
    type Config = CacheConfig;

    async fn start(
        db: &Database,
        config: CacheConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<CachedRepo, EngineError> {
        Ok(CachedRepo::start(Arc::new(db.clone()), config, clock).await?)
    }

    async fn stop(&self, spill: &SpillTarget) -> Result<(), ShutdownError> {
        stop_cache(self, spill).await
    }

    fn pending_changes(&self) -> usize {
        let stats = self.stats();
        stats.dirty_users + stats.dirty_objects
    }
}

#[async_trait]
impl Backing for DbRepo {
    type Config = WorldSize;

    async fn start(
        db: &Database,
        world_size: WorldSize,
        _clock: Arc<dyn Clock>,
    ) -> Result<DbRepo, EngineError> {
        Ok(DbRepo::new(db.clone(), world_size))
    }

    async fn stop(&self, _spill: &SpillTarget) -> Result<(), ShutdownError> {
        // Every unit of work committed its own transaction: nothing is pending.
        Ok(())
    }

    fn pending_changes(&self) -> usize {
        0
    }
}
