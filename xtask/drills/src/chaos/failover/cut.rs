//! A pause or partition cycle of the failover drill (docs/persistence.md, One owner): the
//! owner is stopped (SIGSTOP) or its database link frozen while the players play through
//! HAProxy; a standby takes over; then the owner resumes (SIGCONT, thaw) and must exit.
//!
//! Meanwhile a sampler steers its own ship on every server, every 50 ms, on a fresh
//! connection and on a kept-alive one. Its ledger: the writes the cut-off owner
//! acknowledged after its deadline (which is at the latest the cut + TTL − a tenth: its last
//! confirmed renewal was sent before the cut), and the 50 ms moments in which two
//! processes acknowledged a write.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::Method;
use spacewars_harness::http_client::Connection;
use spacewars_harness::player::Player;
use spacewars_harness::proxy::Proxy;
use spacewars_harness::server_process::ServerProcess;

use crate::chaos::cycle::join_players;
use crate::chaos::driver;
use crate::chaos::failover::probe::{Outcomes, probe};
use crate::chaos::failover::watch::Watcher;
use crate::chaos::ledger::PlayerLedger;
use crate::chaos::{EXIT_TIMEOUT, Signal};

/// The sampler's period.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// How the owner is cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// SIGSTOP, later SIGCONT.
    Pause,
    /// Its database link frozen (its own proxy), later thawed.
    Partition,
}

impl Cut {
    /// `pause` or `partition`.
    pub fn name(self) -> &'static str {
        match self {
            Cut::Pause => "pause",
            Cut::Partition => "partition",
        }
    }
}

/// One cut cycle's plan.
pub struct CutPlan<'a> {
    /// Pause or partition.
    pub cut: Cut,
    /// Play this long before the cut.
    pub run_for: Duration,
    /// Seed of the players' pauses.
    pub seed: u64,
    /// Pause between a player's iterations, ms.
    pub pause_ms: std::ops::RangeInclusive<u64>,
    /// Give up waiting for the takeover after this long.
    pub give_up: Duration,
    /// The servers' lease TTL.
    pub lease_ttl: Duration,
    /// Every server's address, in slot order.
    pub servers: Vec<SocketAddr>,
    /// The owner's database proxy (partition).
    pub link: Option<&'a Proxy>,
}

/// What one cut cycle did.
pub struct CutOff {
    /// Each player's ledger.
    pub ledgers: Vec<PlayerLedger>,
    /// When the owner was cut off.
    pub cut_at: Instant,
    /// From the cut until the first successful game request through HAProxy.
    pub unavailable: Duration,
    /// What the prober's requests got.
    pub probes: Outcomes,
    /// The server that took over.
    pub new_owner: Option<usize>,
    /// Sampler writes the old owner acknowledged after the cut.
    pub acked_after_cut: usize,
    /// Of which after its latest possible deadline (target 0).
    pub acked_after_deadline: usize,
    /// 50 ms moments sampled, and those in which two processes acknowledged (target 0).
    pub moments: usize,
    /// Moments with two processes answering 200.
    pub double: usize,
    /// How the old owner exited once resumed.
    pub exit: std::process::ExitStatus,
}

/// One sampler answer.
struct Sample {
    server: usize,
    sent: Instant,
    ok: bool,
}

