//! `cargo xtask chaos`: crash drills. Players play against the release server on a fresh
//! SQLite database; the server is killed (SIGKILL) or stopped (SIGTERM) at a random moment,
//! restarted on the same database, and the invariants of [`check`] are verified through the
//! API. Cycles repeat on the same database, carrying the durable state forward.

pub mod check;
pub mod driver;
pub mod ledger;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::api::Answer;
use crate::load::server_binary;
use crate::player::{self, Player};
use crate::server_process::{ArmedSignal, GameServerConfig, Repo, ServerProcess};
use check::{Carried, CycleOutcome, Observed, Rules};
use ledger::PlayerLedger;

/// Objects the demo world starts with (SPEC §1).
const DEMO_OBJECTS: usize = 9;
/// How long a restart may take, lease take-over included.
const RESTART_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a stopped server may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// `on` / `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// Flags of `cargo xtask chaos`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChaosArgs {
    /// Kill/restart cycles per drill.
    #[arg(long, default_value_t = 20)]
    pub cycles: u32,
    /// Drill with SIGKILL (the default when neither --kill nor --term is given).
    #[arg(long)]
    pub kill: bool,
    /// Drill with SIGTERM: the server must exit 0 and lose nothing acknowledged.
    #[arg(long)]
    pub term: bool,
    /// Players driving load.
    #[arg(long, default_value_t = 8)]
    pub players: usize,
    /// The server's persist interval, ms.
    #[arg(long, default_value_t = 500)]
    pub persist_interval_ms: u64,
    /// Shortest load before the signal, ms.
    #[arg(long, default_value_t = 1_000)]
    pub min_run_ms: u64,
    /// Longest load before the signal, ms.
    #[arg(long, default_value_t = 4_000)]
    pub max_run_ms: u64,
    /// Shortest pause between a player's requests, ms.
    #[arg(long, default_value_t = 10)]
    pub min_pause_ms: u64,
    /// Longest pause between a player's requests, ms (small values leave more requests
    /// in flight at the signal, exercising the unknown-outcome check).
    #[arg(long, default_value_t = 60)]
    pub max_pause_ms: u64,
    /// Share of cycles whose signal, once the run time is up, is sent the moment a collect
    /// is in flight (collects are a small share of requests, so a plain random moment
    /// almost never lands next to one). On this machine the collect is usually answered
    /// just before the signal lands, which tests the freshest acknowledgements.
    #[arg(long, default_value_t = 0.5)]
    pub aim_at_collects: f64,
    /// Seed of the signal timing and the players' pauses (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Whether the server seeds the demo user (its ship counts as an object).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub demo_user: OnOff,
    /// Give up after this many minutes in all.
    #[arg(long, default_value_t = 20)]
    pub max_minutes: u64,
}

/// The signal a drill sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGKILL: a crash.
    Kill,
    /// SIGTERM: a graceful shutdown.
    Term,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Kill => "KILL",
            Signal::Term => "TERM",
        }
    }
}

/// Totals of one drill.
#[derive(Debug, Clone, Default)]
pub struct DrillSummary {
    /// Cycles completed.
    pub cycles: u32,
    /// Acknowledged collects.
    pub acks: usize,
    /// Of which lost.
    pub lost: usize,
    /// Unanswered collects.
    pub unknowns: usize,
    /// Of which applied.
    pub unknowns_applied: usize,
    /// Oldest lost acknowledgement, relative to the signal.
    pub oldest_lost: Option<Duration>,
    /// Longest restart until ready.
    pub slowest_restart: Duration,
    /// Broken invariants.
    pub violations: Vec<String>,
}

/// Runs `cargo xtask chaos`.
pub fn run(args: &ChaosArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.players > 0, "--players must be at least 1");
    anyhow::ensure!(
        args.min_run_ms <= args.max_run_ms,
        "--min-run-ms must not exceed --max-run-ms"
    );
    anyhow::ensure!(
        args.min_pause_ms <= args.max_pause_ms,
        "--min-pause-ms must not exceed --max-pause-ms"
    );
    let binary = server_binary()?;
    let seed = args.seed.unwrap_or_else(clock_seed);
    let signals = match (args.kill, args.term) {
        (_, false) => vec![Signal::Kill],
        (false, true) => vec![Signal::Term],
        (true, true) => vec![Signal::Kill, Signal::Term],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.max_minutes * 60);
    println!(
        "chaos: seed {seed} (replay with --seed {seed}); machine: {}",
        crate::machine::describe()
    );
    let mut failed = false;
    for signal in signals {
        let summary = runtime.block_on(drill(&binary, args, signal, seed, deadline))?;
        print_summary(signal, args, &summary);
        failed |= !summary.violations.is_empty();
    }
    if failed {
        bail!("chaos drill found violations (see above)");
    }
    Ok(())
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn loss_bound(args: &ChaosArgs) -> Duration {
    Duration::from_millis(2 * args.persist_interval_ms + 1_000)
}

