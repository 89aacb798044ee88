//! The engine's one entry point for embedders (docs/embedding.md): open the database,
//! take the lease, seed, start the repository; run the game; shut down.
//!
//! ```text
//! Engine::open / open_when_free      connect (migrations) → lease (or wait for it)
//!                                    → spill file replay → seed if empty → start the
//!                                    repository (load the world) → Game
//!                                    → start the expired-session sweep
//! engine.game()                      the use cases, from memory
//! engine.fanout(limits, tick)        the world's changes for subscribers (CachedRepo)
//! engine.lease()                     is it still ours? a future for when it is not
//! engine.run_until(work)             work, until it ends, SIGTERM/SIGINT or a lost lease;
//!                                    then shutdown
//! engine.shutdown()                  drain → final flush (or spill) → release the lease
//! ```
//!
//! Nothing reachable from an [`Engine`] writes the database behind the cache's back: the
//! database handle stays inside; embedders get the use cases ([`Engine::game`]) and the
//! few database operations that cannot disturb the cache ([`Engine::server_key`]).
//!
//! The order is fixed here and nowhere else: seeding after the cache loaded would leave
//! the cache without the seeded world; serving without the lease would let two processes
//! write one database. Dropping an [`Engine`] without [`Engine::shutdown`] loses what was
//! not yet written and keeps the lease until it expires; it says so on stderr (and in the
//! log), whether or not a `tracing` subscriber is installed.

mod backing;
mod error;
mod fanout;
mod options;
mod run;
mod spill;
mod sweep;

use std::sync::Arc;

use game_domain::clock::Clock;
use game_domain::game::{Game, PasswordHasher};
use game_domain::rng::GameRng;
use game_domain::seed;
use game_persistence::{Database, LeaseGuard, LeaseStatus, StoreError};
use tokio::task::JoinHandle;

pub use backing::Backing;
pub use error::{EngineError, ShutdownError};
pub use options::{
    DEFAULT_LEASE_POLL, DEFAULT_LEASE_TTL, EngineOptions, LeaseOptions, MIN_LEASE_TTL, spill_path,
};
pub use run::{StopCause, Stopped, TerminationSignal, TerminationSignals, termination_signal};
pub use spill::SpillTarget;
pub use sweep::DEFAULT_SESSION_SWEEP;

/// A started game on its own database: the lease held, the world loaded.
///
/// Call [`Engine::shutdown`] before dropping it.
pub struct Engine<R: Backing> {
    game: Arc<Game<R>>,
    db: Database,
    lease: Option<LeaseGuard>,
    status: LeaseStatus,
    spill: SpillTarget,
    /// The expired-session sweep, stopped at shutdown (and at a drop).
    session_sweep: JoinHandle<()>,
    stopped: bool,
}

/// The RNG and the password hasher the game uses, with the clock.
pub struct EngineParts {
    /// The game's clock.
    pub clock: Arc<dyn Clock>,
    /// Hashes and verifies passwords (the demo user's too): in production
    /// [`crate::password::Argon2Hasher`].
    pub hasher: Arc<dyn PasswordHasher>,
}

impl<R: Backing> Engine<R> {
    /// Starts the game on the database of `options`, or fails with
    /// [`EngineError::LeaseHeld`] if another process owns it.
    pub async fn open(
        options: EngineOptions,
        repo: R::Config,
        parts: EngineParts,
    ) -> Result<Engine<R>, EngineError> {
        let (db, lease) = connect_and_lease(&options, false).await?;
        Engine::start(options, db, lease, repo, parts).await
    }

    /// Like [`Engine::open`], but while another process owns the database it waits (a
    /// standby) and tries again every `options.lease.poll`: it takes over as soon as the
    /// owner releases the lease or lets it expire. Database errors while waiting are
    /// logged and retried. Cancel it by dropping the future.
    pub async fn open_when_free(
        options: EngineOptions,
        repo: R::Config,
        parts: EngineParts,
    ) -> Result<Engine<R>, EngineError> {
        let (db, lease) = connect_and_lease(&options, true).await?;
        Engine::start(options, db, lease, repo, parts).await
    }

    /// Everything after the lease; on failure the lease is released again.
    async fn start(
        options: EngineOptions,
        db: Database,
        lease: LeaseGuard,
        repo: R::Config,
        parts: EngineParts,
    ) -> Result<Engine<R>, EngineError> {
        let clock = parts.clock.clone();
        match Engine::start_leased(&options, &db, repo, parts).await {
            Ok((game, spill)) => {
                let status = lease.status();
                let session_sweep = sweep::spawn_session_sweep(
                    db.clone(),
                    clock,
                    options.session_sweep,
                    status.clone(),
                );
                Ok(Engine {
                    game: Arc::new(game),
                    db,
                    status,
                    lease: Some(lease),
                    spill,
                    session_sweep,
                    stopped: false,
                })
            }
            Err(error) => {
                if let Err(release) = lease.release().await {
                    tracing::warn!(error = %release, "could not release the lease after a failed start");
                }
                Err(error)
            }
        }
    }

