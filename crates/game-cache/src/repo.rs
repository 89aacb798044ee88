//! `CachedRepo`: the game's state in memory behind ordered locks, written behind.
//!
//! This file holds the repository, its start and its shared state; `repo/units.rs` the
//! units of work (the `Repository` implementation) and `repo/flush.rs` the flush and the
//! background task.
//!
//! # Locks, in the one order they are ever taken
//!
//! | lock | kind | taken by |
//! | --- | --- | --- |
//! | `world` | `OrderedRwLock<WorldLevel, World>` | read: `view_world`, `read_player`; write: `with_user_and_world`, `create_user` (to add the ship) |
//! | `user_locks` | `MutexRegistry<UserLevel, UserId>` | every unit of work on a user, and a cache miss while it loads that user |
//! | `dirty` | `OrderedMutex<StoreLevel, DirtyState>` | a unit of work for the instant it commits (memory + marks together), the flush for the instant it cuts or clears |
//!
//! The types make any other order a compile error. Besides these there are plain data
//! tables (`users`, `sessions`, `ids`) behind `std::sync::Mutex`es that are held for a few
//! map operations and never across an `.await`, and `flush_serial`, a tokio mutex that
//! serialises flushes: it is taken only with no game lock held and only ever waits for
//! the `dirty` lock inside it, so it cannot close a cycle.
//!
//! # Why the hot path never reaches the store
//!
//! The world is loaded at start, users stay cached once loaded, sessions and the username
//! index are cached, and object ids for spawns come from a block reserved in advance. The
//! store is reached only on a miss, by account operations (durable by contract), by the
//! flush task, and by the id supply (`id_supply`): a unit of work takes its spawn ids
//! before it locks anything, so no store call is ever made under a game lock.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use game_domain::clock::Clock;
use game_domain::error::{AppError, GameError};
use game_domain::user::{User, UserId};
use game_domain::world::World;
use game_locks::{
    LockCtx, MutexRegistry, OrderedMutex, OrderedRwLock, StoreLevel, Unlocked, UserLevel,
    WorldLevel,
};
use game_persistence::{Store, StoreError};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::CacheConfig;
use crate::dirty::DirtyState;
use crate::error::CacheError;
use crate::gate::{Gate, Pass};
use crate::id_supply::IdSupply;
use crate::sessions::SessionCache;
use crate::stats::{CacheStats, Counters};
use crate::users::UserTable;

mod flush;
mod units;

use flush::flush_task;

/// What one flush wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushReport {
    /// User rows written.
    pub users: usize,
    /// Object rows inserted or updated.
    pub upserted_objects: usize,
    /// Object rows deleted.
    pub deleted_objects: usize,
    /// Wall time of the flush (cut, write, clear); zero when nothing was dirty.
    pub duration: Duration,
}

impl FlushReport {
    /// True when nothing was dirty (the store was not called).
    pub fn is_empty(&self) -> bool {
        self.users == 0 && self.upserted_objects == 0 && self.deleted_objects == 0
    }
}

/// The write-behind repository: a cheap, cloneable handle.
///
/// Start it with [`CachedRepo::start`]; stop it with [`CachedRepo::shutdown`], which
/// waits for operations in flight and makes a final flush. When the last handle is dropped
/// without `shutdown`, the flush task stops and changes since the last flush are lost
/// (as in a crash, bounded by one persist interval); a warning says so.
#[derive(Clone)]
pub struct CachedRepo {
    pub(crate) inner: Arc<Inner>,
    /// Stops the flush task when the last handle goes (mini-redis's `DbDropGuard`).
    _task_guard: Arc<TaskGuard>,
}

struct TaskGuard {
    inner: Arc<Inner>,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let dirty_users = Counters::get(&self.inner.counters.dirty_users);
        let dirty_objects = Counters::get(&self.inner.counters.dirty_objects);
        if !self.inner.gate.is_closed() && (dirty_users > 0 || dirty_objects > 0) {
            warn!(
                dirty_users,
                dirty_objects, "cache dropped without shutdown(): unflushed changes are lost"
            );
        }
        self.inner.stop_task();
    }
}

