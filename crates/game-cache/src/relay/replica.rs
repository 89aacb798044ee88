//! The edge's side: the world rebuilt from a snapshot and moved forward one whole batch at
//! a time, or told to fetch a snapshot again.

use std::collections::BTreeMap;

use game_domain::interest::CellId;
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::{Delta, Version};

use super::message::{Beacon, CellMessage, SnapshotPart};

/// Why a snapshot's parts do not make one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// No part at all.
    #[error("the snapshot has no part")]
    Empty,
    /// Parts of different epochs, versions or counts, a part twice, or one missing.
    #[error("the snapshot's parts do not fit together")]
    Mismatched,
}

/// Why the replica must fetch a snapshot again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// A message of another epoch: another owner took over.
    Epoch {
        /// The replica's epoch.
        ours: u64,
        /// The message's.
        theirs: u64,
    },
    /// A batch that does not start at the replica's version, or a batch that began
    /// before the previous one was complete: messages were lost.
    Batch {
        /// The replica's version (where the next batch must start).
        at: Version,
        /// Where the message's batch starts.
        since: Version,
    },
    /// The batch index had a gap: a batch's index was lost.
    Index {
        /// The next batch number the replica expected.
        expected: u64,
        /// The one it got.
        got: u64,
    },
    /// Too many batches waiting for their messages: some were lost.
    Stalled {
        /// The last batch applied.
        seq: u64,
    },
    /// The owner's beacon named a batch the replica still had not applied at the next
    /// beacon: its last messages were lost.
    Behind {
        /// The replica's version.
        at: Version,
        /// The version the earlier beacon named.
        announced: Version,
    },
    /// A cell whose previous message is not the one the replica applied last.
    Cell {
        /// The cell.
        cell: CellId,
        /// Its last batch number the replica knows.
        known: u64,
        /// Its previous batch number according to the message.
        prev: u64,
    },
}

/// A whole batch applied: what the replica's subscribers must be told.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The version the batch started from.
    pub since: Version,
    /// The version it led to (the replica's now).
    pub version: Version,
    /// The owner's clock when it cut the batch.
    pub at_ms: i64,
    /// What changed, in id order.
    pub delta: Delta,
}

/// What one message did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Kept: its batch is not complete yet.
    Waiting,
    /// Its batch is complete and applied.
    Applied(Applied),
    /// Its batch is complete and carried arrivals only: nothing changed.
    Quiet,
    /// Already in the replica (from before its snapshot): ignored.
    Old,
    /// The replica can no longer follow: fetch a snapshot.
    Resync(Resync),
}

/// A batch whose messages are arriving.
#[derive(Debug, Clone)]
struct Pending {
    seq: u64,
    since: Version,
    version: Version,
    at_ms: i64,
    parts: u32,
    cells: Vec<CellId>,
    changes: BTreeMap<ObjectId, Option<SpaceObject>>,
}

/// The owner's world at the owner's versions, on an edge.
#[derive(Debug, Clone)]
pub struct Replica {
    epoch: u64,
    /// The number of the last batch applied.
    seq: u64,
    world: WorldSnapshot,
    /// Each cell's last batch number.
    cells: BTreeMap<CellId, u64>,
    pending: Option<Pending>,
    /// The version the last beacon named, if the replica was behind it then.
    announced: Option<Version>,
}

impl Replica {
    /// The replica a complete snapshot describes (its parts in any order).
    pub fn from_parts(parts: Vec<SnapshotPart>) -> Result<Replica, ReplicaError> {
        let whole = Assembled::from_parts(parts)?;
        Ok(Replica {
            epoch: whole.epoch,
            seq: whole.seq,
            world: whole.world,
            cells: whole.cells,
            pending: None,
            announced: None,
        })
    }

    /// The owner's epoch it follows.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The world as of the last batch applied.
    pub fn world(&self) -> &WorldSnapshot {
        &self.world
    }

    /// Takes the owner's beacon: another epoch, or a batch announced by the previous
    /// beacon and still not applied, means the replica must fetch a snapshot. (A beacon
    /// may overtake its batch's messages on the way in; one beacon period later they are
    /// in.)
    pub fn beacon(&mut self, beacon: Beacon) -> Option<Resync> {
        judge_beacon(
            self.epoch,
            self.world.version(),
            &mut self.announced,
            beacon,
        )
    }

