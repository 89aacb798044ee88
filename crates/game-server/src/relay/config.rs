//! The relay's flags: `--nats URL` (an owner publishes), `--edge` (serve streams from the
//! owner's feed), the world's name and the bounds of what an edge keeps.

use std::time::Duration;

use clap::Args;
use game_cache::relay::{MAX_SNAPSHOT_CELLS, Subjects};

/// The relay's flags (docs/operations.md, "Edges").
#[derive(Debug, Clone, PartialEq, Args)]
pub struct RelayConfig {
    /// NATS server to relay the world through. An owner publishes every batch and answers
    /// snapshot requests; without it (and without `--edge`) the server runs alone.
    #[arg(long, env = "SPACEWARS_NATS")]
    pub nats: Option<String>,

    /// The world's name: its NATS subjects are `spacewars.<world>.…` (letters, digits,
    /// `-`, `_`).
    #[arg(long = "world", env = "SPACEWARS_WORLD", default_value = "default")]
    pub world: String,

    /// Run as an edge: no lease, no writes; serve `/api/world/events` from the owner's
    /// feed (needs `--nats`); every other path answers 421 `edge_only_streams`.
    #[arg(long, env = "SPACEWARS_EDGE")]
    pub edge: bool,

    /// Edge: cell messages an edge may hold unread; past it NATS drops them, the edge
    /// sees the gap and fetches a snapshot again.
    #[arg(long, env = "SPACEWARS_RELAY_BUFFER", default_value_t = 65_536)]
    pub relay_buffer: usize,

    /// Objects per snapshot part (the owner caps each request at this too).
    #[arg(long, env = "SPACEWARS_RELAY_SNAPSHOT_PART", default_value_t = 2_000)]
    pub relay_snapshot_part: usize,

    /// Edge: how long a snapshot may take before it is asked for again, in milliseconds.
    #[arg(
        long,
        env = "SPACEWARS_RELAY_SNAPSHOT_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub relay_snapshot_timeout_ms: u64,

    /// Edge: at most this many NATS subscriptions to single cells. An edge follows only
    /// the cells its area streams need; past this many (or while a whole-world stream is
    /// open) it follows every cell through one wildcard subscription and holds the whole
    /// world. 0: always the whole world.
    #[arg(
        long,
        env = "SPACEWARS_RELAY_MAX_CELL_SUBSCRIPTIONS",
        default_value_t = 1_024
    )]
    pub relay_max_cell_subscriptions: usize,
}

impl Default for RelayConfig {
    fn default() -> RelayConfig {
        RelayConfig {
            nats: None,
            world: "default".to_owned(),
            edge: false,
            relay_buffer: 65_536,
            relay_snapshot_part: 2_000,
            relay_snapshot_timeout_ms: 5_000,
            relay_max_cell_subscriptions: 1_024,
        }
    }
}

/// A relay flag out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayConfigError {
    /// `--nats` or `--edge` in a build without the `nats` feature.
    #[error("--nats and --edge need a game-server built with the `nats` feature")]
    NotBuilt,
    /// `--edge` without `--nats`.
    #[error("--edge needs --nats URL (the owner's feed)")]
    EdgeWithoutNats,
    /// A world name NATS subjects cannot carry.
    #[error("--world must be letters, digits, '-' or '_' (got {0:?})")]
    World(String),
    /// More cell subscriptions than one snapshot request may name.
    #[error("--relay-max-cell-subscriptions must be at most {max} (got {got})")]
    TooManyCells {
        /// The flag's value.
        got: usize,
        /// The most a snapshot request names.
        max: usize,
    },
    /// A zero bound.
    #[error(
        "--relay-buffer, --relay-snapshot-part and --relay-snapshot-timeout-ms must be at least 1"
    )]
    Zero,
}

impl RelayConfig {
    /// Checks the flags.
    pub fn validate(&self) -> Result<(), RelayConfigError> {
        let wanted = self.nats.is_some() || self.edge;
        if wanted && !cfg!(feature = "nats") {
            return Err(RelayConfigError::NotBuilt);
        }
        if self.edge && self.nats.is_none() {
            return Err(RelayConfigError::EdgeWithoutNats);
        }
        self.subjects()?;
        if self.relay_buffer == 0
            || self.relay_snapshot_part == 0
            || self.relay_snapshot_timeout_ms == 0
        {
            return Err(RelayConfigError::Zero);
        }
        // A round's first snapshot names every cell followed.
        if self.relay_max_cell_subscriptions > MAX_SNAPSHOT_CELLS {
            return Err(RelayConfigError::TooManyCells {
                got: self.relay_max_cell_subscriptions,
                max: MAX_SNAPSHOT_CELLS,
            });
        }
        Ok(())
    }

    /// The world's subjects.
    pub fn subjects(&self) -> Result<Subjects, RelayConfigError> {
        Subjects::new(&self.world).ok_or_else(|| RelayConfigError::World(self.world.clone()))
    }

    /// How long a snapshot may take.
    pub fn snapshot_timeout(&self) -> Duration {
        Duration::from_millis(self.relay_snapshot_timeout_ms)
    }
}

/// The paths an edge serves (the event streams and the operations paths); everything
/// else is the owner's.
pub fn edge_serves(path: &str) -> bool {
    use crate::router::Route;
    matches!(
        Route::from_path(path),
        Some(Route::WorldEvents | Route::Healthz | Route::Readyz | Route::Metrics)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_needs_a_feed_and_a_world_name_subjects_can_carry() {
        let edge = RelayConfig {
            edge: true,
            ..RelayConfig::default()
        };
        assert_eq!(edge.validate(), Err(RelayConfigError::EdgeWithoutNats));
        let dotted = RelayConfig {
            world: "a.b".into(),
            ..RelayConfig::default()
        };
        assert_eq!(
            dotted.validate(),
            Err(RelayConfigError::World("a.b".into()))
        );
        let zero = RelayConfig {
            relay_buffer: 0,
            ..RelayConfig::default()
        };
        assert_eq!(zero.validate(), Err(RelayConfigError::Zero));
        let cells = |n| RelayConfig {
            relay_max_cell_subscriptions: n,
            ..RelayConfig::default()
        };
        assert_eq!(cells(4_096).validate(), Ok(()));
        assert_eq!(cells(0).validate(), Ok(()));
        assert_eq!(
            cells(4_097).validate().map_err(|e| e.to_string()),
            Err("--relay-max-cell-subscriptions must be at most 4096 (got 4097)".into())
        );
        assert_eq!(RelayConfig::default().validate(), Ok(()));
    }
}
