//! The demo world an empty database starts with.

use crate::accounts::NewUser;
use crate::space_object::{ObjectKind, ObjectState};

/// The demo player's name and password.
pub const DEMO_USERNAME: &str = "a";
/// The demo player's password (it is a demo).
pub const DEMO_PASSWORD: &str = "a";
/// The demo player's starting iron.
pub const DEMO_IRON: f64 = 1000.0;

/// The nine drifting objects of a new world, as (kind, x, y, speed, angle).
const DEMO_OBJECTS: [(ObjectKind, f64, f64, f64, f64); 9] = [
    (ObjectKind::Asteroid, 100.0, 150.0, 10.0, 0.0),
    (ObjectKind::Asteroid, 400.0, 300.0, 15.0, 45.0),
    (ObjectKind::Asteroid, 350.0, 100.0, 20.0, 77.0),
    (ObjectKind::Asteroid, 150.0, 400.0, 10.0, 173.0),
    (ObjectKind::Asteroid, 450.0, 450.0, 13.0, 283.0),
    (ObjectKind::Shipwreck, 200.0, 350.0, 8.0, 123.0),
    (ObjectKind::Shipwreck, 350.0, 200.0, 23.0, 211.0),
    (ObjectKind::EscapePod, 100.0, 300.0, 30.0, 115.0),
    (ObjectKind::EscapePod, 400.0, 150.0, 45.0, 95.0),
];

/// The nine demo objects, placed at `now_ms`.
pub fn demo_objects(now_ms: i64) -> Vec<ObjectState> {
    DEMO_OBJECTS
        .iter()
        .map(|&(kind, x, y, speed, angle)| ObjectState {
            kind,
            x,
            y,
            speed,
            angle,
            last_position_update_ms: now_ms,
        })
        .collect()
}

/// The demo user `a`, created with `password_hash` (a hash of [`DEMO_PASSWORD`]).
pub fn demo_user(password_hash: String, now_ms: i64) -> NewUser {
    NewUser::with_iron(DEMO_USERNAME.to_owned(), password_hash, DEMO_IRON, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_world_has_five_asteroids_two_wrecks_two_pods() {
        let objects = demo_objects(7);
        let count = |kind| objects.iter().filter(|o| o.kind == kind).count();
        assert_eq!(
            [
                count(ObjectKind::Asteroid),
                count(ObjectKind::Shipwreck),
                count(ObjectKind::EscapePod)
            ],
            [5, 2, 2]
        );
        assert_eq!(
            objects[1],
            ObjectState {
                kind: ObjectKind::Asteroid,
                x: 400.0,
                y: 300.0,
                speed: 15.0,
                angle: 45.0,
                last_position_update_ms: 7
            }
        );
        let demo = demo_user("h".into(), 2_000);
        assert_eq!(
            (demo.username.as_str(), demo.iron, demo.last_updated),
            ("a", 1000.0, 2)
        );
    }
}
