//! Wiring: configuration → engine (database, lease, seed, world) → handlers → listener.
//!
//! [`Server::bind`] does every start-up step and only then opens the listener, so the first
//! request on a fresh database already finds the demo world. A standby (`--standby`) opens
//! its listener at once instead and answers 503 `standby` until it holds the lease and has
//! loaded the world. [`Server::run`] serves until the shutdown future resolves or the lease
//! is lost, drains, and shuts the engine down (final flush, lease released).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use game_cache::engine::{Backing, Engine, EngineOptions, EngineParts};
use game_cache::password::{Argon2Hasher, HashPool};
use game_cache::{CacheConfig, CachedRepo};
use game_persistence::DbRepo;

use crate::app::{App, Dependencies};
use crate::backend::Backend;
use crate::config::{Config, ConfigError, RepoKind};
use crate::error::ServerError;
use crate::known_device::KnownDevices;
use crate::limits::{Limits, raise_open_file_limit};
use crate::serve::{Listeners, bind_listeners, serve};
use crate::session::SessionKeys;
use crate::standby::stand_by;
use crate::switch::Switch;
use crate::world_stream;

/// A server whose start-up is complete (or, for a standby, whose listener is open).
pub struct Server {
    listeners: Listeners,
    local_addr: SocketAddr,
    setup: Setup,
    /// `None` for a standby until it takes over.
    running: Option<Running>,
}

/// What starting the engine needs, kept by a standby until it takes over.
struct Setup {
    config: Config,
    deps: Dependencies,
    limits: Arc<Limits>,
    hasher: Arc<Argon2Hasher>,
}

/// The application over the repository `--repo` chose.
enum Running {
    Cached(Started<CachedRepo>),
    Db(Started<DbRepo>),
    /// `--edge`: no engine, the owner's world through NATS.
    #[cfg(feature = "nats")]
    Edge(Box<crate::relay::edge::Edge>),
}

/// An engine and the handlers' state around its game.
struct Started<R: Backend> {
    engine: Engine<R>,
    app: Arc<App<R>>,
    /// With `--nats`: the relay's flags and the logouts to announce.
    #[cfg(feature = "nats")]
    relay: Option<(
        crate::relay::config::RelayConfig,
        tokio::sync::mpsc::Receiver<String>,
    )>,
}

impl Server {
    /// Runs every start-up step, in order: validate the configuration, open the engine
    /// (connect with migrations, take the lease, apply a spill file, seed an empty
    /// database, load the world), and only then bind the listener. A standby binds at once
    /// and starts the engine in [`Server::run`], when the lease is free.
    pub async fn bind(config: Config, deps: Dependencies) -> Result<Server, ServerError> {
        config.validate()?;
        tracing::info!("effective configuration: {config}");
        raise_open_file_limit();
        let pool = HashPool::new(config.limits.hash_threads(), config.limits.hash_queue)
            .map_err(ServerError::HashThreads)?;
        let limits =
            Arc::new(Limits::new(&config.limits, pool.clone()).map_err(ConfigError::from)?);
        let hasher = Arc::new(Argon2Hasher::new(config.argon2_params()?, pool).await?);
        let setup = Setup {
            config,
            deps,
            limits,
            hasher,
        };
        let running = if setup.config.storage.standby {
            None
        } else if setup.config.relay.edge {
            Some(setup.start_edge().await?)
        } else {
            Some(setup.start(false).await?)
        };
        let listeners = match bind_listeners(&setup.config).await {
            Ok(listeners) => listeners,
            Err(error) => {
                if let Some(running) = running {
                    // Started but cannot serve: stop cleanly so the lease is free at once.
                    let _ = running.stop().await;
                }
                return Err(error);
            }
        };
        let local_addr = listeners
            .game
            .local_addr()
            .map_err(|source| ServerError::Bind {
                addr: setup.config.listen,
                source,
            })?;
        if running.is_none() {
            tracing::info!("standby: listening before the lease is ours");
        }
        // Tools read the address from the end of this line: keep it last.
        tracing::info!(%local_addr, "listening");
        Ok(Server {
            listeners,
            local_addr,
            setup,
            running,
        })
    }

