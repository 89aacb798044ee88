//! Property: routing by cell changes nothing a subscriber is told. Several area
//! subscribers follow ships in a world where objects steer, leave and appear; the
//! hub's events must be exactly those of the reference, the per-subscriber rule run over
//! every change and every area at every tick (the design before fan-out by cell): the
//! same enters and leaves when a ship crosses cells, the same changes, and nothing at
//! all for an area that saw nothing.

use std::sync::Arc;
use std::time::Duration;

use game_cache::fanout::Before;
use game_cache::fanout::{
    AreaEvent, BatchChanges, Encoded, Event, FanoutHub, Follow, HubLimits, SharedBatch,
};
use game_domain::geometry::WorldSize;
use game_domain::interest::{Interest, SpatialGrid, margin, max_speed};
use game_domain::space_object::{ObjectId, ObjectKind, ObjectState, SpaceObject};
use game_domain::world::{World, WorldSnapshot};
use game_domain::world_history::Delta;
use proptest::prelude::*;
use tokio::sync::mpsc;

const SIZE: WorldSize = WorldSize {
    width: 2_000.0,
    height: 1_200.0,
};
const TICK_MS: i64 = 250;
/// Ships 1 to 4 have subscribers.
const SHIPS: [ObjectId; 4] = [1, 2, 3, 4];
const RADII: [f64; 4] = [150.0, 300.0, 80.0, 500.0];
const FASTEST: f64 = 100.0;

#[derive(Debug, Clone)]
enum Step {
    /// Time passes (less than a tick; ticks that fall within it happen on time).
    Wait(i64),
    /// An object takes a new course (from where it is now).
    Steer(usize, f64, f64),
    /// An object leaves and a new one appears.
    Replace(usize, f64, f64, f64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1i64..TICK_MS).prop_map(Step::Wait),
        3 => (any::<usize>(), 0.0..FASTEST, 0.0..360.0f64).prop_map(|(i, s, a)| Step::Steer(i, s, a)),
        1 => (any::<usize>(), 0.0..2_000.0f64, 0.0..1_200.0f64, 0.0..FASTEST)
            .prop_map(|(i, x, y, s)| Step::Replace(i, x, y, s)),
    ]
}

fn object(id: ObjectId, (x, y, speed, angle): (f64, f64, f64, f64)) -> SpaceObject {
    SpaceObject {
        id,
        kind: if SHIPS.contains(&id) {
            ObjectKind::PlayerShip
        } else {
            ObjectKind::Asteroid
        },
        x,
        y,
        speed,
        angle,
        last_position_update_ms: 0,
    }
}

/// The design before cells: every subscriber filters every change; every area is
/// refreshed at every tick.
struct Reference {
    interests: Vec<Interest>,
    speed: f64,
}

impl Reference {
    fn margin(&self) -> f64 {
        margin(self.speed, TICK_MS)
    }

    fn center(world: &WorldSnapshot, ship: ObjectId, now: i64) -> (f64, f64) {
        world.get(ship).expect("ships stay").position_at(now, SIZE)
    }

    fn batch(&mut self, changes: &Delta, world: &WorldSnapshot, now: i64) -> Vec<Delta> {
        self.speed = self.speed.max(max_speed(&changes.upserted));
        let margin = self.margin();
        SHIPS
            .iter()
            .zip(&mut self.interests)
            .map(|(ship, interest)| {
                interest.filter(changes, SIZE, Self::center(world, *ship, now), margin, now)
            })
            .collect()
    }

    fn refresh(&mut self, world: &WorldSnapshot, now: i64) -> Vec<Delta> {
        self.speed = self.speed.max(max_speed(world.objects()));
        let margin = self.margin();
        let grid = SpatialGrid::build(world.objects(), SIZE, 128.0, now);
        SHIPS
            .iter()
            .zip(&mut self.interests)
            .map(|(ship, interest)| {
                interest.refresh(&grid, world, Self::center(world, *ship, now), margin)
            })
            .collect()
    }
}

/// What an area event says, as a delta (a snapshot as everything upserted).
fn as_delta(event: Event) -> Delta {
    match event {
        Event::Area(AreaEvent::Delta(delta)) => Delta {
            upserted: delta.upserted.into_iter().map(|e| e.object).collect(),
            removed: delta.removed,
        },
        Event::Area(AreaEvent::Snapshot(snapshot)) => Delta {
            upserted: snapshot.objects,
            removed: vec![],
        },
        other => panic!("not an area event: {other:?}"),
    }
}

fn drain(queue: &mut mpsc::Receiver<Event>) -> Vec<Delta> {
    let mut out = Vec::new();
    while let Ok(event) = queue.try_recv() {
        out.push(as_delta(event));
    }
    out
}

/// The hub's events for every subscriber equal the reference's non-empty deltas.
fn same(
    queues: &mut [mpsc::Receiver<Event>],
    expected: Vec<Delta>,
    what: &str,
) -> Result<(), TestCaseError> {
    for (i, (queue, expected)) in queues.iter_mut().zip(expected).enumerate() {
        let got = drain(queue);
        let expected: Vec<Delta> = Some(expected)
            .filter(|d| !d.is_empty())
            .into_iter()
            .collect();
        prop_assert_eq!(got, expected, "subscriber {} at {}", i, what);
    }
    Ok(())
}

