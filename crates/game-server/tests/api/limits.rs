//! docs/limits.md over real TCP: the bounded hashing pool (503 `busy`, expired jobs never
//! hashed), rate limits (429 `rate_limited` with `Retry-After`), username rules, rehash.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use game_server::{Config, RepoKind, Switch};
use serde_json::json;

use crate::client::{Client, Reply, request};
use crate::harness::{Setup, TestServer, each_setup};
use game_persistence::testing::TestBackend;

each_setup!(usernames_follow_the_rules, an_old_hash_is_replaced_at_login);

const SQLITE_CACHED: Setup = Setup {
    db: TestBackend::Sqlite,
    repo: RepoKind::Cached,
};

/// Argon2 iterations (at 8 MiB) that take at least `at_least` here, and how long one
/// hash takes with them: the hashing tests need hashes slow enough to pile up.
fn slow_argon2(at_least: Duration) -> (u32, Duration) {
    let mut iterations = 1;
    loop {
        let params = Params::new(8192, iterations, 1, None).expect("params");
        let started = Instant::now();
        let mut out = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(b"password", b"saltsaltsalt", &mut out)
            .expect("hash");
        let took = started.elapsed();
        if took >= at_least || iterations >= 256 {
            return (iterations, took);
        }
        iterations *= 2;
    }
}

fn with_hashing(config: &mut Config, iterations: u32, timeout: Duration) {
    config.argon2_memory_kib = 8192;
    config.argon2_iterations = iterations;
    config.limits.hash_threads = 1;
    config.limits.hash_queue = 1;
    config.request_timeout_ms = u64::try_from(timeout.as_millis()).expect("ms");
}

async fn metric(server: &TestServer, name: &str) -> f64 {
    server
        .metric(name)
        .await
        .unwrap_or_else(|| panic!("{name} missing"))
}