    /// The address the listener is bound to (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the operations listener (`--ops-listen`), if there is one.
    pub fn ops_addr(&self) -> Option<SocketAddr> {
        self.listeners.ops.as_ref()?.local_addr().ok()
    }

    /// Serves until `shutdown` resolves (or the lease is lost), then drains in-flight
    /// requests, makes the final flush and releases the lease. A standby first waits for
    /// the lease, answering 503 `standby`; stopped while waiting, it returns `Ok`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Server {
            listeners,
            setup,
            running,
            ..
        } = self;
        tokio::pin!(shutdown);
        let running = match running {
            Some(running) => running,
            None => {
                tracing::info!("standby: waiting for the database lease");
                let take_over = async {
                    tokio::select! {
                        started = setup.start(true) => Some(started),
                        () = &mut shutdown => None,
                    }
                };
                match stand_by(&listeners, &setup.limits, take_over).await {
                    Some(started) => started?,
                    None => {
                        tracing::info!("stopped while standing by");
                        return Ok(());
                    }
                }
            }
        };
        tracing::info!("serving");
        let grace = setup.config.shutdown_grace();
        match running {
            Running::Cached(started) => started.serve(listeners, shutdown, grace).await,
            Running::Db(started) => started.serve(listeners, shutdown, grace).await,
            #[cfg(feature = "nats")]
            Running::Edge(edge) => edge.serve(listeners, shutdown, grace).await,
        }
    }
}

impl Setup {
    /// Opens the engine on the repository `--repo` chose (waiting for the lease when
    /// `wait`) and builds the handlers' state around it.
    async fn start(&self, wait: bool) -> Result<Running, ServerError> {
        let config = &self.config;
        let world_size = config.world_size()?;
        Ok(match config.repo {
            RepoKind::Cached => {
                let cache = CacheConfig {
                    world_size,
                    persist_interval: config.persist_interval(),
                    max_cached_users: config.max_cached_users,
                    world_log_capacity: config.sync.world_log_capacity,
                    max_cached_sessions: config.sync.max_cached_sessions,
                    shutdown_flush_timeout: config.storage.shutdown_flush_timeout(),
                    ..CacheConfig::default()
                };
                Running::Cached(self.started(self.open(cache, wait).await?).await?)
            }
            RepoKind::Db => Running::Db(self.started(self.open(world_size, wait).await?).await?),
        })
    }

    /// Starts an edge (`--edge`; validation refused it in a build without `nats`).
    async fn start_edge(&self) -> Result<Running, ServerError> {
        #[cfg(feature = "nats")]
        {
            let edge = crate::relay::edge::Edge::start(
                &self.config,
                &self.deps,
                self.limits.clone(),
                self.hasher.clone(),
            )
            .await?;
            Ok(Running::Edge(Box::new(edge)))
        }
        #[cfg(not(feature = "nats"))]
        Err(ConfigError::from(crate::RelayConfigError::NotBuilt).into())
    }

    async fn open<R: Backing>(
        &self,
        repo: R::Config,
        wait: bool,
    ) -> Result<Engine<R>, ServerError> {
        let config = &self.config;
        let options = EngineOptions {
            database_url: config.database_url.clone(),
            deadlines: config.storage.deadlines(),
            lease: config.storage.lease(lease_owner(config)),
            demo_user: config.demo_user == Switch::On,
            spill_dir: config.storage.spill_dir.clone(),
            rng_seed: self.deps.rng_seed,
            spawn: config.spawn.into(),
            session_sweep: config.limits.session_sweep(),
        };
        let parts = EngineParts {
            clock: self.deps.clock.clone(),
            hasher: self.hasher.clone(),
        };
        Ok(if wait {
            Engine::open_when_free(options, repo, parts).await?
        } else {
            Engine::open(options, repo, parts).await?
        })
    }

