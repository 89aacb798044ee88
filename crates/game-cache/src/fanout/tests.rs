//! Tests of the hub: shared batches, cut-offs, the cap, closing, area subscribers, cells.

use std::sync::Arc;
use std::time::Duration;

use game_domain::geometry::WorldSize;
use game_domain::interest::SpatialGrid;
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::world::{World, WorldSnapshot};
use game_domain::world_history::Version;
use tokio::sync::mpsc;

use super::*;

mod boundaries;
mod reach;

const TICK: Duration = Duration::from_millis(250);

fn hub(max_streams: usize, buffer: usize) -> FanoutHub {
    FanoutHub::new(
        HubLimits {
            max_streams,
            buffer,
        },
        TICK,
    )
}

fn empty_world() -> WorldSnapshot {
    World::new(WorldSize::DEFAULT, []).snapshot()
}

fn delta(
    since: Version,
    version: Version,
    upserted: &[SpaceObject],
    removed: &[ObjectId],
) -> Arc<SharedBatch> {
    Arc::new(SharedBatch::new(
        since,
        version,
        0,
        WorldSize::DEFAULT,
        BatchChanges::Delta {
            upserted: upserted.iter().copied().map(Encoded::new).collect(),
            removed: removed.to_vec(),
        },
    ))
}

fn broadcast(hub: &FanoutHub, version: Version) {
    hub.broadcast(
        &delta(version - 1, version, &[], &[]),
        &empty_world(),
        0,
        None,
    );
}

fn world_subscriber(
    hub: &FanoutHub,
    session: &str,
    expires_ms: i64,
) -> Result<Subscription, Refused> {
    hub.subscribe(session.into(), expires_ms, Follow::World)
}

fn received(queue: &mut mpsc::Receiver<Event>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(event) = queue.try_recv() {
        out.push(match event {
            Event::World(batch) => format!("{}:{}", batch.version, batch.name()),
            Event::Area(area) => {
                let mut json = Vec::new();
                area.write_json(&mut json);
                format!(
                    "{}:{}:{}",
                    area.version(),
                    area.name(),
                    String::from_utf8_lossy(&json)
                )
            }
            Event::Heartbeat => "heartbeat".to_owned(),
            Event::Ended(reason) => format!("ended {reason}"),
        });
    }
    out
}

#[test]
fn every_stream_gets_the_same_batches_and_a_slow_one_is_cut_off() {
    let hub = hub(10, 2);
    let mut fast = world_subscriber(&hub, "a", i64::MAX).expect("fast").events;
    let mut slow = world_subscriber(&hub, "b", i64::MAX).expect("slow").events;
    broadcast(&hub, 1);
    broadcast(&hub, 2);
    assert_eq!(received(&mut fast), ["1:delta", "2:delta"]);
    // The slow one has two queued and no room for a third: cut off.
    broadcast(&hub, 3);
    assert_eq!(hub.len(), 1);
    assert_eq!(received(&mut fast), ["3:delta"]);
    // What was queued still arrives, then its queue ends (it resumes from id 2).
    assert_eq!(received(&mut slow), ["1:delta", "2:delta"]);
    assert!(slow.is_closed());
    assert_eq!(
        hub.stats(),
        HubStats {
            open: 1,
            opened: 2,
            cut_off: 1,
            batches: 3,
            version: 3,
        }
    );
}

#[test]
fn a_batch_is_shared_and_framed_once() {
    let batch = delta(4, 5, &[asteroid(1, 100.0)], &[2]);
    assert_eq!(
        String::from_utf8_lossy(batch.json()),
        r#"{"worldSize":{"width":500,"height":500},"version":5,"since":4,"full":false,"upserted":[{"id":1,"type":"asteroid","x":100,"y":100,"speed":0,"angle":0,"last_position_update_ms":0}],"removed":[2],"currentTime":0}"#
    );
    let first = batch.framed(|b| bytes::Bytes::from(format!("framed {}", b.version)));
    let second = batch.framed(|_| bytes::Bytes::from_static(b"never"));
    assert_eq!(
        (&first[..], &second[..]),
        (&b"framed 5"[..], &b"framed 5"[..])
    );
    assert_eq!(batch.upserted(1).map(|e| e.object.id), Some(1));
    assert_eq!(batch.upserted(2), None);
}

#[test]
fn streams_are_capped_and_a_departed_client_frees_its_place() {
    let hub = hub(2, 4);
    let first = world_subscriber(&hub, "a", i64::MAX).expect("1");
    let _second = world_subscriber(&hub, "b", i64::MAX).expect("2");
    assert_eq!(
        world_subscriber(&hub, "c", i64::MAX).err(),
        Some(Refused::TooMany)
    );
    drop(first);
    assert!(world_subscriber(&hub, "c", i64::MAX).is_ok());
}