fn print_summary(signal: Signal, args: &ChaosArgs, s: &DrillSummary) {
    let bound = match signal {
        Signal::Kill => format!(
            "lost ones must have been acknowledged within {:?} of the signal",
            loss_bound(args)
        ),
        Signal::Term => "none may be lost".to_owned(),
    };
    let oldest = s.oldest_lost.map_or_else(String::new, |d| {
        format!(", the oldest acknowledged {d:.2?} before the signal")
    });
    println!(
        "SUMMARY SIG{}: {} cycles, {} players, persist interval {} ms: {} acknowledged collects, \
         {} lost{oldest} ({bound}); {} unanswered ({} applied); slowest restart {:.2?}; {} violations",
        signal.name(),
        s.cycles,
        args.players,
        args.persist_interval_ms,
        s.acks,
        s.lost,
        s.unknowns,
        s.unknowns_applied,
        s.slowest_restart,
        s.violations.len()
    );
    for violation in &s.violations {
        println!("  VIOLATION {violation}");
    }
}

/// One drill on a fresh database: setup, then `args.cycles` signal/restart/check cycles.
async fn drill(
    binary: &Path,
    args: &ChaosArgs,
    signal: Signal,
    seed: u64,
    deadline: Instant,
) -> anyhow::Result<DrillSummary> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let log = dir.path().join("server.log");
    let config = GameServerConfig {
        binary: binary.to_owned(),
        database_url: dir.path().join("chaos.db").display().to_string(),
        repo: Repo::Cached,
        persist_interval_ms: args.persist_interval_ms,
        demo_user: args.demo_user == OnOff::On,
        log_level: "info".to_owned(),
    };
    let mut rng = StdRng::seed_from_u64(seed ^ signal as u64);
    let (mut server, _) = restart(&config, &log).await?;
    let players = player::register_many(server.addr(), "chaos", args.players).await?;
    let mut created_s = Vec::with_capacity(players.len());
    for player in &players {
        let stats = match player.api(server.addr()).user_stats().await? {
            Answer::Ok(stats) => stats,
            Answer::Refused(status, code) => bail!("user-stats: {status} {code}"),
        };
        created_s.push(stats.last_updated - stats.iron as i64);
    }
    let expected_objects = DEMO_OBJECTS + players.len() + usize::from(args.demo_user == OnOff::On);
    let (observed, setup_violations) = observe(server.addr(), &players, &created_s).await?;
    let mut carried = Carried {
        credited: observed.durable.clone(),
        credited_objects: Default::default(),
        objects: observed.objects.clone(),
    };
    let mut summary = DrillSummary {
        violations: setup_violations,
        ..DrillSummary::default()
    };
    if observed.objects.len() != expected_objects {
        summary.violations.push(format!(
            "(1) the fresh world has {} objects, expected {expected_objects}",
            observed.objects.len()
        ));
    }
    for cycle in 1..=args.cycles {
        if !summary.violations.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            summary.violations.push(format!(
                "time budget (--max-minutes {}) exhausted",
                args.max_minutes
            ));
            break;
        }
        let run_for = Duration::from_millis(rng.random_range(args.min_run_ms..=args.max_run_ms));
        let plan = CyclePlan {
            cycle,
            signal,
            run_for,
            aim_at_collect: rng.random_bool(args.aim_at_collects.clamp(0.0, 1.0)),
            seed,
            pause_ms: args.min_pause_ms..=args.max_pause_ms,
        };
        let (ledgers, signal_at, caught, exit) =
            play_then_signal(&mut server, &players, &plan).await?;
        if signal == Signal::Term && !exit.success() {
            summary.violations.push(format!(
                "cycle {cycle}: after SIGTERM the server exited with {exit}"
            ));
        }
        let (next_server, restart_took) = restart(&config, &log).await?;
        server = next_server;
        let (observed, session_violations) = observe(server.addr(), &players, &created_s).await?;
        let rules = Rules {
            expected_objects,
            signal_at,
            max_loss_age: loss_bound(args),
            graceful: signal == Signal::Term,
        };
        let outcome = check::check(&carried, &ledgers, &observed, &rules);
        print_cycle(&plan, args.cycles, caught, restart_took, &outcome, &ledgers);
        summary.cycles = cycle;
        summary.acks += outcome.acks;
        summary.lost += outcome.lost_acks;
        summary.unknowns += outcome.unknowns;
        summary.unknowns_applied += outcome.unknowns_applied;
        summary.oldest_lost = summary.oldest_lost.max(outcome.oldest_lost);
        summary.slowest_restart = summary.slowest_restart.max(restart_took);
        summary.violations.extend(
            session_violations
                .into_iter()
                .chain(outcome.violations.iter().cloned())
                .map(|v| format!("cycle {cycle}: {v}")),
        );
        carried = outcome.next;
    }
    let exit = server.stop(EXIT_TIMEOUT).await?;
    if !exit.success() {
        summary
            .violations
            .push(format!("final SIGTERM: the server exited with {exit}"));
    }
    if !summary.violations.is_empty() {
        println!(
            "server log ({}), last lines:\n{}",
            log.display(),
            crate::server_process::log_tail(&log, 15)
        );
    }
    Ok(summary)
}

