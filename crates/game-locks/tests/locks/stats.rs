//! Exact counter values in a deterministic scenario (paused clock, one thread).

use std::sync::Arc;
use std::time::Duration;

use game_locks::{LevelStats, LockCtx, OrderedMutex, StoreLevel};
use tokio::task::yield_now;
use tokio::time::{Instant, advance};

/// Spawns a task that locks `store`, then holds the lock for `hold`.
fn contender(
    store: &Arc<OrderedMutex<StoreLevel, u32>>,
    hold: Duration,
) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut root = LockCtx::root();
        let (_guard, _ctx) = store.lock(&mut root).await;
        tokio::time::sleep(hold).await;
    })
}

#[tokio::test(start_paused = true)]
async fn counters_are_exact() {
    let ms = Duration::from_millis;
    let store = Arc::new(OrderedMutex::<StoreLevel, u32>::new(0));
    let mut root = LockCtx::root();

    // 1. Uncontended: counted, not contended.
    let (guard, _ctx) = store.lock(&mut root).await;
    let expect = LevelStats {
        level: "Store",
        acquisitions: 1,
        holders: 1,
        ..LevelStats::default()
    };
    assert_eq!(store.stats(), expect);

    // 2. A contender waits 30 ms behind us.
    let waiter = contender(&store, Duration::ZERO);
    yield_now().await;
    assert_eq!(
        store.stats(),
        LevelStats {
            waiters: 1,
            ..expect
        }
    );
    advance(ms(30)).await;
    drop(guard);
    waiter.await.expect("waiter panicked");
    let expect = LevelStats {
        acquisitions: 2,
        contended: 1,
        total_wait: ms(30),
        max_wait: ms(30),
        holders: 0,
        ..expect
    };
    assert_eq!(store.stats(), expect);

    // 3. Contender one holds for 10 ms, contender two waits exactly that long.
    let first = contender(&store, ms(10));
    yield_now().await;
    let second = contender(&store, Duration::ZERO);
    first.await.expect("first panicked");
    second.await.expect("second panicked");
    let expect = LevelStats {
        acquisitions: 4,
        contended: 2,
        total_wait: ms(40),
        max_wait: ms(30),
        ..expect
    };
    assert_eq!(store.stats(), expect);

    // 4. A timed-out wait counts as a timeout, not as an acquisition or a wait.
    let holder = contender(&store, ms(100));
    yield_now().await;
    let refused = store.lock_until(&mut root, Instant::now() + ms(5)).await;
    assert!(refused.is_err());
    assert_eq!(
        store.stats(),
        LevelStats {
            acquisitions: 5,
            timeouts: 1,
            holders: 1,
            ..expect
        }
    );
    holder.await.expect("holder panicked");
    assert_eq!(
        store.stats(),
        LevelStats {
            acquisitions: 5,
            timeouts: 1,
            ..expect
        }
    );
}
