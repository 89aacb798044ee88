//! The small world the relay's cell tests use: 2 × 2 cells of 256 units, 0 and 1 on top,
//! 2 and 3 below.

use std::collections::BTreeSet;

use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::world::WorldSnapshot;

use super::CellMessage;

pub(super) const SIZE: WorldSize = WorldSize {
    width: 512.0,
    height: 512.0,
};

/// Something at (x, y) at time 0 moving at `speed` (12: 10 units a second) toward
/// `angle` degrees (0: +x, 90: +y).
pub(super) fn thing(id: ObjectId, x: f64, y: f64, speed: f64, angle: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind: ObjectKind::Asteroid,
        x,
        y,
        speed,
        angle,
        last_position_update_ms: 0,
    }
}

pub(super) fn rock(id: ObjectId, x: f64, y: f64) -> SpaceObject {
    thing(id, x, y, 0.0, 0.0)
}

pub(super) fn world(version: u64, objects: &[SpaceObject]) -> WorldSnapshot {
    WorldSnapshot::replica(SIZE, version, objects.iter().copied())
}

pub(super) fn objects(world: &WorldSnapshot) -> Vec<SpaceObject> {
    world.objects().copied().collect()
}

pub(super) fn cells(list: &[u32]) -> BTreeSet<u32> {
    list.iter().copied().collect()
}

pub(super) fn message(seq: u64, cell: u32, since: u64, version: u64, at_ms: i64) -> CellMessage {
    CellMessage {
        epoch: 77,
        cell,
        seq,
        since,
        version,
        prev: 0,
        parts: 1,
        at_ms,
        upserted: Vec::new(),
        removed: Vec::new(),
        arrived: Vec::new(),
    }
}
