//! Area streams over TCP: in a 4,000 × 4,000 world, a player's stream carries only what
//! is near its ship (radius plus the margin for one tick at the fastest speed), passes on
//! changes of what it knows, and follows objects as they enter and leave.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use crate::events::{self, EVENT_WAIT, EventStream};
use crate::harness::{Setup, each_setup};

const RADIUS: f64 = 150.0;
/// Twice what the fastest demo object (an escape pod at 45 units per minute) travels in
/// one 250 ms tick, plus one: 2 · 9.375 + 1.
const MARGIN: f64 = 19.75;

/// A client's copy of what its stream told it: stored states by id.
#[derive(Default)]
struct Known(BTreeMap<i64, Value>);

impl Known {
    fn apply(&mut self, data: &Value) {
        if let Some(objects) = data["spaceObjects"].as_array() {
            self.0 = objects.iter().map(|o| (id(o), o.clone())).collect();
        }
        for removed in data["removed"].as_array().into_iter().flatten() {
            self.0.remove(&removed.as_i64().expect("id"));
        }
        for object in data["upserted"].as_array().into_iter().flatten() {
            self.0.insert(id(object), object.clone());
        }
    }

    fn ids(&self) -> Vec<i64> {
        self.0.keys().copied().collect()
    }
}

fn id(object: &Value) -> i64 {
    object["id"].as_i64().expect("id")
}

/// The ids within `reach` of `(x, y)` in a world answer (positions at its time; the world
/// is too big for these distances to wrap).
fn near(world: &Value, (x, y): (f64, f64), reach: f64) -> Vec<i64> {
    let mut ids: Vec<i64> = world["spaceObjects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| {
            let dx = o["x"].as_f64().expect("x") - x;
            let dy = o["y"].as_f64().expect("y") - y;
            dx.hypot(dy) <= reach
        })
        .map(id)
        .collect();
    ids.sort_unstable();
    ids
}

/// Reads events into `known` until it holds exactly `expected`.
async fn until_known(stream: &mut EventStream, known: &mut Known, expected: &[i64]) {
    let started = Instant::now();
    while known.ids() != expected {
        assert!(
            started.elapsed() < EVENT_WAIT,
            "knows {:?}, expected {expected:?}",
            known.ids()
        );
        let event = stream.next().await.expect("an event");
        known.apply(&event.data);
    }
}

async fn a_stream_follows_the_area_around_the_ship(setup: Setup) {
    let server = setup
        .start_with(|config| {
            config.world_width = 4_000.0;
            config.world_height = 4_000.0;
        })
        .await;
    let mut demo = server.demo().await;
    let mut pilot = server.client();
    pilot.register("pilot").await;
    let own_ship = pilot.get("/api/session").await.json()["shipId"]
        .as_i64()
        .expect("ship");

    let (status, _, refused) =
        events::open(server.addr, "radius=0", pilot.session.as_deref(), None).await;
    assert_eq!(
        (status, refused.err().map(|e| e["code"].clone())),
        (400, Some(json!("invalid_radius")))
    );

    let query = format!("radius={RADIUS}");
    let (status, _, stream) =
        events::open(server.addr, &query, pilot.session.as_deref(), None).await;
    assert_eq!(status, 200);
    let mut stream = stream.expect("stream");
    let opening = stream.next().await.expect("opening");
    assert_eq!(opening.name, "snapshot");
    assert_eq!(opening.data["radius"], json!(150));
    let mut known = Known::default();
    known.apply(&opening.data);
    // Both ships at (250, 250); shipwrecks 7 and 8 at 112, asteroid 3 and pod 9 at 158;
    // the other five demo objects at 180 or more are beyond 150 + 19.75.
    let mut expected = vec![1, 3, 7, 8, 9, own_ship];
    expected.sort_unstable();
    assert_eq!(known.ids(), expected);
    let world = demo.get("/api/world").await.json();
    assert_eq!(near(&world, (250.0, 250.0), RADIUS + MARGIN), expected);

    // A change to something it knows reaches it.
    let steered = demo
        .post_json("/api/navigate", json!({"speed": 5, "angle": 180}))
        .await;
    assert_eq!(steered.status, 200);
    let change = stream.next().await.expect("a delta");
    assert_eq!(change.name, "delta");
    assert_eq!(change.data["upserted"][0]["id"], json!(1));
    assert_eq!(change.data["upserted"][0]["angle"], json!(180));
    known.apply(&change.data);

    // Time passes: what is near changes, and the stream follows within a tick or two.
    for seconds in [6, 30] {
        server.advance_ms(seconds * 1_000);
        let world = demo.get("/api/world").await.json();
        let expected = near(&world, (250.0, 250.0), RADIUS + MARGIN);
        assert_ne!(
            expected,
            known.ids(),
            "something entered or left after {seconds} s"
        );
        until_known(&mut stream, &mut known, &expected).await;
        // What it knows is exactly what the server stores for those objects.
        for (id, object) in &known.0 {
            let served = world["spaceObjects"]
                .as_array()
                .expect("objects")
                .iter()
                .find(|o| o["id"] == json!(id))
                .cloned()
                .expect("known objects exist");
            let at = |o: &Value, t: &str| o[t].as_f64().expect("number");
            let dt = (at(&served, "last_position_update_ms")
                - at(object, "last_position_update_ms"))
                / 60_000.0
                * 50.0;
            let radians = at(object, "angle").to_radians();
            let x = at(object, "x") + at(object, "speed") * radians.cos() * dt;
            let y = at(object, "y") + at(object, "speed") * radians.sin() * dt;
            assert!(
                (x.rem_euclid(4_000.0) - at(&served, "x")).abs() < 0.01,
                "{object} vs {served}"
            );
            assert!(
                (y.rem_euclid(4_000.0) - at(&served, "y")).abs() < 0.01,
                "{object} vs {served}"
            );
        }
    }
}

