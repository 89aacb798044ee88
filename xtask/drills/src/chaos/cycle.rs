//! One cycle's play: players drive load, the signal goes, the server is reaped.

use std::ops::RangeInclusive;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::chaos::driver;
use crate::chaos::ledger::PlayerLedger;
use crate::chaos::{EXIT_TIMEOUT, Signal};
use spacewars_harness::player::Player;
use spacewars_harness::server_process::{ArmedSignal, ServerProcess};

/// One cycle's plan: how long to play, which signal, and how.
#[derive(Debug, Clone)]
pub struct CyclePlan {
    /// 1-based cycle number.
    pub cycle: u32,
    /// SIGKILL or SIGTERM.
    pub signal: Signal,
    /// Play this long before the signal.
    pub run_for: Duration,
    /// After `run_for`, wait (up to [`AIM_TIMEOUT`]) until a collect is in flight.
    pub aim_at_collect: bool,
    /// Seed of the players' pauses.
    pub seed: u64,
    /// Pause between a player's iterations, ms.
    pub pause_ms: RangeInclusive<u64>,
}

/// How long an aimed signal waits for a collect in flight before it fires anyway.
const AIM_TIMEOUT: Duration = Duration::from_secs(3);

/// Drives load, sends the signal, stops the players and reaps the server. Returns each
/// player's ledger (unknowns that certainly never reached a live server removed), when
/// the signal had been delivered, whether it caught a collect in flight, and the exit
/// status.
pub async fn play_then_signal(
    server: &mut ServerProcess,
    players: &[Player],
    plan: &CyclePlan,
) -> anyhow::Result<(Vec<PlayerLedger>, Instant, bool, std::process::ExitStatus)> {
    let driver::Team {
        stop,
        in_flight,
        drivers,
    } = driver::spawn_team(
        players,
        server.addr(),
        Instant::now() + plan.run_for + AIM_TIMEOUT + EXIT_TIMEOUT,
        plan.seed.wrapping_add(u64::from(plan.cycle) * 1_000),
        &plan.pause_ms,
    );
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
    let ledgers = join_players(drivers, plan.signal, signal_at).await?;
    Ok((ledgers, signal_at, caught, exit))
}

/// Waits for the stopped players and takes their ledgers. After SIGKILL was delivered
/// at `signal_at` nothing more is applied, so a request sent since then with no answer
/// is known not to have taken effect.
pub async fn join_players(
    drivers: Vec<tokio::task::JoinHandle<PlayerLedger>>,
    signal: Signal,
    signal_at: Instant,
) -> anyhow::Result<Vec<PlayerLedger>> {
    let mut ledgers = Vec::with_capacity(drivers.len());
    for driver in drivers {
        let mut ledger = tokio::time::timeout(EXIT_TIMEOUT, driver)
            .await
            .context("a player did not stop")??;
        if signal == Signal::Kill && ledger.unknown.is_some_and(|u| u.sent >= signal_at) {
            ledger.unknown = None;
            ledger.unanswered_after_kill += 1;
        }
        ledgers.push(ledger);
    }
    Ok(ledgers)
}
