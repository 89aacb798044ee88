//! Configuration: command-line flags and environment variables, validated once at start.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use game_domain::geometry::WorldSize;
use game_domain::spawn::Spawn;
use thiserror::Error;

use crate::limits::{LimitsConfig, LimitsError};
use crate::relay::config::{RelayConfig, RelayConfigError};
use crate::storage::{StorageConfig, StorageConfigError};
use crate::switch::Switch;
use crate::world_stream::{SyncConfig, SyncConfigError};

/// Shortest accepted persist interval (docs/persistence.md, Write-behind): the cache's own
/// minimum, in the flag's unit, so the two checks cannot drift apart.
pub const MIN_PERSIST_INTERVAL_MS: u64 = game_cache::MIN_PERSIST_INTERVAL.as_millis() as u64;

/// The server's configuration. Every flag can also be given as an environment variable.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "game-server",
    version,
    about = "The Spacewars game server (HTTP/JSON)."
)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SPACEWARS_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Database: a SQLite file path (created with its schema if missing) or a
    /// `postgres://user@host:port/db` URL.
    #[arg(long, env = "SPACEWARS_DATABASE_URL", default_value = "spacewars.db")]
    pub database_url: String,

    /// How often the cache writes changed players and objects to the database, in
    /// milliseconds (at least 100; `--repo cached` only). A crash loses at most this much
    /// play.
    #[arg(long, env = "SPACEWARS_PERSIST_INTERVAL_MS", default_value_t = 30_000)]
    pub persist_interval_ms: u64,

    /// How many players the cache keeps in memory before evicting idle, already-saved ones
    /// (`--repo cached` only).
    #[arg(long, env = "SPACEWARS_MAX_CACHED_USERS", default_value_t = 10_000)]
    pub max_cached_users: usize,

    /// Where game state lives while the server runs: `cached` (memory with write-behind to
    /// the database) or `db` (every operation is a database transaction).
    #[arg(long, env = "SPACEWARS_REPO", value_enum, default_value_t = RepoKind::Cached)]
    pub repo: RepoKind,

    /// Whether an empty database is seeded with the demo player `a` / password `a`
    /// (the nine demo objects are seeded either way).
    #[arg(long, env = "SPACEWARS_DEMO_USER", value_enum, default_value_t = Switch::On)]
    pub demo_user: Switch,

    /// Mark the session cookie `Secure` (send it over HTTPS only); use behind TLS.
    #[arg(long, env = "SPACEWARS_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or a tracing
    /// directive such as `game_server=debug,info`.
    #[arg(long, env = "SPACEWARS_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Width of the toroidal world, in game units.
    #[arg(long, env = "SPACEWARS_WORLD_WIDTH", default_value_t = 500.0)]
    pub world_width: f64,

    /// Height of the toroidal world, in game units.
    #[arg(long, env = "SPACEWARS_WORLD_HEIGHT", default_value_t = 500.0)]
    pub world_height: f64,

    /// Where new ships start: `point` (the rules' spawn point, 250, 250) or `spread` (an
    /// operator option departing from the rules: evenly over the whole world, by user id;
    /// for large worlds and capacity runs).
    #[arg(long, env = "SPACEWARS_SPAWN", value_enum, default_value_t = SpawnKind::Point)]
    pub spawn: SpawnKind,

    /// Argon2id memory cost per password hash, in KiB (default: the recommended 19456).
    #[arg(long, env = "SPACEWARS_ARGON2_MEMORY_KIB", default_value_t = argon2::Params::DEFAULT_M_COST)]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations per password hash (default: the recommended 2).
    #[arg(long, env = "SPACEWARS_ARGON2_ITERATIONS", default_value_t = argon2::Params::DEFAULT_T_COST)]
    pub argon2_iterations: u32,

    /// Argon2id lanes per password hash (default: the recommended 1).
    #[arg(long, env = "SPACEWARS_ARGON2_PARALLELISM", default_value_t = argon2::Params::DEFAULT_P_COST)]
    pub argon2_parallelism: u32,

    /// A request taking longer than this many milliseconds is answered 503 `timeout`.
    #[arg(long, env = "SPACEWARS_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish, in milliseconds,
    /// before the final flush runs anyway.
    #[arg(long, env = "SPACEWARS_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,

    /// Limits under hostile load: hashing pool, rate limits, connection caps (docs/limits.md).
    #[command(flatten)]
    pub limits: LimitsConfig,

    /// World sync: the change log and the event streams.
    #[command(flatten)]
    pub sync: SyncConfig,

    /// Deadlines, the final flush and the spill file.
    #[command(flatten)]
    pub storage: StorageConfig,

    /// The NATS relay: publishing the world to edges, or serving streams as one.
    #[command(flatten)]
    pub relay: RelayConfig,
}

