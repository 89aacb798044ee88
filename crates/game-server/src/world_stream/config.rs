//! The flags of world sync (the change log, the event streams, areas of interest) and of
//! the session cache, flattened into [`crate::Config`].

use std::fmt;

use clap::Args;
use thiserror::Error;

use game_cache::fanout::{BATCH_WINDOW, HubLimits};

/// The longest write interval: with the default area refresh a stream receives at most
/// 24 events a second, so a second's worth stays well within the default 64-event queue.
const MAX_WRITE_INTERVAL_MS: u64 = 1_000;

/// World sync and cache sizes; every flag also reads `SPACEWARS_<FLAG>`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SyncConfig {
    /// World event streams (`/api/world/events`) open at most; more are refused with 503
    /// `too_many_streams`.
    #[arg(long, env = "SPACEWARS_MAX_STREAMS", default_value_t = 10_000)]
    pub max_streams: usize,

    /// Events queued for one stream; a client further behind is cut off (it resumes with
    /// `Last-Event-ID`).
    #[arg(long, env = "SPACEWARS_STREAM_BUFFER", default_value_t = 64)]
    pub stream_buffer: usize,

    /// Object changes the world's change log keeps for deltas and stream resumption
    /// (about 64 bytes each); a client further behind gets a full snapshot.
    #[arg(long, env = "SPACEWARS_WORLD_LOG_CAPACITY", default_value_t = 65_536)]
    pub world_log_capacity: usize,

    /// The radius (world units) of a stream's area of interest when the client names none;
    /// the stream then carries only what is that near the player's ship.
    #[arg(long, env = "SPACEWARS_INTEREST_RADIUS", default_value_t = 600)]
    pub interest_radius: u32,

    /// The largest area radius a client may ask for (`?radius=`).
    #[arg(long, env = "SPACEWARS_MAX_INTEREST_RADIUS", default_value_t = 2_000)]
    pub max_interest_radius: u32,

    /// How often areas are recomputed as things move, in milliseconds.
    #[arg(long, env = "SPACEWARS_INTEREST_TICK_MS", default_value_t = 250)]
    pub interest_tick_ms: u64,

    /// The least time between two writes to one event stream, in milliseconds (at most
    /// 1,000): events queued meanwhile go out together in the next write. 0 writes each
    /// batch as soon as it is queued; more saves the server a write and a wake-up per
    /// batch per stream, at the price of up to this much delay.
    #[arg(long, env = "SPACEWARS_STREAM_WRITE_INTERVAL_MS", default_value_t = 0)]
    pub stream_write_interval_ms: u64,

    /// Sessions the cache keeps in memory (`--repo cached`); past it the least recently
    /// used are dropped (and read from the database again when next used). Set it above
    /// the players active at once, or every request of the others costs a query.
    #[arg(long, env = "SPACEWARS_MAX_CACHED_SESSIONS", default_value_t = 20_000)]
    pub max_cached_sessions: usize,
}

impl Default for SyncConfig {
    fn default() -> SyncConfig {
        SyncConfig {
            max_streams: 10_000,
            stream_buffer: 64,
            world_log_capacity: 65_536,
            max_cached_sessions: 20_000,
            interest_radius: 600,
            max_interest_radius: 2_000,
            interest_tick_ms: 250,
            stream_write_interval_ms: 0,
        }
    }
}

/// A world sync flag out of range.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SyncConfigError {
    /// A size that must be at least 1.
    #[error("--{0} must be at least 1")]
    Zero(&'static str),
    /// The default radius is over the largest allowed.
    #[error("--interest-radius must not exceed --max-interest-radius")]
    RadiusOverMax,
    /// The write interval is over a second (a stream's queue could not hold its events).
    #[error("--stream-write-interval-ms must not exceed 1000")]
    WriteIntervalOverMax,
    /// The queue of a stream cannot hold what one write interval brings: every stream
    /// would be cut off as slow.
    #[error(
        "--stream-buffer must be at least {0} for --stream-write-interval-ms (one interval's events, and one more)"
    )]
    BufferUnderInterval(u64),
}

