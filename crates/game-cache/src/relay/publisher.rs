//! The owner's side: batches cut by cell into messages, and snapshots in parts, both from
//! the world as of the last batch published.

use std::collections::BTreeMap;

use game_domain::interest::{CellBatches, CellGrid, CellId, Previous, max_speed, travel};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Version;

use super::message::{CellMessage, SnapshotPart};
use crate::fanout::ROUTE_CELL;

/// What the owner has published in its epoch: the world as of its last batch, when that
/// batch was cut, and each cell's last message.
#[derive(Debug, Clone)]
pub struct Publisher {
    epoch: u64,
    grid: CellGrid,
    world: WorldSnapshot,
    at_ms: i64,
    cells: BTreeMap<CellId, Version>,
}

impl Publisher {
    /// A publisher of epoch `epoch` starting from `world` (nothing published yet: a
    /// snapshot shows `world`, the first batch starts from its version).
    pub fn new(epoch: u64, world: WorldSnapshot, now_ms: i64) -> Publisher {
        Publisher {
            epoch,
            grid: CellGrid::new(world.size(), ROUTE_CELL),
            world,
            at_ms: now_ms,
            cells: BTreeMap::new(),
        }
    }

    /// The epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The version of the last batch published (or of the starting world).
    pub fn version(&self) -> Version {
        self.world.version()
    }

    /// The grid's columns (for the cells' subjects).
    pub fn columns(&self) -> u32 {
        self.grid.dimensions().0
    }

    /// The next batch: what changed from the last one to `world` at `now_ms`, one message
    /// per cell it touched (an upsert goes to the cell of its new position and of its
    /// previous one; a removal to the cells it may have been in). Nothing when no object
    /// changed.
    pub fn next(&mut self, world: WorldSnapshot, now_ms: i64) -> Vec<CellMessage> {
        if world.version() <= self.world.version() {
            return Vec::new();
        }
        let delta = self.world.changes_to(&world);
        if delta.is_empty() {
            return Vec::new();
        }
        // A removed object may have changed course after the state we hold (within this
        // batch): look as far as the fastest object involved could have gone since.
        let before = &self.world;
        let speed = max_speed(
            delta
                .upserted
                .iter()
                .chain(delta.removed.iter().filter_map(|id| before.get(*id))),
        );
        let drift = 2.0 * travel(speed, now_ms.saturating_sub(self.at_ms).max(0)) + 1.0;
        let previous = Previous {
            state: |id: ObjectId| -> Option<SpaceObject> { before.get(id).copied() },
            drift,
        };
        let since = self.world.version();
        let version = world.version();
        let split = CellBatches::split(&self.grid, since, version, &delta, now_ms, &previous);
        let parts = u32::try_from(split.cells.len()).unwrap_or(u32::MAX);
        let messages = split
            .cells
            .into_iter()
            .map(|cell| CellMessage {
                epoch: self.epoch,
                cell: cell.cell,
                since,
                version,
                prev: self.cells.insert(cell.cell, version).unwrap_or(0),
                parts,
                at_ms: now_ms,
                upserted: cell.upserted,
                removed: cell.removed,
            })
            .collect();
        self.world = world;
        self.at_ms = now_ms;
        messages
    }

    /// The world as of the last batch, in parts of at most `part_size` objects (at least
    /// one part; every cell's last version in the last).
    pub fn snapshot(&self, part_size: usize) -> Vec<SnapshotPart> {
        let objects: Vec<SpaceObject> = self.world.objects().copied().collect();
        let chunks: Vec<&[SpaceObject]> = if objects.is_empty() {
            vec![&[]]
        } else {
            objects.chunks(part_size.max(1)).collect()
        };
        let parts = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        let last = chunks.len() - 1;
        chunks
            .into_iter()
            .enumerate()
            .map(|(index, chunk)| SnapshotPart {
                epoch: self.epoch,
                version: self.world.version(),
                size: self.world.size(),
                part: u32::try_from(index).unwrap_or(u32::MAX),
                parts,
                objects: chunk.to_vec(),
                cells: if index == last {
                    self.cells.iter().map(|(c, v)| (*c, *v)).collect()
                } else {
                    Vec::new()
                },
            })
            .collect()
    }
}