/// Which repository the game runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RepoKind {
    /// In-memory cache with write-behind persistence.
    Cached,
    /// The database directly.
    Db,
}

/// Where new ships start (`--spawn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpawnKind {
    /// At the spawn point of the rules.
    Point,
    /// Spread evenly over the world by user id.
    Spread,
}

impl From<SpawnKind> for Spawn {
    fn from(kind: SpawnKind) -> Spawn {
        match kind {
            SpawnKind::Point => Spawn::Point,
            SpawnKind::Spread => Spawn::Spread,
        }
    }
}

/// A configuration value out of range.
#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    /// Persist interval below the minimum.
    #[error("--persist-interval-ms must be at least {MIN_PERSIST_INTERVAL_MS} (got {0})")]
    PersistInterval(u64),
    /// Cache cap of zero.
    #[error("--max-cached-users must be at least 1")]
    MaxCachedUsers,
    /// World extents not finite and positive.
    #[error("--world-width and --world-height must be finite and positive (got {0} × {1})")]
    WorldSize(f64, f64),
    /// Argon2 parameters the algorithm rejects.
    #[error("invalid argon2 parameters: {0}")]
    Argon2(String),
    /// A zero timeout.
    #[error("--request-timeout-ms must be at least 1")]
    RequestTimeout,
    /// An empty database URL.
    #[error("--database-url must not be empty")]
    DatabaseUrl,
    /// A limit out of range.
    #[error(transparent)]
    Limits(#[from] LimitsError),
    /// A world sync size out of range.
    #[error(transparent)]
    Sync(#[from] SyncConfigError),
    /// A storage deadline out of range.
    #[error(transparent)]
    Storage(#[from] StorageConfigError),
    /// A relay flag out of range, or given to a build without NATS.
    #[error(transparent)]
    Relay(#[from] RelayConfigError),
}

impl Default for Config {
    /// The defaults, as if no flag or variable were given (environment variables are not
    /// read here, unlike [`Parser::parse`]).
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "spacewars.db".to_owned(),
            persist_interval_ms: 30_000,
            max_cached_users: 10_000,
            repo: RepoKind::Cached,
            demo_user: Switch::On,
            secure_cookies: false,
            log_level: "info".to_owned(),
            world_width: 500.0,
            world_height: 500.0,
            spawn: SpawnKind::Point,
            argon2_memory_kib: argon2::Params::DEFAULT_M_COST,
            argon2_iterations: argon2::Params::DEFAULT_T_COST,
            argon2_parallelism: argon2::Params::DEFAULT_P_COST,
            request_timeout_ms: 10_000,
            shutdown_grace_ms: 10_000,
            limits: LimitsConfig::default(),
            sync: SyncConfig::default(),
            storage: StorageConfig::default(),
            relay: RelayConfig::default(),
        }
    }
}

impl Config {
    /// Checks every value; the server refuses to start on the first error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.persist_interval_ms < MIN_PERSIST_INTERVAL_MS {
            return Err(ConfigError::PersistInterval(self.persist_interval_ms));
        }
        if self.max_cached_users == 0 {
            return Err(ConfigError::MaxCachedUsers);
        }
        self.world_size()?;
        self.argon2_params()?;
        if self.request_timeout_ms == 0 {
            return Err(ConfigError::RequestTimeout);
        }
        if self.database_url.trim().is_empty() {
            return Err(ConfigError::DatabaseUrl);
        }
        self.limits.validate()?;
        self.sync.validate()?;
        self.storage.validate()?;
        self.relay.validate()?;
        Ok(())
    }

    /// The world's dimensions.
    pub fn world_size(&self) -> Result<WorldSize, ConfigError> {
        WorldSize::new(self.world_width, self.world_height)
            .ok_or(ConfigError::WorldSize(self.world_width, self.world_height))
    }

    /// The argon2id cost parameters.
    pub fn argon2_params(&self) -> Result<argon2::Params, ConfigError> {
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| ConfigError::Argon2(e.to_string()))
    }

    /// The persist interval.
    pub fn persist_interval(&self) -> Duration {
        Duration::from_millis(self.persist_interval_ms)
    }

    /// The per-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The drain time limit at shutdown.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    /// The database URL with any password replaced, for logs.
    pub fn redacted_database_url(&self) -> String {
        let url = &self.database_url;
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.clone();
        };
        match rest.split_once('@') {
            Some((credentials, host)) if credentials.contains(':') => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            _ => url.clone(),
        }
    }
}

