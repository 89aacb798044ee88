//! The spill file around a start and a stop: applied at start (lease held, before the world
//! loads), written at shutdown when the final flush cannot reach the database.

use std::path::PathBuf;

use game_persistence::spill::{self, SpillError};
use game_persistence::{Database, StoreError};

use super::error::ShutdownError;
use crate::{CacheError, CachedRepo};

/// Where this process spills, the identity of the database the spill belongs to, and the
/// key that signs it.
#[derive(Clone)]
pub struct SpillTarget {
    /// The spill file.
    pub path: PathBuf,
    /// The database's identity ([`Database::identity`]).
    pub database_id: String,
    /// The database's spill key, read at start while the database answered.
    key: String,
    /// Where the write-behind history stands ([`Database::write_position`]).
    db: Database,
}

impl std::fmt::Debug for SpillTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the key.
        f.debug_struct("SpillTarget")
            .field("path", &self.path)
            .field("database_id", &self.database_id)
            .finish_non_exhaustive()
    }
}

/// Applies a spill file left by the previous process, if any, and returns where this
/// process would spill.
pub(crate) async fn replay_at_start(
    db: &Database,
    path: PathBuf,
) -> Result<SpillTarget, SpillError> {
    if let Some(replayed) = spill::replay(db, &path).await? {
        tracing::warn!(
            path = %path.display(),
            users = replayed.users,
            upserted_objects = replayed.upserted_objects,
            deleted_objects = replayed.deleted_objects,
            "applied the spill file left by the last shutdown"
        );
    }
    let apply = |source| SpillError::Apply {
        path: path.clone(),
        source,
    };
    let database_id = db.identity().await.map_err(apply)?;
    let key = db.server_key(spill::SPILL_KEY_NAME).await.map_err(apply)?;
    Ok(SpillTarget {
        path,
        database_id,
        key,
        db: db.clone(),
    })
}

/// The cache's stop: the final flush, retried until its timeout; if the database is still
/// failing, the pending changes go to the spill file.
pub(crate) async fn stop_cache(
    repo: &CachedRepo,
    target: &SpillTarget,
) -> Result<(), ShutdownError> {
    let error = match repo.shutdown().await {
        Ok(_) => return Ok(()),
        Err(error) => error,
    };
    let pending = repo.pending_batch().await;
    let changes =
        pending.users.len() + pending.upserted_objects.len() + pending.deleted_objects.len();
    if matches!(error, CacheError::Store(StoreError::LeaseLost)) {
        return Err(ShutdownError::LeaseLost { changes });
    }
    // Taken after the final flush gave up: a batch it abandoned is in doubt here.
    let position = target.db.write_position();
    match spill::write(
        &target.path,
        &target.database_id,
        target.key.as_bytes(),
        &position,
        &pending,
    ) {
        Ok(()) => {
            tracing::error!(
                path = %target.path.display(),
                changes,
                "database unreachable: pending changes written to the spill file"
            );
            Err(ShutdownError::Spilled {
                changes,
                path: target.path.clone(),
                source: error,
            })
        }
        Err(source) => Err(ShutdownError::Lost {
            changes,
            flush: error,
            source,
        }),
    }
}
