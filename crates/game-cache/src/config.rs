//! The cache's configuration, validated before anything starts.

use std::time::Duration;

use game_domain::geometry::WorldSize;

use crate::error::CacheError;

/// The shortest accepted persist interval (docs/persistence.md, Write-behind).
pub const MIN_PERSIST_INTERVAL: Duration = Duration::from_millis(100);

/// The default of [`CacheConfig::shutdown_flush_timeout`]: five minutes.
pub const DEFAULT_SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(300);

/// How the cache behaves: flush cadence, memory bounds, id reservation and retry back-off.
///
/// Every value is checked by [`CacheConfig::validate`] (called by
/// [`crate::CachedRepo::start`]); an out-of-range value is an error, never a silent fallback.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// The world's dimensions (default 500 × 500).
    pub world_size: WorldSize,
    /// Time between two flushes of the dirty state (default 30 s, at least 100 ms).
    pub persist_interval: Duration,
    /// Cached users beyond which clean, idle, least-recently-used users are evicted
    /// (default 10,000; at least 1). Dirty or busy users are never evicted, so the count can
    /// exceed the cap while more users than this are dirty or in use at once.
    pub max_cached_users: usize,
    /// Cached sessions beyond which the least recently used are dropped (default 20,000;
    /// at least 1).
    /// Sessions are written through, so a dropped one is only re-read from the store.
    pub max_cached_sessions: usize,
    /// Object ids reserved from the store per block (default 1,000; at least 2). The flush
    /// task reserves a new block when fewer than half are left.
    pub id_block_size: i64,
    /// Cap of the exponential back-off between retries of a failing flush (default 30 s;
    /// at least 100 ms). The first retry waits `min(persist_interval, 1 s)`, each further
    /// failure doubles the wait up to this cap.
    pub max_backoff: Duration,
    /// Object changes the world's change log keeps for deltas and stream resumption
    /// (default 65,536, about 4 MiB; at least 1). A client further behind gets a full
    /// snapshot instead of a delta.
    pub world_log_capacity: usize,
    /// How long [`crate::CachedRepo::shutdown`] may take in all: waiting for the units of
    /// work and for a batch the background flush is writing, then the final flush and its
    /// retries (with the back-off of a failing flush). A batch still unanswered then is
    /// abandoned (default 5 minutes; zero makes one attempt that gets no time to wait).
    pub shutdown_flush_timeout: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            world_size: WorldSize::DEFAULT,
            persist_interval: Duration::from_secs(30),
            max_cached_users: 10_000,
            max_cached_sessions: 20_000,
            id_block_size: 1_000,
            max_backoff: Duration::from_secs(30),
            world_log_capacity: 65_536,
            shutdown_flush_timeout: DEFAULT_SHUTDOWN_FLUSH_TIMEOUT,
        }
    }
}

impl CacheConfig {
    /// Checks every field; the error names the first field out of range.
    pub fn validate(&self) -> Result<(), CacheError> {
        let invalid =
            |field: &'static str, reason: String| Err(CacheError::InvalidConfig { field, reason });
        if WorldSize::new(self.world_size.width, self.world_size.height).is_none() {
            return invalid(
                "world_size",
                format!(
                    "width and height must be finite and positive, got {} x {}",
                    self.world_size.width, self.world_size.height
                ),
            );
        }
        if self.persist_interval < MIN_PERSIST_INTERVAL {
            return invalid(
                "persist_interval",
                format!(
                    "must be at least {} ms, got {} ms",
                    MIN_PERSIST_INTERVAL.as_millis(),
                    self.persist_interval.as_millis()
                ),
            );
        }
        if self.max_cached_users == 0 {
            return invalid("max_cached_users", "must be at least 1".into());
        }
        if self.max_cached_sessions == 0 {
            return invalid("max_cached_sessions", "must be at least 1".into());
        }
        if self.world_log_capacity == 0 {
            return invalid("world_log_capacity", "must be at least 1".into());
        }
        if self.id_block_size < 2 {
            return invalid(
                "id_block_size",
                format!("must be at least 2, got {}", self.id_block_size),
            );
        }
        if self.max_backoff < MIN_PERSIST_INTERVAL {
            return invalid(
                "max_backoff",
                format!(
                    "must be at least {} ms, got {} ms",
                    MIN_PERSIST_INTERVAL.as_millis(),
                    self.max_backoff.as_millis()
                ),
            );
        }
        Ok(())
    }

    /// The wait before retry number `failures` (1 = after the first failure) of a failing
    /// flush: `min(persist_interval, 1 s) · 2^(failures − 1)`, capped at `max_backoff`.
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let first = self.persist_interval.min(Duration::from_secs(1));
        let factor = 1u32 << failures.saturating_sub(1).min(20);
        first.saturating_mul(factor).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(config: &CacheConfig) -> Option<&'static str> {
        match config.validate() {
            Err(CacheError::InvalidConfig { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn defaults_are_valid() {
        let config = CacheConfig::default();
        assert_eq!(config.validate().ok(), Some(()));
        assert_eq!(config.persist_interval, Duration::from_secs(30));
    }

    #[test]
    fn each_out_of_range_field_is_named() {
        let base = CacheConfig::default();
        let cases = [
            (
                CacheConfig {
                    persist_interval: Duration::from_millis(99),
                    ..base.clone()
                },
                "persist_interval",
            ),
            (
                CacheConfig {
                    world_size: WorldSize {
                        width: 0.0,
                        height: 5.0,
                    },
                    ..base.clone()
                },
                "world_size",
            ),
            (
                CacheConfig {
                    max_cached_users: 0,
                    ..base.clone()
                },
                "max_cached_users",
            ),
            (
                CacheConfig {
                    max_cached_sessions: 0,
                    ..base.clone()
                },
                "max_cached_sessions",
            ),
            (
                CacheConfig {
                    id_block_size: 1,
                    ..base.clone()
                },
                "id_block_size",
            ),
            (
                CacheConfig {
                    max_backoff: Duration::ZERO,
                    ..base.clone()
                },
                "max_backoff",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(field_of(&config), Some(field));
        }
        let minimum = CacheConfig {
            persist_interval: MIN_PERSIST_INTERVAL,
            ..base
        };
        assert_eq!(field_of(&minimum), None);
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let config = CacheConfig {
            persist_interval: Duration::from_secs(30),
            max_backoff: Duration::from_secs(10),
            ..CacheConfig::default()
        };
        let delays: Vec<u64> = (1..=6)
            .map(|n| config.retry_delay(n).as_millis() as u64)
            .collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert_eq!(config.retry_delay(1_000), Duration::from_secs(10));
        let fast = CacheConfig {
            persist_interval: Duration::from_millis(100),
            ..config
        };
        assert_eq!(fast.retry_delay(1), Duration::from_millis(100));
        assert_eq!(fast.retry_delay(3), Duration::from_millis(400));
    }
}
