//! An edge follows only the cells its area streams need: a few of the world's cells for
//! one player, more as the ship crosses into new ones (and the stream stays the owner's),
//! the whole world while a whole-world stream is open.

use std::net::SocketAddr;
use std::time::Duration;

use game_persistence::testing::TestDatabase;
use tokio::time::Instant;

use crate::http::{PATIENCE, Stream, request, wait_status, world_of};
use crate::nats::{shared, unique_world};
use crate::relay::{SPREAD_4000, course, courses, navigate, register, ship_of, start};

/// The value of an edge's metric (a gauge or counter without labels).
pub async fn metric(edge: SocketAddr, name: &str) -> u64 {
    let (status, _, text) = request(edge, "GET", "/metrics", None, "").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// Waits until `name` on `edge` satisfies `done`; its value then.
pub async fn wait_metric(edge: SocketAddr, name: &str, done: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = metric(edge, name).await;
        if done(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{name} stayed at {value}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the owner's and the edge's area streams show the same objects on the same
/// courses, and the ship's stored state exactly.
async fn converge(owner: &Stream, edge: &Stream, ship: u64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (theirs, ours) = (world_of(&owner.text()).0, world_of(&edge.text()).0);
        if courses(&theirs) == courses(&ours) && theirs.get(&ship) == ours.get(&ship) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the edge's area never matched the owner's:\nowner {theirs:?}\nedge {ours:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_follows_the_cells_of_its_areas_as_a_ship_crosses_them() {
    let Some(nats) = shared() else { return };
    let db = TestDatabase::sqlite();
    let world = unique_world("follow");
    let owner = start(&db, &nats, &world, false, &SPREAD_4000).await;
    wait_status(owner.addr(), "/readyz", 200).await;
    let edge = start(&db, &nats, &world, true, &SPREAD_4000).await;
    wait_status(edge.addr(), "/readyz", 200).await;
    let cookie = register(owner.addr(), "cellpilot").await;
    let ship = ship_of(owner.addr(), &cookie).await;
    // No stream yet: no cell followed.
    assert_eq!(
        metric(edge.addr(), "spacewars_edge_cell_subscriptions").await,
        0
    );

    let path = "/api/world/events?radius=300";
    let on_owner = Stream::open(owner.addr(), path, &cookie).await;
    let on_edge = Stream::open(edge.addr(), path, &cookie).await;
    for stream in [&on_owner, &on_edge] {
        stream
            .wait_for("its opening", |t| t.contains("event: snapshot"))
            .await;
    }
    converge(&on_owner, &on_edge, ship).await;
    // A radius of 300 and its margins span at most 5 of the 15 cells each way.
    let first = metric(edge.addr(), "spacewars_edge_cell_subscriptions").await;
    assert!((4..=25).contains(&first), "{first} cells of 225");
    assert_eq!(metric(edge.addr(), "spacewars_edge_whole_world").await, 0);
    let joined = metric(edge.addr(), "spacewars_edge_cells_joined_total").await;

    // 1,000 units a minute along +x for 20 s: 330 units, past at least one cell border.
    navigate(owner.addr(), &cookie, 0.0, 20.0).await;
    wait_metric(edge.addr(), "spacewars_edge_cells_joined_total", |n| {
        n > joined
    })
    .await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    navigate(owner.addr(), &cookie, 0.0, 0.0).await;
    for stream in [&on_owner, &on_edge] {
        stream
            .wait_for("the ship at rest", |t| {
                course(&world_of(t).0, ship).is_some_and(|(speed, _)| speed == 0.0)
            })
            .await;
    }
    // At rest, the edge's area is the owner's again, though its cells changed meanwhile;
    // and the cells it left were let go of.
    converge(&on_owner, &on_edge, ship).await;
    wait_metric(edge.addr(), "spacewars_edge_cell_subscriptions", |n| {
        (4..=25).contains(&n)
    })
    .await;
    assert!(!on_edge.has_ended());

    // A whole-world stream needs the whole world: the wildcard, one subscription.
    let everything = Stream::open(edge.addr(), "/api/world/events?area=world", &cookie).await;
    everything
        .wait_for("its opening", |t| t.contains("event: snapshot"))
        .await;
    assert_eq!(metric(edge.addr(), "spacewars_edge_whole_world").await, 1);
    assert_eq!(
        metric(edge.addr(), "spacewars_edge_cell_subscriptions").await,
        1
    );
    drop(everything);
    // Once it has gone (and the hold has passed), cells again; the area is still right.
    wait_metric(edge.addr(), "spacewars_edge_whole_world", |n| n == 0).await;
    converge(&on_owner, &on_edge, ship).await;
}
