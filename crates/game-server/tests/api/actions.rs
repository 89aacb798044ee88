//! The game's actions over HTTP, with exact values (manual clock, seeded RNG): the tech
//! tree and research, navigating, collecting.

use game_domain::accounts::SessionToken;
use game_domain::collect::CollectRoll;
use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectKind, SpaceObject};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::harness::{SEED, Setup, T0, assert_json, each_setup};

each_setup!(
    techtree_matches_the_original_and_research_completes,
    navigate_sets_speed_and_angle_and_the_ship_moves,
    collect_rewards_removes_and_spawns_exactly,
);

/// `/api/techtree` of a new player, as the original server answered it.
fn original_techtree() -> Value {
    json!({
      "techTree": {"ironHarvesting": 1, "shipSpeed": 1, "afterburner": 0},
      "researches": {
        "IronHarvesting": {
          "type": "IronHarvesting", "name": "Iron Harvesting", "level": 1,
          "baseUpgradeCost": 100, "baseUpgradeDuration": 10, "baseValue": 1,
          "upgradeCostIncrease": 2, "baseValueIncrease": {"type": "factor", "value": 1.1},
          "description": "Determines how much iron is harvested per second.",
          "treeKey": "ironHarvesting", "unit": "iron/sec", "nextUpgradeCost": 100,
          "nextUpgradeDuration": 10, "currentEffect": 1, "nextEffect": 1.1
        },
        "shipSpeed": {
          "type": "shipSpeed", "name": "Ship Speed", "level": 1, "baseUpgradeCost": 500,
          "baseUpgradeDuration": 30, "baseValue": 25, "upgradeCostIncrease": 2,
          "baseValueIncrease": {"type": "constant", "value": 5},
          "description": "Determines how fast your ship travels.", "treeKey": "shipSpeed",
          "unit": "units", "nextUpgradeCost": 500, "nextUpgradeDuration": 30,
          "currentEffect": 25, "nextEffect": 30
        },
        "Afterburner": {
          "type": "Afterburner", "name": "Afterburner", "level": 0, "baseUpgradeCost": 5000,
          "baseUpgradeDuration": 120, "baseValue": 100, "upgradeCostIncrease": 1.5,
          "baseValueIncrease": {"type": "factor", "value": 1.2},
          "description": "Gives the spaceship a much higher speed (% speed increase).",
          "treeKey": "afterburner", "unit": "%", "nextUpgradeCost": 5000,
          "nextUpgradeDuration": 120, "currentEffect": 0, "nextEffect": 100
        }
      }
    })
}

async fn techtree_matches_the_original_and_research_completes(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let reply = demo.get("/api/techtree").await;
    assert_eq!(reply.status, 200);
    assert_json(&reply.json(), &original_techtree());

    let reply = demo
        .post_json("/api/trigger-research", json!({"type": "IronHarvesting"}))
        .await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({"success": true}))
    );
    assert_json(
        &demo.get("/api/techtree").await.json()["techTree"],
        &json!({"ironHarvesting": 1, "shipSpeed": 1, "afterburner": 0,
                "activeResearch": {"type": "IronHarvesting", "remainingDuration": 10}}),
    );
    assert_json(
        &demo.get("/api/user-stats").await.json(),
        &json!({"iron": 900, "last_updated": T0 / 1000, "ironPerSecond": 1}),
    );

    server.advance_ms(4_000);
    assert_json(
        &demo.get("/api/techtree").await.json()["techTree"]["activeResearch"],
        &json!({"type": "IronHarvesting", "remainingDuration": 6}),
    );
    server.advance_ms(8_000);
    // Completed after 10 s at 1 iron/s, then 2 s at 1.1 iron/s.
    let stats = demo.get("/api/user-stats").await.json();
    assert!(
        (stats["iron"].as_f64().expect("iron") - 912.2).abs() < 1e-9,
        "{stats}"
    );
    assert_json(&stats["ironPerSecond"], &json!(1.1));
    let tree = demo.get("/api/techtree").await.json();
    assert_json(
        &tree["techTree"],
        &json!({"ironHarvesting": 2, "shipSpeed": 1, "afterburner": 0}),
    );
    assert_json(
        &tree["researches"]["IronHarvesting"]["nextUpgradeCost"],
        &json!(200),
    );
}

