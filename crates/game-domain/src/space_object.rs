//! Space objects and their analytic motion.

use serde::{Deserialize, Serialize};

use crate::geometry::{WorldSize, wrap};

/// Identifier of a space object.
pub type ObjectId = i64;

/// The game's speed factor: units moved per minute of game time per unit of speed.
pub const SPEED_FACTOR: f64 = 50.0;

/// What a space object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A player's ship; never collectable.
    PlayerShip,
    /// Worth 50–250 iron.
    Asteroid,
    /// Worth 50–1000 iron.
    Shipwreck,
    /// Worth nothing, but collectable.
    EscapePod,
}

impl ObjectKind {
    /// The wire name (`player_ship`, `asteroid`, …), also used as the database value.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::PlayerShip => "player_ship",
            ObjectKind::Asteroid => "asteroid",
            ObjectKind::Shipwreck => "shipwreck",
            ObjectKind::EscapePod => "escape_pod",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<ObjectKind> {
        [
            ObjectKind::PlayerShip,
            ObjectKind::Asteroid,
            ObjectKind::Shipwreck,
            ObjectKind::EscapePod,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

/// The motion state of an object without its id (what a spawn produces).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObjectState {
    /// What the object is.
    #[serde(rename = "type")]
    pub kind: ObjectKind,
    /// x at `last_position_update_ms`.
    pub x: f64,
    /// y at `last_position_update_ms`.
    pub y: f64,
    /// Units per minute (before the speed factor).
    pub speed: f64,
    /// Heading in degrees, `0 ≤ angle < 360`.
    pub angle: f64,
    /// Unix milliseconds at which `x`, `y` were exact.
    pub last_position_update_ms: i64,
}

/// A space object as stored and as sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpaceObject {
    /// Unique id.
    pub id: ObjectId,
    /// What the object is.
    #[serde(rename = "type")]
    pub kind: ObjectKind,
    /// x at `last_position_update_ms`.
    pub x: f64,
    /// y at `last_position_update_ms`.
    pub y: f64,
    /// Units per minute (before the speed factor).
    pub speed: f64,
    /// Heading in degrees, `0 ≤ angle < 360`.
    pub angle: f64,
    /// Unix milliseconds at which `x`, `y` were exact.
    pub last_position_update_ms: i64,
}

impl ObjectState {
    /// Gives the state an id.
    pub fn with_id(self, id: ObjectId) -> SpaceObject {
        SpaceObject {
            id,
            kind: self.kind,
            x: self.x,
            y: self.y,
            speed: self.speed,
            angle: self.angle,
            last_position_update_ms: self.last_position_update_ms,
        }
    }
}

impl SpaceObject {
    /// Position at `now_ms`, computed from the stored motion state.
    pub fn position_at(&self, now_ms: i64, size: WorldSize) -> (f64, f64) {
        let dt = (now_ms - self.last_position_update_ms) as f64;
        let radians = self.angle.to_radians();
        let distance = self.speed * dt / 60_000.0 * SPEED_FACTOR;
        (
            wrap(self.x + radians.cos() * distance, size.width),
            wrap(self.y + radians.sin() * distance, size.height),
        )
    }

    /// The same object with its position advanced to `now_ms` (motion unchanged).
    pub fn at(&self, now_ms: i64, size: WorldSize) -> SpaceObject {
        let (x, y) = self.position_at(now_ms, size);
        SpaceObject {
            x,
            y,
            last_position_update_ms: now_ms,
            ..*self
        }
    }
}

/// Fixtures shared by the crate's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A still asteroid at `(x, y)`, stored at time 0.
    pub(crate) fn asteroid(id: ObjectId, x: f64, y: f64) -> SpaceObject {
        SpaceObject {
            id,
            kind: ObjectKind::Asteroid,
            x,
            y,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: WorldSize = WorldSize::DEFAULT;

    fn moving(x: f64, y: f64, speed: f64, angle: f64) -> SpaceObject {
        SpaceObject {
            id: 1,
            kind: ObjectKind::Asteroid,
            x,
            y,
            speed,
            angle,
            last_position_update_ms: 0,
        }
    }

    fn assert_close(actual: (f64, f64), expected: (f64, f64)) {
        assert!(
            (actual.0 - expected.0).abs() < 1e-9 && (actual.1 - expected.1).abs() < 1e-9,
            "{actual:?} != {expected:?}"
        );
    }

    #[test]
    fn moves_by_speed_times_factor_per_minute() {
        // 10 units/min for 1 minute, times the factor 50, heading east: +500 wraps to the start.
        assert_close(
            moving(100.0, 150.0, 10.0, 0.0).position_at(60_000, SIZE),
            (100.0, 150.0),
        );
        // 6 seconds: 10 · 0.1 · 50 = 50 units.
        assert_close(
            moving(100.0, 150.0, 10.0, 0.0).position_at(6_000, SIZE),
            (150.0, 150.0),
        );
    }

    #[test]
    fn wraps_across_each_edge() {
        // 1.2 s at speed 10 is 10 units.
        let east = moving(495.0, 100.0, 10.0, 0.0).position_at(1_200, SIZE);
        assert_close(east, (5.0, 100.0));
        let west = moving(5.0, 100.0, 10.0, 180.0).position_at(1_200, SIZE);
        assert_close(west, (495.0, 100.0));
        let south = moving(100.0, 495.0, 10.0, 90.0).position_at(1_200, SIZE);
        assert_close(south, (100.0, 5.0));
        let north = moving(100.0, 5.0, 10.0, 270.0).position_at(1_200, SIZE);
        assert_close(north, (100.0, 495.0));
    }

    #[test]
    fn matches_the_original_server() {
        // As the original (JavaScript) server answered `GET /api/world`: the seed asteroid at
        // (100,150), speed 10, angle 0, shows x = 168.2333… after 8.188 s.
        let position = moving(100.0, 150.0, 10.0, 0.0).position_at(8_188, SIZE);
        assert_close(position, (168.23333333333335, 150.0));
    }

    #[test]
    fn kinds_round_trip_their_wire_names() {
        for name in ["player_ship", "asteroid", "shipwreck", "escape_pod"] {
            assert_eq!(ObjectKind::parse(name).map(ObjectKind::as_str), Some(name));
        }
        assert_eq!(ObjectKind::parse("planet"), None);
    }
}
