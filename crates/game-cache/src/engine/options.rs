//! What [`Engine::open`](super::Engine::open) needs to know: where the database is, how
//! this process holds its lease, whether to seed the demo user, where to spill, how often
//! to sweep expired sessions.

use std::path::{Path, PathBuf};
use std::time::Duration;

use game_domain::spawn::Spawn;
use game_persistence::{Deadlines, spill};

use super::error::EngineError;
use super::sweep::DEFAULT_SESSION_SWEEP;

/// How this process holds the database lease (docs/persistence.md, One owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOptions {
    /// The name written into the lease and shown to a process that is refused or waits.
    pub owner: String,
    /// How long the lease lasts without renewal; it is renewed every third of it. After a
    /// crash, another process can take over after at most this long.
    pub ttl: Duration,
    /// How often a waiting process ([`Engine::open_when_free`](super::Engine::open_when_free))
    /// tries to take the lease.
    pub poll: Duration,
}

/// The shortest lease accepted: renewals every third of it must fit a database round trip.
pub const MIN_LEASE_TTL: Duration = Duration::from_millis(300);
/// The default lease: 10 s, renewed every 3.3 s.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
/// The default interval between a waiting process's attempts to take the lease.
pub const DEFAULT_LEASE_POLL: Duration = Duration::from_millis(100);

impl LeaseOptions {
    /// A lease named `owner` with the default TTL and poll interval.
    pub fn named(owner: impl Into<String>) -> LeaseOptions {
        LeaseOptions {
            owner: owner.into(),
            ttl: DEFAULT_LEASE_TTL,
            poll: DEFAULT_LEASE_POLL,
        }
    }

    /// Checks the TTL and poll interval.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.ttl < MIN_LEASE_TTL {
            return Err(EngineError::InvalidOptions(format!(
                "lease ttl {} ms is below the minimum of {} ms",
                self.ttl.as_millis(),
                MIN_LEASE_TTL.as_millis()
            )));
        }
        if self.poll.is_zero() || self.poll > self.ttl {
            return Err(EngineError::InvalidOptions(format!(
                "lease poll interval {} ms must be at least 1 ms and at most the ttl ({} ms)",
                self.poll.as_millis(),
                self.ttl.as_millis()
            )));
        }
        if self.owner.trim().is_empty() {
            return Err(EngineError::InvalidOptions(
                "lease owner name must not be empty".into(),
            ));
        }
        Ok(())
    }
}

/// Everything the engine's start-up needs besides the repository's own configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// `sqlite://path`, a plain file path, or `postgres://…`; migrations run on connect.
    pub database_url: String,
    /// Deadlines of database calls, batches and connects.
    pub deadlines: Deadlines,
    /// The lease.
    pub lease: LeaseOptions,
    /// Seed the demo user (`a` / password `a`, 1000 iron) into an empty database. Off
    /// unless asked for: a known password is for demos and tests only.
    pub demo_user: bool,
    /// Directory of the spill file; `None`: the SQLite database's directory, or the working
    /// directory for PostgreSQL.
    pub spill_dir: Option<PathBuf>,
    /// Seed of the game's RNG (collect rolls, session tokens); `None` seeds from the OS.
    pub rng_seed: Option<u64>,
    /// Where new ships start (the rules' spawn point unless an operator spreads them).
    pub spawn: Spawn,
    /// How often expired and revoked sessions are deleted from the database.
    pub session_sweep: Duration,
}

impl EngineOptions {
    /// Options for the database at `database_url` with a lease named `owner` and every
    /// other value at its default: no demo user, the default deadlines and lease timing,
    /// a session sweep every [`DEFAULT_SESSION_SWEEP`].
    pub fn new(database_url: impl Into<String>, owner: impl Into<String>) -> EngineOptions {
        EngineOptions {
            database_url: database_url.into(),
            deadlines: Deadlines::default(),
            lease: LeaseOptions::named(owner),
            demo_user: false,
            spill_dir: None,
            rng_seed: None,
            spawn: Spawn::Point,
            session_sweep: DEFAULT_SESSION_SWEEP,
        }
    }

    /// Checks the lease timing and the sweep interval.
    pub fn validate(&self) -> Result<(), EngineError> {
        self.lease.validate()?;
        if self.session_sweep.is_zero() {
            return Err(EngineError::InvalidOptions(
                "session sweep interval must be at least 1 ms".into(),
            ));
        }
        Ok(())
    }

    /// The spill file for this database.
    pub fn spill_path(&self) -> PathBuf {
        spill_path(self.spill_dir.as_deref(), &self.database_url)
    }
}

/// The spill file in `spill_dir`, or by default beside the SQLite database (the working
/// directory for PostgreSQL).
pub fn spill_path(spill_dir: Option<&Path>, database_url: &str) -> PathBuf {
    if let Some(dir) = spill_dir {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_timing_is_validated() {
        let mut lease = LeaseOptions::named("a");
        assert!(lease.validate().is_ok());
        lease.ttl = Duration::from_millis(299);
        assert!(lease.validate().is_err());
        lease.ttl = MIN_LEASE_TTL;
        assert!(lease.validate().is_ok());
        lease.poll = Duration::ZERO;
        assert!(lease.validate().is_err());
        lease.poll = MIN_LEASE_TTL + Duration::from_millis(1);
        assert!(lease.validate().is_err());
        lease.poll = MIN_LEASE_TTL;
        assert!(lease.validate().is_ok());
        lease.owner = "  ".into();
        assert!(lease.validate().is_err());
    }

    #[test]
    fn the_spill_file_sits_beside_sqlite_or_in_the_working_directory() {
        assert_eq!(
            spill_path(None, "sqlite:///var/lib/sw/game.db"),
            spill::path_in(Path::new("/var/lib/sw"))
        );
        assert_eq!(
            spill_path(None, "data/game.db"),
            spill::path_in(Path::new("data"))
        );
        assert_eq!(spill_path(None, "game.db"), spill::path_in(Path::new(".")));
        assert_eq!(
            spill_path(None, "postgres://h/db"),
            spill::path_in(Path::new("."))
        );
        assert_eq!(
            spill_path(Some(Path::new("/s")), "postgres://h/db"),
            spill::path_in(Path::new("/s"))
        );
    }
}
