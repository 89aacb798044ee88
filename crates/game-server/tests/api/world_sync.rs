//! World versions over HTTP: `GET /api/world?since=V` deltas after each kind of change,
//! and the `GET /api/world/events` stream (snapshot, deltas, resumption, revocation,
//! shutdown, the stream cap). The database repository keeps no versions: it answers every
//! `since` with a full snapshot and has no stream.

use game_server::RepoKind;
use serde_json::{Value, json};

use crate::events::{self, EventStream};
use crate::harness::{Setup, T0, TestServer, assert_json, each_setup, start_version};

/// The whole-world stream (the default follows an area around the player's ship).
const WORLD: &str = "area=world";

fn ship(id: i64, speed: f64, angle: f64, at_ms: i64) -> Value {
    json!({"id": id, "type": "player_ship", "x": 250, "y": 250, "speed": speed,
           "angle": angle, "last_position_update_ms": at_ms})
}

/// The delta body `since` → `version` with these changes, answered at `now_ms`.
fn delta(since: u64, version: u64, upserted: Value, removed: Value, now_ms: i64) -> Value {
    json!({"worldSize": {"width": 500, "height": 500}, "version": version, "since": since,
           "full": false, "upserted": upserted, "removed": removed, "currentTime": now_ms})
}

async fn since(client: &mut crate::client::Client, version: u64) -> Value {
    let reply = client.get(&format!("/api/world?since={version}")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()
}

async fn deltas_follow_each_kind_of_change(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let v0 = start_version(setup);
    assert_eq!(demo.get("/api/world").await.json()["version"], json!(v0));
    let bad = demo.get("/api/world?since=-1").await;
    assert_eq!(bad.error().2, "invalid_since");
    assert_eq!(bad.status, 400);

    if setup.repo == RepoKind::Db {
        // No versions: every question is answered in full.
        let full = since(&mut demo, v0).await;
        assert_eq!(
            (full["full"].clone(), full["version"].clone()),
            (json!(true), json!(0))
        );
        assert_eq!(full["spaceObjects"].as_array().map(Vec::len), Some(10));
    } else {
        cached_deltas(&server, &mut demo, v0).await;
    }
}

/// The cached repository's deltas after each kind of change, from version `v0`.
async fn cached_deltas(server: &TestServer, demo: &mut crate::client::Client, v0: u64) {
    let demo = &mut *demo;
    assert_json(
        &since(demo, v0).await,
        &delta(v0, v0, json!([]), json!([]), T0),
    );

    // Navigate: the ship's stored state, one version.
    server.advance_ms(1_000);
    let steered = demo
        .post_json("/api/navigate", json!({"speed": 10, "angle": 90}))
        .await;
    assert_eq!(steered.status, 200);
    let steered_ship = ship(1, 10.0, 90.0, T0 + 1_000);
    assert_json(
        &since(demo, v0).await,
        &delta(v0, v0 + 1, json!([steered_ship]), json!([]), T0 + 1_000),
    );

    // A new player: its ship joins, one version.
    let mut pilot = server.client();
    pilot.register("pilot").await;
    let pilot_ship_id = pilot.get("/api/session").await.json()["shipId"].clone();
    let pilot_ship = ship(pilot_ship_id.as_i64().expect("id"), 0.0, 0.0, T0 + 1_000);
    assert_json(
        &since(demo, v0 + 1).await,
        &delta(v0 + 1, v0 + 2, json!([pilot_ship]), json!([]), T0 + 1_000),
    );

    // Collect: one removal and one spawn in a single version. Shipwreck 8 starts at
    // (350, 200) and is about 103 units from the new ship after a second.
    let collected = pilot
        .post_json("/api/collect", json!({"objectId": 8}))
        .await;
    assert_eq!(collected.status, 200, "{:?}", collected.body);
    let answer = since(demo, v0 + 2).await;
    assert_eq!(answer["version"], json!(v0 + 3));
    assert_eq!(answer["removed"], json!([8]));
    let spawned = answer["upserted"].as_array().expect("upserted").clone();
    assert_eq!(spawned.len(), 1);
    let world = demo.get("/api/world").await.json();
    let listed = world["spaceObjects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == spawned[0]["id"])
        .cloned()
        .expect("the spawned object is in the world");
    // It was stored at this very time, so its stored state is its position now.
    assert_json(&spawned[0], &listed);
    // From the start: the latest state of everything changed, the removal.
    let all = since(demo, v0).await;
    assert_eq!(all["upserted"].as_array().map(Vec::len), Some(3));
    assert_eq!(all["removed"], json!([8]));
    // Too old or from the future: the whole world, marked full.
    let full = since(demo, v0 + 99).await;
    assert_eq!(
        (full["full"].clone(), full["version"].clone()),
        (json!(true), json!(v0 + 3))
    );
    assert_eq!(full["spaceObjects"].as_array().map(Vec::len), Some(11));
}

async fn next(stream: &mut EventStream) -> events::Event {
    stream.next().await.expect("an event")
}

async fn the_stream_sends_a_snapshot_then_deltas_and_resumes(setup: Setup) {
    let server = setup.start().await;
    let (status, _, refused) = events::open(server.addr, WORLD, None, None).await;
    assert_eq!(
        (status, refused.err().map(|e| e["code"].clone())),
        (401, Some(json!("not_authenticated")))
    );
    let demo = server.demo().await;
    let session = demo.session.clone();
    let (status, content_type, stream) =
        events::open(server.addr, WORLD, session.as_deref(), None).await;
    if setup.repo == RepoKind::Db {
        assert_eq!(status, 404);
        assert_eq!(
            stream.err().map(|e| e["code"].clone()),
            Some(json!("stream_unavailable"))
        );
    } else {
        assert_eq!(
            (status, content_type.as_deref()),
            (200, Some("text/event-stream"))
        );
        cached_stream(&server, demo, stream.expect("stream")).await;
    }
}

/// The cached repository's stream, opened by `demo`: its snapshot, deltas, resumption
/// and end at logout.
async fn cached_stream(server: &TestServer, demo: crate::client::Client, mut stream: EventStream) {
    let session = demo.session.clone();
    let setup = server.setup;
    let v0 = start_version(setup);
    let snapshot = next(&mut stream).await;
    assert_eq!((snapshot.id, snapshot.name.as_str()), (v0, "snapshot"));
    assert_eq!(snapshot.data["full"], json!(true));
    assert_eq!(snapshot.data["version"], json!(v0));
    assert_eq!(
        snapshot.data["spaceObjects"].as_array().map(Vec::len),
        Some(10)
    );

    let mut demo = demo;
    server.advance_ms(500);
    let steered = demo.post_json("/api/navigate", json!({"angle": 45})).await;
    assert_eq!(steered.status, 200);
    let change = next(&mut stream).await;
    assert_eq!((change.id, change.name.as_str()), (v0 + 1, "delta"));
    assert_json(
        &change.data,
        &delta(
            v0,
            v0 + 1,
            json!([ship(1, 0.0, 45.0, T0 + 500)]),
            json!([]),
            T0 + 500,
        ),
    );

    // Resuming: from a known version a delta, from an unknown one a snapshot.
    let (_, _, resumed) = events::open(server.addr, WORLD, session.as_deref(), Some(v0)).await;
    let resumed = next(&mut resumed.expect("stream")).await;
    assert_eq!((resumed.id, resumed.name.as_str()), (v0 + 1, "delta"));
    assert_eq!(resumed.data["upserted"], change.data["upserted"]);
    let (_, _, current) = events::open(server.addr, WORLD, session.as_deref(), Some(v0 + 1)).await;
    let current = next(&mut current.expect("stream")).await;
    assert_eq!(
        (current.id, current.data["upserted"].clone()),
        (v0 + 1, json!([]))
    );
    let (_, _, too_old) = events::open(server.addr, WORLD, session.as_deref(), Some(5)).await;
    let too_old = next(&mut too_old.expect("stream")).await;
    assert_eq!((too_old.id, too_old.name.as_str()), (v0 + 1, "snapshot"));

    // Logging out ends the session's streams.
    assert_eq!(demo.post("/api/logout", "").await.status, 200);
    assert_eq!(stream.next().await, None);
    assert!(server.metric("spacewars_world_streams_opened_total").await >= Some(4.0));
}

async fn shutdown_ends_streams_and_the_cap_refuses_more(setup: Setup) {
    let server = setup.start_with(|config| config.sync.max_streams = 1).await;
    let demo = server.demo().await;
    let session = demo.session.as_deref();
    let (_, _, stream) = events::open(server.addr, WORLD, session, None).await;
    let mut stream = stream.expect("stream");
    assert_eq!(next(&mut stream).await.name, "snapshot");
    let (status, _, refused) = events::open(server.addr, WORLD, session, None).await;
    assert_eq!(
        (status, refused.err().map(|e| e["code"].clone())),
        (503, Some(json!("too_many_streams")))
    );
    stop_ends(server, stream).await;
}

async fn stop_ends(server: TestServer, mut stream: EventStream) {
    let stopping = tokio::spawn(server.stop());
    assert_eq!(stream.next().await, None);
    stopping.await.expect("task").expect("clean stop");
}

/// The world body is made once per version and millisecond and reused: a change within
/// the same millisecond must still show at once.
async fn a_change_shows_in_the_same_millisecond(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let first = demo.get("/api/world").await;
    let again = demo.get("/api/world").await;
    assert_eq!(first.body, again.body);
    let ship_of = |reply: &crate::client::Reply| {
        reply.json()["spaceObjects"]
            .as_array()
            .and_then(|objects| objects.iter().find(|o| o["id"] == json!(1)).cloned())
            .expect("the demo ship")
    };
    assert_json(&ship_of(&first), &ship(1, 0.0, 0.0, T0));
    let steered = demo
        .post_json("/api/navigate", json!({"speed": 10, "angle": 90}))
        .await;
    assert_eq!(steered.status, 200);
    // Several reads: the encoded body is remembered per worker thread, so a stale one
    // would show only on the thread that served the first reads.
    for _ in 0..8 {
        let after = demo.get("/api/world").await;
        assert_json(&ship_of(&after), &ship(1, 10.0, 90.0, T0));
        assert_eq!(after.json()["currentTime"], json!(T0));
    }
}

each_setup!(
    a_change_shows_in_the_same_millisecond,
    deltas_follow_each_kind_of_change,
    the_stream_sends_a_snapshot_then_deltas_and_resumes,
);

// The database repository has no stream (`404 stream_unavailable`, checked above).
each_setup!(cached: shutdown_ends_streams_and_the_cap_refuses_more);