async fn navigate_sets_speed_and_angle_and_the_ship_moves(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let reply = demo
        .post_json("/api/navigate", json!({"speed": 10, "angle": -270}))
        .await;
    assert_eq!(reply.status, 200);
    assert_json(
        &reply.json(),
        &json!({"success": true, "speed": 10, "angle": 90, "maxSpeed": 25}),
    );
    server.advance_ms(6_000);
    let expected = SpaceObject {
        id: 1,
        kind: ObjectKind::PlayerShip,
        x: 250.0,
        y: 250.0,
        speed: 10.0,
        angle: 90.0,
        last_position_update_ms: T0,
    }
    .at(T0 + 6_000, WorldSize::DEFAULT);
    let stats = demo.get("/api/ship-stats").await.json();
    assert_json(
        &stats,
        &json!({"x": expected.x, "y": expected.y, "speed": 10, "angle": 90, "maxSpeed": 25,
                "last_position_update_ms": T0 + 6_000}),
    );
    assert_eq!(expected.y, 300.0);

    // Only the angle: the speed stays; the ship was advanced to now first.
    let reply = demo
        .post_json("/api/navigate", json!({"angle": 720.5}))
        .await;
    assert_json(
        &reply.json(),
        &json!({"success": true, "speed": 10, "angle": 0.5, "maxSpeed": 25}),
    );
    let reply = demo.post_json("/api/navigate", json!({"speed": 0})).await;
    assert_json(
        &reply.json(),
        &json!({"success": true, "speed": 0, "angle": 0.5, "maxSpeed": 25}),
    );
    server.advance_ms(60_000);
    let stats = demo.get("/api/ship-stats").await.json();
    assert_json(
        &json!([stats["x"], stats["y"], stats["speed"]]),
        &json!([expected.x, expected.y, 0]),
    );
}

async fn collect_rewards_removes_and_spawns_exactly(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    // The server's RNG drew the login token, then draws the collect roll.
    let mut rng = StdRng::seed_from_u64(SEED);
    SessionToken::issue(&mut rng, 1, T0, 86_400_000);
    let roll = CollectRoll::draw(&mut rng, WorldSize::DEFAULT, T0);

    // Shipwreck 8 at (350, 200) is √(100² + 50²) from the ship at (250, 250).
    let reply = demo.post_json("/api/collect", json!({"objectId": 8})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_json(
        &reply.json(),
        &json!({"success": true, "distance": 12_500f64.sqrt(),
                "ironReward": roll.shipwreck_reward,
                "totalIron": 1000 + roll.shipwreck_reward, "objectType": "shipwreck"}),
    );
    assert_json(
        &demo.get("/api/user-stats").await.json()["iron"],
        &json!(1000 + roll.shipwreck_reward),
    );

    let world = demo.get("/api/world").await.json();
    let objects = world["spaceObjects"].as_array().expect("objects");
    assert_eq!(objects.len(), 10, "one removed, one spawned");
    assert!(objects.iter().all(|o| o["id"] != json!(8)));
    let spawned = objects
        .iter()
        .find(|o| o["id"].as_i64().expect("id") > 10)
        .expect("a new object");
    let id = spawned["id"].as_i64().expect("id");
    assert_json(
        spawned,
        &serde_json::to_value(roll.spawn.with_id(id)).expect("json"),
    );

    // It can be collected only once.
    let reply = demo.post_json("/api/collect", json!({"objectId": 8})).await;
    assert_eq!(
        reply.error(),
        (404, "Object not found".into(), "object_not_found".into())
    );
}
