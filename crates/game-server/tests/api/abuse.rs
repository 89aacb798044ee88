//! The abuse rules of docs/limits.md over real TCP, each against the attack it answers:
//! account lockout by guessers, limiter keys from junk names, connection exhaustion by
//! idle and non-reading clients, stream hogging, planted cookies, missing API headers.
//! Clients that must look like other machines bind their socket to another loopback
//! address (127.0.0.2, …).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use game_server::{Config, RepoKind, Switch};
use hyper::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{Connection, Reply, connect_from, request};
use crate::events;
use crate::harness::{Setup, TestServer};
use game_persistence::testing::TestBackend;

const SQLITE_CACHED: Setup = Setup {
    db: TestBackend::Sqlite,
    repo: RepoKind::Cached,
};

/// How long a test waits for something the server must do by itself.
const PATIENCE: Duration = Duration::from_secs(20);

fn from(last: u8) -> IpAddr {
    [127, 0, 0, last].into()
}

/// `POST path` with `body` from the local address `source`, sending `cookie` if given.
async fn post_from(
    server: &TestServer,
    source: IpAddr,
    path: &str,
    body: serde_json::Value,
    cookie: Option<&str>,
) -> Reply {
    let mut post = request(Method::POST, path, Some(&body.to_string()), None);
    if let Some(cookie) = cookie {
        post.headers_mut()
            .insert("cookie", cookie.parse().expect("header"));
    }
    let mut connection = Connection::open_from(server.addr, source).await;
    connection.send(post).await.expect("answer")
}

async fn login_from(
    server: &TestServer,
    source: IpAddr,
    name: &str,
    password: &str,
    cookie: Option<&str>,
) -> Reply {
    let body = json!({"username": name, "password": password});
    post_from(server, source, "/api/login", body, cookie).await
}

/// The `name=value` of the `Set-Cookie` for cookie `name`.
fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .and_then(|value| value.split(';').next())
        .map(str::to_owned)
}

fn outcome(reply: &Reply) -> (u16, String) {
    (reply.status, reply.code())
}

