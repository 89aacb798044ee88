//! Contexts and guards are `Send`, so the intended pattern runs inside `tokio::spawn`.

use std::sync::Arc;

use game_locks::{
    KeyGuard, LockCtx, MutexRegistry, OrderedMutex, OrderedMutexGuard, OrderedRwLock, ReadGuard,
    StoreLevel, Unlocked, UserLevel, WorldLevel, WriteGuard,
};

fn assert_send<T: Send>() {}
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn contexts_guards_and_locks_are_send() {
    assert_send::<LockCtx<'static, Unlocked>>();
    assert_send::<LockCtx<'static, UserLevel>>();
    assert_send::<ReadGuard<'static, WorldLevel, Vec<u8>>>();
    assert_send::<WriteGuard<'static, WorldLevel, Vec<u8>>>();
    assert_send::<OrderedMutexGuard<'static, StoreLevel, Vec<u8>>>();
    assert_send::<KeyGuard<'static, UserLevel, u64>>();
    assert_send_sync::<OrderedRwLock<WorldLevel, Vec<u8>>>();
    assert_send_sync::<OrderedMutex<StoreLevel, Vec<u8>>>();
    assert_send_sync::<MutexRegistry<UserLevel, u64>>();
}

#[test]
fn contexts_are_zero_sized() {
    assert_eq!(size_of::<LockCtx<'static, WorldLevel>>(), 0);
}

/// Compiles only if the whole future (guards held across awaits) is `Send`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_held_across_await_inside_spawn() {
    let world = Arc::new(OrderedRwLock::<WorldLevel, u32>::new(0));
    let users = Arc::new(MutexRegistry::<UserLevel, u64>::new());
    let store = Arc::new(OrderedMutex::<StoreLevel, u32>::new(0));
    let task = tokio::spawn(async move {
        let mut root = LockCtx::root();
        let (mut w, mut ctx) = world.write(&mut root).await;
        tokio::task::yield_now().await;
        let (user, mut ctx) = users.lock(&mut ctx, 42).await;
        tokio::task::yield_now().await;
        let (mut s, _ctx) = store.lock(&mut ctx).await;
        *w += 1;
        *s += 1;
        user.key()
    });
    assert_eq!(task.await.ok(), Some(42));
}
