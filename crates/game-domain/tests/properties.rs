//! Property tests of the motion and accrual rules.

use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::{ActiveResearch, ResearchType, TechTree};
use game_domain::user::User;
use proptest::prelude::*;

fn object() -> impl Strategy<Value = SpaceObject> {
    (0.0..500.0f64, 0.0..500.0f64, 0.0..100.0f64, 0.0..360.0f64).prop_map(|(x, y, speed, angle)| {
        SpaceObject {
            id: 1,
            kind: ObjectKind::Asteroid,
            x,
            y,
            speed,
            angle,
            last_position_update_ms: 0,
        }
    })
}

/// Distance on a circle of circumference `w`, so 499.99… and 0 count as close.
fn circular_gap(a: f64, b: f64, w: f64) -> f64 {
    let d = (a - b).abs() % w;
    d.min(w - d)
}

proptest! {
    #[test]
    fn advancing_twice_equals_advancing_once(o in object(), t1 in 0i64..10_000_000, t2 in 0i64..10_000_000) {
        let size = WorldSize::DEFAULT;
        let stepwise = o.at(t1, size).position_at(t1 + t2, size);
        let direct = o.position_at(t1 + t2, size);
        // Relative to the distance travelled, which is where rounding comes from.
        let travelled = o.speed * (t1 + t2) as f64 / 60_000.0 * 50.0;
        let tolerance = 1e-9 * travelled.max(500.0);
        prop_assert!(circular_gap(stepwise.0, direct.0, 500.0) <= tolerance, "{stepwise:?} vs {direct:?}");
        prop_assert!(circular_gap(stepwise.1, direct.1, 500.0) <= tolerance, "{stepwise:?} vs {direct:?}");
    }

    #[test]
    fn positions_stay_inside_the_world(o in object(), t in -10_000_000i64..100_000_000, w in 1.0..1000.0f64, h in 1.0..1000.0f64) {
        let size = WorldSize::new(w, h).unwrap();
        let (x, y) = o.position_at(t, size);
        prop_assert!((0.0..w).contains(&x), "x = {x} outside [0, {w})");
        prop_assert!((0.0..h).contains(&y), "y = {y} outside [0, {h})");
    }

    #[test]
    fn iron_never_decreases_under_stats_updates(
        start in 0.0..1e6f64,
        research in prop::option::of((0usize..3, 0.0..1000.0f64)),
        steps in prop::collection::vec(-100i64..10_000, 1..20),
    ) {
        let mut user = User {
            id: 1,
            username: "p".into(),
            password_hash: String::new(),
            iron: start,
            last_updated: 0,
            tech_tree: TechTree {
                active_research: research.map(|(i, remaining)| ActiveResearch {
                    kind: ResearchType::ALL[i],
                    remaining_duration: remaining,
                }),
                ..TechTree::default()
            },
            ship_id: 1,
        };
        let mut now = 0;
        for step in steps {
            now += step;
            let before = user.iron;
            user.update_stats(now);
            prop_assert!(user.iron >= before);
        }
    }
}
