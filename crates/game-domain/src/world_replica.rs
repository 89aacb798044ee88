//! A copy of the world kept by another machine at its owner's versions (an edge server,
//! docs/world-sync.md "Edges"): built from a snapshot's objects, moved forward by the
//! owner's deltas, and the delta between two snapshots of one world (what the owner sends).

use imbl::ordmap::DiffItem;

use crate::geometry::WorldSize;
use crate::space_object::SpaceObject;
use crate::world::{World, WorldSnapshot};
use crate::world_history::{Delta, Version, WorldHistory};

impl WorldSnapshot {
    /// The owner's world at `version`, rebuilt from its objects (sent in parts, in any
    /// order; a later state of an id replaces an earlier one).
    pub fn replica(
        size: WorldSize,
        version: Version,
        objects: impl IntoIterator<Item = SpaceObject>,
    ) -> WorldSnapshot {
        WorldSnapshot {
            size,
            version,
            objects: objects.into_iter().map(|o| (o.id, o)).collect(),
        }
    }

    /// This world with `delta` applied, at `version`: upserted states replace (or add)
    /// their objects, removed ids leave. Sharing structure with `self`, it costs the
    /// changes, not the world.
    pub fn with_changes(&self, version: Version, delta: &Delta) -> WorldSnapshot {
        let mut objects = self.objects.clone();
        for object in &delta.upserted {
            objects.insert(object.id, *object);
        }
        for id in &delta.removed {
            objects.remove(id);
        }
        WorldSnapshot {
            size: self.size,
            version,
            objects,
        }
    }

    /// What changed from this world to `newer` (a later snapshot of the same world): the
    /// objects added or changed, in id order, and the ids that left. Two snapshots that
    /// share structure are compared only where they differ.
    pub fn changes_to(&self, newer: &WorldSnapshot) -> Delta {
        let mut delta = Delta::default();
        for item in self.objects.diff(&newer.objects) {
            match item {
                DiffItem::Add(_, object)
                | DiffItem::Update {
                    new: (_, object), ..
                } => {
                    delta.upserted.push(*object);
                }
                DiffItem::Remove(id, _) => delta.removed.push(*id),
            }
        }
        delta
    }

    /// A world holding these objects at this version, whose change log is empty: it
    /// answers "what changed since" only for its own version (any other gets a snapshot).
    /// Shares structure with the snapshot: O(1).
    pub fn to_world(&self) -> World {
        World {
            size: self.size,
            objects: self.objects.clone(),
            history: Some(WorldHistory::new(self.version, 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space_object::fixtures::asteroid;

    const SIZE: WorldSize = WorldSize {
        width: 1_000.0,
        height: 600.0,
    };

    #[test]
    fn a_delta_moves_a_replica_to_the_owners_world() {
        let owner = WorldSnapshot::replica(SIZE, 7, [asteroid(1, 1.0, 0.0), asteroid(2, 2.0, 0.0)]);
        let later =
            WorldSnapshot::replica(SIZE, 12, [asteroid(2, 5.0, 0.0), asteroid(3, 3.0, 0.0)]);
        let delta = owner.changes_to(&later);
        assert_eq!(
            delta,
            Delta {
                upserted: vec![asteroid(2, 5.0, 0.0), asteroid(3, 3.0, 0.0)],
                removed: vec![1],
            }
        );
        let moved = owner.with_changes(12, &delta);
        assert_eq!(moved.version(), 12);
        assert_eq!(
            moved.objects().copied().collect::<Vec<_>>(),
            vec![asteroid(2, 5.0, 0.0), asteroid(3, 3.0, 0.0)]
        );
        assert_eq!(owner.len(), 2, "the older snapshot is unchanged");
    }

    #[test]
    fn equal_snapshots_differ_in_nothing() {
        let owner = WorldSnapshot::replica(SIZE, 3, [asteroid(1, 1.0, 0.0)]);
        assert_eq!(owner.changes_to(&owner.clone()), Delta::default());
    }

    #[test]
    fn a_replica_world_answers_deltas_only_for_its_own_version() {
        let world = WorldSnapshot::replica(SIZE, 40, [asteroid(9, 1.0, 0.0)]).to_world();
        assert_eq!(world.version(), 40);
        assert_eq!(world.changes_since(40), Some(Delta::default()));
        assert_eq!(world.changes_since(39), None);
        assert_eq!(world.len(), 1);
    }
}
