//! An edge's replica of some cells: the objects in the cells it follows, moved forward one
//! batch at a time from the batch index and those cells' messages alone.
//!
//! A batch is complete when its index is in and the messages of the cells it touched that
//! the replica follows are in (messages may arrive before their index: each cell has its
//! own subscription). Batches are applied in order. An object is kept while its position
//! (at the batch's instant) lies in a followed cell, and dropped when it does not (it
//! drifted or jumped away); one that drifts into a followed cell arrives as an arrival.
//! Cells join with a snapshot of just those cells, taken at some batch: they count from
//! the batch after it, and the snapshot's objects come in when the replica reaches it.

use std::collections::{BTreeMap, BTreeSet};

use game_domain::interest::{CellGrid, CellId};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Delta;

use super::message::{BatchIndex, Beacon, CellMessage, SnapshotPart};
use super::replica::{Applied, Assembled, ReplicaError, Resync, judge_beacon};
use crate::fanout::ROUTE_CELL;

/// At most this many batches may wait for their messages; past it some were lost.
pub const MAX_WAITING: usize = 1_024;

/// Why cells could not join.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The snapshot's parts do not make one snapshot.
    #[error(transparent)]
    Parts(#[from] ReplicaError),
    /// The snapshot is of another epoch.
    #[error("the snapshot is of epoch {theirs}, the replica follows {ours}")]
    Epoch {
        /// The replica's epoch.
        ours: u64,
        /// The snapshot's.
        theirs: u64,
    },
    /// The snapshot shows an older batch than the replica has applied: ask again.
    #[error("the snapshot (batch {snapshot}) is older than the replica (batch {replica})")]
    Stale {
        /// The snapshot's batch.
        snapshot: u64,
        /// The replica's.
        replica: u64,
    },
}

/// A batch whose index or messages are arriving.
#[derive(Debug, Clone, Default)]
struct Waiting {
    index: Option<BatchIndex>,
    messages: Vec<CellMessage>,
}

/// Objects of joining cells, to come in when the replica reaches their batch.
#[derive(Debug, Clone)]
struct Joining {
    seq: u64,
    objects: Vec<SpaceObject>,
}

/// The owner's world in the cells an edge follows, at the owner's batches.
#[derive(Debug, Clone)]
pub struct PartialReplica {
    epoch: u64,
    /// The last batch applied.
    seq: u64,
    /// The last batch whose index came in.
    indexed: u64,
    grid: CellGrid,
    world: WorldSnapshot,
    /// The cells followed, each with the batch from after which its messages count.
    followed: BTreeMap<CellId, u64>,
    /// Each followed cell's last message received (its chain).
    chains: BTreeMap<CellId, u64>,
    waiting: BTreeMap<u64, Waiting>,
    joining: Vec<Joining>,
    announced: Option<u64>,
}

impl PartialReplica {
    /// The replica of `cells` that a snapshot of those cells describes.
    pub fn from_parts(
        parts: Vec<SnapshotPart>,
        cells: &BTreeSet<CellId>,
    ) -> Result<PartialReplica, ReplicaError> {
        let whole = Assembled::from_parts(parts)?;
        Ok(PartialReplica {
            epoch: whole.epoch,
            seq: whole.seq,
            indexed: whole.seq,
            grid: CellGrid::new(whole.world.size(), ROUTE_CELL),
            world: whole.world,
            followed: cells.iter().map(|c| (*c, whole.seq)).collect(),
            chains: cells
                .iter()
                .map(|c| (*c, whole.cells.get(c).copied().unwrap_or(0)))
                .collect(),
            waiting: BTreeMap::new(),
            joining: Vec::new(),
            announced: None,
        })
    }

    /// The owner's epoch it follows.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The last batch applied.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The objects of the followed cells as of the last batch applied.
    pub fn world(&self) -> &WorldSnapshot {
        &self.world
    }

