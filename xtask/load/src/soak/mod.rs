//! `cargo xtask load soak`: stream players (the area stream) steering for a long time on
//! one fresh server at the capacity ramp's density, the server's resident memory sampled
//! every `--sample-secs`. It answers whether memory levels off: the slope of RSS after
//! `--settle-minutes` (target ≤ 0.1 MB a minute), with every error of the run.
//!
//! - [`memory`]: reading RSS, the samples, the slope and the table.

pub mod memory;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::affinity::Affinity;
use crate::args::{Acting, Persist, Runner, SyncArgs, Timing};
use crate::capacity::Density;
use crate::cpu::cpu_seconds;
use crate::sync::players::{self, SyncRun};
use crate::sync::tally::{CounterSnapshot, Counters, Outcome};
use crate::sync::{self, Follow};
use game_server::SpawnKind;
use memory::{Sample, rss_bytes, sample_line, slope_after};
use spacewars_harness::player;
use spacewars_harness::progress::Progress;

/// RSS growth per minute after the settling time that the soak accepts.
pub const SLOPE_TARGET_MB_PER_MINUTE: f64 = 0.1;

/// Flags of `load soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Stream players steering.
    #[arg(long, default_value_t = 1_000)]
    pub players: usize,
    /// Length of the soak in minutes.
    #[arg(long, default_value_t = 60)]
    pub minutes: u64,
    /// Seconds between samples of the server (the first is taken after 30 s).
    #[arg(long, default_value_t = 60)]
    pub sample_secs: u64,
    /// Minutes after which memory should have levelled off: the slope is fitted to the
    /// samples from then on.
    #[arg(long, default_value_t = 15)]
    pub settle_minutes: u64,
    /// Square units of world per player (as `load capacity`).
    #[arg(long, default_value_t = 20_000.0)]
    pub area_per_player: f64,
    /// Idle players (still ships) per player (as `load capacity`).
    #[arg(long, default_value_t = 1.0)]
    pub idle_per_player: f64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub acting: Acting,
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

/// Runs the soak and prints its samples, table and verdict.
pub async fn run(binary: &Path, args: &SoakArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.players >= 1 && args.minutes >= 1 && args.sample_secs >= 1,
        "--players, --minutes and --sample-secs must be at least 1"
    );
    let density = Density {
        area_per_player: args.area_per_player,
        idle_per_player: args.idle_per_player,
    };
    let side = density.side(args.players);
    let sync_args = SyncArgs {
        players: args.players,
        acting: args.acting.clone(),
        world_objects: Some(density.objects(args.players)),
        world_side: Some(side),
        spawn: SpawnKind::Spread,
        light_full_polls: true,
        light_streams: true,
        timing: Timing {
            duration_secs: args.minutes * 60,
            warmup_secs: 0,
        },
        persist: args.persist.clone(),
        runner: args.runner.clone(),
        affinity: args.affinity.clone(),
        edges: None,
    };
    println!(
        "load soak: {} players on the area stream acting every ~{} ms ({:.0} % collects, \
         the rest navigate) for {} minutes on one fresh cached server (SQLite file, persist \
         every {} ms), world {side} × {side} with {} objects, --spawn spread; server RSS \
         sampled every {} s; slope fitted after minute {}; stream deltas counted with only \
         their id and currentTime read",
        args.players,
        args.acting.action_ms,
        args.acting.collect_share * 100.0,
        args.minutes,
        args.persist.persist_interval_ms,
        density.objects(args.players),
        args.sample_secs,
        args.settle_minutes,
    );
    println!(
        "pinning: {}; load generator on {} thread(s)",
        args.affinity.describe(),
        args.runner.threads()
    );
    println!("machine: {}", spacewars_harness::machine::describe());
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let database_url = dir.path().join("soak.db").display().to_string();
    let server = sync::start_server(binary, dir.path(), database_url, &sync_args, None).await?;
    let pid = server.pid()?;
    let result = drive(server.addr(), pid, args, &sync_args).await;
    let exit = server.stop(Duration::from_secs(30)).await;
    let (samples, outcome, counted) = result?;
    let exit = exit?;
    anyhow::ensure!(exit.success(), "the server exited with {exit}");
    print!("{}", memory::table(&samples));
    print!("{}", verdict(args, &samples, &outcome, &counted));
    Ok(())
}

