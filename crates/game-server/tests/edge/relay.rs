//! An owner and an edge on one SQLite file and one NATS: the edge's streams show what
//! the owner's show, end on logout and when NATS goes, and come back with it.

use std::net::SocketAddr;
use std::time::Duration;

use game_persistence::testing::TestDatabase;
use spacewars_harness::server_process::ServerProcess;
use tokio::process::Command;

use crate::http::{Stream, events, request, wait_status, world_of};
use crate::nats::{OwnNats, shared, unique_world};

/// Starts the binary on `db` as an owner (or, with `edge`, an edge) relaying `world`
/// through `nats`, with `extra` flags; returns once it listens.
pub async fn start(
    db: &TestDatabase,
    nats: &str,
    world: &str,
    edge: bool,
    extra: &[&str],
) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_game-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--database-url", db.url()])
        .args(["--argon2-memory-kib", "256", "--argon2-iterations", "1"])
        .args(["--rate-limits", "off", "--log-level", "info"])
        .args(["--nats", nats, "--world", world]);
    if edge {
        command.arg("--edge");
    }
    command.args(extra);
    let name = if edge { "edge" } else { "owner" };
    ServerProcess::spawn_listening(command, name.into(), Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// The flags of a 4,000-unit world with ships spread over it (of 15 × 15 fan-out cells),
/// where an area of a few hundred units holds a small part of the world.
pub const SPREAD_4000: [&str; 6] = [
    "--world-width",
    "4000",
    "--world-height",
    "4000",
    "--spawn",
    "spread",
];

/// Registers `name` on the owner; its session cookie.
pub async fn register(owner: SocketAddr, name: &str) -> String {
    let body = format!(r#"{{"username":"{name}","password":"correct horse battery"}}"#);
    let (status, cookie, text) = request(owner, "POST", "/api/register", None, &body).await;
    assert_eq!(status, 200, "{text}");
    cookie.expect("a session cookie")
}

pub async fn navigate(owner: SocketAddr, cookie: &str, angle: f64, speed: f64) {
    let body = format!(r#"{{"angle":{angle},"speed":{speed}}}"#);
    let (status, _, text) = request(owner, "POST", "/api/navigate", Some(cookie), &body).await;
    assert_eq!(status, 200, "{text}");
}

/// The player's ship id (`GET /api/session`).
pub async fn ship_of(owner: SocketAddr, cookie: &str) -> u64 {
    let (_, _, session) = request(owner, "GET", "/api/session", Some(cookie), "").await;
    let session: serde_json::Value = serde_json::from_str(&session).expect("session JSON");
    session
        .get("shipId")
        .and_then(serde_json::Value::as_u64)
        .expect("the ship's id")
}

/// An object's id, kind and (speed, angle).
pub type Course = (u64, String, Option<(f64, f64)>);

/// Every object's kind and course, by id.
pub fn courses(world: &std::collections::BTreeMap<u64, serde_json::Value>) -> Vec<Course> {
    world
        .iter()
        .map(|(id, object)| {
            let kind = object.get("type").and_then(serde_json::Value::as_str);
            (*id, kind.unwrap_or_default().to_owned(), course(world, *id))
        })
        .collect()
}

/// The ship of the player in a stream's world: (speed, angle).
pub fn course(
    world: &std::collections::BTreeMap<u64, serde_json::Value>,
    ship: u64,
) -> Option<(f64, f64)> {
    let object = world.get(&ship)?;
    Some((
        object.get("speed")?.as_f64()?,
        object.get("angle")?.as_f64()?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edges_streams_show_the_owners_world_and_end_on_logout() {
    let Some(nats) = shared() else { return };
    let db = TestDatabase::sqlite();
    let world = unique_world("same");
    let owner = start(&db, &nats, &world, false, &[]).await;
    wait_status(owner.addr(), "/readyz", 200).await;
    let edge = start(&db, &nats, &world, true, &[]).await;
    wait_status(edge.addr(), "/readyz", 200).await;
    let cookie = register(owner.addr(), "edgepilot").await;
    let ship = ship_of(owner.addr(), &cookie).await;

    // Everything else is the owner's.
    let (status, _, text) = request(edge.addr(), "GET", "/api/world", Some(&cookie), "").await;
    assert_eq!(status, 421);
    assert!(text.contains(r#""code":"edge_only_streams""#), "{text}");

    let paths = [
        "/api/world/events?area=world",
        "/api/world/events?radius=300",
    ];
    let mut on_owner = Vec::new();
    let mut on_edge = Vec::new();
    for path in paths {
        on_owner.push(Stream::open(owner.addr(), path, &cookie).await);
        on_edge.push(Stream::open(edge.addr(), path, &cookie).await);
    }
    for stream in on_owner.iter().chain(&on_edge) {
        stream
            .wait_for("its opening", |t| t.contains("event: snapshot"))
            .await;
    }
    // A scripted game: three course changes.
    for (angle, speed) in [(1.0, 5.0), (2.0, 10.0), (0.5, 20.0)] {
        navigate(owner.addr(), &cookie, angle, speed).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    for (owners, edges) in on_owner.iter().zip(&on_edge) {
        for stream in [owners, edges] {
            stream
                .wait_for("the last course", |t| {
                    course(&world_of(t).0, ship) == Some((20.0, 0.5))
                })
                .await;
        }
        // Both converge to the same world at the same version: the same objects on the
        // same courses (positions in a snapshot are advanced to its own moment), and the
        // ship's stored state exactly.
        let deadline = tokio::time::Instant::now() + crate::http::PATIENCE;
        loop {
            let (theirs, ours) = (world_of(&owners.text()), world_of(&edges.text()));
            if (courses(&theirs.0), theirs.1) == (courses(&ours.0), ours.1)
                && theirs.0.get(&ship) == ours.0.get(&ship)
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the edge's stream never matched the owner's:\nowner {theirs:?}\nedge {ours:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (status, _, _) = request(owner.addr(), "POST", "/api/logout", Some(&cookie), "").await;
    assert_eq!(status, 200);
    for stream in &on_edge {
        stream.wait_end().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_nats_ends_edge_streams_with_relay_lost_until_it_returns() {
    if shared().is_none() {
        return;
    }
    let Some(mut nats) = OwnNats::start().await else {
        return;
    };
    let db = TestDatabase::sqlite();
    let world = unique_world("kill");
    let owner = start(&db, &nats.url(), &world, false, &[]).await;
    wait_status(owner.addr(), "/readyz", 200).await;
    let edge = start(&db, &nats.url(), &world, true, &[]).await;
    wait_status(edge.addr(), "/readyz", 200).await;
    let cookie = register(owner.addr(), "killpilot").await;
    let stream = Stream::open(edge.addr(), "/api/world/events?area=world", &cookie).await;
    stream
        .wait_for("its opening", |t| t.contains("event: snapshot"))
        .await;

    nats.kill().await;
    stream.wait_end().await;
    let last = events(&stream.text()).pop().expect("an event");
    assert_eq!(
        (last.1.as_str(), last.2),
        ("ended", serde_json::json!({"reason": "relay_lost"}))
    );
    wait_status(edge.addr(), "/readyz", 503).await;
    let (status, _, text) = request(
        edge.addr(),
        "GET",
        "/api/world/events?area=world",
        Some(&cookie),
        "",
    )
    .await;
    assert_eq!(status, 503, "{text}");

    nats.restart().await;
    wait_status(edge.addr(), "/readyz", 200).await;
    let again = Stream::open(edge.addr(), "/api/world/events?area=world", &cookie).await;
    again
        .wait_for("its opening", |t| t.contains("event: snapshot"))
        .await;
    navigate(owner.addr(), &cookie, 1.5, 7.0).await;
    let ship = ship_of(owner.addr(), &cookie).await;
    again
        .wait_for("the new course", |t| {
            course(&world_of(t).0, ship) == Some((7.0, 1.5))
        })
        .await;
}