/// Waits (up to 30 s) until the one hashing thread runs a job and the queue's one place
/// is taken.
async fn until_full(server: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(server, "spacewars_hash_running").await < 1.0
        || metric(server, "spacewars_hash_queued").await < 1.0
    {
        assert!(Instant::now() < deadline, "the pool never filled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Refused at once: a login sent while the thread and the queue are full is answered 503
/// `busy` before that queue moves (an order of events, not a duration).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_is_503_busy_at_once() {
    let (iterations, _) = slow_argon2(Duration::from_millis(600));
    let server = SQLITE_CACHED
        .start_with(|c| with_hashing(c, iterations, Duration::from_secs(30)))
        .await;
    let busy = (503, "busy".to_owned(), Some("1".to_owned()));
    let (mut proven, mut refused, mut logged_in) = (0, 0.0, 0.0);
    // Until two logins were refused while the queue stayed full (each round lasts as long
    // as one hash and the one queued behind it; a slow machine may need more than one).
    while proven < 2 {
        // One hashes, one waits.
        let occupying: Vec<_> = (0..2)
            .map(|_| {
                let mut client = server.client();
                tokio::spawn(async move { client.login("a", "a").await })
            })
            .collect();
        until_full(&server).await;
        while proven < 2 {
            let reply = server.client().login("a", "a").await;
            let answer = (
                reply.status,
                reply.code(),
                reply.header("retry-after").map(str::to_owned),
            );
            match answer.0 {
                200 => logged_in += 1.0,
                _ => refused += 1.0,
            }
            if metric(&server, "spacewars_hash_queued").await < 1.0 {
                break; // the queue moved meanwhile: this reply proves nothing either way
            }
            assert_eq!(answer, busy, "refused while the queue is full");
            proven += 1;
        }
        for login in occupying {
            assert_eq!(login.await.expect("task").status, 200);
            logged_in += 1.0;
        }
    }
    assert_eq!(
        metric(&server, "spacewars_hash_refused_total").await,
        refused
    );
    // The dummy hash, its 3 timed verifications and the demo user's hash at start, then
    // each login that got in.
    assert_eq!(
        metric(&server, "spacewars_hash_completed_total").await,
        5.0 + logged_in
    );
    assert_eq!(metric(&server, "spacewars_hash_queued").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_refused_as_busy_costs_no_database_round_trip() {
    let (iterations, _) = slow_argon2(Duration::from_millis(600));
    let server = SQLITE_CACHED
        .start_with(|c| with_hashing(c, iterations, Duration::from_secs(30)))
        .await;
    // Two slow logins take the thread and the queue's one place.
    let occupying: Vec<_> = (0..2)
        .map(|_| {
            let mut client = server.client();
            tokio::spawn(async move { client.login("a", "a").await })
        })
        .collect();
    while metric(&server, "spacewars_hash_queued").await < 1.0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Logins of unknown names would each cost a lookup if they got that far. The lease
    // renewal counts too: a window without it shows the refused logins cost nothing.
    let mut fewest = f64::MAX;
    while fewest > 0.0 && metric(&server, "spacewars_hash_queued").await >= 1.0 {
        let before = metric(&server, "spacewars_db_round_trips_total").await;
        for n in 0..3 {
            let reply = server.client().login(&format!("nobody-{n}"), "x").await;
            assert_eq!((reply.status, reply.code()), (503, "busy".to_owned()));
        }
        let after = metric(&server, "spacewars_db_round_trips_total").await;
        fewest = fewest.min(after - before);
    }
    assert_eq!(fewest, 0.0);
    for login in occupying {
        assert_eq!(login.await.expect("task").status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_request_timed_out_while_waiting_is_never_hashed() {
    // Hashes of 600 ms or more (as measured here, maybe while other tests ran), a 100 ms
    // request timeout: the first login's hash outlives both requests.
    let (iterations, _) = slow_argon2(Duration::from_millis(600));
    let timeout = Duration::from_millis(100);
    let server = SQLITE_CACHED
        .start_with(|c| with_hashing(c, iterations, timeout))
        .await;
    let login = || {
        let mut client = server.client();
        tokio::spawn(async move { client.login("a", "a").await })
    };
    let (completed, expired) = (
        "spacewars_hash_completed_total",
        "spacewars_hash_expired_total",
    );
    // Until a second login was queued behind the first one's running hash (on a loaded
    // machine the two may not overlap, and then the second is simply hashed too).
    for round in 1.. {
        let before = (
            metric(&server, completed).await,
            metric(&server, expired).await,
        );
        let first = login();
        until_metric(&server, "spacewars_hash_running", 1.0).await;
        let second = login();
        for reply in [first, second] {
            let reply = reply.await.expect("task");
            assert_eq!((reply.status, reply.code()), (503, "timeout".to_owned()));
        }
        // Both jobs are done once the pool is idle again.
        until_metric(&server, "spacewars_hash_running", 0.0).await;
        until_metric(&server, "spacewars_hash_queued", 0.0).await;
        let after = (
            metric(&server, completed).await,
            metric(&server, expired).await,
        );
        if after.1 > before.1 {
            // The waiting job was dropped: only the first one was hashed.
            assert_eq!((after.0 - before.0, after.1 - before.1), (1.0, 1.0));
            break;
        }
        assert_eq!(after.0 - before.0, 2.0, "neither dropped nor hashed");
        assert!(
            round < 5,
            "never queued behind a running hash in {round} rounds"
        );
    }
}

/// Waits (up to 30 s) until the gauge `name` is `value`.
async fn until_metric(server: &TestServer, name: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(server, name).await != value {
        assert!(Instant::now() < deadline, "{name} never became {value}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn post_from(server: &TestServer, path: &str, body: serde_json::Value, from: &str) -> Reply {
    let mut req = request(hyper::Method::POST, path, Some(&body.to_string()), None);
    req.headers_mut()
        .insert("x-forwarded-for", from.parse().expect("header"));
    server.client().send_request(req).await
}

fn limited(reply: &Reply) -> (u16, String, Option<&str>) {
    (reply.status, reply.code(), reply.header("retry-after"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_registration_are_rate_limited() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            c.limits.rate_limits = Switch::On;
            c.limits.trust_forwarded_for = true;
            c.limits.login_per_address_per_min = 3;
            c.limits.login_per_account_per_min = 2;
            c.limits.register_per_address_per_min = 2;
        })
        .await;
    let creds = |name: &str, pw: &str| json!({"username": name, "password": pw});
    // Registration: 2 per minute from one address, then one token every 30 s.
    for name in ["r1", "r2"] {
        let reply = post_from(&server, "/api/register", creds(name, "pw"), "10.0.0.1").await;
        assert_eq!(reply.status, 200);
    }
    let third = post_from(&server, "/api/register", creds("r3", "pw"), "10.0.0.1").await;
    assert_eq!(limited(&third), (429, "rate_limited".into(), Some("30")));
    assert_eq!(third.error().1, "Too many requests, try again later");
    // Another address is not affected.
    let other = post_from(&server, "/api/register", creds("r3", "pw"), "10.0.0.2").await;
    assert_eq!(other.status, 200);

    // Login per account: two guesses a minute, whatever the address.
    for from in ["10.0.1.1", "10.0.1.2"] {
        let reply = post_from(&server, "/api/login", creds("A", "guess"), from).await;
        assert_eq!(reply.code(), "invalid_credentials");
    }
    let third = post_from(&server, "/api/login", creds("a", "a"), "10.0.1.3").await;
    assert_eq!(limited(&third), (429, "rate_limited".into(), Some("30")));
    // Login per address: three a minute, whatever the account.
    for name in ["r1", "r2"] {
        let reply = post_from(&server, "/api/login", creds(name, "pw"), "10.0.2.1").await;
        assert_eq!(reply.status, 200);
    }
    let reply = post_from(&server, "/api/login", creds("r3", "wrong"), "10.0.2.1").await;
    assert_eq!(reply.code(), "invalid_credentials");
    let fourth = post_from(&server, "/api/login", creds("r3", "pw"), "10.0.2.1").await;
    assert_eq!(limited(&fourth), (429, "rate_limited".into(), Some("20")));

    for (limit, count) in [
        ("login_address", 1.0),
        ("login_account", 1.0),
        ("register_address", 1.0),
    ] {
        let name = format!("spacewars_rate_limited_total{{limit=\"{limit}\"}}");
        assert_eq!(metric(&server, &name).await, count, "{limit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trust_the_forwarded_address_is_ignored() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            c.limits.rate_limits = Switch::On;
            c.limits.register_per_address_per_min = 1;
        })
        .await;
    let body = |name: &str| json!({"username": name, "password": "pw"});
    let first = post_from(&server, "/api/register", body("x1"), "10.0.0.1").await;
    assert_eq!(first.status, 200);
    let second = post_from(&server, "/api/register", body("x2"), "10.0.0.2").await;
    assert_eq!(limited(&second), (429, "rate_limited".into(), Some("60")));
}

async fn register(client: &mut Client, username: &str) -> (u16, String) {
    let reply = client
        .post_json(
            "/api/register",
            json!({"username": username, "password": "pw"}),
        )
        .await;
    (reply.status, reply.code())
}

async fn usernames_follow_the_rules(setup: Setup) {
    let server = setup.start().await;
    let ok = (200, String::new());
    let refused = |code: &str| (400, code.to_owned());
    let mut client = server.client();
    for (name, expected) in [
        ("a\u{200b}", refused("username_forbidden_character")),
        ("\u{202e}gnp.exe", refused("username_forbidden_character")),
        (" a", refused("username_edge_whitespace")),
        ("a ", refused("username_edge_whitespace")),
        ("   ", refused("username_blank")),
        ("", refused("username_empty")),
        ("A", refused("username_taken")),
        // Cyrillic а looks like Latin a: the name is taken (docs/limits.md).
        ("\u{430}", refused("username_taken")),
        // NFD é registers as NFC é; NFC é and É are then the same account.
        ("e\u{301}", ok.clone()),
        ("\u{e9}", refused("username_taken")),
        ("\u{c9}", refused("username_taken")),
    ] {
        assert_eq!(register(&mut client, name).await, expected, "{name:?}");
    }
    let reply = client
        .post_json("/api/register", json!({"username": " a", "password": "pw"}))
        .await;
    assert_eq!(
        reply.error().1,
        "Invalid username: must not start or end with whitespace"
    );
    let mut nfc = server.client();
    assert_eq!(nfc.login("\u{c9}", "pw").await.status, 200);
    let session = nfc.get("/api/session").await.json();
    assert_eq!(session["username"], "\u{e9}");
    assert_eq!(server.client().login("A", "a").await.status, 200);
}

async fn an_old_hash_is_replaced_at_login(setup: Setup) {
    let server = setup.start().await;
    let db = server.database();
    let hashes_at = |m: u32| {
        format!("(SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$v=19$m={m},%')")
    };
    assert_eq!(db.scalar(&hashes_at(256)), 1);
    let server = server.restart_with(|c| c.argon2_memory_kib = 512).await;
    let mut client = server.client();
    assert_eq!(
        client.login("a", "wrong").await.code(),
        "invalid_credentials"
    );
    assert_eq!(client.login("a", "a").await.status, 200);
    server.stop().await.expect("clean stop");
    assert_eq!(db.scalar(&hashes_at(256)), 0);
    assert_eq!(db.scalar(&hashes_at(512)), 1);
}
