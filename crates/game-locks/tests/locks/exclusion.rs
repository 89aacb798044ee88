//! Mutual exclusion under many tasks on a multi-thread runtime: a read-yield-write
//! increment (which loses updates without the lock) comes out exact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use game_locks::{
    LockCtx, MutexRegistry, OrderedMutex, OrderedRwLock, StoreLevel, UserLevel, WorldLevel,
};
use tokio::task::{JoinSet, yield_now};
use tokio::time::timeout;

use crate::support::HANG;

const TASKS: u64 = 50;
const PER_TASK: u64 = 2_000;
const TOTAL: u64 = TASKS * PER_TASK; // 100,000

/// Waits for every task, failing the test on a panic or a hang.
async fn join_all(mut set: JoinSet<()>) {
    let all = async {
        while let Some(done) = set.join_next().await {
            done.expect("a task panicked");
        }
    };
    timeout(HANG, all).await.expect("tasks hung");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mutex_increments_are_exact() {
    let counter = Arc::new(OrderedMutex::<StoreLevel, u64>::new(0));
    let mut set = JoinSet::new();
    for _ in 0..TASKS {
        let counter = counter.clone();
        set.spawn(async move {
            for _ in 0..PER_TASK {
                let mut root = LockCtx::root();
                let (mut value, _ctx) = counter.lock(&mut root).await;
                let read = *value;
                yield_now().await;
                *value = read + 1;
            }
        });
    }
    join_all(set).await;
    let stats = counter.stats();
    assert_eq!(
        Arc::into_inner(counter).map(OrderedMutex::into_inner),
        Some(TOTAL)
    );
    assert_eq!(stats.acquisitions, TOTAL);
    assert_eq!((stats.holders, stats.waiters), (0, 0));
    assert!(
        stats.contended > 0,
        "50 tasks on 4 threads never contended: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rwlock_writes_are_exact() {
    let counter = Arc::new(OrderedRwLock::<WorldLevel, u64>::new(0));
    let mut set = JoinSet::new();
    for _ in 0..TASKS {
        let counter = counter.clone();
        set.spawn(async move {
            for _ in 0..PER_TASK {
                let mut root = LockCtx::root();
                let (mut value, _ctx) = counter.write(&mut root).await;
                let read = *value;
                yield_now().await;
                *value = read + 1;
            }
        });
    }
    join_all(set).await;
    assert_eq!(
        Arc::into_inner(counter).map(OrderedRwLock::into_inner),
        Some(TOTAL)
    );
}

/// The registry guards keys, not data: the counters live outside it, behind a std mutex
/// that makes each read and each write atomic but not the read-yield-write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_increments_per_key_are_exact() {
    const KEYS: u64 = 5;
    let users = Arc::new(MutexRegistry::<UserLevel, u64>::new());
    let counts = Arc::new(StdMutex::new(HashMap::<u64, u64>::new()));
    let mut set = JoinSet::new();
    for task in 0..TASKS {
        let (users, counts) = (users.clone(), counts.clone());
        set.spawn(async move {
            for i in 0..PER_TASK {
                let key = (task + i) % KEYS;
                let mut root = LockCtx::root();
                let (guard, _ctx) = users.lock(&mut root, key).await;
                let read = counts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&guard.key())
                    .copied()
                    .unwrap_or(0);
                yield_now().await;
                counts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(guard.key(), read + 1);
            }
        });
    }
    join_all(set).await;
    let counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(counts.values().sum::<u64>(), TOTAL);
    assert!(counts.values().all(|&n| n == TOTAL / KEYS), "{counts:?}");
    assert!(users.is_empty());
}
