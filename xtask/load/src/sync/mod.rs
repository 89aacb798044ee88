//! `cargo xtask load sync full|delta|stream|stream-world|all`: signed-in players who act
//! every ~10 s (navigate, sometimes a collect) and follow the world by full polls
//! (`GET /api/world` every ~3 s), delta polls (`?since=V` every ~3 s), the area stream
//! (`/api/world/events`, the server's default: what is near the player's ship) or the
//! whole-world stream (`?area=world`). Each mode runs on a fresh release server on the
//! cached repository (SQLite file); `all` runs the four one after another, each on its
//! own fresh server with the same players, and prints the ratios to full polling.
//!
//! - [`players`]: the players' loops; [`actor`]: their actions; [`echo`]: a write's
//!   acknowledgement to its delta on the stream.
//! - [`world`]: a player's copy of the world (full worlds and deltas applied).
//! - [`sse`]: the incremental event-stream parser (the harness's, shared with the edge
//!   drill); the stream's connection is the harness's `event_stream`.
//! - [`tally`]: counters and outcomes; [`report`]: figures, table and ratios.

pub mod actor;
pub mod echo;
pub mod players;
pub mod report;
pub mod tally;
pub mod world;

pub use spacewars_harness::sse;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::{Method, StatusCode};

use crate::affinity;
use crate::args::SyncArgs;
use crate::capacity::edges::{self, Relay};
use crate::capacity::probe;
use crate::cpu::cpu_seconds;
use game_server::RepoKind;
use players::SyncRun;
use report::SyncFigures;
use spacewars_harness::player::{self, Player};
use spacewars_harness::server_process::{
    GameServerConfig, ServerProcess, flag_value, free_local_addr,
};
use tally::{Counters, Outcome};
use world::SyncBody;

/// `load sync <FOLLOW>`: which way(s) of following the world to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncMode {
    /// `GET /api/world` every ~3 s (the browser client's polling).
    Full,
    /// `GET /api/world?since=V` every ~3 s, applied to a local copy.
    Delta,
    /// One `/api/world/events` stream per player (an area of interest around its ship).
    Stream,
    /// One `/api/world/events?area=world` stream per player (the whole world).
    StreamWorld,
    /// The four, one after another, each on a fresh server.
    All,
}

/// One way of following the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Full polls.
    Full,
    /// Delta polls.
    Delta,
    /// The area stream.
    Stream,
    /// The whole-world stream.
    StreamWorld,
}

impl Follow {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Follow::Full => "full",
            Follow::Delta => "delta",
            Follow::Stream => "stream",
            Follow::StreamWorld => "stream-world",
        }
    }
}

impl SyncMode {
    /// The modes to run, in order.
    pub fn follows(self) -> Vec<Follow> {
        match self {
            SyncMode::Full => vec![Follow::Full],
            SyncMode::Delta => vec![Follow::Delta],
            SyncMode::Stream => vec![Follow::Stream],
            SyncMode::StreamWorld => vec![Follow::StreamWorld],
            SyncMode::All => vec![
                Follow::Full,
                Follow::Delta,
                Follow::Stream,
                Follow::StreamWorld,
            ],
        }
    }
}

/// Runs the sync comparison and prints it.
pub async fn run(binary: &Path, args: &SyncArgs, mode: SyncMode) -> anyhow::Result<()> {
    anyhow::ensure!(args.players >= 1, "--sync needs at least one player");
    let load_before = spacewars_harness::machine::load_average();
    println!(
        "load sync {}: {} players acting every ~{} ms ({:.0} % collects of a random known \
         object, the rest navigate), polls every ~{} ms, streams on their own connection; \
         {} s measured per mode after {} s warm-up; each mode on a fresh cached server \
         (SQLite file), world {}; load generator on {} thread(s); {}",
        mode_name(mode),
        args.players,
        args.acting.action_ms,
        args.acting.collect_share * 100.0,
        args.acting.poll_ms,
        args.timing.duration_secs,
        warmup(args).as_secs(),
        args.world_side.map_or_else(
            || "500 × 500 (default)".to_owned(),
            |s| format!("{s} × {s}")
        ),
        args.runner.threads(),
        args.affinity.describe(),
    );
    println!("machine: {}", spacewars_harness::machine::describe());
    if let Some(load) = load_before {
        println!("load average (1 min) before the run: {load:.2}");
    }
    let mut figures = Vec::new();
    for follow in mode.follows() {
        let measured = one_mode(binary, args, follow).await?;
        println!(
            "{}: done ({} objects, {} world bytes, {:.2} server CPU s)",
            follow.as_str(),
            measured.objects,
            measured.counted.world_bytes,
            measured.server_cpu_s
        );
        figures.push(measured);
    }
    print!("{}", report::render(&figures));
    println!(
        "columns: act = action latency (ms); srv cpu s = server CPU seconds in the window; \
         cpu ms/pm = server CPU ms per player-minute; KiB/pm = world body bytes received per \
         player-minute (stream: bytes read); reads/s = world answers or stream events per \
         second; lag = server time of a stream delta to parsed (ms); late = how late ticks \
         started (ms); load = 1-min load average at the end of the window"
    );
    Ok(())
}

