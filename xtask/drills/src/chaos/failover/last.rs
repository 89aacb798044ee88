//! The drill's end: the players play once more, every process stops cleanly (standbys
//! first, so nobody takes over), and a fresh server on the same database shows whether
//! every acknowledged collect of that last round reached the database.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::chaos::check::{self, Carried, Rules};
use crate::chaos::observe::observe;
use crate::chaos::rig;
use crate::chaos::{EXIT_TIMEOUT, failover::fleet::Fleet};
use spacewars_harness::player::Player;
use spacewars_harness::server_process::{GameServerConfig, ServerProcess};

/// How long the last round plays.
const LAST_PLAY: Duration = Duration::from_secs(2);

/// What the end of the drill needs to know.
pub struct End<'a> {
    /// Where HAProxy listens.
    pub proxy: SocketAddr,
    /// The players.
    pub players: &'a [Player],
    /// Their creation times (Unix s).
    pub created_s: &'a [i64],
    /// What is durable after the last takeover.
    pub carried: &'a Carried,
    /// Objects the world always holds.
    pub expected_objects: usize,
    /// The server configuration, for the verifying server.
    pub config: &'a GameServerConfig,
    /// Where the verifying server logs.
    pub log: &'a Path,
    /// Seed of the players' pauses.
    pub seed: u64,
}

/// Plays, stops everything (the owner is `owner`), checks against the database. Returns
/// the broken promises.
pub async fn finish(end: &End<'_>, fleet: &mut Fleet, owner: usize) -> anyhow::Result<Vec<String>> {
    let playing = rig::play(end.proxy, end.players, end.seed, LAST_PLAY + EXIT_TIMEOUT);
    tokio::time::sleep(LAST_PLAY).await;
    let ledgers = playing.stop().await?;
    let stopped_at = Instant::now();
    let (exits, clean) = fleet.stop_all(Some(owner), EXIT_TIMEOUT).await;
    let mut violations = Vec::new();
    if !clean {
        violations.push(format!(
            "final stop: not every process exited 0 ({})",
            exits.join("; ")
        ));
    }
    let verifier = ServerProcess::start_game(end.config, end.log, Duration::from_secs(60)).await?;
    let (observed, session_violations) =
        observe(verifier.addr(), end.players, end.created_s).await?;
    let verifier_exit = verifier.stop(EXIT_TIMEOUT).await?;
    let rules = Rules {
        expected_objects: end.expected_objects,
        signal_at: stopped_at,
        max_loss_age: Duration::ZERO,
        graceful: true,
    };
    let outcome = check::check(end.carried, &ledgers, &observed, &rules);
    println!(
        "final: {:.1?} of play, {} acked collects, {} lost; clean stop: {}; a fresh server on the \
         database found {} objects (verifier exit {verifier_exit})",
        LAST_PLAY,
        outcome.acks,
        outcome.lost_acks,
        exits.join(", "),
        observed.objects.len(),
    );
    violations.extend(
        session_violations
            .into_iter()
            .chain(outcome.violations)
            .map(|v| format!("final: {v}")),
    );
    Ok(violations)
}
