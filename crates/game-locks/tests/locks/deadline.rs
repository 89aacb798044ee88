//! Acquisition with a deadline: a typed `LockTimeout` naming the level, nothing left held
//! or queued afterwards, and success when the lock frees up in time.

use std::sync::Arc;
use std::time::Duration;

use game_locks::{
    LockCtx, LockTimeout, LockTwoError, MutexRegistry, OrderedMutex, OrderedRwLock, StoreLevel,
    UserLevel, WorldLevel,
};
use tokio::time::{Instant, sleep};

const SOON: Duration = Duration::from_millis(50);

#[tokio::test(start_paused = true)]
async fn rwlock_deadlines_time_out_with_the_level() {
    let world = OrderedRwLock::<WorldLevel, u32>::new(0);
    let mut holder = LockCtx::root();
    let (_held, _ctx) = world.write(&mut holder).await;

    let mut root = LockCtx::root();
    let timed_out = world
        .read_until(&mut root, Instant::now() + SOON)
        .await
        .err();
    assert_eq!(timed_out, Some(LockTimeout { level: "World" }));
    let timed_out = world
        .write_until(&mut root, Instant::now() + SOON)
        .await
        .err();
    assert_eq!(timed_out, Some(LockTimeout { level: "World" }));
    assert_eq!(
        timed_out.map(|e| e.to_string()).as_deref(),
        Some("timed out waiting for a lock at level World")
    );

    let stats = world.stats();
    assert_eq!((stats.timeouts, stats.waiters, stats.holders), (2, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn mutex_deadline_times_out_then_succeeds_when_freed_in_time() {
    let store = Arc::new(OrderedMutex::<StoreLevel, u32>::new(0));
    // Another task holds the store for 60 ms.
    let holder = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut root = LockCtx::root();
            let (_held, _ctx) = store.lock(&mut root).await;
            sleep(Duration::from_millis(60)).await;
        })
    };
    tokio::task::yield_now().await;

    let mut root = LockCtx::root();
    let timed_out = store
        .lock_until(&mut root, Instant::now() + SOON)
        .await
        .err();
    assert_eq!(timed_out, Some(LockTimeout { level: "Store" }));
    // Now at 50 ms: the holder lets go at 60, before this deadline at 100.
    let got = store.lock_until(&mut root, Instant::now() + SOON).await;
    assert!(got.is_ok());
    drop(got);
    holder.await.expect("holder panicked");
}

#[tokio::test(start_paused = true)]
async fn registry_deadlines_do_not_leak_entries() {
    let users = MutexRegistry::<UserLevel, u64>::new();
    let mut holder = LockCtx::root();
    let (held, _ctx) = users.lock(&mut holder, 2).await;

    let mut root = LockCtx::root();
    let timed_out = users
        .lock_until(&mut root, 2, Instant::now() + SOON)
        .await
        .err();
    assert_eq!(timed_out, Some(LockTimeout { level: "User" }));
    assert_eq!(
        users.len(),
        1,
        "the abandoned wait must give its entry back"
    );

    // Key 1 is free and taken first, key 2 is not: the whole call fails and key 1 is let go.
    let timed_out = users
        .lock_two_until(&mut root, 2, 1, Instant::now() + SOON)
        .await
        .err();
    assert_eq!(
        timed_out,
        Some(LockTwoError::Timeout(LockTimeout { level: "User" }))
    );
    assert_eq!(users.len(), 1);

    drop(held);
    assert!(users.is_empty());
    let (a, b, _ctx) = users
        .lock_two_until(&mut root, 2, 1, Instant::now() + SOON)
        .await
        .expect("both keys are free");
    assert_eq!((a.key(), b.key()), (2, 1));
}
