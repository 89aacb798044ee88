//! What the server needs from a repository beyond the use cases: readiness, metrics and
//! an orderly stop. Implemented for the two repositories `--repo` chooses between.

use async_trait::async_trait;
use game_cache::CachedRepo;
use game_cache::engine::Backing;
use game_domain::error::AppError;
use game_domain::repository::Repository;
use game_domain::user::UserId;
use game_locks::LevelStats;
use game_persistence::{DbRepo, Store};
use tokio::sync::watch;

use crate::metrics::Exposition;

/// A repository the server can run on.
#[async_trait]
pub trait Backend: Repository + Backing {
    /// Ok when the store answers and the game state is loaded; else why not.
    async fn check_ready(&self) -> Result<(), String>;

    /// Adds the repository's metric families (cache, flushes, locks, round trips).
    fn write_metrics(&self, out: &mut Exposition);

    /// The world's version as it advances, when the repository keeps versions (the
    /// event stream needs them); `None` otherwise.
    fn world_versions(&self) -> Option<watch::Receiver<u64>>;

    /// True when every change of the world advances its version, so a version (and a
    /// moment) names one world.
    fn keeps_versions(&self) -> bool;

    /// Readies what a stream of `user_id` needs before it opens: the whole world
    /// (`area: None`) or the neighbourhood of the player's ship within `area` units. Ok
    /// at once for a repository that holds the whole world; an edge following some
    /// cells fetches the whole world, or the cells around the ship, first.
    async fn prepare_stream(&self, _user_id: UserId, _area: Option<f64>) -> Result<(), AppError> {
        Ok(())
    }
}

#[async_trait]
impl Backend for CachedRepo {
    fn world_versions(&self) -> Option<watch::Receiver<u64>> {
        Some(CachedRepo::world_versions(self))
    }

    fn keeps_versions(&self) -> bool {
        true
    }

    async fn check_ready(&self) -> Result<(), String> {
        // The world is loaded before `start` returns, so a running cache is a loaded one.
        if self.is_shut_down() {
            return Err("cache shut down".into());
        }
        self.ping_store().await.map_err(|e| e.to_string())
    }

    fn write_metrics(&self, out: &mut Exposition) {
        let stats = self.stats();
        out.counters(
            "spacewars_cache_hits_total",
            "Lookups answered from memory, by kind (user, session).",
            "kind",
            [("user", stats.hits), ("session", stats.session_hits)],
        );
        out.counters(
            "spacewars_cache_misses_total",
            "Lookups that had to read the database, by kind (user, session).",
            "kind",
            [("user", stats.misses), ("session", stats.session_misses)],
        );
        out.counter(
            "spacewars_cache_evictions_total",
            "Clean idle users evicted to stay within --max-cached-users.",
            stats.evictions,
        );
        out.counter(
            "spacewars_session_cache_evictions_total",
            "Least recently used sessions dropped to stay within --max-cached-sessions.",
            stats.session_evictions,
        );
        out.gauge(
            "spacewars_cache_users",
            "Users in memory now.",
            stats.cached_users,
        );
        out.gauge(
            "spacewars_cache_sessions",
            "Sessions in memory now.",
            stats.cached_sessions,
        );
        out.gauge(
            "spacewars_dirty_users",
            "Users changed and not yet written to the database.",
            stats.dirty_users,
        );
        out.gauge(
            "spacewars_dirty_objects",
            "Objects changed, spawned or removed and not yet written to the database.",
            stats.dirty_objects,
        );
        out.counter(
            "spacewars_flushes_total",
            "Write-behind flushes that wrote a non-empty batch.",
            stats.flushes,
        );
        out.counter(
            "spacewars_flush_failures_total",
            "Write-behind flush attempts the database refused.",
            stats.flush_failures,
        );
        out.gauge(
            "spacewars_last_flush_duration_seconds",
            "Wall time of the last successful non-empty flush (0 before the first).",
            stats
                .last_flush_duration
                .map_or(0.0, |took| took.as_secs_f64()),
        );
        out.gauge(
            "spacewars_reserved_object_ids",
            "Object ids reserved in the database and not yet used.",
            stats.reserved_ids,
        );
        out.counter(
            "spacewars_inline_id_reservations_total",
            "Operations that found no reserved object id and reserved a block themselves, \
             before locking anything.",
            stats.inline_id_reservations,
        );
        out.counter(
            "spacewars_id_exhaustions_total",
            "Operations refused (503 storage_unavailable) because no object id was left and \
             the database could not reserve more.",
            stats.id_exhaustions,
        );
        write_round_trips(out, stats.db_round_trips, self.store_timeouts());
        write_locks(out, &[stats.world_lock, stats.user_locks, stats.store_lock]);
    }
}

#[async_trait]
impl Backend for DbRepo {
    fn world_versions(&self) -> Option<watch::Receiver<u64>> {
        // Every unit of work reads the world afresh from the database: no versions, so
        // clients poll `/api/world` instead of streaming.
        None
    }

    fn keeps_versions(&self) -> bool {
        false
    }

    async fn check_ready(&self) -> Result<(), String> {
        self.database().ping().await.map_err(|e| e.to_string())
    }

    fn write_metrics(&self, out: &mut Exposition) {
        let db = self.database();
        write_round_trips(out, db.round_trips(), db.timeouts());
    }
}

fn write_round_trips(out: &mut Exposition, round_trips: u64, timeouts: u64) {
    out.counter(
        "spacewars_db_round_trips_total",
        "Statements sent to the database.",
        round_trips,
    );
    out.counter(
        "spacewars_db_timeouts_total",
        "Database calls cut at their deadline (--db-call-timeout-ms).",
        timeouts,
    );
}

fn write_locks(out: &mut Exposition, levels: &[LevelStats]) {
    let by_level = |field: fn(&LevelStats) -> u64| levels.iter().map(move |s| (s.level, field(s)));
    let seconds = |field: fn(&LevelStats) -> f64| levels.iter().map(move |s| (s.level, field(s)));
    out.counters(
        "spacewars_lock_acquisitions_total",
        "Lock acquisitions, by level.",
        "level",
        by_level(|s| s.acquisitions),
    );
    out.counters(
        "spacewars_lock_contended_total",
        "Lock acquisitions that had to wait, by level.",
        "level",
        by_level(|s| s.contended),
    );
    out.counters(
        "spacewars_lock_timeouts_total",
        "Lock waits that gave up at their deadline, by level.",
        "level",
        by_level(|s| s.timeouts),
    );
    out.counters(
        "spacewars_lock_wait_seconds_total",
        "Time spent waiting for contended locks, by level.",
        "level",
        seconds(|s| s.total_wait.as_secs_f64()),
    );
    out.gauges(
        "spacewars_lock_max_wait_seconds",
        "Longest single wait for a lock, by level.",
        "level",
        seconds(|s| s.max_wait.as_secs_f64()),
    );
    out.gauges(
        "spacewars_lock_holders",
        "Lock guards held now, by level.",
        "level",
        by_level(|s| s.holders),
    );
    out.gauges(
        "spacewars_lock_waiters",
        "Tasks waiting for a lock now, by level.",
        "level",
        by_level(|s| s.waiters),
    );
}
