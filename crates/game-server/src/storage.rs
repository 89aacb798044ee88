//! The database when it misbehaves (docs/persistence.md, Deadlines and Graceful shutdown):
//! the flags for deadlines, the final flush and the spill file, flattened into
//! [`crate::Config`]; where the spill file lives; writing it at shutdown and applying it at
//! start.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use game_cache::{CacheError, CachedRepo};
use game_persistence::spill::{self, SpillError};
use game_persistence::{Database, Deadlines, StoreError};
use thiserror::Error;

/// Deadlines, the final flush and the spill file; every flag also reads `SPACEWARS_<FLAG>`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct StorageConfig {
    /// Deadline of every database call, in milliseconds (waiting for a connection
    /// included). A call past it fails (counted in `spacewars_db_timeouts_total`); it is
    /// also PostgreSQL's `statement_timeout` and SQLite's `busy_timeout`.
    #[arg(long, env = "SPACEWARS_DB_CALL_TIMEOUT_MS", default_value_t = 5_000)]
    pub db_call_timeout_ms: u64,

    /// Deadline of a write-behind batch (one transaction of every dirty row), in
    /// milliseconds. A batch past it fails like any failed flush and is retried.
    #[arg(long, env = "SPACEWARS_DB_BATCH_TIMEOUT_MS", default_value_t = 60_000)]
    pub db_batch_timeout_ms: u64,

    /// Deadline for opening a PostgreSQL connection, in milliseconds (whole seconds, at
    /// least 2 s, are passed to libpq as `connect_timeout`).
    #[arg(long, env = "SPACEWARS_DB_CONNECT_TIMEOUT_MS", default_value_t = 5_000)]
    pub db_connect_timeout_ms: u64,

    /// At shutdown, how long the final flush is retried while the database fails, in
    /// milliseconds; after that the pending changes go to the spill file.
    #[arg(
        long,
        alias = "shutdown-flush-timeout",
        env = "SPACEWARS_SHUTDOWN_FLUSH_TIMEOUT_MS",
        default_value_t = 300_000
    )]
    pub shutdown_flush_timeout_ms: u64,

    /// Directory of the spill file (`spacewars.spill`); default: the SQLite database's
    /// directory, or the working directory for PostgreSQL.
    #[arg(long, env = "SPACEWARS_SPILL_DIR")]
    pub spill_dir: Option<PathBuf>,
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            db_call_timeout_ms: 5_000,
            db_batch_timeout_ms: 60_000,
            db_connect_timeout_ms: 5_000,
            shutdown_flush_timeout_ms: 300_000,
            spill_dir: None,
        }
    }
}

/// A storage flag out of range.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StorageConfigError {
    /// A zero call deadline.
    #[error("--db-call-timeout-ms must be at least 1")]
    CallTimeout,
    /// A zero batch deadline.
    #[error("--db-batch-timeout-ms must be at least 1")]
    BatchTimeout,
    /// A zero connect deadline.
    #[error("--db-connect-timeout-ms must be at least 1")]
    ConnectTimeout,
}

impl StorageConfig {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), StorageConfigError> {
        if self.db_call_timeout_ms == 0 {
            return Err(StorageConfigError::CallTimeout);
        }
        if self.db_batch_timeout_ms == 0 {
            return Err(StorageConfigError::BatchTimeout);
        }
        if self.db_connect_timeout_ms == 0 {
            return Err(StorageConfigError::ConnectTimeout);
        }
        Ok(())
    }

    /// The database deadlines.
    pub fn deadlines(&self) -> Deadlines {
        Deadlines {
            call: Duration::from_millis(self.db_call_timeout_ms),
            batch: Duration::from_millis(self.db_batch_timeout_ms),
            connect: Duration::from_millis(self.db_connect_timeout_ms),
        }
    }

    /// How long the final flush is retried.
    pub fn shutdown_flush_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_flush_timeout_ms)
    }

    /// The spill file for the database at `database_url`.
    pub fn spill_path(&self, database_url: &str) -> PathBuf {
        if let Some(dir) = &self.spill_dir {
            return spill::path_in(dir);
        }
        let is_postgres =
            database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
        let dir = if is_postgres {
            Path::new(".")
        } else {
            let file = database_url
                .strip_prefix("sqlite://")
                .unwrap_or(database_url);
            Path::new(file)
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        };
        spill::path_in(dir)
    }
}