/// One cycle's plan: how long to play, which signal, and how.
#[derive(Debug, Clone)]
struct CyclePlan {
    cycle: u32,
    signal: Signal,
    run_for: Duration,
    /// After `run_for`, wait (up to [`AIM_TIMEOUT`]) until a collect is in flight.
    aim_at_collect: bool,
    seed: u64,
    pause_ms: RangeInclusive<u64>,
}

/// How long an aimed signal waits for a collect in flight before it fires anyway.
const AIM_TIMEOUT: Duration = Duration::from_secs(3);

/// Drives load, sends the signal, stops the players and reaps the server. Returns each
/// player's ledger (unknowns that certainly never reached a live server removed), when
/// the signal had been delivered, whether it caught a collect in flight, and the exit
/// status.
async fn play_then_signal(
    server: &mut ServerProcess,
    players: &[Player],
    plan: &CyclePlan,
) -> anyhow::Result<(Vec<PlayerLedger>, Instant, bool, std::process::ExitStatus)> {
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let drivers: Vec<_> = players
        .iter()
        .enumerate()
        .map(|(index, player)| {
            tokio::spawn(driver::drive(driver::Drive {
                index,
                player: player.clone(),
                addr: server.addr(),
                stop: stop.clone(),
                collects_in_flight: in_flight.clone(),
                deadline: Instant::now() + plan.run_for + AIM_TIMEOUT + EXIT_TIMEOUT,
                seed: plan
                    .seed
                    .wrapping_add(u64::from(plan.cycle) * 1_000 + index as u64),
                pause_ms: plan.pause_ms.clone(),
            }))
        })
        .collect();
    // The signal is timed on its own OS thread: a tokio timer would fire on the same tick
    // as the players' pauses end, so the kill would always find them between requests.
    let pid = server.pid()?;
    let (name, run_for, aim) = (plan.signal.name(), plan.run_for, plan.aim_at_collect);
    let watched = in_flight.clone();
    let armed = ArmedSignal::arm(pid, name)?;
    let (signal_at, caught) = tokio::task::spawn_blocking(move || {
        std::thread::sleep(run_for);
        let mut caught = false;
        if aim {
            let give_up = Instant::now() + AIM_TIMEOUT;
            while !caught && Instant::now() < give_up {
                caught = watched.load(Ordering::SeqCst) > 0;
                std::thread::yield_now();
            }
        }
        armed.fire().map(|()| (Instant::now(), caught))
    })
    .await??;
    stop.store(true, Ordering::SeqCst);
    let exit = server.wait_exit(EXIT_TIMEOUT).await?;
    let mut ledgers = Vec::with_capacity(drivers.len());
    for driver in drivers {
        let mut ledger = tokio::time::timeout(EXIT_TIMEOUT, driver)
            .await
            .context("a player did not stop")??;
        // After SIGKILL has been delivered nothing more is applied.
        if plan.signal == Signal::Kill && ledger.unknown.is_some_and(|u| u.sent >= signal_at) {
            ledger.unknown = None;
            ledger.unanswered_after_kill += 1;
        }
        ledgers.push(ledger);
    }
    Ok((ledgers, signal_at, caught, exit))
}