/// Registers the players, runs them for `--minutes` and samples the server.
async fn drive(
    addr: std::net::SocketAddr,
    pid: u32,
    args: &SoakArgs,
    sync_args: &SyncArgs,
) -> anyhow::Result<(Vec<Sample>, Outcome, CounterSnapshot)> {
    let players = player::register_many(addr, "soak", args.players).await?;
    let first = players.first().context("no player registered")?.clone();
    let objects = sync::count_objects(addr, &first).await?;
    if let Some(wanted) = sync_args.world_objects
        && wanted > objects
    {
        player::register_many(addr, "idle", wanted - objects).await?;
    }
    let start = Instant::now() + Duration::from_millis(100);
    let until = start + Duration::from_secs(args.minutes * 60);
    let run = Arc::new(SyncRun {
        addr,
        stream_addrs: Vec::new(),
        follow: Follow::Stream,
        poll: Duration::from_millis(args.acting.poll_ms),
        action_every: Duration::from_millis(args.acting.action_ms),
        collect_share: args.acting.collect_share,
        start,
        measure_from: start,
        until,
        seed: args.runner.seed,
        light_full_polls: true,
        light_streams: true,
        counters: Counters::default(),
    });
    let tasks: Vec<_> = players
        .into_iter()
        .enumerate()
        .map(|(i, player)| tokio::spawn(players::run_player(run.clone(), player, i)))
        .collect();
    let times = sample_times(args.minutes * 60, args.sample_secs);
    let progress = Progress::bar(times.len() as u64, "samples");
    let mut samples = Vec::new();
    let mut before = (Instant::now(), cpu_pair(pid), run.counters.snapshot());
    for at in times {
        tokio::time::sleep_until((start + at).into()).await;
        let now = (Instant::now(), cpu_pair(pid), run.counters.snapshot());
        let sample = sample(args, start, &before, &now, pid);
        progress.println(sample_line(&sample));
        progress.inc();
        samples.push(sample);
        before = now;
    }
    progress.finish();
    let counted = run.counters.snapshot();
    let mut outcome = Outcome::default();
    for task in tasks {
        if let Ok(part) = task.await {
            outcome.merge(&part);
        }
    }
    Ok((samples, outcome, counted))
}

/// When to sample, after the start: at 30 s, then every `every_secs` up to `total_secs`.
fn sample_times(total_secs: u64, every_secs: u64) -> Vec<Duration> {
    let first = 30.min(total_secs);
    let mut times = vec![Duration::from_secs(first)];
    times.extend(
        (1..)
            .map(|k| k * every_secs.max(1))
            .take_while(|&t| t <= total_secs)
            .filter(|&t| t > first)
            .map(Duration::from_secs),
    );
    times
}

/// CPU seconds of this process and of the server (0 where unreadable).
fn cpu_pair(pid: u32) -> (f64, f64) {
    (
        cpu_seconds(None).unwrap_or(0.0),
        cpu_seconds(Some(pid)).unwrap_or(0.0),
    )
}

type Mark = (Instant, (f64, f64), CounterSnapshot);

fn sample(args: &SoakArgs, start: Instant, before: &Mark, now: &Mark, pid: u32) -> Sample {
    let wall = now.0.duration_since(before.0).as_secs_f64().max(1e-3);
    let counted = now.2.since(&before.2);
    let player_minutes = (args.players as f64 * wall / 60.0).max(1e-9);
    Sample {
        minute: now.0.saturating_duration_since(start).as_secs_f64() / 60.0,
        rss_mb: rss_bytes(pid).map_or(0.0, |b| b as f64 / 1e6),
        server_cores: (now.1.1 - before.1.1) / wall,
        generator_cores: (now.1.0 - before.1.0) / wall,
        kib_per_player_minute: counted.world_bytes as f64 / 1024.0 / player_minutes,
        reopened: now.2.stream_opens.saturating_sub(args.players as u64),
        sync_errors: now.2.sync_errors,
    }
}

/// The closing lines: memory, its slope against the target, errors and latencies.
fn verdict(
    args: &SoakArgs,
    samples: &[Sample],
    outcome: &Outcome,
    counted: &CounterSnapshot,
) -> String {
    let actions = outcome.actions.total();
    let world = outcome.world.total();
    let reopened = counted.stream_opens.saturating_sub(args.players as u64);
    let errors = actions.failures() + world.failures() + counted.sync_errors + reopened;
    let first = samples.first().map_or(0.0, |s| s.rss_mb);
    let last = samples.last().map_or(0.0, |s| s.rss_mb);
    let settle = args.settle_minutes as f64;
    let slope = match slope_after(samples, settle) {
        Some(slope) => {
            let met = if slope <= SLOPE_TARGET_MB_PER_MINUTE {
                "MET"
            } else {
                "MISSED"
            };
            format!(
                "{slope:.3} MB a minute after minute {settle:.0} (target ≤ \
                 {SLOPE_TARGET_MB_PER_MINUTE}): {met}"
            )
        }
        None => format!(
            "not known: fewer than two samples after minute {settle:.0} (run longer or \
             lower --settle-minutes)"
        ),
    };
    let lag = &outcome.event_lag_us;
    format!(
        "RSS: {first:.1} MB after 30 s, {last:.1} MB at the end; slope {slope}\n\
         errors: {errors} ({} actions failed of {}, {} stream openings failed, {} sync \
         errors, {reopened} streams reopened)\n\
         action p99 {:.1} ms; stream delay p99 {:.1} ms; refused actions {:?}\n",
        actions.failures(),
        actions.attempts(),
        world.failures(),
        counted.sync_errors,
        actions.quantile_us(0.99) as f64 / 1000.0,
        if lag.is_empty() {
            0.0
        } else {
            lag.value_at_quantile(0.99) as f64 / 1000.0
        },
        outcome.refusals,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_taken_at_30_s_then_every_interval() {
        let secs = |times: Vec<Duration>| times.iter().map(Duration::as_secs).collect::<Vec<_>>();
        assert_eq!(secs(sample_times(180, 60)), [30, 60, 120, 180]);
        assert_eq!(secs(sample_times(100, 20)), [30, 40, 60, 80, 100]);
        assert_eq!(secs(sample_times(20, 60)), [20]);
    }
}