impl fmt::Display for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "db_call_timeout_ms={} db_batch_timeout_ms={} db_connect_timeout_ms={} \
             shutdown_flush_timeout_ms={} spill_dir={}",
            self.db_call_timeout_ms,
            self.db_batch_timeout_ms,
            self.db_connect_timeout_ms,
            self.shutdown_flush_timeout_ms,
            self.spill_dir
                .as_deref()
                .map_or("(default)".into(), |d| d.display().to_string()),
        )
    }
}

/// Where this process spills, and the identity of the database the spill belongs to.
#[derive(Debug, Clone)]
pub struct SpillTarget {
    /// The spill file.
    pub path: PathBuf,
    /// The database's identity ([`Database::identity`]).
    pub database_id: String,
}

/// Applies a spill file left by the previous process, if any (with the lease held, before
/// anything is loaded or served), and returns where this process would spill.
pub async fn replay_at_start(db: &Database, path: PathBuf) -> Result<SpillTarget, SpillError> {
    if let Some(replayed) = spill::replay(db, &path).await? {
        tracing::warn!(
            path = %path.display(),
            users = replayed.users,
            upserted_objects = replayed.upserted_objects,
            deleted_objects = replayed.deleted_objects,
            "applied the spill file left by the last shutdown"
        );
    }
    let database_id = db.identity().await.map_err(|source| SpillError::Apply {
        path: path.clone(),
        source,
    })?;
    Ok(SpillTarget { path, database_id })
}

/// Why the final flush failed at shutdown, and what became of the changes it could not
/// write. The source is always the cache's error (the last flush attempt's).
#[derive(Debug, Error)]
pub enum FinalFlushError {
    /// This process lost the database lease: the pending changes were not spilled, since
    /// the new owner's state wins and a spill would bring this one's back over it.
    #[error("{source}; not spilled (another process owns the database)")]
    NotSpilled {
        /// The final flush's error.
        #[source]
        source: CacheError,
    },
    /// The database stayed unreachable; the pending changes are safe in the spill file and
    /// are applied at the next start on this database.
    #[error(
        "{source}; the {changes} pending changes were saved to the spill file {} (fsynced) \
         and are applied at the next start on this database",
        path.display()
    )]
    Spilled {
        /// The final flush's error.
        #[source]
        source: CacheError,
        /// Users, upserted and deleted objects written to the file.
        changes: usize,
        /// The spill file.
        path: PathBuf,
    },
    /// Writing the spill file failed too: the pending changes are lost.
    #[error(
        "{source}; writing the spill file failed too ({spill}): the {changes} pending \
         changes are lost"
    )]
    Lost {
        /// The final flush's error.
        #[source]
        source: CacheError,
        /// Why the spill file could not be written.
        spill: SpillError,
        /// Users, upserted and deleted objects lost.
        changes: usize,
    },
}

/// The cache's shutdown: the final flush, retried until its timeout; if the database is
/// still failing, the pending changes go to the spill file. Err (the process then exits
/// non-zero) says what happened to them.
pub async fn shutdown_cache(repo: &CachedRepo, spill: &SpillTarget) -> Result<(), FinalFlushError> {
    let error = match repo.shutdown().await {
        Ok(_) => return Ok(()),
        Err(error) => error,
    };
    if matches!(error, CacheError::Store(StoreError::LeaseLost)) {
        return Err(FinalFlushError::NotSpilled { source: error });
    }
    let pending = repo.pending_batch().await;
    let changes =
        pending.users.len() + pending.upserted_objects.len() + pending.deleted_objects.len();
    match spill::write(&spill.path, &spill.database_id, &pending) {
        Ok(()) => {
            tracing::error!(
                path = %spill.path.display(),
                changes,
                "database unreachable: pending changes written to the spill file"
            );
            Err(FinalFlushError::Spilled {
                source: error,
                changes,
                path: spill.path.clone(),
            })
        }
        Err(spill_error) => Err(FinalFlushError::Lost {
            source: error,
            spill: spill_error,
            changes,
        }),
    }
}

/// Deletes expired and revoked sessions every `period` (the first time after one
/// period); failures are logged and retried at the next tick.
pub(crate) fn spawn_session_sweep(
    db: Database,
    clock: std::sync::Arc<dyn game_domain::clock::Clock>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match db.delete_dead_sessions(clock.now_ms()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted expired and revoked sessions"),
                Err(error) => tracing::warn!(%error, "session sweep failed"),
            }
        }
    })
}
