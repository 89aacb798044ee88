//! A standby takes over: after a clean stop (the lease released) with every acknowledged
//! change; after a crash once the lease expired, with at most one persist interval lost;
//! and with two standbys exactly one takes over. How fast is the failover drill's figure
//! (`cargo xtask chaos failover`), not these tests'.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::http::{get, post, wait_ready};
use crate::process::{LEASE_TTL_MS, ServerProcess, database};

/// Registers `name` and returns its session.
pub async fn register(addr: SocketAddr, name: &str) -> String {
    let reply = post(
        addr,
        "/api/register",
        None,
        json!({"username": name, "password": "pw"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.session.expect("register sets the session cookie")
}

/// Sets the ship's course and asserts it was acknowledged.
pub async fn navigate(addr: SocketAddr, session: &str, speed: u32, angle: u32) {
    let reply = post(
        addr,
        "/api/navigate",
        Some(session),
        json!({"speed": speed, "angle": angle}),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// The ship's `(speed, angle)` as `addr` sees it.
pub async fn course(addr: SocketAddr, session: &str) -> (f64, f64) {
    let reply = get(addr, "/api/ship-stats", Some(session)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let number = |field: &str| reply.json[field].as_f64().expect(field);
    (number("speed"), number("angle"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_the_lease_and_hands_over_every_acknowledged_change() {
    let Some(db) = database() else { return };
    // A long persist interval: only the final flush at SIGTERM saves the course.
    let mut owner = ServerProcess::start(&db, 60_000, &[]).await;
    let standby = ServerProcess::start(&db, 60_000, &["--standby"]).await;
    let session = register(owner.addr, "pilot").await;
    navigate(owner.addr, &session, 7, 123).await;

    let ready = get(standby.addr, "/readyz", None).await;
    assert_eq!(
        (ready.status, ready.json["code"].as_str()),
        (503, Some("standby"))
    );
    assert_eq!(get(standby.addr, "/healthz", None).await.status, 200);
    let game = get(standby.addr, "/api/ship-stats", Some(&session)).await;
    assert_eq!(
        (game.status, game.json["code"].as_str()),
        (503, Some("standby"))
    );

    let stopped = Instant::now();
    owner.signal("TERM");
    // Polled up to 30 s (a bound on hanging; how soon is the drill's figure).
    wait_ready(standby.addr, stopped, Duration::from_secs(30)).await;
    // A clean stop: the final flush, then the lease released, then "stopped cleanly" and
    // exit status 0, in that order.
    assert!(
        owner.wait_exit(Duration::from_secs(30)).await.success(),
        "{}",
        owner.log()
    );
    assert!(owner.log().contains("stopped cleanly"), "{}", owner.log());
    assert_eq!(course(standby.addr, &session).await, (7.0, 123.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_hands_over_once_the_lease_expired_losing_at_most_one_persist_interval() {
    let Some(db) = database() else { return };
    let persist_ms = 300;
    let mut owner = ServerProcess::start(&db, persist_ms, &[]).await;
    let standby = ServerProcess::start(&db, persist_ms, &["--standby"]).await;
    let session = register(owner.addr, "pilot").await;
    navigate(owner.addr, &session, 3, 30).await;
    // Older than two persist intervals: written by now.
    tokio::time::sleep(Duration::from_millis(3 * persist_ms)).await;
    navigate(owner.addr, &session, 4, 40).await;

    let killed = Instant::now();
    owner.signal("KILL");
    owner.wait_exit(Duration::from_secs(5)).await;
    // Polled up to 30 s (a bound on hanging): the standby waits for the expiry, two
    // thirds of the TTL after the kill when renewals (every third) are on time; a third
    // leaves room for a renewal the loaded machine ran late.
    let took = wait_ready(standby.addr, killed, Duration::from_secs(30)).await;
    assert!(
        took >= Duration::from_millis(LEASE_TTL_MS / 3),
        "took over {took:?} after a crash, before the lease could have expired"
    );
    // The last course was acknowledged less than one persist interval before the kill:
    // it may be lost; the one before it may not.
    let found = course(standby.addr, &session).await;
    assert!(
        found == (3.0, 30.0) || found == (4.0, 40.0),
        "found {found:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_standbys_exactly_one_takes_over() {
    let Some(db) = database() else { return };
    let mut owner = ServerProcess::start(&db, 60_000, &[]).await;
    let first = ServerProcess::start(&db, 60_000, &["--standby"]).await;
    let second = ServerProcess::start(&db, 60_000, &["--standby"]).await;
    let session = register(owner.addr, "pilot").await;
    navigate(owner.addr, &session, 5, 50).await;

    owner.signal("TERM");
    assert!(owner.wait_exit(Duration::from_secs(5)).await.success());
    let started = Instant::now();
    let mut serving = Vec::new();
    // Watch both for two lease TTLs: exactly one is ever ready, and always the same.
    while started.elapsed() < Duration::from_millis(2 * LEASE_TTL_MS) {
        let ready = [
            get(first.addr, "/readyz", None).await.status,
            get(second.addr, "/readyz", None).await.status,
        ];
        assert_ne!(ready, [200, 200], "two processes serving");
        if let Some(index) = ready.iter().position(|status| *status == 200) {
            serving.push(index);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!serving.is_empty(), "nobody took over");
    assert!(
        serving.iter().all(|index| *index == serving[0]),
        "{serving:?}"
    );
    let new_owner = [&first, &second][serving[0]];
    assert_eq!(course(new_owner.addr, &session).await, (5.0, 50.0));
}
