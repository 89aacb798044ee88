//! Every endpoint's success shape, with exact values (manual clock, seeded RNG): sessions,
//! the world, the stats and the operations endpoints. The game's actions (research,
//! navigate, collect) are in `actions`.

use game_domain::geometry::WorldSize;
use game_domain::seed::demo_objects;
use game_domain::space_object::{ObjectKind, ObjectState, SpaceObject};
use game_domain::views::WorldView;
use serde_json::{Value, json};

use crate::harness::{Setup, T0, assert_json, each_setup, start_version};

each_setup!(
    session_lifecycle_register_login_logout,
    world_is_the_demo_world_moving_with_time,
    user_stats_accrue_iron_per_second,
    ship_stats_of_a_new_player,
    health_readiness_and_metrics,
);

/// The demo world (ship 1 at the spawn point, objects 2 to 10) as of `now_ms`, at the
/// version a server of `setup` starts with (nothing changed yet).
fn demo_world(setup: Setup, now_ms: i64) -> Value {
    let size = WorldSize::DEFAULT;
    let ship = ObjectState {
        kind: ObjectKind::PlayerShip,
        x: 250.0,
        y: 250.0,
        speed: 0.0,
        angle: 0.0,
        last_position_update_ms: T0,
    };
    let space_objects: Vec<SpaceObject> = std::iter::once(ship)
        .chain(demo_objects(T0))
        .zip(1..)
        .map(|(state, id)| state.with_id(id).at(now_ms, size))
        .collect();
    serde_json::to_value(WorldView {
        world_size: size,
        space_objects,
        current_time: now_ms,
        version: start_version(setup),
    })
    .expect("json")
}

async fn session_lifecycle_register_login_logout(setup: Setup) {
    let server = setup.start().await;
    let mut first = server.client();
    let reply = first.get("/api/session").await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({"loggedIn": false}))
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let reply = first
        .post_json(
            "/api/register",
            json!({"username": "pilot", "password": "secret"}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({"success": true}))
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let cookie = reply.header("set-cookie").expect("cookie");
    let token = first.session.clone().expect("session");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        cookie,
        format!(
            // 24 h (docs/http-api.md): 86,400 s.
            "spacewars-session={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400"
        )
    );

    let session = first.get("/api/session").await.json();
    assert_eq!(
        (session["loggedIn"].clone(), session["username"].clone()),
        (json!(true), json!("pilot"))
    );
    let ship_id = session["shipId"].as_i64().expect("ship id");
    let world = first.get("/api/world").await.json();
    let ship = world["spaceObjects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == json!(ship_id))
        .expect("the new ship is in the world")
        .clone();
    assert_json(
        &ship,
        &json!({"id": ship_id, "type": "player_ship", "x": 250, "y": 250, "speed": 0,
                "angle": 0, "last_position_update_ms": T0}),
    );

    // A second session for the same player, by login.
    let mut second = server.client();
    let reply = second.login("pilot", "secret").await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({"success": true}))
    );
    assert_ne!(second.session, first.session);
    assert_eq!(
        second.get("/api/session").await.json(),
        json!({"loggedIn": true, "username": "pilot", "shipId": ship_id})
    );

    // Logout ends only that session, and clears the cookie.
    let old = first.session.clone();
    let reply = first.post("/api/logout", "").await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({"success": true}))
    );
    assert_eq!(
        reply.header("set-cookie"),
        Some("spacewars-session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
    );
    assert_eq!(first.session, None);
    first.session = old;
    assert_eq!(
        first.get("/api/session").await.json(),
        json!({"loggedIn": false})
    );
    assert_eq!(first.get("/api/world").await.status, 401);
    assert_eq!(second.get("/api/world").await.status, 200);

    // Logging out without a session is harmless.
    let reply = server.client().post("/api/logout", "").await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({"success": true}))
    );

    // The demo user is seeded.
    let mut demo = server.demo().await;
    assert_eq!(
        demo.get("/api/session").await.json(),
        json!({"loggedIn": true, "username": "a", "shipId": 1})
    );
}

