//! The world lock's sharing and fairness: readers overlap, and a queued writer goes before
//! readers that arrive after it.

use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use game_locks::{LockCtx, OrderedRwLock, WorldLevel};
use tokio::sync::Barrier;
use tokio::time::timeout;

use crate::support::{HANG, poll_once, until};

/// Every reader waits at a barrier while holding its read guard: the barrier only opens if
/// all of them hold the lock at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_hold_the_lock_together() {
    const READERS: usize = 16;
    let world = Arc::new(OrderedRwLock::<WorldLevel, u32>::new(7));
    let barrier = Arc::new(Barrier::new(READERS + 1));
    let mut tasks = Vec::new();
    for _ in 0..READERS {
        let (world, barrier) = (world.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut root = LockCtx::root();
            let (value, _ctx) = world.read(&mut root).await;
            barrier.wait().await;
            barrier.wait().await; // the test checks the counters in between
            *value
        }));
    }
    timeout(HANG, barrier.wait())
        .await
        .expect("readers did not overlap");
    assert_eq!(world.stats().holders, READERS as u64);
    barrier.wait().await;
    for task in tasks {
        assert_eq!(task.await.ok(), Some(7));
    }
    assert_eq!(world.stats().holders, 0);
}

/// Reader A holds; writer W queues; readers B1..B5 arrive while only a reader holds the
/// lock, yet must queue behind W. Order of acquisition: W, then the Bs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queued_writer_goes_before_later_readers() {
    const LATE_READERS: u64 = 5;
    let world = Arc::new(OrderedRwLock::<WorldLevel, u32>::new(0));
    let log = Arc::new(StdMutex::new(Vec::<String>::new()));
    let record = |log: &StdMutex<Vec<String>>, event: String| {
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    };

    let mut root_a = LockCtx::root();
    let (reader_a, _ctx) = world.read(&mut root_a).await;

    // Poll the writer once from this task so it is queued before any late reader exists.
    let mut writer = Box::pin({
        let (world, log) = (world.clone(), log.clone());
        async move {
            let mut root = LockCtx::root();
            let (mut value, _ctx) = world.write(&mut root).await;
            record(&log, "writer".to_owned());
            tokio::task::yield_now().await; // give early-woken readers a chance to cheat
            *value += 1;
        }
    });
    assert!(
        poll_once(&mut writer).await.is_none(),
        "writer got in past a reader"
    );

    let mut late = Vec::new();
    for i in 0..LATE_READERS {
        let (world, log) = (world.clone(), log.clone());
        late.push(tokio::spawn(async move {
            let mut root = LockCtx::root();
            let (value, _ctx) = world.read(&mut root).await;
            record(&log, format!("reader {i} saw {}", *value));
        }));
    }
    // All late readers were refused at once and are waiting, though only a reader holds.
    timeout(HANG, until(|| world.stats().waiters == 1 + LATE_READERS))
        .await
        .expect("late readers did not queue");
    assert!(
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    );

    drop(reader_a);
    timeout(HANG, writer).await.expect("writer hung");
    for task in late {
        timeout(HANG, task)
            .await
            .expect("reader hung")
            .expect("reader panicked");
    }

    let log = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(log.len(), 1 + LATE_READERS as usize);
    assert_eq!(log[0], "writer");
    assert!(log[1..].iter().all(|e| e.ends_with("saw 1")), "{log:?}");
}
