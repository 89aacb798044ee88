//! Why the engine could not start, and what happened to the data when it stopped.

use std::path::PathBuf;

use game_domain::error::AppError;
use game_persistence::StoreError;
use game_persistence::spill::SpillError;
use thiserror::Error;

use crate::CacheError;

/// Why [`Engine::open`](super::Engine::open) failed; nothing is left running.
#[derive(Debug, Error)]
pub enum EngineError {
    /// An option is out of range.
    #[error("invalid engine options: {0}")]
    InvalidOptions(String),
    /// Another process owns the database (docs/persistence.md, One owner).
    #[error(
        "the database is in use by another server process ({owner}); its lease expires at \
         {expires_ms} (Unix ms) unless renewed. Stop that process, or wait for the lease to \
         expire if it crashed"
    )]
    LeaseHeld {
        /// Who holds the lease.
        owner: String,
        /// When it expires unless renewed.
        expires_ms: i64,
    },
    /// Connecting, migrating, seeding or taking the lease failed.
    #[error("database")]
    Store(#[source] StoreError),
    /// A spill file could not be applied (corrupt, foreign, or refused).
    #[error("spill file at start")]
    Spill(#[from] SpillError),
    /// Hashing the demo user's password failed.
    #[error("hashing the demo user's password")]
    DemoPassword(#[source] AppError),
    /// Starting the repository (loading the world) failed.
    #[error("starting the cache")]
    Cache(#[from] CacheError),
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> EngineError {
        match error {
            StoreError::LeaseHeld { owner, expires_ms } => {
                EngineError::LeaseHeld { owner, expires_ms }
            }
            other => EngineError::Store(other),
        }
    }
}

/// What went wrong at [`Engine::shutdown`](super::Engine::shutdown), and what became of
/// the changes not yet written.
#[derive(Debug, Error)]
pub enum ShutdownError {
    /// Another process took the database over while this one ran: its state wins, so the
    /// changes this process still held were neither written nor spilled (they would
    /// overwrite the new owner's at the next start).
    #[error(
        "lost the database lease to another process; the {changes} changes not yet written \
         were dropped"
    )]
    LeaseLost {
        /// Changes that were not written.
        changes: usize,
    },
    /// The database kept failing; the pending changes are safe in the spill file and are
    /// applied at the next start on this database.
    #[error(
        "final flush failed; the {changes} pending changes were saved to the spill file {} \
         (fsynced) and are applied at the next start on this database",
        path.display()
    )]
    Spilled {
        /// Changes in the spill file.
        changes: usize,
        /// The spill file.
        path: PathBuf,
        /// The flush failure.
        #[source]
        source: CacheError,
    },
    /// The database kept failing and the spill file could not be written: the pending
    /// changes are lost.
    #[error(
        "final flush failed ({flush}) and writing the spill file failed too: the {changes} \
         pending changes are lost"
    )]
    Lost {
        /// Changes lost.
        changes: usize,
        /// The flush failure.
        flush: CacheError,
        /// The spill failure.
        #[source]
        source: SpillError,
    },
    /// Everything was written, but freeing the lease failed: another process can take over
    /// only once it expires.
    #[error("releasing the database lease")]
    Release(#[source] StoreError),
}
