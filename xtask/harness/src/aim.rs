//! Choosing a target: the nearest collectable object and the heading towards it.

use game_domain::collect::COLLECT_RANGE;
use game_domain::geometry::{WorldSize, normalize_angle};
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};

use crate::api::WorldReply;

/// Collect only objects closer than this, leaving slack for motion between the world read
/// and the collect (the server measures at its own `now`).
pub const COLLECT_ATTEMPT_RANGE: f64 = COLLECT_RANGE - 5.0;

/// The nearest collectable object to `ship_id` and its toroidal distance, both positions
/// taken at the response's `currentTime`.
pub fn nearest_collectable(world: &WorldReply, ship_id: ObjectId) -> Option<(SpaceObject, f64)> {
    let size = world.world_size;
    let now = world.current_time;
    let ship = world.space_objects.iter().find(|o| o.id == ship_id)?;
    let ship_at = ship.position_at(now, size);
    world
        .space_objects
        .iter()
        .filter(|o| o.kind != ObjectKind::PlayerShip)
        .map(|o| (*o, size.distance(ship_at, o.position_at(now, size))))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Every collectable object within `range` of the ship, nearest first.
pub fn collectables_within(world: &WorldReply, ship_id: ObjectId, range: f64) -> Vec<SpaceObject> {
    let size = world.world_size;
    let now = world.current_time;
    let Some(ship_at) = ship_position(world, ship_id) else {
        return Vec::new();
    };
    let mut near: Vec<(f64, SpaceObject)> = world
        .space_objects
        .iter()
        .filter(|o| o.kind != ObjectKind::PlayerShip)
        .map(|o| (size.distance(ship_at, o.position_at(now, size)), *o))
        .filter(|(distance, _)| *distance <= range)
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0));
    near.into_iter().map(|(_, o)| o).collect()
}

/// The object to steer towards: of the collectables the ship can catch (escape pods
/// outrun a new ship), the `rank`-th nearest (wrapping), so players spread out instead of
/// all chasing the same one.
pub fn chase_target(world: &WorldReply, ship_id: ObjectId, rank: usize) -> Option<SpaceObject> {
    let size = world.world_size;
    let now = world.current_time;
    let ship_at = ship_position(world, ship_id)?;
    let mut catchable: Vec<(f64, SpaceObject)> = world
        .space_objects
        .iter()
        .filter(|o| matches!(o.kind, ObjectKind::Asteroid | ObjectKind::Shipwreck))
        .map(|o| (size.distance(ship_at, o.position_at(now, size)), *o))
        .collect();
    if catchable.is_empty() {
        return None;
    }
    catchable.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(catchable[rank % catchable.len()].1)
}

/// The ship's position at the response's `currentTime`.
pub fn ship_position(world: &WorldReply, ship_id: ObjectId) -> Option<(f64, f64)> {
    let ship = world.space_objects.iter().find(|o| o.id == ship_id)?;
    Some(ship.position_at(world.current_time, world.world_size))
}

/// Heading in degrees `[0, 360)` from `from` to `to` along the shortest wrapped path
/// (angle 0 is +x, 90 is +y, as in the motion formula).
pub fn heading(size: WorldSize, from: (f64, f64), to: (f64, f64)) -> f64 {
    let dx = shortest_delta(to.0 - from.0, size.width);
    let dy = shortest_delta(to.1 - from.1, size.height);
    normalize_angle(dy.atan2(dx).to_degrees())
}

fn shortest_delta(d: f64, extent: f64) -> f64 {
    let d = d % extent;
    if d > extent / 2.0 {
        d - extent
    } else if d < -extent / 2.0 {
        d + extent
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: ObjectId, kind: ObjectKind, x: f64, y: f64) -> SpaceObject {
        SpaceObject {
            id,
            kind,
            x,
            y,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: 1_000,
        }
    }

    #[test]
    fn nearest_uses_the_wrapped_distance_and_skips_ships() {
        let world = WorldReply {
            world_size: WorldSize::DEFAULT,
            space_objects: vec![
                object(1, ObjectKind::PlayerShip, 5.0, 250.0),
                object(2, ObjectKind::PlayerShip, 6.0, 250.0),
                object(3, ObjectKind::Asteroid, 100.0, 250.0),
                object(4, ObjectKind::Shipwreck, 480.0, 250.0),
            ],
            current_time: 1_000,
        };
        let (target, distance) = nearest_collectable(&world, 1).expect("a target");
        assert_eq!((target.id, distance), (4, 25.0));
        assert!(nearest_collectable(&world, 99).is_none());
        let near: Vec<_> = collectables_within(&world, 1, 100.0)
            .iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(near, vec![4, 3]);
        assert!(collectables_within(&world, 1, 50.0).len() == 1);
        let chase = |rank| chase_target(&world, 1, rank).map(|o| o.id);
        assert_eq!((chase(0), chase(1), chase(2)), (Some(4), Some(3), Some(4)));
    }

    #[test]
    fn heading_goes_the_short_way_round() {
        let size = WorldSize::DEFAULT;
        assert_eq!(heading(size, (10.0, 10.0), (20.0, 10.0)), 0.0);
        assert_eq!(heading(size, (10.0, 10.0), (490.0, 10.0)), 180.0);
        assert_eq!(heading(size, (10.0, 10.0), (10.0, 490.0)), 270.0);
        assert_eq!(heading(size, (10.0, 490.0), (10.0, 10.0)), 90.0);
    }
}