    async fn started<R: Backend>(&self, engine: Engine<R>) -> Result<Started<R>, ServerError> {
        let (sessions, devices) = match cookie_keys(&engine).await {
            Ok(keys) => keys,
            Err(error) => {
                // Started but cannot serve: stop cleanly so the lease is free at once.
                let _ = engine.shutdown().await;
                return Err(error);
            }
        };
        #[cfg_attr(not(feature = "nats"), allow(unused_mut))]
        let mut app = App::new(
            engine.game().clone(),
            engine.lease().clone(),
            &self.config,
            self.limits.clone(),
            sessions,
            devices,
        );
        #[cfg(feature = "nats")]
        let relay = self.config.relay.nats.as_ref().map(|_| {
            let (sender, receiver) = crate::relay::owner::notices();
            app.session_notices = Some(sender);
            (self.config.relay.clone(), receiver)
        });
        Ok(Started {
            engine,
            app: Arc::new(app),
            #[cfg(feature = "nats")]
            relay,
        })
    }
}

/// The keys that sign session and known-device cookies, kept in the database so every
/// process agrees.
async fn cookie_keys<R: Backend>(
    engine: &Engine<R>,
) -> Result<(SessionKeys, KnownDevices), ServerError> {
    let session = engine.server_key("session").await?;
    let device = engine.server_key("device").await?;
    Ok((
        SessionKeys::new(session.as_bytes()).map_err(ServerError::SessionKey)?,
        KnownDevices::new(device.as_bytes()).map_err(ServerError::SessionKey)?,
    ))
}

impl Running {
    async fn stop(self) -> Result<(), ServerError> {
        match self {
            Running::Cached(started) => started.stop().await,
            Running::Db(started) => started.stop().await,
            #[cfg(feature = "nats")]
            Running::Edge(_) => Ok(()),
        }
    }
}

impl<R: Backend> Started<R> {
    /// Serves until `shutdown` or the loss of the lease, then stops.
    async fn serve(
        #[cfg_attr(not(feature = "nats"), allow(unused_mut))] mut self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> Result<(), ServerError> {
        let app = self.app.clone();
        let lease = self.engine.lease().clone();
        let stop = async {
            tokio::select! {
                () = shutdown => {},
                () = lease.lost() => {
                    tracing::error!("database lease lost: stopping");
                    // Requests already queued (a process resumed from a pause finds its
                    // listener's backlog full) get 503 `lease_lost`, not a reset.
                    tokio::time::sleep(LOST_LEASE_WIND_DOWN).await;
                }
            }
        };
        let sweeper = app.limits.spawn_sweeper();
        let stream_ender = tokio::spawn(world_stream::end_when_lease_expires(app.clone()));
        // Only a repository that versions its world can stream it; the task ends when the
        // hub closes at shutdown.
        if let Some(versions) = app.game.repo().world_versions() {
            tokio::spawn(game_cache::fanout::feed(
                app.game.clone(),
                app.streams.clone(),
                versions,
            ));
        }
        // `--nats`: the world published for the edges, from the same versions.
        #[cfg(feature = "nats")]
        let relay = match (self.relay.take(), app.game.repo().world_versions()) {
            (Some((config, notices)), Some(versions)) => {
                Some(tokio::spawn(crate::relay::owner::publish(
                    config,
                    app.game.clone(),
                    versions,
                    notices,
                    app.streams.tick(),
                )))
            }
            _ => None,
        };
        serve(listeners, app, stop, grace).await;
        #[cfg(feature = "nats")]
        if let Some(relay) = relay {
            relay.abort();
        }
        sweeper.abort();
        stream_ender.abort();
        self.stop().await
    }

    /// Shuts the engine down: final flush, lease released.
    async fn stop(self) -> Result<(), ServerError> {
        self.engine.shutdown().await?;
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// How long a process that lost its lease goes on answering 503 `lease_lost` before it
/// closes its listener and stops.
const LOST_LEASE_WIND_DOWN: Duration = Duration::from_millis(500);

/// Starts the server from `config` and serves until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    Server::bind(config, Dependencies::default())
        .await?
        .run(shutdown)
        .await
}

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
