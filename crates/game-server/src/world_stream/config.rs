//! The flags of world sync (the change log, the event streams) and of the session cache,
//! flattened into [`crate::Config`].

use std::fmt;

use clap::Args;
use thiserror::Error;

use super::hub::StreamLimits;

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
        }
    }
}

/// A world sync flag out of range.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SyncConfigError {
    /// A size that must be at least 1.
    #[error("--{0} must be at least 1")]
    Zero(&'static str),
}

impl SyncConfig {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), SyncConfigError> {
        for (flag, value) in [
            ("max-streams", self.max_streams),
            ("stream-buffer", self.stream_buffer),
            ("world-log-capacity", self.world_log_capacity),
            ("max-cached-sessions", self.max_cached_sessions),
        ] {
            if value == 0 {
                return Err(SyncConfigError::Zero(flag));
            }
        }
        Ok(())
    }

    /// The event streams' bounds.
    pub fn stream_limits(&self) -> StreamLimits {
        StreamLimits {
            max_streams: self.max_streams,
            buffer: self.stream_buffer,
        }
    }
}

impl fmt::Display for SyncConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max_streams={} stream_buffer={} world_log_capacity={} max_cached_sessions={}",
            self.max_streams, self.stream_buffer, self.world_log_capacity, self.max_cached_sessions
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
        assert_eq!(
            SyncConfigError::Zero("max-streams").to_string(),
            "--max-streams must be at least 1"
        );
    }
}