    async fn start_leased(
        options: &EngineOptions,
        db: &Database,
        repo: R::Config,
        parts: EngineParts,
    ) -> Result<(Game<R>, SpillTarget), EngineError> {
        let spill = spill::replay_at_start(db, options.spill_path()).await?;
        let now_ms = parts.clock.now_ms();
        let demo_user = if options.demo_user {
            let hash = parts
                .hasher
                .hash(seed::DEMO_PASSWORD)
                .await
                .map_err(EngineError::DemoPassword)?;
            Some(seed::demo_user(hash, now_ms))
        } else {
            None
        };
        if db.seed_if_empty(demo_user, now_ms).await? {
            tracing::info!(demo_user = options.demo_user, "seeded an empty database");
        }
        let repo = R::start(db, repo, parts.clock.clone()).await?;
        let rng = options
            .rng_seed
            .map_or_else(GameRng::from_os, GameRng::from_seed);
        let game = Game::new(repo, parts.clock, rng, parts.hasher).with_spawn(options.spawn);
        Ok((game, spill))
    }

    /// The use cases.
    pub fn game(&self) -> &Arc<Game<R>> {
        &self.game
    }

    /// The server's secret named `name` (hex), made from 32 random bytes at the first call
    /// on this database and the same for every process ever after (the game server signs
    /// its session cookies with `server_key("session")`). Secrets live in a table of
    /// their own that the cache never holds.
    pub async fn server_key(&self, name: &str) -> Result<String, StoreError> {
        self.db.server_key(name).await
    }

    /// Whether the lease is still held, and a future that resolves when it is lost: stop
    /// serving then, because another process owns the database and nothing this one
    /// changes from now on is written.
    pub fn lease(&self) -> &LeaseStatus {
        &self.status
    }

    /// Drains the units of work in flight, makes the final flush (spilling what cannot be
    /// written while the database keeps failing) and releases the lease, so another
    /// process can take over at once. On error the lease is not released: it expires.
    pub async fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.stopped = true;
        self.session_sweep.abort();
        let lease = self.lease.take();
        self.game.repo().stop(&self.spill).await?;
        if self.status.is_lost() {
            return Err(ShutdownError::LeaseLost { changes: 0 });
        }
        if let Some(lease) = lease {
            lease.release().await.map_err(ShutdownError::Release)?;
        }
        Ok(())
    }
}

/// Connects (migrations applied) and takes the lease, waiting for it if `wait`.
async fn connect_and_lease(
    options: &EngineOptions,
    wait: bool,
) -> Result<(Database, LeaseGuard), EngineError> {
    options.validate()?;
    let db = Database::connect_with(&options.database_url, options.deadlines).await?;
    let lease = if wait {
        wait_for_lease(&db, options).await
    } else {
        db.acquire_lease(&options.lease.owner, options.lease.ttl)
            .await?
    };
    Ok((db, lease))
}

/// Tries to take the lease every poll interval until it succeeds.
async fn wait_for_lease(db: &Database, options: &EngineOptions) -> LeaseGuard {
    let lease = &options.lease;
    let mut last_owner: Option<String> = None;
    loop {
        match db.acquire_lease(&lease.owner, lease.ttl).await {
            Ok(guard) => {
                tracing::info!(owner = %lease.owner, "took the database lease");
                return guard;
            }
            Err(StoreError::LeaseHeld { owner, expires_ms }) => {
                if last_owner.as_deref() != Some(owner.as_str()) {
                    tracing::info!(%owner, expires_ms, "standing by: the database lease is held");
                    last_owner = Some(owner);
                }
            }
            Err(error) => tracing::warn!(%error, "standing by: cannot read the lease; retrying"),
        }
        tokio::time::sleep(lease.poll).await;
    }
}

impl<R: Backing> Drop for Engine<R> {
    fn drop(&mut self) {
        self.session_sweep.abort();
        if self.stopped {
            return;
        }
        let pending = self.game.repo().pending_changes();
        let message = format!(
            "spacewars engine dropped without Engine::shutdown(): {pending} changes not yet \
             written to the database are lost, and the database lease stays taken until it \
             expires; call `engine.shutdown().await` before dropping the engine"
        );
        // stderr as well as the log: an embedder without a tracing subscriber must see it.
        eprintln!("{message}");
        tracing::error!("{message}");
    }
}

impl<R: Backing> std::fmt::Debug for Engine<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("lease_lost", &self.status.is_lost())
            .field("spill", &self.spill.path)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}