    /// The cells followed (joining ones included).
    pub fn cells(&self) -> impl Iterator<Item = CellId> + '_ {
        self.followed.keys().copied()
    }

    /// Adds the cells a snapshot of them describes. They count from the snapshot's batch
    /// on; its objects come in when the replica has applied that batch (now, if it has).
    pub fn join(
        &mut self,
        parts: Vec<SnapshotPart>,
        cells: &BTreeSet<CellId>,
    ) -> Result<(), JoinError> {
        let snapshot = Assembled::from_parts(parts)?;
        if snapshot.epoch != self.epoch {
            return Err(JoinError::Epoch {
                ours: self.epoch,
                theirs: snapshot.epoch,
            });
        }
        if snapshot.seq < self.seq {
            return Err(JoinError::Stale {
                snapshot: snapshot.seq,
                replica: self.seq,
            });
        }
        for cell in cells {
            self.followed.insert(*cell, snapshot.seq);
            let chain = snapshot.cells.get(cell).copied().unwrap_or(0);
            self.chains.insert(*cell, chain);
        }
        self.joining.push(Joining {
            seq: snapshot.seq,
            objects: snapshot.world.objects().copied().collect(),
        });
        self.admit_joining();
        Ok(())
    }

    /// Stops following `cells`: their objects (where they are at `now_ms`) are dropped.
    pub fn leave(&mut self, cells: &BTreeSet<CellId>, now_ms: i64) {
        for cell in cells {
            self.followed.remove(cell);
            self.chains.remove(cell);
        }
        let gone = self.outside(now_ms);
        if !gone.is_empty() {
            self.world = self.world.with_changes(
                self.world.version(),
                &Delta {
                    upserted: Vec::new(),
                    removed: gone,
                },
            );
        }
    }

    /// Takes the owner's beacon (as [`super::Replica::beacon`]).
    pub fn beacon(&mut self, beacon: Beacon) -> Option<Resync> {
        judge_beacon(
            self.epoch,
            self.world.version(),
            &mut self.announced,
            beacon,
        )
    }

    /// Takes a batch's index (indexes must come in order); applies what became complete.
    pub fn index(&mut self, index: BatchIndex) -> Result<Vec<Applied>, Resync> {
        self.same_epoch(index.epoch)?;
        if index.seq <= self.indexed {
            return Ok(Vec::new());
        }
        if index.seq != self.indexed + 1 {
            return Err(Resync::Index {
                expected: self.indexed + 1,
                got: index.seq,
            });
        }
        self.indexed = index.seq;
        let seq = index.seq;
        self.waiting.entry(seq).or_default().index = Some(index);
        self.apply_complete()
    }

    /// Takes a cell's message (each cell's in the order published; other cells' are
    /// ignored); applies what became complete.
    pub fn receive(&mut self, message: CellMessage) -> Result<Vec<Applied>, Resync> {
        self.same_epoch(message.epoch)?;
        let Some(from) = self.followed.get(&message.cell).copied() else {
            return Ok(Vec::new());
        };
        if message.seq <= from.max(self.seq) {
            return Ok(Vec::new());
        }
        let known = self.chains.get(&message.cell).copied().unwrap_or(0);
        if message.prev != known {
            return Err(Resync::Cell {
                cell: message.cell,
                known,
                prev: message.prev,
            });
        }
        self.chains.insert(message.cell, message.seq);
        self.waiting
            .entry(message.seq)
            .or_default()
            .messages
            .push(message);
        self.apply_complete()
    }

    fn same_epoch(&self, theirs: u64) -> Result<(), Resync> {
        if theirs == self.epoch {
            Ok(())
        } else {
            Err(Resync::Epoch {
                ours: self.epoch,
                theirs,
            })
        }
    }

    /// Applies the next batches while they are complete.
    fn apply_complete(&mut self) -> Result<Vec<Applied>, Resync> {
        let mut applied = Vec::new();
        while let Some(entry) = self.waiting.first_entry() {
            let next = self.seq + 1;
            let complete = *entry.key() == next
                && entry.get().index.as_ref().is_some_and(|index| {
                    index
                        .cells
                        .iter()
                        .filter(|c| self.followed.get(c).is_some_and(|from| *from < next))
                        .all(|c| entry.get().messages.iter().any(|m| m.cell == *c))
                });
            if !complete {
                break;
            }
            let batch = entry.remove();
            if let Some(index) = batch.index {
                applied.push(self.apply(index, batch.messages));
            }
        }
        if self.waiting.len() > MAX_WAITING {
            return Err(Resync::Stalled { seq: self.seq });
        }
        Ok(applied)
    }

    /// Applies one complete batch: its changes, its arrivals, the joining cells' objects
    /// when their batch is reached, and drops what is outside every followed cell.
    fn apply(&mut self, index: BatchIndex, messages: Vec<CellMessage>) -> Applied {
        let mut changes: BTreeMap<ObjectId, Option<SpaceObject>> = BTreeMap::new();
        let mut arrived: Vec<SpaceObject> = Vec::new();
        for message in messages {
            for object in message.upserted {
                changes.insert(object.id, Some(object));
            }
            for id in message.removed {
                changes.insert(id, None);
            }
            arrived.extend(message.arrived);
        }
        let mut delta = Delta::default();
        for (id, state) in changes {
            match state {
                Some(object) => delta.upserted.push(object),
                None => delta.removed.push(id),
            }
        }
        self.seq = index.seq;
        let mut world = self.world.with_changes(index.version, &delta);
        let silent: Vec<SpaceObject> = arrived
            .into_iter()
            .filter(|o| !delta.upserted.iter().any(|u| u.id == o.id))
            .collect();
        if !silent.is_empty() {
            world = world.with_changes(
                index.version,
                &Delta {
                    upserted: silent,
                    removed: Vec::new(),
                },
            );
        }
        self.world = world;
        self.admit_joining();
        let gone = self.outside(index.at_ms);
        if !gone.is_empty() {
            self.world = self.world.with_changes(
                index.version,
                &Delta {
                    upserted: Vec::new(),
                    removed: gone,
                },
            );
        }
        Applied {
            since: index.since,
            version: index.version,
            at_ms: index.at_ms,
            delta,
        }
    }

    /// Brings in the objects of joining cells whose batch the replica has reached.
    fn admit_joining(&mut self) {
        let seq = self.seq;
        let (ready, later): (Vec<Joining>, Vec<Joining>) = std::mem::take(&mut self.joining)
            .into_iter()
            .partition(|j| j.seq <= seq);
        self.joining = later;
        for join in ready {
            self.world = self.world.with_changes(
                self.world.version(),
                &Delta {
                    upserted: join.objects,
                    removed: Vec::new(),
                },
            );
        }
    }

    /// The objects whose position at `at_ms` lies in no followed cell.
    fn outside(&self, at_ms: i64) -> Vec<ObjectId> {
        let size = self.world.size();
        self.world
            .objects()
            .filter(|o| {
                !self
                    .followed
                    .contains_key(&self.grid.cell_of(o.position_at(at_ms, size)))
            })
            .map(|o| o.id)
            .collect()
    }
}
