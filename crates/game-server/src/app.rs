//! Wiring: configuration → store (migrations, lease, seed) → repository → game → listener.
//!
//! [`Server::bind`] does every start-up step and only then opens the listener, so the first
//! request on a fresh database already finds the demo world. [`Server::run`] serves until
//! the shutdown future resolves, drains, makes the final flush and releases the lease.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use game_cache::{CacheConfig, CacheError, CachedRepo};
use game_domain::clock::{Clock, SystemClock};
use game_domain::game::Game;
use game_domain::seed;
use game_persistence::spill::SpillError;
use game_persistence::{Database, DbRepo, LeaseGuard, StoreError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use thiserror::Error;
use tokio::net::TcpListener;

use crate::backend::Backend;
use crate::config::{Config, ConfigError, RepoKind, Switch};
use crate::limits::hash_pool::HashPool;
use crate::limits::{Limits, raise_open_file_limit};
use crate::metrics::HttpMetrics;
use crate::password::{Argon2Hasher, HashError};
use crate::serve::{Listeners, serve};
use crate::session::SessionKeys;
use crate::shutdown::Lifecycle;
use crate::storage::{SpillTarget, replay_at_start, spawn_session_sweep};
use crate::world_stream::StreamHub;
use crate::world_stream::task::broadcast_changes;

/// The state every request handler sees.
pub struct App<R> {
    /// The use cases over the chosen repository.
    pub game: Game<R>,
    /// Request counters and latencies.
    pub http_metrics: HttpMetrics,
    /// Shutdown flag and in-flight requests.
    pub lifecycle: Arc<Lifecycle>,
    /// Whether cookies get `Secure`.
    pub secure_cookies: bool,
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Rate limits, connection caps, the hashing pool (docs/limits.md).
    pub limits: Arc<Limits>,
    /// The world event streams.
    pub streams: StreamHub,
    /// Area radius of a stream that names none, and the largest one allowed.
    pub interest_radius: (f64, f64),
    /// How often stream areas are recomputed.
    pub interest_tick: Duration,
    /// Signs session cookies and checks them before any lookup.
    pub sessions: SessionKeys,
}

impl<R: Backend> App<R> {
    /// The handlers' state around `game`.
    pub fn new(
        game: Game<R>,
        config: &Config,
        limits: Arc<Limits>,
        sessions: SessionKeys,
    ) -> App<R> {
        App {
            game,
            http_metrics: HttpMetrics::default(),
            lifecycle: Arc::new(Lifecycle::default()),
            secure_cookies: config.secure_cookies,
            request_timeout: config.request_timeout(),
            limits,
            streams: StreamHub::new(config.sync.stream_limits()),
            interest_radius: (
                f64::from(config.sync.interest_radius),
                f64::from(config.sync.max_interest_radius),
            ),
            interest_tick: config.sync.interest_tick(),
            sessions,
        }
    }
}

/// What the server takes from its caller besides [`Config`]: time and randomness.
/// Tests inject a manual clock and a seed to get exact expected values.
#[derive(Clone)]
pub struct Dependencies {
    /// The game's clock.
    pub clock: Arc<dyn Clock>,
    /// Seed of the game's RNG (collect rolls, session tokens); `None` seeds from the OS.
    pub rng_seed: Option<u64>,
}

impl Default for Dependencies {
    fn default() -> Dependencies {
        Dependencies {
            clock: Arc::new(SystemClock),
            rng_seed: None,
        }
    }
}

impl std::fmt::Debug for Dependencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dependencies")
            .field("now_ms", &self.clock.now_ms())
            .field("rng_seed", &self.rng_seed)
            .finish()
    }
}