impl SyncConfig {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), SyncConfigError> {
        for (flag, value) in [
            ("max-streams", self.max_streams),
            ("stream-buffer", self.stream_buffer),
            ("world-log-capacity", self.world_log_capacity),
            ("max-cached-sessions", self.max_cached_sessions),
            ("interest-radius", self.interest_radius as usize),
            ("max-interest-radius", self.max_interest_radius as usize),
            ("interest-tick-ms", self.interest_tick_ms as usize),
        ] {
            if value == 0 {
                return Err(SyncConfigError::Zero(flag));
            }
        }
        if self.interest_radius > self.max_interest_radius {
            return Err(SyncConfigError::RadiusOverMax);
        }
        if self.stream_write_interval_ms > MAX_WRITE_INTERVAL_MS {
            return Err(SyncConfigError::WriteIntervalOverMax);
        }
        let needed = self.events_within(self.stream_write_interval_ms) + 1;
        if (self.stream_buffer as u64) < needed {
            return Err(SyncConfigError::BufferUnderInterval(needed));
        }
        Ok(())
    }

    /// How often areas are recomputed.
    pub fn interest_tick(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.interest_tick_ms)
    }

    /// The most events a stream may be given within `ms`: a batch per batch window and
    /// an area refresh per interest tick.
    fn events_within(&self, ms: u64) -> u64 {
        let batch_ms = u64::try_from(BATCH_WINDOW.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        ms.div_ceil(batch_ms) + ms.div_ceil(self.interest_tick_ms.max(1))
    }

    /// The least time between two writes to one event stream.
    pub fn stream_write_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.stream_write_interval_ms)
    }

    /// The event streams' bounds.
    pub(crate) fn stream_limits(&self) -> HubLimits {
        HubLimits {
            max_streams: self.max_streams,
            buffer: self.stream_buffer,
        }
    }
}

impl fmt::Display for SyncConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max_streams={} stream_buffer={} world_log_capacity={} max_cached_sessions={} \
             interest_radius={} max_interest_radius={} interest_tick_ms={} \
             stream_write_interval_ms={}",
            self.max_streams,
            self.stream_buffer,
            self.world_log_capacity,
            self.max_cached_sessions,
            self.interest_radius,
            self.max_interest_radius,
            self.interest_tick_ms,
            self.stream_write_interval_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_must_be_at_least_one() {
        assert_eq!(SyncConfig::default().validate(), Ok(()));
        let zero = SyncConfig {
            stream_buffer: 0,
            ..SyncConfig::default()
        };
        assert_eq!(zero.validate(), Err(SyncConfigError::Zero("stream-buffer")));
        let wide = SyncConfig {
            interest_radius: 2_001,
            ..SyncConfig::default()
        };
        assert_eq!(wide.validate(), Err(SyncConfigError::RadiusOverMax));
        let second = SyncConfig {
            stream_write_interval_ms: 1_000,
            ..SyncConfig::default()
        };
        assert_eq!(second.validate(), Ok(()));
        let slow = SyncConfig {
            stream_write_interval_ms: 1_001,
            ..SyncConfig::default()
        };
        assert_eq!(slow.validate(), Err(SyncConfigError::WriteIntervalOverMax));
        // 500 ms brings up to 12 events: the queue must hold 13.
        let small = SyncConfig {
            stream_write_interval_ms: 500,
            stream_buffer: 12,
            ..SyncConfig::default()
        };
        assert_eq!(
            small.validate(),
            Err(SyncConfigError::BufferUnderInterval(13))
        );
        assert_eq!(
            SyncConfig {
                stream_buffer: 13,
                ..small
            }
            .validate(),
            Ok(())
        );
        // Areas refreshed every 50 ms bring 10 more events in 500 ms.
        let busy = SyncConfig {
            stream_buffer: 13,
            interest_tick_ms: 50,
            ..small
        };
        assert_eq!(
            busy.validate(),
            Err(SyncConfigError::BufferUnderInterval(21))
        );
        assert_eq!(
            SyncConfigError::Zero("max-streams").to_string(),
            "--max-streams must be at least 1"
        );
    }
}