#[test]
fn revocation_expiry_and_shutdown_end_streams() {
    let hub = hub(10, 4);
    let mut revoked = world_subscriber(&hub, "gone", i64::MAX).expect("1").events;
    let expiring = world_subscriber(&hub, "old", 1_000).expect("2").events;
    let mut other = world_subscriber(&hub, "kept", i64::MAX).expect("3").events;
    let also_revoked = world_subscriber(&hub, "gone", i64::MAX).expect("4").events;
    assert_eq!(hub.close_session("gone"), 2, "both streams of the session");
    assert!(revoked.try_recv().is_err() && revoked.is_closed() && also_revoked.is_closed());
    hub.heartbeat(1_000);
    assert!(expiring.is_closed());
    assert_eq!(received(&mut other), ["heartbeat"]);
    hub.close_all();
    assert!(other.is_closed());
    assert_eq!(
        world_subscriber(&hub, "new", i64::MAX).err(),
        Some(Refused::Closed)
    );
    assert!(hub.is_empty());
}

#[test]
fn ending_all_with_a_reason_tells_each_stream_why_and_keeps_the_hub_open() {
    let hub = hub(10, 4);
    let mut first = world_subscriber(&hub, "a", i64::MAX).expect("1").events;
    let mut second = world_subscriber(&hub, "b", i64::MAX).expect("2").events;
    broadcast(&hub, 1);
    assert_eq!(hub.end_all_because("relay_lost"), 2);
    assert_eq!(received(&mut first), ["1:delta", "ended relay_lost"]);
    assert_eq!(received(&mut second), ["1:delta", "ended relay_lost"]);
    assert!(first.is_closed() && second.is_closed() && hub.is_empty());
    assert!(
        world_subscriber(&hub, "c", i64::MAX).is_ok(),
        "new streams still open"
    );
}

fn asteroid(id: ObjectId, x: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind: ObjectKind::Asteroid,
        x,
        y: 100.0,
        speed: 0.0,
        angle: 0.0,
        last_position_update_ms: 0,
    }
}

const BIG: WorldSize = WorldSize {
    width: 2_000.0,
    height: 2_000.0,
};

fn area(hub: &FanoutHub, ship: ObjectId, radius: f64) -> Subscription {
    hub.subscribe("a".into(), i64::MAX, Follow::Area { ship, radius })
        .expect("area")
}

