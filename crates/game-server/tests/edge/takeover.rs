//! A takeover of the owner on PostgreSQL, after a clean stop (SIGTERM: the lease is
//! released) or a crash (SIGKILL: the lease expires): the edge's streams stay open, get
//! the new owner's world as a fresh `snapshot` event, and follow it, whether the edge
//! holds the whole world (a whole-world stream is open) or follows some cells.

use game_persistence::testing::TestDatabase;

use crate::follow::{metric, wait_metric};
use crate::http::{Stream, events, wait_status, world_of};
use crate::nats::{shared, unique_world};
use crate::relay::{SPREAD_4000, course, navigate, register, ship_of, start};

const FLAGS: [&str; 4] = ["--lease-ttl-ms", "1500", "--persist-interval-ms", "100"];

/// Both kinds of stream, in the default world: the edge holds the whole world.
const BOTH: [&str; 2] = [
    "/api/world/events?area=world",
    "/api/world/events?radius=300",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_keeps_the_edges_streams_open_and_correct() {
    takeover_after("TERM", &[], &BOTH).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_after_a_crash_keeps_the_edges_streams_open_and_correct() {
    takeover_after("KILL", &[], &BOTH).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_after_a_crash_keeps_an_edge_following_cells_open_and_correct() {
    takeover_after("KILL", &SPREAD_4000, &["/api/world/events?radius=300"]).await;
}

/// The owner (with `world_flags`) gets `signal`; the standby takes over; the edge's
/// streams of `paths` carry on.
async fn takeover_after(signal: &str, world_flags: &[&str], paths: &[&str]) {
    let Some(nats) = shared() else { return };
    let Some(db) = TestDatabase::postgres() else {
        game_persistence::testing::environment::missing(
            "PostgreSQL",
            "SPACEWARS_TEST_PG_URL is not set",
        );
        return;
    };
    let world = unique_world(&format!("takeover-{signal}-{}", paths.len()));
    let owner_flags = [FLAGS.as_slice(), world_flags].concat();
    let mut owner = start(&db, &nats, &world, false, &owner_flags).await;
    wait_status(owner.addr(), "/readyz", 200).await;
    let standby_flags = [owner_flags.as_slice(), &["--standby"]].concat();
    let standby = start(&db, &nats, &world, false, &standby_flags).await;
    let edge = start(&db, &nats, &world, true, &[]).await;
    wait_status(edge.addr(), "/readyz", 200).await;
    let cookie = register(owner.addr(), "handover").await;
    let ship = ship_of(owner.addr(), &cookie).await;
    let whole = u64::from(paths.iter().any(|p| p.ends_with("area=world")));
    let mut streams = Vec::new();
    for path in paths {
        streams.push(Stream::open(edge.addr(), path, &cookie).await);
    }
    // The streams open at once, so the edge may first follow cells for the area and
    // then, when the whole-world stream's demand arrives, switch to the whole world
    // (its streams then get the world afresh). Counted from its settled mode
    // on: a fresh snapshot of the switch is queued before the first course's delta.
    wait_metric(edge.addr(), "spacewars_edge_whole_world", |n| n == whole).await;
    navigate(owner.addr(), &cookie, 1.0, 5.0).await;
    for stream in &streams {
        stream
            .wait_for("the first course", |t| {
                course(&world_of(t).0, ship) == Some((5.0, 1.0))
            })
            .await;
    }
    let opened: Vec<usize> = streams.iter().map(|s| snapshots(&s.text())).collect();

    owner.signal(signal).expect("the signal to the owner");
    owner
        .wait_exit(crate::http::PATIENCE)
        .await
        .expect("the owner stops");
    wait_status(standby.addr(), "/readyz", 200).await;
    // Nothing changed yet: the new owner's beacon alone brings its world to the edge.
    for (stream, before) in streams.iter().zip(&opened) {
        stream
            .wait_for("the new owner's snapshot", |t| snapshots(t) == before + 1)
            .await;
    }
    navigate(standby.addr(), &cookie, 2.0, 9.0).await;
    for (stream, before) in streams.iter().zip(&opened) {
        stream
            .wait_for("the new owner's course", |t| {
                course(&world_of(t).0, ship) == Some((9.0, 2.0))
            })
            .await;
        assert!(!stream.has_ended(), "{}", stream.text());
        assert_eq!(
            snapshots(&stream.text()),
            before + 1,
            "the new owner's world, once"
        );
    }
    assert_eq!(
        metric(edge.addr(), "spacewars_edge_whole_world").await,
        whole
    );
}

/// How many `snapshot` events a stream's text holds (its opening, and each time the edge
/// sent the world afresh).
fn snapshots(text: &str) -> usize {
    events(text)
        .iter()
        .filter(|(_, name, _)| name == "snapshot")
        .count()
}
