//! `cargo xtask load`: the release server on a fresh SQLite database under a Rust load
//! generator; `--compare` runs the cached / db / minimal comparison instead, `--sync`
//! the world-sync comparison (full polls vs delta polls vs the event stream), and
//! `--mode capacity` ramps the players of each way of following the world to its limit.

pub mod capacity;
pub mod compare;
pub mod cpu;
pub mod figures;
pub mod generator;
pub mod postgres;
pub mod report;
pub mod round_trips;
pub mod sync;
pub mod verdict;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::player;
use crate::server_process::{GameServerConfig, Repo, ServerProcess};
use generator::{ClosedLoop, Measured, Players};
use postgres::Schema;
use report::route_table;
use round_trips::RoundTrips;

/// Environment variable set when the release server was built by a parent xtask.
pub const SERVER_BUILT_ENV: &str = "XTASK_SERVER_BUILT";

/// Which load shape to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Logged-in players polling the world every ~3 s plus stats, navigate and collect.
    Players,
    /// A closed loop hammering `GET /api/world`.
    Max,
    /// The capacity ramp: per way of following the world, players at constant density
    /// until action p99 or errors say stop (`load::capacity`).
    Capacity,
}

/// Repository to load (`--repo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RepoArg {
    /// Memory with write-behind.
    Cached,
    /// The database on every request.
    Db,
}

impl From<RepoArg> for Repo {
    fn from(repo: RepoArg) -> Repo {
        match repo {
            RepoArg::Cached => Repo::Cached,
            RepoArg::Db => Repo::Db,
        }
    }
}

/// Flags of `cargo xtask load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Load shape.
    #[arg(long, value_enum, default_value_t = Mode::Max)]
    pub mode: Mode,
    /// Run the cached / db / minimal comparison (closed loop on each, one run).
    #[arg(long)]
    pub compare: bool,
    /// With --compare: exit non-zero when a target is missed.
    #[arg(long)]
    pub strict: bool,
    /// Repository the server runs on (ignored by --compare, which runs both).
    #[arg(long, value_enum, default_value_t = RepoArg::Cached)]
    pub repo: RepoArg,
    /// Players (players mode).
    #[arg(long, default_value_t = 100)]
    pub players: usize,
    /// Mean time between a player's polls, ms (players mode).
    #[arg(long, default_value_t = 3_000)]
    pub poll_ms: u64,
    /// Concurrent connections (max mode and --compare).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Measured seconds (per target with --compare).
    #[arg(long, default_value_t = 8)]
    pub duration_secs: u64,
    /// Unmeasured warm-up seconds before each measurement.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// Seconds of mixed gameplay on the cached server for counting database round-trips
    /// per gameplay request (--compare).
    #[arg(long, default_value_t = 3)]
    pub mix_secs: u64,
    /// With --compare: run the three targets this many times, interleaved, and judge the
    /// medians (damps other processes' bursts on a shared machine).
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// Upper bound on requests of one measurement.
    #[arg(long, default_value_t = 50_000_000)]
    pub max_requests: u64,
    /// Worker threads of the load generator (the server gets the rest of the machine).
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Server persist interval, ms (default: 10 minutes, so no background flush runs while
    /// round-trips are counted; the chaos drill exercises flushing).
    #[arg(long, default_value_t = 600_000)]
    pub persist_interval_ms: u64,
    /// Run the game server on a throwaway schema of this local PostgreSQL server (admin URL,
    /// e.g. postgres://postgres@127.0.0.1:5432/test) instead of a SQLite file.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Seed of jitter and choices.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Run the world-sync comparison instead: --players signed-in players acting every
    /// ~--action-ms and following the world by full polls, delta polls (both every
    /// ~--poll-ms), the area stream or the whole-world stream; `all` runs the four one
    /// after another, each on a fresh cached server.
    #[arg(long, value_enum)]
    pub sync: Option<sync::SyncMode>,
    /// Mean time between a player's actions, ms (--sync).
    #[arg(long, default_value_t = 10_000)]
    pub action_ms: u64,
    /// Share of actions that collect a random object the player knows of (--sync); the
    /// rest navigate with a random course.
    #[arg(long, default_value_t = 0.2)]
    pub collect_share: f64,
    /// With --sync: register idle players (each adds a ship) until the world holds at
    /// least this many objects; the server has no other way to add objects.
    #[arg(long)]
    pub world_objects: Option<usize>,
    /// With --sync: the world's width and height (the server's --world-width and
    /// --world-height; default 500). Ships spawn at one point and spread as they navigate,
    /// unless --spawn spread.
    #[arg(long)]
    pub world_side: Option<f64>,
    /// With --sync: where the server places new ships (its `--spawn`): `spread` puts
    /// them evenly over the world by user id (--mode capacity always does).
    #[arg(long, value_enum, default_value_t = SpawnArg::Point)]
    pub spawn: SpawnArg,
    /// With --sync full: a player's full polls after its first are counted, not parsed,
    /// so the load generator's JSON parsing does not limit it first (--mode capacity
    /// always does).
    #[arg(long)]
    pub light_full_polls: bool,
    /// The capacity ramp's flags (--mode capacity).
    #[command(flatten)]
    pub capacity: capacity::CapacityArgs,
}