    /// Takes one message (every cell's messages must be given, in the order the owner
    /// published them): keeps it until its batch is complete, then applies the batch.
    /// Arrivals are not changes: the whole world has those objects already.
    pub fn receive(&mut self, message: CellMessage) -> Step {
        if message.epoch != self.epoch {
            return Step::Resync(Resync::Epoch {
                ours: self.epoch,
                theirs: message.epoch,
            });
        }
        if message.seq <= self.seq {
            return Step::Old;
        }
        let at = self.world.version();
        let starts_here = message.since == at
            && message.seq == self.seq + 1
            && self.pending.as_ref().is_none_or(|p| p.seq == message.seq);
        if !starts_here {
            return Step::Resync(Resync::Batch {
                at,
                since: message.since,
            });
        }
        let known = self.cells.get(&message.cell).copied().unwrap_or(0);
        if message.prev != known {
            return Step::Resync(Resync::Cell {
                cell: message.cell,
                known,
                prev: message.prev,
            });
        }
        let pending = self.pending.get_or_insert_with(|| Pending {
            seq: message.seq,
            since: message.since,
            version: message.version,
            at_ms: message.at_ms,
            parts: message.parts,
            cells: Vec::new(),
            changes: BTreeMap::new(),
        });
        if pending.cells.contains(&message.cell) {
            // The same cell twice in one batch: not something the owner sends.
            return Step::Resync(Resync::Cell {
                cell: message.cell,
                known,
                prev: message.prev,
            });
        }
        pending.cells.push(message.cell);
        for object in message.upserted {
            pending.changes.insert(object.id, Some(object));
        }
        for id in message.removed {
            pending.changes.insert(id, None);
        }
        if u32::try_from(pending.cells.len()).unwrap_or(u32::MAX) < pending.parts {
            return Step::Waiting;
        }
        let Some(done) = self.pending.take() else {
            return Step::Waiting;
        };
        let mut delta = Delta::default();
        for (id, state) in done.changes {
            match state {
                Some(object) => delta.upserted.push(object),
                None => delta.removed.push(id),
            }
        }
        for cell in done.cells {
            self.cells.insert(cell, done.seq);
        }
        self.seq = done.seq;
        if done.since == done.version {
            // Arrivals only: the whole world already holds them.
            return Step::Quiet;
        }
        self.world = self.world.with_changes(done.version, &delta);
        Step::Applied(Applied {
            since: done.since,
            version: done.version,
            at_ms: done.at_ms,
            delta,
        })
    }
}

/// A snapshot's parts put together.
#[derive(Debug, Clone)]
pub(crate) struct Assembled {
    pub(crate) epoch: u64,
    pub(crate) seq: u64,
    pub(crate) world: WorldSnapshot,
    pub(crate) cells: BTreeMap<CellId, u64>,
}

impl Assembled {
    /// Checks that the parts (in any order) make one snapshot and puts them together.
    pub(crate) fn from_parts(mut parts: Vec<SnapshotPart>) -> Result<Assembled, ReplicaError> {
        parts.sort_by_key(|p| p.part);
        let first = parts.first().ok_or(ReplicaError::Empty)?;
        let (epoch, seq, version, size, count) = (
            first.epoch,
            first.seq,
            first.version,
            first.size,
            first.parts,
        );
        let fits = usize::try_from(count).is_ok_and(|n| n == parts.len())
            && parts.iter().enumerate().all(|(index, p)| {
                (p.epoch, p.seq, p.version, p.parts) == (epoch, seq, version, count)
                    && usize::try_from(p.part).is_ok_and(|part| part == index)
            });
        if !fits {
            return Err(ReplicaError::Mismatched);
        }
        let cells = parts.iter().flat_map(|p| p.cells.iter().copied()).collect();
        let objects = parts.into_iter().flat_map(|p| p.objects);
        Ok(Assembled {
            epoch,
            seq,
            world: WorldSnapshot::replica(size, version, objects),
            cells,
        })
    }
}

/// A replica's verdict on the owner's beacon, for one at `epoch` and version `at` whose
/// previous beacon left `announced` (a version it was behind then): another epoch, or
/// still behind what the previous beacon announced, means fetching a snapshot.
pub(super) fn judge_beacon(
    epoch: u64,
    at: Version,
    announced: &mut Option<Version>,
    beacon: Beacon,
) -> Option<Resync> {
    if beacon.epoch != epoch {
        return Some(Resync::Epoch {
            ours: epoch,
            theirs: beacon.epoch,
        });
    }
    if let Some(earlier) = announced.take()
        && earlier > at
    {
        return Some(Resync::Behind {
            at,
            announced: earlier,
        });
    }
    *announced = (beacon.version > at).then_some(beacon.version);
    None
}
