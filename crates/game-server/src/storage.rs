//! The database flags, flattened into [`crate::Config`]: deadlines, the final flush and
//! the spill file (docs/persistence.md, Deadlines and Graceful shutdown), the lease and
//! standby mode (docs/operations.md, Failover).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use game_cache::engine::{DEFAULT_LEASE_POLL, LeaseOptions, MIN_LEASE_TTL};
use game_persistence::Deadlines;
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

    /// How long the database lease lasts without renewal, in milliseconds (at least 300;
    /// renewed every third of it). After a crash, a standby takes over within this long
    /// plus the world load.
    #[arg(long, env = "SPACEWARS_LEASE_TTL_MS", default_value_t = 10_000)]
    pub lease_ttl_ms: u64,

    /// Start as a standby: answer `/healthz` but `/readyz` and game requests with 503
    /// `standby`, wait until the database lease is free (released by a clean shutdown or
    /// expired after a crash), then load the world and serve.
    #[arg(long, env = "SPACEWARS_STANDBY")]
    pub standby: bool,
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            db_call_timeout_ms: 5_000,
            db_batch_timeout_ms: 60_000,
            db_connect_timeout_ms: 5_000,
            shutdown_flush_timeout_ms: 300_000,
            spill_dir: None,
            lease_ttl_ms: 10_000,
            standby: false,
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
    /// A lease too short to be renewed reliably.
    #[error("--lease-ttl-ms must be at least {min} (got {0})", min = MIN_LEASE_TTL.as_millis())]
    LeaseTtl(u64),
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
        if Duration::from_millis(self.lease_ttl_ms) < MIN_LEASE_TTL {
            return Err(StorageConfigError::LeaseTtl(self.lease_ttl_ms));
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

    /// The lease this process takes under the name `owner`: `--lease-ttl-ms`, and a
    /// standby's poll interval (a tenth of the TTL, at most the default 100 ms) so that
    /// a released lease is taken over within a few hundred milliseconds.
    pub fn lease(&self, owner: String) -> LeaseOptions {
        let ttl = Duration::from_millis(self.lease_ttl_ms);
        LeaseOptions {
            owner,
            ttl,
            poll: (ttl / 10).min(DEFAULT_LEASE_POLL),
        }
    }
}

impl fmt::Display for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "db_call_timeout_ms={} db_batch_timeout_ms={} db_connect_timeout_ms={} \
             shutdown_flush_timeout_ms={} spill_dir={} lease_ttl_ms={} standby={}",
            self.db_call_timeout_ms,
            self.db_batch_timeout_ms,
            self.db_connect_timeout_ms,
            self.shutdown_flush_timeout_ms,
            self.spill_dir
                .as_deref()
                .map_or("(default)".into(), |d| d.display().to_string()),
            self.lease_ttl_ms,
            self.standby,
        )
    }
}