/// How long to wait between start attempts while the killed server's lease is held.
const RESTART_RETRY: Duration = Duration::from_millis(500);

/// Starts the server on the configured database, retrying while a previous owner's
/// lease is still held (a killed server's lease expires after its TTL), and returns it
/// with the time it took to become ready.
async fn restart(
    config: &GameServerConfig,
    log: &Path,
) -> anyhow::Result<(ServerProcess, Duration)> {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = RESTART_TIMEOUT.saturating_sub(started.elapsed());
        match ServerProcess::start_game(config, log, remaining).await {
            Ok(server) => return Ok((server, started.elapsed())),
            Err(error)
                if lease_held(&error) && started.elapsed() + RESTART_RETRY < RESTART_TIMEOUT =>
            {
                tokio::time::sleep(RESTART_RETRY).await;
            }
            Err(error) => {
                return Err(error.context(format!("restart failed after {attempts} attempts")));
            }
        }
    }
}

/// True if the server refused to start because another process holds the lease.
fn lease_held(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("in use by another server process")
}

/// Reads the world and every player's stats through the API. Returns what it saw and the
/// players whose session or income broke.
async fn observe(
    addr: SocketAddr,
    players: &[Player],
    created_s: &[i64],
) -> anyhow::Result<(Observed, Vec<String>)> {
    let mut violations = Vec::new();
    let world = match players[0].api(addr).world().await? {
        Answer::Ok(world) => world,
        Answer::Refused(status, code) => bail!("GET /api/world after restart: {status} {code}"),
    };
    let objects: BTreeMap<_, _> = world.space_objects.iter().map(|o| (o.id, o.kind)).collect();
    let mut durable = Vec::with_capacity(players.len());
    for (index, (player, created)) in players.iter().zip(created_s).enumerate() {
        match player.api(addr).user_stats().await? {
            Answer::Ok(stats) => {
                if stats.iron_per_second != 1.0 {
                    violations.push(format!(
                        "player {index}: income {} iron/s, expected 1",
                        stats.iron_per_second
                    ));
                }
                durable.push(stats.iron - (stats.last_updated - created) as f64);
            }
            Answer::Refused(status, code) => {
                violations.push(format!(
                    "player {index}: session no longer works after restart ({status} {code})"
                ));
                durable.push(f64::NAN);
            }
        }
        if !objects.contains_key(&player.ship_id) {
            violations.push(format!(
                "player {index}: ship {} is missing",
                player.ship_id
            ));
        }
    }
    Ok((Observed { objects, durable }, violations))
}

fn print_cycle(
    plan: &CyclePlan,
    cycles: u32,
    caught: bool,
    restart_took: Duration,
    outcome: &CycleOutcome,
    ledgers: &[PlayerLedger],
) {
    let cycle = plan.cycle;
    let aimed = match (plan.aim_at_collect, caught) {
        (false, _) => "",
        (true, true) => " (aimed: a collect was in flight)",
        (true, false) => " (aimed, but no collect came)",
    };
    let refused: u64 = ledgers.iter().map(|l| l.refused).sum();
    let late: u64 = ledgers.iter().map(|l| l.unanswered_after_kill).sum();
    let late = if late > 0 {
        format!(" (+{late} sent after the kill, ignored)")
    } else {
        String::new()
    };
    let undecided = if outcome.undecided_acks > 0 {
        format!(
            " ({} of them zero-reward, possibly lost)",
            outcome.undecided_acks
        )
    } else {
        String::new()
    };
    let oldest = outcome.oldest_lost.map_or_else(String::new, |d| {
        format!(", oldest lost acknowledged {d:.2?} before the signal")
    });
    println!(
        "cycle {cycle:>3}/{cycles} SIG{} after {:.2?}{aimed}: {} acked collects ({} durable{undecided}, {} lost{oldest}), \
         {} unanswered ({} applied){late}, {refused} refused, {} objects, restart {:.2?}{}",
        plan.signal.name(),
        plan.run_for,
        outcome.acks,
        outcome.durable_acks,
        outcome.lost_acks,
        outcome.unknowns,
        outcome.unknowns_applied,
        outcome.next.objects.len(),
        restart_took,
        if outcome.violations.is_empty() {
            ""
        } else {
            "  VIOLATIONS"
        }
    );
}