#[test]
fn an_area_stream_hears_only_about_what_is_near_its_ship() {
    let world = World::versioned(
        BIG,
        [asteroid(1, 100.0), asteroid(2, 150.0), asteroid(3, 900.0)],
        7,
        100,
    );
    let snapshot = world.snapshot();
    let hub = hub(10, 8);
    let Subscription { id, mut events } = area(&hub, 1, 100.0);
    assert!(hub.has_areas());
    // A batch before the opening is kept and replayed after it.
    let early = SharedBatch::new(
        7,
        8,
        0,
        BIG,
        BatchChanges::Delta {
            upserted: vec![Encoded::new(asteroid(4, 120.0))],
            removed: vec![],
        },
    );
    hub.broadcast(&Arc::new(early), &snapshot, 0, None);
    assert!(received(&mut events).is_empty());
    assert!(hub.open_area(id, &snapshot, 0));
    let opening = received(&mut events);
    assert_eq!(opening.len(), 2, "{opening:?}");
    assert!(opening[0].starts_with("7:snapshot:"), "{}", opening[0]);
    assert!(opening[0].contains(r#""id":2"#) && !opening[0].contains(r#""id":3"#));
    assert!(opening[0].ends_with(r#""version":7,"full":true,"radius":100}"#));
    assert!(opening[1].starts_with("8:delta:"), "{}", opening[1]);
    assert!(opening[1].contains(r#""since":7,"#) && opening[1].contains(r#""upserted":[{"id":4"#));
    // Far changes are not its business; near ones and removals of known ones are.
    let before = Some(route::Before {
        world: &snapshot,
        at_ms: 0,
    });
    hub.broadcast(
        &delta(8, 9, &[asteroid(5, 1_500.0)], &[3]),
        &snapshot,
        0,
        before,
    );
    assert!(received(&mut events).is_empty());
    hub.broadcast(&delta(9, 10, &[], &[2]), &snapshot, 0, before);
    let sent = received(&mut events);
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].starts_with("10:delta:") && sent[0].contains(r#""removed":[2]"#),
        "{}",
        sent[0]
    );
}

#[test]
fn area_ticks_follow_the_ship_and_a_lost_log_reopens_the_area() {
    // The ship (1) flies east at 60 units per minute: 50 units per second.
    let ship = SpaceObject {
        speed: 60.0,
        ..asteroid(1, 100.0)
    };
    let world = World::versioned(BIG, [ship, asteroid(2, 150.0), asteroid(3, 400.0)], 0, 100);
    let snapshot = world.snapshot();
    let hub = hub(10, 8);
    assert!(hub.is_empty() && !hub.has_areas());
    let Subscription { id, mut events } = area(&hub, 1, 100.0);
    assert!(!hub.is_empty() && hub.len() == 1 && hub.has_areas());
    let grid_at = |now_ms| SpatialGrid::build(snapshot.objects(), BIG, 128.0, now_ms);
    // Before its opening an area gets no ticks.
    hub.refresh(&grid_at(0), &snapshot, 0);
    assert!(received(&mut events).is_empty());
    assert!(hub.open_area(id, &snapshot, 0));
    assert_eq!(received(&mut events).len(), 1, "the opening: 1 and 2");
    // Nothing moved out or in yet.
    hub.refresh(&grid_at(0), &snapshot, 0);
    assert!(received(&mut events).is_empty());
    // Ticks every 250 ms; 5 s later the ship is at x = 350: 2 (200 behind) left, 3 (50
    // ahead) entered.
    let mut ticks = Vec::new();
    for now in (250..=5_000).step_by(250) {
        hub.refresh(&grid_at(now), &snapshot, now);
        ticks.extend(received(&mut events));
    }
    assert_eq!(ticks.len(), 2, "{ticks:?}");
    assert!(
        ticks.iter().any(|t| t.contains(r#""removed":[2]"#)),
        "{ticks:?}"
    );
    assert!(
        ticks.iter().any(|t| t.contains(r#""upserted":[{"id":3"#)),
        "{ticks:?}"
    );
    // When the change log could not say what changed, the area starts over.
    let full = SharedBatch::new(
        0,
        1,
        5_000,
        BIG,
        BatchChanges::Full(game_domain::views::WorldView::of(&snapshot, 5_000)),
    );
    hub.broadcast(&Arc::new(full), &snapshot, 5_000, None);
    let reopened = received(&mut events);
    assert_eq!(reopened.len(), 1);
    assert!(
        reopened[0].contains(":snapshot:") && reopened[0].contains(r#""id":3"#),
        "{}",
        reopened[0]
    );
    assert!(!reopened[0].contains(r#""id":2"#), "{}", reopened[0]);
}

#[test]
fn a_change_crossing_cells_reaches_the_areas_of_both_and_quiet_areas_are_not_looked_at() {
    // Cells of 256: (100, 100) is in cell 0, (300, 100) in cell 1, (1_500, 1_500) far off.
    let world = World::versioned(
        BIG,
        [
            asteroid(1, 100.0),
            asteroid(2, 300.0),
            SpaceObject {
                y: 1_500.0,
                ..asteroid(3, 1_500.0)
            },
            asteroid(9, 250.0),
        ],
        0,
        100,
    );
    let snapshot = world.snapshot();
    let hub = hub(10, 8);
    let mut west = area(&hub, 1, 10.0);
    let mut east = area(&hub, 2, 10.0);
    let mut far = area(&hub, 3, 10.0);
    for sub in [&west, &east, &far] {
        assert!(hub.open_area(sub.id, &snapshot, 0));
    }
    hub.refresh(
        &SpatialGrid::build(snapshot.objects(), BIG, 128.0, 0),
        &snapshot,
        0,
    );
    for sub in [&mut west, &mut east, &mut far] {
        assert_eq!(received(&mut sub.events).len(), 1, "the openings");
    }
    // 9 jumps from (250, 100), cell 0, next to 1's area? No: 1 follows 10 units, 9 was 150
    // away. It lands at (105, 100): in 1's area (cell 0). Then it moves to (295, 100):
    // out of 1's cell into 2's (cell 1), where 1 knows it and 2 sees it arrive.
    let before = route::Before {
        world: &snapshot,
        at_ms: 0,
    };
    hub.broadcast(
        &delta(0, 1, &[asteroid(9, 105.0)], &[]),
        &snapshot,
        0,
        Some(before),
    );
    assert_eq!(received(&mut west.events).len(), 1, "9 entered 1's area");
    assert!(received(&mut east.events).is_empty());
    let moved = World::versioned(
        BIG,
        snapshot.objects().copied().chain([asteroid(9, 105.0)]),
        1,
        100,
    )
    .snapshot();
    let before = route::Before {
        world: &moved,
        at_ms: 0,
    };
    hub.broadcast(
        &delta(1, 2, &[asteroid(9, 295.0)], &[]),
        &moved,
        0,
        Some(before),
    );
    let to_west = received(&mut west.events);
    let to_east = received(&mut east.events);
    assert_eq!(to_west.len(), 1, "1 knows 9: it hears where it went");
    assert_eq!(to_east.len(), 1, "9 entered 2's area");
    assert!(to_west[0].contains(r#""x":295"#) && to_east[0].contains(r#""x":295"#));
    // The far area saw nothing: no event, and it was not even looked at.
    assert!(received(&mut far.events).is_empty());
    let touched: Vec<u64> = registry::lock(&hub.routing)
        .touched
        .iter()
        .map(|s| s.id)
        .collect();
    assert!(touched.contains(&west.id) && touched.contains(&east.id));
    assert!(!touched.contains(&far.id), "{touched:?}");
}