async fn world_is_the_demo_world_moving_with_time(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let reply = demo.get("/api/world").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_json(&reply.json(), &demo_world(setup, T0));
    assert_json(
        &reply.json()["worldSize"],
        &json!({"width": 500, "height": 500}),
    );

    server.advance_ms(6_000);
    let world = demo.get("/api/world").await.json();
    assert_json(&world, &demo_world(setup, T0 + 6_000));
    // Asteroid 2 (100, 150), speed 10 heading 0°: 6 s at 10 · 50 / 60 units/s = 50 units.
    assert_json(
        &world["spaceObjects"][1],
        &json!({"id": 2, "type": "asteroid", "x": 150, "y": 150, "speed": 10, "angle": 0,
                "last_position_update_ms": T0 + 6_000}),
    );
    assert_eq!(world["currentTime"], json!(T0 + 6_000));
}

async fn user_stats_accrue_iron_per_second(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let reply = demo.get("/api/user-stats").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        String::from_utf8_lossy(&reply.body),
        format!(
            r#"{{"iron":1000,"last_updated":{},"ironPerSecond":1}}"#,
            T0 / 1000
        )
    );
    assert_json(
        &reply.json(),
        &json!({"iron": 1000, "last_updated": T0 / 1000, "ironPerSecond": 1}),
    );
    server.advance_ms(10_500);
    assert_json(
        &demo.get("/api/user-stats").await.json(),
        &json!({"iron": 1010, "last_updated": T0 / 1000 + 10, "ironPerSecond": 1}),
    );
    let mut fresh = server.client();
    fresh.register("newbie").await;
    assert_json(
        &fresh.get("/api/user-stats").await.json(),
        &json!({"iron": 0, "last_updated": T0 / 1000 + 10, "ironPerSecond": 1}),
    );
}

async fn ship_stats_of_a_new_player(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let reply = demo.get("/api/ship-stats").await;
    assert_eq!(reply.status, 200);
    // Byte for byte as the original printed it: integral numbers without a fraction.
    assert_eq!(
        String::from_utf8_lossy(&reply.body),
        format!(
            r#"{{"x":250,"y":250,"speed":0,"angle":0,"maxSpeed":25,"last_position_update_ms":{T0}}}"#
        )
    );
    assert_json(
        &reply.json(),
        &json!({"x": 250, "y": 250, "speed": 0, "angle": 0, "maxSpeed": 25,
                "last_position_update_ms": T0}),
    );
}

async fn health_readiness_and_metrics(setup: Setup) {
    let server = setup.start().await;
    let mut client = server.client();
    let reply = client.get("/healthz").await;
    assert_eq!((reply.status, reply.json()), (200, json!({"status": "ok"})));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let reply = client.get("/readyz").await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({"status": "ready"}))
    );
    assert_eq!(client.get("/api/world").await.status, 401);
    assert_eq!(client.get("/api/nowhere").await.status, 404);

    let reply = client.get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let page = String::from_utf8(reply.body.to_vec()).expect("utf-8");
    for line in [
        "# TYPE spacewars_http_requests_total counter",
        "spacewars_http_requests_total{route=\"/healthz\",status=\"200\"} 1",
        "spacewars_http_requests_total{route=\"/readyz\",status=\"200\"} 1",
        "spacewars_http_requests_total{route=\"/api/world\",status=\"401\"} 1",
        "spacewars_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
        "# TYPE spacewars_http_request_duration_seconds histogram",
        "spacewars_http_request_duration_seconds_count{route=\"/healthz\"} 1",
        "spacewars_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1",
        "# TYPE spacewars_db_round_trips_total counter",
    ] {
        assert!(
            page.lines().any(|l| l == line),
            "missing {line:?} in\n{page}"
        );
    }
    let cache_lines = [
        "# TYPE spacewars_cache_hits_total counter",
        "# TYPE spacewars_cache_misses_total counter",
        "# TYPE spacewars_cache_evictions_total counter",
        "# TYPE spacewars_dirty_users gauge",
        "# TYPE spacewars_dirty_objects gauge",
        "# TYPE spacewars_flushes_total counter",
        "# TYPE spacewars_flush_failures_total counter",
        "# TYPE spacewars_last_flush_duration_seconds gauge",
        "# TYPE spacewars_lock_acquisitions_total counter",
        "spacewars_lock_waiters{level=\"World\"} 0",
        "spacewars_lock_contended_total{level=\"User\"} 0",
    ];
    for line in cache_lines {
        let present = page.lines().any(|l| l == line);
        match setup.repo {
            game_server::RepoKind::Cached => assert!(present, "missing {line:?} in\n{page}"),
            game_server::RepoKind::Db => assert!(!present, "unexpected {line:?} in\n{page}"),
        }
    }
}
