//! The error rules of docs/http-api.md, Errors, for the game's requests: malformed bodies,
//! account, research, collect and navigate errors, 401s (status, message and code). Paths,
//! methods, body limits, hostile input and storage failures are in `hostile_requests`.

use hyper::Method;
use serde_json::json;

use crate::client::request;
use crate::harness::{Setup, each_setup};

each_setup!(
    malformed_bodies_are_400,
    account_errors,
    invalid_credentials_do_not_tell_unknown_users_apart,
    research_errors,
    collect_errors,
    navigate_errors,
    unauthenticated_requests_are_401,
);

/// The error body as `(status, error, code)`.
pub(crate) fn err(status: u16, message: &str, code: &str) -> (u16, String, String) {
    (status, message.to_owned(), code.to_owned())
}

/// The protected endpoints, with a valid body for the POST ones.
const PROTECTED: [(&str, &str); 7] = [
    ("GET", "/api/world"),
    ("GET", "/api/user-stats"),
    ("GET", "/api/ship-stats"),
    ("GET", "/api/techtree"),
    ("POST", "/api/trigger-research"),
    ("POST", "/api/navigate"),
    ("POST", "/api/collect"),
];

fn body_for(path: &str) -> Option<&'static str> {
    match path {
        "/api/trigger-research" => Some(r#"{"type":"IronHarvesting"}"#),
        "/api/navigate" => Some(r#"{"speed":1}"#),
        "/api/collect" => Some(r#"{"objectId":8}"#),
        _ => None,
    }
}

async fn malformed_bodies_are_400(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    for (path, body, code) in [
        ("/api/register", "", "invalid_json"),
        ("/api/register", "{\"username\":", "invalid_json"),
        ("/api/register", "not json", "invalid_json"),
        ("/api/login", "{'username':'a'}", "invalid_json"),
        ("/api/register", "[\"a\",\"b\"]", "invalid_body"),
        ("/api/register", "\"a\"", "invalid_body"),
        (
            "/api/register",
            r#"{"username":5,"password":"x"}"#,
            "invalid_body",
        ),
        (
            "/api/register",
            r#"{"username":"x","password":null}"#,
            "invalid_body",
        ),
        ("/api/login", r#"{"username":"a"}"#, "invalid_body"),
        ("/api/login", r#"{"password":"a"}"#, "invalid_body"),
        ("/api/trigger-research", "{}", "invalid_body"),
        ("/api/trigger-research", r#"{"type":7}"#, "invalid_body"),
        ("/api/navigate", r#"{"speed":"fast"}"#, "invalid_body"),
        ("/api/navigate", r#"{"angle":[1]}"#, "invalid_body"),
        ("/api/navigate", r#"{"speed":1,"warp":9}"#, "invalid_body"),
        ("/api/navigate", r#"{"speed":1e999}"#, "invalid_json"),
        ("/api/navigate", r#"{"angle":-1e999}"#, "invalid_json"),
        ("/api/navigate", r#"{"speed":NaN}"#, "invalid_json"),
        ("/api/navigate", r#"{"speed":Infinity}"#, "invalid_json"),
        ("/api/collect", "{\"objectId\":8", "invalid_json"),
        ("/api/collect", "[8]", "invalid_body"),
    ] {
        let reply = demo.post(path, body).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, code.to_owned()),
            "{path} {body}"
        );
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let message = reply.json()["error"].as_str().expect("message").to_owned();
        assert!(
            message.starts_with("Malformed JSON: ")
                || message.starts_with("Invalid request body: "),
            "{message}"
        );
    }
}

async fn account_errors(setup: Setup) {
    let server = setup.start().await;
    let mut client = server.client();
    let reply = client
        .post_json(
            "/api/register",
            json!({"username": "a", "password": "other"}),
        )
        .await;
    assert_eq!(reply.error(), err(400, "Username taken", "username_taken"));
    assert_eq!(reply.header("set-cookie"), None);
    client.register("twice").await;
    let reply = server
        .client()
        .post_json(
            "/api/register",
            json!({"username": "twice", "password": "x"}),
        )
        .await;
    assert_eq!(reply.error(), err(400, "Username taken", "username_taken"));

    for (username, password, code) in [
        ("", "pw", "username_empty"),
        (&*"x".repeat(33), "pw", "username_too_long"),
        ("tab\there", "pw", "username_forbidden_character"),
        ("fine", "", "invalid_password"),
        ("fine", &*"p".repeat(1025), "invalid_password"),
    ] {
        let reply = server
            .client()
            .post_json(
                "/api/register",
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!((reply.status, reply.code()), (400, code.to_owned()));
    }
}

async fn invalid_credentials_do_not_tell_unknown_users_apart(setup: Setup) {
    let server = setup.start().await;
    let mut client = server.client();
    let wrong_password = client.login("a", "b").await;
    let unknown_user = client.login("nobody", "a").await;
    let empty = client.login("a", "").await;
    for reply in [&wrong_password, &unknown_user, &empty] {
        assert_eq!(
            reply.error(),
            err(400, "Invalid credentials", "invalid_credentials")
        );
        assert_eq!(reply.header("set-cookie"), None);
    }
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(wrong_password.body, empty.body);
    // A name that breaks the username rules is refused as such, before any rate limit
    // counts it (docs/limits.md); it tells nothing about which names exist.
    let no_name = client.login("", "").await;
    assert_eq!(
        no_name.error(),
        err(400, "Invalid username: must not be empty", "username_empty")
    );
    assert_eq!(client.session, None);
}

async fn research_errors(setup: Setup) {
    let server = setup.start().await;
    let mut poor = server.client();
    poor.register("poor").await;
    let reply = poor
        .post_json("/api/trigger-research", json!({"type": "IronHarvesting"}))
        .await;
    assert_eq!(
        reply.error(),
        err(400, "Not enough iron", "not_enough_iron")
    );

    let mut demo = server.demo().await;
    let reply = demo
        .post_json("/api/trigger-research", json!({"type": "Warp"}))
        .await;
    assert_eq!(
        reply.error(),
        err(400, "Invalid research type", "invalid_research_type")
    );
    for kind in ["", "IRONHARVESTING", "Iron Harvesting"] {
        let reply = demo
            .post_json("/api/trigger-research", json!({"type": kind}))
            .await;
        assert_eq!(reply.code(), "invalid_research_type", "{kind:?}");
    }
    let reply = demo
        .post_json("/api/trigger-research", json!({"type": "shipSpeed"}))
        .await;
    assert_eq!(reply.status, 200);
    let reply = demo
        .post_json("/api/trigger-research", json!({"type": "IronHarvesting"}))
        .await;
    assert_eq!(
        reply.error(),
        err(400, "Research already in progress", "research_in_progress")
    );
    // The failed trigger cost nothing: 1000 − 500.
    assert_eq!(
        demo.get("/api/user-stats").await.json()["iron"].as_f64(),
        Some(500.0)
    );
}

async fn collect_errors(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let mut other = server.client();
    other.register("other").await;
    let other_ship = other.get("/api/session").await.json()["shipId"]
        .as_i64()
        .expect("ship");

    // Asteroid 3 at (400, 300) is 158 units away.
    let reply = demo.post_json("/api/collect", json!({"objectId": 3})).await;
    assert_eq!(
        reply.error(),
        err(400, "Object too far away", "object_too_far")
    );
    for ship in [1, other_ship] {
        let reply = demo
            .post_json("/api/collect", json!({"objectId": ship}))
            .await;
        assert_eq!(
            reply.error(),
            err(400, "Player ships cannot be collected", "not_collectible")
        );
    }
    for missing in [999_999, -1, 0] {
        let reply = demo
            .post_json("/api/collect", json!({"objectId": missing}))
            .await;
        assert_eq!(
            reply.error(),
            err(404, "Object not found", "object_not_found")
        );
    }
    for body in [
        json!({}),
        json!({"objectId": null}),
        json!({"objectId": "8"}),
        json!({"objectId": 8.5}),
        json!({"objectId": [8]}),
        json!({"objectId": 1e300}),
        json!({"id": 8}),
    ] {
        let reply = demo.post_json("/api/collect", body.clone()).await;
        assert_eq!(
            reply.error(),
            err(400, "Missing or invalid object ID", "invalid_object_id"),
            "{body}"
        );
    }
    // None of that changed anything.
    assert_eq!(
        demo.get("/api/user-stats").await.json()["iron"].as_f64(),
        Some(1000.0)
    );
    assert_eq!(
        demo.get("/api/world").await.json()["spaceObjects"]
            .as_array()
            .map(Vec::len),
        Some(11)
    );
}

async fn navigate_errors(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    for (body, expected) in [
        (
            json!({"speed": 25.000001}),
            err(400, "Speed exceeds the maximum of 25", "speed_too_high"),
        ),
        (
            json!({"speed": 26, "angle": 0}),
            err(400, "Speed exceeds the maximum of 25", "speed_too_high"),
        ),
        (
            json!({"speed": -1}),
            err(
                400,
                "Speed must be a finite number of at least 0",
                "invalid_speed",
            ),
        ),
        (
            json!({}),
            err(400, "Speed or angle required", "nothing_to_navigate"),
        ),
        (
            json!({"speed": null, "angle": null}),
            err(400, "Speed or angle required", "nothing_to_navigate"),
        ),
    ] {
        let reply = demo.post_json("/api/navigate", body.clone()).await;
        assert_eq!(reply.error(), expected, "{body}");
    }
    // Nothing moved.
    let stats = demo.get("/api/ship-stats").await.json();
    assert_eq!(
        (stats["speed"].as_f64(), stats["angle"].as_f64()),
        (Some(0.0), Some(0.0))
    );
}

async fn unauthenticated_requests_are_401(setup: Setup) {
    let server = setup.start().await;
    let mut logged_out = server.demo().await;
    let token = logged_out.session.clone().expect("token");
    assert_eq!(logged_out.post("/api/logout", "").await.status, 200);
    let mut expiring = server.demo().await;
    let expiring_token = expiring.session.clone().expect("token");
    assert_eq!(expiring.get("/api/world").await.status, 200);

    let unknown = "0123456789abcdef0123456789abcdef".to_owned();
    let forged = vec![
        "forged".to_owned(),
        format!("{token}00"),
        format!("{}g", &token[..31]),
        token.to_uppercase(),
        "%00".to_owned(),
    ];
    let mut cookies: Vec<Option<String>> = vec![None, Some(unknown), Some(token.clone())];
    cookies.extend(forged.into_iter().map(Some));
    // 24 h later the other session has expired.
    server.advance_ms(86_400_000);
    cookies.push(Some(expiring_token));

    let client = server.client();
    for cookie in &cookies {
        for (method, path) in PROTECTED {
            let method: Method = method.parse().expect("method");
            let reply = client
                .send_request(request(method, path, body_for(path), cookie.as_deref()))
                .await;
            assert_eq!(
                reply.error(),
                err(401, "Not authenticated", "not_authenticated"),
                "{path} with {cookie:?}"
            );
        }
        let session = client
            .send_request(request(
                Method::GET,
                "/api/session",
                None,
                cookie.as_deref(),
            ))
            .await;
        assert_eq!(
            (session.status, session.json()),
            (200, json!({"loggedIn": false}))
        );
    }
}
