//! One load shape on one server: `load max` (a closed loop) or `load players` (polling
//! players), with the database round-trips counted around it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use game_server::RepoKind;
use spacewars_harness::player;

use crate::args::{ClosedLoopArgs, MaxArgs, OneServer, PlayersArgs, Timing};
use crate::cpu;
use crate::generator::{self, ClosedLoop, Measured, Players};
use crate::report::route_table;
use crate::round_trips::{self, RoundTrips};
use crate::server::{fresh_database, repo_name, start_server};

/// Runs `load max`.
pub async fn max(binary: &Path, args: &MaxArgs) -> anyhow::Result<()> {
    let server = &args.server;
    on_fresh_server(binary, "max", server, |addr, pid, idle| async move {
        let hammer = player::register(addr, "hammer").await?;
        let cookie = Some(hammer.cookie);
        Ok(closed_loop_counting(addr, pid, cookie, &args.closed, &server.timing, idle).await)
    })
    .await
}

/// Runs `load players`.
pub async fn players(binary: &Path, args: &PlayersArgs) -> anyhow::Result<()> {
    on_fresh_server(
        binary,
        "players",
        &args.server,
        |addr, pid, idle| async move {
            let players = player::register_many(addr, "player", args.players).await?;
            let load = Players {
                addr,
                players,
                poll: Duration::from_millis(args.poll_ms),
                duration: args.server.timing.duration(),
                seed: args.server.runner.seed,
            };
            let load = with_cores(pid, generator::players(&load));
            Ok(round_trips::around(addr, idle, load).await)
        },
    )
    .await
}

/// Starts a server on a fresh database, runs `load` against it (given the address, the
/// server's pid and the idle window of the round-trip count), stops it and prints.
async fn on_fresh_server<F, Fut>(
    binary: &Path,
    name: &str,
    setup: &OneServer,
    load: F,
) -> anyhow::Result<()>
where
    F: FnOnce(SocketAddr, Option<u32>, Duration) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(Measured, Option<RoundTrips>)>>,
{
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let repo = repo_name(setup.repo);
    let (database_url, _schema) =
        fresh_database(dir.path(), &repo, setup.database.postgres.as_deref())?;
    let server = start_server(
        binary,
        dir.path(),
        setup.repo,
        database_url,
        setup.persist.persist_interval_ms,
    )
    .await?;
    let idle = idle_window(setup.repo, setup.timing.duration());
    let result = load(server.addr(), server.pid().ok(), idle).await;
    let exit = server.stop(Duration::from_secs(30)).await;
    let (measured, round_trips) = result?;
    println!(
        "load {} --repo {repo} ({} s measured, client threads {}, machine: {})",
        name,
        setup.timing.duration_secs,
        setup.runner.client_threads,
        spacewars_harness::machine::describe(),
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
pub fn idle_window(repo: RepoKind, measured: Duration) -> Duration {
    match repo {
        RepoKind::Cached => measured,
        RepoKind::Db => Duration::ZERO,
    }
}

/// Warm-up, then the measured closed loop on `GET /api/world`, with the round-trips
/// counted around it net of an `idle` window (`None` when the target has no counter).
pub async fn closed_loop_counting(
    addr: SocketAddr,
    server_pid: Option<u32>,
    cookie: Option<String>,
    closed: &ClosedLoopArgs,
    timing: &Timing,
    idle: Duration,
) -> (Measured, Option<RoundTrips>) {
    let load = ClosedLoop {
        addr,
        cookie,
        path: "/api/world",
        connections: closed.connections,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(timing.warmup_secs),
        max_requests: closed.max_requests,
    };
    generator::closed_loop(&load).await;
    let measured = ClosedLoop {
        duration: timing.duration(),
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