fn with_rate_limits(config: &mut Config) {
    config.limits.rate_limits = Switch::On;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_on_a_known_device_gets_in_while_guessers_are_throttled() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            with_rate_limits(c);
            c.limits.login_per_account_per_min = 8;
        })
        .await;
    // The owner of "a" signs in once from its own machine: that device is now known.
    let first = login_from(&server, from(4), "a", "a", None).await;
    assert_eq!(first.status, 200);
    let device = set_cookie(&first, "spacewars-device").expect("device cookie");
    let wrong = (400, "invalid_credentials".to_owned());
    let limited = (429, "rate_limited".to_owned());
    // A guesser at 127.0.0.2: 5 guesses, then its (account, address) bucket is empty.
    for _ in 0..5 {
        assert_eq!(
            outcome(&login_from(&server, from(2), "a", "g", None).await),
            wrong
        );
    }
    assert_eq!(
        outcome(&login_from(&server, from(2), "a", "g", None).await),
        limited
    );
    // A second guesser at 127.0.0.3 gets the 2 tokens left of the account-wide 8.
    for _ in 0..2 {
        assert_eq!(
            outcome(&login_from(&server, from(3), "a", "g", None).await),
            wrong
        );
    }
    assert_eq!(
        outcome(&login_from(&server, from(3), "a", "g", None).await),
        limited
    );
    // A new device is held back with the guessers; the owner's known device is not.
    assert_eq!(
        outcome(&login_from(&server, from(5), "a", "a", None).await),
        limited
    );
    let owner = login_from(&server, from(4), "a", "a", Some(&device)).await;
    assert_eq!(owner.status, 200);
    // Its cookie names the same device again.
    assert_eq!(set_cookie(&owner, "spacewars-device"), Some(device.clone()));
    for (limit, count) in [("login_account_address", 1.0), ("login_account", 2.0)] {
        let name = format!("spacewars_rate_limited_total{{limit=\"{limit}\"}}");
        assert_eq!(server.metric(&name).await, Some(count), "{limit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_breaking_the_rules_is_refused_before_any_limiter_counts_it() {
    let server = SQLITE_CACHED.start_with(with_rate_limits).await;
    let long = "x".repeat(15_000);
    for path in ["/api/login", "/api/register"] {
        let body = json!({"username": long, "password": "pw"});
        let reply = post_from(&server, from(2), path, body, None).await;
        assert_eq!(
            outcome(&reply),
            (400, "username_too_long".to_owned()),
            "{path}"
        );
    }
    let blank = post_from(
        &server,
        from(2),
        "/api/register",
        json!({"username": "\u{3164}", "password": "pw"}),
        None,
    )
    .await;
    assert_eq!(outcome(&blank), (400, "username_not_identifier".to_owned()));
    for limit in [
        "login_address",
        "login_account_address",
        "login_account",
        "login_device",
        "register_address",
    ] {
        let name = format!("spacewars_rate_limit_keys{{limit=\"{limit}\"}}");
        assert_eq!(server.metric(&name).await, Some(0.0), "{limit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_tables_stay_within_their_bound() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            with_rate_limits(c);
            c.limits.rate_limit_keys = 3;
            c.limits.login_per_address_per_min = 1_000;
        })
        .await;
    for n in 0..10 {
        let reply = login_from(&server, from(2), &format!("nobody{n}"), "pw", None).await;
        assert_eq!(reply.code(), "invalid_credentials");
    }
    for (limit, keys) in [
        ("login_address", 1.0),
        ("login_account_address", 3.0),
        ("login_account", 3.0),
    ] {
        let name = format!("spacewars_rate_limit_keys{{limit=\"{limit}\"}}");
        assert_eq!(server.metric(&name).await, Some(keys), "{limit}");
    }
}

/// Reads `stream` until the server closes it; panics if it does not within [`PATIENCE`].
async fn wait_closed(stream: &mut tokio::net::TcpStream) {
    let deadline = Instant::now() + PATIENCE;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server did not close the connection"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_near_the_cap_and_an_honest_request_gets_through() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            c.limits.max_connections = 20;
            // Only eviction can close the silent connections within the test.
            c.limits.first_request_timeout_ms = 120_000;
            c.limits.keep_alive_timeout_ms = 120_000;
            c.limits.ops_listen = Some("127.0.0.1:0".parse().expect("addr"));
        })
        .await;
    // An attacker at 127.0.0.2 fills every place with connections that send nothing.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(connect_from(server.addr, from(2)).await);
    }
    // An honest client elsewhere still gets its answer.
    let mut honest = Connection::open_from(server.addr, from(3)).await;
    let reply = honest
        .send(request(Method::GET, "/healthz", None, None))
        .await
        .expect("answer");
    assert_eq!(reply.status, 200);
    // The oldest silent connection was closed to make room.
    wait_closed(&mut silent[0]).await;
    let ops = server.ops_addr.expect("ops listener");
    let page = crate::client::Client::new(ops).get("/metrics").await;
    let page = String::from_utf8(page.body.to_vec()).expect("utf-8");
    // 18 is 90 % of 20: the 19th, the 20th and the honest connection each evicted one.
    assert!(
        page.contains("spacewars_connections_evicted_total 3\n"),
        "{page}"
    );
    assert!(
        page.contains("spacewars_connections_refused_total{cap=\"total\"} 0\n"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_is_closed_after_the_write_stall_timeout() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            c.limits.write_stall_timeout_ms = 300;
            c.limits.ops_listen = Some("127.0.0.1:0".parse().expect("addr"));
        })
        .await;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let mut stream = socket.connect(server.addr).await.expect("connect");
    // 200 pipelined requests for the 57 KB OpenAPI document, and never a byte read.
    let head = b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
    stream.write_all(&head).await.expect("requests sent");
    let ops = server.ops_addr.expect("ops listener");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let page = crate::client::Client::new(ops).get("/metrics").await;
        let page = String::from_utf8(page.body.to_vec()).expect("utf-8");
        if page.contains("spacewars_connections_open 0\n") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stalled connection is still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_stream_from_one_session_closes_its_first() {
    let server = SQLITE_CACHED.start().await;
    let demo = server.demo().await;
    let session = demo.session.as_deref();
    let mut streams = Vec::new();
    for _ in 0..3 {
        let (status, _, stream) = events::open(server.addr, "area=world", session, None).await;
        assert_eq!(status, 200);
        let mut stream = stream.expect("a stream");
        assert_eq!(
            stream.next().await.map(|e| e.name),
            Some("snapshot".to_owned())
        );
        streams.push(stream);
    }
    // The first ended when the third opened.
    assert_eq!(streams[0].next().await, None);
    assert_eq!(
        server.metric("spacewars_streams_replaced_total").await,
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_cookie_before_a_valid_one_still_authenticates() {
    let server = SQLITE_CACHED.start().await;
    let demo = server.demo().await;
    let valid = demo.session.clone().expect("session");
    let forged = "0".repeat(64);
    let stats = |cookie: String| {
        let mut get = request(Method::GET, "/api/user-stats", None, None);
        get.headers_mut()
            .insert("cookie", cookie.parse().expect("header"));
        get
    };
    let planted = format!("spacewars-session={forged}; spacewars-session={valid}");
    assert_eq!(
        server.client().send_request(stats(planted)).await.status,
        200
    );
    let alone = format!("spacewars-session={forged}");
    let refused = server.client().send_request(stats(alone)).await;
    assert_eq!(outcome(&refused), (401, "not_authenticated".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_answer_has_nosniff_and_session_answers_no_store() {
    let server = SQLITE_CACHED.start().await;
    let mut demo = server.demo().await;
    let cases: Vec<(Method, &str, Option<&str>, bool)> = vec![
        (Method::GET, "/api/session", None, true),
        (Method::GET, "/api/user-stats", None, true),
        (Method::GET, "/api/world", None, true),
        (Method::POST, "/api/login", Some("{"), true),
        (Method::POST, "/api/navigate", Some("{}"), true),
        (Method::GET, "/api/nope", None, true),
        (Method::DELETE, "/api/session", None, true),
        (Method::GET, "/api/openapi.json", None, false),
        (Method::GET, "/healthz", None, false),
        (Method::GET, "/metrics", None, false),
        (Method::GET, "/", None, false),
    ];
    for (method, path, body, no_store) in cases {
        let reply = demo.send(method.clone(), path, body).await;
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{method} {path}"
        );
        if no_store {
            assert_eq!(
                reply.header("cache-control"),
                Some("no-store"),
                "{method} {path}"
            );
        }
    }
    // Signed out too.
    let reply = server.client().get("/api/user-stats").await;
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_names_are_refused_or_taken_as_the_existing_name() {
    let server = SQLITE_CACHED.start().await;
    let mut client = server.client();
    let refused = |code: &str| (400, code.to_owned());
    // The demo user "a" exists.
    for (name, expected) in [
        ("\u{3164}", refused("username_not_identifier")),
        ("\u{2800}", refused("username_not_identifier")),
        ("\u{115f}", refused("username_not_identifier")),
        ("\u{1160}", refused("username_not_identifier")),
        ("a\u{34f}", refused("username_not_identifier")),
        ("a\u{17b4}", refused("username_not_identifier")),
        ("a\u{2028}", refused("username_edge_whitespace")),
        ("a\u{2028}b", refused("username_not_identifier")),
        ("\u{fb00}", refused("username_not_identifier")),
        ("\u{ff41}", refused("username_taken")),
        ("\u{430}", refused("username_taken")),
        ("A", refused("username_taken")),
    ] {
        let reply = client
            .post_json("/api/register", json!({"username": name, "password": "pw"}))
            .await;
        assert_eq!(outcome(&reply), expected, "{name:?}");
    }
    // Fullwidth ａ logs in as a.
    assert_eq!(server.client().login("\u{ff41}", "a").await.status, 200);
}
