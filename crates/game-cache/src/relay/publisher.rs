//! The owner's side: batches cut by cell into messages, objects that drifted into another
//! cell announced there, and snapshots in parts, all from the world as of the last batch
//! published.

use std::collections::{BTreeMap, HashMap, HashSet};

use game_domain::interest::{CellBatches, CellGrid, CellId, Previous, max_speed, travel};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Version;

use super::message::{BatchIndex, CellMessage, MAX_SNAPSHOT_CELLS, SnapshotPart};
use crate::fanout::ROUTE_CELL;

/// One cell's share of a batch: upserted, removed, arrived.
type Cut = (Vec<SpaceObject>, Vec<ObjectId>, Vec<SpaceObject>);

/// One published batch: its index (for the batch subject) and its cells' messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The index.
    pub index: BatchIndex,
    /// One message per cell in `index.cells`, in the same order.
    pub messages: Vec<CellMessage>,
}

/// What the owner has published in its epoch: the world as of its last batch, when that
/// batch was cut, each cell's last message, and each object's home (the cell it was last
/// published to).
#[derive(Debug, Clone)]
pub struct Publisher {
    epoch: u64,
    seq: u64,
    grid: CellGrid,
    world: WorldSnapshot,
    at_ms: i64,
    cells: BTreeMap<CellId, u64>,
    homes: HashMap<ObjectId, CellId>,
    /// The fastest speed published in the epoch (it only grows).
    speed: f64,
}