/// The server's `--spawn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SpawnArg {
    /// Every new ship at the rules' spawn point.
    Point,
    /// New ships spread evenly over the world by user id.
    Spread,
}

impl SpawnArg {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            SpawnArg::Point => "point",
            SpawnArg::Spread => "spread",
        }
    }
}

impl LoadArgs {
    /// The measured time (per target or mode).
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_secs)
    }
}

/// Builds a tokio runtime for the load generator with `threads` workers.
pub fn client_runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    Ok(runtime)
}

/// The release `game-server` binary, built unless a parent xtask already built it.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    let dir = if std::env::var_os(SERVER_BUILT_ENV).is_some() {
        crate::cargo::target_dir()?.join("release")
    } else {
        crate::cargo::build_release(&["game-server"])?
    };
    let binary = dir.join("game-server");
    anyhow::ensure!(binary.exists(), "{} is missing", binary.display());
    Ok(binary)
}

/// A fresh database named `label` (letters, digits, `_`): a SQLite file in `dir`, or with
/// `postgres` a throwaway schema on that local server (dropped with the returned guard).
pub fn fresh_database(
    dir: &Path,
    label: &str,
    postgres: Option<&str>,
) -> anyhow::Result<(String, Option<Schema>)> {
    match postgres {
        None => Ok((dir.join(format!("{label}.db")).display().to_string(), None)),
        Some(admin_url) => {
            let name = format!("xtask_load_{}_{label}", std::process::id());
            let schema = Schema::create(admin_url, &name)?;
            Ok((schema.url(), Some(schema)))
        }
    }
}

/// Starts the game server on `database_url` with load-test settings, logging into `dir`.
pub async fn start_server(
    binary: &Path,
    dir: &Path,
    repo: Repo,
    database_url: String,
    persist_interval_ms: u64,
) -> anyhow::Result<ServerProcess> {
    let config = GameServerConfig {
        binary: binary.to_owned(),
        database_url,
        repo,
        persist_interval_ms,
        demo_user: true,
        // Per-request access logs would be measured as server work.
        log_level: "warn".to_owned(),
    };
    let log = dir.join(format!("{}.log", repo.as_str()));
    ServerProcess::start_game(&config, &log, Duration::from_secs(60)).await
}

/// Runs `cargo xtask load`.
pub fn run(args: &LoadArgs) -> anyhow::Result<()> {
    let binary = server_binary()?;
    let runtime = client_runtime(args.client_threads)?;
    if let Some(mode) = args.sync {
        return runtime.block_on(sync::run(&binary, args, mode));
    }
    if args.mode == Mode::Capacity {
        return runtime.block_on(capacity::run(&binary, args));
    }
    if args.compare {
        let outcome = runtime.block_on(compare::run(&binary, args))?;
        anyhow::ensure!(
            outcome.all_passed() || !args.strict,
            "some targets were missed (see above)"
        );
        return Ok(());
    }
    runtime.block_on(single(&binary, args))
}