/// Runs one cut cycle on `owner` (slot `owner_index`).
pub async fn cut_owner(
    haproxy: SocketAddr,
    owner_index: usize,
    owner: &mut ServerProcess,
    watcher: &Watcher,
    players: &[Player],
    sampler: &Player,
    plan: &CutPlan<'_>,
) -> anyhow::Result<CutOff> {
    let team = driver::spawn_team(
        players,
        haproxy,
        Instant::now() + plan.run_for + EXIT_TIMEOUT,
        plan.seed,
        &plan.pause_ms,
    );
    let samples = Arc::new(Mutex::new(Vec::new()));
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let samplers: Vec<_> = plan
        .servers
        .iter()
        .enumerate()
        .map(|(server, addr)| {
            tokio::spawn(sample(
                server,
                *addr,
                sampler.cookie.clone(),
                samples.clone(),
                stop_sampling.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(plan.run_for).await;
    match (plan.cut, plan.link) {
        (Cut::Pause, _) => owner.signal("STOP")?,
        (Cut::Partition, Some(link)) => link.freeze(),
        (Cut::Partition, None) => anyhow::bail!("partition cycle without a database proxy"),
    }
    let cut_at = Instant::now();
    team.stop.store(true, Ordering::SeqCst);
    let prober = tokio::spawn(probe(haproxy, players[0].clone(), cut_at, plan.give_up));
    let new_owner = watcher.sole_ready(plan.give_up).await;
    // Both would answer now if the old owner did not keep its deadline.
    tokio::time::sleep(plan.lease_ttl).await;
    match (plan.cut, plan.link) {
        (Cut::Pause, _) => owner.signal("CONT")?,
        (_, Some(link)) => link.thaw(),
        (_, None) => {}
    }
    let exit = owner.wait_exit(EXIT_TIMEOUT + plan.lease_ttl).await?;
    stop_sampling.store(true, Ordering::SeqCst);
    for task in samplers {
        task.await?;
    }
    let ledgers = join_players(team.drivers, Signal::Kill, cut_at).await?;
    let (unavailable, probes) = prober.await??;
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(PoisonError::into_inner));
    // The last renewal the owner saw confirmed was sent before the cut.
    let deadline = cut_at + plan.lease_ttl - plan.lease_ttl / 10;
    let by_owner = |s: &&Sample| s.server == owner_index && s.ok && s.sent >= cut_at;
    let acked_after_cut = samples.iter().filter(by_owner).count();
    let acked_after_deadline = samples
        .iter()
        .filter(by_owner)
        .filter(|s| s.sent >= deadline)
        .count();
    let (moments, double) = moments(&samples, start);
    Ok(CutOff {
        ledgers,
        cut_at,
        unavailable,
        probes,
        new_owner,
        acked_after_cut,
        acked_after_deadline,
        moments,
        double,
        exit,
    })
}

/// Steers the sampler's ship on `addr` every [`SAMPLE_EVERY`], on a fresh connection and on
/// a kept-alive one, until `stop`.
async fn sample(
    server: usize,
    addr: SocketAddr,
    cookie: String,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
) {
    let timeout = Duration::from_secs(1);
    let mut kept = Connection::new(addr, timeout);
    kept.set_cookie(Some(cookie.clone()));
    let mut turn = 0_u32;
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        turn += 1;
        let body = format!("{{\"speed\":0,\"angle\":{}}}", turn % 360);
        let mut fresh = Connection::new(addr, timeout);
        fresh.set_cookie(Some(cookie.clone()));
        for conn in [&mut fresh, &mut kept] {
            let sent = Instant::now();
            let ok = conn
                .request(Method::POST, "/api/navigate", Some(body.as_bytes()))
                .await
                .is_ok_and(|reply| reply.status.as_u16() == 200);
            samples
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Sample { server, sent, ok });
        }
        next += SAMPLE_EVERY;
        tokio::time::sleep_until(next.max(Instant::now()).into()).await;
    }
}

/// The 50 ms moments sampled since `start`, and those in which two servers acknowledged.
fn moments(samples: &[Sample], start: Instant) -> (usize, usize) {
    let mut answering: BTreeMap<u128, BTreeSet<usize>> = BTreeMap::new();
    for sample in samples {
        let moment = sample.sent.saturating_duration_since(start).as_millis() / 50;
        let servers = answering.entry(moment).or_default();
        if sample.ok {
            servers.insert(sample.server);
        }
    }
    let double = answering.values().filter(|s| s.len() > 1).count();
    (answering.len(), double)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_with_two_servers_acknowledging_is_counted_once() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let samples = [
            Sample {
                server: 0,
                sent: at(10),
                ok: true,
            },
            Sample {
                server: 1,
                sent: at(20),
                ok: true,
            },
            Sample {
                server: 1,
                sent: at(30),
                ok: true,
            },
            Sample {
                server: 0,
                sent: at(60),
                ok: true,
            },
            Sample {
                server: 1,
                sent: at(70),
                ok: false,
            },
            Sample {
                server: 1,
                sent: at(120),
                ok: true,
            },
        ];
        assert_eq!(moments(&samples, start), (3, 1));
    }
}
