//! Watching the players' streams after a fault: reading the owner's world through HAProxy
//! every [`SAMPLE_EVERY`], it notes for each player since when its stream has been live
//! and showing its ship as the owner has it, until every player's has been so for
//! [`HOLD`] and the rig is whole again; then it holds all writes and checks each whole
//! area against the owner's world at rest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spacewars_harness::api::{Answer, Api, WorldReply};
use spacewars_harness::player::Player;

use crate::chaos::edges::follower::Stream;
use crate::chaos::edges::report::Cycle;
use crate::chaos::edges::steer::{Quiet, SETTLE, Writes};
use crate::chaos::edges::view::{area_matches, ship_matches};

/// How often the owner's world is read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// How long every player's stream must have stayed correct before the cycle ends (so that
/// a break the fault causes late, e.g. an edge noticing NATS is gone, is still seen).
pub const HOLD: Duration = Duration::from_secs(2);

/// How long the check at rest may take for the areas to match.
const AT_REST: Duration = Duration::from_secs(10);

/// One player as the drill watches it.
pub struct Watched {
    /// The player.
    pub player: Player,
    /// Its stream.
    pub stream: Arc<Stream>,
    /// Its writes.
    pub writes: Arc<Writes>,
}

/// What the watch needs.
pub struct Watch<'a> {
    /// The API reader of the owner's world (a player's session, through HAProxy).
    pub reader: Api,
    /// The players.
    pub players: &'a [Watched],
    /// The streams' radius.
    pub radius: f64,
    /// Give up on a player this long after the fault.
    pub deadline: Duration,
    /// Holds the writes for the check at rest.
    pub quiet: &'a Quiet,
}

impl Watch<'_> {
    /// Watches from `fault_at` until every stream is back and correct (or the deadline),
    /// the fault's recovery having set `recovered`; then checks the areas at rest.
    pub async fn cycle(&mut self, fault_at: Instant, recovered: &AtomicBool) -> Cycle {
        let breaks_before: Vec<(u64, u64, u64)> = self
            .players
            .iter()
            .map(|p| (p.stream.breaks(), p.stream.ended(), p.stream.refused()))
            .collect();
        let mut correct_since: Vec<Option<Instant>> = vec![None; self.players.len()];
        // Why each player is not correct yet, for the post-mortem of a lost one.
        let mut why: Vec<String> = vec!["no stable comparison".to_owned(); self.players.len()];
        let give_up = fault_at + self.deadline;
        loop {
            tokio::time::sleep(SAMPLE_EVERY).await;
            if Instant::now() >= give_up {
                break;
            }
            let before: Vec<u64> = self.players.iter().map(|p| p.writes.generation()).collect();
            let read_at = Instant::now();
            let Some(world) = self.world().await else {
                continue;
            };
            for (index, watched) in self.players.iter().enumerate() {
                let after = watched.writes.generation();
                if !watched.stream.live() {
                    correct_since[index] = None;
                    why[index] = format!(
                        "stream not live ({} breaks, {} refused opens)",
                        watched.stream.breaks(),
                        watched.stream.refused()
                    );
                    continue;
                }
                if !watched.writes.stable(before[index], after, read_at) {
                    continue;
                }
                let view = watched.stream.view();
                correct_since[index] = match ship_matches(&view, &world, watched.player.ship_id) {
                    Ok(()) => Some(correct_since[index].unwrap_or(read_at)),
                    Err(mismatch) => {
                        why[index] = format!("{mismatch:?} at view version {:?}", view.version);
                        None
                    }
                };
            }
            let held = correct_since
                .iter()
                .all(|since| since.is_some_and(|s| s + HOLD <= read_at));
            if held && recovered.load(Ordering::SeqCst) {
                break;
            }
        }
        let back: Vec<Option<Duration>> = correct_since
            .iter()
            .map(|since| since.map(|s| s.saturating_duration_since(fault_at)))
            .collect();
        let (broken, ended, refused) = self.players.iter().zip(&breaks_before).fold(
            (0, 0, 0),
            |(broken, ended, refused), (p, (b0, e0, r0))| {
                (
                    broken + p.stream.breaks() - b0,
                    ended + p.stream.ended() - e0,
                    refused + p.stream.refused() - r0,
                )
            },
        );
        let came_back: Vec<bool> = back.iter().map(Option::is_some).collect();
        let (wrong_at_rest, mut notes) = self.at_rest(&came_back).await;
        notes.extend(
            back.iter()
                .zip(&why)
                .enumerate()
                .filter(|(_, (back, _))| back.is_none())
                .map(|(index, (_, why))| format!("player {index} never back: {why}")),
        );
        Cycle {
            broken,
            ended,
            refused,
            back,
            wrong_at_rest,
            notes,
        }
    }

    /// Holds every write, then compares each player's whole area (of those in `check`)
    /// with the owner's world until all match or [`AT_REST`] passes; how many still
    /// differ, and how.
    async fn at_rest(&mut self, check: &[bool]) -> (usize, Vec<String>) {
        self.quiet.set(true);
        // Wait for the writes in flight (a generation is odd while one is).
        let drained = Instant::now() + AT_REST;
        while self.players.iter().any(|p| p.writes.generation() % 2 == 1)
            && Instant::now() < drained
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(SETTLE).await;
        let until = Instant::now() + AT_REST;
        let mut wrong = match check.iter().any(|c| *c) {
            true => vec!["the owner's world was never read at rest".to_owned()],
            false => Vec::new(),
        };
        while Instant::now() < until {
            if let Some(world) = self.world().await {
                wrong = self
                    .players
                    .iter()
                    .zip(check)
                    .enumerate()
                    .filter(|(_, (_, check))| **check)
                    .filter_map(|(index, (p, _))| {
                        let view = p.stream.view();
                        let verdict = match p.stream.live() {
                            false => Err("stream not live".to_owned()),
                            true => area_matches(&view, &world, p.player.ship_id, self.radius)
                                .map_err(|m| format!("{m:?} at view version {:?}", view.version)),
                        };
                        verdict
                            .err()
                            .map(|why| format!("player {index} wrong at rest: {why}"))
                    })
                    .collect();
                if wrong.is_empty() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.quiet.set(false);
        (wrong.len(), wrong)
    }

    async fn world(&mut self) -> Option<WorldReply> {
        match self.reader.world().await {
            Ok(Answer::Ok(world)) => Some(world),
            _ => None,
        }
    }
}