async fn single(binary: &Path, args: &LoadArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let repo = Repo::from(args.repo);
    let (database_url, _schema) =
        fresh_database(dir.path(), repo.as_str(), args.postgres.as_deref())?;
    let server = start_server(
        binary,
        dir.path(),
        repo,
        database_url,
        args.persist_interval_ms,
    )
    .await?;
    let addr = server.addr();
    let result = measure(addr, server.pid().ok(), repo, args).await;
    let exit = server.stop(Duration::from_secs(30)).await;
    let (measured, round_trips) = result?;
    println!(
        "load --mode {:?} --repo {} ({} s measured, client threads {}, machine: {})",
        args.mode,
        repo.as_str(),
        args.duration_secs,
        args.client_threads,
        crate::machine::describe(),
    );
    print!("{}", route_table(&measured.recorder, measured.elapsed));
    println!(
        "cores used while measuring: load generator {:.2}, server {:.2} (of {})",
        measured.cores.client,
        measured.cores.server,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let requests = measured.recorder.total().attempts();
    match round_trips {
        Some(rt) => println!("database round-trips: {}", rt.describe(requests)),
        None => println!("database round-trips: not exposed in /metrics"),
    }
    println!("server exit: {}", exit?);
    Ok(())
}

/// The idle window whose round-trips are subtracted: as long as the measurement on the
/// cached repository (where the request path should cause none), none on db.
pub fn idle_window(repo: Repo, measured: Duration) -> Duration {
    match repo {
        Repo::Cached => measured,
        Repo::Db => Duration::ZERO,
    }
}

/// Registers the players, runs the chosen shape, and counts round-trips around it.
async fn measure(
    addr: SocketAddr,
    server_pid: Option<u32>,
    repo: Repo,
    args: &LoadArgs,
) -> anyhow::Result<(Measured, Option<RoundTrips>)> {
    let idle = idle_window(repo, args.duration());
    match args.mode {
        Mode::Max => {
            let hammer = player::register(addr, "hammer").await?;
            Ok(closed_loop_counting(addr, server_pid, Some(hammer.cookie), args, idle).await)
        }
        Mode::Players => {
            let players = player::register_many(addr, "player", args.players).await?;
            let load = Players {
                addr,
                players,
                poll: Duration::from_millis(args.poll_ms),
                duration: args.duration(),
                seed: args.seed,
            };
            let load = with_cores(server_pid, generator::players(&load));
            Ok(round_trips::around(addr, idle, load).await)
        }
        Mode::Capacity => anyhow::bail!("--mode capacity runs its own servers (load::capacity)"),
    }
}

/// Warm-up, then the measured closed loop on `GET /api/world`, with the round-trips
/// counted around it net of an `idle` window (`None` when the target has no counter).
pub async fn closed_loop_counting(
    addr: SocketAddr,
    server_pid: Option<u32>,
    cookie: Option<String>,
    args: &LoadArgs,
    idle: Duration,
) -> (Measured, Option<RoundTrips>) {
    let load = ClosedLoop {
        addr,
        cookie,
        path: "/api/world",
        connections: args.connections,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(args.warmup_secs),
        max_requests: args.max_requests,
    };
    generator::closed_loop(&load).await;
    let measured = ClosedLoop {
        duration: args.duration(),
        ..load
    };
    round_trips::around(
        addr,
        idle,
        with_cores(server_pid, generator::closed_loop(&measured)),
    )
    .await
}

/// Runs a load and records the cores the client and the server used meanwhile.
pub async fn with_cores(
    server_pid: Option<u32>,
    load: impl std::future::Future<Output = Measured>,
) -> Measured {
    let window = cpu::CpuWindow::start(server_pid);
    let mut measured = load.await;
    measured.cores = window.finish();
    measured
}
