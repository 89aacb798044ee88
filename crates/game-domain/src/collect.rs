//! Collecting objects: range, rewards and the replacement spawn.

use rand::Rng;

use crate::error::GameError;
use crate::geometry::WorldSize;
use crate::space_object::{ObjectId, ObjectKind, ObjectState};
use crate::user::User;
use crate::world::WorldTx;

/// Maximum toroidal distance between ship and object for a collection.
pub const COLLECT_RANGE: f64 = 125.0;

/// The random draws one collection may need, taken before any lock so rules stay pure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectRoll {
    /// Reward if the object is an asteroid, in [50, 250].
    pub asteroid_reward: u32,
    /// Reward if the object is a shipwreck, in [50, 1000].
    pub shipwreck_reward: u32,
    /// The object that replaces the collected one.
    pub spawn: ObjectState,
}

impl CollectRoll {
    /// Draws a roll from `rng` for a world of `size` at `now_ms`.
    pub fn draw(rng: &mut impl Rng, size: WorldSize, now_ms: i64) -> CollectRoll {
        CollectRoll {
            asteroid_reward: rng.random_range(50..=250),
            shipwreck_reward: rng.random_range(50..=1000),
            spawn: spawn_object(rng, size, now_ms),
        }
    }

    /// The reward for collecting an object of `kind`.
    pub fn reward(&self, kind: ObjectKind) -> u32 {
        match kind {
            ObjectKind::Asteroid => self.asteroid_reward,
            ObjectKind::Shipwreck => self.shipwreck_reward,
            ObjectKind::EscapePod | ObjectKind::PlayerShip => 0,
        }
    }
}

/// A new random object: 60 % asteroid, 30 % shipwreck, 10 % escape pod, anywhere, any heading.
pub fn spawn_object(rng: &mut impl Rng, size: WorldSize, now_ms: i64) -> ObjectState {
    let pick: f64 = rng.random();
    let (kind, base_speed) = if pick < 0.6 {
        (ObjectKind::Asteroid, 5.0)
    } else if pick < 0.9 {
        (ObjectKind::Shipwreck, 10.0)
    } else {
        (ObjectKind::EscapePod, 25.0)
    };
    let spread: f64 = rng.random_range(-0.25..=0.25);
    ObjectState {
        kind,
        x: rng.random_range(0.0..size.width),
        y: rng.random_range(0.0..size.height),
        speed: base_speed * (1.0 + spread),
        angle: rng.random_range(0.0..360.0),
        last_position_update_ms: now_ms,
    }
}

/// What a successful collection earned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectOutcome {
    /// Toroidal distance between ship and object at the moment of collection.
    pub distance: f64,
    /// Iron earned.
    pub iron_reward: u32,
    /// Iron owned afterwards.
    pub total_iron: f64,
    /// What was collected.
    pub object_type: ObjectKind,
}