struct Harness {
    world: World,
    hub: FanoutHub,
    reference: Reference,
    queues: Vec<mpsc::Receiver<Event>>,
    version: u64,
    before: (WorldSnapshot, i64),
}

impl Harness {
    fn tick(&mut self, now: i64) -> Result<(), TestCaseError> {
        let world = self.world.snapshot();
        let grid = SpatialGrid::build(world.objects(), SIZE, 128.0, now);
        self.hub.refresh(&grid, &world, now);
        let expected = self.reference.refresh(&world, now);
        self.before = (world, now);
        same(&mut self.queues, expected, &format!("the tick at {now}"))
    }

    fn commit(&mut self, now: i64) -> Result<(), TestCaseError> {
        let changes = self.world.changes_since(self.version).expect("in the log");
        let world = self.world.snapshot();
        let batch = Arc::new(SharedBatch::new(
            self.version,
            world.version(),
            now,
            SIZE,
            BatchChanges::Delta {
                upserted: changes.upserted.iter().copied().map(Encoded::new).collect(),
                removed: changes.removed.clone(),
            },
        ));
        self.version = world.version();
        let faster = self.hub.outpaces(&batch);
        let before = Before {
            world: &self.before.0,
            at_ms: self.before.1,
        };
        self.hub.broadcast(&batch, &world, now, Some(before));
        let expected = self.reference.batch(&changes, &world, now);
        self.before = (world, now);
        same(&mut self.queues, expected, &format!("the batch at {now}"))?;
        if faster {
            // As the feeder does: the margin widened, every area is refreshed at once.
            self.tick(now)?;
        }
        Ok(())
    }

    fn change(&mut self, i: usize, now: i64, change: impl FnOnce(&mut SpaceObject)) {
        let ids: Vec<ObjectId> = self.world.objects().map(|o| o.id).collect();
        let id = ids[i % ids.len()];
        let mut tx = self.world.begin(&[id]);
        if let Some(o) = tx.get_mut(id) {
            *o = o.at(now, SIZE);
            change(o);
        }
        self.world.apply(&tx.into_changes(), &[]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn routing_by_cell_tells_every_subscriber_exactly_what_the_reference_does(
        objects in prop::collection::vec(
            (0.0..2_000.0f64, 0.0..1_200.0f64, 0.0..FASTEST, 0.0..360.0f64), 6..50),
        steps in prop::collection::vec(step(), 1..100),
    ) {
        let world = World::versioned(
            SIZE,
            objects.iter().enumerate().map(|(i, o)| object(i as ObjectId + 1, *o)),
            0,
            10_000,
        );
        let hub = FanoutHub::new(
            HubLimits { max_streams: 10, buffer: 1_000 },
            Duration::from_millis(TICK_MS as u64),
        );
        let snapshot = world.snapshot();
        let mut reference = Reference {
            interests: RADII.iter().map(|r| Interest::new(*r)).collect(),
            speed: max_speed(snapshot.objects()),
        };
        let mut queues = Vec::new();
        for (ship, radius) in SHIPS.iter().zip(RADII) {
            let subscription = hub
                .subscribe("s".into(), i64::MAX, Follow::Area { ship: *ship, radius })
                .expect("room");
            prop_assert!(hub.open_area(subscription.id, &snapshot, 0));
            queues.push(subscription.events);
        }
        // The openings: each a snapshot of what the reference's area holds.
        let grid = SpatialGrid::build(snapshot.objects(), SIZE, 128.0, 0);
        let margin = reference.margin();
        for ((queue, interest), ship) in queues.iter_mut().zip(&mut reference.interests).zip(SHIPS) {
            let center = Reference::center(&snapshot, ship, 0);
            let expected = interest.snapshot(&grid, &snapshot, center, margin);
            prop_assert_eq!(drain(queue), vec![Delta { upserted: expected, removed: vec![] }]);
        }
        let mut harness = Harness {
            version: snapshot.version(),
            before: (snapshot, 0),
            world,
            hub,
            reference,
            queues,
        };
        harness.tick(0)?;
        let mut now = 0;
        let mut next_tick = TICK_MS;
        let mut next_id = 10_000;
        for step in steps {
            match step {
                Step::Wait(ms) => {
                    while next_tick <= now + ms {
                        harness.tick(next_tick)?;
                        next_tick += TICK_MS;
                    }
                    now += ms;
                }
                Step::Steer(i, speed, angle) => {
                    harness.change(i, now, |o| {
                        o.speed = speed;
                        o.angle = angle;
                    });
                    harness.commit(now)?;
                }
                Step::Replace(i, x, y, speed) => {
                    let ids: Vec<ObjectId> = harness
                        .world
                        .objects()
                        .filter(|o| !SHIPS.contains(&o.id))
                        .map(|o| o.id)
                        .collect();
                    if ids.is_empty() {
                        continue;
                    }
                    let id = ids[i % ids.len()];
                    let mut tx = harness.world.begin(&[id]);
                    tx.remove(id);
                    tx.spawn(ObjectState {
                        kind: ObjectKind::Shipwreck,
                        x,
                        y,
                        speed,
                        angle: 45.0,
                        last_position_update_ms: now,
                    });
                    let changes = tx.into_changes();
                    next_id += 1;
                    let spawned = [changes.spawned[0].with_id(next_id)];
                    harness.world.apply(&changes, &spawned);
                    harness.commit(now)?;
                }
            }
        }
    }
}
