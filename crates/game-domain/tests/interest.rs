//! Property: a subscriber that applies what interest management sends it (area snapshots
//! and refreshes on a tick, filtered changes as they commit) knows, at every moment
//! between two ticks, exactly the server's objects within its radius, with their current
//! stored states (so equal positions), whatever the objects and its own ship do.

use std::collections::BTreeMap;

use game_domain::geometry::WorldSize;
use game_domain::interest::{Interest, SpatialGrid, margin, max_speed};
use game_domain::space_object::{ObjectId, ObjectKind, ObjectState, SpaceObject};
use game_domain::world::World;
use game_domain::world_history::Delta;
use proptest::prelude::*;

const SIZE: WorldSize = WorldSize {
    width: 2_000.0,
    height: 1_200.0,
};
const TICK_MS: i64 = 250;
const RADIUS: f64 = 300.0;
const SHIP: ObjectId = 1;
/// Fastest speed a step may set (units per minute): about 83 units per second.
const FASTEST: f64 = 100.0;

#[derive(Debug, Clone)]
enum Step {
    /// Time passes (less than a tick), then the subscriber's view is checked.
    Wait(i64),
    /// An object (index mod count; 0 is the subscriber's ship) takes a new course.
    Steer(usize, f64, f64),
    /// An object leaves and a new one appears.
    Replace(usize, f64, f64, f64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1i64..TICK_MS).prop_map(Step::Wait),
        2 => (any::<usize>(), 0.0..FASTEST, 0.0..360.0f64).prop_map(|(i, s, a)| Step::Steer(i, s, a)),
        1 => (any::<usize>(), 0.0..2_000.0f64, 0.0..1_200.0f64, 0.0..FASTEST)
            .prop_map(|(i, x, y, s)| Step::Replace(i, x, y, s)),
    ]
}

fn object(id: ObjectId, (x, y, speed, angle): (f64, f64, f64, f64)) -> SpaceObject {
    SpaceObject {
        id,
        kind: if id == SHIP {
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

/// The server side for one subscriber: world, interest, the last version passed on.
struct Server {
    world: World,
    interest: Interest,
    version: u64,
    next_tick: i64,
    /// The speed the current margin was computed for.
    margin_speed: f64,
}

impl Server {
    fn center(&self, now: i64) -> (f64, f64) {
        let ship = self.world.get(SHIP).expect("the subscriber's ship stays");
        ship.position_at(now, SIZE)
    }

    fn margin(&self) -> f64 {
        margin(self.margin_speed, TICK_MS)
    }

    /// A tick: refresh the area at `now` with a margin for the fastest object now.
    fn refresh(&mut self, now: i64) -> Delta {
        let snapshot = self.world.snapshot();
        self.margin_speed = max_speed(snapshot.objects());
        let grid = SpatialGrid::build(snapshot.objects(), SIZE, 100.0, now);
        let center = self.center(now);
        let margin = self.margin();
        self.next_tick = now + TICK_MS;
        self.interest.refresh(&grid, &snapshot, center, margin)
    }

    /// After a commit at `now`: the subscriber's share of it. A change that makes
    /// something faster than the margin allows refreshes the area at once (the margin
    /// already covers any course of the subscriber's own ship up to that speed).
    fn commit(&mut self, now: i64) -> Delta {
        let changes = self.world.changes_since(self.version).expect("in the log");
        self.version = self.world.version();
        let center = self.center(now);
        let margin = self.margin();
        let mut sent = self.interest.filter(&changes, SIZE, center, margin, now);
        if max_speed(&changes.upserted) > self.margin_speed {
            let refresh = self.refresh(now);
            sent.removed.extend(refresh.removed);
            sent.upserted.extend(refresh.upserted);
        }
        sent
    }
}

fn apply(client: &mut BTreeMap<ObjectId, SpaceObject>, delta: Delta) {
    for id in delta.removed {
        client.remove(&id);
    }
    for object in delta.upserted {
        client.insert(object.id, object);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn a_subscriber_knows_exactly_what_is_within_its_radius(
        objects in prop::collection::vec(
            (0.0..2_000.0f64, 0.0..1_200.0f64, 0.0..FASTEST, 0.0..360.0f64), 2..60),
        steps in prop::collection::vec(step(), 1..120),
    ) {
        let world = World::versioned(
            SIZE,
            objects.iter().enumerate().map(|(i, o)| object(i as ObjectId + 1, *o)),
            0,
            10_000,
        );
        let mut server = Server {
            version: world.version(),
            world,
            interest: Interest::new(RADIUS),
            next_tick: 0,
            margin_speed: 0.0,
        };
        let mut client = BTreeMap::new();
        // The stream's opening: the area as a snapshot.
        let snapshot = server.world.snapshot();
        server.margin_speed = max_speed(snapshot.objects());
        let grid = SpatialGrid::build(snapshot.objects(), SIZE, 100.0, 0);
        let (center, margin) = (server.center(0), server.margin());
        for o in server.interest.snapshot(&grid, &snapshot, center, margin) {
            client.insert(o.id, o);
        }
        server.next_tick = TICK_MS;
        let mut now = 0;
        let mut next_id = 10_000;
        for step in steps {
            match step {
                Step::Wait(ms) => {
                    // Ticks that fall within the wait happen on time.
                    while server.next_tick <= now + ms {
                        let tick = server.next_tick;
                        apply(&mut client, server.refresh(tick));
                    }
                    now += ms;
                    check(&server, &client, now)?;
                }
                Step::Steer(i, speed, angle) => {
                    let ids: Vec<ObjectId> = server.world.objects().map(|o| o.id).collect();
                    let id = ids[i % ids.len()];
                    let mut tx = server.world.begin(&[id]);
                    if let Some(o) = tx.get_mut(id) {
                        *o = o.at(now, SIZE);
                        o.speed = speed;
                        o.angle = angle;
                    }
                    server.world.apply(&tx.into_changes(), &[]);
                    let sent = server.commit(now);
                    apply(&mut client, sent);
                }
                Step::Replace(i, x, y, speed) => {
                    let ids: Vec<ObjectId> = server.world.objects().filter(|o| o.id != SHIP).map(|o| o.id).collect();
                    if ids.is_empty() { continue; }
                    let id = ids[i % ids.len()];
                    let mut tx = server.world.begin(&[id]);
                    tx.remove(id);
                    tx.spawn(ObjectState { kind: ObjectKind::Shipwreck, x, y, speed, angle: 45.0, last_position_update_ms: now });
                    let changes = tx.into_changes();
                    next_id += 1;
                    let spawned = [changes.spawned[0].with_id(next_id)];
                    server.world.apply(&changes, &spawned);
                    let sent = server.commit(now);
                    apply(&mut client, sent);
                }
            }
        }
    }
}

/// At `now`: every server object within the radius is known with its exact stored state,
/// and every known object within the radius (by its known state) is the server's.
fn check(
    server: &Server,
    client: &BTreeMap<ObjectId, SpaceObject>,
    now: i64,
) -> Result<(), TestCaseError> {
    let center = server.center(now);
    let inside = |o: &SpaceObject| SIZE.distance(center, o.position_at(now, SIZE)) <= RADIUS;
    for object in server.world.objects().filter(|o| inside(o)) {
        prop_assert_eq!(
            client.get(&object.id),
            Some(object),
            "object {} within the radius at {}",
            object.id,
            now
        );
    }
    for object in client.values().filter(|o| inside(o)) {
        prop_assert_eq!(
            server.world.get(object.id),
            Some(object),
            "known object {} at {}",
            object.id,
            now
        );
    }
    Ok(())
}