pub(crate) struct Inner {
    store: Arc<dyn Store>,
    pub(crate) config: CacheConfig,
    world: OrderedRwLock<WorldLevel, World>,
    /// The world's version, published inside the world's write critical section (so in
    /// commit order) for whoever streams changes.
    world_version: watch::Sender<u64>,
    user_locks: MutexRegistry<UserLevel, UserId>,
    pub(crate) dirty: OrderedMutex<StoreLevel, DirtyState>,
    users: Mutex<UserTable>,
    sessions: Mutex<SessionCache>,
    ids: Arc<IdSupply>,
    flush_serial: tokio::sync::Mutex<()>,
    pub(crate) gate: Gate,
    pub(crate) counters: Counters,
    stop: AtomicBool,
    /// Wakes the flush task to stop.
    wake: Notify,
    pub(crate) task: Mutex<Option<JoinHandle<()>>>,
}

/// Keeps a user from being evicted while a unit of work uses (or waits for) it.
struct Pin<'a> {
    inner: &'a Inner,
    id: UserId,
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        let mut users = self.inner.users();
        users.unpin(self.id);
        users.evict_past_cap();
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section on these tables leaves them consistent before anything that
    // could panic, so a poisoned mutex still guards good data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CachedRepo {
    /// Validates `config`, loads the world, reserves a block of object ids and starts the
    /// flush task (on the current tokio runtime).
    pub async fn start(
        store: Arc<dyn Store>,
        config: CacheConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<CachedRepo, CacheError> {
        config.validate()?;
        let objects = store.load_world().await?;
        // Versions count from the start time × 1000, so a version from before a restart is
        // older than (or unknown to) this process and gets a full snapshot, never a delta of
        // another history (that would take over 1,000 commits per millisecond of uptime).
        let base_version = u64::try_from(clock.now_ms())
            .unwrap_or(0)
            .saturating_mul(1_000);
        let world = World::versioned(
            config.world_size,
            objects,
            base_version,
            config.world_log_capacity,
        );
        let first_id = store.reserve_object_ids(config.id_block_size).await?;
        let ids = Arc::new(IdSupply::new(store.clone(), config.clone(), first_id));
        info!(
            persist_interval_ms = config.persist_interval.as_millis() as u64,
            max_cached_users = config.max_cached_users,
            max_cached_sessions = config.max_cached_sessions,
            id_block_size = config.id_block_size,
            max_backoff_ms = config.max_backoff.as_millis() as u64,
            world_objects = world.len(),
            "write-behind cache started"
        );
        let inner = Arc::new(Inner {
            users: Mutex::new(UserTable::new(config.max_cached_users)),
            sessions: Mutex::new(SessionCache::new(config.max_cached_sessions)),
            ids,
            store,
            config,
            world: OrderedRwLock::new(world),
            world_version: watch::channel(base_version).0,
            user_locks: MutexRegistry::new(),
            dirty: OrderedMutex::new(DirtyState::default()),
            flush_serial: tokio::sync::Mutex::new(()),
            gate: Gate::default(),
            counters: Counters::default(),
            stop: AtomicBool::new(false),
            wake: Notify::new(),
            task: Mutex::new(None),
        });
        inner.ids.spawn_refill();
        let handle = tokio::spawn(flush_task(inner.clone()));
        *lock(&inner.task) = Some(handle);
        Ok(CachedRepo {
            _task_guard: Arc::new(TaskGuard {
                inner: inner.clone(),
            }),
            inner,
        })
    }

    /// Flushes the dirty state now and returns what was written (or why not). Flushes are
    /// serialised with the background task's.
    pub async fn flush_now(&self) -> Result<FlushReport, CacheError> {
        self.inner.flush().await
    }

    /// A snapshot of the counters, for metrics.
    pub fn stats(&self) -> CacheStats {
        let inner = &self.inner;
        let c = &inner.counters;
        let (cached_users, evictions) = {
            let users = inner.users();
            (users.len(), users.evictions())
        };
        let (cached_sessions, session_evictions) = {
            let sessions = lock(&inner.sessions);
            (sessions.len(), sessions.evictions())
        };
        CacheStats {
            hits: Counters::get(&c.hits),
            misses: Counters::get(&c.misses),
            evictions,
            session_hits: Counters::get(&c.session_hits),
            session_misses: Counters::get(&c.session_misses),
            cached_users,
            cached_sessions,
            session_evictions,
            dirty_users: Counters::get(&c.dirty_users) as usize,
            dirty_objects: Counters::get(&c.dirty_objects) as usize,
            reserved_ids: inner.ids.remaining(),
            flushes: Counters::get(&c.flushes),
            flush_failures: Counters::get(&c.flush_failures),
            consecutive_flush_failures: Counters::get(&c.consecutive_flush_failures),
            last_flush_duration: c.last_flush(),
            db_round_trips: inner.store.round_trips(),
            inline_id_reservations: inner.ids.inline_reservations(),
            id_exhaustions: inner.ids.exhausted(),
            id_reservation_failures: inner.ids.reservation_failures(),
            world_lock: inner.world.stats(),
            user_locks: inner.user_locks.stats(),
            store_lock: inner.dirty.stats(),
        }
    }

    /// The world's version as it advances: a receiver sees every commit's version, in
    /// commit order (the latest one when several come together).
    pub fn world_versions(&self) -> watch::Receiver<u64> {
        self.inner.world_version.subscribe()
    }

    /// The effective configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.inner.config
    }

    /// Whether the store behind the cache answers (for readiness probes). The store
    /// itself stays inside: a write behind the cache's back would be overwritten by the
    /// next flush, or overwrite it.
    pub async fn ping_store(&self) -> Result<(), StoreError> {
        self.inner.store.ping().await
    }

    /// Store calls cut at their deadline so far.
    pub fn store_timeouts(&self) -> u64 {
        self.inner.store.timeouts()
    }

    /// True once [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.gate.is_closed()
    }
}

