//! What a feeder holding part of the world learns of the hub: the speed allowed for, the
//! areas' reach, the whole-world streams.

use super::*;

#[test]
fn an_area_reaches_its_radius_margin_and_travel_and_a_faster_speed_widens_it() {
    // The ship (1) flies east at 50 units per second from (100, 100): at 1 s it is at
    // x = 150. Speed 60 and ticks of 250 ms: a margin of 2 × 12.5 + 1 = 26, and 25 units
    // of travel in the 500 ms a registration holds; reach = 10 + 26 + 25 + 1 = 62.
    let ship = SpaceObject {
        speed: 60.0,
        ..asteroid(1, 100.0)
    };
    let snapshot = World::versioned(BIG, [ship, asteroid(2, 900.0)], 0, 100).snapshot();
    let hub = hub(10, 8);
    let opened = area(&hub, 1, 10.0);
    assert!(hub.open_area(opened.id, &snapshot, 0));
    let _waiting = area(&hub, 2, 10.0);
    let _world = world_subscriber(&hub, "b", i64::MAX).expect("a world stream");
    assert_eq!(hub.world_streams(), 1);
    assert_eq!(hub.speed(), 60.0);
    assert_eq!(hub.area_reaches(BIG, 1_000), vec![((150.0, 100.0), 62.0)]);

    // Told of something twice as fast: margin 51, travel 50, reach 10 + 51 + 50 + 1.
    hub.allow_speed(120.0);
    assert_eq!(hub.area_reaches(BIG, 1_000), vec![((150.0, 100.0), 112.0)]);
    for lower in [30.0, f64::NAN, f64::INFINITY] {
        hub.allow_speed(lower);
        assert_eq!(hub.speed(), 120.0, "{lower}");
    }
}
