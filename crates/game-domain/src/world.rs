//! The world of space objects, its version and change log, and the change set a unit of
//! work builds over part of it.

use std::collections::{BTreeMap, BTreeSet};

use imbl::OrdMap;

use crate::geometry::WorldSize;
use crate::space_object::{ObjectId, ObjectState, SpaceObject};
use crate::world_history::{Delta, ObjectChange, Version, WorldHistory};

/// All space objects, ordered by id; with a version and a log of recent changes when
/// the world is kept in memory ([`World::versioned`]).
///
/// The objects live in a persistent map: [`World::snapshot`] is an O(1) copy that shares
/// structure with the world, so a reader holds the world lock only for that copy, never
/// while it positions or serialises thousands of objects.
#[derive(Debug, Clone)]
pub struct World {
    pub(crate) size: WorldSize,
    pub(crate) objects: OrdMap<ObjectId, SpaceObject>,
    /// `None` for a world read afresh from a database for one unit of work: it has no
    /// past, so every "since" question is answered with a full snapshot.
    pub(crate) history: Option<WorldHistory>,
}

/// An immutable copy of the world's objects at one version (cheap: structure is shared).
#[derive(Debug, Clone)]
pub struct WorldSnapshot {
    pub(crate) size: WorldSize,
    pub(crate) version: Version,
    pub(crate) objects: OrdMap<ObjectId, SpaceObject>,
}

impl WorldSnapshot {
    /// The world's dimensions.
    pub fn size(&self) -> WorldSize {
        self.size
    }

    /// The version this snapshot shows (0 for an unversioned world).
    pub fn version(&self) -> Version {
        self.version
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when it holds no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The stored states, in id order.
    pub fn objects(&self) -> impl Iterator<Item = &SpaceObject> {
        self.objects.values()
    }

    /// One object's stored state.
    pub fn get(&self, id: ObjectId) -> Option<&SpaceObject> {
        self.objects.get(&id)
    }

    /// Every object with its position advanced to `now_ms`, in id order.
    pub fn at(&self, now_ms: i64) -> Vec<SpaceObject> {
        self.objects
            .values()
            .map(|o| o.at(now_ms, self.size))
            .collect()
    }
}

impl World {
    /// An unversioned world of `size` holding `objects` (see [`World::versioned`]).
    pub fn new(size: WorldSize, objects: impl IntoIterator<Item = SpaceObject>) -> World {
        World {
            size,
            objects: objects.into_iter().map(|o| (o.id, o)).collect(),
            history: None,
        }
    }

    /// A world that counts versions from `base` and keeps its last `log_capacity` object
    /// changes, for deltas.
    pub fn versioned(
        size: WorldSize,
        objects: impl IntoIterator<Item = SpaceObject>,
        base: Version,
        log_capacity: usize,
    ) -> World {
        World {
            history: Some(WorldHistory::new(base, log_capacity)),
            ..World::new(size, objects)
        }
    }

    /// The world's dimensions.
    pub fn size(&self) -> WorldSize {
        self.size
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when the world holds no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// One object by id.
    pub fn get(&self, id: ObjectId) -> Option<&SpaceObject> {
        self.objects.get(&id)
    }

    /// All objects in id order.
    pub fn objects(&self) -> impl Iterator<Item = &SpaceObject> {
        self.objects.values()
    }

    /// The current version (0 for an unversioned world).
    pub fn version(&self) -> Version {
        self.history.as_ref().map_or(0, WorldHistory::version)
    }

    /// What changed after version `since`; `None` when that is unknown here (older than
    /// the log, newer than the world, or an unversioned world).
    pub fn changes_since(&self, since: Version) -> Option<Delta> {
        self.history.as_ref()?.since(since)
    }

    /// An O(1) immutable copy of the objects at the current version.
    pub fn snapshot(&self) -> WorldSnapshot {
        WorldSnapshot {
            size: self.size,
            version: self.version(),
            objects: self.objects.clone(),
        }
    }

    /// Adds or replaces an object (one commit).
    pub fn insert(&mut self, object: SpaceObject) {
        self.objects.insert(object.id, object);
        self.record(vec![ObjectChange::Upsert(object)]);
    }

    /// Every object with its position advanced to `now_ms`.
    pub fn snapshot_at(&self, now_ms: i64) -> Vec<SpaceObject> {
        self.snapshot().at(now_ms)
    }

    /// The objects a unit of work may touch, copied into a transaction.
    pub fn begin(&self, ids: &[ObjectId]) -> WorldTx {
        WorldTx::new(
            self.size,
            ids.iter().filter_map(|id| self.get(*id).copied()),
        )
    }

    /// Applies a committed transaction's changes (after ids were given to spawned objects)
    /// as one commit.
    pub fn apply(&mut self, changes: &WorldChanges, spawned: &[SpaceObject]) {
        let mut logged =
            Vec::with_capacity(changes.removed.len() + changes.updated.len() + spawned.len());
        for id in &changes.removed {
            if self.objects.remove(id).is_some() {
                logged.push(ObjectChange::Remove(*id));
            }
        }
        for object in changes.updated.iter().chain(spawned) {
            self.objects.insert(object.id, *object);
            logged.push(ObjectChange::Upsert(*object));
        }
        self.record(logged);
    }

    fn record(&mut self, changes: Vec<ObjectChange>) {
        if let Some(history) = &mut self.history {
            history.record(changes);
        }
    }
}

/// A unit of work's view of the objects it loaded: read, change, remove, spawn.
///
/// The repository fills it, runs the rule, then turns [`WorldTx::into_changes`] into
/// writes (and dirty marks). Ids of spawned objects are chosen by the repository.
#[derive(Debug, Clone)]
pub struct WorldTx {
    size: WorldSize,
    original: BTreeMap<ObjectId, SpaceObject>,
    current: BTreeMap<ObjectId, SpaceObject>,
    spawned: Vec<ObjectState>,
}

/// What a [`WorldTx`] changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorldChanges {
    /// Loaded objects whose state changed.
    pub updated: Vec<SpaceObject>,
    /// Loaded objects that were removed.
    pub removed: Vec<ObjectId>,
    /// New objects, without ids yet.
    pub spawned: Vec<ObjectState>,
}

impl WorldChanges {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.updated.is_empty() && self.removed.is_empty() && self.spawned.is_empty()
    }
}

