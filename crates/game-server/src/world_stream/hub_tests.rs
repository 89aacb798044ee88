//! Tests of the hub: shared batches, cut-offs, the cap, closing, area streams.

use game_domain::geometry::WorldSize;
use game_domain::world::World;

use game_domain::interest::SpatialGrid;

use super::*;

fn with_ctx(f: impl FnOnce(&AreaContext<'_>)) {
    let world = World::new(WorldSize::DEFAULT, []).snapshot();
    f(&AreaContext {
        world: &world,
        now_ms: 0,
        margin: 0.0,
    });
}

fn broadcast(hub: &StreamHub, version: u64) {
    with_ctx(|ctx| hub.broadcast(version - 1, version, batch(version), None, ctx));
}

fn hub(max_streams: usize, buffer: usize) -> StreamHub {
    StreamHub::new(StreamLimits {
        max_streams,
        buffer,
    })
}

fn batch(version: u64) -> Bytes {
    Bytes::from(format!("v{version}"))
}

fn received(queue: &mut mpsc::Receiver<Queued>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(message) = queue.try_recv() {
        out.push(match message {
            Queued::Batch { version, bytes } => {
                format!("{version}:{}", String::from_utf8_lossy(&bytes))
            }
            Queued::Direct(_) => "comment".to_owned(),
        });
    }
    out
}

#[test]
fn every_stream_gets_the_same_batches_and_a_slow_one_is_cut_off() {
    let hub = hub(10, 2);
    let mut fast = hub
        .subscribe("a".into(), i64::MAX, None)
        .map(|(_, queue)| queue)
        .expect("fast");
    let mut slow = hub
        .subscribe("b".into(), i64::MAX, None)
        .map(|(_, queue)| queue)
        .expect("slow");
    broadcast(&hub, 1);
    broadcast(&hub, 2);
    assert_eq!(received(&mut fast), ["1:v1", "2:v2"]);
    // The slow one has two queued and no room for a third: cut off.
    broadcast(&hub, 3);
    assert_eq!(hub.len(), 1);
    assert_eq!(received(&mut fast), ["3:v3"]);
    // What was queued still arrives, then its stream ends (it resumes from id 2).
    assert_eq!(received(&mut slow), ["1:v1", "2:v2"]);
    assert!(slow.is_closed());
    let mut out = Exposition::default();
    hub.write_metrics(&mut out);
    let page = out.finish().expect("page");
    assert!(
        page.contains("spacewars_world_streams_cut_off_total 1\n"),
        "{page}"
    );
    assert!(page.contains("spacewars_world_streams_open 1\n"), "{page}");
    assert!(
        page.contains("spacewars_world_stream_batches_total 3\n"),
        "{page}"
    );
    assert!(
        page.contains("spacewars_world_stream_version 3\n"),
        "{page}"
    );
}

#[test]
fn streams_are_capped_and_a_departed_client_frees_its_place() {
    let hub = hub(2, 4);
    let first = hub
        .subscribe("a".into(), i64::MAX, None)
        .map(|(_, queue)| queue)
        .expect("1");
    let _second = hub
        .subscribe("b".into(), i64::MAX, None)
        .map(|(_, queue)| queue)
        .expect("2");
    assert_eq!(
        hub.subscribe("c".into(), i64::MAX, None)
            .map(|(_, queue)| queue)
            .err(),
        Some(Refused::TooMany)
    );
    drop(first);
    assert!(
        hub.subscribe("c".into(), i64::MAX, None)
            .map(|(_, queue)| queue)
            .is_ok()
    );
}

#[test]
fn revocation_expiry_and_shutdown_end_streams() {
    let hub = hub(10, 4);
    let mut revoked = hub
        .subscribe("gone".into(), i64::MAX, None)
        .map(|(_, queue)| queue)
        .expect("1");
    let expiring = hub
        .subscribe("old".into(), 1_000, None)
        .map(|(_, queue)| queue)
        .expect("2");
    let mut other = hub
        .subscribe("kept".into(), i64::MAX, None)
        .map(|(_, queue)| queue)
        .expect("3");
    let also_revoked = hub
        .subscribe("gone".into(), i64::MAX, None)
        .map(|(_, queue)| queue)
        .expect("4");
    assert_eq!(hub.close_session("gone"), 2, "both streams of the session");
    assert!(revoked.try_recv().is_err() && revoked.is_closed() && also_revoked.is_closed());
    hub.heartbeat(1_000);
    assert!(expiring.is_closed());
    assert_eq!(received(&mut other), ["comment"]);
    hub.close_all();
    assert!(other.is_closed());
    assert_eq!(
        hub.subscribe("new".into(), i64::MAX, None)
            .map(|(_, queue)| queue)
            .err(),
        Some(Refused::Closed)
    );
}

fn asteroid(id: i64, x: f64) -> game_domain::space_object::SpaceObject {
    game_domain::space_object::SpaceObject {
        id,
        kind: game_domain::space_object::ObjectKind::Asteroid,
        x,
        y: 100.0,
        speed: 0.0,
        angle: 0.0,
        last_position_update_ms: 0,
    }
}

fn texts(queue: &mut mpsc::Receiver<Queued>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(Queued::Direct(bytes) | Queued::Batch { bytes, .. }) = queue.try_recv() {
        out.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    out
}

#[test]
fn an_area_stream_hears_only_about_what_is_near_its_ship() {
    let size = WorldSize {
        width: 2_000.0,
        height: 2_000.0,
    };
    let world = World::versioned(
        size,
        [asteroid(1, 100.0), asteroid(2, 150.0), asteroid(3, 900.0)],
        7,
        100,
    );
    let snapshot = world.snapshot();
    let ctx = AreaContext {
        world: &snapshot,
        now_ms: 0,
        margin: 10.0,
    };
    let hub = hub(10, 8);
    let area = AreaSubscriber::new(1, 100.0);
    let (id, mut queue) = hub
        .subscribe("a".into(), i64::MAX, Some(area))
        .expect("area");
    // A batch before the opening is kept and replayed after it.
    let early = Delta {
        upserted: vec![asteroid(4, 120.0)],
        removed: vec![],
    };
    hub.broadcast(7, 8, batch(8), Some(&early), &ctx);
    assert!(texts(&mut queue).is_empty());
    assert!(hub.open_area(id, &ctx));
    let opening = texts(&mut queue);
    assert_eq!(opening.len(), 2, "{opening:?}");
    assert!(
        opening[0].starts_with("id: 7\nevent: snapshot\n"),
        "{}",
        opening[0]
    );
    assert!(opening[0].contains(r#""id":2"#) && !opening[0].contains(r#""id":3"#));
    assert!(
        opening[1].contains(r#""upserted":[{"id":4"#),
        "{}",
        opening[1]
    );
    // Far changes are not its business; near ones and removals of known ones are.
    let far = Delta {
        upserted: vec![asteroid(5, 1_500.0)],
        removed: vec![3],
    };
    hub.broadcast(8, 9, batch(9), Some(&far), &ctx);
    assert!(texts(&mut queue).is_empty());
    let near = Delta {
        upserted: vec![],
        removed: vec![2],
    };
    hub.broadcast(9, 10, batch(10), Some(&near), &ctx);
    let sent = texts(&mut queue);
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].starts_with("id: 10\nevent: delta\n") && sent[0].contains(r#""removed":[2]"#),
        "{}",
        sent[0]
    );
    assert!(hub.has_areas());
}

#[test]
fn area_ticks_follow_the_ship_and_a_lost_log_reopens_the_area() {
    let size = WorldSize {
        width: 2_000.0,
        height: 2_000.0,
    };
    // The ship (1) flies east at 60 units per minute: 50 units per second.
    let ship = game_domain::space_object::SpaceObject {
        speed: 60.0,
        ..asteroid(1, 100.0)
    };
    let world = World::versioned(size, [ship, asteroid(2, 150.0), asteroid(3, 400.0)], 0, 100);
    let snapshot = world.snapshot();
    let at = |now_ms| AreaContext {
        world: &snapshot,
        now_ms,
        margin: 0.0,
    };
    let hub = hub(10, 8);
    assert_eq!(
        format!("{hub:?}"),
        "StreamHub { limits: StreamLimits { max_streams: 10, buffer: 8 }, open: 0 }"
    );
    assert!(hub.is_empty() && !hub.has_areas());
    let (id, mut queue) = hub
        .subscribe("a".into(), i64::MAX, Some(AreaSubscriber::new(1, 100.0)))
        .expect("area");
    assert!(!hub.is_empty() && hub.len() == 1 && hub.has_areas());
    let grid_at = |now_ms| SpatialGrid::build(snapshot.objects(), size, 128.0, now_ms);
    // Before its opening an area gets no ticks.
    hub.refresh_areas(&grid_at(0), &at(0));
    assert!(texts(&mut queue).is_empty());
    assert!(hub.open_area(id, &at(0)));
    assert_eq!(texts(&mut queue).len(), 1, "the opening: 1 and 2");
    // Nothing moved out or in yet.
    hub.refresh_areas(&grid_at(0), &at(0));
    assert!(texts(&mut queue).is_empty());
    // 5 s later the ship is at x = 350: 2 (200 behind) left, 3 (50 ahead) entered.
    hub.refresh_areas(&grid_at(5_000), &at(5_000));
    let tick = texts(&mut queue);
    assert_eq!(tick.len(), 1);
    assert!(
        tick[0].contains(r#""upserted":[{"id":3"#) && tick[0].contains(r#""removed":[2]"#),
        "{}",
        tick[0]
    );
    // When the change log could not say what changed, the area starts over.
    hub.broadcast(0, 1, batch(1), None, &at(5_000));
    let reopened = texts(&mut queue);
    assert_eq!(reopened.len(), 1);
    assert!(
        reopened[0].contains("event: snapshot") && reopened[0].contains(r#""id":3"#),
        "{}",
        reopened[0]
    );
    assert!(!reopened[0].contains(r#""id":2"#), "{}", reopened[0]);
}
