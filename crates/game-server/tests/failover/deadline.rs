//! The owner's own deadline (docs/persistence.md, One owner): a paused owner, or one cut
//! off from the database, acknowledges nothing once a standby may own the game; and a
//! wrong wall clock changes nothing about who owns it (the lease runs on the database's
//! clock).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use spacewars_harness::proxy::{Proxy, upstream_of, url_through};
use tokio::task::JoinHandle;

use crate::http::{KeptAlive, Reply, get, post, wait_ready};
use crate::process::{LEASE_TTL_MS, ServerProcess, database};
use crate::takeover::{course, navigate, register};

/// The course the newest player ship has in the database, as `speed × 1000 + angle`.
pub const SAVED: &str = "(SELECT CAST(speed AS BIGINT) * 1000 + CAST(angle AS BIGINT) FROM \
                     space_objects WHERE id = (SELECT MAX(id) FROM space_objects \
                     WHERE kind = 'player_ship'))";

/// Polls until `SAVED` is `expected` (a flush wrote it).
pub async fn wait_saved(db: &game_persistence::testing::TestDatabase, expected: i64) {
    let since = Instant::now();
    while db.scalar(SAVED) != expected {
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "never saved {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn code(reply: &Reply) -> &str {
    reply.json["code"].as_str().unwrap_or_default()
}

/// An owner (never flushing on its own) and a standby (flushing every 200 ms once owner);
/// a player registered at the owner sets the course 9 / 90, held only in the owner's
/// memory; then the owner is paused (SIGSTOP) until the standby serves (polled up to 30 s,
/// a bound on hanging, not a figure). Returns the paused owner, the new owner and the
/// player's session.
pub async fn pause_owner_until_standby_serves(
    db: &game_persistence::testing::TestDatabase,
) -> (ServerProcess, ServerProcess, String) {
    let owner = ServerProcess::start(db, 60_000, &[]).await;
    let standby = ServerProcess::start(db, 200, &["--standby"]).await;
    let session = register(owner.addr, "pilot").await;
    navigate(owner.addr, &session, 9, 90).await;
    let paused = Instant::now();
    owner.signal("STOP");
    wait_ready(standby.addr, paused, Duration::from_secs(30)).await;
    (owner, standby, session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_answers_every_write_queued_during_the_pause_503() {
    let Some(db) = database() else { return };
    let (mut owner, standby, session) = pause_owner_until_standby_serves(&db).await;
    navigate(standby.addr, &session, 2, 20).await;
    wait_saved(&db, 2_020).await;

    // Writes queue up in the paused owner's sockets, on fresh connections.
    let queued: Vec<JoinHandle<Reply>> = (0..20_u32)
        .map(|angle| {
            let (addr, session) = (owner.addr, session.clone());
            tokio::spawn(async move {
                let body = json!({"speed": 5, "angle": angle});
                post(addr, "/api/navigate", Some(&session), body).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    owner.signal("CONT");
    for reply in queued {
        let reply = reply.await.expect("request task");
        assert_eq!(reply.status, 503, "{reply:?}");
        assert!(
            ["lease_expired", "lease_lost"].contains(&code(&reply)),
            "{reply:?}"
        );
    }
    let status = owner.wait_exit(Duration::from_secs(10)).await;
    assert!(!status.success(), "exit status {status}: {}", owner.log());
    // The database holds the new owner's course; the paused owner wrote nothing.
    assert_eq!(db.scalar(SAVED), 2_020);
    assert_eq!(course(standby.addr, &session).await, (2.0, 20.0));
}

/// One answer of the owner while it is sampled.
struct Sample {
    sent: Instant,
    reply: Reply,
}

/// Navigates at `addr` every 50 ms until `stop`, from a fresh connection and from a
/// kept-alive one by turns.
fn sample_writes(
    addr: SocketAddr,
    session: String,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Vec<Sample>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut kept = KeptAlive::new(addr, &session);
        let mut turn = 0_u32;
        while !stop.load(Ordering::SeqCst) {
            turn += 1;
            let body = json!({"speed": 1, "angle": turn % 360});
            let sent = Instant::now();
            let reply = if turn % 2 == 0 {
                kept.post("/api/navigate", &body).await
            } else {
                post(addr, "/api/navigate", Some(&session), body).await
            };
            samples.push(Sample { sent, reply });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        samples
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_cut_off_from_the_database_acknowledges_nothing_once_a_standby_serves() {
    let Some(db) = database() else { return };
    let upstream = upstream_of(db.url()).await.expect("the database's address");
    let proxy = Proxy::start(upstream).await.expect("proxy");
    let through = url_through(db.url(), proxy.addr()).expect("URL through the proxy");
    let mut owner = ServerProcess::start_on(&through, 200, &[], &[]).await;
    assert!(
        proxy.accepted() > 0,
        "the owner reaches the database through the proxy"
    );
    let standby = ServerProcess::start(&db, 200, &["--standby"]).await;
    let session = register(owner.addr, "pilot").await;
    navigate(owner.addr, &session, 9, 90).await;
    wait_saved(&db, 9_090).await;

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_writes(owner.addr, session.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cut = Instant::now();
    proxy.freeze();
    wait_ready(standby.addr, cut, Duration::from_secs(30)).await;
    let serving = Instant::now();
    // Both would answer from here on if the owner did not keep its deadline.
    tokio::time::sleep(Duration::from_millis(3 * LEASE_TTL_MS / 2)).await;
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.await.expect("sampler");

    let before_cut = samples.iter().filter(|s| s.sent < cut).count();
    let after: Vec<&Sample> = samples.iter().filter(|s| s.sent >= serving).collect();
    assert!(
        before_cut > 0 && after.len() >= 5,
        "{} samples",
        samples.len()
    );
    assert!(
        samples
            .iter()
            .filter(|s| s.sent < cut)
            .all(|s| s.reply.status == 200),
        "served before the cut"
    );
    // Not one write acknowledged by the old owner once the new one serves: the old
    // owner's deadline came before the database let the standby in.
    for sample in &after {
        assert_eq!(sample.reply.status, 503, "{:?}", sample.reply);
        assert_eq!(code(&sample.reply), "lease_expired", "{:?}", sample.reply);
    }
    // Reads too.
    let read = get(owner.addr, "/api/ship-stats", Some(&session)).await;
    assert_eq!((read.status, code(&read)), (503, "lease_expired"));

    navigate(standby.addr, &session, 3, 30).await;
    wait_saved(&db, 3_030).await;
    proxy.thaw();
    let status = owner.wait_exit(Duration::from_secs(30)).await;
    assert!(!status.success(), "exit status {status}: {}", owner.log());
    assert_eq!(db.scalar(SAVED), 3_030);
    assert_eq!(course(standby.addr, &session).await, (3.0, 30.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_wall_clock_does_not_change_who_holds_the_lease() {
    let Some(db) = database() else { return };
    const HOUR_MS: &str = "3600000";
    // The owner's clock an hour behind, the standby's an hour ahead: judged by either,
    // the owner's lease would have expired long ago.
    let mut owner = ServerProcess::start_on(
        db.url(),
        60_000,
        &[],
        &[("SPACEWARS_TEST_WALL_CLOCK_OFFSET_MS", "-3600000")],
    )
    .await;
    let standby = ServerProcess::start_on(
        db.url(),
        60_000,
        &["--standby"],
        &[("SPACEWARS_TEST_WALL_CLOCK_OFFSET_MS", HOUR_MS)],
    )
    .await;
    assert!(
        owner.log().contains("wall clock shifted"),
        "{}",
        owner.log()
    );
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_millis(3 * LEASE_TTL_MS) {
        assert_eq!(get(owner.addr, "/readyz", None).await.status, 200);
        let ready = get(standby.addr, "/readyz", None).await;
        assert_eq!((ready.status, code(&ready)), (503, "standby"), "{ready:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once the owner is gone, the database says when its lease expired.
    let killed = Instant::now();
    owner.signal("KILL");
    owner.wait_exit(Duration::from_secs(10)).await;
    wait_ready(standby.addr, killed, Duration::from_secs(30)).await;
}