impl Publisher {
    /// A publisher of epoch `epoch` starting from `world` (nothing published yet: a
    /// snapshot shows `world`, the first batch starts from its version).
    pub fn new(epoch: u64, world: WorldSnapshot, now_ms: i64) -> Publisher {
        let grid = CellGrid::new(world.size(), ROUTE_CELL);
        let size = world.size();
        let homes = world
            .objects()
            .map(|o| (o.id, grid.cell_of(o.position_at(now_ms, size))))
            .collect();
        let speed = max_speed(world.objects());
        Publisher {
            epoch,
            seq: 0,
            grid,
            world,
            at_ms: now_ms,
            cells: BTreeMap::new(),
            homes,
            speed,
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

    /// The number of the last batch published (0 before the first).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The grid's columns (for the cells' subjects).
    pub fn columns(&self) -> u32 {
        self.grid.dimensions().0
    }

    /// The next batch: what changed from the last one to `world` at `now_ms`, one message
    /// per cell it touched (an upsert goes to the cell of its new position and of its
    /// previous one; a removal to the cells it may have been in), with the objects that
    /// drifted into another cell meanwhile as arrivals. `None` when no object changed
    /// (arrivals then wait for [`Publisher::arrivals`]).
    pub fn next(&mut self, world: WorldSnapshot, now_ms: i64) -> Option<Batch> {
        if world.version() <= self.world.version() {
            return None;
        }
        let delta = self.world.changes_to(&world);
        if delta.is_empty() {
            return None;
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
        // A changed object's home is where it is now (split routed it there).
        let size = world.size();
        for object in &delta.upserted {
            let home = self.grid.cell_of(object.position_at(now_ms, size));
            self.homes.insert(object.id, home);
        }
        for id in &delta.removed {
            self.homes.remove(id);
        }
        self.speed = self.speed.max(max_speed(&delta.upserted));
        let mut cells: BTreeMap<CellId, Cut> = split
            .cells
            .into_iter()
            .map(|c| (c.cell, (c.upserted, c.removed, Vec::new())))
            .collect();
        for (cell, object) in crossings(&self.grid, &mut self.homes, &world, now_ms) {
            cells.entry(cell).or_default().2.push(object);
        }
        self.world = world;
        self.at_ms = now_ms;
        Some(self.publish(since, version, now_ms, cells))
    }

    /// Every tick without a batch: the objects that drifted into another cell since they
    /// were last published, as a batch of arrivals only (`since == version`, the world
    /// unchanged), each to its new cell. `None` when nothing crossed (no allocation:
    /// one look at each object).
    pub fn arrivals(&mut self, now_ms: i64) -> Option<Batch> {
        let crossed = crossings(&self.grid, &mut self.homes, &self.world, now_ms);
        if crossed.is_empty() {
            return None;
        }
        let mut cells: BTreeMap<CellId, Cut> = BTreeMap::new();
        for (cell, object) in crossed {
            cells.entry(cell).or_default().2.push(object);
        }
        let version = self.world.version();
        Some(self.publish(version, version, now_ms, cells))
    }

    /// Numbers a batch, chains its cells and makes its index and messages.
    fn publish(
        &mut self,
        since: Version,
        version: Version,
        at_ms: i64,
        cells: BTreeMap<CellId, Cut>,
    ) -> Batch {
        self.seq += 1;
        let seq = self.seq;
        let parts = u32::try_from(cells.len()).unwrap_or(u32::MAX);
        let index = BatchIndex {
            epoch: self.epoch,
            seq,
            since,
            version,
            at_ms,
            cells: cells.keys().copied().collect(),
            speed: self.speed,
        };
        let messages = cells
            .into_iter()
            .map(|(cell, (upserted, removed, arrived))| CellMessage {
                epoch: self.epoch,
                cell,
                seq,
                since,
                version,
                prev: self.cells.insert(cell, seq).unwrap_or(0),
                parts,
                at_ms,
                upserted,
                removed,
                arrived,
            })
            .collect();
        Batch { index, messages }
    }

    /// The world as of the last batch, in parts of at most `part_size` objects (at least
    /// one part; the cells' last batch numbers in the last). With `cells`, only the objects
    /// whose home is one of them (at most [`MAX_SNAPSHOT_CELLS`] are looked at) and only
    /// those cells' numbers.
    pub fn snapshot(&self, part_size: usize, cells: Option<&[CellId]>) -> Vec<SnapshotPart> {
        let wanted: Option<HashSet<CellId>> =
            cells.map(|c| c.iter().take(MAX_SNAPSHOT_CELLS).copied().collect());
        let keep = |cell: &CellId| wanted.as_ref().is_none_or(|w| w.contains(cell));
        let objects: Vec<SpaceObject> = self
            .world
            .objects()
            .filter(|o| self.homes.get(&o.id).is_none_or(&keep))
            .copied()
            .collect();
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
                seq: self.seq,
                version: self.world.version(),
                size: self.world.size(),
                part: u32::try_from(index).unwrap_or(u32::MAX),
                parts,
                objects: chunk.to_vec(),
                cells: if index == last {
                    self.cells
                        .iter()
                        .filter(|(c, _)| keep(c))
                        .map(|(c, v)| (*c, *v))
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect()
    }
}

impl Publisher {
    /// The objects `ids` (at most [`MAX_SNAPSHOT_CELLS`] are looked up) as of the last
    /// batch, in one part without cell numbers: where a receiver finds a ship before it
    /// knows which cells to follow. Ids not in the world are left out.
    pub fn locate(&self, ids: &[ObjectId]) -> SnapshotPart {
        SnapshotPart {
            epoch: self.epoch,
            seq: self.seq,
            version: self.world.version(),
            size: self.world.size(),
            part: 0,
            parts: 1,
            objects: ids
                .iter()
                .take(MAX_SNAPSHOT_CELLS)
                .filter_map(|id| self.world.get(*id))
                .copied()
                .collect(),
            cells: Vec::new(),
        }
    }
}

/// The objects of `world` whose cell at `now_ms` is not their home, with that cell; their
/// homes move there (an object without a home gets one, silently).
fn crossings(
    grid: &CellGrid,
    homes: &mut HashMap<ObjectId, CellId>,
    world: &WorldSnapshot,
    now_ms: i64,
) -> Vec<(CellId, SpaceObject)> {
    let size = world.size();
    let mut crossed = Vec::new();
    for object in world.objects() {
        // Something standing still stays in its home (every object has one: from the
        // start, or from the batch that added or changed it): no trigonometry for it.
        if object.speed == 0.0 && homes.contains_key(&object.id) {
            continue;
        }
        let cell = grid.cell_of(object.position_at(now_ms, size));
        let home = homes.entry(object.id).or_insert(cell);
        if *home != cell {
            *home = cell;
            crossed.push((cell, *object));
        }
    }
    crossed
}