impl fmt::Debug for CachedRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedRepo")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn users(&self) -> MutexGuard<'_, UserTable> {
        lock(&self.users)
    }

    fn enter(&self) -> Result<Pass<'_>, AppError> {
        self.gate.enter().ok_or(AppError::ShuttingDown)
    }

    /// Whether this process may still answer from memory (docs/persistence.md, One owner):
    /// asked by every unit of work once its locks are held, right before it reads or
    /// changes anything, so work that waited (for a lock, or through a pause of the whole
    /// process) is refused if the lease's deadline passed meanwhile.
    fn check_lease(&self) -> Result<(), AppError> {
        self.store.lease_check().map_err(AppError::from)
    }

    fn pin(&self, id: UserId) -> Pin<'_> {
        self.users().pin(id);
        Pin { inner: self, id }
    }

    pub(crate) fn stop_task(&self) {
        self.stop.store(true, SeqCst);
        self.wake.notify_one();
        self.ids.stop();
    }

    /// The user, loading it on a miss. The caller holds the user's key and a pin, so no
    /// other load of this user runs meanwhile and it cannot be evicted: a value read from
    /// the store is current (dirty users are never evicted, so a user absent from memory
    /// has no unwritten change), and one cached copy results.
    async fn user_locked(&self, id: UserId) -> Result<User, AppError> {
        if let Some(user) = self.users().get(id) {
            Counters::bump(&self.counters.hits);
            return Ok(user);
        }
        Counters::bump(&self.counters.misses);
        let loaded = self
            .store
            .load_user(id)
            .await?
            .ok_or(GameError::UserNotFound)?;
        let mut users = self.users();
        let user = users.insert_loaded(loaded);
        users.evict_past_cap();
        Ok(user)
    }

    /// Makes sure the (pinned) user is cached before the caller takes the world lock, so
    /// a miss never reads the store while the world is locked.
    async fn ensure_cached(
        &self,
        root: &mut LockCtx<'_, Unlocked>,
        id: UserId,
    ) -> Result<(), AppError> {
        let cached = self.users().touch(id);
        if cached {
            Counters::bump(&self.counters.hits);
            return Ok(());
        }
        let (_key, _ctx) = self.user_locks.lock(root, id).await;
        self.user_locked(id).await.map(drop)
    }

    /// Refreshes the dirty gauges (called with the dirty state locked).
    pub(crate) fn publish_dirty_counts(&self, dirty: &DirtyState) {
        Counters::set(&self.counters.dirty_users, dirty.users_len());
        Counters::set(&self.counters.dirty_objects, dirty.objects_len());
    }
}