/// In the default 500 × 500 world the default radius (600) reaches everywhere: the stream
/// is served as the whole-world one (shared batches, resumable with `Last-Event-ID`).
async fn an_area_holding_the_whole_world_is_the_whole_world_stream(setup: Setup) {
    let server = setup.start().await;
    let demo = server.demo().await;
    let session = demo.session.as_deref();
    let (_, _, stream) = events::open(server.addr, "", session, None).await;
    let opening = stream.expect("stream").next().await.expect("opening");
    assert_eq!(opening.name, "snapshot");
    assert_eq!(opening.data.get("radius"), None, "not an area snapshot");
    assert_eq!(
        opening.data["spaceObjects"].as_array().map(Vec::len),
        Some(10)
    );
    // Resuming from the current version is an empty delta, as whole-world streams do
    // (an area stream would open with a fresh snapshot).
    let (_, _, resumed) = events::open(server.addr, "", session, Some(opening.id)).await;
    let resumed = resumed.expect("stream").next().await.expect("resumed");
    assert_eq!(
        (resumed.name.as_str(), resumed.data["upserted"].clone()),
        ("delta", json!([]))
    );
    // A radius short of the farthest point (353.6 units away) is a real area.
    let (_, _, area) = events::open(server.addr, "radius=300", session, None).await;
    let area = area.expect("stream").next().await.expect("area opening");
    assert_eq!(area.data["radius"], json!(300));
}

/// With `--stream-write-interval-ms 1000` a change right after a write waits for the
/// interval, and no event is lost: the second delta follows on from the first.
async fn a_write_interval_holds_the_next_write_back_and_loses_nothing(setup: Setup) {
    let server = setup
        .start_with(|config| {
            config.world_width = 4_000.0;
            config.world_height = 4_000.0;
            config.sync.stream_write_interval_ms = 1_000;
        })
        .await;
    let mut demo = server.demo().await;
    let query = format!("radius={RADIUS}");
    let (_, _, stream) = events::open(server.addr, &query, demo.session.as_deref(), None).await;
    let mut stream = stream.expect("stream");
    let opening = stream.next().await.expect("opening");
    assert_eq!(opening.name, "snapshot");

    // The opening does not start the interval; the first delta's write does. It comes
    // after this instant, so the next write comes at least a second after it.
    let sent = Instant::now();
    let mut deltas = Vec::new();
    for angle in [90, 180] {
        let steered = demo
            .post_json("/api/navigate", json!({"speed": 5, "angle": angle}))
            .await;
        assert_eq!(steered.status, 200);
        let delta = stream.next().await.expect("a delta");
        assert_eq!(
            (delta.name.as_str(), &delta.data["upserted"][0]["angle"]),
            ("delta", &json!(angle))
        );
        deltas.push(delta);
    }
    assert!(
        sent.elapsed() >= std::time::Duration::from_secs(1),
        "the second write waited for the interval"
    );
    assert_eq!(deltas[0].data["since"], json!(opening.id));
    assert_eq!(deltas[1].data["since"], json!(deltas[0].id));
}

// The database repository has no stream (world_sync.rs checks its 404).
each_setup!(
    cached: a_stream_follows_the_area_around_the_ship,
    an_area_holding_the_whole_world_is_the_whole_world_stream,
    a_write_interval_holds_the_next_write_back_and_loses_nothing,
);
