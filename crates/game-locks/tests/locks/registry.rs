//! The per-key registry: it shrinks back to empty, and `lock_two` cannot deadlock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use game_locks::{LockCtx, LockTwoError, MutexRegistry, UserLevel};
use tokio::task::{JoinSet, yield_now};
use tokio::time::timeout;

use crate::support::HANG;

/// Waits for every task, failing the test on a panic or a hang (a deadlock).
async fn join_all(mut set: JoinSet<()>) {
    let all = async {
        while let Some(done) = set.join_next().await {
            done.expect("a task panicked");
        }
    };
    timeout(HANG, all).await.expect("tasks hung: deadlock?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_is_empty_again_when_work_ends() {
    let users = Arc::new(MutexRegistry::<UserLevel, u64>::new());
    let peak = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for task in 0..64_u64 {
        let (users, peak) = (users.clone(), peak.clone());
        set.spawn(async move {
            for i in 0..200 {
                // Many distinct keys over time, a few at once.
                let key = task * 1_000 + i % 7;
                let mut root = LockCtx::root();
                let (guard, _ctx) = users.lock(&mut root, key).await;
                assert_eq!(guard.key(), key);
                peak.fetch_max(users.len(), Relaxed);
                yield_now().await;
            }
        });
    }
    join_all(set).await;
    assert!(peak.load(Relaxed) > 1, "never more than one key at once");
    assert_eq!(users.len(), 0);
    let stats = users.stats();
    assert_eq!(
        (stats.acquisitions, stats.holders, stats.waiters),
        (64 * 200, 0, 0)
    );
}

/// Half the tasks ask for (a, b), half for (b, a), over a few hot keys; with naive
/// argument-order locking this deadlocks within a few iterations.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lock_two_in_opposite_orders_never_deadlocks() {
    let users = Arc::new(MutexRegistry::<UserLevel, u64>::new());
    let mut set = JoinSet::new();
    for task in 0..64_u64 {
        let users = users.clone();
        set.spawn(async move {
            for i in 0..100_u64 {
                let (x, y) = (i % 3, i % 3 + 1 + task % 2);
                let (a, b) = if task % 2 == 0 { (x, y) } else { (y, x) };
                let mut root = LockCtx::root();
                let (ga, gb, _ctx) = users
                    .lock_two(&mut root, a, b)
                    .await
                    .expect("distinct keys");
                assert_eq!(
                    (ga.key(), gb.key()),
                    (a, b),
                    "guards come back in argument order"
                );
                yield_now().await;
            }
        });
    }
    join_all(set).await;
    assert!(users.is_empty());
    assert_eq!(users.stats().acquisitions, 2 * 64 * 100);
}

/// Same key twice is refused and locks nothing (so it cannot self-deadlock).
#[tokio::test]
async fn lock_two_same_key_is_an_error() {
    let users = MutexRegistry::<UserLevel, u64>::new();
    let mut root = LockCtx::root();
    let refused = users.lock_two(&mut root, 9, 9).await.err();
    assert_eq!(refused, Some(LockTwoError::SameKey { level: "User" }));
    assert!(users.is_empty());
    assert_eq!(users.stats().acquisitions, 0);
    // The context is usable again right away.
    let (guard, _ctx) = users.lock(&mut root, 9).await;
    assert_eq!(guard.key(), 9);
}
