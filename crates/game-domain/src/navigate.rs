//! Steering a ship: validation and normalisation of speed and angle.

use crate::error::GameError;
use crate::geometry::{WorldSize, normalize_angle};
use crate::space_object::SpaceObject;
use crate::tech_tree::TechTree;

/// A change of course: at least one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NavigateRequest {
    /// New speed, `0 ≤ speed ≤ max speed`.
    pub speed: Option<f64>,
    /// New heading in degrees (any finite value; normalised).
    pub angle: Option<f64>,
}

/// The course a successful steer set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NavigateOutcome {
    /// Speed now set.
    pub speed: f64,
    /// Angle now set, in `[0, 360)`.
    pub angle: f64,
    /// The ship's max speed.
    pub max_speed: f64,
}

/// Advances `ship` to `now_ms`, then applies the requested speed and angle.
pub fn navigate(
    ship: &mut SpaceObject,
    tech_tree: &TechTree,
    request: NavigateRequest,
    now_ms: i64,
    size: WorldSize,
) -> Result<NavigateOutcome, GameError> {
    if request.speed.is_none() && request.angle.is_none() {
        return Err(GameError::NothingToNavigate);
    }
    let max_speed = tech_tree.max_speed();
    if let Some(speed) = request.speed {
        if !speed.is_finite() || speed < 0.0 {
            return Err(GameError::InvalidSpeed);
        }
        if speed > max_speed {
            return Err(GameError::SpeedTooHigh { max: max_speed });
        }
    }
    if request.angle.is_some_and(|a| !a.is_finite()) {
        return Err(GameError::InvalidAngle);
    }
    *ship = ship.at(now_ms, size);
    if let Some(speed) = request.speed {
        ship.speed = speed;
    }
    if let Some(angle) = request.angle {
        ship.angle = normalize_angle(angle);
    }
    Ok(NavigateOutcome {
        speed: ship.speed,
        angle: ship.angle,
        max_speed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space_object::ObjectKind;

    fn ship() -> SpaceObject {
        SpaceObject {
            id: 1,
            kind: ObjectKind::PlayerShip,
            x: 250.0,
            y: 250.0,
            speed: 10.0,
            angle: 0.0,
            last_position_update_ms: 0,
        }
    }

    fn steer(
        speed: Option<f64>,
        angle: Option<f64>,
    ) -> Result<(NavigateOutcome, SpaceObject), GameError> {
        let mut ship = ship();
        let outcome = navigate(
            &mut ship,
            &TechTree::default(),
            NavigateRequest { speed, angle },
            6_000,
            WorldSize::DEFAULT,
        )?;
        Ok((outcome, ship))
    }

    #[test]
    fn advances_the_ship_then_sets_speed_and_angle() {
        let (outcome, ship) = steer(Some(20.0), Some(-90.0)).unwrap();
        assert_eq!(
            (outcome.speed, outcome.angle, outcome.max_speed),
            (20.0, 270.0, 25.0)
        );
        // 6 s at 10 units/min heading east: 10 · 0.1 · 50 = 50 units.
        assert_eq!(
            (ship.x, ship.y, ship.last_position_update_ms),
            (300.0, 250.0, 6_000)
        );
    }

    #[test]
    fn angles_normalise_and_speed_is_kept_when_absent() {
        assert_eq!(steer(None, Some(370.0)).unwrap().0.angle, 10.0);
        assert_eq!(steer(None, Some(720.0)).unwrap().0.angle, 0.0);
        assert_eq!(steer(None, Some(-90.0)).unwrap().0.speed, 10.0);
    }

    #[test]
    fn rejects_bad_requests_without_touching_the_ship() {
        assert_eq!(steer(None, None), Err(GameError::NothingToNavigate));
        assert_eq!(steer(Some(-1.0), None), Err(GameError::InvalidSpeed));
        assert_eq!(steer(Some(f64::NAN), None), Err(GameError::InvalidSpeed));
        assert_eq!(
            steer(Some(25.5), None),
            Err(GameError::SpeedTooHigh { max: 25.0 })
        );
        assert_eq!(
            steer(None, Some(f64::INFINITY)),
            Err(GameError::InvalidAngle)
        );
        assert!(steer(Some(25.0), None).is_ok());
    }
}