/// Why the server could not start, or did not stop cleanly.
#[derive(Debug, Error)]
pub enum ServerError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// Another server process owns the database (docs/persistence.md, One owner).
    #[error(
        "the database is in use by another server process ({owner}); its lease expires at \
         {expires_ms} (Unix ms) unless renewed. Stop that server, or wait for the lease to \
         expire if it crashed"
    )]
    LeaseHeld {
        /// Who holds the lease.
        owner: String,
        /// When it expires unless renewed.
        expires_ms: i64,
    },
    /// Connecting, migrating, seeding or taking the lease failed.
    #[error("database: {0}")]
    Store(StoreError),
    /// Loading the cache failed.
    #[error("cache: {0}")]
    Cache(#[from] CacheError),
    /// Password hashing could not be set up.
    #[error("password hashing: {0}")]
    Hash(#[from] HashError),
    /// The session key from the database is unusable.
    #[error("session key: {0}")]
    SessionKey(String),
    /// The password hashing threads could not be started.
    #[error("cannot start the password hashing threads: {0}")]
    HashThreads(std::io::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process took the lease over while this one ran.
    #[error("lost the database lease to another process; stopped serving")]
    LeaseLost,
    /// The final flush failed; the message says whether the pending changes were spilled.
    #[error("final flush failed: {0}")]
    FinalFlush(String),
    /// A spill file could not be applied at start (corrupt, foreign, or refused).
    #[error("{0}")]
    Spill(#[from] SpillError),
}

impl From<StoreError> for ServerError {
    fn from(error: StoreError) -> ServerError {
        match error {
            StoreError::LeaseHeld { owner, expires_ms } => {
                ServerError::LeaseHeld { owner, expires_ms }
            }
            other => ServerError::Store(other),
        }
    }
}

/// A server whose start-up is complete and whose listener is open.
pub struct Server {
    listener: TcpListener,
    ops_listener: Option<TcpListener>,
    local_addr: SocketAddr,
    running: Running,
    lease: LeaseGuard,
    session_sweep: tokio::task::JoinHandle<()>,
    grace: Duration,
    spill: SpillTarget,
}

/// The application over the repository `--repo` chose.
enum Running {
    Cached(Arc<App<CachedRepo>>),
    Db(Arc<App<DbRepo>>),
}

impl Server {
    /// Runs every start-up step, in order: validate the configuration, connect (migrations
    /// run), take the lease, seed an empty database, load the repository, and only then
    /// bind the listener.
    pub async fn bind(config: Config, deps: Dependencies) -> Result<Server, ServerError> {
        config.validate()?;
        tracing::info!("effective configuration: {config}");
        raise_open_file_limit();
        let pool = HashPool::new(config.limits.hash_threads(), config.limits.hash_queue)
            .map_err(ServerError::HashThreads)?;
        let limits =
            Arc::new(Limits::new(&config.limits, pool.clone()).map_err(ConfigError::from)?);
        let hasher = Argon2Hasher::new(config.argon2_params()?, pool).await?;
        let db = Database::connect_with(&config.database_url, config.storage.deadlines()).await?;
        let lease = db.acquire_lease(&lease_owner(&config), LEASE_TTL).await?;
        let spill_path = config.storage.spill_path(&config.database_url);
        let spill = replay_at_start(&db, spill_path).await?;
        let now_ms = deps.clock.now_ms();
        let demo_user = match config.demo_user {
            Switch::On => Some(seed::demo_user(
                hasher.hash_password(seed::DEMO_PASSWORD).await?,
                now_ms,
            )),
            Switch::Off => None,
        };
        if db.seed_if_empty(demo_user, now_ms).await? {
            tracing::info!(demo_user = ?config.demo_user, "seeded an empty database");
        }
        let sessions = SessionKeys::new(db.server_key("session").await?.as_bytes())
            .map_err(|e| ServerError::SessionKey(e.to_string()))?;
        let session_sweep = spawn_session_sweep(
            db.clone(),
            deps.clock.clone(),
            config.limits.session_sweep(),
        );
        let world_size = config.world_size()?;
        let rng = match deps.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let hasher = Arc::new(hasher);
        let running = match config.repo {
            RepoKind::Cached => {
                let cache_config = CacheConfig {
                    world_size,
                    persist_interval: config.persist_interval(),
                    max_cached_users: config.max_cached_users,
                    world_log_capacity: config.sync.world_log_capacity,
                    max_cached_sessions: config.sync.max_cached_sessions,
                    shutdown_flush_timeout: config.storage.shutdown_flush_timeout(),
                    ..CacheConfig::default()
                };
                let repo =
                    CachedRepo::start(Arc::new(db), cache_config, deps.clock.clone()).await?;
                let game = Game::new(repo, deps.clock, rng, hasher).with_spawn(config.spawn.into());
                Running::Cached(Arc::new(App::new(game, &config, limits, sessions)))
            }
            RepoKind::Db => {
                let game = Game::new(DbRepo::new(db, world_size), deps.clock, rng, hasher)
                    .with_spawn(config.spawn.into());
                Running::Db(Arc::new(App::new(game, &config, limits, sessions)))
            }
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        tracing::info!(%local_addr, "listening");
        let ops_listener = match config.limits.ops_listen {
            Some(addr) => {
                let ops = TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServerError::Bind { addr, source })?;
                if let Ok(ops_addr) = ops.local_addr() {
                    tracing::info!(%ops_addr, "operations endpoints listening");
                }
                Some(ops)
            }
            None => None,
        };
        Ok(Server {
            listener,
            ops_listener,
            local_addr,
            running,
            lease,
            session_sweep,
            grace: config.shutdown_grace(),
            spill,
        })
    }

    /// The address the listener is bound to (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the operations listener (`--ops-listen`), if there is one.
    pub fn ops_addr(&self) -> Option<SocketAddr> {
        self.ops_listener.as_ref()?.local_addr().ok()
    }

    /// Serves until `shutdown` resolves (or the lease is lost), then drains in-flight
    /// requests, makes the final flush and releases the lease.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Server {
            listener,
            ops_listener,
            running,
            lease,
            session_sweep,
            grace,
            spill,
            ..
        } = self;
        let stop = async {
            tokio::select! {
                () = shutdown => {},
                () = lease.lost() => tracing::error!("database lease lost: stopping"),
            }
        };
        let flushed = match running {
            Running::Cached(app) => {
                serve_then_stop(listener, ops_listener, app, stop, grace, &spill).await
            }
            Running::Db(app) => {
                serve_then_stop(listener, ops_listener, app, stop, grace, &spill).await
            }
        };
        session_sweep.abort();
        if lease.is_lost() {
            return Err(ServerError::LeaseLost);
        }
        flushed.map_err(ServerError::FinalFlush)?;
        lease.release().await?;
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

async fn serve_then_stop<R: Backend>(
    listener: TcpListener,
    ops_listener: Option<TcpListener>,
    app: Arc<App<R>>,
    stop: impl Future<Output = ()>,
    grace: Duration,
    spill: &SpillTarget,
) -> Result<(), String> {
    let sweeper = app.limits.spawn_sweeper();
    // Only a repository that versions its world can stream it; the task ends when the
    // hub closes at shutdown.
    if let Some(versions) = app.game.repo().world_versions() {
        tokio::spawn(broadcast_changes(app.clone(), versions, app.interest_tick));
    }
    let listeners = Listeners {
        game: listener,
        ops: ops_listener,
    };
    serve(listeners, app.clone(), stop, grace).await;
    sweeper.abort();
    app.game.repo().shutdown(spill).await
}

/// Starts the server from `config` and serves until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    Server::bind(config, Dependencies::default())
        .await?
        .run(shutdown)
        .await
}

/// How long the database lease lasts without renewal (renewed every third of it): after a
/// crash, a new server can start on the same database after at most this long.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// The name this process writes into the lease, shown to a second server that is refused.
fn lease_owner(config: &Config) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!(
        "game-server pid {} on {host} (listen {})",
        std::process::id(),
        config.listen
    )
}