/// Collects `object_id` with `user`'s ship at `now_ms`; the world holds ship and object.
///
/// The caller has updated the user's stats to now, so `total_iron` is current.
pub fn collect(
    user: &mut User,
    world: &mut WorldTx,
    object_id: ObjectId,
    now_ms: i64,
    roll: &CollectRoll,
) -> Result<CollectOutcome, GameError> {
    let size = world.size();
    let ship = world.get(user.ship_id).ok_or(GameError::UserNotFound)?;
    let object = world.get(object_id).ok_or(GameError::ObjectNotFound)?;
    if object.kind == ObjectKind::PlayerShip {
        return Err(GameError::NotCollectible);
    }
    let distance = size.distance(
        ship.position_at(now_ms, size),
        object.position_at(now_ms, size),
    );
    if distance > COLLECT_RANGE {
        return Err(GameError::ObjectTooFar);
    }
    let kind = object.kind;
    let reward = roll.reward(kind);
    user.iron += f64::from(reward);
    world.remove(object_id);
    world.spawn(roll.spawn);
    Ok(CollectOutcome {
        distance,
        iron_reward: reward,
        total_iron: user.iron,
        object_type: kind,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::space_object::SpaceObject;
    use crate::tech_tree::TechTree;

    const SHIP: ObjectId = 1;

    fn user() -> User {
        User {
            id: 7,
            username: "p".into(),
            password_hash: String::new(),
            iron: 10.0,
            last_updated: 0,
            tech_tree: TechTree::default(),
            ship_id: SHIP,
        }
    }

    fn object(id: ObjectId, kind: ObjectKind, x: f64, y: f64) -> SpaceObject {
        SpaceObject {
            id,
            kind,
            x,
            y,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: 0,
        }
    }

    fn roll() -> CollectRoll {
        CollectRoll {
            asteroid_reward: 123,
            shipwreck_reward: 777,
            spawn: ObjectState {
                kind: ObjectKind::Asteroid,
                x: 1.0,
                y: 2.0,
                speed: 5.0,
                angle: 3.0,
                last_position_update_ms: 0,
            },
        }
    }

    fn tx(target: SpaceObject) -> WorldTx {
        WorldTx::new(
            WorldSize::DEFAULT,
            [object(SHIP, ObjectKind::PlayerShip, 10.0, 250.0), target],
        )
    }

    #[test]
    fn collects_within_range_across_the_seam() {
        let mut user = user();
        let mut world = tx(object(2, ObjectKind::Shipwreck, 385.0, 250.0));
        let outcome = collect(&mut user, &mut world, 2, 0, &roll()).unwrap();
        assert_eq!(
            outcome,
            CollectOutcome {
                distance: 125.0,
                iron_reward: 777,
                total_iron: 787.0,
                object_type: ObjectKind::Shipwreck
            }
        );
        let changes = world.into_changes();
        assert_eq!(changes.removed, vec![2]);
        assert_eq!(changes.spawned, vec![roll().spawn]);
    }

    #[test]
    fn refuses_beyond_range() {
        let mut user = user();
        let mut world = tx(object(2, ObjectKind::Asteroid, 135.1, 250.0));
        assert_eq!(
            collect(&mut user, &mut world, 2, 0, &roll()),
            Err(GameError::ObjectTooFar)
        );
        assert_eq!(user.iron, 10.0);
        assert!(world.into_changes().is_empty());
    }

    #[test]
    fn refuses_player_ships_and_missing_objects() {
        let mut user = user();
        let mut world = tx(object(2, ObjectKind::PlayerShip, 20.0, 250.0));
        assert_eq!(
            collect(&mut user, &mut world, 2, 0, &roll()),
            Err(GameError::NotCollectible)
        );
        assert_eq!(
            collect(&mut user, &mut world, 3, 0, &roll()),
            Err(GameError::ObjectNotFound)
        );
    }

    #[test]
    fn escape_pods_are_worth_nothing() {
        let mut user = user();
        let mut world = tx(object(2, ObjectKind::EscapePod, 20.0, 250.0));
        let outcome = collect(&mut user, &mut world, 2, 0, &roll()).unwrap();
        assert_eq!((outcome.iron_reward, outcome.total_iron), (0, 10.0));
    }

    #[test]
    fn rewards_stay_within_bounds() {
        let mut rng = StdRng::seed_from_u64(7);
        let rolls: Vec<_> = (0..10_000)
            .map(|_| CollectRoll::draw(&mut rng, WorldSize::DEFAULT, 0))
            .collect();
        let asteroid = rolls.iter().map(|r| r.asteroid_reward);
        let shipwreck = rolls.iter().map(|r| r.shipwreck_reward);
        assert_eq!(
            (asteroid.clone().min(), asteroid.max()),
            (Some(50), Some(250))
        );
        assert_eq!(
            (shipwreck.clone().min(), shipwreck.max()),
            (Some(50), Some(1000))
        );
    }

    #[test]
    fn spawn_mix_is_60_30_10_and_speeds_spread_by_a_quarter() {
        let mut rng = StdRng::seed_from_u64(42);
        let draws = 100_000;
        let mut counts = [0usize; 3];
        // The slowest and fastest speed drawn, as a share of the kind's base speed.
        let (mut slowest, mut fastest) = (f64::MAX, 0.0f64);
        for _ in 0..draws {
            let spawned = spawn_object(&mut rng, WorldSize::DEFAULT, 9);
            let (index, base) = match spawned.kind {
                ObjectKind::Asteroid => (0, 5.0),
                ObjectKind::Shipwreck => (1, 10.0),
                ObjectKind::EscapePod => (2, 25.0),
                ObjectKind::PlayerShip => unreachable!("ships never spawn"),
            };
            counts[index] += 1;
            assert!(spawned.speed >= base * 0.75 && spawned.speed <= base * 1.25);
            slowest = slowest.min(spawned.speed / base);
            fastest = fastest.max(spawned.speed / base);
            assert!((0.0..500.0).contains(&spawned.x) && (0.0..500.0).contains(&spawned.y));
            assert!((0.0..360.0).contains(&spawned.angle));
            assert_eq!(spawned.last_position_update_ms, 9);
        }
        // A quarter either way, reached at both ends (within 1 % of it).
        assert!(slowest < 0.76 && fastest > 1.24, "{slowest}..{fastest}");
        let percent = counts.map(|c| c as f64 * 100.0 / draws as f64);
        for (got, want) in percent.iter().zip([60.0, 30.0, 10.0]) {
            assert!((got - want).abs() <= 1.0, "spawn mix {percent:?}");
        }
    }
}