impl fmt::Display for Config {
    /// The effective configuration on one line (passwords redacted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "listen={} database_url={} repo={:?} persist_interval_ms={} max_cached_users={} \
             demo_user={:?} secure_cookies={} world={}x{} spawn={:?} argon2(m_kib={}, t={}, p={}) \
             request_timeout_ms={} shutdown_grace_ms={} log_level={} {} {} {}",
            self.listen,
            self.redacted_database_url(),
            self.repo,
            self.persist_interval_ms,
            self.max_cached_users,
            self.demo_user,
            self.secure_cookies,
            self.world_width,
            self.world_height,
            self.spawn,
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            self.request_timeout_ms,
            self.shutdown_grace_ms,
            self.log_level,
            self.limits,
            self.sync,
            self.storage,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("game-server").chain(args.iter().copied()))
            .expect("valid flags")
    }

    #[test]
    fn defaults_match_the_brief() {
        let config = Config::default();
        let clean_env = std::env::vars().all(|(name, _)| {
            !name.starts_with("SPACEWARS_") || name.starts_with("SPACEWARS_TEST_")
        });
        if clean_env {
            assert_eq!(parse(&[]), config, "Default and the flag defaults agree");
        }
        assert_eq!(config.listen, "127.0.0.1:3000".parse().expect("addr"));
        assert_eq!(config.database_url, "spacewars.db");
        assert_eq!(config.persist_interval_ms, 30_000);
        assert_eq!(config.repo, RepoKind::Cached);
        assert_eq!(config.demo_user, Switch::On);
        assert!(!config.secure_cookies);
        assert_eq!((config.world_width, config.world_height), (500.0, 500.0));
        assert_eq!(config.spawn, SpawnKind::Point);
        assert_eq!(
            (
                config.argon2_memory_kib,
                config.argon2_iterations,
                config.argon2_parallelism
            ),
            (19_456, 2, 1)
        );
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn flags_override_defaults_and_are_validated() {
        let config = parse(&[
            "--listen",
            "0.0.0.0:0",
            "--repo",
            "db",
            "--demo-user",
            "off",
            "--persist-interval-ms",
            "100",
            "--secure-cookies",
            "--spawn",
            "spread",
        ]);
        assert_eq!(Spawn::from(config.spawn), Spawn::Spread);
        assert_eq!(config.repo, RepoKind::Db);
        assert_eq!(config.demo_user, Switch::Off);
        assert!(config.secure_cookies);
        assert_eq!(config.validate(), Ok(()));

        let too_fast = parse(&["--persist-interval-ms", "99"]);
        assert_eq!(too_fast.validate(), Err(ConfigError::PersistInterval(99)));
        let flat = parse(&["--world-width", "0"]);
        assert!(matches!(flat.validate(), Err(ConfigError::WorldSize(..))));
        let cheap = parse(&["--argon2-memory-kib", "1"]);
        assert!(matches!(cheap.validate(), Err(ConfigError::Argon2(_))));
        assert!(Config::try_parse_from(["game-server", "--repo", "redis"]).is_err());
    }

    #[test]
    fn database_passwords_stay_out_of_logs() {
        let config = parse(&["--database-url", "postgres://game:secret@db:5432/spacewars"]);
        assert_eq!(
            config.redacted_database_url(),
            "postgres://game:***@db:5432/spacewars"
        );
        assert!(!config.to_string().contains("secret"));
        assert_eq!(
            parse(&["--database-url", "postgres://postgres@db/x"]).redacted_database_url(),
            "postgres://postgres@db/x"
        );
    }
}
