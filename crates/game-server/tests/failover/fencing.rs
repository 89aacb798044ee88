//! A paused owner resumed after a standby took over writes nothing and exits. (That an
//! owner answers game requests `503 lease_lost` once it knows its lease is gone, instead
//! of answering from memory, is the API suite's lifecycle test: in-process, the moment it
//! knows can be held open; here it races the process's exit.)

use std::time::{Duration, Instant};

use crate::http::{get, wait_ready};
use crate::process::{ServerProcess, database};
use crate::takeover::{course, navigate, register};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_resumed_after_takeover_writes_nothing_and_exits() {
    let Some(db) = database() else { return };
    // The owner never flushes on its own; the standby, once owner, every 200 ms.
    let mut owner = ServerProcess::start(&db, 60_000, &[]).await;
    let standby = ServerProcess::start(&db, 200, &["--standby"]).await;
    let session = register(owner.addr, "pilot").await;
    // Acknowledged by the owner, held only in its memory when it is paused.
    navigate(owner.addr, &session, 9, 90).await;

    let paused = Instant::now();
    owner.signal("STOP");
    // Polled up to 30 s (a bound on hanging, not a figure).
    wait_ready(standby.addr, paused, Duration::from_secs(30)).await;
    // The new owner never saw the paused one's unsaved course.
    assert_eq!(course(standby.addr, &session).await, (0.0, 0.0));
    navigate(standby.addr, &session, 2, 20).await;
    // Written by one of the new owner's next flushes (every 200 ms): polled, up to 10 s.
    let saved = "(SELECT CAST(speed AS BIGINT) * 1000 + CAST(angle AS BIGINT) FROM \
                 space_objects WHERE id = (SELECT MAX(id) FROM space_objects \
                 WHERE kind = 'player_ship'))";
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.scalar(saved) != 2_020 {
        assert!(
            Instant::now() < deadline,
            "never flushed: {}",
            db.scalar(saved)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    owner.signal("CONT");
    let status = owner.wait_exit(Duration::from_secs(10)).await;
    assert!(!status.success(), "exit status {status}: {}", owner.log());
    assert!(owner.log().contains("lease"), "{}", owner.log());
    // Its flush (and the final one) were refused: the database still holds the new
    // owner's course, not the paused owner's 9 / 90.
    assert_eq!(db.scalar(saved), 2_020);
    assert_eq!(course(standby.addr, &session).await, (2.0, 20.0));
    assert_eq!(get(standby.addr, "/readyz", None).await.status, 200);
}
