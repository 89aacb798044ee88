//! `load compare`: the same closed loop on `--repo cached`, `--repo db` and a minimal
//! hyper server (this machine's ceiling), in one run, judged against the targets.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use hyper::{Method, StatusCode};
use tokio::process::Command;

use game_server::RepoKind;
use spacewars_harness::http_client::Connection;
use spacewars_harness::player::{self, REQUEST_TIMEOUT};
use spacewars_harness::server_process::{ServerProcess, free_local_addr};

use crate::args::CompareArgs;
use crate::figures::{MixRoundTrips, TargetFigures, median};
use crate::generator::{self, Measured, Players};
use crate::round_trips::{self, RoundTrips};
use crate::server::{fresh_database, repo_name, start_server};
use crate::single::{closed_loop_counting, idle_window};
use crate::verdict::{CompareOutcome, render, verdicts};

/// Players doing mixed gameplay while round-trips are counted on the cached server.
const MIX_PLAYERS: usize = 8;
/// Mean time between a mixing player's ticks.
const MIX_POLL: Duration = Duration::from_millis(25);

/// Runs the three targets one after another (`--rounds` times, interleaved), prints the
/// table and judges the medians.
pub async fn run(binary: &Path, args: &CompareArgs) -> anyhow::Result<CompareOutcome> {
    let load_before = spacewars_harness::machine::load_average();
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let mut rounds: Vec<[TargetFigures; 3]> = Vec::new();
    let mut mix: Option<MixRoundTrips> = None;
    for round in 1..=args.rounds.max(1) {
        let (cached, world_body, round_mix) =
            game_target(binary, dir.path(), RepoKind::Cached, round, args).await?;
        let (db, _, _) = game_target(binary, dir.path(), RepoKind::Db, round, args).await?;
        let minimal = minimal_target(dir.path(), &world_body, args).await?;
        eprintln!(
            "round {round}: cached {:.0} req/s, db {:.0} req/s, minimal {:.0} req/s",
            cached.rps, db.rps, minimal.rps
        );
        mix = match (mix, round_mix) {
            (Some(a), Some(b)) => Some(MixRoundTrips {
                round_trips: a.round_trips + b.round_trips,
                requests: a.requests + b.requests,
            }),
            (a, b) => a.or(b),
        };
        rounds.push([cached, db, minimal]);
    }
    let targets: Vec<TargetFigures> = (0..3)
        .map(|i| median(rounds.iter().map(|r| &r[i]).collect()))
        .collect();
    let verdicts = verdicts(&targets[0], &targets[1], &targets[2], mix);
    let outcome = CompareOutcome {
        rounds,
        targets,
        mix,
        load_before,
        verdicts,
    };
    print!("{}", render(&outcome, args));
    Ok(outcome)
}

/// One game server target: closed loop (and, on cached, the mixed gameplay phase).
async fn game_target(
    binary: &Path,
    dir: &Path,
    repo: RepoKind,
    round: usize,
    args: &CompareArgs,
) -> anyhow::Result<(TargetFigures, Vec<u8>, Option<MixRoundTrips>)> {
    let label = format!("{}_r{round}", repo_name(repo));
    let (database_url, _schema) = fresh_database(dir, &label, args.database.postgres.as_deref())?;
    let server = start_server(
        binary,
        dir,
        repo,
        database_url,
        args.persist.persist_interval_ms,
    )
    .await?;
    let result = game_target_load(server.addr(), server.pid().ok(), repo, args).await;
    let exit = server.stop(Duration::from_secs(30)).await;
    let (measured, round_trips, body, mix) = result?;
    exit?;
    Ok((
        TargetFigures::of(&repo_name(repo), &measured, round_trips),
        body,
        mix,
    ))
}

async fn game_target_load(
    addr: SocketAddr,
    server_pid: Option<u32>,
    repo: RepoKind,
    args: &CompareArgs,
) -> anyhow::Result<(Measured, Option<RoundTrips>, Vec<u8>, Option<MixRoundTrips>)> {
    let hammer = player::register(addr, "hammer").await?;
    let mut conn = Connection::new(addr, REQUEST_TIMEOUT);
    conn.set_cookie(Some(hammer.cookie.clone()));
    let world = conn.request(Method::GET, "/api/world", None).await?;
    anyhow::ensure!(
        world.status == StatusCode::OK,
        "GET /api/world answered {}",
        world.status
    );
    let idle = idle_window(repo, args.timing.duration());
    let (measured, round_trips) = closed_loop_counting(
        addr,
        server_pid,
        Some(hammer.cookie.clone()),
        &args.closed,
        &args.timing,
        idle,
    )
    .await;
    let mix = if repo == RepoKind::Cached {
        let players = player::register_many(addr, "mixer", MIX_PLAYERS).await?;
        let mix_duration = Duration::from_secs(args.mix_secs);
        let load = Players {
            addr,
            players,
            poll: MIX_POLL,
            duration: mix_duration,
            seed: args.runner.seed,
        };
        let (mixed, counted) =
            round_trips::around(addr, mix_duration, generator::players(&load)).await;
        counted.map(|round_trips| MixRoundTrips {
            round_trips,
            requests: mixed.recorder.total().attempts(),
        })
    } else {
        None
    };
    Ok((measured, round_trips, world.body.to_vec(), mix))
}

/// The minimal server (this binary's hidden `minimal-server` task) answering `body`.
async fn minimal_target(
    dir: &Path,
    body: &[u8],
    args: &CompareArgs,
) -> anyhow::Result<TargetFigures> {
    let body_file = dir.join("world.json");
    std::fs::write(&body_file, body)?;
    let addr = free_local_addr()?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("minimal-server")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--body-file")
        .arg(&body_file)
        .arg("--max-seconds")
        .arg((args.timing.warmup_secs + args.timing.duration_secs + 120).to_string());
    let mut server = ServerProcess::spawn(
        command,
        addr,
        &dir.join("minimal.log"),
        "minimal-server".to_owned(),
    )?;
    server
        .wait_ready("/healthz", Duration::from_secs(30))
        .await?;
    let pid = server.pid().ok();
    let (measured, _) =
        closed_loop_counting(addr, pid, None, &args.closed, &args.timing, Duration::ZERO).await;
    server.stop(Duration::from_secs(10)).await?;
    Ok(TargetFigures::of("minimal", &measured, None))
}
