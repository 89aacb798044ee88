//! A player's copy of its area, rebuilt from the stream's `snapshot` and `delta` events
//! (docs/world-sync.md), and the drill's test of it against the owner's world: the
//! convergence check.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, SpaceObject};
use serde_json::Value;
use spacewars_harness::api::WorldReply;

/// How far (world units) a known object's extrapolated position may be from the owner's:
/// both sides compute it with the same formula from the same stored state, so only
/// rounding can differ.
pub const POSITION_TOLERANCE: f64 = 1e-3;

/// The objects a stream has told its player about.
#[derive(Debug, Clone, Default)]
pub struct View {
    objects: BTreeMap<ObjectId, SpaceObject>,
    size: Option<WorldSize>,
    /// The last event's version.
    pub version: Option<u64>,
}

impl View {
    /// Applies a `snapshot` (replaces everything) or a `delta` (upserts and removals);
    /// other event names are not world events and are ignored. A delta before any
    /// snapshot, or data that is not a world event's JSON, is an error.
    pub fn apply(&mut self, name: &str, data: &[u8]) -> anyhow::Result<()> {
        if name != "snapshot" && name != "delta" {
            return Ok(());
        }
        let body: Value = serde_json::from_slice(data).with_context(|| format!("{name} event"))?;
        let field = |field: &str| -> anyhow::Result<Value> {
            body.get(field)
                .cloned()
                .with_context(|| format!("{name} event without {field}"))
        };
        let size: WorldSize = serde_json::from_value(field("worldSize")?)?;
        let version = field("version")?.as_u64();
        if name == "snapshot" {
            let objects: Vec<SpaceObject> = serde_json::from_value(field("spaceObjects")?)?;
            self.objects = objects.into_iter().map(|o| (o.id, o)).collect();
        } else {
            if self.size.is_none() {
                bail!("delta before any snapshot");
            }
            let upserted: Vec<SpaceObject> = serde_json::from_value(field("upserted")?)?;
            let removed: Vec<ObjectId> = serde_json::from_value(field("removed")?)?;
            for id in removed {
                self.objects.remove(&id);
            }
            self.objects.extend(upserted.into_iter().map(|o| (o.id, o)));
        }
        self.size = Some(size);
        self.version = version.or(self.version);
        Ok(())
    }

    /// The stored state of object `id`, if known.
    pub fn get(&self, id: ObjectId) -> Option<&SpaceObject> {
        self.objects.get(&id)
    }

    /// Objects known.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True before the first snapshot or when the area is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The view as a world answer at `now_ms` (positions extrapolated), for aiming.
    pub fn as_world(&self, now_ms: i64) -> Option<WorldReply> {
        let size = self.size?;
        Some(WorldReply {
            world_size: size,
            space_objects: self.objects.values().map(|o| o.at(now_ms, size)).collect(),
            current_time: now_ms,
        })
    }
}

/// Why a view does not show the owner's world.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// The owner's world has no such ship (a drill error, not a stream's).
    NoShipInWorld,
    /// The view does not know its own ship.
    ShipUnknown,
    /// The view knows object `id` in another state than the owner's.
    Differs(ObjectId),
    /// The view still holds object `id`, which the owner's world no longer has.
    Gone(ObjectId),
    /// Object `id`, within the stream's radius of the ship, is missing from the view.
    Missing(ObjectId),
}

/// True when `known` (a stored state) extrapolated to `world_at` is `truth` (a state at
/// `world_at`): the same kind and course, the position within [`POSITION_TOLERANCE`].
pub fn same_state(
    known: &SpaceObject,
    truth: &SpaceObject,
    world_at: i64,
    size: WorldSize,
) -> bool {
    let now = known.position_at(world_at, size);
    known.kind == truth.kind
        && known.speed == truth.speed
        && known.angle == truth.angle
        && size.distance(now, (truth.x, truth.y)) <= POSITION_TOLERANCE
}

/// The player's own ship in `view` is the one in the owner's `world`.
pub fn ship_matches(view: &View, world: &WorldReply, ship: ObjectId) -> Result<(), Mismatch> {
    let truth = world
        .space_objects
        .iter()
        .find(|o| o.id == ship)
        .ok_or(Mismatch::NoShipInWorld)?;
    let known = view.get(ship).ok_or(Mismatch::ShipUnknown)?;
    match same_state(known, truth, world.current_time, world.world_size) {
        true => Ok(()),
        false => Err(Mismatch::Differs(ship)),
    }
}

/// The whole view is the owner's world near the ship: its ship matches, every object it
/// knows exists with the owner's state, and every object within `radius` of the ship is
/// known (docs/world-sync.md, Areas of interest). Only meaningful while nothing changes.
pub fn area_matches(
    view: &View,
    world: &WorldReply,
    ship: ObjectId,
    radius: f64,
) -> Result<(), Mismatch> {
    ship_matches(view, world, ship)?;
    let size = world.world_size;
    let by_id: BTreeMap<ObjectId, &SpaceObject> =
        world.space_objects.iter().map(|o| (o.id, o)).collect();
    for known in view.objects.values() {
        let truth = by_id.get(&known.id).ok_or(Mismatch::Gone(known.id))?;
        if !same_state(known, truth, world.current_time, size) {
            return Err(Mismatch::Differs(known.id));
        }
    }
    let centre = by_id
        .get(&ship)
        .map(|o| (o.x, o.y))
        .ok_or(Mismatch::NoShipInWorld)?;
    for object in &world.space_objects {
        if size.distance(centre, (object.x, object.y)) <= radius && view.get(object.id).is_none() {
            return Err(Mismatch::Missing(object.id));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
