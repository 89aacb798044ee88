//! User, then world: out of order.
use game_locks::{LockCtx, MutexRegistry, OrderedRwLock, UserLevel, WorldLevel};

async fn f(world: &OrderedRwLock<WorldLevel, u32>, users: &MutexRegistry<UserLevel, u64>) {
    let mut root = LockCtx::root();
    let (_user, mut ctx) = users.lock(&mut root, 7).await;
    let (_world, _ctx) = world.read(&mut ctx).await; // WorldLevel is not after UserLevel
}

fn main() {
    drop(f);
}
