//! One cycle's play and kill: players play through HAProxy, the owner gets its signal at a
//! random moment, the players stop, and the [`probe`] measures how long the game was
//! unavailable through HAProxy.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::chaos::cycle::join_players;
use crate::chaos::driver;
use crate::chaos::failover::probe::{Outcomes, probe};
use crate::chaos::ledger::PlayerLedger;
use crate::chaos::{EXIT_TIMEOUT, Signal};
use spacewars_harness::player::Player;
use spacewars_harness::server_process::{ArmedSignal, ServerProcess};

/// One cycle's plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// SIGKILL or SIGTERM.
    pub signal: Signal,
    /// Play this long before the signal.
    pub run_for: Duration,
    /// Seed of the players' pauses.
    pub seed: u64,
    /// Pause between a player's iterations, ms.
    pub pause_ms: std::ops::RangeInclusive<u64>,
    /// Give up waiting for a successful request after this long.
    pub give_up: Duration,
}

/// What one kill did.
pub struct Killed {
    /// Each player's ledger (unknowns that certainly never reached a live server removed).
    pub ledgers: Vec<PlayerLedger>,
    /// When the signal had been delivered.
    pub signal_at: Instant,
    /// From the signal until the first successful game request through HAProxy.
    pub unavailable: Duration,
    /// What the prober's requests got.
    pub probes: Outcomes,
    /// From the signal until the killed owner had exited.
    pub exited_after: Duration,
    /// How the killed owner exited.
    pub exit: std::process::ExitStatus,
}

/// Plays through `proxy`, signals `owner` after `plan.run_for`, stops the players, and
/// measures the unavailability with player 0's session; reaps the owner.
pub async fn kill_owner(
    proxy: SocketAddr,
    owner: &mut ServerProcess,
    players: &[Player],
    plan: &Plan,
) -> anyhow::Result<Killed> {
    let driver::Team {
        stop,
        in_flight: _,
        drivers,
    } = driver::spawn_team(
        players,
        proxy,
        Instant::now() + plan.run_for + EXIT_TIMEOUT,
        plan.seed,
        &plan.pause_ms,
    );
    // Timed on its own OS thread, as in the crash drill: a tokio timer would fire on the
    // same tick as the players' pauses end.
    let armed = ArmedSignal::arm(owner.pid()?, plan.signal.name())?;
    let run_for = plan.run_for;
    let signal_at = tokio::task::spawn_blocking(move || {
        std::thread::sleep(run_for);
        armed.fire().map(|()| Instant::now())
    })
    .await??;
    stop.store(true, Ordering::SeqCst);
    let prober = tokio::spawn(probe(proxy, players[0].clone(), signal_at, plan.give_up));
    let exit = owner.wait_exit(EXIT_TIMEOUT).await?;
    let exited_after = signal_at.elapsed();
    // After SIGKILL nothing more reaches the killed owner, and the next owner serves only
    // after the lease expired, long after the players stopped.
    let ledgers = join_players(drivers, plan.signal, signal_at).await?;
    let (unavailable, probes) = prober.await??;
    Ok(Killed {
        ledgers,
        signal_at,
        unavailable,
        probes,
        exited_after,
        exit,
    })
}
