//! Going back to the parent context while the child context is alive.
use game_locks::{LockCtx, OrderedMutex, OrderedRwLock, StoreLevel, WorldLevel};

async fn f(world: &OrderedRwLock<WorldLevel, u32>, store: &OrderedMutex<StoreLevel, u32>) {
    let mut root = LockCtx::root();
    let (w, mut child) = world.write(&mut root).await;
    drop(w);
    let (_s1, _c1) = store.lock(&mut root).await; // `root` is borrowed by `child`
    let (_s2, _c2) = store.lock(&mut child).await;
}

fn main() {
    drop(f);
}
