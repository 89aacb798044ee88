//! What the relay sends, as JSON, and on which subjects.

use game_domain::geometry::WorldSize;
use game_domain::interest::CellId;
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world_history::Version;
use serde::{Deserialize, Serialize};

/// The changes of one cell in one batch, published on the cell's subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellMessage {
    /// The owner's epoch: chosen at random when an owner starts publishing, so a new
    /// owner (a takeover) never continues an old owner's chains.
    pub epoch: u64,
    /// The cell (`row * columns + column` of the fan-out grid).
    pub cell: CellId,
    /// The batch's number in the epoch (1, 2, …; the starting world is 0). Every batch
    /// has one, also one that only carries arrivals (then `since == version`).
    #[serde(default)]
    pub seq: u64,
    /// The version of the previous batch published in this epoch (where a receiver must
    /// be to apply this one).
    pub since: Version,
    /// The version the batch leads to.
    pub version: Version,
    /// The batch number (`seq`) of this cell's previous message in this epoch; 0 when it
    /// had none (a per-cell chain: a receiver that holds another number lost a message).
    pub prev: u64,
    /// How many cells (messages) the batch has.
    pub parts: u32,
    /// The owner's clock when it cut the batch (Unix ms).
    pub at_ms: i64,
    /// Objects added or changed that were or are in the cell, as stored states.
    pub upserted: Vec<SpaceObject>,
    /// Objects that left the world from (or near) the cell.
    pub removed: Vec<ObjectId>,
    /// Objects that drifted into the cell on their course with no change to their stored
    /// state (not a change: a whole-world receiver already has them; a receiver that
    /// follows this cell and not the one they came from learns of them here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arrived: Vec<SpaceObject>,
}

/// The index of one batch, published on the world's batch subject before the batch's cell
/// messages: which cells it touched, so that a receiver following some cells knows which
/// messages complete the batch for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchIndex {
    /// The owner's epoch.
    pub epoch: u64,
    /// The batch's number in the epoch.
    pub seq: u64,
    /// The version the batch starts from.
    pub since: Version,
    /// The version it leads to (equal to `since` for a batch of arrivals only).
    pub version: Version,
    /// The owner's clock when it cut the batch (Unix ms).
    pub at_ms: i64,
    /// The cells the batch has a message for, in cell order.
    pub cells: Vec<CellId>,
    /// The fastest speed of any object the owner has published in its epoch (units per
    /// minute; it only grows): a receiver that follows some cells sees only their
    /// objects, and must allow for this speed in the margin around its areas.
    #[serde(default)]
    pub speed: f64,
}

/// A request for the world, answered on the request's reply subject in parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRequest {
    /// At most this many objects per part (the owner caps it too).
    pub part_size: usize,
    /// The cells wanted (objects whose last published cell is one of them); `None` for
    /// the whole world. The owner answers at most `MAX_SNAPSHOT_CELLS` of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells: Option<Vec<CellId>>,
    /// Instead of cells: these objects alone, as of the last batch, in one part with no
    /// cell numbers (a receiver locates a player's ship before it knows which cells to
    /// follow). The owner answers at most `MAX_SNAPSHOT_CELLS` of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<Vec<ObjectId>>,
}

/// At most this many cells (or objects) in one snapshot request (the owner ignores the
/// rest: a receiver following more cells asks for the whole world).
pub const MAX_SNAPSHOT_CELLS: usize = 4_096;

/// One part of a snapshot of the world as of a published batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPart {
    /// The owner's epoch.
    pub epoch: u64,
    /// The number of the last batch published (the next one is `seq + 1`).
    #[serde(default)]
    pub seq: u64,
    /// The version of the last batch published: the snapshot shows the world there, and
    /// the next batch starts from it.
    pub version: Version,
    /// The world's dimensions.
    pub size: WorldSize,
    /// This part's index, from 0.
    pub part: u32,
    /// How many parts the snapshot has.
    pub parts: u32,
    /// Some of the objects (each object is in exactly one part).
    pub objects: Vec<SpaceObject>,
    /// In the last part only: the last batch number (`seq`) of every cell that had a
    /// message in this epoch (of the cells asked for, for a snapshot of a cell set).
    pub cells: Vec<(CellId, u64)>,
}

/// The owner's beacon: its epoch and the last batch it published, at its start and every
/// few seconds, so that an edge notices a new owner, or a lost last batch, even while
/// nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// The owner's epoch.
    pub epoch: u64,
    /// The version of the last batch it published.
    pub version: Version,
}

/// A change to the sessions that the edges must act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionNotice {
    /// The session was revoked (logout): its streams end.
    Revoked {
        /// The session token's hash (the database key; never the token).
        token_hash: String,
    },
}

/// The subjects of one world: everything under `spacewars.<world>.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// The subjects of the world named `world` (letters, digits, `-` and `_` only: NATS
    /// treats `.`, `*` and `>` as structure).
    pub fn new(world: &str) -> Option<Subjects> {
        let valid = !world.is_empty()
            && world
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        valid.then(|| Subjects {
            prefix: format!("spacewars.{world}"),
        })
    }

    /// A cell's changes: `spacewars.<world>.cell.<column>.<row>` for a grid of `columns`.
    pub fn cell(&self, cell: CellId, columns: u32) -> String {
        let columns = columns.max(1);
        format!("{}.cell.{}.{}", self.prefix, cell % columns, cell / columns)
    }

    /// The batch index ([`BatchIndex`]), one message per batch.
    pub fn batch(&self) -> String {
        format!("{}.batch", self.prefix)
    }

    /// Every cell's changes (a wildcard).
    pub fn all_cells(&self) -> String {
        format!("{}.cell.>", self.prefix)
    }

    /// Snapshot requests.
    pub fn snapshot(&self) -> String {
        format!("{}.snapshot", self.prefix)
    }

    /// The owner's beacon.
    pub fn owner(&self) -> String {
        format!("{}.owner", self.prefix)
    }

    /// Session revocations.
    pub fn sessions(&self) -> String {
        format!("{}.sessions", self.prefix)
    }
}
