//! Counters for metrics, read as a plain snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use game_locks::LevelStats;

/// A snapshot of the cache's counters (totals since start, except where "now" is said).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CacheStats {
    /// User lookups (by id or name) answered from memory.
    pub hits: u64,
    /// User lookups that had to read the store.
    pub misses: u64,
    /// Users evicted to stay within the cap.
    pub evictions: u64,
    /// Session lookups answered from memory.
    pub session_hits: u64,
    /// Session lookups that had to read the store.
    pub session_misses: u64,
    /// Users cached now.
    pub cached_users: usize,
    /// Sessions cached now.
    pub cached_sessions: usize,
    /// Least recently used sessions dropped to stay within the cap.
    pub session_evictions: u64,
    /// Users with changes not yet written, now.
    pub dirty_users: usize,
    /// Objects changed, spawned or removed and not yet written, now.
    pub dirty_objects: usize,
    /// Object ids reserved and not yet used, now.
    pub reserved_ids: i64,
    /// Flushes that wrote a non-empty batch.
    pub flushes: u64,
    /// Flushes whose batch the store refused (each attempt counts).
    pub flush_failures: u64,
    /// Failed flushes since the last successful one, now (0 when healthy); a readiness
    /// probe can use it. A lost lease makes every flush fail: this keeps growing.
    pub consecutive_flush_failures: u64,
    /// Wall time of the last successful non-empty flush (cut, write, clear).
    pub last_flush_duration: Option<Duration>,
    /// Statements the store has sent to the database (`Store::round_trips`).
    pub db_round_trips: u64,
    /// Times an operation had to reserve object ids itself (before locking anything)
    /// because none were left.
    pub inline_id_reservations: u64,
    /// Operations that failed at once because no object id was left and the store could
    /// not give more (answered `503 storage_unavailable`, having locked nothing).
    pub id_exhaustions: u64,
    /// Id reservations (background or inline) the store refused or did not answer in time.
    pub id_reservation_failures: u64,
    /// The world lock's counters.
    pub world_lock: LevelStats,
    /// The per-user locks' counters.
    pub user_locks: LevelStats,
    /// The store-level (dirty state) lock's counters.
    pub store_lock: LevelStats,
}

/// The live counters behind [`CacheStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) session_hits: AtomicU64,
    pub(crate) session_misses: AtomicU64,
    pub(crate) dirty_users: AtomicU64,
    pub(crate) dirty_objects: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) flush_failures: AtomicU64,
    pub(crate) consecutive_flush_failures: AtomicU64,
    /// Nanoseconds plus one; zero means no flush yet.
    pub(crate) last_flush_ns: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn set(counter: &AtomicU64, value: usize) {
        counter.store(value as u64, Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }

    pub(crate) fn record_flush(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX - 1);
        self.last_flush_ns.store(ns + 1, Relaxed);
        self.flushes.fetch_add(1, Relaxed);
        self.consecutive_flush_failures.store(0, Relaxed);
    }

    pub(crate) fn record_flush_failure(&self) {
        self.flush_failures.fetch_add(1, Relaxed);
        self.consecutive_flush_failures.fetch_add(1, Relaxed);
    }

    pub(crate) fn last_flush(&self) -> Option<Duration> {
        match self.last_flush_ns.load(Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n - 1)),
        }
    }
}