fn mode_name(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::All => "all",
        SyncMode::Full => "full",
        SyncMode::Delta => "delta",
        SyncMode::Stream => "stream",
        SyncMode::StreamWorld => "stream-world",
    }
}

/// Unmeasured time before the window: at least one poll interval, so every player has
/// read the world (or opened its stream) once.
fn warmup(args: &SyncArgs) -> Duration {
    Duration::from_secs(args.timing.warmup_secs).max(Duration::from_millis(args.acting.poll_ms))
}

/// One mode on a fresh server.
pub async fn one_mode(
    binary: &Path,
    args: &SyncArgs,
    follow: Follow,
) -> anyhow::Result<SyncFigures> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let database_url = dir.path().join("sync.db").display().to_string();
    let world = args
        .edges
        .as_ref()
        .map(|_| edges::unique_world(args.players));
    let server = start_server(
        binary,
        dir.path(),
        database_url.clone(),
        args,
        world.as_deref(),
    )
    .await?;
    let pid = server.pid()?;
    let relay = match (&args.edges, &world) {
        (Some(setup), Some(world)) => {
            let config = server_config(binary, database_url, args);
            let streams = args.players + 64;
            Relay::start(dir.path(), &config, setup, world, streams).await
        }
        _ => Ok(Relay::default()),
    };
    let result = match &relay {
        Ok(relay) => drive(server.addr(), pid, relay, args, follow).await,
        Err(error) => Err(anyhow::anyhow!("starting the edges: {error:#}")),
    };
    if let Ok(relay) = relay {
        relay.stop().await;
    }
    let exit = server.stop(Duration::from_secs(30)).await;
    let figures = result?;
    let exit = exit?;
    anyhow::ensure!(exit.success(), "the server exited with {exit}");
    Ok(figures)
}

/// The measured server's settings (the edges share them).
fn server_config(binary: &Path, database_url: String, args: &SyncArgs) -> GameServerConfig {
    GameServerConfig {
        binary: binary.to_owned(),
        database_url,
        repo: flag_value(&RepoKind::Cached),
        persist_interval_ms: args.persist.persist_interval_ms,
        demo_user: true,
        log_level: "warn".to_owned(),
    }
}

/// The release server on the cached repository, with connection caps raised for two
/// connections per player (all of them come from 127.0.0.1); with `world`, it publishes
/// that world to the edges' NATS.
pub async fn start_server(
    binary: &Path,
    dir: &Path,
    database_url: String,
    args: &SyncArgs,
    world: Option<&str>,
) -> anyhow::Result<ServerProcess> {
    let config = server_config(binary, database_url, args);
    let addr = free_local_addr()?;
    // The launcher's arguments already lift the connection caps and the rate limits;
    // the stream cap follows the players.
    let streams = (args.players + 64).to_string();
    let mut command = affinity::server_command(binary, args.affinity.server());
    command
        .args(config.args(addr))
        .args(["--max-streams", &streams]);
    if let Some(side) = args.world_side {
        let side = side.to_string();
        command.args(["--world-width", &side, "--world-height", &side]);
    }
    command.args(["--spawn", &flag_value(&args.spawn)]);
    if let (Some(setup), Some(world)) = (&args.edges, world) {
        command.args(edges::owner_flags(&setup.nats, world));
    }
    let log = dir.join("sync-server.log");
    let mut server = ServerProcess::spawn(command, addr, &log, "game-server (sync)".into())?;
    server
        .wait_ready("/readyz", Duration::from_secs(60))
        .await?;
    Ok(server)
}

