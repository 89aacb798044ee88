//! What the server needs from a repository beyond the use cases: readiness, metrics and
//! an orderly stop. Implemented for the two repositories `--repo` chooses between.

use async_trait::async_trait;
use game_cache::CachedRepo;
use game_cache::engine::Backing;
use game_domain::Repository;
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
}

#[async_trait]
impl Backend for CachedRepo {
    fn world_versions(&self) -> Option<watch::Receiver<u64>> {
        Some(CachedRepo::world_versions(self))
    }

    async fn check_ready(&self) -> Result<(), String> {
        // The world is loaded before `start` returns, so a running cache is a loaded one.
        if self.is_shut_down() {
            return Err("cache shut down".into());
        }
        self.store().ping().await.map_err(|e| e.to_string())
    }

    fn write_metrics(&self, out: &mut Exposition) {
        let stats = self.stats();
        let kinds = [
            ("user", stats.hits, stats.misses),
            ("session", stats.session_hits, stats.session_misses),
        ];
        out.family(
            "spacewars_cache_hits_total",
            "counter",
            "Lookups answered from memory, by kind (user, session).",
        );
        for (kind, hits, _) in kinds {
            out.sample("spacewars_cache_hits_total", &[("kind", kind)], hits);
        }
        out.family(
            "spacewars_cache_misses_total",
            "counter",
            "Lookups that had to read the database, by kind (user, session).",
        );
        for (kind, _, misses) in kinds {
            out.sample("spacewars_cache_misses_total", &[("kind", kind)], misses);
        }
        out.single(
            "spacewars_cache_evictions_total",
            "counter",
            "Clean idle users evicted to stay within --max-cached-users.",
            stats.evictions,
        );
        out.single(
            "spacewars_session_cache_evictions_total",
            "counter",
            "Least recently used sessions dropped to stay within --max-cached-sessions.",
            stats.session_evictions,
        );
        out.single(
            "spacewars_cache_users",
            "gauge",
            "Users in memory now.",
            stats.cached_users,
        );
        out.single(
            "spacewars_cache_sessions",
            "gauge",
            "Sessions in memory now.",
            stats.cached_sessions,
        );
        out.single(
            "spacewars_dirty_users",
            "gauge",
            "Users changed and not yet written to the database.",
            stats.dirty_users,
        );
        out.single(
            "spacewars_dirty_objects",
            "gauge",
            "Objects changed, spawned or removed and not yet written to the database.",
            stats.dirty_objects,
        );
        out.single(
            "spacewars_flushes_total",
            "counter",
            "Write-behind flushes that wrote a non-empty batch.",
            stats.flushes,
        );
        out.single(
            "spacewars_flush_failures_total",
            "counter",
            "Write-behind flush attempts the database refused.",
            stats.flush_failures,
        );
        out.single(
            "spacewars_last_flush_duration_seconds",
            "gauge",
            "Wall time of the last successful non-empty flush (0 before the first).",
            stats
                .last_flush_duration
                .map_or(0.0, |took| took.as_secs_f64()),
        );
        out.single(
            "spacewars_reserved_object_ids",
            "gauge",
            "Object ids reserved in the database and not yet used.",
            stats.reserved_ids,
        );
        out.single(
            "spacewars_inline_id_reservations_total",
            "counter",
            "Operations that found no reserved object id and reserved a block themselves, \
             before locking anything.",
            stats.inline_id_reservations,
        );
        out.single(
            "spacewars_id_exhaustions_total",
            "counter",
            "Operations refused (503 storage_unavailable) because no object id was left and \
             the database could not reserve more.",
            stats.id_exhaustions,
        );
        write_round_trips(out, stats.db_round_trips, self.store().timeouts());
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

    async fn check_ready(&self) -> Result<(), String> {
        self.database().ping().await.map_err(|e| e.to_string())
    }

    fn write_metrics(&self, out: &mut Exposition) {
        let db = self.database();
        write_round_trips(out, db.round_trips(), db.timeouts());
    }
}

fn write_round_trips(out: &mut Exposition, round_trips: u64, timeouts: u64) {
    out.single(
        "spacewars_db_round_trips_total",
        "counter",
        "Statements sent to the database.",
        round_trips,
    );
    out.single(
        "spacewars_db_timeouts_total",
        "counter",
        "Database calls cut at their deadline (--db-call-timeout-ms).",
        timeouts,
    );
}

fn write_locks(out: &mut Exposition, levels: &[LevelStats]) {
    type Field = fn(&LevelStats) -> String;
    let families: [(&str, &str, &str, Field); 7] = [
        (
            "spacewars_lock_acquisitions_total",
            "counter",
            "Lock acquisitions, by level.",
            |s| s.acquisitions.to_string(),
        ),
        (
            "spacewars_lock_contended_total",
            "counter",
            "Lock acquisitions that had to wait, by level.",
            |s| s.contended.to_string(),
        ),
        (
            "spacewars_lock_timeouts_total",
            "counter",
            "Lock waits that gave up at their deadline, by level.",
            |s| s.timeouts.to_string(),
        ),
        (
            "spacewars_lock_wait_seconds_total",
            "counter",
            "Time spent waiting for contended locks, by level.",
            |s| s.total_wait.as_secs_f64().to_string(),
        ),
        (
            "spacewars_lock_max_wait_seconds",
            "gauge",
            "Longest single wait for a lock, by level.",
            |s| s.max_wait.as_secs_f64().to_string(),
        ),
        (
            "spacewars_lock_holders",
            "gauge",
            "Lock guards held now, by level.",
            |s| s.holders.to_string(),
        ),
        (
            "spacewars_lock_waiters",
            "gauge",
            "Tasks waiting for a lock now, by level.",
            |s| s.waiters.to_string(),
        ),
    ];
    for (name, kind, help, field) in families {
        out.family(name, kind, help);
        for stats in levels {
            out.sample(name, &[("level", stats.level)], field(stats));
        }
    }
}
