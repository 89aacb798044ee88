//! The flags of `spacewars-load`'s subcommands: each subcommand flattens only the groups it
//! uses, so a flag that would be ignored does not parse.

use std::time::Duration;

use game_server::{RepoKind, SpawnKind};

use crate::affinity::Affinity;
use crate::capacity::CapacityArgs;
use crate::capacity::edges::{EdgeArgs, EdgeSetup};
use crate::sync::SyncMode;

/// How long each measurement runs.
#[derive(Debug, Clone, clap::Args)]
pub struct Timing {
    /// Measured seconds (per target, mode or step).
    #[arg(long, default_value_t = 8)]
    pub duration_secs: u64,
    /// Unmeasured warm-up seconds before each measurement.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
}

impl Timing {
    /// The measured time.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_secs)
    }
}

/// The load generator itself.
#[derive(Debug, Clone, clap::Args)]
pub struct Runner {
    /// Worker threads of the load generator (default: one per CPU it is pinned to, else
    /// one; the server gets the rest of the machine).
    #[arg(long)]
    pub client_threads: Option<usize>,
    /// Seed of jitter and choices.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

impl Runner {
    /// The worker threads to run (see [`Runner::client_threads`]).
    pub fn threads(&self) -> usize {
        self.client_threads.unwrap_or(1).max(1)
    }
}

/// The server's persist interval.
#[derive(Debug, Clone, clap::Args)]
pub struct Persist {
    /// Server persist interval, ms (default: 10 minutes, so no background flush runs while
    /// round-trips are counted; the chaos drill exercises flushing).
    #[arg(long, default_value_t = 600_000)]
    pub persist_interval_ms: u64,
}

/// The measured server's database.
#[derive(Debug, Clone, clap::Args)]
pub struct Database {
    /// Run the game server on a throwaway schema of this local PostgreSQL server (admin
    /// URL, e.g. postgres://postgres@127.0.0.1:5432/test) instead of a SQLite file.
    #[arg(long)]
    pub postgres: Option<String>,
}

/// A closed loop on `GET /api/world`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClosedLoopArgs {
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Upper bound on requests of one measurement.
    #[arg(long, default_value_t = 50_000_000)]
    pub max_requests: u64,
}

/// One server under one load shape (`load max`, `load players`).
#[derive(Debug, Clone, clap::Args)]
pub struct OneServer {
    /// Repository the server runs on.
    #[arg(long, value_enum, default_value_t = RepoKind::Cached)]
    pub repo: RepoKind,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub timing: Timing,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub persist: Persist,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: Database,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub runner: Runner,
}

/// Flags of `load max`: a closed loop hammering `GET /api/world`.
#[derive(Debug, Clone, clap::Args)]
pub struct MaxArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub closed: ClosedLoopArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub server: OneServer,
}

/// Flags of `load players`: logged-in players polling the world plus stats, navigate and
/// collect.
#[derive(Debug, Clone, clap::Args)]
pub struct PlayersArgs {
    /// Players.
    #[arg(long, default_value_t = 100)]
    pub players: usize,
    /// Mean time between a player's polls, ms.
    #[arg(long, default_value_t = 3_000)]
    pub poll_ms: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub server: OneServer,
}

/// Flags of `load compare`: the closed loop on the cached server, the db server and the
/// minimal hyper server, judged against the targets.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// Exit non-zero when a target is missed.
    #[arg(long)]
    pub strict: bool,
    /// Run the three targets this many times, interleaved, and judge the medians (damps
    /// other processes' bursts on a shared machine).
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// Seconds of mixed gameplay on the cached server for counting database round-trips
    /// per gameplay request.
    #[arg(long, default_value_t = 3)]
    pub mix_secs: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub closed: ClosedLoopArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub timing: Timing,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub persist: Persist,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: Database,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub runner: Runner,
}

/// How signed-in players act while they follow the world.
#[derive(Debug, Clone, clap::Args)]
pub struct Acting {
    /// Mean time between a player's polls, ms (full and delta polls).
    #[arg(long, default_value_t = 3_000)]
    pub poll_ms: u64,
    /// Mean time between a player's actions, ms.
    #[arg(long, default_value_t = 10_000)]
    pub action_ms: u64,
    /// Share of actions that collect a random object the player knows of; the rest
    /// navigate with a random course.
    #[arg(long, default_value_t = 0.2)]
    pub collect_share: f64,
}

/// Flags of one world-sync measurement (`load sync`, and each step of `load capacity`).
#[derive(Debug, Clone, clap::Args)]
pub struct SyncArgs {
    /// Signed-in players.
    #[arg(long, default_value_t = 100)]
    pub players: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub acting: Acting,
    /// Register idle players (each adds a ship) until the world holds at least this many
    /// objects; the server has no other way to add objects.
    #[arg(long)]
    pub world_objects: Option<usize>,
    /// The world's width and height (the server's --world-width and --world-height;
    /// default 500). Ships spawn at one point and spread as they navigate, unless
    /// --spawn spread.
    #[arg(long)]
    pub world_side: Option<f64>,
    /// Where the server places new ships (its `--spawn`).
    #[arg(long, value_enum, default_value_t = SpawnKind::Point)]
    pub spawn: SpawnKind,
    /// With full polls: a player's full polls after its first are counted, not parsed, so
    /// the load generator's JSON parsing does not limit it first.
    #[arg(long)]
    pub light_full_polls: bool,
    /// With streams: deltas after the snapshot are counted and only their `id` (the
    /// version) and `currentTime` (for the delay) are read, not parsed as JSON, so the
    /// load generator's parsing does not limit it first.
    #[arg(long)]
    pub light_streams: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub timing: Timing,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub persist: Persist,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub runner: Runner,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub affinity: Affinity,
    /// The edges serving the streams (set by `load capacity --edges`; `load sync` has none).
    #[arg(skip)]
    pub edges: Option<EdgeSetup>,
}

/// Flags of `load sync`.
#[derive(Debug, Clone, clap::Args)]
pub struct SyncCommand {
    /// Which way(s) of following the world: full polls, delta polls (both every
    /// ~--poll-ms), the area stream or the whole-world stream; `all` runs the four one
    /// after another, each on a fresh cached server.
    #[arg(value_enum)]
    pub follow: SyncMode,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sync: SyncArgs,
}

/// Flags of `load capacity`: per way of following the world, players at constant density
/// until action p99 or errors say stop.
#[derive(Debug, Clone, clap::Args)]
pub struct CapacityCommand {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub capacity: CapacityArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub edges: EdgeArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub acting: Acting,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub timing: Timing,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub persist: Persist,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub runner: Runner,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub affinity: Affinity,
}
