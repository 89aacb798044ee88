//! An edge judges areas by the owner's world, whatever its own world-size flags say.

use game_persistence::testing::TestDatabase;

use crate::http::{Stream, events, request, wait_status};
use crate::nats::{shared, unique_world};
use crate::relay::{SPREAD_4000, register, start};

/// The ids of the objects in a stream's opening `snapshot` event.
fn opening_ids(stream: &Stream) -> Vec<u64> {
    let (_, name, data) = events(&stream.text())
        .into_iter()
        .next()
        .expect("an opening event");
    assert_eq!(name, "snapshot");
    let mut ids: Vec<u64> = data["spaceObjects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| o["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_with_other_size_flags_serves_the_owners_areas() {
    let Some(nats) = shared() else { return };
    let db = TestDatabase::sqlite();
    let world = unique_world("size");
    // A 4,000-unit world with ships spread over it; the edge keeps the default 500 × 500
    // flags, in which the default radius would cover everything.
    let owner = start(&db, &nats, &world, false, &SPREAD_4000).await;
    wait_status(owner.addr(), "/readyz", 200).await;
    let edge = start(&db, &nats, &world, true, &[]).await;
    wait_status(edge.addr(), "/readyz", 200).await;
    let cookie = register(owner.addr(), "farpilot").await;

    let on_owner = Stream::open(owner.addr(), "/api/world/events", &cookie).await;
    let on_edge = Stream::open(edge.addr(), "/api/world/events", &cookie).await;
    for stream in [&on_owner, &on_edge] {
        stream
            .wait_for("its opening", |t| t.contains("event: snapshot"))
            .await;
    }
    let (_, _, text) = request(owner.addr(), "GET", "/api/world", Some(&cookie), "").await;
    let everything: serde_json::Value = serde_json::from_str(&text).expect("world JSON");
    let all = everything["spaceObjects"]
        .as_array()
        .expect("objects")
        .len();
    let area = opening_ids(&on_owner);
    // The new ship at (1000, 2666.7) sees itself but not the demo world around (250, 250).
    assert!(
        area.len() < all,
        "the area {area:?} holds all {all} objects"
    );
    assert_eq!(opening_ids(&on_edge), area);
}
