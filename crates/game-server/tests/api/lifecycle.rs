//! Start-up, shutdown and restart of the in-process server: drain, 503 while shutting
//! down, request timeout, the one-owner lease, state across a restart, and the hot path
//! staying off the database.

use std::time::Duration;

use game_server::{Dependencies, RepoKind, Server, ServerError};
use hyper::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{Connection, request};
use crate::harness::{Setup, T0, TestServer, each_setup, start_version, test_config};
use game_persistence::testing::TestBackend;

each_setup!(
    shutdown_drains_in_flight_requests_and_refuses_new_ones,
    a_second_server_on_the_same_database_is_refused,
    a_server_whose_lease_was_taken_writes_nothing_and_stops,
    state_survives_a_restart,
);

// The database repository's every request reads the database.
each_setup!(cached: hot_path_stays_off_the_database);

/// Sends a request head and the first part of its body, leaving the request in flight.
async fn start_slow_request(
    server: &TestServer,
    token: &str,
    body: &str,
    sent: usize,
) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "POST /api/navigate HTTP/1.1\r\nHost: localhost\r\nCookie: spacewars-session={token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..sent]
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    // Read until the JSON body is complete (the connection may stay open).
    while !String::from_utf8_lossy(&response).trim_end().ends_with('}') {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => response.extend_from_slice(&buffer[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

async fn in_flight(server: &TestServer) -> f64 {
    server
        .metric("spacewars_http_requests_in_flight")
        .await
        .expect("gauge")
}

async fn shutdown_drains_in_flight_requests_and_refuses_new_ones(setup: Setup) {
    let mut server = setup.start().await;
    let demo = server.demo().await;
    let token = demo.session.clone().expect("token");
    let mut idle = Connection::open(server.addr).await;
    let reply = idle
        .send(request(Method::GET, "/healthz", None, None))
        .await
        .expect("healthz");
    assert_eq!(reply.status, 200);

    let body = r#"{"speed":5}"#;
    let mut slow = start_slow_request(&server, &token, body, 8).await;
    // The metrics request counts itself too.
    while in_flight(&server).await < 2.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    server.trigger_shutdown();
    // The listener closes: new connections are refused.
    let mut refused = false;
    for _ in 0..200 {
        if TcpStream::connect(server.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener still accepts");

    // A request on an open keep-alive connection is answered 503 and the connection closed.
    let reply = idle
        .send(request(Method::GET, "/api/session", None, Some(&token)))
        .await
        .expect("answered");
    assert_eq!(
        (reply.status, reply.code()),
        (503, "shutting_down".to_owned())
    );
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(
        !server.is_stopped(),
        "the in-flight request is still draining"
    );

    // The in-flight request completes normally.
    slow.write_all(&body.as_bytes()[8..]).await.expect("write");
    let response = read_response(&mut slow).await;
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains(r#""speed":5"#), "{response}");

    // Then the server stops cleanly, and the change was flushed.
    let server = server.restart().await;
    let mut demo = server.client_with(Some(token));
    assert_eq!(
        demo.get("/api/ship-stats").await.json()["speed"].as_f64(),
        Some(5.0)
    );
}

async fn a_second_server_on_the_same_database_is_refused(setup: Setup) {
    let server = setup.start().await;
    let db = server.database();
    let config = test_config(db.url(), setup.repo);
    let refused = Server::bind(config.clone(), Dependencies::default()).await;
    match refused {
        Err(error @ ServerError::LeaseHeld { .. }) => {
            let message = error.to_string();
            let pid = format!("game-server pid {}", std::process::id());
            assert!(
                message.contains("in use by another server process"),
                "{message}"
            );
            assert!(message.contains(&pid), "{message}");
        }
        Err(other) => panic!("expected LeaseHeld, got {other}"),
        Ok(_) => panic!("a second server started on the same database"),
    }
    // The first server is unaffected and, once stopped, frees the database at once.
    let mut demo = server.demo().await;
    assert_eq!(demo.get("/api/world").await.status, 200);
    server.stop().await.expect("clean stop");
    let second = Server::bind(config, Dependencies::default())
        .await
        .expect("starts after the first stopped");
    drop(second);
}

async fn a_server_whose_lease_was_taken_writes_nothing_and_stops(setup: Setup) {
    let server = setup.start().await;
    let db = server.database();
    // Kept open across the loss: a keep-alive connection that already answered, and a
    // request in flight, which holds the shutdown's drain (and so keeps that connection
    // open) until it ends.
    let demo = server.demo().await;
    let token = demo.session.clone().expect("token");
    let mut kept = Connection::open(server.addr).await;
    let world = request(Method::GET, "/api/world", None, Some(&token));
    assert_eq!(kept.send(world).await.expect("answer").status, 200);
    let mut in_flight = start_slow_request(&server, &token, r#"{"speed":5}"#, 3).await;
    // Another process took the lease over while this one was paused (its renewal task has
    // not run since).
    db.execute("UPDATE lease SET owner = 'thief', token = 'stolen', expires_ms = 9e15");
    let users = db.count("users");
    let reply = server
        .client()
        .post_json(
            "/api/register",
            json!({"username": "late", "password": "secret"}),
        )
        .await;
    assert_eq!(
        reply.error(),
        (
            503,
            "This server no longer owns the database; retry shortly".to_owned(),
            "lease_lost".to_owned()
        )
    );
    assert_eq!(db.count("users"), users);
    assert_eq!(
        db.scalar("(SELECT count(*) FROM lease WHERE token = 'stolen')"),
        1
    );
    // From that moment game requests are refused, not answered from memory (the cached
    // repository has the world in memory), and the connection is closed after it.
    let world = request(Method::GET, "/api/world", None, Some(&token));
    let refused = kept.send(world).await.expect("answer");
    assert_eq!(
        refused.error(),
        (
            503,
            "This server no longer owns the database; retry shortly".to_owned(),
            "lease_lost".to_owned()
        )
    );
    assert_eq!(refused.header("connection"), Some("close"));
    in_flight
        .shutdown()
        .await
        .expect("end the request in flight");
    drop(in_flight);
    // It stops serving on its own and reports why.
    match server.stop().await {
        Err(ServerError::LeaseLost) => {}
        other => panic!("expected LeaseLost, got {other:?}"),
    }
}

async fn state_survives_a_restart(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let mut other_session = server.demo().await;
    let mut pilot = server.client();
    pilot.register("pilot").await;

    let collected = demo.post_json("/api/collect", json!({"objectId": 8})).await;
    assert_eq!(collected.status, 200);
    server.advance_ms(2_000);
    let reply = demo
        .post_json("/api/navigate", json!({"speed": 10, "angle": 45}))
        .await;
    assert_eq!(reply.status, 200);
    let reply = demo
        .post_json("/api/trigger-research", json!({"type": "IronHarvesting"}))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        pilot
            .post_json("/api/navigate", json!({"angle": 180}))
            .await
            .status,
        200
    );
    let logged_out = other_session.session.clone();
    assert_eq!(other_session.post("/api/logout", "").await.status, 200);
    other_session.session = logged_out;
    server.advance_ms(3_000);

    let paths = [
        "/api/world",
        "/api/user-stats",
        "/api/ship-stats",
        "/api/techtree",
    ];
    let mut before = Vec::new();
    for path in paths {
        before.push(demo.get(path).await.json());
    }
    let pilot_ship = pilot.get("/api/ship-stats").await.json();

    let server = server.restart().await;
    let mut demo = server.client_with(demo.session);
    let mut pilot = server.client_with(pilot.session);
    let mut other_session = server.client_with(other_session.session);
    // The restarted cache counts world versions from its own start (time × 1000), so
    // a version from before the restart is older than any of the new history. Apart from
    // the version, the world is the same.
    let version_before = before[0]["version"].take();
    let version_after = demo.get("/api/world").await.json()["version"].take();
    match setup.repo {
        RepoKind::Cached => assert_eq!(
            (version_before, version_after),
            (
                json!(start_version(setup) + 4),
                json!((T0 as u64 + 5_000) * 1_000)
            )
        ),
        RepoKind::Db => assert_eq!((version_before, version_after), (json!(0), json!(0))),
    }
    for (path, expected) in paths.iter().zip(&before) {
        let mut answer = demo.get(path).await.json();
        if *path == "/api/world" {
            answer["version"].take();
        }
        assert_eq!(answer, *expected, "{path} after restart");
    }
    assert_eq!(pilot.get("/api/ship-stats").await.json(), pilot_ship);
    let world = &before[0]["spaceObjects"];
    assert!(
        world
            .as_array()
            .expect("objects")
            .iter()
            .all(|o| o["id"] != json!(8))
    );
    assert_eq!(other_session.get("/api/world").await.status, 401);
    assert_eq!(
        server
            .client()
            .post_json(
                "/api/register",
                json!({"username": "pilot", "password": "x"})
            )
            .await
            .code(),
        "username_taken"
    );
    assert_eq!(server.client().login("pilot", "pw-pilot").await.status, 200);
    // Time goes on after the restart as before it.
    server.advance_ms(7_000);
    let tree = demo.get("/api/techtree").await.json();
    assert_eq!(tree["techTree"]["ironHarvesting"], json!(2));
    assert!(tree["techTree"].get("activeResearch").is_none());
}

async fn hot_path_stays_off_the_database(setup: Setup) {
    // No round trip of its own on the wall clock meanwhile: no lease renewal (every third
    // of the TTL) and no flush (every persist interval).
    let server = setup
        .start_with(|config| {
            config.storage.lease_ttl_ms = 3_600_000;
            config.persist_interval_ms = 3_600_000;
        })
        .await;
    let mut demo = server.demo().await;
    // Warm up: the player, its session and its ship are cached now.
    assert_eq!(demo.get("/api/user-stats").await.status, 200);
    let round_trips = server.metric("spacewars_db_round_trips_total").await;
    assert!(round_trips.is_some());
    let reply = demo.post_json("/api/collect", json!({"objectId": 7})).await;
    assert_eq!(reply.status, 200);
    let reply = demo.post_json("/api/navigate", json!({"speed": 1})).await;
    assert_eq!(reply.status, 200);
    let reply = demo
        .post_json("/api/trigger-research", json!({"type": "IronHarvesting"}))
        .await;
    assert_eq!(reply.status, 200);
    for _ in 0..3 {
        assert_eq!(demo.get("/api/world").await.status, 200);
        assert_eq!(demo.get("/api/user-stats").await.status, 200);
        assert_eq!(demo.get("/api/ship-stats").await.status, 200);
        assert_eq!(demo.get("/api/techtree").await.status, 200);
        assert_eq!(demo.get("/api/session").await.status, 200);
        server.advance_ms(1_000);
    }
    assert_eq!(
        server.metric("spacewars_db_round_trips_total").await,
        round_trips
    );
    assert!(server.metric("spacewars_dirty_users").await >= Some(1.0));
}

/// A request over the time limit is answered 503 `timeout` (one setup suffices: the limit
/// is enforced above the repository).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_time_out_with_503() {
    let setup = Setup {
        db: TestBackend::Sqlite,
        repo: RepoKind::Cached,
    };
    let server = setup
        .start_with(|config| config.request_timeout_ms = 200)
        .await;
    let demo = server.demo().await;
    let token = demo.session.clone().expect("token");
    let mut slow = start_slow_request(&server, &token, r#"{"speed":5}"#, 3).await;
    let response = read_response(&mut slow).await;
    assert!(response.starts_with("HTTP/1.1 503 "), "{response}");
    assert!(
        response.contains(
            r#"{"error":"Request timed out; it may still take effect","code":"timeout"}"#
        ),
        "{response}"
    );
}

/// The manual clock of one server is not the wall clock: sessions are judged by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_by_the_injected_clock() {
    let setup = Setup {
        db: TestBackend::Sqlite,
        repo: RepoKind::Db,
    };
    let server = setup.start().await;
    let mut demo = server.demo().await;
    // 24 h (docs/http-api.md), less 1 ms.
    server.advance_ms(86_400_000 - 1);
    assert_eq!(demo.get("/api/world").await.status, 200);
    server.advance_ms(1);
    assert_eq!(demo.get("/api/world").await.status, 401);
}
