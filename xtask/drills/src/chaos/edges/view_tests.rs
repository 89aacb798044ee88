use game_domain::space_object::ObjectKind;

use super::*;

const SNAPSHOT: &str = r#"{"worldSize":{"width":500,"height":500},"radius":300,
    "spaceObjects":[
      {"id":1,"type":"player_ship","x":100,"y":100,"speed":12,"angle":0,"last_position_update_ms":1000},
      {"id":2,"type":"asteroid","x":200,"y":100,"speed":0,"angle":0,"last_position_update_ms":1000},
      {"id":3,"type":"shipwreck","x":490,"y":100,"speed":0,"angle":0,"last_position_update_ms":1000}],
    "currentTime":1000,"version":70,"full":true}"#;

const DELTA: &str = r#"{"worldSize":{"width":500,"height":500},"version":71,"since":70,"full":false,
    "upserted":[{"id":1,"type":"player_ship","x":100,"y":100,"speed":6,"angle":90,"last_position_update_ms":1000}],
    "removed":[3],"currentTime":1000}"#;

fn object(id: ObjectId, kind: ObjectKind, x: f64, speed: f64, angle: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind,
        x,
        y: 100.0,
        speed,
        angle,
        last_position_update_ms: 1_000,
    }
}

/// The owner's answer at `at_ms` for objects whose stored states are `stored`.
fn world(stored: &[SpaceObject], at_ms: i64) -> WorldReply {
    let size = WorldSize::DEFAULT;
    WorldReply {
        world_size: size,
        space_objects: stored.iter().map(|o| o.at(at_ms, size)).collect(),
        current_time: at_ms,
    }
}

fn applied(events: &[(&str, &str)]) -> View {
    let mut view = View::default();
    for (name, data) in events {
        view.apply(name, data.as_bytes()).expect("a world event");
    }
    view
}

#[test]
fn a_snapshot_and_a_delta_give_the_objects_the_owner_holds() {
    let view = applied(&[("snapshot", SNAPSHOT), ("delta", DELTA), ("ended", "{}")]);
    assert_eq!(view.len(), 2);
    assert_eq!(view.version, Some(71));
    let ship = view.get(1).expect("the ship");
    assert_eq!((ship.speed, ship.angle), (6.0, 90.0));
    assert!(view.get(3).is_none(), "removed by the delta");
    // A second snapshot replaces everything.
    let again = applied(&[
        ("snapshot", SNAPSHOT),
        ("delta", DELTA),
        ("snapshot", SNAPSHOT),
    ]);
    assert_eq!(again.len(), 3);
    assert_eq!(again.version, Some(70));
}

#[test]
fn a_delta_first_or_a_broken_body_is_refused() {
    let mut view = View::default();
    let error = view
        .apply("delta", DELTA.as_bytes())
        .expect_err("no snapshot");
    assert_eq!(error.to_string(), "delta before any snapshot");
    let error = view
        .apply("snapshot", br#"{"version":1}"#)
        .expect_err("no worldSize");
    assert_eq!(error.to_string(), "snapshot event without worldSize");
    assert!(view.is_empty());
}

#[test]
fn the_ship_matches_when_its_extrapolated_state_is_the_owners() {
    let view = applied(&[("snapshot", SNAPSHOT), ("delta", DELTA)]);
    // 60 s later at speed 6 heading 90°: 6 × 50 = 300 units south, wrapping to y = 400.
    let ship = object(1, ObjectKind::PlayerShip, 100.0, 6.0, 90.0);
    let truth = world(&[ship], 61_000);
    assert!((truth.space_objects[0].y - 400.0).abs() < 1e-9);
    assert_eq!(ship_matches(&view, &truth, 1), Ok(()));
    // Another course, or a ship the world lacks.
    let turned = world(
        &[object(1, ObjectKind::PlayerShip, 100.0, 6.0, 91.0)],
        61_000,
    );
    assert_eq!(ship_matches(&view, &turned, 1), Err(Mismatch::Differs(1)));
    assert_eq!(ship_matches(&view, &truth, 9), Err(Mismatch::NoShipInWorld));
    let stale = applied(&[("snapshot", SNAPSHOT)]);
    assert_eq!(ship_matches(&stale, &truth, 1), Err(Mismatch::Differs(1)));
    assert_eq!(
        ship_matches(&View::default(), &truth, 1),
        Err(Mismatch::ShipUnknown)
    );
}

#[test]
fn the_area_matches_only_with_every_near_object_and_no_stale_one() {
    let ship = object(1, ObjectKind::PlayerShip, 100.0, 6.0, 90.0);
    let rock = object(2, ObjectKind::Asteroid, 200.0, 0.0, 0.0);
    let view = applied(&[("snapshot", SNAPSHOT), ("delta", DELTA)]);
    assert_eq!(
        area_matches(&view, &world(&[ship, rock], 1_000), 1, 300.0),
        Ok(())
    );
    // An object 150 units away that the view lacks; outside a radius of 120 it may be.
    let wreck = object(4, ObjectKind::Shipwreck, 250.0, 0.0, 0.0);
    let with_wreck = world(&[ship, rock, wreck], 1_000);
    assert_eq!(
        area_matches(&view, &with_wreck, 1, 300.0),
        Err(Mismatch::Missing(4))
    );
    assert_eq!(area_matches(&view, &with_wreck, 1, 120.0), Ok(()));
    // The view still holds the asteroid after the owner's world lost it.
    assert_eq!(
        area_matches(&view, &world(&[ship], 1_000), 1, 300.0),
        Err(Mismatch::Gone(2))
    );
    // The asteroid moved on the owner.
    let moved = object(2, ObjectKind::Asteroid, 200.0, 3.0, 0.0);
    assert_eq!(
        area_matches(&view, &world(&[ship, moved], 1_000), 1, 300.0),
        Err(Mismatch::Differs(2))
    );
}
