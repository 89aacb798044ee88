//! The world twice: a reader re-entering a fair RwLock deadlocks behind a queued writer.
use game_locks::{LockCtx, OrderedRwLock, WorldLevel};

async fn f(world: &OrderedRwLock<WorldLevel, u32>) {
    let mut root = LockCtx::root();
    let (_w1, mut ctx) = world.read(&mut root).await;
    let (_w2, _ctx) = world.read(&mut ctx).await; // WorldLevel is not after WorldLevel
}

fn main() {
    drop(f);
}
