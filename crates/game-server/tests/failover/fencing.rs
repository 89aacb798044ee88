//! A paused owner resumed after a standby took over writes nothing and exits. (That an
//! owner answers game requests `503 lease_lost` once it knows its lease is gone, instead
//! of answering from memory, is the API suite's lifecycle test: in-process, the moment it
//! knows can be held open; here it races the process's exit.)

use std::time::Duration;

use crate::deadline::{SAVED, pause_owner_until_standby_serves, wait_saved};
use crate::http::get;
use crate::process::database;
use crate::takeover::{course, navigate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_resumed_after_takeover_writes_nothing_and_exits() {
    let Some(db) = database() else { return };
    let (mut owner, standby, session) = pause_owner_until_standby_serves(&db).await;
    // The new owner never saw the paused one's unsaved course.
    assert_eq!(course(standby.addr, &session).await, (0.0, 0.0));
    navigate(standby.addr, &session, 2, 20).await;
    // Written by one of the new owner's next flushes (every 200 ms): polled.
    wait_saved(&db, 2_020).await;

    owner.signal("CONT");
    let status = owner.wait_exit(Duration::from_secs(10)).await;
    assert!(!status.success(), "exit status {status}: {}", owner.log());
    assert!(owner.log().contains("lease"), "{}", owner.log());
    // Its flush (and the final one) were refused: the database still holds the new
    // owner's course, not the paused owner's 9 / 90.
    assert_eq!(db.scalar(SAVED), 2_020);
    assert_eq!(course(standby.addr, &session).await, (2.0, 20.0));
    assert_eq!(get(standby.addr, "/readyz", None).await.status, 200);
}