impl WorldTx {
    /// A transaction over `loaded` objects of a world of `size`.
    pub fn new(size: WorldSize, loaded: impl IntoIterator<Item = SpaceObject>) -> WorldTx {
        let original: BTreeMap<_, _> = loaded.into_iter().map(|o| (o.id, o)).collect();
        WorldTx {
            size,
            current: original.clone(),
            original,
            spawned: Vec::new(),
        }
    }

    /// The world's dimensions.
    pub fn size(&self) -> WorldSize {
        self.size
    }

    /// A loaded object, unless removed.
    pub fn get(&self, id: ObjectId) -> Option<&SpaceObject> {
        self.current.get(&id)
    }

    /// A loaded object to change.
    pub fn get_mut(&mut self, id: ObjectId) -> Option<&mut SpaceObject> {
        self.current.get_mut(&id)
    }

    /// Removes a loaded object.
    pub fn remove(&mut self, id: ObjectId) -> Option<SpaceObject> {
        self.current.remove(&id)
    }

    /// Adds a new object; the repository gives it an id on commit.
    pub fn spawn(&mut self, state: ObjectState) {
        self.spawned.push(state);
    }

    /// The net changes against what was loaded.
    pub fn into_changes(self) -> WorldChanges {
        let removed: BTreeSet<ObjectId> = self
            .original
            .keys()
            .filter(|id| !self.current.contains_key(id))
            .copied()
            .collect();
        let updated = self
            .current
            .values()
            .filter(|o| self.original.get(&o.id) != Some(*o))
            .copied()
            .collect();
        WorldChanges {
            updated,
            removed: removed.into_iter().collect(),
            spawned: self.spawned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space_object::ObjectKind;
    use crate::space_object::fixtures::asteroid;

    fn object(id: ObjectId, x: f64) -> SpaceObject {
        asteroid(id, x, 0.0)
    }

    #[test]
    fn a_transaction_reports_only_net_changes() {
        let world = World::new(
            WorldSize::DEFAULT,
            [object(1, 1.0), object(2, 2.0), object(3, 3.0)],
        );
        let mut tx = world.begin(&[1, 2, 3, 99]);
        assert!(tx.get(99).is_none());
        tx.get_mut(1).unwrap().x = 10.0;
        tx.get_mut(3).unwrap().x = 3.0; // same value: not a change
        tx.remove(2);
        tx.spawn(ObjectState {
            kind: ObjectKind::EscapePod,
            x: 5.0,
            y: 5.0,
            speed: 1.0,
            angle: 0.0,
            last_position_update_ms: 0,
        });
        let changes = tx.into_changes();
        assert_eq!(changes.updated, vec![object(1, 10.0)]);
        assert_eq!(changes.removed, vec![2]);
        assert_eq!(changes.spawned.len(), 1);

        let mut world = world;
        let spawned = [changes.spawned[0].with_id(4)];
        world.apply(&changes, &spawned);
        assert_eq!(
            world.objects().map(|o| o.id).collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!(world.get(1).unwrap().x, 10.0);
    }

    #[test]
    fn a_snapshot_shows_the_objects_and_version_it_was_taken_at() {
        let size = WorldSize {
            width: 300.0,
            height: 200.0,
        };
        let moving = SpaceObject {
            speed: 60.0, // 50 units per second
            ..object(2, 10.0)
        };
        let mut world = World::versioned(size, [object(1, 1.0), moving], 40, 10);
        assert_eq!(
            (world.size(), world.len(), world.is_empty()),
            (size, 2, false)
        );
        let before = world.snapshot();
        world.insert(object(3, 3.0));
        assert_eq!(world.version(), 41);
        // The earlier snapshot is unchanged by the later insert.
        assert_eq!(
            (before.version(), before.len(), before.is_empty()),
            (40, 2, false)
        );
        assert_eq!(before.size(), size);
        assert_eq!(before.get(2), Some(&moving));
        assert_eq!(
            before
                .at(1_000)
                .iter()
                .map(|o| (o.id, o.x))
                .collect::<Vec<_>>(),
            vec![(1, 1.0), (2, 60.0)]
        );
        assert_eq!(world.snapshot_at(1_000).len(), 3);
        assert!(World::new(size, []).snapshot().is_empty() && World::new(size, []).is_empty());
        assert_eq!(world.begin(&[1]).size(), size);
    }

    #[test]
    fn a_change_set_is_empty_only_without_updates_removals_and_spawns() {
        let none = WorldChanges::default();
        assert!(none.is_empty());
        let updated = WorldChanges {
            updated: vec![object(1, 1.0)],
            ..WorldChanges::default()
        };
        let removed = WorldChanges {
            removed: vec![1],
            ..WorldChanges::default()
        };
        let spawned = WorldChanges {
            spawned: vec![ObjectState {
                kind: ObjectKind::Asteroid,
                x: 0.0,
                y: 0.0,
                speed: 0.0,
                angle: 0.0,
                last_position_update_ms: 0,
            }],
            ..WorldChanges::default()
        };
        for changes in [updated, removed, spawned] {
            assert!(!changes.is_empty(), "{changes:?}");
        }
    }
}
