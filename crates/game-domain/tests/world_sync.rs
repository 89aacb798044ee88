//! World versions and deltas: each kind of change advances the version once and shows in
//! the delta as stored states and removals; and (property) a client that applies deltas
//! to a snapshot, or takes a full snapshot when told its version is too old, always ends
//! with exactly the world's objects.

use std::collections::BTreeMap;

use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, ObjectKind, ObjectState, SpaceObject};
use game_domain::world::{World, WorldChanges};
use game_domain::world_history::Delta;
use proptest::prelude::*;

const BASE: u64 = 1_800_000_000_000_000;

fn object(id: ObjectId, kind: ObjectKind, x: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind,
        x,
        y: 10.0,
        speed: 5.0,
        angle: 90.0,
        last_position_update_ms: 1_000,
    }
}

#[test]
fn every_kind_of_change_is_one_version_with_its_stored_states() {
    let asteroid = object(2, ObjectKind::Asteroid, 100.0);
    let mut world = World::versioned(WorldSize::DEFAULT, [asteroid], BASE, 100);
    assert_eq!(world.version(), BASE);
    assert_eq!(world.changes_since(BASE), Some(Delta::default()));

    // A new player's ship joins.
    let ship = object(7, ObjectKind::PlayerShip, 250.0);
    world.insert(ship);
    assert_eq!(world.version(), BASE + 1);
    assert_eq!(
        world.changes_since(BASE),
        Some(Delta {
            upserted: vec![ship],
            removed: vec![]
        })
    );

    // Navigate: the ship's stored state changes.
    let mut tx = world.begin(&[7]);
    let steered = {
        let ship = tx.get_mut(7).expect("ship");
        ship.speed = 20.0;
        ship.angle = 45.0;
        ship.last_position_update_ms = 2_000;
        *ship
    };
    world.apply(&tx.into_changes(), &[]);
    assert_eq!(world.version(), BASE + 2);
    assert_eq!(
        world.changes_since(BASE + 1),
        Some(Delta {
            upserted: vec![steered],
            removed: vec![]
        })
    );

    // Collect: one object leaves, a new one spawns; one commit.
    let mut tx = world.begin(&[2, 7]);
    tx.remove(2);
    let spawn = ObjectState {
        kind: ObjectKind::Shipwreck,
        x: 1.0,
        y: 2.0,
        speed: 10.0,
        angle: 3.0,
        last_position_update_ms: 3_000,
    };
    tx.spawn(spawn);
    let changes = tx.into_changes();
    world.apply(&changes, &[spawn.with_id(11)]);
    assert_eq!(world.version(), BASE + 3);
    assert_eq!(
        world.changes_since(BASE + 2),
        Some(Delta {
            upserted: vec![spawn.with_id(11)],
            removed: vec![2]
        })
    );
    // From the start: the latest state of each, the removal of one that existed then.
    assert_eq!(
        world.changes_since(BASE),
        Some(Delta {
            upserted: vec![steered, spawn.with_id(11)],
            removed: vec![2]
        })
    );
    // A commit that changes nothing is no version.
    world.apply(&WorldChanges::default(), &[]);
    assert_eq!(world.version(), BASE + 3);
    // Unknown versions: from the future, or before the base.
    assert_eq!(world.changes_since(BASE + 4), None);
    assert_eq!(world.changes_since(BASE - 1), None);
    // The snapshot shows this version's objects.
    let snapshot = world.snapshot();
    assert_eq!(snapshot.version(), BASE + 3);
    assert_eq!(
        snapshot.objects().copied().collect::<Vec<_>>(),
        vec![steered, spawn.with_id(11)]
    );
}

#[test]
fn an_unversioned_world_always_answers_with_a_full_snapshot() {
    let world = World::new(WorldSize::DEFAULT, [object(1, ObjectKind::Asteroid, 1.0)]);
    assert_eq!(world.version(), 0);
    assert_eq!(world.changes_since(0), None);
}

/// One step of the property test.
#[derive(Debug, Clone)]
enum Step {
    /// A ship joins.
    Insert(f64),
    /// The object at this index (mod len) moves.
    Update(usize, f64),
    /// The object at this index (mod len) is collected and one spawns.
    Collect(usize, f64),
    /// The client asks for what changed since its version.
    Sync,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0.0..500.0f64).prop_map(Step::Insert),
        (any::<usize>(), 0.0..500.0f64).prop_map(|(i, x)| Step::Update(i, x)),
        (any::<usize>(), 0.0..500.0f64).prop_map(|(i, x)| Step::Collect(i, x)),
        Just(Step::Sync),
    ]
}

/// A client's copy of the world: a snapshot, then deltas.
struct Client {
    version: u64,
    objects: BTreeMap<ObjectId, SpaceObject>,
}

impl Client {
    fn full(world: &World) -> Client {
        let snapshot = world.snapshot();
        Client {
            version: snapshot.version(),
            objects: snapshot.objects().map(|o| (o.id, *o)).collect(),
        }
    }

    fn sync(&mut self, world: &World) {
        match world.changes_since(self.version) {
            Some(delta) => {
                for id in delta.removed {
                    self.objects.remove(&id);
                }
                for object in delta.upserted {
                    self.objects.insert(object.id, object);
                }
                self.version = world.version();
            }
            None => *self = Client::full(world),
        }
    }
}

proptest! {
    #[test]
    fn deltas_applied_to_a_snapshot_give_the_world(
        steps in prop::collection::vec(step(), 0..80),
        capacity in 1usize..12,
    ) {
        let initial = (1..=5).map(|id| object(id, ObjectKind::Asteroid, id as f64));
        let mut world = World::versioned(WorldSize::DEFAULT, initial, BASE, capacity);
        let mut client = Client::full(&world);
        let mut next_id = 100;
        for step in steps {
            let ids: Vec<ObjectId> = world.objects().map(|o| o.id).collect();
            match step {
                Step::Insert(x) => {
                    next_id += 1;
                    world.insert(object(next_id, ObjectKind::PlayerShip, x));
                }
                Step::Update(i, x) if !ids.is_empty() => {
                    let id = ids[i % ids.len()];
                    let mut tx = world.begin(&[id]);
                    if let Some(o) = tx.get_mut(id) {
                        o.x = x;
                    }
                    world.apply(&tx.into_changes(), &[]);
                }
                Step::Collect(i, x) if !ids.is_empty() => {
                    let id = ids[i % ids.len()];
                    let mut tx = world.begin(&[id]);
                    tx.remove(id);
                    let spawn = object(0, ObjectKind::Asteroid, x);
                    tx.spawn(ObjectState {
                        kind: spawn.kind, x: spawn.x, y: spawn.y, speed: spawn.speed,
                        angle: spawn.angle, last_position_update_ms: spawn.last_position_update_ms,
                    });
                    next_id += 1;
                    let changes = tx.into_changes();
                    let spawned = [changes.spawned[0].with_id(next_id)];
                    world.apply(&changes, &spawned);
                }
                Step::Sync => client.sync(&world),
                _ => {}
            }
        }
        client.sync(&world);
        let expected: BTreeMap<ObjectId, SpaceObject> = world.objects().map(|o| (o.id, *o)).collect();
        prop_assert_eq!(client.version, world.version());
        prop_assert_eq!(client.objects, expected);
    }
}
