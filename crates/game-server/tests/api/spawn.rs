//! `--spawn spread` over TCP: a registered player's ship starts at the Halton point of its
//! user id, scaled to the world, instead of the rules' spawn point; the demo player, seeded
//! before any registration, keeps the spawn point.

use game_server::SpawnKind;
use serde_json::Value;

use crate::client::Client;
use crate::harness::{Setup, each_setup};

/// Where `client`'s ship is, read from `/api/world` (the ship is still, so the position
/// at any time is the stored one, up to the last bit: serving wraps it into the world).
async fn ship_position(client: &mut Client) -> (f64, f64) {
    let ship = client.get("/api/session").await.json()["shipId"].clone();
    let world = client.get("/api/world").await.json();
    let objects = world["spaceObjects"].as_array().expect("objects");
    let own: &Value = objects
        .iter()
        .find(|o| o["id"] == ship)
        .expect("the ship is in the world");
    assert_eq!(own["speed"], 0.0);
    (own["x"].as_f64().expect("x"), own["y"].as_f64().expect("y"))
}

async fn spread_spawn_places_ships_by_user_id(setup: Setup) {
    let server = setup
        .start_with(|config| {
            config.spawn = SpawnKind::Spread;
            config.world_width = 1_000.0;
            config.world_height = 800.0;
        })
        .await;
    let mut demo = server.demo().await;
    assert_eq!(ship_position(&mut demo).await, (250.0, 250.0));
    // The demo player is user 1; the next are 2 and 3. In base 2, 2 is 10 (mirrored 0.01,
    // a quarter) and 3 is 11 (0.11, three quarters); in base 3, 2 is 2 (0.2, two thirds)
    // and 3 is 10 (0.01, a ninth).
    let mut pilot = server.client();
    pilot.register("pilot").await;
    assert_near(
        ship_position(&mut pilot).await,
        (1_000.0 * 0.25, 800.0 * (2.0 / 3.0)),
    );
    let mut second = server.client();
    second.register("second").await;
    assert_near(
        ship_position(&mut second).await,
        (1_000.0 * 0.75, 800.0 * (1.0 / 9.0)),
    );
}

fn assert_near(actual: (f64, f64), expected: (f64, f64)) {
    let close = (actual.0 - expected.0).abs() < 1e-9 && (actual.1 - expected.1).abs() < 1e-9;
    assert!(close, "ship at {actual:?}, expected {expected:?}");
}

each_setup!(spread_spawn_places_ships_by_user_id);
