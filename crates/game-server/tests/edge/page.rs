//! The web client behind the shipped balancer config (`deploy/haproxy-edges.cfg`): the
//! page and every API call go to the owner, its world stream to the edge, and the player
//! does not notice.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::key::Key;
use game_persistence::testing::TestDatabase;
use serde_json::Value;
use tokio::time::Instant;

use crate::balancer;
use crate::driver::{Browser, Window};
use crate::http::{PATIENCE, request, wait_status};
use crate::nats::{shared, unique_world};
use crate::relay::{navigate, register, start};

/// `spacewars_world_streams_open` in the `/metrics` of the process at `addr`.
async fn streams_open(addr: std::net::SocketAddr) -> u64 {
    let (status, _, text) = request(addr, "GET", "/metrics", None, "").await;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|line| line.strip_prefix("spacewars_world_streams_open "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no spacewars_world_streams_open in {text}"))
}

/// Polls until the process at `addr` has `open` streams open.
async fn wait_streams_open(addr: std::net::SocketAddr, open: u64) {
    let deadline = Instant::now() + PATIENCE;
    while streams_open(addr).await != open {
        assert!(
            Instant::now() < deadline,
            "{addr} never had {open} streams open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The angle of ship `id` in the owner's `GET /api/world`, asked with `cookie`.
async fn angle_on_owner(owner: std::net::SocketAddr, cookie: &str, id: &Value) -> f64 {
    let (_, _, text) = request(owner, "GET", "/api/world", Some(cookie), "").await;
    let world: Value = serde_json::from_str(&text).expect("world JSON");
    world["spaceObjects"]
        .as_array()
        .and_then(|objects| objects.iter().find(|o| &o["id"] == id))
        .and_then(|ship| ship["angle"].as_f64())
        .unwrap_or_else(|| panic!("ship {id} not in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_behind_the_balancer_plays_with_the_stream_on_an_edge() {
    let Some(nats) = shared() else { return };
    let db = TestDatabase::sqlite();
    let world = unique_world("page");
    let owner = start(&db, &nats, &world, false, &[]).await;
    wait_status(owner.addr(), "/readyz", 200).await;
    let edge = start(&db, &nats, &world, true, &[]).await;
    wait_status(edge.addr(), "/readyz", 200).await;
    let dir = tempfile::tempdir().expect("a directory");
    let Some(haproxy) = balancer::start(dir.path(), owner.addr(), edge.addr()).await else {
        return;
    };
    let desktop = Window::Desktop {
        width: 1280,
        height: 900,
    };
    let base = format!("http://{}", haproxy.addr());
    let Some(browser) = Browser::start("edge-page", base, desktop).await else {
        return;
    };

    // The page comes from the owner (an edge would answer 421), and so does registering.
    browser.open("/").await;
    browser
        .wait_for("the sign-in form", |page| page["view"] == "auth")
        .await;
    browser.fill("#username", "edgepage").await;
    browser.fill("#password", "edge-page-secret").await;
    browser.click("#register").await;
    let page = browser
        .wait_for("the game view, streaming", |page| {
            page["view"] == "game" && page["syncMode"] == "stream" && page["connected"] == true
        })
        .await;
    browser.screenshot("1-behind-the-balancer").await;
    // Its stream is the edge's.
    wait_streams_open(edge.addr(), 1).await;
    assert_eq!(streams_open(owner.addr()).await, 0);

    // Another player's new ship, made on the owner, reaches the page through NATS and the
    // edge; so does its new course.
    let known = page["objectsKnown"].as_u64().expect("objects known");
    let other = register(owner.addr(), "otherpilot").await;
    browser
        .wait_for("the other player's ship", |page| {
            page["objectsKnown"].as_u64() == Some(known + 1)
        })
        .await;
    let before = browser.snapshot().await["version"].as_u64();
    navigate(owner.addr(), &other, 90.0, 10.0).await;
    browser
        .wait_for("the other player's new course", |page| {
            page["version"].as_u64() > before
        })
        .await;

    // Steering by key goes to the owner, which then has the page's course ...
    let after_other = browser.snapshot().await["version"].as_u64();
    let ship_id = page["shipId"].clone();
    let angle = angle_on_owner(owner.addr(), &other, &ship_id).await;
    let canvas = browser
        .client
        .find(Locator::Id("space"))
        .await
        .expect("canvas");
    canvas
        .send_keys(&Key::Right.to_string())
        .await
        .expect("right");
    let turned = (angle + 15.0) % 360.0;
    let deadline = Instant::now() + PATIENCE;
    while angle_on_owner(owner.addr(), &other, &ship_id).await != turned {
        assert!(Instant::now() < deadline, "the owner never had the turn");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ... and the change comes back to the page through the edge.
    browser
        .wait_for("the turn's change on the page", |page| {
            page["version"].as_u64() > after_other
        })
        .await;

    // Logging out on the page ends its stream on the edge.
    browser.click("#logout").await;
    browser
        .wait_for("sign-in after logout", |page| page["view"] == "auth")
        .await;
    wait_streams_open(edge.addr(), 0).await;
    browser.screenshot("2-logged-out").await;
    browser.close().await;
}