/// Registers the players (and idle ones to reach `--world-objects`), runs them, and
/// measures the window.
async fn drive(
    addr: SocketAddr,
    pid: u32,
    relay: &Relay,
    args: &SyncArgs,
    follow: Follow,
) -> anyhow::Result<SyncFigures> {
    let players = player::register_many(addr, "sync", args.players).await?;
    let first = players.first().context("no player registered")?.clone();
    let mut objects = count_objects(addr, &first).await?;
    if let Some(wanted) = args.world_objects
        && wanted > objects
    {
        player::register_many(addr, "idle", wanted - objects).await?;
        objects = count_objects(addr, &first).await?;
    }
    let start = Instant::now() + Duration::from_millis(100);
    let measure_from = start + warmup(args);
    let edge_pids = relay.pids()?;
    let run = Arc::new(SyncRun {
        addr,
        stream_addrs: relay.addrs(),
        follow,
        poll: Duration::from_millis(args.acting.poll_ms),
        action_every: Duration::from_millis(args.acting.action_ms),
        collect_share: args.acting.collect_share,
        start,
        measure_from,
        until: measure_from + args.timing.duration(),
        seed: args.runner.seed,
        light_full_polls: args.light_full_polls,
        light_streams: args.light_streams,
        counters: Counters::default(),
    });
    let tasks: Vec<_> = players
        .into_iter()
        .enumerate()
        .map(|(i, player)| tokio::spawn(players::run_player(run.clone(), player, i)))
        .collect();
    let probe = tokio::spawn(probe::timer_lag(run.measure_from, run.until));
    tokio::time::sleep_until(run.measure_from.into()).await;
    let before = run.counters.snapshot();
    let (client0, server0) = cpu_now(pid)?;
    let edges0 = edge_cpu(&edge_pids)?;
    let nats0 = relay.nats_counted();
    let started = Instant::now();
    tokio::time::sleep_until(run.until.into()).await;
    let counted = run.counters.snapshot().since(&before);
    let (client1, server1) = cpu_now(pid)?;
    let edges1 = edge_cpu(&edge_pids)?;
    let nats1 = relay.nats_counted();
    let elapsed = started.elapsed();
    let load_average = spacewars_harness::machine::load_average();
    let timer_lag_us = probe.await.unwrap_or_else(|_| tally::histogram());
    let mut outcome = Outcome::default();
    for task in tasks {
        if let Ok(part) = task.await {
            outcome.merge(&part);
        }
    }
    Ok(SyncFigures {
        follow,
        players: args.players,
        objects,
        elapsed,
        outcome,
        counted,
        server_cpu_s: server1 - server0,
        edge_cpu_s: edges1.iter().zip(&edges0).map(|(b, a)| b - a).collect(),
        nats: nats0
            .zip(nats1)
            .map(|((m0, b0), (m1, b1))| (m1 - m0, b1 - b0)),
        client_cpu_s: client1 - client0,
        client_threads: generator_cores(args),
        stream_opens: run.counters.snapshot().stream_opens,
        load_average,
        timer_lag_us,
    })
}

/// The cores the load generator can use: its threads, or fewer CPUs it is pinned to.
pub fn generator_cores(args: &SyncArgs) -> usize {
    let threads = args.runner.threads();
    args.affinity
        .generator()
        .map_or(threads, |cpus| threads.min(cpus.cpus().len()))
}

/// CPU seconds of this process and of the server so far.
fn cpu_now(server_pid: u32) -> anyhow::Result<(f64, f64)> {
    let client = cpu_seconds(None).context("reading /proc/self/stat")?;
    let server = cpu_seconds(Some(server_pid)).context("reading the server's /proc stat")?;
    Ok((client, server))
}

/// CPU seconds of each edge so far.
fn edge_cpu(pids: &[u32]) -> anyhow::Result<Vec<f64>> {
    pids.iter()
        .map(|&pid| cpu_seconds(Some(pid)).context("reading an edge's /proc stat"))
        .collect()
}

/// Objects in the world, as `player` reads it.
pub async fn count_objects(addr: SocketAddr, player: &Player) -> anyhow::Result<usize> {
    let mut api = player.api(addr);
    let reply = api.raw(Method::GET, "/api/world", None).await?;
    anyhow::ensure!(
        reply.status == StatusCode::OK,
        "GET /api/world answered {}",
        reply.status
    );
    let body = SyncBody::parse(&reply.body)?;
    Ok(body.space_objects.map_or(0, |objects| objects.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_runs_every_mode_full_first() {
        assert_eq!(
            SyncMode::All.follows(),
            [
                Follow::Full,
                Follow::Delta,
                Follow::Stream,
                Follow::StreamWorld
            ]
        );
        assert_eq!(SyncMode::Delta.follows(), [Follow::Delta]);
        assert_eq!(Follow::Stream.as_str(), "stream");
    }
}
