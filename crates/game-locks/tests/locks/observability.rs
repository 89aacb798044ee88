//! What the lock types show to metrics and logs: uncontended acquisitions of every lock
//! kind count as such, `lock_two_until` hands guards back in argument order, `is_empty`
//! tells held from free, and the `Debug` output names the level and the counters.
//!
//! Added for the mutation run (docs/test-strength.md): each test here catches a change
//! that the behaviour tests let through.

use game_locks::{
    LevelStats, LockCtx, MutexRegistry, OrderedMutex, OrderedRwLock, StoreLevel, UserLevel,
    WorldLevel,
};
use tokio::time::{Duration, Instant};

/// One uncontended acquisition, still held: counted, not contended, no wait.
fn held_once(level: &'static str) -> LevelStats {
    LevelStats {
        level,
        acquisitions: 1,
        holders: 1,
        ..LevelStats::default()
    }
}

#[tokio::test(start_paused = true)]
async fn uncontended_reads_writes_and_keys_do_not_count_as_contended() {
    let world = OrderedRwLock::<WorldLevel, u32>::new(0);
    let mut root = LockCtx::root();
    {
        let (_read, _ctx) = world.read(&mut root).await;
        assert_eq!(world.stats(), held_once("World"));
    }
    {
        let (_write, _ctx) = world.write(&mut root).await;
        assert_eq!(
            world.stats(),
            LevelStats {
                acquisitions: 2,
                ..held_once("World")
            }
        );
    }

    let users = MutexRegistry::<UserLevel, u64>::new();
    let (_user, _ctx) = users.lock(&mut root, 7).await;
    assert_eq!(users.stats(), held_once("User"));
}

#[tokio::test(start_paused = true)]
async fn lock_two_until_returns_guards_in_argument_order() {
    let users = MutexRegistry::<UserLevel, u64>::new();
    let mut root = LockCtx::root();
    let deadline = Instant::now() + Duration::from_secs(1);
    {
        let (first, second, _ctx) = users
            .lock_two_until(&mut root, 9, 4, deadline)
            .await
            .expect("both keys are free");
        assert_eq!((first.key(), second.key()), (9, 4));
    }
    let (first, second, _ctx) = users
        .lock_two_until(&mut root, 4, 9, deadline)
        .await
        .expect("both keys are free");
    assert_eq!((first.key(), second.key()), (4, 9));
}

#[tokio::test(start_paused = true)]
async fn registry_is_not_empty_while_a_key_is_held() {
    let users = MutexRegistry::<UserLevel, u64>::new();
    assert!(users.is_empty());
    let mut root = LockCtx::root();
    {
        let (_guard, _ctx) = users.lock(&mut root, 3).await;
        assert!(!users.is_empty());
        assert_eq!(users.len(), 1);
    }
    assert!(users.is_empty());
}

/// The counters of a lock acquired once and released, as `Debug` prints them.
const ONE_RELEASED: &str = "acquisitions: 1, contended: 0, timeouts: 0, total_wait: 0ns, \
                            max_wait: 0ns, holders: 0, waiters: 0";

#[tokio::test(start_paused = true)]
async fn debug_output_names_the_level_and_the_value() {
    let mut root = LockCtx::root();
    assert_eq!(format!("{root:?}"), "LockCtx(\"Unlocked\")");
    assert_eq!(root.level(), "Unlocked");

    let world = OrderedRwLock::<WorldLevel, u32>::new(5);
    {
        let (read, ctx) = world.read(&mut root).await;
        assert_eq!(format!("{read:?}"), "ReadGuard(\"World\", 5)");
        assert_eq!(format!("{ctx:?}"), "LockCtx(\"World\")");
        assert_eq!(ctx.level(), "World");
    }
    {
        let (write, _ctx) = world.write(&mut root).await;
        assert_eq!(format!("{write:?}"), "WriteGuard(\"World\", 5)");
    }
    assert_eq!(
        format!("{world:?}"),
        "OrderedRwLock { stats: LevelStats { level: \"World\", acquisitions: 2, \
         contended: 0, timeouts: 0, total_wait: 0ns, max_wait: 0ns, holders: 0, \
         waiters: 0 }, .. }"
    );

    let store = OrderedMutex::<StoreLevel, &str>::new("cargo");
    {
        let (guard, _ctx) = store.lock(&mut root).await;
        assert_eq!(
            format!("{guard:?}"),
            "OrderedMutexGuard(\"Store\", \"cargo\")"
        );
    }
    assert_eq!(
        format!("{store:?}"),
        format!("OrderedMutex {{ stats: LevelStats {{ level: \"Store\", {ONE_RELEASED} }}, .. }}")
    );

    let users = MutexRegistry::<UserLevel, u64>::new();
    {
        let (guard, _ctx) = users.lock(&mut root, 42).await;
        assert_eq!(format!("{guard:?}"), "KeyGuard(\"User\", 42)");
    }
    assert_eq!(
        format!("{users:?}"),
        format!(
            "MutexRegistry {{ len: 0, stats: LevelStats {{ level: \"User\", {ONE_RELEASED} }}, .. }}"
        )
    );
}
